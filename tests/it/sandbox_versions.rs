//! The dated API families over loopback: the same writes through v3, 2026-03 and 2026-09 store the same
//! records; the versions share one window, one daily counter and one set of faults; from 2026-09 batch
//! errors ride in 200/201 bodies and epoch-seconds dates are refused; every family has dated twins.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::sandbox::{Sandbox, config, embedded};

/// The objects prefix of v3, 2026-03 and 2026-09, and how each names contacts (dated paths by id).
const VERSIONS: [(&str, &str); 3] = [
    ("/crm/v3/objects", "contacts"),
    ("/crm/objects/2026-03", "0-1"),
    ("/crm/objects/2026-09", "0-1"),
];

/// A record from `/_sandbox/records` without what differs between two identical runs (instants).
fn timeless(mut record: Value) -> Value {
    for key in ["createdAt", "updatedAt"] {
        record.as_object_mut().expect("a record").remove(key);
    }
    let props = record["properties"].as_object_mut().expect("properties");
    for key in ["createdate", "lastmodifieddate"] {
        props.remove(key);
    }
    record
}

/// Creates, batch-creates, batch-updates, upserts, patches and archives contacts under `objects`.
async fn write_everything(sb: &Sandbox, objects: &str, contacts: &str) {
    let base = format!("{objects}/{contacts}");
    let ada = sb
        .post(
            &base,
            json!({"properties": {"email": "ada@example.com", "firstname": "Ada"}}),
        )
        .await;
    assert_eq!(ada.status, StatusCode::CREATED, "{objects}: {:?}", ada.body);
    let ada = ada.body["id"].as_str().expect("id").to_owned();
    let created = sb
        .post(
            &format!("{base}/batch/create"),
            json!({"inputs": [
                {"objectWriteTraceId": "1", "properties": {"email": "grace@example.com", "date_of_birth": "1906-12-09"}},
                {"objectWriteTraceId": "2", "properties": {"email": "linus@example.com", "phone": "+1 617 555 0100"}},
            ]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let linus = created.body["results"][1]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let updated = sb
        .post(
            &format!("{base}/batch/update"),
            json!({"inputs": [{"id": ada, "properties": {"lastname": "Lovelace", "annualrevenue": "1815.5"}}]}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
    let upserted = sb
        .post(
            &format!("{base}/batch/upsert"),
            json!({"inputs": [
                {"id": "grace@example.com", "idProperty": "email", "properties": {"lastname": "Hopper"}},
                {"id": "alan@example.com", "idProperty": "email", "properties": {"firstname": "Alan"}},
            ]}),
        )
        .await;
    assert_eq!(upserted.status, StatusCode::OK, "{:?}", upserted.body);
    let patched = sb
        .patch(
            &format!("{base}/alan@example.com?idProperty=email"),
            json!({"properties": {"lastname": "Turing", "hs_lead_status": "OPEN"}}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    let archived = sb.delete(&format!("{base}/{linus}")).await;
    assert_eq!(archived.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn the_same_writes_through_every_version_store_the_same_records() {
    let mut stored = Vec::new();
    for (objects, contacts) in VERSIONS {
        let sb = Sandbox::new().await;
        write_everything(&sb, objects, contacts).await;
        let records = sb
            .send_as(None, Method::GET, "/_sandbox/records/contacts", None)
            .await;
        let records: Vec<Value> = records.body["results"]
            .as_array()
            .expect("records")
            .iter()
            .cloned()
            .map(timeless)
            .collect();
        assert_eq!(records.len(), 3, "{objects}: {records:?}");
        stored.push(records);
    }
    assert_eq!(stored[0], stored[1], "v3 and 2026-03 store the same");
    assert_eq!(stored[0], stored[2], "v3 and 2026-09 store the same");
    let ada = &stored[2][0]["properties"];
    assert_eq!(ada["lastname"], "Lovelace");
    assert_eq!(ada["annualrevenue"], "1815.5");
    assert_eq!(stored[2][1]["properties"]["date_of_birth"], "1906-12-09");
}

#[tokio::test]
async fn versions_share_one_window_one_daily_counter_and_the_faults() {
    let sb = Sandbox::start(etl::sandbox::SandboxConfig {
        requests_per_interval: 3,
        ..config()
    })
    .await;
    for (objects, contacts) in VERSIONS {
        let reply = sb.get(&format!("{objects}/{contacts}")).await;
        assert_eq!(reply.status, StatusCode::OK, "{objects}");
    }
    let fourth = sb.get("/crm/properties/2026-09/0-1").await;
    assert_eq!(fourth.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(fourth.body["policyName"], "TEN_SECONDLY_ROLLING");
    let stats = sb.stats().await;
    assert_eq!(stats["daily_used"], 3);
    let requests = &stats["requests"];
    assert_eq!(requests["GET /crm/v3/objects/{objectType}"]["200"], 1);
    assert_eq!(requests["GET /crm/objects/2026-03/{objectType}"]["200"], 1);
    assert_eq!(requests["GET /crm/objects/2026-09/{objectType}"]["200"], 1);
    assert_eq!(
        requests["GET /crm/properties/2026-09/{objectType}"]["429"],
        1
    );

    let daily = Sandbox::start(etl::sandbox::SandboxConfig {
        daily_limit: 2,
        ..config()
    })
    .await;
    assert_eq!(
        daily.get("/crm/v3/objects/contacts").await.status,
        StatusCode::OK
    );
    assert_eq!(
        daily.get("/crm/objects/2026-09/contacts").await.status,
        StatusCode::OK
    );
    let spent = daily.get("/crm/objects/2026-03/contacts").await;
    assert_eq!(spent.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(spent.body["policyName"], "DAILY");

    let faulty = Sandbox::new().await;
    let configured = faulty.configure(json!({"throttle_rate": 1.0})).await;
    assert_eq!(configured.status, StatusCode::OK);
    let write = faulty
        .post(
            "/crm/objects/2026-09/0-1",
            json!({"properties": {"email": "x@example.com"}}),
        )
        .await;
    assert_eq!(
        write.status,
        StatusCode::TOO_MANY_REQUESTS,
        "dated writes get faults"
    );
    let read = faulty.get("/crm/objects/2026-09/0-1").await;
    assert_eq!(read.status, StatusCode::OK, "reads do not, by default");
    assert_eq!(faulty.stats().await["faults"]["throttle"], 1);
    assert_eq!(faulty.records("contacts").await, 0);
}

#[tokio::test]
async fn from_2026_09_batch_errors_ride_in_200_and_201_bodies() {
    for (objects, contacts) in VERSIONS {
        let sb = Sandbox::new().await;
        let dated_09 = objects.ends_with("2026-09");
        let base = format!("{objects}/{contacts}");
        let partial_create = if dated_09 {
            StatusCode::CREATED
        } else {
            StatusCode::MULTI_STATUS
        };
        let partial_ok = if dated_09 {
            StatusCode::OK
        } else {
            StatusCode::MULTI_STATUS
        };

        let created = sb
            .post(
                &format!("{base}/batch/create"),
                json!({"inputs": [
                    {"objectWriteTraceId": "r1", "properties": {"email": "good@example.com"}},
                    {"objectWriteTraceId": "r2", "properties": {"email": "bad@example.com", "missing": "1"}},
                ]}),
            )
            .await;
        assert_eq!(
            created.status, partial_create,
            "{objects}: {:?}",
            created.body
        );
        assert_eq!(created.body["numErrors"], 1);
        assert_eq!(created.body["results"].as_array().unwrap().len(), 1);
        let error = &created.body["errors"][0];
        assert_eq!(error["category"], "VALIDATION_ERROR");
        assert_eq!(error["context"]["objectWriteTraceId"], json!(["r2"]));
        assert_eq!(
            embedded(&error["message"])[0]["error"],
            "PROPERTY_DOESNT_EXIST"
        );
        let good = created.body["results"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();

        let read = sb
            .post(
                &format!("{base}/batch/read"),
                json!({"inputs": [{"id": good}, {"id": "999999"}]}),
            )
            .await;
        assert_eq!(read.status, partial_ok, "{objects}: {:?}", read.body);
        assert_eq!(read.body["errors"][0]["category"], "OBJECT_NOT_FOUND");
        assert_eq!(read.body["errors"][0]["context"]["ids"], json!(["999999"]));

        let updated = sb
            .post(
                &format!("{base}/batch/update"),
                json!({"inputs": [
                    {"id": good, "properties": {"firstname": "G"}},
                    {"id": "999999", "objectWriteTraceId": "u2", "properties": {"firstname": "X"}},
                ]}),
            )
            .await;
        assert_eq!(updated.status, partial_ok, "{objects}: {:?}", updated.body);
        assert_eq!(updated.body["numErrors"], 1);
        assert_eq!(updated.body["results"][0]["properties"]["firstname"], "G");

        sb.configure(json!({"partial_update_errors": true})).await;
        let upserted = sb
            .post(
                &format!("{base}/batch/upsert"),
                json!({"inputs": [
                    {"id": "new@example.com", "idProperty": "email", "properties": {"firstname": "N"}},
                    {"id": "odd@example.com", "idProperty": "email", "objectWriteTraceId": "p2",
                     "properties": {"annualrevenue": "lots"}},
                ]}),
            )
            .await;
        assert_eq!(
            upserted.status, partial_ok,
            "{objects}: {:?}",
            upserted.body
        );
        assert_eq!(upserted.body["results"][0]["new"], true);
        assert_eq!(
            upserted.body["errors"][0]["context"]["objectWriteTraceId"],
            json!(["p2"])
        );

        let clean = sb
            .post(
                &format!("{base}/batch/create"),
                json!({"inputs": [{"properties": {"email": "clean@example.com"}}]}),
            )
            .await;
        assert_eq!(clean.status, StatusCode::CREATED);
        assert!(clean.body.get("numErrors").is_none() && clean.body.get("errors").is_none());
    }
}

#[tokio::test]
async fn epoch_seconds_are_refused_only_from_2026_09() {
    for (objects, _) in VERSIONS {
        let sb = Sandbox::new().await;
        let dated_09 = objects.ends_with("2026-09");
        let note = |timestamp: &str| json!({"properties": {"hs_timestamp": timestamp}});
        let seconds = sb
            .post(&format!("{objects}/notes"), note("1709294400"))
            .await;
        if dated_09 {
            assert_eq!(
                seconds.status,
                StatusCode::BAD_REQUEST,
                "{:?}",
                seconds.body
            );
            let issue = &embedded(&seconds.body["message"])[0];
            assert_eq!(issue["error"], "INVALID_DATE");
            assert_eq!(issue["name"], "hs_timestamp");
            assert_eq!(
                issue["message"],
                "1709294400 looks like seconds since the epoch: from API version 2026-09 send milliseconds since the epoch or ISO 8601"
            );
            assert_eq!(seconds.body["errors"][0]["code"], "INVALID_DATE");
        } else {
            // Read as milliseconds, as v3 always has: a moment in January 1970.
            assert_eq!(seconds.status, StatusCode::CREATED, "{objects}");
            assert_eq!(
                seconds.body["properties"]["hs_timestamp"],
                "1970-01-20T18:48:14.400Z"
            );
        }
        let millis = sb
            .post(&format!("{objects}/notes"), note("1709294400000"))
            .await;
        assert_eq!(millis.status, StatusCode::CREATED, "{objects}");
        assert_eq!(
            millis.body["properties"]["hs_timestamp"],
            "2024-03-01T12:00:00.000Z"
        );
        let iso = sb
            .post(&format!("{objects}/notes"), note("2024-03-01T12:00:00Z"))
            .await;
        assert_eq!(iso.status, StatusCode::CREATED, "{objects}");

        // Dates too: `0` is midnight 1970-01-01 in milliseconds, and seconds by the 2026-09 rule.
        let date = sb
            .post(
                &format!("{objects}/contacts"),
                json!({"properties": {"email": "born@example.com", "date_of_birth": "0"}}),
            )
            .await;
        if dated_09 {
            assert_eq!(date.status, StatusCode::BAD_REQUEST);
            assert_eq!(embedded(&date.body["message"])[0]["error"], "INVALID_DATE");
        } else {
            assert_eq!(date.status, StatusCode::CREATED, "{:?}", date.body);
            assert_eq!(date.body["properties"]["date_of_birth"], "1970-01-01");
        }
    }
}

#[tokio::test]
async fn every_family_has_dated_twins() {
    let sb = Sandbox::new().await;
    for version in ["2026-03", "2026-09"] {
        let props = sb.get(&format!("/crm/properties/{version}/0-1")).await;
        assert_eq!(props.status, StatusCode::OK);
        assert!(
            props.body["results"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "email")
        );
        let email = sb
            .get(&format!("/crm/properties/{version}/contacts/email"))
            .await;
        assert_eq!(email.body["hasUniqueValue"], true);
        let schemas = sb
            .get(&format!("/crm-object-schemas/{version}/schemas"))
            .await;
        assert_eq!(schemas.status, StatusCode::OK);
        let contacts = sb
            .get(&format!("/crm-object-schemas/{version}/schemas/0-1"))
            .await;
        assert_eq!(contacts.body["name"], "contacts");
        assert_eq!(contacts.body["allowsSensitiveProperties"], false);
        let pipelines = sb.get(&format!("/crm/pipelines/{version}/0-3")).await;
        assert_eq!(pipelines.body["results"][0]["id"], "default");
        let labels = sb
            .get(&format!(
                "/crm/associations/{version}/contacts/companies/labels"
            ))
            .await;
        assert!(
            labels.body["results"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["typeId"] == 279)
        );
        let rules = sb
            .get(&format!("/crm/property-validations/{version}/0-1"))
            .await;
        assert_eq!(rules.body, json!({"results": []}));
    }

    // A dated list pages with dated links.
    for email in ["p1@example.com", "p2@example.com"] {
        sb.contact(email).await;
    }
    let page = sb.get("/crm/objects/2026-09/0-1?limit=1").await;
    let link = page.body["paging"]["next"]["link"].as_str().unwrap();
    assert!(
        link.starts_with("/crm/objects/2026-09/contacts?limit=1&after="),
        "{link}"
    );
    let next = sb.get(link).await;
    assert_eq!(
        next.body["results"][0]["properties"]["email"],
        "p2@example.com"
    );

    // The v3 association path with the type id has no dated twin (the dated APIs take the v4 shape).
    let ids: Vec<String> = page.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    let company = sb.create("companies", json!({"name": "Acme"})).await;
    let v3 = format!(
        "/crm/v3/objects/contacts/{}/associations/companies/{company}/279",
        ids[0]
    );
    assert_eq!(sb.put(&v3).await.status, StatusCode::OK);
    let dated = v3.replace("/crm/v3/objects/", "/crm/objects/2026-09/");
    assert_eq!(sb.put(&dated).await.status, StatusCode::NOT_FOUND);
}
