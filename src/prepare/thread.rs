//! The prepare thread: source → mapping → validation → batcher off the async runtime, sending
//! [`Prepared`] events into a bounded channel so back-pressure from the consumer reaches the reader.
//!
//! Rows go a chunk at a time: this thread reads a chunk (of a CSV file, a block of whole records cut
//! without parsing them: the worker parses it; of a Parquet file, a slice of a decoded batch: the
//! worker renders its values as text) and hands it to a worker of the job's pool
//! (`workers`) to map and validate, keeping a chunk in flight per worker and one more, and
//! delivers the chunks as they come back, in file order, through the `[sync]` filter and the
//! batcher (`delivery`); a chunk's events reach the consumer together (`events`). What the filter
//! can tell from a row alone (`[sync]`'s unchanged rows: its `Screen`) the workers ask as they map.
//! Output is the same whatever the number of workers.
//!
//! Conservation: every row read ends exactly once as a batch input, a rejection, an unchanged row
//! (`[sync]`) or a skipped row (`rows_read == inputs + rejected + unchanged + rows_skipped`), also
//! when reading stops early.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::ops::RangeInclusive;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::thread;

use tokio::sync::oneshot;

use super::delivery::{Delivery, Mapped, MappedChunk, PrepareTotals, RowFilter, Screen};
use super::events::{self, Events};
use super::mapping::{Mapper, MappingError};
use super::row::{BatchKey, Input, Rejection, SourceRow};
use super::rules::RulesReport;
use super::source::{self, Block, Extent, Piece, Slice, Source, SourceError};
use super::validate::{ValidateError, Validator};
use super::workers::{CHUNK_BYTES, CHUNK_ROWS, Workers};
use crate::config::Pipeline;
use crate::portal::schema::ObjectSchema;

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
    pub events: Events,
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

/// The per-row CPU path: map then validate. Used by the thread's workers (shared: it holds no
/// per-row state) and by benchmarks.
pub struct Preparer {
    mapper: Mapper,
    validator: Validator,
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
        Ok(Preparer { mapper, validator })
    }

    /// One row to an input, or to its rejection.
    pub fn prepare(&self, row: SourceRow) -> Result<Input, Rejection> {
        self.prepare_keyed(row, false).0
    }

    /// [`Preparer::prepare`] of a row as read (an unreadable one stays rejected), with an invalid
    /// row's `[sync]` key when `keyed` (a filter wants it; a valid row's is in its input).
    fn prepare_read(&self, item: Result<SourceRow, Rejection>, keyed: bool) -> Mapped {
        match item {
            Ok(row) => self.prepare_keyed(row, keyed),
            Err(rejection) => (Err(rejection), None),
        }
    }

    fn prepare_keyed(&self, row: SourceRow, keyed: bool) -> Mapped {
        // Empty until a row breaks a rule: no allocation for a valid row.
        let mut violations = Vec::new();
        let properties = self.mapper.map(&row, &mut violations);
        self.validator
            .check_keyed(row, properties, &mut violations, keyed)
    }
}

