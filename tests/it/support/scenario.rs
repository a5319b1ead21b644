//! The scenario builder: an end-to-end test reads as the user's story — a sandbox with these limits
//! and faults, a source with these rows, a pipeline with these keys; run the real `etl` binary; the
//! portal holds these records and the dead-letter file these rows. A test states only what differs
//! from the defaults; every run checks the invariants by itself (`outcome.rs`).
//!
//! ```ignore
//! let run = Scenario::new()
//!     .sandbox(|s| s.lost_response_rate(0.2))
//!     .csv(contacts(300))
//!     .pipeline(|p| p.upsert_by("email").map_contact_columns())
//!     .run();
//! run.exit(0).accepted(300).created(300);
//! assert_eq!(run.portal().records("contacts"), 300);
//! ```

use std::cell::OnceCell;
use std::fmt::Display;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use etl::sandbox::SandboxConfig;

use super::fixtures::Pipeline;
use super::outcome::{Kind, Output, Run};
use super::sandbox::{Portal, Sandbox, TOKEN};
use super::workdir::{Workdir, sample};

/// The window of a scenario's pipeline and sandbox unless a test sets one: generous, and the same on
/// both sides, so every run is checked against it.
const WINDOW: (u64, u64) = (10_000, 1_000);

/// How long [`Running::wait_until`] waits for its condition, and how often it looks.
const WAIT_LIMIT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(20);

/// The test sandbox of a scenario: limits, faults, and where it runs.
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    config: SandboxConfig,
    process: bool,
}

impl SandboxSpec {
    fn new() -> SandboxSpec {
        SandboxSpec {
            config: SandboxConfig {
                token: Some(TOKEN.to_owned()),
                requests_per_interval: WINDOW.0 as u32,
                interval: Duration::from_millis(WINDOW.1),
                daily_limit: 10_000_000,
                ..SandboxConfig::default()
            },
            process: false,
        }
    }

    /// The one bearer token it accepts (also the runs' token unless [`Scenario::token`] says otherwise).
    pub fn token(mut self, token: &str) -> SandboxSpec {
        self.config.token = Some(token.to_owned());
        self
    }

    pub fn daily_limit(mut self, limit: u64) -> SandboxSpec {
        self.config.daily_limit = limit;
        self
    }

    pub fn latency_ms(mut self, ms: u64) -> SandboxSpec {
        self.config.latency = Duration::from_millis(ms);
        self
    }

    /// Every request reaches the limiter after a random delay of up to `ms` (the network's jitter).
    pub fn jitter_ms(mut self, ms: u64) -> SandboxSpec {
        self.config.jitter = Duration::from_millis(ms);
        self
    }

    /// Share of writes answered 500/502/503.
    pub fn fault_rate(mut self, rate: f64) -> SandboxSpec {
        self.config.fault_rate = rate;
        self
    }

    /// Share of writes applied whose answer is lost.
    pub fn lost_response_rate(mut self, rate: f64) -> SandboxSpec {
        self.config.lost_response_rate = rate;
        self
    }

    /// Share of writes answered with a spurious 429.
    pub fn throttle_rate(mut self, rate: f64) -> SandboxSpec {
        self.config.throttle_rate = rate;
        self
    }

    /// Share of writes applied whose 2xx answer is then damaged.
    pub fn garble_rate(mut self, rate: f64) -> SandboxSpec {
        self.config.garble_rate = rate;
        self
    }

    pub fn seed(mut self, seed: u64) -> SandboxSpec {
        self.config.seed = seed;
        self
    }

    /// Starts it with the property validation rules of a `--rules-file`.
    pub fn rules_file(mut self, path: &std::path::Path) -> SandboxSpec {
        self.config.rules_file = Some(path.to_path_buf());
        self
    }

    /// Runs it as an `etl sandbox` child process instead of in this process.
    pub fn process(mut self) -> SandboxSpec {
        self.process = true;
        self
    }

    fn start(&self) -> Sandbox {
        if self.process {
            Sandbox::process(&self.config)
        } else {
            Sandbox::spawn(self.config.clone())
        }
    }
}

