//! `etl run` end to end against the sandbox on loopback: each operation, attribution,
//! bisection, auth, the daily stop, lost responses, faults, and the token's secrecy.

use etl::sandbox::SandboxConfig;
use serde_json::{Value, json};

use crate::support::{TestSandbox, Workdir, read_csv, report, run_reported, text};

const TOKEN: &str = "pat-na1-test-token";

/// A pipeline file for `object`/`operation` against `url`, with extra `[target]` lines,
/// a `[mapping]` body and `[dispatch]` lines.
fn pipeline(
    url: &str,
    object: &str,
    operation: &str,
    target: &str,
    mapping: &str,
    dispatch: &str,
) -> String {
    format!(
        "[source]\npath = \"input.csv\"\n\n[target]\nobject = \"{object}\"\noperation = \"{operation}\"\n\
         base_url = \"{url}\"\n{target}\n\n[mapping]\n{mapping}\n\n[dispatch]\n{dispatch}\n\n\
         [dead_letter]\npath = \"failed.csv\"\n"
    )
}

const CONTACT_MAPPING: &str =
    "email = \"Email\"\nfirstname = \"First Name\"\nlastname = \"Last Name\"";
const FAST: &str = "requests_per_interval = 10000\ninterval_ms = 1000\nconcurrency = 4";

fn contacts_csv(rows: impl IntoIterator<Item = (String, String, String)>) -> String {
    let mut csv = String::from("Email,First Name,Last Name\n");
    for (email, first, last) in rows {
        csv.push_str(&format!("{email},{first},{last}\n"));
    }
    csv
}

fn numbered_contacts(n: usize) -> String {
    contacts_csv((1..=n).map(|i| {
        (
            format!("person{i}@example.com"),
            format!("First{i}"),
            format!("Last{i}"),
        )
    }))
}

fn records(sandbox: &TestSandbox, object: &str) -> u64 {
    sandbox.stats()["records"][object].as_u64().unwrap_or(0)
}

fn assert_no_duplicate_creates(sandbox: &TestSandbox) {
    let stats = sandbox.stats();
    assert_eq!(
        stats["duplicate_create_trace_ids"],
        json!([]),
        "records created twice: {stats}"
    );
}

/// rows read = accepted + dead-lettered (+ unfinished when the run stopped early), and the
/// dead-letter file holds exactly the dead-lettered rows.
fn assert_conservation(work: &Workdir) -> Value {
    let report = report(work);
    let read = report["rows_read"].as_u64().unwrap();
    let accepted = report["accepted"].as_u64().unwrap();
    let dead = report["dead_lettered"].as_u64().unwrap();
    let unfinished = report["unfinished"].as_u64().unwrap();
    assert_eq!(read, accepted + dead + unfinished, "{report}");
    let dead_rows = if dead > 0 {
        read_csv(&work.path("failed.csv")).1.len() as u64
    } else {
        0
    };
    assert_eq!(dead_rows, dead, "dead-letter file vs report: {report}");
    report
}

