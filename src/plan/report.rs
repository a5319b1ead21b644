//! A plan's report: the properties step, one section per stage (its run report, or why it did not
//! run), and the plan's totals. Written as JSON by `--report`, summarised on exit.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::job::report::Report;
use crate::pipeline::RunOutcome;
use crate::portal::properties::Ensured;

/// How one stage ended.
#[derive(Debug)]
pub enum StageEnd {
    /// It ran (to its end, or to an early stop: the outcome says which).
    Ran(Box<RunOutcome>),
    /// It could not start (its lock, its journal, its target).
    Failed(String),
    /// The plan stopped before it.
    NotRun,
}

/// One stage of a plan run.
#[derive(Debug)]
pub struct StageResult {
    pub pipeline: PathBuf,
    pub end: StageEnd,
}

/// A property the properties step ensured.
#[derive(Debug, Clone, Serialize)]
pub struct PropertyResult {
    pub object: String,
    pub name: String,
    pub ensured: Ensured,
}

/// What a plan run did.
#[derive(Debug)]
pub struct PlanOutcome {
    pub plan: PathBuf,
    pub properties: Vec<PropertyResult>,
    pub stages: Vec<StageResult>,
    pub elapsed: Duration,
}

/// The plan's report (`--report FILE`).
#[derive(Debug, Serialize)]
pub struct PlanReport {
    pub plan: String,
    pub properties: Vec<PropertyResult>,
    pub stages: Vec<StageSection>,
    pub totals: Totals,
    pub elapsed_s: f64,
}

/// One stage's section of the plan's report.
#[derive(Debug, Serialize)]
pub struct StageSection {
    pub pipeline: String,
    /// `ran`, `already_finished` (`--resume` found it done), `failed` (could not start) or
    /// `not_run` (the plan stopped before it).
    pub status: &'static str,
    /// Its run report (the whole job's, across resumed runs).
    pub report: Option<Report>,
    /// Why it could not start.
    pub error: Option<String>,
}

/// The plan's totals: the stages' counts added up.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Totals {
    pub rows_read: u64,
    pub accepted: u64,
    pub created: u64,
    pub updated: u64,
    pub archived: u64,
    pub dead_lettered: u64,
    /// Rows `[sync]` stages skipped because nothing changed.
    pub unchanged: u64,
    pub unfinished: u64,
    pub linked: u64,
    pub unlinked: u64,
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
}

impl Totals {
    fn add(&mut self, r: &Report) {
        self.rows_read += r.rows_read;
        self.accepted += r.accepted;
        self.created += r.created;
        self.updated += r.updated;
        self.archived += r.archived;
        self.dead_lettered += r.dead_lettered;
        self.unchanged += r.unchanged;
        self.unfinished += r.unfinished;
        self.linked += r.linked;
        self.unlinked += r.unlinked;
        self.requests += r.requests;
        self.retries += r.retries;
        self.rate_limited += r.rate_limited;
    }
}

impl PlanOutcome {
    /// The report of this run.
    pub fn report(&self) -> PlanReport {
        let mut totals = Totals::default();
        let stages = self
            .stages
            .iter()
            .map(|stage| {
                let pipeline = stage.pipeline.display().to_string();
                match &stage.end {
                    StageEnd::Ran(outcome) => {
                        totals.add(&outcome.report);
                        StageSection {
                            pipeline,
                            status: if outcome.already_finished {
                                "already_finished"
                            } else {
                                "ran"
                            },
                            report: Some(outcome.report.clone()),
                            error: None,
                        }
                    }
                    StageEnd::Failed(error) => StageSection {
                        pipeline,
                        status: "failed",
                        report: None,
                        error: Some(error.clone()),
                    },
                    StageEnd::NotRun => StageSection {
                        pipeline,
                        status: "not_run",
                        report: None,
                        error: None,
                    },
                }
            })
            .collect();
        PlanReport {
            plan: self.plan.display().to_string(),
            properties: self.properties.clone(),
            stages,
            totals,
            elapsed_s: (self.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
        }
    }
}

impl PlanReport {
    /// The closing summary for people: the properties, a paragraph per stage, the totals.
    pub fn summary(&self) -> String {
        let mut text = String::new();
        if !self.properties.is_empty() {
            let list: Vec<String> = self
                .properties
                .iter()
                .map(|p| {
                    let how = match p.ensured {
                        Ensured::Created => "created",
                        Ensured::Existed => "exists",
                    };
                    format!("{}.{} ({how})", p.object, p.name)
                })
                .collect();
            let _ = writeln!(text, "properties: {}", list.join(", "));
        }
        for (i, stage) in self.stages.iter().enumerate() {
            let _ = write!(text, "stage {} {}: ", i + 1, stage.pipeline);
            match (stage.status, &stage.report, &stage.error) {
                ("not_run", _, _) => text.push_str("not run (the plan stopped before it)\n"),
                (_, _, Some(error)) => {
                    let _ = writeln!(text, "could not start: {error}");
                }
                (status, Some(report), None) => {
                    let summary = report.summary();
                    // A finished stage's journal keeps its counts, not its timing: its first line.
                    let lines = if status == "already_finished" {
                        text.push_str("(already finished) ");
                        1
                    } else {
                        usize::MAX
                    };
                    for line in summary.lines().take(lines) {
                        let _ = writeln!(text, "{line}");
                        text.push_str("  ");
                    }
                    text.truncate(text.trim_end_matches(' ').len());
                }
                _ => text.push('\n'),
            }
        }
        let t = &self.totals;
        let unchanged = match t.unchanged {
            0 => String::new(),
            n => format!(", {n} unchanged"),
        };
        let _ = write!(
            text,
            "plan: {} rows read: {} accepted ({} created, {} updated, {} archived), {} \
             dead-lettered{unchanged}, {} unfinished; {} links written, {} removed; {} requests \
             in {:.1}s",
            t.rows_read,
            t.accepted,
            t.created,
            t.updated,
            t.archived,
            t.dead_lettered,
            t.unfinished,
            t.linked,
            t.unlinked,
            t.requests,
            self.elapsed_s
        );
        text
    }
}
