//! The plan's journal: which stages of the current run of a plan started and finished (each stage
//! keeps its own row journal; this file only says which of them belong to this run). `--resume`
//! reads it to continue at the stage that stopped, and never takes a stage's journal left by another
//! run of the plan for this one's.
//!
//! A small JSON file (`<plan>.stages.json`), replaced whole on every change (written beside, synced,
//! renamed over), so a crash leaves the old version or the new one.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The plan's journal could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PlanJournalError {
    #[error("plan journal {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("plan journal {path} is not an etl plan journal: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "the plan's stages changed since its last run (journal {path}): run it without --resume \
         to start it over"
    )]
    Changed { path: PathBuf },
}

/// How far a stage of this run of the plan went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    NotStarted,
    Started,
    Completed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    pipeline: String,
    status: StageStatus,
}

/// The plan's journal, as held in memory.
#[derive(Debug)]
pub struct PlanJournal {
    path: PathBuf,
    stages: Vec<Entry>,
}

impl PlanJournal {
    /// A new run of the plan with these stages (pipeline files, in order), written at once.
    pub fn start(path: &Path, stages: &[PathBuf]) -> Result<PlanJournal, PlanJournalError> {
        let journal = PlanJournal {
            path: path.to_path_buf(),
            stages: stages
                .iter()
                .map(|p| Entry {
                    pipeline: p.display().to_string(),
                    status: StageStatus::NotStarted,
                })
                .collect(),
        };
        journal.write()?;
        Ok(journal)
    }

    /// The journal of the run `--resume` continues; a new one when there is none.
    pub fn resume(path: &Path, stages: &[PathBuf]) -> Result<PlanJournal, PlanJournalError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return PlanJournal::start(path, stages);
            }
            Err(source) => {
                return Err(PlanJournalError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let entries: Vec<Entry> =
            serde_json::from_str(&text).map_err(|e| PlanJournalError::Unreadable {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let same = entries.len() == stages.len()
            && entries
                .iter()
                .zip(stages)
                .all(|(e, p)| e.pipeline == p.display().to_string());
        if !same {
            return Err(PlanJournalError::Changed {
                path: path.to_path_buf(),
            });
        }
        Ok(PlanJournal {
            path: path.to_path_buf(),
            stages: entries,
        })
    }

    /// Stage `index`'s status in this run.
    pub fn status(&self, index: usize) -> StageStatus {
        self.stages
            .get(index)
            .map_or(StageStatus::NotStarted, |e| e.status)
    }

    /// Records stage `index`'s status, durably.
    pub fn set(&mut self, index: usize, status: StageStatus) -> Result<(), PlanJournalError> {
        if let Some(entry) = self.stages.get_mut(index) {
            entry.status = status;
        }
        self.write()
    }

    fn write(&self) -> Result<(), PlanJournalError> {
        let io = |source| PlanJournalError::Io {
            path: self.path.clone(),
            source,
        };
        let text = serde_json::to_vec_pretty(&self.stages).expect("the journal serializes");
        let mut temporary = self.path.clone().into_os_string();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let mut file = std::fs::File::create(&temporary).map_err(io)?;
        file.write_all(&text).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&temporary, &self.path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_survive_and_a_changed_plan_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.stages.json");
        let stages = [PathBuf::from("a.toml"), PathBuf::from("b.toml")];
        let mut journal = PlanJournal::start(&path, &stages).unwrap();
        journal.set(0, StageStatus::Completed).unwrap();
        journal.set(1, StageStatus::Started).unwrap();
        let journal = PlanJournal::resume(&path, &stages).unwrap();
        assert_eq!(journal.status(0), StageStatus::Completed);
        assert_eq!(journal.status(1), StageStatus::Started);
        assert!(matches!(
            PlanJournal::resume(&path, &stages[..1]),
            Err(PlanJournalError::Changed { .. })
        ));
        let fresh = PlanJournal::resume(&dir.path().join("none.json"), &stages).unwrap();
        assert_eq!(fresh.status(1), StageStatus::NotStarted);
    }
}
