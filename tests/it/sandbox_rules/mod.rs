//! Property validation rules over loopback: the GET/PUT round trip, rules on every kind of 2026-09 write,
//! normalization, `--rules-file` at start, reset and `/_sandbox/config`. `types`: every rule type, one test
//! each.

mod types;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::sandbox::{Sandbox, config, embedded};
use crate::support::workdir::Workdir;

/// Where 2026-09 serves the rules.
const RULES_2609: &str = "/crm/property-validations/2026-09";

#[tokio::test]
async fn rules_round_trip_through_put_and_get() {
    let sb = &Sandbox::new().await;
    let put =
        |path: String, body: Value| async move { sb.send(Method::PUT, &path, Some(body)).await };
    // Set through v3 by name, read through the dated families by id: one set of rules per portal.
    let set = put(
        "/crm/v3/property-validations/deals/dealname/rule-type/MAX_LENGTH".into(),
        json!({"ruleArguments": ["10"]}),
    )
    .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT);
    assert_eq!(set.body, Value::Null);
    put(
        "/crm/property-validations/2026-03/0-3/dealname/rule-type/ALPHANUMERIC".into(),
        json!({"ruleArguments": ["ALPHA_ONLY"], "shouldApplyNormalization": true}),
    )
    .await;
    put(
        "/crm/property-validations/2026-09/0-3/amount/rule-type/DECIMAL".into(),
        json!({"ruleArguments": ["2"]}),
    )
    .await;
    // A PUT of the same type replaces the rule.
    put(
        "/crm/property-validations/2026-09/0-3/dealname/rule-type/MAX_LENGTH".into(),
        json!({"ruleArguments": ["12"]}),
    )
    .await;

    let all = sb.get("/crm/property-validations/2026-09/0-3").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(
        all.body,
        json!({"results": [
            {"propertyName": "amount", "propertyValidationRules": [
                {"ruleType": "DECIMAL", "ruleArguments": ["2"]}]},
            {"propertyName": "dealname", "propertyValidationRules": [
                {"ruleType": "ALPHANUMERIC", "ruleArguments": ["ALPHA_ONLY"], "shouldApplyNormalization": true},
                {"ruleType": "MAX_LENGTH", "ruleArguments": ["12"]}]},
        ]})
    );
    let one_property = sb.get("/crm/v3/property-validations/0-3/dealname").await;
    assert_eq!(one_property.body["results"].as_array().unwrap().len(), 2);
    let one_rule = sb
        .get("/crm/property-validations/2026-03/deals/dealname/rule-type/MAX_LENGTH")
        .await;
    assert_eq!(
        one_rule.body,
        json!({"ruleType": "MAX_LENGTH", "ruleArguments": ["12"]})
    );
    let none = sb
        .get("/crm/property-validations/2026-09/0-3/closedate")
        .await;
    assert_eq!(none.body, json!({"results": []}));
    assert_eq!(
        sb.get("/crm/property-validations/2026-09/0-1").await.body,
        json!({"results": []})
    );

    // What is refused, and how.
    let missing_rule = sb
        .get("/crm/property-validations/2026-09/0-3/dealname/rule-type/REGEX")
        .await;
    assert_eq!(missing_rule.status, StatusCode::NOT_FOUND);
    assert_eq!(missing_rule.body["category"], "OBJECT_NOT_FOUND");
    let missing_property = sb
        .get("/crm/property-validations/2026-09/0-3/shoe_size")
        .await;
    assert_eq!(missing_property.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing_property.body["message"],
        "Property shoe_size does not exist on 0-3"
    );
    let unknown_type = sb.get("/crm/property-validations/2026-09/bikes").await;
    assert_eq!(unknown_type.status, StatusCode::BAD_REQUEST);
    let refused = [
        (
            "dealname/rule-type/MAXLEN",
            json!({"ruleArguments": ["1"]}),
            "Unknown ruleType MAXLEN",
        ),
        (
            "dealname/rule-type/MAX_LENGTH",
            json!({"ruleArguments": ["ten"]}),
            "MAX_LENGTH takes one argument: an integer from 1 to 10000",
        ),
        (
            "dealname/rule-type/DECIMAL",
            json!({"ruleArguments": ["2"]}),
            "DECIMAL rules do not apply to property dealname (type string, fieldType text)",
        ),
        (
            "dealname/rule-type/REGEX",
            json!({"ruleArguments": ["(unclosed"]}),
            "REGEX takes",
        ),
        (
            "dealname/rule-type/MAX_LENGTH",
            json!({}),
            "Invalid input JSON",
        ),
    ];
    for (tail, body, message) in refused {
        let reply = put(
            format!("/crm/property-validations/2026-09/0-3/{tail}"),
            body,
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{tail}");
        assert_eq!(reply.body["category"], "VALIDATION_ERROR");
        let text = reply.body["message"].as_str().unwrap();
        assert!(text.starts_with(message), "{text}");
    }
    // Nothing refused was stored.
    let after = sb
        .get("/crm/property-validations/2026-09/0-3/dealname")
        .await;
    assert_eq!(after.body["results"].as_array().unwrap().len(), 2);
    let stats = sb.stats().await;
    assert_eq!(
        stats["requests"]["PUT /crm/property-validations/2026-09/{objectTypeId}/{propertyName}/rule-type/{ruleType}"]
            ["204"],
        2
    );
}

