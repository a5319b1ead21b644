//! Batch endpoints: `POST /crm/v3/objects/{objectType}/batch/{read,create,update,upsert,archive}` and
//! their dated twins (`/crm/objects/2026-03/…`, `/crm/objects/2026-09/…`). From 2026-09 a batch with
//! errors answers 200/201 with `numErrors`/`errors` in the body instead of 207, and values are checked
//! against the portal's validation rules (`policy.rs`).
//!
//! Each write runs in two phases under one table lock: plan every input (resolve ids, check unique values
//! against the table and against the other inputs), then apply. All-or-nothing answers return during
//! planning, so "nothing written" holds by construction. The decisions on API-NOTES' open questions are
//! listed in the README ("The sandbox").

use std::borrow::Cow;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::super::changes::{self, Issue, RowError, Sets};
use super::super::error::{ApiError, ErrorItem, TOO_MANY_HISTORY_INPUTS, TOO_MANY_INPUTS};
use super::super::hasher::{FastMap, FastSet};
use super::super::objects::ObjectType;
use super::super::policy::WritePolicy;
use super::super::state::AppState;
use super::super::store::Table;
use super::super::time;
use super::super::values;
use super::super::version::ApiVersion;
use super::super::view::{BatchOut, Select, Snapshot};
use super::bodies::{Batch, CreateInput, IdInput, UpdateInput};
use super::links::{self, Pending};
use super::{IdKind, Params, find, id_key, id_kind, parse_body};

/// HubSpot's documented batch size.
const MAX_INPUTS: usize = 100;
/// With `propertiesWithHistory`, batch read takes at most 50.
const MAX_HISTORY_INPUTS: usize = 50;

fn check_size(inputs: usize) -> Result<(), ApiError> {
    if inputs > MAX_INPUTS {
        Err(ApiError::validation(TOO_MANY_INPUTS))
    } else {
        Ok(())
    }
}

/// Two inputs naming the same record: "Duplicate IDs found in batch input: [..]".
fn check_duplicates<'a>(
    ty: &ObjectType,
    ids: impl Iterator<Item = (&'a str, IdKind)>,
) -> Result<(), ApiError> {
    let mut seen = FastSet::default();
    let mut duplicates = Vec::new();
    for (id, kind) in ids {
        let key = (kind, id_key(ty, id, kind));
        if !seen.insert(key) && !duplicates.iter().any(|d| d == id) {
            duplicates.push(id.to_owned());
        }
    }
    if duplicates.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "Duplicate IDs found in batch input: [{}]",
            duplicates.join(", ")
        )))
    }
}

/// Unique values claimed by the inputs of one batch, so two inputs cannot take the same one.
#[derive(Default)]
struct Claims(FastMap<(usize, String), usize>);

impl Claims {
    /// Claims the unique values of input `row`; the message when another input already holds one.
    fn claim(&mut self, ty: &ObjectType, row: usize, sets: &Sets<'_>) -> Option<String> {
        for (prop, value) in sets {
            let Some(slot) = ty.unique_slot[*prop] else {
                continue;
            };
            for key in values::unique_keys(&ty.properties[*prop], value) {
                let holder = *self.0.entry((slot, key.to_string())).or_insert(row);
                if holder != row {
                    return Some(format!(
                        "Duplicate values found in batch input for unique property {}: [{value}]",
                        ty.properties[*prop].name
                    ));
                }
            }
        }
        None
    }
}

/// A conflict with a record already in the table.
fn conflict(
    table: &Table,
    ty: &ObjectType,
    sets: &Sets<'_>,
    own: Option<u64>,
) -> Result<(), RowError> {
    match table.conflict(ty, sets, own) {
        Some(existing) => Err(RowError::Conflict(changes::conflict_message(ty, existing))),
        None => Ok(()),
    }
}

/// The whole-batch answer for the first error (409 for a conflict, else 400).
fn first_error<T>(rows: &[Result<T, RowError>], portal_id: u64) -> Option<ApiError> {
    rows.iter()
        .find_map(|r| r.as_ref().err())
        .map(|err| err.clone().into_api(portal_id))
}

/// The 207 `errors[]` items of the rows that failed, each with its trace id.
fn row_errors<T>(
    rows: &[Result<T, RowError>],
    traces: &[Option<String>],
    ty: &ObjectType,
    portal: u64,
) -> Vec<ErrorItem> {
    rows.iter()
        .zip(traces)
        .filter_map(|(row, trace)| {
            row.as_ref()
                .err()
                .map(|e| e.item(ty, portal, trace.as_deref()))
        })
        .collect()
}

