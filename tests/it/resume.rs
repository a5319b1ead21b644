//! Scheduled migrations: the checkpoint journal, `--resume` after SIGKILL and after the daily
//! limit, refusal of a changed source, and one run at a time.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{SandboxProcess, Workdir, read_csv, report, run_reported, text};

const TOKEN: &str = "pat-na1-resume-token";

fn pipeline(url: &str, operation: &str, target: &str, mapping: &str, dispatch: &str) -> String {
    format!(
        "[source]\npath = \"input.csv\"\n\n[target]\nobject = \"contacts\"\noperation = \"{operation}\"\n\
         base_url = \"{url}\"\n{target}\n\n[mapping]\n{mapping}\n\n[dispatch]\n{dispatch}\n\n\
         [dead_letter]\npath = \"failed.csv\"\n"
    )
}

const MAPPING: &str = "email = \"Email\"\nfirstname = \"First Name\"";

/// `n` contacts; every 1000th row has an invalid email (dead-lettered locally).
fn contacts(n: usize) -> String {
    let mut csv = String::from("Email,First Name\n");
    for i in 1..=n {
        if i % 1000 == 0 {
            csv.push_str(&format!("broken{i}.example.com,First{i}\n"));
        } else {
            csv.push_str(&format!("person{i}@example.com,First{i}\n"));
        }
    }
    csv
}

fn records(sandbox: &SandboxProcess) -> u64 {
    sandbox.stats()["records"]["contacts"].as_u64().unwrap_or(0)
}

fn spawn_run(work: &Workdir, args: &[&str]) -> Child {
    let mut all = vec!["run", "p.toml", "--report", "report.json", "--quiet"];
    all.extend_from_slice(args);
    work.command(TOKEN, &all)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("etl runs")
}

/// Waits until the sandbox holds at least `n` contacts (or the run ended), then SIGKILLs the run.
fn kill_after(mut child: Child, sandbox: &SandboxProcess, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while records(sandbox) < n && Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no cleanup of any kind
    child.wait().unwrap();
}

/// Kills a 50k-row run at several points, resumes each time, then checks the whole job: every
/// row accepted or dead-lettered exactly once, and no record created twice.
fn killed_and_resumed(operation: &str, target: &str) {
    let sandbox = SandboxProcess::start(&[
        "--token",
        TOKEN,
        "--requests-per-interval",
        "100000",
        "--interval-ms",
        "1000",
        "--daily-limit",
        "100000000",
        "--latency-ms",
        "5",
    ]);
    let work = Workdir::new();
    let rows = 50_000;
    work.write("input.csv", &contacts(rows));
    let dispatch = "requests_per_interval = 100000\ninterval_ms = 1000\nconcurrency = 8";
    work.write(
        "p.toml",
        &pipeline(&sandbox.url, operation, target, MAPPING, dispatch),
    );

    kill_after(spawn_run(&work, &[]), &sandbox, 5_000);
    for at in [15_000, 30_000, 42_000] {
        kill_after(spawn_run(&work, &["--resume"]), &sandbox, at);
    }
    let out = run_reported(&work, TOKEN, &["--resume"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));

    let report = report(&work);
    assert_eq!(report["rows_read"], rows as u64, "{report}");
    assert_eq!(report["accepted"], 49_950, "{report}");
    assert_eq!(report["dead_lettered"], 50, "{report}");
    let (_, dead) = read_csv(&work.path("failed.csv"));
    let mut dead_rows: Vec<String> = dead.iter().map(|r| r[2].clone()).collect();
    dead_rows.sort();
    dead_rows.dedup();
    assert_eq!(dead.len(), 50, "a row dead-lettered twice");
    assert_eq!(dead_rows.len(), 50);
    assert_eq!(records(&sandbox), 49_950);
    let stats = sandbox.stats();
    assert_eq!(stats["duplicate_create_trace_ids"], json!([]), "{stats}");
}

#[test]
fn a_create_killed_at_several_points_resumes_without_duplicates() {
    killed_and_resumed("create", "");
}

#[test]
fn an_upsert_killed_at_several_points_resumes_exactly() {
    killed_and_resumed("upsert", "id_property = \"email\"");
}

