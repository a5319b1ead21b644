//! `etl verify`: did everything the pipeline loads land, with the values meant? The source goes
//! through the pipeline's own mapping and validation (`prepare::spawn`: exactly what `etl run`
//! would send); each batch of rows is batch-read from the portal by the pipeline's identity and
//! compared property by property, normalised as HubSpot stores values. It only reads.
//!
//! Rows end as matching, missing (no record has the key), different (one diff line per property
//! that differs) or invalid (validation rejects the row, or it has no key); the diff file lists
//! every row that does not match.
//!
//! Parts: `identity` (how rows find their records), `repeats` (keys several rows share),
//! `compare` (expectations against records), `normalise` (values as HubSpot stores them), `diff`
//! (the diff file), `report`.

pub mod compare;
pub mod diff;
pub mod identity;
pub mod normalise;
pub mod repeats;
pub mod report;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Instant;

use tokio::task::JoinHandle;

use crate::config::secret::Secret;
use crate::config::{Operation, Pipeline, sibling};
use crate::dispatch::concurrency::Concurrency;
use crate::job::progress::Progress;
use crate::job::report::Stopped;
use crate::job::state::StateError;
use crate::portal::Portal;
use crate::portal::halt::{Halt, HaltFlag};
use crate::portal::schema::{self, ObjectSchema, SchemaError};
use crate::portal::target::{Target, TargetError};
use crate::prepare::{self, PrepareError, PrepareHandle, PrepareOptions, Prepared};
use crate::read::Page;
use crate::read::request::{self, ReadError};

use compare::{Checker, Expected, Tally};
use diff::{DiffError, DiffWriter, Kind, Line};
use identity::{Identity, Key, Keys, KeysError};
use repeats::{Repeats, Scan};
use report::VerifyReport;

/// How this verify runs.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    pub quiet: bool,
    /// The API token, for programs that embed the engine; `None` reads the pipeline's variable.
    pub token: Option<Secret>,
}

/// A verify that went to its end, or stopped early.
#[derive(Debug)]
pub struct VerifyOutcome {
    pub report: VerifyReport,
    pub halt: Option<Halt>,
}

