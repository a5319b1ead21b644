//! HubSpot-shaped errors: the `{"status":"error","message",…,"correlationId","category"}` envelope of every
//! non-2xx answer (API-NOTES §2–§3), turned into responses through `IntoResponse`, and the `errors[]`
//! items of 207 multi-status bodies.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::response;

tokio::task_local! {
    /// The correlation id of the request being served, drawn from the seeded RNG by the gate
    /// (`gate.rs`), so an error built anywhere in a handler carries the same id as the response header.
    pub static CORRELATION_ID: String;
}

/// The correlation id of the current request (a fixed nil UUID outside a request scope).
pub fn correlation_id() -> String {
    CORRELATION_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "00000000-0000-4000-8000-000000000000".to_owned())
}

/// One `errors[]` detail of a single-record 400 (`{"message","code","context":{"propertyName":[…]}}`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Detail {
    pub message: String,
    pub code: String,
    pub context: BTreeMap<String, Vec<String>>,
}

/// The error envelope. Fields that HubSpot omits for a given error are `None`.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub status: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<&'static str>,
    pub correlation_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<Detail>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<BTreeMap<String, Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// An error answer: a status and HubSpot's body.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status}: {}", body.message)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: errors travel in `Result`s on every handler path, and the body is large.
    pub body: Box<ErrorBody>,
    /// Seconds for a `Retry-After` header (only when the knob is on).
    pub retry_after: Option<u64>,
}

/// The 401 message, word for word.
pub const AUTH_MESSAGE: &str = "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview";

/// The >100 inputs message (sandbox decision, API-NOTES open question 1).
pub const TOO_MANY_INPUTS: &str = "The maximum number of inputs supported in a batch request is 100. Please reduce the number of items and try again";

/// More inputs than an endpoint takes (the v4 association batches have their own limits).
pub fn too_many_inputs(limit: usize) -> ApiError {
    ApiError::validation(format!(
        "The maximum number of inputs supported in a batch request is {limit}. Please reduce the number of items and try again"
    ))
}

/// The >50 inputs with `propertiesWithHistory` message (captured, I-AP9359).
pub const TOO_MANY_HISTORY_INPUTS: &str = "The maximum number of inputs supported in a batch request for property histories is 50. Please reduce the number of items and try again";

impl ApiError {
    fn new(
        status: StatusCode,
        message: impl Into<String>,
        category: Option<&'static str>,
    ) -> ApiError {
        ApiError {
            status,
            body: Box::new(ErrorBody {
                status: "error",
                message: message.into(),
                category,
                ..ErrorBody::default()
            }),
            retry_after: None,
        }
    }

    /// 400 `VALIDATION_ERROR` with a plain message.
    pub fn validation(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message, Some("VALIDATION_ERROR"))
    }

    /// Adds `errors[]` detail.
    pub fn with_details(mut self, details: Vec<Detail>) -> ApiError {
        self.body.errors = Some(details);
        self
    }

    /// 409 `CONFLICT` ("Contact already exists. Existing ID: 123").
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message, Some("CONFLICT"))
    }

    /// 409 `OBJECT_ALREADY_EXISTS`: a definition (property, association label) with that name exists.
    pub fn already_exists(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message, Some("OBJECT_ALREADY_EXISTS"))
    }

    /// 404 for an unknown or archived numeric id: `{"status":"error","message":"resource not found",…}`.
    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "resource not found", None)
    }

    /// 404 for a non-numeric id without `idProperty`.
    pub fn object_not_found(id: &str) -> ApiError {
        let mut err = ApiError::new(
            StatusCode::NOT_FOUND,
            "Object not found.  objectId are usually numeric.",
            Some("OBJECT_NOT_FOUND"),
        );
        err.body.context = Some(BTreeMap::from([("id".to_owned(), vec![id.to_owned()])]));
        err
    }

    /// 400 for an object type the portal does not have.
    pub fn unknown_type(name: &str) -> ApiError {
        ApiError::validation(format!("Unable to infer object type from: {name}"))
    }

    /// 400 for a body that is not the JSON the endpoint takes.
    pub fn invalid_json(err: &serde_json::Error) -> ApiError {
        ApiError::validation(format!(
            "Invalid input JSON on line {}, column {}: {err}",
            err.line(),
            err.column()
        ))
    }

    /// 400 for an `idProperty` that is not a unique property.
    pub fn non_unique(type_id: &str, property: &str, portal_id: u64) -> ApiError {
        ApiError::validation(format!(
            "Unable to perform update/upsert by non-unique {type_id} property {property} in portal ID {portal_id}"
        ))
    }

    /// 401 `INVALID_AUTHENTICATION`.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            AUTH_MESSAGE,
            Some("INVALID_AUTHENTICATION"),
        )
    }

    /// 429 for the rolling window (`TEN_SECONDLY_ROLLING`).
    pub fn window_limit(group_name: String) -> ApiError {
        let mut err = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "You have reached your ten_secondly_rolling limit.",
            None,
        );
        err.body.error_type = Some("RATE_LIMIT");
        err.body.policy_name = Some("TEN_SECONDLY_ROLLING");
        err.body.group_name = Some(group_name);
        err
    }

    /// 429 for the daily limit (`DAILY`).
    pub fn daily_limit(request_id: String) -> ApiError {
        let mut err = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "You have reached your daily limit.",
            None,
        );
        err.body.error_type = Some("RATE_LIMIT");
        err.body.policy_name = Some("DAILY");
        err.body.request_id = Some(request_id);
        err
    }

    /// An injected server fault (500/502/503/504): nothing was written (except for a lost 504).
    pub fn server_fault(status: StatusCode) -> ApiError {
        let message = match status {
            StatusCode::BAD_GATEWAY => "Bad Gateway: the upstream service did not answer in time.",
            StatusCode::SERVICE_UNAVAILABLE => "Service Unavailable. Please try again later.",
            StatusCode::GATEWAY_TIMEOUT => {
                "Gateway Timeout: the request took too long to complete."
            }
            _ => "internal error",
        };
        ApiError::new(status, message, Some("INTERNAL_ERROR"))
    }

    /// 423 Locked: bulk upserts arriving too fast; HubSpot asks to wait at least 2 s (DOC-ERR).
    pub fn locked() -> ApiError {
        ApiError::new(
            StatusCode::LOCKED,
            "This record is locked by another request. Wait at least 2 seconds before retrying.",
            Some("LOCKED"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(mut self) -> Response {
        if self.body.correlation_id.is_empty() {
            self.body.correlation_id = correlation_id();
        }
        let mut response = response::json(self.status, &self.body);
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// One `errors[]` item of a 207 body: `{"status":"error","category",["subCategory"],"message","context":{…}}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorItem {
    pub status: &'static str,
    pub category: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_category: Option<&'static str>,
    pub message: String,
    pub context: BTreeMap<&'static str, Vec<String>>,
}

impl ErrorItem {
    /// An item with its category and message; context added with [`ErrorItem::with`].
    pub fn new(category: &'static str, message: String) -> ErrorItem {
        ErrorItem {
            status: "error",
            category,
            sub_category: None,
            message,
            context: BTreeMap::new(),
        }
    }

    /// Sets `subCategory`.
    pub fn sub(mut self, sub_category: &'static str) -> ErrorItem {
        self.sub_category = Some(sub_category);
        self
    }

    /// Adds `context[key]`.
    pub fn with(mut self, key: &'static str, values: Vec<String>) -> ErrorItem {
        self.context.insert(key, values);
        self
    }
}
