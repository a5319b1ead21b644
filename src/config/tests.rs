//! Unit tests of the pipeline file: defaults, every key, every error.

use super::*;

const MINIMAL: &str = r#"
[source]
path = "contacts.csv"
[target]
object = "contacts"
operation = "upsert"
id_property = "email"
base_url = "sandbox"
[mapping]
email = "Email"
"#;

fn parse_str(text: &str) -> Result<Pipeline, ConfigError> {
    parse(Path::new("/jobs/p.toml"), text)
}

fn err(text: &str) -> String {
    parse_str(text).unwrap_err().to_string()
}

#[test]
fn minimal_pipeline_gets_defaults() {
    let p = parse_str(MINIMAL).unwrap();
    assert_eq!(p.source.path, Path::new("/jobs/contacts.csv"));
    assert_eq!(p.source.format, SourceFormat::Csv);
    assert_eq!(p.source.delimiter, b',');
    assert_eq!(p.target.operation, Operation::Upsert);
    assert_eq!(p.target.base_url, BaseUrl::Sandbox);
    assert_eq!(p.target.token_env, "HUBSPOT_TOKEN");
    assert_eq!(p.target.api_version, ApiVersion::LATEST);
    assert_eq!(p.connection().api_version, ApiVersion::LATEST);
    assert_eq!(p.dispatch.batch_size, 100);
    assert_eq!(p.dispatch.requests_per_interval.get(), 100);
    assert_eq!(p.dispatch.interval, Duration::from_secs(10));
    assert_eq!(p.dispatch.concurrency.get(), 4);
    assert_eq!(p.dispatch.max_retries, 8);
    assert_eq!(p.dispatch.request_timeout, Duration::from_secs(30));
    assert_eq!(p.dead_letter.path, Path::new("/jobs/contacts.failed.csv"));
    assert_eq!(p.checkpoint.path, Path::new("/jobs/p.journal"));
}

#[test]
fn full_pipeline() {
    let p = parse_str(
        r#"
[source]
path = "data/deals.txt"
format = "csv"
delimiter = "tab"
[target]
object = "deals"
operation = "create"
base_url = "http://127.0.0.1:8080/"
token_env = "MY_TOKEN"
[mapping]
dealname = { column = "Name", trim = true }
closedate = { column = "Close", type = "date", format = "%d/%m/%Y" }
pipeline = { value = "default" }
tags = { columns = ["A", "B"] }
[[associations]]
to_id_column = "Company ID"
type_id = 341
[dispatch]
batch_size = 50
interval_ms = 1000
[dead_letter]
path = "out/failed.csv"
[checkpoint]
path = "state.journal"
"#,
    )
    .unwrap();
    assert_eq!(p.source.delimiter, b'\t');
    assert_eq!(
        p.target.base_url,
        BaseUrl::Url("http://127.0.0.1:8080".into())
    );
    assert_eq!(p.mapping.len(), 4);
    assert_eq!(p.associations[0].category, "HUBSPOT_DEFINED");
    assert_eq!(p.dispatch.batch_size, 50);
    assert_eq!(p.dead_letter.path, Path::new("/jobs/out/failed.csv"));
    assert_eq!(p.dead_letter.delimiter, b'\t');
    assert_eq!(p.checkpoint.path, Path::new("/jobs/state.journal"));
}

#[test]
fn delimiters_and_formats() {
    for (d, b) in [
        (",", b','),
        (";", b';'),
        ("\\t", b'\t'),
        ("tab", b'\t'),
        ("|", b'|'),
    ] {
        let text = MINIMAL.replace(
            "path = \"contacts.csv\"",
            &format!("path = \"contacts.csv\"\ndelimiter = \"{d}\""),
        );
        assert_eq!(parse_str(&text).unwrap().source.delimiter, b);
    }
    let tsv = parse_str(&MINIMAL.replace("contacts.csv", "contacts.tsv")).unwrap();
    assert_eq!(tsv.source.delimiter, b'\t');
    let pq = parse_str(&MINIMAL.replace("contacts.csv", "contacts.parquet")).unwrap();
    assert_eq!(pq.source.format, SourceFormat::Parquet);
    assert_eq!(pq.dead_letter.path, Path::new("/jobs/contacts.failed.csv"));
    assert!(err(&MINIMAL.replace("contacts.csv", "contacts.xlsx")).contains("source.path"));
    let bad = MINIMAL.replace(
        "path = \"contacts.csv\"",
        "path = \"contacts.csv\"\ndelimiter = \"#\"",
    );
    assert!(err(&bad).contains("source.delimiter"));
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let e = err(&MINIMAL.replace("[target]", "[target]\nobjet = \"x\""));
    assert!(e.contains("objet"), "{e}");
    assert!(e.contains("/jobs/p.toml"), "{e}");
    assert!(e.contains("line"), "{e}");
    let e = err(&MINIMAL.replace(
        "email = \"Email\"",
        "email = { column = \"Email\", trimm = true }",
    ));
    assert!(e.contains("trimm"), "{e}");
}

