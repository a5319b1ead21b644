//! The CSV reader: streaming records with memory bounded in bytes (`capped`), any of `,` `;` tab
//! `|`, quoting, quoted newlines, CRLF and a UTF-8 BOM. A ragged row or invalid UTF-8 becomes an
//! `Unreadable` rejection; a row longer than `max_row_bytes` a `ROW_TOO_LARGE` one, with its fields
//! cut at the limit.
//!
//! A dead-letter file read as a source (a replay: the header has `etl_row`) gives each row its
//! number in the original source, and a row the original source could not read — kept in the
//! dead-letter file padded with empty cells — stays unreadable until someone clears its
//! `etl_status` cell (having fixed it): padding is not a fix.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::capped::{CappedReader, Record};
use super::input::{self, Input};
use super::{CUT_MARK, DEAD_LETTER_COLUMNS, SourceError, check_header, too_large};
use crate::config::Compression;
use crate::prepare::row::{Fields, RejectStatus, Rejection, SourceRow, row_label};

/// Field ends kept beyond the header's width: enough to report a ragged row's extra fields.
const EXTRA_FIELDS: usize = 64;
/// The most columns a header may have.
const MAX_COLUMNS: usize = 16_384;

/// How a record of this file becomes a row: its columns and limits. Shared by the prepare thread,
/// which cuts the file into blocks, and the workers that parse them (`blocks`).
#[derive(Debug)]
pub(super) struct Shape {
    file: PathBuf,
    delimiter: u8,
    /// Indices of the columns kept (dead-letter columns dropped).
    keep: Vec<usize>,
    /// Kept column names, for messages.
    names: Vec<String>,
    width: usize,
    max_row_bytes: usize,
    /// A dead-letter file being replayed: where its `etl_*` columns are.
    replay: Option<Replay>,
}

/// The columns of a dead-letter file that a replay reads.
#[derive(Debug, Clone, Copy)]
struct Replay {
    row: usize,
    status: Option<usize>,
    message: Option<usize>,
}

/// The `etl_status` of a row the original source could not read.
const UNREADABLE: &str = "unreadable";

/// Opens a CSV source and reads its header: the column names kept, the reader at the first row,
/// and how its records become rows.
pub(super) fn open(
    path: &Path,
    compression: Compression,
    delimiter: u8,
    max_row_bytes: usize,
) -> Result<(Vec<String>, CappedReader<Input>, Shape), SourceError> {
    let file = input::open(path, compression).map_err(|source| SourceError::Open {
        file: path.to_path_buf(),
        source,
    })?;
    let unreadable = |reason: String| SourceError::Unreadable {
        file: path.to_path_buf(),
        reason,
    };
    // The header is read with the same bound; its width then bounds the ends kept per row (`Shape`).
    let mut reader = CappedReader::new(file, delimiter, max_row_bytes, MAX_COLUMNS);
    let mut record = Record::default();
    match reader.read(&mut record) {
        Ok(true) if record.is_cut() => {
            return Err(unreadable(format!(
                "the header row is longer than [source] max_row_bytes = {max_row_bytes}"
            )));
        }
        Ok(true) => {}
        Ok(false) => {
            return Err(SourceError::MissingHeader {
                file: path.to_path_buf(),
            });
        }
        Err(e) => return Err(unreadable(e.to_string())),
    }
    let mut names = Vec::with_capacity(record.len());
    for i in 0..record.len() {
        let name = std::str::from_utf8(record.field(i).0)
            .map_err(|_| unreadable(format!("header column {} is not valid UTF-8", i + 1)))?;
        let name = if i == 0 {
            name.trim_start_matches('\u{feff}')
        } else {
            name
        };
        names.push(name.to_string());
    }
    let keep = check_header(path, &names)?;
    let kept: Vec<String> = keep.iter().map(|&i| names[i].clone()).collect();
    if names.len() >= MAX_COLUMNS {
        return Err(unreadable(format!(
            "the header has more than {MAX_COLUMNS} columns"
        )));
    }
    let column = |name: &str| names.iter().position(|n| n == name);
    let replay = column(DEAD_LETTER_COLUMNS[0]).map(|row| Replay {
        row,
        status: column(DEAD_LETTER_COLUMNS[1]),
        message: column(DEAD_LETTER_COLUMNS[3]),
    });
    let shape = Shape {
        file: path.to_path_buf(),
        delimiter,
        width: names.len(),
        keep,
        names: kept.clone(),
        max_row_bytes,
        replay,
    };
    Ok((kept, reader, shape))
}

