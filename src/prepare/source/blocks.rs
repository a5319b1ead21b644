//! A CSV file read a block at a time: the prepare thread reads the bytes and cuts them between
//! records (`split`, at memchr's speed), counting each block's records and lines, and a worker
//! parses the block into rows (`csv_core`, the costliest part of reading), numbered as if the file
//! had been read in one go. Rows, row numbers, line numbers and rejections are the same as a
//! reading of the whole file by one parser, whatever the cuts.
//!
//! A record too long to hold (more than [`LONG_RECORD`] bytes of the file, with no end in sight)
//! is read here, on its own, by the capped reader: its memory stays bounded by `max_row_bytes`.

use std::cell::Cell;
use std::io::{Cursor, Read};
use std::ops::RangeInclusive;
use std::path::Path;
use std::sync::Arc;

use super::SourceError;
use super::capped::{self, CappedReader, Record};
use super::csv::{self, Shape};
use super::input::Input;
use super::split::{Cut, Scanner};
use crate::config::Compression;
use crate::prepare::row::{Rejection, SourceRow};
use crate::prepare::workers::{CHUNK_BYTES, CHUNK_ROWS};

/// Bytes read from the file at a time.
const READ: usize = 64 * 1024;

/// A record whose end is not within this many bytes of its start is read on its own, capped.
const LONG_RECORD: usize = 1 << 20;

thread_local! {
    /// The thread's last parser, with the delimiter it was made for, and its record buffers: reset
    /// for the next block, as making them (the parser's tables, the zeroed buffers) costs about
    /// as much as parsing a few rows. (`csv_core`'s own clone of a parser does not copy all of its
    /// tables.)
    static PARSER: Cell<Option<(u8, csv_core::Reader, Record)>> = const { Cell::new(None) };
}

/// What reading hands on next.
pub enum Piece {
    /// Whole records, to parse where they are prepared.
    Block(Block),
    /// Rows of a Parquet file's decoded batch, to render where they are prepared.
    Slice(super::parquet::Slice),
    /// A row read on its own: a record too long to hold whole.
    Row(Result<SourceRow, Rejection>),
}

/// Whole records of a CSV file, as bytes, and where they are in it.
pub struct Block {
    text: Vec<u8>,
    /// Data rows before the block.
    rows_before: u64,
    /// The line the block starts on.
    line: u64,
    /// Records in the block (blank lines are none).
    records: u64,
    shape: Arc<Shape>,
}

impl Block {
    /// The numbers of the block's rows.
    pub fn rows(&self) -> RangeInclusive<u64> {
        self.rows_before + 1..=self.rows_before + self.records
    }

    /// How many rows the block holds.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The block's rows, parsed one at a time.
    pub fn into_rows(self) -> BlockRows {
        let delimiter = self.shape.delimiter();
        let (parser, record) = PARSER
            .try_with(Cell::take)
            .ok()
            .flatten()
            .filter(|(made_for, ..)| *made_for == delimiter)
            .map_or_else(
                || (capped::parser(delimiter), Record::default()),
                |(_, parser, record)| (parser, record),
            );
        let mut reader = self.shape.reader_over(self.text, parser);
        reader.set_line(self.line);
        BlockRows {
            reader: Some(reader),
            record,
            row: self.rows_before,
            last: self.rows_before + self.records,
            line: self.line,
            shape: self.shape,
        }
    }
}

/// A block's rows as they are parsed.
pub struct BlockRows {
    /// `None` once given back (see `Drop`).
    reader: Option<CappedReader<std::io::Empty>>,
    record: Record,
    /// The number of the last row read.
    row: u64,
    /// The number of the block's last row.
    last: u64,
    line: u64,
    shape: Arc<Shape>,
}

impl Iterator for BlockRows {
    type Item = Result<SourceRow, Rejection>;

    /// # Panics
    /// At the end, if the parser found another number of records than the cut counted: a bug of
    /// the cut, which would renumber rows (it is checked against the parser in `split`'s tests).
    fn next(&mut self) -> Option<Self::Item> {
        let reader = self.reader.as_mut()?;
        // Reading from memory cannot fail.
        if !reader.read(&mut self.record).unwrap_or(false) {
            assert_eq!(
                self.row,
                self.last,
                "{}: the block from line {} was cut where the CSV parser finds another number of \
                 records",
                self.shape.file().display(),
                self.line,
            );
            return None;
        }
        self.row += 1;
        Some(self.shape.row(&self.record, self.row))
    }
}

/// The parser and the record's buffers go back to the thread, for its next block.
impl Drop for BlockRows {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.take() {
            let mut parser = reader.into_parser();
            parser.reset();
            let record = std::mem::take(&mut self.record);
            let kept = Some((self.shape.delimiter(), parser, record));
            // Not kept if the thread is already tearing its locals down.
            let _ = PARSER.try_with(|cell| cell.set(kept));
        }
    }
}

