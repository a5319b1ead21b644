//! Property creation on the sandbox over loopback (`POST /crm/v3/properties/{objectType}`), unique
//! properties enforced on every write and usable as `idProperty`, the ten-unique limit, reset; and the
//! reading paths an export relies on (list paging with history and associations, batch read by unique
//! property with history).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::sandbox::{Sandbox, config};

fn text_property(name: &str, unique: bool) -> Value {
    json!({"name": name, "label": name, "type": "string", "fieldType": "text",
           "groupName": "contactinformation", "hasUniqueValue": unique})
}

async fn create_property(sb: &Sandbox, object_type: &str, body: Value) {
    let reply = sb
        .post(&format!("/crm/v3/properties/{object_type}"), body)
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
}

#[tokio::test]
async fn a_created_property_is_served_and_writable() {
    let sb = Sandbox::new().await;
    let reply = sb
        .post(
            "/crm/v3/properties/contacts",
            json!({"name": "favorite_color", "label": "Favorite color", "type": "enumeration",
                   "fieldType": "select", "groupName": "contactinformation", "description": "Pick one",
                   "displayOrder": 2, "formField": true,
                   "options": [{"label": "Red", "value": "red", "hidden": false},
                               {"label": "Blue", "value": "blue", "hidden": false, "displayOrder": 7}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let created = &reply.body;
    assert_eq!(created["name"], "favorite_color");
    assert_eq!(created["type"], "enumeration");
    assert_eq!(created["fieldType"], "select");
    assert_eq!(created["groupName"], "contactinformation");
    assert_eq!(created["hubspotDefined"], false);
    assert_eq!(created["hasUniqueValue"], false);
    assert_eq!(created["options"][1]["displayOrder"], 7);
    let read = sb.get("/crm/v3/properties/contacts/favorite_color").await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, *created);
    let all = sb.get("/crm/v3/properties/contacts").await;
    assert!(all.body["results"].as_array().unwrap().contains(created));
    let schema = sb.get("/crm/v3/schemas/0-1").await;
    assert!(
        schema.body["properties"]
            .as_array()
            .unwrap()
            .contains(created)
    );
    let id = sb
        .create(
            "contacts",
            json!({"email": "ada@example.com", "favorite_color": "red"}),
        )
        .await;
    let reply = sb
        .get(&format!(
            "/crm/v3/objects/contacts/{id}?properties=favorite_color"
        ))
        .await;
    assert_eq!(reply.body["properties"]["favorite_color"], "red");
    let reply = sb
        .patch(
            &format!("/crm/v3/objects/contacts/{id}"),
            json!({"properties": {"favorite_color": "green"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("INVALID_OPTION")
    );
}

#[tokio::test]
async fn a_taken_name_is_409_and_a_bad_definition_400() {
    let sb = Sandbox::new().await;
    create_property(&sb, "deals", text_property("region", false)).await;
    for name in ["region", "dealname", "hs_object_id"] {
        let reply = sb
            .post("/crm/v3/properties/deals", text_property(name, false))
            .await;
        assert_eq!(reply.status, StatusCode::CONFLICT, "{name}");
        assert_eq!(reply.body["category"], "OBJECT_ALREADY_EXISTS");
        assert_eq!(
            reply.body["message"],
            format!("A property named '{name}' already exists.")
        );
    }
    let bad = [
        json!({"name": "a", "label": "A", "type": "string", "fieldType": "select", "groupName": "g"}),
        json!({"name": "a", "label": "A", "type": "bool", "fieldType": "text", "groupName": "g"}),
        json!({"name": "a", "label": "A", "type": "text", "fieldType": "text", "groupName": "g"}),
        json!({"name": "a", "label": "A", "type": "enumeration", "fieldType": "radio", "groupName": "g"}),
        json!({"name": "Has Spaces", "label": "A", "type": "string", "fieldType": "text", "groupName": "g"}),
        json!({"name": "a", "label": "A", "type": "string", "fieldType": "textarea", "groupName": "g",
               "hasUniqueValue": true}),
        json!({"name": "a", "label": "A", "type": "string"}),
    ];
    for body in bad {
        let reply = sb.post("/crm/v3/properties/deals", body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.body["category"], "VALIDATION_ERROR", "{body}");
    }
    let reply = sb
        .post("/crm/v3/properties/widgets", text_property("a", false))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_created_unique_property_is_enforced_on_every_write() {
    let sb = Sandbox::new().await;
    create_property(&sb, "contacts", text_property("member_no", true)).await;
    let ada = sb
        .create(
            "contacts",
            json!({"email": "ada@example.com", "member_no": "M-1"}),
        )
        .await;
    let conflict = format!("Contact already exists. Existing ID: {ada}");
    // Single create.
    let reply = sb
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "b@example.com", "member_no": "M-1"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.body["message"], conflict.as_str());
    // Batch create with trace ids: a 207 item.
    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [
                {"objectWriteTraceId": "1", "properties": {"email": "c@example.com", "member_no": "M-2"}},
                {"objectWriteTraceId": "2", "properties": {"email": "d@example.com", "member_no": "M-1"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS, "{:?}", reply.body);
    assert_eq!(reply.body["errors"][0]["category"], "CONFLICT");
    assert_eq!(reply.body["errors"][0]["message"], conflict.as_str());
    assert_eq!(
        reply.body["errors"][0]["context"]["objectWriteTraceId"],
        json!(["2"])
    );
    let carl = reply.body["results"][0]["id"].as_str().unwrap().to_owned();
    // Two inputs of one batch cannot share a value either.
    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/create",
            json!({"inputs": [{"properties": {"email": "e@example.com", "member_no": "M-9"}},
                              {"properties": {"email": "f@example.com", "member_no": "M-9"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    // PATCH and batch update.
    let reply = sb
        .patch(
            &format!("/crm/v3/objects/contacts/{carl}"),
            json!({"properties": {"member_no": "M-1"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/update",
            json!({"inputs": [{"id": carl, "properties": {"member_no": "M-1"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    assert_eq!(reply.body["message"], conflict.as_str());
    // Upsert: an existing value updates, a new one creates; taking another's value conflicts.
    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [
                {"id": "M-1", "idProperty": "member_no", "properties": {"firstname": "Ada"}},
                {"id": "M-3", "idProperty": "member_no", "properties": {"email": "g@example.com"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(reply.body["results"][0]["id"], ada.as_str());
    assert_eq!(reply.body["results"][0]["new"], false);
    assert_eq!(reply.body["results"][1]["new"], true);
    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [{"id": "ada@example.com", "idProperty": "email",
                               "properties": {"member_no": "M-3"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CONFLICT);
    // Single GET and PATCH by idProperty, batch update by idProperty.
    let reply = sb
        .get("/crm/v3/objects/contacts/M-1?idProperty=member_no&properties=firstname")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["id"], ada.as_str());
    assert_eq!(reply.body["properties"]["firstname"], "Ada");
    let reply = sb
        .patch(
            "/crm/v3/objects/contacts/M-1?idProperty=member_no",
            json!({"properties": {"lastname": "Lovelace"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/update",
            json!({"idProperty": "member_no",
                   "inputs": [{"id": "M-1", "properties": {"jobtitle": "Analyst"}},
                              {"id": "M-404", "properties": {"jobtitle": "Nobody"}}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::MULTI_STATUS);
    assert_eq!(reply.body["results"][0]["id"], ada.as_str());
    assert_eq!(reply.body["errors"][0]["context"]["ids"], json!(["M-404"]));
    // Archiving frees the value.
    sb.delete(&format!("/crm/v3/objects/contacts/{ada}")).await;
    sb.create(
        "contacts",
        json!({"email": "h@example.com", "member_no": "M-1"}),
    )
    .await;
}

#[tokio::test]
async fn custom_objects_take_created_unique_properties_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schemas.json");
    std::fs::write(
        &path,
        json!({"name": "cars", "requiredProperties": ["model"],
               "properties": [{"name": "model", "type": "string", "fieldType": "text"}]})
        .to_string(),
    )
    .unwrap();
    let sb = Sandbox::start(etl::sandbox::SandboxConfig {
        schema_file: Some(path),
        ..config()
    })
    .await;
    create_property(&sb, "cars", text_property("plate", true)).await;
    let prop = sb.get("/crm/v3/properties/2-1/plate").await;
    assert_eq!(prop.body["hasUniqueValue"], true);
    let upsert =
        json!({"inputs": [{"id": "AB-123", "idProperty": "plate", "properties": {"model": "T"}}]});
    let first = sb
        .post("/crm/v3/objects/cars/batch/upsert", upsert.clone())
        .await;
    assert_eq!(first.status, StatusCode::OK, "{:?}", first.body);
    assert_eq!(first.body["results"][0]["new"], true);
    let second = sb.post("/crm/v3/objects/cars/batch/upsert", upsert).await;
    assert_eq!(second.body["results"][0]["new"], false);
    assert_eq!(sb.records("cars").await, 1);
}

#[tokio::test]
async fn the_eleventh_unique_property_is_refused() {
    let sb = Sandbox::new().await;
    for i in 0..10 {
        create_property(&sb, "companies", text_property(&format!("key_{i}"), true)).await;
    }
    let reply = sb
        .post(
            "/crm/v3/properties/companies",
            text_property("key_10", true),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.body["category"], "VALIDATION_ERROR");
    assert_eq!(
        reply.body["message"],
        "Unable to create property 'key_10': object type 0-2 already has 10 unique value properties, the most HubSpot allows"
    );
    create_property(&sb, "companies", text_property("key_10", false)).await;
    // Contacts' own unique `email` does not count against the ten.
    for i in 0..10 {
        create_property(&sb, "contacts", text_property(&format!("key_{i}"), true)).await;
    }
}

#[tokio::test]
async fn reset_removes_created_properties() {
    let sb = Sandbox::new().await;
    create_property(&sb, "contacts", text_property("member_no", true)).await;
    sb.create(
        "contacts",
        json!({"email": "a@example.com", "member_no": "M-1"}),
    )
    .await;
    let reply = sb
        .send_as(None, Method::POST, "/_sandbox/reset", None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        sb.get("/crm/v3/properties/contacts/member_no").await.status,
        StatusCode::NOT_FOUND
    );
    let reply = sb
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "a@example.com", "member_no": "M-1"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("PROPERTY_DOESNT_EXIST")
    );
    // The name is free again, and the new property starts with an empty index.
    create_property(&sb, "contacts", text_property("member_no", true)).await;
    sb.create(
        "contacts",
        json!({"email": "b@example.com", "member_no": "M-1"}),
    )
    .await;
}

#[tokio::test]
async fn lists_page_with_archived_history_and_associations() {
    let sb = Sandbox::new().await;
    let inputs: Vec<Value> = (0..120)
        .map(|i| json!({"properties": {"email": format!("p{i}@example.com")}}))
        .collect();
    for chunk in inputs.chunks(100) {
        let reply = sb
            .post(
                "/crm/v3/objects/contacts/batch/create",
                json!({"inputs": chunk}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    let page = sb.get("/crm/v3/objects/contacts?limit=500").await;
    assert_eq!(page.body["results"].as_array().unwrap().len(), 100);
    let after = page.body["paging"]["next"]["after"]
        .as_str()
        .unwrap()
        .to_owned();
    let rest = sb
        .get(&format!("/crm/v3/objects/contacts?limit=100&after={after}"))
        .await;
    assert_eq!(rest.body["results"].as_array().unwrap().len(), 20);
    assert!(rest.body.get("paging").is_none());
    // With history a page holds at most 50, each with its history.
    let page = sb
        .get("/crm/v3/objects/contacts?limit=100&propertiesWithHistory=email")
        .await;
    let results = page.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 50);
    assert_eq!(
        results[0]["propertiesWithHistory"]["email"][0]["value"],
        "p0@example.com"
    );
    assert!(page.body["paging"]["next"]["after"].is_string());
    // Archived records, only with archived=true.
    let first = results[0]["id"].as_str().unwrap().to_owned();
    sb.delete(&format!("/crm/v3/objects/contacts/{first}"))
        .await;
    let archived = sb.get("/crm/v3/objects/contacts?archived=true").await;
    let archived = archived.body["results"].as_array().unwrap();
    assert_eq!(archived.len(), 1);
    assert_eq!(archived[0]["id"], first.as_str());
    assert_eq!(archived[0]["archived"], true);
    // Associations ride along.
    let second = results[1]["id"].as_str().unwrap().to_owned();
    let acme = sb.create("companies", json!({"name": "Acme"})).await;
    sb.put(&format!(
        "/crm/v3/objects/contacts/{second}/associations/companies/{acme}/279"
    ))
    .await;
    let page = sb
        .get("/crm/v3/objects/contacts?limit=1&associations=companies&properties=email")
        .await;
    assert_eq!(page.body["results"][0]["id"], second.as_str());
    assert_eq!(
        page.body["results"][0]["associations"]["companies"]["results"][0]["id"],
        acme.as_str()
    );
}

#[tokio::test]
async fn batch_read_by_unique_property_with_history() {
    let sb = Sandbox::new().await;
    create_property(&sb, "contacts", text_property("member_no", true)).await;
    let ada = sb
        .create(
            "contacts",
            json!({"email": "ada@example.com", "member_no": "M-1"}),
        )
        .await;
    sb.patch(
        &format!("/crm/v3/objects/contacts/{ada}"),
        json!({"properties": {"member_no": "M-2"}}),
    )
    .await;
    for (id_property, id) in [("email", "ADA@example.com"), ("member_no", "M-2")] {
        let reply = sb
            .post(
                "/crm/v3/objects/contacts/batch/read",
                json!({"idProperty": id_property, "properties": ["email"],
                       "propertiesWithHistory": ["member_no"],
                       "inputs": [{"id": id}, {"id": "missing-1"}]}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::MULTI_STATUS, "{id_property}");
        let result = &reply.body["results"][0];
        assert_eq!(result["id"], ada.as_str());
        let history: Vec<&str> = result["propertiesWithHistory"]["member_no"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["value"].as_str().unwrap())
            .collect();
        assert_eq!(history, ["M-2", "M-1"], "newest first");
        assert_eq!(reply.body["errors"][0]["category"], "OBJECT_NOT_FOUND");
        assert_eq!(
            reply.body["errors"][0]["context"]["ids"],
            json!(["missing-1"])
        );
    }
    let inputs: Vec<Value> = (0..51).map(|i| json!({"id": format!("M-{i}")})).collect();
    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/read",
            json!({"idProperty": "member_no", "propertiesWithHistory": ["member_no"], "inputs": inputs}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap()
            .contains("property histories is 50")
    );
}
