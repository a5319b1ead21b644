//! `etl export` against the sandbox: list paging while records are created, batch reads by email
//! and by a custom unique property, archived records, history, association columns, Parquet column
//! types read back with the parquet crate, a daily-limit stop resumed to the end, and a tight window
//! kept without a 429.

use std::collections::HashSet;
use std::ops::Range;

use arrow_schema::{DataType, TimeUnit};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::fixtures::Csv;
use crate::support::outcome::Run;
use crate::support::sandbox::Portal;
use crate::support::scenario::Scenario;
use crate::support::workdir::CsvFile;

/// Creates one contact per `i` of `range` by batch create, with `properties(i)`; returns the ids.
fn seed_with(
    portal: &Portal,
    range: Range<usize>,
    properties: impl Fn(usize) -> Value,
) -> Vec<String> {
    let mut ids = Vec::with_capacity(range.len());
    for chunk in range.collect::<Vec<_>>().chunks(100) {
        let inputs: Vec<Value> = chunk
            .iter()
            .map(|i| json!({ "properties": properties(*i) }))
            .collect();
        let reply = portal.post(
            "/crm/v3/objects/contacts/batch/create",
            json!({ "inputs": inputs }),
        );
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        for result in reply.body["results"].as_array().expect("results") {
            ids.push(result["id"].as_str().expect("an id").to_owned());
        }
    }
    ids
}

/// Contacts `person{i}@example.com`, `First{i}`, `Last{i}` for each `i` of `range`.
fn seed(portal: &Portal, range: Range<usize>) -> Vec<String> {
    seed_with(portal, range, |i| {
        json!({"email": format!("person{i}@example.com"), "firstname": format!("First{i}"),
               "lastname": format!("Last{i}")})
    })
}

/// Answered list requests so far.
fn list_requests(portal: &Portal) -> u64 {
    portal.stats()["requests"]["GET /crm/objects/2026-09/{objectType}"]["200"]
        .as_u64()
        .unwrap_or(0)
}

fn create_property(portal: &Portal, body: Value) {
    let reply = portal.post("/crm/v3/properties/contacts", body);
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
}

fn ids_of(run: &Run) -> Vec<String> {
    run.exported()
        .column("hs_object_id")
        .iter()
        .map(|id| id.expect("every row has an id").to_owned())
        .collect()
}

#[test]
fn list_paging_reads_every_record_once_while_records_are_created() {
    let scenario = Scenario::new();
    let before = seed(&scenario.portal(), 0..3_000);
    // 30 pages at 20 requests a second: the export is still paging when the new records land.
    let mut running = scenario.spawn_export([
        "contacts",
        "-o",
        "all.csv",
        "--properties",
        "email,firstname",
        "--requests-per-interval",
        "20",
        "--interval-ms",
        "1000",
    ]);
    running.wait_until(|portal| list_requests(portal) >= 3);
    let during = seed(&running.alongside().portal(), 3_000..3_300);
    let run = running.wait();
    run.exit(0).reported("stopped", "completed");
    let exported = ids_of(&run);
    let distinct: HashSet<&String> = exported.iter().collect();
    assert_eq!(distinct.len(), exported.len(), "a record exported twice");
    for id in before.iter().chain(&during) {
        assert!(distinct.contains(id), "record {id} is missing");
    }
    assert_eq!(exported.len(), 3_300);
    assert!(
        list_requests(&run.portal()) >= 33,
        "{}",
        run.portal().stats()
    );
    let file = run.exported();
    let row = file.row_of(&before[1234]);
    assert_eq!(file.get(row, "email"), Some("person1234@example.com"));
    assert_eq!(file.get(row, "archived"), Some("false"));
}

#[test]
fn an_export_keeps_to_a_tight_window_without_a_429() {
    // The sandbox enforces the same window as the flags: any request past it would be a 429.
    let scenario = Scenario::new().window(3, 200);
    let seeded = seed(&scenario.portal(), 0..300);
    // The seeding's three requests fill the sandbox's window: let it pass before the export, whose
    // gate cannot know of them.
    std::thread::sleep(std::time::Duration::from_millis(250));
    // In v3's spelling, which `--api-version` chooses (the default is the latest dated version).
    let run = scenario.export([
        "contacts",
        "-o",
        "all.csv",
        "--properties",
        "email",
        "--api-version",
        "v3",
    ]);
    run.exit(0)
        .reported("records", 300)
        .reported("rate_limited", 0);
    let stats = run.portal().stats();
    let refused: u64 = stats["requests"]
        .as_object()
        .expect("requests by route")
        .values()
        .filter_map(|by_status| by_status.get("429").and_then(Value::as_u64))
        .sum();
    assert_eq!(refused, 0, "{stats}");
    // Three list pages and the schema: more requests than one window holds, so the gate waited.
    let v3_pages = stats["requests"]["GET /crm/v3/objects/{objectType}"]["200"].as_u64();
    assert!(v3_pages >= Some(3), "{stats}");
    assert_eq!(list_requests(&run.portal()), 0, "{stats}");
    assert_eq!(ids_of(&run), seeded);
}

