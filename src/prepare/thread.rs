//! The prepare thread: source → mapping → validation → batcher on a thread of its own (CPU work
//! never runs on the async runtime), sending [`Prepared`] events into a bounded channel so
//! back-pressure from the consumer reaches the reader.
//!
//! Conservation: every row read ends exactly once as a batch input, a rejection, or a skipped row
//! (`rows_read == inputs + rejected + rows_skipped`), also when reading stops early.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{mpsc, oneshot};

use super::batch::{Batch, Batcher, DEFAULT_MAX_OPEN};
use super::mapping::{Mapper, MappingError};
use super::row::{Input, Rejection, SourceRow};
use super::rules::RulesReport;
use super::source::{self, Extent, Source, SourceError};
use super::validate::{ValidateError, Validator};
use super::violation::Violation;
use crate::config::Pipeline;
use crate::portal::schema::ObjectSchema;

/// Events per channel: enough to keep the consumer busy, small enough to keep memory flat.
pub const EVENT_CAPACITY: usize = 32;

/// What the preparing thread sends.
#[derive(Debug)]
pub enum Prepared {
    Batch(Batch),
    Rejected(Rejection),
    /// Rows a `[sync]` filter found unchanged since they were last accepted: nothing to send.
    Unchanged(u64),
}

/// What a [`RowFilter`] makes of a valid row.
#[derive(Debug)]
pub enum Sorted {
    /// Send it (possibly changed: a sync's create of a known key becomes an update).
    Send(Input),
    /// Nothing changed since it was last accepted.
    Unchanged,
    /// It cannot be sent.
    Reject(Rejection),
}

/// Sees every row a `[sync]` run reads: valid rows to sort, and the key of every row (valid or
/// not) for mirrored deletes.
pub trait RowFilter: Send {
    fn sort(&mut self, input: Input) -> Sorted;
    /// A row's key, `None` when it has none that can be read (a ragged row, an empty key).
    fn seen(&mut self, key: Option<&str>);
}

/// How a run prepares.
pub struct PrepareOptions {
    /// Rows already finished (resume): read, counted as skipped, not sent.
    pub skip: Option<Box<dyn Fn(u64) -> bool + Send>>,
    /// Set on Ctrl-C: stop reading; rows read so far are still batched and sent.
    pub stop: Arc<AtomicBool>,
    /// `[sync]`: what to send of each valid row.
    pub filter: Option<Box<dyn RowFilter>>,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            skip: None,
            stop: Arc::new(AtomicBool::new(false)),
            filter: None,
        }
    }
}

/// Counts at the end of preparing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrepareTotals {
    pub rows_read: u64,
    pub rows_skipped: u64,
    /// Rows that became batch inputs.
    pub inputs: u64,
    /// Rows rejected (unreadable or invalid).
    pub rejected: u64,
    /// Rows a `[sync]` filter found unchanged.
    pub unchanged: u64,
    pub batches: u64,
    /// Reading stopped early on the stop flag.
    pub stopped: bool,
}

/// How preparing ended: the totals, and the error that ended the file early if any (rows read before
/// it were still delivered).
#[derive(Debug)]
pub struct PrepareOutcome {
    pub totals: PrepareTotals,
    pub error: Option<PrepareError>,
}

/// A running prepare thread.
pub struct PrepareHandle {
    /// Source column names (dead-letter files use them).
    pub header: Vec<String>,
    /// The source is a dead-letter file being replayed (its rows keep their original numbers).
    pub replay: bool,
    /// How far reading has got, for the progress display.
    pub extent: Arc<Extent>,
    /// Which property validation rules are checked here, and which are left to the portal.
    pub rules: RulesReport,
    /// Batches and rejections, in order.
    pub events: mpsc::Receiver<Prepared>,
    /// Resolves once the thread is done (after the last event was sent).
    pub done: oneshot::Receiver<PrepareOutcome>,
}

/// Why preparing cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    Validate(#[from] Box<ValidateError>),
    #[error("the prepare thread failed: {0}")]
    Thread(String),
}

/// The per-row CPU path: map then validate. Used by the thread and by benchmarks.
pub struct Preparer {
    mapper: Mapper,
    validator: Validator,
    violations: Vec<Violation>,
}

impl Preparer {
    /// Compiles mapping and validation for this header; fatal errors name the property and file.
    pub fn new(
        pipeline: &Pipeline,
        schema: &ObjectSchema,
        header: &[String],
    ) -> Result<Preparer, PrepareError> {
        let mapper = Mapper::new(
            &pipeline.mapping,
            header,
            schema,
            &pipeline.file,
            &pipeline.source.path,
        )?;
        let validator = Validator::new(pipeline, schema, &mapper, header).map_err(Box::new)?;
        Ok(Preparer {
            mapper,
            validator,
            violations: Vec::new(),
        })
    }

    /// One row to an input, or to its rejection.
    pub fn prepare(&mut self, row: SourceRow) -> Result<Input, Rejection> {
        self.prepare_keyed(row).0
    }

    /// [`Preparer::prepare`], with the row's `[sync]` key also when the row is invalid.
    fn prepare_keyed(&mut self, row: SourceRow) -> (Result<Input, Rejection>, Option<String>) {
        self.violations.clear();
        let properties = self.mapper.map(&row, &mut self.violations);
        let key = self.validator.key_of(&row, &properties);
        let checked = self.validator.check(row, properties, &mut self.violations);
        (checked, key)
    }
}

