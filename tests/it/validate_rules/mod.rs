//! Property validation rules in the engine: `etl validate` reads the portal's rules and dead-letters
//! the rows that break the ones it evaluates (`types`: every such rule type, one test each, each held
//! to the sandbox's own verdict on 2026-09 writes of the same values); a rule it leaves to the portal
//! is enforced there and the row dead-lettered with the portal's message; without the endpoint
//! the portal stays the only judge.

mod types;

use chrono::{Days, Utc};
use serde_json::{Value, json};

use crate::support::fixtures::{Csv, Pipeline};
use crate::support::outcome::Run;
use crate::support::scenario::Scenario;

/// Where a rule's values are written, and how a pipeline writes them.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// A contacts property, upserted by email (`person{i}@example.com`).
    Contact(&'static str),
    /// A notes property, created (notes need only `hs_timestamp`).
    Note(&'static str),
}

impl Target {
    fn object(self) -> &'static str {
        match self {
            Target::Contact(_) => "contacts",
            Target::Note(_) => "notes",
        }
    }

    fn property(self) -> &'static str {
        match self {
            Target::Contact(p) | Target::Note(p) => p,
        }
    }

    /// The source: one row per value, in column `Value`.
    fn csv(self, values: &[&str]) -> Csv {
        match self {
            Target::Contact(_) => Csv::new(["Email", "Value"]).rows(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| [format!("person{}@example.com", i + 1), v.to_string()]),
            ),
            Target::Note(_) => Csv::new(["Value"]).rows(values.iter().map(|v| [*v])),
        }
    }

    fn pipeline(self, p: Pipeline) -> Pipeline {
        match self {
            Target::Contact(property) => p
                .upsert_by("email")
                .map("email", "Email")
                .map(property, "Value"),
            Target::Note(property) => p.object("notes").create().map(property, "Value"),
        }
    }

    /// The properties of a direct write of `value` (the `n`-th).
    fn properties(self, n: usize, value: &str) -> Value {
        match self {
            Target::Contact(p) => json!({"email": format!("direct{n}@example.com"), p: value}),
            Target::Note(p) => json!({p: value}),
        }
    }
}

/// The sandbox's `--rules-file` shape for one rule.
fn rules(target: Target, rule: &str, args: &[&str]) -> Value {
    json!({target.object(): {target.property(): {rule: {"ruleArguments": args}}}})
}

/// Sets `rule` with `args` on `target` and holds `etl validate` and the sandbox to the same verdict
/// on every value: `true` lets the value through. Returns the validate run.
fn agree(target: Target, rule: &str, args: &[&str], values: &[(&str, bool)]) -> Run {
    let scenario = Scenario::new();
    scenario
        .portal()
        .configure(json!({"rules": rules(target, rule, args)}));
    let texts: Vec<&str> = values.iter().map(|(v, _)| *v).collect();
    let refused: Vec<String> = (1..=values.len())
        .filter(|i| !values[i - 1].1)
        .map(|i| i.to_string())
        .collect();
    assert!(
        !refused.is_empty() && refused.len() < values.len(),
        "a case needs values of both kinds"
    );
    let run = scenario
        .csv(target.csv(&texts))
        .pipeline(|p| target.pipeline(p))
        .validate();
    let n = refused.len() as u64;
    run.exit(3)
        .invalid(n)
        .categories(&[("PROPERTY_VALIDATION", n)]);
    let listed = format!("{} {rule} {args:?}", target.property());
    run.reported("rules_checked", json!([listed]))
        .reported("rules_left", json!([]));

    // Exactly the refused values' rows, each named with the rule, its arguments, column and value.
    let dead = run.dead_letters();
    assert_eq!(dead.column("etl_row"), refused, "{}", run.text());
    for (i, row) in dead.column("etl_row").iter().enumerate() {
        let value = values[row.parse::<usize>().unwrap() - 1].0;
        let message = dead.get(i, "etl_message");
        for part in [
            format!("{rule} {args:?}"),
            "column \"Value\"".to_string(),
            format!("{value:?}"),
        ] {
            assert!(message.contains(&part), "{part} not in {message}");
        }
        assert_eq!(dead.get(i, "etl_status"), "invalid");
    }

    // The sandbox, enforcing the rule on 2026-09 writes, judges every value the same way.
    for (n, (value, passes)) in values.iter().enumerate() {
        let reply = run.portal().post(
            &format!("/crm/objects/2026-09/{}", target.object()),
            json!({"properties": target.properties(n, value)}),
        );
        let expected = if *passes { 201 } else { 400 };
        assert_eq!(
            reply.status, expected,
            "the sandbox on {value:?}: {:?}",
            reply.body
        );
        if !passes {
            assert_eq!(reply.body["category"], "VALIDATION_ERROR");
            assert_eq!(
                reply.body["errors"][0]["context"]["propertyName"][0],
                target.property()
            );
        }
    }
    run
}

