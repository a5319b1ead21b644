//! Conservation and bounded resources under hostile answers and failing disks (the reliability
//! issue): each test reproduces a way the promise used to break. The portal's misbehaviour comes
//! from a hostile proxy in front of the sandbox (`proxy.rs`); the disks' from `/dev/full` and a
//! tiny tmpfs.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::proxy::{Answer, Proxy, set_header};
use crate::support::fixtures::{Pipeline, contacts, contacts_with_bad_emails};
use crate::support::scenario::Scenario;

/// A contacts upsert (or create) through `url`, with the contact columns mapped.
fn through(url: &str, pipeline: Pipeline) -> Pipeline {
    pipeline.base_url(url).map_contact_columns()
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
fn a_success_that_accounts_for_no_row_is_no_proof() {
    let scenario = Scenario::new().csv(contacts(30));
    // The writes land, but every 200 says `results: []`.
    let proxy = Proxy::start(&scenario.url(), |_, path, mut answer| {
        if path.ends_with("/batch/upsert") && answer.status == 200 {
            answer.body = r#"{"status":"COMPLETE","results":[]}"#.into();
        }
        answer
    });
    let run = scenario
        .pipeline(|p| through(&proxy.url, p.upsert_by("email")).max_retries(2))
        .run();
    run.exit(3).accepted(0).dead_lettered(30);
    let dead = run.dead_letters();
    assert!(dead.column("etl_status").iter().all(|s| *s == "gave_up"));
    assert!(
        dead.column("etl_category")
            .iter()
            .all(|c| *c == "UNACCOUNTED")
    );
    // Resent within max_retries (upserts are idempotent): 3 requests for the one batch, after the
    // schema and the validation rules.
    assert_eq!(run.number("requests"), 2 + 3);
}

#[test]
fn garbled_create_answers_are_looked_up_not_trusted() {
    let scenario = Scenario::new().csv(contacts(400));
    // Three of every four create answers are damaged, each differently; the records land anyway.
    let count = AtomicUsize::new(0);
    let proxy = Proxy::start(&scenario.url(), move |_, path, mut answer| {
        if path.ends_with("/batch/create") && answer.status == 201 {
            answer.body = match count.fetch_add(1, Ordering::SeqCst) % 4 {
                0 => answer.body.slice(..answer.body.len() / 2),
                1 => r#"{"results":[{"id":"1"}]}"#.into(),
                2 => r#"{"results":[],"errors":[{"message":"x","context":{"objectWriteTraceId":[3]}}]}"#
                    .into(),
                _ => answer.body,
            };
        }
        answer
    });
    let run = scenario
        .pipeline(|p| through(&proxy.url, p.create()).concurrency(2))
        .run();
    run.exit(0).accepted(400);
    // Three of the four batches were settled by looking their rows up by email.
    assert_eq!(run.number("verified_creates"), 300);
    assert_eq!(run.portal().records("contacts"), 400);
}

#[test]
fn the_sandbox_garbling_answers_loses_and_duplicates_nothing() {
    // The sandbox's own knob: a share of applied writes get a damaged 2xx answer.
    for (create, seed) in [(true, 5), (false, 6)] {
        let run = Scenario::new()
            .sandbox(|s| s.garble_rate(0.3).seed(seed))
            .csv(contacts(1000))
            .pipeline(|p| {
                let p = if create {
                    p.create()
                } else {
                    p.upsert_by("email")
                };
                p.map_contact_columns().concurrency(4)
            })
            .run();
        run.exit(0).accepted(1000);
        assert_eq!(run.portal().records("contacts"), 1000);
        let stats = run.portal().stats();
        let garbled: u64 = stats["faults"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(kind, _)| kind.starts_with("garbled_"))
            .map(|(_, n)| n.as_u64().unwrap())
            .sum();
        assert!(garbled > 0, "{stats}");
    }
}

#[test]
fn lost_creates_are_checked_by_email_even_when_the_schema_does_not_flag_it_unique() {
    let scenario = Scenario::new()
        .sandbox(|s| s.lost_response_rate(0.3).seed(3))
        .csv(contacts(500));
    // A portal's schema need not say `hasUniqueValue` for email: HubSpot's rule says it is unique.
    let proxy = Proxy::start(&scenario.url(), |_, path, mut answer| {
        if path == "/crm/properties/2026-09/contacts" {
            let mut schema: Value = serde_json::from_slice(&answer.body).unwrap();
            for p in schema["results"].as_array_mut().unwrap() {
                p["hasUniqueValue"] = json!(false);
            }
            answer.body = schema.to_string().into();
        }
        answer
    });
    let run = scenario.pipeline(|p| through(&proxy.url, p.create())).run();
    run.exit(0).accepted(500);
    let verified = run.number("verified_creates");
    assert!(
        verified > 0 && verified <= 500,
        "rows, not lookups: {verified}"
    );
    assert_eq!(run.portal().records("contacts"), 500);
}

#[cfg(unix)]
#[test]
fn dead_letters_on_a_full_disk_stop_the_sending_and_resume_finishes() {
    // Every 10th row is invalid; its dead letter cannot be written.
    let scenario = Scenario::new()
        .csv(contacts_with_bad_emails(2000, 10))
        .pipeline(|p| {
            p.upsert_by("email")
                .map_contact_columns()
                .concurrency(1)
                .batch_size(10)
                .dead_letter("failed.csv")
        });
    std::os::unix::fs::symlink("/dev/full", scenario.workdir().path("failed.csv")).unwrap();
    let first = scenario.run();
    first.exit(1).stopped("fatal").says("--resume");
    let error = first.report()["error"].as_str().unwrap().to_string();
    assert!(error.contains("dead-letter file"), "{error}");
    // It stopped sending: far fewer than the 180 batches of valid rows went out.
    assert!(first.number("requests") < 60, "{}", first.report());

    // The disk is fixed: the job finishes, nothing lost, nothing twice.
    std::fs::remove_file(first.workdir().path("failed.csv")).unwrap();
    let whole = first.then().args(["--resume"]).run();
    whole
        .exit(3)
        .rows_read(2000)
        .accepted(1800)
        .dead_lettered(200);
    assert_eq!(whole.portal().records("contacts"), 1800);
}

#[cfg(target_os = "linux")]
#[test]
fn a_journal_on_a_full_file_system_stops_the_sending_and_resume_finishes() {
    let scenario = Scenario::new().csv(contacts(30_000));
    let work = scenario.workdir();
    std::fs::create_dir(work.path("state")).unwrap();
    let pipeline = Pipeline::new()
        .upsert_by("email")
        .map_contact_columns()
        .concurrency(2)
        .batch_size(20)
        .checkpoint("state/p.journal")
        .base_url(&scenario.url())
        // 1,500 requests at 1,000 a second: the journal commits (every 500 ms) while the job is
        // still sending, however fast the machine prepares rows.
        .window(1_000, 1_000);
    work.write("p.toml", pipeline.text());
    // A 160 KiB file system for the journal, in a private mount namespace; then it is grown, as an
    // operator would free space, and the job is resumed.
    let out = Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            "mount -t tmpfs -o size=160k tmpfs state || exit 99; \
             \"$ETL\" run p.toml --quiet --report first.json; echo $? > first.code; \
             mount -o remount,size=64m state; \
             \"$ETL\" run p.toml --quiet --resume --report second.json; echo $? > second.code",
        ])
        .current_dir(work.dir())
        .env("HUBSPOT_TOKEN", crate::support::sandbox::TOKEN)
        .env("ETL", env!("CARGO_BIN_EXE_etl"))
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("unshare runs (util-linux)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(99), "cannot mount a tmpfs: {said}");
    let report = |name: &str| -> Value {
        let report: Value = serde_json::from_str(&work.read(name)).expect("a report");
        let n = |k: &str| report[k].as_u64().unwrap();
        assert_eq!(
            n("rows_read"),
            n("accepted") + n("unchanged") + n("dead_lettered") + n("unfinished"),
            "{report}"
        );
        report
    };
    assert_eq!(work.read("first.code").trim(), "1", "{said}");
    let first = report("first.json");
    assert_eq!(first["stopped"], "fatal", "{first}");
    assert!(
        first["error"].as_str().unwrap().contains("journal"),
        "{first}"
    );
    assert!(
        first["requests"].as_u64().unwrap() < 1400,
        "stopped sending: {first}"
    );
    assert_eq!(work.read("second.code").trim(), "0", "{said}");
    let whole = report("second.json");
    assert_eq!(whole["rows_read"], 30_000, "{whole}");
    assert_eq!(whole["accepted"], 30_000, "{whole}");
    assert_eq!(scenario.portal().records("contacts"), 30_000);
}

