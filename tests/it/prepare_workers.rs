//! Preparation on several workers gives exactly what one worker gives: the same batches in the same
//! order, the same dead letters in file order, the same counts, the same rows a `[sync]` filter sees
//! — over a file of many chunks with repeated keys, invalid and unreadable rows, and resume skips.

use std::fmt::Write as _;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use crate::support::engine::{
    BatchKey, Input, ObjectSchema, PrepareOptions, PrepareTotals, Prepared, RowFilter, Screen,
    Sorted, config, load, prepare,
};
use crate::support::fixtures::{CONTACTS, Pipeline};
use crate::support::workdir::Workdir;

/// Rows of the file: a few chunks' worth, not a multiple of the chunk.
const ROWS: usize = 5_321;

/// A contacts file whose emails repeat every 700 rows, with a bad email every 13th row, a ragged
/// row every 97th and an unknown lifecycle stage every 211th.
fn tangled_csv() -> String {
    let mut csv = String::from("Email,First,Stage\n");
    for i in 0..ROWS {
        let email = match i % 13 {
            12 => format!("user{}.example.com", i % 700),
            _ => format!("user{}@example.com", i % 700),
        };
        let stage = match i % 211 {
            210 => "Nonsense",
            _ => "lead",
        };
        match i % 97 {
            96 => writeln!(csv, "{email},First{i}").unwrap(),
            _ => writeln!(csv, "{email},First{i},{stage}").unwrap(),
        }
    }
    csv
}

fn pipeline(d: &Workdir, threads: usize) -> config::Pipeline {
    d.write("c.csv", tangled_csv());
    pipeline_of(d, "c.csv", threads)
}

/// The tangled file's pipeline, reading `source` (in `d`) on `threads` workers.
fn pipeline_of(d: &Workdir, source: &str, threads: usize) -> config::Pipeline {
    let file = d.write(
        "p.toml",
        Pipeline::new()
            .source(source)
            .upsert_by("email")
            .map("email", "Email")
            .map("firstname", "First")
            .map("lifecyclestage", "Stage")
            .batch_size(40)
            .text(),
    );
    let mut p = load(&file);
    p.source.prepare_threads = NonZeroUsize::new(threads);
    p
}

/// An input as (row, key, properties).
type Sent = (u64, Option<BatchKey>, Vec<(String, String)>);

/// Every event the prepare thread sent, rendered so two runs compare whole.
#[derive(Debug, PartialEq, Eq)]
enum Event {
    Batch(Vec<Sent>),
    /// (row, category, message).
    Rejected(u64, String, String),
    Unchanged(u64),
}

fn drain(p: &config::Pipeline, options: PrepareOptions) -> (Vec<Event>, PrepareTotals) {
    let schema = ObjectSchema::from_json("contacts", CONTACTS.as_bytes()).unwrap();
    let handle = prepare::spawn(p, schema, options).unwrap();
    let mut events = handle.events;
    let mut seen = Vec::new();
    while let Some(event) = events.blocking_recv() {
        seen.push(match event {
            Prepared::Batch(b) => Event::Batch(
                b.inputs
                    .into_iter()
                    .map(|i| {
                        let properties = i
                            .properties
                            .iter()
                            .map(|(n, v)| (n.to_string(), v.to_string()))
                            .collect();
                        (i.row, i.key, properties)
                    })
                    .collect(),
            ),
            Prepared::Rejected(r) => Event::Rejected(r.row, r.category, r.message),
            Prepared::Unchanged(n) => Event::Unchanged(n),
        });
    }
    let outcome = handle.done.blocking_recv().unwrap();
    assert!(outcome.error.is_none());
    (seen, outcome.totals)
}

fn rejected_rows(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Rejected(row, ..) => Some(*row),
            _ => None,
        })
        .collect()
}

