//! Shared helpers: a sandbox on loopback in its own runtime, a temp workdir, and the `etl` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use etl::sandbox::{SandboxConfig, SandboxHandle};
use serde_json::Value;

/// A sandbox served on 127.0.0.1:0 from a runtime of its own, so blocking tests can drive it.
pub struct TestSandbox {
    runtime: tokio::runtime::Runtime,
    handle: Option<SandboxHandle>,
    pub url: String,
}

impl TestSandbox {
    pub fn start(config: SandboxConfig) -> TestSandbox {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the sandbox");
        let handle = runtime
            .block_on(etl::sandbox::start(config))
            .expect("the sandbox starts");
        let url = handle.base_url();
        TestSandbox {
            runtime,
            handle: Some(handle),
            url,
        }
    }

    /// A sandbox with generous limits and the given token.
    pub fn with_token(token: &str) -> TestSandbox {
        TestSandbox::start(SandboxConfig {
            token: Some(token.to_string()),
            requests_per_interval: 10_000,
            daily_limit: 10_000_000,
            ..SandboxConfig::default()
        })
    }

    pub fn stats(&self) -> Value {
        self.request("GET", "/_sandbox/stats", None, None).1
    }

    /// Sends a request and returns the status and the JSON body (Null when empty).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        http(&self.runtime, &self.url, method, path, token, body)
    }
}

impl Drop for TestSandbox {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.runtime.block_on(handle.shutdown());
        }
    }
}

/// A temp directory holding a pipeline, its source and its outputs.
pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).expect("write a test file");
        path
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// Runs `etl` with `args` in this directory, with `HUBSPOT_TOKEN` set to `token`.
    pub fn etl(&self, token: &str, args: &[&str]) -> Output {
        self.command(token, args).output().expect("etl runs")
    }

    pub fn command(&self, token: &str, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_etl"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("HUBSPOT_TOKEN", token)
            .env_remove("RUST_LOG");
        command
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Reads a CSV file into its header and rows.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).expect("a readable CSV");
    let header = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("a record").iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// The JSON report a run wrote.
pub fn report(work: &Workdir) -> Value {
    serde_json::from_str(&work.read("report.json")).expect("a JSON report")
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `etl sandbox` running as its own process (so an `etl run` can be killed without it).
pub struct SandboxProcess {
    child: std::process::Child,
    pub url: String,
    client_runtime: tokio::runtime::Runtime,
}

impl SandboxProcess {
    pub fn start(args: &[&str]) -> SandboxProcess {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_etl"))
            .arg("sandbox")
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("etl sandbox starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the sandbox prints its address");
        let url = line
            .split_whitespace()
            .find(|word| word.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .to_string();
        SandboxProcess {
            child,
            url,
            client_runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
        }
    }

    pub fn stats(&self) -> Value {
        self.request("GET", "/_sandbox/stats", None).1
    }

    pub fn request(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.request_as(None, method, path, body)
    }

    /// Sends a request with `token` (HubSpot paths need one).
    pub fn request_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        http(&self.client_runtime, &self.url, method, path, token, body)
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request to a sandbox at `base`: the status and the JSON body (Null when empty or not JSON).
fn http(
    runtime: &tokio::runtime::Runtime,
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{base}{path}");
    runtime.block_on(async {
        let mut request = reqwest::Client::new().request(method.parse().expect("a method"), &url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("the sandbox answers");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("a body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    })
}

/// `etl run p.toml --report report.json --quiet` in `work`, with `token`.
pub fn run_reported(work: &Workdir, token: &str, extra: &[&str]) -> Output {
    let mut args = vec!["run", "p.toml", "--report", "report.json", "--quiet"];
    args.extend_from_slice(extra);
    work.etl(token, &args)
}
