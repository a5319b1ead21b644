//! `[[associations]]` by the source's own keys, on every write operation, and the link operations
//! `associate`/`dissociate`: checked against the records and links the sandbox holds
//! (`/_sandbox/links`, v4 reads), not only the report.

use serde_json::json;

use crate::support::fixtures::{Csv, Pipeline};
use crate::support::sandbox::Portal;
use crate::support::scenario::Scenario;

/// `[[associations]]` to companies by their unique `external_id`, contact → company (279).
fn to_company_by_external_id(p: Pipeline) -> Pipeline {
    p.link(&[
        ("to_object", "\"companies\""),
        ("column", "\"Account Id\""),
        ("split", "\";\""),
        ("to_property", "\"external_id\""),
        ("type_id", "279"),
    ])
}

/// Companies `ACC-1`…`ACC-n` (unique `external_id`), created through the API; their ids in order.
fn companies(portal: &Portal, n: usize) -> Vec<String> {
    portal.unique_property("companies", "external_id");
    (1..=n)
        .map(|i| {
            portal.create(
                "companies",
                json!({"name": format!("Company {i}"), "external_id": format!("ACC-{i}")}),
            )
        })
        .collect()
}

/// The companies a contact is linked with, and the types of each link.
fn linked(portal: &Portal, contact: &str) -> Vec<(String, Vec<u64>)> {
    portal
        .links("contacts")
        .into_iter()
        .filter(|(from, to_type, _, _)| from == contact && to_type == "companies")
        .map(|(_, _, to, types)| (to, types))
        .collect()
}

fn contact(portal: &Portal, i: usize) -> String {
    portal
        .id_of("contacts", "email", &format!("person{i}@example.com"))
        .unwrap_or_else(|| panic!("contact {i} exists"))
}

#[test]
fn creates_link_inline_by_unique_property_and_unknown_targets_write_nothing() {
    let scenario = Scenario::new();
    let company = companies(&scenario.portal(), 2);
    let run = scenario
        .csv(Csv::new(["Email", "First Name", "Account Id"]).rows([
            ["person1@example.com", "Ann", "ACC-1"],
            ["person2@example.com", "Bob", "ACC-2"],
            ["person3@example.com", "Cy", "ACC-1; ACC-2"],
            ["person4@example.com", "Di", "ACC-404"],
            ["person5@example.com", "Ed", ""],
            ["person6@example.com", "Flo", "ACC-2;ACC-405"],
        ]))
        .pipeline(|p| {
            to_company_by_external_id(
                p.create()
                    .map("email", "Email")
                    .map("firstname", "First Name"),
            )
        })
        .run();
    // Contacts 1 and 2 one link each, 3 two, 5 none.
    run.exit(3)
        .accepted(4)
        .created(4)
        .dead_lettered(2)
        .reported("linked", 4);
    let dead = run.dead_letters();
    assert_eq!(dead.column("etl_row"), ["4", "6"]);
    assert_eq!(dead.column("etl_status"), ["not_found", "not_found"]);
    assert_eq!(dead.get(0, "etl_category"), "ASSOCIATION_TARGET_NOT_FOUND");
    let message = dead.get(0, "etl_message");
    for part in ["\"Account Id\"", "\"ACC-404\"", "external_id", "companies"] {
        assert!(message.contains(part), "{part} not in {message}");
    }
    assert!(dead.get(1, "etl_message").contains("ACC-405"));

    let portal = run.portal();
    assert_eq!(
        portal.records("contacts"),
        4,
        "nothing written for rows 4 and 6"
    );
    assert_eq!(
        portal.id_of("contacts", "email", "person4@example.com"),
        None
    );
    assert_eq!(
        linked(&portal, &contact(&portal, 1)),
        [(company[0].clone(), vec![279])]
    );
    assert_eq!(
        linked(&portal, &contact(&portal, 2)),
        [(company[1].clone(), vec![279])]
    );
    assert_eq!(linked(&portal, &contact(&portal, 3)).len(), 2);
    assert!(linked(&portal, &contact(&portal, 5)).is_empty());
    // Every key of the batch in one lookup; links rode inline with the create.
    assert_eq!(portal.requests("/{objectType}/batch/read"), 1);
    assert_eq!(portal.requests("/{objectType}/batch/create"), 1);
    assert_eq!(portal.requests("/{toObjectType}/batch/create"), 0);
}

