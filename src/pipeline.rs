//! `etl run`: the whole data path in one readable chain (DESIGN.md §2).
//!
//! source → mapping → validation → batcher (`prepare`, on a blocking thread)
//!   → dispatcher (async, bounded concurrency, rate gate) → outcomes (dead letters + counters)
//!
//! Stages are joined by bounded channels, so back-pressure from the dispatcher reaches the
//! reader and memory stays flat. Every row read ends as accepted, dead-lettered, or (when the
//! run stops early) unfinished: the report's counts always add up to the rows read.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::checkpoint::{Checkpoint, CheckpointError, Start};
use crate::client::{Client, ClientError};
use crate::config::{self, BaseUrl, ConfigError, Operation, Pipeline};
use crate::dead_letter::{self, DeadLetterWriter};
use crate::dispatch::concurrency::Concurrency;
use crate::dispatch::keys::KeyGate;
use crate::dispatch::limiter::Limiter;
use crate::dispatch::{Dispatcher, Halt, HaltFlag, Job, Outcome, Shared};
use crate::journal::{self, RowSet};
use crate::prepare::{self, PrepareError, PrepareOptions, PrepareTotals, Prepared};
use crate::report::{Counters, Progress, Report};
use crate::sandbox::{self, SandboxConfig, SandboxHandle};
use crate::schema::{self, ObjectSchema, SchemaError};
use crate::secret::Secret;

/// How this run goes (the pipeline file describes the job; these describe the run).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Write the run report as JSON here.
    pub report: Option<PathBuf>,
    /// No progress display and no summary.
    pub quiet: bool,
    /// Read this file instead of the pipeline's source (replaying a dead-letter file).
    pub source: Option<PathBuf>,
    /// Send to this API instead of the pipeline's `base_url` ("sandbox" or an http(s) URL).
    pub base_url: Option<String>,
    /// The API token, for programs that embed the engine; `None` reads the environment variable
    /// the pipeline names (`token_env`), as the command line does.
    pub token: Option<Secret>,
    /// Continue the job where an earlier run stopped (skip every finished row).
    pub resume: bool,
    /// Start the job over even if an earlier run left it unfinished.
    pub restart: bool,
}

/// A run that went to its end, or stopped early in a resumable way.
#[derive(Debug)]
pub struct RunOutcome {
    /// The whole job's report, across every run of it.
    pub report: Report,
    /// Why the run stopped before the end of the input, if it did.
    pub halt: Option<Halt>,
    /// `--resume` found the job already finished: nothing was read or sent.
    pub already_finished: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(
        "no API token: set the environment variable {var} to your private app's access token \
         (the pipeline names the variable in target.token_env)"
    )]
    MissingToken { var: String },
    #[error("cannot start the embedded sandbox: {0}")]
    Sandbox(std::io::Error),
    #[error(transparent)]
    DeadLetter(#[from] dead_letter::DeadLetterError),
    #[error("cannot write the report {path}: {source}")]
    Report {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("HubSpot refused the token ({status}): {message}")]
    Unauthorized { status: u16, message: String },
    #[error("the run stopped: {0}")]
    Failed(String),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(
        "the source {0} is the dead-letter file this run writes to: copy it to another name, \
         fix it, and pass that with --source"
    )]
    SourceIsDeadLetter(PathBuf),
}

/// Runs the pipeline file at `path` to its end (or to a clean early stop).
pub async fn run(path: &Path, options: &RunOptions) -> Result<RunOutcome, RunError> {
    let started = Instant::now();
    let mut pipeline = config::load(path)?;
    if let Some(source) = &options.source {
        pipeline = pipeline.with_source(source)?;
    }
    if let Some(base_url) = &options.base_url {
        pipeline = pipeline.with_base_url(base_url)?;
    }
    if same_file(&pipeline.source.path, &pipeline.dead_letter.path) {
        return Err(RunError::SourceIsDeadLetter(pipeline.source.path.clone()));
    }
    let start = match (options.resume, options.restart) {
        (_, true) => Start::Restart,
        (true, false) => Start::Resume,
        (false, false) => Start::New,
    };
    let (checkpoint, earlier) = Checkpoint::open(
        &pipeline.checkpoint.path,
        &pipeline.source.path,
        &pipeline.file,
        start,
    )?;
    let earlier = match earlier {
        Some(progress) => {
            let dead_letters = &pipeline.dead_letter;
            let dead = dead_letter::rows_written(&dead_letters.path, dead_letters.delimiter)?;
            Some(Earlier { progress, dead })
        }
        None => None,
    };
    let already_finished = earlier.as_ref().is_some_and(|e| e.progress.completed);
    let (report, halt) = if already_finished {
        let earlier = earlier.as_ref().expect("checked above");
        let mut report = earlier.report(&pipeline);
        report.stopped = "completed".to_string();
        (report, None)
    } else {
        let target = Target::connect(&pipeline, options.token.as_ref()).await?;
        let checkpoint = Arc::new(checkpoint);
        let result = run_against(&pipeline, &target, options, checkpoint, earlier, started).await;
        target.close().await;
        result?
    };
    if let Some(path) = &options.report {
        let json = serde_json::to_vec_pretty(&report).expect("a report always serializes");
        std::fs::write(path, json).map_err(|source| RunError::Report {
            path: path.clone(),
            source,
        })?;
    }
    match halt {
        Some(Halt::Fatal { status, message }) => Err(RunError::Unauthorized { status, message }),
        Some(Halt::Failed(message)) => Err(RunError::Failed(message)),
        halt => Ok(RunOutcome {
            report,
            halt,
            already_finished,
        }),
    }
}

