//! What a client learns about the portal: object schemas (`/crm/v3/schemas`), property definitions
//! (`/crm/v3/properties/{objectType}`) and pipelines (`/crm/v3/pipelines/{objectType}`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::super::error::ApiError;
use super::super::pipelines;
use super::super::state::AppState;
use super::super::view;

/// `GET /crm/v3/schemas`: every type, standard and custom (HubSpot lists only custom ones; the sandbox
/// lists all, so an engine can learn required properties of any type from one call).
pub async fn list(State(app): State<AppState>) -> Response {
    let results: Vec<Value> = app
        .registry
        .all()
        .iter()
        .map(|ty| ty.schema_json(app.portal_id))
        .collect();
    view::json(StatusCode::OK, &json!({ "results": results }))
}

/// `GET /crm/v3/schemas/{objectType}`.
pub async fn one(
    State(app): State<AppState>,
    Path(object_type): Path<String>,
) -> Result<Response, ApiError> {
    let ty = &*app.resolve(&object_type)?;
    Ok(view::json(StatusCode::OK, &ty.schema_json(app.portal_id)))
}

/// `GET /crm/v3/properties/{objectType}`.
pub async fn properties(
    State(app): State<AppState>,
    Path(object_type): Path<String>,
) -> Result<Response, ApiError> {
    let ty = &*app.resolve(&object_type)?;
    let results: Vec<Value> = ty
        .properties
        .iter()
        .map(|p| p.to_json(!ty.custom))
        .collect();
    Ok(view::json(StatusCode::OK, &json!({ "results": results })))
}

/// `GET /crm/v3/properties/{objectType}/{propertyName}`.
pub async fn property(
    State(app): State<AppState>,
    Path((object_type, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let ty = &*app.resolve(&object_type)?;
    let prop = ty.prop(&name).ok_or_else(ApiError::not_found)?;
    Ok(view::json(
        StatusCode::OK,
        &ty.properties[prop].to_json(!ty.custom),
    ))
}

/// `GET /crm/v3/pipelines/{objectType}` (deals and tickets).
pub async fn pipelines(
    State(app): State<AppState>,
    Path(object_type): Path<String>,
) -> Result<Response, ApiError> {
    let ty = &*app.resolve(&object_type)?;
    let body = pipelines::of(&ty.name).ok_or_else(|| {
        ApiError::validation(format!(
            "Object type {} does not support pipelines",
            ty.name
        ))
    })?;
    Ok(view::json(StatusCode::OK, &body))
}
