//! The default deal and ticket pipelines of a fresh portal (API-NOTES §8), for `GET /crm/v3/pipelines/{type}`.

use serde_json::{Value, json};

use super::properties::{DEAL_STAGES, TICKET_STAGES};

const EPOCH: &str = "2020-01-01T00:00:00.000Z";

/// The pipelines of `type_name` (`deals` or `tickets`), or `None` for a type without pipelines.
pub fn of(type_name: &str) -> Option<Value> {
    let (id, label, stages): (&str, &str, Vec<Value>) = match type_name {
        "deals" => (
            "default",
            "Sales Pipeline",
            DEAL_STAGES
                .iter()
                .enumerate()
                .map(|(i, (id, label, probability))| {
                    let closed = *id == "closedwon" || *id == "closedlost";
                    stage(
                        i,
                        id,
                        label,
                        json!({"probability": probability, "isClosed": closed.to_string()}),
                    )
                })
                .collect(),
        ),
        "tickets" => (
            "0",
            "Support Pipeline",
            TICKET_STAGES
                .iter()
                .enumerate()
                .map(|(i, (id, label, state))| stage(i, id, label, json!({"ticketState": state})))
                .collect(),
        ),
        _ => return None,
    };
    Some(json!({"results": [{
        "id": id,
        "label": label,
        "displayOrder": 0,
        "stages": stages,
        "createdAt": EPOCH,
        "updatedAt": EPOCH,
        "archived": false,
    }]}))
}

fn stage(order: usize, id: &str, label: &str, metadata: Value) -> Value {
    json!({
        "id": id,
        "label": label,
        "displayOrder": order,
        "metadata": metadata,
        "createdAt": EPOCH,
        "updatedAt": EPOCH,
        "archived": false,
        "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
    })
}
