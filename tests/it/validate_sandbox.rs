//! `etl validate` end to end against the embedded sandbox (`base_url = "sandbox"`), on the committed
//! samples copied into a temp dir, through the binary and in-process.

use crate::support::engine::{load, validate};
use crate::support::fixtures::{Csv, Pipeline};
use crate::support::scenario::Scenario;
use crate::support::workdir::{CsvFile, Workdir};

#[test]
fn contacts_sample_against_the_sandbox() {
    let run = Scenario::sample("contacts.toml").validate();
    run.exit(3).invalid(105);
    let dead = run.dead_letters();
    assert_eq!(dead.len(), 105);
    // Row 42 holds a quoted newline, so row 777 starts on line 779 (the header is line 1).
    let ragged = dead
        .column("etl_row")
        .iter()
        .position(|row| *row == "777")
        .expect("row 777 dead-lettered");
    assert_eq!(dead.get(ragged, "etl_status"), "unreadable");
    assert_eq!(
        dead.get(ragged, "etl_message"),
        "row 777 (line 779): expected 10 fields (as in the header), found 5"
    );
}

#[tokio::test]
async fn every_sample_validates_in_process() {
    for (pipeline, source, rows, invalid) in [
        ("companies.toml", "companies.parquet", 2000, 8),
        ("deals.toml", "deals.csv", 1500, 44),
        ("archive_contacts.toml", "archive_contacts.csv", 500, 2),
    ] {
        let work = Workdir::new();
        let path = work.copy_sample(pipeline);
        work.copy_sample(source);
        let s = validate(&load(&path), None).await.expect("validates");
        assert_eq!((s.rows_read, s.invalid), (rows, invalid), "{pipeline}: {s}");
        assert_eq!(s.valid + s.invalid, s.rows_read);
    }
}

#[test]
fn a_parquet_dead_letter_file_replays_with_source() {
    let run = Scenario::sample("companies.toml").validate();
    run.exit(3).invalid(8);
    // Fix the rows: give each a name.
    let failed = run.dead_letters();
    let fixed =
        Csv::new(failed.header.clone()).rows(failed.rows.iter().enumerate().map(|(i, row)| {
            let mut row = row.clone();
            row[0] = format!("Fixed company {}", failed.get(i, "etl_row"));
            row
        }));
    run.then()
        .file("fixed.csv", fixed.to_string())
        .args(["--source", "fixed.csv"])
        .validate()
        .exit(0)
        .rows_read(8)
        .invalid(0);
    // Replaying the file of invalid rows itself never truncates it.
    let replay = run
        .then()
        .args(["--source", "companies.invalid.csv"])
        .validate();
    replay.exit(3).invalid(8);
    let original = CsvFile::read(&run.workdir().path("companies.invalid.csv"));
    assert_eq!(original.len(), 8);
    assert_eq!(
        replay.report()["dead_letter_file"],
        "companies.invalid.invalid.csv"
    );
}

#[test]
fn all_valid_exits_zero_and_fatal_errors_exit_one() {
    let pipeline = |p: Pipeline| {
        p.source("c.csv")
            .base_url("sandbox")
            .upsert_by("email")
            .map("email", "Email")
    };
    let run = Scenario::new()
        .file(
            "c.csv",
            "Email,First\nann@example.com,Ann\nbob@example.com,Bob\n",
        )
        .pipeline_file("ok.toml")
        .pipeline(|p| pipeline(p).map("firstname", "First"))
        .validate();
    run.exit(0).invalid(0);
    assert!(!run.workdir().path("c.invalid.csv").exists());
    run.then()
        .pipeline_file("bad.toml")
        .pipeline(|p| pipeline(p).map("first_name", "First"))
        .validate()
        .exit(1)
        .says("first_name")
        .says("bad.toml")
        .says("did you mean \"firstname\"");
}
