//! The test hooks under `/_sandbox/` (never a HubSpot path; not counted against limits; open on loopback,
//! behind the token otherwise): stats, reset, runtime configuration, and dumps of a type's records and
//! links.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::super::config::check_rates;
use super::super::error::ApiError;
use super::super::limits::Change;
use super::super::rules;
use super::super::state::AppState;
use super::super::view::{self, RecordView, Select, Snapshot};
use super::parse_body;

/// `GET /_sandbox/stats`.
pub async fn stats(State(app): State<AppState>) -> Response {
    let body = app.stats.to_json(app.gauges());
    view::json(StatusCode::OK, &body)
}

/// `POST /_sandbox/reset`: the portal as it started — records, links, labels, created properties,
/// counters and windows go, validation rules return to the start set; the configuration stays.
pub async fn reset(State(app): State<AppState>) -> Response {
    app.reset();
    view::json(StatusCode::OK, &json!({"status": "reset"}))
}

/// The body of `POST /_sandbox/config`; every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigChange {
    pub daily_limit: Option<u64>,
    pub requests_per_interval: Option<u32>,
    pub association_daily_limit: Option<u64>,
    pub association_requests_per_interval: Option<u32>,
    pub interval_ms: Option<u64>,
    pub fault_rate: Option<f64>,
    pub lost_response_rate: Option<f64>,
    pub throttle_rate: Option<f64>,
    pub locked_rate: Option<f64>,
    pub garble_rate: Option<f64>,
    pub latency_ms: Option<u64>,
    pub jitter_ms: Option<u64>,
    pub retry_after: Option<bool>,
    pub partial_update_errors: Option<bool>,
    pub faults_on_reads: Option<bool>,
    #[serde(default)]
    pub reset_daily: bool,
    /// Validation rules in the rules-file shape: replace the live rules and the start set.
    pub rules: Option<Value>,
}

/// `POST /_sandbox/config`: changes limits and faults at run time; answers the resulting settings.
pub async fn configure(State(app): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let change: ConfigChange = parse_body(&body)?;
    // Read first: a bad rule set must leave every setting as it was.
    let new_rules = change
        .rules
        .map(|value| rules::from_value(value, &app.registry))
        .transpose()
        .map_err(|msg| ApiError::validation(format!("rules: {msg}")))?;
    let mut rates = app.faults.rates();
    rates.fault = change.fault_rate.unwrap_or(rates.fault);
    rates.lost = change.lost_response_rate.unwrap_or(rates.lost);
    rates.throttle = change.throttle_rate.unwrap_or(rates.throttle);
    rates.locked = change.locked_rate.unwrap_or(rates.locked);
    rates.garble = change.garble_rate.unwrap_or(rates.garble);
    if let Some(ms) = change.latency_ms {
        rates.latency = Duration::from_millis(ms);
    }
    if let Some(ms) = change.jitter_ms {
        rates.jitter = Duration::from_millis(ms);
    }
    check_rates(&[
        ("fault_rate", rates.fault),
        ("lost_response_rate", rates.lost),
        ("throttle_rate", rates.throttle),
        ("locked_rate", rates.locked),
        ("garble_rate", rates.garble),
    ])
    .map_err(ApiError::validation)?;
    if change.requests_per_interval == Some(0)
        || change.association_requests_per_interval == Some(0)
        || change.interval_ms == Some(0)
    {
        return Err(ApiError::validation(
            "requests_per_interval, association_requests_per_interval and interval_ms must be positive",
        ));
    }
    app.faults.set_rates(rates);
    if let Some(set) = new_rules {
        app.rules.replace(set);
    }
    app.limits.configure(Change {
        max: change.requests_per_interval,
        daily_limit: change.daily_limit,
        association_max: change.association_requests_per_interval,
        association_daily_limit: change.association_daily_limit,
        interval: change.interval_ms.map(Duration::from_millis),
        reset_daily: change.reset_daily,
    });
    for (flag, value) in [
        (&app.retry_after, change.retry_after),
        (&app.partial_update_errors, change.partial_update_errors),
        (&app.faults_on_reads, change.faults_on_reads),
    ] {
        if let Some(value) = value {
            flag.store(value, Ordering::Relaxed);
        }
    }
    let limits = app.limits.settings();
    Ok(view::json(
        StatusCode::OK,
        &json!({
            "requests_per_interval": limits.max,
            "interval_ms": limits.interval.as_millis() as u64,
            "daily_limit": limits.daily_limit,
            "association_requests_per_interval": limits.association_max,
            "association_daily_limit": limits.association_daily_limit,
            "fault_rate": rates.fault,
            "lost_response_rate": rates.lost,
            "throttle_rate": rates.throttle,
            "locked_rate": rates.locked,
            "garble_rate": rates.garble,
            "latency_ms": rates.latency.as_millis() as u64,
            "jitter_ms": rates.jitter.as_millis() as u64,
            "retry_after": app.retry_after.load(Ordering::Relaxed),
            "partial_update_errors": app.partial(),
            "faults_on_reads": app.faults_on_reads.load(Ordering::Relaxed),
            "validation_rules": app.rules.snapshot().len(),
        }),
    ))
}

/// `GET /_sandbox/records/{objectType}`: every live record with all its values.
pub async fn records(
    State(app): State<AppState>,
    Path(object_type): Path<String>,
) -> Result<Response, ApiError> {
    let ty = &*app.resolve(&object_type)?;
    let snaps: Vec<Snapshot> = {
        let table = app.store.read(ty);
        table
            .scan(0, false)
            .map(|r| Snapshot::of(ty, r, &Select::All, &[]))
            .collect()
    };
    let results: Vec<RecordView<'_>> = snaps.iter().map(|snap| RecordView { ty, snap }).collect();
    Ok(view::json(StatusCode::OK, &json!({ "results": results })))
}

/// `GET /_sandbox/links/{objectType}`: every link from records of the type, with its types described.
pub async fn links(
    State(app): State<AppState>,
    Path(object_type): Path<String>,
) -> Result<Response, ApiError> {
    let ty = app.resolve(&object_type)?;
    let stored = app.store.links().all_from(ty.index);
    let labels = app.labels();
    let results: Vec<Value> = stored
        .into_iter()
        .map(|(from, (to_type, to), types)| {
            let target = app.registry.get(to_type);
            let types: Vec<Value> = types
                .into_iter()
                .map(|type_id| match labels.describe(&ty, &target, type_id) {
                    Some(k) => json!({"category": k.category.as_str(), "typeId": type_id, "label": k.label}),
                    None => json!({"category": null, "typeId": type_id, "label": null}),
                })
                .collect();
            json!({
                "fromObjectId": from.to_string(),
                "toObjectType": target.name,
                "toObjectTypeId": target.id,
                "toObjectId": to.to_string(),
                "associationTypes": types,
            })
        })
        .collect();
    Ok(view::json(StatusCode::OK, &json!({ "results": results })))
}

/// Any other path: HubSpot's bare 404.
pub async fn not_found() -> Response {
    ApiError::not_found().into_response()
}
