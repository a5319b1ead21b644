//! The CPU path of the prepare stage: read → map → validate → batch → encode the JSON request
//! bodies, for a generated 10-column contacts file as CSV and as Parquet; on one core (a plain loop
//! on the bench's thread), and on all cores (the prepare thread with one worker per core, the
//! bodies encoded as the events arrive, as the dispatcher does).
//!
//! Run: `cargo bench --bench prepare` (`ETL_BENCH_PREPARE_THREADS=n`: the "all cores" pass with n
//! workers instead; `ETL_BENCH_PREPARE_ALTERNATE=40`: no criterion, 40 passes of each kind of the CSV
//! file alternating, their fastest, median and CPU time). Figures are recorded in docs/benchmarks.md.

/// The allocator the `etl` binary uses, so the figures are the ones users get.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use engine::{
    Batch, Batcher, DEFAULT_MAX_OPEN, ObjectSchema, PrepareOptions, Prepared, Preparer, TraceIds,
    config, encode, prepare, source,
};

#[path = "../tests/it/support/engine.rs"]
mod engine;
#[path = "../tests/it/support/fixtures.rs"]
mod fixtures;

const ROWS: usize = 100_000;

/// Encodes batches as `etl run` would, counting (inputs, body bytes) so nothing is optimised away.
struct Bodies<'a> {
    pipeline: &'a config::Pipeline,
    traces: TraceIds,
    body: Vec<u8>,
    inputs: u64,
    bytes: usize,
}