fn trace(scalar: &super::bodies::Scalar) -> Option<String> {
    scalar.0.clone()
}

/// `POST …/batch/read`: 200, or 207 with one `OBJECT_NOT_FOUND` item listing every missing id.
pub async fn read(
    State(app): State<AppState>,
    version: ApiVersion,
    Path(object_type): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ty = &*app.resolve(&object_type)?;
    let batch: Batch<IdInput> = parse_body(&body)?;
    check_size(batch.inputs.len())?;
    if !batch.properties_with_history.is_empty() && batch.inputs.len() > MAX_HISTORY_INPUTS {
        return Err(ApiError::validation(TOO_MANY_HISTORY_INPUTS));
    }
    let archived = Params::parse(query.as_deref()).archived;
    let kind = id_kind(ty, batch.id_property.as_deref(), app.portal_id)?;
    let select = Select::from_names(ty, &batch.properties);
    let history: Vec<usize> = batch
        .properties_with_history
        .iter()
        .filter_map(|n| ty.prop(n))
        .collect();
    let started = time::now_ms();
    let mut snaps = Vec::with_capacity(batch.inputs.len());
    let mut missing = Vec::new();
    {
        let table = app.store.read(ty);
        let mut seen = FastSet::default();
        for input in &batch.inputs {
            let id = input.id.text();
            match find(&table, ty, id, kind, archived) {
                Some(found) if seen.insert(found) => {
                    let record = table.get(found, archived).expect("found above");
                    snaps.push(Snapshot::of(ty, record, &select, &history));
                }
                Some(_) => {}
                None => missing.push(id.to_owned()),
            }
        }
    }
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![
            ErrorItem::new("OBJECT_NOT_FOUND", changes::not_found_message(ty)).with("ids", missing),
        ]
    };
    Ok(BatchOut::new(ty, &snaps, errors, started).into_response(StatusCode::OK, version))
}

/// A create input after checks.
struct NewRecord<'a> {
    sets: Sets<'a>,
    pending: Pending,
}

/// `POST …/batch/create`. With an `objectWriteTraceId` on every input: good inputs are created, bad
/// ones come back as 207 items tagged with their trace id. Otherwise all-or-nothing: the first bad
/// input fails the batch (409 for a conflict, else 400). Two inputs with one unique value: 409, always.
pub async fn create(
    State(app): State<AppState>,
    version: ApiVersion,
    Path(object_type): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ty = &*app.resolve(&object_type)?;
    let batch: Batch<CreateInput> = parse_body(&body)?;
    check_size(batch.inputs.len())?;
    let portal = app.portal_id;
    let policy = WritePolicy::new(&app, version);
    let started = time::now_ms();
    let traced = !batch.inputs.is_empty()
        && batch
            .inputs
            .iter()
            .all(|i| i.object_write_trace_id.0.is_some());
    let mut traces = Vec::with_capacity(batch.inputs.len());
    let mut rows: Vec<Result<NewRecord, RowError>> = Vec::with_capacity(batch.inputs.len());
    for input in batch.inputs {
        traces.push(trace(&input.object_write_trace_id));
        rows.push((|| {
            let sets =
                changes::validate(ty, input.properties.0, &policy).map_err(RowError::Invalid)?;
            changes::check_required(ty, &sets).map_err(|i| RowError::Invalid(vec![i]))?;
            let pending = links::check(&app, ty, &input.associations)?;
            links::check_pinned(&app, ty, None, &sets, &pending)?;
            Ok(NewRecord { sets, pending })
        })());
    }
    let mut claims = Claims::default();
    for (row, planned) in rows.iter().enumerate() {
        if let Ok(planned) = planned
            && let Some(message) = claims.claim(ty, row, &planned.sets)
        {
            return Err(ApiError::conflict(message));
        }
    }
    if !traced && let Some(err) = first_error(&rows, portal) {
        return Err(err);
    }
    let now = time::now_ms();
    let mut created = Vec::new();
    let snaps = {
        let mut table = app.store.write(ty);
        for row in &mut rows {
            if let Ok(planned) = row
                && let Err(err) = conflict(&table, ty, &planned.sets, None)
            {
                *row = Err(err);
            }
        }
        if !traced && let Some(err) = first_error(&rows, portal) {
            return Err(err);
        }
        let mut snaps = Vec::with_capacity(rows.len());
        for (row, planned) in rows.iter_mut().enumerate() {
            if let Ok(planned) = planned {
                let record = table.insert(ty, app.store.next_id(), &planned.sets, now);
                snaps.push(Snapshot::of(ty, record, &Select::All, &[]));
                created.push(row);
            }
        }
        snaps
    };
    for (snap, &row) in snaps.iter().zip(&created) {
        if let Ok(planned) = &rows[row] {
            links::link(&app, ty, snap.id, &planned.pending);
        }
    }
    app.stats.created(
        ty.index,
        created.iter().filter_map(|&row| traces[row].as_deref()),
    );
    let errors = row_errors(&rows, &traces, ty, portal);
    Ok(BatchOut::new(ty, &snaps, errors, started).into_response(StatusCode::CREATED, version))
}