/// What the runs of one story share: the workdir and the sandbox.
struct Shared {
    workdir: Workdir,
    sandbox: OnceCell<Sandbox>,
}

/// One run of `etl`, being described.
pub struct Scenario {
    shared: Rc<Shared>,
    /// `None`: no test sandbox (the pipeline uses the embedded one).
    spec: Option<SandboxSpec>,
    /// `None`: the pipeline file is already in the workdir (a sample).
    pipeline: Option<Pipeline>,
    pipeline_file: String,
    window: (u64, u64),
    args: Vec<String>,
    env: Vec<(String, String)>,
    token: Option<String>,
    quiet: bool,
    /// The run's `--report` file in the workdir (runs side by side need one each).
    report: String,
    /// Written to the run's standard input, then closed; `None`: no standard input.
    stdin: Option<Vec<u8>>,
}

impl Scenario {
    /// An empty workdir, a test sandbox (started when first needed), a contacts pipeline.
    pub fn new() -> Scenario {
        Scenario {
            shared: Rc::new(Shared {
                workdir: Workdir::new(),
                sandbox: OnceCell::new(),
            }),
            spec: Some(SandboxSpec::new()),
            pipeline: Some(Pipeline::new()),
            pipeline_file: "p.toml".into(),
            window: WINDOW,
            args: Vec::new(),
            env: Vec::new(),
            token: None,
            quiet: true,
            report: Run::REPORT.into(),
            stdin: None,
        }
    }

    /// A committed sample pipeline (`samples/{name}`) and its source, copied into the workdir and
    /// used as they are, with the sandbox they name (describe a test sandbox with
    /// [`Scenario::sandbox`] and point the run at it with `--base-url`).
    pub fn sample(name: &str) -> Scenario {
        let scenario = Scenario {
            spec: None,
            pipeline: None,
            pipeline_file: name.into(),
            ..Scenario::new()
        };
        let pipeline = scenario.workdir().copy_sample(name);
        let text = std::fs::read_to_string(pipeline).expect("a readable sample");
        let table: toml::Table = toml::from_str(&text).expect("a TOML sample");
        let source = table["source"]["path"].as_str().expect("[source] path");
        let folder = std::path::Path::new(name)
            .parent()
            .expect("a relative name");
        let source = folder.join(source);
        scenario
            .workdir()
            .copy_sample(source.to_str().expect("a UTF-8 name"));
        scenario
    }

    /// A committed sample migration plan (`samples/{folder}/{plan}`): the folder's pipelines and
    /// sources (its `.toml` and `.csv` files, not what an earlier run left) copied into the workdir
    /// and used as they are.
    pub fn sample_plan(folder: &str, plan: &str) -> Scenario {
        let scenario = Scenario {
            spec: None,
            pipeline: None,
            pipeline_file: format!("{folder}/{plan}"),
            ..Scenario::new()
        };
        let files = std::fs::read_dir(sample(folder)).expect("a sample folder");
        for file in files {
            let name = file.expect("a listable sample folder").file_name();
            let name = name.to_str().expect("a UTF-8 name");
            let source = name.ends_with(".csv") && !name.ends_with(".failed.csv");
            if source || name.ends_with(".toml") {
                scenario.workdir().copy_sample(&format!("{folder}/{name}"));
            }
        }
        scenario
    }

    /// Describes the test sandbox (before it starts); a sample's scenario gets one this way.
    pub fn sandbox(mut self, describe: impl FnOnce(SandboxSpec) -> SandboxSpec) -> Scenario {
        assert!(
            self.shared.sandbox.get().is_none(),
            "describe the sandbox before using it"
        );
        let spec = self.spec.take().unwrap_or_else(SandboxSpec::new);
        self.spec = Some(describe(spec));
        self
    }

    /// The rolling window of both the sandbox and the pipeline: `requests` per `interval_ms`.
    pub fn window(mut self, requests: u64, interval_ms: u64) -> Scenario {
        self.window = (requests, interval_ms);
        self.sandbox(|mut s| {
            s.config.requests_per_interval = requests as u32;
            s.config.interval = Duration::from_millis(interval_ms);
            s
        })
    }

