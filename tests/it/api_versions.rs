//! HubSpot's API versions end to end: the same load through v3, 2026-03 and 2026-09 (chosen by the
//! pipeline, the flag, or the default) sends each version's paths and leaves the same records; a
//! 2026-09 batch answers its errors in a 200 body, and every row is still traced to its fate.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::support::fixtures::Csv;
use crate::support::outcome::Run;
use crate::support::scenario::Scenario;

/// 110 contacts with a birthday and a revenue, then rows 111–120 that update rows 1–10 (new first
/// names); rows 40 and 80 have an email without `@` (rejected locally, whatever the version).
fn load() -> Csv {
    let row = |i: usize, first: String| {
        let email = if i.is_multiple_of(40) {
            format!("broken{i}.example.com")
        } else {
            format!("person{i}@example.com")
        };
        [
            email,
            first,
            format!("Last{i}"),
            format!("19{:02}-{:02}-{:02}", 50 + i % 50, 1 + i % 12, 1 + i % 28),
            format!("{}.5", i * 1000),
        ]
    };
    Csv::new(["Email", "First Name", "Last Name", "Born", "Revenue"])
        .rows((1..=110).map(|i| row(i, format!("First{i}"))))
        .rows((1..=10).map(|i| row(i, format!("Renamed{i}"))))
}

/// What the portal holds, by email, without what differs between two identical loads (record
/// ids, instants).
fn stored(run: &Run) -> BTreeMap<String, Value> {
    let records = run.portal().get("/_sandbox/records/contacts").body;
    records["results"]
        .as_array()
        .expect("records")
        .iter()
        .map(|record| {
            let mut properties = record["properties"].clone();
            let properties = properties.as_object_mut().expect("properties");
            for key in ["hs_object_id", "createdate", "lastmodifieddate"] {
                properties.remove(key);
            }
            let email = properties["email"].as_str().expect("an email").to_string();
            (email, Value::Object(properties.clone()))
        })
        .collect()
}

#[test]
fn the_same_load_through_every_version_leaves_the_same_records() {
    let mut loads = Vec::new();
    // v3 from the pipeline file; 2026-03 from the flag, over a file that says v3; 2026-09 by default.
    for (in_file, flag, marker) in [
        (Some("v3"), None, "/crm/v3/"),
        (Some("v3"), Some("2026-03"), "/2026-03/"),
        (None, None, "/2026-09/"),
    ] {
        let mut scenario = Scenario::new().csv(load()).pipeline(|p| {
            let p = p
                .upsert_by("email")
                .map_toml("email", r#"{ column = "Email", trim = true }"#)
                .map("firstname", "First Name")
                .map("lastname", "Last Name")
                .map("date_of_birth", "Born")
                .map("annualrevenue", "Revenue")
                .batch_size(25);
            match in_file {
                Some(version) => p.api_version(version),
                None => p,
            }
        });
        if let Some(version) = flag {
            scenario = scenario.args(["--api-version", version]);
        }
        let run = scenario.run();
        run.exit(3)
            .rows_read(120)
            .accepted(118)
            .created(108)
            .updated(10)
            .dead_lettered(2);
        // Every request went to this version's paths: schema, rules and batches alike.
        let requests = run.portal().stats()["requests"].clone();
        let paths: Vec<&String> = requests.as_object().expect("requests").keys().collect();
        assert!(
            paths.iter().all(|path| path.contains(marker)),
            "{marker}: {paths:?}"
        );
        assert_eq!(paths.len(), 3, "properties, validations, upsert: {paths:?}");
        let records = stored(&run);
        assert_eq!(records.len(), 108);
        assert_eq!(records["person7@example.com"]["firstname"], "Renamed7");
        assert_eq!(records["person7@example.com"]["annualrevenue"], "7000.5");
        loads.push((run.report().clone(), records));
    }
    let same = |key: &str| {
        let first = &loads[0].0[key];
        loads.iter().all(|(report, _)| &report[key] == first)
    };
    for key in [
        "rows_read",
        "accepted",
        "created",
        "updated",
        "dead_lettered",
        "requests",
    ] {
        assert!(same(key), "{key} differs between versions");
    }
    assert_eq!(loads[0].1, loads[1].1, "v3 and 2026-03 store the same");
    assert_eq!(loads[0].1, loads[2].1, "v3 and 2026-09 store the same");
}

#[test]
fn a_2026_09_batch_with_errors_answers_200_and_every_row_is_attributed() {
    let scenario = Scenario::new();
    let ids: Vec<String> = (1..=10)
        .map(|i| {
            scenario.portal().create(
                "contacts",
                json!({"email": format!("person{i}@example.com"), "lastname": "Before"}),
            )
        })
        .collect();
    // Two ids that do not exist, among the ten that do.
    let mut rows: Vec<[String; 2]> = ids.iter().map(|id| [id.clone(), "After".into()]).collect();
    rows.insert(3, ["987654321".into(), "Nobody".into()]);
    rows.insert(8, ["987654322".into(), "Nobody".into()]);
    let run = scenario
        .csv(Csv::new(["Record ID", "Last Name"]).rows(rows))
        .pipeline(|p| {
            p.update()
                .id_column("Record ID")
                .map("lastname", "Last Name")
        })
        .run();
    run.exit(3).accepted(10).updated(10).dead_lettered(2);
    // One batch, answered 200 with the errors in its body: no 207, no bisection, no resend.
    let requests = &run.portal().stats()["requests"];
    assert_eq!(
        requests["POST /crm/objects/2026-09/{objectType}/batch/update"],
        json!({"200": 1})
    );
    assert_eq!(run.number("requests"), 3, "schema, rules, one batch");
    let dead = run.dead_letters();
    assert_eq!(dead.column("etl_row"), ["4", "9"]);
    assert_eq!(dead.column("Record ID"), ["987654321", "987654322"]);
    for i in 0..2 {
        assert_eq!(dead.get(i, "etl_status"), "404");
        assert_eq!(dead.get(i, "etl_category"), "OBJECT_NOT_FOUND");
    }
    for id in &ids {
        let record = run.portal().get(&format!(
            "/crm/objects/2026-09/contacts/{id}?properties=lastname"
        ));
        assert_eq!(record.body["properties"]["lastname"], "After", "{id}");
    }
}

#[test]
fn validate_takes_the_flag_too_and_an_unknown_version_is_a_usage_error() {
    let scenario = Scenario::new()
        .csv(crate::support::fixtures::contacts(3))
        .pipeline(|p| p.upsert_by("email").map_contact_columns());
    let run = scenario.args(["--api-version", "2026-03"]).validate();
    run.exit(0);
    let requests = run.portal().stats()["requests"].clone();
    let paths: Vec<&String> = requests.as_object().expect("requests").keys().collect();
    assert_eq!(
        paths,
        [
            "GET /crm/properties/2026-03/{objectType}",
            "GET /crm/property-validations/2026-03/{objectTypeId}"
        ]
    );
    run.then()
        .args(["--api-version", "2027-03"])
        .validate()
        .exit(2)
        .says("unknown API version \"2027-03\"");
    run.then()
        .written_pipeline(
            "bad.toml",
            "[source]\npath = \"input.csv\"\n[target]\nobject = \"contacts\"\noperation = \"upsert\"\n\
             id_property = \"email\"\nbase_url = \"sandbox\"\napi_version = \"v4\"\n[mapping]\nemail = \"Email\"\n",
        )
        .validate()
        .exit(1)
        .says("bad.toml")
        .says("target.api_version");
}
