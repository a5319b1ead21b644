//! The first half of the data path: source → mapping → validation → batcher, on a blocking thread
//! (CPU work never runs on the async runtime), sending [`Prepared`] events into a bounded channel so
//! back-pressure from the consumer reaches the reader. Also `etl validate`, which runs this path
//! without sending writes.
//!
//! Conservation: every row read ends exactly once as a batch input, a rejection, or a skipped row
//! (`rows_read == inputs + rejected + rows_skipped`), also when reading stops early.

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{mpsc, oneshot};

use crate::batch::{Batch, Batcher, DEFAULT_MAX_OPEN};
use crate::config::{self, BaseUrl, ConfigError, Pipeline};
use crate::dead_letter::{DeadLetterError, DeadLetterWriter};
use crate::encode;
use crate::mapping::{Mapper, MappingError};
use crate::row::{Input, Rejection, SourceRow};
use crate::schema::{self, ObjectSchema, SchemaError};
use crate::secret::Secret;
use crate::source::{self, Source, SourceError};
use crate::validate::{ValidateError, Validator, Violation};

/// Events per channel: enough to keep the consumer busy, small enough to keep memory flat.
pub const EVENT_CAPACITY: usize = 32;

/// What the preparing thread sends.
#[derive(Debug)]
pub enum Prepared {
    Batch(Batch),
    Rejected(Rejection),
}

/// How a run prepares.
pub struct PrepareOptions {
    /// Rows already finished (resume): read, counted as skipped, not sent.
    pub skip: Option<Box<dyn Fn(u64) -> bool + Send>>,
    /// Set on Ctrl-C: stop reading; rows read so far are still batched and sent.
    pub stop: Arc<AtomicBool>,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        PrepareOptions {
            skip: None,
            stop: Arc::new(AtomicBool::new(false)),
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
    /// Batches and rejections, in order.
    pub events: mpsc::Receiver<Prepared>,
    /// Resolves once the thread is done (after the last event was sent).
    pub done: oneshot::Receiver<PrepareOutcome>,
}

/// Why preparing (or `etl validate`) cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error(transparent)]
    Validate(#[from] ValidateError),
    #[error("cannot fetch the property schema: {0}")]
    Schema(#[from] SchemaError),
    #[error(transparent)]
    DeadLetter(#[from] DeadLetterError),
    #[error("cannot start the embedded sandbox: {0}")]
    Sandbox(String),
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
        let validator = Validator::new(pipeline, schema, &mapper, header)?;
        Ok(Preparer {
            mapper,
            validator,
            violations: Vec::new(),
        })
    }

    /// One row to an input, or to its rejection.
    pub fn prepare(&mut self, row: SourceRow) -> Result<Input, Rejection> {
        self.violations.clear();
        let properties = self.mapper.map(&row, &mut self.violations);
        self.validator.check(row, properties, &mut self.violations)
    }
}

/// Opens the source, checks the pipeline against it and the schema (fatal errors here, before any row
/// is read), then prepares rows on a dedicated thread.
pub fn spawn(
    pipeline: &Pipeline,
    schema: ObjectSchema,
    options: PrepareOptions,
) -> Result<PrepareHandle, PrepareError> {
    let mut source = source::open(&pipeline.source)?;
    let header = source.header().to_vec();
    let mut preparer = Preparer::new(pipeline, &schema, &header)?;
    let batch_size = pipeline.dispatch.batch_size;
    let (tx, events) = mpsc::channel(EVENT_CAPACITY);
    let (done_tx, done) = oneshot::channel();
    std::thread::Builder::new()
        .name("etl-prepare".into())
        .spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                run(&mut source, &mut preparer, batch_size, &options, &tx)
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
        events,
        done,
    })
}

/// The loop of the prepare thread.
fn run(
    source: &mut Source,
    preparer: &mut Preparer,
    batch_size: usize,
    options: &PrepareOptions,
    tx: &mpsc::Sender<Prepared>,
) -> PrepareOutcome {
    let mut totals = PrepareTotals::default();
    let mut batcher = Batcher::new(batch_size, DEFAULT_MAX_OPEN);
    let mut ready: Vec<Batch> = Vec::new();
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
        let prepared = match item {
            Ok(row) => preparer.prepare(row),
            Err(rejection) => Err(rejection),
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
    PrepareOutcome {
        totals,
        error: source.take_error().map(PrepareError::from),
    }
}

/// Flags of `etl validate` that change the run.
#[derive(Debug, Clone, Default)]
pub struct ValidateOptions {
    /// Read this file instead of `[source] path` (e.g. a dead-letter CSV of a Parquet pipeline).
    pub source: Option<PathBuf>,
    /// Fetch the schema from this API instead of the pipeline's `base_url`.
    pub base_url: Option<String>,
}

/// What `etl validate` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidateSummary {
    pub rows_read: u64,
    pub valid: u64,
    pub invalid: u64,
    /// Invalid rows by category (`INVALID_EMAIL`, `UNREADABLE_ROW`, …).
    pub by_category: BTreeMap<String, u64>,
    /// Batch requests the valid rows would take.
    pub batches: u64,
    /// Where the invalid rows were written (none when every row is valid).
    pub dead_letter: Option<PathBuf>,
}

