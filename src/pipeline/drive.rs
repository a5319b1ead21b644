//! Driving the chain: prepared batches fed to the dispatcher (one task per batch, each holding a
//! concurrency slot and its keys), and the rows a run that stops before sending leaves.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::RunError;
use crate::config::Pipeline;
use crate::dispatch::Dispatcher;
use crate::dispatch::keys::KeyGate;
use crate::job::outcome::Outcome;
use crate::job::report::Counters;
use crate::job::resume::Earlier;
use crate::prepare::source;
use crate::prepare::{PrepareError, PrepareHandle, PrepareTotals, Prepared};

/// The rows of the source no run has finished: what a run that stops before sending leaves for
/// `--resume` (read on a thread of its own, like any reading).
pub(super) async fn rows_left(
    pipeline: &Pipeline,
    earlier: Option<Earlier>,
) -> Result<u64, RunError> {
    let spec = pipeline.source.clone();
    let counted = tokio::task::spawn_blocking(move || {
        let mut source = source::open(&spec)?;
        let mut left = 0;
        for item in source.by_ref() {
            let row = match &item {
                Ok(row) => row.row,
                Err(rejection) => rejection.row,
            };
            if !earlier.as_ref().is_some_and(|e| e.is_finished(row)) {
                left += 1;
            }
        }
        match source.take_error() {
            Some(error) => Err(error),
            None => Ok(left),
        }
    })
    .await
    .map_err(|_| RunError::Thread)?;
    Ok(counted.map_err(PrepareError::from)?)
}

/// Feeds prepared batches to the dispatcher: one task per batch, each holding a concurrency
/// slot and its keys. Returns the prepare thread's totals.
pub(super) async fn drive(
    mut prepared: PrepareHandle,
    dispatcher: &Arc<Dispatcher>,
    outcomes: &mpsc::Sender<Outcome>,
    stop_reading: &AtomicBool,
) -> Result<PrepareTotals, RunError> {
    let keys = KeyGate::new();
    let mut tasks = JoinSet::new();
    // The prepare thread sends a chunk's events together: taking them one at a time wakes it once
    // per chunk, not per event.
    while let Some(event) = prepared.events.recv().await {
        feed(event, &mut tasks, &keys, dispatcher, outcomes, stop_reading).await;
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a batch task panicked");
    }
    let outcome = prepared.done.await.map_err(|_| RunError::Thread)?;
    match outcome.error {
        Some(error) => Err(error.into()),
        None => Ok(outcome.totals),
    }
}

/// One prepared event: a batch becomes a task once it holds a concurrency slot and its keys (or
/// stays unfinished when the run stops first); a rejection goes to the outcomes.
async fn feed(
    event: Prepared,
    tasks: &mut JoinSet<()>,
    keys: &Arc<KeyGate>,
    dispatcher: &Arc<Dispatcher>,
    outcomes: &mpsc::Sender<Outcome>,
    stop_reading: &AtomicBool,
) {
    let batch = match event {
        Prepared::Rejected(rejection) => {
            let _ = outcomes.send(Outcome::Rejected(rejection)).await;
            return;
        }
        Prepared::Unchanged(rows) => {
            Counters::add(&dispatcher.counters().unchanged, rows);
            return;
        }
        Prepared::Batch(batch) => batch,
    };
    // Waiting for a slot or for a key ends when the run stops.
    let ready = async {
        let slot = dispatcher.concurrency().acquire().await;
        let reserved = keys.reserve(&batch.inputs).await;
        (slot, reserved)
    };
    let ready = tokio::select! {
        biased;
        () = dispatcher.halted() => None,
        ready = ready => Some(ready),
    };
    let Some((slot, reserved)) = ready.filter(|_| !dispatcher.is_halted()) else {
        // Stopping: what was read but not sent stays unfinished (resumable).
        stop_reading.store(true, Ordering::SeqCst);
        let rows = batch.inputs.iter().map(|i| i.row).collect();
        let _ = outcomes.send(Outcome::Unfinished(rows)).await;
        return;
    };
    let dispatcher = Arc::clone(dispatcher);
    tasks.spawn(async move {
        dispatcher.process(batch).await;
        drop(reserved);
        drop(slot);
    });
    // Surface a panicked batch task now rather than at the end.
    while let Some(done) = tasks.try_join_next() {
        done.expect("a batch task panicked");
    }
}