#[test]
fn batch_read_by_email_keeps_the_file_order_and_lists_the_ids_not_found() {
    let scenario = Scenario::new();
    seed(&scenario.portal(), 0..250);
    // 250 known emails (some in capitals) in reverse order, 10 unknown ones among them.
    let mut rows = Vec::new();
    for i in (0..250).rev() {
        let email = if i % 7 == 0 {
            format!("Person{i}@Example.com")
        } else {
            format!("person{i}@example.com")
        };
        rows.push([format!("Name {i}"), email]);
        if i % 25 == 0 {
            rows.push([format!("Ghost {i}"), format!("ghost{i}@example.com")]);
        }
    }
    let run = scenario
        .file(
            "ids.csv",
            Csv::new(["Name", "Email"]).rows(rows).to_string(),
        )
        .export([
            "contacts",
            "-o",
            "some.parquet",
            "--ids",
            "ids.csv",
            "--id-column",
            "Email",
            "--id-property",
            "email",
            "--properties",
            "email,firstname",
        ]);
    run.exit(3).reported("records", 250).reported("missing", 10);
    let file = run.exported();
    let expected: Vec<String> = (0..250)
        .rev()
        .map(|i| format!("person{i}@example.com"))
        .collect();
    let emails: Vec<&str> = file.column("email").into_iter().flatten().collect();
    assert_eq!(emails, expected);
    let missing = CsvFile::read(&run.workdir().path("some.parquet.missing.csv"));
    assert_eq!(missing.header, ["Email", "etl_row"]);
    assert_eq!(missing.get(0, "Email"), "ghost225@example.com");
    // Row 26 of ids.csv: 25 known emails (249..=225), then the first ghost.
    assert_eq!(missing.get(0, "etl_row"), "26");
    // Three batch reads of at most 100 ids, plus the schema.
    assert_eq!(run.number("requests"), 4, "{}", run.report());
}

#[test]
fn batch_read_by_a_custom_unique_property() {
    let scenario = Scenario::new();
    let portal = scenario.portal();
    create_property(
        &portal,
        json!({"name": "member_no", "label": "Member number", "type": "string", "fieldType": "text",
               "groupName": "contactinformation", "hasUniqueValue": true}),
    );
    let ids = seed_with(
        &portal,
        0..120,
        |i| json!({"email": format!("member{i}@example.com"), "member_no": format!("M-{i:04}")}),
    );
    let wanted = Csv::new(["member"])
        .rows((0..120).step_by(2).map(|i| [format!("M-{i:04}")]))
        .row(["M-9999"]);
    let run = scenario.file("members.csv", wanted.to_string()).export([
        "contacts",
        "-o",
        "members.csv",
        "--ids",
        "members.csv",
        "--id-property",
        "member_no",
        "--properties",
        "email",
    ]);
    run.exit(3).reported("records", 60).reported("missing", 1);
    let file = run.exported();
    assert_eq!(file.header[..2], ["hs_object_id", "email"]);
    assert_eq!(file.get(1, "hs_object_id"), Some(ids[2].as_str()));
    assert_eq!(file.get(1, "email"), Some("member2@example.com"));
}

#[test]
fn archived_records_are_exported_apart() {
    let scenario = Scenario::new();
    let ids = seed(&scenario.portal(), 0..30);
    let inputs: Vec<Value> = ids[..10].iter().map(|id| json!({ "id": id })).collect();
    let reply = scenario.portal().post(
        "/crm/v3/objects/contacts/batch/archive",
        json!({ "inputs": inputs }),
    );
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let live = scenario.export(["contacts", "-o", "live.csv", "--properties", "email"]);
    live.exit(0).reported("records", 20);
    assert_eq!(ids_of(&live), ids[10..]);
    let gone = live.then().export([
        "contacts",
        "-o",
        "gone.csv",
        "--properties",
        "email",
        "--archived",
    ]);
    gone.exit(0).reported("records", 10);
    assert_eq!(ids_of(&gone), ids[..10]);
    let file = gone.exported();
    assert!(file.column("archived").iter().all(|a| *a == Some("true")));
    assert_eq!(file.get(0, "email"), Some("person0@example.com"));
}

