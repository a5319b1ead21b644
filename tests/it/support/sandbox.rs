//! A sandbox on 127.0.0.1:0 for tests — served in this process on a runtime of its own, or as an
//! `etl sandbox` child process (so an `etl run` next to it can be killed) — and the small HTTP
//! client that talks to it: async for the sandbox API tests, blocking through [`Portal`] for the
//! tests that run the `etl` binary.

use std::future::Future;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use etl::sandbox::{self, SandboxConfig, SandboxHandle};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The token the test sandboxes accept unless a test says otherwise.
pub const TOKEN: &str = "test-token";

/// API-test defaults: the token [`TOKEN`] and limits high enough not to get in the way.
pub fn config() -> SandboxConfig {
    SandboxConfig {
        token: Some(TOKEN.to_owned()),
        requests_per_interval: 100_000,
        portal_id: 4242,
        seed: 7,
        ..SandboxConfig::default()
    }
}

enum Server {
    InProcess(Option<SandboxHandle>),
    Process(Child),
}

/// A running sandbox and a client for it. Dropping it stops the server.
pub struct Sandbox {
    server: Server,
    /// Serves the in-process sandbox (two workers, so a test thread blocked on a child process
    /// never stalls it) and drives the blocking client; `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    client: reqwest::Client,
    /// Sent as the bearer token by [`Sandbox::send`].
    token: Option<String>,
    interval: Duration,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The JSON body; `Null` when empty, a string when not JSON.
    pub body: Value,
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn runtime(workers: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("a runtime for the sandbox")
}

impl Sandbox {
    /// Starts an in-process sandbox with `config` (from an async test).
    pub async fn start(config: SandboxConfig) -> Sandbox {
        let runtime = runtime(2);
        let handle = runtime
            .spawn(sandbox::start(config.clone()))
            .await
            .expect("the start task")
            .expect("the sandbox starts");
        Sandbox::in_process(runtime, handle, &config)
    }

    /// Starts one with the API-test defaults.
    pub async fn new() -> Sandbox {
        Sandbox::start(config()).await
    }

    /// Starts an in-process sandbox with `config` (from a blocking test).
    pub fn spawn(config: SandboxConfig) -> Sandbox {
        let runtime = runtime(2);
        let handle = runtime
            .block_on(sandbox::start(config.clone()))
            .expect("the sandbox starts");
        Sandbox::in_process(runtime, handle, &config)
    }

    fn in_process(
        runtime: tokio::runtime::Runtime,
        handle: SandboxHandle,
        config: &SandboxConfig,
    ) -> Sandbox {
        let base = handle.base_url();
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        Sandbox {
            server: Server::InProcess(Some(handle)),
            runtime: Some(runtime),
            client: http(),
            token: Some(config.token.clone().unwrap_or_else(|| TOKEN.to_owned())),
            interval: config.interval,
            base,
        }
    }

    /// Starts `etl sandbox` with `config` as a child process (from a blocking test).
    pub fn process(config: &SandboxConfig) -> Sandbox {
        let mut command = Command::new(env!("CARGO_BIN_EXE_etl"));
        command
            .arg("sandbox")
            .args(flags(config))
            .env_remove("ETL_SANDBOX_TOKEN")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(token) = &config.token {
            command.env("ETL_SANDBOX_TOKEN", token);
        }
        let mut child = command.spawn().expect("etl sandbox starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the sandbox prints its address");
        let base = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        Sandbox {
            server: Server::Process(child),
            runtime: Some(runtime(1)),
            client: http(),
            token: Some(config.token.clone().unwrap_or_else(|| TOKEN.to_owned())),
            interval: config.interval,
            base,
        }
    }

    /// The in-process server's handle.
    pub fn handle(&self) -> &SandboxHandle {
        match &self.server {
            Server::InProcess(Some(handle)) => handle,
            _ => panic!("not an in-process sandbox"),
        }
    }

    /// The child process's id, for a sandbox started with [`Sandbox::process`].
    pub fn pid(&self) -> u32 {
        match &self.server {
            Server::Process(child) => child.id(),
            _ => panic!("not a child process"),
        }
    }

    /// Stops an in-process server gracefully and waits for it.
    pub async fn shutdown(mut self) {
        if let Server::InProcess(handle) = &mut self.server
            && let Some(handle) = handle.take()
        {
            handle.shutdown().await;
        }
    }

    /// The rolling window the sandbox was started with.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Sends a request with the sandbox's token.
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.send_as(self.token.as_deref(), method, path, body)
            .await
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

    /// `POST /_sandbox/reset`: records, links, counters and windows.
    pub async fn reset(&self) -> Reply {
        self.send_as(None, Method::POST, "/_sandbox/reset", None)
            .await
    }

    /// Creates a contact and returns its id.
    pub async fn contact(&self, email: &str) -> String {
        self.create("contacts", json!({ "email": email })).await
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
        self.stats().await["records"][name]
            .as_u64()
            .unwrap_or_else(|| panic!("no record count for {name}"))
    }

    /// The blocking view, for tests that are not async.
    pub fn portal(&self) -> Portal<'_> {
        Portal(self)
    }

    fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime
            .as_ref()
            .expect("a live runtime")
            .block_on(future)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Server::Process(child) = &mut self.server {
            let _ = child.kill();
            let _ = child.wait();
        }
        // Also allowed inside an async test, unlike dropping a runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// `etl sandbox` flags for `config` (the token goes through the environment).
fn flags(config: &SandboxConfig) -> Vec<String> {
    let mut flags: Vec<String> = [
        ("--addr", "127.0.0.1:0".to_string()),
        (
            "--requests-per-interval",
            config.requests_per_interval.to_string(),
        ),
        ("--interval-ms", config.interval.as_millis().to_string()),
        ("--daily-limit", config.daily_limit.to_string()),
        ("--latency-ms", config.latency.as_millis().to_string()),
        ("--jitter-ms", config.jitter.as_millis().to_string()),
        ("--fault-rate", config.fault_rate.to_string()),
        (
            "--lost-response-rate",
            config.lost_response_rate.to_string(),
        ),
        ("--throttle-rate", config.throttle_rate.to_string()),
        ("--locked-rate", config.locked_rate.to_string()),
        ("--garble-rate", config.garble_rate.to_string()),
        (
            "--association-requests-per-interval",
            config.association_requests_per_interval.to_string(),
        ),
        (
            "--association-daily-limit",
            config.association_daily_limit.to_string(),
        ),
        ("--seed", config.seed.to_string()),
        ("--portal-id", config.portal_id.to_string()),
    ]
    .into_iter()
    .flat_map(|(flag, value)| [flag.to_string(), value])
    .collect();
    for (on, flag) in [
        (config.retry_after, "--retry-after"),
        (config.partial_update_errors, "--partial-update-errors"),
        (config.faults_on_reads, "--faults-on-reads"),
    ] {
        if on {
            flags.push(flag.to_string());
        }
    }
    for (flag, path) in [
        ("--schema-file", &config.schema_file),
        ("--rules-file", &config.rules_file),
    ] {
        if let Some(path) = path {
            flags.push(flag.into());
            flags.push(path.display().to_string());
        }
    }
    flags
}

/// The sandbox seen from a blocking test: what the portal holds, and a few requests.
pub struct Portal<'a>(&'a Sandbox);

impl Portal<'_> {
    /// `GET /_sandbox/stats`.
    pub fn stats(&self) -> Value {
        self.0.block_on(self.0.stats())
    }

    /// Live records of a type.
    pub fn records(&self, object_type: &str) -> u64 {
        self.0.block_on(self.0.records(object_type))
    }

    /// A GET with the sandbox's token.
    pub fn get(&self, path: &str) -> Reply {
        self.0.block_on(self.0.get(path))
    }

    /// Creates a record and returns its id.
    pub fn create(&self, object_type: &str, properties: Value) -> String {
        self.0.block_on(self.0.create(object_type, properties))
    }

    /// A POST with the sandbox's token.
    pub fn post(&self, path: &str, body: Value) -> Reply {
        self.0.block_on(self.0.post(path, body))
    }

    /// A PATCH with the sandbox's token.
    pub fn patch(&self, path: &str, body: Value) -> Reply {
        self.0.block_on(self.0.patch(path, body))
    }

    /// `POST /_sandbox/config`, which must succeed.
    pub fn configure(&self, change: Value) {
        let reply = self.0.block_on(self.0.configure(change));
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    }

    /// `POST /_sandbox/reset`.
    pub fn reset(&self) {
        self.0.block_on(self.0.reset());
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.0.base
    }

    /// Requests served on routes ending with `suffix` (any status, any API version).
    pub fn requests(&self, suffix: &str) -> u64 {
        let stats = self.stats();
        stats["requests"]
            .as_object()
            .expect("requests by route")
            .iter()
            .filter(|(route, _)| route.ends_with(suffix))
            .flat_map(|(_, by_status)| by_status.as_object().expect("by status").values())
            .map(|n| n.as_u64().expect("a count"))
            .sum()
    }

    /// Creates a unique custom string property (`hasUniqueValue`) on a type.
    pub fn unique_property(&self, object_type: &str, name: &str) {
        let reply = self.post(
            &format!("/crm/v3/properties/{object_type}"),
            json!({"name": name, "label": name, "type": "string", "fieldType": "text",
                   "groupName": "information", "hasUniqueValue": true}),
        );
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    }

    /// The id of the record of `object_type` whose unique `property` is `value`.
    pub fn id_of(&self, object_type: &str, property: &str, value: &str) -> Option<String> {
        let reply = self.get(&format!(
            "/crm/v3/objects/{object_type}/{value}?idProperty={property}"
        ));
        (reply.status == StatusCode::OK)
            .then(|| reply.body["id"].as_str().expect("an id").to_string())
    }

    /// Every link stored from records of `object_type`: (from id, to type, to id, type ids), in
    /// record order (`/_sandbox/links`).
    pub fn links(&self, object_type: &str) -> Vec<(String, String, String, Vec<u64>)> {
        let body = self.get(&format!("/_sandbox/links/{object_type}")).body;
        body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|link| {
                let text = |key: &str| link[key].as_str().expect("a string").to_string();
                let mut types: Vec<u64> = link["associationTypes"]
                    .as_array()
                    .expect("types")
                    .iter()
                    .map(|t| t["typeId"].as_u64().expect("a type id"))
                    .collect();
                types.sort_unstable();
                (
                    text("fromObjectId"),
                    text("toObjectType"),
                    text("toObjectId"),
                    types,
                )
            })
            .collect()
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

/// An HTTP client for tests, with the engine's TLS provider installed (reqwest has no default one).
pub fn http() -> reqwest::Client {
    super::engine::install_tls();
    reqwest::Client::new()
}
