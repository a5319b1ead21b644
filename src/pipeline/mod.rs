//! `etl run`'s data path as one chain (DESIGN.md §2):
//!
//! source → mapping → validation → batcher (`prepare`, on a thread of its own)
//!   → dispatcher (async, bounded concurrency, through the portal's rate gate)
//!   → outcomes (dead letters, journal, counters) → report
//!
//! Stages are joined by bounded channels, so back-pressure from the dispatcher reaches the
//! reader and memory stays flat. Every row read ends as accepted, dead-lettered, or (when the
//! run stops early) unfinished: the report's counts always add up to the rows read.

mod drive;
mod sync;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tokio::sync::mpsc;

use crate::config::secret::Secret;
use crate::config::{ConfigError, Connection, Operation, Pipeline};
use crate::dispatch::concurrency::Concurrency;
use crate::dispatch::resolve::Resolver;
use crate::dispatch::{Dispatcher, Records, Spec};
use crate::job::checkpoint::{Checkpoint, CheckpointError, Start};
use crate::job::dead_letter::{DeadLetterError, DeadLetterWriter};
use crate::job::outcome::{self, Recorder};
use crate::job::progress::{Gauges, Progress, Sending};
use crate::job::report::{Counters, Report, Stopped};
use crate::job::resume::Earlier;
use crate::job::state::State;
use crate::portal::Portal;
use crate::portal::gate::Budget;
use crate::portal::halt::{Halt, HaltFlag};
use crate::portal::schema::{self, ObjectSchema, SchemaError};
use crate::portal::target::{Target, TargetError, refused_token};
use crate::prepare::trace::TraceIds;
use crate::prepare::{self, Opened, PrepareError, PrepareOptions, RowFilter};
use drive::{drive, rows_left};
use sync::SyncRun;

/// How this run goes (the pipeline file describes the job; these describe the run).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// No progress display.
    pub quiet: bool,
    /// The API token, for programs that embed the engine; `None` reads the environment variable
    /// the pipeline names (`token_env`), as the command line does.
    pub token: Option<Secret>,
    /// Continue the job where an earlier run stopped (skip every finished row).
    pub resume: bool,
    /// Start the job over even if an earlier run left it unfinished.
    pub restart: bool,
    /// `[sync]`: send every row whatever the state says (and refresh the state).
    pub full: bool,
    /// `[sync]`: mirror deletes even beyond `max_deletes`.
    pub allow_deletes: bool,
}

