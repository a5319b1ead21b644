//! A CSV record reader whose memory is bounded in bytes, not only in rows: `csv_core`'s push parser
//! fed from a fixed buffer, keeping at most `max_row_bytes` of a row's contents. The rest of a longer
//! row is parsed and counted, never held, so a 1 GB cell costs the same memory as a short one.

use std::io::Read;

use csv_core::{ReadRecordResult, Reader, ReaderBuilder, Terminator};

/// Bytes read from the file at a time.
const INPUT: usize = 64 * 1024;
/// Where the part of a row beyond the cap is parsed into, and dropped.
const SCRATCH: usize = 64 * 1024;

/// One record: its fields' bytes up to the cap, and where each field ends.
///
/// Its buffers are reused from row to row: they are zero-filled when they grow, never per row (a
/// fresh 64 KiB fill for every row once took half of reading's time).
#[derive(Debug, Default)]
pub struct Record {
    /// The fields' contents, concatenated, in `data[..held]`; at most `max` bytes.
    data: Vec<u8>,
    held: usize,
    /// End offset of each field, as if the whole row were held (so a field past the cap ends past
    /// `held`), in `ends[..kept]`. Kept for the first `max_fields` fields only.
    ends: Vec<usize>,
    kept: usize,
    /// Fields in the row (also those whose ends were not kept).
    fields: usize,
    /// Bytes of field contents in the whole row.
    size: usize,
    /// The line the record starts on (1-based, counting every `\n`).
    pub line: u64,
}

impl Record {
    /// Fields in the row.
    pub fn len(&self) -> usize {
        self.fields
    }

    /// Whether the row was longer than the cap: then fields are cut (see [`Record::field`]).
    pub fn is_cut(&self) -> bool {
        self.size > self.held
    }

    /// The size of the row's contents, in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Field `i` as held: the whole field, or the part of it before the cap, and whether it was cut.
    /// Fields past the cap (or past the ends kept) are empty and cut.
    pub fn field(&self, i: usize) -> (&[u8], bool) {
        match self.bounds(i) {
            Some((start, end, cut)) => (&self.data[start..end], cut),
            None => (&[], true),
        }
    }

    /// The held contents as text, when they are valid UTF-8: checked once for the whole row, which
    /// is several times faster than field by field.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.data[..self.held]).ok()
    }

    /// The end of every field in the row's [`Record::text`], when the row is held whole and every
    /// field's end was kept.
    pub fn ends(&self) -> Option<&[usize]> {
        (!self.is_cut() && self.kept == self.fields).then(|| &self.ends[..self.kept])
    }

    /// Field `i` as held, from the row's [`Record::text`]; `None` when the field is not text on its
    /// own (it starts or ends inside a character that spans two fields) or was not kept.
    pub fn field_text<'a>(&self, text: &'a str, i: usize) -> Option<&'a str> {
        let (start, end, _) = self.bounds(i)?;
        text.get(start..end)
    }

    /// Where field `i` starts and ends in the held bytes, and whether it was cut.
    fn bounds(&self, i: usize) -> Option<(usize, usize, bool)> {
        let ends = &self.ends[..self.kept];
        let end = *ends.get(i)?;
        let start = if i == 0 { 0 } else { ends[i - 1] };
        let held = self.held;
        Some((start.min(held), end.min(held), end > held))
    }
}

/// The parser of `delimiter`-separated records, ended by `\r`, `\n` or `\r\n`.
pub fn parser(delimiter: u8) -> Reader {
    ReaderBuilder::new()
        .delimiter(delimiter)
        .terminator(Terminator::CRLF)
        .build()
}

/// Reads records of at most `max` bytes each (longer ones are cut).
pub struct CappedReader<R> {
    input: R,
    core: Reader,
    buffer: Vec<u8>,
    pos: usize,
    filled: usize,
    /// Bytes of the input before the buffer's contents.
    before: u64,
    eof: bool,
    /// Made when a row first needs them (most files have no row past the cap).
    scratch: Vec<u8>,
    scratch_ends: Vec<usize>,
    max: usize,
    max_fields: usize,
}