/// One planned update/upsert input.
struct Change<'a> {
    /// The record to update; `None` creates one (upsert).
    id: Option<u64>,
    sets: Sets<'a>,
    /// Properties to echo in the result.
    echo: Vec<usize>,
}

/// How a contacts batch update may not name its records (DOC-CON, I-NODE548).
fn contacts_email(ty: &ObjectType, name: Option<&str>) -> bool {
    ty.name == "contacts"
        && name.is_some_and(|n| n.eq_ignore_ascii_case("email") || n == "hs_additional_emails")
}

/// `POST …/batch/update`: missing or archived ids are 207 `OBJECT_NOT_FOUND` items; an invalid value
/// in any input fails the whole batch with 400 (I-RUD3308), unless `partial_update_errors` is on.
pub async fn update(
    State(app): State<AppState>,
    version: ApiVersion,
    Path(object_type): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ty = &*app.resolve(&object_type)?;
    let batch: Batch<UpdateInput> = parse_body(&body)?;
    check_size(batch.inputs.len())?;
    let portal = app.portal_id;
    let mut kinds = Vec::with_capacity(batch.inputs.len());
    for input in &batch.inputs {
        let name = input
            .id_property
            .as_deref()
            .or(batch.id_property.as_deref());
        if contacts_email(ty, name) {
            return Err(ApiError::non_unique(
                &ty.id,
                name.unwrap_or_default(),
                portal,
            ));
        }
        kinds.push(id_kind(ty, name, portal)?);
    }
    check_duplicates(
        ty,
        batch
            .inputs
            .iter()
            .zip(&kinds)
            .map(|(i, k)| (i.id.text(), *k)),
    )?;
    write(&app, version, ty, batch.inputs, kinds, false)
}

/// `POST …/batch/upsert`: each input names its record by a unique `idProperty` (`email` for contacts, or
/// a `hasUniqueValue` property); existing records are updated, others created; results carry `new`.
pub async fn upsert(
    State(app): State<AppState>,
    version: ApiVersion,
    Path(object_type): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ty = &*app.resolve(&object_type)?;
    let batch: Batch<UpdateInput> = parse_body(&body)?;
    check_size(batch.inputs.len())?;
    let portal = app.portal_id;
    let mut kinds = Vec::with_capacity(batch.inputs.len());
    for input in &batch.inputs {
        let name = input
            .id_property
            .as_deref()
            .or(batch.id_property.as_deref())
            .unwrap_or("hs_object_id");
        match id_kind(ty, Some(name), portal)? {
            IdKind::RecordId => return Err(ApiError::non_unique(&ty.id, name, portal)),
            kind => kinds.push(kind),
        }
    }
    check_duplicates(
        ty,
        batch
            .inputs
            .iter()
            .zip(&kinds)
            .map(|(i, k)| (i.id.text(), *k)),
    )?;
    write(&app, version, ty, batch.inputs, kinds, true)
}

