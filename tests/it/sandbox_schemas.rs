//! The sandbox's object types over loopback: every type creatable from its own schema, property
//! schemas and pipelines, custom objects from a schema file.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::sandbox::{Sandbox, config};

/// A value valid for a property of the given schema JSON.
fn sample(property: &Value) -> Value {
    match property["type"].as_str().unwrap() {
        "number" => json!("1"),
        "date" => json!("2024-01-01"),
        "datetime" => json!("2024-01-01T10:00:00Z"),
        "bool" => json!("true"),
        "enumeration" => property["options"][0]["value"].clone(),
        _ if property["name"] == "email" => json!("someone@example.com"),
        _ => json!("a name"),
    }
}

#[tokio::test]
async fn every_type_is_creatable_from_its_schema_by_id_and_name() {
    let sb = Sandbox::new().await;
    let schemas = sb.get("/crm/v3/schemas").await;
    assert_eq!(schemas.status, StatusCode::OK);
    let schemas = schemas.body["results"].as_array().unwrap().clone();
    assert_eq!(schemas.len(), 23);
    for schema in &schemas {
        let type_id = schema["objectTypeId"].as_str().unwrap();
        let name = schema["name"].as_str().unwrap();
        let one = sb.get(&format!("/crm/v3/schemas/{type_id}")).await;
        assert_eq!(one.body["name"], name);
        let props = sb.get(&format!("/crm/v3/properties/{name}")).await.body["results"].clone();
        let find = |n: &str| {
            props
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == n)
                .cloned()
                .unwrap()
        };
        let mut required: Vec<String> =
            serde_json::from_value(schema["requiredProperties"].clone()).unwrap();
        if let Some(first) = schema["requiredAnyOf"].as_array().and_then(|a| a.first()) {
            required.push(first.as_str().unwrap().to_owned());
        }
        let mut values = serde_json::Map::new();
        for prop in &required {
            values.insert(prop.clone(), sample(&find(prop)));
        }
        // By objectTypeId, then by name.
        for path in [type_id, name] {
            let reply = sb
                .post(
                    &format!("/crm/v3/objects/{path}"),
                    json!({"properties": values}),
                )
                .await;
            let ok = reply.status == StatusCode::CREATED
                || (name == "contacts" && reply.status == StatusCode::CONFLICT);
            assert!(ok, "{name} via {path}: {:?}", reply.body);
        }
    }
    // The table: a few ids.
    for (id, name) in [
        ("0-2", "companies"),
        ("0-421", "appointments"),
        ("0-136", "leads"),
        ("0-116", "postal_mail"),
        ("0-115", "users"),
    ] {
        assert_eq!(
            sb.get(&format!("/crm/v3/schemas/{id}")).await.body["name"],
            name
        );
    }
}

#[tokio::test]
async fn property_schemas_and_pipelines() {
    let sb = Sandbox::new().await;
    let props = sb.get("/crm/v3/properties/contacts").await;
    assert_eq!(props.status, StatusCode::OK);
    let list = props.body["results"].as_array().unwrap();
    let find = |n: &str| {
        list.iter()
            .find(|p| p["name"] == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    let email = find("email");
    assert_eq!(email["type"], "string");
    assert_eq!(email["hasUniqueValue"], true);
    for key in [
        "label",
        "fieldType",
        "description",
        "groupName",
        "options",
        "calculated",
        "hidden",
        "formField",
    ] {
        assert!(email.get(key).is_some(), "{key}");
    }
    assert_eq!(find("phone")["type"], "phone_number");
    assert_eq!(find("date_of_birth")["type"], "date");
    assert_eq!(find("hs_buying_role")["fieldType"], "checkbox");
    assert_eq!(
        find("hs_object_id")["modificationMetadata"]["readOnlyValue"],
        true
    );
    let stages: Vec<&str> = find("lifecyclestage")["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            "subscriber",
            "lead",
            "marketingqualifiedlead",
            "salesqualifiedlead",
            "opportunity",
            "customer",
            "evangelist",
            "other"
        ]
    );
    let option = &find("hs_lead_status")["options"][0];
    for key in ["label", "value", "displayOrder", "hidden"] {
        assert!(option.get(key).is_some(), "{key}");
    }
    let one = sb.get("/crm/v3/properties/deals/dealstage").await;
    assert_eq!(one.body["options"].as_array().unwrap().len(), 7);

    let deals = sb.get("/crm/v3/pipelines/deals").await;
    assert_eq!(deals.body["results"][0]["id"], "default");
    let stages: Vec<&str> = deals.body["results"][0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            "appointmentscheduled",
            "qualifiedtobuy",
            "presentationscheduled",
            "decisionmakerboughtin",
            "contractsent",
            "closedwon",
            "closedlost"
        ]
    );
    assert_eq!(
        deals.body["results"][0]["stages"][0]["metadata"]["probability"],
        "0.2"
    );
    let tickets = sb.get("/crm/v3/pipelines/tickets").await;
    assert_eq!(tickets.body["results"][0]["id"], "0");
    assert_eq!(tickets.body["results"][0]["stages"][3]["label"], "Closed");

    let schema = sb.get("/crm/v3/schemas/deals").await;
    assert_eq!(
        schema.body["requiredProperties"],
        json!(["dealname", "dealstage", "pipeline"])
    );
    assert_eq!(schema.body["objectTypeId"], "0-3");
    assert!(schema.body["properties"].as_array().unwrap().len() > 10);
}