#[tokio::test]
async fn rules_apply_to_every_2026_09_write() {
    let sb = Sandbox::new().await;
    for (property, rule, args) in [
        ("email", "EMAIL_ALLOWED_DOMAINS", json!(["company.com"])),
        ("firstname", "MIN_LENGTH", json!(["2"])),
    ] {
        let path = format!("{RULES_2609}/0-1/{property}/rule-type/{rule}");
        let reply = sb
            .send(Method::PUT, &path, Some(json!({"ruleArguments": args})))
            .await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
    }
    let base = "/crm/objects/2026-09/0-1";

    // Single create: 400 with every refused property, as HubSpot lists them.
    let single = sb
        .post(
            base,
            json!({"properties": {"email": "ada@gmail.com", "firstname": "A"}}),
        )
        .await;
    assert_eq!(single.status, StatusCode::BAD_REQUEST);
    let issues = embedded(&single.body["message"]);
    let codes: Vec<&str> = issues
        .iter()
        .map(|i| i["error"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["INVALID_EMAIL_DOMAIN", "INVALID_MIN_LENGTH"]);

    // Traced batch create: the good input lands, the bad one is an item in the 201 body.
    let traced = sb
        .post(
            &format!("{base}/batch/create"),
            json!({"inputs": [
                {"objectWriteTraceId": "1", "properties": {"email": "ada@company.com", "firstname": "Ada"}},
                {"objectWriteTraceId": "2", "properties": {"email": "bob@gmail.com"}},
            ]}),
        )
        .await;
    assert_eq!(traced.status, StatusCode::CREATED);
    assert_eq!(traced.body["numErrors"], 1);
    let item = &traced.body["errors"][0];
    assert_eq!(item["category"], "VALIDATION_ERROR");
    assert_eq!(item["context"]["objectWriteTraceId"], json!(["2"]));
    assert_eq!(
        embedded(&item["message"])[0]["error"],
        "INVALID_EMAIL_DOMAIN"
    );
    let ada = traced.body["results"][0]["id"].as_str().unwrap().to_owned();

    // Without trace ids, all or nothing.
    let untraced = sb
        .post(
            &format!("{base}/batch/create"),
            json!({"inputs": [
                {"properties": {"email": "cy@company.com"}},
                {"properties": {"email": "dee@gmail.com"}},
            ]}),
        )
        .await;
    assert_eq!(untraced.status, StatusCode::BAD_REQUEST);

    // Batch update: an invalid value fails the whole batch, as any invalid value does.
    let update = sb
        .post(
            &format!("{base}/batch/update"),
            json!({"inputs": [{"id": ada, "properties": {"firstname": "A"}}]}),
        )
        .await;
    assert_eq!(update.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        embedded(&update.body["message"])[0]["error"],
        "INVALID_MIN_LENGTH"
    );

    // Upsert: the id is a value of its idProperty, and is checked as one.
    let upsert = sb
        .post(
            &format!("{base}/batch/upsert"),
            json!({"inputs": [{"id": "eve@gmail.com", "idProperty": "email", "properties": {"firstname": "Eve"}}]}),
        )
        .await;
    assert_eq!(upsert.status, StatusCode::BAD_REQUEST);
    assert_eq!(embedded(&upsert.body["message"])[0]["name"], "email");
    sb.configure(json!({"partial_update_errors": true})).await;
    let partial = sb
        .post(
            &format!("{base}/batch/upsert"),
            json!({"inputs": [
                {"id": "eve@company.com", "idProperty": "email", "properties": {"firstname": "Eve"}},
                {"id": "fay@company.com", "idProperty": "email", "objectWriteTraceId": "f", "properties": {"firstname": "F"}},
            ]}),
        )
        .await;
    assert_eq!(partial.status, StatusCode::OK, "no 207 on 2026-09");
    assert_eq!(partial.body["results"][0]["new"], true);
    assert_eq!(
        partial.body["errors"][0]["context"]["objectWriteTraceId"],
        json!(["f"])
    );

    // Clearing a value is always allowed; 2026-03 writes are not checked.
    let cleared = sb
        .patch(
            &format!("{base}/{ada}"),
            json!({"properties": {"firstname": ""}}),
        )
        .await;
    assert_eq!(cleared.status, StatusCode::OK);
    let older = sb
        .post(
            "/crm/objects/2026-03/0-1",
            json!({"properties": {"email": "gus@gmail.com", "firstname": "G"}}),
        )
        .await;
    assert_eq!(older.status, StatusCode::CREATED);
    assert_eq!(sb.records("contacts").await, 3);
}

#[tokio::test]
async fn normalization_checks_the_trimmed_value() {
    let sb = Sandbox::new().await;
    let path = format!("{RULES_2609}/0-1/zip/rule-type/ALPHANUMERIC");
    sb.send(
        Method::PUT,
        &path,
        Some(json!({"ruleArguments": ["NUMERIC_ONLY"], "shouldApplyNormalization": true})),
    )
    .await;
    sb.send(
        Method::PUT,
        &format!("{RULES_2609}/0-1/zip/rule-type/WHITESPACE"),
        Some(json!({"ruleArguments": ["TRIM"], "shouldApplyNormalization": true})),
    )
    .await;
    let reply = sb
        .post(
            "/crm/objects/2026-09/0-1",
            json!({"properties": {"email": "z@example.com", "zip": " 02139 "}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["properties"]["zip"], " 02139 ", "stored as sent");
}

fn rules_file(work: &Workdir) -> std::path::PathBuf {
    work.write(
        "rules.json",
        json!({
            "contacts": {"firstname": {"MAX_LENGTH": {"ruleArguments": ["4"]}}},
            "0-3": {"amount": {"DECIMAL": {"ruleArguments": ["0"], "shouldApplyNormalization": false}}},
        })
        .to_string(),
    )
}

#[tokio::test]
async fn rules_from_a_file_survive_reset_and_config_replaces_them() {
    let work = Workdir::new();
    let sb = Sandbox::start(etl::sandbox::SandboxConfig {
        rules_file: Some(rules_file(&work)),
        ..config()
    })
    .await;
    let deals = sb.get("/crm/property-validations/2026-09/0-3").await;
    assert_eq!(
        deals.body["results"][0]["propertyValidationRules"],
        json!([{"ruleType": "DECIMAL", "ruleArguments": ["0"], "shouldApplyNormalization": false}])
    );
    let long = json!({"properties": {"email": "long@example.com", "firstname": "Alexander"}});
    let refused = sb.post("/crm/objects/2026-09/0-1", long.clone()).await;
    assert_eq!(
        embedded(&refused.body["message"])[0]["error"],
        "INVALID_MAX_LENGTH"
    );

    // Reset drops what was PUT at run time and keeps the start set.
    sb.send(
        Method::PUT,
        &format!("{RULES_2609}/0-1/lastname/rule-type/MIN_LENGTH"),
        Some(json!({"ruleArguments": ["2"]})),
    )
    .await;
    let reset = sb
        .send_as(None, Method::POST, "/_sandbox/reset", None)
        .await;
    assert_eq!(reset.status, StatusCode::OK);
    let contacts = sb.get("/crm/property-validations/2026-09/0-1").await;
    let names: Vec<&str> = contacts.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["propertyName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["firstname"]);

    // `/_sandbox/config` with `rules` replaces the set, and reset then returns to the new one.
    let bad = sb
        .configure(
            json!({"rules": {"contacts": {"firstname": {"MAX_LENGTH": {"ruleArguments": []}}}}}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body["message"]
            .as_str()
            .unwrap()
            .starts_with("rules: contacts.firstname.MAX_LENGTH:")
    );
    assert_eq!(
        sb.get("/crm/property-validations/2026-09/0-1").await.body,
        contacts.body,
        "unchanged"
    );
    let replaced = sb
        .configure(
            json!({"rules": {"contacts": {"lastname": {"MAX_LENGTH": {"ruleArguments": ["3"]}}}}}),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK);
    assert_eq!(replaced.body["validation_rules"], 1);
    sb.send_as(None, Method::POST, "/_sandbox/reset", None)
        .await;
    let accepted = sb.post("/crm/objects/2026-09/0-1", long).await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{:?}", accepted.body);
    let lastname = sb
        .post(
            "/crm/objects/2026-09/0-1",
            json!({"properties": {"email": "l@example.com", "lastname": "Lovelace"}}),
        )
        .await;
    assert_eq!(lastname.status, StatusCode::BAD_REQUEST);
}

#[test]
fn etl_sandbox_takes_a_rules_file() {
    let work = Workdir::new();
    let path = rules_file(&work);
    let sandbox = Sandbox::process(&etl::sandbox::SandboxConfig {
        token: Some("tok".into()),
        rules_file: Some(path),
        ..config()
    });
    let rules = sandbox
        .portal()
        .get("/crm/property-validations/2026-09/contacts/firstname");
    assert_eq!(rules.status, StatusCode::OK);
    assert_eq!(
        rules.body,
        json!({"results": [{"ruleType": "MAX_LENGTH", "ruleArguments": ["4"]}]})
    );
    let refused = sandbox.portal().post(
        "/crm/objects/2026-09/0-1",
        json!({"properties": {"email": "a@example.com", "firstname": "Alexander"}}),
    );
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{:?}",
        refused.body
    );
    assert_eq!(
        embedded(&refused.body["message"])[0]["error"],
        "INVALID_MAX_LENGTH"
    );

    let bad = work.write(
        "bad.json",
        r#"{"contacts": {"firstname": {"MAX_LENGTH": {"ruleArguments": ["x"]}}}}"#,
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_etl"))
        .args(["sandbox", "--addr", "127.0.0.1:0", "--rules-file"])
        .arg(&bad)
        .env_remove("RUST_LOG")
        .output()
        .expect("etl runs");
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("rules file")
            && text.contains("contacts.firstname.MAX_LENGTH: MAX_LENGTH takes one argument"),
        "{text}"
    );
}