#[test]
fn upserts_and_updates_write_their_links_after_the_record() {
    let scenario = Scenario::new();
    let company = companies(&scenario.portal(), 3);
    let run = scenario
        .csv(
            Csv::new(["Email", "First Name", "Account Id"]).rows((1..=150).map(|i| {
                [
                    format!("person{i}@example.com"),
                    format!("F{i}"),
                    format!("ACC-{}", 1 + i % 3),
                ]
            })),
        )
        .pipeline(|p| {
            to_company_by_external_id(
                p.upsert_by("email")
                    .map("email", "Email")
                    .map("firstname", "First Name"),
            )
        })
        .run();
    run.exit(0)
        .accepted(150)
        .created(150)
        .reported("linked", 150);
    let portal = run.portal();
    assert_eq!(
        portal.requests("/{toObjectType}/batch/create"),
        2,
        "one v4 create per upsert batch"
    );
    assert_eq!(
        linked(&portal, &contact(&portal, 7)),
        [(company[1].clone(), vec![279])]
    );
    let stats = portal.stats();
    assert!(
        stats["association_daily_used"].as_u64().unwrap() >= 2,
        "{stats}"
    );

    // Update by record id, linking each contact with a company by record id too.
    let ids: Vec<String> = (1..=3).map(|i| contact(&portal, i)).collect();
    let run = run
        .then()
        .csv(
            Csv::new(["Record Id", "Last Name", "Company"]).rows(
                ids.iter()
                    .map(|id| [id.clone(), "Updated".into(), company[0].clone()]),
            ),
        )
        .pipeline_file("update.toml")
        .pipeline(|p| {
            p.update()
                .id_column("Record Id")
                .map("lastname", "Last Name")
                .link(&[
                    ("to_object", "\"companies\""),
                    ("column", "\"Company\""),
                    ("type_id", "279"),
                ])
        })
        .run();
    run.exit(0).accepted(3).updated(3).reported("linked", 3);
    let portal = run.portal();
    let mut now: Vec<String> = linked(&portal, &ids[0])
        .into_iter()
        .map(|(to, _)| to)
        .collect();
    now.sort();
    let mut expected = vec![company[0].clone(), company[1].clone()];
    expected.sort();
    assert_eq!(now, expected, "the upsert's link and the update's");
}

#[test]
fn links_written_before_an_interrupt_count_in_the_resumed_jobs_report() {
    let scenario = Scenario::new().sandbox(|s| s.latency_ms(40));
    companies(&scenario.portal(), 3);
    let mut running = scenario
        .csv(Csv::new(["Email", "Account Id"]).rows((1..=1000).map(|i| {
            [
                format!("person{i}@example.com"),
                format!("ACC-{}", 1 + i % 3),
            ]
        })))
        .pipeline(|p| {
            to_company_by_external_id(p.upsert_by("email").map("email", "Email"))
                .concurrency(1)
                .batch_size(20)
        })
        .spawn();
    running.wait_until(|portal| portal.links("contacts").len() >= 100);
    let stopped = running.terminate();
    stopped.exit(4).stopped("interrupted");
    let before = stopped.number("linked");
    assert!((100..1000).contains(&before), "{}", stopped.report());

    let run = stopped.then().args(["--resume"]).run();
    run.exit(0).accepted(1000).reported("linked", 1000);
    assert_eq!(run.portal().links("contacts").len(), 1000);
}

