//! The writing half of an export, on a thread of its own (parsing and encoding never run on the
//! async runtime): pages of records arrive in order over a bounded channel and go to the output, the
//! history file and the missing-id file; at each commit all three are made durable together and
//! the state records the cursor after the last page they hold — so `--resume` reads every record
//! exactly once.
//!
//! Commits come when a Parquet part closes (a full row group, or a widened column), every second
//! for CSV, and when the export stops. When the reader reached the end, the files are completed at
//! their final names and the state is removed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::columns::{Plan, Row};
use super::csv_out::{CsvTable, partial_of};
use super::error::ExportError;
use super::report::ExportCounters;
use super::state::{Cursor, ExportState, Sent};
use super::table::Table;
use crate::portal::Portal;
use crate::portal::halt::{Halt, HaltFlag};
use crate::read::Page;

/// How often a CSV export commits.
const CSV_COMMIT_EVERY: Duration = Duration::from_secs(1);

/// An id of `--ids` that matched no record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The id file's row.
    pub row: u64,
    pub id: String,
}

/// One page's worth of results, in order.
#[derive(Debug, Default)]
pub struct Chunk {
    pub rows: Vec<Row>,
    /// A list page's body, parsed here rather than by the reader (its rows come before `rows`).
    pub body: Option<Vec<u8>>,
    pub missing: Vec<Missing>,
    /// Where reading resumes after this chunk.
    pub cursor: Cursor,
}

/// The files an export writes.
pub struct Files {
    pub main: Box<dyn Table>,
    pub history: Option<Box<dyn Table>>,
    /// The missing-id file (id exports only) and its final path.
    pub missing: Option<(CsvTable, PathBuf)>,
}

/// How the writing ended.
#[derive(Debug)]
pub struct Sunk {
    pub state: ExportState,
    /// The reader reached the end and the files are complete.
    pub completed: bool,
}

pub struct Sink {
    pub plan: Plan,
    pub files: Files,
    pub state: ExportState,
    pub state_path: PathBuf,
    pub csv: bool,
    pub counters: Arc<ExportCounters>,
    pub portal: Arc<Portal>,
    /// What earlier runs sent, and when this run started.
    pub earlier: Sent,
    pub started: Instant,
}

impl Sink {
    /// Runs the sink on its own thread until the channel closes. A failure raises `halt`, so the
    /// reader stops sending.
    pub fn spawn(
        self,
        mut chunks: mpsc::Receiver<Chunk>,
        halt: Arc<HaltFlag>,
    ) -> std::thread::JoinHandle<Result<Sunk, ExportError>> {
        std::thread::spawn(move || {
            let mut sink = self;
            let mut last_commit = Instant::now();
            let result = (|| {
                while let Some(chunk) = chunks.blocking_recv() {
                    sink.take(chunk)?;
                    let due = sink.csv && last_commit.elapsed() >= CSV_COMMIT_EVERY;
                    if due || sink.ripe() {
                        sink.commit()?;
                        last_commit = Instant::now();
                    }
                }
                sink.close()
            })();
            if let Err(error) = &result {
                halt.raise(Halt::Failed(error.to_string()));
            }
            result
        })
    }

    fn take(&mut self, chunk: Chunk) -> Result<(), ExportError> {
        let mut rows = match &chunk.body {
            Some(body) => Page::parse(body, &self.plan.wanted)
                .map_err(|e| ExportError::Read(format!("unreadable list page: {e}")))?
                .records
                .into_iter()
                .map(|record| Row {
                    record,
                    links: Vec::new(),
                })
                .collect(),
            None => Vec::new(),
        };
        rows.extend(chunk.rows);
        let records = rows.len() as u64;
        for row in rows {
            if let Some(history) = &mut self.files.history {
                let versions = self.plan.history_cells(&row.record);
                self.counters
                    .history_rows
                    .fetch_add(versions.len() as u64, Relaxed);
                for cells in versions {
                    history.push(cells)?;
                }
            }
            self.files.main.push(self.plan.cells(row))?;
        }
        if let Some((missing, _)) = &mut self.files.missing {
            for m in &chunk.missing {
                missing.push(vec![Some(m.id.clone()), Some(m.row.to_string())])?;
            }
        }
        self.counters.records.fetch_add(records, Relaxed);
        self.counters
            .missing
            .fetch_add(chunk.missing.len() as u64, Relaxed);
        self.state.cursor = chunk.cursor;
        Ok(())
    }

    fn ripe(&self) -> bool {
        self.files.main.ripe() || self.files.history.as_ref().is_some_and(|h| h.ripe())
    }

    /// Makes every file durable, then records the state; only then may what it replaced go.
    fn commit(&mut self) -> Result<(), ExportError> {
        self.state.main = self.files.main.commit()?;
        if let Some(history) = &mut self.files.history {
            self.state.history = Some(history.commit()?);
        }
        if let Some((missing, _)) = &mut self.files.missing {
            self.state.missing = Some(missing.commit()?);
        }
        self.state.sent = self.sent();
        self.state.save(&self.state_path)?;
        self.files.main.committed()?;
        if let Some(history) = &mut self.files.history {
            history.committed()?;
        }
        Ok(())
    }

    /// What this export sent, earlier runs included.
    fn sent(&self) -> Sent {
        let traffic = self.portal.traffic();
        Sent {
            requests: self.earlier.requests + traffic.requests.load(Relaxed),
            retries: self.earlier.retries + traffic.retries.load(Relaxed),
            rate_limited: self.earlier.rate_limited + traffic.rate_limited.load(Relaxed),
            elapsed_s: self.earlier.elapsed_s + self.started.elapsed().as_secs_f64(),
        }
    }

    /// At the end of the input: complete every file and remove the state. Otherwise: commit, so
    /// `--resume` continues after the last page written.
    fn close(mut self) -> Result<Sunk, ExportError> {
        if self.state.cursor != Cursor::End {
            self.commit()?;
            return Ok(Sunk {
                state: self.state,
                completed: false,
            });
        }
        // Complete the files, then the state goes: a crash in between resumes into a finish.
        self.commit()?;
        let Files {
            main,
            history,
            missing,
        } = self.files;
        main.finish()?;
        if let Some(history) = history {
            history.finish()?;
        }
        if let Some((mut table, path)) = missing {
            if table.commit()?.rows == 0 {
                remove_if_present(&partial_of(&path))?;
                remove_if_present(&path)?;
            } else {
                Box::new(table).finish()?;
            }
        }
        self.state.sent = Sent {
            elapsed_s: self.earlier.elapsed_s + self.started.elapsed().as_secs_f64(),
            ..self.state.sent
        };
        ExportState::remove(&self.state_path)?;
        Ok(Sunk {
            state: self.state,
            completed: true,
        })
    }
}

/// Removes `path` if it exists.
pub fn remove_if_present(path: &Path) -> Result<(), ExportError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ExportError::io(path)(e)),
        _ => Ok(()),
    }
}
