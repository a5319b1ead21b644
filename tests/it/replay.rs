//! Replaying a dead-letter file: rows keep their original numbers, a replay writes files of its
//! own, a row the source could not read is not loaded until someone has changed it, a resumed
//! replay finishes every row once, and a dry run never writes over a run's dead letters.

use serde_json::json;

use crate::support::fixtures::{Csv, contacts, contacts_with_bad_emails};
use crate::support::scenario::Scenario;
use crate::support::workdir::CsvFile;

#[test]
fn a_replay_keeps_the_original_row_numbers_in_files_of_its_own() {
    let run = Scenario::new()
        .csv(contacts_with_bad_emails(30, 10))
        .pipeline(|p| p.upsert_by("email").map_contact_columns())
        .run();
    run.exit(3).dead_lettered(3);
    let first = run.workdir().read("input.failed.csv");
    assert_eq!(
        CsvFile::read(&run.workdir().path("input.failed.csv")).column("etl_row"),
        ["10", "20", "30"]
    );
    // Fix row 20 only, and replay the file.
    let fixed = first.replace("broken20.example.com", "fixed20@example.com");
    let replay = run
        .then()
        .file("fixed.csv", fixed)
        .args(["--source", "fixed.csv"])
        .run();
    replay.exit(3).accepted(1).dead_lettered(2);
    assert_eq!(replay.report()["dead_letter_file"], "fixed.failed.csv");
    let again = CsvFile::read(&replay.workdir().path("fixed.failed.csv"));
    assert_eq!(
        again.column("etl_row"),
        ["10", "30"],
        "the original numbers"
    );
    assert_eq!(
        again.column("etl_replay_row"),
        ["1", "3"],
        "the replay's own"
    );
    assert!(
        again.get(0, "etl_message").starts_with("row 10: "),
        "{:?}",
        again.rows
    );
    // The first run's files are as it left them; the replay has a journal of its own.
    assert_eq!(replay.workdir().read("input.failed.csv"), first);
    assert!(replay.workdir().path("p.journal").exists());
    assert!(replay.workdir().path("fixed.journal").exists());
    assert_eq!(replay.portal().records("contacts"), 28);
}

#[test]
fn a_row_the_source_could_not_read_is_not_loaded_until_someone_changes_it() {
    let run = Scenario::new()
        .csv(contacts(3).row(["ragged@example.com", "Half"]))
        .pipeline(|p| p.upsert_by("email").map_contact_columns())
        .run();
    run.exit(3).dead_lettered(1);
    let dead = CsvFile::read(&run.workdir().path("input.failed.csv"));
    assert_eq!(dead.get(0, "etl_status"), "unreadable");
    assert_eq!(
        dead.get(0, "Last Name"),
        "",
        "kept padded with an empty cell"
    );
    // Replayed as it is, the padded row is still refused: padding is no fix.
    let as_is = run.then().args(["--source", "input.failed.csv"]).run();
    as_is.exit(3).accepted(0).dead_lettered(1);
    let refused = CsvFile::read(&as_is.workdir().path("input.failed.failed.csv"));
    assert_eq!(refused.get(0, "etl_row"), "4");
    assert_eq!(refused.get(0, "etl_category"), "UNREADABLE_ROW");
    assert!(
        refused
            .get(0, "etl_message")
            .contains("empty its etl_status cell"),
        "{:?}",
        refused.rows
    );
    assert_eq!(as_is.portal().records("contacts"), 3);
    // Fixed and its status cleared (as README says), it loads.
    let fixed =
        Csv::new(dead.header.clone()).row(["ragged@example.com", "Half", "Done", "4", "", "", ""]);
    let replay = as_is
        .then()
        .file("fixed.csv", fixed.to_string())
        .args(["--source", "fixed.csv"])
        .run();
    replay.exit(0).accepted(1);
    assert_eq!(replay.portal().records("contacts"), 4);
}

#[test]
fn a_replay_stopped_by_the_daily_limit_resumes_and_finishes_every_row_once() {
    let run = Scenario::new()
        .csv(contacts_with_bad_emails(600, 2))
        .pipeline(|p| p.upsert_by("email").map_contact_columns().batch_size(10))
        .run();
    run.exit(3).dead_lettered(300);
    // Fix two rows in three; the third stays broken.
    let dead = CsvFile::read(&run.workdir().path("input.failed.csv"));
    let fixed = Csv::new(dead.header.clone()).rows(dead.rows.iter().enumerate().map(|(i, row)| {
        let mut row = row.clone();
        if i % 3 != 0 {
            row[0] = row[0].replace(".example.com", "@example.com");
        }
        row
    }));
    run.portal()
        .configure(json!({"daily_limit": 8, "reset_daily": true}));
    let stopped = run
        .then()
        .file("fixed.csv", fixed.to_string())
        .args(["--source", "fixed.csv"])
        .run();
    stopped.exit(4).stopped("daily_limit");
    assert!(stopped.number("unfinished") > 0, "{}", stopped.report());
    run.portal()
        .configure(json!({"daily_limit": 1_000_000, "reset_daily": true}));
    let resumed = stopped
        .then()
        .args(["--source", "fixed.csv", "--resume"])
        .run();
    resumed
        .exit(3)
        .rows_read(300)
        .accepted(200)
        .dead_lettered(100);
    let again = CsvFile::read(&resumed.workdir().path("fixed.failed.csv"));
    let mut original: Vec<u64> = again
        .column("etl_row")
        .iter()
        .map(|r| r.parse().expect("a row number"))
        .collect();
    original.sort_unstable();
    let expected: Vec<u64> = (0..100).map(|k| 2 + 6 * k).collect();
    assert_eq!(
        original, expected,
        "every third broken row, by its original number, once"
    );
    assert_eq!(resumed.portal().records("contacts"), 300 + 200);
}

#[test]
fn a_dry_run_never_writes_over_a_runs_dead_letters() {
    let run = Scenario::new()
        .csv(contacts_with_bad_emails(40, 10))
        .pipeline(|p| p.upsert_by("email").map_contact_columns())
        .run();
    run.exit(3).dead_lettered(4);
    let dead = run.workdir().read("input.failed.csv");
    let dry = run.then().validate();
    dry.exit(3).invalid(4);
    assert_eq!(dry.report()["dead_letter_file"], "input.invalid.csv");
    assert_eq!(dry.workdir().read("input.failed.csv"), dead);
    assert_eq!(
        CsvFile::read(&dry.workdir().path("input.invalid.csv")).column("etl_row"),
        ["10", "20", "30", "40"]
    );
}
