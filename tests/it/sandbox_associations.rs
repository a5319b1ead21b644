//! The sandbox's associations over loopback: on create, by the v3 paths, v4 labels, and pinned
//! activities.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::sandbox::{Sandbox, embedded};

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
