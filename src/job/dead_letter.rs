//! The dead-letter file: the rows that did not make it, as CSV with the original header and values
//! (byte for byte; CSV quoting handles commas, quotes and newlines), then `etl_row`, `etl_status`,
//! `etl_category`, `etl_message`. The readers drop those four columns, so a fixed dead-letter file
//! replays through the same pipeline.
//!
//! A replay's dead letters keep each row's original number in `etl_row` (empty for a row added to
//! the replayed file), and add `etl_replay_row`, the row's number in the replayed file, which is
//! what `--resume` of the replay goes by.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, ErrorKind};
use std::path::{Path, PathBuf};

use super::row_set::RowSet;
use crate::prepare::row::Rejection;
use crate::prepare::source::{DEAD_LETTER_COLUMNS, REPLAY_ROW_COLUMN};

/// The dead-letter file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("cannot write dead-letter file {}: {source}", file.display())]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("dead-letter file {} has a different header ({found}); move it away or point [dead_letter] path elsewhere", file.display())]
    HeaderMismatch { file: PathBuf, found: String },
}

/// Writes rejections to a dead-letter CSV.
pub struct DeadLetterWriter {
    path: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
    width: usize,
    /// The source is a dead-letter file: write original row numbers, and `etl_replay_row`.
    replay: bool,
    /// Rows written since the last successful flush: not yet durable.
    unflushed: u64,
}

impl DeadLetterWriter {
    /// Creates (or truncates) the file and writes the header. `replay`: the source is itself a
    /// dead-letter file.
    pub fn create(
        path: &Path,
        header: &[String],
        delimiter: u8,
        replay: bool,
    ) -> Result<Self, DeadLetterError> {
        let file = File::create(path).map_err(|e| io(path, e))?;
        let mut writer = Self::wrap(path, file, header, delimiter, replay);
        writer.write_header(header)?;
        Ok(writer)
    }

    /// Opens the file for appending (resumed runs); writes the header only when the file is new or
    /// empty, and refuses a file whose header differs.
    pub fn append(
        path: &Path,
        header: &[String],
        delimiter: u8,
        replay: bool,
    ) -> Result<Self, DeadLetterError> {
        let existing = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if existing > 0 {
            let expected = full_header(header, replay);
            let mut reader = csv::ReaderBuilder::new()
                .delimiter(delimiter)
                .has_headers(false)
                .flexible(true)
                .from_path(path)
                .map_err(|e| io(path, e.into()))?;
            let mut found = csv::StringRecord::new();
            let _ = reader.read_record(&mut found);
            if found.iter().ne(expected.iter().map(String::as_str)) {
                return Err(DeadLetterError::HeaderMismatch {
                    file: path.to_path_buf(),
                    found: found.iter().collect::<Vec<_>>().join(","),
                });
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io(path, e))?;
        let mut writer = Self::wrap(path, file, header, delimiter, replay);
        if existing == 0 {
            writer.write_header(header)?;
        }
        Ok(writer)
    }

    fn wrap(path: &Path, file: File, header: &[String], delimiter: u8, replay: bool) -> Self {
        DeadLetterWriter {
            path: path.to_path_buf(),
            writer: csv::WriterBuilder::new()
                .delimiter(delimiter)
                .flexible(true)
                .from_writer(BufWriter::with_capacity(64 * 1024, file)),
            width: header.len(),
            replay,
            unflushed: 0,
        }
    }

    fn write_header(&mut self, header: &[String]) -> Result<(), DeadLetterError> {
        self.writer
            .write_record(full_header(header, self.replay))
            .map_err(|e| io(&self.path, e.into()))
    }

    /// Writes one rejected row. A ragged row is padded to the header's width; fields beyond it are
    /// kept in the message, so every line of the file has the same columns.
    pub fn write(&mut self, rejection: &Rejection) -> Result<(), DeadLetterError> {
        let fields = &rejection.fields;
        let mut message = rejection.message.clone();
        if fields.len() > self.width {
            message.push_str(&format!(
                " (extra fields beyond the header: {:?})",
                fields.iter().skip(self.width).collect::<Vec<_>>()
            ));
        }
        // A replay keeps the original row number (none for a row added to the replayed file).
        let (row, replay_row) = match self.replay {
            false => (rejection.row.to_string(), None),
            true => (
                rejection.origin.map(|o| o.to_string()).unwrap_or_default(),
                Some(rejection.row.to_string()),
            ),
        };
        let status = rejection.status.to_string();
        let record = fields
            .iter()
            .chain(std::iter::repeat(""))
            .take(self.width)
            .chain([
                row.as_str(),
                status.as_str(),
                rejection.category.as_str(),
                message.as_str(),
            ])
            .chain(replay_row.as_deref());
        self.unflushed += 1;
        self.writer
            .write_record(record)
            .map_err(|e| io(&self.path, e.into()))
    }

    /// Flushes to the file.
    /// Flushes to the file and syncs it to the disk: the dead-letter file is the only record of
    /// its rows, so it is as durable as the journal.
    pub fn flush(&mut self) -> Result<(), DeadLetterError> {
        self.writer.flush().map_err(|e| io(&self.path, e))?;
        match self.writer.get_ref().get_ref().sync_data() {
            Ok(()) => {}
            // Not a regular file (a pipe, /dev/stdout): nothing to sync.
            Err(e) if matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::Unsupported) => {}
            Err(e) => return Err(io(&self.path, e)),
        }
        self.unflushed = 0;
        Ok(())
    }

