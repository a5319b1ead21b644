//! Conservation and bounded resources under hostile answers and failing disks (the reliability
//! issue): each test reproduces a way the promise used to break.

use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use etl::sandbox::SandboxConfig;
use serde_json::{Value, json};

use crate::proxy::{Answer, Proxy, set_header};
use crate::support::{TestSandbox, Workdir, read_csv, report, run_reported, text};

const TOKEN: &str = "pat-na1-reliability";

fn sandbox() -> TestSandbox {
    TestSandbox::with_token(TOKEN)
}

fn contacts(n: usize) -> String {
    let mut csv = String::from("Email,First Name\n");
    for i in 1..=n {
        csv.push_str(&format!("person{i}@example.com,First{i}\n"));
    }
    csv
}

/// A contacts pipeline against `url` with `operation` and extra `[dispatch]` lines.
fn pipeline(url: &str, operation: &str, dispatch: &str) -> String {
    let id = if operation == "create" {
        ""
    } else {
        "id_property = \"email\"\n"
    };
    format!(
        "[source]\npath = \"input.csv\"\n[target]\nobject = \"contacts\"\noperation = \"{operation}\"\n{id}\
         base_url = \"{url}\"\n[mapping]\nemail = \"Email\"\nfirstname = \"First Name\"\n\
         [dispatch]\nrequests_per_interval = 10000\ninterval_ms = 1000\n{dispatch}\n\
         [dead_letter]\npath = \"failed.csv\"\n"
    )
}

/// rows read = accepted + dead-lettered + unfinished, and the dead-letter file holds exactly the
/// dead-lettered rows, each once.
fn conserved(work: &Workdir, report_name: &str) -> Value {
    let report: Value = serde_json::from_str(&work.read(report_name)).expect("a JSON report");
    let n = |k: &str| report[k].as_u64().unwrap();
    assert_eq!(
        n("rows_read"),
        n("accepted") + n("dead_lettered") + n("unfinished"),
        "{report}"
    );
    report
}

fn records(sandbox: &TestSandbox) -> u64 {
    sandbox.stats()["records"]["contacts"].as_u64().unwrap_or(0)
}

fn no_duplicates(sandbox: &TestSandbox) {
    let stats = sandbox.stats();
    assert_eq!(stats["duplicate_create_trace_ids"], json!([]), "{stats}");
}

fn dead_rows(work: &Workdir) -> Vec<Vec<String>> {
    read_csv(&work.path("failed.csv")).1
}

