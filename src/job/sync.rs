//! `[sync]` during a run: which rows to send (the [`SyncFilter`] the prepare thread asks about each
//! valid row), which keys the source holds (for mirrored deletes), and which records to delete.
//!
//! With `mode = "changes"` a row whose values hash as they did when last accepted is not sent. A
//! `create` pipeline becomes create-or-update by the state: a key seen before (with its record id)
//! is updated, a new key created; a later row of a key first created in this run waits for that
//! create and updates its record. A key whose create is in doubt is looked up first (or
//! dead-lettered `AMBIGUOUS` when nothing can look it up): never created blindly.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::state::{Entry, Known, Snapshot, State, StateError};
use crate::config::Operation;
use crate::config::sync::{SyncMode, SyncSpec};
use crate::prepare::row::{BatchKey, Input, RejectStatus, Rejection, SyncRow, row_label};
use crate::prepare::{RowFilter, Screen, Sorted};

/// The keys a run's source holds, as hashes (8 bytes a row), kept for mirrored deletes.
#[derive(Debug, Default)]
pub struct Seen {
    hashes: Vec<u64>,
    /// Rows whose key could not be read: a delete could hit one of them, so deletes are skipped.
    keyless: u64,
}

impl Seen {
    fn sorted(mut self) -> Seen {
        self.hashes.sort_unstable();
        self.hashes.dedup();
        self
    }

    fn contains(&self, key: &str) -> bool {
        self.hashes.binary_search(&BatchKey::exact(key).0).is_ok()
    }
}

/// Decides, row by row, what a sync run sends.
pub struct SyncFilter {
    state: Option<Snapshot>,
    mode: SyncMode,
    /// The pipeline's operation (`create` becomes create-or-update).
    operation: Operation,
    /// `--full`: send every row whatever the state says.
    full: bool,
    /// A lost create can be checked through a mapped unique property.
    can_verify: bool,
    /// New keys sent as creates in this run (their later rows update the created record).
    creating: HashSet<String>,
    seen: Option<Arc<Mutex<Seen>>>,
    /// The first state error; the run stops on it (after the prepare thread ends).
    failure: Arc<Mutex<Option<StateError>>>,
    /// Unchanged rows found by the prepare workers (`mode = "changes"`, a state to compare with).
    screen: Option<Arc<UnchangedScreen>>,
}

/// What a run tells the filter.
pub struct FilterOptions {
    pub full: bool,
    pub can_verify: bool,
}

impl SyncFilter {
    /// A filter reading `state` (its own connection: it runs on the prepare thread), as it stands
    /// when the first row is looked up.
    pub fn new(
        spec: &SyncSpec,
        operation: Operation,
        state: Option<State>,
        options: FilterOptions,
    ) -> Result<SyncFilter, StateError> {
        let failure = Arc::new(Mutex::new(None));
        let skips =
            spec.mode == SyncMode::Changes && !options.full && operation != Operation::Archive;
        let screen = (skips && state.is_some()).then(|| {
            Arc::new(UnchangedScreen {
                path: spec.state.clone(),
                snapshots: Mutex::new(Vec::new()),
                failure: Arc::clone(&failure),
            })
        });
        Ok(SyncFilter {
            state: state.map(State::snapshot).transpose()?,
            mode: spec.mode,
            operation,
            full: options.full,
            can_verify: options.can_verify,
            creating: HashSet::new(),
            seen: spec
                .mirror_deletes
                .then(|| Arc::new(Mutex::new(Seen::default()))),
            failure,
            screen,
        })
    }

    /// Where the keys seen go (when deletes are mirrored).
    pub fn seen(&self) -> Option<Arc<Mutex<Seen>>> {
        self.seen.clone()
    }

    /// Where a state error goes.
    pub fn failure(&self) -> Arc<Mutex<Option<StateError>>> {
        Arc::clone(&self.failure)
    }

    fn lookup(&mut self, key: &str) -> Option<Known> {
        let state = self.state.as_ref()?;
        state
            .lookup(key)
            .unwrap_or_else(|err| keep_first(&self.failure, err))
    }
}

/// Keeps `err` in `failure` unless an earlier error is there (the run stops on the first one);
/// what failed reads as nothing known (`T`'s default: none, empty).
fn keep_first<T: Default>(failure: &Mutex<Option<StateError>>, err: StateError) -> T {
    failure
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_or_insert(err);
    T::default()
}

/// Whether a row's values are the ones last accepted for its key (a create in doubt never is).
fn unchanged(known: Option<&Known>, sync: &SyncRow) -> bool {
    known.is_some_and(|k| !k.in_doubt && k.hash == Some(sync.hash))
}

/// The prepare workers' test for unchanged rows: a state lookup per row, which needs nothing from
/// the rows before (the state changes only between runs). Each chunk borrows a snapshot of the
/// state of its own, so the workers look up side by side (one SQLite connection is one thread's
/// at a time); snapshots are opened as chunks first need them, at most one per worker, and kept.
struct UnchangedScreen {
    path: PathBuf,
    snapshots: Mutex<Vec<Snapshot>>,
    failure: Arc<Mutex<Option<StateError>>>,
}

