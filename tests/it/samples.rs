//! The committed samples through `etl validate` against the embedded sandbox: each is read whole and
//! exactly its deliberately bad rows are rejected, counted per category as README promises. The
//! counts follow the rules of `examples/make_samples.rs` (the first rule that matches a row wins).
//! `samples/rules/` runs against a sandbox started with its rules file, as its README says.

use serde_json::json;

use crate::support::scenario::Scenario;
use crate::support::workdir::sample;

#[test]
fn contacts_sample() {
    Scenario::sample("contacts.toml")
        .validate()
        .exit(3)
        .rows_read(3000)
        .valid(2895)
        .categories(&[
            ("INVALID_DATE", 17 + 16), // `31/02/1980` every 173rd row, `1980-13-01` every 181st
            ("INVALID_EMAIL", 30 + 22), // `…@@…` every 97th, `First Last` every 131st
            ("INVALID_OPTION", 19),    // stage `Prospect` every 151st
            ("UNREADABLE_ROW", 1),     // the ragged row 777
        ]);
}

#[test]
fn companies_sample() {
    Scenario::sample("companies.toml")
        .validate()
        .exit(3)
        .rows_read(2000)
        .valid(1992)
        // neither name nor domain: every 250th row from row 8
        .categories(&[("REQUIRED_PROPERTY", 8)]);
}

#[test]
fn deals_sample() {
    Scenario::sample("deals.toml")
        .validate()
        .exit(3)
        .rows_read(1500)
        .valid(1456)
        .categories(&[
            ("INVALID_DATE", 10),      // `2025-31-12` every 139th row
            ("INVALID_INTEGER", 13),   // amount `12,5` every 113th
            ("INVALID_OPTION", 11),    // stage `Won` every 127th
            ("REQUIRED_PROPERTY", 10), // an empty deal name every 149th
        ]);
}

#[test]
fn archive_sample() {
    Scenario::sample("archive_contacts.toml")
        .validate()
        .exit(3)
        .rows_read(500)
        .valid(498)
        .categories(&[("INVALID_ID", 1), ("MISSING_ID", 1)]); // `N/A` and an empty id
}

#[test]
fn rules_sample() {
    // As samples/rules/README.md runs it: a sandbox with the rules file, validate, then run.
    let scenario = Scenario::sample("rules/contacts.toml")
        .sandbox(|s| s.rules_file(&sample("rules/rules.json")));
    let url = scenario.url();
    let validated = scenario.args(["--base-url", &url]).validate();
    validated
        .exit(3)
        .rows_read(24)
        .valid(15)
        .categories(&[("INVALID_EMAIL", 1), ("PROPERTY_VALIDATION", 8)]);
    assert_eq!(
        validated.report()["rules_checked"]
            .as_array()
            .unwrap()
            .len(),
        9,
        "{}",
        validated.text()
    );
    validated.reported(
        "rules_left",
        json!([
            "date_of_birth BEFORE_DURATION [\"P120Y\"]: its window runs from the portal's \
                current time, in the portal's time zone"
        ]),
    );
    let run = validated.then().args(["--base-url", &url]).run();
    run.exit(3).accepted(13).dead_lettered(11);
    let dead = run.dead_letters();
    let by_portal: Vec<&str> = (0..dead.len())
        .filter(|&i| dead.get(i, "etl_status") == "400")
        .map(|i| dead.get(i, "Birthday"))
        .collect();
    assert_eq!(by_portal, ["2099-01-01", "1850-05-05"]);
    assert_eq!(run.portal().records("contacts"), 13);
}