#[test]
fn missing_required_keys() {
    let e = err(&MINIMAL.replace("object = \"contacts\"", ""));
    assert!(e.contains("object"), "{e}");
    let e = err(&MINIMAL.replace("base_url = \"sandbox\"", ""));
    assert!(e.contains("base_url"), "{e}");
}

#[test]
fn operation_rules() {
    let e = err(&MINIMAL.replace("id_property = \"email\"\n", ""));
    assert!(e.contains("upsert needs id_property"), "{e}");
    let e = err(&MINIMAL.replace("email = \"Email\"", "firstname = \"F\""));
    assert!(e.contains("map that property"), "{e}");
    let e = err(&MINIMAL
        .replace("upsert", "update")
        .replace("id_property = \"email\"\n", ""));
    assert!(e.contains("id_column"), "{e}");
    let ok = MINIMAL
        .replace("upsert", "archive")
        .replace("id_property = \"email\"", "id_column = \"Id\"")
        .replace("email = \"Email\"", "");
    assert_eq!(parse_str(&ok).unwrap().target.operation, Operation::Archive);
    let e = err(&MINIMAL
        .replace("upsert", "archive")
        .replace("email = \"Email\"", "email = \"Email\"\nfirstname = \"F\""));
    assert!(e.contains("archive sends no properties"), "{e}");
    let e = err(&format!(
        "{MINIMAL}\n[[associations]]\nto_id_column = \"C\"\ntype_id = 279\n"
    ));
    assert!(
        e.contains("associations.to_object") && e.contains("v4 associations API"),
        "upsert writes links with the v4 API, per pair of types: {e}"
    );
    let e = err(&MINIMAL
        .replace("upsert", "create")
        .replace("id_property = \"email\"\n", "")
        .replace("email = \"Email\"", ""));
    assert!(e.contains("at least one mapped property"), "{e}");
}

#[test]
fn bad_values() {
    let e = err(&MINIMAL.replace("\"upsert\"", "\"merge\""));
    assert!(e.contains("target.operation") && e.contains("merge"), "{e}");
    let e = err(&MINIMAL.replace("\"sandbox\"", "\"ftp://x\""));
    assert!(e.contains("target.base_url"), "{e}");
    let e = err(&format!("{MINIMAL}[dispatch]\nbatch_size = 101\n"));
    assert!(e.contains("dispatch.batch_size"), "{e}");
    let e = err(&format!("{MINIMAL}[dispatch]\nconcurrency = 0\n"));
    assert!(e.contains("dispatch.concurrency"), "{e}");
    let e = err(&MINIMAL.replace(
        "email = \"Email\"",
        "email = { column = \"E\", type = \"money\" }",
    ));
    assert!(e.contains("mapping.email.type"), "{e}");
    let e = err(&MINIMAL.replace(
        "email = \"Email\"",
        "email = { column = \"E\", type = \"bool\", format = \"%d\" }",
    ));
    assert!(e.contains("mapping.email.format"), "{e}");
    let e = err(&MINIMAL.replace(
        "email = \"Email\"",
        "email = { column = \"E\", value = \"x\" }",
    ));
    assert!(e.contains("exactly one of"), "{e}");
}

#[test]
fn token_env_never_echoes_a_pasted_token() {
    let e = err(&MINIMAL.replace(
        "base_url = \"sandbox\"",
        "base_url = \"sandbox\"\ntoken_env = \"pat-na1-1234-secret\"",
    ));
    assert!(e.contains("target.token_env"), "{e}");
    assert!(!e.contains("secret"), "{e}");
}

#[test]
fn token_comes_from_the_named_variable() {
    let p = parse_str(&MINIMAL.replace(
        "base_url = \"sandbox\"",
        "base_url = \"sandbox\"\ntoken_env = \"ETL_CONFIG_TEST_TOKEN_UNSET\"",
    ))
    .unwrap();
    assert!(p.connection().token().unwrap().is_none());
}

#[test]
fn with_source_switches_format() {
    let p = parse_str(&MINIMAL.replace("contacts.csv", "contacts.parquet")).unwrap();
    let q = p
        .with_source(Path::new("/tmp/contacts.failed.csv"))
        .unwrap();
    assert_eq!(q.source.format, SourceFormat::Csv);
    assert_eq!(q.source.delimiter, b',');
    let p = parse_str(&MINIMAL.replace(
        "path = \"contacts.csv\"",
        "path = \"c.csv\"\ndelimiter = \";\"",
    ))
    .unwrap();
    assert_eq!(
        p.with_source(Path::new("x.csv")).unwrap().source.delimiter,
        b';'
    );
}