impl<'a> Bodies<'a> {
    fn new(pipeline: &'a config::Pipeline) -> Bodies<'a> {
        Bodies {
            pipeline,
            traces: TraceIds::new("5f3a9c01"),
            body: Vec::with_capacity(64 * 1024),
            inputs: 0,
            bytes: 0,
        }
    }

    fn encode(&mut self, batch: Batch) {
        let target = &self.pipeline.target;
        self.inputs += batch.inputs.len() as u64;
        self.body.clear();
        let id_property = target.id_property.as_deref();
        encode::write_body(
            &mut self.body,
            target.operation,
            id_property,
            &self.traces,
            &batch.inputs,
        );
        self.bytes += self.body.len();
    }
}

/// One full pass on the bench's thread; returns (inputs, rejections, body bytes).
fn pass(pipeline: &config::Pipeline, schema: &ObjectSchema) -> (u64, u64, usize) {
    let mut source = source::open(&pipeline.source).unwrap();
    let preparer = Preparer::new(pipeline, schema, source.header()).unwrap();
    let mut batcher = Batcher::new(pipeline.dispatch.batch_size, DEFAULT_MAX_OPEN);
    let mut bodies = Bodies::new(pipeline);
    let mut rejected = 0u64;
    for row in source.by_ref() {
        let Ok(row) = row else {
            rejected += 1;
            continue;
        };
        match preparer.prepare(row) {
            Ok(input) => batcher.push(input, |b| bodies.encode(b)),
            Err(_) => rejected += 1,
        }
    }
    batcher.finish(|b| bodies.encode(b));
    assert!(source.take_error().is_none());
    (bodies.inputs, rejected, bodies.bytes)
}

/// One full pass through the prepare thread and its workers, encoding each batch as it arrives;
/// returns (inputs, rejections, body bytes).
fn pass_threaded(pipeline: &config::Pipeline, schema: &ObjectSchema) -> (u64, u64, usize) {
    let handle = prepare::spawn(pipeline, schema.clone(), PrepareOptions::default()).unwrap();
    let mut events = handle.events;
    let mut bodies = Bodies::new(pipeline);
    let mut rejected = 0u64;
    while let Some(event) = events.blocking_recv() {
        match event {
            Prepared::Batch(batch) => bodies.encode(batch),
            Prepared::Rejected(_) => rejected += 1,
            Prepared::Unchanged(_) => unreachable!("no [sync] filter here"),
        }
    }
    let outcome = handle.done.blocking_recv().unwrap();
    assert!(outcome.error.is_none());
    (bodies.inputs, rejected, bodies.bytes)
}

/// The same rows as Parquet (Utf8 columns, snappy-free default encoding).
fn csv_to_parquet(csv_path: &Path, parquet_path: &Path) {
    let mut reader = csv::Reader::from_path(csv_path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let mut columns: Vec<Vec<String>> = vec![Vec::new(); header.len()];
    for record in reader.records() {
        for (c, v) in record.unwrap().iter().enumerate() {
            columns[c].push(v.to_string());
        }
    }
    let schema = Arc::new(Schema::new(
        header
            .iter()
            .map(|h| Field::new(h, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = columns
        .into_iter()
        .map(|c| Arc::new(StringArray::from(c)) as ArrayRef)
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays).unwrap();
    let file = std::fs::File::create(parquet_path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// This process's CPU time so far (user + system, all threads), in ms; Linux's `/proc` only.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
    let fields: Vec<f64> = after_name
        .split(' ')
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    // utime and stime, in clock ticks of 10 ms.
    fields
        .get(11)
        .zip(fields.get(12))
        .map_or(0.0, |(u, s)| (u + s) * 10.0)
}

/// `ETL_BENCH_PREPARE_ALTERNATE=n`: `n` one-core and `n` all-cores passes of the CSV file,
/// alternating in one process (the host's phases hit both alike), then each kind's fastest and
/// median pass and CPU time a pass: the ratio of cores measured in one run. Also `n` times two
/// one-core passes at once on two threads of their own, sharing nothing: what the machine's two
/// cores give work that needs no hand-over at all (two passes' time over that wall).
fn alternate(pipeline: &config::Pipeline, schema: &ObjectSchema, passes: usize) {
    let ms = |since: std::time::Instant| since.elapsed().as_secs_f64() * 1e3;
    let (mut one, mut all, mut cpu_one, mut cpu_all) = (Vec::new(), Vec::new(), 0.0, 0.0);
    let mut twins = Vec::new();
    for _ in 0..passes {
        let (cpu, start) = (cpu_ms(), std::time::Instant::now());
        black_box(pass(pipeline, schema));
        one.push(ms(start));
        cpu_one += cpu_ms() - cpu;
        let (cpu, start) = (cpu_ms(), std::time::Instant::now());
        black_box(pass_threaded(pipeline, schema));
        all.push(ms(start));
        cpu_all += cpu_ms() - cpu;
        let start = std::time::Instant::now();
        std::thread::scope(|scope| {
            let other = scope.spawn(|| black_box(pass(pipeline, schema)));
            black_box(pass(pipeline, schema));
            other.join().unwrap();
        });
        twins.push(ms(start));
    }
    for times in [&mut one, &mut all, &mut twins] {
        times.sort_by(f64::total_cmp);
    }
    let (n, mid) = (passes as f64, passes / 2);
    println!(
        "prepare/csv_100k_rows, {passes} alternating passes: one core min {:.1} median {:.1} ms \
         (CPU {:.1} ms a pass) | all cores min {:.1} median {:.1} ms (CPU {:.1} ms a pass) | \
         all / one: {:.2}× median, {:.2}× fastest | two one-core passes at once: median {:.1} ms, \
         the machine's ceiling {:.2}×",
        one[0],
        one[mid],
        cpu_one / n,
        all[0],
        all[mid],
        cpu_all / n,
        one[mid] / all[mid],
        one[0] / all[0],
        twins[mid],
        2.0 * one[mid] / twins[mid]
    );
}

fn bench(c: &mut Criterion) {
    // The binary's own memory settings, so the figures are the ones users get.
    engine::no_huge_pages();
    let dir = tempfile::tempdir().unwrap();
    let csv_path = dir.path().join("contacts.csv");
    fixtures::write_contacts_csv(&csv_path, ROWS);
    csv_to_parquet(&csv_path, &dir.path().join("contacts.parquet"));
    let schema = ObjectSchema::from_json("contacts", fixtures::CONTACTS.as_bytes()).unwrap();
    let mut group = c.benchmark_group("prepare");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(10);
    for file in ["contacts.csv", "contacts.parquet"] {
        let text = fixtures::Pipeline::new()
            .source(file)
            .upsert_by("email")
            .map_all(&fixtures::CONTACTS_MAPPING)
            .text();
        let mut pipeline = config::parse(&dir.path().join("p.toml"), &text).unwrap();
        let (inputs, rejected, bytes) = pass(&pipeline, &schema);
        assert_eq!(inputs + rejected, ROWS as u64);
        assert_eq!(rejected, (ROWS / 50) as u64);
        let cores = std::env::var("ETL_BENCH_PREPARE_THREADS")
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get));
        pipeline.source.prepare_threads = NonZeroUsize::new(cores);
        assert_eq!(pass_threaded(&pipeline, &schema), (inputs, rejected, bytes));
        let alternating = std::env::var("ETL_BENCH_PREPARE_ALTERNATE").ok();
        if let Some(passes) = alternating.and_then(|n| n.parse::<usize>().ok()) {
            alternate(&pipeline, &schema, passes.max(1));
            return;
        }
        let name = if file.ends_with("csv") {
            "csv_100k_rows"
        } else {
            "parquet_100k_rows"
        };
        group.bench_function(name, |b| b.iter(|| black_box(pass(&pipeline, &schema))));
        group.bench_function(format!("{name}_all_cores"), |b| {
            b.iter(|| black_box(pass_threaded(&pipeline, &schema)))
        });
        // Calibration: the reader alone (parse + one String per field), to show what the rest costs.
        let name = if file.ends_with("csv") {
            "csv_read_only"
        } else {
            "parquet_read_only"
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut source = source::open(&pipeline.source).unwrap();
                black_box(source.by_ref().filter(|r| r.is_ok()).count())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
