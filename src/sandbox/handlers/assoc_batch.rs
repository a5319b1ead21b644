//! The v4 association batch writes: `POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/`
//! `create`, `archive`, `labels/archive` and `associate/default`. They write the same links the v3 paths
//! and the `associations=` reads use.
//!
//! Records are checked one table at a time and the links written afterwards (no path holds two table
//! locks, `store.rs`); a record archived in between keeps no link, because archiving forgets a record's
//! links after the table write.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::super::error::{ApiError, ErrorItem, too_many_inputs};
use super::super::labels::{Category, Kind, Labels};
use super::super::objects::ObjectType;
use super::super::state::AppState;
use super::super::time;
use super::super::view;
use super::bodies::{Scalar, Target, TypeInput};
use super::links::connect;
use super::parse_body;

/// HubSpot's documented batch create size (DOC-ASSOC); the sandbox applies it to every v4 batch write.
pub const MAX_WRITE_INPUTS: usize = 2_000;

/// `{"inputs":[…]}`.
#[derive(Debug, Deserialize)]
pub struct Inputs<T> {
    pub inputs: Vec<T>,
}

/// A batch create (and labels/archive) input: `{from:{id}, to:{id}, types:[…]}`.
#[derive(Debug, Deserialize)]
pub struct LinkInput {
    pub from: Target,
    pub to: Target,
    #[serde(default)]
    pub types: Vec<TypeInput>,
}

/// A batch archive input: `{from:{id}, to:[{id}, …]}`.
#[derive(Debug, Deserialize)]
pub struct ArchiveInput {
    pub from: Target,
    #[serde(default)]
    pub to: Vec<Target>,
}

/// An associate/default input: `{from:{id}, to:{id}}`.
#[derive(Debug, Deserialize)]
pub struct PairInput {
    pub from: Target,
    pub to: Target,
}

/// The two types of a path, and the inputs of its body (at most `MAX_WRITE_INPUTS`).
struct Batch<T> {
    from: Arc<ObjectType>,
    to: Arc<ObjectType>,
    inputs: Vec<T>,
}

impl<T: DeserializeOwned> Batch<T> {
    fn read(app: &AppState, (from, to): (&str, &str), body: &[u8]) -> Result<Batch<T>, ApiError> {
        let (from, to) = (app.resolve(from)?, app.resolve(to)?);
        let batch: Inputs<T> = parse_body(body)?;
        if batch.inputs.len() > MAX_WRITE_INPUTS {
            return Err(too_many_inputs(MAX_WRITE_INPUTS));
        }
        Ok(Batch {
            from,
            to,
            inputs: batch.inputs,
        })
    }

    /// The live records among the ids the inputs name at each end (one table lock at a time).
    fn live(&self, app: &AppState, ends: impl Fn(&T) -> (&Scalar, &Scalar)) -> Ends {
        let from = live(
            app,
            &self.from,
            self.inputs.iter().filter_map(|i| record_id(ends(i).0)),
        );
        let to = live(
            app,
            &self.to,
            self.inputs.iter().filter_map(|i| record_id(ends(i).1)),
        );
        (from, to)
    }
}

/// The live records named at the from end and at the to end.
type Ends = (HashSet<u64>, HashSet<u64>);

/// A record id as sent (`"123"` or `123`).
fn record_id(id: &Scalar) -> Option<u64> {
    id.text().trim().parse().ok()
}

/// The 207 item of a failed input: its ids in `context.fromObjectId`/`toObjectId`, so a client can tell
/// which input failed.
fn failure(category: &'static str, message: String, from: &Scalar, to: &Scalar) -> ErrorItem {
    ErrorItem::new(category, message)
        .with("fromObjectId", vec![from.text().to_owned()])
        .with("toObjectId", vec![to.text().to_owned()])
}

/// The ids among `ids` that name live records of `ty` (one table lock).
fn live(app: &AppState, ty: &ObjectType, ids: impl Iterator<Item = u64>) -> HashSet<u64> {
    let table = app.store.read(ty);
    ids.filter(|id| table.get(*id, false).is_some()).collect()
}

