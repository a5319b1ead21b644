//! The v4 association reads: `POST /crm/v4/associations/{from}/{to}/batch/read` and
//! `GET /crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}`, both paged by target id.
//!
//! A record with no link to the target type is not an empty result: HubSpot answers it as a 207
//! `OBJECT_NOT_FOUND` item with `subCategory: crm.associations.NO_ASSOCIATIONS_FOUND` (captured by
//! several integrators), and it cannot tell an unknown id from an unlinked one — neither can the sandbox.

use std::collections::HashSet;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::super::error::{ApiError, ErrorItem, too_many_inputs};
use super::super::labels::Labels;
use super::super::objects::ObjectType;
use super::super::state::AppState;
use super::super::time;
use super::super::view;
use super::assoc_batch::{Answer, Inputs};
use super::bodies::Scalar;
use super::{Params, parse_body};

/// Inputs of one batch read (CL-ASSOC-READ: enforced since 2025-02-10).
const MAX_READ_INPUTS: usize = 1_000;
/// Targets per page: the listing's documented "Limit 500 per call", also per batch-read input.
const PAGE: usize = 500;

/// A batch read input: `{id, after?}`.
#[derive(Debug, Deserialize)]
struct ReadInput {
    id: Scalar,
    #[serde(default)]
    after: Option<Scalar>,
}

/// One target with the types linking to it (`MultiAssociatedObjectWithLabel`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Associated {
    to_object_id: u64,
    association_types: Vec<TypeOut>,
}

/// `AssociationSpecWithLabel`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TypeOut {
    category: Option<&'static str>,
    type_id: u32,
    label: Option<String>,
}

/// A page of the targets of `from_id` of type `to`, after target id `after`; the cursor of the next
/// page when there is one.
fn page(
    app: &AppState,
    (from, from_id): (&ObjectType, u64),
    to: &ObjectType,
    after: u64,
    limit: usize,
) -> (Vec<Associated>, Option<u64>) {
    let stored: Vec<(u64, Vec<u32>)> = app
        .store
        .links()
        .toward((from.index, from_id), to.index, after)
        .take(limit + 1)
        .map(|(id, types)| (id, types.to_vec()))
        .collect();
    let more = stored.len() > limit;
    let labels = app.labels();
    let items: Vec<Associated> = stored
        .into_iter()
        .take(limit)
        .map(|(to_object_id, types)| Associated {
            to_object_id,
            association_types: types
                .into_iter()
                .map(|type_id| describe(&labels, (from, to), type_id))
                .collect(),
        })
        .collect();
    let next = more.then(|| items.last().map(|i| i.to_object_id)).flatten();
    (items, next)
}

fn describe(labels: &Labels, (from, to): (&ObjectType, &ObjectType), type_id: u32) -> TypeOut {
    match labels.describe(from, to, type_id) {
        Some(kind) => TypeOut {
            category: Some(kind.category.as_str()),
            type_id,
            label: kind.label,
        },
        None => TypeOut {
            category: None,
            type_id,
            label: None,
        },
    }
}

/// A paging cursor: a target id, or 400.
fn cursor(text: Option<&str>) -> Result<u64, ApiError> {
    match text.map(str::trim) {
        None | Some("") => Ok(0),
        Some(text) => text
            .parse()
            .map_err(|_| ApiError::validation(format!("Invalid after: {text}"))),
    }
}

/// One batch read result (`PublicAssociationMultiWithLabel`).
#[derive(Serialize)]
struct ReadResult {
    from: serde_json::Value,
    to: Vec<Associated>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paging: Option<serde_json::Value>,
}

/// `POST …/batch/read`: 200, or 207 with a `NO_ASSOCIATIONS_FOUND` item per id that has no link of the
/// target type (unknown and archived ids included).
pub async fn batch_read(
    State(app): State<AppState>,
    Path((from, to)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let from_ty = app.resolve(&from)?;
    let to_ty = app.resolve(&to)?;
    let batch: Inputs<ReadInput> = parse_body(&body)?;
    if batch.inputs.len() > MAX_READ_INPUTS {
        return Err(too_many_inputs(MAX_READ_INPUTS));
    }
    let started = time::now_ms();
    let mut seen = HashSet::new();
    let mut results = Vec::new();
    let mut errors = Vec::new();
    for input in &batch.inputs {
        let text = input.id.text().trim();
        if !seen.insert((text.to_owned(), input.after.as_ref().map(Scalar::text))) {
            continue;
        }
        let after = cursor(input.after.as_ref().map(Scalar::text))?;
        let (to, next) = match text.parse::<u64>() {
            Ok(id) => page(&app, (&from_ty, id), &to_ty, after, PAGE),
            Err(_) => (Vec::new(), None),
        };
        if to.is_empty() {
            errors.push(
                ErrorItem::new(
                    "OBJECT_NOT_FOUND",
                    format!(
                        "No {} is associated with {} {text}.",
                        to_ty.singular, from_ty.singular
                    ),
                )
                .sub("crm.associations.NO_ASSOCIATIONS_FOUND")
                .with("fromObjectId", vec![text.to_owned()])
                .with("fromObjectType", vec![from_ty.singular.clone()])
                .with("toObjectType", vec![to_ty.singular.clone()]),
            );
            continue;
        }
        results.push(ReadResult {
            from: json!({ "id": text }),
            to,
            paging: next.map(|after| json!({"next": {"after": after.to_string()}})),
        });
    }
    Ok(Answer::new(results, errors, started)
        .into_response(StatusCode::OK, StatusCode::MULTI_STATUS))
}

/// `GET /crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}`: `limit` ≤ 500 (default
/// 500; larger values are capped), `after` from `paging.next.after`. A record without links, or an
/// unknown id, is an empty page.
pub async fn list(
    State(app): State<AppState>,
    Path((object_type, object_id, to_type)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let ty = app.resolve(&object_type)?;
    let target = app.resolve(&to_type)?;
    let params = Params::parse(query.as_deref());
    let limit = match params.limit.as_deref() {
        None => PAGE,
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| ApiError::validation(format!("Invalid limit: {text}")))?
            .clamp(1, PAGE),
    };
    let after = cursor(params.after.as_deref())?;
    let (results, next) = match object_id.trim().parse::<u64>() {
        Ok(id) => page(&app, (&ty, id), &target, after, limit),
        Err(_) => (Vec::new(), None),
    };
    let body = match next {
        Some(next) => json!({
            "results": results,
            "paging": {"next": {
                "after": next.to_string(),
                "link": format!(
                    "/crm/v4/objects/{}/{object_id}/associations/{}?limit={limit}&after={next}",
                    ty.name, target.name
                ),
            }},
        }),
        None => json!({ "results": results }),
    };
    Ok(view::json(StatusCode::OK, &body))
}
