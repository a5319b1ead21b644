//! `etl init` end to end: the samples' data files drafted into pipelines that map as the samples'
//! own pipelines do and validate with the same results; what the draft leaves to a person.

use crate::support::fixtures::Csv;
use crate::support::scenario::Scenario;

/// The mapping of a pipeline file: property → column (or `=value` for a constant).
fn mapping(text: &str) -> Vec<(String, String)> {
    let table: toml::Table = toml::from_str(text).expect("a TOML pipeline");
    // An archive by record id maps nothing: no `[mapping]` is an empty one.
    let Some(table) = table.get("mapping") else {
        return Vec::new();
    };
    let mut pairs: Vec<(String, String)> = table
        .as_table()
        .expect("[mapping] a table")
        .iter()
        .map(|(property, value)| {
            let source = match value {
                toml::Value::String(column) => column.clone(),
                toml::Value::Table(t) => match (t.get("column"), t.get("value")) {
                    (Some(column), _) => column.as_str().expect("a column").to_string(),
                    (None, Some(value)) => format!("={}", value.as_str().expect("a value")),
                    _ => panic!("{property}: neither column nor value"),
                },
                other => panic!("{property}: {other}"),
            };
            (property.clone(), source)
        })
        .collect();
    pairs.sort();
    pairs
}

/// A key of `[table]`, if set.
fn key(text: &str, table: &str, key: &str) -> Option<String> {
    let parsed: toml::Table = toml::from_str(text).expect("a TOML pipeline");
    parsed[table]
        .get(key)
        .map(|v| v.as_str().expect("a string").to_string())
}

/// A mapping's `format`, if any.
fn format_of(text: &str, property: &str) -> Option<String> {
    let parsed: toml::Table = toml::from_str(text).expect("a TOML pipeline");
    parsed["mapping"][property]
        .get("format")
        .map(|f| f.as_str().expect("a format").to_string())
}

#[test]
fn the_samples_headers_map_as_the_samples_pipelines_do() {
    for (sample, object, operation) in [
        ("contacts.toml", "contacts", None),
        ("deals.toml", "deals", Some("create")),
        ("companies.toml", "companies", None),
        ("archive_contacts.toml", "contacts", Some("archive")),
        ("contacts_update.toml", "contacts", Some("update")),
        ("contacts_unsubscribed.toml", "contacts", Some("archive")),
    ] {
        let scenario = Scenario::sample(sample);
        let original = scenario.workdir().read(sample);
        let source = key(&original, "source", "path").expect("[source] path");
        let mut args = vec!["init", &source, "--object", object, "-o", "drafted.toml"];
        if let Some(op) = operation {
            args.extend(["--operation", op]);
        }
        let drafted = scenario.command(args);
        drafted.exit(0).says("wrote drafted.toml");
        let text = drafted.workdir().read("drafted.toml");
        assert_eq!(mapping(&text), mapping(&original), "{sample}:\n{text}");
        for (table, k) in [
            ("target", "operation"),
            ("target", "id_property"),
            ("target", "id_column"),
            ("source", "delimiter"),
        ] {
            assert_eq!(
                key(&text, table, k),
                key(&original, table, k),
                "{sample} {table}.{k}"
            );
        }
        for (property, _) in mapping(&original) {
            assert_eq!(
                format_of(&text, &property),
                format_of(&original, &property),
                "{sample}: {property}.format"
            );
        }
        // The draft validates every row as the sample's own pipeline does.
        let own = drafted.then().validate();
        let draft = drafted.then().pipeline_file("drafted.toml").validate();
        draft.exit(if own.number("invalid") > 0 { 3 } else { 0 });
        assert_eq!(
            draft.report()["by_category"],
            own.report()["by_category"],
            "{sample}"
        );
        assert_eq!(draft.number("valid"), own.number("valid"), "{sample}");
    }
}

