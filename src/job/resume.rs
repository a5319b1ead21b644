//! What earlier runs of a resumed job finished: the rows the journal says were accepted and the
//! rows the dead-letter file holds. A resumed run skips them and adds their totals to its report.

use super::dead_letter::{self, DeadLetterError};
use super::journal::Progress;
use super::report::{Report, Stopped};
use super::row_set::RowSet;
use crate::config::Pipeline;

/// What earlier runs of a resumed job finished.
pub struct Earlier {
    pub progress: Progress,
    /// Rows already in the dead-letter file.
    dead: RowSet,
}

impl Earlier {
    /// Reads the dead-letter file beside the journal's progress (cutting a torn last record).
    pub fn read(progress: Progress, pipeline: &Pipeline) -> Result<Earlier, DeadLetterError> {
        let dead_letters = &pipeline.dead_letter;
        let dead = dead_letter::rows_written(&dead_letters.path, dead_letters.delimiter)?;
        Ok(Earlier { progress, dead })
    }

    /// How many rows earlier runs finished (accepted or dead-lettered).
    pub fn finished(&self) -> u64 {
        self.progress.accepted.len() + self.dead.len()
    }

    pub fn is_finished(&self, row: u64) -> bool {
        self.progress.accepted.contains(row) || self.dead.contains(row)
    }

    /// Whether a run already went through the whole input.
    pub fn completed(&self) -> bool {
        self.progress.completed
    }

    /// The job's report as the earlier runs left it.
    pub fn report(&self, pipeline: &Pipeline) -> Report {
        let p = &self.progress;
        let t = &p.totals;
        let done = p.accepted.len() + self.dead.len();
        Report {
            rows_read: done,
            accepted: p.accepted.len(),
            created: t.created,
            updated: t.updated,
            archived: t.archived,
            dead_lettered: self.dead.len(),
            unfinished: 0,
            unchanged: 0,
            deleted: 0,
            requests: t.requests,
            retries: t.retries,
            rate_limited: t.rate_limited,
            bisections: 0,
            verified_creates: 0,
            linked: t.linked,
            unlinked: t.unlinked,
            elapsed_s: 0.0,
            rows_per_s: 0.0,
            stopped: Stopped::Completed,
            error: None,
            dead_letter_file: pipeline.dead_letter.path.display().to_string(),
        }
    }
}
