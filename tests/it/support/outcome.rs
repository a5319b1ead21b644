//! What a run left behind — exit code, output, report (or `etl validate`'s summary), dead-letter
//! file, portal — with the assertions a test chains on it, and the invariants every run checks by
//! itself: conservation, and a dead-letter file that holds exactly the dead-lettered rows, once each.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::exported::Exported;
use super::fixtures::Pipeline;
use super::sandbox::Portal;
use super::scenario::Scenario;
use super::workdir::{CsvFile, Workdir};

/// Which command ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Run,
    Validate,
    Export,
    Verify,
    /// Another command (`init`, `man`, …): no report.
    Command,
}

/// A finished process's exit code and output.
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// A finished run of `etl`.
pub struct Run {
    scenario: Scenario,
    kind: Kind,
    pipeline: Option<Pipeline>,
    output: Output,
    /// `etl run`'s JSON report, or `etl validate`'s printed summary in the same shape
    /// (`rows_read`, `valid`, `invalid`, `by_category`, `dead_letter_file`); `None` when the
    /// command wrote none (a fatal error, a killed run).
    report: Option<Value>,
}

impl Run {
    /// Where `etl run` writes its report, in the workdir.
    pub const REPORT: &str = "report.json";

    pub(super) fn new(
        scenario: Scenario,
        kind: Kind,
        pipeline: Option<Pipeline>,
        output: Output,
    ) -> Run {
        let report = match kind {
            Kind::Run | Kind::Export | Kind::Verify => {
                let text = scenario.workdir().read(scenario.report_name());
                (!text.is_empty()).then(|| serde_json::from_str(&text).expect("a JSON report"))
            }
            Kind::Validate => summary(&output.stdout),
            Kind::Command => None,
        };
        let run = Run {
            scenario,
            kind,
            pipeline,
            output,
            report,
        };
        run.check();
        run
    }

    /// The invariants of every run: the sandbox's (`Scenario::check_sandbox`); rows read equal
    /// accepted, dead-lettered and unfinished rows together (validate: valid and invalid); the
    /// dead-letter file holds exactly the dead-lettered rows, no row twice (validate: with the
    /// summary's categories).
    fn check(&self) {
        let window = self.scenario.window_of(self.kind, self.pipeline.as_ref());
        self.scenario.check_sandbox(window);
        let Some(report) = &self.report else {
            return;
        };
        if let Some(stages) = report.get("stages") {
            return check_plan(report, stages);
        }
        let (parts, dead_key): (&[&str], _) = match self.kind {
            Kind::Run => (
                &["accepted", "unchanged", "dead_lettered", "unfinished"],
                "dead_lettered",
            ),
            Kind::Validate => (&["valid", "unchanged", "invalid"], "invalid"),
            Kind::Export => return self.check_export(),
            Kind::Verify => return self.check_verify(),
            Kind::Command => return,
        };
        // `unchanged` only appears for [sync] pipelines (validate prints it when not zero).
        let parts: u64 = parts
            .iter()
            .map(|key| report[*key].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(
            self.number("rows_read"),
            parts,
            "conservation: {report}\n{}",
            self.text()
        );
        let dead = self.number(dead_key);
        if dead == 0 {
            return;
        }
        let file = self.dead_letters();
        assert_eq!(file.len() as u64, dead, "dead-letter file vs {report}");
        let rows = file.column("etl_row");
        let distinct: HashSet<&str> = rows.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            rows.len(),
            "a row dead-lettered twice: {rows:?}"
        );
        if self.kind == Kind::Validate {
            let mut counted = Map::new();
            for category in file.column("etl_category") {
                let n = counted.entry(category).or_insert(json!(0));
                *n = json!(n.as_u64().unwrap_or(0) + 1);
            }
            assert_eq!(
                Value::Object(counted),
                report["by_category"],
                "dead-letter categories"
            );
        }
    }

    /// An export's invariants: a completed export's files hold exactly the rows its report
    /// counts, and an unfinished one left its state and no output.
    fn check_export(&self) {
        let report = self.report();
        let output = self
            .workdir()
            .path(report["output"].as_str().expect("an output"));
        if report["stopped"] != "completed" {
            if report["stopped"] != "fatal" {
                assert!(
                    !output.exists(),
                    "an unfinished export left {}",
                    output.display()
                );
            }
            return;
        }
        assert_eq!(
            Exported::read(&output).len() as u64,
            self.number("records"),
            "records in {} vs {report}",
            output.display()
        );
        if let Some(history) = report["history_file"].as_str() {
            let history = Exported::read(&self.workdir().path(history));
            assert_eq!(
                history.len() as u64,
                self.number("history_rows"),
                "{report}"
            );
        }
        match report["missing_file"].as_str() {
            Some(missing) => {
                let missing = CsvFile::read(&self.workdir().path(missing));
                assert_eq!(missing.len() as u64, self.number("missing"), "{report}");
            }
            None => assert_eq!(self.number("missing"), 0, "{report}"),
        }
    }

