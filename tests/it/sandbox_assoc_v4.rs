//! The sandbox's v4 associations API over loopback: batch create/archive/labels-archive/associate-default
//! and read, the per-record listing, created labels, their own rate window, and that every path (v3 or
//! v4) sees the same links.

use std::time::Duration;

use etl::sandbox::SandboxConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::sandbox::{Sandbox, config};

const V4: &str = "/crm/v4/associations/contacts/companies";

fn hubspot(type_id: u32) -> Value {
    json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}])
}

fn link(from: &str, to: &str, types: Value) -> Value {
    json!({"from": {"id": from}, "to": {"id": to}, "types": types})
}

/// `n` companies, by batch create.
async fn companies(sb: &Sandbox, n: usize) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let inputs: Vec<Value> = chunk
            .iter()
            .map(|i| json!({"properties": {"name": format!("Company {i}")}}))
            .collect();
        let reply = sb
            .post(
                "/crm/v3/objects/companies/batch/create",
                json!({ "inputs": inputs }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        for result in reply.body["results"].as_array().unwrap() {
            ids.push(result["id"].as_str().unwrap().to_owned());
        }
    }
    ids
}

/// The `to` items of a v4 listing of `contact`'s companies.
async fn listed(sb: &Sandbox, path: &str) -> Vec<Value> {
    let reply = sb.get(path).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    reply.body["results"].as_array().unwrap().clone()
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| {
            i["toObjectId"]
                .as_u64()
                .expect("toObjectId is a number")
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn batch_create_links_records_that_v3_reads_and_the_dump_see() {
    let sb = Sandbox::new().await;
    let (ada, alan) = (
        sb.contact("ada@example.com").await,
        sb.contact("alan@example.com").await,
    );
    let acme = sb.create("companies", json!({"name": "Acme"})).await;
    let body =
        json!({"inputs": [link(&ada, &acme, hubspot(279)), link(&alan, &acme, hubspot(279))]});
    let reply = sb.post(&format!("{V4}/batch/create"), body.clone()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["status"], "COMPLETE");
    assert!(reply.body["startedAt"].is_string() && reply.body.get("errors").is_none());
    assert_eq!(
        reply.body["results"][0],
        json!({"fromObjectTypeId": "0-1", "fromObjectId": ada.parse::<u64>().unwrap(),
               "toObjectTypeId": "0-2", "toObjectId": acme.parse::<u64>().unwrap(), "labels": []})
    );
    // v3 reads see the links, from both ends.
    let read = sb
        .get(&format!(
            "/crm/v3/objects/contacts/{ada}?associations=companies"
        ))
        .await;
    assert_eq!(
        read.body["associations"]["companies"]["results"],
        json!([{"id": acme, "type": "contact_to_company_unlabeled"}])
    );
    let read = sb
        .get(&format!(
            "/crm/v3/objects/companies/{acme}?associations=contacts"
        ))
        .await;
    let from_company = read.body["associations"]["contacts"]["results"]
        .as_array()
        .unwrap();
    assert_eq!(from_company.len(), 2);
    assert_eq!(from_company[0]["type"], "company_to_contact_unlabeled");
    // The list endpoint takes `associations=` too.
    let list = sb
        .get("/crm/v3/objects/contacts?associations=companies")
        .await;
    assert_eq!(
        list.body["results"][1]["associations"]["companies"]["results"][0]["id"],
        acme.as_str()
    );
    // Linking again succeeds and adds nothing.
    let again = sb.post(&format!("{V4}/batch/create"), body).await;
    assert_eq!(again.status, StatusCode::CREATED);
    let dump = sb
        .send_as(None, Method::GET, "/_sandbox/links/contacts", None)
        .await;
    let links = dump.body["results"].as_array().unwrap();
    assert_eq!(links.len(), 2, "{links:?}");
    assert_eq!(links[0]["fromObjectId"], ada.as_str());
    assert_eq!(links[0]["toObjectTypeId"], "0-2");
    assert_eq!(
        links[0]["associationTypes"],
        json!([{"category": "HUBSPOT_DEFINED", "typeId": 279, "label": null}])
    );
    let dump = sb
        .send_as(None, Method::GET, "/_sandbox/links/companies", None)
        .await;
    assert_eq!(
        dump.body["results"][0]["associationTypes"][0]["typeId"],
        280
    );
}

#[tokio::test]
async fn batch_create_names_each_failed_input_and_writes_only_the_good_ones() {
    let sb = Sandbox::new().await;
    let ada = sb.contact("ada@example.com").await;
    let acme = sb.create("companies", json!({"name": "Acme"})).await;
    let gone = sb.create("companies", json!({"name": "Gone"})).await;
    assert_eq!(
        sb.delete(&format!("/crm/v3/objects/companies/{gone}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let user_279 = json!([{"associationCategory": "USER_DEFINED", "associationTypeId": 279}]);
    let inputs = [
        link(&ada, &acme, hubspot(279)),
        link("99999999", &acme, hubspot(279)),
        link(&ada, &gone, hubspot(279)),
        link(&ada, &acme, hubspot(280)),
        link(&ada, &acme, user_279),
        link("abc", &acme, hubspot(279)),
        link(&ada, &acme, json!([])),
    ];
    let reply = sb
        .post(&format!("{V4}/batch/create"), json!({ "inputs": inputs }))
        .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS, "{:?}", reply.body);
    assert_eq!(reply.body["results"].as_array().unwrap().len(), 1);
    assert_eq!(reply.body["numErrors"], 6);
    let errors = reply.body["errors"].as_array().unwrap();
    let named: Vec<(String, String)> = errors
        .iter()
        .map(|e| {
            (
                e["context"]["fromObjectId"][0].as_str().unwrap().to_owned(),
                e["context"]["toObjectId"][0].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = inputs[1..]
        .iter()
        .map(|i| {
            (
                i["from"]["id"].as_str().unwrap().to_owned(),
                i["to"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(named, expected, "each item names its input");
    let categories: Vec<&str> = errors
        .iter()
        .map(|e| e["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        categories,
        [
            "OBJECT_NOT_FOUND",
            "OBJECT_NOT_FOUND",
            "VALIDATION_ERROR",
            "VALIDATION_ERROR",
            "VALIDATION_ERROR",
            "VALIDATION_ERROR"
        ]
    );
    assert!(
        errors
            .iter()
            .all(|e| e["status"] == "error" && e["message"].is_string())
    );
    // Only the good input wrote a link.
    let listed = listed(
        &sb,
        &format!("/crm/v4/objects/contacts/{ada}/associations/companies"),
    )
    .await;
    assert_eq!(ids(&listed), [acme.as_str()]);
    assert_eq!(listed[0]["associationTypes"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn more_than_2000_creates_are_refused_whole() {
    let sb = Sandbox::new().await;
    let ada = sb.contact("ada@example.com").await;
    let acme = sb.create("companies", json!({"name": "Acme"})).await;
    let inputs: Vec<Value> = (0..2001).map(|_| link(&ada, &acme, hubspot(279))).collect();
    let reply = sb
        .post(&format!("{V4}/batch/create"), json!({ "inputs": inputs }))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["category"], "VALIDATION_ERROR");
    assert_eq!(
        reply.body["message"],
        "The maximum number of inputs supported in a batch request is 2000. Please reduce the number of items and try again"
    );
    assert!(
        listed(
            &sb,
            &format!("/crm/v4/objects/contacts/{ada}/associations/companies")
        )
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn a_label_brings_the_default_and_labels_archive_removes_only_the_named_type() {
    let sb = Sandbox::new().await;
    let ada = sb.contact("ada@example.com").await;
    let acme = sb.create("companies", json!({"name": "Acme"})).await;
    let reply = sb
        .post(
            &format!("{V4}/batch/create"),
            json!({"inputs": [link(&ada, &acme, hubspot(1))]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["results"][0]["labels"], json!(["Primary"]));
    let path = format!("/crm/v4/objects/contacts/{ada}/associations/companies");
    let types = &listed(&sb, &path).await[0]["associationTypes"];
    assert_eq!(
        *types,
        json!([{"category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Primary"},
               {"category": "HUBSPOT_DEFINED", "typeId": 279, "label": null}])
    );
    let back = listed(
        &sb,
        &format!("/crm/v4/objects/companies/{acme}/associations/contacts"),
    )
    .await;
    assert_eq!(
        back[0]["associationTypes"],
        json!([{"category": "HUBSPOT_DEFINED", "typeId": 2, "label": "Primary"},
               {"category": "HUBSPOT_DEFINED", "typeId": 280, "label": null}])
    );
    let reply = sb
        .post(
            &format!("{V4}/batch/labels/archive"),
            json!({"inputs": [link(&ada, &acme, hubspot(1))]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.body, Value::Null);
    let types = &listed(&sb, &path).await[0]["associationTypes"];
    assert_eq!(
        *types,
        json!([{"category": "HUBSPOT_DEFINED", "typeId": 279, "label": null}])
    );
    let back = listed(
        &sb,
        &format!("/crm/v4/objects/companies/{acme}/associations/contacts"),
    )
    .await;
    assert_eq!(back[0]["associationTypes"][0]["typeId"], 280);
    assert_eq!(back[0]["associationTypes"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn batch_archive_removes_every_type_both_ways_and_is_idempotent() {
    let sb = Sandbox::new().await;
    let ada = sb.contact("ada@example.com").await;
    let acme = sb.create("companies", json!({"name": "Acme"})).await;
    let other = sb.create("companies", json!({"name": "Other"})).await;
    sb.post(
        &format!("{V4}/batch/create"),
        json!({"inputs": [link(&ada, &acme, hubspot(1)), link(&ada, &other, hubspot(279))]}),
    )
    .await;
    let archive =
        json!({"inputs": [{"from": {"id": ada}, "to": [{"id": acme}, {"id": "424242"}]}]});
    for _ in 0..2 {
        let reply = sb
            .post(&format!("{V4}/batch/archive"), archive.clone())
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
    }
    let path = format!("/crm/v4/objects/contacts/{ada}/associations/companies");
    assert_eq!(ids(&listed(&sb, &path).await), [other.as_str()]);
    assert!(
        listed(
            &sb,
            &format!("/crm/v4/objects/companies/{acme}/associations/contacts")
        )
        .await
        .is_empty()
    );
}

#[tokio::test]
async fn batch_read_pages_by_target_and_reports_ids_without_links() {
    let sb = Sandbox::new().await;
    let ada = sb.contact("ada@example.com").await;
    let lonely = sb.contact("lonely@example.com").await;
    let targets = companies(&sb, 501).await;
    let inputs: Vec<Value> = targets
        .iter()
        .map(|c| link(&ada, c, hubspot(279)))
        .collect();
    let reply = sb
        .post(&format!("{V4}/batch/create"), json!({ "inputs": inputs }))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let reply = sb
        .post(
            &format!("{V4}/batch/read"),
            json!({"inputs": [{"id": ada}, {"id": lonely}, {"id": "999999"}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS, "{:?}", reply.body);
    let result = &reply.body["results"][0];
    assert_eq!(result["from"], json!({"id": ada}));
    let page = result["to"].as_array().unwrap();
    assert_eq!(page.len(), 500);
    assert_eq!(ids(page), targets[..500]);
    assert_eq!(
        page[0]["associationTypes"],
        json!([{"category": "HUBSPOT_DEFINED", "typeId": 279, "label": null}])
    );
    let after = result["paging"]["next"]["after"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(reply.body["numErrors"], 2);
    let error = &reply.body["errors"][0];
    assert_eq!(error["category"], "OBJECT_NOT_FOUND");
    assert_eq!(
        error["subCategory"],
        "crm.associations.NO_ASSOCIATIONS_FOUND"
    );
    assert_eq!(
        error["message"],
        format!("No company is associated with contact {lonely}.")
    );
    assert_eq!(error["context"]["fromObjectId"], json!([lonely]));
    assert_eq!(
        reply.body["errors"][1]["context"]["fromObjectId"],
        json!(["999999"])
    );
    // The next page holds the last one, and no cursor.
    let reply = sb
        .post(
            &format!("{V4}/batch/read"),
            json!({"inputs": [{"id": ada, "after": after}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        ids(reply.body["results"][0]["to"].as_array().unwrap()),
        [targets[500].clone()]
    );
    assert!(reply.body["results"][0].get("paging").is_none());
    // At most 1,000 inputs.
    let inputs: Vec<Value> = (0..1001).map(|_| json!({"id": ada})).collect();
    let reply = sb
        .post(&format!("{V4}/batch/read"), json!({ "inputs": inputs }))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_object_listing_pages_with_limit_and_after() {
    let sb = Sandbox::new().await;
    let ada = sb.contact("ada@example.com").await;
    let targets = companies(&sb, 3).await;
    let inputs: Vec<Value> = targets
        .iter()
        .map(|c| link(&ada, c, hubspot(279)))
        .collect();
    sb.post(&format!("{V4}/batch/create"), json!({ "inputs": inputs }))
        .await;
    let base = format!("/crm/v4/objects/contacts/{ada}/associations/companies");
    let first = sb.get(&format!("{base}?limit=2")).await;
    assert_eq!(ids(first.body["results"].as_array().unwrap()), targets[..2]);
    let next = &first.body["paging"]["next"];
    assert_eq!(next["after"], targets[1].as_str());
    let link = next["link"].as_str().unwrap();
    assert!(link.starts_with(&base) && link.contains("after="), "{link}");
    let second = sb
        .get(&format!("{base}?limit=2&after={}", targets[1]))
        .await;
    assert_eq!(
        ids(second.body["results"].as_array().unwrap()),
        targets[2..]
    );
    assert!(second.body.get("paging").is_none());
    let capped = listed(&sb, &format!("{base}?limit=100000")).await;
    assert_eq!(capped.len(), 3);
    assert!(
        listed(
            &sb,
            "/crm/v4/objects/contacts/123456789/associations/companies"
        )
        .await
        .is_empty()
    );
    assert_eq!(
        sb.get(&format!("{base}?after=x")).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn associate_default_uses_the_pairs_unlabeled_type() {
    let sb = Sandbox::new().await;
    let ada = sb.contact("ada@example.com").await;
    let acme = sb.create("companies", json!({"name": "Acme"})).await;
    let reply = sb
        .post(
            &format!("{V4}/batch/associate/default"),
            json!({"inputs": [{"from": {"id": ada}, "to": {"id": acme}},
                              {"from": {"id": "77777777"}, "to": {"id": acme}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "errors travel inline");
    assert_eq!(
        reply.body["results"],
        json!([{"from": {"id": ada}, "to": {"id": acme},
                "associationSpec": {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}}])
    );
    assert_eq!(reply.body["numErrors"], 1);
    assert_eq!(
        reply.body["errors"][0]["context"]["fromObjectId"],
        json!(["77777777"])
    );
    let types = &listed(
        &sb,
        &format!("/crm/v4/objects/contacts/{ada}/associations/companies"),
    )
    .await[0]["associationTypes"];
    assert_eq!(types[0]["typeId"], 279);
    // A pair without a default type: every input fails, nothing is linked.
    let product = sb
        .create("products", json!({"name": "Widget", "price": "5"}))
        .await;
    let reply = sb
        .post(
            "/crm/v4/associations/products/contacts/batch/associate/default",
            json!({"inputs": [{"from": {"id": product}, "to": {"id": ada}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["results"], json!([]));
    assert_eq!(reply.body["errors"][0]["category"], "VALIDATION_ERROR");
}

#[tokio::test]
async fn created_labels_are_usable_everywhere_until_reset() {
    let sb = Sandbox::new().await;
    let ada = sb.contact("ada@example.com").await;
    let acme = sb.create("companies", json!({"name": "Acme"})).await;
    let body = json!({"name": "manager", "label": "Manager", "inverseLabel": "Managed by"});
    let reply = sb.post(&format!("{V4}/labels"), body.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["category"], "USER_DEFINED");
    assert_eq!(results[0]["label"], "Manager");
    assert_eq!(results[1]["label"], "Managed by");
    let type_id = results[0]["typeId"].as_u64().unwrap();
    let inverse = results[1]["typeId"].as_u64().unwrap();
    assert_ne!(type_id, inverse);
    let again = sb.post(&format!("{V4}/labels"), body).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["category"], "OBJECT_ALREADY_EXISTS");
    let labels = sb.get(&format!("{V4}/labels")).await;
    assert!(
        labels.body["results"]
            .as_array()
            .unwrap()
            .contains(&json!({"category": "USER_DEFINED", "typeId": type_id, "label": "Manager"}))
    );
    // Usable as a USER_DEFINED type, and only as one.
    let user = json!([{"associationCategory": "USER_DEFINED", "associationTypeId": type_id}]);
    let reply = sb
        .post(
            &format!("{V4}/batch/create"),
            json!({"inputs": [link(&ada, &acme, user), link(&ada, &acme, hubspot(type_id as u32))]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS);
    assert_eq!(reply.body["results"][0]["labels"], json!(["Manager"]));
    let back = listed(
        &sb,
        &format!("/crm/v4/objects/companies/{acme}/associations/contacts"),
    )
    .await;
    assert!(
        back[0]["associationTypes"].as_array().unwrap().contains(
            &json!({"category": "USER_DEFINED", "typeId": inverse, "label": "Managed by"})
        )
    );
    let read = sb
        .get(&format!(
            "/crm/v3/objects/contacts/{ada}?associations=companies"
        ))
        .await;
    let names: Vec<&str> = read.body["associations"]["companies"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"manager"), "{names:?}");
    // Reset forgets the label and the links.
    sb.send_as(None, Method::POST, "/_sandbox/reset", None)
        .await;
    let labels = sb.get(&format!("{V4}/labels")).await;
    assert!(
        labels.body["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["category"] == "HUBSPOT_DEFINED")
    );
}

#[tokio::test]
async fn archiving_a_record_removes_its_links() {
    let sb = Sandbox::new().await;
    let ada = sb.contact("ada@example.com").await;
    let targets = companies(&sb, 2).await;
    let inputs: Vec<Value> = targets
        .iter()
        .map(|c| link(&ada, c, hubspot(279)))
        .collect();
    sb.post(&format!("{V4}/batch/create"), json!({ "inputs": inputs }))
        .await;
    sb.delete(&format!("/crm/v3/objects/companies/{}", targets[0]))
        .await;
    sb.post(
        "/crm/v3/objects/contacts/batch/archive",
        json!({"inputs": [{"id": ada}]}),
    )
    .await;
    let back = listed(
        &sb,
        &format!(
            "/crm/v4/objects/companies/{}/associations/contacts",
            targets[1]
        ),
    )
    .await;
    assert!(back.is_empty(), "{back:?}");
    let dump = sb
        .send_as(None, Method::GET, "/_sandbox/links/companies", None)
        .await;
    assert_eq!(dump.body["results"], json!([]));
}

#[tokio::test]
async fn association_requests_have_their_own_window_and_day() {
    let sb = Sandbox::start(SandboxConfig {
        requests_per_interval: 2,
        association_requests_per_interval: 3,
        interval: Duration::from_secs(60),
        ..config()
    })
    .await;
    let ada = sb.contact("ada@example.com").await;
    let acme = sb.create("companies", json!({"name": "Acme"})).await;
    assert_eq!(
        sb.get("/crm/v3/objects/contacts").await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the general window is spent"
    );
    let path = format!("/crm/v4/objects/contacts/{ada}/associations/companies");
    for remaining in ["2", "1", "0"] {
        let reply = sb.get(&path).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("x-hubspot-ratelimit-max"), Some("3"));
        assert_eq!(
            reply.header("x-hubspot-ratelimit-remaining"),
            Some(remaining)
        );
        assert_eq!(reply.header("x-hubspot-ratelimit-daily"), Some("500000"));
    }
    let reply = sb
        .post(
            &format!("{V4}/batch/create"),
            json!({"inputs": [link(&ada, &acme, hubspot(279))]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.body["policyName"], "TEN_SECONDLY_ROLLING");
    let stats = sb.stats().await;
    assert_eq!(stats["max_requests_in_window"], 3);
    assert_eq!(stats["max_association_requests_in_window"], 4);
    assert_eq!(stats["daily_used"], 2);
    assert_eq!(stats["association_daily_used"], 3);
    // The association budget is configurable at run time, like the general one.
    let reply = sb
        .configure(json!({"association_requests_per_interval": 10, "association_daily_limit": 4}))
        .await;
    assert_eq!(reply.body["association_requests_per_interval"], 10);
    let reply = sb.get(&path).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header("x-hubspot-ratelimit-daily-remaining"),
        Some("0")
    );
    let reply = sb.get(&path).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.body["policyName"], "DAILY");
}

#[tokio::test]
async fn faults_hit_v4_writes_and_leave_reads_alone() {
    let sb = Sandbox::new().await;
    let ada = sb.contact("ada@example.com").await;
    let acme = sb.create("companies", json!({"name": "Acme"})).await;
    sb.configure(json!({"fault_rate": 1.0})).await;
    let reply = sb
        .post(
            &format!("{V4}/batch/create"),
            json!({"inputs": [link(&ada, &acme, hubspot(279))]}),
        )
        .await;
    assert!(reply.status.is_server_error(), "{}", reply.status);
    let reply = sb
        .post(
            &format!("{V4}/batch/read"),
            json!({"inputs": [{"id": ada}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS, "nothing was linked");
}
