//! The gate every HubSpot path passes: correlation id, bearer-token check (401), the rolling window and
//! the daily limit (429) of the path's pool (v4 associations have their own), injected faults on writes,
//! arrival jitter, latency, the `X-HubSpot-RateLimit-*` headers, and the stats. `/_sandbox/*` paths bypass it; they pass
//! `guard` instead, which asks for the token only when the sandbox listens beyond loopback.

use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, CORRELATION_ID};
use super::faults::{Fault, Lost};
use super::garble;
use super::limits::{Pool, Quota, Verdict};
use super::state::AppState;
use super::time;

/// The middleware (installed with `route_layer`, so the matched route template is known).
pub async fn gate(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let route = format!("{} {template}", request.method());
    let correlation = app.faults.uuid();
    let response = CORRELATION_ID
        .scope(
            correlation.clone(),
            admit(app.clone(), request, next, template),
        )
        .await;
    let mut response = response;
    if let Ok(value) = HeaderValue::from_str(&correlation) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-hubspot-correlation-id"), value);
    }
    app.stats.response(route, response.status().as_u16());
    response
}

async fn admit(app: AppState, request: Request, next: Next, template: String) -> Response {
    // The network's varying delay (the `jitter` fault): the request reaches the limiter later than
    // it was sent, by a different amount each time, so arrivals bunch where sends did not.
    let delay = app.faults.arrival_delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let now = Instant::now();
    let pool = pool_of(&template);
    app.stats.arrival(now, app.limits.interval(), pool);
    let today = time::day_of(time::now_ms());
    let token = bearer(request.headers());
    let rates = app.faults.rates();
    let Some(token) = token.clone().filter(|t| app.accepts(t)) else {
        let quota = app
            .limits
            .peek(pool, token.as_deref().unwrap_or(""), now, today);
        let response = ApiError::unauthorized().into_response();
        return finish(response, quota, rates.latency).await;
    };
    let (verdict, quota) = app.limits.admit(pool, &token, now, today);
    let retry_after = app.retry_after.load(Ordering::Relaxed);
    let response = match verdict {
        Verdict::Daily => {
            let mut err = ApiError::daily_limit(app.faults.uuid());
            if retry_after {
                let ms_to_midnight = 86_400_000 - time::now_ms().rem_euclid(86_400_000);
                err.retry_after = Some((ms_to_midnight as u64).div_ceil(1000));
            }
            err.into_response()
        }
        Verdict::Window(wait) => {
            let mut err = ApiError::window_limit(group_name(app.portal_id));
            if retry_after {
                err.retry_after = Some((wait.as_millis() as u64).div_ceil(1000).max(1));
            }
            err.into_response()
        }
        Verdict::Allowed => {
            let write = is_write(request.method(), &template);
            let faults = write || app.faults_on_reads.load(Ordering::Relaxed);
            let fault = if faults {
                app.faults.draw(template.ends_with("/batch/upsert"))
            } else {
                None
            };
            match fault {
                None => next.run(request).await,
                Some(Fault::Throttle) => {
                    app.stats.fault("throttle");
                    let mut err = ApiError::window_limit(group_name(app.portal_id));
                    if retry_after {
                        err.retry_after = Some(1);
                    }
                    err.into_response()
                }
                Some(Fault::Server(status)) => {
                    app.stats.fault("server_error");
                    ApiError::server_fault(status).into_response()
                }
                Some(Fault::Locked) => {
                    app.stats.fault("locked");
                    ApiError::locked().into_response()
                }
                // Whatever the portal answered (a write applied, or refused as a conflict), the
                // client never sees it: a lost 409 looks like a lost success.
                Some(Fault::Lost(how)) => {
                    let response = next.run(request).await;
                    lose(&app, response, how).await
                }
                Some(Fault::Garble) => {
                    let response = next.run(request).await;
                    if response.status().is_success() {
                        damage(&app, response).await
                    } else {
                        response
                    }
                }
            }
        }
    };
    finish(response, quota, rates.latency).await
}

/// The portal answered the write (applied it, or refused it); now the client loses the answer.
async fn lose(app: &AppState, response: Response, how: Lost) -> Response {
    match how {
        Lost::GatewayTimeout => {
            app.stats.fault("lost_504");
            ApiError::server_fault(axum::http::StatusCode::GATEWAY_TIMEOUT).into_response()
        }
        Lost::Dropped => {
            app.stats.fault("lost_dropped");
            // Announce the full length, send only half, and end the body: hyper (which trusts the
            // header for a body of unknown size) then aborts the connection, and the client sees a
            // truncated message — the write happened, the answer never arrived.
            let (mut parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let full = bytes.len().max(2);
            let half = bytes.slice(..bytes.len() / 2);
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(full));
            let body = Body::from_stream(Body::from(half).into_data_stream());
            Response::from_parts(parts, body)
        }
    }
}

