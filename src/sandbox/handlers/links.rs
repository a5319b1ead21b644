//! Associations on the wire: checking the `associations` of a create, the v3 `PUT`/`DELETE` association
//! paths, the v4 label list, associations on reads, pinned activities (`hs_pinned_engagement_id`), and
//! `connect`, the one way every endpoint (v3 or v4) links two records.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::super::changes::{Issue, RowError, Sets};
use super::super::error::ApiError;
use super::super::labels::{Category, Kind, Labels, To};
use super::super::links::Links;
use super::super::objects::ObjectType;
use super::super::state::AppState;
use super::super::view::{self, Assocs, RecordView, Select, Snapshot};
use super::bodies::AssociationInput;

/// Checked associations of a create: `(target type, target id, type)`.
pub type Pending = Vec<(Arc<ObjectType>, u64, Kind)>;

/// Links two records with `kind`. A labelled type ("Primary", a portal's label) comes with the pair's
/// unlabeled default, as in HubSpot, where a label always sits on a plain association. Answers whether
/// anything was new.
pub fn connect(
    links: &mut Links,
    (from, from_id): (&ObjectType, u64),
    (to, to_id): (&ObjectType, u64),
    kind: &Kind,
) -> bool {
    let (a, b) = ((from.index, from_id), (to.index, to_id));
    let mut new = links.add(a, b, kind.type_id, kind.inverse);
    if kind.label.is_some()
        && let Some(default) = Labels::default_kind(from, to)
    {
        new |= links.add(a, b, default.type_id, default.inverse);
    }
    new
}

/// The type a `to` names.
pub fn target(app: &AppState, to: To) -> Option<Arc<ObjectType>> {
    match to {
        To::Singular(name) => app.registry.resolve(name),
        To::Index(index) => Some(app.registry.get(index)),
    }
}

/// Checks each association of a create: a type defined from this type (a default, or a label), and an
/// existing target.
pub fn check(
    app: &AppState,
    ty: &ObjectType,
    inputs: &[AssociationInput],
) -> Result<Pending, RowError> {
    let mut pending = Vec::new();
    for input in inputs {
        let to_text = input.to.id.text();
        if input.types.is_empty() {
            return Err(RowError::Message(format!(
                "Association to {to_text} has no types: each association needs at least one associationTypeId"
            )));
        }
        for t in &input.types {
            let raw_id = t.association_type_id.text();
            let found = Category::parse(&t.association_category)
                .zip(raw_id.parse::<u32>().ok())
                .and_then(|(category, id)| app.labels().leading(ty, category, id))
                .and_then(|(to, kind)| Some((target(app, to)?, kind)));
            let Some((target, kind)) = found else {
                return Err(RowError::Message(format!(
                    "{} association type {raw_id} is not defined from {}",
                    t.association_category,
                    ty.upper()
                )));
            };
            match to_text.trim().parse::<u64>().ok() {
                Some(to_id) if app.store.exists(&target, to_id) => {
                    pending.push((target, to_id, kind));
                }
                _ => {
                    return Err(RowError::Message(format!(
                        "Could not create association: no {} with ID {to_text} exists",
                        target.upper()
                    )));
                }
            }
        }
    }
    Ok(pending)
}

/// Stores checked associations of record `id`.
pub fn link(app: &AppState, ty: &ObjectType, id: u64, pending: &Pending) {
    if pending.is_empty() {
        return;
    }
    let mut links = app.store.links();
    for (target, to_id, kind) in pending {
        connect(&mut links, (ty, id), (target, *to_id), kind);
    }
}

/// Only an activity already associated with the record may be pinned (the associations of the same
/// create count). Call with the record's table locked, if any: the links lock comes after it.
pub fn check_pinned(
    app: &AppState,
    ty: &ObjectType,
    id: Option<u64>,
    sets: &Sets<'_>,
    pending: &Pending,
) -> Result<(), RowError> {
    let Some(prop) = ty.prop("hs_pinned_engagement_id") else {
        return Ok(());
    };
    let Some((_, value)) = sets.iter().find(|(p, v)| *p == prop && !v.is_empty()) else {
        return Ok(());
    };
    let wanted = value.parse::<u64>().ok();
    let is_activity = |t: usize, i: u64| app.registry.get(t).is_engagement() && Some(i) == wanted;
    let associated = pending.iter().any(|(t, i, _)| is_activity(t.index, *i))
        || id.is_some_and(|id| {
            app.store
                .links()
                .of((ty.index, id))
                .any(|((t, i), _)| is_activity(t, i))
        });
    if associated {
        Ok(())
    } else {
        Err(RowError::Invalid(vec![Issue {
            name: "hs_pinned_engagement_id".to_owned(),
            code: "INVALID_PINNED_ENGAGEMENT",
            message: format!(
                "Engagement {value} is not associated with this {}: only an associated activity can be pinned",
                ty.singular
            ),
        }]))
    }
}

