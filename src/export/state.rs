//! An unfinished export's progress, `<output>.export.json`: where reading stopped (the cursor after
//! the last committed page), where each file stands at that commit, and what earlier runs sent.
//! Written whole to a temporary file, synced, then renamed over the old one: a crash leaves the
//! old state or the new, never half of one. Removed when the export completes.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::ExportError;
use super::table::TableState;

/// Where reading resumes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cursor {
    /// Nothing read yet.
    #[default]
    Start,
    /// A list export: the next page's `after` (HubSpot's `paging.next.after`).
    After(String),
    /// An id export: rows of the id file read so far.
    IdRows(u64),
    /// Everything was read.
    End,
}

/// What earlier runs of the export sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sent {
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
    pub elapsed_s: f64,
}

impl Sent {
    /// Both together.
    pub fn plus(&self, other: &Sent) -> Sent {
        Sent {
            requests: self.requests + other.requests,
            retries: self.retries + other.retries,
            rate_limited: self.rate_limited + other.rate_limited,
            elapsed_s: self.elapsed_s + other.elapsed_s,
        }
    }
}

/// The state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportState {
    /// The export's fingerprint (`ExportSpec::fingerprint`).
    pub fingerprint: String,
    /// The properties read, in column order: fixed by the first run.
    pub properties: Vec<String>,
    pub cursor: Cursor,
    pub main: TableState,
    pub history: Option<TableState>,
    pub missing: Option<TableState>,
    pub sent: Sent,
}

impl ExportState {
    /// The state at `path`, if an unfinished export left one.
    pub fn load(path: &Path) -> Result<Option<ExportState>, ExportError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ExportError::io(path)(e)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ExportError::BadState {
                state: path.to_path_buf(),
                message: e.to_string(),
            })
    }

    /// Replaces the state at `path` with this one, atomically.
    pub fn save(&self, path: &Path) -> Result<(), ExportError> {
        let mut name = path.as_os_str().to_owned();
        name.push(".tmp");
        let temporary = PathBuf::from(name);
        let json = serde_json::to_vec_pretty(self).expect("a state always serializes");
        let mut file = std::fs::File::create(&temporary).map_err(ExportError::io(&temporary))?;
        file.write_all(&json)
            .and_then(|()| file.sync_all())
            .map_err(ExportError::io(&temporary))?;
        std::fs::rename(&temporary, path).map_err(ExportError::io(path))
    }

    /// Removes the state at `path` (the export completed).
    pub fn remove(path: &Path) -> Result<(), ExportError> {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ExportError::io(path)(e)),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_state_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv.export.json");
        assert_eq!(ExportState::load(&path).unwrap(), None);
        let state = ExportState {
            fingerprint: "f".into(),
            properties: vec!["email".into()],
            cursor: Cursor::After("101".into()),
            main: TableState {
                rows: 100,
                bytes: 2048,
                ..TableState::default()
            },
            history: None,
            missing: None,
            sent: Sent::default(),
        };
        state.save(&path).unwrap();
        assert_eq!(ExportState::load(&path).unwrap(), Some(state));
        std::fs::write(&path, "{").unwrap();
        assert!(ExportState::load(&path).is_err());
        ExportState::remove(&path).unwrap();
        ExportState::remove(&path).unwrap();
    }
}
