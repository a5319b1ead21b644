//! JSON responses with HubSpot's content type: the one way every answer, error or not, is written.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// HubSpot's JSON content type, charset included (I-NODE545 headers).
pub const JSON: &str = "application/json;charset=utf-8";

/// A JSON response with HubSpot's content type.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    // Sized up front: a 100-record batch answer is tens of KB, and growing by doubling copies it.
    let mut bytes = Vec::with_capacity(32 * 1024);
    match serde_json::to_writer(&mut bytes, body).map(|()| bytes) {
        Ok(bytes) => (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(JSON))],
            bytes,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
