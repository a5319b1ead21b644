//! `etl validate` end to end against the embedded sandbox (`base_url = "sandbox"`), on the committed
//! samples copied into a temp dir, through the binary and in-process.

use std::path::{Path, PathBuf};

use etl::commands;
use etl::config;

use crate::fixtures::Dir;

/// Copies `samples/{pipeline}` and its source into a temp dir; returns the dir and the pipeline path.
fn copy_sample(pipeline: &str, source: &str) -> (Dir, PathBuf) {
    let d = Dir::new();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    for name in [pipeline, source] {
        std::fs::copy(samples.join(name), d.path(name)).unwrap();
    }
    let p = d.path(pipeline);
    (d, p)
}

fn etl(args: &[&std::ffi::OsStr]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("etl")
        .unwrap()
        .env_remove("HUBSPOT_TOKEN")
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .unwrap()
}

fn csv_rows(path: &Path) -> Vec<csv::StringRecord> {
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn contacts_sample_against_the_sandbox() {
    let (d, p) = copy_sample("contacts.toml", "contacts.csv");
    let out = etl(&["validate".as_ref(), p.as_os_str()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("rows read: 3000"), "{stdout}");
    assert!(
        stdout.contains("INVALID_EMAIL: 52") && stdout.contains("UNREADABLE_ROW: 1"),
        "{stdout}"
    );
    let dead = csv_rows(&d.path("contacts.failed.csv"));
    assert_eq!(dead.len(), 105);
    // Row 42 holds a quoted newline, so row 777 starts on line 779 (the header is line 1).
    assert!(
        dead.iter()
            .any(|r| &r[13] == "row 777 (line 779): expected 10 fields (as in the header), found 5"),
        "{dead:?}"
    );
}

#[tokio::test]
async fn every_sample_validates_in_process() {
    for (pipeline, source, rows, invalid) in [
        ("companies.toml", "companies.parquet", 2000, 8),
        ("deals.toml", "deals.csv", 1500, 44),
        ("archive_contacts.toml", "archive_contacts.csv", 500, 2),
    ] {
        let (_d, p) = copy_sample(pipeline, source);
        let p = config::load(&p, &Default::default()).unwrap();
        let s = commands::validate(&p, None).await.unwrap();
        assert_eq!((s.rows_read, s.invalid), (rows, invalid), "{pipeline}: {s}");
        assert_eq!(s.valid + s.invalid, s.rows_read);
    }
}

#[test]
fn a_parquet_dead_letter_file_replays_with_source() {
    let (d, p) = copy_sample("companies.toml", "companies.parquet");
    assert_eq!(
        etl(&["validate".as_ref(), p.as_os_str()]).status.code(),
        Some(3)
    );
    let failed = d.path("companies.failed.csv");
    // Fix the rows: give each a name.
    let mut reader = csv::Reader::from_path(&failed).unwrap();
    let header = reader.headers().unwrap().clone();
    let mut writer = csv::Writer::from_path(d.path("fixed.csv")).unwrap();
    writer.write_record(&header).unwrap();
    for r in reader.records() {
        let r = r.unwrap();
        let mut fields: Vec<String> = r.iter().map(String::from).collect();
        fields[0] = format!("Fixed company {}", &r[7]);
        writer.write_record(&fields).unwrap();
    }
    writer.flush().unwrap();
    let fixed = d.path("fixed.csv");
    let out = etl(&[
        "validate".as_ref(),
        "--source".as_ref(),
        fixed.as_os_str(),
        p.as_os_str(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("rows read: 8") && stdout.contains("invalid:   0"),
        "{stdout}"
    );
    // Replaying the dead-letter file itself never truncates it.
    let out = etl(&[
        "validate".as_ref(),
        "--source".as_ref(),
        failed.as_os_str(),
        p.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(csv_rows(&failed).len(), 8);
    assert_eq!(csv_rows(&d.path("companies.failed.failed.csv")).len(), 8);
}

#[test]
fn all_valid_exits_zero_and_fatal_errors_exit_one() {
    let d = Dir::new();
    d.write(
        "c.csv",
        "Email,First\nann@example.com,Ann\nbob@example.com,Bob\n",
    );
    let ok = d.write(
        "ok.toml",
        "[source]\npath = \"c.csv\"\n[target]\nobject = \"contacts\"\noperation = \"upsert\"\nid_property = \"email\"\nbase_url = \"sandbox\"\n[mapping]\nemail = \"Email\"\nfirstname = \"First\"\n",
    );
    let out = etl(&["validate".as_ref(), ok.as_os_str()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!d.path("c.failed.csv").exists());
    let text = std::fs::read_to_string(&ok)
        .unwrap()
        .replace("firstname = \"First\"", "first_name = \"First\"");
    let bad = d.write("bad.toml", text);
    let out = etl(&["validate".as_ref(), bad.as_os_str()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("first_name")
            && stderr.contains("bad.toml")
            && stderr.contains("did you mean \"firstname\""),
        "{stderr}"
    );
}
