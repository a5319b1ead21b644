//! A row's name on the wire: the `objectWriteTraceId` every create/update/upsert input carries,
//! `<job>-<row>`. The row number alone would repeat in every job (each file starts at row 1), so a
//! portal's trace ids — and the sandbox's duplicate check — could not tell two jobs apart; the
//! job's id, kept in its journal, makes them unique per job and stable across its resumed runs.

/// The trace ids of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceIds {
    /// `<job>-`, the prefix of every trace id of the job.
    prefix: String,
}

impl TraceIds {
    /// The trace ids of the job `job` (letters and digits).
    pub fn new(job: &str) -> TraceIds {
        TraceIds {
            prefix: format!("{job}-"),
        }
    }

    /// `<job>-`: a trace id is this and the row number (the encoder writes both straight into a
    /// request body).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The trace id of `row`.
    pub fn of(&self, row: u64) -> String {
        format!("{}{row}", self.prefix)
    }

    /// The row a trace id of this job names; `None` for another job's or a damaged one.
    pub fn row_of(&self, trace: &str) -> Option<u64> {
        let digits = trace.strip_prefix(&self.prefix)?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    }
}

/// A new job id: eight hex digits from the clock and the process id. Not a secret, only unique
/// enough that two jobs against one portal do not share trace ids.
pub fn new_job_id() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let mut seed = Vec::with_capacity(20);
    seed.extend_from_slice(&nanos.to_le_bytes());
    seed.extend_from_slice(&std::process::id().to_le_bytes());
    format!("{:08x}", xxhash_rust::xxh3::xxh3_64(&seed) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_name_job_and_row_and_read_back() {
        let traces = TraceIds::new("5f3a9c01");
        assert_eq!(traces.of(151), "5f3a9c01-151");
        assert_eq!(traces.row_of("5f3a9c01-151"), Some(151));
        assert_eq!(traces.row_of("5f3a9c02-151"), None, "another job's");
        assert_eq!(traces.row_of("151"), None, "a bare row number");
        assert_eq!(traces.row_of("5f3a9c01-"), None);
        assert_eq!(traces.row_of("5f3a9c01-+1"), None);
        assert_eq!(traces.row_of("5f3a9c01-99999999999999999999999"), None);
    }

    #[test]
    fn job_ids_are_eight_hex_digits_and_differ() {
        let a = new_job_id();
        assert_eq!(a.len(), 8);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        let ids: std::collections::HashSet<String> = (0..50).map(|_| new_job_id()).collect();
        assert!(ids.len() > 1, "the clock moves between calls");
    }
}