#[test]
fn four_workers_send_what_one_worker_sends() {
    let d = Workdir::new();
    let (one, one_totals) = drain(&pipeline(&d, 1), PrepareOptions::default());
    let (four, four_totals) = drain(&pipeline(&d, 4), PrepareOptions::default());
    assert_eq!(one_totals, four_totals);
    assert_eq!(one_totals.rows_read, ROWS as u64);
    assert!(one_totals.rejected > 400, "{one_totals:?}");
    assert_eq!(one.len(), four.len());
    for (i, (a, b)) in one.iter().zip(&four).enumerate() {
        assert_eq!(a, b, "event {i} differs");
    }
    // Dead letters leave in file order; each key's rows leave in file order across batches.
    let rejected = rejected_rows(&four);
    assert!(rejected.windows(2).all(|w| w[0] < w[1]), "{rejected:?}");
    let mut last_row_of_key = std::collections::HashMap::new();
    for event in &four {
        if let Event::Batch(inputs) = event {
            for (row, key, _) in inputs {
                let before = last_row_of_key.insert(*key, *row);
                assert!(
                    before.is_none_or(|b| b < *row),
                    "key {key:?}: row {row} after {before:?}"
                );
            }
        }
    }
}

/// A `[sync]` stand-in: records the keys it is shown (hashed), in order, and finds every 5th row
/// unchanged: in `sort`, or (`screened`) on the workers, ahead of `sort`, which then never sees
/// those rows.
struct Recording {
    seen: Arc<Mutex<Vec<Option<u64>>>>,
    screened: bool,
}

fn fifth(input: &Input) -> bool {
    input.row.is_multiple_of(5)
}

impl RowFilter for Recording {
    fn sort(&mut self, input: Input) -> Sorted {
        assert!(
            !(self.screened && fifth(&input)),
            "row {} was found unchanged on a worker",
            input.row
        );
        match fifth(&input) {
            true => Sorted::Unchanged,
            false => Sorted::Send(input),
        }
    }

    fn seen(&mut self, key: Option<BatchKey>) {
        self.seen.lock().unwrap().push(key.map(|key| key.0));
    }

    fn screen(&self) -> Option<Arc<dyn Screen>> {
        self.screened
            .then(|| Arc::new(EveryFifth) as Arc<dyn Screen>)
    }
}

struct EveryFifth;

impl Screen for EveryFifth {
    fn unchanged(&self, inputs: &[&Input]) -> Vec<bool> {
        inputs.iter().map(|input| fifth(input)).collect()
    }
}

#[test]
fn a_filter_and_resume_see_the_same_rows_in_the_same_order_on_any_number_of_workers() {
    let d = Workdir::new();
    let run = |threads: usize, screened: bool| {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let options = PrepareOptions {
            // A resume that finished the first 1,500 rows and every 7th after.
            skip: Some(Box::new(|row| row <= 1_500 || row % 7 == 0)),
            filter: Some(Box::new(Recording {
                seen: Arc::clone(&seen),
                screened,
            })),
            ..PrepareOptions::default()
        };
        let (events, totals) = drain(&pipeline(&d, threads), options);
        let seen = std::mem::take(&mut *seen.lock().unwrap());
        (events, totals, seen)
    };
    let (one, one_totals, one_seen) = run(1, false);
    let (three, three_totals, three_seen) = run(3, false);
    // Unchanged rows found on the workers instead: the same events and counts, and the same keys
    // seen (a chunk's unchanged ones ahead of the rest).
    let (screened, screened_totals, mut screened_seen) = run(3, true);
    assert_eq!(screened_totals, one_totals);
    assert_eq!(screened, one);
    let mut all_seen = one_seen.clone();
    all_seen.sort();
    screened_seen.sort();
    assert_eq!(screened_seen, all_seen);
    assert_eq!(one_totals, three_totals);
    let t = &three_totals;
    assert!(t.rows_skipped > 1_500 && t.unchanged > 0, "{t:?}");
    assert_eq!(
        t.inputs + t.rejected + t.unchanged + t.rows_skipped,
        t.rows_read
    );
    assert_eq!(one_seen.len() as u64, t.rows_read - t.rows_skipped);
    assert_eq!(one_seen, three_seen);
    assert_eq!(one, three);
}

/// A filter whose screen fails on a worker for one row: a bug, not a row's fault.
struct Panicking;

impl RowFilter for Panicking {
    fn sort(&mut self, input: Input) -> Sorted {
        Sorted::Send(input)
    }

    fn seen(&mut self, _key: Option<BatchKey>) {}