/// The associations of a record to the named types (v3 read shape: one item per target and type).
pub fn of(app: &AppState, ty: &ObjectType, id: u64, wanted: &[String]) -> Assocs {
    wanted
        .iter()
        .filter_map(|name| app.registry.resolve(name))
        .map(|target| {
            let stored: Vec<(u64, Vec<u32>)> = app
                .store
                .links()
                .toward((ty.index, id), target.index, 0)
                .map(|(to, types)| (to, types.to_vec()))
                .collect();
            let labels = app.labels();
            let items = stored
                .into_iter()
                .flat_map(|(to, types)| types.into_iter().map(move |t| (to, t)))
                .map(|(to, type_id)| {
                    let name = labels
                        .describe(ty, &target, type_id)
                        .map_or_else(|| type_id.to_string(), |kind| kind.name);
                    (to, name)
                })
                .collect();
            (target.name.clone(), items)
        })
        .collect()
}

/// The path of a v3 association call, resolved: `(type, id, target type, target id, association type)`.
type Resolved = (Arc<ObjectType>, u64, Arc<ObjectType>, u64, Kind);

/// Resolves the path of a v3 association call: the type is a numeric id or a v3 name of any category.
fn resolve(
    app: &AppState,
    (object_type, object_id, to_type, to_id, type_id): &(String, String, String, String, String),
) -> Result<Resolved, ApiError> {
    let ty = app.resolve(object_type)?;
    let target = app.resolve(to_type)?;
    let kind = app
        .labels()
        .kinds(&ty, &target)
        .into_iter()
        .find(|k| k.type_id.to_string() == *type_id || k.name == *type_id)
        .ok_or_else(|| {
            ApiError::validation(format!(
                "{type_id} is not a valid association type between {} and {}",
                ty.name, target.name
            ))
        })?;
    let id = object_id
        .parse::<u64>()
        .ok()
        .filter(|id| app.store.exists(&ty, *id));
    let to = to_id
        .parse::<u64>()
        .ok()
        .filter(|id| app.store.exists(&target, *id));
    match (id, to) {
        (Some(id), Some(to)) => Ok((ty, id, target, to, kind)),
        _ => Err(ApiError::not_found()),
    }
}

/// `PUT /crm/v3/objects/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}/{associationTypeId}`.
pub async fn associate(
    State(app): State<AppState>,
    Path(path): Path<(String, String, String, String, String)>,
) -> Result<Response, ApiError> {
    let (ty, id, target, to, kind) = resolve(&app, &path)?;
    connect(&mut app.store.links(), (&ty, id), (&target, to), &kind);
    let mut snap = {
        let table = app.store.read(&ty);
        let record = table.get(id, false).ok_or_else(ApiError::not_found)?;
        Snapshot::of(&ty, record, &Select::Defaults, &[])
    };
    snap.associations = Some(of(&app, &ty, id, std::slice::from_ref(&target.name)));
    Ok(view::json(
        StatusCode::OK,
        &RecordView {
            ty: &ty,
            snap: &snap,
        },
    ))
}

/// `DELETE` of the same path: 204.
pub async fn dissociate(
    State(app): State<AppState>,
    Path(path): Path<(String, String, String, String, String)>,
) -> Result<Response, ApiError> {
    let (ty, id, target, to, kind) = resolve(&app, &path)?;
    app.store.links().remove(
        (ty.index, id),
        (target.index, to),
        kind.type_id,
        kind.inverse,
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /crm/v4/associations/{fromObjectType}/{toObjectType}/labels`: HubSpot's types, then the portal's.
pub async fn labels(
    State(app): State<AppState>,
    Path((from, to)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let from = app.resolve(&from)?;
    let to = app.resolve(&to)?;
    let results: Vec<_> = app
        .labels()
        .kinds(&from, &to)
        .into_iter()
        .map(|k| json!({"category": k.category.as_str(), "typeId": k.type_id, "label": k.label}))
        .collect();
    Ok(view::json(StatusCode::OK, &json!({ "results": results })))
}
