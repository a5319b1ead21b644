//! The `[sync]` state: what a pipeline last had accepted, per key, across runs and jobs — the hash of
//! the values sent, the HubSpot record id, and when. A SQLite file of its own (stable, inspectable
//! with `sqlite3`), outliving any one job's journal.
//!
//! Only accepted rows change it, and never directly: a run records its changes in the job's
//! journal, in the same transaction as the accepted rows, and [`State::apply`] merges them here at
//! the start and the end of every run (idempotently: a merge cut short by a crash is simply done
//! again). So `kill -9` loses no accepted change and a record is never created twice.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

#[derive(Debug, thiserror::Error)]
#[error("sync state {path}: {source}")]
pub struct StateError {
    path: PathBuf,
    source: rusqlite::Error,
}

/// What the state knows of one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Known {
    /// The hash of the values last accepted (`None` when in doubt).
    pub hash: Option<u64>,
    pub record_id: Option<String>,
    /// A create whose answer was lost and could not be checked: the record may exist.
    pub in_doubt: bool,
    /// In doubt: a record the create made is no older than this (its job's start by the portal's
    /// clock, less a margin; ms since the epoch). `None`: unknown.
    pub sent_after_ms: Option<i64>,
}

/// One change to the state, recorded with the accepted rows in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The key's values were accepted; its record is `record_id`.
    Accepted {
        key: String,
        hash: u64,
        record_id: String,
    },
    /// The key's record was archived (mirrored delete, or an archive pipeline).
    Removed { key: String },
    /// A create of this key may have landed: never create it blindly again. `sent_after_ms`: the
    /// record it made, if any, is no older than this (see [`Known::sent_after_ms`]).
    InDoubt {
        key: String,
        sent_after_ms: Option<i64>,
    },
}

impl Change {
    pub fn key(&self) -> &str {
        match self {
            Change::Accepted { key, .. }
            | Change::Removed { key }
            | Change::InDoubt { key, .. } => key,
        }
    }
}

/// Adds `records.sent_after_ms` to a state an older etl made (NULL: unknown, as it was).
fn add_sent_after(conn: &Connection) -> rusqlite::Result<()> {
    let has = conn
        .prepare("SELECT 1 FROM pragma_table_info('records') WHERE name = 'sent_after_ms'")?
        .exists([])?;
    if !has {
        conn.execute_batch("ALTER TABLE records ADD COLUMN sent_after_ms INTEGER")?;
    }
    Ok(())
}

/// A key and its record, as listed for mirrored deletes and exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub record_id: Option<String>,
    pub accepted_at: i64,
    pub in_doubt: bool,
    /// See [`Known::sent_after_ms`].
    pub sent_after_ms: Option<i64>,
}

/// The state file.
pub struct State {
    path: PathBuf,
    conn: Connection,
}

impl State {
    /// Opens (or creates) the state at `path`.
    pub fn open(path: &Path) -> Result<State, StateError> {
        let error = |source| StateError {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(error)?;
        // 16 KiB pages (a new file; an existing one keeps its own): a key's search walks fewer
        // pages, and an unchanged `[sync]` re-run of 1M rows took 1.42-1.47x `etl validate`
        // against 1.48-1.51x with SQLite's default 4 KiB (docs/benchmarks.md).
        conn.execute_batch(
            "PRAGMA page_size = 16384;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS records (
                 key TEXT PRIMARY KEY,
                 hash INTEGER,
                 record_id TEXT,
                 accepted_at INTEGER NOT NULL,
                 in_doubt INTEGER NOT NULL DEFAULT 0,
                 sent_after_ms INTEGER
             ) WITHOUT ROWID;",
        )
        .map_err(error)?;
        add_sent_after(&conn).map_err(error)?;
        Ok(State {
            path: path.to_path_buf(),
            conn,
        })
    }

    /// Opens an existing state for reading only (`etl state`, `etl validate`): `None` when there is
    /// none yet.
    pub fn read(path: &Path) -> Result<Option<State>, StateError> {
        if !path.exists() {
            return Ok(None);
        }
        // No mutex of SQLite's own: a connection is one thread's at a time (rusqlite's `Send`,
        // not `Sync`), and its locking took a lock per column read.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let error = |source| StateError {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(path, flags).map_err(error)?;
        add_sent_after(&conn).map_err(error)?;
        Ok(Some(State {
            path: path.to_path_buf(),
            conn,
        }))
    }