impl Shape {
    /// The file's name, for errors.
    pub(super) fn file(&self) -> &Path {
        &self.file
    }

    pub(super) fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// Whether the file is a dead-letter file (it has `etl_row`).
    pub(super) fn is_replay(&self) -> bool {
        self.replay.is_some()
    }

    /// A reader of this file's records from `input`, which starts at a record.
    pub(super) fn reader<R: Read>(&self, input: R) -> CappedReader<R> {
        CappedReader::new(
            input,
            self.delimiter,
            self.max_row_bytes,
            self.width + EXTRA_FIELDS,
        )
    }

    /// A reader of this file's records in `text`, which starts at a record.
    /// Parsed by `parser` (`capped::parser`, new or reset).
    pub(super) fn reader_over(
        &self,
        text: Vec<u8>,
        parser: csv_core::Reader,
    ) -> CappedReader<std::io::Empty> {
        CappedReader::over(text, parser, self.max_row_bytes, self.width + EXTRA_FIELDS)
    }

    /// The record's field `i` as text, if it has one.
    fn cell(record: &Record, i: usize) -> Option<String> {
        (i < record.len()).then(|| lossy(record.field(i).0))
    }

    /// The row's number in the original source (its `etl_row`), when replaying.
    fn origin(&self, record: &Record) -> Option<u64> {
        let replay = self.replay?;
        Shape::cell(record, replay.row)?.trim().parse().ok()
    }

    /// Data row `row` of the file, read as `record`: the row, or why it cannot be read.
    pub(super) fn row(&self, record: &Record, row: u64) -> Result<SourceRow, Rejection> {
        let line = record.line;
        if record.is_cut() {
            let fields = self
                .keep
                .iter()
                .map(|&i| cut_lossy(record.field(i)))
                .collect();
            let reason = too_large(record.size(), self.max_row_bytes);
            return Err(self.unreadable(record, row, line, "ROW_TOO_LARGE", reason, fields));
        }
        if record.len() != self.width {
            let fields = (0..record.len())
                .map(|i| lossy(record.field(i).0))
                .collect();
            let reason = format!(
                "expected {} fields (as in the header), found {}",
                self.width,
                record.len()
            );
            return Err(self.unreadable(record, row, line, "UNREADABLE_ROW", reason, fields));
        }
        if let Some(Replay {
            status: Some(status),
            message,
            ..
        }) = self.replay
            && Shape::cell(record, status).as_deref() == Some(UNREADABLE)
        {
            let fields = self
                .keep
                .iter()
                .map(|&i| lossy(record.field(i).0))
                .collect();
            let was = message
                .and_then(|m| Shape::cell(record, m))
                .map(|m| format!(" ({m})"))
                .unwrap_or_default();
            let reason = format!(
                "the original source could not read this row{was}, so the dead-letter file holds \
                 it padded with empty cells; fix its fields, then empty its etl_status cell to \
                 load it"
            );
            return Err(self.unreadable(record, row, line, "UNREADABLE_ROW", reason, fields));
        }
        let text = record.text();
        // Every column kept and every field text on its own (a character split by a delimiter
        // leaves the row's bytes valid but not the field's): its fields are the record's own
        // buffer and ends, copied in two moves instead of one per field.
        if let Some(text) = text
            && self.keep.len() == self.width
            && let Some(ends) = record.ends()
            && ends.iter().all(|&end| text.is_char_boundary(end))
        {
            return Ok(SourceRow {
                row,
                origin: self.origin(record),
                fields: Fields::from_parts(text, ends),
            });
        }
        let mut fields = Fields::with_capacity(self.keep.len(), record.size());
        for (k, &i) in self.keep.iter().enumerate() {
            // A row that is not text as a whole is checked field by field, to name the column.
            let field = match text {
                Some(text) => record.field_text(text, i),
                None => std::str::from_utf8(record.field(i).0).ok(),
            };
            match field {
                Some(s) => fields.push(s),
                None => {
                    let reason = format!("column {:?} is not valid UTF-8", self.names[k]);
                    let fields = self
                        .keep
                        .iter()
                        .map(|&i| lossy(record.field(i).0))
                        .collect();
                    return Err(self.unreadable(
                        record,
                        row,
                        line,
                        "UNREADABLE_ROW",
                        reason,
                        fields,
                    ));
                }
            }
        }
        Ok(SourceRow {
            row,
            origin: self.origin(record),
            fields,
        })
    }

