//! The Parquet reader: arrow record batches of 8192 rows, streamed (never the whole file), each value
//! rendered as the text HubSpot expects (exact decimals, floats without exponents, ISO dates and UTC
//! datetimes with milliseconds; null → empty). The parquet crate can panic on a malformed file: every
//! call into it is wrapped in `catch_unwind` and a panic becomes an "unreadable file" error.

use std::fmt::Write as _;
use std::fs::File;
use std::ops::RangeInclusive;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ::parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use ::parquet::file::metadata::ParquetMetaData;
use ::parquet::file::reader::ChunkReader;
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchReader};
use arrow_schema::{DataType, TimeUnit};
use chrono::{DateTime, NaiveDate, Utc};

use super::{CUT_MARK, SourceError, check_header, too_large};
use crate::prepare::row::{Fields, RejectStatus, Rejection, SourceRow};
use crate::prepare::thread::panic_text;
use crate::prepare::values::render_datetime;
use crate::prepare::workers::{CHUNK_BYTES, CHUNK_ROWS};

/// Rows per record batch: large enough to amortise decoding, small enough to keep memory flat.
const BATCH_ROWS: usize = 8192;

pub(super) struct ParquetReader {
    batches: ParquetRecordBatchReader,
    keep: Vec<usize>,
    shape: Arc<RowShape>,
    /// The kept columns of the current batch, shared with the slices cut from it.
    columns: Arc<Vec<Column>>,
    /// Rows in the file, from its footer.
    rows: u64,
    len: usize,
    pos: usize,
    row: u64,
    /// Each kept column's text of the current row (see [`render_row`]), reused row after row.
    texts: Vec<String>,
}

/// What turning a batch's values into a row needs beside the values.
struct RowShape {
    file: PathBuf,
    /// Kept column names, for messages.
    names: Vec<String>,
    max_row_bytes: usize,
}

/// One column of the current batch; dictionary keys resolved once per batch.
struct Column {
    array: ArrayRef,
    dictionary: Option<(Vec<usize>, ArrayRef)>,
}

/// Rows of a decoded batch, not yet rendered as text: the prepare thread decodes the file and
/// cuts its batches into slices (the columns are shared, nothing is copied), and the worker that
/// maps a slice renders its rows, as a CSV file's blocks are parsed where they are mapped.
pub struct Slice {
    shape: Arc<RowShape>,
    columns: Arc<Vec<Column>>,
    /// The slice's first row, as a position in its batch.
    start: usize,
    len: usize,
    /// Data rows before the slice.
    rows_before: u64,
}

impl Slice {
    /// The numbers of the slice's rows.
    pub fn rows(&self) -> RangeInclusive<u64> {
        self.rows_before + 1..=self.rows_before + self.len as u64
    }

    /// How many rows the slice holds.
    pub fn records(&self) -> u64 {
        self.len as u64
    }

    /// The slice's rows, rendered one at a time.
    pub fn into_rows(self) -> SliceRows {
        SliceRows {
            slice: self,
            done: 0,
            texts: Vec::new(),
        }
    }
}

/// A slice's rows as they are rendered.
pub struct SliceRows {
    slice: Slice,
    done: usize,
    texts: Vec<String>,
}

impl Iterator for SliceRows {
    type Item = Result<SourceRow, Rejection>;

    fn next(&mut self) -> Option<Self::Item> {
        let slice = &self.slice;
        if self.done == slice.len {
            return None;
        }
        let pos = slice.start + self.done;
        self.done += 1;
        let row = slice.rows_before + self.done as u64;
        Some(render_row(
            &slice.shape,
            &slice.columns,
            pos,
            row,
            &mut self.texts,
        ))
    }
}

fn panic_reason(payload: Box<dyn std::any::Any + Send>) -> String {
    let text = panic_text(&*payload);
    format!("the Parquet decoder failed ({text}); the file is malformed")
}

fn supported(dt: &DataType) -> bool {
    use DataType::*;
    match dt {
        Utf8
        | LargeUtf8
        | Utf8View
        | Binary
        | LargeBinary
        | BinaryView
        | Int8
        | Int16
        | Int32
        | Int64
        | UInt8
        | UInt16
        | UInt32
        | UInt64
        | Float16
        | Float32
        | Float64
        | Boolean
        | Date32
        | Date64
        | Timestamp(_, _)
        | Decimal128(_, _)
        | Decimal256(_, _)
        | Null => true,
        Dictionary(_, values) => supported(values),
        _ => false,
    }
}

impl ParquetReader {
    pub(super) fn open(
        path: &Path,
        max_row_bytes: usize,
    ) -> Result<(Vec<String>, ParquetReader), SourceError> {
        let file = File::open(path).map_err(|source| SourceError::Open {
            file: path.to_path_buf(),
            source,
        })?;
        ParquetReader::open_chunks(path, file, max_row_bytes, |_| ())
    }