impl fmt::Display for ValidateSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rows read: {}", self.rows_read)?;
        writeln!(
            f,
            "valid:     {} (in {} batch requests)",
            self.valid, self.batches
        )?;
        write!(f, "invalid:   {}", self.invalid)?;
        for (category, n) in &self.by_category {
            write!(f, "\n  {category}: {n}")?;
        }
        if let Some(path) = &self.dead_letter {
            write!(f, "\ninvalid rows written to {}", path.display())?;
        }
        Ok(())
    }
}

/// Runs `etl validate`: load the pipeline, fetch the target's schema, map and validate every row
/// without sending writes, and write the invalid rows to the dead-letter file.
pub async fn validate(
    pipeline: &Path,
    options: &ValidateOptions,
) -> Result<ValidateSummary, PrepareError> {
    let mut pipeline = config::load(pipeline)?;
    if let Some(path) = &options.source {
        pipeline = pipeline.with_source(path)?;
    }
    if let Some(base_url) = &options.base_url {
        pipeline = pipeline.with_base_url(base_url)?;
    }
    let token = pipeline.token()?;
    validate_pipeline(&pipeline, token).await
}

/// [`validate`] for a loaded pipeline and token (tests pass the token without touching the environment).
pub async fn validate_pipeline(
    pipeline: &Pipeline,
    token: Option<Secret>,
) -> Result<ValidateSummary, PrepareError> {
    let schema = fetch_schema(pipeline, token.as_ref()).await?;
    let handle = spawn(pipeline, schema, PrepareOptions::default())?;
    let PrepareHandle {
        header,
        mut events,
        done,
    } = handle;
    let mut summary = ValidateSummary::default();
    let mut dead_letter: Option<DeadLetterWriter> = None;
    let mut body = Vec::new();
    let (op, id_property) = (
        pipeline.target.operation,
        pipeline.target.id_property.as_deref(),
    );
    while let Some(event) = events.recv().await {
        match event {
            Prepared::Batch(batch) => {
                summary.batches += 1;
                summary.valid += batch.inputs.len() as u64;
                // Build the request body as `etl run` would, to prove every input encodes.
                body.clear();
                encode::write_body(&mut body, op, id_property, &batch.inputs);
            }
            Prepared::Rejected(rejection) => {
                summary.invalid += 1;
                *summary
                    .by_category
                    .entry(rejection.category.clone())
                    .or_default() += 1;
                let writer = match &mut dead_letter {
                    Some(w) => w,
                    None => dead_letter.insert(DeadLetterWriter::create(
                        &pipeline.dead_letter.path,
                        &header,
                        pipeline.dead_letter.delimiter,
                    )?),
                };
                writer.write(&rejection)?;
            }
        }
    }
    if let Some(writer) = &mut dead_letter {
        writer.flush()?;
        summary.dead_letter = Some(writer.path().to_path_buf());
    }
    let outcome = done
        .await
        .map_err(|_| PrepareError::Thread("ended without a result".into()))?;
    if let Some(error) = outcome.error {
        return Err(error);
    }
    summary.rows_read = outcome.totals.rows_read;
    debug_assert_eq!(summary.rows_read, summary.valid + summary.invalid);
    Ok(summary)
}

/// The target's schema: from the embedded sandbox or the configured URL.
async fn fetch_schema(
    pipeline: &Pipeline,
    token: Option<&Secret>,
) -> Result<ObjectSchema, PrepareError> {
    let client = reqwest::Client::builder()
        .timeout(pipeline.dispatch.request_timeout)
        .build()
        .map_err(|e| SchemaError::Connect {
            url: "(client)".into(),
            reason: e.to_string(),
        })?;
    match &pipeline.target.base_url {
        BaseUrl::Url(url) => Ok(schema::fetch(&client, url, &pipeline.target.object, token).await?),
        BaseUrl::Sandbox => {
            // The embedded sandbox lives only for this fetch. It accepts any non-empty token, so a
            // placeholder stands in when none is set.
            let sandbox = crate::sandbox::start(crate::sandbox::SandboxConfig::default())
                .await
                .map_err(|e| PrepareError::Sandbox(e.to_string()))?;
            let placeholder = Secret::new("sandbox");
            let result = schema::fetch(
                &client,
                &sandbox.base_url(),
                &pipeline.target.object,
                Some(token.unwrap_or(&placeholder)),
            )
            .await;
            sandbox.shutdown().await;
            Ok(result?)
        }
    }
}