/// What earlier runs of a resumed job finished.
struct Earlier {
    progress: journal::Progress,
    /// Rows already in the dead-letter file.
    dead: RowSet,
}

impl Earlier {
    fn is_finished(&self, row: u64) -> bool {
        self.progress.accepted.contains(row) || self.dead.contains(row)
    }

    /// The job's report as the earlier runs left it.
    fn report(&self, pipeline: &Pipeline) -> Report {
        let p = &self.progress;
        let t = &p.totals;
        let done = p.accepted.len() + self.dead.len();
        Report {
            rows_read: done,
            accepted: p.accepted.len(),
            created: t.created,
            updated: t.updated,
            archived: t.archived,
            dead_lettered: self.dead.len(),
            unfinished: 0,
            requests: t.requests,
            retries: t.retries,
            rate_limited: t.rate_limited,
            bisections: 0,
            verified_creates: 0,
            elapsed_s: 0.0,
            rows_per_s: 0.0,
            stopped: String::new(),
            dead_letter_file: pipeline.dead_letter.path.display().to_string(),
        }
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Where the requests go: the portal named by the pipeline, or an embedded sandbox.
struct Target {
    base_url: String,
    token: Secret,
    sandbox: Option<SandboxHandle>,
}

impl Target {
    async fn connect(pipeline: &Pipeline, explicit: Option<&Secret>) -> Result<Target, RunError> {
        let token = match explicit {
            Some(token) => Some(token.clone()),
            None => pipeline.token()?,
        };
        match &pipeline.target.base_url {
            BaseUrl::Url(url) => Ok(Target {
                base_url: url.clone(),
                token: token.ok_or_else(|| RunError::MissingToken {
                    var: pipeline.target.token_env.clone(),
                })?,
                sandbox: None,
            }),
            BaseUrl::Sandbox => {
                // The embedded sandbox plays a portal with the pipeline's own limits, so a
                // rehearsal paces itself exactly as the real run will.
                let token = token.unwrap_or_else(|| Secret::new("sandbox-local-token"));
                let config = SandboxConfig {
                    token: Some(token.expose().to_string()),
                    requests_per_interval: pipeline.dispatch.requests_per_interval.get(),
                    interval: pipeline.dispatch.interval,
                    ..SandboxConfig::default()
                };
                let handle = sandbox::start(config).await.map_err(RunError::Sandbox)?;
                Ok(Target {
                    base_url: handle.base_url(),
                    token,
                    sandbox: Some(handle),
                })
            }
        }
    }

    async fn close(self) {
        if let Some(handle) = self.sandbox {
            handle.shutdown().await;
        }
    }
}

async fn run_against(
    pipeline: &Pipeline,
    target: &Target,
    options: &RunOptions,
    checkpoint: Arc<Checkpoint>,
    earlier: Option<Earlier>,
    started: Instant,
) -> Result<(Report, Option<Halt>), RunError> {
    let client = Client::new(
        &target.base_url,
        &target.token,
        pipeline.dispatch.request_timeout,
    )?;
    let earlier = earlier.map(Arc::new);
    let limiter = Limiter::new(
        pipeline.dispatch.requests_per_interval,
        pipeline.dispatch.interval,
    );
    let schema = match fetch_schema(&client, &limiter, pipeline).await {
        Ok(schema) => schema,
        // Nothing sent yet and nothing lost: the job resumes once the limit resets.
        Err(SchemaError::DailyLimit { message, .. }) => {
            let mut report = Report::from_counters(&Counters::default(), 0, started.elapsed());
            if let Some(earlier) = &earlier {
                report.add_earlier(&earlier.report(pipeline));
            }
            report.dead_letter_file = pipeline.dead_letter.path.display().to_string();
            report.stopped = "daily_limit".to_string();
            return Ok((report, Some(Halt::DailyLimit(message))));
        }
        Err(error) => return Err(error.into()),
    };
    let job = job_of(pipeline, &schema);

    let stop_reading = Arc::new(AtomicBool::new(false));
    let skip: Option<Box<dyn Fn(u64) -> bool + Send>> = earlier.clone().map(|earlier| {
        let skip: Box<dyn Fn(u64) -> bool + Send> = Box::new(move |row| earlier.is_finished(row));
        skip
    });
    let prepared = prepare::spawn(
        pipeline,
        schema,
        PrepareOptions {
            skip,
            stop: Arc::clone(&stop_reading),
        },
    )?;
    let dead_letter_path = pipeline.dead_letter.path.clone();
    // A resumed job adds to the dead letters of its earlier runs.
    let delimiter = pipeline.dead_letter.delimiter;
    let dead_letters = match earlier {
        Some(_) => DeadLetterWriter::append(&dead_letter_path, &prepared.header, delimiter),
        None => DeadLetterWriter::create(&dead_letter_path, &prepared.header, delimiter),
    }?;

    let counters = Arc::new(Counters::default());
    let halt = Arc::new(HaltFlag::default());
    let (outcome_tx, outcome_rx) = mpsc::channel(1024);
    let writer = tokio::spawn(write_outcomes(
        outcome_rx,
        dead_letters,
        Arc::clone(&counters),
        Arc::clone(&checkpoint),
    ));
    let progress = Progress::start(Arc::clone(&counters), options.quiet);
    let signals = tokio::spawn(stop_on_signal(Arc::clone(&halt), Arc::clone(&stop_reading)));

    let dispatcher = Arc::new(Dispatcher::new(
        client,
        job,
        limiter,
        Concurrency::new(pipeline.dispatch.concurrency.get()),
        Shared {
            counters: Arc::clone(&counters),
            outcomes: outcome_tx.clone(),
            halt: Arc::clone(&halt),
            checkpoint: Some(Arc::clone(&checkpoint)),
        },
    ));
    let totals = drive(prepared, &dispatcher, &outcome_tx, &stop_reading).await;
    signals.abort();
    drop(dispatcher);
    drop(outcome_tx);
    let written = writer.await.expect("the outcome writer does not panic");
    progress.finish().await;
    written?;
    let halt = halt.reason();
    // Complete only when the whole input went through: no halt, and no source error mid-file.
    let completed = halt.is_none() && totals.is_ok();
    let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    checkpoint
        .close(
            get(&counters.requests),
            get(&counters.retries),
            get(&counters.rate_limited),
            completed,
        )
        .map_err(|e| RunError::Checkpoint(e.into()))?;
    let totals = totals?;

    // Rows finished by earlier runs were skipped here and are counted from the journal.
    let rows_read = totals.rows_read - totals.rows_skipped;
    let mut report = Report::from_counters(&counters, rows_read, started.elapsed());
    if let Some(earlier) = &earlier {
        report.add_earlier(&earlier.report(pipeline));
    }
    report.dead_letter_file = dead_letter_path.display().to_string();
    report.stopped = match &halt {
        None => "completed",
        Some(Halt::DailyLimit(_)) => "daily_limit",
        Some(Halt::Interrupted) => "interrupted",
        Some(Halt::Fatal { .. } | Halt::Failed(_)) => "fatal",
    }
    .to_string();
    Ok((report, halt))
}

/// The portal's property schema, asked again after transient failures (a 429 for the window,
/// a 5xx, a refused connection) like any other request, and through the same rate gate.
async fn fetch_schema(
    client: &Client,
    limiter: &Limiter,
    pipeline: &Pipeline,
) -> Result<ObjectSchema, SchemaError> {
    use backon::Retryable;
    let fetch = || async {
        // One token per attempt (a custom object's schema takes a second GET, inside the margin).
        limiter.acquire().await;
        schema::fetch(
            client.http(),
            client.base_url(),
            &pipeline.target.object,
            Some(client.token()),
        )
        .await
    };
    fetch
        .retry(crate::dispatch::retry::backoff(pipeline.dispatch.max_retries).with_jitter())
        .when(SchemaError::is_transient)
        .await
}

/// Feeds prepared batches to the dispatcher: one task per batch, each holding a concurrency
/// slot and its keys. Returns the number of rows read.
async fn drive(
    mut prepared: prepare::PrepareHandle,
    dispatcher: &Arc<Dispatcher>,
    outcomes: &mpsc::Sender<Outcome>,
    stop_reading: &AtomicBool,
) -> Result<PrepareTotals, RunError> {
    let keys = KeyGate::new();
    let mut tasks = JoinSet::new();
    while let Some(event) = prepared.events.recv().await {
        match event {
            Prepared::Rejected(rejection) => {
                let _ = outcomes.send(Outcome::Rejected(rejection)).await;
            }
            Prepared::Batch(batch) => {
                if dispatcher.halt().is_raised() {
                    // Stopping: what was read but not sent stays unfinished (resumable).
                    stop_reading.store(true, Ordering::SeqCst);
                    let rows = batch.inputs.iter().map(|i| i.row).collect();
                    let _ = outcomes.send(Outcome::Unfinished(rows)).await;
                    continue;
                }
                let slot = dispatcher.concurrency().acquire().await;
                let reserved = keys.reserve(&batch.inputs).await;
                let dispatcher = Arc::clone(dispatcher);
                tasks.spawn(async move {
                    dispatcher.process(batch.inputs).await;
                    drop(reserved);
                    drop(slot);
                });
                // Surface a panicked batch task now rather than at the end.
                while let Some(done) = tasks.try_join_next() {
                    done.expect("a batch task panicked");
                }
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a batch task panicked");
    }
    let outcome = prepared
        .done
        .await
        .map_err(|_| RunError::Failed("the reading thread ended without a result".into()))?;
    match outcome.error {
        Some(error) => Err(error.into()),
        None => Ok(outcome.totals),
    }
}

/// Writes each outcome as it arrives: dead letters to the file (flushed often, so an interrupted
/// run loses nothing), counts to the counters.
async fn write_outcomes(
    mut outcomes: mpsc::Receiver<Outcome>,
    mut dead_letters: DeadLetterWriter,
    counters: Arc<Counters>,
    checkpoint: Arc<Checkpoint>,
) -> Result<(), RunError> {
    let mut last_flush = Instant::now();
    while let Some(outcome) = outcomes.recv().await {
        match outcome {
            Outcome::Accepted {
                rows,
                created,
                updated,
                archived,
            } => {
                checkpoint
                    .record_accepted(&rows, created, updated, archived)
                    .map_err(|e| RunError::Checkpoint(e.into()))?;
                Counters::add(&counters.accepted, rows.len() as u64);
                Counters::add(&counters.created, created);
                Counters::add(&counters.updated, updated);
                Counters::add(&counters.archived, archived);
            }
            Outcome::Rejected(rejection) => {
                dead_letters.write(&rejection)?;
                Counters::add(&counters.dead_lettered, 1);
            }
            Outcome::Unfinished(rows) => Counters::add(&counters.unfinished, rows.len() as u64),
        }
        if last_flush.elapsed() > Duration::from_millis(200) || outcomes.is_empty() {
            dead_letters.flush()?;
            last_flush = Instant::now();
        }
    }
    Ok(dead_letters.flush()?)
}

/// Ctrl-C or SIGTERM: stop reading, let in-flight requests finish, then report (exit 4).
async fn stop_on_signal(halt: Arc<HaltFlag>, stop_reading: Arc<AtomicBool>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::warn!("interrupted: finishing the requests in flight, then stopping");
    stop_reading.store(true, Ordering::SeqCst);
    halt.raise(Halt::Interrupted);
}

/// What the dispatcher needs from the pipeline and the portal's schema.
fn job_of(pipeline: &Pipeline, schema: &ObjectSchema) -> Job {
    // A lost create can be checked through a mapped property whose values are unique.
    let verify_property = (pipeline.target.operation == Operation::Create)
        .then(|| {
            pipeline
                .mapping
                .iter()
                .map(|m| m.property.as_str())
                .find(|name| schema.properties.get(*name).is_some_and(|p| p.unique))
                .map(str::to_string)
        })
        .flatten();
    Job {
        object: pipeline.target.object.clone(),
        operation: pipeline.target.operation,
        id_property: pipeline.target.id_property.clone(),
        verify_property,
        max_retries: pipeline.dispatch.max_retries,
    }
}