#[tokio::test]
async fn custom_objects_from_a_schema_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schemas.json");
    std::fs::write(
        &path,
        json!([{
            "name": "cars",
            "labels": {"singular": "Car", "plural": "Cars"},
            "primaryDisplayProperty": "model",
            "requiredProperties": ["vin"],
            "searchableProperties": ["vin", "model"],
            "properties": [
                {"name": "vin", "label": "VIN", "type": "string", "fieldType": "text", "hasUniqueValue": true},
                {"name": "model", "label": "Model", "type": "string", "fieldType": "text"},
                {"name": "year", "label": "Year", "type": "number", "fieldType": "number"},
                {"name": "color", "label": "Color", "type": "enumeration", "fieldType": "select",
                 "options": [{"label": "Red", "value": "red"}, {"label": "Blue", "value": "blue"}]}
            ]
        }])
        .to_string(),
    )
    .unwrap();
    let sb = Sandbox::start(etl::sandbox::SandboxConfig {
        schema_file: Some(path),
        ..config()
    })
    .await;
    let schema = sb.get("/crm/v3/schemas/cars").await;
    assert_eq!(schema.status, StatusCode::OK);
    assert_eq!(schema.body["objectTypeId"], "2-1");
    assert_eq!(schema.body["fullyQualifiedName"], "p4242_cars");
    assert_eq!(schema.body["requiredProperties"], json!(["vin"]));
    let id = sb
        .create("2-1", json!({"vin": "V1", "model": "T", "color": "red"}))
        .await;
    let reply = sb
        .get(&format!(
            "/crm/v3/objects/p4242_cars/{id}?properties=vin,color"
        ))
        .await;
    assert_eq!(reply.body["properties"]["color"], "red");
    assert!(reply.body["properties"]["hs_lastmodifieddate"].is_string());
    let reply = sb
        .post("/crm/v3/objects/cars", json!({"properties": {"vin": "V1"}}))
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(
        reply.body["message"],
        format!("Car already exists. Existing ID: {id}")
    );
    let reply = sb
        .post(
            "/crm/v3/objects/cars",
            json!({"properties": {"model": "no vin"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = sb
        .post(
            "/crm/v3/objects/cars/batch/upsert",
            json!({"inputs": [{"id": "V1", "idProperty": "vin", "properties": {"year": "2020"}},
                              {"id": "V2", "idProperty": "vin", "properties": {"year": "2021"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["results"][0]["new"], false);
    assert_eq!(reply.body["results"][1]["new"], true);
    assert_eq!(reply.body["results"][1]["properties"]["vin"], "V2");

    // A broken schema file stops the start with a clear error.
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"name":"x","properties":[{"name":"a","type":"colour"}]}"#,
    )
    .unwrap();
    let err = etl::sandbox::start(etl::sandbox::SandboxConfig {
        schema_file: Some(bad),
        ..config()
    })
    .await
    .unwrap_err();
    assert!(err.to_string().contains("unknown type"), "{err}");
}
