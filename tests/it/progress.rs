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

#[test]
fn validate_plans_the_requests_their_time_and_the_daily_share() {
    let scenario = Scenario::new().csv(contacts(250)).pipeline(|p| {
        p.upsert_by("email")
            .map_contact_columns()
            .batch_size(50)
            .window(10, 10_000)
    });
    let dry = scenario.validate();
    dry.exit(0);
    // 250 rows in batches of 50: 5 requests, one a second at 10 per 10 s.
    dry.says("requests:  5 ≈ 0:05 at 10 per 10 s · <0.01% of the daily budget (250,000)")
        .reported("requests", 5);
    assert!(!dry.stdout().contains("more than a day's budget"));
    let small = dry
        .then()
        .pipeline(|p| {
            p.upsert_by("email")
                .map_contact_columns()
                .batch_size(50)
                .window(10, 10_000)
                .dispatch("daily_limit", 4)
        })
        .validate();
    small.exit(0);
    small.says("requests:  5 ≈ 0:05 at 10 per 10 s · 125% of the daily budget (4)");
    small.says("more than a day's budget: the run stops at the daily limit (exit 4)");
}

#[test]
fn the_progress_line_says_when_the_daily_budget_runs_out_before_the_end() {
    // The portal allows 4 requests today and says so in X-HubSpot-RateLimit-Daily-Remaining: the
    // schema reads take some, a batch or two go, and the rest of the 9 batches cannot.
    let scenario = Scenario::new()
        .csv(contacts(450))
        .pipeline(|p| p.upsert_by("email").map_contact_columns().batch_size(50));
    scenario
        .portal()
        .configure(serde_json::json!({"daily_limit": 4, "reset_daily": true}));
    let run = scenario.verbose().run();
    run.exit(4).reported("stopped", "daily_limit");
    let lines = progress_lines(run.stderr());
    let last = lines
        .last()
        .unwrap_or_else(|| panic!("no progress line in:\n{}", run.stderr()));
    assert!(
        last.contains(" · the daily budget runs out ≈"),
        "no daily warning in {last}"
    );
}