#[test]
fn links_after_upserts_whose_answers_are_garbled_or_lost_land_exactly_once() {
    // Damaged or lost answers put upserts and their link writes in doubt: both are sent again
    // (each is idempotent), and every row ends linked to its company exactly once.
    let scenario = Scenario::new();
    let company = companies(&scenario.portal(), 3);
    scenario
        .portal()
        .configure(json!({"garble_rate": 0.3, "lost_response_rate": 0.1}));
    let run = scenario
        .csv(Csv::new(["Email", "Account Id"]).rows((1..=300).map(|i| {
            [
                format!("person{i}@example.com"),
                format!("ACC-{}", 1 + i % 3),
            ]
        })))
        .pipeline(|p| {
            to_company_by_external_id(p.upsert_by("email").map("email", "Email")).batch_size(20)
        })
        .run();
    // Nine tries a request: giving up on one is too unlikely to plan for.
    run.exit(0).accepted(300).reported("linked", 300);
    let portal = run.portal();
    let links = portal.links("contacts");
    assert_eq!(links.len(), 300, "one link per row, none twice");
    for i in 1..=300 {
        let from = contact(&portal, i);
        let to: Vec<(&str, &[u64])> = links
            .iter()
            .filter(|(f, to_type, _, _)| *f == from && to_type == "companies")
            .map(|(_, _, to, types)| (to.as_str(), types.as_slice()))
            .collect();
        assert_eq!(to, [(company[i % 3].as_str(), &[279][..])], "contact {i}");
    }
}

#[test]
fn a_link_that_fails_after_its_record_landed_is_dead_lettered_and_replays_safely() {
    let scenario = Scenario::new();
    let company = companies(&scenario.portal(), 1);
    let run = scenario
        .csv(Csv::new(["Email", "Company"]).rows([
            ["person1@example.com", company[0].as_str()],
            ["person2@example.com", "999999999"],
        ]))
        .pipeline(|p| {
            p.upsert_by("email").map("email", "Email").link(&[
                ("to_object", "\"companies\""),
                ("column", "\"Company\""),
                ("type_id", "279"),
            ])
        })
        .run();
    run.exit(3).accepted(1).dead_lettered(1);
    let dead = run.dead_letters();
    assert_eq!(dead.get(0, "etl_row"), "2");
    assert_eq!(dead.get(0, "etl_status"), "link_failed");
    assert_eq!(dead.get(0, "etl_category"), "OBJECT_NOT_FOUND");
    let message = dead.get(0, "etl_message");
    assert!(
        message.contains("was written")
            && message.contains("999999999")
            && message.contains("safe"),
        "{message}"
    );
    let portal = run.portal();
    let second = contact(&portal, 2);
    assert!(
        linked(&portal, &second).is_empty(),
        "the record landed, its link did not"
    );

    // Fix the dead letter and replay it: the same record, now linked.
    let fixed = run
        .workdir()
        .read("input.failed.csv")
        .replace("999999999", &company[0]);
    let run = run
        .then()
        .file("fixed.csv", fixed)
        .args(["--source", "fixed.csv"])
        .run();
    run.exit(0)
        .accepted(1)
        .created(0)
        .updated(1)
        .reported("linked", 1);
    let portal = run.portal();
    assert_eq!(portal.records("contacts"), 2);
    assert_eq!(contact(&portal, 2), second);
    assert_eq!(linked(&portal, &second), [(company[0].clone(), vec![279])]);
}

