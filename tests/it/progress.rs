//! The progress a run shows off a terminal (a pipe, a cron job's log): plain lines with how far
//! the job is — done of the total, percentage, elapsed, ETA — and how it goes, without escape codes.

use crate::support::fixtures::contacts;
use crate::support::scenario::Scenario;

/// The progress lines of a run's stderr.
fn progress_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(" rows (")).collect()
}

#[test]
fn off_a_terminal_progress_is_a_plain_line_with_the_total() {
    let run = Scenario::new()
        .csv(contacts(300))
        .pipeline(|p| p.upsert_by("email").map_contact_columns())
        .verbose()
        .run();
    run.exit(0);
    let lines = progress_lines(run.stderr());
    // One line every few seconds, and one at the end: a CSV's total is exact once read.
    let last = lines
        .last()
        .unwrap_or_else(|| panic!("no progress line in:\n{}", run.stderr()));
    assert!(last.contains("300/300 rows (100%)"), "{last}");
    for figure in [
        " elapsed · ETA ",
        " rows/s · 300 accepted · 0 dead-lettered · 0 429s · 0 retries · ",
    ] {
        assert!(last.contains(figure), "{figure:?} not in {last}");
    }
    assert!(
        !run.stderr().contains('\u{1b}'),
        "escape codes off a terminal:\n{}",
        run.stderr()
    );
}

#[test]
fn a_parquet_files_total_comes_from_its_footer() {
    let run = Scenario::sample("companies.toml").verbose().run();
    run.exit(3);
    let lines = progress_lines(run.stderr());
    let last = lines
        .last()
        .unwrap_or_else(|| panic!("no progress line in:\n{}", run.stderr()));
    assert!(last.contains("2,000/2,000 rows (100%)"), "{last}");
    assert!(last.contains("1,992 accepted · 8 dead-lettered"), "{last}");
}
