//! The fate of rows, as the dispatcher learns it, and the one writer that records each fate:
//! accepted rows in the checkpoint journal, rejected rows in the dead-letter file, everything in
//! the counters.
//!
//! Bookkeeping failures stop the sending: the first dead letter, journal commit or flush that
//! fails raises the halt flag (nothing new is sent), and from then on the rows whose fate cannot
//! be recorded count as unfinished, so `--resume` redoes them once the disk is fixed.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::checkpoint::Checkpoint;
use super::dead_letter::DeadLetterWriter;
use super::report::Counters;
use super::state::Change;
use crate::portal::halt::{Halt, HaltFlag};
use crate::prepare::row::Rejection;

/// The fate of rows, sent to the outcome writer as soon as it is known.
#[derive(Debug)]
pub enum Outcome {
    Accepted {
        rows: Vec<u64>,
        created: u64,
        updated: u64,
        archived: u64,
        /// What `[sync]` learns from these rows (their keys' new hashes and record ids).
        changes: Vec<Change>,
    },
    Rejected(Rejection),
    /// `[sync]` keys whose creates may have landed (their rows are dead-lettered `AMBIGUOUS`):
    /// later runs must not create them blindly.
    Doubt(Vec<Change>),
    /// Read but not finished because the run stopped early (daily limit, interrupt, fatal).
    Unfinished(Vec<u64>),
}

/// Where the fates go.
pub struct Recorder {
    pub dead_letters: DeadLetterWriter,
    pub checkpoint: Arc<Checkpoint>,
    pub counters: Arc<Counters>,
    pub halt: Arc<HaltFlag>,
}

/// Writes each outcome as it arrives: dead letters to the file (flushed and synced often, so an
/// interrupted run loses nothing), accepted rows to the journal, counts to the counters. Ends when
/// every sender is gone, after a last flush; the journal's last commit is [`Sinks::close`].
pub async fn write_outcomes(mut outcomes: mpsc::Receiver<Outcome>, recorder: Recorder) -> Sinks {
    let mut sinks = Sinks {
        recorder,
        journal_broken: false,
        dead_letters_broken: false,
    };
    let mut last_flush = Instant::now();
    while let Some(outcome) = outcomes.recv().await {
        sinks.record(outcome);
        // Only dead letters need flushing here (the journal commits on its own clock): with none
        // written since the last flush there is nothing to lose, so no fdatasync. A sync after
        // every accepted batch blocked a runtime worker once per request (it showed in the
        // profile). The header goes out with the first dead letter, or at the last flush.
        let due = last_flush.elapsed() > Duration::from_millis(200) || outcomes.is_empty();
        if due && sinks.recorder.dead_letters.unflushed() > 0 {
            sinks.flush();
            last_flush = Instant::now();
        }
    }
    sinks.flush();
    sinks
}

/// The recorder, and which of its files could not be written.
pub struct Sinks {
    recorder: Recorder,
    journal_broken: bool,
    dead_letters_broken: bool,
}

impl Sinks {
    fn record(&mut self, outcome: Outcome) {
        let counters = Arc::clone(&self.recorder.counters);
        match outcome {
            Outcome::Accepted {
                rows,
                created,
                updated,
                archived,
                changes,
            } => {
                if self.journal_broken {
                    Counters::add(&counters.unfinished, rows.len() as u64);
                    return;
                }
                let n = rows.len() as u64;
                // Committed with the rows (record_accepted may commit).
                self.recorder.checkpoint.record_state(changes);
                match self
                    .recorder
                    .checkpoint
                    .record_accepted(&rows, created, updated, archived)
                {
                    Ok(()) => {
                        Counters::add(&counters.accepted, n);
                        Counters::add(&counters.created, created);
                        Counters::add(&counters.updated, updated);
                        Counters::add(&counters.archived, archived);
                    }
                    Err(err) => {
                        // These rows and every uncommitted one before them are not durable.
                        let (lost, totals) = self.recorder.checkpoint.uncommitted();
                        let earlier = lost - n;
                        counters.accepted.fetch_sub(earlier, Relaxed);
                        counters
                            .created
                            .fetch_sub(totals.created - created, Relaxed);
                        counters
                            .updated
                            .fetch_sub(totals.updated - updated, Relaxed);
                        counters
                            .archived
                            .fetch_sub(totals.archived - archived, Relaxed);
                        Counters::add(&counters.unfinished, lost);
                        self.journal_broken = true;
                        self.fail(err.to_string());
                    }
                }
            }
            Outcome::Rejected(rejection) => {
                if self.dead_letters_broken {
                    Counters::add(&counters.unfinished, 1);
                    return;
                }
                match self.recorder.dead_letters.write(&rejection) {
                    Ok(()) => Counters::add(&counters.dead_lettered, 1),
                    Err(err) => {
                        // This row is counted in `unflushed` already.
                        let lost = self.recorder.dead_letters.unflushed();
                        counters.dead_lettered.fetch_sub(lost - 1, Relaxed);
                        Counters::add(&counters.unfinished, lost);
                        self.dead_letters_broken = true;
                        self.fail(err.to_string());
                    }
                }
            }
            Outcome::Unfinished(rows) => Counters::add(&counters.unfinished, rows.len() as u64),
            Outcome::Doubt(changes) => {
                if !self.journal_broken {
                    self.recorder.checkpoint.record_state(changes);
                }
            }
        }
    }

    fn flush(&mut self) {
        if self.dead_letters_broken {
            return;
        }
        if let Err(err) = self.recorder.dead_letters.flush() {
            let counters = &self.recorder.counters;
            let lost = self.recorder.dead_letters.unflushed();
            counters.dead_lettered.fetch_sub(lost, Relaxed);
            Counters::add(&counters.unfinished, lost);
            self.dead_letters_broken = true;
            self.fail(err.to_string());
        }
    }

    /// The first failure stops the sending; the run ends fatal, and resumable once fixed.
    fn fail(&self, reason: String) {
        fail(&self.recorder.halt, reason);
    }
}

fn fail(halt: &HaltFlag, reason: String) {
    tracing::error!(%reason, "cannot record the fate of rows: stopping");
    halt.raise(Halt::Failed(reason));
}

impl Sinks {
    /// Commits the journal at the end of a run, with the run's request counters `(requests,
    /// retries, rate_limited)`; marked complete when the whole input went through. When the
    /// commit fails, the rows it would have made durable count as unfinished and the run ends
    /// fatal.
    pub fn close(mut self, requests: (u64, u64, u64), completed: bool) {
        if self.journal_broken {
            return;
        }
        let (sent, retries, rate_limited) = requests;
        let checkpoint = Arc::clone(&self.recorder.checkpoint);
        if let Err(err) = checkpoint.close(sent, retries, rate_limited, completed) {
            let counters = &self.recorder.counters;
            let (lost, totals) = checkpoint.uncommitted();
            counters.accepted.fetch_sub(lost, Relaxed);
            counters.created.fetch_sub(totals.created, Relaxed);
            counters.updated.fetch_sub(totals.updated, Relaxed);
            counters.archived.fetch_sub(totals.archived, Relaxed);
            Counters::add(&counters.unfinished, lost);
            self.journal_broken = true;
            self.fail(err.to_string());
        }
    }
}