    /// Rows written since the last successful flush (lost if the file cannot be written).
    pub fn unflushed(&self) -> u64 {
        self.unflushed
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The rows an earlier run of a resumed job dead-lettered, from the `etl_row` column of the file
/// (`etl_replay_row` in a replay's; missing file: none). A last record cut short by a killed
/// process is removed from the file, so the row is processed again and lands in the file exactly
/// once.
pub fn rows_written(path: &Path, delimiter: u8) -> Result<RowSet, DeadLetterError> {
    let mut rows = RowSet::default();
    let mut reader = match csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_path(path)
    {
        Ok(reader) => reader,
        Err(e) if matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::NotFound) =>
        {
            return Ok(rows);
        }
        Err(e) => return Err(io(path, e.into())),
    };
    let header = reader.headers().map_err(|e| io(path, e.into()))?.clone();
    let column = |name: &str| header.iter().position(|h| h == name);
    let Some(row_column) = column(REPLAY_ROW_COLUMN).or_else(|| column(DEAD_LETTER_COLUMNS[0]))
    else {
        return Ok(rows);
    };
    let mut record = csv::StringRecord::new();
    // The last whole record is held back until we know the file ends after it with a newline.
    let mut last: Option<(u64, u64)> = None;
    let mut torn_at = None;
    loop {
        let start = reader.position().byte();
        let whole = match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => record.len() == header.len(),
            Err(_) => false,
        };
        match record.get(row_column).and_then(|r| r.parse::<u64>().ok()) {
            Some(row) if whole => {
                if let Some((_, previous)) = last.replace((start, row)) {
                    rows.insert(previous);
                }
            }
            _ => {
                torn_at = Some(start);
                break;
            }
        }
    }
    let ends_with_newline = last_byte(path)
        .map_err(|e| io(path, e))?
        .is_none_or(|b| b == b'\n');
    match last {
        Some((start, _)) if torn_at.is_none() && !ends_with_newline => torn_at = Some(start),
        Some((_, row)) => rows.insert(row),
        None => {}
    }
    if let Some(start) = torn_at {
        // A torn tail left by a killed process: cut the file back to the last whole record.
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| io(path, e))?;
        file.set_len(start).map_err(|e| io(path, e))?;
    }
    Ok(rows)
}

fn last_byte(path: &Path) -> std::io::Result<Option<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = File::open(path)?;
    if file.metadata()?.len() == 0 {
        return Ok(None);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut byte = [0u8];
    file.read_exact(&mut byte)?;
    Ok(Some(byte[0]))
}

fn full_header(header: &[String], replay: bool) -> Vec<String> {
    header
        .iter()
        .cloned()
        .chain(DEAD_LETTER_COLUMNS.iter().map(|c| c.to_string()))
        .chain(replay.then(|| REPLAY_ROW_COLUMN.to_string()))
        .collect()
}

