//! `etl verify` against the sandbox: a clean load verifies clean and only reads; values changed
//! behind the engine's back are found, exactly those; values written differently but stored the
//! same match; repeated keys verify against their last row; a create without a unique property is
//! refused, unless a `[sync]` state ties its rows to their records; and the round trip export → edit → `etl run` update by `hs_object_id` → verify.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::fixtures::{
    CONTACTS_MAPPING, Csv, Pipeline, contacts, contacts_with_bad_emails, write_contacts_csv,
};
use crate::support::outcome::Run;
use crate::support::sandbox::Portal;
use crate::support::scenario::Scenario;
use crate::support::workdir::CsvFile;

/// The record id of the contact with `email`.
fn id_of(portal: &Portal, email: &str) -> String {
    let reply = portal.get(&format!(
        "/crm/v3/objects/contacts/{email}?idProperty=email"
    ));
    assert_eq!(reply.status, StatusCode::OK, "{email}: {:?}", reply.body);
    reply.body["id"].as_str().expect("an id").to_owned()
}

/// Changes a contact's properties behind the engine's back.
fn change(portal: &Portal, email: &str, properties: Value) {
    let reply = portal.patch(
        &format!("/crm/v3/objects/contacts/{email}?idProperty=email"),
        json!({ "properties": properties }),
    );
    assert_eq!(reply.status, StatusCode::OK, "{email}: {:?}", reply.body);
}

/// Requests per route, from the sandbox's stats.
fn requests(portal: &Portal) -> BTreeMap<String, u64> {
    let stats = portal.stats();
    stats["requests"]
        .as_object()
        .expect("requests")
        .iter()
        .map(|(route, by_status)| {
            let n = by_status
                .as_object()
                .expect("statuses")
                .values()
                .filter_map(Value::as_u64)
                .sum();
            (route.clone(), n)
        })
        .collect()
}

#[test]
fn a_clean_load_verifies_clean_and_verify_only_reads() {
    let run = Scenario::new()
        .csv(contacts(300))
        .pipeline(|p| p.upsert_by("email").map_contact_columns())
        .run();
    run.exit(0).accepted(300);
    let before = requests(&run.portal());
    let verified = run.then().verify();
    verified
        .exit(0)
        .reported("checked", 300)
        .reported("matching", 300);
    assert_eq!(verified.diff().len(), 0);
    let after = requests(&verified.portal());
    let grown: Vec<&String> = after
        .iter()
        .filter(|(route, n)| before.get(*route) != Some(n))
        .map(|(route, _)| route)
        .collect();
    assert_eq!(
        grown,
        [
            "GET /crm/properties/2026-09/{objectType}",
            "POST /crm/objects/2026-09/{objectType}/batch/read"
        ]
    );
}

#[test]
fn verify_finds_exactly_the_values_changed_behind_the_engines_back() {
    let scenario = Scenario::new();
    write_contacts_csv(&scenario.workdir().path("input.csv"), 500);
    let run = scenario
        .pipeline(|p| p.upsert_by("email").map_all(&CONTACTS_MAPPING))
        .run();
    // Every 50th row has a bad email: 10 rows never sent.
    run.exit(3).accepted(490).dead_lettered(10);
    let portal = run.portal();
    change(
        &portal,
        "user3@example.com",
        json!({"firstname": "Changed"}),
    );
    change(
        &portal,
        "user7@example.com",
        json!({"lifecyclestage": "evangelist"}),
    );
    change(
        &portal,
        "user11@example.com",
        json!({"date_of_birth": "2001-01-01"}),
    );
    change(&portal, "user12@example.com", json!({"city": ""}));
    let gone: Vec<Value> = [
        "user20@example.com",
        "user21@example.com",
        "user400@example.com",
    ]
    .iter()
    .map(|email| json!({ "id": id_of(&portal, email) }))
    .collect();
    let reply = portal.post(
        "/crm/v3/objects/contacts/batch/archive",
        json!({ "inputs": gone }),
    );
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    let verified = run.then().verbose().verify();
    verified
        .exit(3)
        .says("different: 4")
        .reported("checked", 500)
        .reported("different", 4)
        .reported("missing", 3)
        .reported("invalid", 10)
        .reported("matching", 483);
    let diff = verified.diff();
    let lines: Vec<Vec<&str>> = (0..diff.len())
        .filter(|&i| diff.get(i, "kind") != "invalid")
        .map(|i| {
            ["etl_row", "key", "kind", "property", "expected", "actual"]
                .iter()
                .map(|c| diff.get(i, c))
                .collect()
        })
        .collect();
    // write_contacts_csv's birthday of row index 11: 19{50 + i % 50}-{1 + i % 12}-{1 + i % 28}.
    let birthday = "1961-12-12";
    let expected: Vec<Vec<&str>> = vec![
        vec![
            "4",
            "user3@example.com",
            "different",
            "firstname",
            "First3",
            "Changed",
        ],
        vec![
            "8",
            "user7@example.com",
            "different",
            "lifecyclestage",
            "subscriber",
            "evangelist",
        ],
        vec![
            "12",
            "user11@example.com",
            "different",
            "date_of_birth",
            &birthday,
            "2001-01-01",
        ],
        vec![
            "13",
            "user12@example.com",
            "different",
            "city",
            "Springfield",
            "",
        ],
        vec!["21", "user20@example.com", "missing", "", "", ""],
        vec!["22", "user21@example.com", "missing", "", "", ""],
        vec!["401", "user400@example.com", "missing", "", "", ""],
    ];
    assert_eq!(lines, expected);
}

