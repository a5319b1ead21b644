//! `[sync]`: nightly runs over fresh exports that send only what changed, create-or-update by the
//! state for objects without a unique property, mirrored deletes and their guard, crash safety.
//! Checked against the sandbox's records and request counts, not only the report.

use serde_json::Value;

use crate::support::fixtures::{Csv, Pipeline};
use crate::support::outcome::Run;
use crate::support::sandbox::Portal;
use crate::support::scenario::Scenario;
use crate::support::workdir::CsvFile;

/// Contacts `ids` (person{i}@example.com), with `first(i)` as the first name.
fn people(ids: impl IntoIterator<Item = usize>, first: impl Fn(usize) -> String) -> Csv {
    Csv::new(["Email", "First Name", "Last Name"]).rows(ids.into_iter().map(|i| {
        [
            format!("person{i}@example.com"),
            first(i),
            format!("Last{i}"),
        ]
    }))
}

/// Requests of the sandbox whose route ends with `suffix`, whatever the API version.
fn requests(portal: &Portal, suffix: &str) -> u64 {
    let stats = portal.stats();
    stats["requests"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(route, _)| route.ends_with(suffix))
        .flat_map(|(_, by_status)| by_status.as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum()
}

fn synced_contacts(p: Pipeline) -> Pipeline {
    p.upsert_by("email")
        .map_contact_columns()
        .sync_changes(&[])
        .sync("mirror_deletes", "true")
}

#[test]
fn a_nightly_sync_sends_only_what_changed_and_mirrors_deletes() {
    // Night 1: the whole export.
    let night1 = Scenario::new()
        .csv(people(1..=1000, |i| format!("First{i}")))
        .pipeline(synced_contacts)
        .run();
    night1.exit(0).accepted(1000).created(1000);
    let portal = night1.portal();
    assert_eq!(portal.records("contacts"), 1000);
    let upserts = requests(&portal, "/batch/upsert");
    assert_eq!(upserts, 10);

    // Night 2: 1 % changed (rows 1..=10), 0.5 % new (1001..=1005), 0.2 % gone (999, 1000).
    let export = people((1..=998).chain(1001..=1005), |i| {
        if i <= 10 {
            format!("Renamed{i}")
        } else {
            format!("First{i}")
        }
    });
    let night2 = night1.then().csv(export.clone()).run();
    night2.exit(0).accepted(15).created(5).updated(10);
    night2.reported("unchanged", 988).reported("deleted", 2);
    let portal = night2.portal();
    assert_eq!(portal.records("contacts"), 1003);
    assert_eq!(
        requests(&portal, "/batch/upsert") - upserts,
        1,
        "15 rows, one batch"
    );
    assert_eq!(requests(&portal, "/batch/archive"), 1);
    let renamed = portal
        .get("/crm/v3/objects/contacts/person7@example.com?idProperty=email&properties=firstname");
    assert_eq!(renamed.body["properties"]["firstname"], "Renamed7");

    // Night 3: the same export again: nothing to send (only the schema and its rules are read).
    let writes =
        |portal: &Portal| requests(portal, "/batch/upsert") + requests(portal, "/batch/archive");
    let before = writes(&portal);
    let night3 = night2
        .then()
        .csv(export.row(["person1@example.com", "Renamed1", "Last1"]))
        .run();
    night3.exit(0).accepted(0).reported("unchanged", 1004);
    assert_eq!(
        writes(&night3.portal()),
        before,
        "{}",
        night3.portal().stats()
    );
}

#[test]
fn companies_without_a_unique_property_are_created_once_then_updated() {
    let companies = |ids: std::ops::RangeInclusive<usize>, city: &dyn Fn(usize) -> String| {
        Csv::new(["Account Id", "Name", "City"])
            .rows(ids.map(|i| [format!("A-{i:05}"), format!("Company {i}"), city(i)]))
    };
    let pipeline = |p: Pipeline| {
        p.object("companies")
            .create()
            .map("name", "Name")
            .map("city", "City")
            .sync_changes(&["Account Id"])
    };
    // Row 201 repeats row 3's key later in the same file: it updates the record row 3 creates.
    let night1 = Scenario::new()
        .csv(companies(1..=200, &|i| format!("City {i}")).row([
            "A-00003",
            "Company 3",
            "Moved City",
        ]))
        .pipeline(pipeline)
        .run();
    night1.exit(0).accepted(201).created(200).updated(1);
    let portal = night1.portal();
    assert_eq!(portal.records("companies"), 200);

    // Night 2: ten cities changed, five new companies.
    let night2 = night1
        .then()
        .csv(companies(1..=205, &|i| {
            if i % 20 == 0 {
                format!("New City {i}")
            } else if i == 3 {
                "Moved City".to_string()
            } else {
                format!("City {i}")
            }
        }))
        .run();
    night2
        .exit(0)
        .accepted(15)
        .created(5)
        .updated(10)
        .reported("unchanged", 190);
    let portal = night2.portal();
    assert_eq!(portal.records("companies"), 205, "no company created twice");
    let records = portal.get("/_sandbox/records/companies");
    let cities: Vec<&str> = records.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["properties"]["name"] == "Company 40" || r["properties"]["name"] == "Company 3"
        })
        .map(|r| r["properties"]["city"].as_str().unwrap())
        .collect();
    assert_eq!(cities.len(), 2, "{cities:?}");
    assert!(
        cities.contains(&"New City 40") && cities.contains(&"Moved City"),
        "{cities:?}"
    );
}

