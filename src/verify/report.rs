//! What a verify found: the JSON report of `--report` and the summary printed at the end.

use serde::Serialize;

use super::compare::Tally;
use crate::job::report::Stopped;

/// The verify report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VerifyReport {
    /// Rows read from the source.
    pub rows_read: u64,
    /// Rows whose outcome is known: matching + missing + different + invalid.
    pub checked: u64,
    pub matching: u64,
    pub missing: u64,
    pub different: u64,
    pub invalid: u64,
    /// Rows read but not checked because the verify stopped early.
    pub unchecked: u64,
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
    pub elapsed_s: f64,
    pub rows_per_s: f64,
    pub stopped: Stopped,
    pub error: Option<String>,
    pub diff_file: String,
}

impl VerifyReport {
    pub fn new(tally: Tally, rows_read: u64) -> VerifyReport {
        let checked = tally.matching + tally.missing + tally.different + tally.invalid;
        VerifyReport {
            rows_read,
            checked,
            matching: tally.matching,
            missing: tally.missing,
            different: tally.different,
            invalid: tally.invalid,
            unchecked: rows_read.saturating_sub(checked),
            requests: 0,
            retries: 0,
            rate_limited: 0,
            elapsed_s: 0.0,
            rows_per_s: 0.0,
            stopped: Stopped::Completed,
            error: None,
            diff_file: String::new(),
        }
    }

    /// Whether the portal holds exactly what the source says.
    pub fn clean(&self) -> bool {
        self.checked == self.matching && self.unchecked == 0
    }

    /// The closing summary for people.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "checked:   {}\nmatching:  {}\nmissing:   {}\ndifferent: {}\ninvalid:   {}",
            self.checked, self.matching, self.missing, self.different, self.invalid
        );
        if self.unchecked > 0 {
            text.push_str(&format!(
                "\nunchecked: {} (the verify stopped early)",
                self.unchecked
            ));
        }
        text.push_str(&format!(
            "\n{} requests ({} retries, {} rate-limited) in {:.1}s",
            self.requests, self.retries, self.rate_limited, self.elapsed_s
        ));
        if !self.clean() {
            text.push_str(&format!("\ndifferences written to {}", self.diff_file));
        }
        text
    }
}
