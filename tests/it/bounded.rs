//! Memory bounded in bytes, not only in rows: a huge cell, a huge row number in a dead-letter file, a
//! huge answer, a huge value in a message. Peak RSS is measured in child processes (this test binary
//! re-run on one probe), so one test's allocations never hide another's.

use std::io::Write;

use serde_json::Value;

use crate::proxy::Proxy;
use crate::support::engine::{dead_letter_rows, load, validate};
use crate::support::fixtures::{Pipeline, contacts};
use crate::support::sandbox::{Sandbox, config};
use crate::support::scenario::Scenario;
use crate::support::workdir::{CsvFile, Workdir};

/// The bound the reliability issue sets for a run, whatever the input.
pub(crate) const PEAK_LIMIT_KB: u64 = 64 * 1024;

pub(crate) fn vm_hwm_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Runs one ignored probe (`module::name`) in a child process with `env`, and returns the peak RSS
/// it printed (and its output, for messages).
pub(crate) fn probe(name: &str, env: &[(&str, String)]) -> (u64, String) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    let peak = text
        .lines()
        .find_map(|l| l.split_once("ETL_VMHWM_KB=").map(|(_, v)| v.trim()))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no peak in {text}"));
    (peak, text)
}

/// The child: `etl validate`'s whole path (embedded sandbox, reader, dead-letter file) over a CSV
/// whose second row holds a cell of `ETL_HUGE_CELL_BYTES` bytes.
#[test]
#[ignore = "run by a_huge_cell_is_never_held_whole in a child process"]
fn huge_cell_probe() {
    let Ok(size) = std::env::var("ETL_HUGE_CELL_BYTES") else {
        return;
    };
    let size: usize = size.parse().unwrap();
    let work = Workdir::new();
    let mut file = std::io::BufWriter::new(std::fs::File::create(work.path("input.csv")).unwrap());
    writeln!(file, "Email,First Name,Last Name").unwrap();
    writeln!(file, "a@example.com,Ann,Smith").unwrap();
    write!(file, "b@example.com,\"").unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..size / chunk.len() {
        file.write_all(&chunk).unwrap();
    }
    file.write_all(&chunk[..size % chunk.len()]).unwrap();
    writeln!(file, "\",Jones").unwrap();
    writeln!(file, "c@example.com,Cy,Young").unwrap();
    drop(file);
    let pipeline = Pipeline::new()
        .upsert_by("email")
        .map_contact_columns()
        .base_url("sandbox");
    let path = work.write("p.toml", pipeline.text());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let summary = runtime.block_on(validate(&load(&path), None)).unwrap();
    assert_eq!(
        (summary.rows_read, summary.valid, summary.invalid),
        (3, 2, 1)
    );
    assert_eq!(summary.by_category["ROW_TOO_LARGE"], 1);
    let dead = CsvFile::read(&work.path("input.invalid.csv"));
    assert_eq!(dead.get(0, "etl_row"), "2");
    assert_eq!(dead.get(0, "etl_status"), "unreadable");
    let cut = dead.get(0, "First Name");
    assert!(cut.ends_with("…[cut]"), "{}", &cut[cut.len() - 20..]);
    assert!(cut.len() <= (1 << 20) + 16);
    assert_eq!(dead.get(0, "Last Name"), "…[cut]");
    println!("ETL_VMHWM_KB={}", vm_hwm_kb());
}

#[test]
fn a_huge_cell_is_never_held_whole() {
    let (peak, text) = probe(
        "bounded::huge_cell_probe",
        &[("ETL_HUGE_CELL_BYTES", (200 << 20).to_string())],
    );
    eprintln!("peak RSS with a 200 MiB cell: {peak} kB");
    assert!(peak < PEAK_LIMIT_KB, "{peak} kB\n{text}");
}

/// The child: what `--resume` reads of a dead-letter file whose `etl_row` says 10^12.
#[test]
#[ignore = "run by a_huge_row_number_costs_nothing in a child process"]
fn huge_row_number_probe() {
    if std::env::var("ETL_HUGE_ROW").is_err() {
        return;
    }
    let work = Workdir::new();
    let path = work.write(
        "failed.csv",
        "Email,etl_row,etl_status,etl_category,etl_message\n\
         a@x.io,3,invalid,INVALID_EMAIL,m\n\
         b@x.io,1000000000000,invalid,INVALID_EMAIL,m\n",
    );
    let rows = dead_letter_rows(&path);
    assert_eq!(rows.len(), 2);
    assert!(rows.contains(1_000_000_000_000) && rows.contains(3));
    println!("ETL_VMHWM_KB={}", vm_hwm_kb());
}

#[test]
fn a_huge_row_number_costs_nothing() {
    let (peak, text) = probe(
        "bounded::huge_row_number_probe",
        &[("ETL_HUGE_ROW", "1".into())],
    );
    assert!(peak < PEAK_LIMIT_KB, "{peak} kB\n{text}");
}

#[test]
fn an_answer_too_long_to_read_counts_as_lost() {
    let scenario = Scenario::new().csv(contacts(20));
    // Every upsert answer is 40 MiB: more than the engine ever reads of an answer.
    let proxy = Proxy::start(&scenario.url(), |_, path, mut answer| {
        if path.ends_with("/batch/upsert") {
            answer.body = vec![b' '; 40 << 20].into();
        }
        answer
    });
    let run = scenario
        .pipeline(|p| {
            p.upsert_by("email")
                .map_contact_columns()
                .base_url(&proxy.url)
                .max_retries(1)
        })
        .run();
    run.exit(3).accepted(0).dead_lettered(20);
    let dead = run.dead_letters();
    assert_eq!(dead.get(0, "etl_status"), "gave_up");
    assert!(
        dead.get(0, "etl_message").contains("longer than"),
        "{}",
        dead.get(0, "etl_message")
    );
}

#[test]
fn a_message_quotes_a_value_not_a_whole_cell() {
    let long = "y".repeat(70_000);
    let run = Scenario::new()
        .csv(contacts(1).row(["z@example.com", &long, "Last"]))
        .pipeline(|p| p.upsert_by("email").map_contact_columns())
        .validate();
    run.exit(3).invalid(1);
    let dead = run.dead_letters();
    let message = dead.get(0, "etl_message");
    assert!(message.contains("INVALID_LENGTH"), "{}", &message[..200]);
    assert!(message.len() < 600, "{} characters", message.len());
    let report: &Value = run.report();
    assert_eq!(report["by_category"]["INVALID_LENGTH"], 1);
}

/// The binary turns transparent huge pages off for itself (src/memory.rs): on a virtual machine a
/// fresh 2 MiB page cost milliseconds to fault in, and held memory nobody used.
#[cfg(target_os = "linux")]
#[test]
fn the_binary_runs_without_transparent_huge_pages() {
    let sandbox = Sandbox::process(&config());
    let status = std::fs::read_to_string(format!("/proc/{}/status", sandbox.pid())).unwrap();
    let thp = status
        .lines()
        .find_map(|l| l.strip_prefix("THP_enabled:"))
        .unwrap_or_else(|| panic!("no THP_enabled line in {status}"));
    assert_eq!(thp.trim(), "0", "{status}");
}
