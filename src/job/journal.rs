//! The checkpoint journal: which source rows of a job are finished, durable across crashes, so a
//! killed or stopped run resumes exactly where it stopped (`etl run --resume`).
//!
//! A SQLite file (WAL, `synchronous = FULL`): a stable format anyone can inspect with `sqlite3`,
//! and transactions that make "these rows are done" atomic. It holds
//! - `meta`: the job's fingerprint (source bytes + pipeline file), its id (the prefix of its
//!   `objectWriteTraceId`s, the same in every run of the job), running totals, and whether the job
//!   completed;
//! - `rows`: one line per row the portal accepted (`state` 1), or per row of a create/archive
//!   batch that is being sent (`state` 0, written and synced *before* the request leaves).
//!
//! Rows that are `sending` but not accepted when a run dies are "in doubt": the portal may have
//! applied them. A resumed run checks them before sending again (DESIGN.md §4, ambiguous creates).
//! Dead-lettered rows are not journaled here: the dead-letter file itself is their durable
//! record, and a resumed run reads its `etl_row` column.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};
use xxhash_rust::xxh3::Xxh3;

use super::row_set::RowSet;
use super::state::Change;
use crate::prepare::trace::new_job_id;

/// How often accepted rows are committed: a crash re-sends at most this much work, and re-sending
/// is safe (idempotent operations, or in-doubt creates that are checked first).
const COMMIT_EVERY: Duration = Duration::from_millis(500);

/// Accepted rows that also make a commit due: a fast run's rows are then written while it is still
/// sending, a few thousand at a time, instead of all at once after its last answer (100k rows took
/// ≈ 40 ms of one core at the end of a 0.4 s run, the other core idle).
const COMMIT_ROWS: usize = 20_000;

const SENDING: i64 = 0;
const ACCEPTED: i64 = 1;

/// How much earlier than the job's first answer (the `Date` header, already rounded down to the
/// second) a record of the job may say it was created: room for the portal's servers' clocks to
/// differ. A record made by someone else within it of the job's start counts as the job's.
pub const CLOCK_MARGIN_MS: i64 = 1_000;

/// Accepted rows written by one statement (SQLite's default limit is 32,766 parameters).
const ROWS_PER_INSERT: usize = 100;

/// `INSERT OR REPLACE INTO rows (row, state) VALUES (?, 1), …` for `rows` rows.
fn accepted_rows_insert(rows: usize) -> String {
    let values = vec![format!("(?, {ACCEPTED})"); rows].join(", ");
    format!("INSERT OR REPLACE INTO rows (row, state) VALUES {values}")
}

const CHANGE_ACCEPTED: i64 = 0;
const CHANGE_REMOVED: i64 = 1;
const CHANGE_IN_DOUBT: i64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("checkpoint journal {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot read {path} (its bytes tell --resume which job this is): {source}")]
    Fingerprint {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "checkpoint.path names {path}, which is not an etl journal: refusing to replace it (point \
         [checkpoint] path at a file of its own)"
    )]
    NotAJournal { path: PathBuf },
    #[error(
        "checkpoint journal {path} belongs to a different job: the source file or the pipeline \
         changed since it was written. Resuming would apply its progress to other rows. Run \
         without --resume to start the job over (this overwrites the journal and the dead-letter \
         file)."
    )]
    Mismatch { path: PathBuf },
}

/// A digest of everything that decides which rows a job has: the source file's bytes and the
/// pipeline file's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint(pub String);

impl Fingerprint {
    pub fn of(source: &Path, pipeline: &Path) -> Result<Fingerprint, JournalError> {
        use std::io::Read;
        let mut hasher = Xxh3::new();
        for path in [source, pipeline] {
            if crate::config::source_name::is_stdin(path) {
                // Standard input cannot be read twice: such a job is never resumed (the
                // checkpoint refuses), and its fingerprint is the pipeline file's.
                hasher.update(b"\0etl-stdin\0");
                continue;
            }
            if crate::config::source_name::is_remote(path) {
                // An object in a store: its ETag and version say whether it changed, without
                // reading it whole.
                let identity = crate::prepare::source::object_identity(path).map_err(|source| {
                    JournalError::Fingerprint {
                        path: path.to_path_buf(),
                        source,
                    }
                })?;
                hasher.update(identity.as_bytes());
                hasher.update(b"\0etl-file-boundary\0");
                continue;
            }
            let error = |source| JournalError::Fingerprint {
                path: path.to_path_buf(),
                source,
            };
            let mut file = std::fs::File::open(path).map_err(error)?;
            let mut buffer = vec![0u8; 1 << 20];
            loop {
                let n = file.read(&mut buffer).map_err(error)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
            }
            // Separates the two files, so moving bytes from one to the other changes the digest.
            hasher.update(b"\0etl-file-boundary\0");
        }
        Ok(Fingerprint(format!("{:032x}", hasher.digest128())))
    }
}

