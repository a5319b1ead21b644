//! Single-record endpoints: `GET`/`PATCH`/`DELETE /crm/v3/objects/{objectType}/{objectId}`, and
//! `GET`/`POST /crm/v3/objects/{objectType}` (list with paging, create), and their dated twins. Writes
//! through 2026-09 are checked against the portal's validation rules (`policy.rs`).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::super::changes::{self, RowError};
use super::super::error::ApiError;
use super::super::policy::WritePolicy;
use super::super::state::AppState;
use super::super::time;
use super::super::version::{ApiVersion, Family};
use super::super::view::{self, RecordView, Select, Snapshot};
use super::bodies::{CreateInput, UpdateBody};
use super::{IdKind, Params, find, id_kind, links, parse_body};

/// The largest list page when `propertiesWithHistory` is asked for.
const MAX_HISTORY_PAGE: usize = 50;

/// `GET /crm/v3/objects/{objectType}/{objectId}`.
pub async fn read(
    State(app): State<AppState>,
    Path((object_type, object_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let ty = &*app.resolve(&object_type)?;
    let params = Params::parse(query.as_deref());
    let kind = id_kind(ty, params.id_property.as_deref(), app.portal_id)?;
    let select = Select::from_names(ty, &params.properties);
    let history: Vec<usize> = params.history.iter().filter_map(|n| ty.prop(n)).collect();
    let mut snap = {
        let table = app.store.read(ty);
        let Some(id) = find(&table, ty, &object_id, kind, params.archived) else {
            return Err(missing(&object_id, kind));
        };
        let record = table.get(id, params.archived).expect("found above");
        Snapshot::of(ty, record, &select, &history)
    };
    if !params.associations.is_empty() {
        snap.associations = Some(links::of(&app, ty, snap.id, &params.associations));
    }
    Ok(view::json(StatusCode::OK, &RecordView { ty, snap: &snap }))
}

/// HubSpot's two 404 forms: a non-numeric record id gets a hint, anything else "resource not found".
fn missing(id: &str, kind: IdKind) -> ApiError {
    if kind == IdKind::RecordId && id.trim().parse::<u64>().is_err() {
        ApiError::object_not_found(id)
    } else {
        ApiError::not_found()
    }
}

/// `GET /crm/v3/objects/{objectType}`: a page of records in id order; `limit` ≤ 100 (default 10; larger
/// values are capped), ≤ 50 with `propertiesWithHistory` (the spec: history "will reduce the maximum
/// number of objects" per request; the batch read cap), `after` from the previous page's
/// `paging.next.after`.
pub async fn list(
    State(app): State<AppState>,
    version: ApiVersion,
    Path(object_type): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let ty = &*app.resolve(&object_type)?;
    let params = Params::parse(query.as_deref());
    let limit = match params.limit.as_deref() {
        None => 10,
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| ApiError::validation(format!("Invalid limit: {text}")))?
            .clamp(1, 100),
    };
    let limit = if params.history.is_empty() {
        limit
    } else {
        limit.min(MAX_HISTORY_PAGE)
    };
    let after = match params.after.as_deref() {
        None | Some("") => 0,
        Some(text) => text
            .parse::<u64>()
            .map_err(|_| ApiError::validation(format!("Invalid after: {text}")))?,
    };
    let select = Select::from_names(ty, &params.properties);
    let history: Vec<usize> = params.history.iter().filter_map(|n| ty.prop(n)).collect();
    let (mut snaps, next) = {
        let table = app.store.read(ty);
        let mut page = table.scan(after, params.archived);
        let snaps: Vec<Snapshot> = page
            .by_ref()
            .take(limit)
            .map(|r| Snapshot::of(ty, r, &select, &history))
            .collect();
        (snaps, page.next().map(|r| r.id))
    };
    if !params.associations.is_empty() {
        for snap in &mut snaps {
            snap.associations = Some(links::of(&app, ty, snap.id, &params.associations));
        }
    }
    let results: Vec<RecordView<'_>> = snaps.iter().map(|snap| RecordView { ty, snap }).collect();
    let body = match next {
        Some(next) => json!({
            "results": results,
            "paging": {"next": {
                "after": next.to_string(),
                "link": format!(
                    "{}/{}?limit={limit}&after={next}",
                    Family::Objects.prefix(version),
                    ty.name
                ),
            }},
        }),
        None => json!({ "results": results }),
    };
    Ok(view::json(StatusCode::OK, &body))
}

/// `POST /crm/v3/objects/{objectType}`: 201 with every stored property.
pub async fn create(
    State(app): State<AppState>,
    version: ApiVersion,
    Path(object_type): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ty = &*app.resolve(&object_type)?;
    let input: CreateInput = parse_body(&body)?;
    let portal = app.portal_id;
    let fail = |err: RowError| err.into_api(portal);
    let policy = WritePolicy::new(&app, version);
    let sets = changes::validate(ty, input.properties.0, &policy)
        .map_err(|i| fail(RowError::Invalid(i)))?;
    changes::check_required(ty, &sets).map_err(|i| fail(RowError::Invalid(vec![i])))?;
    let pending = links::check(&app, ty, &input.associations).map_err(fail)?;
    links::check_pinned(&app, ty, None, &sets, &pending).map_err(fail)?;
    let now = time::now_ms();
    let snap = {
        let mut table = app.store.write(ty);
        if let Some(existing) = table.conflict(ty, &sets, None) {
            return Err(ApiError::conflict(changes::conflict_message(ty, existing)));
        }
        let record = table.insert(ty, app.store.next_id(), &sets, now);
        Snapshot::of(ty, record, &Select::All, &[])
    };
    links::link(&app, ty, snap.id, &pending);
    Ok(view::json(
        StatusCode::CREATED,
        &RecordView { ty, snap: &snap },
    ))
}

/// `PATCH /crm/v3/objects/{objectType}/{objectId}` (also `?idProperty=`): 200 with the written
/// properties; `""` clears a value.
pub async fn update(
    State(app): State<AppState>,
    version: ApiVersion,
    Path((object_type, object_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ty = &*app.resolve(&object_type)?;
    let params = Params::parse(query.as_deref());
    let kind = id_kind(ty, params.id_property.as_deref(), app.portal_id)?;
    let input: UpdateBody = parse_body(&body)?;
    let portal = app.portal_id;
    let sets = changes::validate(ty, input.properties.0, &WritePolicy::new(&app, version))
        .map_err(|i| RowError::Invalid(i).into_api(portal))?;
    let sent: Vec<usize> = sets.iter().map(|(p, _)| *p).collect();
    let now = time::now_ms();
    let snap = {
        let mut table = app.store.write(ty);
        let Some(id) = find(&table, ty, &object_id, kind, false) else {
            return Err(missing(&object_id, kind));
        };
        if let Some(existing) = table.conflict(ty, &sets, Some(id)) {
            return Err(ApiError::conflict(changes::conflict_message(ty, existing)));
        }
        links::check_pinned(&app, ty, Some(id), &sets, &Vec::new())
            .map_err(|e| e.into_api(portal))?;
        let record = table.update(ty, id, &sets, now).expect("found above");
        Snapshot::of(ty, record, &Select::Named(sent), &[])
    };
    Ok(view::json(StatusCode::OK, &RecordView { ty, snap: &snap }))
}

/// `DELETE /crm/v3/objects/{objectType}/{objectId}`: archives; 204 even for an unknown id (I-N8N3219).
pub async fn archive(
    State(app): State<AppState>,
    Path((object_type, object_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let ty = &*app.resolve(&object_type)?;
    if let Ok(id) = object_id.trim().parse::<u64>() {
        let archived = app.store.write(ty).archive(ty, id, time::now_ms());
        if archived {
            // An archived record's associations go with it (both ends).
            app.store.links().forget((ty.index, id));
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
