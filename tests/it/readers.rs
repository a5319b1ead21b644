//! Readers, mapping, validation and batching on real files.

use std::path::Path;
use std::sync::Arc;

use crate::support::engine::{
    Compression, RejectStatus, Rejection, SourceError, SourceFormat, SourceRow, SourceSpec, source,
};
use crate::support::workdir::Workdir;
use arrow_array::builder::StringDictionaryBuilder;
use arrow_array::types::*;
use arrow_array::*;
use arrow_schema::{DataType, Field, Schema};

fn csv_spec(path: &Path, delimiter: u8) -> SourceSpec {
    SourceSpec {
        path: path.to_path_buf(),
        format: SourceFormat::Csv,
        compression: Compression::None,
        delimiter,
        max_row_bytes: etl::config::DEFAULT_MAX_ROW_BYTES,
        prepare_threads: None,
    }
}

fn read_all(
    spec: &SourceSpec,
) -> (
    Vec<String>,
    Vec<Result<SourceRow, Rejection>>,
    Option<SourceError>,
) {
    let mut source = source::open(spec).unwrap();
    let header = source.header().to_vec();
    let rows: Vec<_> = source.by_ref().collect();
    (header, rows, source.take_error())
}

fn ok_fields(rows: &[Result<SourceRow, Rejection>]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.as_ref().unwrap().fields.to_vec())
        .collect()
}

#[test]
fn csv_with_bom_and_crlf() {
    let d = Workdir::new();
    let p = d.write(
        "bom.csv",
        b"\xef\xbb\xbfEmail,Name\r\na@b.co,Ann\r\nc@d.co,Bob\r\n",
    );
    let (header, rows, err) = read_all(&csv_spec(&p, b','));
    assert_eq!(header, ["Email", "Name"]);
    assert_eq!(ok_fields(&rows), [["a@b.co", "Ann"], ["c@d.co", "Bob"]]);
    assert!(err.is_none());
}

#[test]
fn csv_with_bom_before_a_quoted_header() {
    let d = Workdir::new();
    let p = d.write("bomq.csv", b"\xef\xbb\xbf\"Email\",Name\na@b.co,Ann\n");
    let (header, _, _) = read_all(&csv_spec(&p, b','));
    assert_eq!(header, ["Email", "Name"]);
}

#[test]
fn csv_delimiters() {
    let d = Workdir::new();
    for (name, delim) in [("semi.csv", b';'), ("tab.tsv", b'\t'), ("pipe.csv", b'|')] {
        let sep = delim as char;
        let p = d.write(name, format!("A{sep}B\n1{sep}\"x{sep}y\"\n"));
        let (header, rows, _) = read_all(&csv_spec(&p, delim));
        assert_eq!(header, ["A", "B"], "{name}");
        assert_eq!(
            ok_fields(&rows),
            [["1".to_string(), format!("x{sep}y")]],
            "{name}"
        );
    }
}

#[test]
fn csv_quoted_newlines_keep_row_numbers() {
    let d = Workdir::new();
    let p = d.write(
        "q.csv",
        "A,B\n1,\"line one\nline two\"\n2,\"say \"\"hi\"\"\"\n3,x\n",
    );
    let (_, rows, _) = read_all(&csv_spec(&p, b','));
    let rows: Vec<SourceRow> = rows.into_iter().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[0].fields[1], "line one\nline two");
    assert_eq!(&rows[1].fields[1], "say \"hi\"");
    assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [1, 2, 3]);
}

#[test]
fn csv_ragged_rows_are_rejected_with_counts_and_reading_goes_on() {
    let d = Workdir::new();
    let p = d.write("r.csv", "A,B,C\n1,2,3\n4,5\n6,7,8,9\n10,11,12\n");
    let (_, rows, err) = read_all(&csv_spec(&p, b','));
    assert!(err.is_none());
    assert_eq!(rows.len(), 4);
    let short = rows[1].as_ref().unwrap_err();
    assert_eq!((short.row, short.status), (2, RejectStatus::Unreadable));
    assert!(
        short
            .message
            .contains("row 2 (line 3): expected 3 fields (as in the header), found 2"),
        "{}",
        short.message
    );
    assert_eq!(short.fields, ["4", "5"]);
    let long = rows[2].as_ref().unwrap_err();
    assert!(long.message.contains("found 4"), "{}", long.message);
    assert_eq!(rows[3].as_ref().unwrap().row, 4);
}