#[test]
fn a_rule_left_to_the_portal_is_enforced_there_and_dead_lettered_with_its_message() {
    // AFTER_DURATION is a window from the portal's today: etl does not evaluate it itself.
    let soon = Utc::now()
        .date_naive()
        .checked_add_days(Days::new(10))
        .unwrap()
        .to_string();
    let csv = Csv::new(["Email", "Born"])
        .row(["ada@example.com", soon.as_str()])
        .row(["grace@example.com", "1906-12-09"])
        .row(["alan@example.com", soon.as_str()])
        .row(["linus@example.com", "1969-12-28"]);
    let scenario = Scenario::new();
    let target = Target::Contact("date_of_birth");
    scenario
        .portal()
        .configure(json!({"rules": rules(target, "AFTER_DURATION", &["P30D"])}));
    let pipeline = |p: Pipeline| {
        p.create()
            .map("email", "Email")
            .map("date_of_birth", "Born")
    };
    let validated = scenario.csv(csv).pipeline(pipeline).validate();
    validated
        .exit(0)
        .invalid(0)
        .reported("rules_checked", json!([]));
    let left = validated.report()["rules_left"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        left.starts_with("date_of_birth AFTER_DURATION [\"P30D\"]: ") && left.contains("portal"),
        "{left}"
    );

    let run = validated.then().run();
    run.exit(3).accepted(2).dead_lettered(2);
    let dead = run.dead_letters();
    assert_eq!(dead.column("etl_row"), ["2", "4"]);
    for i in 0..2 {
        assert_eq!(dead.get(i, "etl_status"), "400");
        assert_eq!(dead.get(i, "etl_category"), "VALIDATION_ERROR");
        let message = dead.get(i, "etl_message");
        assert!(
            message.starts_with("Property values were not valid: ")
                && message.contains("INVALID_DATE_RANGE")
                && message.contains("date_of_birth"),
            "the portal's message: {message}"
        );
    }
    assert_eq!(run.portal().records("contacts"), 2);
    // The partial create answered 201 with the errors in its body (no 207 from 2026-09).
    let requests = &run.portal().stats()["requests"];
    assert_eq!(
        requests["POST /crm/objects/2026-09/{objectType}/batch/create"],
        json!({"201": 1})
    );
}

#[test]
fn rules_of_properties_that_are_not_written_are_not_listed() {
    let scenario = Scenario::new();
    scenario
        .portal()
        .configure(json!({"rules": rules(Target::Contact("zip"), "MAX_LENGTH", &["5"])}));
    scenario
        .csv(Target::Contact("firstname").csv(&["Ada"]))
        .pipeline(|p| Target::Contact("firstname").pipeline(p))
        .validate()
        .exit(0)
        .says("rules: none on the written properties")
        .reported("rules_checked", json!([]));
}

#[test]
fn an_upsert_id_from_a_column_is_held_to_its_property_rules() {
    // The id becomes the email of a created record: the portal checks it like any value.
    let scenario = Scenario::new();
    scenario.portal().configure(json!({"rules": rules(
        Target::Contact("email"),
        "EMAIL_BLOCKED_DOMAINS",
        &["gmail.com"],
    )}));
    let run = scenario
        .csv(
            Csv::new(["Mail", "Name"])
                .row(["ada@example.com", "Ada"])
                .row(["bob@gmail.com", "Bob"]),
        )
        .pipeline(|p| {
            p.upsert_by("email")
                .id_column("Mail")
                .map("firstname", "Name")
        })
        .validate();
    run.exit(3).categories(&[("PROPERTY_VALIDATION", 1)]);
    let dead = run.dead_letters();
    assert_eq!(dead.column("etl_row"), ["2"]);
    assert!(dead.get(0, "etl_message").contains("column \"Mail\""));
}

#[test]
fn without_the_endpoint_the_portal_is_the_only_judge() {
    // A portal (or proxy) that does not serve property validations: the run goes on, and says so.
    use crate::proxy::{Answer, Proxy};
    let scenario = Scenario::new();
    scenario
        .portal()
        .configure(json!({"rules": rules(Target::Contact("firstname"), "MAX_LENGTH", &["3"])}));
    let proxy = Proxy::start(&scenario.url(), |_, path: &str, answer: Answer| {
        if path.starts_with("/crm/property-validations/") {
            Answer {
                status: 404,
                body: r#"{"status":"error","message":"Not found","category":"OBJECT_NOT_FOUND"}"#
                    .into(),
                ..answer
            }
        } else {
            answer
        }
    });
    let target = Target::Contact("firstname");
    let validated = scenario
        .csv(target.csv(&["Ada", "Grace"]))
        .pipeline(|p| target.pipeline(p).base_url(&proxy.url))
        .validate();
    validated
        .exit(0)
        .says("rules: not known (the portal has no property-validations endpoint (HTTP 404");
    // The portal refuses what it refuses; etl dead-letters it with the portal's message.
    let run = validated.then().run();
    run.exit(3).accepted(1).dead_lettered(1);
    let dead = run.dead_letters();
    assert_eq!(dead.column("etl_row"), ["2"]);
    assert!(dead.get(0, "etl_message").contains("INVALID_MAX_LENGTH"));
}