/// Opens a CSV source and reads its header: the column names kept, and the rows after it.
pub(super) fn open(
    path: &Path,
    compression: Compression,
    delimiter: u8,
    max_row_bytes: usize,
) -> Result<(Vec<String>, Blocks), SourceError> {
    let (header, reader, shape) = csv::open(path, compression, delimiter, max_row_bytes)?;
    Ok((header, Blocks::new(reader, shape)))
}

/// A scan for the cuts of blocks of at most [`CHUNK_ROWS`] records and [`CHUNK_BYTES`] bytes.
fn block_scanner(shape: &Shape) -> Scanner {
    Scanner::new(shape.delimiter(), CHUNK_ROWS as u64, CHUNK_BYTES)
}

/// The rows of a CSV file after its header, as blocks.
pub(super) struct Blocks {
    input: Input,
    shape: Arc<Shape>,
    /// Bytes read and not handed on; they start at a record.
    pending: Vec<u8>,
    scanner: Scanner,
    eof: bool,
    /// A read failed: reported once the whole records read before it are handed on.
    failed: Option<std::io::Error>,
    /// Rows handed on.
    rows: u64,
    /// The line `pending` starts on.
    line: u64,
    /// Bytes of the file handed on (the header's too).
    consumed: u64,
}

impl Blocks {
    /// The rows after the header `header` has read.
    pub(super) fn new(header: CappedReader<Input>, shape: Shape) -> Blocks {
        let consumed = header.consumed();
        let line = header.line();
        let (input, pending, eof) = header.into_rest();
        let mut scanner = block_scanner(&shape);
        scanner.scan(&pending, eof);
        Blocks {
            input,
            shape: Arc::new(shape),
            pending,
            scanner,
            eof,
            failed: None,
            rows: 0,
            line,
            consumed,
        }
    }

    pub(super) fn shape(&self) -> &Shape {
        &self.shape
    }

    /// Bytes of the file handed on so far.
    pub(super) fn consumed(&self) -> u64 {
        self.consumed
    }

    /// The next block (at most [`CHUNK_ROWS`] records, and [`CHUNK_BYTES`] of the file unless a
    /// record is longer) or long row; `Ok(None)` at the end; `Err` when the file fails (after the
    /// whole records before the failure were handed on).
    pub(super) fn next(&mut self) -> Result<Option<Piece>, SourceError> {
        loop {
            if self.eof && self.pending.is_empty() {
                return Ok(None);
            }
            // A record whose end is not in sight past the last cut: the records before it go now.
            let long =
                self.pending.len() - self.scanner.cut().map_or(0, |cut| cut.at) >= LONG_RECORD;
            if let Some(cut) = self.scanner.cut()
                && (self.scanner.full() || self.eof || self.failed.is_some() || long)
            {
                return Ok(Some(Piece::Block(self.take(cut))));
            }
            if let Some(failure) = self.failed.take() {
                // What is left is the start of a record the failure cut off.
                self.pending.clear();
                self.eof = true;
                return Err(self.error(failure));
            }
            if long {
                match self.long_row()? {
                    Some(row) => return Ok(Some(Piece::Row(row))),
                    None => continue,
                }
            }
            self.read_more();
        }
    }

    /// Hands on the records before `cut`.
    fn take(&mut self, cut: Cut) -> Block {
        let mut rest = Vec::with_capacity(2 * CHUNK_BYTES + READ);
        rest.extend_from_slice(&self.pending[cut.at..]);
        let mut text = std::mem::replace(&mut self.pending, rest);
        text.truncate(cut.at);
        self.scanner.restart(cut);
        self.scanner.scan(&self.pending, self.eof);
        let block = Block {
            text,
            rows_before: self.rows,
            line: self.line,
            records: cut.records,
            shape: Arc::clone(&self.shape),
        };
        self.rows += cut.records;
        self.line += cut.lines;
        self.consumed += cut.at as u64;
        block
    }

    /// Reads on, and scans what was read.
    fn read_more(&mut self) {
        let len = self.pending.len();
        self.pending.resize(len + READ, 0);
        loop {
            match self.input.read(&mut self.pending[len..]) {
                Ok(read) => {
                    self.pending.truncate(len + read);
                    self.eof = read == 0;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.pending.truncate(len);
                    self.failed = Some(e);
                }
            }
            break;
        }
        self.scanner.scan(&self.pending, self.eof);
    }

