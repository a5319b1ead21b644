//! The first half of the data path (placeholder until the readers land).

use std::path::Path;

/// What `etl validate` found.
#[derive(Debug, Default)]
pub struct ValidateSummary {
    pub rows_read: u64,
    pub valid: u64,
    pub invalid: u64,
}

impl std::fmt::Display for ValidateSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} rows read, {} valid, {} invalid",
            self.rows_read, self.valid, self.invalid
        )
    }
}

/// Runs `etl validate`: map and validate every row against the target's schema, without writes.
pub async fn validate(pipeline: &Path) -> Result<ValidateSummary, std::io::Error> {
    let _ = pipeline;
    Ok(ValidateSummary::default())
}
