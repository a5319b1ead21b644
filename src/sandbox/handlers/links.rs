//! Associations on the wire: checking the `associations` of a create, the v3 `PUT`/`DELETE` association
//! paths, the v4 label list, associations on reads, and pinned activities (`hs_pinned_engagement_id`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::super::associations::{self, AssocType};
use super::super::changes::{Issue, RowError, Sets};
use super::super::error::ApiError;
use super::super::objects::ObjectType;
use super::super::state::AppState;
use super::super::view::{self, Assocs, RecordView, Select, Snapshot};
use super::bodies::AssociationInput;

/// Checked associations of a create: `(target type index, target id, type)`.
pub type Pending = Vec<(usize, u64, AssocType)>;

/// Checks each association of a create: a known default type from this type, an existing target.
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
            let found = raw_id
                .parse::<u32>()
                .ok()
                .filter(|_| {
                    t.association_category
                        .eq_ignore_ascii_case("HUBSPOT_DEFINED")
                })
                .and_then(|id| associations::lookup(&ty.singular, id));
            let Some(kind) = found else {
                return Err(RowError::Message(format!(
                    "{} association type {raw_id} is not defined from {}",
                    t.association_category,
                    ty.upper()
                )));
            };
            let target = app
                .registry
                .resolve(kind.to)
                .expect("default association types name standard types");
            let to_id = to_text.trim().parse::<u64>().ok();
            match to_id {
                Some(to_id) if app.store.exists(target, to_id) => {
                    pending.push((target.index, to_id, kind));
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
    for (to_type, to_id, kind) in pending {
        links.add((ty.index, id), (*to_type, *to_id), kind);
    }
}

/// Only an activity already associated with the record may be pinned (the associations of the same
/// create count). Call with the record's table locked, if any: the links lock comes after it.
pub fn check_pinned(
    app: &AppState,
    ty: &ObjectType,
    id: Option<u64>,
    sets: &Sets,
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
    let associated = pending.iter().any(|(t, i, _)| is_activity(*t, *i))
        || id.is_some_and(|id| {
            app.store
                .links()
                .of((ty.index, id))
                .iter()
                .any(|l| is_activity(l.to_type, l.to_id))
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

/// The associations of a record to the named types (v3 read shape).
pub fn of(app: &AppState, ty: &ObjectType, id: u64, wanted: &[String]) -> Assocs {
    let links = app.store.links();
    let all = links.of((ty.index, id));
    wanted
        .iter()
        .filter_map(|name| app.registry.resolve(name))
        .map(|target| {
            let items = all
                .iter()
                .filter(|l| l.to_type == target.index)
                .map(|l| {
                    let name = associations::lookup(&ty.singular, l.type_id)
                        .map_or_else(|| l.type_id.to_string(), |t| associations::v3_name(&t));
                    (l.to_id, name)
                })
                .collect();
            (target.name.clone(), items)
        })
        .collect()
}

/// Resolves the path of a v3 association call.
fn resolve<'a>(
    app: &'a AppState,
    (object_type, object_id, to_type, to_id, type_id): &(String, String, String, String, String),
) -> Result<(&'a ObjectType, u64, &'a ObjectType, u64, AssocType), ApiError> {
    let ty = app.resolve(object_type)?;
    let target = app.resolve(to_type)?;
    let kind = associations::between(&ty.singular, &target.singular)
        .into_iter()
        .find(|t| t.type_id.to_string() == *type_id || associations::v3_name(t) == *type_id)
        .ok_or_else(|| {
            ApiError::validation(format!(
                "{type_id} is not a valid association type between {} and {}",
                ty.name, target.name
            ))
        })?;
    let id = object_id
        .parse::<u64>()
        .ok()
        .filter(|id| app.store.exists(ty, *id));
    let to = to_id
        .parse::<u64>()
        .ok()
        .filter(|id| app.store.exists(target, *id));
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
    app.store
        .links()
        .add((ty.index, id), (target.index, to), &kind);
    let snap = {
        let table = app.store.read(ty);
        let record = table.get(id, false).ok_or_else(ApiError::not_found)?;
        Snapshot::of(ty, record, &Select::Defaults, &[])
    };
    let mut snap = snap;
    snap.associations = Some(of(&app, ty, id, std::slice::from_ref(&target.name)));
    Ok(view::json(StatusCode::OK, &RecordView { ty, snap: &snap }))
}

/// `DELETE` of the same path: 204.
pub async fn dissociate(
    State(app): State<AppState>,
    Path(path): Path<(String, String, String, String, String)>,
) -> Result<Response, ApiError> {
    let (ty, id, target, to, kind) = resolve(&app, &path)?;
    app.store
        .links()
        .remove((ty.index, id), (target.index, to), &kind);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /crm/v4/associations/{fromObjectType}/{toObjectType}/labels`.
pub async fn labels(
    State(app): State<AppState>,
    Path((from, to)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let from = app.resolve(&from)?;
    let to = app.resolve(&to)?;
    let results: Vec<_> = associations::between(&from.singular, &to.singular)
        .into_iter()
        .map(|t| json!({"category": "HUBSPOT_DEFINED", "typeId": t.type_id, "label": t.label}))
        .collect();
    Ok(view::json(StatusCode::OK, &json!({ "results": results })))
}