/// A source opened and a pipeline checked against it and the schema, not yet read: every fatal
/// mistake of the pipeline (a missing column, an unknown property) is found before anything is
/// written or sent.
pub struct Opened {
    source: Source,
    preparer: Preparer,
    batch_size: usize,
    threads: Option<NonZeroUsize>,
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
        threads: pipeline.source.prepare_threads,
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
            preparer,
            batch_size,
            threads,
        } = self;
        let workers = Workers::new(threads).map_err(|e| PrepareError::Thread(e.to_string()))?;
        let header = source.header().to_vec();
        let replay = source.is_replay();
        let extent = Arc::clone(source.extent());
        let rules = preparer.validator.rules_report().clone();
        let mut options = options;
        let (tx, events) = events::channel();
        let (done_tx, done) = oneshot::channel();
        std::thread::Builder::new()
            .name("etl-prepare".into())
            .spawn(move || {
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    run(
                        &workers,
                        &mut source,
                        &preparer,
                        batch_size,
                        &mut options,
                        &tx,
                    )
                }))
                .unwrap_or_else(|panic| PrepareOutcome {
                    totals: PrepareTotals::default(),
                    error: Some(PrepareError::Thread(format!(
                        "panicked: {}",
                        panic_text(&*panic)
                    ))),
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

/// What a panic said (its message, when it was given one), to report it as an error.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

/// The loop of the prepare thread: it reads chunks and hands each whole to a worker to map and
/// validate, and delivers the mapped chunks in file order as they come back, while the workers go
/// on with the next ones. No stage waits for the others at a chunk's end: with chunks in flight on
/// every worker, the pool stays busy while this thread reads and delivers (a step in lockstep,
/// every stage waiting for the slowest at each chunk, kept two cores 1.6 busy). A chunk stays on
/// the worker that maps it, so its rows are mapped where they are in cache.
///
/// Delivering waits whenever the channel is full (the network is slower than preparing); on its
/// own thread that wait never holds a worker.
fn run(
    workers: &Workers,
    source: &mut Source,
    preparer: &Preparer,
    batch_size: usize,
    options: &mut PrepareOptions,
    tx: &events::Sender,
) -> PrepareOutcome {
    let PrepareOptions { skip, stop, filter } = options;
    let keyed = filter.is_some();
    let screen = filter.as_ref().and_then(|filter| filter.screen());
    let screen = screen.as_deref();
    let mut reading = Reading {
        source,
        skip,
        stop,
        totals: PrepareTotals::default(),
        ended: false,
        held: None,
    };
    let mut delivery = Delivery::new(batch_size, filter.as_mut(), tx);
    // Enough to keep every worker busy while one chunk waits to be delivered, few enough that
    // memory stays a few chunks whatever the file.
    let most_in_flight = workers.threads() + 1;
    let (done_tx, done_rx) = std_mpsc::channel::<(u64, thread::Result<MappedChunk>)>();
    workers.scope(|scope| {
        let mut in_order = InOrder::default();
        loop {
            if !delivery.listening() {
                reading.ended = true;
            }
            while in_order.in_flight() < most_in_flight {
                let chunk = reading.chunk();
                if chunk.is_empty() {
                    break;
                }
                let seq = in_order.number_next();
                let done_tx = done_tx.clone();
                scope.spawn(move |_| {
                    let mapped = catch_unwind(AssertUnwindSafe(|| {
                        let mut rows: Vec<Mapped> = Vec::with_capacity(chunk.len());
                        chunk.read_each(|item| rows.push(preparer.prepare_read(item, keyed)));
                        let unchanged = match screen {
                            Some(screen) => screen_out(screen, &mut rows),
                            None => Vec::new(),
                        };
                        MappedChunk { rows, unchanged }
                    }));
                    // The receiver outlives the scope: a send fails only once nothing waits.
                    let _ = done_tx.send((seq, mapped));
                });
            }
            if in_order.in_flight() == 0 {
                break;
            }
            let (seq, mapped) = done_rx.recv().expect("the loop holds a sender");
            // A worker's panic ends preparing as a panic of this thread (reported as such).
            let mapped = mapped.unwrap_or_else(|panic| resume_unwind(panic));
            for chunk in in_order.arrived(seq, mapped) {
                delivery.deliver(chunk);
            }
        }
    });
    let delivered = delivery.finish();
    let read = reading.totals;
    PrepareOutcome {
        totals: PrepareTotals {
            rows_read: read.rows_read,
            rows_skipped: read.rows_skipped,
            stopped: read.stopped,
            ..delivered
        },
        error: reading.source.take_error().map(PrepareError::from),
    }
}

/// Takes the rows `screen` finds unchanged out of a chunk, dropping them on the worker that made
/// them; their keys' hashes, in order (a key's string is freed where it was made, and hashed on a
/// worker rather than on the prepare thread).
fn screen_out(screen: &dyn Screen, rows: &mut Vec<Mapped>) -> Vec<Option<BatchKey>> {
    let valid: Vec<&Input> = rows
        .iter()
        .filter_map(|(prepared, _)| prepared.as_ref().ok())
        .collect();
    let mut unchanged = screen.unchanged(&valid).into_iter();
    rows.extract_if(.., |(prepared, _)| {
        prepared.is_ok() && unchanged.next() == Some(true)
    })
    .map(|(prepared, _)| {
        prepared
            .ok()
            .and_then(|input| input.sync)
            .map(|sync| BatchKey::exact(&sync.key))
    })
    .collect()
}

/// Chunks put back in file order: numbered as sent to the workers, handed on once every chunk
/// before them has been.
#[derive(Default)]
struct InOrder {
    /// Chunks sent.
    sent: u64,
    /// The number of the next chunk to hand on.
    next: u64,
    /// Chunks back before their turn, by number.
    waiting: BTreeMap<u64, MappedChunk>,
}

impl InOrder {
    /// The number of the chunk about to be sent.
    fn number_next(&mut self) -> u64 {
        self.sent += 1;
        self.sent - 1
    }

    /// Chunks sent and not yet handed on.
    fn in_flight(&self) -> usize {
        (self.sent - self.next) as usize
    }

    /// Chunk `seq` is back: the chunks now in turn, in order.
    fn arrived(&mut self, seq: u64, mapped: MappedChunk) -> Vec<MappedChunk> {
        self.waiting.insert(seq, mapped);
        let mut ready = Vec::new();
        while let Some(chunk) = self.waiting.remove(&self.next) {
            ready.push(chunk);
            self.next += 1;
        }
        ready
    }
}

/// What a worker is handed: rows read, or a block of a CSV file's records or a slice of a Parquet
/// file's decoded rows to read first.
enum Chunk {
    Rows(Vec<Result<SourceRow, Rejection>>),
    /// A block, and the numbers of its rows to leave out (done before: `--resume`), in order.
    Block(Block, Vec<u64>),
    /// A slice, and the numbers of its rows to leave out, in order.
    Slice(Slice, Vec<u64>),
}

impl Chunk {
    fn is_empty(&self) -> bool {
        matches!(self, Chunk::Rows(rows) if rows.is_empty())
    }

    /// Rows in it (less any left out).
    fn len(&self) -> usize {
        match self {
            Chunk::Rows(rows) => rows.len(),
            Chunk::Block(block, skipped) => block.records() as usize - skipped.len(),
            Chunk::Slice(slice, skipped) => slice.records() as usize - skipped.len(),
        }
    }

    /// Hands on its rows, read (on the worker that maps them), in order.
    fn read_each(self, each: impl FnMut(Result<SourceRow, Rejection>)) {
        let left_out = |skipped: &[u64], row: &Result<SourceRow, Rejection>| {
            !skipped.is_empty() && skipped.binary_search(&source::row_number(row)).is_ok()
        };
        match self {
            Chunk::Rows(rows) => rows.into_iter().for_each(each),
            Chunk::Block(block, skipped) => block
                .into_rows()
                .filter(|row| !left_out(&skipped, row))
                .for_each(each),
            Chunk::Slice(slice, skipped) => slice
                .into_rows()
                .filter(|row| !left_out(&skipped, row))
                .for_each(each),
        }
    }
}

/// The reading stage: rows as read (or blocks of them), skipped ones counted and left out.
struct Reading<'a> {
    source: &'a mut Source,
    skip: &'a mut Option<Box<dyn Fn(u64) -> bool + Send>>,
    stop: &'a AtomicBool,
    /// `rows_read`, `rows_skipped`, `stopped`.
    totals: PrepareTotals,
    /// The file ended, the stop flag was seen, or nobody listens any more.
    ended: bool,
    /// A block or a slice read after rows: the next chunk.
    held: Option<Chunk>,
}

impl Reading<'_> {
    /// A block of a CSV file's records (see [`Block`]) or a slice of a Parquet file's (see
    /// [`Slice`]), or up to [`CHUNK_ROWS`] rows or [`CHUNK_BYTES`] of fields read one by one (a
    /// record too long for a block); empty once reading has ended.
    fn chunk(&mut self) -> Chunk {
        if let Some(held) = self.held.take() {
            return held;
        }
        let mut rows = Vec::new();
        let mut bytes = 0;
        while !self.ended && rows.len() < CHUNK_ROWS && bytes < CHUNK_BYTES {
            if self.stop.load(Ordering::Relaxed) {
                self.totals.stopped = true;
                self.ended = true;
                break;
            }
            let whole = match self.source.next_piece() {
                None => {
                    self.ended = true;
                    break;
                }
                Some(Piece::Row(item)) => {
                    if rows.is_empty() {
                        rows.reserve(CHUNK_ROWS);
                    }
                    self.one_row(item, &mut rows, &mut bytes);
                    continue;
                }
                Some(Piece::Block(block)) => {
                    let skipped = self.whole(block.rows(), block.records());
                    skipped.map(|skipped| Chunk::Block(block, skipped))
                }
                Some(Piece::Slice(slice)) => {
                    let skipped = self.whole(slice.rows(), slice.records());
                    skipped.map(|skipped| Chunk::Slice(slice, skipped))
                }
            };
            let Some(whole) = whole else {
                continue;
            };
            if rows.is_empty() {
                return whole;
            }
            self.held = Some(whole);
            break;
        }
        Chunk::Rows(rows)
    }

    /// A row read on its own counted as read, and kept unless it was done before.
    fn one_row(
        &mut self,
        item: Result<SourceRow, Rejection>,
        rows: &mut Vec<Result<SourceRow, Rejection>>,
        bytes: &mut usize,
    ) {
        self.totals.rows_read += 1;
        let (row, fields) = match &item {
            Ok(r) => (r.row, &r.fields),
            Err(r) => (r.row, &r.fields),
        };
        if self.skip.as_ref().is_some_and(|skip| skip(row)) {
            self.totals.rows_skipped += 1;
            return;
        }
        // Skipped rows count for nothing: a chunk ends empty only where reading ends.
        *bytes += fields.text_len();
        rows.push(item);
    }

    /// A block's or a slice's rows (`rows`, `records` of them) counted as read, and those done
    /// before as skipped: their numbers, or `None` when that is all of them (it need not be read).
    fn whole(&mut self, rows: RangeInclusive<u64>, records: u64) -> Option<Vec<u64>> {
        self.totals.rows_read += records;
        let skipped: Vec<u64> = match self.skip {
            Some(skip) => rows.filter(|&row| skip(row)).collect(),
            None => Vec::new(),
        };
        self.totals.rows_skipped += skipped.len() as u64;
        ((skipped.len() as u64) < records).then_some(skipped)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::SourceSpec;
    use crate::prepare::row::{Fields, RejectStatus};

    /// The chunk sizes `Reading` gives for a CSV of `rows` rows with a `width`-byte field, skipping
    /// the rows `skip` names.
    fn chunk_sizes(rows: usize, width: usize, skip: fn(u64) -> bool) -> Vec<usize> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wide.csv");
        let mut csv = String::from("Email,Note\n");
        for i in 0..rows {
            csv.push_str(&format!("user{i}@example.com,{}\n", "n".repeat(width)));
        }
        std::fs::write(&path, csv).unwrap();
        let mut source =
            source::open(&SourceSpec::from_flag("--source", Path::new(&path)).unwrap()).unwrap();
        let mut skip: Option<Box<dyn Fn(u64) -> bool + Send>> = Some(Box::new(skip));
        let stop = AtomicBool::new(false);
        let mut reading = Reading {
            source: &mut source,
            skip: &mut skip,
            stop: &stop,
            totals: PrepareTotals::default(),
            ended: false,
            held: None,
        };
        let mut sizes = Vec::new();
        loop {
            let chunk = reading.chunk();
            if chunk.is_empty() {
                break;
            }
            sizes.push(chunk.len());
        }
        assert_eq!(reading.totals.rows_read, rows as u64);
        sizes
    }

    #[test]
    fn chunks_are_handed_on_in_the_order_they_were_sent_whatever_order_they_come_back() {
        let chunk = |row: u64| {
            let rejection = Rejection {
                row,
                origin: None,
                fields: Fields::default(),
                status: RejectStatus::Invalid,
                category: String::new(),
                message: String::new(),
            };
            MappedChunk {
                rows: vec![(Err(rejection), None)],
                unchanged: Vec::new(),
            }
        };
        let rows = |chunks: Vec<MappedChunk>| -> Vec<u64> {
            chunks
                .iter()
                .flat_map(|chunk| &chunk.rows)
                .map(|(mapped, _)| mapped.as_ref().unwrap_err().row)
                .collect()
        };
        let mut in_order = InOrder::default();
        let sent: Vec<u64> = (0..4).map(|_| in_order.number_next()).collect();
        assert_eq!(sent, [0, 1, 2, 3]);
        assert_eq!(in_order.in_flight(), 4);
        assert_eq!(rows(in_order.arrived(2, chunk(2))), [] as [u64; 0]);
        assert_eq!(rows(in_order.arrived(0, chunk(0))), [0]);
        assert_eq!(rows(in_order.arrived(3, chunk(3))), [] as [u64; 0]);
        assert_eq!(in_order.in_flight(), 3);
        assert_eq!(rows(in_order.arrived(1, chunk(1))), [1, 2, 3]);
        assert_eq!(in_order.in_flight(), 0);
    }

    #[test]
    fn chunks_end_at_their_row_count_or_their_bytes_whichever_comes_first() {
        let narrow = chunk_sizes(CHUNK_ROWS * 2 + 5, 10, |_| false);
        assert_eq!(narrow, [CHUNK_ROWS, CHUNK_ROWS, 5]);
        // A row of ≈ 1 KB: a block of the file holds CHUNK_BYTES at most.
        let wide = chunk_sizes(1000, 1000, |_| false);
        // A row in the file: the note, an email of 16 to 19 bytes, a comma and a line end.
        let fewest = CHUNK_BYTES / (1000 + 19 + 2);
        let most = CHUNK_BYTES / (1000 + 16 + 2);
        assert!(wide.len() > 1, "{wide:?}");
        assert!((fewest..=most).contains(&wide[0]), "{wide:?}");
        assert_eq!(wide.iter().sum::<usize>(), 1000);
    }

    #[test]
    fn skipped_rows_never_end_a_chunk_empty_before_the_file_ends() {
        // Resume: the first 3,000 wide rows were done; the rest still come through.
        let sizes = chunk_sizes(3500, 1000, |row| row <= 3000);
        assert_eq!(sizes.iter().sum::<usize>(), 500, "{sizes:?}");
    }
}