#[test]
fn upsert_by_email_lands_every_row_in_file_order() {
    let sandbox = TestSandbox::with_token(TOKEN);
    let work = Workdir::new();
    // 300 rows; rows 301-310 repeat the emails of rows 1-10 with new first names: the later row
    // must win, so the two inputs of a key never share a batch or fly together.
    let mut rows: Vec<_> = (1..=300)
        .map(|i| {
            (
                format!("person{i}@example.com"),
                format!("First{i}"),
                format!("Last{i}"),
            )
        })
        .collect();
    rows.extend((1..=10).map(|i| {
        (
            format!("person{i}@example.com"),
            format!("Renamed{i}"),
            format!("Last{i}"),
        )
    }));
    work.write("input.csv", &contacts_csv(rows));
    work.write(
        "p.toml",
        &pipeline(
            &sandbox.url,
            "contacts",
            "upsert",
            "id_property = \"email\"",
            CONTACT_MAPPING,
            FAST,
        ),
    );
    let out = run_reported(&work, TOKEN, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = assert_conservation(&work);
    assert_eq!(report["rows_read"], 310);
    assert_eq!(report["accepted"], 310);
    assert_eq!(report["created"], 300);
    assert_eq!(report["updated"], 10);
    assert_eq!(records(&sandbox, "contacts"), 300);
    let (status, contact) = sandbox.request(
        "GET",
        "/crm/v3/objects/contacts/person7@example.com?idProperty=email&properties=firstname",
        Some(TOKEN),
        None,
    );
    assert_eq!(status, 200, "{contact}");
    assert_eq!(contact["properties"]["firstname"], "Renamed7");
}

#[test]
fn create_traces_a_207_back_to_the_conflicting_rows() {
    let sandbox = TestSandbox::with_token(TOKEN);
    let (status, existing) = sandbox.request(
        "POST",
        "/crm/v3/objects/contacts",
        Some(TOKEN),
        Some(json!({"properties": {"email": "person5@example.com", "firstname": "Already"}})),
    );
    assert_eq!(status, 201, "{existing}");
    let work = Workdir::new();
    work.write("input.csv", &numbered_contacts(40));
    work.write(
        "p.toml",
        &pipeline(
            &sandbox.url,
            "contacts",
            "create",
            "",
            CONTACT_MAPPING,
            FAST,
        ),
    );
    let out = run_reported(&work, TOKEN, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report = assert_conservation(&work);
    assert_eq!(report["accepted"], 39);
    assert_eq!(report["dead_lettered"], 1);
    let (header, dead) = read_csv(&work.path("failed.csv"));
    assert_eq!(
        header,
        [
            "Email",
            "First Name",
            "Last Name",
            "etl_row",
            "etl_status",
            "etl_category",
            "etl_message"
        ]
    );
    assert_eq!(
        dead[0][..4],
        ["person5@example.com", "First5", "Last5", "5"]
    );
    assert_eq!(dead[0][4], "409");
    assert_eq!(dead[0][5], "CONFLICT");
    let existing_id = existing["id"].as_str().unwrap();
    assert!(
        dead[0][6].contains(&format!("Existing ID: {existing_id}")),
        "{:?}",
        dead[0]
    );
    assert_eq!(records(&sandbox, "contacts"), 40);
    assert_no_duplicate_creates(&sandbox);
}

#[test]
fn a_whole_batch_failure_is_bisected_and_the_good_rows_land() {
    let sandbox = TestSandbox::with_token(TOKEN);
    let work = Workdir::new();
    // Row 17 pins an engagement that is not associated with the contact: only the portal can
    // tell, and it fails the whole upsert batch (400). Bisection isolates that row.
    let mut csv = String::from("Email,First Name,Pinned\n");
    for i in 1..=64 {
        let pinned = if i == 17 { "999999" } else { "" };
        csv.push_str(&format!("person{i}@example.com,First{i},{pinned}\n"));
    }
    work.write("input.csv", &csv);
    let mapping =
        "email = \"Email\"\nfirstname = \"First Name\"\nhs_pinned_engagement_id = \"Pinned\"";
    work.write(
        "p.toml",
        &pipeline(
            &sandbox.url,
            "contacts",
            "upsert",
            "id_property = \"email\"",
            mapping,
            FAST,
        ),
    );
    let out = run_reported(&work, TOKEN, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report = assert_conservation(&work);
    assert_eq!(report["accepted"], 63);
    assert_eq!(report["dead_lettered"], 1);
    assert!(report["bisections"].as_u64().unwrap() >= 2, "{report}");
    let (_, dead) = read_csv(&work.path("failed.csv"));
    assert_eq!(dead[0][3], "17");
    assert_eq!(dead[0][4], "400");
    assert_eq!(records(&sandbox, "contacts"), 63);
}

#[test]
fn every_operation_with_associations_and_archive_by_email() {
    let sandbox = TestSandbox::with_token(TOKEN);
    let (_, company) = sandbox.request(
        "POST",
        "/crm/v3/objects/companies",
        Some(TOKEN),
        Some(json!({"properties": {"name": "Acme", "domain": "acme.example"}})),
    );
    let company_id = company["id"].as_str().unwrap().to_string();
    let work = Workdir::new();

    // create, each contact associated with the company (contact → company, type 279)
    let mut csv = String::from("Email,First Name,Company ID\n");
    for i in 1..=30 {
        csv.push_str(&format!("person{i}@example.com,First{i},{company_id}\n"));
    }
    work.write("input.csv", &csv);
    let create = pipeline(
        &sandbox.url,
        "0-1",
        "create",
        "",
        "email = \"Email\"\nfirstname = \"First Name\"",
        FAST,
    ) + "\n[[associations]]\nto_id_column = \"Company ID\"\ntype_id = 279\n";
    work.write("create.toml", &create);
    let out = work.etl(
        TOKEN,
        &["run", "create.toml", "--report", "report.json", "--quiet"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(report(&work)["created"], 30);
    let (_, listed) = sandbox.request(
        "GET",
        "/crm/v3/objects/contacts?limit=100",
        Some(TOKEN),
        None,
    );
    let ids: Vec<String> = listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 30);
    let (_, one) = sandbox.request(
        "GET",
        &format!("/crm/v3/objects/contacts/{}?associations=companies", ids[0]),
        Some(TOKEN),
        None,
    );
    assert_eq!(
        one["associations"]["companies"]["results"][0]["id"],
        company_id.as_str(),
        "{one}"
    );

    // update by record id; one id that does not exist comes back as OBJECT_NOT_FOUND (207)
    let mut csv = String::from("Record ID,Last Name\n");
    for id in &ids[..10] {
        csv.push_str(&format!("{id},Updated\n"));
    }
    csv.push_str("987654321,Nobody\n");
    work.write("input.csv", &csv);
    let update = pipeline(
        &sandbox.url,
        "contacts",
        "update",
        "id_column = \"Record ID\"",
        "lastname = \"Last Name\"",
        FAST,
    );
    work.write("update.toml", &update);
    let out = work.etl(
        TOKEN,
        &["run", "update.toml", "--report", "report.json", "--quiet"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report_json = assert_conservation(&work);
    assert_eq!(report_json["updated"], 10);
    let (_, dead) = read_csv(&work.path("failed.csv"));
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0][0], "987654321");
    assert_eq!(dead[0][4], "OBJECT_NOT_FOUND");
    let (_, one) = sandbox.request(
        "GET",
        &format!("/crm/v3/objects/contacts/{}?properties=lastname", ids[3]),
        Some(TOKEN),
        None,
    );
    assert_eq!(one["properties"]["lastname"], "Updated");

    // archive by email (resolved to ids with a batch read); an unknown email is dead-lettered
    work.write(
        "input.csv",
        "Email\nperson1@example.com\nperson2@example.com\nnobody@example.com\n",
    );
    let archive = pipeline(
        &sandbox.url,
        "contacts",
        "archive",
        "id_property = \"email\"",
        "email = \"Email\"",
        FAST,
    );
    work.write("archive.toml", &archive);
    let out = work.etl(
        TOKEN,
        &["run", "archive.toml", "--report", "report.json", "--quiet"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report_json = assert_conservation(&work);
    assert_eq!(report_json["archived"], 2);
    assert_eq!(records(&sandbox, "contacts"), 28);
    let (_, dead) = read_csv(&work.path("failed.csv"));
    assert_eq!(dead[0][0], "nobody@example.com");
    assert_eq!(dead[0][3], "OBJECT_NOT_FOUND");

    // archive by record id
    let mut csv = String::from("Record ID\n");
    for id in &ids[10..15] {
        csv.push_str(&format!("{id}\n"));
    }
    work.write("input.csv", &csv);
    let archive = pipeline(
        &sandbox.url,
        "contacts",
        "archive",
        "id_column = \"Record ID\"",
        "",
        FAST,
    );
    work.write("archive_ids.toml", &archive);
    let out = work.etl(
        TOKEN,
        &[
            "run",
            "archive_ids.toml",
            "--report",
            "report.json",
            "--quiet",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(records(&sandbox, "contacts"), 23);
}

#[test]
fn a_refused_token_is_fatal_at_once_and_never_printed() {
    let sandbox = TestSandbox::with_token("the-right-token");
    let work = Workdir::new();
    work.write("input.csv", &numbered_contacts(10));
    work.write(
        "p.toml",
        &pipeline(
            &sandbox.url,
            "contacts",
            "upsert",
            "id_property = \"email\"",
            CONTACT_MAPPING,
            FAST,
        ),
    );
    let wrong = "pat-na1-WRONG-0d3c9f1e";
    let out = work.etl(wrong, &["run", "p.toml"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let printed = text(&out);
    assert!(
        printed.contains("Authentication credentials not found"),
        "{printed}"
    );
    assert!(!printed.contains(wrong));
    assert_eq!(records(&sandbox, "contacts"), 0);
}

#[test]
fn the_daily_limit_stops_the_run_cleanly() {
    let sandbox = TestSandbox::start(SandboxConfig {
        token: Some(TOKEN.into()),
        requests_per_interval: 10_000,
        daily_limit: 6,
        ..SandboxConfig::default()
    });
    let work = Workdir::new();
    work.write("input.csv", &numbered_contacts(2000));
    work.write(
        "p.toml",
        &pipeline(
            &sandbox.url,
            "contacts",
            "upsert",
            "id_property = \"email\"",
            CONTACT_MAPPING,
            FAST,
        ),
    );
    let out = work.etl(TOKEN, &["run", "p.toml", "--report", "report.json"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("daily limit"), "{}", text(&out));
    let report = assert_conservation(&work);
    assert_eq!(report["stopped"], "daily_limit");
    assert!(report["unfinished"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["dead_lettered"], 0, "{report}");
    assert_eq!(
        records(&sandbox, "contacts"),
        report["accepted"].as_u64().unwrap()
    );
}

#[test]
fn lost_create_answers_are_verified_by_email_never_resent_blindly() {
    let sandbox = TestSandbox::start(SandboxConfig {
        token: Some(TOKEN.into()),
        requests_per_interval: 10_000,
        daily_limit: 10_000_000,
        lost_response_rate: 0.3,
        seed: 7,
        ..SandboxConfig::default()
    });
    let work = Workdir::new();
    work.write("input.csv", &numbered_contacts(1000));
    work.write(
        "p.toml",
        &pipeline(
            &sandbox.url,
            "contacts",
            "create",
            "",
            CONTACT_MAPPING,
            FAST,
        ),
    );
    let out = run_reported(&work, TOKEN, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = assert_conservation(&work);
    assert_eq!(report["accepted"], 1000);
    assert!(report["verified_creates"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(records(&sandbox, "contacts"), 1000);
    assert_no_duplicate_creates(&sandbox);
}

#[test]
fn lost_create_answers_without_a_unique_property_are_dead_lettered_as_ambiguous() {
    let sandbox = TestSandbox::start(SandboxConfig {
        token: Some(TOKEN.into()),
        requests_per_interval: 10_000,
        daily_limit: 10_000_000,
        lost_response_rate: 0.3,
        seed: 11,
        ..SandboxConfig::default()
    });
    let work = Workdir::new();
    let mut csv = String::from("Name,City\n");
    for i in 1..=1000 {
        csv.push_str(&format!("Company {i},City {i}\n"));
    }
    work.write("input.csv", &csv);
    work.write(
        "p.toml",
        &pipeline(
            &sandbox.url,
            "companies",
            "create",
            "",
            "name = \"Name\"\ncity = \"City\"",
            FAST,
        ),
    );
    let out = run_reported(&work, TOKEN, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report = assert_conservation(&work);
    let (_, dead) = read_csv(&work.path("failed.csv"));
    assert!(!dead.is_empty());
    for row in &dead {
        assert_eq!(row[3], "ambiguous", "{row:?}");
        assert_eq!(row[4], "AMBIGUOUS");
    }
    // Every accepted row exists exactly once; ambiguous ones may or may not, but never twice.
    let stored = records(&sandbox, "companies");
    assert!(stored >= report["accepted"].as_u64().unwrap());
    assert!(stored <= 1000);
    assert_no_duplicate_creates(&sandbox);
}

/// Runs an upsert or create of `rows` contacts against a faulty sandbox and checks the
/// invariants: conservation, no record created twice, the window never exceeded.
fn run_with_faults(create: bool, rows: usize, fault: f64, lost: f64, throttle: f64, seed: u64) {
    let limit = 60;
    let sandbox = TestSandbox::start(SandboxConfig {
        token: Some(TOKEN.into()),
        requests_per_interval: limit,
        interval: std::time::Duration::from_millis(400),
        daily_limit: 10_000_000,
        fault_rate: fault,
        lost_response_rate: lost,
        throttle_rate: throttle,
        seed,
        ..SandboxConfig::default()
    });
    let work = Workdir::new();
    work.write("input.csv", &numbered_contacts(rows));
    let dispatch = format!(
        "requests_per_interval = {limit}\ninterval_ms = 400\nconcurrency = 6\nbatch_size = 25\nmax_retries = 10"
    );
    let (operation, target) = if create {
        ("create", "")
    } else {
        ("upsert", "id_property = \"email\"")
    };
    work.write(
        "p.toml",
        &pipeline(
            &sandbox.url,
            "contacts",
            operation,
            target,
            CONTACT_MAPPING,
            &dispatch,
        ),
    );
    let out = run_reported(&work, TOKEN, &[]);
    assert!(
        matches!(out.status.code(), Some(0) | Some(3)),
        "{}",
        text(&out)
    );
    let report = assert_conservation(&work);
    assert_eq!(report["rows_read"], rows as u64);
    assert_eq!(report["unfinished"], 0);
    let stats = sandbox.stats();
    assert!(
        stats["max_requests_in_window"].as_u64().unwrap() <= limit as u64,
        "window exceeded: {stats}"
    );
    assert_no_duplicate_creates(&sandbox);
    // Every accepted row is a record; nothing else is.
    assert_eq!(
        records(&sandbox, "contacts"),
        report["accepted"].as_u64().unwrap(),
        "{report}"
    );
}

#[test]
fn under_faults_every_row_is_accounted_for_once_and_the_window_holds() {
    run_with_faults(false, 2000, 0.10, 0.05, 0.05, 1);
    run_with_faults(true, 2000, 0.10, 0.05, 0.05, 2);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 6, ..Default::default() })]
    #[test]
    fn invariants_hold_for_random_fault_schedules(
        create in proptest::bool::ANY,
        rows in 50usize..400,
        fault in 0.0f64..0.3,
        lost in 0.0f64..0.2,
        throttle in 0.0f64..0.2,
        seed in 0u64..1000,
    ) {
        run_with_faults(create, rows, fault, lost, throttle, seed);
    }
}

#[test]
fn the_token_never_appears_in_any_output_or_file() {
    let token = "pat-na1-SECRET-7f3a9c2e-do-not-print";
    let sandbox = TestSandbox::start(SandboxConfig {
        token: Some(token.into()),
        requests_per_interval: 10_000,
        daily_limit: 10_000_000,
        fault_rate: 0.2,
        lost_response_rate: 0.1,
        seed: 3,
        ..SandboxConfig::default()
    });
    let work = Workdir::new();
    let mut csv = numbered_contacts(300);
    csv.push_str("not-an-email,Bad,Row\n");
    work.write("input.csv", &csv);
    work.write(
        "p.toml",
        &pipeline(
            &sandbox.url,
            "contacts",
            "create",
            "",
            CONTACT_MAPPING,
            FAST,
        ),
    );
    let out = work
        .command(token, &["run", "p.toml", "--report", "report.json"])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(!text(&out).contains(token));
    assert!(!text(&out).contains("SECRET-7f3a9c2e"));
    for entry in std::fs::read_dir(work.dir()).unwrap() {
        let contents = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&contents).contains("SECRET-7f3a9c2e"));
    }
}

#[test]
fn a_fixed_dead_letter_file_replays_with_the_same_pipeline() {
    let sandbox = TestSandbox::with_token(TOKEN);
    let work = Workdir::new();
    let mut csv = numbered_contacts(20);
    csv.push_str("broken-email,Fix,Me\n");
    work.write("input.csv", &csv);
    work.write(
        "p.toml",
        &pipeline(
            &sandbox.url,
            "contacts",
            "upsert",
            "id_property = \"email\"",
            CONTACT_MAPPING,
            FAST,
        ),
    );
    let out = work.etl(TOKEN, &["run", "p.toml", "--quiet"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let fixed = work
        .read("failed.csv")
        .replace("broken-email", "fixed@example.com");
    work.write("fixed.csv", &fixed);
    let out = work.etl(
        TOKEN,
        &[
            "run",
            "p.toml",
            "--source",
            "fixed.csv",
            "--report",
            "report.json",
            "--quiet",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(report(&work)["accepted"], 1);
    assert_eq!(records(&sandbox, "contacts"), 21);
}

#[test]
fn sigterm_drains_in_flight_requests_and_exits_resumable() {
    let sandbox = TestSandbox::start(SandboxConfig {
        token: Some(TOKEN.into()),
        requests_per_interval: 10_000,
        daily_limit: 10_000_000,
        latency: std::time::Duration::from_millis(150),
        ..SandboxConfig::default()
    });
    let work = Workdir::new();
    work.write("input.csv", &numbered_contacts(5000));
    let dispatch =
        "requests_per_interval = 10000\ninterval_ms = 1000\nconcurrency = 2\nbatch_size = 10";
    work.write(
        "p.toml",
        &pipeline(
            &sandbox.url,
            "contacts",
            "upsert",
            "id_property = \"email\"",
            CONTACT_MAPPING,
            dispatch,
        ),
    );
    let child = work
        .command(
            TOKEN,
            &["run", "p.toml", "--report", "report.json", "--quiet"],
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until some rows landed, then ask it to stop.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while records(&sandbox, "contacts") < 50 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let report = assert_conservation(&work);
    assert_eq!(report["stopped"], "interrupted");
    assert!(report["rows_read"].as_u64().unwrap() < 5000);
    assert_eq!(
        records(&sandbox, "contacts"),
        report["accepted"].as_u64().unwrap()
    );
}

#[test]
fn base_url_on_the_command_line_overrides_the_pipeline() {
    let sandbox = TestSandbox::with_token(TOKEN);
    let work = Workdir::new();
    work.write("input.csv", &numbered_contacts(15));
    // The file says "sandbox" (embedded); the flag sends the rows to the running one instead.
    work.write(
        "p.toml",
        &pipeline(
            "sandbox",
            "contacts",
            "upsert",
            "id_property = \"email\"",
            CONTACT_MAPPING,
            FAST,
        ),
    );
    let out = work.etl(TOKEN, &["validate", "p.toml", "--base-url", &sandbox.url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let schema_reads =
        sandbox.stats()["requests"]["GET /crm/v3/properties/{objectType}"]["200"].clone();
    assert_eq!(
        schema_reads, 1,
        "validate fetched the schema from the flag's URL"
    );
    let out = run_reported(&work, TOKEN, &["--base-url", &sandbox.url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(records(&sandbox, "contacts"), 15);
    let out = run_reported(&work, TOKEN, &["--base-url", "ftp://example.com"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("--base-url"), "{}", text(&out));
}