#[test]
fn from_pipeline_links_by_the_other_pipelines_state_without_a_lookup() {
    // The companies stage keeps a state keyed by "Account Id".
    let companies_csv = Csv::new(["Account Id", "Name"])
        .rows((1..=5).map(|i| [format!("ACC-{i}"), format!("Company {i}")]));
    let first = Scenario::new()
        .file("companies.csv", companies_csv.to_string())
        .pipeline_file("companies.toml")
        .pipeline(|p| {
            p.source("companies.csv")
                .object("companies")
                .create()
                .map("name", "Name")
                .sync_changes(&["Account Id"])
        })
        .run();
    first.exit(0).created(5);
    let portal = first.portal();
    let reads = portal.requests("/{objectType}/batch/read");

    let run = first
        .then()
        .csv(Csv::new(["Email", "Account Id"]).rows([
            ["person1@example.com", "ACC-3"],
            ["person2@example.com", "ACC-9"],
        ]))
        .pipeline_file("contacts.toml")
        .pipeline(|p| {
            p.upsert_by("email").map("email", "Email").link(&[
                ("column", "\"Account Id\""),
                ("from_pipeline", "\"companies.toml\""),
                ("type_id", "279"),
            ])
        })
        .run();
    run.exit(3).accepted(1).dead_lettered(1);
    let dead = run.dead_letters();
    assert_eq!(dead.get(0, "etl_category"), "ASSOCIATION_TARGET_NOT_FOUND");
    assert!(
        dead.get(0, "etl_message").contains("companies.toml"),
        "{}",
        dead.get(0, "etl_message")
    );
    let portal = run.portal();
    assert_eq!(
        portal.requests("/{objectType}/batch/read"),
        reads,
        "the map is read locally"
    );
    let acc3 = portal
        .get("/crm/v3/objects/companies?limit=100&properties=name")
        .body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["properties"]["name"] == "Company 3")
        .map(|c| c["id"].as_str().unwrap().to_string())
        .unwrap();
    assert_eq!(linked(&portal, &contact(&portal, 1)), [(acc3, vec![279])]);
    assert_eq!(portal.records("contacts"), 1, "row 2 was not written");
}

#[test]
fn labels_are_resolved_through_the_v4_labels_api() {
    let scenario = Scenario::new();
    let company = companies(&scenario.portal(), 1);
    let created = scenario.portal().post(
        "/crm/v4/associations/contacts/companies/labels",
        json!({"name": "decision_maker", "label": "Decision maker"}),
    );
    let label_id = created.body["results"][0]["typeId"]
        .as_u64()
        .expect("a type id");
    let labelled = |label: &str| {
        let label = format!("{label:?}");
        move |p: Pipeline| {
            p.upsert_by("email").map("email", "Email").link(&[
                ("to_object", "\"companies\""),
                ("column", "\"Account Id\""),
                ("to_property", "\"external_id\""),
                ("label", &label),
            ])
        }
    };
    let run = scenario
        .csv(Csv::new(["Email", "Account Id"]).row(["person1@example.com", "ACC-1"]))
        .pipeline(labelled("decision MAKER"))
        .run();
    run.exit(0).accepted(1);
    let portal = run.portal();
    // The label, on top of the plain association HubSpot keeps under it.
    assert_eq!(
        linked(&portal, &contact(&portal, 1)),
        [(company[0].clone(), vec![279, label_id])]
    );

    let run = run.then().pipeline(labelled("Champion")).run();
    run.exit(1)
        .says("no USER_DEFINED association label \"Champion\"")
        .says("\"Decision maker\"");
}