    /// The source rows, written to `input.csv` (the default `[source] path`).
    pub fn csv(self, csv: impl Display) -> Scenario {
        self.file("input.csv", csv.to_string())
    }

    /// Any file in the workdir.
    pub fn file(self, name: &str, contents: impl AsRef<[u8]>) -> Scenario {
        self.workdir().write(name, contents);
        self
    }

    /// The pipeline: `describe` gets a fresh one (contacts, `input.csv`). Its `base_url` defaults
    /// to the test sandbox, its window to the scenario's.
    pub fn pipeline(mut self, describe: impl FnOnce(Pipeline) -> Pipeline) -> Scenario {
        self.pipeline = Some(describe(Pipeline::new()));
        self
    }

    /// The pipeline file's name (default `p.toml`; its stem names the job's journal).
    pub fn pipeline_file(mut self, name: &str) -> Scenario {
        self.pipeline_file = name.into();
        self
    }

    /// A pipeline file written by hand (the builder writes only well-formed ones), used as it is.
    pub fn written_pipeline(mut self, name: &str, text: &str) -> Scenario {
        self.workdir().write(name, text);
        self.pipeline = None;
        self.pipeline_file = name.into();
        self
    }

    /// Extra command-line arguments.
    pub fn args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Scenario {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// An environment variable for the run.
    pub fn env(mut self, name: &str, value: &str) -> Scenario {
        self.env.push((name.into(), value.into()));
        self
    }

    /// The run's `HUBSPOT_TOKEN` (default: the one the sandbox accepts).
    pub fn token(mut self, token: &str) -> Scenario {
        self.token = Some(token.into());
        self
    }

    /// Without `--quiet`: the summary and progress lines too.
    pub fn verbose(mut self) -> Scenario {
        self.quiet = false;
        self
    }

    pub fn workdir(&self) -> &Workdir {
        &self.shared.workdir
    }

    /// The test sandbox, started on first use.
    pub fn portal(&self) -> Portal<'_> {
        self.started()
            .expect("a scenario with a test sandbox")
            .portal()
    }

    /// The test sandbox's URL, for flags such as `--base-url`.
    pub fn url(&self) -> String {
        self.portal().url().to_string()
    }

    fn started(&self) -> Option<&Sandbox> {
        if let Some(sandbox) = self.shared.sandbox.get() {
            return Some(sandbox);
        }
        let spec = self.spec.as_ref()?;
        Some(self.shared.sandbox.get_or_init(|| spec.start()))
    }

    /// `etl run` to the end.
    pub fn run(self) -> Run {
        self.spawn_as(Kind::Run).wait()
    }

    /// `etl validate` to the end.
    pub fn validate(self) -> Run {
        self.spawn_as(Kind::Validate).wait()
    }

    /// Any other `etl` command line (`init …`, `man`), in the workdir with the scenario's
    /// environment, to the end.
    /// The story's pipeline file is then the one on disk (`etl init` may have written it).
    pub fn command<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Run {
        self.pipeline = None;
        let mut line: Vec<String> = args.into_iter().map(Into::into).collect();
        line.append(&mut self.args);
        self.args = line;
        self.spawn_as(Kind::Command).wait()
    }

    /// `etl run` in the background.
    pub fn spawn(self) -> Running {
        self.spawn_as(Kind::Run)
    }

    /// `etl export` with `args` (the object, `-o FILE`, options) to the end. Unless `args` say
    /// otherwise, it reads the test sandbox at the scenario's window.
    pub fn export<S: Into<String>>(self, args: impl IntoIterator<Item = S>) -> Run {
        self.args(args).spawn_as(Kind::Export).wait()
    }

    /// `etl export` in the background.
    pub fn spawn_export<S: Into<String>>(self, args: impl IntoIterator<Item = S>) -> Running {
        self.args(args).spawn_as(Kind::Export)
    }

    /// `etl verify` of the scenario's pipeline to the end.
    pub fn verify(self) -> Run {
        self.spawn_as(Kind::Verify).wait()
    }

