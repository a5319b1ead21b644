//! The route table. HubSpot serves each API family under its numbered path (`/crm/v3/objects`,
//! `/crm/v4/associations`, …) and, since 2026-03-30, under dated ones (`/crm/objects/2026-03`,
//! `/crm/objects/2026-09`, …). Each family below is written once, relative to its prefix, and mounted
//! under every version's prefix with that version attached to the request (see `version.rs`): a route
//! added to a family gets its dated twins by itself. Routes that exist only on the numbered paths are
//! in `legacy_only`.

use axum::routing::{get, post, put};
use axum::{Extension, Router};

use super::handlers::{
    assoc_batch, assoc_labels, assoc_read, batch, links, property_create, records, schemas,
    validations,
};
use super::state::AppState;
use super::version::{ApiVersion, Family};

/// Every HubSpot route of every version (without the gate: `server.rs` adds it).
pub fn hubspot() -> Router<AppState> {
    ApiVersion::ALL
        .into_iter()
        .fold(legacy_only(), |router, version| {
            router.merge(versioned(version))
        })
}

/// All families under `version`'s prefixes.
fn versioned(version: ApiVersion) -> Router<AppState> {
    let prefix = |family: Family| family.prefix(version);
    Router::new()
        .merge(objects(&prefix(Family::Objects)))
        .merge(properties(&prefix(Family::Properties)))
        .merge(associations(&prefix(Family::Associations)))
        .merge(schemas(&prefix(Family::Schemas)))
        .merge(pipelines(&prefix(Family::Pipelines)))
        .merge(property_validations(&prefix(Family::PropertyValidations)))
        .layer(Extension(version))
}

/// Records: single-record CRUD, list, batch.
fn objects(p: &str) -> Router<AppState> {
    Router::new()
        .route(
            &format!("{p}/{{objectType}}"),
            get(records::list).post(records::create),
        )
        .route(
            &format!("{p}/{{objectType}}/{{objectId}}"),
            get(records::read)
                .patch(records::update)
                .delete(records::archive),
        )
        .route(&format!("{p}/{{objectType}}/batch/read"), post(batch::read))
        .route(
            &format!("{p}/{{objectType}}/batch/create"),
            post(batch::create),
        )
        .route(
            &format!("{p}/{{objectType}}/batch/update"),
            post(batch::update),
        )
        .route(
            &format!("{p}/{{objectType}}/batch/upsert"),
            post(batch::upsert),
        )
        .route(
            &format!("{p}/{{objectType}}/batch/archive"),
            post(batch::archive),
        )
}

/// Property definitions.
fn properties(p: &str) -> Router<AppState> {
    Router::new()
        .route(
            &format!("{p}/{{objectType}}"),
            get(schemas::properties).post(property_create::create),
        )
        .route(
            &format!("{p}/{{objectType}}/{{propertyName}}"),
            get(schemas::property),
        )
}

/// Associations between object types (v4 and its dated twins): labels, batch writes and reads.
fn associations(p: &str) -> Router<AppState> {
    let pair = format!("{p}/{{fromObjectType}}/{{toObjectType}}");
    Router::new()
        .route(
            &format!("{pair}/labels"),
            get(links::labels).post(assoc_labels::create),
        )
        .route(&format!("{pair}/batch/create"), post(assoc_batch::create))
        .route(&format!("{pair}/batch/archive"), post(assoc_batch::archive))
        .route(
            &format!("{pair}/batch/labels/archive"),
            post(assoc_batch::archive_labels),
        )
        .route(
            &format!("{pair}/batch/associate/default"),
            post(assoc_batch::associate_default),
        )
        .route(&format!("{pair}/batch/read"), post(assoc_read::batch_read))
}

/// Object schemas.
fn schemas(p: &str) -> Router<AppState> {
    Router::new()
        .route(p, get(schemas::list))
        .route(&format!("{p}/{{objectType}}"), get(schemas::one))
}

/// Pipelines.
fn pipelines(p: &str) -> Router<AppState> {
    Router::new().route(&format!("{p}/{{objectType}}"), get(schemas::pipelines))
}

/// Property validation rules.
fn property_validations(p: &str) -> Router<AppState> {
    Router::new()
        .route(&format!("{p}/{{objectTypeId}}"), get(validations::of_type))
        .route(
            &format!("{p}/{{objectTypeId}}/{{propertyName}}"),
            get(validations::of_property),
        )
        .route(
            &format!("{p}/{{objectTypeId}}/{{propertyName}}/rule-type/{{ruleType}}"),
            get(validations::one).put(validations::put),
        )
}

/// The v3 association paths with the type in the path: the dated APIs replaced them with the v4
/// shape (types in the body), so they have no dated twin. And v4's per-record listing, whose dated
/// twin the sandbox does not serve yet.
fn legacy_only() -> Router<AppState> {
    let p = Family::Objects.prefix(ApiVersion::Legacy);
    Router::new()
        .route(
            &format!("{p}/{{objectType}}/{{objectId}}/associations/{{toObjectType}}/{{toObjectId}}/{{associationTypeId}}"),
            put(links::associate).delete(links::dissociate),
        )
        .route(
            "/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}",
            get(assoc_read::list),
        )
        .layer(Extension(ApiVersion::Legacy))
}