/// A job found in a journal about to be replaced.
#[derive(Debug)]
pub struct EarlierJob {
    pub fingerprint: Fingerprint,
    /// It sent something and did not go through its whole input.
    pub unfinished: bool,
    /// `[sync]` changes it leaves for the state: accepted and not merged, and creates in doubt.
    pub leftovers: Vec<Change>,
}

/// What earlier runs of the job finished.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// Rows the portal accepted.
    pub accepted: RowSet,
    /// Rows sent (create, archive by property) with no recorded answer: the portal may have
    /// applied them.
    pub in_doubt: RowSet,
    /// Earlier runs' totals, so the report covers the whole job.
    pub totals: Totals,
    /// Whether a run already went through the whole input.
    pub completed: bool,
}

/// Totals of a job, kept across its runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Totals {
    pub created: u64,
    pub updated: u64,
    pub archived: u64,
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
    /// Links written and removed with the v4 associations API.
    pub linked: u64,
    pub unlinked: u64,
}

pub struct Journal {
    path: PathBuf,
    conn: Connection,
    /// The job's id: every run of the job sends the same trace ids.
    job: String,
    pending: Vec<u64>,
    pending_totals: Totals,
    /// `[sync]` changes of the accepted rows, committed with them.
    pending_changes: Vec<Change>,
    last_commit: Instant,
    /// The job begins with this run (a new journal): its start is this run's.
    new_job: bool,
}

impl Journal {
    /// Starts a new job: an earlier journal at `path` is replaced; any other file there is left
    /// alone and refused (a misconfigured `[checkpoint] path` must never delete data).
    pub fn start(path: &Path, fingerprint: &Fingerprint) -> Result<Journal, JournalError> {
        if path.exists() && !is_journal(path) {
            return Err(JournalError::NotAJournal {
                path: path.to_path_buf(),
            });
        }
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        let mut journal = Journal::open(path)?;
        journal
            .conn
            .execute(
                "INSERT INTO meta (key, value) VALUES ('fingerprint', ?1), ('job', ?2)",
                params![fingerprint.0, journal.job],
            )
            .map_err(|e| journal.error(e))?;
        journal.job = journal.stored_job().map_err(|e| journal.error(e))?;
        journal.new_job = true;
        Ok(journal)
    }

