//! A small client for sandbox tests: a sandbox on 127.0.0.1:0, JSON in, `(status, headers, JSON)` out.

use etl::sandbox::{self, SandboxConfig, SandboxHandle};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const TOKEN: &str = "test-token";

/// A running sandbox and a client for it.
pub struct Sandbox {
    pub handle: SandboxHandle,
    pub client: reqwest::Client,
    pub base: String,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Test defaults: the token `test-token` and limits high enough not to get in the way.
pub fn config() -> SandboxConfig {
    SandboxConfig {
        token: Some(TOKEN.to_owned()),
        requests_per_interval: 100_000,
        portal_id: 4242,
        seed: 7,
        ..SandboxConfig::default()
    }
}

impl Sandbox {
    /// Starts a sandbox with `config`.
    pub async fn start(config: SandboxConfig) -> Sandbox {
        let handle = sandbox::start(config).await.expect("sandbox starts");
        let base = handle.base_url();
        assert!(base.starts_with("http://127.0.0.1:"));
        Sandbox {
            handle,
            client: reqwest::Client::new(),
            base,
        }
    }

    /// Starts one with the test defaults.
    pub async fn new() -> Sandbox {
        Sandbox::start(config()).await
    }

    /// Sends a request with the test token.
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.send_as(Some(TOKEN), method, path, body).await
    }

    /// Sends a request with `token` (or none).
    pub async fn send_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body read");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None).await
    }

    pub async fn put(&self, path: &str) -> Reply {
        self.send(Method::PUT, path, None).await
    }

    /// `GET /_sandbox/stats` (no token).
    pub async fn stats(&self) -> Value {
        self.send_as(None, Method::GET, "/_sandbox/stats", None)
            .await
            .body
    }

    /// `POST /_sandbox/config`.
    pub async fn configure(&self, change: Value) -> Reply {
        self.send_as(None, Method::POST, "/_sandbox/config", Some(change))
            .await
    }

    /// Creates a contact and returns its id.
    pub async fn contact(&self, email: &str) -> String {
        let reply = self
            .post(
                "/crm/v3/objects/contacts",
                json!({"properties": {"email": email}}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["id"].as_str().expect("id").to_owned()
    }

    /// Creates a record of any type with `properties` and returns its id.
    pub async fn create(&self, object_type: &str, properties: Value) -> String {
        let reply = self
            .post(
                &format!("/crm/v3/objects/{object_type}"),
                json!({ "properties": properties }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["id"].as_str().expect("id").to_owned()
    }

    /// Live records of a type, from the stats.
    pub async fn records(&self, name: &str) -> u64 {
        self.stats().await["records"][name].as_u64().expect("count")
    }
}

/// The embedded-JSON list of a "Property values were not valid: […]" message.
pub fn embedded(message: &Value) -> Vec<Value> {
    let text = message.as_str().expect("message is a string");
    let list = text
        .strip_prefix("Property values were not valid: ")
        .unwrap_or_else(|| panic!("not a property-values message: {text}"));
    serde_json::from_str(list).expect("embedded JSON")
}

/// Asserts the correlation id is UUID-shaped.
pub fn assert_uuid(value: &Value) {
    let text = value.as_str().expect("correlationId is a string");
    let parts: Vec<usize> = text.split('-').map(str::len).collect();
    assert_eq!(parts, [8, 4, 4, 4, 12], "{text}");
}