#[test]
fn history_lists_every_version_of_the_exported_properties() {
    let scenario = Scenario::new();
    let ids = seed(&scenario.portal(), 0..60);
    for (i, id) in ids[..3].iter().enumerate() {
        for name in [format!("Second{i}"), format!("Third{i}")] {
            let reply = scenario.portal().post(
                "/crm/v3/objects/contacts/batch/update",
                json!({"inputs": [{"id": id, "properties": {"firstname": name}}]}),
            );
            assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        }
    }
    let run = scenario.export([
        "contacts",
        "-o",
        "h.parquet",
        "--properties",
        "firstname,email",
        "--history",
    ]);
    // Every record has one version of each property, the first three two more of firstname.
    run.exit(0)
        .reported("records", 60)
        .reported("history_rows", 126);
    // History caps a list page at 50 records: two pages.
    assert_eq!(list_requests(&run.portal()), 2);
    let history =
        crate::support::exported::Exported::read(&run.workdir().path("h.history.parquet"));
    assert_eq!(
        history.header,
        [
            "hs_object_id",
            "property",
            "value",
            "timestamp",
            "sourceType"
        ]
    );
    assert_eq!(
        history.data_type("timestamp"),
        DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
    );
    let versions: Vec<Option<&str>> = (0..history.len())
        .filter(|&r| {
            history.get(r, "hs_object_id") == Some(ids[1].as_str())
                && history.get(r, "property") == Some("firstname")
        })
        .map(|r| history.get(r, "value"))
        .collect();
    assert_eq!(versions, [Some("Third1"), Some("Second1"), Some("First1")]);
    assert!(history.column("sourceType").iter().all(Option::is_some));
    assert_eq!(run.exported().get(1, "firstname"), Some("Third1"));
}