#[test]
fn a_pause_asked_by_the_portal_is_clamped_to_the_configured_window() {
    let scenario = Scenario::new().csv(contacts(60));
    let proxy = absurd_rate_headers(&scenario.url());
    let scenario = scenario.pipeline(|p| {
        through(&proxy.url, p.upsert_by("email"))
            .batch_size(20)
            .window(10_000, 500)
    });
    // Without the clamp the first answer pauses the run for 3 years.
    let run = scenario.spawn().wait_within(Duration::from_secs(60));
    run.exit(0).accepted(60);
}

#[test]
fn sigterm_ends_a_long_wait_at_once() {
    let scenario = Scenario::new().csv(contacts(200));
    let proxy = absurd_rate_headers(&scenario.url());
    // A ten-minute window: the pause the portal's "full" asks for is clamped to a minute, and
    // every sender waits a tenth of it (6 s).
    let mut running = scenario
        .pipeline(|p| {
            through(&proxy.url, p.upsert_by("email"))
                .batch_size(20)
                .window(10_000, 600_000)
        })
        .spawn();
    running.wait_until(|portal| portal.records("contacts") > 0);
    std::thread::sleep(Duration::from_millis(200));
    let asked = Instant::now();
    let run = running.terminate();
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "{:?}",
        asked.elapsed()
    );
    run.exit(4).stopped("interrupted");
    assert!(run.number("unfinished") > 0, "{}", run.report());
}

