//! `etl export` and `etl verify` against a sandbox on loopback, 100,000 contacts (5 properties):
//! (a) export to Parquet with no limits — records/s of the whole read path, sandbox included on
//!     the same 2 cores;
//! (b) the writing half alone — 1,000 list pages as the sandbox serves them, parsed, typed and
//!     written to Parquet: what the export does per record when the portal is not the limit;
//! (c) export at a scaled HubSpot window of 190 requests per 1,000 ms — the share of the window
//!     the export achieves (its busiest 1,000 ms as the sandbox counted them, and its average) and
//!     the number of 429s, printed to stderr;
//! (d) verify of the 100k-row upsert pipeline that loaded the contacts, no limits.
//!
//! `cargo bench --bench export`; `EXPORT_BENCH_RECORDS=20000 cargo bench --bench export` for a
//! shorter run (a multiple of 100; the benchmarks are named for the size).

/// The allocator the `etl` binary uses, so the figures are the ones users get.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engine::{
    ConnectionFlags, ExportOptions, ExportSpec, Format, ObjectSchema, Overrides, Page,
    ParquetTable, Plan, Properties, Row, RunOptions, Secret, Table, VerifyOptions, config, export,
    run, verify,
};
use etl::sandbox::{SandboxConfig, SandboxHandle, start};
use fixtures::{CONTACTS, Pipeline};
use serde_json::json;

#[path = "../tests/it/support/engine.rs"]
mod engine;
#[path = "../tests/it/support/fixtures.rs"]
mod fixtures;

