//! `POST /crm/v4/associations/{fromObjectType}/{toObjectType}/labels`: creates a `USER_DEFINED` label
//! (both directions); its type ids are then valid in every association endpoint.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::super::error::ApiError;
use super::super::state::AppState;
use super::super::view;
use super::parse_body;

/// The body (`PublicAssociationDefinitionCreateRequest`, plus the documented `inverseLabel`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LabelCreate {
    name: String,
    label: String,
    #[serde(default)]
    inverse_label: Option<String>,
}

/// 200 with both directions' `{category, typeId, label}` (forward first); 409 when the pair already has
/// a label of that name; 400 for an empty name or label.
pub async fn create(
    State(app): State<AppState>,
    Path((from, to)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let from = app.resolve(&from)?;
    let to = app.resolve(&to)?;
    let body: LabelCreate = parse_body(&body)?;
    if body.name.trim().is_empty() || body.label.trim().is_empty() {
        return Err(ApiError::validation(
            "An association label needs a non-empty name and label",
        ));
    }
    let inverse = body
        .inverse_label
        .as_deref()
        .filter(|l| !l.trim().is_empty());
    let kinds = app
        .labels_mut()
        .create(&from, &to, &body.name, &body.label, inverse)
        .map_err(|name| {
            ApiError::already_exists(format!(
                "An association label named '{name}' already exists from {} to {}.",
                from.name, to.name
            ))
        })?;
    let results: Vec<_> = kinds
        .iter()
        .map(|k| json!({"category": k.category.as_str(), "typeId": k.type_id, "label": k.label}))
        .collect();
    Ok(view::json(StatusCode::OK, &json!({ "results": results })))
}