#[test]
fn a_second_interrupt_exits_at_once_and_keeps_the_dead_letters() {
    let scenario = Scenario::new().csv(contacts(100).row(["not-an-email", "Bad", "Row"]));
    // Every batch answer takes 30 s: the first Ctrl-C waits for the requests in flight, the
    // second does not.
    let proxy = Proxy::start_delayed(
        &scenario.url(),
        |_, path| {
            if path.ends_with("/batch/upsert") {
                Duration::from_secs(30)
            } else {
                Duration::ZERO
            }
        },
        |_, _, answer| answer,
    );
    let mut running = scenario
        .pipeline(|p| through(&proxy.url, p.upsert_by("email")).batch_size(10))
        .spawn();
    // The schema is fetched; the first batches are held by the proxy.
    running.wait_until(|portal| portal.stats()["requests_total"].as_u64() >= Some(1));
    std::thread::sleep(Duration::from_millis(500));
    running.signal("INT");
    std::thread::sleep(Duration::from_millis(300));
    let asked = Instant::now();
    running.signal("INT");
    let run = running.wait();
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    run.exit(4)
        .stopped("interrupted")
        .accepted(0)
        .dead_lettered(1);
}

#[test]
fn replaying_the_dead_letter_file_never_rewrites_it() {
    // The pipeline spells the dead-letter file `failed.csv`; the replay names it absolutely.
    let run = Scenario::new()
        .csv(contacts_with_bad_emails(30, 10))
        .pipeline(|p| {
            p.upsert_by("email")
                .map_contact_columns()
                .dead_letter("failed.csv")
        })
        .run();
    run.exit(3).dead_lettered(3);
    let failed = run.workdir().path("failed.csv");
    let before = std::fs::read(&failed).unwrap();
    let absolute = failed.canonicalize().unwrap();
    let replay = run
        .then()
        .args(["--source", absolute.to_str().unwrap()])
        .validate();
    replay.exit(3).invalid(3);
    assert_eq!(
        std::fs::read(&failed).unwrap(),
        before,
        "the input was rewritten"
    );
    assert!(replay.workdir().path("failed.invalid.csv").exists());
    // `etl run` agrees: the replay's dead letters go to <stem>.failed.csv beside it.
    let run = replay
        .then()
        .args(["--source", absolute.to_str().unwrap()])
        .run();
    run.exit(3).dead_lettered(3);
    assert!(
        run.report()["dead_letter_file"]
            .as_str()
            .unwrap()
            .ends_with("failed.failed.csv")
    );
    assert_eq!(std::fs::read(&failed).unwrap(), before);
}