    /// A verify's invariants: every row read is checked once (or left unchecked by a stop), and
    /// the diff file lists exactly the rows that do not match.
    fn check_verify(&self) {
        let report = self.report();
        let kinds: u64 = ["matching", "missing", "different", "invalid"]
            .iter()
            .map(|k| self.number(k))
            .sum();
        assert_eq!(self.number("checked"), kinds, "conservation: {report}");
        assert_eq!(
            self.number("rows_read"),
            kinds + self.number("unchecked"),
            "conservation: {report}"
        );
        let diff = self.diff();
        let count = |kind: &str| diff.column("kind").iter().filter(|k| **k == kind).count() as u64;
        assert_eq!(count("missing"), self.number("missing"), "diff vs {report}");
        assert_eq!(count("invalid"), self.number("invalid"), "diff vs {report}");
        assert_eq!(
            count("different") > 0,
            self.number("different") > 0,
            "diff vs {report}"
        );
    }

    /// The diff file a verify names.
    pub fn diff(&self) -> CsvFile {
        let path = self.report()["diff_file"].as_str().expect("a diff file");
        CsvFile::read(&self.workdir().path(path))
    }

    /// The file an export wrote.
    pub fn exported(&self) -> Exported {
        let path = self.report()["output"].as_str().expect("an output");
        Exported::read(&self.workdir().path(path))
    }

    /// Asserts the exit code.
    pub fn exit(&self, code: i32) -> &Run {
        assert_eq!(
            self.output.code,
            Some(code),
            "exit code; output:\n{}",
            self.text()
        );
        self
    }

    /// Asserts one value of the report (or summary).
    pub fn reported(&self, key: &str, expected: impl Into<Value>) -> &Run {
        let report = self.report();
        assert_eq!(report[key], expected.into(), "{key} in {report}");
        self
    }

    pub fn rows_read(&self, n: u64) -> &Run {
        self.reported("rows_read", n)
    }

    pub fn accepted(&self, n: u64) -> &Run {
        self.reported("accepted", n)
    }

    pub fn created(&self, n: u64) -> &Run {
        self.reported("created", n)
    }

    pub fn updated(&self, n: u64) -> &Run {
        self.reported("updated", n)
    }

    pub fn archived(&self, n: u64) -> &Run {
        self.reported("archived", n)
    }

    pub fn dead_lettered(&self, n: u64) -> &Run {
        self.reported("dead_lettered", n)
    }

    /// The report's `stopped`: `completed`, `daily_limit`, `interrupted`,
    /// `shared_budget_unavailable` or `fatal`.
    pub fn stopped(&self, how: &str) -> &Run {
        self.reported("stopped", how)
    }

    /// `etl validate`: rows that would be sent.
    pub fn valid(&self, n: u64) -> &Run {
        self.reported("valid", n)
    }

    /// `etl validate`: rows that would fail.
    pub fn invalid(&self, n: u64) -> &Run {
        self.reported("invalid", n)
    }

    /// `etl validate`: the invalid rows per category, all of them.
    pub fn categories(&self, expected: &[(&str, u64)]) -> &Run {
        let expected: Map<String, Value> = expected
            .iter()
            .map(|(category, n)| (category.to_string(), json!(n)))
            .collect();
        self.reported("by_category", Value::Object(expected))
    }

    /// Asserts the output (stdout and stderr) contains `text`.
    pub fn says(&self, text: &str) -> &Run {
        assert!(
            self.text().contains(text),
            "{text:?} not in:\n{}",
            self.text()
        );
        self
    }

    /// The report (panics when the run wrote none).
    pub fn report(&self) -> &Value {
        self.report
            .as_ref()
            .unwrap_or_else(|| panic!("no report; output:\n{}", self.text()))
    }

    /// A number in the report.
    pub fn number(&self, key: &str) -> u64 {
        let report = self.report();
        report[key]
            .as_u64()
            .unwrap_or_else(|| panic!("no number {key} in {report}"))
    }