    /// Reopens the journal of an earlier run of the same job. `None` when there is none.
    pub fn resume(
        path: &Path,
        fingerprint: &Fingerprint,
    ) -> Result<Option<(Journal, Progress)>, JournalError> {
        if !path.exists() {
            return Ok(None);
        }
        if !is_journal(path) {
            return Err(JournalError::NotAJournal {
                path: path.to_path_buf(),
            });
        }
        let journal = Journal::open(path)?;
        let stored: Option<String> = journal
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'fingerprint'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| journal.error(e))?;
        if stored.as_deref() != Some(fingerprint.0.as_str()) {
            return Err(JournalError::Mismatch {
                path: path.to_path_buf(),
            });
        }
        let progress = journal.progress().map_err(|e| journal.error(e))?;
        let mut journal = journal;
        journal.job = journal.stored_job().map_err(|e| journal.error(e))?;
        Ok(Some((journal, progress)))
    }

    /// The job's id, as the journal keeps it (a journal written before ids existed gets one now).
    fn stored_job(&self) -> rusqlite::Result<String> {
        self.conn.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('job', ?1)",
            params![self.job],
        )?;
        self.conn
            .query_row("SELECT value FROM meta WHERE key = 'job'", [], |r| r.get(0))
    }

    /// When the job started by the portal's clock (ms since the epoch): its first answer in the
    /// job's first run. A new job keeps `now` (this run's first answer); a resumed one gives its
    /// first run's, or `None` when that run kept none (no `Date` header, or an older etl).
    pub fn started_ms(&mut self, now: Option<i64>) -> Result<Option<i64>, JournalError> {
        if self.new_job
            && let Some(now) = now
        {
            self.conn
                .execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('started_ms', ?1)",
                    params![now.to_string()],
                )
                .map_err(|e| self.error(e))?;
        }
        self.stored_start().map_err(|e| self.error(e))
    }

    /// [`Journal::started_ms`] less [`CLOCK_MARGIN_MS`]: no record a create of this job made is
    /// older than it; a record older than it existed before the job.
    pub fn sent_after_ms(&mut self, now: Option<i64>) -> Result<Option<i64>, JournalError> {
        Ok(self.started_ms(now)?.map(|ms| ms - CLOCK_MARGIN_MS))
    }

    fn stored_start(&self) -> rusqlite::Result<Option<i64>> {
        let stored: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'started_ms'", [], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(stored.and_then(|ms| ms.parse().ok()))
    }

    /// The job's id: the prefix of its `objectWriteTraceId`s, the same in every run of the job.
    pub fn job(&self) -> &str {
        &self.job
    }

    /// Whether a journal at `path` belongs to a job that an earlier run left unfinished after
    /// sending something (a run that failed before sending anything leaves nothing to protect).
    pub fn unfinished_at(path: &Path) -> Result<bool, JournalError> {
        Ok(Journal::earlier_at(path)?.is_some_and(|earlier| earlier.unfinished))
    }

    /// The job whose journal is at `path`, if any: its fingerprint, whether it is unfinished, and
    /// the `[sync]` changes it leaves (committed, not yet merged, and its creates in doubt).
    pub fn earlier_at(path: &Path) -> Result<Option<EarlierJob>, JournalError> {
        if !path.exists() {
            return Ok(None);
        }
        if !is_journal(path) {
            return Err(JournalError::NotAJournal {
                path: path.to_path_buf(),
            });
        }
        let journal = Journal::open(path)?;
        let progress = journal.progress().map_err(|e| journal.error(e))?;
        let sent = !progress.accepted.is_empty() || !progress.in_doubt.is_empty();
        let fingerprint: Option<String> = journal
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'fingerprint'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| journal.error(e))?;
        let mut leftovers = journal.state_changes()?;
        let start = journal.stored_start().map_err(|e| journal.error(e))?;
        let sent_after_ms = start.map(|ms| ms - CLOCK_MARGIN_MS);
        leftovers.extend(
            journal
                .keys_in_doubt()?
                .into_iter()
                .map(|key| Change::InDoubt { key, sent_after_ms }),
        );
        Ok(Some(EarlierJob {
            fingerprint: Fingerprint(fingerprint.unwrap_or_default()),
            unfinished: !progress.completed && sent,
            leftovers,
        }))
    }

    fn open(path: &Path) -> Result<Journal, JournalError> {
        let error = |source| JournalError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(error)?;
        conn.execute_batch(
            // The tables in one transaction: one synced commit, not one per table (each costs
            // an fsync of the log, milliseconds before the first row is sent).
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             BEGIN;
             CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS rows (row INTEGER PRIMARY KEY, state INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS sending_keys (row INTEGER PRIMARY KEY, key TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS state_changes (
                 seq INTEGER PRIMARY KEY AUTOINCREMENT, kind INTEGER NOT NULL, key TEXT NOT NULL,
                 hash INTEGER, record_id TEXT);
             COMMIT;",
        )
        .map_err(error)?;
        Ok(Journal {
            path: path.to_path_buf(),
            conn,
            job: new_job_id(),
            pending: Vec::new(),
            pending_totals: Totals::default(),
            pending_changes: Vec::new(),
            last_commit: Instant::now(),
            new_job: false,
        })
    }

    fn progress(&self) -> rusqlite::Result<Progress> {
        let mut progress = Progress::default();
        let mut rows = self.conn.prepare("SELECT row, state FROM rows")?;
        let mut cursor = rows.query([])?;
        while let Some(line) = cursor.next()? {
            let row: i64 = line.get(0)?;
            let state: i64 = line.get(1)?;
            match state {
                ACCEPTED => progress.accepted.insert(row as u64),
                _ => progress.in_doubt.insert(row as u64),
            }
        }
        let count = |key: &str| -> rusqlite::Result<u64> {
            let value: Option<String> = self
                .conn
                .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                    r.get(0)
                })
                .optional()?;
            Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
        };
        progress.totals = Totals {
            created: count("created")?,
            updated: count("updated")?,
            archived: count("archived")?,
            requests: count("requests")?,
            retries: count("retries")?,
            rate_limited: count("rate_limited")?,
            linked: count("linked")?,
            unlinked: count("unlinked")?,
        };
        progress.completed = count("completed")? == 1;
        Ok(progress)
    }

    /// Takes back the "sending" mark of rows whose request never left (the run stopped while it
    /// waited for its token). Rows already accepted keep their state; a `[sync]` key recorded
    /// with the mark is inert without it (keys in doubt are read through rows still sending).
    pub fn unmark_sending(&mut self, rows: &[u64]) -> Result<(), JournalError> {
        let tx = self.conn.transaction().map_err(|e| sqlite(&self.path, e))?;
        {
            let mut delete = tx
                .prepare_cached("DELETE FROM rows WHERE row = ?1 AND state = ?2")
                .map_err(|e| sqlite(&self.path, e))?;
            for row in rows {
                delete
                    .execute(params![*row as i64, SENDING])
                    .map_err(|e| sqlite(&self.path, e))?;
            }
        }
        tx.commit().map_err(|e| sqlite(&self.path, e))
    }

    /// Records, durably and before the request leaves, that these rows are being sent, with their
    /// `[sync]` keys (so an abandoned job's creates in doubt are never created blindly again).
    pub fn mark_sending(&mut self, rows: &[(u64, Option<&str>)]) -> Result<(), JournalError> {
        let tx = self.conn.transaction().map_err(|e| JournalError::Sqlite {
            path: self.path.clone(),
            source: e,
        })?;
        {
            let mut insert = tx
                .prepare_cached("INSERT OR IGNORE INTO rows (row, state) VALUES (?1, ?2)")
                .map_err(|e| sqlite(&self.path, e))?;
            let mut keyed = tx
                .prepare_cached("INSERT OR REPLACE INTO sending_keys (row, key) VALUES (?1, ?2)")
                .map_err(|e| sqlite(&self.path, e))?;
            for (row, key) in rows {
                insert
                    .execute(params![*row as i64, SENDING])
                    .map_err(|e| sqlite(&self.path, e))?;
                if let Some(key) = key {
                    keyed
                        .execute(params![*row as i64, key])
                        .map_err(|e| sqlite(&self.path, e))?;
                }
            }
        }
        tx.commit().map_err(|e| sqlite(&self.path, e))
    }

    /// Adds `[sync]` changes, committed with the accepted rows they belong to: record them before
    /// the rows, as [`Journal::record_accepted`] may commit.
    pub fn record_state(&mut self, changes: Vec<Change>) {
        self.pending_changes.extend(changes);
    }

    /// The `[sync]` changes committed and not yet merged into the state, in order; with the keys
    /// of rows still in doubt (sent, no answer recorded) as `InDoubt`.
    pub fn state_changes(&self) -> Result<Vec<Change>, JournalError> {
        let read = || -> rusqlite::Result<Vec<Change>> {
            let mut changes = Vec::new();
            let mut query = self
                .conn
                .prepare("SELECT kind, key, hash, record_id FROM state_changes ORDER BY seq")?;
            let mut rows = query.query([])?;
            while let Some(row) = rows.next()? {
                let key: String = row.get(1)?;
                changes.push(match row.get::<_, i64>(0)? {
                    CHANGE_ACCEPTED => Change::Accepted {
                        key,
                        hash: row.get::<_, i64>(2)? as u64,
                        record_id: row.get(3)?,
                    },
                    CHANGE_REMOVED => Change::Removed { key },
                    // An in-doubt key's `hash` column holds its `sent_after_ms`.
                    _ => Change::InDoubt {
                        key,
                        sent_after_ms: row.get(2)?,
                    },
                });
            }
            Ok(changes)
        };
        read().map_err(|e| self.error(e))
    }

    /// The `[sync]` keys of rows sent whose answer was never recorded.
    pub fn keys_in_doubt(&self) -> Result<Vec<String>, JournalError> {
        let read = || -> rusqlite::Result<Vec<String>> {
            let mut query = self.conn.prepare(
                "SELECT k.key FROM sending_keys k JOIN rows r ON r.row = k.row WHERE r.state = ?1",
            )?;
            let keys = query.query_map(params![SENDING], |r| r.get(0))?;
            keys.collect()
        };
        read().map_err(|e| self.error(e))
    }

    /// Forgets the `[sync]` changes once the state holds them.
    pub fn clear_state_changes(&mut self) -> Result<(), JournalError> {
        self.conn
            .execute("DELETE FROM state_changes", [])
            .map(|_| ())
            .map_err(|e| self.error(e))
    }

    /// Records accepted rows; committed within [`COMMIT_EVERY`], once [`COMMIT_ROWS`] wait, or at
    /// [`Journal::commit`].
    pub fn record_accepted(
        &mut self,
        rows: &[u64],
        created: u64,
        updated: u64,
        archived: u64,
    ) -> Result<(), JournalError> {
        self.pending.extend_from_slice(rows);
        self.pending_totals.created += created;
        self.pending_totals.updated += updated;
        self.pending_totals.archived += archived;
        if self.pending.len() >= COMMIT_ROWS || self.last_commit.elapsed() >= COMMIT_EVERY {
            self.commit()?;
        }
        Ok(())
    }

    /// Accepted rows recorded but not yet committed, and their totals (lost if a commit fails).
    pub fn uncommitted(&self) -> (u64, Totals) {
        (self.pending.len() as u64, self.pending_totals)
    }

    /// Adds this run's request counters (once, at the end of the run).
    pub fn record_requests(&mut self, requests: u64, retries: u64, rate_limited: u64) {
        self.pending_totals.requests += requests;
        self.pending_totals.retries += retries;
        self.pending_totals.rate_limited += rate_limited;
    }

    /// Adds this run's link counters (once, at the end of the run).
    pub fn record_links(&mut self, linked: u64, unlinked: u64) {
        self.pending_totals.linked += linked;
        self.pending_totals.unlinked += unlinked;
    }

    /// Writes everything recorded so far, durably.
    pub fn commit(&mut self) -> Result<(), JournalError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sqlite(&path, e))?;
        {
            // Many rows a statement: per-statement work was most of a commit's CPU, and the last
            // commit of a run happens after its last answer, on one core.
            let mut rows = self.pending.chunks_exact(ROWS_PER_INSERT);
            if rows.len() > 0 {
                let mut insert = tx
                    .prepare_cached(&accepted_rows_insert(ROWS_PER_INSERT))
                    .map_err(|e| sqlite(&path, e))?;
                for chunk in &mut rows {
                    let numbers = chunk.iter().map(|&row| row as i64);
                    insert
                        .execute(rusqlite::params_from_iter(numbers))
                        .map_err(|e| sqlite(&path, e))?;
                }
            }
            let mut one = tx
                .prepare_cached(&accepted_rows_insert(1))
                .map_err(|e| sqlite(&path, e))?;
            for &row in rows.remainder() {
                one.execute([row as i64]).map_err(|e| sqlite(&path, e))?;
            }
            let mut change = tx
                .prepare_cached(
                    "INSERT INTO state_changes (kind, key, hash, record_id) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(|e| sqlite(&path, e))?;
            for c in &self.pending_changes {
                let (kind, hash, record_id) = match c {
                    Change::Accepted {
                        hash, record_id, ..
                    } => (
                        CHANGE_ACCEPTED,
                        Some(*hash as i64),
                        Some(record_id.as_str()),
                    ),
                    Change::Removed { .. } => (CHANGE_REMOVED, None, None),
                    Change::InDoubt { sent_after_ms, .. } => {
                        (CHANGE_IN_DOUBT, *sent_after_ms, None)
                    }
                };
                change
                    .execute(params![kind, c.key(), hash, record_id])
                    .map_err(|e| sqlite(&path, e))?;
            }
            let totals = self.pending_totals;
            for (key, add) in [
                ("created", totals.created),
                ("updated", totals.updated),
                ("archived", totals.archived),
                ("requests", totals.requests),
                ("retries", totals.retries),
                ("rate_limited", totals.rate_limited),
                ("linked", totals.linked),
                ("unlinked", totals.unlinked),
            ] {
                if add > 0 {
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES (?1, ?2)
                         ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + ?2",
                        params![key, add as i64],
                    )
                    .map_err(|e| sqlite(&path, e))?;
                }
            }
        }
        tx.commit().map_err(|e| sqlite(&path, e))?;
        self.pending.clear();
        self.pending_totals = Totals::default();
        self.pending_changes.clear();
        self.last_commit = Instant::now();
        Ok(())
    }

    /// Marks the job as having gone through its whole input.
    pub fn complete(&mut self) -> Result<(), JournalError> {
        self.commit()?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('completed', '1')",
                [],
            )
            .map_err(|e| sqlite(&self.path, e))?;
        Ok(())
    }

    fn error(&self, source: rusqlite::Error) -> JournalError {
        sqlite(&self.path, source)
    }
}