#[test]
fn csv_invalid_utf8_is_rejected_lossily() {
    let d = Workdir::new();
    let p = d.write("u.csv", b"A,B\n1,caf\xe9\n2,ok\n");
    let (_, rows, _) = read_all(&csv_spec(&p, b','));
    let r = rows[0].as_ref().unwrap_err();
    assert_eq!(r.status, RejectStatus::Unreadable);
    assert!(
        r.message.contains("column \"B\" is not valid UTF-8"),
        "{}",
        r.message
    );
    assert_eq!(r.fields, ["1", "caf\u{fffd}"]);
    assert!(rows[1].is_ok());
}

#[test]
fn csv_character_split_by_a_delimiter_is_not_text_though_the_row_joined_would_be() {
    // The row's fields together are checked at once: "x\xc3" + "\xa9y" joins into valid "xéy",
    // yet neither field is text alone.
    let d = Workdir::new();
    let p = d.write("s.csv", b"A,B\nx\xc3,\xa9y\n\xc3\xa9,\xc3\xa9\n");
    let (_, rows, _) = read_all(&csv_spec(&p, b','));
    let r = rows[0].as_ref().unwrap_err();
    assert_eq!(r.status, RejectStatus::Unreadable);
    assert!(
        r.message.contains("column \"A\" is not valid UTF-8"),
        "{}",
        r.message
    );
    assert_eq!(rows[1].as_ref().unwrap().fields, ["é", "é"]);
}

#[test]
fn csv_header_problems_are_fatal_and_name_the_file() {
    let d = Workdir::new();
    let empty = d.write("empty.csv", "");
    let e = source::open(&csv_spec(&empty, b','))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("no header row") && e.contains("empty.csv"),
        "{e}"
    );
    let dup = d.write("dup.csv", "A,B,A\n1,2,3\n");
    let e = source::open(&csv_spec(&dup, b','))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("names column \"A\" twice") && e.contains("dup.csv"),
        "{e}"
    );
    let blank = d.write("blank.csv", "A,,C\n1,2,3\n");
    let e = source::open(&csv_spec(&blank, b','))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("empty name"), "{e}");
}

#[test]
fn unreadable_files_are_fatal() {
    let d = Workdir::new();
    let missing = d.path("nope.csv");
    let e = source::open(&csv_spec(&missing, b','))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("cannot open source file") && e.contains("nope.csv"),
        "{e}"
    );
    // A directory opens on Linux but cannot be read.
    let e = source::open(&csv_spec(d.dir(), b','))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains(&d.dir().display().to_string()), "{e}");
}

#[test]
fn csv_dead_letter_columns_are_dropped() {
    let d = Workdir::new();
    let p = d.write("f.csv", "Email,etl_row,etl_status,etl_category,etl_message\na@b.co,3,invalid,INVALID_EMAIL,\"row 3: x\"\n");
    let (header, rows, _) = read_all(&csv_spec(&p, b','));
    assert_eq!(header, ["Email"]);
    assert_eq!(ok_fields(&rows), [["a@b.co"]]);
}

// ----------------------------------------------------------------------------------------------
// Parquet

type I256 = <Decimal256Type as ArrowPrimitiveType>::Native;

