//! Mirrored deletes of a `[sync]` run: the records whose key left the source are archived with
//! batch archive calls through the portal (rate gate, retries), after every row of the run. Each
//! archived key leaves the state; a key that could not be archived stays, is written to the
//! deletes' dead-letter file, and is tried again by the next run (archive is idempotent).

use std::path::Path;

use crate::job::state::{Change, Entry, State, StateError};
use crate::portal::response::ErrorItem;
use crate::portal::{Call, Portal, Unpaced};

/// What the deletes did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    pub archived: u64,
    pub failed: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum DeleteError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot write the deletes' dead-letter file {path}: {reason}")]
    File { path: String, reason: String },
}

/// Archives `entries` of `object` in batches of `batch_size`; failures go to `failed_file`.
pub async fn mirror_deletes(
    portal: &Portal,
    object: &str,
    entries: Vec<Entry>,
    batch_size: usize,
    state: &mut State,
    failed_file: &Path,
) -> Result<Deleted, DeleteError> {
    let mut done = Deleted::default();
    let mut failures: Vec<(Entry, String, String)> = Vec::new();
    let path = portal.paths().batch(object, "archive");
    for chunk in entries.chunks(batch_size.max(1)) {
        let ids: Vec<serde_json::Value> = chunk
            .iter()
            .map(|e| serde_json::json!({ "id": e.record_id }))
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({ "inputs": ids }))
            .expect("a JSON body always serializes");
        let failure = match portal.post(&path, body, false, &Unpaced).await {
            Call::Answer(reply) if (200..300).contains(&reply.status) => None,
            Call::Answer(reply) => {
                let error = ErrorItem::parse(&reply.body);
                Some((format!("HTTP_{}", reply.status), error.message))
            }
            Call::GaveUp(reason) | Call::Ambiguous(reason) => {
                Some(("RETRIES_EXHAUSTED".to_string(), reason))
            }
            // Stopping: the rest stays in the state, for the next run.
            Call::Halted => break,
        };
        match failure {
            None => {
                let removed: Vec<Change> = chunk
                    .iter()
                    .map(|e| Change::Removed { key: e.key.clone() })
                    .collect();
                state.apply(&removed, 0)?;
                done.archived += chunk.len() as u64;
            }
            Some((category, message)) => {
                done.failed += chunk.len() as u64;
                failures.extend(
                    chunk
                        .iter()
                        .map(|e| (e.clone(), category.clone(), message.clone())),
                );
            }
        }
    }
    if !failures.is_empty() {
        write_failures(failed_file, &failures)?;
    }
    Ok(done)
}

/// `key,record_id,etl_category,etl_message`, one line a key that could not be archived.
fn write_failures(path: &Path, failures: &[(Entry, String, String)]) -> Result<(), DeleteError> {
    let error = |reason: String| DeleteError::File {
        path: path.display().to_string(),
        reason,
    };
    let mut writer = csv::Writer::from_path(path).map_err(|e| error(e.to_string()))?;
    writer
        .write_record(["key", "record_id", "etl_category", "etl_message"])
        .map_err(|e| error(e.to_string()))?;
    for (entry, category, message) in failures {
        writer
            .write_record([
                entry.key.as_str(),
                entry.record_id.as_deref().unwrap_or(""),
                category,
                message,
            ])
            .map_err(|e| error(e.to_string()))?;
    }
    writer.flush().map_err(|e| error(e.to_string()))
}