#[test]
fn values_written_differently_but_stored_the_same_match() {
    let scenario = Scenario::new();
    let portal = scenario.portal();
    for (name, kind, field, options) in [
        ("score", "number", "number", json!([])),
        ("seen", "datetime", "date", json!([])),
        ("vip", "bool", "booleancheckbox", json!([])),
        (
            "tags",
            "enumeration",
            "checkbox",
            json!([{"label": "A", "value": "a"}, {"label": "B", "value": "b"}, {"label": "C", "value": "c"}]),
        ),
    ] {
        let reply = portal.post(
            "/crm/v3/properties/contacts",
            json!({"name": name, "label": name, "type": kind, "fieldType": field,
                   "groupName": "contactinformation", "options": options}),
        );
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    }
    let source = Csv::new(["Email", "Score", "Seen", "VIP", "Tags"]).rows((1..=4).map(|i| {
        [
            format!("Person{i}@Example.com"),
            "1,234.50".to_string(),
            "2024-01-31 09:30".to_string(),
            "yes".to_string(),
            "b;a".to_string(),
        ]
    }));
    let run = scenario
        .csv(source)
        .pipeline(|p| {
            p.upsert_by("email")
                .map_toml("email", r#"{ column = "Email", lowercase = true }"#)
                .map("score", "Score")
                .map("seen", "Seen")
                .map("vip", "VIP")
                .map("tags", "Tags")
        })
        .run();
    run.exit(0).accepted(4);
    let portal = run.portal();
    // The same values, written otherwise: not differences.
    change(
        &portal,
        "person1@example.com",
        json!({"score": "1234.5", "seen": "1706693400000", "vip": "TRUE", "tags": "a;b"}),
    );
    // Other values: differences.
    change(&portal, "person2@example.com", json!({"score": "1234.51"}));
    change(
        &portal,
        "person3@example.com",
        json!({"seen": "2024-01-31T09:30:00.001Z"}),
    );
    change(&portal, "person4@example.com", json!({"tags": "a;b;c"}));
    let verified = run.then().verify();
    verified
        .exit(3)
        .reported("matching", 1)
        .reported("different", 3);
    let diff = verified.diff();
    let properties: Vec<(&str, &str)> = (0..diff.len())
        .map(|i| (diff.get(i, "key"), diff.get(i, "property")))
        .collect();
    assert_eq!(
        properties,
        [
            ("person2@example.com", "score"),
            ("person3@example.com", "seen"),
            ("person4@example.com", "tags")
        ]
    );
    assert_eq!(diff.get(1, "expected"), "2024-01-31T09:30:00.000Z");
}

#[test]
fn repeated_keys_verify_against_their_last_row() {
    // Rows 101-110 and 111-120 rename the contacts of rows 1-10 twice: the portal holds the last.
    let renamed = |round: usize| {
        (1..=10).map(move |i| {
            [
                format!("person{i}@example.com"),
                format!("Round{round}-{i}"),
                format!("Last{i}"),
            ]
        })
    };
    let run = Scenario::new()
        .csv(
            contacts_with_bad_emails(100, 40)
                .rows(renamed(1))
                .rows(renamed(2)),
        )
        .pipeline(|p| p.upsert_by("email").map_contact_columns())
        .run();
    run.exit(3).accepted(118).dead_lettered(2);
    let verified = run.then().verify();
    verified
        .exit(3)
        .reported("checked", 120)
        .reported("matching", 118)
        .reported("invalid", 2);
}

#[test]
fn a_create_without_a_unique_property_cannot_be_verified() {
    let run = Scenario::new()
        .csv(Csv::new(["Name"]).rows([["Acme"], ["Initech"]]))
        .pipeline(|p| p.object("companies").create().map("name", "Name"))
        .run();
    run.exit(0).created(2);
    run.then()
        .verify()
        .exit(1)
        .says("cannot verify")
        .says("maps no unique property")
        .says("[sync]");
}

/// Companies keyed by their source's `Account Id` (no unique property in HubSpot).
fn synced_companies(p: Pipeline) -> Pipeline {
    p.object("companies")
        .create()
        .map("name", "Name")
        .map("city", "City")
        .sync_changes(&["Account Id"])
}

fn companies(ids: std::ops::RangeInclusive<usize>) -> Csv {
    Csv::new(["Account Id", "Name", "City"]).rows(ids.map(|i| {
        [
            format!("A-{i:05}"),
            format!("Company {i}"),
            format!("City {i}"),
        ]
    }))
}

/// The record id of the company named `name`, from the sandbox's own listing.
fn company_id(run: &Run, name: &str) -> String {
    let records = run.portal().get("/_sandbox/records/companies");
    let results = records.body["results"].as_array().expect("results");
    let record = results
        .iter()
        .find(|r| r["properties"]["name"] == name)
        .unwrap_or_else(|| panic!("no company {name}"));
    record["id"].as_str().expect("an id").to_owned()
}

#[test]
fn a_sync_create_verifies_through_its_state() {
    // No state yet: nothing ties a row to a record.
    Scenario::new()
        .csv(companies(1..=3))
        .pipeline(synced_companies)
        .verify()
        .exit(1)
        .says("cannot verify")
        .says("no [sync] state");

    // Row 41 repeats row 3's key: it updated the record row 3 created.
    let loaded = Scenario::new()
        .csv(companies(1..=40).row(["A-00003", "Company 3", "Moved City"]))
        .pipeline(synced_companies)
        .run();
    loaded.exit(0).accepted(41).created(40).updated(1);
    let moved = company_id(&loaded, "Company 7");
    let reply = loaded.portal().patch(
        &format!("/crm/v3/objects/companies/{moved}"),
        json!({ "properties": { "city": "Elsewhere" } }),
    );
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);

    // Tonight's export has one company no run has loaded yet.
    let verified = loaded
        .then()
        .csv(companies(1..=41).row(["A-00003", "Company 3", "Moved City"]))
        .verify();
    verified
        .exit(3)
        .reported("checked", 42)
        .reported("matching", 40)
        .reported("different", 1)
        .reported("missing", 1);
    let diff = verified.diff();
    assert_eq!(diff.len(), 2);
    let line = |kind: &str| {
        let i = (0..diff.len())
            .find(|&i| diff.get(i, "kind") == kind)
            .unwrap_or_else(|| panic!("no {kind} line"));
        ["etl_row", "key", "property", "expected", "actual"].map(|column| diff.get(i, column))
    };
    assert_eq!(
        line("different"),
        ["7", &moved, "city", "City 7", "Elsewhere"]
    );
    let [row, key, property, why, actual] = line("missing");
    assert_eq!([row, key, property, actual], ["41", "A-00041", "", ""]);
    assert!(why.contains("not in the [sync] state"), "{why}");
}

