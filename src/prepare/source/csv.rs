//! The CSV reader: streaming `ByteRecord`s (bounded memory), any of `,` `;` tab `|`, quoting, quoted
//! newlines, CRLF and a UTF-8 BOM. A ragged row or invalid UTF-8 becomes an `Unreadable` rejection.

use std::fs::File;
use std::path::{Path, PathBuf};

use ::csv::{ByteRecord, ReaderBuilder};

use super::{SourceError, check_header};
use crate::prepare::row::{RejectStatus, Rejection, SourceRow};

pub(super) struct CsvReader {
    file: PathBuf,
    reader: ::csv::Reader<File>,
    record: ByteRecord,
    /// Indices of the columns kept (dead-letter columns dropped).
    keep: Vec<usize>,
    /// Kept column names, for messages.
    names: Vec<String>,
    width: usize,
    row: u64,
}

impl CsvReader {
    pub(super) fn open(
        path: &Path,
        delimiter: u8,
    ) -> Result<(Vec<String>, CsvReader), SourceError> {
        let file = File::open(path).map_err(|source| SourceError::Open {
            file: path.to_path_buf(),
            source,
        })?;
        let mut reader = ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(64 * 1024)
            .from_reader(file);
        let mut record = ByteRecord::new();
        let unreadable = |reason: String| SourceError::Unreadable {
            file: path.to_path_buf(),
            reason,
        };
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => {
                return Err(SourceError::MissingHeader {
                    file: path.to_path_buf(),
                });
            }
            Err(e) => return Err(unreadable(e.to_string())),
        }
        let mut names = Vec::with_capacity(record.len());
        for (i, field) in record.iter().enumerate() {
            let name = std::str::from_utf8(field)
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
        let reader = CsvReader {
            file: path.to_path_buf(),
            reader,
            record,
            width: names.len(),
            keep,
            names: kept.clone(),
            row: 0,
        };
        Ok((kept, reader))
    }

    /// The next row; `Ok(None)` at the end; `Err` when the file itself fails (I/O).
    pub(super) fn next_row(&mut self) -> Result<Option<Result<SourceRow, Rejection>>, SourceError> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) => {
                return Err(SourceError::Read {
                    file: self.file.clone(),
                    after_row: self.row,
                    reason: e.to_string(),
                });
            }
        }
        self.row += 1;
        let line = self.record.position().map_or(0, |p| p.line());
        if self.record.len() != self.width {
            return Ok(Some(Err(self.unreadable(
                line,
                format!(
                    "expected {} fields (as in the header), found {}",
                    self.width,
                    self.record.len()
                ),
                self.record.iter().map(lossy).collect(),
            ))));
        }
        let mut fields = Vec::with_capacity(self.keep.len());
        for (k, &i) in self.keep.iter().enumerate() {
            match std::str::from_utf8(&self.record[i]) {
                Ok(s) => fields.push(s.to_string()),
                Err(_) => {
                    let reason = format!("column {:?} is not valid UTF-8", self.names[k]);
                    let fields = self.keep.iter().map(|&i| lossy(&self.record[i])).collect();
                    return Ok(Some(Err(self.unreadable(line, reason, fields))));
                }
            }
        }
        Ok(Some(Ok(SourceRow {
            row: self.row,
            fields,
        })))
    }

    fn unreadable(&self, line: u64, reason: String, fields: Vec<String>) -> Rejection {
        Rejection {
            row: self.row,
            fields,
            status: RejectStatus::Unreadable,
            category: "UNREADABLE_ROW".into(),
            message: format!("row {} (line {line}): {reason}", self.row),
        }
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read(bytes: &[u8], delimiter: u8) -> (Vec<String>, Vec<Result<SourceRow, Rejection>>) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        let (header, mut reader) = CsvReader::open(file.path(), delimiter).unwrap();
        let mut rows = Vec::new();
        while let Some(row) = reader.next_row().unwrap() {
            rows.push(row);
        }
        (header, rows)
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