    /// The next run of the story: same workdir, sandbox, pipeline and token; no extra flags.
    pub fn next(&self) -> Scenario {
        Scenario {
            shared: Rc::clone(&self.shared),
            spec: self.spec.clone(),
            pipeline: self.pipeline.clone(),
            pipeline_file: self.pipeline_file.clone(),
            window: self.window,
            args: Vec::new(),
            env: Vec::new(),
            token: self.token.clone(),
            quiet: true,
            report: Run::REPORT.into(),
            stdin: None,
        }
    }

    /// The `--report` file's name (default `report.json`): runs side by side need one each.
    pub fn report_file(mut self, name: &str) -> Scenario {
        self.report = name.into();
        self
    }

    /// Where the run writes its report, in the workdir.
    pub(super) fn report_name(&self) -> &str {
        &self.report
    }

    /// Bytes written to the run's standard input (which is then closed).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Scenario {
        self.stdin = Some(bytes.into());
        self
    }

    /// The pipeline as written: the sandbox's URL and the scenario's window filled in.
    fn rendered(&self) -> Option<Pipeline> {
        let mut pipeline = self.pipeline.clone()?;
        if !pipeline.has_base_url() {
            pipeline = pipeline.base_url(&self.url());
        }
        if !pipeline.has_dispatch("requests_per_interval") {
            pipeline = pipeline.dispatch("requests_per_interval", self.window.0);
        }
        if !pipeline.has_dispatch("interval_ms") {
            pipeline = pipeline.dispatch("interval_ms", self.window.1);
        }
        Some(pipeline)
    }

    fn spawn_as(self, kind: Kind) -> Running {
        let pipeline = match kind {
            Kind::Command => None,
            _ => self.rendered(),
        };
        let has = |flag: &str| self.args.iter().any(|arg| arg == flag);
        if let Some(pipeline) = &pipeline {
            self.workdir().write(&self.pipeline_file, pipeline.text());
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_etl"));
        command.current_dir(self.workdir().dir());
        match kind {
            Kind::Run => {
                // A report left by an earlier run must not pass for this one's.
                let _ = std::fs::remove_file(self.workdir().path(&self.report));
                command.args(["run", &self.pipeline_file, "--report", &self.report]);
                if self.quiet {
                    command.arg("--quiet");
                }
            }
            Kind::Validate => {
                command.args(["validate", &self.pipeline_file]);
            }
            Kind::Export => {
                let _ = std::fs::remove_file(self.workdir().path(&self.report));
                command.arg("export");
                if !has("--base-url") {
                    command.args(["--base-url", &self.url()]);
                }
                if !has("--requests-per-interval") {
                    let (requests, interval_ms) = self.window;
                    command.args([
                        "--requests-per-interval",
                        &requests.to_string(),
                        "--interval-ms",
                        &interval_ms.to_string(),
                    ]);
                }
                command.args(["--report", &self.report]);
                if self.quiet {
                    command.arg("--quiet");
                }
            }
            Kind::Verify => {
                let _ = std::fs::remove_file(self.workdir().path(&self.report));
                command.args(["verify", &self.pipeline_file, "--report", &self.report]);
                if self.quiet {
                    command.arg("--quiet");
                }
            }
            Kind::Command => {}
        }
        command.args(&self.args).env_remove("RUST_LOG");
        let token = self.token.clone().or_else(|| {
            self.spec
                .as_ref()
                .and_then(|spec| spec.config.token.clone())
        });
        match token {
            Some(token) => command.env("HUBSPOT_TOKEN", token),
            None => command.env_remove("HUBSPOT_TOKEN"),
        };
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command.stdin(match self.stdin {
            Some(_) => Stdio::piped(),
            None => Stdio::null(),
        });
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("etl starts");
        if let Some(bytes) = self.stdin.clone() {
            let mut pipe = child.stdin.take().expect("piped stdin");
            // On a thread: a large input fills the pipe long before etl has read it all.
            std::thread::spawn(move || {
                use std::io::Write;
                let _ = pipe.write_all(&bytes);
            });
        }
        let stdout = drain(child.stdout.take().expect("piped stdout"));
        let stderr = drain(child.stderr.take().expect("piped stderr"));
        Running {
            scenario: self,
            kind,
            pipeline,
            child,
            stdout,
            stderr,
        }
    }

    /// The window a command of `kind` keeps: the pipeline's, or (export) the scenario's flags.
    pub(super) fn window_of(&self, kind: Kind, pipeline: Option<&Pipeline>) -> Option<(u64, u64)> {
        match kind {
            Kind::Export => Some(self.window),
            Kind::Command => None,
            Kind::Run | Kind::Validate | Kind::Verify => pipeline.map(Pipeline::effective_window),
        }
    }

    /// The sandbox's own invariants, true after any run, even a killed one: no record created
    /// twice, and no window of the command's interval held more requests than it allows.
    pub(super) fn check_sandbox(&self, window: Option<(u64, u64)>) {
        let Some(sandbox) = self.shared.sandbox.get() else {
            return;
        };
        let stats = sandbox.portal().stats();
        // Trace ids are unique per job (`<job>-<row>`): this holds across every job of a story.
        assert_eq!(
            stats["duplicate_create_trace_ids"],
            serde_json::json!([]),
            "records created twice: {stats}"
        );
        if let Some((requests, interval_ms)) = window
            && sandbox.interval() == Duration::from_millis(interval_ms)
        {
            let busiest = stats["max_requests_in_window"].as_u64().expect("a count");
            assert!(
                busiest <= requests,
                "{busiest} requests in one window of {interval_ms} ms, more than {requests}: {stats}"
            );
        }
    }
}

