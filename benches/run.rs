//! End-to-end `etl run` against a sandbox on loopback, contacts upserted by email:
//! (a) 100k rows with no limits, concurrency 8 — rows/s of the whole engine, sandbox included on
//!     the same 2 cores;
//! (b) 200k rows at a scaled HubSpot window of 190 requests per 1,000 ms, concurrency 16 — where
//!     send-to-arrival jitter on a busy machine is as large against the spacing as internet
//!     jitter is against the real window;
//! (c) 40k rows at the real window, 190 per 10,000 ms, concurrency 16 (≈ 21 s an iteration;
//!     200k rows take ≈ 105 s).
//!
//! For (b) and (c) the share of the window the run achieves (its busiest window as the sandbox
//! counted arrivals, and its average over the whole run) and the number of 429s are printed to
//! stderr. Sizes: `ETL_BENCH_RUN_ROWS` (a), `ETL_BENCH_RUN_SCALED_ROWS` (b),
//! `ETL_BENCH_RUN_REAL_ROWS` (c); `ETL_BENCH_RUN_JITTER_MS` adds the sandbox's arrival jitter
//! (0 to that many ms per request) to (b) and (c).
//!
//! `cargo bench --bench run` (one case: `cargo bench --bench run -- 190_per_1s`)

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

/// A size from the environment, or its default.
fn rows(variable: &str, default: usize) -> usize {
    std::env::var(variable)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One bench case: a file of `rows` contacts sent at a window with a concurrency bound.
struct Case {
    name: String,
    rows: usize,
    requests: u32,
    interval_ms: u64,
    concurrency: u64,
}

fn write_inputs(dir: &Path, case: &Case) {
    let mut csv = String::with_capacity(case.rows * 60);
    csv.push_str("Email,First Name,Last Name,Phone,City\n");
    for i in 0..case.rows {
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
        .window(case.requests.into(), case.interval_ms)
        .concurrency(case.concurrency)
        .dead_letter("failed.csv");
    std::fs::write(dir.join("pipeline.toml"), pipeline.text()).unwrap();
}

fn bench_run(c: &mut Criterion) {
    // The binary's own memory settings, so the figures are the ones users get.
    engine::no_huge_pages();
    // `RUST_LOG=etl::portal::gate=debug` shows the slack the gate keeps, as it changes.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut group = c.benchmark_group("run");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    let jitter = Duration::from_millis(rows("ETL_BENCH_RUN_JITTER_MS", 0) as u64);

    let unlimited = rows("ETL_BENCH_RUN_ROWS", 100_000);
    let scaled = rows("ETL_BENCH_RUN_SCALED_ROWS", 200_000);
    let real = rows("ETL_BENCH_RUN_REAL_ROWS", 40_000);
    let cases = [
        (
            format!("upsert_{}k_unlimited", unlimited / 1000),
            unlimited,
            1_000_000,
            1000,
            8,
        ),
        (
            format!("upsert_{}k_190_per_1s_c16", scaled / 1000),
            scaled,
            190,
            1000,
            16,
        ),
        (
            format!("upsert_{}k_190_per_10s_c16", real / 1000),
            real,
            190,
            10_000,
            16,
        ),
    ];
    for (name, rows, requests, interval_ms, concurrency) in cases {
        let case = Case {
            name,
            rows,
            requests,
            interval_ms,
            concurrency,
        };
        let limited = case.requests < 1000;
        let dir = tempfile::tempdir().unwrap();
        write_inputs(dir.path(), &case);
        let pipeline = dir.path().join("pipeline.toml");
        group.throughput(Throughput::Elements(case.rows as u64));
        group.bench_function(&case.name, |b| {
            b.iter(|| {
                // A fresh portal each iteration, with the pipeline's own window.
                let sandbox = runtime
                    .block_on(start(SandboxConfig {
                        requests_per_interval: case.requests,
                        interval: Duration::from_millis(case.interval_ms),
                        daily_limit: 10_000_000,
                        jitter: if limited { jitter } else { Duration::ZERO },
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
                assert_eq!(outcome.report.accepted, case.rows as u64);
                if limited {
                    let report = &outcome.report;
                    let sent = (report.requests, report.elapsed_s);
                    report_window(&runtime, &sandbox.base_url(), &case, sent);
                }
                runtime.block_on(sandbox.shutdown());
            })
        });
    }
    group.finish();
}

/// Prints the share of the window a run achieved, and its 429s, as the sandbox counted them.
fn report_window(
    runtime: &tokio::runtime::Runtime,
    base_url: &str,
    case: &Case,
    (sent, elapsed_s): (u64, f64),
) {
    let stats = runtime.block_on(async {
        reqwest::get(format!("{base_url}/_sandbox/stats"))
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
    let requests = f64::from(case.requests);
    let average = sent as f64 / elapsed_s * case.interval_ms as f64 / 1000.0 / requests;
    eprintln!(
        "{}: busiest window {busiest}/{} = {:.3}; average over the run {average:.3} ({} requests \
         in {:.2}s); {refused} answered 429",
        case.name,
        case.requests,
        busiest as f64 / requests,
        sent,
        elapsed_s
    );
}

criterion_group!(benches, bench_run);
criterion_main!(benches);
