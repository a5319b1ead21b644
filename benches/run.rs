//! End-to-end `etl run` against a sandbox on loopback: 100k contacts upserted by email
//! (a) with no limits — rows/s of the whole engine, sandbox included on the same 2 cores;
//! (b) at a scaled HubSpot window of 190 requests per 1,000 ms — the share of the window the
//!     run achieves (its busiest 1,000 ms as the sandbox counted them, and its average over the
//!     whole run) and the number of 429s, printed to stderr.
//!
//! `cargo bench --bench run`

/// The allocator the `etl` binary uses, so the figures are the ones users get.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engine::{Overrides, RunOptions, Secret, config, run};
use etl::sandbox::{SandboxConfig, start};
use fixtures::Pipeline;

#[path = "../tests/it/support/engine.rs"]
mod engine;
#[path = "../tests/it/support/fixtures.rs"]
mod fixtures;

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
    let pipeline = Pipeline::new()
        .source("contacts.csv")
        .upsert_by("email")
        .base_url("sandbox")
        .map_contact_columns()
        .map("phone", "Phone")
        .map("city", "City")
        .window(requests_per_interval.into(), interval_ms)
        .concurrency(8)
        .dead_letter("failed.csv");
    std::fs::write(dir.join("pipeline.toml"), pipeline.text()).unwrap();
}

fn bench_run(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("run");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(ROWS as u64));

    let cases = [
        ("upsert_100k_unlimited", 1_000_000u32, 1000u64),
        ("upsert_100k_190_per_s", 190, 1000),
    ];
    for (name, requests, interval_ms) in cases {
        let dir = tempfile::tempdir().unwrap();
        write_inputs(dir.path(), requests, interval_ms);
        let pipeline = dir.path().join("pipeline.toml");
        group.bench_function(name, |b| {
            b.iter(|| {
                // A fresh portal each iteration, with the pipeline's own window.
                let sandbox = runtime
                    .block_on(start(SandboxConfig {
                        requests_per_interval: requests,
                        interval: Duration::from_millis(interval_ms),
                        daily_limit: 10_000_000,
                        ..SandboxConfig::default()
                    }))
                    .unwrap();
                let options = RunOptions {
                    quiet: true,
                    token: Some(Secret::new("bench-token")),
                    ..RunOptions::default()
                };
                let overrides = Overrides {
                    base_url: Some(sandbox.base_url()),
                    ..Overrides::default()
                };
                let loaded = config::load(&pipeline, &overrides).unwrap();
                let outcome = runtime.block_on(run(&loaded, &options)).unwrap();
                assert_eq!(outcome.report.accepted, ROWS as u64);
                if requests < 1000 {
                    let stats = runtime.block_on(async {
                        reqwest::get(format!("{}/_sandbox/stats", sandbox.base_url()))
                            .await
                            .unwrap()
                            .json::<serde_json::Value>()
                            .await
                            .unwrap()
                    });
                    let busiest = stats["max_requests_in_window"].as_u64().unwrap();
                    let refused: u64 = stats["requests"]
                        .as_object()
                        .unwrap()
                        .values()
                        .filter_map(|by_status| by_status.get("429").and_then(|n| n.as_u64()))
                        .sum();
                    let report = &outcome.report;
                    let average = report.requests as f64 / report.elapsed_s * interval_ms as f64
                        / 1000.0
                        / requests as f64;
                    eprintln!(
                        "{name}: busiest window {busiest}/{requests} = {:.3}; average over the run \
                         {:.3} ({} requests in {:.2}s); {refused} answered 429",
                        busiest as f64 / requests as f64,
                        average,
                        report.requests,
                        report.elapsed_s
                    );
                }
                runtime.block_on(sandbox.shutdown());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_run);
criterion_main!(benches);