/// Checks one input's ids against the live records: `Ok((from, to))` or its 207 item.
fn check_pair(
    (from_ty, from_live): (&ObjectType, &HashSet<u64>),
    (to_ty, to_live): (&ObjectType, &HashSet<u64>),
    from: &Scalar,
    to: &Scalar,
) -> Result<(u64, u64), ErrorItem> {
    let (Some(from_id), Some(to_id)) = (record_id(from), record_id(to)) else {
        return Err(failure(
            "VALIDATION_ERROR",
            format!(
                "Invalid object id: record ids are numeric, got from {:?} and to {:?}",
                from.text(),
                to.text()
            ),
            from,
            to,
        ));
    };
    for (ty, id, known) in [(from_ty, from_id, from_live), (to_ty, to_id, to_live)] {
        if !known.contains(&id) {
            return Err(failure(
                "OBJECT_NOT_FOUND",
                format!("No {} with ID {id} exists", ty.singular),
                from,
                to,
            ));
        }
    }
    Ok((from_id, to_id))
}

/// The types an input names, each valid from `from` to `to` in its category.
fn kinds(
    labels: &Labels,
    (from, to): (&ObjectType, &ObjectType),
    input: &LinkInput,
) -> Result<Vec<Kind>, ErrorItem> {
    if input.types.is_empty() {
        return Err(failure(
            "VALIDATION_ERROR",
            "No association types given: each input needs at least one".to_owned(),
            &input.from.id,
            &input.to.id,
        ));
    }
    input
        .types
        .iter()
        .map(|t| {
            let raw = t.association_type_id.text();
            Category::parse(&t.association_category)
                .zip(raw.parse::<u32>().ok())
                .and_then(|(category, id)| labels.find(from, to, category, id))
                .ok_or_else(|| {
                    failure(
                        "VALIDATION_ERROR",
                        format!(
                            "{} association type {raw} is not valid from {} to {}",
                            t.association_category, from.name, to.name
                        ),
                        &input.from.id,
                        &input.to.id,
                    )
                })
        })
        .collect()
}

/// A checked create input: the two record ids and the types to link them with, or its 207 item.
type Planned = Result<(u64, u64, Vec<Kind>), ErrorItem>;

/// One created association (`LabelsBetweenObjectPair`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    from_object_type_id: String,
    from_object_id: u64,
    to_object_type_id: String,
    to_object_id: u64,
    labels: Vec<String>,
}

/// A v4 batch answer: `{"status":"COMPLETE","results",["numErrors","errors"],"startedAt","completedAt"}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer<T: Serialize> {
    status: &'static str,
    results: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    num_errors: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<ErrorItem>,
    started_at: String,
    completed_at: String,
}

impl<T: Serialize> Answer<T> {
    /// The envelope; `numErrors`/`errors` only when there are errors.
    pub fn new(results: Vec<T>, errors: Vec<ErrorItem>, started: i64) -> Answer<T> {
        Answer {
            status: "COMPLETE",
            results,
            num_errors: (!errors.is_empty()).then_some(errors.len()),
            errors,
            started_at: time::iso(started),
            completed_at: time::iso(time::now_ms()),
        }
    }

    /// `ok` without errors, else `partial` (207 for create and read; associate/default stays 200).
    pub fn into_response(self, ok: StatusCode, partial: StatusCode) -> Response {
        let status = if self.errors.is_empty() { ok } else { partial };
        view::json(status, &self)
    }
}

