//! The sandbox's batch endpoints over loopback: 207 bodies, all-or-nothing rules, upsert, archive, and
//! the stats that prove no record was created twice.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::sandbox::{Sandbox, embedded};

fn contacts(emails: &[&str]) -> Value {
    let inputs: Vec<Value> = emails
        .iter()
        .map(|e| json!({"properties": {"email": e}}))
        .collect();
    json!({ "inputs": inputs })
}

fn traced(inputs: Vec<Value>) -> Value {
    let inputs: Vec<Value> = inputs
        .into_iter()
        .enumerate()
        .map(|(i, mut input)| {
            input["objectWriteTraceId"] = json!(format!("row-{}", i + 1));
            input
        })
        .collect();
    json!({ "inputs": inputs })
}

#[tokio::test]
async fn batch_read_reports_missing_ids_in_one_207_item() {
    let sb = Sandbox::new().await;
    let a = sb.contact("a@example.com").await;
    let b = sb.contact("b@example.com").await;
    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": b}, {"id": "999999"}, {"id": a}, {"id": "888888"}], "properties": ["email"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS);
    let body = &reply.body;
    assert_eq!(body["status"], "COMPLETE");
    assert_eq!(body["numErrors"], 1);
    let ids: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [b.as_str(), a.as_str()], "input order");
    assert_eq!(body["results"][0]["properties"]["email"], "b@example.com");
    let error = &body["errors"][0];
    assert_eq!(error["status"], "error");
    assert_eq!(error["category"], "OBJECT_NOT_FOUND");
    assert_eq!(
        error["message"],
        "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid."
    );
    assert_eq!(error["context"]["ids"], json!(["999999", "888888"]));
    assert!(body["startedAt"].is_string() && body["completedAt"].is_string());

    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/read",
            json!({"idProperty": "email", "inputs": [{"id": "A@example.com"}], "propertiesWithHistory": ["email"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.get("errors").is_none() && reply.body.get("numErrors").is_none());
    assert_eq!(reply.body["results"][0]["id"], a.as_str());
    assert_eq!(
        reply.body["results"][0]["propertiesWithHistory"]["email"][0]["value"],
        "a@example.com"
    );

    let many: Vec<Value> = (0..101).map(|i| json!({"id": i.to_string()})).collect();
    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": many}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["category"], "VALIDATION_ERROR");
    assert_eq!(
        reply.body["message"],
        "The maximum number of inputs supported in a batch request is 100. Please reduce the number of items and try again"
    );
    let fifty_one: Vec<Value> = (0..51).map(|i| json!({"id": i.to_string()})).collect();
    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": fifty_one, "propertiesWithHistory": ["email"]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body["message"],
        "The maximum number of inputs supported in a batch request for property histories is 50. Please reduce the number of items and try again"
    );
}

#[tokio::test]
async fn traced_batch_create_is_partial() {
    let sb = Sandbox::new().await;
    let existing = sb.contact("taken@example.com").await;
    let body = traced(vec![
        json!({"properties": {"email": "new1@example.com"}}),
        json!({"properties": {"email": "new2@example.com", "missing": "1"}}),
        json!({"properties": {"email": "taken@example.com"}}),
        json!({"properties": {"email": "new3@example.com"}}),
    ]);
    let reply = sb.post("/crm/v3/objects/contacts/batch/create", body).await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS);
    assert_eq!(reply.body["status"], "COMPLETE");
    assert_eq!(reply.body["numErrors"], 2);
    let emails: Vec<&str> = reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["properties"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["new1@example.com", "new3@example.com"]);
    assert!(
        reply.body["results"][0].get("objectWriteTraceId").is_none(),
        "results do not echo trace ids"
    );
    let errors = reply.body["errors"].as_array().unwrap();
    let invalid = &errors[0];
    assert_eq!(invalid["category"], "VALIDATION_ERROR");
    assert_eq!(invalid["context"]["objectWriteTraceId"], json!(["row-2"]));
    assert_eq!(
        embedded(&invalid["message"])[0]["error"],
        "PROPERTY_DOESNT_EXIST"
    );
    assert!(
        invalid.get("errors").is_none(),
        "batch items carry no errors[] detail"
    );
    let conflict = &errors[1];
    assert_eq!(conflict["category"], "CONFLICT");
    assert_eq!(
        conflict["message"],
        format!("Contact already exists. Existing ID: {existing}")
    );
    assert_eq!(conflict["context"]["objectWriteTraceId"], json!(["row-3"]));
    assert_eq!(sb.records("contacts").await, 3);

    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/create",
            traced(vec![json!({"properties": {"email": "new4@example.com"}})]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
}