impl CappedReader<std::io::Empty> {
    /// A reader of the records in `text`, parsed where they are (no copy into a buffer), by
    /// `core` (a [`parser`], new or reset).
    pub fn over(text: Vec<u8>, core: Reader, max: usize, max_fields: usize) -> Self {
        let filled = text.len();
        CappedReader::reading(std::io::empty(), text, filled, core, max, max_fields)
    }
}

impl<R: Read> CappedReader<R> {
    /// A reader of `delimiter`-separated records from `input`, holding at most `max` bytes of a
    /// row and the ends of its first `max_fields` fields.
    pub fn new(input: R, delimiter: u8, max: usize, max_fields: usize) -> CappedReader<R> {
        let core = parser(delimiter);
        CappedReader::reading(input, vec![0; INPUT], 0, core, max, max_fields)
    }

    /// A reader whose `buffer` holds `filled` bytes of `input` already.
    fn reading(
        input: R,
        buffer: Vec<u8>,
        filled: usize,
        core: Reader,
        max: usize,
        max_fields: usize,
    ) -> CappedReader<R> {
        CappedReader {
            input,
            core,
            buffer,
            pos: 0,
            filled,
            before: 0,
            eof: false,
            scratch: Vec::new(),
            scratch_ends: Vec::new(),
            max,
            max_fields,
        }
    }

    /// The parser, for the next text to read.
    pub fn into_parser(self) -> Reader {
        self.core
    }

    /// Counts lines from `line` on: the input starts on that line of the file.
    pub fn set_line(&mut self, line: u64) {
        self.core.set_line(line);
    }

    /// The line the parser has got to.
    pub fn line(&self) -> u64 {
        self.core.line()
    }

    /// The input and what was read of it but not parsed yet (the reader stops between records).
    pub fn into_rest(self) -> (R, Vec<u8>, bool) {
        (
            self.input,
            self.buffer[self.pos..self.filled].to_vec(),
            self.eof,
        )
    }

    /// Bytes of the input parsed so far (to the end of the last record read): how far into the
    /// file reading has got.
    pub fn consumed(&self) -> u64 {
        self.before + self.pos as u64
    }

    /// Reads more of the input once the buffer has all been parsed.
    fn fill(&mut self) -> std::io::Result<()> {
        if self.pos == self.filled && !self.eof {
            self.before += self.filled as u64;
            self.filled = self.input.read(&mut self.buffer)?;
            self.pos = 0;
            self.eof = self.filled == 0;
        }
        Ok(())
    }