/// Whether `path` is an etl journal (a SQLite file with our `meta` table and a fingerprint). Only
/// read: SQLite writes nothing to a file until asked to (and a WAL journal needs write access to
/// its `-shm` even to be read).
fn is_journal(path: &Path) -> bool {
    use rusqlite::OpenFlags;
    let Ok(conn) = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE) else {
        return false;
    };
    conn.query_row(
        "SELECT value FROM meta WHERE key = 'fingerprint'",
        [],
        |r| r.get::<_, String>(0),
    )
    .is_ok()
}

fn sqlite(path: &Path, source: rusqlite::Error) -> JournalError {
    JournalError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(n: u8) -> Fingerprint {
        Fingerprint(format!("fp{n}"))
    }

    #[test]
    fn progress_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.journal");
        let mut journal = Journal::start(&path, &fingerprint(1)).unwrap();
        journal
            .mark_sending(&[(1, None), (2, None), (3, None), (4, Some("k4"))])
            .unwrap();
        journal.record_accepted(&[1, 2], 2, 0, 0).unwrap();
        journal.record_requests(5, 1, 0);
        journal.commit().unwrap();
        let job = journal.job().to_string();
        drop(journal);

        let (mut journal, progress) = Journal::resume(&path, &fingerprint(1)).unwrap().unwrap();
        assert_eq!(
            journal.job(),
            job,
            "a resumed run sends the job's trace ids"
        );
        assert!(progress.accepted.contains(1) && progress.accepted.contains(2));
        assert!(progress.in_doubt.contains(3) && progress.in_doubt.contains(4));
        assert!(!progress.in_doubt.contains(1));
        let totals = progress.totals;
        assert_eq!((totals.created, totals.requests, totals.retries), (2, 5, 1));
        assert!(!progress.completed);
        journal.record_accepted(&[3], 1, 0, 0).unwrap();
        journal.complete().unwrap();
        drop(journal);

        let (_, progress) = Journal::resume(&path, &fingerprint(1)).unwrap().unwrap();
        assert_eq!(progress.accepted.len(), 3);
        assert_eq!(progress.totals.created, 3);
        assert!(progress.completed);
    }

    #[test]
    fn a_job_starts_at_its_first_runs_first_answer_whatever_later_runs_see() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.journal");
        let mut journal = Journal::start(&path, &fingerprint(1)).unwrap();
        assert_eq!(journal.started_ms(None).unwrap(), None);
        assert_eq!(journal.started_ms(Some(1_000)).unwrap(), Some(1_000));
        // Asked again in the same run: the first answer stays the start.
        assert_eq!(journal.started_ms(Some(2_000)).unwrap(), Some(1_000));
        drop(journal);
        let (mut journal, _) = Journal::resume(&path, &fingerprint(1)).unwrap().unwrap();
        assert_eq!(journal.started_ms(Some(9_000)).unwrap(), Some(1_000));
        drop(journal);
        // A new job over the old journal starts anew.
        let mut journal = Journal::start(&path, &fingerprint(2)).unwrap();
        assert_eq!(journal.started_ms(Some(5_000)).unwrap(), Some(5_000));
        drop(journal);
        // A job whose first run kept no start (an older etl) never takes a later run's as its own:
        // records that run's creates made before would look older than the job.
        std::fs::remove_file(&path).unwrap();
        let journal = Journal::start(&path, &fingerprint(3)).unwrap();
        drop(journal);
        let (mut journal, _) = Journal::resume(&path, &fingerprint(3)).unwrap().unwrap();
        assert_eq!(journal.started_ms(Some(7_000)).unwrap(), None);
    }

    #[test]
    fn keys_a_job_leaves_in_doubt_carry_the_bound_of_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.journal");
        let mut journal = Journal::start(&path, &fingerprint(1)).unwrap();
        let bound = journal.sent_after_ms(Some(10_000)).unwrap();
        assert_eq!(bound, Some(10_000 - CLOCK_MARGIN_MS));
        // One key found ambiguous in the run, one being sent when the run died.
        journal.record_state(vec![Change::InDoubt {
            key: "ambiguous".into(),
            sent_after_ms: bound,
        }]);
        journal.mark_sending(&[(1, Some("in-flight"))]).unwrap();
        journal.commit().unwrap();
        drop(journal);
        let earlier = Journal::earlier_at(&path).unwrap().unwrap();
        let doubt = |key: &str| Change::InDoubt {
            key: key.into(),
            sent_after_ms: bound,
        };
        assert_eq!(earlier.leftovers, [doubt("ambiguous"), doubt("in-flight")]);
    }

    #[test]
    fn many_accepted_rows_commit_without_waiting_for_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.journal");
        let mut journal = Journal::start(&path, &fingerprint(1)).unwrap();
        let rows: Vec<u64> = (1..=COMMIT_ROWS as u64).collect();
        journal.record_accepted(&rows[1..], 0, 0, 0).unwrap();
        assert_eq!(journal.uncommitted().0, COMMIT_ROWS as u64 - 1);
        journal.record_accepted(&rows[..1], 0, 0, 0).unwrap();
        assert_eq!(
            journal.uncommitted().0,
            0,
            "committed at {COMMIT_ROWS} rows"
        );
        drop(journal);
        let (_, progress) = Journal::resume(&path, &fingerprint(1)).unwrap().unwrap();
        assert_eq!(progress.accepted.len(), COMMIT_ROWS as u64);
    }

    #[test]
    fn rows_written_many_a_statement_and_the_rest_one_by_one_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.journal");
        let mut journal = Journal::start(&path, &fingerprint(1)).unwrap();
        // Two full statements' worth and a remainder, not in order.
        let rows: Vec<u64> = (1..=2 * ROWS_PER_INSERT as u64 + 7).rev().collect();
        journal.record_accepted(&rows, 0, 0, 0).unwrap();
        journal.commit().unwrap();
        drop(journal);
        let (_, progress) = Journal::resume(&path, &fingerprint(1)).unwrap().unwrap();
        assert_eq!(progress.accepted.len(), rows.len() as u64);
        assert!(rows.iter().all(|&row| progress.accepted.contains(row)));
        assert!(!progress.accepted.contains(rows.len() as u64 + 1));
    }

    #[test]
    fn rows_that_never_left_are_not_in_doubt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.journal");
        let mut journal = Journal::start(&path, &fingerprint(1)).unwrap();
        journal
            .mark_sending(&[(1, None), (2, None), (3, Some("k3"))])
            .unwrap();
        journal.record_accepted(&[1], 1, 0, 0).unwrap();
        journal.commit().unwrap();
        journal.unmark_sending(&[1, 3]).unwrap();
        drop(journal);
        let (_, progress) = Journal::resume(&path, &fingerprint(1)).unwrap().unwrap();
        assert!(
            progress.accepted.contains(1),
            "accepted rows keep their state"
        );
        assert!(progress.in_doubt.contains(2));
        assert!(!progress.in_doubt.contains(3));
    }

    #[test]
    fn another_jobs_journal_is_refused_and_start_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.journal");
        Journal::start(&path, &fingerprint(1)).unwrap();
        assert!(matches!(
            Journal::resume(&path, &fingerprint(2)),
            Err(JournalError::Mismatch { .. })
        ));
        Journal::start(&path, &fingerprint(2)).unwrap();
        let (journal, _) = Journal::resume(&path, &fingerprint(2)).unwrap().unwrap();
        assert_eq!(journal.job().len(), 8);
        assert!(
            Journal::resume(&dir.path().join("none"), &fingerprint(2))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn fingerprints_follow_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("a.csv");
        let pipeline = dir.path().join("p.toml");
        std::fs::write(&source, "x\n1\n").unwrap();
        std::fs::write(&pipeline, "[source]\n").unwrap();
        let first = Fingerprint::of(&source, &pipeline).unwrap();
        assert_eq!(first, Fingerprint::of(&source, &pipeline).unwrap());
        std::fs::write(&source, "x\n2\n").unwrap();
        assert_ne!(first, Fingerprint::of(&source, &pipeline).unwrap());
    }
}