/// A record batch with every supported type; row 1 holds values, row 2 nulls, row 3 edge values.
fn every_type() -> RecordBatch {
    let mut dict = StringDictionaryBuilder::<Int32Type>::new();
    dict.append_value("gold");
    dict.append_null();
    dict.append_value("gold");
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "utf8",
            Arc::new(StringArray::from(vec![Some("héllo"), None, Some("")])),
        ),
        (
            "large_utf8",
            Arc::new(LargeStringArray::from(vec![Some("big"), None, Some("x")])),
        ),
        (
            "utf8_view",
            Arc::new(StringViewArray::from(vec![
                Some("a view string longer than twelve"),
                None,
                Some("v"),
            ])),
        ),
        (
            "i8",
            Arc::new(Int8Array::from(vec![Some(-8), None, Some(i8::MIN)])),
        ),
        (
            "i16",
            Arc::new(Int16Array::from(vec![Some(-16), None, Some(i16::MAX)])),
        ),
        (
            "i32",
            Arc::new(Int32Array::from(vec![Some(32), None, Some(i32::MIN)])),
        ),
        (
            "i64",
            Arc::new(Int64Array::from(vec![Some(64), None, Some(i64::MAX)])),
        ),
        (
            "u8",
            Arc::new(UInt8Array::from(vec![Some(8), None, Some(u8::MAX)])),
        ),
        (
            "u16",
            Arc::new(UInt16Array::from(vec![Some(16), None, Some(u16::MAX)])),
        ),
        (
            "u32",
            Arc::new(UInt32Array::from(vec![Some(32), None, Some(u32::MAX)])),
        ),
        (
            "u64",
            Arc::new(UInt64Array::from(vec![Some(64), None, Some(u64::MAX)])),
        ),
        (
            "f32",
            Arc::new(Float32Array::from(vec![Some(0.1), None, Some(1.5e10)])),
        ),
        (
            "f64",
            Arc::new(Float64Array::from(vec![Some(0.1), None, Some(1e21)])),
        ),
        (
            "dec128",
            Arc::new(
                Decimal128Array::from(vec![Some(123456), None, Some(-5)])
                    .with_precision_and_scale(20, 3)
                    .unwrap(),
            ),
        ),
        (
            "dec256",
            Arc::new(
                Decimal256Array::from(vec![
                    Some(I256::from_i128(-123456)),
                    None,
                    Some(I256::from_i128(10i128.pow(30))),
                ])
                .with_precision_and_scale(50, 2)
                .unwrap(),
            ),
        ),
        (
            "bool",
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        ),
        (
            "date32",
            Arc::new(Date32Array::from(vec![Some(19753), None, Some(-1)])),
        ),
        (
            "date64",
            Arc::new(Date64Array::from(vec![
                Some(1_706_659_200_000),
                None,
                Some(0),
            ])),
        ),
        (
            "ts_s",
            Arc::new(TimestampSecondArray::from(vec![
                Some(1_706_693_400),
                None,
                Some(0),
            ])),
        ),
        (
            "ts_ms_tz",
            Arc::new(
                TimestampMillisecondArray::from(vec![Some(1_706_693_400_123), None, Some(-1)])
                    .with_timezone("+02:00"),
            ),
        ),
        (
            "ts_us",
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(1_706_693_400_123_456),
                None,
                Some(0),
            ])),
        ),
        (
            "ts_ns_tz",
            Arc::new(
                TimestampNanosecondArray::from(vec![
                    Some(1_706_693_400_999_999_999),
                    None,
                    Some(0),
                ])
                .with_timezone("UTC"),
            ),
        ),
        ("dict", Arc::new(dict.finish())),
    ];
    let schema = Schema::new(
        columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(
        Arc::new(schema),
        columns.into_iter().map(|(_, a)| a).collect(),
    )
    .unwrap()
}

fn write_parquet(path: &Path, batches: &[RecordBatch]) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batches[0].schema(), None).unwrap();
    for b in batches {
        writer.write(b).unwrap();
    }
    writer.close().unwrap();
}

fn parquet_spec(path: &Path) -> SourceSpec {
    SourceSpec {
        path: path.to_path_buf(),
        format: SourceFormat::Parquet,
        compression: Compression::None,
        delimiter: b',',
        max_row_bytes: etl::config::DEFAULT_MAX_ROW_BYTES,
        prepare_threads: None,
    }
}

#[test]
fn parquet_renders_every_type() {
    let d = Workdir::new();
    let p = d.path("all.parquet");
    write_parquet(&p, &[every_type()]);
    let (header, rows, err) = read_all(&parquet_spec(&p));
    assert!(err.is_none());
    assert_eq!(header.len(), 23);
    let rows: Vec<SourceRow> = rows.into_iter().map(Result::unwrap).collect();
    let get = |row: usize, col: &str| {
        rows[row].fields[header.iter().position(|h| h == col).unwrap()].to_string()
    };
    let expect = [
        ("utf8", "héllo", ""),
        ("large_utf8", "big", "x"),
        ("utf8_view", "a view string longer than twelve", "v"),
        ("i8", "-8", "-128"),
        ("i16", "-16", "32767"),
        ("i32", "32", "-2147483648"),
        ("i64", "64", "9223372036854775807"),
        ("u8", "8", "255"),
        ("u16", "16", "65535"),
        ("u32", "32", "4294967295"),
        ("u64", "64", "18446744073709551615"),
        ("f32", "0.1", "15000000000"),
        ("f64", "0.1", "1000000000000000000000"),
        ("dec128", "123.456", "-0.005"),
        ("dec256", "-1234.56", "10000000000000000000000000000.00"),
        ("bool", "true", "false"),
        ("date32", "2024-01-31", "1969-12-31"),
        ("date64", "2024-01-31", "1970-01-01"),
        (
            "ts_s",
            "2024-01-31T09:30:00.000Z",
            "1970-01-01T00:00:00.000Z",
        ),
        (
            "ts_ms_tz",
            "2024-01-31T09:30:00.123Z",
            "1969-12-31T23:59:59.999Z",
        ),
        (
            "ts_us",
            "2024-01-31T09:30:00.123Z",
            "1970-01-01T00:00:00.000Z",
        ),
        (
            "ts_ns_tz",
            "2024-01-31T09:30:00.999Z",
            "1970-01-01T00:00:00.000Z",
        ),
        ("dict", "gold", "gold"),
    ];
    for (col, first, third) in expect {
        assert_eq!(get(0, col), first, "{col} row 1");
        assert_eq!(get(1, col), "", "{col} null");
        assert_eq!(get(2, col), third, "{col} row 3");
    }
    assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [1, 2, 3]);
}