    /// What the command printed on stdout.
    pub fn stdout(&self) -> &str {
        &self.output.stdout
    }

    /// What the command printed on stderr.
    pub fn stderr(&self) -> &str {
        &self.output.stderr
    }

    /// Stdout then stderr.
    pub fn text(&self) -> String {
        format!("{}{}", self.output.stdout, self.output.stderr)
    }

    /// The dead-letter file the report names.
    pub fn dead_letters(&self) -> CsvFile {
        let path = self.report()["dead_letter_file"]
            .as_str()
            .filter(|path| !path.is_empty())
            .unwrap_or_else(|| panic!("no dead-letter file in {}", self.report()));
        CsvFile::read(&self.workdir().path(path))
    }

    /// The test sandbox.
    pub fn portal(&self) -> Portal<'_> {
        self.scenario.portal()
    }

    pub fn workdir(&self) -> &Workdir {
        self.scenario.workdir()
    }

    /// The story's next run: same workdir, sandbox, pipeline and token.
    pub fn then(&self) -> Scenario {
        self.scenario.next()
    }
}

/// A plan's report: conservation in every stage that ran, and totals that add the stages up.
fn check_plan(report: &Value, stages: &Value) {
    let count = |r: &Value, key: &str| r[key].as_u64().unwrap_or(0);
    let mut read = 0;
    for stage in stages.as_array().expect("stages") {
        let Some(r) = stage.get("report").filter(|r| !r.is_null()) else {
            continue;
        };
        let parts: u64 = ["accepted", "unchanged", "dead_lettered", "unfinished"]
            .iter()
            .map(|key| count(r, key))
            .sum();
        assert_eq!(count(r, "rows_read"), parts, "conservation in {stage}");
        read += count(r, "rows_read");
    }
    let totals = &report["totals"];
    assert_eq!(count(totals, "rows_read"), read, "totals: {report}");
    let parts: u64 = ["accepted", "unchanged", "dead_lettered", "unfinished"]
        .iter()
        .map(|key| count(totals, key))
        .sum();
    assert_eq!(read, parts, "conservation in the totals: {report}");
}

/// `etl validate`'s summary, read back from what it printed:
/// ```text
/// rows read: 3000
/// valid:     2895 (in 29 batch requests)
/// invalid:   105
///   INVALID_DATE: 33
/// rule checked by etl:     firstname MAX_LENGTH ["50"]
/// rule left to the portal: date_of_birth AFTER_DURATION ["P7D"]: its window runs from …
/// invalid rows written to contacts.invalid.csv
/// ```
/// (the rules lines become `rules_checked` and `rules_left`).
fn summary(stdout: &str) -> Option<Value> {
    let number = |text: &str| -> Value {
        let first = text.split_whitespace().next().unwrap_or_default();
        json!(
            first
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("a number in {text:?}"))
        )
    };
    let mut summary = Map::new();
    let mut categories = Map::new();
    let (mut checked, mut left) = (Vec::new(), Vec::new());
    for line in stdout.lines() {
        if let Some(rule) = line.strip_prefix("rule checked by etl:") {
            checked.push(json!(rule.trim()));
        } else if let Some(rule) = line.strip_prefix("rule left to the portal:") {
            left.push(json!(rule.trim()));
        } else if let Some(rest) = line.strip_prefix("rows read:") {
            summary.insert("rows_read".into(), number(rest));
        } else if let Some(rest) = line.strip_prefix("valid:") {
            summary.insert("valid".into(), number(rest));
        } else if let Some(rest) = line.strip_prefix("invalid:") {
            summary.insert("invalid".into(), number(rest));
        } else if let Some(rest) = line.strip_prefix("unchanged:") {
            summary.insert("unchanged".into(), number(rest));
        } else if let Some(rest) = line.strip_prefix("requests:") {
            summary.insert("requests".into(), number(rest));
        } else if let Some(rest) = line.strip_prefix("deletes:") {
            summary.insert("deletes".into(), number(rest));
        } else if let Some(path) = line.strip_prefix("invalid rows written to ") {
            summary.insert("dead_letter_file".into(), json!(path));
        } else if let Some((category, n)) = line.strip_prefix("  ").and_then(|l| l.split_once(':'))
        {
            categories.insert(category.to_string(), number(n));
        }
    }
    summary.insert("by_category".into(), Value::Object(categories));
    summary.insert("rules_checked".into(), Value::Array(checked));
    summary.insert("rules_left".into(), Value::Array(left));
    summary
        .contains_key("rows_read")
        .then_some(Value::Object(summary))
}
