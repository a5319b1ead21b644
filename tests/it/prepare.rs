//! The prepare path end to end on real files: conservation, ordering, resume/stop, `etl validate`
//! against the sandbox's schema, a property test over arbitrary CSVs, and flat memory.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use etl::sandbox::SandboxConfig;
use proptest::prelude::*;

use crate::support::engine::{
    BatchKey, ObjectSchema, Operation, PrepareOptions, PrepareOutcome, Prepared, RejectStatus,
    Rejection, Secret, TraceIds, config, encode, load, prepare, validate,
};
use crate::support::fixtures::{self, CONTACTS, Pipeline};
use crate::support::sandbox::Sandbox;
use crate::support::scenario::Scenario;
use crate::support::workdir::Workdir;

fn contacts_schema() -> ObjectSchema {
    ObjectSchema::from_json("contacts", CONTACTS.as_bytes()).unwrap()
}

/// Batches as (row, key) pairs.
type Batches = Vec<Vec<(u64, Option<BatchKey>)>>;

/// Runs the prepare thread to the end: (batches of row numbers with keys, rejections, outcome).
fn drain(
    pipeline: &config::Pipeline,
    options: PrepareOptions,
) -> (Batches, Vec<Rejection>, PrepareOutcome) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let handle = prepare::spawn(pipeline, contacts_schema(), options).unwrap();
        let mut events = handle.events;
        let (mut batches, mut rejected) = (Vec::new(), Vec::new());
        while let Some(e) = events.recv().await {
            match e {
                Prepared::Batch(b) => {
                    batches.push(b.inputs.into_iter().map(|i| (i.row, i.key)).collect())
                }
                Prepared::Rejected(r) => rejected.push(r),
                Prepared::Unchanged(_) => unreachable!("no [sync] filter here"),
            }
        }
        (batches, rejected, handle.done.await.unwrap())
    })
}

/// Seven rows: three valid (row 3 repeats row 1's key), then a bad email, an unknown option, a
/// ragged row, an impossible date; row 7 holds a quoted newline.
const MIXED_CSV: &str = "Email,First,Stage,Born\n\
     a@x.co,Ann,Lead,31/01/1990\n\
     bad-email,Bob,lead,01/02/1980\n\
     a@x.co,Ann2,customer,\n\
     c@x.co,Cy,Prospect,01/01/2000\n\
     d@x.co,Di,lead\n\
     e@x.co,Ed,lead,31/02/2000\n\
     \"f@x.co\",\"Fay\nSecond line\",lead,\n";

