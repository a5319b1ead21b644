//! What a run did: live counters shared by the dispatcher and the outcome writer, and the final
//! JSON report (DESIGN.md §6) with why the run stopped.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use serde::Serialize;

use crate::portal::Traffic;
use crate::portal::halt::Halt;

/// Counters of rows' fates, updated as the run goes; all monotonic. (Requests are counted by the
/// portal, where they leave: [`Traffic`].)
#[derive(Debug, Default)]
pub struct Counters {
    pub accepted: AtomicU64,
    pub created: AtomicU64,
    pub updated: AtomicU64,
    pub archived: AtomicU64,
    pub dead_lettered: AtomicU64,
    /// Rows read but neither accepted nor dead-lettered because the run stopped early.
    pub unfinished: AtomicU64,
    /// `[sync]`: rows not sent because nothing changed since they were last accepted.
    pub unchanged: AtomicU64,
    /// `[sync]`: records archived because their key left the source (mirrored deletes).
    pub deleted: AtomicU64,
    /// Extra requests spent isolating bad rows of whole-batch failures.
    pub bisections: AtomicU64,
    /// Rows of creates whose answer was lost, found created by a lookup through a unique property.
    pub verified: AtomicU64,
    /// Links written with the v4 associations API (after updates and upserts, and `associate`).
    pub linked: AtomicU64,
    /// Links removed (`dissociate`).
    pub unlinked: AtomicU64,
    pub in_flight: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    /// Rows whose fate is known: accepted, dead-lettered or unfinished.
    pub fn settled(&self) -> u64 {
        self.accepted.load(Relaxed)
            + self.dead_lettered.load(Relaxed)
            + self.unfinished.load(Relaxed)
    }
}

/// Why a run ended: the report's `stopped` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stopped {
    /// The whole input went through.
    Completed,
    /// 429 `DAILY`: resumable after the reset.
    DailyLimit,
    /// Ctrl-C or SIGTERM: resumable.
    Interrupted,
    /// The shared rate budget (Redis) stayed unreachable: resumable.
    SharedBudgetUnavailable,
    /// A refused token or a local failure.
    Fatal,
}

impl From<Option<&Halt>> for Stopped {
    fn from(halt: Option<&Halt>) -> Stopped {
        match halt {
            None => Stopped::Completed,
            Some(Halt::DailyLimit(_)) => Stopped::DailyLimit,
            Some(Halt::Interrupted) => Stopped::Interrupted,
            Some(Halt::BudgetUnavailable(_)) => Stopped::SharedBudgetUnavailable,
            Some(Halt::Refused { .. } | Halt::Failed(_)) => Stopped::Fatal,
        }
    }
}

/// The run report written by `--report FILE` and summarised on exit.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub rows_read: u64,
    pub accepted: u64,
    pub created: u64,
    pub updated: u64,
    pub archived: u64,
    pub dead_lettered: u64,
    pub unfinished: u64,
    /// `[sync]`: rows not sent because nothing changed.
    pub unchanged: u64,
    /// `[sync]`: records archived because their key left the source.
    pub deleted: u64,
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
    pub bisections: u64,
    pub verified_creates: u64,
    /// Links written with the v4 associations API (links sent inline with creates are not
    /// counted: they are part of the create).
    pub linked: u64,
    /// Links removed by `dissociate`.
    pub unlinked: u64,
    pub elapsed_s: f64,
    pub rows_per_s: f64,
    pub stopped: Stopped,
    /// Why a fatal run stopped (`null` otherwise).
    pub error: Option<String>,
    pub dead_letter_file: String,
}

impl Report {
    /// The report of this run so far.
    pub fn new(
        counters: &Counters,
        traffic: &Traffic,
        rows_read: u64,
        elapsed: Duration,
    ) -> Report {
        let get = |c: &AtomicU64| c.load(Relaxed);
        let elapsed_s = elapsed.as_secs_f64();
        let done =
            get(&counters.accepted) + get(&counters.dead_lettered) + get(&counters.unchanged);
        Report {
            rows_read,
            accepted: get(&counters.accepted),
            created: get(&counters.created),
            updated: get(&counters.updated),
            archived: get(&counters.archived),
            dead_lettered: get(&counters.dead_lettered),
            unfinished: get(&counters.unfinished),
            unchanged: get(&counters.unchanged),
            deleted: get(&counters.deleted),
            requests: get(&traffic.requests),
            retries: get(&traffic.retries),
            rate_limited: get(&traffic.rate_limited),
            bisections: get(&counters.bisections),
            verified_creates: get(&counters.verified),
            linked: get(&counters.linked),
            unlinked: get(&counters.unlinked),
            elapsed_s: (elapsed_s * 1000.0).round() / 1000.0,
            rows_per_s: if elapsed_s > 0.0 {
                (done as f64 / elapsed_s).round()
            } else {
                0.0
            },
            stopped: Stopped::Completed,
            error: None,
            dead_letter_file: String::new(),
        }
    }

    /// Adds what earlier runs of a resumed job did, so the report covers the whole job.
    pub fn add_earlier(&mut self, earlier: &Report) {
        self.rows_read += earlier.rows_read;
        self.accepted += earlier.accepted;
        self.created += earlier.created;
        self.updated += earlier.updated;
        self.archived += earlier.archived;
        self.dead_lettered += earlier.dead_lettered;
        self.deleted += earlier.deleted;
        self.requests += earlier.requests;
        self.retries += earlier.retries;
        self.rate_limited += earlier.rate_limited;
        self.linked += earlier.linked;
        self.unlinked += earlier.unlinked;
    }

    /// The closing summary for people.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} rows read: {} accepted ({} created, {} updated, {} archived), {} dead-lettered",
            self.rows_read,
            self.accepted,
            self.created,
            self.updated,
            self.archived,
            self.dead_lettered
        );
        if self.unchanged > 0 {
            text.push_str(&format!(", {} unchanged", self.unchanged));
        }
        if self.unfinished > 0 {
            text.push_str(&format!(", {} unfinished", self.unfinished));
        }
        if self.deleted > 0 {
            text.push_str(&format!("; {} deleted (left the source)", self.deleted));
        }
        if self.linked > 0 {
            text.push_str(&format!("; {} links written", self.linked));
        }
        if self.unlinked > 0 {
            text.push_str(&format!("; {} links removed", self.unlinked));
        }
        text.push_str(&format!(
            "\n{} requests ({} retries, {} rate-limited, {} for bisection)",
            self.requests, self.retries, self.rate_limited, self.bisections,
        ));
        // A run that did nothing (`--resume` of a finished job) has no time or speed to tell.
        if self.elapsed_s > 0.0 {
            text.push_str(&format!(
                " in {:.1}s, {} rows/s",
                self.elapsed_s, self.rows_per_s
            ));
        }
        if self.dead_lettered > 0 {
            text.push_str(&format!("\ndead letters: {}", self.dead_letter_file));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopped_reads_as_the_report_words() {
        let words: Vec<String> = [
            Stopped::from(None),
            Stopped::from(Some(&Halt::DailyLimit("x".into()))),
            Stopped::from(Some(&Halt::Interrupted)),
            Stopped::from(Some(&Halt::Failed("disk".into()))),
        ]
        .iter()
        .map(|s| serde_json::to_string(s).unwrap())
        .collect();
        assert_eq!(
            words,
            [
                "\"completed\"",
                "\"daily_limit\"",
                "\"interrupted\"",
                "\"fatal\""
            ]
        );
    }
}
