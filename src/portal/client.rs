//! The HTTP client for HubSpot's API: one place that puts the token on the wire.
//!
//! It only moves bytes and tells apart the two kinds of transport failure that matter for
//! retries: a request that never left (safe to send again) and one whose answer was lost
//! (it may have been applied: an ambiguous create).

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};

use super::response::RateHeaders;
use crate::config::secret::Secret;

/// A client bound to one portal: base URL and bearer token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    auth: HeaderValue,
}

/// A complete HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub rate: RateHeaders,
    /// When the portal answered, by its own clock (the `Date` header, to the second): ms since
    /// the epoch.
    pub date_ms: Option<i64>,
    pub body: Vec<u8>,
}

/// A request that got no complete answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// The connection could not be made: the server never saw the request.
    #[error("could not connect to {url}: {reason}")]
    NotSent { url: String, reason: String },
    /// The request was (or may have been) sent, but no complete answer came back
    /// (timeout, connection reset, body cut short).
    #[error("no complete answer from {url}: {reason}")]
    Lost { url: String, reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
    #[error("the API token holds characters that cannot go in an HTTP header")]
    BadToken,
}

/// Makes ring the process's TLS crypto provider (reqwest is built without one, see Cargo.toml).
/// Every `reqwest::Client` is built after this; calling it again does nothing.
pub fn install_tls() {
    // Err only when a provider is installed already: that one serves.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Client {
    pub fn new(base_url: &str, token: &Secret, timeout: Duration) -> Result<Client, ClientError> {
        install_tls();
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent(concat!("etl/", env!("CARGO_PKG_VERSION")));
        if base_url.starts_with("http://") {
            // A plain-HTTP portal (a sandbox) needs no trust store: loading the system's roots
            // cost ≈ 10 ms of every run's start (145 files read and parsed).
            builder = builder.tls_certs_only([]);
        }
        let http = builder
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| ClientError::BadToken)?;
        // Keeps the header out of any debug print of a request.
        auth.set_sensitive(true);
        Ok(Client {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            auth,
        })
    }

    /// The full URL of `path`, for messages.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// POSTs a JSON body to `path` (which starts with `/`).
    pub async fn post(&self, path: &str, body: Vec<u8>) -> Result<Reply, TransportError> {
        let url = self.url(path);
        let request = self
            .http
            .post(&url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        Self::finish(url, request.send().await).await
    }

    /// GETs `path` (which starts with `/` and may carry a query string).
    pub async fn get(&self, path: &str) -> Result<Reply, TransportError> {
        let url = self.url(path);
        let request = self.http.get(&url).header(AUTHORIZATION, self.auth.clone());
        Self::finish(url, request.send().await).await
    }

    async fn finish(
        url: String,
        sent: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<Reply, TransportError> {
        let response = match sent {
            Ok(response) => response,
            Err(err) if err.is_connect() => {
                return Err(TransportError::NotSent {
                    url,
                    reason: describe(&err),
                });
            }
            Err(err) => {
                return Err(TransportError::Lost {
                    url,
                    reason: describe(&err),
                });
            }
        };
        let status = response.status().as_u16();
        let rate = RateHeaders::from_headers(response.headers());
        let date_ms = date_of(response.headers());
        match read_capped(response).await {
            Ok(body) => Ok(Reply {
                status,
                rate,
                date_ms,
                body,
            }),
            Err(reason) => Err(TransportError::Lost { url, reason }),
        }
    }
}

/// The `Date` header (an HTTP-date, which RFC 2822 parsing reads), in ms since the epoch.
fn date_of(headers: &reqwest::header::HeaderMap) -> Option<i64> {
    let text = headers.get(reqwest::header::DATE)?.to_str().ok()?;
    let date = chrono::DateTime::parse_from_rfc2822(text).ok()?;
    Some(date.timestamp_millis())
}

/// The most of a response body the engine reads: HubSpot's largest answers (100 records with
/// every property) are a few MiB; a longer one is treated as a lost answer, never read whole.
const MAX_BODY_BYTES: usize = 32 << 20;

/// Reads a body chunk by chunk, giving up past [`MAX_BODY_BYTES`].
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let too_long = || format!("the answer is longer than {MAX_BODY_BYTES} bytes");
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(too_long());
    }
    // Sized once from the announced length (the sandbox and HubSpot send one): a 100-record
    // answer is tens of KB, which growing by doubling would copy several times.
    let announced = response.content_length().unwrap_or(0) as usize;
    let mut body = Vec::with_capacity(announced);
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_long());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A one-line reason with the error's causes (reqwest's top-level message alone is vague).
/// reqwest errors carry the URL, never the headers, so the token cannot appear here.
fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "timed out".to_string()
    } else {
        err.to_string()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use reqwest::header::{DATE, HeaderMap, HeaderValue};

    use super::date_of;

    #[test]
    fn the_portals_clock_is_read_from_its_date_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(date_of(&headers), None);
        headers.insert(
            DATE,
            HeaderValue::from_static("Sat, 05 Dec 2026 22:49:47 GMT"),
        );
        assert_eq!(date_of(&headers), Some(1_796_510_987_000));
        headers.insert(DATE, HeaderValue::from_static("yesterday"));
        assert_eq!(date_of(&headers), None);
    }
}