    /// Reads the Parquet data `chunks` holds (a file, or an object read by ranges); `path` names it
    /// in messages. `plan` sees the footer once it is parsed (an object uses it to fetch whole row
    /// groups).
    pub(super) fn open_chunks<R: ChunkReader + 'static>(
        path: &Path,
        file: R,
        max_row_bytes: usize,
        plan: impl FnOnce(&ParquetMetaData),
    ) -> Result<(Vec<String>, ParquetReader), SourceError> {
        let unreadable = |reason: String| SourceError::Unreadable {
            file: path.to_path_buf(),
            reason,
        };
        let (built, rows) = catch_unwind(AssertUnwindSafe(move || {
            ParquetRecordBatchReaderBuilder::try_new(file).and_then(|b| {
                plan(b.metadata());
                let rows = b.metadata().file_metadata().num_rows();
                Ok((b.with_batch_size(BATCH_ROWS).build()?, rows))
            })
        }))
        .map_err(|p| unreadable(panic_reason(p)))?
        .map_err(|e| unreadable(e.to_string()))?;
        let schema = built.schema();
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let keep = check_header(path, &names)?;
        for &i in &keep {
            let field = schema.field(i);
            if !supported(field.data_type()) {
                return Err(SourceError::UnsupportedType {
                    file: path.to_path_buf(),
                    column: field.name().clone(),
                    data_type: field.data_type().to_string(),
                });
            }
        }
        let header: Vec<String> = keep.iter().map(|&i| names[i].clone()).collect();
        Ok((
            header.clone(),
            ParquetReader {
                batches: built,
                keep,
                shape: Arc::new(RowShape {
                    file: path.to_path_buf(),
                    names: header,
                    max_row_bytes,
                }),
                columns: Arc::new(Vec::new()),
                rows: u64::try_from(rows).unwrap_or(0),
                len: 0,
                pos: 0,
                row: 0,
                texts: Vec::new(),
            },
        ))
    }

    /// Rows in the file, as its footer says.
    pub(super) fn rows(&self) -> u64 {
        self.rows
    }

    /// The next row; `Ok(None)` at the end; `Err` when the file fails mid-way.
    pub(super) fn next_row(&mut self) -> Result<Option<Result<SourceRow, Rejection>>, SourceError> {
        if !self.decode_more()? {
            return Ok(None);
        }
        let pos = self.pos;
        self.pos += 1;
        self.row += 1;
        let row = render_row(&self.shape, &self.columns, pos, self.row, &mut self.texts);
        Ok(Some(row))
    }

    /// The next rows, up to [`CHUNK_ROWS`] and about [`CHUNK_BYTES`] of text, within one batch;
    /// `Ok(None)` at the end; `Err` when the file fails mid-way.
    pub(super) fn next_slice(&mut self) -> Result<Option<Slice>, SourceError> {
        if !self.decode_more()? {
            return Ok(None);
        }
        let (start, most) = (self.pos, (self.len - self.pos).min(CHUNK_ROWS));
        // The rows' bytes as a whole (a column's at a time), and as many rows as fit at their
        // average: no row is looked at one by one on this thread.
        let bytes: usize = self.columns.iter().map(|c| c.text_bytes(start, most)).sum();
        let len = match bytes > CHUNK_BYTES {
            true => (most * CHUNK_BYTES / bytes).max(1),
            false => most,
        };
        let slice = Slice {
            shape: Arc::clone(&self.shape),
            columns: Arc::clone(&self.columns),
            start,
            len,
            rows_before: self.row,
        };
        self.pos += len;
        self.row += len as u64;
        Ok(Some(slice))
    }

    /// Decodes the next batch once the current one is read; `false` at the end of the file.
    fn decode_more(&mut self) -> Result<bool, SourceError> {
        while self.pos >= self.len {
            let next = catch_unwind(AssertUnwindSafe(|| self.batches.next()));
            let batch = match next {
                Ok(None) => return Ok(false),
                Ok(Some(Ok(batch))) => batch,
                Ok(Some(Err(e))) => return Err(self.read_error(e.to_string())),
                Err(p) => return Err(self.read_error(panic_reason(p))),
            };
            self.load(batch);
        }
        Ok(true)
    }

    fn load(&mut self, batch: RecordBatch) {
        self.len = batch.num_rows();
        self.pos = 0;
        let columns = self
            .keep
            .iter()
            .map(|&i| {
                let array = batch.column(i).clone();
                let dictionary = array
                    .as_any_dictionary_opt()
                    .map(|d| (d.normalized_keys(), d.values().clone()));
                Column { array, dictionary }
            })
            .collect();
        self.columns = Arc::new(columns);
    }

    fn read_error(&self, reason: String) -> SourceError {
        SourceError::Read {
            file: self.shape.file.clone(),
            after_row: self.row,
            reason,
        }
    }
}

