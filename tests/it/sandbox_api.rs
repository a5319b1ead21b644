//! The sandbox over real HTTP on loopback: single-record endpoints, validation bodies, unique
//! values, the lifecycle stage that only moves forward, auth, and `etl sandbox` itself. (Types and schemas: `sandbox_schemas.rs`; associations:
//! `sandbox_associations.rs`.)

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::sandbox::{Sandbox, assert_uuid, config, embedded};

#[tokio::test]
async fn create_returns_201_with_server_set_properties() {
    let sb = Sandbox::new().await;
    let reply = sb
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "Ada@Example.com", "firstname": "Ada", "annualrevenue": 1000}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(
        reply.header("content-type"),
        Some("application/json;charset=utf-8")
    );
    let id = reply.body["id"].as_str().unwrap();
    assert!(id.parse::<u64>().is_ok());
    let props = &reply.body["properties"];
    assert_eq!(props["hs_object_id"], id);
    assert_eq!(props["email"], "Ada@Example.com");
    assert_eq!(
        props["annualrevenue"], "1000",
        "values come back as strings"
    );
    assert_eq!(props["hs_email_domain"], "example.com");
    assert_eq!(props["lifecyclestage"], "lead");
    let created = props["createdate"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 24, "{created}");
    assert_eq!(props["lastmodifieddate"], created);
    assert!(
        props.get("hs_lastmodifieddate").is_none(),
        "contacts use lastmodifieddate"
    );
    assert_eq!(reply.body["createdAt"], created);
    assert_eq!(reply.body["archived"], false);
    // Ids increase per portal, across types.
    let company = sb.create("companies", json!({"name": "Acme"})).await;
    assert!(company.parse::<u64>().unwrap() > id.parse::<u64>().unwrap());
}