fn io(path: &Path, source: std::io::Error) -> DeadLetterError {
    DeadLetterError::Io {
        file: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepare::row::RejectStatus;

    fn rejection(row: u64, fields: &[&str]) -> Rejection {
        Rejection {
            row,
            origin: None,
            fields: fields.iter().map(|s| s.to_string()).collect(),
            status: RejectStatus::Invalid,
            category: "INVALID_EMAIL".into(),
            message: format!("row {row}: bad"),
        }
    }

    #[test]
    fn create_then_append_keeps_one_header_and_exact_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.failed.csv");
        let header = vec!["Email".to_string(), "Note".to_string()];
        let mut w = DeadLetterWriter::create(&path, &header, b',', false).unwrap();
        w.write(&rejection(3, &["a@", "line1\nline2, \"q\""]))
            .unwrap();
        w.flush().unwrap();
        drop(w);
        let mut w = DeadLetterWriter::append(&path, &header, b',', false).unwrap();
        w.write(&rejection(9, &["short"])).unwrap();
        w.write(&rejection(10, &["a", "b", "extra"])).unwrap();
        w.flush().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.matches("etl_row").count(), 1);
        let mut r = csv::Reader::from_path(&path).unwrap();
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(&rows[0][1], "line1\nline2, \"q\"");
        assert_eq!(&rows[0][2], "3");
        assert_eq!(&rows[0][3], "invalid");
        assert_eq!(&rows[1][1], "");
        assert!(rows[2][5].contains("extra"));
        assert!(rows.iter().all(|r| r.len() == 6));
    }

    #[test]
    fn a_replay_keeps_original_rows_and_adds_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fixed.failed.csv");
        let header = vec!["Email".to_string()];
        let mut w = DeadLetterWriter::create(&path, &header, b',', true).unwrap();
        let mut replayed = rejection(3, &["still-bad"]);
        replayed.origin = Some(151);
        w.write(&replayed).unwrap();
        w.write(&rejection(4, &["added-by-hand"])).unwrap();
        w.flush().unwrap();
        drop(w);
        let mut r = csv::Reader::from_path(&path).unwrap();
        assert_eq!(
            r.headers().unwrap().iter().collect::<Vec<_>>(),
            [
                "Email",
                "etl_row",
                "etl_status",
                "etl_category",
                "etl_message",
                "etl_replay_row"
            ]
        );
        let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!((&rows[0][1], &rows[0][5]), ("151", "3"));
        assert_eq!(
            (&rows[1][1], &rows[1][5]),
            ("", "4"),
            "a new row has no original number"
        );
        // --resume of the replay goes by the rows of the replayed file.
        let rows = rows_written(&path, b',').unwrap();
        assert!(rows.contains(3) && rows.contains(4) && !rows.contains(151));
        // Appending (a resumed replay) checks the same header.
        DeadLetterWriter::append(&path, &header, b',', true).unwrap();
        assert!(DeadLetterWriter::append(&path, &header, b',', false).is_err());
    }

    #[test]
    fn append_refuses_another_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.failed.csv");
        DeadLetterWriter::create(&path, &["A".to_string()], b',', false)
            .unwrap()
            .flush()
            .unwrap();
        let err = DeadLetterWriter::append(&path, &["B".to_string()], b',', false)
            .err()
            .unwrap();
        assert!(err.to_string().contains("different header"));
    }

    #[test]
    fn rows_written_reads_etl_row_and_cuts_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("failed.csv");
        assert!(rows_written(&path, b',').unwrap().is_empty());
        let header = vec!["Email".to_string(), "Note".to_string()];
        let mut writer = DeadLetterWriter::create(&path, &header, b',', false).unwrap();
        writer
            .write(&rejection(3, &["a@x", "multi\nline"]))
            .unwrap();
        writer.write(&rejection(9, &["b@x", "plain"])).unwrap();
        writer.flush().unwrap();
        drop(writer);
        let whole = std::fs::read(&path).unwrap();
        let rows = rows_written(&path, b',').unwrap();
        assert!(rows.contains(3) && rows.contains(9) && rows.len() == 2);

        // A process killed in the middle of the last record: the record is cut away.
        std::fs::write(&path, &whole[..whole.len() - 5]).unwrap();
        let rows = rows_written(&path, b',').unwrap();
        assert!(rows.contains(3) && !rows.contains(9));
        let cut = std::fs::read(&path).unwrap();
        assert!(cut.ends_with(b"\n"));
        let mut writer = DeadLetterWriter::append(&path, &header, b',', false).unwrap();
        writer.write(&rejection(9, &["b@x", "plain"])).unwrap();
        writer.flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), whole);
    }
}
