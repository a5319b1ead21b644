//! `[sync]`: nightly syncs that send only what changed. The validated [`SyncSpec`] and the checks
//! of its raw table.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, Operation, Target};

/// How a pipeline keeps a local state of what it sent.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncSpec {
    pub mode: SyncMode,
    /// The source columns that identify a row across runs; empty: the id (`id_property`'s value,
    /// or `id_column`).
    pub key: Vec<String>,
    /// The state file (SQLite).
    pub state: PathBuf,
    /// Archive the records whose key was in the state but is not in this run's source.
    pub mirror_deletes: bool,
    /// The most mirrored deletes a run may send without `--allow-deletes`.
    pub max_deletes: DeleteLimit,
}

/// What a run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Every row (today's behaviour); the state is still kept.
    All,
    /// Only rows new or changed since the last accepted state.
    Changes,
}

/// `max_deletes`: a count, or a share of the keys in the state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeleteLimit {
    Count(u64),
    Share(f64),
}

impl DeleteLimit {
    /// The most deletes allowed for a state of `keys` keys.
    pub fn of(self, keys: u64) -> u64 {
        match self {
            DeleteLimit::Count(n) => n,
            DeleteLimit::Share(share) => (keys as f64 * share).floor() as u64,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSync {
    mode: Option<String>,
    key: Option<Vec<String>>,
    state: Option<PathBuf>,
    #[serde(default)]
    mirror_deletes: bool,
    max_deletes: Option<String>,
}

impl RawSync {
    pub(super) fn validate(
        self,
        err: &dyn Fn(&str, String) -> ConfigError,
        pipeline_file: &Path,
        target: &Target,
    ) -> Result<SyncSpec, ConfigError> {
        let mode = match self.mode.as_deref() {
            None | Some("all") => SyncMode::All,
            Some("changes") => SyncMode::Changes,
            Some(other) => {
                return Err(err(
                    "sync.mode",
                    format!("unknown mode {other:?}: expected \"all\" or \"changes\""),
                ));
            }
        };
        let key = self.key.unwrap_or_default();
        if key.iter().any(|c| c.trim().is_empty()) {
            return Err(err("sync.key", "column names must not be empty".into()));
        }
        let has_id = target.id_property.is_some() || target.id_column.is_some();
        if key.is_empty() && !has_id {
            return Err(err(
                "sync.key",
                format!(
                    "{} has no id to recognise a row by across runs: name the source columns that \
                     identify a row, e.g. key = [\"Account Id\"]",
                    target.operation
                ),
            ));
        }
        if self.mirror_deletes && target.operation == Operation::Archive {
            return Err(err(
                "sync.mirror_deletes",
                "an archive pipeline cannot also mirror deletes".into(),
            ));
        }
        let max_deletes = match self.max_deletes.as_deref().map(str::trim) {
            None => DeleteLimit::Share(0.05),
            Some(text) => parse_limit(text).ok_or_else(|| {
                err(
                    "sync.max_deletes",
                    format!("{text:?}: expected a count such as \"500\" or a share such as \"5%\""),
                )
            })?,
        };
        let dir = pipeline_file.parent().unwrap_or(Path::new(""));
        let state = match self.state {
            Some(path) => dir.join(path),
            None => super::check::sibling(pipeline_file, "state"),
        };
        Ok(SyncSpec {
            mode,
            key,
            state,
            mirror_deletes: self.mirror_deletes,
            max_deletes,
        })
    }
}

fn parse_limit(text: &str) -> Option<DeleteLimit> {
    match text.strip_suffix('%') {
        Some(share) => {
            let share: f64 = share.trim().parse().ok()?;
            (0.0..=100.0)
                .contains(&share)
                .then_some(DeleteLimit::Share(share / 100.0))
        }
        None => text.parse().ok().map(DeleteLimit::Count),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(parse_limit("500"), Some(DeleteLimit::Count(500)));
        assert_eq!(parse_limit("5%"), Some(DeleteLimit::Share(0.05)));
        assert_eq!(parse_limit("lots"), None);
        assert_eq!(parse_limit("150%"), None);
        assert_eq!(DeleteLimit::Share(0.05).of(1_000), 50);
        assert_eq!(DeleteLimit::Count(7).of(1_000), 7);
    }
}
