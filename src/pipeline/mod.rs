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
use crate::config::{Connection, Operation, Pipeline};
use crate::dispatch::concurrency::Concurrency;
use crate::dispatch::resolve::Resolver;
use crate::dispatch::{Dispatcher, Records, Spec};
use crate::job::checkpoint::{Checkpoint, CheckpointError, Start};
use crate::job::dead_letter::{DeadLetterError, DeadLetterWriter};
use crate::job::outcome::{self, Recorder};
use crate::job::progress::Progress;
use crate::job::report::{Counters, Report, Stopped};
use crate::job::resume::Earlier;
use crate::job::state::State;
use crate::portal::gate::Budget;
use crate::portal::halt::{Halt, HaltFlag};
use crate::portal::schema::{self, ObjectSchema, SchemaError};
use crate::portal::target::{Target, TargetError};
use crate::portal::{Portal, Traffic};
use crate::prepare::{self, PrepareError, PrepareOptions};
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
/// target, the job's lock and journal) are `Err`; once it has started, every ending — a fatal one
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
    let mut sync = SyncRun::open(pipeline)?;
    let (checkpoint, earlier) = open_job(pipeline, start, sync.as_mut().map(SyncRun::state))?;
    if let Some(earlier) = earlier.as_ref().filter(|e| e.completed()) {
        return Ok(RunOutcome {
            report: earlier.report(pipeline),
            halt: None,
            already_finished: true,
        });
    }
    // The run has started: from here every ending has a report.
    let halt = &session.halt;
    let counters = Arc::new(Counters::default());
    let earlier_report = earlier.as_ref().map(|e| e.report(pipeline));
    let portal = session.target.portal_in(
        &pipeline.connection(),
        Arc::clone(halt),
        session.budget.clone(),
    );
    let portal = match portal {
        Ok(portal) => Some(Arc::new(portal)),
        Err(err) => {
            halt.raise(Halt::Failed(err.to_string()));
            None
        }
    };
    let mut rows_read = None;
    if let Some(portal) = &portal {
        let run = Run {
            pipeline,
            portal,
            counters: &counters,
            options,
        };
        match run.go(Arc::new(checkpoint), earlier, sync.as_mut()).await {
            Ok(read) => rows_read = Some(read),
            Err(err) => halt.raise(Halt::Failed(err.to_string())),
        }
    }
    let idle = Traffic::default();
    let traffic = portal.as_ref().map_or(&idle, |portal| portal.traffic());
    // A failure may leave the prepare thread's count unknown: then the rows whose fate is known.
    let rows_read = rows_read.unwrap_or_else(|| counters.settled());
    let mut report = Report::new(&counters, traffic, rows_read, started.elapsed());
    if let Some(earlier) = &earlier_report {
        report.add_earlier(earlier);
    }
    let halt = halt.reason();
    report.stopped = Stopped::from(halt.as_ref());
    report.error = match &halt {
        Some(Halt::Failed(reason)) => Some(reason.clone()),
        Some(Halt::Refused { status, message }) => {
            Some(format!("HubSpot refused the token ({status}): {message}"))
        }
        _ => None,
    };
    report.dead_letter_file = pipeline.dead_letter.path.display().to_string();
    Ok(RunOutcome {
        report,
        halt,
        already_finished: false,
    })
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
}

impl Run<'_> {
    /// Fetches the schema and the properties' validation rules, then prepares and dispatches every
    /// row. Returns the rows read by this run (rows finished by earlier runs are skipped, and
    /// counted from the journal).
    async fn go(
        &self,
        checkpoint: Arc<Checkpoint>,
        earlier: Option<Earlier>,
        mut sync: Option<&mut SyncRun>,
    ) -> Result<u64, RunError> {
        let (pipeline, portal) = (self.pipeline, self.portal);
        let schema = match schema::fetch_for_writing(portal, &pipeline.target.object).await {
            Ok(schema) => schema,
            // Nothing sent yet and nothing lost: the halt says why (daily limit, refused token,
            // an interrupt), and every row not finished before is left for --resume.
            Err(_) if portal.halt().is_raised() => {
                let left = rows_left(pipeline, earlier).await?;
                Counters::add(&self.counters.unfinished, left);
                return Ok(left);
            }
            Err(error) => return Err(error.into()),
        };
        let resolver =
            if pipeline.associations.is_empty() && !pipeline.target.operation.links_only() {
                None
            } else {
                match Resolver::new(portal, pipeline, &|_| false).await {
                    Ok(resolver) => Some(Arc::new(resolver)),
                    Err(_) if portal.halt().is_raised() => {
                        let left = rows_left(pipeline, earlier).await?;
                        Counters::add(&self.counters.unfinished, left);
                        return Ok(left);
                    }
                    Err(error) => return Err(error.into()),
                }
            };
        let spec = spec_of(pipeline, &schema);
        let filter = match &mut sync {
            Some(sync) => {
                // What a crashed run accepted and never merged reaches the state first.
                checkpoint.merge_state(sync.state())?;
                Some(sync.filter(pipeline, &spec, self.options.full)?)
            }
            None => None,
        };
        let earlier = earlier.map(Arc::new);
        let stop_reading = Arc::new(AtomicBool::new(false));
        let skip = earlier.clone().map(|earlier| {
            Box::new(move |row| earlier.is_finished(row)) as Box<dyn Fn(u64) -> bool + Send>
        });
        let prepared = prepare::spawn(
            pipeline,
            schema,
            PrepareOptions {
                skip,
                stop: Arc::clone(&stop_reading),
                filter,
            },
        )?;
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
        let dead_letters = match earlier {
            Some(_) => DeadLetterWriter::append(path, &prepared.header, delimiter),
            None => DeadLetterWriter::create(path, &prepared.header, delimiter),
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
        let progress = Progress::start(
            Arc::clone(self.counters),
            Arc::clone(portal),
            self.options.quiet,
        );
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
        let totals = drive(prepared, &dispatcher, &outcome_tx, &stop_reading).await;
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

/// What the dispatcher needs from the pipeline and the portal's schema.
fn spec_of(pipeline: &Pipeline, schema: &ObjectSchema) -> Spec {
    // A lost create can be checked through a mapped property whose values are unique by HubSpot's
    // rules (contacts' email is, whatever the schema's `hasUniqueValue` says).
    let verify_property = (pipeline.target.operation == Operation::Create)
        .then(|| {
            pipeline
                .mapping
                .iter()
                .map(|m| m.property.as_str())
                .find(|name| schema.is_unique(name))
                .map(str::to_string)
        })
        .flatten();
    Spec {
        object: pipeline.target.object.clone(),
        operation: pipeline.target.operation,
        id_property: pipeline.target.id_property.clone(),
        verify_property,
        max_retries: pipeline.dispatch.max_retries,
        association_batch_size: pipeline.dispatch.association_batch_size,
    }
}
