//! Migration plans: the properties step, stages in order (and alongside), one report, `--resume`
//! of a plan killed in its second stage, `etl validate` of a plan. Checked against the records,
//! links and properties the sandbox holds.

use serde_json::{Value, json};

use crate::support::fixtures::{Csv, Pipeline};
use crate::support::scenario::Scenario;

/// The window of every stage (and so of the plan).
const WINDOW: (u64, u64) = (400, 1_000);

/// `[[properties]]`: companies' unique `external_id`, of `kind`.
fn external_id(kind: &str) -> String {
    format!(
        "[[properties]]\nobject = \"companies\"\nname = \"external_id\"\nlabel = \"External ID\"\n\
         type = \"{kind}\"\nunique = true\n\n"
    )
}

/// A stage pipeline's text, sent to the scenario's sandbox.
fn stage(scenario: &Scenario, p: Pipeline) -> String {
    p.base_url(&scenario.url())
        .window(WINDOW.0, WINDOW.1)
        .text()
}

/// The migration's four stages, written into the scenario's workdir: companies (`ACC-1`…), contacts
/// linked to a company by the companies stage's map (some unknown), deals linked to a company (by
/// `external_id`) and a contact (by the contacts stage's map), notes on contacts alongside the deals.
fn migration(scenario: Scenario, companies: usize, contacts: usize) -> Scenario {
    let account = |i: usize| format!("ACC-{}", 1 + i % companies);
    let stages = [
        (
            "companies.toml",
            Pipeline::new()
                .source("companies.csv")
                .object("companies")
                .upsert_by("external_id")
                .map("external_id", "Account Id")
                .map("name", "Name")
                .sync_changes(&[]),
        ),
        (
            "contacts.toml",
            Pipeline::new()
                .source("contacts.csv")
                // One batch at a time: a test can stop the plan inside this stage.
                .concurrency(1)
                .upsert_by("email")
                .map("email", "Email")
                .map("firstname", "First Name")
                .sync_changes(&[])
                .link(&[
                    ("column", "\"Account Id\""),
                    ("from_pipeline", "\"companies.toml\""),
                    ("type_id", "279"),
                ]),
        ),
        (
            "deals.toml",
            Pipeline::new()
                .source("deals.csv")
                .object("deals")
                .create()
                .map("dealname", "Deal")
                .map_toml("dealstage", "{ value = \"appointmentscheduled\" }")
                .map_toml("pipeline", "{ value = \"default\" }")
                .sync_changes(&["Deal Id"])
                .link(&[
                    ("to_object", "\"companies\""),
                    ("column", "\"Account Id\""),
                    ("to_property", "\"external_id\""),
                    ("type_id", "341"),
                ])
                .link(&[
                    ("column", "\"Contact\""),
                    ("from_pipeline", "\"contacts.toml\""),
                    ("type_id", "3"),
                ]),
        ),
        (
            "notes.toml",
            Pipeline::new()
                .source("notes.csv")
                .object("notes")
                .create()
                .map("hs_note_body", "Body")
                .map("hs_timestamp", "When")
                .sync_changes(&["Note Id"])
                .link(&[
                    ("column", "\"Contact\""),
                    ("from_pipeline", "\"contacts.toml\""),
                    ("type_id", "202"),
                ]),
        ),
    ];
    let mut scenario = scenario
        .file(
            "companies.csv",
            Csv::new(["Account Id", "Name"])
                .rows((1..=companies).map(|i| [format!("ACC-{i}"), format!("Company {i}")]))
                .to_string(),
        )
        .file(
            "contacts.csv",
            Csv::new(["Email", "First Name", "Account Id"])
                .rows((1..=contacts).map(|i| {
                    // Every 50th names an account the companies stage never loaded.
                    let acc = if i % 50 == 0 {
                        "ACC-UNKNOWN".into()
                    } else {
                        account(i)
                    };
                    [format!("person{i}@example.com"), format!("F{i}"), acc]
                }))
                .to_string(),
        )
        .file(
            "deals.csv",
            Csv::new(["Deal Id", "Deal", "Account Id", "Contact"])
                .rows((1..=20).map(|i| {
                    [
                        format!("D-{i}"),
                        format!("Deal {i}"),
                        account(i),
                        format!("person{i}@example.com"),
                    ]
                }))
                .to_string(),
        )
        .file(
            "notes.csv",
            Csv::new(["Note Id", "Body", "When", "Contact"])
                .rows((1..=10).map(|i| {
                    [
                        format!("N-{i}"),
                        format!("Called {i}"),
                        "2026-11-02T10:00:00Z".into(),
                        format!("PERSON{i}@example.com"),
                    ]
                }))
                .to_string(),
        );
    for (name, pipeline) in stages {
        let text = stage(&scenario, pipeline);
        scenario = scenario.file(name, text);
    }
    scenario
}

