//! HubSpot's response bodies and rate-limit headers, as the engine reads them.
//!
//! Every field is optional: HubSpot's docs say so, and real error items omit many of the fields the
//! spec marks required (API-NOTES §3). The sandbox has its own types: a serde mistake on one side
//! then fails a test instead of hiding.

use std::collections::HashMap;

use reqwest::header::HeaderMap;
use serde::Deserialize;

/// The body of a batch answer (200, 201 or 207): its results, each read as `R`, and its errors.
/// Reads keep each record's properties ([`ResultObject`], the default); writes read
/// [`WriteResponse`].
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse<R = ResultObject> {
    #[serde(default = "Vec::new")]
    pub results: Vec<R>,
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
}

/// One record in `results[]`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultObject {
    #[serde(default)]
    pub id: String,
    /// Upsert only: whether the record was created (`true`) or updated.
    #[serde(default)]
    pub new: Option<bool>,
    #[serde(default)]
    pub properties: HashMap<String, Option<String>>,
    /// When the record was created (ISO 8601).
    #[serde(default, rename = "createdAt")]
    pub created_at: Option<String>,
}

/// A batch create/update/upsert answer as attribution reads it: each result's id and `new`
/// flag, and the errors. HubSpot echoes every property of every written record in
/// `results[].properties` (eight or more strings a contact); nothing downstream reads them, so
/// serde skips them unparsed instead of building a map per record: per request, the largest cost
/// of reading a write's answer.
pub type WriteResponse = BatchResponse<Written>;

/// One record in a write answer's `results[]`.
#[derive(Debug, Default, Deserialize)]
pub struct Written {
    #[serde(default)]
    pub id: String,
    /// Upsert only: whether the record was created (`true`) or updated.
    #[serde(default)]
    pub new: Option<bool>,
}

/// One item of a 207's `errors[]`, or a whole error body (400, 404, 409, 429, 5xx …).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorItem {
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub category: Option<String>,
    /// Set on 429s (`RATE_LIMIT`) instead of `category`.
    #[serde(default)]
    pub error_type: Option<String>,
    /// Which limit a 429 hit: `TEN_SECONDLY_ROLLING`, `DAILY`, …
    #[serde(default)]
    pub policy_name: Option<String>,
    /// Trace ids (`objectWriteTraceId`) or record ids (`ids`) the error is about.
    #[serde(default)]
    pub context: HashMap<String, Vec<String>>,
    #[serde(default)]
    pub correlation_id: Option<String>,
}

impl ErrorItem {
    /// Parses an error body; a body that is not HubSpot's JSON (a proxy's HTML page) still gives a
    /// message a person can read.
    pub fn parse(body: &[u8]) -> ErrorItem {
        serde_json::from_slice(body).unwrap_or_else(|_| ErrorItem {
            message: String::from_utf8_lossy(&body[..body.len().min(300)])
                .trim()
                .to_string(),
            ..ErrorItem::default()
        })
    }

    /// The category word for the dead-letter file: `category`, else `errorType`, else a fallback.
    pub fn category_or(&self, fallback: &str) -> String {
        self.category
            .clone()
            .or_else(|| self.error_type.clone())
            .unwrap_or_else(|| fallback.to_string())
    }
}

/// The `X-HubSpot-RateLimit-*` headers of one response (absent on search and OAuth daily).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RateHeaders {
    pub max: Option<u64>,
    pub remaining: Option<u64>,
    pub interval_ms: Option<u64>,
    pub daily: Option<u64>,
    pub daily_remaining: Option<u64>,
}

impl RateHeaders {
    pub fn from_headers(headers: &HeaderMap) -> RateHeaders {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
        };
        RateHeaders {
            max: number("x-hubspot-ratelimit-max"),
            remaining: number("x-hubspot-ratelimit-remaining"),
            interval_ms: number("x-hubspot-ratelimit-interval-milliseconds"),
            daily: number("x-hubspot-ratelimit-daily"),
            daily_remaining: number("x-hubspot-ratelimit-daily-remaining"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_207() {
        let body = br#"{"status":"COMPLETE","results":[{"id":"1145814089","properties":{"hs_pipeline":"0"},
            "createdAt":"2024-08-15T17:09:13.648Z","updatedAt":"2024-08-15T17:09:13.648Z","archived":false}],
            "numErrors":1,"errors":[{"status":"error","category":"VALIDATION_ERROR",
            "message":"Property values were not valid","context":{"objectWriteTraceId":["549b1c2a9351"]}}],
            "startedAt":"2024-08-15T17:09:13.610Z","completedAt":"2024-08-15T17:09:13.910Z"}"#;
        let parsed: BatchResponse = serde_json::from_slice(body).unwrap();
        assert_eq!(parsed.results[0].id, "1145814089");
        assert_eq!(
            parsed.errors[0].context["objectWriteTraceId"],
            vec!["549b1c2a9351"]
        );
        assert_eq!(
            parsed.errors[0].category.as_deref(),
            Some("VALIDATION_ERROR")
        );
    }

    #[test]
    fn a_write_answer_skips_the_echoed_properties_whatever_their_shape() {
        // The properties are not read: values of any JSON type (a proxy's rewrite, a future
        // HubSpot change) cannot make a write's answer unreadable.
        let body = br#"{"status":"COMPLETE","results":[{"id":"7","new":true,"properties":{"email":"a@b.io",
            "n":3,"nested":{"x":[1,null]},"none":null},"archived":false}],"errors":[]}"#;
        let parsed: WriteResponse = serde_json::from_slice(body).unwrap();
        assert_eq!(parsed.results.len(), 1);
        assert_eq!(parsed.results[0].id, "7");
        assert_eq!(parsed.results[0].new, Some(true));
        // The read shape keeps them, and refuses what is not a string.
        assert!(serde_json::from_slice::<BatchResponse>(body).is_err());
    }

    #[test]
    fn parses_a_daily_429_and_a_non_json_body() {
        let body = br#"{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","correlationId":"c033cdaa","policyName":"DAILY","requestId":"3d3e35b7"}"#;
        let item = ErrorItem::parse(body);
        assert_eq!(item.policy_name.as_deref(), Some("DAILY"));
        assert_eq!(item.category_or("X"), "RATE_LIMIT");
        let html = ErrorItem::parse(b"<html>502 Bad Gateway</html>");
        assert!(html.message.contains("502 Bad Gateway"));
        assert_eq!(html.category_or("HTTP_502"), "HTTP_502");
    }

    #[test]
    fn reads_rate_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("X-HubSpot-RateLimit-Max", "190".parse().unwrap());
        headers.insert("X-HubSpot-RateLimit-Remaining", "3".parse().unwrap());
        headers.insert(
            "X-HubSpot-RateLimit-Interval-Milliseconds",
            "10000".parse().unwrap(),
        );
        let rate = RateHeaders::from_headers(&headers);
        assert_eq!(rate.max, Some(190));
        assert_eq!(rate.remaining, Some(3));
        assert_eq!(rate.interval_ms, Some(10000));
        assert_eq!(rate.daily, None);
    }
}