#[test]
fn a_success_that_accounts_for_no_row_is_no_proof() {
    let sandbox = sandbox();
    // The writes land, but every 200 says `results: []`.
    let proxy = Proxy::start(&sandbox.url, |_, path, mut answer| {
        if path.ends_with("/batch/upsert") && answer.status == 200 {
            answer.body = r#"{"status":"COMPLETE","results":[]}"#.into();
        }
        answer
    });
    let work = Workdir::new();
    work.write("input.csv", &contacts(30));
    work.write("p.toml", &pipeline(&proxy.url, "upsert", "max_retries = 2"));
    let out = run_reported(&work, TOKEN, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report = conserved(&work, "report.json");
    assert_eq!(report["accepted"], 0, "{report}");
    assert_eq!(report["dead_lettered"], 30, "{report}");
    for row in dead_rows(&work) {
        assert_eq!(row[3], "gave_up", "{row:?}");
        assert_eq!(row[4], "UNACCOUNTED", "{row:?}");
    }
    // Resent within max_retries (idempotent upserts): 3 requests for the one batch.
    assert_eq!(report["requests"].as_u64().unwrap(), 1 + 3, "{report}");
}

#[test]
fn garbled_create_answers_are_looked_up_not_trusted() {
    let sandbox = sandbox();
    // Every other create answer is damaged in a different way; the records are created anyway.
    let count = std::sync::atomic::AtomicUsize::new(0);
    let proxy = Proxy::start(&sandbox.url, move |_, path, mut answer| {
        if path.ends_with("/batch/create") && answer.status == 201 {
            let n = count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            answer.body = match n % 4 {
                0 => answer.body.slice(..answer.body.len() / 2),
                1 => r#"{"results":[{"id":"1"}]}"#.into(),
                2 => r#"{"results":[],"errors":[{"message":"x","context":{"objectWriteTraceId":[3]}}]}"#
                    .into(),
                _ => answer.body,
            };
        }
        answer
    });
    let work = Workdir::new();
    work.write("input.csv", &contacts(400));
    work.write("p.toml", &pipeline(&proxy.url, "create", "concurrency = 2"));
    let out = run_reported(&work, TOKEN, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = conserved(&work, "report.json");
    assert_eq!(report["accepted"], 400, "{report}");
    // Three of every four batches were settled by looking their rows up by email.
    assert_eq!(report["verified_creates"], 300, "{report}");
    assert_eq!(records(&sandbox), 400);
    no_duplicates(&sandbox);
}

#[test]
fn lost_creates_are_checked_by_email_even_when_the_schema_does_not_flag_it_unique() {
    let sandbox = TestSandbox::start(SandboxConfig {
        token: Some(TOKEN.into()),
        requests_per_interval: 10_000,
        daily_limit: 10_000_000,
        lost_response_rate: 0.3,
        seed: 3,
        ..SandboxConfig::default()
    });
    // A portal's schema need not say `hasUniqueValue` for email: HubSpot's rule says it is unique.
    let proxy = Proxy::start(&sandbox.url, |_, path, mut answer| {
        if path == "/crm/v3/properties/contacts" {
            let mut schema: Value = serde_json::from_slice(&answer.body).unwrap();
            for p in schema["results"].as_array_mut().unwrap() {
                p["hasUniqueValue"] = json!(false);
            }
            answer.body = schema.to_string().into();
        }
        answer
    });
    let work = Workdir::new();
    work.write("input.csv", &contacts(500));
    work.write("p.toml", &pipeline(&proxy.url, "create", ""));
    let out = run_reported(&work, TOKEN, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report = conserved(&work, "report.json");
    assert_eq!(report["accepted"], 500, "{report}");
    let verified = report["verified_creates"].as_u64().unwrap();
    assert!(
        verified > 0 && verified <= 500,
        "rows, not lookups: {report}"
    );
    assert_eq!(records(&sandbox), 500);
    no_duplicates(&sandbox);
}

#[cfg(unix)]
#[test]
fn dead_letters_on_a_full_disk_stop_the_sending_and_resume_finishes() {
    let sandbox = sandbox();
    let work = Workdir::new();
    // Every 10th row is invalid; its dead letter cannot be written.
    let mut csv = String::from("Email,First Name\n");
    for i in 1..=2000 {
        let email = if i % 10 == 0 {
            format!("broken{i}")
        } else {
            format!("person{i}@example.com")
        };
        csv.push_str(&format!("{email},First{i}\n"));
    }
    work.write("input.csv", &csv);
    work.write(
        "p.toml",
        &pipeline(&sandbox.url, "upsert", "concurrency = 1\nbatch_size = 10"),
    );
    std::os::unix::fs::symlink("/dev/full", work.path("failed.csv")).unwrap();
    let out = run_reported(&work, TOKEN, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let first = conserved(&work, "report.json");
    assert_eq!(first["stopped"], "fatal", "{first}");
    assert!(
        first["error"]
            .as_str()
            .unwrap()
            .contains("dead-letter file"),
        "{first}"
    );
    // It stopped sending: far fewer than the 180 batches of valid rows went out.
    assert!(first["requests"].as_u64().unwrap() < 60, "{first}");
    assert!(text(&out).contains("--resume"), "{}", text(&out));

    // The disk is fixed: the job finishes, nothing lost, nothing twice.
    std::fs::remove_file(work.path("failed.csv")).unwrap();
    let out = run_reported(&work, TOKEN, &["--resume"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let whole = conserved(&work, "report.json");
    assert_eq!(whole["rows_read"], 2000, "{whole}");
    assert_eq!(whole["accepted"], 1800, "{whole}");
    assert_eq!(whole["dead_lettered"], 200, "{whole}");
    let dead: Vec<String> = dead_rows(&work).into_iter().map(|r| r[2].clone()).collect();
    let mut unique = dead.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 200, "each bad row once");
    assert_eq!(records(&sandbox), 1800);
}

/// Runs a shell script in a private mount namespace (tests mount a tiny tmpfs there).
fn in_mount_namespace(work: &Workdir, script: &str) -> Output {
    std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", script])
        .current_dir(work.dir())
        .env("HUBSPOT_TOKEN", TOKEN)
        .env("ETL", env!("CARGO_BIN_EXE_etl"))
        .env_remove("RUST_LOG")
        .output()
        .expect("unshare runs (util-linux)")
}

#[cfg(target_os = "linux")]
#[test]
fn a_journal_on_a_full_file_system_stops_the_sending_and_resume_finishes() {
    let sandbox = sandbox();
    let work = Workdir::new();
    work.write("input.csv", &contacts(30_000));
    let text = pipeline(&sandbox.url, "upsert", "concurrency = 2\nbatch_size = 20")
        + "[checkpoint]\npath = \"state/p.journal\"\n";
    work.write("p.toml", &text);
    std::fs::create_dir(work.path("state")).unwrap();
    // A 160 KiB file system for the journal; then it is grown, as an operator would free space.
    let out = in_mount_namespace(
        &work,
        "mount -t tmpfs -o size=160k tmpfs state || exit 99; \
         \"$ETL\" run p.toml --quiet --report first.json; echo $? > first.code; \
         mount -o remount,size=64m state; \
         \"$ETL\" run p.toml --quiet --resume --report second.json; echo $? > second.code",
    );
    assert_ne!(
        out.status.code(),
        Some(99),
        "cannot mount a tmpfs: {}",
        crate::support::text(&out)
    );
    assert_eq!(
        work.read("first.code").trim(),
        "1",
        "{}",
        crate::support::text(&out)
    );
    let first = conserved(&work, "first.json");
    assert_eq!(first["stopped"], "fatal", "{first}");
    assert!(
        first["error"].as_str().unwrap().contains("journal"),
        "{first}"
    );
    assert!(
        first["requests"].as_u64().unwrap() < 1400,
        "stopped sending: {first}"
    );
    assert_eq!(
        work.read("second.code").trim(),
        "0",
        "{}",
        crate::support::text(&out)
    );
    let whole = conserved(&work, "second.json");
    assert_eq!(whole["rows_read"], 30_000, "{whole}");
    assert_eq!(whole["accepted"], 30_000, "{whole}");
    assert_eq!(records(&sandbox), 30_000);
}

/// Starts `etl run` in `work` as a child (for signals).
fn spawn_run(work: &Workdir) -> Child {
    work.command(
        TOKEN,
        &["run", "p.toml", "--report", "report.json", "--quiet"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("etl starts")
}

/// Waits for `child` at most `limit`; kills it and fails when it does not end by itself.
fn finish_within(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if child.try_wait().expect("the child's status").is_some() {
            return child.wait_with_output().expect("its output");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("its output");
    panic!("etl did not end within {limit:?}: {}", text(&out));
}

fn signal(child: &Child, name: &str) {
    let sent = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
}

/// Every answer says the window is full for the next 31,000 years.
fn absurd_rate_headers(upstream: &str) -> Proxy {
    Proxy::start(upstream, |_, _, mut answer: Answer| {
        set_header(&mut answer, "x-hubspot-ratelimit-remaining", "0");
        set_header(
            &mut answer,
            "x-hubspot-ratelimit-interval-milliseconds",
            "1000000000000",
        );
        answer
    })
}

#[test]
fn a_pause_asked_by_the_portal_is_clamped_to_the_configured_window() {
    let sandbox = sandbox();
    let proxy = absurd_rate_headers(&sandbox.url);
    let work = Workdir::new();
    work.write("input.csv", &contacts(60));
    work.write(
        "p.toml",
        &pipeline(&proxy.url, "upsert", "batch_size = 20\ninterval_ms = 500")
            .replace("interval_ms = 1000\n", ""),
    );
    let out = finish_within(spawn_run(&work), Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(report(&work)["accepted"], 60);
}

#[test]
fn sigterm_ends_a_long_wait_at_once() {
    let sandbox = sandbox();
    let proxy = absurd_rate_headers(&sandbox.url);
    let work = Workdir::new();
    work.write("input.csv", &contacts(200));
    // A ten-minute window: the pause the portal's "full" asks for is clamped to a minute.
    work.write(
        "p.toml",
        &pipeline(
            &proxy.url,
            "upsert",
            "batch_size = 20\ninterval_ms = 600000",
        )
        .replace("interval_ms = 1000\n", ""),
    );
    let child = spawn_run(&work);
    let deadline = Instant::now() + Duration::from_secs(20);
    while records(&sandbox) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let asked = Instant::now();
    signal(&child, "TERM");
    let out = finish_within(child, Duration::from_secs(15));
    // The portal's "full" pauses every sender for 6 s (a tenth of the clamped minute).
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let report = conserved(&work, "report.json");
    assert_eq!(report["stopped"], "interrupted");
    assert!(report["unfinished"].as_u64().unwrap() > 0, "{report}");
}

#[test]
fn a_second_interrupt_exits_at_once_and_keeps_the_dead_letters() {
    // Every batch answer takes 30 s: the first Ctrl-C waits for the requests in flight, the
    // second does not.
    let sandbox = sandbox();
    let proxy = Proxy::start_delayed(
        &sandbox.url,
        |_, path| {
            if path.ends_with("/batch/upsert") {
                Duration::from_secs(30)
            } else {
                Duration::ZERO
            }
        },
        |_, _, answer| answer,
    );
    let work = Workdir::new();
    let mut csv = contacts(100);
    csv.push_str("not-an-email,Bad\n");
    work.write("input.csv", &csv);
    work.write("p.toml", &pipeline(&proxy.url, "upsert", "batch_size = 10"));
    let child = spawn_run(&work);
    // The schema is fetched and the first batches are in flight (held by the proxy).
    let deadline = Instant::now() + Duration::from_secs(20);
    while sandbox.stats()["requests_total"].as_u64().unwrap_or(0) < 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    signal(&child, "INT");
    std::thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    signal(&child, "INT");
    let out = finish_within(child, Duration::from_secs(15));
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let report = conserved(&work, "report.json");
    assert_eq!(report["stopped"], "interrupted", "{report}");
    assert_eq!(report["dead_lettered"], 1, "{report}");
    assert_eq!(report["accepted"], 0, "{report}");
    assert_eq!(dead_rows(&work).len(), 1);
}