#[test]
fn a_row_that_fails_validation_still_keeps_its_record_from_mirrored_deletes() {
    let night1 = Scenario::new()
        .csv(people(1..=20, |i| format!("First{i}")))
        .pipeline(synced_contacts)
        .run();
    night1.exit(0).accepted(20);
    // Night 2: row 5's first name is too long for HubSpot (a changed row that cannot be sent), and
    // person20 left the export.
    let night2 = night1
        .then()
        .csv(people(1..=19, |i| match i {
            5 => "x".repeat(70_000),
            i => format!("First{i}"),
        }))
        .run();
    night2.reported("deleted", 1).reported("unchanged", 18);
    let dead = night2.dead_letters();
    assert_eq!(dead.column("Email"), ["person5@example.com"]);
    let portal = night2.portal();
    assert_eq!(portal.records("contacts"), 19, "only person20 is archived");
    let kept = portal
        .get("/crm/v3/objects/contacts/person5@example.com?idProperty=email&properties=firstname");
    assert_eq!(kept.body["properties"]["firstname"], "First5");
}

#[test]
fn the_delete_guard_refuses_until_allowed() {
    let night1 = Scenario::new()
        .csv(people(1..=100, |i| format!("First{i}")))
        .pipeline(|p| synced_contacts(p).sync("max_deletes", "\"10%\""))
        .run();
    night1.exit(0).accepted(100);
    // Half the export is gone: more than 10 % of the state.
    let night2 = night1
        .then()
        .csv(people(1..=50, |i| format!("First{i}")))
        .run();
    night2
        .exit(1)
        .says("--allow-deletes")
        .says("50 records left the source");
    assert_eq!(night2.portal().records("contacts"), 100, "nothing deleted");
    let night3 = night2
        .then()
        .csv(people(1..=50, |i| format!("First{i}")))
        .args(["--allow-deletes"])
        .run();
    night3
        .exit(0)
        .reported("deleted", 50)
        .reported("unchanged", 50);
    assert_eq!(night3.portal().records("contacts"), 50);
}

#[test]
fn a_dead_letter_of_one_night_is_sent_again_the_next() {
    let mut export = people(1..=20, |i| format!("First{i}"));
    let night1 = Scenario::new()
        .csv(export.clone().row(["broken.example.com", "Bad", "Row"]))
        .pipeline(synced_contacts)
        .run();
    night1.exit(3).accepted(20).dead_lettered(1);
    export = export.row(["fixed@example.com", "Bad", "Row"]);
    let night2 = night1.then().csv(export).run();
    night2.exit(0).accepted(1).reported("unchanged", 20);
    assert_eq!(night2.portal().records("contacts"), 21);
}

#[test]
fn full_sends_every_row_and_refreshes_the_state() {
    let night1 = Scenario::new()
        .csv(people(1..=100, |i| format!("First{i}")))
        .pipeline(synced_contacts)
        .run();
    night1.exit(0).accepted(100);
    let full = night1
        .then()
        .csv(people(1..=100, |i| format!("First{i}")))
        .args(["--full"])
        .run();
    full.exit(0)
        .accepted(100)
        .updated(100)
        .reported("unchanged", 0);
}

/// A create-or-update sync killed mid-way with `kill -9`, then resumed.
fn killed_then_resumed(object: &str, csv: Csv, pipeline: fn(Pipeline) -> Pipeline) -> Run {
    let running = Scenario::new()
        .sandbox(|s| s.latency_ms(20).process())
        .csv(csv)
        .pipeline(|p| pipeline(p).batch_size(10).concurrency(2))
        .spawn();
    let object = object.to_string();
    running
        .kill_when(move |portal| portal.records(&object) >= 60)
        .args(["--resume"])
        .run()
}

