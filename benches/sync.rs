//! Nightly syncs (`[sync] mode = "changes"`) against an embedded sandbox on loopback, over a
//! contacts export upserted by email (1,000,000 rows; `ETL_BENCH_SYNC_ROWS` for another size):
//! - `validate_plain`: `etl validate` of the same file without `[sync]` (the bar: an unchanged
//!   re-run should take at most 1.5× this);
//! - `unchanged_rerun`: `etl run` on the export already accepted — every row looked up in the
//!   state, zero write requests (asserted from the sandbox's request counts);
//! - `one_percent_changed`: alternating between two exports that differ in 1 % of their rows, so
//!   each run sends exactly those (the write requests per run are printed and asserted).
//!
//! Printed once: the initial load, and the state's size per key.
//!
//! `cargo bench --bench sync` (`ETL_BENCH_SYNC_ALTERNATE=n`: no criterion, `n` of each of the first
//! two alternating, their fastest and median and the ratio: the bar measured in one run).

/// The allocator the `etl` binary uses, so the figures are the ones users get.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engine::{Overrides, RunOptions, Secret, config, run, validate};
use etl::sandbox::{SandboxConfig, start};
use fixtures::Pipeline;

#[path = "../tests/it/support/engine.rs"]
mod engine;
#[path = "../tests/it/support/fixtures.rs"]
mod fixtures;

/// Every `CHANGE_EVERY`-th row differs between the two exports: 1 %.
const CHANGE_EVERY: usize = 100;

fn rows() -> usize {
    std::env::var("ETL_BENCH_SYNC_ROWS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000)
}

/// A contacts export; with `changed`, every `CHANGE_EVERY`-th row has another first name.
fn write_export(path: &Path, rows: usize, changed: bool) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(out, "Email,First Name,Last Name,Phone,City").unwrap();
    for i in 0..rows {
        let first = if changed && i % CHANGE_EVERY == 0 {
            "Changed"
        } else {
            "First"
        };
        writeln!(
            out,
            "person{i}@example.com,{first}{i},Last{i},+1 555 01{:05},City {}",
            i % 100_000,
            i % 97
        )
        .unwrap();
    }
    out.flush().unwrap();
}

fn write_pipeline(path: &Path, sync: bool) {
    let mut pipeline = Pipeline::new()
        .source("export.csv")
        .upsert_by("email")
        .base_url("sandbox")
        .map_contact_columns()
        .map("phone", "Phone")
        .map("city", "City")
        .window(1_000_000, 1000)
        .concurrency(8);
    if sync {
        pipeline = pipeline
            .sync_changes(&[])
            .sync("state", "\"contacts.state\"");
    }
    std::fs::write(path, pipeline.text()).unwrap();
}

/// The sandbox's write requests so far (batch create, update, upsert, archive).
fn writes(runtime: &tokio::runtime::Runtime, base_url: &str) -> u64 {
    let stats = runtime.block_on(async {
        reqwest::get(format!("{base_url}/_sandbox/stats"))
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    });
    stats["requests"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(route, _)| route.contains("/batch/") && !route.ends_with("/batch/read"))
        .flat_map(|(_, by_status)| by_status.as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum()
}

/// `iterations` runs of `one`, which returns the time of what is measured: the run, not the
/// sandbox's counts read around it.
fn timed_runs(iterations: u64, mut one: impl FnMut() -> Duration) -> Duration {
    (0..iterations).map(|_| one()).sum()
}

/// `ETL_BENCH_SYNC_ALTERNATE=n`: `n` runs of `etl validate` and `n` unchanged re-runs,
/// alternating in one process (the host's phases hit both alike), then each one's fastest and
/// median and the re-run's ratio to validate: the bar measured in one run.
fn alternate(
    passes: usize,
    mut validate_once: impl FnMut() -> Duration,
    mut rerun_once: impl FnMut() -> Duration,
) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (mut plain, mut rerun) = (Vec::new(), Vec::new());
    for _ in 0..passes {
        plain.push(ms(validate_once()));
        rerun.push(ms(rerun_once()));
    }
    plain.sort_by(f64::total_cmp);
    rerun.sort_by(f64::total_cmp);
    let mid = passes / 2;
    println!(
        "sync, {passes} alternating passes: validate_plain min {:.0} median {:.0} ms | \
         unchanged_rerun min {:.0} median {:.0} ms | rerun / validate: {:.2}× median, {:.2}× \
         fastest",
        plain[0],
        plain[mid],
        rerun[0],
        rerun[mid],
        rerun[mid] / plain[mid],
        rerun[0] / plain[0]
    );
}