/// Row `row` of the file, at `pos` in `columns`' batch, as text; a row past the shape's bytes is
/// cut and rejected, a value that cannot be written (a date out of range) rejects it. `texts` are
/// each column's text, their room reused row after row: a row costs no allocation per field.
fn render_row(
    shape: &RowShape,
    columns: &[Column],
    pos: usize,
    row: u64,
    texts: &mut Vec<String>,
) -> Result<SourceRow, Rejection> {
    let rejection = |status, category: &str, reason: String, fields| Rejection {
        row,
        origin: None,
        fields,
        status,
        category: category.into(),
        message: format!("row {row}: {reason}"),
    };
    texts.resize_with(columns.len(), String::new);
    let mut problems = Vec::new();
    let mut size = 0;
    for ((column, name), text) in columns.iter().zip(&shape.names).zip(texts.iter_mut()) {
        text.clear();
        let rendered = match &column.dictionary {
            Some((keys, values)) if column.array.is_valid(pos) => {
                render(values.as_ref(), keys[pos], text)
            }
            Some(_) => Ok(()),
            None => render(column.array.as_ref(), pos, text),
        };
        if let Err(reason) = rendered {
            problems.push(format!("column {name:?}: {reason}"));
        }
        size += text.len();
    }
    if size > shape.max_row_bytes {
        // The page is read already; what matters is not to carry the row further whole.
        let mut budget = shape.max_row_bytes;
        for field in texts.iter_mut() {
            if field.len() > budget {
                let mut end = budget;
                while !field.is_char_boundary(end) {
                    end -= 1;
                }
                field.truncate(end);
                field.push_str(CUT_MARK);
            }
            budget = budget.saturating_sub(field.len());
        }
        let cut = Fields::from_iter(texts.iter());
        let reason = too_large(size, shape.max_row_bytes);
        return Err(rejection(
            RejectStatus::Unreadable,
            "ROW_TOO_LARGE",
            reason,
            cut,
        ));
    }
    let mut fields = Fields::with_capacity(texts.len(), size);
    for text in texts.iter() {
        fields.push(text);
    }
    if !problems.is_empty() {
        let reason = problems.join("; ");
        return Err(rejection(
            RejectStatus::Invalid,
            "INVALID_DATE",
            reason,
            fields,
        ));
    }
    Ok(SourceRow {
        row,
        origin: None,
        fields,
    })
}

impl Column {
    /// About how many bytes the `len` values from `start` take as text: strings their own length
    /// (a dictionary's at its values' average), a few bytes for a number or a date (a slice's
    /// bound on its rows' bytes, not their exact size).
    fn text_bytes(&self, start: usize, len: usize) -> usize {
        let array = match &self.dictionary {
            Some((_, values)) => values.as_ref(),
            None => self.array.as_ref(),
        };
        let (from, to) = match &self.dictionary {
            Some(_) => (0, array.len()),
            None => (start, start + len),
        };
        let bytes = match array.data_type() {
            DataType::Utf8 => spanned(array.as_string::<i32>().value_offsets(), from, to),
            DataType::LargeUtf8 => spanned(array.as_string::<i64>().value_offsets(), from, to),
            DataType::Binary => spanned(array.as_binary::<i32>().value_offsets(), from, to),
            DataType::LargeBinary => spanned(array.as_binary::<i64>().value_offsets(), from, to),
            DataType::Utf8View => {
                let view = array.as_string_view();
                (from..to).map(|i| view.value(i).len()).sum()
            }
            DataType::BinaryView => {
                let view = array.as_binary_view();
                (from..to).map(|i| view.value(i).len()).sum()
            }
            _ => 16 * (to - from),
        };
        match &self.dictionary {
            Some(_) => bytes * len / array.len().max(1),
            None => bytes,
        }
    }
}

/// The bytes of values `from..to` of an array with these offsets.
fn spanned<O: arrow_array::OffsetSizeTrait>(offsets: &[O], from: usize, to: usize) -> usize {
    (offsets[to] - offsets[from]).as_usize()
}