#[tokio::test]
async fn untraced_batch_create_is_all_or_nothing() {
    let sb = Sandbox::new().await;
    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/create",
            contacts(&["ok@example.com", "bad-address", "ok2@example.com"]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["category"], "VALIDATION_ERROR");
    assert_eq!(
        embedded(&reply.body["message"])[0]["message"],
        "Email address bad-address is invalid"
    );
    assert_eq!(sb.records("contacts").await, 0, "nothing written");

    let existing = sb.contact("taken@example.com").await;
    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/create",
            contacts(&["ok@example.com", "taken@example.com"]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(
        reply.body["message"],
        format!("Contact already exists. Existing ID: {existing}")
    );
    assert_eq!(sb.records("contacts").await, 1, "nothing written");

    // Some inputs traced, some not: still all-or-nothing.
    let mut body = contacts(&["x@example.com", "bad"]);
    body["inputs"][0]["objectWriteTraceId"] = json!("1");
    assert_eq!(
        sb.post("/crm/v3/objects/contacts/batch/create", body)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );

    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/create",
            contacts(&["y@example.com", "z@example.com"]),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert!(
        reply.body["results"][0]["properties"]["hs_email_domain"].is_string(),
        "create echoes every stored property"
    );
}

#[tokio::test]
async fn same_unique_value_twice_in_one_create_is_409() {
    let sb = Sandbox::new().await;
    for body in [
        contacts(&["twice@example.com", "TWICE@example.com"]),
        traced(vec![
            json!({"properties": {"email": "twice@example.com"}}),
            json!({"properties": {"email": "twice@example.com"}}),
        ]),
    ] {
        let reply = sb.post("/crm/v3/objects/contacts/batch/create", body).await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{:?}", reply.body);
        assert_eq!(reply.body["category"], "CONFLICT");
    }
    assert_eq!(sb.records("contacts").await, 0);
}

#[tokio::test]
async fn batch_update_rules() {
    let sb = Sandbox::new().await;
    let a = sb.contact("a@example.com").await;
    let b = sb.contact("b@example.com").await;
    let archived = sb.contact("c@example.com").await;
    sb.delete(&format!("/crm/v3/objects/contacts/{archived}"))
        .await;

    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [
                {"id": b, "properties": {"firstname": "B"}, "objectWriteTraceId": "t1"},
                {"id": "777777", "properties": {"firstname": "X"}, "objectWriteTraceId": "t2"},
                {"id": archived, "properties": {"firstname": "C"}},
                {"id": a, "properties": {"firstname": "A"}, "objectWriteTraceId": "t4"}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS);
    let ids: Vec<&str> = reply.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [b.as_str(), a.as_str()]);
    assert_eq!(reply.body["results"][0]["properties"]["firstname"], "B");
    assert_eq!(reply.body["numErrors"], 2);
    let missing = &reply.body["errors"][0];
    assert_eq!(missing["category"], "OBJECT_NOT_FOUND");
    assert_eq!(missing["context"]["ids"], json!(["777777"]));
    assert_eq!(missing["context"]["objectWriteTraceId"], json!(["t2"]));
    assert_eq!(reply.body["errors"][1]["context"]["ids"], json!([archived]));

    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [{"id": a, "properties": {"firstname": "never"}}, {"id": b, "properties": {"annualrevenue": "lots"}}]}),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "a bad value fails the whole batch"
    );
    assert_eq!(
        embedded(&reply.body["message"])[0]["error"],
        "INVALID_INTEGER"
    );
    let read = sb.get(&format!("/crm/v3/objects/contacts/{a}")).await;
    assert_eq!(read.body["properties"]["firstname"], "A", "nothing written");

    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [{"id": a, "properties": {"firstname": "1"}}, {"id": a, "properties": {"firstname": "2"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body["message"],
        format!("Duplicate IDs found in batch input: [{a}]")
    );

    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [{"id": "a@example.com", "idProperty": "email", "properties": {"firstname": "1"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body["message"],
        "Unable to perform update/upsert by non-unique 0-1 property email in portal ID 4242"
    );

    // Taking another record's unique value: 409, nothing written.
    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [{"id": a, "properties": {"firstname": "Z"}}, {"id": b, "properties": {"email": "a@example.com"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(
        reply.body["message"],
        format!("Contact already exists. Existing ID: {a}")
    );
}

#[tokio::test]
async fn batch_upsert_by_email() {
    let sb = Sandbox::new().await;
    let existing = sb.contact("old@example.com").await;
    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [
                {"id": "new@example.com", "idProperty": "email", "properties": {"firstname": "N"}, "objectWriteTraceId": "1"},
                {"id": "OLD@example.com", "idProperty": "email", "properties": {"firstname": "O"}, "objectWriteTraceId": "2"}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(results[0]["new"], true);
    assert_eq!(results[0]["properties"]["email"], "new@example.com");
    assert_eq!(results[1]["new"], false);
    assert_eq!(results[1]["id"], existing.as_str());
    assert_eq!(results[1]["properties"]["firstname"], "O");
    assert!(results[1]["properties"]["lastmodifieddate"].is_string());

    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [
                {"id": "third@example.com", "idProperty": "email", "properties": {"firstname": "T"}},
                {"id": "old@example.com", "idProperty": "email", "properties": {"date_of_birth": "yesterday"}}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(embedded(&reply.body["message"])[0]["error"], "INVALID_DATE");
    assert_eq!(sb.records("contacts").await, 2, "nothing written");

    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [{"id": "not-an-email", "idProperty": "email", "properties": {}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        embedded(&reply.body["message"])[0]["error"],
        "INVALID_EMAIL"
    );

    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [{"id": "d@example.com", "idProperty": "email", "properties": {}},
                              {"id": "D@example.com", "idProperty": "email", "properties": {}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .starts_with("Duplicate IDs found in batch input: [")
    );

    let reply = sb
        .post(
            "/crm/v3/objects/companies/batch/upsert",
            json!({"inputs": [{"id": "1", "idProperty": "hs_object_id", "properties": {"name": "x"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body["message"],
        "Unable to perform update/upsert by non-unique 0-2 property hs_object_id in portal ID 4242"
    );

    // The partial knob turns per-row validation errors into 207 items.
    sb.configure(json!({"partial_update_errors": true})).await;
    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [
                {"id": "fourth@example.com", "idProperty": "email", "properties": {"firstname": "F"}, "objectWriteTraceId": "a"},
                {"id": "old@example.com", "idProperty": "email", "properties": {"date_of_birth": "yesterday"}, "objectWriteTraceId": "b"}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS);
    assert_eq!(
        reply.body["errors"][0]["context"]["objectWriteTraceId"],
        json!(["b"])
    );
    assert_eq!(reply.body["results"].as_array().unwrap().len(), 1);

    let stats = sb.stats().await;
    assert_eq!(stats["creates_per_trace_id_max"], 1);
    assert_eq!(stats["duplicate_create_trace_ids"], json!([]));
    assert_eq!(
        stats["requests"]["POST /crm/v3/objects/{objectType}/batch/upsert"]["200"],
        1
    );
    assert_eq!(
        stats["requests"]["POST /crm/v3/objects/{objectType}/batch/upsert"]["400"],
        4
    );
}

#[tokio::test]
async fn batch_archive_is_idempotent() {
    let sb = Sandbox::new().await;
    let a = sb.contact("a@example.com").await;
    let b = sb.contact("b@example.com").await;
    let body = json!({"inputs": [{"id": a}, {"id": "424242"}, {"id": b}]});
    let reply = sb
        .post("/crm/v3/objects/contacts/batch/archive", body.clone())
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert_eq!(reply.body, Value::Null, "empty body");
    assert_eq!(
        sb.post("/crm/v3/objects/contacts/batch/archive", body)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(sb.records("contacts").await, 0);
    let read = sb
        .post(
            "/crm/v3/objects/contacts/batch/read",
            json!({"inputs": [{"id": a}]}),
        )
        .await;
    assert_eq!(read.status, StatusCode::MULTI_STATUS);
    let read = sb
        .post(
            "/crm/v3/objects/contacts/batch/read?archived=true",
            json!({"inputs": [{"id": a}]}),
        )
        .await;
    assert_eq!(read.status, StatusCode::OK);
    let many: Vec<Value> = (0..101).map(|i| json!({"id": i.to_string()})).collect();
    assert_eq!(
        sb.post(
            "/crm/v3/objects/contacts/batch/archive",
            json!({"inputs": many})
        )
        .await
        .status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn stats_name_trace_ids_that_created_twice() {
    let sb = Sandbox::new().await;
    let one = |email: &str| traced(vec![json!({"properties": {"email": email}})]);
    sb.post(
        "/crm/v3/objects/contacts/batch/create",
        one("first@example.com"),
    )
    .await;
    assert_eq!(sb.stats().await["creates_per_trace_id_max"], 1);
    // A blind retry of the same row under another email: the same trace id created a second record.
    sb.post(
        "/crm/v3/objects/contacts/batch/create",
        one("second@example.com"),
    )
    .await;
    let stats = sb.stats().await;
    assert_eq!(stats["creates_per_trace_id_max"], 2);
    assert_eq!(stats["duplicate_create_trace_ids"], json!(["row-1"]));
    assert_eq!(stats["records"]["contacts"], 2);
    let reply = sb
        .send_as(None, reqwest::Method::POST, "/_sandbox/reset", None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let stats = sb.stats().await;
    assert_eq!(stats["records"]["contacts"], 0);
    assert_eq!(stats["creates_per_trace_id_max"], 0);
    assert_eq!(stats["requests_total"], 0);
    assert_eq!(stats["daily_used"], 0);
}