/// A source opened and a pipeline checked against it and the schema, not yet read: every fatal
/// mistake of the pipeline (a missing column, an unknown property) is found before anything is
/// written or sent.
pub struct Opened {
    source: Source,
    preparer: Preparer,
    batch_size: usize,
}

/// Opens the source and checks the pipeline against it and the schema (fatal errors here, before
/// any row is read).
pub fn open(pipeline: &Pipeline, schema: &ObjectSchema) -> Result<Opened, PrepareError> {
    let source = source::open(&pipeline.source)?;
    let preparer = Preparer::new(pipeline, schema, source.header())?;
    // Link operations batch links, up to the associations API's own size.
    let batch_size = match pipeline.target.operation.links_only() {
        true => pipeline.dispatch.association_batch_size,
        false => pipeline.dispatch.batch_size,
    };
    Ok(Opened {
        source,
        preparer,
        batch_size,
    })
}

/// Opens and checks (see [`open`]), then prepares rows on a dedicated thread.
pub fn spawn(
    pipeline: &Pipeline,
    schema: ObjectSchema,
    options: PrepareOptions,
) -> Result<PrepareHandle, PrepareError> {
    open(pipeline, &schema)?.spawn(options)
}

impl Opened {
    /// Prepares the rows on a dedicated thread.
    pub fn spawn(self, options: PrepareOptions) -> Result<PrepareHandle, PrepareError> {
        let Opened {
            mut source,
            mut preparer,
            batch_size,
        } = self;
        let header = source.header().to_vec();
        let replay = source.is_replay();
        let extent = Arc::clone(source.extent());
        let rules = preparer.validator.rules_report().clone();
        let mut options = options;
        let (tx, events) = mpsc::channel(EVENT_CAPACITY);
        let (done_tx, done) = oneshot::channel();
        std::thread::Builder::new()
            .name("etl-prepare".into())
            .spawn(move || {
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    run(&mut source, &mut preparer, batch_size, &mut options, &tx)
                }))
                .unwrap_or_else(|panic| PrepareOutcome {
                    totals: PrepareTotals::default(),
                    error: Some(PrepareError::Thread(format!("panicked: {panic:?}"))),
                });
                drop(tx);
                let _ = done_tx.send(outcome);
            })
            .map_err(|e| PrepareError::Thread(e.to_string()))?;
        Ok(PrepareHandle {
            header,
            replay,
            extent,
            rules,
            events,
            done,
        })
    }
}

/// The loop of the prepare thread.
fn run(
    source: &mut Source,
    preparer: &mut Preparer,
    batch_size: usize,
    options: &mut PrepareOptions,
    tx: &mpsc::Sender<Prepared>,
) -> PrepareOutcome {
    let mut totals = PrepareTotals::default();
    let mut batcher = Batcher::new(batch_size, DEFAULT_MAX_OPEN);
    let mut ready: Vec<Batch> = Vec::new();
    // Unchanged rows are told in bunches (progress shows them; nothing else waits for them).
    let mut unchanged = 0u64;
    // Once the receiver is gone nobody listens: stop reading.
    let mut listening = true;
    let send = |event: Prepared, listening: &mut bool| {
        if *listening && tx.blocking_send(event).is_err() {
            *listening = false;
        }
    };
    while listening {
        if options.stop.load(Ordering::Relaxed) {
            totals.stopped = true;
            break;
        }
        let Some(item) = source.next() else { break };
        totals.rows_read += 1;
        let row = match &item {
            Ok(r) => r.row,
            Err(r) => r.row,
        };
        if options.skip.as_ref().is_some_and(|skip| skip(row)) {
            totals.rows_skipped += 1;
            continue;
        }
        let (prepared, key) = match item {
            Ok(row) => preparer.prepare_keyed(row),
            Err(rejection) => (Err(rejection), None),
        };
        let prepared = match (&mut options.filter, prepared) {
            (Some(filter), prepared) => {
                filter.seen(key.as_deref());
                match prepared.map(|input| filter.sort(input)) {
                    Ok(Sorted::Send(input)) => Ok(input),
                    Ok(Sorted::Unchanged) => {
                        totals.unchanged += 1;
                        unchanged += 1;
                        if unchanged == 4096 {
                            send(Prepared::Unchanged(unchanged), &mut listening);
                            unchanged = 0;
                        }
                        continue;
                    }
                    Ok(Sorted::Reject(rejection)) | Err(rejection) => Err(rejection),
                }
            }
            (None, prepared) => prepared,
        };
        match prepared {
            Ok(input) => {
                totals.inputs += 1;
                batcher.push(input, |b| ready.push(b));
            }
            Err(rejection) => {
                totals.rejected += 1;
                send(Prepared::Rejected(rejection), &mut listening);
            }
        }
        for batch in ready.drain(..) {
            totals.batches += 1;
            send(Prepared::Batch(batch), &mut listening);
        }
    }
    batcher.finish(|b| ready.push(b));
    for batch in ready.drain(..) {
        totals.batches += 1;
        send(Prepared::Batch(batch), &mut listening);
    }
    if unchanged > 0 {
        send(Prepared::Unchanged(unchanged), &mut listening);
    }
    PrepareOutcome {
        totals,
        error: source.take_error().map(PrepareError::from),
    }
}