#[test]
fn parquet_streams_many_batches_with_row_numbers() {
    let d = Workdir::new();
    let p = d.path("many.parquet");
    let n = 20_000;
    let ids: Vec<i64> = (0..n).collect();
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(ids))]).unwrap();
    write_parquet(&p, &[batch]);
    let mut source = source::open(&parquet_spec(&p)).unwrap();
    let mut count = 0u64;
    for row in source.by_ref() {
        let row = row.unwrap();
        assert_eq!(&row.fields[0], (row.row - 1).to_string());
        count += 1;
    }
    assert_eq!(count, n as u64);
    assert!(source.take_error().is_none());
}

#[test]
fn parquet_garbage_is_an_unreadable_file() {
    let d = Workdir::new();
    let p = d.write(
        "garbage.parquet",
        b"PAR1 this is not really parquet at all PAR1",
    );
    let e = source::open(&parquet_spec(&p)).err().unwrap().to_string();
    assert!(
        e.contains("unreadable source file") && e.contains("garbage.parquet"),
        "{e}"
    );
    let p = d.write("empty.parquet", b"");
    assert!(source::open(&parquet_spec(&p)).is_err());
}

#[test]
fn parquet_corrupt_pages_never_panic_out() {
    let d = Workdir::new();
    let p = d.path("good.parquet");
    write_parquet(&p, &[every_type()]);
    let good = std::fs::read(&p).unwrap();
    // Corrupt a different stretch of the body each time: every outcome must be an error value or
    // rows, never a panic escaping the reader.
    for start in (8..good.len().saturating_sub(64)).step_by(97) {
        let mut bad = good.clone();
        for b in &mut bad[start..start + 24] {
            *b = b.wrapping_mul(31).wrapping_add(7);
        }
        let path = d.write("bad.parquet", &bad);
        let result = std::panic::catch_unwind(|| match source::open(&parquet_spec(&path)) {
            Err(e) => e.to_string(),
            Ok(mut s) => {
                let n = s.by_ref().count();
                match s.take_error() {
                    Some(e) => e.to_string(),
                    None => format!("{n} rows"),
                }
            }
        });
        let text =
            result.unwrap_or_else(|_| panic!("reader panicked on corruption at byte {start}"));
        assert!(!text.is_empty());
    }
}

#[test]
fn parquet_unsupported_column_type_is_named() {
    let d = Workdir::new();
    let p = d.path("list.parquet");
    let list = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1)])]);
    let schema = Arc::new(Schema::new(vec![Field::new(
        "tags",
        list.data_type().clone(),
        true,
    )]));
    let batch = RecordBatch::try_new(schema, vec![Arc::new(list)]).unwrap();
    write_parquet(&p, &[batch]);
    let e = source::open(&parquet_spec(&p)).err().unwrap().to_string();
    assert!(e.contains("column \"tags\"") && e.contains("List"), "{e}");
}

#[test]
fn parquet_timestamps_out_of_range_are_dead_lettered_not_emptied() {
    let d = Workdir::new();
    let p = d.path("times.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("Email", DataType::Utf8, false),
        Field::new(
            "Seen",
            DataType::Timestamp(arrow_schema::TimeUnit::Second, None),
            true,
        ),
        Field::new("Born", DataType::Date32, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec!["a@x.io", "b@x.io", "c@x.io"])),
            Arc::new(TimestampSecondArray::from(vec![
                Some(1_706_693_400),
                Some(i64::MAX),
                None,
            ])),
            Arc::new(Date32Array::from(vec![
                Some(19_000),
                Some(0),
                Some(i32::MAX),
            ])),
        ],
    )
    .unwrap();
    write_parquet(&p, &[batch]);
    let (_, rows, err) = read_all(&parquet_spec(&p));
    assert!(err.is_none());
    assert_eq!(
        rows[0].as_ref().unwrap().fields,
        ["a@x.io", "2024-01-31T09:30:00.000Z", "2022-01-08"]
    );
    let seen = rows[1].as_ref().unwrap_err();
    assert_eq!((seen.row, seen.category.as_str()), (2, "INVALID_DATE"));
    assert!(
        seen.message.contains("column \"Seen\"") && seen.message.contains("out of range"),
        "{}",
        seen.message
    );
    assert_eq!(&seen.fields[0], "b@x.io");
    let born = rows[2].as_ref().unwrap_err();
    assert!(born.message.contains("column \"Born\""), "{}", born.message);
}