fn plan_text(properties: &str) -> String {
    format!(
        "{properties}[[stage]]\npipeline = \"companies.toml\"\n\n[[stage]]\npipeline = \
         \"contacts.toml\"\n\n[[stage]]\npipeline = \"deals.toml\"\n\n[[stage]]\npipeline = \
         \"notes.toml\"\nparallel = true\n"
    )
}

fn stage_report(run: &crate::support::outcome::Run, i: usize) -> &Value {
    &run.report()["stages"][i]
}

#[test]
fn a_plan_creates_its_properties_then_runs_every_stage_and_reports_each() {
    let scenario = migration(Scenario::new(), 10, 100);
    let run = scenario
        .written_pipeline("migration.toml", &plan_text(&external_id("string")))
        .verbose()
        .run();
    // Two contacts name an unknown account: dead letters, not a stop.
    run.exit(3);
    let report = run.report();
    assert_eq!(report["properties"][0]["ensured"], "created", "{report}");
    let reads: Vec<u64> = (0..4)
        .map(|i| {
            stage_report(&run, i)["report"]["rows_read"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(reads, [10, 100, 20, 10]);
    assert_eq!(stage_report(&run, 1)["report"]["dead_lettered"], 2);
    let links: Vec<&Value> = (1..4)
        .map(|i| &stage_report(&run, i)["report"]["linked"])
        .collect();
    assert_eq!(
        links,
        [98, 40, 10],
        "after the contacts' upserts; inline with the deals' and notes' creates"
    );
    assert_eq!(report["totals"]["rows_read"], 140);
    assert_eq!(report["totals"]["dead_lettered"], 2);
    run.says("stage 2 contacts.toml")
        .says("plan: 140 rows read");

    let portal = run.portal();
    let property = portal.get("/crm/v3/properties/companies/external_id");
    assert_eq!(property.body["hasUniqueValue"], true, "{:?}", property.body);
    // The two contacts naming an unknown account were not written.
    for (object, n) in [
        ("companies", 10),
        ("contacts", 98),
        ("deals", 20),
        ("notes", 10),
    ] {
        assert_eq!(portal.records(object), n, "{object}");
    }
    let deal_links = portal.links("deals");
    assert_eq!(deal_links.iter().filter(|l| l.1 == "companies").count(), 20);
    assert_eq!(deal_links.iter().filter(|l| l.1 == "contacts").count(), 20);
    assert_eq!(
        portal.links("notes").len(),
        10,
        "notes link by a case-insensitive email"
    );
    let stats = portal.stats();
    assert!(
        stats["max_requests_in_window"].as_u64().unwrap() <= WINDOW.0,
        "one budget for the stages running together: {stats}"
    );
    let dead = crate::support::workdir::CsvFile::read(&run.workdir().path("contacts.failed.csv"));
    assert_eq!(
        dead.column("etl_category"),
        ["ASSOCIATION_TARGET_NOT_FOUND"; 2]
    );

    // Again: the property exists (and is left alone); upserts update, creates by [sync] update.
    let again = run.then().run();
    again.exit(3);
    assert_eq!(again.report()["properties"][0]["ensured"], "existed");
    // Nothing changed: every row the stages' states hold is skipped, in the totals too.
    assert_eq!(again.report()["totals"]["unchanged"], 10 + 98 + 20 + 10);
    assert_eq!(again.portal().records("deals"), 20, "no deal created twice");
}

#[test]
fn a_property_that_exists_with_another_type_stops_the_plan_before_any_stage() {
    let scenario = migration(Scenario::new(), 3, 10);
    let portal = scenario.portal();
    let made = portal.post(
        "/crm/v3/properties/companies",
        json!({"name": "external_id", "label": "External", "type": "number",
               "fieldType": "number", "groupName": "companyinformation"}),
    );
    assert_eq!(made.status, 201, "{:?}", made.body);
    let run = scenario
        .written_pipeline("migration.toml", &plan_text(&external_id("string")))
        .run();
    run.exit(1)
        .says("companies.external_id exists with type \"number\"")
        .says("declares type \"string\"");
    let portal = run.portal();
    assert_eq!(portal.records("companies"), 0, "no stage ran");
    let property = portal.get("/crm/v3/properties/companies/external_id");
    assert_eq!(property.body["type"], "number", "never modified");
}

#[test]
fn a_plan_killed_in_its_second_stage_resumes_there() {
    let scenario = migration(Scenario::new().sandbox(|s| s.latency_ms(40)), 20, 1500);
    let plan = plan_text(&external_id("string"));
    let next = scenario
        .written_pipeline("migration.toml", &plan)
        .spawn()
        .kill_when(|portal| portal.records("contacts") >= 300);
    let portal = next.portal();
    let contacts_before = portal.records("contacts");
    assert!(
        (300..1500).contains(&contacts_before),
        "killed inside the contacts stage: {contacts_before}"
    );
    assert_eq!(portal.records("deals"), 0, "the third stage never started");
    let company_upserts = portal.requests("/{objectType}/batch/upsert");

    let run = next.args(["--resume"]).verbose().run();
    run.exit(3)
        .says("stage 1 companies.toml: (already finished) 20 rows read: 20 accepted");
    assert!(
        !run.text().contains(", 0 rows/s"),
        "no timing for a stage this run did not run:\n{}",
        run.text()
    );
    assert_eq!(stage_report(&run, 0)["status"], "already_finished");
    assert_eq!(stage_report(&run, 1)["status"], "ran");
    assert_eq!(stage_report(&run, 1)["report"]["rows_read"], 1500);
    let portal = run.portal();
    assert_eq!(portal.records("companies"), 20);
    assert_eq!(
        portal.records("contacts"),
        1500 - 30,
        "the 30 with an unknown account not written"
    );
    assert_eq!(portal.records("deals"), 20);
    assert_eq!(portal.records("notes"), 10);
    // Only the contacts' upserts were sent again, not the companies'.
    let upserts = portal.requests("/{objectType}/batch/upsert") - company_upserts;
    assert!(upserts <= 15 + 1, "{upserts} upserts after the resume");
    let linked = portal
        .links("contacts")
        .iter()
        .filter(|l| l.1 == "companies")
        .count();
    assert_eq!(
        linked,
        1500 - 30,
        "every contact but the 30 with an unknown account"
    );
}

#[test]
fn validate_checks_every_stage_and_says_which_links_wait_for_an_earlier_stage() {
    let scenario = migration(Scenario::new(), 5, 50);
    let run = scenario
        .written_pipeline("migration.toml", &plan_text(&external_id("string")))
        .validate();
    run.exit(0)
        .says("property companies.external_id: will be created")
        .says("stage 1 companies.toml:")
        .says("stage 4 notes.toml:")
        .says("links of column \"Account Id\" checked for shape only: their map is written by")
        .says("companies records are loaded by");
    let portal = run.portal();
    assert_eq!(portal.records("companies"), 0, "validate writes nothing");
    assert_eq!(
        portal
            .get("/crm/v3/properties/companies/external_id")
            .status,
        404
    );
}

#[test]
fn a_plan_refuses_source_which_replays_one_pipelines_file() {
    let scenario = migration(Scenario::new(), 2, 4)
        .written_pipeline("migration.toml", &plan_text(""))
        .args(["--source", "contacts.csv"]);
    let run = scenario.run();
    // A command-line mistake: usage (exit 2).
    run.exit(2)
        .says("--source replays one pipeline's file; the stages of a plan read their own");
    assert_eq!(run.portal().records("companies"), 0, "no stage ran");
    run.then()
        .args(["--source", "contacts.csv"])
        .validate()
        .exit(2)
        .says("--source replays one pipeline's file");
}

#[test]
fn stages_running_at_once_share_one_window() {
    // Two independent stages alongside each other, each with requests enough to fill the window
    // alone: on one budget the busiest window still holds no more than the stages' limit. A small
    // limit spaces the requests widely (≈ 250 ms), so a loaded machine's jitter cannot crowd them.
    let limit = 6;
    let mut scenario = Scenario::new();
    for (name, object, column) in [
        ("companies", "companies", "name"),
        ("contacts", "contacts", "email"),
    ] {
        let rows = (1..=100).map(|i| [format!("{name}{i}@example.com")]);
        let pipeline = Pipeline::new()
            .source(&format!("{name}.csv"))
            .object(object)
            .create()
            .map(column, "Value")
            .batch_size(10)
            .concurrency(4)
            .base_url(&scenario.url())
            .window(limit, 1_000)
            .text();
        scenario = scenario
            .file(
                &format!("{name}.csv"),
                Csv::new(["Value"]).rows(rows).to_string(),
            )
            .file(&format!("{name}.toml"), pipeline);
    }
    let run = scenario
        .written_pipeline(
            "plan.toml",
            "[[stage]]\npipeline = \"companies.toml\"\n\n[[stage]]\npipeline = \
             \"contacts.toml\"\nparallel = true\n",
        )
        .run();
    run.exit(0);
    assert_eq!(run.report()["totals"]["accepted"], 200);
    let portal = run.portal();
    let stats = portal.stats();
    let busiest = stats["max_requests_in_window"].as_u64().unwrap();
    assert!(busiest <= limit, "{busiest} in one window: {stats}");
}