/// An upsert by email of [`MIXED_CSV`] (as `c.csv`) with a transform on every column.
fn mixed_pipeline() -> Pipeline {
    Pipeline::new()
        .source("c.csv")
        .upsert_by("email")
        .map_toml("email", r#"{ column = "Email", trim = true }"#)
        .map("firstname", "First")
        .map_toml(
            "lifecyclestage",
            r#"{ column = "Stage", values = { "Lead" = "lead" } }"#,
        )
        .map_toml(
            "date_of_birth",
            r#"{ column = "Born", type = "date", format = "%d/%m/%Y" }"#,
        )
}

fn mixed_csv(d: &Workdir) -> PathBuf {
    d.write("c.csv", MIXED_CSV);
    d.write("p.toml", mixed_pipeline().text())
}

#[test]
fn every_row_ends_exactly_once_with_a_reason() {
    let d = Workdir::new();
    let p = load(&mixed_csv(&d));
    let (batches, rejected, outcome) = drain(&p, PrepareOptions::default());
    assert!(outcome.error.is_none());
    let t = outcome.totals;
    assert_eq!(t.rows_read, 7);
    assert_eq!(t.inputs + t.rejected + t.rows_skipped, t.rows_read);
    let by_row: HashMap<u64, &Rejection> = rejected.iter().map(|r| (r.row, r)).collect();
    assert_eq!(by_row[&2].category, "INVALID_EMAIL");
    assert_eq!(by_row[&4].category, "INVALID_OPTION");
    assert!(
        by_row[&4].message.contains("\"Prospect\""),
        "{}",
        by_row[&4].message
    );
    assert_eq!(by_row[&5].status, RejectStatus::Unreadable);
    assert_eq!(by_row[&6].category, "INVALID_DATE");
    assert!(
        by_row[&6]
            .message
            .contains("column \"Born\" → property date_of_birth: \"31/02/2000\""),
        "{}",
        by_row[&6].message
    );
    // Row 3 repeats row 1's key: it must be in a later batch.
    assert_eq!(
        batches,
        vec![
            vec![
                (1, Some(BatchKey::exact("a@x.co"))),
                (7, Some(BatchKey::exact("f@x.co")))
            ],
            vec![(3, Some(BatchKey::exact("a@x.co")))]
        ]
    );
}

#[test]
fn missing_column_is_fatal_before_any_row() {
    let d = Workdir::new();
    d.write("c.csv", "Email,First\na@x.co,Ann\n");
    let p = d.write(
        "p.toml",
        Pipeline::new()
            .source("c.csv")
            .upsert_by("email")
            .map("email", "Email")
            .map("lastname", "Last")
            .text(),
    );
    let p = load(&p);
    let err = prepare::spawn(&p, contacts_schema(), PrepareOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("\"Last\"")
            && err.contains("mapping.lastname")
            && err.contains("c.csv")
            && err.contains("p.toml"),
        "{err}"
    );
}

#[test]
fn skip_and_stop_keep_conservation() {
    let d = Workdir::new();
    let p = load(&mixed_csv(&d));
    let options = PrepareOptions {
        skip: Some(Box::new(|row| row <= 3)),
        ..PrepareOptions::default()
    };
    let (batches, rejected, outcome) = drain(&p, options);
    let t = outcome.totals;
    assert_eq!((t.rows_read, t.rows_skipped), (7, 3));
    assert_eq!(t.inputs + t.rejected + t.rows_skipped, t.rows_read);
    assert!(batches.iter().flatten().all(|(row, _)| *row > 3));
    assert!(rejected.iter().all(|r| r.row > 3));
    let stop = Arc::new(AtomicBool::new(true));
    let (_, _, outcome) = drain(
        &p,
        PrepareOptions {
            stop: stop.clone(),
            ..PrepareOptions::default()
        },
    );
    assert!(outcome.totals.stopped);
    assert_eq!(outcome.totals.rows_read, 0);
    stop.store(false, Ordering::Relaxed);
}

#[test]
fn truncated_parquet_is_fatal_before_any_row() {
    // A truncated Parquet file fails at open; that is the common corruption and must be fatal.
    let d = Workdir::new();
    d.write("c.parquet", b"PAR1\x00\x00PAR1");
    let p = d.write(
        "p.toml",
        Pipeline::new()
            .source("c.parquet")
            .upsert_by("email")
            .map("email", "Email")
            .text(),
    );
    let p = load(&p);
    let err = prepare::spawn(&p, contacts_schema(), PrepareOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("unreadable source file"), "{err}");
}

// ----------------------------------------------------------------------------------------------
// `etl validate` against the sandbox's schema.

/// [`mixed_csv`] against `url`, the token read from `token_env`.
fn validate_pipeline(d: &Workdir, url: &str, token_env: &str) -> PathBuf {
    d.write("c.csv", MIXED_CSV);
    d.write(
        "p.toml",
        mixed_pipeline().base_url(url).token_env(token_env).text(),
    )
}

/// A sandbox that accepts only `token`.
async fn sandbox(token: &str) -> Sandbox {
    Sandbox::start(SandboxConfig {
        token: Some(token.into()),
        ..SandboxConfig::default()
    })
    .await
}

#[tokio::test]
async fn validate_summarises_and_writes_dead_letters() {
    let sandbox = sandbox("tok-valid").await;
    let d = Workdir::new();
    let p = load(&validate_pipeline(&d, &sandbox.base, "UNUSED_IN_PROCESS"));
    let token = Some(Secret::new("tok-valid"));
    let summary = validate(&p, token.clone()).await.unwrap();
    assert_eq!(
        (summary.rows_read, summary.valid, summary.invalid),
        (7, 3, 4)
    );
    assert_eq!(summary.by_category["INVALID_EMAIL"], 1);
    assert_eq!(summary.by_category["UNREADABLE_ROW"], 1);
    let dead = summary.dead_letter.clone().unwrap();
    assert_eq!(dead, d.path("c.invalid.csv"));
    let text = std::fs::read_to_string(&dead).unwrap();
    assert!(
        text.starts_with("Email,First,Stage,Born,etl_row,etl_status,etl_category,etl_message\n"),
        "{text}"
    );
    assert!(
        text.contains("bad-email,Bob,lead,01/02/1980,2,invalid,INVALID_EMAIL,"),
        "{text}"
    );
    assert!(format!("{summary}").contains("INVALID_OPTION: 1"));

    // Fix-and-replay: the dead-letter file is a valid input of the same pipeline.
    let fixed = text
        .replace("bad-email", "bob@x.co")
        .replace("Prospect", "lead")
        .replace("31/02/2000", "28/02/2000");
    let mut fixed_lines: Vec<&str> = fixed.lines().collect();
    fixed_lines.retain(|l| !l.starts_with("d@x.co"));
    let replay = d.write("replay.csv", fixed_lines.join("\n") + "\n");
    let summary = validate(&p.with_source(&replay).unwrap(), token)
        .await
        .unwrap();
    assert_eq!((summary.rows_read, summary.invalid), (3, 0), "{summary}");
}

#[tokio::test]
async fn validate_fatal_errors_name_the_cause_and_hide_the_token() {
    let sandbox = sandbox("tok-right").await;
    let d = Workdir::new();
    let p = load(&validate_pipeline(&d, &sandbox.base, "UNUSED_IN_PROCESS"));
    let err = validate(&p, Some(Secret::new("tok-wrong-secret")))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("401") && err.contains("Authentication credentials not found"),
        "{err}"
    );
    assert!(!err.contains("tok-wrong-secret"), "{err}");
    // Connection refused names the URL.
    let d = Workdir::new();
    // (No retries: a refused connection is otherwise retried with backoff, like any request.)
    let p = validate_pipeline(&d, "http://127.0.0.1:9", "UNUSED_IN_PROCESS");
    let text = std::fs::read_to_string(&p).unwrap() + "\n[dispatch]\nmax_retries = 0\n";
    let p = load(&d.write("p.toml", &text));
    let err = validate(&p, Some(Secret::new("tok")))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("http://127.0.0.1:9/crm/properties/2026-09/contacts"),
        "{err}"
    );
}