#[tokio::test]
async fn read_by_id_and_by_email_with_properties_and_history() {
    let sb = Sandbox::new().await;
    let id = sb.contact("grace@example.com").await;
    let reply = sb
        .get(&format!(
            "/crm/v3/objects/contacts/{id}?properties=email,phone&properties=nosuch"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["properties"]["email"], "grace@example.com");
    assert_eq!(reply.body["properties"]["phone"], Value::Null);
    assert!(
        reply.body["properties"].get("nosuch").is_none(),
        "unknown requested properties are ignored"
    );
    assert_eq!(reply.body["properties"]["hs_object_id"], id.as_str());

    // Default properties when none are named.
    let reply = sb.get(&format!("/crm/v3/objects/contact/{id}")).await;
    let keys: Vec<&str> = reply.body["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "email",
        "firstname",
        "lastname",
        "hs_object_id",
        "createdate",
        "lastmodifieddate",
    ] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }

    let reply = sb
        .patch(
            &format!("/crm/v3/objects/contacts/{id}"),
            json!({"properties": {"firstname": "Grace"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    sb.patch(
        &format!("/crm/v3/objects/contacts/{id}"),
        json!({"properties": {"firstname": "G."}}),
    )
    .await;
    let reply = sb
        .get("/crm/v3/objects/0-1/GRACE%40example.com?idProperty=email&propertiesWithHistory=firstname")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["id"], id.as_str());
    let history = reply.body["propertiesWithHistory"]["firstname"]
        .as_array()
        .unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["value"], "G.", "newest first");
    assert_eq!(history[1]["value"], "Grace");
    assert_eq!(history[0]["sourceType"], "API");
    assert!(history[0]["timestamp"].as_str().unwrap().ends_with('Z'));

    // A non-unique idProperty is refused.
    let reply = sb
        .get(&format!(
            "/crm/v3/objects/contacts/{id}?idProperty=firstname"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body["message"],
        "Unable to perform update/upsert by non-unique 0-1 property firstname in portal ID 4242"
    );
}

#[tokio::test]
async fn not_found_bodies() {
    let sb = Sandbox::new().await;
    let reply = sb.get("/crm/v3/objects/contacts/999999999").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["status"], "error");
    assert_eq!(reply.body["message"], "resource not found");
    assert!(reply.body.get("category").is_none());
    assert_uuid(&reply.body["correlationId"]);
    assert_eq!(
        reply.header("x-hubspot-correlation-id"),
        reply.body["correlationId"].as_str()
    );

    let reply = sb.get("/crm/v3/objects/contacts/abc").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.body["category"], "OBJECT_NOT_FOUND");
    assert_eq!(
        reply.body["message"],
        "Object not found.  objectId are usually numeric."
    );
    assert_eq!(reply.body["context"]["id"], json!(["abc"]));

    let reply = sb
        .patch(
            "/crm/v3/objects/contacts/999999999",
            json!({"properties": {}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    let reply = sb.get("/crm/v3/objects/widgets").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body["message"],
        "Unable to infer object type from: widgets"
    );
    assert_eq!(reply.body["category"], "VALIDATION_ERROR");

    let reply = sb
        .post("/crm/v3/objects/contacts", json!("not an object"))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid input JSON")
    );
}

#[tokio::test]
async fn list_pages_through_records() {
    let sb = Sandbox::new().await;
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(
            sb.create("companies", json!({"name": format!("Co {i}")}))
                .await,
        );
    }
    let mut seen = Vec::new();
    let mut path = "/crm/v3/objects/companies?limit=10&properties=name".to_owned();
    loop {
        let reply = sb.get(&path).await;
        assert_eq!(reply.status, StatusCode::OK);
        let results = reply.body["results"].as_array().unwrap();
        assert!(results.len() <= 10);
        seen.extend(results.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        match reply.body["paging"]["next"]["after"].as_str() {
            Some(after) => {
                assert!(
                    reply.body["paging"]["next"]["link"]
                        .as_str()
                        .unwrap()
                        .contains(after)
                );
                path = format!("/crm/v3/objects/companies?limit=10&after={after}");
            }
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let reply = sb.get("/crm/v3/objects/companies").await;
    assert_eq!(
        reply.body["results"].as_array().unwrap().len(),
        10,
        "default limit"
    );
    let reply = sb.get("/crm/v3/objects/companies?limit=500").await;
    assert_eq!(
        reply.body["results"].as_array().unwrap().len(),
        25,
        "limit is capped at 100"
    );
}

#[tokio::test]
async fn patch_clears_and_refuses_read_only() {
    let sb = Sandbox::new().await;
    let id = sb.contact("lin@example.com").await;
    let reply = sb
        .patch(
            "/crm/v3/objects/contacts/lin@example.com?idProperty=email",
            json!({"properties": {"jobtitle": "CTO", "phone": "+1 555 0100"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["id"], id.as_str());
    assert_eq!(reply.body["properties"]["jobtitle"], "CTO");
    sb.patch(
        &format!("/crm/v3/objects/contacts/{id}"),
        json!({"properties": {"jobtitle": ""}}),
    )
    .await;
    let reply = sb
        .get(&format!(
            "/crm/v3/objects/contacts/{id}?properties=jobtitle,phone"
        ))
        .await;
    assert_eq!(reply.body["properties"]["jobtitle"], Value::Null);
    assert_eq!(reply.body["properties"]["phone"], "+1 555 0100");

    let reply = sb
        .patch(
            &format!("/crm/v3/objects/contacts/{id}"),
            json!({"properties": {"createdate": "2020-01-01"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["errors"][0]["code"], "READ_ONLY_VALUE");
    assert_eq!(
        embedded(&reply.body["message"])[0]["error"],
        "READ_ONLY_VALUE"
    );
}

/// A record's current `lifecyclestage`.
async fn stage(sb: &Sandbox, object: &str, id: &str) -> Value {
    let reply = sb
        .get(&format!(
            "/crm/v3/objects/{object}/{id}?properties=lifecyclestage"
        ))
        .await;
    reply.body["properties"]["lifecyclestage"].clone()
}

#[tokio::test]
async fn a_lifecycle_stage_moves_forward_only_unless_cleared_first() {
    let sb = Sandbox::new().await;
    let id = sb
        .create(
            "contacts",
            json!({"email": "kim@example.com", "lifecyclestage": "customer"}),
        )
        .await;
    // Backwards: accepted (200) and ignored, on the single and the batch paths.
    let reply = sb
        .patch(
            &format!("/crm/v3/objects/contacts/{id}"),
            json!({"properties": {"lifecyclestage": "lead", "jobtitle": "CFO"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(stage(&sb, "contacts", &id).await, "customer");
    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [{"id": id, "properties": {"lifecyclestage": "subscriber"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(stage(&sb, "contacts", &id).await, "customer");
    // The rest of the write landed.
    let reply = sb
        .get(&format!(
            "/crm/v3/objects/contacts/{id}?properties=jobtitle"
        ))
        .await;
    assert_eq!(reply.body["properties"]["jobtitle"], "CFO");
    // Forwards is written; cleared, then any stage.
    for (value, now) in [
        ("evangelist", json!("evangelist")),
        ("", Value::Null),
        ("lead", json!("lead")),
    ] {
        let reply = sb
            .patch(
                &format!("/crm/v3/objects/contacts/{id}"),
                json!({"properties": {"lifecyclestage": value}}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert_eq!(stage(&sb, "contacts", &id).await, now, "after {value:?}");
    }
    // Companies' stage follows the same rule.
    let company = sb
        .create(
            "companies",
            json!({"name": "Acme", "lifecyclestage": "opportunity"}),
        )
        .await;
    sb.patch(
        &format!("/crm/v3/objects/companies/{company}"),
        json!({"properties": {"lifecyclestage": "lead"}}),
    )
    .await;
    assert_eq!(stage(&sb, "companies", &company).await, "opportunity");
}

#[tokio::test]
async fn delete_archives_and_is_idempotent() {
    let sb = Sandbox::new().await;
    let id = sb.contact("gone@example.com").await;
    assert_eq!(
        sb.delete(&format!("/crm/v3/objects/contacts/{id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        sb.delete(&format!("/crm/v3/objects/contacts/{id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        sb.delete("/crm/v3/objects/contacts/123456789").await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        sb.get(&format!("/crm/v3/objects/contacts/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let reply = sb
        .get(&format!("/crm/v3/objects/contacts/{id}?archived=true"))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["archived"], true);
    assert!(reply.body["archivedAt"].is_string());
    let list = sb.get("/crm/v3/objects/contacts").await;
    assert!(list.body["results"].as_array().unwrap().is_empty());
    let list = sb.get("/crm/v3/objects/contacts?archived=true").await;
    assert_eq!(list.body["results"].as_array().unwrap().len(), 1);
    // The archived record's email is free again.
    sb.contact("gone@example.com").await;
}

#[tokio::test]
async fn single_record_validation_bodies() {
    let sb = Sandbox::new().await;
    let reply = sb
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "example.lcom"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["status"], "error");
    assert_eq!(reply.body["category"], "VALIDATION_ERROR");
    assert_uuid(&reply.body["correlationId"]);
    let items = embedded(&reply.body["message"]);
    assert_eq!(items[0]["isValid"], false);
    assert_eq!(items[0]["message"], "Email address example.lcom is invalid");
    assert_eq!(items[0]["error"], "INVALID_EMAIL");
    assert_eq!(items[0]["name"], "email");
    assert_eq!(items[0]["portalId"], 4242);
    assert_eq!(reply.body["errors"][0]["code"], "INVALID_EMAIL");
    assert_eq!(
        reply.body["errors"][0]["context"]["propertyName"],
        json!(["email"])
    );

    let reply = sb
        .post(
            "/crm/v3/objects/companies",
            json!({"properties": {"name": "X", "testproperty": "1"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body["message"].as_str().unwrap().starts_with(
        r#"Property values were not valid: [{"isValid":false,"message":"Property \"testproperty\" does not exist","error":"PROPERTY_DOESNT_EXIST","name":"testproperty""#
    ));
    assert_eq!(
        reply.body["errors"][0]["message"],
        "Property \"testproperty\" does not exist"
    );

    let cases = [
        (
            "deals",
            json!({"dealname": "d", "dealstage": "closedwon", "pipeline": "default", "amount": "12,5"}),
            "INVALID_INTEGER",
            "12,5 was not a valid number",
        ),
        (
            "deals",
            json!({"dealname": "d", "dealstage": "closedwon", "pipeline": "default", "closedate": "1635535865"}),
            "INVALID_DATE",
            "1635535865 is at 22:18:55.865 UTC, not midnight!",
        ),
        (
            "tickets",
            json!({"subject": "s", "hs_pipeline": "0", "hs_pipeline_stage": "1", "hs_ticket_category": "reports"}),
            "INVALID_OPTION",
            "reports was not one of the allowed options: [PRODUCT_ISSUE, BILLING_ISSUE, FEATURE_REQUEST, GENERAL_INQUIRY]",
        ),
        (
            "contacts",
            json!({"email": "a@b.co", "hs_marketable_status": "maybe"}),
            "INVALID_OPTION",
            "maybe was not one of the allowed options: [true, false]",
        ),
        (
            "contacts",
            json!({"email": "a@b.co", "hs_buying_role": "CHAMPION;BOSS"}),
            "INVALID_OPTION",
            "BOSS was not one of the allowed options: [BLOCKER, BUDGET_HOLDER, CHAMPION, DECISION_MAKER, END_USER, EXECUTIVE_SPONSOR, INFLUENCER, LEGAL_AND_COMPLIANCE, OTHER]",
        ),
        (
            "notes",
            json!({"hs_timestamp": "next tuesday"}),
            "INVALID_DATE",
            "next tuesday is not a valid datetime: use ISO 8601 or milliseconds since the epoch",
        ),
    ];
    for (object_type, props, code, message) in cases {
        let reply = sb
            .post(
                &format!("/crm/v3/objects/{object_type}"),
                json!({"properties": props}),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{object_type} {props}"
        );
        let items = embedded(&reply.body["message"]);
        assert_eq!(
            (items[0]["error"].as_str(), items[0]["message"].as_str()),
            (Some(code), Some(message))
        );
    }

    // Good values of every type are normalised as HubSpot returns them.
    let reply = sb
        .post(
            "/crm/v3/objects/deals",
            json!({"properties": {"dealname": "d", "dealstage": "closedwon", "pipeline": "default",
                                   "closedate": 1572480000000_i64, "amount": 10.5}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["properties"]["closedate"], "2019-10-31");
    assert_eq!(reply.body["properties"]["amount"], "10.5");
    assert_eq!(reply.body["properties"]["hs_is_closed"], "true");
    let reply = sb
        .post(
            "/crm/v3/objects/notes",
            json!({"properties": {"hs_timestamp": "0"}}),
        )
        .await;
    assert_eq!(
        reply.body["properties"]["hs_timestamp"],
        "1970-01-01T00:00:00.000Z"
    );
}

#[tokio::test]
async fn required_properties_are_enforced_on_create() {
    let sb = Sandbox::new().await;
    let reply = sb
        .post(
            "/crm/v3/objects/deals",
            json!({"properties": {"dealname": "d", "pipeline": "default"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["category"], "VALIDATION_ERROR");
    let items = embedded(&reply.body["message"]);
    assert_eq!(items[0]["error"], "REQUIRED_PROPERTY");
    assert_eq!(items[0]["name"], "dealstage");
    assert_eq!(reply.body["errors"][0]["code"], "REQUIRED_PROPERTY");

    let reply = sb
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"phone": "1"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        embedded(&reply.body["message"])[0]["message"]
            .as_str()
            .unwrap()
            .contains("[email, firstname, lastname]")
    );
    // Updates need no required properties.
    let id = sb.contact("req@example.com").await;
    let reply = sb
        .patch(
            &format!("/crm/v3/objects/contacts/{id}"),
            json!({"properties": {"phone": "1"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn unique_values_conflict_with_409() {
    let sb = Sandbox::new().await;
    let id = sb.contact("dup@example.com").await;
    let reply = sb
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "DUP@example.com"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.body["status"], "error");
    assert_eq!(reply.body["category"], "CONFLICT");
    assert_eq!(
        reply.body["message"],
        format!("Contact already exists. Existing ID: {id}")
    );
    assert_uuid(&reply.body["correlationId"]);
    // Additional emails are unique identifiers too, against `email` of other contacts.
    let other = sb.contact("other@example.com").await;
    let reply = sb
        .patch(
            &format!("/crm/v3/objects/contacts/{other}"),
            json!({"properties": {"hs_additional_emails": "x@example.com;dup@example.com"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(
        reply.body["message"],
        format!("Contact already exists. Existing ID: {id}")
    );
}

#[tokio::test]
async fn missing_or_wrong_token_is_401_and_not_counted() {
    let sb = Sandbox::new().await;
    for token in [None, Some("wrong")] {
        let reply = sb
            .send_as(token, Method::GET, "/crm/v3/objects/contacts", None)
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.body["status"], "error");
        assert_eq!(reply.body["category"], "INVALID_AUTHENTICATION");
        assert_eq!(
            reply.body["message"],
            "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
        );
        assert_uuid(&reply.body["correlationId"]);
    }
    assert_eq!(sb.stats().await["daily_used"], 0);
    // Without a configured token, any non-empty bearer token is accepted.
    let open = Sandbox::start(etl::sandbox::SandboxConfig {
        token: None,
        ..config()
    })
    .await;
    let reply = open
        .send_as(
            Some("anything"),
            Method::GET,
            "/crm/v3/objects/contacts",
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = open
        .send_as(None, Method::GET, "/crm/v3/objects/contacts", None)
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_cli_serves_until_killed() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_etl"))
        .args([
            "sandbox",
            "--addr",
            "127.0.0.1:0",
            "--token",
            "cli-secret-token",
            "--requests-per-interval",
            "50",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("etl runs");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("etl sandbox listening on ")
        .expect("prints its URL")
        .to_owned();
    let reply = crate::support::sandbox::http()
        .get(format!("{url}/crm/v3/objects/contacts"))
        .bearer_auth("cli-secret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    assert_eq!(reply.headers()["x-hubspot-ratelimit-max"], "50");
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("cli-secret-token"),
        "the token is never logged"
    );
}
