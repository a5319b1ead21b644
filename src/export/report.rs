//! What an export did: live counters for the progress line, and the JSON report of `--report`
//! (the whole export's, earlier runs of a resumed one included) with its summary for people.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use serde::Serialize;

use crate::job::report::Stopped;

/// Counted as pages are written.
#[derive(Debug, Default)]
pub struct ExportCounters {
    pub records: AtomicU64,
    pub history_rows: AtomicU64,
    /// Ids of `--ids` that matched no record.
    pub missing: AtomicU64,
}

impl ExportCounters {
    /// The progress line.
    pub fn line(&self, requests: u64, retries: u64, elapsed: Duration) -> String {
        let records = self.records.load(Relaxed);
        format!(
            "{:.0} records/s · {records} records · {} missing · {requests} requests · {retries} retries",
            records as f64 / elapsed.as_secs_f64().max(0.001),
            self.missing.load(Relaxed),
        )
    }
}

/// The export report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExportReport {
    /// Records written to the output.
    pub records: u64,
    /// Rows written to the history file.
    pub history_rows: u64,
    /// Ids of `--ids` that matched no record.
    pub missing: u64,
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
    pub elapsed_s: f64,
    pub records_per_s: f64,
    pub stopped: Stopped,
    /// Why a fatal export stopped (`null` otherwise).
    pub error: Option<String>,
    pub output: String,
    /// The history file (`null` without `--history`).
    pub history_file: Option<String>,
    /// The missing-id file (`null` when every id matched, or without `--ids`).
    pub missing_file: Option<String>,
}

impl ExportReport {
    /// The closing summary for people.
    pub fn summary(&self) -> String {
        let mut text = format!("{} records exported", self.records);
        if let Some(history) = &self.history_file {
            text.push_str(&format!(", {} history rows ({history})", self.history_rows));
        }
        if self.missing > 0 {
            text.push_str(&format!(", {} ids not found", self.missing));
            if let Some(file) = &self.missing_file {
                text.push_str(&format!(" ({file})"));
            }
        }
        text.push_str(&format!(
            "\n{} requests ({} retries, {} rate-limited) in {:.1}s, {} records/s",
            self.requests, self.retries, self.rate_limited, self.elapsed_s, self.records_per_s
        ));
        if self.stopped == Stopped::Completed {
            text.push_str(&format!("\nwritten to {}", self.output));
        }
        text
    }
}