    /// Reads the record at the start of `pending`, too long to hold whole, with the capped reader;
    /// `None` if there was none after all.
    fn long_row(&mut self) -> Result<Option<Result<SourceRow, Rejection>>, SourceError> {
        let held = Cursor::new(std::mem::take(&mut self.pending));
        let mut reader = self.shape.reader(held.chain(&mut self.input));
        reader.set_line(self.line);
        let mut record = Record::default();
        let read = reader.read(&mut record);
        let (consumed, line) = (reader.consumed(), reader.line());
        let (chain, rest, eof) = reader.into_rest();
        let (held, _) = chain.into_inner();
        // What the reader had read past the record, then what it had not read of `held`.
        let mut pending = rest;
        pending.extend_from_slice(&held.get_ref()[held.position() as usize..]);
        let found = match read {
            Ok(found) => found,
            Err(e) => {
                self.eof = true;
                return Err(self.error(e));
            }
        };
        self.pending = pending;
        self.eof |= eof;
        self.consumed += consumed;
        self.line = line;
        self.scanner = block_scanner(&self.shape);
        self.scanner.scan(&self.pending, self.eof);
        if !found {
            return Ok(None);
        }
        self.rows += 1;
        Ok(Some(self.shape.row(&record, self.rows)))
    }

    fn error(&self, e: std::io::Error) -> SourceError {
        SourceError::Read {
            file: self.shape.file().to_path_buf(),
            after_row: self.rows,
            reason: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// A file of every shape of row: quoted line ends and quotes, CRLF and CR line ends, blank
    /// lines, ragged rows, invalid UTF-8, rows past `max_row_bytes`, and one record longer than
    /// [`LONG_RECORD`]; thousands of rows, so it spans many blocks.
    fn every_shape() -> Vec<u8> {
        let mut text = b"Email,Name,Note\r\n".to_vec();
        for i in 0..6000u32 {
            let row = match i % 11 {
                0 => format!("a{i}@x.co,\"Ann\r\n{i}\",\"say \"\"hi\"\"\"\r\n"),
                1 => format!("b{i}@x.co,Bo,n\n\n"),
                2 => format!("c{i}@x.co,Cy\n"),
                3 => format!("d{i}@x.co,Di,{}\n", "y".repeat(3000)),
                4 => format!("e{i}@x.co,E\"d,\"\"\r"),
                5 => format!("\n\r\nf{i}@x.co,Fa,\"\"\n"),
                _ => format!("g{i}@x.co,Gus,note {i}\n"),
            };
            text.extend_from_slice(row.as_bytes());
            if i == 100 {
                text.extend_from_slice(b"bad@x.co,\xff,x\n");
            }
            if i == 4000 {
                text.extend_from_slice(b"long@x.co,\"");
                text.extend(std::iter::repeat_n(b'z', LONG_RECORD + 4 * READ));
                text.extend_from_slice(b"\",after\r\n");
            }
        }
        text.extend_from_slice(b"last@x.co,Lu,no line end");
        text
    }

    #[test]
    fn blocks_read_as_one_parser_reads_the_whole_file() {
        let text = every_shape();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&text).unwrap();
        let max_row_bytes = 2048;
        let (_, mut blocks) = open(file.path(), Compression::None, b',', max_row_bytes).unwrap();
        // One parser over the whole file, numbering rows as it goes.
        let shape = blocks.shape();
        let mut whole = shape.reader(&text[..]);
        let mut record = Record::default();
        assert!(whole.read(&mut record).unwrap(), "the header");
        let mut expected = Vec::new();
        while whole.read(&mut record).unwrap() {
            expected.push(shape.row(&record, expected.len() as u64 + 1));
        }
        let (mut rows, mut pieces, mut long_rows) = (Vec::new(), 0, 0);
        while let Some(piece) = blocks.next().unwrap() {
            pieces += 1;
            match piece {
                Piece::Block(block) => {
                    assert!(*block.rows().end() - *block.rows().start() < CHUNK_ROWS as u64);
                    rows.extend(block.into_rows());
                }
                Piece::Row(row) => {
                    long_rows += 1;
                    rows.push(row);
                }
                Piece::Slice(_) => unreachable!("a CSV file's blocks hold no Parquet slices"),
            }
        }
        assert!(pieces > 10, "{pieces} pieces");
        assert_eq!(long_rows, 1);
        assert_eq!(rows.len(), expected.len());
        for (got, want) in rows.iter().zip(&expected) {
            assert_eq!(got, want);
        }
        assert_eq!(blocks.consumed(), text.len() as u64);
        // The shapes above are all there: cut, ragged, not UTF-8, and rows read whole.
        let message = |row: &Result<SourceRow, Rejection>| match row {
            Ok(_) => String::new(),
            Err(rejection) => rejection.message.clone(),
        };
        for part in ["max_row_bytes", "expected 3 fields", "not valid UTF-8"] {
            assert!(
                expected.iter().any(|row| message(row).contains(part)),
                "{part}"
            );
        }
        assert!(expected.iter().filter(|row| row.is_ok()).count() > 4000);
    }
}