/// The write landed; now its answer is damaged (status kept). A body with nothing to damage (204) is
/// left alone and not counted.
async fn damage(app: &AppState, response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let body = garble::Body::new(&bytes);
    let Some(kind) = app.faults.pick(&body.choices()) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    app.stats.fault(kind.name());
    let (content_type, damaged) = body.damage(kind, &super::error::correlation_id());
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(damaged))
}

async fn finish(mut response: Response, quota: Quota, latency: std::time::Duration) -> Response {
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-hubspot-ratelimit-max", u64::from(quota.max)),
        ("x-hubspot-ratelimit-remaining", u64::from(quota.remaining)),
        (
            "x-hubspot-ratelimit-interval-milliseconds",
            quota.interval_ms,
        ),
        ("x-hubspot-ratelimit-daily", quota.daily),
        ("x-hubspot-ratelimit-daily-remaining", quota.daily_remaining),
    ] {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
    response
}

/// `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The middleware of `/_sandbox/*`: on a sandbox reachable from other machines, the bearer token is
/// needed here too (these paths reset and reconfigure the portal); on loopback they stay open.
pub async fn guard(State(app): State<AppState>, request: Request, next: Next) -> Response {
    if app.admin_accepts(bearer(request.headers()).as_deref()) {
        next.run(request).await
    } else {
        ApiError::unauthorized().into_response()
    }
}

/// The associations API (v4 and its dated twins) draws on its own budget (API-NOTES §1);
/// everything else on the general one.
fn pool_of(template: &str) -> Pool {
    if template.starts_with("/crm/v4/") || template.starts_with("/crm/associations/") {
        Pool::Associations
    } else {
        Pool::General
    }
}

/// Writes are what faults hit: every non-GET object route (v3 or dated) except batch read, and the
/// association batch writes (create, archive, labels/archive, associate/default).
fn is_write(method: &Method, template: &str) -> bool {
    let association_write = (template.starts_with("/crm/v4/associations/")
        || template.starts_with("/crm/associations/"))
        && template.contains("/batch/");
    *method != Method::GET
        && !template.ends_with("/batch/read")
        && (template.starts_with("/crm/v3/objects/")
            || template.starts_with("/crm/objects/")
            || association_write)
}

/// The `groupName` of a burst 429, shaped like the captured one.
fn group_name(portal_id: u64) -> String {
    format!("publicapi:private_app-api-calls-ten-secondly:{portal_id}:1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_recognised() {
        assert!(is_write(
            &Method::POST,
            "/crm/v3/objects/{objectType}/batch/upsert"
        ));
        assert!(is_write(
            &Method::DELETE,
            "/crm/v3/objects/{objectType}/{objectId}"
        ));
        assert!(!is_write(
            &Method::POST,
            "/crm/v3/objects/{objectType}/batch/read"
        ));
        assert!(!is_write(&Method::GET, "/crm/v3/objects/{objectType}"));
        assert!(is_write(
            &Method::POST,
            "/crm/objects/2026-09/{objectType}/batch/create"
        ));
        assert!(!is_write(
            &Method::POST,
            "/crm/objects/2026-03/{objectType}/batch/read"
        ));
        assert!(!is_write(
            &Method::PUT,
            "/crm/v3/property-validations/{objectTypeId}/{propertyName}/rule-type/{ruleType}"
        ));
        let v4 = "/crm/v4/associations/{fromObjectType}/{toObjectType}";
        assert!(is_write(&Method::POST, &format!("{v4}/batch/create")));
        assert!(is_write(
            &Method::POST,
            &format!("{v4}/batch/labels/archive")
        ));
        assert!(!is_write(&Method::POST, &format!("{v4}/batch/read")));
        assert!(!is_write(&Method::POST, &format!("{v4}/labels")));
        assert!(!is_write(&Method::POST, "/crm/v3/properties/{objectType}"));
        assert!(is_write(
            &Method::POST,
            "/crm/associations/2026-09/{fromObjectType}/{toObjectType}/batch/create"
        ));
    }

    #[test]
    fn association_paths_have_their_own_pool() {
        assert_eq!(
            pool_of("/crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}"),
            Pool::Associations
        );
        assert_eq!(
            pool_of("/crm/associations/2026-03/{fromObjectType}/{toObjectType}/batch/read"),
            Pool::Associations
        );
        assert_eq!(pool_of("/crm/v3/objects/{objectType}"), Pool::General);
    }

    #[test]
    fn bearer_tokens() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer(&headers).as_deref(), Some("abc"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
    }
}
