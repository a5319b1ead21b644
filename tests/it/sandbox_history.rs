//! What the sandbox's compact record storage must keep exactly as before on the wire: every version of
//! a property newest first (clears included, repeats not), who wrote it, a cleared value versus one
//! never written, the properties a create echoes and their order, and unique emails compared without
//! case while records change and leave.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::sandbox::{Sandbox, TOKEN};

fn values(history: &Value) -> Vec<&str> {
    history
        .as_array()
        .expect("a history array")
        .iter()
        .map(|v| v["value"].as_str().expect("a string value"))
        .collect()
}

#[tokio::test]
async fn history_lists_every_write_newest_first_with_clears_and_sources() {
    let sb = Sandbox::new().await;
    let created = sb
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"jobtitle": "Dev", "email": "ann@example.com", "firstname": "Ann"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let path = format!("/crm/v3/objects/contacts/{id}");
    for properties in [
        json!({"firstname": "Anna"}),
        json!({"jobtitle": ""}),
        json!({"firstname": "Anna"}),
        json!({"jobtitle": "Lead", "firstname": "Anna"}),
    ] {
        let reply = sb.patch(&path, json!({ "properties": properties })).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    }
    let reply = sb
        .get(&format!(
            "{path}?properties=jobtitle,phone&propertiesWithHistory=firstname,jobtitle,lifecyclestage,phone,hs_object_id"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let history = &reply.body["propertiesWithHistory"];
    assert_eq!(
        values(&history["firstname"]),
        ["Anna", "Ann"],
        "an unchanged value adds no version"
    );
    assert_eq!(
        values(&history["jobtitle"]),
        ["Lead", "", "Dev"],
        "a clear is a version with an empty value"
    );
    assert_eq!(history["phone"], json!([]), "never written: no versions");
    let stage = history["lifecyclestage"].as_array().unwrap();
    assert_eq!(
        (stage.len(), &stage[0]["value"], &stage[0]["sourceType"]),
        (1, &json!("lead"), &json!("CALCULATED"))
    );
    assert_eq!(history["jobtitle"][0]["sourceType"], "API");
    assert_eq!(history["hs_object_id"][0]["value"], id.as_str());
    let stamps: Vec<&str> = history["jobtitle"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["timestamp"].as_str().unwrap())
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {stamps:?}"
    );
    assert_eq!(reply.body["properties"]["jobtitle"], "Lead");
    assert_eq!(reply.body["properties"]["phone"], Value::Null);
    assert_eq!(
        reply.body["properties"].as_object().unwrap().len(),
        5,
        "the two named and the three server-set: {:?}",
        reply.body["properties"]
    );
}

#[tokio::test]
async fn a_create_echoes_the_properties_with_values_in_schema_order() {
    let sb = Sandbox::new().await;
    let schema = sb.get("/crm/v3/properties/contacts").await;
    let order: Vec<String> = schema.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    // The raw body: a parsed `Value` sorts its keys, and the order on the wire is what is checked.
    let raw = crate::support::sandbox::http()
        .post(format!("{}/crm/v3/objects/contacts", sb.base))
        .bearer_auth(TOKEN)
        .json(&json!({"properties": {"zip": "97001", "email": "bo@example.com", "city": "", "company": "Acme"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::CREATED);
    let text = raw.text().await.unwrap();
    let properties = text
        .split_once("\"properties\":{")
        .and_then(|(_, rest)| rest.split_once('}'))
        .map(|(inside, _)| inside)
        .expect("a properties object");
    let keys: Vec<&str> = properties
        .split(',')
        .map(|pair| pair.split('"').nth(1).expect("a quoted key"))
        .collect();
    let mut expected = [
        "email",
        "company",
        "zip",
        "lifecyclestage",
        "hs_email_domain",
        "hs_object_source",
    ];
    expected.sort_by_key(|name| order.iter().position(|p| p == name));
    assert_eq!(
        keys[..expected.len()],
        expected[..],
        "values in schema order, an empty input left out: {keys:?}"
    );
    let mut server = keys[expected.len()..].to_vec();
    server.sort_unstable();
    assert_eq!(server, ["createdate", "hs_object_id", "lastmodifieddate"]);
}

#[tokio::test]
async fn unique_emails_fold_case_and_follow_changes_and_archives() {
    let sb = Sandbox::new().await;
    let ann = sb.contact("Mixed@Case.com").await;
    let twin = sb
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "mixed@case.COM"}}),
        )
        .await;
    assert_eq!(twin.status, StatusCode::CONFLICT, "{:?}", twin.body);
    let upsert = sb
        .post(
            "/crm/v3/objects/contacts/batch/upsert",
            json!({"inputs": [{"id": "MIXED@case.com", "idProperty": "email", "properties": {"firstname": "Ann"}}]}),
        )
        .await;
    assert_eq!(upsert.status, StatusCode::OK, "{:?}", upsert.body);
    assert_eq!(upsert.body["results"][0]["id"], ann.as_str());
    assert_eq!(upsert.body["results"][0]["new"], false);

    // A changed address frees the old one and takes the new one.
    let reply = sb
        .patch(
            &format!("/crm/v3/objects/contacts/{ann}"),
            json!({"properties": {"email": "Other@X.com"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let bo = sb.contact("mixed@case.com").await;
    let found = sb
        .get("/crm/v3/objects/contacts/OTHER@x.COM?idProperty=email")
        .await;
    assert_eq!(found.body["id"], ann.as_str());

    // Additional addresses share the index with `email`.
    let reply = sb
        .patch(
            &format!("/crm/v3/objects/contacts/{bo}"),
            json!({"properties": {"hs_additional_emails": "Alt@Y.org;second@y.org"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let taken = sb
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "ALT@y.org"}}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{:?}", taken.body);
    let found = sb
        .get("/crm/v3/objects/contacts/second@Y.ORG?idProperty=email")
        .await;
    assert_eq!(
        found.body["id"],
        bo.as_str(),
        "an additional address finds its contact too"
    );

    // An archived record leaves the index, and is still found among the archived.
    let reply = sb.delete(&format!("/crm/v3/objects/contacts/{ann}")).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let gone = sb
        .get("/crm/v3/objects/contacts/other@x.com?idProperty=email")
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let archived = sb
        .get("/crm/v3/objects/contacts/other@x.com?idProperty=email&archived=true")
        .await;
    assert_eq!(archived.body["id"], ann.as_str(), "{:?}", archived.body);
    let again = sb.contact("other@X.com").await;
    assert_ne!(again, ann);
}