#[test]
fn associate_and_dissociate_link_existing_records_on_their_own_budget() {
    let scenario = Scenario::new();
    let portal = scenario.portal();
    let company = companies(&portal, 2);
    let people: Vec<String> = (1..=4)
        .map(|i| {
            portal.create(
                "contacts",
                json!({"email": format!("person{i}@example.com")}),
            )
        })
        .collect();
    let csv = Csv::new(["Contact Email", "Account Id"]).rows([
        ["person1@example.com", "ACC-1;ACC-2"],
        ["person2@example.com", "ACC-2"],
        ["nobody@example.com", "ACC-1"],
        ["person4@example.com", "ACC-1"],
    ]);
    let links = |p: Pipeline, operation: &str| {
        p.operation(operation)
            .id_column("Contact Email")
            .id_property("email")
            .link(&[
                ("to_object", "\"companies\""),
                ("column", "\"Account Id\""),
                ("split", "\";\""),
                ("to_property", "\"external_id\""),
            ])
    };
    let run = scenario
        .csv(csv.clone())
        .pipeline(|p| links(p, "associate").dispatch("association_requests_per_interval", 5))
        .run();
    // The pipeline wants a type for associate.
    run.exit(1).says("associations.type_id");
    let run = run
        .then()
        .pipeline(|p| {
            p.operation("associate")
                .id_column("Contact Email")
                .id_property("email")
                .link(&[
                    ("to_object", "\"companies\""),
                    ("column", "\"Account Id\""),
                    ("split", "\";\""),
                    ("to_property", "\"external_id\""),
                    ("type_id", "279"),
                ])
                .dispatch("association_requests_per_interval", 5)
        })
        .run();
    run.exit(3)
        .accepted(3)
        .dead_lettered(1)
        .reported("linked", 4);
    let dead = run.dead_letters();
    assert_eq!(dead.get(0, "etl_row"), "3");
    assert_eq!(dead.get(0, "etl_category"), "OBJECT_NOT_FOUND");
    let portal = run.portal();
    assert_eq!(linked(&portal, &people[0]).len(), 2);
    assert_eq!(
        linked(&portal, &people[3]),
        [(company[0].clone(), vec![279])]
    );
    let stats = portal.stats();
    assert!(
        stats["max_association_requests_in_window"]
            .as_u64()
            .unwrap()
            <= 5,
        "the association window: {stats}"
    );

    // dissociate without a type: every link between each pair goes.
    let run = run.then().pipeline(|p| links(p, "dissociate")).run();
    run.exit(3)
        .accepted(3)
        .dead_lettered(1)
        .reported("unlinked", 4);
    let portal = run.portal();
    assert!(
        portal.links("contacts").is_empty(),
        "{:?}",
        portal.links("contacts")
    );
    assert_eq!(portal.requests("/{toObjectType}/batch/archive"), 1);
}

#[test]
fn a_partial_v4_answer_fails_exactly_the_pairs_it_names() {
    let scenario = Scenario::new();
    let portal = scenario.portal();
    let company = portal.create("companies", json!({"name": "Acme"}));
    let people: Vec<String> = (1..=3)
        .map(|i| {
            portal.create(
                "contacts",
                json!({"email": format!("person{i}@example.com")}),
            )
        })
        .collect();
    let run = scenario
        .csv(Csv::new(["Contact", "Company"]).rows([
            [people[0].as_str(), company.as_str()],
            [people[1].as_str(), "777777777"],
            ["888888888", company.as_str()],
            [people[2].as_str(), &format!("{company};777777777")],
        ]))
        .pipeline(|p| {
            p.operation("associate").id_column("Contact").link(&[
                ("to_object", "\"companies\""),
                ("column", "\"Company\""),
                ("split", "\";\""),
                ("type_id", "279"),
            ])
        })
        .run();
    run.exit(3)
        .accepted(1)
        .dead_lettered(3)
        .reported("linked", 2);
    let dead = run.dead_letters();
    assert_eq!(dead.column("etl_row"), ["2", "3", "4"]);
    assert_eq!(dead.column("etl_status"), ["404", "404", "404"]);
    assert!(
        dead.get(0, "etl_message").contains("777777777"),
        "{}",
        dead.get(0, "etl_message")
    );
    assert!(
        dead.get(1, "etl_message").contains("888888888"),
        "{}",
        dead.get(1, "etl_message")
    );
    let portal = run.portal();
    assert_eq!(linked(&portal, &people[0]), [(company.clone(), vec![279])]);
    assert!(linked(&portal, &people[1]).is_empty());
    // Row 4's good pair landed (link writes are per pair); the row is dead-lettered for its other.
    assert_eq!(linked(&portal, &people[2]), [(company, vec![279])]);
}