    /// What the state knows of `key`.
    pub fn lookup(&self, key: &str) -> Result<Option<Known>, StateError> {
        let mut query = self
            .conn
            .prepare_cached(
                "SELECT hash, record_id, in_doubt, sent_after_ms FROM records WHERE key = ?1",
            )
            .map_err(|e| self.error(e))?;
        query
            .query_row(params![key], |row| {
                Ok(Known {
                    hash: row.get::<_, Option<i64>>(0)?.map(|h| h as u64),
                    record_id: row.get(1)?,
                    in_doubt: row.get::<_, i64>(2)? != 0,
                    sent_after_ms: row.get(3)?,
                })
            })
            .optional()
            .map_err(|e| self.error(e))
    }

    /// Applies changes in one transaction (the last change of a key wins).
    pub fn apply(&mut self, changes: &[Change], now_ms: i64) -> Result<(), StateError> {
        let path = self.path.clone();
        let error = |source| StateError {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(error)?;
        {
            let mut accept = tx
                .prepare_cached(
                    "INSERT INTO records (key, hash, record_id, accepted_at, in_doubt)
                     VALUES (?1, ?2, ?3, ?4, 0)
                     ON CONFLICT(key) DO UPDATE SET hash = ?2, record_id = ?3, accepted_at = ?4,
                     in_doubt = 0",
                )
                .map_err(error)?;
            // A key in doubt twice keeps the earlier bound (a record either create made is no
            // older than it); an unknown one stays unknown (SQLite's `min` of a NULL is NULL).
            let mut doubt = tx
                .prepare_cached(
                    "INSERT INTO records (key, hash, record_id, accepted_at, in_doubt, sent_after_ms)
                     VALUES (?1, NULL, NULL, ?2, 1, ?3)
                     ON CONFLICT(key) DO UPDATE SET hash = NULL, in_doubt = 1,
                     sent_after_ms = CASE WHEN in_doubt = 1 THEN min(sent_after_ms, ?3) ELSE ?3 END",
                )
                .map_err(error)?;
            let mut remove = tx
                .prepare_cached("DELETE FROM records WHERE key = ?1")
                .map_err(error)?;
            for change in changes {
                match change {
                    Change::Accepted {
                        key,
                        hash,
                        record_id,
                    } => accept.execute(params![key, *hash as i64, record_id, now_ms]),
                    Change::InDoubt { key, sent_after_ms } => {
                        doubt.execute(params![key, now_ms, sent_after_ms])
                    }
                    Change::Removed { key } => remove.execute(params![key]),
                }
                .map_err(error)?;
            }
        }
        tx.commit().map_err(error)
    }

    /// How many keys the state holds.
    pub fn keys(&self) -> Result<u64, StateError> {
        self.conn
            .query_row("SELECT count(*) FROM records", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.error(e))
    }

    /// Every key, in key order, for mirrored deletes and exports.
    pub fn entries(&self, mut each: impl FnMut(Entry)) -> Result<(), StateError> {
        let mut query = self
            .conn
            .prepare(
                "SELECT key, record_id, accepted_at, in_doubt, sent_after_ms FROM records
                 ORDER BY key",
            )
            .map_err(|e| self.error(e))?;
        let mut rows = query.query([]).map_err(|e| self.error(e))?;
        while let Some(row) = rows.next().map_err(|e| self.error(e))? {
            let entry = (|| {
                Ok(Entry {
                    key: row.get(0)?,
                    record_id: row.get(1)?,
                    accepted_at: row.get(2)?,
                    in_doubt: row.get::<_, i64>(3)? != 0,
                    sent_after_ms: row.get(4)?,
                })
            })()
            .map_err(|e| self.error(e))?;
            each(entry);
        }
        Ok(())
    }

    /// Forgets keys (after a person checked an in-doubt create by hand).
    pub fn forget(&mut self, keys: &[String]) -> Result<u64, StateError> {
        let changes: Vec<Change> = keys
            .iter()
            .map(|key| Change::Removed { key: key.clone() })
            .collect();
        let before = self.keys()?;
        self.apply(&changes, 0)?;
        Ok(before - self.keys()?)
    }

    /// The state as it stands now, for many lookups: see [`Snapshot`].
    pub fn snapshot(self) -> Result<Snapshot, StateError> {
        // Pages read from a mapping of the file, not copied by a read() each (SQLite's own cache
        // is 2 MB a connection, a 100k-key state 6 MB): 8 % of an unchanged re-run. The mapped
        // pages are the OS's page cache, shared and reclaimable, yet counted in the process's
        // resident size: bounded at 256 MiB (4M keys); a larger state reads the rest as before.
        // Deferred: the snapshot is taken by the first lookup.
        self.conn
            .execute_batch("PRAGMA mmap_size = 268435456; BEGIN DEFERRED")
            .map_err(|e| self.error(e))?;
        Ok(Snapshot { state: self })
    }

    fn error(&self, source: rusqlite::Error) -> StateError {
        StateError {
            path: self.path.clone(),
            source,
        }
    }
}

/// A state read as of one moment, through one read transaction held open: a lookup then costs a
/// B-tree search, not the locks, file checks and system calls of a transaction of its own (those
/// were most of an unchanged `[sync]` re-run). A run's state changes only at its start and end
/// (see the module), so a run's filter sees what a lookup of its own would; writers are not held
/// up (the state is in WAL mode).
pub struct Snapshot {
    state: State,
}

impl Snapshot {
    /// What the state knew of `key` when the snapshot was taken.
    pub fn lookup(&self, key: &str) -> Result<Option<Known>, StateError> {
        self.state.lookup(key)
    }