    fn unreadable(
        &self,
        record: &Record,
        row: u64,
        line: u64,
        category: &str,
        reason: String,
        fields: Fields,
    ) -> Rejection {
        let origin = self.origin(record);
        let label = row_label(row, origin);
        Rejection {
            row,
            origin,
            fields,
            status: RejectStatus::Unreadable,
            category: category.into(),
            message: format!("row {label} (line {line}): {reason}"),
        }
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A field of a cut row as the dead-letter file keeps it: what was held, marked when cut.
fn cut_lossy((bytes, cut): (&[u8], bool)) -> String {
    let mut text = lossy(bytes);
    if cut {
        text.push_str(CUT_MARK);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceSpec;
    use std::io::Write;

    fn read(bytes: &[u8], delimiter: u8) -> (Vec<String>, Vec<Result<SourceRow, Rejection>>) {
        let mut file = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        file.write_all(bytes).unwrap();
        let mut spec = SourceSpec::from_flag("--source", file.path()).unwrap();
        spec.delimiter = delimiter;
        let mut source = super::super::open(&spec).unwrap();
        let rows = source.by_ref().collect();
        assert!(source.take_error().is_none());
        (source.header().to_vec(), rows)
    }

    #[test]
    fn bom_crlf_quotes_and_dead_letter_columns() {
        let (header, rows) = read(
            b"\xef\xbb\xbfEmail,Note,etl_row,etl_status,etl_category,etl_message\r\na@b.co,\"x,\r\ny\",3,invalid,INVALID_EMAIL,msg\r\n",
            b',',
        );
        assert_eq!(header, ["Email", "Note"]);
        let row = rows[0].as_ref().unwrap();
        assert_eq!(row.row, 1);
        assert_eq!(row.fields, ["a@b.co", "x,\r\ny"]);
    }

    #[test]
    fn a_dead_letter_file_keeps_original_rows_and_refuses_unfixed_unreadable_ones() {
        let (header, rows) = read(
            b"Email,etl_row,etl_status,etl_category,etl_message\n\
              a@b.co,151,invalid,INVALID_EMAIL,m\n\
              c@d.co,777,unreadable,UNREADABLE_ROW,\"row 777 (line 779): expected 2 fields, found 1\"\n\
              e@f.co,,,,\n",
            b',',
        );
        assert_eq!(header, ["Email"]);
        let first = rows[0].as_ref().unwrap();
        assert_eq!((first.row, first.origin), (1, Some(151)));
        let refused = rows[1].as_ref().unwrap_err();
        assert_eq!((refused.row, refused.origin), (2, Some(777)));
        assert_eq!(refused.status, RejectStatus::Unreadable);
        assert!(
            refused.message.starts_with(
                "row 777 (line 3): the original source could not read this row (row 777 (line 779)"
            ),
            "{}",
            refused.message
        );
        assert!(
            refused
                .message
                .ends_with("empty its etl_status cell to load it"),
            "{}",
            refused.message
        );
        let added = rows[2].as_ref().unwrap();
        assert_eq!((added.row, added.origin), (3, None), "a row added by hand");
    }

    #[test]
    fn ragged_and_invalid_utf8_rows_are_rejected_and_reading_goes_on() {
        let (_, rows) = read(b"A;B\n1;2\n3\n4;\xff\n5;6\n", b';');
        assert_eq!(rows.len(), 4);
        let r = rows[1].as_ref().unwrap_err();
        assert_eq!(r.row, 2);
        assert_eq!(r.status, RejectStatus::Unreadable);
        assert!(
            r.message.contains("expected 2 fields") && r.message.contains("found 1"),
            "{}",
            r.message
        );
        let r = rows[2].as_ref().unwrap_err();
        assert!(
            r.message.contains("column \"B\" is not valid UTF-8"),
            "{}",
            r.message
        );
        assert_eq!(r.fields, ["4", "\u{fffd}"]);
        assert_eq!(rows[3].as_ref().unwrap().row, 4);
    }
}