    /// Reads the next record into `record`; `false` at the end of the input.
    pub fn read(&mut self, record: &mut Record) -> std::io::Result<bool> {
        record.held = 0;
        record.kept = 0;
        record.fields = 0;
        record.size = 0;
        if record.ends.len() < self.max_fields {
            record.ends.resize(self.max_fields, 0);
        }
        // Where the record starts: past the line ends before it (blank lines, and the `\n` of a
        // `\r\n` the parser ended the last record at), which the parser would skip uncounted.
        loop {
            self.fill()?;
            let ends = self.buffer[self.pos..self.filled]
                .iter()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .fold(0, |n, &b| {
                    let line = self.core.line() + u64::from(b == b'\n');
                    self.core.set_line(line);
                    n + 1
                });
            self.pos += ends;
            if self.pos < self.filled || self.eof {
                break;
            }
        }
        record.line = self.core.line();
        loop {
            self.fill()?;
            let input = &self.buffer[self.pos..self.filled];
            // Where the parser writes: the record's own buffers until the caps, then scratch.
            let held = record.held;
            let room = self.max - held;
            if room > 0 && record.data.len() <= held {
                record.data.resize(held + room.min(INPUT), 0);
            }
            let keep_ends = record.kept < self.max_fields;
            let output: &mut [u8] = if room > 0 {
                let end = record.data.len().min(self.max);
                &mut record.data[held..end]
            } else {
                if self.scratch.is_empty() {
                    self.scratch = vec![0; SCRATCH];
                }
                &mut self.scratch
            };
            let ends: &mut [usize] = if keep_ends {
                &mut record.ends[record.kept..self.max_fields]
            } else {
                if self.scratch_ends.is_empty() {
                    self.scratch_ends = vec![0; 1024];
                }
                &mut self.scratch_ends
            };
            let (result, read, written, ended) = self.core.read_record(input, output, ends);
            if room > 0 {
                record.held += written;
            }
            if keep_ends {
                record.kept += ended;
            }
            self.pos += read;
            record.size += written;
            record.fields += ended;
            match result {
                ReadRecordResult::InputEmpty
                | ReadRecordResult::OutputFull
                | ReadRecordResult::OutputEndsFull => continue,
                ReadRecordResult::Record => return Ok(true),
                ReadRecordResult::End => return Ok(false),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each record: its fields (text, cut), its size, whether it was cut.
    type Read = Vec<(Vec<(String, bool)>, usize, bool)>;

    fn records(text: &[u8], max: usize) -> Read {
        let mut reader = CappedReader::new(text, b',', max, 16);
        let mut record = Record::default();
        let mut out = Vec::new();
        while reader.read(&mut record).unwrap() {
            let fields = (0..record.len())
                .map(|i| {
                    let (bytes, cut) = record.field(i);
                    (String::from_utf8_lossy(bytes).into_owned(), cut)
                })
                .collect();
            out.push((fields, record.size(), record.is_cut()));
        }
        out
    }

    fn plain(fields: &[&str]) -> Vec<(String, bool)> {
        fields.iter().map(|f| (f.to_string(), false)).collect()
    }

    #[test]
    fn reads_quoted_fields_newlines_and_crlf() {
        let rows = records(b"a,\"b,\"\"c\"\"\",d\r\n\"x\ny\",,z\n", 1024);
        assert_eq!(rows[0].0, plain(&["a", "b,\"c\"", "d"]));
        assert_eq!(rows[1].0, plain(&["x\ny", "", "z"]));
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn a_row_past_the_cap_is_cut_not_held() {
        let long = "x".repeat(10_000);
        let text = format!("short,{long},after\nnext,row,here\n");
        let rows = records(text.as_bytes(), 1024);
        let (fields, size, cut) = &rows[0];
        assert!(cut);
        assert_eq!(*size, 5 + 10_000 + 5);
        assert_eq!(fields[0], ("short".to_string(), false));
        assert_eq!(fields[1].0.len(), 1024 - 5);
        assert!(fields[1].1);
        assert_eq!(fields[2], (String::new(), true));
        assert_eq!(rows[1].0, plain(&["next", "row", "here"]));
        assert!(!rows[1].2);
    }

    #[test]
    fn consumed_counts_the_bytes_of_the_records_read() {
        let text = b"h\n\"a\nb\"\nc\n";
        // An input buffer smaller than the text, so the count spans refills.
        let mut reader = CappedReader::new(&text[..], b',', 64, 4);
        reader.buffer = vec![0; 3];
        let mut record = Record::default();
        let mut consumed = vec![reader.consumed()];
        while reader.read(&mut record).unwrap() {
            consumed.push(reader.consumed());
        }
        assert_eq!(consumed, vec![0, 2, 8, 10]);
        assert_eq!(reader.consumed(), text.len() as u64);
    }

    /// The line each record of `text` starts on.
    fn lines(text: &[u8]) -> Vec<u64> {
        let mut reader = CappedReader::new(text, b',', 64, 4);
        let mut record = Record::default();
        let mut lines = Vec::new();
        while reader.read(&mut record).unwrap() {
            lines.push(record.line);
        }
        lines
    }

    #[test]
    fn lines_count_quoted_newlines() {
        assert_eq!(lines(b"h\n\"a\nb\"\nc\n"), vec![1, 2, 4]);
    }

    #[test]
    fn a_record_is_on_the_line_it_starts_on_after_crlf_and_blank_lines() {
        assert_eq!(lines(b"h\r\na\r\n\r\n\nb\rc\n"), vec![1, 2, 5, 5]);
    }
}