/// Reads a child's pipe to the end on a thread, so a chatty child never blocks on a full pipe.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// A run in the background.
pub struct Running {
    scenario: Scenario,
    kind: Kind,
    pipeline: Option<Pipeline>,
    child: Child,
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
}

impl Running {
    /// The sandbox this run writes to.
    pub fn portal(&self) -> Portal<'_> {
        self.scenario.portal()
    }

    /// Waits until `ready` holds for the portal (polling its stats), or the run ended by itself.
    pub fn wait_until(&mut self, ready: impl Fn(&Portal) -> bool) -> &mut Running {
        let portal = self.scenario.portal();
        let deadline = Instant::now() + WAIT_LIMIT;
        while !ready(&portal) {
            if self.child.try_wait().expect("the run's status").is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "the condition never held");
            std::thread::sleep(POLL);
        }
        self
    }

    /// Another run in the same workdir with the same sandbox, while this one goes on.
    pub fn alongside(&self) -> Scenario {
        self.scenario.next()
    }

    /// Waits for the end at most `limit`; a run still going then is killed and the test fails.
    pub fn wait_within(mut self, limit: Duration) -> Run {
        let deadline = Instant::now() + limit;
        while self.child.try_wait().expect("the run's status").is_none() {
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("etl did not end within {limit:?}");
            }
            std::thread::sleep(POLL);
        }
        self.wait()
    }

    /// Waits for the end.
    pub fn wait(mut self) -> Run {
        let status = self.child.wait().expect("etl ends");
        let output = Output {
            code: status.code(),
            stdout: self.stdout.join().expect("stdout"),
            stderr: self.stderr.join().expect("stderr"),
        };
        Run::new(self.scenario, self.kind, self.pipeline, output)
    }

    /// SIGTERM, then waits: the run drains and writes its report.
    pub fn terminate(self) -> Run {
        self.signal("TERM");
        self.wait()
    }

    /// Sends a signal (`"INT"`, `"TERM"`) without waiting.
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
    }

    /// SIGKILL once `ready` holds for the portal (see [`Running::wait_until`]).
    pub fn kill_when(mut self, ready: impl Fn(&Portal) -> bool) -> Scenario {
        self.wait_until(ready);
        self.kill()
    }

    /// SIGKILL: no cleanup of any kind. Returns the story's next run.
    pub fn kill(mut self) -> Scenario {
        let _ = self.child.kill(); // it may have ended by itself
        self.child.wait().expect("etl ends");
        let window = self.scenario.window_of(self.kind, self.pipeline.as_ref());
        self.scenario.check_sandbox(window);
        self.scenario.next()
    }
}