#[test]
fn job_files_that_name_the_source_or_the_pipeline_are_refused_at_load() {
    let base = || Pipeline::new().upsert_by("email").map_contact_columns();
    for (pipeline, key) in [
        (base().checkpoint("input.csv"), "checkpoint.path"),
        (base().checkpoint("./p.toml"), "checkpoint.path"),
        (base().dead_letter("./input.csv"), "dead_letter.path"),
    ] {
        let run = Scenario::new()
            .csv(contacts(5))
            .pipeline(|_| pipeline)
            .args(["--restart"])
            .run();
        run.exit(1).says(key).says("same file");
        let source = std::fs::read_to_string(run.workdir().path("input.csv")).unwrap();
        assert!(
            source.starts_with("Email,"),
            "the source was destroyed: {source:?}"
        );
    }
    // The report, too (the scenario passes its own --report, so run the binary by hand).
    let work = crate::support::workdir::Workdir::new();
    work.write("input.csv", contacts(5).to_string());
    work.write("p.toml", base().base_url("sandbox").text());
    let out = Command::new(env!("CARGO_BIN_EXE_etl"))
        .args(["run", "p.toml", "--report", "./input.csv"])
        .current_dir(work.dir())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "a flag's mistake is a usage error"
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("--report") && said.contains("same file"),
        "{said}"
    );
    assert!(work.read("input.csv").starts_with("Email,"));
}

#[test]
fn restart_only_ever_removes_a_journal() {
    let scenario = Scenario::new()
        .csv(contacts(5))
        .file("notes.txt", "precious\n")
        .pipeline(|p| {
            p.upsert_by("email")
                .map_contact_columns()
                .checkpoint("notes.txt")
        });
    let run = scenario.args(["--restart"]).run();
    run.exit(1).says("not an etl journal");
    assert_eq!(run.workdir().read("notes.txt"), "precious\n");
}

#[test]
fn a_dry_run_never_truncates_the_dead_letters_of_a_live_run() {
    // The bad rows all come first (rows 10, 20, 30, 40): they are rejected locally, before
    // the hanging batches hold the reading back, so the file is complete when validate starts.
    let good = (41..=200).map(|i| {
        [
            format!("person{i}@example.com"),
            format!("First{i}"),
            format!("Last{i}"),
        ]
    });
    let scenario = Scenario::new().csv(contacts_with_bad_emails(40, 10).rows(good));
    // Every batch answer takes 6 s, so the run is still going while validate starts.
    let proxy = Proxy::start_delayed(
        &scenario.url(),
        |_, path| {
            if path.ends_with("/batch/upsert") {
                Duration::from_secs(6)
            } else {
                Duration::ZERO
            }
        },
        |_, _, answer| answer,
    );
    let mut running = scenario
        .pipeline(|p| {
            through(&proxy.url, p.upsert_by("email"))
                .batch_size(50)
                .dead_letter("failed.csv")
        })
        .spawn();
    running.wait_until(|portal| portal.stats()["requests_total"].as_u64() >= Some(1));
    let failed = running.alongside().workdir().path("failed.csv");
    let deadline = Instant::now() + Duration::from_secs(20);
    let complete = || std::fs::read_to_string(&failed).is_ok_and(|t| t.contains("broken40."));
    while !complete() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let live = std::fs::read(&failed).unwrap();
    // A dry run writes its invalid rows to a file of its own, so it need not wait for the run.
    let dry = running.alongside().validate();
    dry.exit(3).invalid(4);
    assert_eq!(dry.report()["dead_letter_file"], "input.invalid.csv");
    // The live run may have written more since; what it had written is all still there.
    assert!(
        std::fs::read(&failed).unwrap().starts_with(&live),
        "the live run's dead letters were rewritten"
    );
    running.terminate().exit(4);
}