#[test]
fn operation_display() {
    assert_eq!(Operation::Upsert.to_string(), "upsert");
    assert_eq!(Operation::Archive.path_segment(), "archive");
}

#[test]
fn plain_http_beyond_loopback_needs_an_explicit_opt_in() {
    for local in [
        "http://127.0.0.1:8080",
        "http://localhost:8080",
        "http://[::1]:8080",
    ] {
        let p = parse_str(&MINIMAL.replace("\"sandbox\"", &format!("\"{local}\"")));
        assert!(p.is_ok(), "{local}: {:?}", p.err());
    }
    let remote = MINIMAL.replace("\"sandbox\"", "\"http://10.1.2.3:8080\"");
    let e = err(&remote);
    assert!(
        e.contains("target.base_url") && e.contains("allow_plain_http"),
        "{e}"
    );
    let opted = remote.replace(
        "base_url = \"http://10.1.2.3:8080\"",
        "base_url = \"http://10.1.2.3:8080\"\nallow_plain_http = true",
    );
    assert!(parse_str(&opted).is_ok());
    assert!(parse_str(&MINIMAL.replace("\"sandbox\"", "\"https://10.1.2.3\"")).is_ok());
    // The command line's --base-url follows the same rule.
    let p = parse_str(MINIMAL).unwrap();
    let e = p
        .with_base_url("http://api.example.com")
        .unwrap_err()
        .to_string();
    assert!(e.contains("--base-url") && e.contains("in clear"), "{e}");
}

#[test]
fn max_row_bytes_has_a_default_and_a_floor() {
    let p = parse_str(MINIMAL).unwrap();
    assert_eq!(p.source.max_row_bytes, DEFAULT_MAX_ROW_BYTES);
    let text = MINIMAL.replace(
        "path = \"contacts.csv\"",
        "path = \"contacts.csv\"\nmax_row_bytes = 4096",
    );
    assert_eq!(parse_str(&text).unwrap().source.max_row_bytes, 4096);
    let e = err(&MINIMAL.replace(
        "path = \"contacts.csv\"",
        "path = \"contacts.csv\"\nmax_row_bytes = 10",
    ));
    assert!(e.contains("source.max_row_bytes"), "{e}");
}

#[test]
fn prepare_threads_default_to_one_per_core_and_refuse_zero() {
    let p = parse_str(MINIMAL).unwrap();
    assert_eq!(p.source.prepare_threads, None);
    let with = |n: &str| {
        MINIMAL.replace(
            "path = \"contacts.csv\"",
            &format!("path = \"contacts.csv\"\nprepare_threads = {n}"),
        )
    };
    let p = parse_str(&with("3")).unwrap();
    assert_eq!(p.source.prepare_threads.map(|n| n.get()), Some(3));
    let e = err(&with("0"));
    assert!(e.contains("source.prepare_threads"), "{e}");
}

#[test]
fn api_version_from_the_file_and_the_command_line() {
    let with = |version: &str| {
        MINIMAL.replace(
            "base_url = \"sandbox\"",
            &format!("base_url = \"sandbox\"\napi_version = \"{version}\""),
        )
    };
    for version in ApiVersion::ALL {
        let p = parse_str(&with(version.name())).unwrap();
        assert_eq!(p.target.api_version, version);
        assert_eq!(p.connection().api_version, version);
    }
    let e = err(&with("v4"));
    assert!(
        e.contains("target.api_version") && e.contains("\"v4\"") && e.contains("2026-03"),
        "{e}"
    );
    // The flag wins over the file.
    let p = parse_str(&with("v3")).unwrap();
    let overrides = Overrides {
        api_version: Some(ApiVersion::V2026_03),
        ..Overrides::default()
    };
    let p = overrides.apply(p).unwrap();
    assert_eq!(p.connection().api_version, ApiVersion::V2026_03);
}

#[test]
fn the_daily_limit_follows_the_tier_of_the_burst_unless_given() {
    let daily = |dispatch: &str| {
        parse_str(&format!("{MINIMAL}[dispatch]\n{dispatch}\n"))
            .unwrap()
            .dispatch
            .daily_limit
    };
    assert_eq!(parse_str(MINIMAL).unwrap().dispatch.daily_limit, 250_000);
    assert_eq!(daily("requests_per_interval = 110"), 250_000);
    assert_eq!(daily("requests_per_interval = 190"), 625_000);
    assert_eq!(daily("requests_per_interval = 250"), 1_250_000);
    // The same burst in another window: 19 per second is Professional's 190 per 10 s.
    assert_eq!(
        daily("requests_per_interval = 19\ninterval_ms = 1000"),
        625_000
    );
    assert_eq!(
        daily("requests_per_interval = 190\ndaily_limit = 1000000"),
        1_000_000
    );
    let e = err(&format!("{MINIMAL}[dispatch]\ndaily_limit = 0\n"));
    assert!(e.contains("dispatch.daily_limit"), "{e}");
}