    /// For each of `keys`, the hash of the values last accepted; `None` when the key is unknown
    /// or in doubt. [`Snapshot::lookup`] without the record id, many keys through one statement.
    pub fn accepted_hashes<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> Result<Vec<Option<u64>>, StateError> {
        let state = &self.state;
        let mut query = state
            .conn
            .prepare_cached("SELECT hash FROM records WHERE key = ?1 AND in_doubt = 0")
            .map_err(|e| state.error(e))?;
        keys.into_iter()
            .map(|key| {
                query
                    .query_row(params![key], |row| row.get::<_, Option<i64>>(0))
                    .optional()
                    .map(|hash| hash.flatten().map(|h| h as u64))
                    .map_err(|e| state.error(e))
            })
            .collect()
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        // Only reads happened: ending the transaction cannot lose anything.
        let _ = self.state.conn.execute_batch("COMMIT");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_survive_reopening_and_the_last_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.state");
        let mut state = State::open(&path).unwrap();
        let accepted = |key: &str, hash, id: &str| Change::Accepted {
            key: key.into(),
            hash,
            record_id: id.into(),
        };
        state
            .apply(
                &[
                    accepted("a", 1, "101"),
                    accepted("b", 2, "102"),
                    accepted("a", u64::MAX, "101"),
                    Change::InDoubt {
                        key: "c".into(),
                        sent_after_ms: None,
                    },
                ],
                5,
            )
            .unwrap();
        drop(state);
        let mut state = State::open(&path).unwrap();
        assert_eq!(
            state.lookup("a").unwrap(),
            Some(Known {
                hash: Some(u64::MAX),
                record_id: Some("101".into()),
                in_doubt: false,
                sent_after_ms: None,
            })
        );
        assert!(state.lookup("c").unwrap().unwrap().in_doubt);
        assert_eq!(state.lookup("zz").unwrap(), None);
        state
            .apply(&[Change::Removed { key: "b".into() }], 6)
            .unwrap();
        assert_eq!(state.keys().unwrap(), 2);
        let mut keys = Vec::new();
        state.entries(|e| keys.push(e.key)).unwrap();
        assert_eq!(keys, ["a", "c"]);
        assert_eq!(state.forget(&["c".into(), "nope".into()]).unwrap(), 1);
    }