#[test]
fn export_edit_update_by_record_id_then_verify() {
    let loaded = Scenario::new()
        .csv(contacts(200))
        .pipeline(|p| p.upsert_by("email").map_contact_columns())
        .run();
    loaded.exit(0).created(200);
    let exported = loaded.then().export([
        "contacts",
        "-o",
        "export.csv",
        "--properties",
        "email,firstname,lastname",
    ]);
    exported.exit(0).reported("records", 200);

    // Edit the export: every 10th contact gets a new first name.
    let file = CsvFile::read(&exported.workdir().path("export.csv"));
    let column = |name: &str| file.header.iter().position(|h| h == name).unwrap();
    let (email, first) = (column("email"), column("firstname"));
    let mut edited = Csv::new(file.header.clone());
    let mut renamed = Vec::new();
    for (i, row) in file.rows.iter().enumerate() {
        let mut row = row.clone();
        if i % 10 == 0 {
            row[first] = format!("Edited{i}");
            renamed.push(row[email].clone());
        }
        edited = edited.row(row);
    }
    let update = Pipeline::new()
        .source("edited.csv")
        .update()
        .id_column("hs_object_id")
        .map("firstname", "firstname")
        .map("lastname", "lastname");
    let updated = exported
        .then()
        .file("edited.csv", edited.to_string())
        .pipeline_file("update.toml")
        .pipeline(|_| update)
        .run();
    updated.exit(0).accepted(200).updated(200);
    updated.then().verify().exit(0).reported("matching", 200);

    // The original load's pipeline now differs from the portal in exactly the edited names.
    let original = updated
        .then()
        .pipeline_file("p.toml")
        .pipeline(|p| p.upsert_by("email").map_contact_columns())
        .verify();
    original
        .exit(3)
        .reported("different", 20)
        .reported("matching", 180);
    let diff = original.diff();
    assert!(diff.column("property").iter().all(|p| *p == "firstname"));
    // The export lists records in id order, which follows the load's batches as they landed
    // (several in flight), the diff in source-row order: compare them as sets.
    let mut keys = diff.column("key");
    keys.sort();
    renamed.sort();
    assert_eq!(keys, renamed);
}
