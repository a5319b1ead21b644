//! Inputs as they arrive: gzip and zstd CSV streamed by extension, CSV from standard input (and
//! `--resume` refusing it), and JSON log lines for collectors.

use std::io::Write;

use crate::support::fixtures::contacts;
use crate::support::scenario::Scenario;

/// `text` gzipped.
fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).expect("gzip");
    encoder.finish().expect("gzip")
}

/// The contacts of [`contacts`] upserted from `file`, holding `bytes`.
fn upsert_from(file: &str, bytes: Vec<u8>) -> Scenario {
    Scenario::new()
        .file(file, bytes)
        .pipeline(|p| p.source(file).upsert_by("email").map_contact_columns())
}

#[test]
fn gzip_and_zstd_csv_load_like_the_plain_file() {
    let text = contacts(250).to_string();
    let zst = zstd::encode_all(text.as_bytes(), 3).expect("zstd");
    for (file, bytes) in [("in.csv.gz", gzip(&text)), ("in.csv.zst", zst)] {
        let run = upsert_from(file, bytes).run();
        run.exit(0).rows_read(250).accepted(250).created(250);
        let contact = run.portal().get(
            "/crm/v3/objects/contacts/person77@example.com?idProperty=email&properties=lastname",
        );
        assert_eq!(contact.body["properties"]["lastname"], "Last77", "{file}");
    }
}

#[test]
fn a_compressed_tsv_keeps_its_tab_delimiter_and_a_bad_row_is_dead_lettered() {
    let text = "Email\tFirst Name\tLast Name\nann@example.com\tAnn\tA\nnot-an-email\tBob\tB\n";
    let run = upsert_from("in.tsv.gz", gzip(text)).run();
    run.exit(3).rows_read(2).accepted(1).dead_lettered(1);
    // The dead letters of a compressed source are plain CSV next to it, in its delimiter.
    let dead = run.dead_letters();
    assert_eq!(dead.column("Email"), ["not-an-email"]);
    assert!(run.workdir().path("in.tsv.failed.csv").exists());
}

#[test]
fn a_damaged_gzip_stops_the_run_with_the_rows_before_it_kept() {
    let mut bytes = gzip(&contacts(2_000).to_string());
    let cut = bytes.len() / 2;
    bytes.truncate(cut);
    let run = upsert_from("in.csv.gz", bytes).run();
    run.exit(1).says("in.csv.gz");
    assert!(run.number("accepted") > 0, "{}", run.text());
}

#[test]
fn csv_from_standard_input_loads_and_cannot_be_resumed() {
    let csv = contacts(120).row(["broken.example.com", "Bad", "Row"]);
    let run = Scenario::new()
        .stdin(csv.to_string())
        .pipeline(|p| p.source("-").upsert_by("email").map_contact_columns())
        .run();
    run.exit(3).rows_read(121).accepted(120).dead_lettered(1);
    // Standard input has no name: the dead letters are named after the pipeline file.
    assert!(run.workdir().path("p.failed.csv").exists());
    assert_eq!(run.portal().records("contacts"), 120);
    let resumed = run.then().args(["--resume"]).stdin("").run();
    resumed.exit(1).says("standard input");
}

#[test]
fn parquet_from_standard_input_is_refused_before_anything_is_read() {
    let run = Scenario::new()
        .stdin("not read")
        .written_pipeline(
            "q.toml",
            "[source]\npath = \"-\"\nformat = \"parquet\"\n[target]\nobject = \"contacts\"\n\
             operation = \"upsert\"\nid_property = \"email\"\nbase_url = \"sandbox\"\n\
             [mapping]\nemail = \"Email\"\n",
        )
        .run();
    run.exit(1).says("standard input");
}

#[test]
fn json_logs_are_one_object_a_line() {
    let mut running = Scenario::new()
        .window(20, 1_000)
        .csv(contacts(3_000))
        .pipeline(|p| p.upsert_by("email").map_contact_columns().batch_size(1))
        .args(["--log-format", "json"])
        .spawn();
    running.wait_until(|portal| portal.records("contacts") >= 3);
    let run = running.terminate();
    run.exit(4).stopped("interrupted");
    let lines: Vec<serde_json::Value> = run
        .text()
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).expect("every log line is JSON"))
        .collect();
    let warning = lines
        .iter()
        .find(|line| line["level"] == "WARN")
        .unwrap_or_else(|| panic!("no warning in:\n{}", run.text()));
    assert!(warning["message"].as_str().unwrap().contains("interrupted"));
    assert!(warning["timestamp"].is_string() && warning["target"].is_string());
}