#[test]
fn a_row_longer_than_max_row_bytes_is_rejected_with_its_fields_cut() {
    let d = Workdir::new();
    let long = "x".repeat(5000);
    let p = d.write("long.csv", format!("A,B,C\n1,2,3\nok,{long},tail\n4,5,6\n"));
    let spec = SourceSpec {
        max_row_bytes: 1024,
        ..csv_spec(&p, b',')
    };
    let (_, rows, err) = read_all(&spec);
    assert!(err.is_none());
    assert_eq!(rows.len(), 3);
    let cut = rows[1].as_ref().unwrap_err();
    assert_eq!(
        (cut.row, cut.status, cut.category.as_str()),
        (2, RejectStatus::Unreadable, "ROW_TOO_LARGE")
    );
    assert!(cut.message.contains("5006 bytes"), "{}", cut.message);
    assert_eq!(&cut.fields[0], "ok");
    assert_eq!(cut.fields[1].len(), 1024 - 2 + "…[cut]".len());
    assert_eq!(&cut.fields[2], "…[cut]");
    assert_eq!(ok_fields(&rows[2..]), [["4", "5", "6"]]);
}

#[test]
fn parquet_slices_for_the_workers_hold_the_rows_read_one_by_one() {
    use etl::prepare::source::Piece;
    use etl::prepare::workers::{CHUNK_BYTES, CHUNK_ROWS};
    let d = Workdir::new();
    let p = d.path("slices.parquet");
    // 20,000 rows over three 8,192-row batches: a note that grows to ≈ 2 KB (slices end at their
    // bytes, not only at their rows), an out-of-range timestamp every 997th row (a rejection),
    // a dictionary column with nulls.
    let n = 20_000usize;
    let notes: Vec<String> = (0..n).map(|i| "n".repeat(i / 10)).collect();
    let seen: Vec<Option<i64>> = (0..n)
        .map(|i| match i % 997 {
            0 => Some(i64::MAX),
            _ => Some(1_706_693_400 + i as i64),
        })
        .collect();
    let mut stage = StringDictionaryBuilder::<Int32Type>::new();
    for i in 0..n {
        match i % 7 {
            0 => stage.append_null(),
            k => stage.append_value(format!("stage{k}")),
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("Email", DataType::Utf8, false),
        Field::new("Note", DataType::Utf8, false),
        Field::new(
            "Seen",
            DataType::Timestamp(arrow_schema::TimeUnit::Second, None),
            true,
        ),
        Field::new_dictionary("Stage", DataType::Int32, DataType::Utf8, true),
    ]));
    let emails: Vec<String> = (0..n).map(|i| format!("user{i}@example.com")).collect();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(emails)),
            Arc::new(StringArray::from(notes)),
            Arc::new(TimestampSecondArray::from(seen)),
            Arc::new(stage.finish()),
        ],
    )
    .unwrap();
    write_parquet(&p, &[batch]);

    let (_, one_by_one, err) = read_all(&parquet_spec(&p));
    assert!(err.is_none());
    assert_eq!(one_by_one.len(), n);
    let mut source = source::open(&parquet_spec(&p)).unwrap();
    let (mut sliced, mut sizes) = (Vec::new(), Vec::new());
    while let Some(piece) = source.next_piece() {
        let Piece::Slice(slice) = piece else {
            panic!("a Parquet file comes in slices");
        };
        assert_eq!(*slice.rows().start(), sliced.len() as u64 + 1);
        sizes.push(slice.records() as usize);
        sliced.extend(slice.into_rows());
    }
    assert!(source.take_error().is_none());
    assert_eq!(sliced, one_by_one, "the same rows, numbers and rejections");
    let rejected: Vec<u64> = sliced
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|r| r.row)
        .collect();
    assert_eq!(rejected.len(), n.div_ceil(997));
    assert!(sizes.iter().all(|&s| (1..=CHUNK_ROWS).contains(&s)));
    assert_eq!(sizes[0], CHUNK_ROWS, "short rows: a slice of the most rows");
    // Where a row holds ≈ 2 KB, a slice holds about CHUNK_BYTES of them (the file's last slice
    // may end with its batch instead).
    let wide = sizes[sizes.len() - 2];
    assert!(
        wide < CHUNK_BYTES / 1_500 && wide > CHUNK_BYTES / 2_200,
        "{wide} rows of ≈ 2 KB ({sizes:?})"
    );
}