/// Shared body of update and upsert.
fn write(
    app: &AppState,
    version: ApiVersion,
    ty: &ObjectType,
    inputs: Vec<UpdateInput>,
    kinds: Vec<IdKind>,
    upsert: bool,
) -> Result<Response, ApiError> {
    let portal = app.portal_id;
    let partial = app.partial();
    let policy = WritePolicy::new(app, version);
    let started = time::now_ms();
    let mut ids = Vec::with_capacity(inputs.len());
    let mut traces = Vec::with_capacity(inputs.len());
    let mut rows: Vec<Result<Sets, RowError>> = Vec::with_capacity(inputs.len());
    for (input, kind) in inputs.into_iter().zip(&kinds) {
        let mut checked =
            changes::validate(ty, input.properties.0, &policy).map_err(RowError::Invalid);
        // An upsert's id is a value of its idProperty, and must be valid as one (an email, say, that
        // passes the property's rules from 2026-09).
        if let (true, IdKind::Unique(prop), Ok(_)) = (upsert, kind, &checked)
            && let Err(invalid) = policy.check(ty, *prop, Cow::Borrowed(input.id.text()))
        {
            checked = Err(RowError::Invalid(vec![Issue {
                name: ty.properties[*prop].name.clone(),
                code: invalid.code,
                message: invalid.message,
            }]));
        }
        ids.push(input.id.0.unwrap_or_default());
        traces.push(trace(&input.object_write_trace_id));
        rows.push(checked);
    }
    if !partial && let Some(err) = first_error(&rows, portal) {
        return Err(err);
    }
    let now = time::now_ms();
    let mut created = Vec::new();
    let snaps = {
        let mut table = app.store.write(ty);
        let mut plan: Vec<Result<Change, RowError>> = Vec::with_capacity(rows.len());
        let mut claims = Claims::default();
        for (row, checked) in rows.into_iter().enumerate() {
            plan.push(checked.and_then(|mut sets| {
                let existing = find(&table, ty, &ids[row], kinds[row], false);
                let mut echo: Vec<usize> = sets.iter().map(|(p, _)| *p).collect();
                match (existing, kinds[row]) {
                    (None, IdKind::Unique(prop)) if upsert => {
                        if !sets.iter().any(|(p, _)| *p == prop) {
                            sets.push((prop, Cow::Owned(ids[row].clone())));
                            echo.push(prop);
                        }
                        changes::check_required(ty, &sets)
                            .map_err(|i| RowError::Invalid(vec![i]))?;
                    }
                    (None, _) => return Err(RowError::NotFound(ids[row].clone())),
                    (Some(_), _) => {}
                }
                conflict(&table, ty, &sets, existing)?;
                if let Some(message) = claims.claim(ty, row, &sets) {
                    return Err(RowError::Conflict(message));
                }
                links::check_pinned(app, ty, existing, &sets, &Vec::new())?;
                Ok(Change {
                    id: existing,
                    sets,
                    echo,
                })
            }));
        }
        if !partial
            && let Some(err) = plan.iter().find_map(|r| {
                r.as_ref()
                    .err()
                    .filter(|e| !matches!(e, RowError::NotFound(_)))
            })
        {
            return Err(err.clone().into_api(portal));
        }
        let mut snaps = Vec::with_capacity(plan.len());
        for (row, change) in plan.iter_mut().enumerate() {
            let Ok(change) = change else { continue };
            let (record, new) = match change.id {
                Some(id) => (
                    table.update(ty, id, &change.sets, now).expect("planned"),
                    false,
                ),
                None => {
                    created.push(row);
                    (
                        table.insert(ty, app.store.next_id(), &change.sets, now),
                        true,
                    )
                }
            };
            let mut snap = Snapshot::of(
                ty,
                record,
                &Select::Named(std::mem::take(&mut change.echo)),
                &[],
            );
            if upsert {
                snap.new = Some(new);
            }
            snaps.push(snap);
        }
        rows = plan.into_iter().map(|r| r.map(|_| Sets::new())).collect();
        snaps
    };
    app.stats.created(
        ty.index,
        created.iter().filter_map(|&row| traces[row].as_deref()),
    );
    let errors = row_errors(&rows, &traces, ty, portal);
    Ok(BatchOut::new(ty, &snaps, errors, started).into_response(StatusCode::OK, version))
}

/// `POST …/batch/archive`: 204, also for unknown or already archived ids (idempotent).
pub async fn archive(
    State(app): State<AppState>,
    Path(object_type): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ty = &*app.resolve(&object_type)?;
    let batch: Batch<IdInput> = parse_body(&body)?;
    check_size(batch.inputs.len())?;
    let now = time::now_ms();
    let mut table = app.store.write(ty);
    let archived: Vec<u64> = batch
        .inputs
        .iter()
        .filter_map(|input| input.id.text().trim().parse::<u64>().ok())
        .filter(|id| table.archive(ty, *id, now))
        .collect();
    drop(table);
    // An archived record's associations go with it (both ends).
    let mut links = app.store.links();
    for id in archived {
        links.forget((ty.index, id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