/// A run that went to its end, or stopped early.
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
    Target(#[from] TargetError),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    #[error(transparent)]
    DeadLetter(#[from] DeadLetterError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("the reading thread ended without a result")]
    Thread,
    #[error(transparent)]
    State(#[from] crate::job::state::StateError),
    #[error(transparent)]
    Delete(#[from] crate::dispatch::deletes::DeleteError),
    #[error(transparent)]
    Resolve(#[from] crate::dispatch::resolve::ResolveError),
}

/// Runs `pipeline` to its end (or to a clean early stop). Errors before the run starts (the
/// target, the schema, the pipeline checked against the source, the job's lock and journal) are
/// `Err`, and leave no file of the job behind; once it has started, every ending — a fatal one
/// included — is a [`RunOutcome`] with its report.
pub async fn run(pipeline: &Pipeline, options: &RunOptions) -> Result<RunOutcome, RunError> {
    let connection = pipeline.connection();
    let target = Target::connect(&connection, options.token.as_ref()).await?;
    // From here Ctrl-C stops the run cleanly: every ending has a report.
    let (session, signals) = match Session::open(&target, &connection) {
        Ok(session) => session,
        Err(err) => {
            target.close().await;
            return Err(err.into());
        }
    };
    let outcome = run_in(pipeline, options, &session).await;
    signals.abort();
    target.close().await;
    outcome
}

/// A connected portal that one or more runs share: the target, the stop switch (Ctrl-C, a daily
/// limit, a fatal failure stop every run in it) and the rate budget (the stages of a plan draw on
/// one window).
pub struct Session<'a> {
    pub target: &'a Target,
    pub halt: Arc<HaltFlag>,
    pub budget: Budget,
}

impl<'a> Session<'a> {
    /// A session on `target` with the budget of `connection`, whose stop switch Ctrl-C and SIGTERM
    /// raise until the returned watch is aborted (when the session ends). Fails when the shared
    /// budget the connection names is unusable.
    pub fn open(
        target: &'a Target,
        connection: &Connection,
    ) -> Result<(Session<'a>, tokio::task::JoinHandle<()>), TargetError> {
        let budget = target.budget(connection)?;
        let halt = Arc::new(HaltFlag::default());
        let signals = {
            let halt = Arc::clone(&halt);
            tokio::spawn(async move { halt.raise_on_signal().await })
        };
        let session = Session {
            target,
            halt,
            budget,
        };
        Ok((session, signals))
    }
}

/// [`run`] in a session someone else opened (a migration plan's stage).
pub async fn run_in(
    pipeline: &Pipeline,
    options: &RunOptions,
    session: &Session<'_>,
) -> Result<RunOutcome, RunError> {
    let started = Instant::now();
    let start = match (options.resume, options.restart) {
        (_, true) => Start::Restart,
        (true, false) => Start::Resume,
        (false, false) => Start::New,
    };
    let portal = session.target.portal_in(
        &pipeline.connection(),
        Arc::clone(&session.halt),
        session.budget.clone(),
    )?;
    let run = Run {
        pipeline,
        portal: &Arc::new(portal),
        counters: &Arc::new(Counters::default()),
        options,
        started,
    };
    run.start(start).await
}

/// Takes the job's lock and journal, and reads what earlier runs finished. A `[sync]` state
/// takes over what a journal being replaced leaves.
fn open_job(
    pipeline: &Pipeline,
    start: Start,
    state: Option<&mut State>,
) -> Result<(Checkpoint, Option<Earlier>), RunError> {
    let (checkpoint, progress) = Checkpoint::open(
        &pipeline.checkpoint.path,
        &pipeline.source.path,
        &pipeline.file,
        start,
        state,
    )?;
    let earlier = match progress {
        Some(progress) => Some(Earlier::read(progress, pipeline)?),
        None => None,
    };
    Ok((checkpoint, earlier))
}

/// One run of the chain against a connected portal.
struct Run<'a> {
    pipeline: &'a Pipeline,
    portal: &'a Arc<Portal>,
    counters: &'a Arc<Counters>,
    options: &'a RunOptions,
    started: Instant,
}

/// The job's files, open: its journal (with what earlier runs finished) and its `[sync]` state.
struct Job {
    checkpoint: Checkpoint,
    earlier: Option<Earlier>,
    sync: Option<SyncRun>,
}

impl Run<'_> {
    /// Checks everything that can be checked before a file is written (the schema and its
    /// validation rules, the pipeline against them and the source, the keys its links name), then
    /// opens the job and goes. A job whose journal exists is opened first: another run holding it,
    /// a journal of another job or a finished job is told before anything is asked of the portal
    /// (and opening it creates no file).
    async fn start(&self, start: Start) -> Result<RunOutcome, RunError> {
        let (pipeline, portal) = (self.pipeline, self.portal);
        let mut job = None;
        if pipeline.checkpoint.path.exists() {
            let opened = self.open(start)?;
            if let Some(earlier) = opened.earlier.as_ref().filter(|e| e.completed()) {
                return Ok(RunOutcome {
                    report: earlier.report(pipeline),
                    halt: None,
                    already_finished: true,
                });
            }
            job = Some(opened);
        }
        // Nothing sent and nothing lost when the portal stops the run here: the halt says why
        // (daily limit, refused token, an interrupt), and every row not finished before is left
        // for --resume.
        let schema = match schema::fetch_for_writing(portal, &pipeline.target.object).await {
            Ok(schema) => schema,
            Err(_) if portal.halt().is_raised() => {
                return self.stopped_before_sending(job).await;
            }
            Err(error) => return Err(schema_error(error, pipeline)),
        };
        let opened = prepare::open(pipeline, &schema)?;
        let resolver =
            if pipeline.associations.is_empty() && !pipeline.target.operation.links_only() {
                None
            } else {
                match Resolver::new(portal, pipeline, &|_| false).await {
                    Ok(resolver) => Some(Arc::new(resolver)),
                    Err(_) if portal.halt().is_raised() => {
                        return self.stopped_before_sending(job).await;
                    }
                    Err(error) => return Err(error.into()),
                }
            };
        let Job {
            checkpoint,
            earlier,
            mut sync,
        } = match job {
            Some(job) => job,
            None => self.open(start)?,
        };
        // The run has started: from here every ending has a report, Ctrl-C included.
        let earlier_report = earlier.as_ref().map(|e| e.report(pipeline));
        let mut spec = spec_of(pipeline, &schema, TraceIds::new(&checkpoint.job()));
        spec.sent_after_ms = checkpoint
            .sent_after_ms(portal.traffic().first_answer_ms())
            .map_err(CheckpointError::from)?;
        let checkpoint = Arc::new(checkpoint);
        let rows_read = match self
            .go(opened, spec, resolver, checkpoint, earlier, sync.as_mut())
            .await
        {
            Ok(read) => Some(read),
            Err(err) => {
                portal.halt().raise(Halt::Failed(err.to_string()));
                None
            }
        };
        Ok(self.outcome(rows_read, earlier_report.as_ref()))
    }

    /// Opens the job's `[sync]` state and its journal.
    fn open(&self, start: Start) -> Result<Job, RunError> {
        let mut sync = SyncRun::open(self.pipeline)?;
        let (checkpoint, earlier) =
            open_job(self.pipeline, start, sync.as_mut().map(SyncRun::state))?;
        Ok(Job {
            checkpoint,
            earlier,
            sync,
        })
    }

    /// The run stopped before sending anything: every row no run finished (`job`'s earlier runs,
    /// for a resumed job) is unfinished.
    async fn stopped_before_sending(&self, job: Option<Job>) -> Result<RunOutcome, RunError> {
        let pipeline = self.pipeline;
        let earlier = job.and_then(|job| job.earlier);
        let earlier_report = earlier.as_ref().map(|e| e.report(pipeline));
        let left = rows_left(pipeline, earlier).await?;
        Counters::add(&self.counters.unfinished, left);
        Ok(self.outcome(Some(left), earlier_report.as_ref()))
    }

    /// The run's outcome and report. `rows_read`: the rows this run read (`None` when a failure
    /// left the count unknown: then the rows whose fate is known).
    fn outcome(&self, rows_read: Option<u64>, earlier: Option<&Report>) -> RunOutcome {
        let (pipeline, portal) = (self.pipeline, self.portal);
        let rows_read = rows_read.unwrap_or_else(|| self.counters.settled());
        let elapsed = self.started.elapsed();
        let mut report = Report::new(self.counters, portal.traffic(), rows_read, elapsed);
        if let Some(earlier) = earlier {
            report.add_earlier(earlier);
        }
        let halt = portal.halt().reason();
        report.stopped = Stopped::from(halt.as_ref());
        report.error = match &halt {
            Some(Halt::Failed(reason)) => Some(reason.clone()),
            Some(Halt::Refused { status, message }) => {
                Some(refused_token(&pipeline.target.token_env, *status, message))
            }
            _ => None,
        };
        report.dead_letter_file = pipeline.dead_letter.path.display().to_string();
        RunOutcome {
            report,
            halt,
            already_finished: false,
        }
    }

    /// Prepares and dispatches every row. Returns the rows read by this run (rows finished by
    /// earlier runs are skipped, and counted from the journal).
    async fn go(
        &self,
        opened: Opened,
        spec: Spec,
        resolver: Option<Arc<Resolver>>,
        checkpoint: Arc<Checkpoint>,
        earlier: Option<Earlier>,
        mut sync: Option<&mut SyncRun>,
    ) -> Result<u64, RunError> {
        let (pipeline, portal) = (self.pipeline, self.portal);
        let filter: Option<Box<dyn RowFilter>> = match &mut sync {
            Some(sync) => {
                // What a crashed run accepted and never merged reaches the state first.
                checkpoint.merge_state(sync.state())?;
                Some(sync.filter(pipeline, &spec, self.options.full)?)
            }
            None => None,
        };
        let done_before = earlier.as_ref().map_or(0, Earlier::finished);
        let earlier = earlier.map(Arc::new);
        let stop_reading = Arc::new(AtomicBool::new(false));
        let skip = earlier.clone().map(|earlier| {
            Box::new(move |row| earlier.is_finished(row)) as Box<dyn Fn(u64) -> bool + Send>
        });
        let prepared = opened.spawn(PrepareOptions {
            skip,
            stop: Arc::clone(&stop_reading),
            filter,
        })?;
        // `etl validate` lists them; a run only notes them (the dead letters say what broke).
        let rules = &prepared.rules;
        tracing::debug!(
            checked = rules.checked.len(),
            left_to_portal = rules.left.len(),
            unavailable = rules.unavailable.as_deref(),
            "property validation rules"
        );
        // A resumed job adds to the dead letters of its earlier runs.
        let (path, delimiter) = (&pipeline.dead_letter.path, pipeline.dead_letter.delimiter);
        let (header, replay) = (&prepared.header, prepared.replay);
        let dead_letters = match earlier {
            Some(_) => DeadLetterWriter::append(path, header, delimiter, replay),
            None => DeadLetterWriter::create(path, header, delimiter, replay),
        }?;

        let (outcome_tx, outcome_rx) = mpsc::channel(1024);
        let writer = tokio::spawn(outcome::write_outcomes(
            outcome_rx,
            Recorder {
                dead_letters,
                checkpoint: Arc::clone(&checkpoint),
                counters: Arc::clone(self.counters),
                halt: Arc::clone(portal.halt()),
            },
        ));
        let gauges = Gauges {
            counters: Arc::clone(self.counters),
            portal: Arc::clone(portal),
            extent: Arc::clone(&prepared.extent),
            done_before,
            sending: sending_of(pipeline),
        };
        let progress = Progress::start(gauges, self.options.quiet);
        let stopper = portal.halt().mirror_into(&stop_reading);
        let mut dispatcher = Dispatcher::new(
            Arc::clone(portal),
            spec,
            Concurrency::new(pipeline.dispatch.concurrency.get()),
            Records {
                counters: Arc::clone(self.counters),
                outcomes: outcome_tx.clone(),
                checkpoint: Some(Arc::clone(&checkpoint)),
            },
        );
        if let Some(resolver) = resolver {
            dispatcher = dispatcher.with_resolver(resolver);
        }
        let dispatcher = Arc::new(dispatcher);
        // On a runtime worker, not on the thread that called `block_on`: the batch tasks it spawns
        // and the permits they give back then stay on the workers' own queues instead of waking
        // another thread at each batch (a cross-thread wake-up costs microseconds on a VM).
        let driving = {
            let (dispatcher, outcomes) = (Arc::clone(&dispatcher), outcome_tx.clone());
            let stop_reading = Arc::clone(&stop_reading);
            tokio::spawn(
                async move { drive(prepared, &dispatcher, &outcomes, &stop_reading).await },
            )
        };
        let totals = match driving.await {
            Ok(totals) => totals,
            Err(panic) => std::panic::resume_unwind(panic.into_panic()),
        };
        stopper.abort();
        drop(dispatcher);
        drop(outcome_tx);
        let sinks = writer.await.expect("the outcome writer does not panic");
        progress.finish().await;
        // Complete only when the whole input went through: no halt, and no source error mid-file.
        let completed = !portal.halt().is_raised() && totals.is_ok();
        let traffic = portal.traffic();
        let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        let requests = (
            get(&traffic.requests),
            get(&traffic.retries),
            get(&traffic.rate_limited),
        );
        checkpoint.record_links(get(&self.counters.linked), get(&self.counters.unlinked));
        sinks.close(requests, completed);
        if let Some(sync) = sync {
            let allow = self.options.allow_deletes;
            sync.finish(
                pipeline,
                &checkpoint,
                portal,
                self.counters,
                completed,
                allow,
            )
            .await?;
        }
        let totals = totals?;
        Ok(totals.rows_read - totals.rows_skipped)
    }
}

/// The pace the progress line's ETA assumes: link operations send the associations API's
/// batches through its own window.
fn sending_of(pipeline: &Pipeline) -> Sending {
    let dispatch = &pipeline.dispatch;
    let (batch_size, per_interval) = match pipeline.target.operation.links_only() {
        true => (
            dispatch.association_batch_size,
            dispatch.association_requests_per_interval,
        ),
        false => (dispatch.batch_size, dispatch.requests_per_interval),
    };
    Sending {
        batch_size: batch_size as u64,
        per_interval: per_interval.get(),
        interval: dispatch.interval,
        daily_limit: dispatch.daily_limit,
    }
}

/// A schema fetch that failed, in the pipeline's words where it is the pipeline's mistake.
fn schema_error(error: SchemaError, pipeline: &Pipeline) -> RunError {
    match error.pipeline_mistake(&pipeline.file) {
        Some(mistake) => mistake.into(),
        None => error.into(),
    }
}

/// The mapped property through which a create whose answer was lost is checked: one whose values
/// are unique by HubSpot's rules (contacts' email is, whatever the schema's `hasUniqueValue` says).
/// `None` for a create without one (such rows are dead-lettered `AMBIGUOUS`), and for other
/// operations.
pub fn verify_property(pipeline: &Pipeline, schema: &ObjectSchema) -> Option<String> {
    if pipeline.target.operation != Operation::Create {
        return None;
    }
    pipeline
        .mapping
        .iter()
        .map(|m| m.property.as_str())
        .find(|name| schema.is_unique(name))
        .map(str::to_string)
}

/// What the dispatcher needs from the pipeline and the portal's schema.
fn spec_of(pipeline: &Pipeline, schema: &ObjectSchema, traces: TraceIds) -> Spec {
    let verify_property = verify_property(pipeline, schema);
    Spec {
        object: pipeline.target.object.clone(),
        operation: pipeline.target.operation,
        id_property: pipeline.target.id_property.clone(),
        verify_property,
        // Known once the job's journal is open (`Run::start`).
        sent_after_ms: None,
        max_retries: pipeline.dispatch.max_retries,
        association_batch_size: pipeline.dispatch.association_batch_size,
        traces,
    }
}