/// `POST …/batch/create`: 201 when every input linked, 207 with one item per failed input. Linking an
/// existing link again succeeds.
pub async fn create(
    State(app): State<AppState>,
    Path((from, to)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let batch: Batch<LinkInput> = Batch::read(&app, (&from, &to), &body)?;
    let (from_ty, to_ty) = (&batch.from, &batch.to);
    let started = time::now_ms();
    let (from_live, to_live) = batch.live(&app, |i| (&i.from.id, &i.to.id));
    let planned: Vec<Planned> = {
        let labels = app.labels();
        batch
            .inputs
            .iter()
            .map(|input| {
                let ids = check_pair(
                    (from_ty, &from_live),
                    (to_ty, &to_live),
                    &input.from.id,
                    &input.to.id,
                )?;
                let kinds = kinds(&labels, (from_ty, to_ty), input)?;
                Ok((ids.0, ids.1, kinds))
            })
            .collect()
    };
    let mut results = Vec::new();
    let mut errors = Vec::new();
    {
        let mut links = app.store.links();
        for plan in planned {
            match plan {
                Ok((from_id, to_id, kinds)) => {
                    for kind in &kinds {
                        connect(&mut links, (from_ty, from_id), (to_ty, to_id), kind);
                    }
                    results.push(Created {
                        from_object_type_id: from_ty.id.clone(),
                        from_object_id: from_id,
                        to_object_type_id: to_ty.id.clone(),
                        to_object_id: to_id,
                        labels: kinds.into_iter().filter_map(|k| k.label).collect(),
                    });
                }
                Err(item) => errors.push(item),
            }
        }
    }
    Ok(Answer::new(results, errors, started)
        .into_response(StatusCode::CREATED, StatusCode::MULTI_STATUS))
}

/// `POST …/batch/archive`: removes every type between each pair, both directions; 204, also for links
/// that do not exist.
pub async fn archive(
    State(app): State<AppState>,
    Path((from, to)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let batch: Batch<ArchiveInput> = Batch::read(&app, (&from, &to), &body)?;
    let (from_ty, to_ty) = (&batch.from, &batch.to);
    let mut links = app.store.links();
    for input in &batch.inputs {
        let Some(from_id) = record_id(&input.from.id) else {
            continue;
        };
        for to_id in input.to.iter().filter_map(|t| record_id(&t.id)) {
            links.remove_pair((from_ty.index, from_id), (to_ty.index, to_id));
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST …/batch/labels/archive`: removes only the named types (and their inverses); 204. Types that are
/// not valid for the pair, and links that do not exist, are passed over.
pub async fn archive_labels(
    State(app): State<AppState>,
    Path((from, to)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let batch: Batch<LinkInput> = Batch::read(&app, (&from, &to), &body)?;
    let (from_ty, to_ty) = (&batch.from, &batch.to);
    let removals: Vec<(u64, u64, Kind)> = {
        let labels = app.labels();
        batch
            .inputs
            .iter()
            .filter_map(|input| {
                let ids = record_id(&input.from.id).zip(record_id(&input.to.id))?;
                let kinds = kinds(&labels, (from_ty, to_ty), input).ok()?;
                Some(kinds.into_iter().map(move |k| (ids.0, ids.1, k)))
            })
            .flatten()
            .collect()
    };
    let mut links = app.store.links();
    for (from_id, to_id, kind) in removals {
        links.remove(
            (from_ty.index, from_id),
            (to_ty.index, to_id),
            kind.type_id,
            kind.inverse,
        );
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// One default association made (`PublicDefaultAssociation`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Made {
    from: IdOut,
    to: IdOut,
    association_spec: Spec,
}

#[derive(Serialize)]
struct IdOut {
    id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Spec {
    association_category: &'static str,
    association_type_id: u32,
}

/// `POST …/batch/associate/default`: links each pair with the pair's unlabeled default type; 200, with
/// failed inputs inline (`numErrors`/`errors`).
pub async fn associate_default(
    State(app): State<AppState>,
    Path((from, to)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let batch: Batch<PairInput> = Batch::read(&app, (&from, &to), &body)?;
    let (from_ty, to_ty) = (&batch.from, &batch.to);
    let started = time::now_ms();
    let default = Labels::default_kind(from_ty, to_ty);
    let (from_live, to_live) = batch.live(&app, |i| (&i.from.id, &i.to.id));
    let mut results = Vec::new();
    let mut errors = Vec::new();
    let mut links = app.store.links();
    for input in &batch.inputs {
        let checked = check_pair(
            (from_ty, &from_live),
            (to_ty, &to_live),
            &input.from.id,
            &input.to.id,
        )
        .and_then(|ids| match &default {
            Some(kind) => Ok((ids, kind)),
            None => Err(failure(
                "VALIDATION_ERROR",
                format!(
                    "There is no default association type from {} to {}",
                    from_ty.name, to_ty.name
                ),
                &input.from.id,
                &input.to.id,
            )),
        });
        match checked {
            Ok(((from_id, to_id), kind)) => {
                connect(&mut links, (from_ty, from_id), (to_ty, to_id), kind);
                results.push(Made {
                    from: IdOut {
                        id: from_id.to_string(),
                    },
                    to: IdOut {
                        id: to_id.to_string(),
                    },
                    association_spec: Spec {
                        association_category: kind.category.as_str(),
                        association_type_id: kind.type_id,
                    },
                });
            }
            Err(item) => errors.push(item),
        }
    }
    drop(links);
    Ok(Answer::new(results, errors, started).into_response(StatusCode::OK, StatusCode::OK))
}
