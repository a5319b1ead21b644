//! End-to-end `etl run` against the in-process sandbox on loopback: 100k contacts upserted by
//! email (a) with no limits — rows/s of the whole engine; (b) at a scaled HubSpot window of 190
//! requests per 1,000 ms — the share of the window the run achieves, and its 429 count.
//!
//! The pipeline targets `base_url = "sandbox"`: each run starts the embedded sandbox with the
//! pipeline's own window, as a user's rehearsal does.
//!
//! `cargo bench --bench run`; the ratio lines are printed to stderr.

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use etl::pipeline::{RunOptions, run};

const ROWS: usize = 100_000;

fn write_inputs(dir: &Path, requests_per_interval: u32, interval_ms: u64) {
    let mut csv = String::with_capacity(ROWS * 60);
    csv.push_str("Email,First Name,Last Name,Phone,City\n");
    for i in 0..ROWS {
        csv.push_str(&format!(
            "person{i}@example.com,First{i},Last{i},+1 555 01{i:05},City {}\n",
            i % 97
        ));
    }
    std::fs::write(dir.join("contacts.csv"), csv).unwrap();
    let pipeline = format!(
        "[source]\npath = \"contacts.csv\"\n\n[target]\nobject = \"contacts\"\noperation = \"upsert\"\n\
         id_property = \"email\"\nbase_url = \"sandbox\"\n\n[mapping]\n\
         email = \"Email\"\nfirstname = \"First Name\"\nlastname = \"Last Name\"\nphone = \"Phone\"\n\
         city = \"City\"\n\n[dispatch]\nrequests_per_interval = {requests_per_interval}\n\
         interval_ms = {interval_ms}\nconcurrency = 8\n\n[dead_letter]\npath = \"failed.csv\"\n"
    );
    std::fs::write(dir.join("pipeline.toml"), pipeline).unwrap();
}

fn bench_run(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("run");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(ROWS as u64));

    for (name, requests, interval_ms) in [
        ("upsert_100k_unlimited", 1_000_000u32, 1000u64),
        ("upsert_100k_190_per_s", 190, 1000),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write_inputs(dir.path(), requests, interval_ms);
        let pipeline = dir.path().join("pipeline.toml");
        let options = RunOptions {
            quiet: true,
            ..RunOptions::default()
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let outcome = runtime.block_on(run(&pipeline, &options)).unwrap();
                assert_eq!(outcome.report.accepted, ROWS as u64);
                if requests < 1000 {
                    let per_second = outcome.report.requests as f64 / outcome.report.elapsed_s;
                    let ratio = per_second * interval_ms as f64 / 1000.0 / requests as f64;
                    eprintln!(
                        "{name}: {} requests in {:.2}s = {:.3} of the window; {} rate-limited",
                        outcome.report.requests,
                        outcome.report.elapsed_s,
                        ratio,
                        outcome.report.rate_limited
                    );
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_run);
criterion_main!(benches);
