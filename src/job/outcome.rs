//! The fate of rows, as the dispatcher learns it, and the one writer that records each fate:
//! accepted rows in the checkpoint journal, rejected rows in the dead-letter file, everything in
//! the counters.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::checkpoint::Checkpoint;
use super::dead_letter::{DeadLetterError, DeadLetterWriter};
use super::journal::JournalError;
use super::report::Counters;
use crate::prepare::row::Rejection;

/// The fate of rows, sent to the outcome writer as soon as it is known.
#[derive(Debug)]
pub enum Outcome {
    Accepted {
        rows: Vec<u64>,
        created: u64,
        updated: u64,
        archived: u64,
    },
    Rejected(Rejection),
    /// Read but not finished because the run stopped early (daily limit, interrupt, fatal).
    Unfinished(Vec<u64>),
}

/// A fate that could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    DeadLetter(#[from] DeadLetterError),
}

/// Writes each outcome as it arrives: dead letters to the file (flushed often, so an interrupted
/// run loses nothing), accepted rows to the journal, counts to the counters.
pub async fn write_outcomes(
    mut outcomes: mpsc::Receiver<Outcome>,
    mut dead_letters: DeadLetterWriter,
    counters: Arc<Counters>,
    checkpoint: Arc<Checkpoint>,
) -> Result<(), RecordError> {
    let mut last_flush = Instant::now();
    while let Some(outcome) = outcomes.recv().await {
        match outcome {
            Outcome::Accepted {
                rows,
                created,
                updated,
                archived,
            } => {
                checkpoint.record_accepted(&rows, created, updated, archived)?;
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