#[test]
fn association_columns_come_from_v4_links() {
    let scenario = Scenario::new();
    let portal = scenario.portal();
    let contacts = seed(&portal, 0..5);
    let companies: Vec<String> = (0..3)
        .map(|i| portal.create("companies", json!({ "name": format!("Company {i}") })))
        .collect();
    let link = |from: &str, to: &str| {
        json!({"from": {"id": from}, "to": {"id": to},
               "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 279}]})
    };
    let reply = portal.post(
        "/crm/v4/associations/contacts/companies/batch/create",
        json!({"inputs": [link(&contacts[0], &companies[0]), link(&contacts[0], &companies[1]),
                          link(&contacts[1], &companies[2])]}),
    );
    assert!(reply.status.is_success(), "{:?}", reply.body);
    let run = scenario.export([
        "contacts",
        "-o",
        "linked.parquet",
        "--properties",
        "email",
        "--associations",
        "companies",
    ]);
    run.exit(0).reported("records", 5);
    let file = run.exported();
    assert_eq!(
        file.header,
        [
            "hs_object_id",
            "email",
            "createdAt",
            "updatedAt",
            "archived",
            "companies"
        ]
    );
    let both = format!("{};{}", companies[0], companies[1]);
    assert_eq!(
        file.get(file.row_of(&contacts[0]), "companies"),
        Some(both.as_str())
    );
    assert_eq!(
        file.get(file.row_of(&contacts[1]), "companies"),
        Some(companies[2].as_str())
    );
    assert_eq!(file.get(file.row_of(&contacts[2]), "companies"), None);
}

#[test]
fn parquet_columns_are_typed_from_the_property_schema() {
    let scenario = Scenario::new();
    let portal = scenario.portal();
    for (name, kind, field) in [
        ("score", "number", "number"),
        ("ratio", "number", "number"),
        ("vip", "bool", "booleancheckbox"),
        ("last_seen", "datetime", "date"),
        ("joined", "date", "date"),
    ] {
        create_property(
            &portal,
            json!({"name": name, "label": name, "type": kind, "fieldType": field,
                   "groupName": "contactinformation"}),
        );
    }
    let values = [
        (
            "12.5",
            "1.5e3",
            "true",
            "2024-01-31T09:30:00.123Z",
            "2024-01-31",
        ),
        (
            "3",
            "0.25",
            "false",
            "2023-12-01T00:00:00.000Z",
            "2023-12-01",
        ),
        ("-0.25", "2", "", "", ""),
    ];
    seed_with(&portal, 0..3, |i| {
        let (score, ratio, vip, last_seen, joined) = values[i];
        let mut properties = json!({"email": format!("t{i}@example.com"), "score": score,
                                    "ratio": ratio});
        for (name, value) in [("vip", vip), ("last_seen", last_seen), ("joined", joined)] {
            if !value.is_empty() {
                properties[name] = json!(value);
            }
        }
        properties
    });
    let run = scenario.export([
        "contacts",
        "-o",
        "typed.parquet",
        "--properties",
        "email,score,ratio,vip,last_seen,joined",
    ]);
    run.exit(0).reported("records", 3);
    let file = run.exported();
    let utc = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    for (column, data_type) in [
        ("hs_object_id", DataType::Utf8),
        ("email", DataType::Utf8),
        ("score", DataType::Decimal128(38, 2)),
        ("ratio", DataType::Float64),
        ("vip", DataType::Boolean),
        ("last_seen", utc.clone()),
        ("joined", DataType::Date32),
        ("createdAt", utc.clone()),
        ("updatedAt", utc),
        ("archived", DataType::Boolean),
    ] {
        assert_eq!(file.data_type(column), data_type, "{column}");
    }
    assert_eq!(
        file.column("score"),
        [Some("12.50"), Some("3.00"), Some("-0.25")]
    );
    assert_eq!(
        file.column("ratio"),
        [Some("1500"), Some("0.25"), Some("2")]
    );
    assert_eq!(file.column("vip"), [Some("true"), Some("false"), None]);
    assert_eq!(file.get(0, "last_seen"), Some("2024-01-31T09:30:00.123Z"));
    assert_eq!(
        file.column("joined"),
        [Some("2024-01-31"), Some("2023-12-01"), None]
    );
}

#[test]
fn a_property_list_too_long_for_a_url_is_read_by_batch() {
    let scenario = Scenario::new();
    let portal = scenario.portal();
    // 120 properties of 40-odd characters: about 5,000 characters of query, past the 4,000 kept.
    let names: Vec<String> = (0..120)
        .map(|i| format!("a_rather_long_custom_property_name_{i:03}"))
        .collect();
    for name in &names {
        create_property(
            &portal,
            json!({"name": name, "label": name, "type": "string", "fieldType": "text",
                   "groupName": "contactinformation"}),
        );
    }
    let ids = seed_with(
        &portal,
        0..150,
        |i| json!({"email": format!("wide{i}@example.com"), names[i % 120].as_str(): format!("v{i}")}),
    );
    let run = scenario.export(["contacts", "-o", "wide.csv", "--all-properties"]);
    run.exit(0).reported("records", 150);
    let stats = run.portal().stats();
    // Two list pages of ids (100, then 50), each read back by id in one batch read.
    assert_eq!(list_requests(&run.portal()), 2, "{stats}");
    assert_eq!(
        stats["requests"]["POST /crm/objects/2026-09/{objectType}/batch/read"]["200"], 2,
        "{stats}"
    );
    let file = run.exported();
    let row = file.row_of(&ids[130]);
    assert_eq!(file.get(row, "email"), Some("wide130@example.com"));
    assert_eq!(file.get(row, &names[10]), Some("v130"));
    assert_eq!(file.get(row, &names[11]), None);
}

/// Exports 2,500 contacts into `output` with a daily limit of 8 requests, then resumes: once
/// while the limit is still spent, once after it is raised.
fn stopped_by_the_daily_limit_and_resumed(output: &str) {
    let scenario = Scenario::new();
    let ids = seed(&scenario.portal(), 0..2_500);
    scenario
        .portal()
        .configure(json!({"daily_limit": 8, "reset_daily": true}));
    let args = ["contacts", "-o", output, "--properties", "email,firstname"];
    let run = scenario.export(args);
    run.exit(4).reported("stopped", "daily_limit");
    let written = run.number("records");
    assert!(written > 0 && written < 2_500, "{}", run.report());

    // Without --resume the unfinished export is not silently started over.
    let run = run.then().export(args);
    run.exit(1).says("--resume");

    // Still spent: resuming stops again at once, losing nothing.
    let run = run.then().export(args.into_iter().chain(["--resume"]));
    run.exit(4)
        .reported("stopped", "daily_limit")
        .reported("records", written);

    run.portal()
        .configure(json!({"daily_limit": 1_000_000, "reset_daily": true}));
    let run = run.then().export(args.into_iter().chain(["--resume"]));
    run.exit(0).reported("records", 2_500);
    assert_eq!(ids_of(&run), ids, "every record once, in order");
    let leftovers: Vec<String> = run
        .workdir()
        .files()
        .iter()
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|n| n.starts_with(output) && n != output)
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_csv_export_stopped_by_the_daily_limit_resumes_with_every_record_once() {
    stopped_by_the_daily_limit_and_resumed("daily.csv");
}

#[test]
fn a_parquet_export_stopped_by_the_daily_limit_resumes_with_every_record_once() {
    stopped_by_the_daily_limit_and_resumed("daily.parquet");
}
