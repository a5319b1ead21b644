//! The Parquet reader: arrow record batches of 8192 rows, streamed (never the whole file), each value
//! rendered as the text HubSpot expects (exact decimals, floats without exponents, ISO dates and UTC
//! datetimes with milliseconds; null → empty). The parquet crate can panic on a malformed file: every
//! call into it is wrapped in `catch_unwind` and a panic becomes an "unreadable file" error.

use std::fmt::Write as _;
use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

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

/// Rows per record batch: large enough to amortise decoding, small enough to keep memory flat.
const BATCH_ROWS: usize = 8192;

pub(super) struct ParquetReader {
    file: PathBuf,
    batches: ParquetRecordBatchReader,
    keep: Vec<usize>,
    columns: Vec<Column>,
    /// Kept column names, for messages.
    names: Vec<String>,
    max_row_bytes: usize,
    /// Rows in the file, from its footer.
    rows: u64,
    len: usize,
    pos: usize,
    row: u64,
    /// Each kept column's text of the current row, rendered here and copied into the row's
    /// [`Fields`]: their room is reused, so a row costs no allocation per field.
    texts: Vec<String>,
}

/// One column of the current batch; dictionary keys resolved once per batch.
struct Column {
    array: ArrayRef,
    dictionary: Option<(Vec<usize>, ArrayRef)>,
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
                file: path.to_path_buf(),
                batches: built,
                keep,
                columns: Vec::new(),
                names: header,
                max_row_bytes,
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
        while self.pos >= self.len {
            let next = catch_unwind(AssertUnwindSafe(|| self.batches.next()));
            let batch = match next {
                Ok(None) => return Ok(None),
                Ok(Some(Ok(batch))) => batch,
                Ok(Some(Err(e))) => return Err(self.read_error(e.to_string())),
                Err(p) => return Err(self.read_error(panic_reason(p))),
            };
            self.load(batch);
        }
        let mut fields = std::mem::take(&mut self.texts);
        fields.resize_with(self.columns.len(), String::new);
        let mut problems = Vec::new();
        let mut size = 0;
        for ((column, name), text) in self.columns.iter().zip(&self.names).zip(&mut fields) {
            text.clear();
            let rendered = match &column.dictionary {
                Some((keys, values)) if column.array.is_valid(self.pos) => {
                    render(values.as_ref(), keys[self.pos], text)
                }
                Some(_) => Ok(()),
                None => render(column.array.as_ref(), self.pos, text),
            };
            if let Err(reason) = rendered {
                problems.push(format!("column {name:?}: {reason}"));
            }
            size += text.len();
        }
        self.pos += 1;
        self.row += 1;
        if size > self.max_row_bytes {
            // The page is read already; what matters is not to carry the row further whole.
            let mut budget = self.max_row_bytes;
            for field in &mut fields {
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
            let cut = Fields::from_iter(&fields);
            self.texts = fields;
            return Ok(Some(Err(self.rejection(
                RejectStatus::Unreadable,
                "ROW_TOO_LARGE",
                too_large(size, self.max_row_bytes),
                cut,
            ))));
        }
        let mut row = Fields::with_capacity(fields.len(), size);
        for text in &fields {
            row.push(text);
        }
        self.texts = fields;
        let fields = row;
        if !problems.is_empty() {
            return Ok(Some(Err(self.rejection(
                RejectStatus::Invalid,
                "INVALID_DATE",
                problems.join("; "),
                fields,
            ))));
        }
        Ok(Some(Ok(SourceRow {
            row: self.row,
            origin: None,
            fields,
        })))
    }

    fn load(&mut self, batch: RecordBatch) {
        self.len = batch.num_rows();
        self.pos = 0;
        self.columns = self
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
    }

    fn rejection(
        &self,
        status: RejectStatus,
        category: &str,
        reason: String,
        fields: Fields,
    ) -> Rejection {
        Rejection {
            row: self.row,
            origin: None,
            fields,
            status,
            category: category.into(),
            message: format!("row {}: {reason}", self.row),
        }
    }

    fn read_error(&self, reason: String) -> SourceError {
        SourceError::Read {
            file: self.file.clone(),
            after_row: self.row,
            reason,
        }
    }
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
