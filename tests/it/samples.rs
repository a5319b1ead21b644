//! The committed samples through `etl validate` against the embedded sandbox: each is read whole and
//! exactly its deliberately bad rows are rejected, counted per category as README promises. The
//! counts follow the rules of `examples/make_samples.rs` (the first rule that matches a row wins).
//! `samples/rules/` runs against a sandbox started with its rules file, as its README says.

use serde_json::{Value, json};

use crate::support::scenario::Scenario;
use crate::support::workdir::{CsvFile, sample};

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

#[test]
fn migration_sample() {
    // As docs/migrate.md runs it: `etl run samples/migration/migration.toml`, every stage into one
    // embedded sandbox. The figures follow the rules of `examples/make_migration.rs`.
    let run = Scenario::sample_plan("migration", "migration.toml")
        .verbose()
        .run();
    run.exit(3);
    let report = run.report();
    let ensured: Vec<&Value> = (0..2)
        .map(|i| &report["properties"][i]["ensured"])
        .collect();
    assert_eq!(ensured, ["created", "created"], "{report}");
    // (pipeline, rows, dead letters, the multiples of the rows that break, links written)
    let stages = [
        ("companies.toml", 2_000, 0, None, 0),
        // every 333rd contact names a lost account; every 250th has none (written, no link)
        (
            "contacts.toml",
            5_000,
            15,
            Some(&[333][..]),
            5_000 - 15 - 20,
        ),
        // a lost account every 401st deal, a departed contact every 499th; two links per deal
        (
            "deals.toml",
            3_000,
            7 + 6,
            Some(&[401, 499][..]),
            (3_000 - 13) * 2,
        ),
        // an unknown contact every 307th note; the others link inline with their create
        ("notes.toml", 2_500, 8, Some(&[307][..]), 2_500 - 8),
    ];
    for (i, (pipeline, rows, dead, every, linked)) in stages.into_iter().enumerate() {
        let stage = &report["stages"][i];
        assert!(
            stage["pipeline"].as_str().unwrap().ends_with(pipeline),
            "{stage}"
        );
        let figures = &stage["report"];
        assert_eq!(figures["rows_read"], rows, "{pipeline}: {figures}");
        assert_eq!(figures["created"], rows - dead, "{pipeline}: {figures}");
        assert_eq!(figures["dead_lettered"], dead, "{pipeline}: {figures}");
        assert_eq!(figures["linked"], linked, "{pipeline}: {figures}");
        let Some(every) = every else { continue };
        let failed = pipeline.replace(".toml", ".failed.csv");
        let dead_letters = CsvFile::read(&run.workdir().path(format!("migration/{failed}")));
        assert_eq!(
            dead_letters.column("etl_category"),
            vec!["ASSOCIATION_TARGET_NOT_FOUND"; dead as usize],
            "{pipeline}"
        );
        for row in dead_letters.column("etl_row") {
            let row: usize = row.parse().unwrap();
            assert!(
                every.iter().any(|n| row.is_multiple_of(*n)),
                "{pipeline}: row {row}"
            );
        }
    }
    assert_eq!(report["totals"]["rows_read"], 12_500, "{report}");
    assert_eq!(report["totals"]["dead_lettered"], 36, "{report}");
    run.says("plan: 12500 rows read: 12464 accepted");
}

#[test]
fn migration_sample_against_a_sandbox() {
    // The same plan sent to a running sandbox, so that the records and links it leaves can be
    // counted and followed.
    let scenario = Scenario::sample_plan("migration", "migration.toml").sandbox(|s| s);
    let url = scenario.url();
    let run = scenario.args(["--base-url", &url]).run();
    run.exit(3);
    let portal = run.portal();
    for (object, n) in [
        ("companies", 2_000),
        ("contacts", 5_000 - 15),
        ("deals", 3_000 - 13),
        ("notes", 2_500 - 8),
    ] {
        assert_eq!(portal.records(object), n, "{object}");
    }
    let links = |from: &str, to: &str| {
        portal
            .links(from)
            .into_iter()
            .filter(|(_, to_type, _, _)| to_type == to)
            .map(|(from, _, to, types)| (from, to, types))
            .collect::<Vec<_>>()
    };
    assert_eq!(links("contacts", "companies").len(), 5_000 - 15 - 20);
    assert_eq!(links("notes", "contacts").len(), 2_500 - 8);
    let deal_companies = links("deals", "companies");
    let deal_contacts = links("deals", "contacts");
    assert_eq!(deal_companies.len(), 3_000 - 13);
    assert_eq!(deal_contacts.len(), 3_000 - 13);

    // Follow the first deal's links to the records its row names, by the source's own keys.
    let deals = CsvFile::read(&sample("migration/deals.csv"));
    let id = |object: &str, property: &str, value: &str| {
        portal
            .id_of(object, property, value)
            .unwrap_or_else(|| panic!("{object} {value}"))
    };
    let deal = id("deals", "external_id", deals.get(0, "Deal Id"));
    let company = id("companies", "external_id", deals.get(0, "Account Id"));
    let contact = id(
        "contacts",
        "email",
        &deals.get(0, "Contact Email").to_lowercase(),
    );
    assert!(deal_companies.contains(&(deal.clone(), company, vec![341])));
    assert!(deal_contacts.contains(&(deal, contact, vec![3])));
}