    #[test]
    fn a_key_in_doubt_twice_keeps_the_earlier_bound_and_an_unknown_one_stays_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.state");
        let mut state = State::open(&path).unwrap();
        let doubt = |key: &str, sent_after_ms| Change::InDoubt {
            key: key.into(),
            sent_after_ms,
        };
        let bound = |state: &State, key| state.lookup(key).unwrap().unwrap().sent_after_ms;
        state
            .apply(&[doubt("a", Some(2_000)), doubt("b", Some(2_000))], 1)
            .unwrap();
        // The next night's job is in doubt about them again: a record either create made is no
        // older than the first bound.
        state
            .apply(&[doubt("a", Some(9_000)), doubt("b", None)], 2)
            .unwrap();
        assert_eq!(bound(&state, "a"), Some(2_000));
        assert_eq!(bound(&state, "b"), None);
        // Accepted, then in doubt again: the new bound alone.
        let accepted = Change::Accepted {
            key: "a".into(),
            hash: 1,
            record_id: "101".into(),
        };
        state
            .apply(&[accepted, doubt("a", Some(7_000))], 3)
            .unwrap();
        assert_eq!(bound(&state, "a"), Some(7_000));
    }

    #[test]
    fn a_new_state_has_16_kib_pages_and_an_older_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let page_size = |state: &State| {
            state
                .conn
                .query_row("PRAGMA page_size", [], |row| row.get::<_, i64>(0))
                .unwrap()
        };
        let fresh = State::open(&dir.path().join("new.state")).unwrap();
        assert_eq!(page_size(&fresh), 16_384);
        // An older etl's state (SQLite's default 4 KiB pages, already in WAL mode) is opened as it
        // is: a WAL database cannot change its page size, and it need not.
        let path = dir.path().join("old.state");
        let old = Connection::open(&path).unwrap();
        old.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE records (key TEXT PRIMARY KEY, hash INTEGER, record_id TEXT,
                 accepted_at INTEGER NOT NULL, in_doubt INTEGER NOT NULL DEFAULT 0,
                 sent_after_ms INTEGER) WITHOUT ROWID;
             INSERT INTO records VALUES ('k', 7, '101', 1, 0, NULL);",
        )
        .unwrap();
        drop(old);
        let state = State::open(&path).unwrap();
        assert_eq!(page_size(&state), 4_096);
        assert_eq!(state.lookup("k").unwrap().unwrap().hash, Some(7));
    }

    #[test]
    fn a_state_an_older_etl_made_gains_the_bound_column_as_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.state");
        let old = Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE records (key TEXT PRIMARY KEY, hash INTEGER, record_id TEXT,
                 accepted_at INTEGER NOT NULL, in_doubt INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
             INSERT INTO records VALUES ('k', NULL, NULL, 1, 1);",
        )
        .unwrap();
        drop(old);
        let state = State::read(&path).unwrap().unwrap();
        let known = state.lookup("k").unwrap().unwrap();
        assert!(known.in_doubt);
        assert_eq!(known.sent_after_ms, None);
        drop(state);
        assert!(State::open(&path).unwrap().lookup("k").unwrap().is_some());
    }

    #[test]
    fn a_snapshot_keeps_what_it_first_saw_while_the_state_is_written_and_lets_go_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.state");
        let accepted = |key: &str, hash| Change::Accepted {
            key: key.into(),
            hash,
            record_id: format!("{hash}"),
        };
        let mut writer = State::open(&path).unwrap();
        writer.apply(&[accepted("a", 1)], 1).unwrap();
        let snapshot = State::read(&path).unwrap().unwrap().snapshot().unwrap();
        assert_eq!(snapshot.lookup("a").unwrap().unwrap().hash, Some(1));
        // The writer is not held up by the open snapshot, which goes on seeing the state as it was.
        writer
            .apply(&[accepted("a", 2), accepted("b", 3)], 2)
            .unwrap();
        assert_eq!(snapshot.lookup("a").unwrap().unwrap().hash, Some(1));
        assert_eq!(snapshot.lookup("b").unwrap(), None);
        assert_eq!(writer.lookup("a").unwrap().unwrap().hash, Some(2));
        drop(snapshot);
        let later = State::read(&path).unwrap().unwrap().snapshot().unwrap();
        assert_eq!(later.lookup("a").unwrap().unwrap().hash, Some(2));
        assert_eq!(later.lookup("b").unwrap().unwrap().hash, Some(3));
        drop(later);
        // No read is left open: the whole log can be folded back into the file.
        let (busy, _, _): (i64, i64, i64) = writer
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(busy, 0);
    }
}