#[test]
fn killed_mid_sync_then_resumed_creates_each_record_once() {
    // Creates in flight at the kill are looked up by email on --resume: none is lost or doubled.
    let csv = Csv::new(["Email", "Name"])
        .rows((1..=400).map(|i| [format!("p{i}@example.com"), format!("Person {i}")]));
    let resumed = killed_then_resumed("contacts", csv.clone(), |p| {
        p.create()
            .map("email", "Email")
            .map("firstname", "Name")
            .sync_changes(&["Email"])
    });
    resumed.exit(0).rows_read(400);
    assert_eq!(resumed.portal().records("contacts"), 400);
    // The state knows every record: the same export again sends nothing.
    let again = resumed.then().csv(csv).run();
    again.exit(0).accepted(0).reported("unchanged", 400);
    assert_eq!(again.portal().records("contacts"), 400);
}

#[test]
fn creates_in_doubt_without_a_unique_property_are_never_created_again() {
    let csv = Csv::new(["Account Id", "Name"])
        .rows((1..=400).map(|i| [format!("A-{i:05}"), format!("Company {i}")]));
    let resumed = killed_then_resumed("companies", csv.clone(), |p| {
        p.object("companies")
            .create()
            .map("name", "Name")
            .sync_changes(&["Account Id"])
    });
    // The creates in flight at the kill may or may not have landed: dead-lettered AMBIGUOUS, and
    // every other company created exactly once.
    let records = resumed.portal().records("companies");
    let ambiguous = resumed.number("dead_lettered");
    assert_eq!(resumed.number("accepted") + ambiguous, 400);
    assert!(
        records >= resumed.number("accepted") && records <= 400,
        "{records}"
    );
    if ambiguous > 0 {
        let dead = resumed.dead_letters();
        assert!(
            dead.column("etl_category")
                .iter()
                .all(|c| *c == "AMBIGUOUS")
        );
    }
    // The next night does not create them blindly either.
    let again = resumed.then().csv(csv).run();
    again
        .reported("accepted", 0)
        .reported("dead_lettered", ambiguous);
    assert_eq!(again.portal().records("companies"), records);
}

#[test]
fn the_state_can_be_shown_exported_and_validated_against() {
    let night1 = Scenario::new()
        .csv(people(1..=30, |i| format!("First{i}")))
        .pipeline(synced_contacts)
        .run();
    night1.exit(0).accepted(30);
    let work = night1.workdir();
    let etl = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_etl"))
            .args(args)
            .current_dir(work.dir())
            .output()
            .unwrap()
    };
    let shown = etl(&["state", "show", "p.toml"]);
    assert!(String::from_utf8_lossy(&shown.stdout).contains("keys:      30"));
    let exported = etl(&["state", "export", "p.toml", "-o", "map.csv"]);
    assert!(exported.status.success(), "{exported:?}");
    let map = CsvFile::read(&work.path("map.csv"));
    assert_eq!(map.len(), 30);
    let records: Value = night1.portal().get("/_sandbox/records/contacts").body;
    let ids: std::collections::HashSet<&str> = records["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(map.column("record_id").iter().all(|id| ids.contains(id)));
    assert!(map.column("email").contains(&"person1@example.com"));
    // A dry run of the next night says what it would send, skip and delete.
    let dry = night1
        .then()
        .csv(people(3..=32, |i| format!("First{i}")))
        .validate();
    dry.exit(0).valid(2);
    dry.reported("unchanged", 28).reported("deletes", 2);
}