    fn screen(&self) -> Option<Arc<dyn Screen>> {
        Some(Arc::new(Panicking))
    }
}

impl Screen for Panicking {
    fn unchanged(&self, inputs: &[&Input]) -> Vec<bool> {
        assert!(
            inputs.iter().all(|input| input.row != 3_000),
            "screen broke on row 3000"
        );
        vec![false; inputs.len()]
    }
}

#[test]
fn a_worker_that_panics_ends_preparing_with_its_message_and_hangs_nothing() {
    let d = Workdir::new();
    for threads in [1, 3] {
        let schema = ObjectSchema::from_json("contacts", CONTACTS.as_bytes()).unwrap();
        let options = PrepareOptions {
            filter: Some(Box::new(Panicking)),
            ..PrepareOptions::default()
        };
        let handle = prepare::spawn(&pipeline(&d, threads), schema, options).unwrap();
        let mut events = handle.events;
        let mut last_row = 0;
        while let Some(event) = events.blocking_recv() {
            if let Prepared::Batch(batch) = event {
                last_row = last_row.max(batch.inputs.iter().map(|i| i.row).max().unwrap());
            }
        }
        // The events end (the channel closes), and nothing at or past the failing row's chunk
        // was delivered as if prepared.
        assert!(
            last_row < 3_000,
            "{threads} workers: row {last_row} delivered"
        );
        let outcome = handle.done.blocking_recv().unwrap();
        let error = outcome.error.expect("a panic is an error").to_string();
        assert!(
            error.contains("panicked") && error.contains("screen broke on row 3000"),
            "{threads} workers: {error}"
        );
    }
}

/// The tangled file's rows without its ragged ones, as CSV and as Parquet (text columns).
fn tangled_twins(d: &Workdir) -> (std::path::PathBuf, std::path::PathBuf) {
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    let csv: String = tangled_csv()
        .lines()
        .filter(|line| line.matches(',').count() == 2)
        .map(|line| format!("{line}\n"))
        .collect();
    let mut columns = vec![Vec::new(), Vec::new(), Vec::new()];
    for line in csv.lines().skip(1) {
        for (column, value) in columns.iter_mut().zip(line.split(',')) {
            column.push(value.to_string());
        }
    }
    let batch = RecordBatch::try_from_iter(
        ["Email", "First", "Stage"].into_iter().zip(
            columns
                .into_iter()
                .map(|values| std::sync::Arc::new(StringArray::from(values)) as ArrayRef),
        ),
    )
    .unwrap();
    let parquet = d.path("twin.parquet");
    let file = std::fs::File::create(&parquet).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    (d.write("twin.csv", csv), parquet)
}

#[test]
fn a_parquet_file_sends_what_its_csv_twin_sends_and_resumes_alike_on_any_number_of_workers() {
    let d = Workdir::new();
    let (csv, parquet) = tangled_twins(&d);
    let run = |source: &std::path::Path, threads: usize| {
        let p = pipeline_of(&d, source.file_name().unwrap().to_str().unwrap(), threads);
        let options = PrepareOptions {
            // A resume that finished the first 1,500 rows and every 7th after.
            skip: Some(Box::new(|row| row <= 1_500 || row % 7 == 0)),
            ..PrepareOptions::default()
        };
        let (events, totals) = drain(&p, options);
        let rejected = rejected_rows(&events);
        let batches: Vec<Event> = events
            .into_iter()
            .filter(|e| matches!(e, Event::Batch(_)))
            .collect();
        (batches, rejected, totals)
    };
    let (csv_batches, csv_rejected, csv_totals) = run(&csv, 1);
    for threads in [1, 3] {
        let (batches, rejected, totals) = run(&parquet, threads);
        assert_eq!(totals, csv_totals, "{threads} workers");
        assert_eq!(rejected, csv_rejected, "{threads} workers");
        assert_eq!(batches, csv_batches, "{threads} workers");
    }
    let t = &csv_totals;
    assert!(t.rows_skipped > 1_500 && t.rejected > 0, "{t:?}");
    assert_eq!(t.inputs + t.rejected + t.rows_skipped, t.rows_read);
}