struct Fixture {
    dir: tempfile::TempDir,
    base_url: String,
}

impl Fixture {
    fn load(&self, pipeline: &str, source: &Path) -> engine::config::Pipeline {
        let overrides = Overrides {
            base_url: Some(self.base_url.clone()),
            source: Some(source.to_path_buf()),
            ..Overrides::default()
        };
        config::load(&self.dir.path().join(pipeline), &overrides).unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn options() -> RunOptions {
    RunOptions {
        quiet: true,
        token: Some(Secret::new("bench-token")),
        ..RunOptions::default()
    }
}

fn bench_sync(c: &mut Criterion) {
    // The binary's own memory settings, so the figures are the ones users get.
    engine::no_huge_pages();
    let rows = rows();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime
        .block_on(start(SandboxConfig {
            requests_per_interval: 1_000_000,
            interval: Duration::from_millis(1000),
            daily_limit: 100_000_000,
            ..SandboxConfig::default()
        }))
        .unwrap();
    let fixture = Fixture {
        dir: tempfile::tempdir().unwrap(),
        base_url: sandbox.base_url(),
    };
    let (export_a, export_b) = (fixture.path("export_a.csv"), fixture.path("export_b.csv"));
    write_export(&export_a, rows, false);
    write_export(&export_b, rows, true);
    write_pipeline(&fixture.path("sync.toml"), true);
    write_pipeline(&fixture.path("plain.toml"), false);

    // Night 1: every row is new.
    let started = Instant::now();
    let first = runtime
        .block_on(run(&fixture.load("sync.toml", &export_a), &options()))
        .unwrap();
    assert_eq!(first.report.accepted, rows as u64);
    let state_bytes = std::fs::metadata(fixture.path("contacts.state"))
        .unwrap()
        .len();
    eprintln!(
        "sync: initial load of {rows} rows in {:.1}s ({} requests); state {state_bytes} bytes = \
         {:.1} bytes per key",
        started.elapsed().as_secs_f64(),
        first.report.requests,
        state_bytes as f64 / rows as f64
    );

    let plain = fixture.load("plain.toml", &export_a);
    let validate_once = || {
        let started = Instant::now();
        let summary = runtime
            .block_on(validate(&plain, Some(Secret::new("bench-token"))))
            .unwrap();
        assert_eq!(summary.valid, rows as u64);
        started.elapsed()
    };
    let unchanged = fixture.load("sync.toml", &export_a);
    let rerun_once = || {
        let before = writes(&runtime, &fixture.base_url);
        let started = Instant::now();
        let outcome = runtime.block_on(run(&unchanged, &options())).unwrap();
        let elapsed = started.elapsed();
        assert_eq!(outcome.report.unchanged, rows as u64);
        assert_eq!(
            writes(&runtime, &fixture.base_url),
            before,
            "no write request"
        );
        elapsed
    };
    let alternating = std::env::var("ETL_BENCH_SYNC_ALTERNATE").ok();
    if let Some(passes) = alternating.and_then(|n| n.parse::<usize>().ok()) {
        alternate(passes.max(1), validate_once, rerun_once);
        return;
    }

    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function("validate_plain", |b| {
        b.iter_custom(|iterations| timed_runs(iterations, validate_once))
    });
    group.bench_function("unchanged_rerun", |b| {
        b.iter_custom(|iterations| timed_runs(iterations, rerun_once))
    });

    let exports = [
        fixture.load("sync.toml", &export_b),
        fixture.load("sync.toml", &export_a),
    ];
    let changed_rows = rows.div_ceil(CHANGE_EVERY) as u64;
    let mut night = 0;
    group.bench_function("one_percent_changed", |b| {
        b.iter_custom(|iterations| {
            timed_runs(iterations, || {
                let before = writes(&runtime, &fixture.base_url);
                let started = Instant::now();
                let outcome = runtime
                    .block_on(run(&exports[night % 2], &options()))
                    .unwrap();
                let elapsed = started.elapsed();
                night += 1;
                let sent = writes(&runtime, &fixture.base_url) - before;
                assert_eq!(outcome.report.accepted, changed_rows);
                assert_eq!(
                    sent,
                    changed_rows.div_ceil(100),
                    "only the changed rows' batches"
                );
                elapsed
            })
        })
    });
    eprintln!(
        "sync: 1 % changed ({changed_rows} rows) sends {} write requests; the initial load sent {}",
        changed_rows.div_ceil(100),
        rows.div_ceil(100)
    );
    group.finish();
    runtime.block_on(sandbox.shutdown());
}

criterion_group!(benches, bench_sync);
criterion_main!(benches);