#[test]
fn the_two_night_sample_does_what_its_docs_say() {
    // samples/sync against `etl sandbox` as a process, as docs/sync.md runs it.
    let sample = |name: &str| std::fs::read_to_string(format!("samples/sync/{name}")).unwrap();
    let night1 = Scenario::new()
        .sandbox(|s| s.process())
        .written_pipeline("accounts.toml", &sample("accounts.toml"))
        .file("export.csv", sample("night1.csv"));
    let url = night1.url();
    let night1 = night1.args(["--base-url", &url]).run();
    night1.exit(0).accepted(60).created(60);
    let night2 = night1
        .then()
        .file("export.csv", sample("night2.csv"))
        .args(["--base-url", &url])
        .run();
    night2.exit(0).accepted(7).created(3).updated(4);
    night2.reported("unchanged", 54).reported("deleted", 2);
    let portal = night2.portal();
    assert_eq!(portal.records("companies"), 61, "63 created, 2 archived");
    let writes = |portal: &Portal| {
        ["/batch/create", "/batch/update", "/batch/archive"].map(|route| requests(portal, route))
    };
    assert_eq!(
        writes(&portal),
        [2, 1, 1],
        "one create batch a night, then 4 updates, 2 archives"
    );

    // The same export again: nothing to send.
    let night3 = night2
        .then()
        .file("export.csv", sample("night2.csv"))
        .args(["--base-url", &url])
        .run();
    night3.exit(0).accepted(0).reported("unchanged", 61);
    assert_eq!(writes(&night3.portal()), [2, 1, 1], "no write request");
}

/// Milliseconds since the epoch, by this machine's clock (the sandbox's too).
fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.expect("after 1970").as_millis() as i64
}

#[test]
fn a_key_left_in_doubt_by_an_earlier_job_is_checked_against_that_jobs_start() {
    use etl::job::state::{Change, State};
    use serde_json::json;
    use std::time::Duration;

    let csv = Csv::new(["Email", "Name"])
        .rows((1..=20).map(|i| [format!("p{i}@example.com"), format!("Person {i}")]));
    let night = Scenario::new().csv(csv).pipeline(|p| {
        p.create()
            .map("email", "Email")
            .map("firstname", "Name")
            .sync_changes(&["Email"])
    });
    // p3 existed before last night's job; p5 is the record last night's create made before its
    // answer was lost and the job stopped: the state holds both keys in doubt, with that job's
    // start as the bound.
    let portal = night.portal();
    let someone_elses = portal.create("contacts", json!({"email": "p3@example.com"}));
    std::thread::sleep(Duration::from_millis(50));
    let last_night = now_ms();
    std::thread::sleep(Duration::from_millis(50));
    let made_last_night = portal.create("contacts", json!({"email": "p5@example.com"}));
    let mut state = State::open(&night.workdir().path("p.state")).unwrap();
    let doubt = |key: &str| Change::InDoubt {
        key: key.into(),
        sent_after_ms: Some(last_night),
    };
    state
        .apply(&[doubt("p3@example.com"), doubt("p5@example.com")], 0)
        .unwrap();
    drop(state);
    // Tonight's job starts later than both records by more than its clock margin: measured from
    // its own start, both would look older than the job.
    std::thread::sleep(Duration::from_millis(2100));

    let tonight = night.run();
    tonight.exit(3).rows_read(20).accepted(19).created(19);
    assert_eq!(
        tonight.number("verified_creates"),
        1,
        "{}",
        tonight.report()
    );
    let dead = tonight.dead_letters();
    assert_eq!(dead.column("etl_row"), vec!["3"]);
    assert_eq!(dead.column("etl_category"), vec!["CONFLICT"]);
    assert!(dead.column("etl_message")[0].contains(&someone_elses));
    assert_eq!(tonight.portal().records("contacts"), 20);
    // The state maps p5 to the record last night's create made, and p3 to nothing: a mirrored
    // delete can never archive someone else's record.
    let state = State::read(&tonight.workdir().path("p.state"))
        .unwrap()
        .unwrap();
    let p5 = state.lookup("p5@example.com").unwrap().unwrap();
    assert_eq!(p5.record_id.as_deref(), Some(made_last_night.as_str()));
    assert!(!p5.in_doubt);
    let p3 = state.lookup("p3@example.com").unwrap().unwrap();
    assert!(p3.in_doubt && p3.record_id.is_none(), "{p3:?}");
    drop(state);
    // The export shows when p3's create was sent after, for the person who checks it by hand.
    let exported = std::process::Command::new(env!("CARGO_BIN_EXE_etl"))
        .args(["state", "export", "p.toml", "-o", "map.csv"])
        .current_dir(tonight.workdir().dir())
        .output()
        .unwrap();
    assert!(exported.status.success(), "{exported:?}");
    let map = CsvFile::read(&tonight.workdir().path("map.csv"));
    let sent_after = chrono::DateTime::from_timestamp_millis(last_night)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let in_doubt: Vec<_> = map
        .column("Email")
        .into_iter()
        .zip(map.column("sent_after"))
        .filter(|(_, sent_after)| !sent_after.is_empty())
        .collect();
    assert_eq!(in_doubt, [("p3@example.com", sent_after.as_str())]);
}