/// Why a verify cannot run.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("cannot fetch the property schema: {0}")]
    Schema(#[from] SchemaError),
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    #[error(transparent)]
    Diff(#[from] DiffError),
    #[error("cannot verify: {0}")]
    NoKey(String),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the reading thread ended without a result")]
    Thread,
}

/// Verifies `pipeline`'s source against its portal. Errors before the checking starts are `Err`;
/// once it has started, every ending is a [`VerifyOutcome`] with its report.
pub async fn verify(
    pipeline: &Pipeline,
    options: &VerifyOptions,
) -> Result<VerifyOutcome, VerifyError> {
    let started = Instant::now();
    let connection = pipeline.connection();
    let target = Target::connect(&connection, options.token.as_ref()).await?;
    let halt = Arc::new(HaltFlag::default());
    let signals = {
        let halt = Arc::clone(&halt);
        tokio::spawn(async move { halt.raise_on_signal().await })
    };
    let result = match target.portal(&connection, Arc::clone(&halt)) {
        Ok(portal) => {
            let run = Run {
                pipeline,
                portal: Arc::new(portal),
                concurrency: Concurrency::new(pipeline.dispatch.concurrency.get()),
                live: Arc::new(Live::default()),
                quiet: options.quiet,
            };
            run.go().await.map(|checked| (checked, run.portal))
        }
        Err(err) => Err(err.into()),
    };
    signals.abort();
    target.close().await;
    let ((tally, rows_read), portal) = result?;
    let mut report = VerifyReport::new(tally, rows_read);
    let traffic = portal.traffic();
    report.requests = traffic.requests.load(Relaxed);
    report.retries = traffic.retries.load(Relaxed);
    report.rate_limited = traffic.rate_limited.load(Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    report.elapsed_s = (elapsed * 1000.0).round() / 1000.0;
    report.rows_per_s = if elapsed > 0.0 {
        (report.checked as f64 / elapsed).round()
    } else {
        0.0
    };
    let halt = halt.reason();
    report.stopped = Stopped::from(halt.as_ref());
    report.error = match &halt {
        Some(Halt::Failed(reason)) => Some(reason.clone()),
        Some(Halt::Refused { status, message }) => {
            Some(format!("HubSpot refused the token ({status}): {message}"))
        }
        _ => None,
    };
    report.diff_file = diff_path(pipeline).display().to_string();
    Ok(VerifyOutcome { report, halt })
}

/// `<source stem>.diff.csv` beside the source.
pub fn diff_path(pipeline: &Pipeline) -> std::path::PathBuf {
    sibling(&pipeline.source.path, "diff.csv")
}

/// Rows checked so far, for the progress line.
#[derive(Debug, Default)]
struct Live {
    checked: AtomicU64,
    differing: AtomicU64,
}

/// A batch's outcome: known at once (invalid rows), or being read.
enum Settling {
    Ready(Vec<Line>, Tally),
    Reading(JoinHandle<Result<(Vec<Line>, Tally), ReadError>>),
}

/// One verify against a connected portal.
struct Run<'a> {
    pipeline: &'a Pipeline,
    portal: Arc<Portal>,
    concurrency: Arc<Concurrency>,
    live: Arc<Live>,
    quiet: bool,
}

impl Run<'_> {
    /// Checks every row; returns the tally and the rows read.
    async fn go(&self) -> Result<(Tally, u64), VerifyError> {
        let pipeline = self.pipeline;
        let portal = &self.portal;
        let schema = match schema::fetch(portal, &pipeline.target.object).await {
            Ok(schema) => schema,
            Err(_) if portal.halt().is_raised() => return Ok((Tally::default(), 0)),
            Err(error) => return Err(error.into()),
        };
        let operation = pipeline.target.operation;
        if matches!(operation, Operation::Associate | Operation::Dissociate) {
            return Err(VerifyError::NoKey(format!(
                "an {} pipeline writes links, not properties; export the records with \
                 `etl export {} --associations <type>` to check them",
                operation, pipeline.target.object
            )));
        }
        let identity = Identity::of(pipeline, &schema).map_err(VerifyError::NoKey)?;
        let keys = Keys::open(pipeline, identity.clone()).map_err(|error| match error {
            KeysError::NoState(why) => VerifyError::NoKey(why),
            KeysError::State(error) => VerifyError::State(error),
        })?;
        // A key's later rows update what its first wrote: an update's, an upsert's, and a sync
        // create's (its later rows update the record the first created).
        let mut repeats = match (operation, &identity) {
            (Operation::Update | Operation::Upsert, _) | (_, Identity::SyncState) => {
                self.first_pass(&schema, &keys).await?
            }
            _ => Repeats::default(),
        };
        let checker = Arc::new(Checker::new(pipeline, &schema, identity));
        let stop = Arc::new(AtomicBool::new(false));
        let stopper = portal.halt().mirror_into(&stop);
        let handle = prepare::spawn(
            pipeline,
            schema,
            PrepareOptions {
                stop: Arc::clone(&stop),
                ..PrepareOptions::default()
            },
        )?;
        let progress = {
            let live = Arc::clone(&self.live);
            Progress::show(self.quiet, move |elapsed| {
                let checked = live.checked.load(Relaxed);
                format!(
                    "{:.0} rows/s · {checked} checked · {} not matching",
                    checked as f64 / elapsed.as_secs_f64().max(0.001),
                    live.differing.load(Relaxed)
                )
            })
        };
        let mut diff = DiffWriter::create(&diff_path(pipeline))?;
        let result = self
            .check_all(handle, &keys, &checker, &mut repeats, &mut diff)
            .await;
        stopper.abort();
        progress.finish().await;
        diff.finish()?;
        result
    }

    /// The first pass: which keys do several rows share?
    async fn first_pass(&self, schema: &ObjectSchema, keys: &Keys) -> Result<Repeats, VerifyError> {
        let PrepareHandle {
            mut events, done, ..
        } = prepare::spawn(self.pipeline, schema.clone(), PrepareOptions::default())?;
        let mut scan = Scan::default();
        while let Some(event) = events.recv().await {
            if let Prepared::Batch(batch) = event {
                for input in &batch.inputs {
                    if let Key::Found(key) = keys.of(input)? {
                        scan.saw(&key, input.row);
                    }
                }
            }
        }
        let outcome = done.await.map_err(|_| VerifyError::Thread)?;
        match outcome.error {
            Some(error) => Err(error.into()),
            None => Ok(scan.repeats()),
        }
    }

    /// The verifying pass: batches are read several at a time, and settled in order.
    async fn check_all(
        &self,
        handle: PrepareHandle,
        keys: &Keys,
        checker: &Arc<Checker>,
        repeats: &mut Repeats,
        diff: &mut DiffWriter,
    ) -> Result<(Tally, u64), VerifyError> {
        let PrepareHandle {
            mut events, done, ..
        } = handle;
        let in_flight = self.pipeline.dispatch.concurrency.get();
        let mut queue: VecDeque<Settling> = VecDeque::new();
        let mut tally = Tally::default();
        while let Some(event) = events.recv().await {
            match event {
                // Verify prepares without a `[sync]` filter: every valid row comes in a batch.
                Prepared::Unchanged(_) => {}
                Prepared::Rejected(rejection) => {
                    let line = Line {
                        row: rejection.row,
                        key: String::new(),
                        kind: Kind::Invalid,
                        property: rejection.category,
                        expected: rejection.message,
                        actual: String::new(),
                    };
                    let one = Tally {
                        invalid: 1,
                        ..Tally::default()
                    };
                    queue.push_back(Settling::Ready(vec![line], one));
                }
                Prepared::Batch(batch) => {
                    let mut expected = Vec::with_capacity(batch.inputs.len());
                    let (mut unfound, mut unfound_tally) = (Vec::new(), Tally::default());
                    for input in batch.inputs {
                        match keys.of(&input)? {
                            Key::Found(key) => {
                                expected.extend(repeats.offer(Expected::of(input, key)))
                            }
                            Key::Absent => {
                                unfound.push(self.keyless(checker, input.row));
                                unfound_tally.invalid += 1;
                            }
                            Key::Unknown { key, why } => {
                                unfound.push(Line {
                                    row: input.row,
                                    key,
                                    kind: Kind::Missing,
                                    property: String::new(),
                                    expected: why.to_string(),
                                    actual: String::new(),
                                });
                                unfound_tally.missing += 1;
                            }
                        }
                    }
                    if !unfound.is_empty() {
                        queue.push_back(Settling::Ready(unfound, unfound_tally));
                    }
                    if !expected.is_empty() {
                        queue.push_back(self.read(checker, expected));
                    }
                }
            }
            while queue.len() > in_flight {
                self.settle(queue.pop_front(), &mut tally, diff).await?;
            }
        }
        let leftovers = repeats.drain();
        for chunk in leftovers.chunks(request::BATCH_LIMIT) {
            queue.push_back(self.read(checker, chunk.to_vec()));
        }
        while !queue.is_empty() {
            self.settle(queue.pop_front(), &mut tally, diff).await?;
        }
        let outcome = done.await.map_err(|_| VerifyError::Thread)?;
        if let Some(error) = outcome.error {
            return Err(error.into());
        }
        Ok((tally, outcome.totals.rows_read))
    }

    /// A row without a value for the identity's property: nothing to find its record by.
    fn keyless(&self, checker: &Checker, row: u64) -> Line {
        let property = checker.identity().id_property().unwrap_or("hs_object_id");
        Line {
            row,
            key: String::new(),
            kind: Kind::Invalid,
            property: property.to_string(),
            expected: format!("no {property} value to find the record by"),
            actual: String::new(),
        }
    }

    /// Starts reading the records of `expected` and comparing them.
    fn read(&self, checker: &Arc<Checker>, expected: Vec<Expected>) -> Settling {
        let (portal, concurrency, checker) = (
            Arc::clone(&self.portal),
            Arc::clone(&self.concurrency),
            Arc::clone(checker),
        );
        let object = self.pipeline.target.object.clone();
        Settling::Reading(tokio::spawn(async move {
            let _permit = concurrency.acquire().await;
            let keys: Vec<&str> = expected.iter().map(|e| e.key.as_str()).collect();
            let body = request::batch_read(
                &portal,
                &object,
                &checker.selection(),
                checker.identity().id_property(),
                &keys,
                &*concurrency,
            )
            .await?;
            let page = Page::parse(&body, checker.wanted()).map_err(|e| ReadError::Failed {
                url: portal.url(&portal.paths().batch(&object, "read")),
                message: format!("unreadable batch read answer: {e}"),
            })?;
            Ok(checker.check(&expected, &page))
        }))
    }

    /// Writes one batch's outcome. A read that failed stops the verify (the halt says why).
    async fn settle(
        &self,
        settling: Option<Settling>,
        tally: &mut Tally,
        diff: &mut DiffWriter,
    ) -> Result<(), VerifyError> {
        let (lines, counted) = match settling {
            None => return Ok(()),
            Some(Settling::Ready(lines, counted)) => (lines, counted),
            Some(Settling::Reading(task)) => match task.await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(ReadError::Halted)) => return Ok(()),
                Ok(Err(error)) => {
                    self.portal.halt().raise(Halt::Failed(error.to_string()));
                    return Ok(());
                }
                Err(panicked) => {
                    let reason = format!("a read task failed: {panicked}");
                    self.portal.halt().raise(Halt::Failed(reason));
                    return Ok(());
                }
            },
        };
        for line in &lines {
            diff.write(line)?;
        }
        tally.add(counted);
        let checked = counted.matching + counted.missing + counted.different + counted.invalid;
        self.live.checked.fetch_add(checked, Relaxed);
        self.live
            .differing
            .fetch_add(checked - counted.matching, Relaxed);
        Ok(())
    }
}