/// The contacts loaded and read: `EXPORT_BENCH_RECORDS`, or 100,000.
fn records() -> usize {
    std::env::var("EXPORT_BENCH_RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000)
}
const PROPERTIES: [&str; 5] = ["email", "firstname", "lastname", "phone", "city"];

/// The contacts file and the upsert pipeline that loads it.
fn write_inputs(dir: &Path) {
    let mut csv = String::with_capacity(records() * 60);
    csv.push_str("Email,First Name,Last Name,Phone,City\n");
    for i in 0..records() {
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
        .window(1_000_000, 1000)
        .concurrency(8)
        .dead_letter("failed.csv");
    std::fs::write(dir.join("pipeline.toml"), pipeline.text()).unwrap();
}

/// A sandbox loaded with the contacts by `etl run`'s engine at `window` (requests, ms).
fn loaded_sandbox(
    runtime: &tokio::runtime::Runtime,
    dir: &Path,
    window: (u32, u64),
) -> SandboxHandle {
    let sandbox = runtime
        .block_on(start(SandboxConfig {
            requests_per_interval: window.0,
            interval: Duration::from_millis(window.1),
            daily_limit: 100_000_000,
            ..SandboxConfig::default()
        }))
        .unwrap();
    let overrides = Overrides {
        base_url: Some(sandbox.base_url()),
        ..Overrides::default()
    };
    let mut pipeline = config::load(&dir.join("pipeline.toml"), &overrides).unwrap();
    pipeline.dispatch.requests_per_interval = std::num::NonZeroU32::new(window.0).unwrap();
    pipeline.dispatch.interval = Duration::from_millis(window.1);
    let options = RunOptions {
        quiet: true,
        token: Some(Secret::new("bench-token")),
        restart: true,
        ..RunOptions::default()
    };
    let outcome = runtime.block_on(run(&pipeline, &options)).unwrap();
    assert_eq!(outcome.report.accepted, records() as u64);
    sandbox
}

fn spec(output: &Path) -> ExportSpec {
    ExportSpec {
        object: "contacts".into(),
        output: output.to_path_buf(),
        format: Format::Parquet,
        properties: Properties::Named(PROPERTIES.map(String::from).to_vec()),
        associations: Vec::new(),
        history: false,
        archived: false,
        ids: None,
    }
}

fn connection(base_url: &str, window: (u32, u64)) -> config::Connection {
    ConnectionFlags {
        base_url: base_url.to_string(),
        token_env: "HUBSPOT_TOKEN".into(),
        api_version: config::ApiVersion::default(),
        requests_per_interval: window.0,
        interval_ms: window.1,
        concurrency: 4,
    }
    .connection()
    .unwrap()
}

fn options() -> ExportOptions {
    ExportOptions {
        quiet: true,
        token: Some(Secret::new("bench-token")),
        resume: false,
        restart: true,
    }
}

/// 1,000 list pages of 100 records as the sandbox serves them.
fn pages() -> Vec<Vec<u8>> {
    (0..records() / 100)
        .map(|p| {
            let results: Vec<_> = (p * 100..p * 100 + 100)
                .map(|i| {
                    let id = (10_001 + i).to_string();
                    json!({"id": id, "properties": {
                        "city": format!("City {}", i % 97), "createdate": "2026-11-29T10:00:00.000Z",
                        "email": format!("person{i}@example.com"), "firstname": format!("First{i}"),
                        "hs_object_id": id, "lastmodifieddate": "2026-11-29T10:00:00.000Z",
                        "lastname": format!("Last{i}"), "phone": format!("+1 555 01{i:05}")},
                        "createdAt": "2026-11-29T10:00:00.000Z", "updatedAt": "2026-11-29T10:00:00.000Z",
                        "archived": false})
                })
                .collect();
            let after = 10_001 + (p + 1) * 100;
            serde_json::to_vec(&json!({"results": results,
                "paging": {"next": {"after": after.to_string(), "link": "?"}}}))
            .unwrap()
        })
        .collect()
}

fn bench_export(c: &mut Criterion) {
    // The binary's own memory settings, so the figures are the ones users get.
    engine::no_huge_pages();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let unlimited = loaded_sandbox(&runtime, dir.path(), (1_000_000, 1000));
    let output = dir.path().join("contacts.parquet");

    let k = records() / 1000;
    let mut group = c.benchmark_group("export");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(records() as u64));

    let open = connection(&unlimited.base_url(), (1_000_000, 1000));
    group.bench_function(format!("parquet_{k}k_unlimited"), |b| {
        b.iter(|| {
            let outcome = runtime
                .block_on(export(&spec(&output), &open, &options()))
                .unwrap();
            assert_eq!(outcome.report.records, records() as u64);
        })
    });

    let schema = ObjectSchema::from_json("contacts", CONTACTS.as_bytes()).unwrap();
    let plan = Plan::new(&PROPERTIES.map(String::from), &schema, &[]);
    let bodies = pages();
    let written = dir.path().join("written.parquet");
    group.bench_function(format!("parse_and_write_{k}k"), |b| {
        b.iter(|| {
            let mut table: Box<dyn Table> =
                Box::new(ParquetTable::create(&written, &plan.columns()).unwrap());
            for body in &bodies {
                let page = Page::parse(body, &plan.wanted).unwrap();
                for record in page.records {
                    let row = Row {
                        record,
                        links: Vec::new(),
                    };
                    table.push(plan.cells(row)).unwrap();
                }
            }
            table.finish().unwrap();
        })
    });

    let pipeline = config::load(
        &dir.path().join("pipeline.toml"),
        &Overrides {
            base_url: Some(unlimited.base_url()),
            ..Overrides::default()
        },
    )
    .unwrap();
    let verify_options = VerifyOptions {
        quiet: true,
        token: Some(Secret::new("bench-token")),
    };
    group.bench_function(format!("verify_{k}k_unlimited"), |b| {
        b.iter(|| {
            let outcome = runtime
                .block_on(verify(&pipeline, &verify_options))
                .unwrap();
            assert_eq!(outcome.report.matching, records() as u64);
        })
    });
    runtime.block_on(unlimited.shutdown());

    // The scaled window. The sandbox is loaded at 100 requests per second, then allowed 190: any
    // window of more than 100 is the exports'.
    let windowed = loaded_sandbox(&runtime, dir.path(), (100, 1000));
    engine::install_tls();
    runtime.block_on(async {
        let reply = reqwest::Client::new()
            .post(format!("{}/_sandbox/config", windowed.base_url()))
            .json(&json!({ "requests_per_interval": 190 }))
            .send()
            .await
            .unwrap();
        assert!(reply.status().is_success());
    });
    let paced = connection(&windowed.base_url(), (190, 1000));
    group.bench_function(format!("parquet_{k}k_190_per_s"), |b| {
        b.iter(|| {
            let outcome = runtime
                .block_on(export(&spec(&output), &paced, &options()))
                .unwrap();
            let report = &outcome.report;
            assert_eq!(report.records, records() as u64);
            let stats = runtime.block_on(async {
                reqwest::get(format!("{}/_sandbox/stats", windowed.base_url()))
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
            eprintln!(
                "parquet_{k}k_190_per_s: average over the export {:.3} of the window ({} requests \
                 in {:.2}s); busiest window {busiest}/190; {refused} answered 429",
                report.requests as f64 / report.elapsed_s / 190.0,
                report.requests,
                report.elapsed_s
            );
        })
    });
    runtime.block_on(windowed.shutdown());
    group.finish();
}

criterion_group!(benches, bench_export);
criterion_main!(benches);