#[test]
fn a_column_no_property_matches_stays_a_comment_with_its_nearest() {
    let scenario = Scenario::sample("deals.toml");
    let drafted = scenario.command(["init", "deals.csv", "--object", "deals", "-o", "d.toml"]);
    drafted.exit(0).says("1 left out (\"Owner Email\")");
    let text = drafted.workdir().read("d.toml");
    assert!(
        text.contains("\n# \"Owner Email\": no property matched"),
        "{text}"
    );
    assert!(
        mapping(&text)
            .iter()
            .all(|(_, column)| column != "Owner Email")
    );
    // What the sample leaves in doubt is marked for a person.
    assert!(
        text.contains("# CHECK: sampled values that are no option of dealstage (\"Won\")"),
        "{text}"
    );
    // No unique property among the columns: each row creates a deal; its pipeline gets a value.
    assert_eq!(key(&text, "target", "operation").as_deref(), Some("create"));
    assert!(
        text.contains("pipeline = { value = \"default\" }"),
        "{text}"
    );
}

#[test]
fn a_hand_made_export_maps_by_alias_and_reads_its_dates_and_delimiter() {
    let csv = "E-mail;Given Name;Surname;DOB;Stage\n\
               ann@example.com;Ann;Lee;31/12/1980;Lead\n\
               bob@example.com;Bob;Ray;01/02/1975;customer\n";
    let scenario = Scenario::new().file("export.csv", csv);
    let url = scenario.url();
    // The schema from a running portal (the test sandbox), the token from HUBSPOT_TOKEN.
    let drafted = scenario.command([
        "init",
        "export.csv",
        "--object",
        "contacts",
        "--base-url",
        &url,
    ]);
    drafted.exit(0).says("wrote export.toml");
    let text = drafted.workdir().read("export.toml");
    assert_eq!(
        mapping(&text),
        [
            ("date_of_birth", "DOB"),
            ("email", "E-mail"),
            ("firstname", "Given Name"),
            ("lastname", "Surname"),
            ("lifecyclestage", "Stage"),
        ]
        .map(|(p, c)| (p.to_string(), c.to_string()))
    );
    assert_eq!(
        format_of(&text, "date_of_birth").as_deref(),
        Some("%d/%m/%Y")
    );
    assert_eq!(key(&text, "source", "delimiter").as_deref(), Some(";"));
    assert_eq!(key(&text, "target", "base_url"), Some(url));
    assert_eq!(
        key(&text, "target", "id_property").as_deref(),
        Some("email")
    );
    let run = drafted.then().pipeline_file("export.toml").run();
    run.exit(0).accepted(2).created(2);
}

#[test]
fn init_never_overwrites_a_file_unless_told() {
    let scenario = Scenario::new().file("c.csv", Csv::new(["Email"]).row(["a@b.co"]).to_string());
    let first = scenario.command(["init", "c.csv", "--object", "contacts"]);
    first.exit(0);
    let again = first
        .then()
        .command(["init", "c.csv", "--object", "contacts"]);
    again.exit(2).says("--output").says("--force");
    again
        .then()
        .command(["init", "c.csv", "--object", "contacts", "--force"])
        .exit(0);
}

#[test]
fn init_mistakes_name_the_flag_and_the_fix() {
    let typo = Scenario::sample("companies.toml").command([
        "init",
        "companies.parquet",
        "--object",
        "companis",
        "-o",
        "x.toml",
    ]);
    typo.exit(2)
        .says("--object \"companis\"")
        .says("did you mean \"companies\"");
    let run = typo.then().command([
        "init",
        "companies.parquet",
        "--object",
        "companies",
        "--operation",
        "upsert",
        "-o",
        "x.toml",
    ]);
    run.exit(2)
        .says("--operation \"upsert\"")
        .says("unique propert");
    run.then()
        .command(["init", "companie.parquet", "--object", "companies"])
        .exit(2)
        .says("did you mean \"companies.parquet\"");
    assert!(!run.workdir().path("x.toml").exists());
}