#[test]
fn the_daily_limit_stop_resumes_once_the_limit_is_raised() {
    let sandbox = SandboxProcess::start(&[
        "--token",
        TOKEN,
        "--requests-per-interval",
        "100000",
        "--interval-ms",
        "1000",
        "--daily-limit",
        "8",
    ]);
    let work = Workdir::new();
    work.write("input.csv", &contacts(3000));
    let dispatch = "requests_per_interval = 100000\ninterval_ms = 1000\nconcurrency = 2";
    work.write(
        "p.toml",
        &pipeline(&sandbox.url, "create", "", MAPPING, dispatch),
    );
    let out = run_reported(&work, TOKEN, &[]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let first = report(&work);
    assert_eq!(first["stopped"], "daily_limit");
    assert!(first["unfinished"].as_u64().unwrap() > 0);

    // Still spent: resuming stops again at once, losing nothing.
    let out = run_reported(&work, TOKEN, &["--resume"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));

    let (status, _) = sandbox.request(
        "POST",
        "/_sandbox/config",
        Some(json!({"daily_limit": 1_000_000, "reset_daily": true})),
    );
    assert_eq!(status, 200);
    let out = run_reported(&work, TOKEN, &["--resume"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let last = report(&work);
    assert_eq!(last["rows_read"], 3000, "{last}");
    assert_eq!(last["accepted"], 2997);
    assert_eq!(last["dead_lettered"], 3);
    assert_eq!(records(&sandbox), 2997);
    assert_eq!(sandbox.stats()["duplicate_create_trace_ids"], json!([]));
    assert_eq!(read_csv(&work.path("failed.csv")).1.len(), 3);
}

#[test]
fn a_changed_source_refuses_to_resume_and_restart_starts_over() {
    let sandbox = SandboxProcess::start(&["--token", TOKEN, "--daily-limit", "5"]);
    let work = Workdir::new();
    work.write("input.csv", &contacts(2000));
    let dispatch = "requests_per_interval = 100\ninterval_ms = 1000\nconcurrency = 2";
    work.write(
        "p.toml",
        &pipeline(&sandbox.url, "create", "", MAPPING, dispatch),
    );
    let out = work.etl(TOKEN, &["run", "p.toml", "--quiet"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));

    work.write("input.csv", &contacts(2001));
    let out = work.etl(TOKEN, &["run", "p.toml", "--resume", "--quiet"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("belongs to a different job"),
        "{}",
        text(&out)
    );
    // Without a flag, an unfinished job is not silently started over either.
    let out = work.etl(TOKEN, &["run", "p.toml", "--quiet"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("--resume"), "{}", text(&out));

    sandbox.request(
        "POST",
        "/_sandbox/config",
        Some(json!({"daily_limit": 1_000_000, "reset_daily": true})),
    );
    sandbox.request("POST", "/_sandbox/reset", None);
    let out = work.etl(
        TOKEN,
        &[
            "run",
            "p.toml",
            "--restart",
            "--report",
            "report.json",
            "--quiet",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(report(&work)["rows_read"], 2001);
}

#[test]
fn resuming_a_finished_job_does_nothing_and_says_so() {
    let sandbox = SandboxProcess::start(&["--token", TOKEN]);
    let work = Workdir::new();
    work.write("input.csv", &contacts(500));
    let dispatch = "requests_per_interval = 100\ninterval_ms = 1000";
    work.write(
        "p.toml",
        &pipeline(
            &sandbox.url,
            "upsert",
            "id_property = \"email\"",
            MAPPING,
            dispatch,
        ),
    );
    let out = work.etl(TOKEN, &["run", "p.toml", "--quiet"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let requests = sandbox.stats()["requests_total"].as_u64().unwrap();
    let out = work.etl(
        TOKEN,
        &["run", "p.toml", "--resume", "--report", "report.json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("already finished"), "{}", text(&out));
    assert_eq!(
        sandbox.stats()["requests_total"].as_u64().unwrap(),
        requests
    );
    assert_eq!(report(&work)["accepted"], 500);
}

#[test]
fn a_second_run_of_the_same_job_is_refused_while_one_is_active() {
    let sandbox = SandboxProcess::start(&["--token", TOKEN, "--latency-ms", "300"]);
    let work = Workdir::new();
    work.write("input.csv", &contacts(2000));
    let dispatch =
        "requests_per_interval = 100\ninterval_ms = 1000\nconcurrency = 1\nbatch_size = 10";
    work.write(
        "p.toml",
        &pipeline(
            &sandbox.url,
            "upsert",
            "id_property = \"email\"",
            MAPPING,
            dispatch,
        ),
    );
    let mut first = spawn_run(&work, &[]);
    // Wait until the first run holds its lock (it has sent something).
    let deadline = Instant::now() + Duration::from_secs(30);
    while records(&sandbox) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = work.etl(TOKEN, &["run", "p.toml", "--resume", "--quiet"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("another `etl run`"), "{}", text(&out));
    first.kill().unwrap();
    first.wait().unwrap();
    sandbox.request("POST", "/_sandbox/config", Some(json!({"latency_ms": 0})));
    // A killed run leaves no stuck lock (exit 3: two rows hold invalid emails).
    let out = work.etl(TOKEN, &["run", "p.toml", "--resume", "--quiet"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}
