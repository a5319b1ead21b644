//! The sequential tail of the prepare thread: prepared rows, in file order, through the `[sync]`
//! filter and the batcher into the bounded channel. It stays on one thread, row after row, because
//! what it decides depends on the rows before (the batcher's per-key order, the filter's keys).
//! Also the words it speaks: the filter's verdicts, the counts.

use std::sync::Arc;

use super::batch::{Batch, Batcher, DEFAULT_MAX_OPEN};
use super::events::{self, Prepared};
use super::row::{BatchKey, Input, Rejection};

/// What a [`RowFilter`] makes of a valid row.
// An input is large (its field ends and values held inline) and boxing it would cost each row the
// allocation that inline storage saves; a `Sorted` lives for one call.
#[allow(clippy::large_enum_variant)]
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
    /// A row's key as its hash ([`BatchKey::exact`] of the key), `None` when it has none that can
    /// be read (a ragged row, an empty key). In file order, except that the rows of a chunk the
    /// [`Screen`] found unchanged come first.
    fn seen(&mut self, key: Option<BatchKey>);
    /// The part of [`RowFilter::sort`] that depends on the row alone, for the prepare workers to
    /// ask ahead of it, many rows at once and in any order; `None` when there is none.
    fn screen(&self) -> Option<Arc<dyn Screen>> {
        None
    }
}

/// Which valid rows are [`Sorted::Unchanged`], found by the prepare workers where the rows are
/// mapped: a verdict that needs nothing from the rows before (a `[sync]` state lookup), so the
/// workers share it out, and an unchanged row is dropped where it was made. Rows it does not find
/// unchanged still go through [`RowFilter::sort`], in order.
pub trait Screen: Send + Sync {
    /// For each of `inputs` (the valid rows of one chunk, on one worker), whether it is unchanged:
    /// then it is counted, and neither sent nor shown to `sort`.
    fn unchanged(&self, inputs: &[&Input]) -> Vec<bool>;
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

/// A row after mapping and validation: its input or rejection, and a rejected row's `[sync]` key
/// (only looked for when a filter wants it; a valid row's is its input's `sync.key`).
pub(super) type Mapped = (Result<Input, Rejection>, Option<String>);

/// A chunk of rows as a worker hands it on: the rows in file order, and the keys (hashed) of the
/// rows the filter's [`Screen`] found unchanged (dropped on the worker, strings and all: only
/// counted and seen here).
#[derive(Debug, Default)]
pub(super) struct MappedChunk {
    pub(super) rows: Vec<Mapped>,
    pub(super) unchanged: Vec<Option<BatchKey>>,
}

/// Unchanged rows are told in bunches of this many (progress shows them; nothing else waits).
const UNCHANGED_BUNCH: u64 = 4096;

/// Where prepared rows go, in file order.
pub(super) struct Delivery<'a> {
    batcher: Batcher,
    ready: Vec<Batch>,
    filter: Option<&'a mut Box<dyn RowFilter>>,
    tx: &'a events::Sender,
    /// Events of the chunk being delivered, sent together at its end.
    bundle: Vec<Prepared>,
    /// Once the receiver is gone nobody listens: the reader stops, rows still count.
    listening: bool,
    unchanged: u64,
    /// What was delivered (`inputs`, `rejected`, `unchanged`, `batches`; reading counts the rest).
    pub(super) totals: PrepareTotals,
}

impl<'a> Delivery<'a> {
    pub(super) fn new(
        batch_size: usize,
        filter: Option<&'a mut Box<dyn RowFilter>>,
        tx: &'a events::Sender,
    ) -> Delivery<'a> {
        Delivery {
            batcher: Batcher::new(batch_size, DEFAULT_MAX_OPEN),
            ready: Vec::new(),
            filter,
            tx,
            bundle: Vec::new(),
            listening: true,
            unchanged: 0,
            totals: PrepareTotals::default(),
        }
    }

    /// Whether anyone still receives the events.
    pub(super) fn listening(&self) -> bool {
        self.listening
    }

    fn send(&mut self, event: Prepared) {
        if self.listening {
            self.bundle.push(event);
        }
    }

    /// Sends the events gathered since the last time, if any.
    fn flush(&mut self) {
        if self.bundle.is_empty() {
            return;
        }
        let bundle = std::mem::take(&mut self.bundle);
        if self.tx.blocking_send(bundle).is_err() {
            self.listening = false;
        }
    }

    /// Delivers a chunk of prepared rows, in order; their events are sent together at the end.
    pub(super) fn deliver(&mut self, chunk: MappedChunk) {
        for key in chunk.unchanged {
            if let Some(filter) = &mut self.filter {
                filter.seen(key);
            }
            self.count_unchanged();
        }
        for mapped in chunk.rows {
            self.one(mapped);
        }
        self.send_ready();
        self.flush();
    }

    fn one(&mut self, (prepared, key): Mapped) {
        let prepared = match &mut self.filter {
            Some(filter) => {
                let key = match &prepared {
                    Ok(input) => input.sync.as_ref().map(|sync| sync.key.as_str()),
                    Err(_) => key.as_deref(),
                };
                filter.seen(key.map(BatchKey::exact));
                match prepared.map(|input| filter.sort(input)) {
                    Ok(Sorted::Send(input)) => Ok(input),
                    Ok(Sorted::Unchanged) => {
                        self.count_unchanged();
                        return;
                    }
                    Ok(Sorted::Reject(rejection)) | Err(rejection) => Err(rejection),
                }
            }
            None => prepared,
        };
        match prepared {
            Ok(input) => {
                self.totals.inputs += 1;
                let ready = &mut self.ready;
                self.batcher.push(input, |b| ready.push(b));
            }
            Err(rejection) => {
                self.totals.rejected += 1;
                self.send(Prepared::Rejected(rejection));
            }
        }
    }

    fn count_unchanged(&mut self) {
        self.totals.unchanged += 1;
        self.unchanged += 1;
        if self.unchanged == UNCHANGED_BUNCH {
            self.send(Prepared::Unchanged(self.unchanged));
            self.unchanged = 0;
        }
    }

    fn send_ready(&mut self) {
        // Taken out and put back so its room is reused and `send` may borrow `self`.
        let mut ready = std::mem::take(&mut self.ready);
        for batch in ready.drain(..) {
            self.totals.batches += 1;
            self.send(Prepared::Batch(batch));
        }
        self.ready = ready;
    }

    /// Flushes the open batches and the unchanged count; returns what was delivered.
    pub(super) fn finish(mut self) -> PrepareTotals {
        let ready = &mut self.ready;
        self.batcher.finish(|b| ready.push(b));
        self.send_ready();
        if self.unchanged > 0 {
            self.send(Prepared::Unchanged(self.unchanged));
        }
        self.flush();
        self.totals
    }
}