impl UnchangedScreen {
    fn take(&self) -> Option<Snapshot> {
        let kept = self.pool().pop();
        if kept.is_some() {
            return kept;
        }
        State::read(&self.path)
            .and_then(|state| state.map(State::snapshot).transpose())
            .unwrap_or_else(|err| keep_first(&self.failure, err))
    }

    fn pool(&self) -> MutexGuard<'_, Vec<Snapshot>> {
        self.snapshots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Screen for UnchangedScreen {
    fn unchanged(&self, inputs: &[&Input]) -> Vec<bool> {
        // Without a snapshot no row is found unchanged here: the filter looks each up again, and
        // the error stops the run.
        let Some(snapshot) = self.take() else {
            return vec![false; inputs.len()];
        };
        let synced = inputs.iter().filter_map(|input| input.sync.as_ref());
        let hashes = snapshot
            .accepted_hashes(synced.clone().map(|sync| sync.key.as_str()))
            .unwrap_or_else(|err| keep_first(&self.failure, err));
        self.pool().push(snapshot);
        let mut hashes = synced
            .zip(hashes)
            .map(|(sync, hash)| hash == Some(sync.hash));
        inputs
            .iter()
            .map(|input| input.sync.is_some() && hashes.next() == Some(true))
            .collect()
    }
}

impl RowFilter for SyncFilter {
    fn sort(&mut self, mut input: Input) -> Sorted {
        let Some(sync) = input.sync.clone() else {
            return Sorted::Send(input);
        };
        if self.operation == Operation::Archive {
            return Sorted::Send(input);
        }
        let known = self.lookup(&sync.key);
        if unchanged(known.as_ref(), &sync) && self.mode == SyncMode::Changes && !self.full {
            return Sorted::Unchanged;
        }
        if self.operation != Operation::Create {
            return Sorted::Send(input);
        }
        // Create-or-update by the state.
        let sync = input.sync.as_mut().expect("checked above");
        match known {
            Some(known) if known.in_doubt => {
                if !self.can_verify {
                    return Sorted::Reject(in_doubt(input));
                }
                sync.verify_first = true;
                sync.sent_after_ms = known.sent_after_ms;
                self.creating.insert(sync.key.clone());
            }
            Some(known) => {
                input.operation = Operation::Update;
                input.id = known.record_id;
            }
            None if self.creating.contains(&sync.key) => {
                input.operation = Operation::Update;
                sync.after_create = true;
            }
            None => {
                self.creating.insert(sync.key.clone());
            }
        }
        Sorted::Send(input)
    }

    fn screen(&self) -> Option<Arc<dyn Screen>> {
        self.screen.clone().map(|screen| screen as Arc<dyn Screen>)
    }

    fn seen(&mut self, key: Option<BatchKey>) {
        if let Some(seen) = &self.seen {
            let mut seen = seen.lock().expect("seen lock poisoned");
            match key {
                Some(key) => seen.hashes.push(key.0),
                None => seen.keyless += 1,
            }
        }
    }
}

/// A row whose key's create is in doubt, and nothing can check it.
fn in_doubt(input: Input) -> Rejection {
    Rejection {
        row: input.row,
        origin: input.origin,
        fields: input.fields,
        status: RejectStatus::Ambiguous,
        category: "AMBIGUOUS".into(),
        message: format!(
            "row {}: an earlier run's create of this key may have landed, and no unique property \
             is mapped to check it: look the record up, then `etl state forget` the key to send \
             it again",
            row_label(input.row, input.origin)
        ),
    }
}

/// What mirrored deletes would do this run.
#[derive(Debug)]
pub enum Deletes {
    /// Records to archive (keys no longer in the source).
    Send(Vec<Entry>),
    /// More than `max_deletes` would go: refused without `--allow-deletes`.
    TooMany {
        count: u64,
        limit: u64,
        sample: Vec<String>,
    },
    /// Some rows had no readable key: a delete could hit one of them, so none is sent.
    Keyless(u64),
}

/// The records whose key the state holds and this run's source does not.
pub fn plan_deletes(
    state: &State,
    seen: Seen,
    spec: &SyncSpec,
    allow: bool,
) -> Result<Deletes, StateError> {
    if seen.keyless > 0 {
        return Ok(Deletes::Keyless(seen.keyless));
    }
    let seen = seen.sorted();
    let mut gone = Vec::new();
    state.entries(|entry| {
        if !seen.contains(&entry.key) && entry.record_id.is_some() {
            gone.push(entry);
        }
    })?;
    let limit = spec.max_deletes.of(state.keys()?);
    if gone.len() as u64 > limit && !allow {
        return Ok(Deletes::TooMany {
            count: gone.len() as u64,
            limit,
            sample: gone.iter().take(10).map(|e| e.key.clone()).collect(),
        });
    }
    Ok(Deletes::Send(gone))
}
