//! A job's checkpoint for one run: the journal (shared by the dispatcher, which marks rows it is
//! about to send, and the outcome writer, which records accepted rows), the rows in doubt from an
//! earlier run, and the lock that keeps a second run of the job out.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::journal::{Fingerprint, Journal, JournalError, Progress, Totals};
use super::lock::{LockError, RunLock};
use super::row_set::RowSet;
use super::state::{Change, State, StateError};

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(
        "an earlier run of this job stopped before the end (journal {0}): pass --resume to \
         continue it, or --restart to start it over"
    )]
    Unfinished(PathBuf),
    #[error(
        "--resume cannot continue a job that reads standard input (source.path = \"-\"): the rows \
         already read are gone. Send the rest as a file with --source, or start over with --restart"
    )]
    StdinResume,
}

/// How a run treats an earlier run's journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A new job; refused when an earlier run left the job unfinished (re-sending its creates
    /// would duplicate records).
    New,
    /// Continue the earlier run's job (a new job when there is no journal).
    Resume,
    /// Start over, whatever an earlier run left.
    Restart,
}

pub struct Checkpoint {
    journal: Mutex<Journal>,
    /// Rows an earlier run was sending when it stopped: check before sending again.
    in_doubt: RowSet,
    _lock: RunLock,
}

impl Checkpoint {
    /// Takes the job's lock, then starts a new journal or reopens the earlier one. Returns
    /// what earlier runs finished (`None` for a new job).
    ///
    /// With a `[sync]` `state`, a journal about to be replaced first hands its leftovers to the
    /// state (accepted changes not yet merged; its creates in doubt), so a new nightly export can
    /// start a new job over the same state even when last night's run did not finish.
    pub fn open(
        journal_path: &Path,
        source: &Path,
        pipeline_file: &Path,
        start: Start,
        state: Option<&mut State>,
    ) -> Result<(Checkpoint, Option<Progress>), CheckpointError> {
        if start == Start::Resume && crate::config::source_name::is_stdin(source) {
            return Err(CheckpointError::StdinResume);
        }
        let lock = RunLock::acquire(&lock_path(journal_path))?;
        let fingerprint = Fingerprint::of(source, pipeline_file)?;
        let resumed = match start {
            Start::Resume => Journal::resume(journal_path, &fingerprint)?,
            Start::New | Start::Restart => {
                let earlier = Journal::earlier_at(journal_path)?;
                if let Some(earlier) = earlier {
                    // The same source unfinished: re-sending it from the top would duplicate its
                    // creates (a new export over a sync state is a new job, and may go on).
                    let same_job = earlier.fingerprint == fingerprint;
                    if start == Start::New && earlier.unfinished && (same_job || state.is_none()) {
                        return Err(CheckpointError::Unfinished(journal_path.to_path_buf()));
                    }
                    if let Some(state) = state {
                        state.apply(&earlier.leftovers, now_ms())?;
                    }
                }
                None
            }
        };
        let (journal, progress) = match resumed {
            Some((journal, progress)) => (journal, Some(progress)),
            None => (Journal::start(journal_path, &fingerprint)?, None),
        };
        let in_doubt = progress
            .as_ref()
            .map(|p| p.in_doubt.clone())
            .unwrap_or_default();
        Ok((
            Checkpoint {
                journal: Mutex::new(journal),
                in_doubt,
                _lock: lock,
            },
            progress,
        ))
    }

    /// The job's id (its trace ids' prefix), the same in every run of the job.
    pub fn job(&self) -> String {
        self.journal().job().to_string()
    }

    /// The instant no record of this job is older than (see [`Journal::sent_after_ms`]).
    pub fn sent_after_ms(&self, now: Option<i64>) -> Result<Option<i64>, JournalError> {
        self.journal().sent_after_ms(now)
    }

    pub fn is_in_doubt(&self, row: u64) -> bool {
        self.in_doubt.contains(row)
    }

    /// Durably records that `rows` (with their `[sync]` keys) are about to be sent (creates,
    /// archives by property). Blocks for one fsync; called from the runtime, so it steps off the
    /// async workers.
    pub fn mark_sending(&self, rows: &[(u64, Option<&str>)]) -> Result<(), JournalError> {
        tokio::task::block_in_place(|| self.journal().mark_sending(rows))
    }

    /// Takes back [`Checkpoint::mark_sending`] for rows whose request never left.
    pub fn unmark_sending(&self, rows: &[u64]) -> Result<(), JournalError> {
        tokio::task::block_in_place(|| self.journal().unmark_sending(rows))
    }

    pub fn record_accepted(
        &self,
        rows: &[u64],
        created: u64,
        updated: u64,
        archived: u64,
    ) -> Result<(), JournalError> {
        self.journal()
            .record_accepted(rows, created, updated, archived)
    }

    /// `[sync]` changes of rows about to be recorded accepted (see [`Journal::record_state`]).
    pub fn record_state(&self, changes: Vec<Change>) {
        self.journal().record_state(changes);
    }

    /// Moves the committed `[sync]` changes into the state, then forgets them (done again after a
    /// crash between the two: applying a change twice is harmless).
    pub fn merge_state(&self, state: &mut State) -> Result<(), CheckpointError> {
        let mut journal = self.journal();
        let changes = journal.state_changes()?;
        if !changes.is_empty() {
            state.apply(&changes, now_ms())?;
            journal.clear_state_changes()?;
        }
        Ok(())
    }

    /// Accepted rows recorded but not yet durable, with their totals.
    pub fn uncommitted(&self) -> (u64, Totals) {
        self.journal().uncommitted()
    }

    /// Adds the run's link counters to the job's totals (committed with [`Checkpoint::close`]).
    pub fn record_links(&self, linked: u64, unlinked: u64) {
        self.journal().record_links(linked, unlinked);
    }

    /// Ends the run: adds its request counters and commits; marks the job complete when the
    /// whole input went through.
    pub fn close(
        &self,
        requests: u64,
        retries: u64,
        rate_limited: u64,
        completed: bool,
    ) -> Result<(), JournalError> {
        let mut journal = self.journal();
        journal.record_requests(requests, retries, rate_limited);
        if completed {
            journal.complete()
        } else {
            journal.commit()
        }
    }

    fn journal(&self) -> std::sync::MutexGuard<'_, Journal> {
        self.journal.lock().expect("journal lock poisoned")
    }
}

/// Now, in ms since the epoch (when a state change was accepted).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The lock file beside the journal.
pub fn lock_path(journal: &Path) -> PathBuf {
    let mut name = journal.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}