/// Appends the value at `i` as text; null → nothing. A date or timestamp outside what can be
/// written as a calendar date is an error (never silently an empty cell).
fn render(array: &dyn Array, i: usize, out: &mut String) -> Result<(), String> {
    if array.is_null(i) {
        return Ok(());
    }
    macro_rules! int {
        ($t:ty) => {{
            let _ = write!(out, "{}", array.as_primitive::<$t>().value(i));
        }};
    }
    match array.data_type() {
        DataType::Utf8 => out.push_str(array.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => out.push_str(array.as_string::<i64>().value(i)),
        DataType::Utf8View => out.push_str(array.as_string_view().value(i)),
        DataType::Binary => {
            out.push_str(&String::from_utf8_lossy(array.as_binary::<i32>().value(i)))
        }
        DataType::LargeBinary => {
            out.push_str(&String::from_utf8_lossy(array.as_binary::<i64>().value(i)))
        }
        DataType::BinaryView => {
            out.push_str(&String::from_utf8_lossy(array.as_binary_view().value(i)))
        }
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        // Display of floats never uses an exponent and prints the shortest round-tripping digits.
        DataType::Float16 => {
            let _ = write!(
                out,
                "{}",
                array.as_primitive::<Float16Type>().value(i).to_f32()
            );
        }
        DataType::Float32 => int!(Float32Type),
        DataType::Float64 => int!(Float64Type),
        DataType::Boolean => out.push_str(if array.as_boolean().value(i) {
            "true"
        } else {
            "false"
        }),
        DataType::Decimal128(_, scale) => {
            let v = array.as_primitive::<Decimal128Type>().value(i);
            decimal(&v.to_string(), *scale, out)
        }
        DataType::Decimal256(_, scale) => {
            let v = array.as_primitive::<Decimal256Type>().value(i);
            decimal(&v.to_string(), *scale, out)
        }
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(i);
            return date(i64::from(days).saturating_mul(86_400_000), out)
                .ok_or_else(|| format!("date {days} (days since 1970) is out of range"));
        }
        DataType::Date64 => {
            let ms = array.as_primitive::<Date64Type>().value(i);
            return date(ms, out)
                .ok_or_else(|| format!("date {ms} (ms since 1970) is out of range"));
        }
        DataType::Timestamp(unit, _) => {
            // Arrow stores instants as UTC whatever the zone annotation says.
            let t = match unit {
                TimeUnit::Second => DateTime::from_timestamp(
                    array.as_primitive::<TimestampSecondType>().value(i),
                    0,
                ),
                TimeUnit::Millisecond => DateTime::from_timestamp_millis(
                    array.as_primitive::<TimestampMillisecondType>().value(i),
                ),
                TimeUnit::Microsecond => DateTime::from_timestamp_micros(
                    array.as_primitive::<TimestampMicrosecondType>().value(i),
                ),
                TimeUnit::Nanosecond => Some(DateTime::from_timestamp_nanos(
                    array.as_primitive::<TimestampNanosecondType>().value(i),
                )),
            };
            match t {
                Some(t) => out.push_str(&render_datetime(t)),
                None => {
                    return Err(format!(
                        "timestamp {} ({unit:?} since 1970) is out of range",
                        raw_timestamp(array, unit, i)
                    ));
                }
            }
        }
        DataType::Dictionary(_, _) => {
            let d = array.as_any_dictionary();
            let key = d.normalized_keys()[i];
            return render(d.values().as_ref(), key, out);
        }
        _ => {}
    }
    Ok(())
}

/// The stored number of a timestamp, for messages.
fn raw_timestamp(array: &dyn Array, unit: &TimeUnit, i: usize) -> i64 {
    match unit {
        TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(i),
        TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().value(i),
        TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().value(i),
        TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(i),
    }
}

/// `YYYY-MM-DD` of an instant in ms; `None` when out of range.
fn date(ms: i64, out: &mut String) -> Option<()> {
    let d: NaiveDate = DateTime::<Utc>::from_timestamp_millis(ms)?.date_naive();
    let _ = write!(out, "{}", d.format("%Y-%m-%d"));
    Some(())
}

/// Renders an unscaled integer (decimal digits with an optional `-`) with `scale`, exactly.
fn decimal(unscaled: &str, scale: i8, out: &mut String) {
    let (negative, digits) = match unscaled.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, unscaled),
    };
    if negative {
        out.push('-');
    }
    if scale <= 0 {
        out.push_str(digits);
        if digits != "0" {
            out.extend(std::iter::repeat_n('0', scale.unsigned_abs() as usize));
        }
        return;
    }
    let scale = scale as usize;
    if digits.len() <= scale {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(digits);
    } else {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(v: &str, s: i8) -> String {
        let mut out = String::new();
        decimal(v, s, &mut out);
        out
    }

    #[test]
    fn decimals_render_exactly() {
        assert_eq!(dec("12345", 2), "123.45");
        assert_eq!(dec("-5", 3), "-0.005");
        assert_eq!(dec("100", 2), "1.00");
        assert_eq!(dec("7", 0), "7");
        assert_eq!(dec("7", -2), "700");
        assert_eq!(dec("0", -2), "0");
    }

    #[test]
    fn floats_have_no_exponent() {
        assert_eq!(format!("{}", 1e21f64), "1000000000000000000000");
        assert_eq!(format!("{}", 0.1f64), "0.1");
        assert_eq!(format!("{}", 0.1f32), "0.1");
        assert_eq!(format!("{}", 1e-7f64), "0.0000001");
    }
}