#[test]
fn validate_binary_exit_codes() {
    let run = Scenario::new()
        .file("c.csv", MIXED_CSV)
        .pipeline(|_| mixed_pipeline())
        .validate();
    run.exit(3).invalid(4);
    run.then()
        .written_pipeline("bad.toml", "[source]\npath = 1\n")
        .validate()
        .exit(1)
        .says("bad.toml");
}

// ----------------------------------------------------------------------------------------------
// Property test: arbitrary CSVs through the real thread.

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z]{1,6}",
        "[a-z ,;\"\n\r|\t]{0,8}",
        Just("\"quoted, \"\"twice\"\"\"".to_string()),
    ]
}

fn record() -> impl Strategy<Value = Vec<String>> {
    (
        prop_oneof![
            Just("1"),
            Just("2"),
            Just("3"),
            Just("77"),
            Just(""),
            Just("x1")
        ],
        field(),
        field(),
        0..10u8,
    )
        .prop_map(|(id, a, b, shape)| match shape {
            0 => vec![id.to_string(), a],                         // ragged: short
            1 => vec![id.to_string(), a, b, "extra".to_string()], // ragged: long
            _ => vec![id.to_string(), a, b],
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_row_exactly_once_batches_bounded_and_ordered(
        records in prop::collection::vec(record(), 0..120),
        batch_size in 1usize..8,
        delimiter in prop_oneof![Just(b','), Just(b';'), Just(b'|'), Just(b'\t')],
    ) {
        let d = Workdir::new();
        let mut w = csv::WriterBuilder::new().delimiter(delimiter).flexible(true).from_path(d.path("p.csv")).unwrap();
        w.write_record(["Id", "A", "B"]).unwrap();
        for r in &records {
            w.write_record(r).unwrap();
        }
        w.flush().unwrap();
        drop(w);
        let delim = match delimiter { b'\t' => "tab".to_string(), c => (c as char).to_string() };
        let text = Pipeline::new().source("p.csv").delimiter(&delim).update().id_column("Id")
            .map("firstname", "A").map("lastname", "B").batch_size(batch_size as u64).text();
        let p = load(&d.write("p.toml", text));
        let (batches, rejected, outcome) = drain(&p, PrepareOptions::default());
        prop_assert!(outcome.error.is_none());
        let n = records.len() as u64;
        prop_assert_eq!(outcome.totals.rows_read, n);
        let mut seen = vec![0u32; records.len() + 1];
        let mut last_batch_of_key: HashMap<BatchKey, (usize, u64)> = HashMap::new();
        for (bi, batch) in batches.iter().enumerate() {
            prop_assert!(!batch.is_empty() && batch.len() <= batch_size);
            let mut keys = std::collections::HashSet::new();
            for (row, key) in batch {
                seen[*row as usize] += 1;
                let key = key.expect("update inputs have keys");
                prop_assert!(keys.insert(key), "key {:?} twice in one batch", key);
                if let Some((prev_batch, prev_row)) = last_batch_of_key.get(&key) {
                    prop_assert!(*prev_batch < bi && *prev_row < *row, "key {:?} out of file order", key);
                }
                last_batch_of_key.insert(key, (bi, *row));
            }
        }
        for r in &rejected {
            seen[r.row as usize] += 1;
            let rec = &records[r.row as usize - 1];
            if rec.len() != 3 {
                prop_assert_eq!(r.status, RejectStatus::Unreadable);
            } else {
                prop_assert_eq!(&r.fields, rec, "dead letters keep the original values");
            }
        }
        prop_assert!(seen[1..].iter().all(|&c| c == 1), "a row was lost or duplicated: {:?}", seen);
        // Valid ids are digits; the rest must have been rejected.
        for (i, rec) in records.iter().enumerate() {
            let valid = rec.len() == 3 && !rec[0].is_empty() && rec[0].bytes().all(|b| b.is_ascii_digit());
            let batched = batches.iter().flatten().any(|(row, _)| *row == i as u64 + 1);
            prop_assert_eq!(valid, batched, "row {}", i + 1);
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Flat memory: run the prepare path in a child process and compare peak RSS (VmHWM).

/// The child: prepares `ETL_MEMORY_ROWS` generated rows through the thread and channel, then prints
/// its peak RSS. Ignored unless run by `memory_stays_flat`.
#[test]
#[ignore = "run by memory_stays_flat in a child process"]
fn memory_probe() {
    let Ok(rows) = std::env::var("ETL_MEMORY_ROWS") else {
        return;
    };
    let rows: usize = rows.parse().unwrap();
    let d = Workdir::new();
    fixtures::write_contacts_csv(&d.path("c.csv"), rows);
    let p = d.write(
        "p.toml",
        Pipeline::new()
            .source("c.csv")
            .upsert_by("email")
            .map_all(&fixtures::CONTACTS_MAPPING)
            .text(),
    );
    let p = load(&p);
    let (batches, rejected, outcome) = drain_counting(&p);
    assert_eq!(outcome.totals.rows_read, rows as u64);
    assert_eq!(batches + rejected, rows as u64);
    println!("ETL_VMHWM_KB={}", vm_hwm_kb());
}

fn drain_counting(p: &config::Pipeline) -> (u64, u64, PrepareOutcome) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let handle = prepare::spawn(p, contacts_schema(), PrepareOptions::default()).unwrap();
        let mut events = handle.events;
        let (mut inputs, mut rejected) = (0, 0);
        let mut body = Vec::new();
        while let Some(e) = events.recv().await {
            match e {
                Prepared::Batch(b) => {
                    inputs += b.inputs.len() as u64;
                    body.clear();
                    let traces = TraceIds::new("job1");
                    encode::write_body(
                        &mut body,
                        Operation::Upsert,
                        Some("email"),
                        &traces,
                        &b.inputs,
                    );
                }
                Prepared::Rejected(_) => rejected += 1,
                Prepared::Unchanged(_) => unreachable!("no [sync] filter here"),
            }
        }
        (inputs, rejected, handle.done.await.unwrap())
    })
}

fn vm_hwm_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn peak_for(rows: usize) -> u64 {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "prepare::memory_probe",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ETL_MEMORY_ROWS", rows.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.split_once("ETL_VMHWM_KB=").map(|(_, v)| v.trim()))
        .unwrap_or_else(|| {
            panic!(
                "probe failed: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
        .parse()
        .unwrap()
}

#[test]
fn memory_stays_flat() {
    let small = peak_for(10_000);
    let large = peak_for(200_000);
    eprintln!("peak RSS: 10k rows {small} kB, 200k rows {large} kB");
    assert!(
        (large as f64) < (small as f64) * 1.5 + 4096.0,
        "peak memory grew with the file: {small} kB → {large} kB"
    );
}

/// The 1M-row figure for README (slow in debug): `cargo test --release --test it -- --ignored memory_one_million --nocapture`.
#[test]
#[ignore = "slow: records the 1M-row figure"]
fn memory_one_million() {
    let small = peak_for(10_000);
    let large = peak_for(1_000_000);
    println!("peak RSS: 10k rows {small} kB, 1M rows {large} kB");
    assert!((large as f64) < (small as f64) * 1.5 + 4096.0);
}
