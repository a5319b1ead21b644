//! The sandbox over real HTTP on loopback: single-record endpoints, validation bodies, object types,
//! schemas, associations, auth.

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

#[tokio::test]
async fn associations_on_create_and_by_path() {
    let sb = Sandbox::new().await;
    let contact = sb.contact("assoc@example.com").await;
    let company = sb.create("companies", json!({"name": "Acme"})).await;
    let deal_props =
        json!({"dealname": "Big", "dealstage": "qualifiedtobuy", "pipeline": "default"});
    let reply = sb
        .post(
            "/crm/v3/objects/deals",
            json!({"properties": deal_props, "associations": [
                {"to": {"id": contact}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}]},
                {"to": {"id": company}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 5}]}
            ]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let deal = reply.body["id"].as_str().unwrap().to_owned();
    let read = sb
        .get(&format!(
            "/crm/v3/objects/deals/{deal}?associations=contacts,companies"
        ))
        .await;
    assert_eq!(
        read.body["associations"]["contacts"]["results"][0]["id"],
        contact.as_str()
    );
    assert_eq!(
        read.body["associations"]["contacts"]["results"][0]["type"],
        "deal_to_contact"
    );
    assert_eq!(
        read.body["associations"]["companies"]["results"][0]["id"],
        company.as_str()
    );
    // Both directions are stored.
    let read = sb
        .get(&format!(
            "/crm/v3/objects/contacts/{contact}?associations=deals"
        ))
        .await;
    assert_eq!(
        read.body["associations"]["deals"]["results"][0]["id"],
        deal.as_str()
    );

    // Bad type id, missing target: 400, nothing created.
    for (to, type_id) in [(contact.as_str(), 9999), ("123456789", 3)] {
        let reply = sb
            .post(
                "/crm/v3/objects/deals",
                json!({"properties": deal_props, "associations": [
                    {"to": {"id": to}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}]}]}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{:?}", reply.body);
        assert_eq!(reply.body["category"], "VALIDATION_ERROR");
    }
    assert_eq!(sb.records("deals").await, 1);

    // v3 PUT / DELETE.
    let path = format!("/crm/v3/objects/contacts/{contact}/associations/companies/{company}/279");
    let reply = sb.put(&path).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        reply.body["associations"]["companies"]["results"][0]["type"],
        "contact_to_company_unlabeled"
    );
    let read = sb
        .get(&format!(
            "/crm/v3/objects/companies/{company}?associations=contacts"
        ))
        .await;
    assert_eq!(
        read.body["associations"]["contacts"]["results"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(sb.delete(&path).await.status, StatusCode::NO_CONTENT);
    let read = sb
        .get(&format!(
            "/crm/v3/objects/companies/{company}?associations=contacts"
        ))
        .await;
    assert!(
        read.body["associations"]["contacts"]["results"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let bad = sb
        .put(&format!(
            "/crm/v3/objects/contacts/{contact}/associations/companies/{company}/3"
        ))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let missing = sb
        .put(&format!(
            "/crm/v3/objects/contacts/{contact}/associations/companies/99999999/279"
        ))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // v4 labels.
    let labels = sb
        .get("/crm/v4/associations/contacts/companies/labels")
        .await;
    let results = labels.body["results"].as_array().unwrap();
    assert!(
        results.contains(&json!({"category": "HUBSPOT_DEFINED", "typeId": 279, "label": null}))
    );
    assert!(
        results.contains(&json!({"category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Primary"}))
    );
    let labels = sb.get("/crm/v4/associations/notes/tickets/labels").await;
    assert_eq!(labels.body["results"][0]["typeId"], 228);
}

#[tokio::test]
async fn only_an_associated_activity_can_be_pinned() {
    let sb = Sandbox::new().await;
    let contact = sb.contact("pin@example.com").await;
    let reply = sb
        .post(
            "/crm/v3/objects/notes",
            json!({"properties": {"hs_timestamp": "2024-01-01T00:00:00Z", "hs_note_body": "hi"},
                   "associations": [{"to": {"id": contact}, "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}]}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let note = reply.body["id"].as_str().unwrap().to_owned();
    let stray = sb
        .create("notes", json!({"hs_timestamp": "2024-01-01T00:00:00Z"}))
        .await;

    let reply = sb
        .patch(
            &format!("/crm/v3/objects/contacts/{contact}"),
            json!({"properties": {"hs_pinned_engagement_id": stray}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["category"], "VALIDATION_ERROR");
    assert_eq!(
        embedded(&reply.body["message"])[0]["name"],
        "hs_pinned_engagement_id"
    );

    let reply = sb
        .patch(
            &format!("/crm/v3/objects/contacts/{contact}"),
            json!({"properties": {"hs_pinned_engagement_id": note}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        reply.body["properties"]["hs_pinned_engagement_id"],
        note.as_str()
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
    let reply = reqwest::Client::new()
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
