//! Where a CSV text can be cut between records without parsing it: a scan that follows
//! `csv_core`'s reading of quotes and line ends (the reader's settings: `"` quoting with doubled
//! quotes, `\r`, `\n` or `\r\n` ending a record, blank lines skipped) but looks only at quotes,
//! line ends and the delimiter before a quote, so it runs at `memchr`'s speed. The prepare thread
//! cuts the file into blocks of whole records with it, counting their records and lines, and the
//! workers parse the blocks (`blocks`): the parse, the costliest part of reading, is shared out.

use memchr::{memchr2, memchr3};

/// Where the scan is in the CSV grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing of a record yet: a line end here is a blank line (or a `\r\n`'s second half).
    RecordStart,
    /// Just after a delimiter: a quote here opens a quoted field.
    FieldStart,
    /// In an unquoted field, or after a quoted field's closing quote.
    Unquoted,
    /// Inside a quoted field, where line ends and delimiters are text.
    Quoted,
}

/// A scan of a text that arrives in pieces, resumable where it stopped.
#[derive(Debug, Clone)]
pub(super) struct Scanner {
    delimiter: u8,
    /// A block holds at most this many records, and this many bytes unless one record is longer:
    /// the scan stops where the next cut would pass either (then it is [`Scanner::full`]).
    most_records: u64,
    most_bytes: usize,
    full: bool,
    state: State,
    /// Bytes of the text scanned (from the last [`Scanner::restart`]).
    scanned: usize,
    /// Records ended so far.
    records: u64,
    /// `\n`s seen so far (also inside quotes: `csv_core` counts every one as a line).
    lines: u64,
    /// The last place the text can be cut: after it, a record starts. With its records and lines.
    cut: Option<Cut>,
    /// The cut the scan stopped at without taking it (the block was full before it).
    next_cut: Option<Cut>,
}

/// A place between records, and the records and lines before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cut {
    pub(super) at: usize,
    pub(super) records: u64,
    pub(super) lines: u64,
}

impl Scanner {
    pub(super) fn new(delimiter: u8, most_records: u64, most_bytes: usize) -> Scanner {
        Scanner {
            delimiter,
            most_records,
            most_bytes,
            full: false,
            state: State::RecordStart,
            scanned: 0,
            records: 0,
            lines: 0,
            cut: None,
            next_cut: None,
        }
    }

    /// The last cut found so far.
    pub(super) fn cut(&self) -> Option<Cut> {
        self.cut
    }

    /// Scans on over `text` (the same text as before, grown at its end), up to the first cut after
    /// `most_records` records. A `\r` or a quote at the very end is left for the next call, whose
    /// byte decides what it was, unless `at_end` (the text is whole). With `at_end`, a record not
    /// ended by a line end ends there and `text.len()` is a cut.
    pub(super) fn scan(&mut self, text: &[u8], at_end: bool) {
        let delimiter = self.delimiter;
        let mut pos = self.scanned;
        let end = text.len();
        while pos < end && !self.full {
            if self.state == State::Quoted {
                // Line ends inside quotes are text, but count as lines.
                let Some(quote) = memchr2(b'"', b'\n', &text[pos..]).map(|i| pos + i) else {
                    pos = end;
                    break;
                };
                if text[quote] == b'\n' {
                    self.lines += 1;
                    pos = quote + 1;
                    continue;
                }
                match text.get(quote + 1) {
                    // Doubled: a quote in the text.
                    Some(b'"') => pos = quote + 2,
                    Some(_) => {
                        self.state = State::Unquoted;
                        pos = quote + 1;
                    }
                    None if at_end => {
                        self.state = State::Unquoted;
                        pos = end;
                    }
                    None => {
                        pos = quote;
                        break;
                    }
                }
                continue;
            }
            let Some(found) = memchr3(b'"', b'\n', b'\r', &text[pos..]).map(|i| pos + i) else {
                self.state = match text[end - 1] == delimiter {
                    true => State::FieldStart,
                    false => State::Unquoted,
                };
                pos = end;
                break;
            };
            // Something between: the record has begun, and a field starts only after a delimiter.
            if found > pos {
                self.state = match text[found - 1] == delimiter {
                    true => State::FieldStart,
                    false => State::Unquoted,
                };
            }
            let field_start = self.state != State::Unquoted;
            let blank = self.state == State::RecordStart;
            match text[found] {
                b'"' => {
                    self.state = match field_start {
                        true => State::Quoted,
                        false => State::Unquoted,
                    };
                    pos = found + 1;
                }
                b'\n' => {
                    self.lines += 1;
                    self.end_line(blank);
                    pos = found + 1;
                    if self.mark_cut(pos) {
                        break;
                    }
                }
                _ => {
                    // A `\r`: a line end whatever follows; a `\n` next is the same line end.
                    let next = text.get(found + 1);
                    if next.is_none() && !at_end {
                        pos = found;
                        break;
                    }
                    self.end_line(blank);
                    pos = found + 1;
                    if next.is_some_and(|&b| b != b'\n') && self.mark_cut(pos) {
                        break;
                    }
                }
            }
        }
        self.scanned = pos;
        if at_end && pos == end && !self.full {
            if self.state != State::RecordStart {
                self.state = State::RecordStart;
                self.records += 1;
            }
            self.mark_cut(end);
        }
    }

    fn end_line(&mut self, blank: bool) {
        if !blank {
            self.records += 1;
        }
        self.state = State::RecordStart;
    }

    /// A cut at `at`, unless the block is full before it; whether the scan stops here.
    fn mark_cut(&mut self, at: usize) -> bool {
        let cut = Cut {
            at,
            records: self.records,
            lines: self.lines,
        };
        if at > self.most_bytes && self.cut.is_some() {
            self.next_cut = Some(cut);
            self.full = true;
            return true;
        }
        self.cut = Some(cut);
        self.full = self.records >= self.most_records || at >= self.most_bytes;
        self.full
    }

    /// Whether a block ends at the last cut (it holds as many records or bytes as it may).
    pub(super) fn full(&self) -> bool {
        self.full
    }

    /// The text was cut at `cut` and what was before it taken away: scan on from there, counting
    /// anew.
    pub(super) fn restart(&mut self, cut: Cut) {
        self.scanned -= cut.at;
        self.records -= cut.records;
        self.lines -= cut.lines;
        self.cut = self.next_cut.take().map(|next| Cut {
            at: next.at - cut.at,
            records: next.records - cut.records,
            lines: next.lines - cut.lines,
        });
        self.full = self
            .cut
            .is_some_and(|next| next.records >= self.most_records || next.at >= self.most_bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Records and `\n`s as `csv_core` reads them.
    fn csv_core_counts(text: &[u8], delimiter: u8) -> (u64, u64) {
        let mut reader = csv_core::ReaderBuilder::new()
            .delimiter(delimiter)
            .terminator(csv_core::Terminator::CRLF)
            .build();
        let mut output = vec![0; text.len() + 1];
        let mut ends = vec![0; text.len() + 1];
        let mut input = text;
        let mut records = 0;
        loop {
            let (result, read, _, _) = reader.read_record(input, &mut output, &mut ends);
            input = &input[read..];
            match result {
                csv_core::ReadRecordResult::Record => records += 1,
                csv_core::ReadRecordResult::End => break,
                csv_core::ReadRecordResult::InputEmpty => {}
                other => panic!("{other:?}"),
            }
        }
        (records, reader.line() - 1)
    }

    /// The scanner's counts for `text` fed in pieces of `piece` bytes, and every cut it offered.
    fn scanned(text: &[u8], delimiter: u8, piece: usize) -> (u64, u64, Vec<Cut>) {
        let mut scanner = Scanner::new(delimiter, u64::MAX, usize::MAX);
        let mut cuts = Vec::new();
        let mut fed = 0;
        while fed < text.len() {
            fed = (fed + piece).min(text.len());
            scanner.scan(&text[..fed], false);
            cuts.extend(scanner.cut());
        }
        scanner.scan(text, true);
        cuts.extend(scanner.cut());
        cuts.dedup();
        (scanner.records, scanner.lines, cuts)
    }

    #[test]
    fn counts_records_as_the_parser_does() {
        for text in [
            &b"a,b\nc,d\n"[..],
            b"a,b\r\nc,d\r\n",
            b"a,b\rc,d",
            b"\n\n\r\n\"x\ny\",z\n\n",
            b"a,\"b,\"\"c\"\"\",d\r\n\"x\ny\",,z\n",
            b"ab\"c\nd\"e\n",
            b"\"a\"b\"c\nd\n",
            b"x,\"",
            b"\"unclosed\nquote",
            b"",
        ] {
            let (records, lines, _) = scanned(text, b',', text.len().max(1));
            assert_eq!((records, lines), csv_core_counts(text, b','), "{text:?}");
        }
    }

    #[test]
    fn every_cut_is_between_records_and_counts_what_is_before_it() {
        let text = b"h,i\r\n\"a\r\nb\",c\n\nd,\"e\"\"\"\re,f";
        let (_, _, cuts) = scanned(text, b',', 3);
        assert!(cuts.len() >= 3, "{cuts:?}");
        for cut in cuts {
            let (records, lines) = csv_core_counts(&text[..cut.at], b',');
            assert_eq!((cut.records, cut.lines), (records, lines), "{cut:?}");
            // The rest, read on its own, holds the rest of the records.
            let rest = csv_core_counts(&text[cut.at..], b',');
            assert_eq!(records + rest.0, csv_core_counts(text, b',').0, "{cut:?}");
        }
    }

    #[test]
    fn restarting_after_a_cut_counts_the_rest_alone() {
        let text = b"a\nb\nc\"d\n";
        let mut scanner = Scanner::new(b',', u64::MAX, usize::MAX);
        scanner.scan(&text[..5], false);
        let cut = scanner.cut().unwrap();
        assert_eq!((cut.at, cut.records, cut.lines), (4, 2, 2));
        scanner.restart(cut);
        scanner.scan(&text[cut.at..], true);
        assert_eq!((scanner.records, scanner.lines), (1, 1));
    }

    #[test]
    fn a_block_ends_at_its_records_or_before_its_bytes_run_over() {
        let text = b"a\nbb\nccc\ndddd\n";
        let mut by_records = Scanner::new(b',', 2, usize::MAX);
        by_records.scan(text, false);
        assert!(by_records.full());
        assert_eq!(by_records.cut().map(|c| (c.at, c.records)), Some((5, 2)));
        let mut by_bytes = Scanner::new(b',', u64::MAX, 8);
        by_bytes.scan(text, false);
        assert!(by_bytes.full());
        assert_eq!(by_bytes.cut().map(|c| (c.at, c.records)), Some((5, 2)));
        // Scanning on from the cut counts the record already passed.
        let cut = by_bytes.cut().unwrap();
        by_bytes.restart(cut);
        by_bytes.scan(&text[cut.at..], true);
        assert_eq!(by_bytes.cut().map(|c| (c.at, c.records)), Some((4, 1)));
        by_bytes.restart(by_bytes.cut().unwrap());
        by_bytes.scan(&text[cut.at + 4..], true);
        assert_eq!(by_bytes.cut().map(|c| (c.at, c.records)), Some((5, 1)));
        // A record longer than a block is a block of its own.
        let mut long = Scanner::new(b',', u64::MAX, 2);
        long.scan(b"abcdef\ng\n", false);
        assert_eq!(long.cut().map(|c| (c.at, c.records)), Some((7, 1)));
    }

    /// `text` cut into blocks as the reader cuts it, fed in pieces of `piece` bytes.
    fn blocks_of(text: &[u8], mut scanner: Scanner, piece: usize) -> Vec<(Vec<u8>, Cut)> {
        let mut pending = Vec::new();
        let mut fed = 0;
        let mut blocks = Vec::new();
        loop {
            let at_end = fed == text.len();
            if at_end && pending.is_empty() {
                return blocks;
            }
            if let Some(cut) = scanner.cut()
                && (scanner.full() || at_end)
            {
                blocks.push((pending.drain(..cut.at).collect(), cut));
                scanner.restart(cut);
                scanner.scan(&pending, at_end);
                continue;
            }
            assert!(!at_end, "the whole text scanned and no cut");
            let next = (fed + piece).min(text.len());
            pending.extend_from_slice(&text[fed..next]);
            fed = next;
            scanner.scan(&pending, fed == text.len());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn any_text_in_any_pieces_counts_as_the_parser_does(
            text in proptest::collection::vec(prop::sample::select(&b"ab,;\"\r\n"[..]), 0..60),
            piece in 1usize..8,
            delimiter in prop::sample::select(&b",;"[..]),
        ) {
            let (records, lines, cuts) = scanned(&text, delimiter, piece);
            prop_assert_eq!((records, lines), csv_core_counts(&text, delimiter));
            for cut in cuts {
                let before = csv_core_counts(&text[..cut.at], delimiter);
                prop_assert_eq!((cut.records, cut.lines), before);
                let rest = csv_core_counts(&text[cut.at..], delimiter);
                prop_assert_eq!(before.0 + rest.0, records);
            }
        }

        #[test]
        fn blocks_hold_whole_records_within_their_bounds(
            text in proptest::collection::vec(prop::sample::select(&b"ab,\"\r\n"[..]), 0..80),
            piece in 1usize..10,
            most_records in 1u64..4,
            most_bytes in 1usize..12,
        ) {
            let scanner = Scanner::new(b',', most_records, most_bytes);
            let blocks = blocks_of(&text, scanner, piece);
            let mut records = 0;
            for (block, cut) in &blocks {
                prop_assert_eq!(block.len(), cut.at);
                prop_assert_eq!(csv_core_counts(block, b','), (cut.records, cut.lines));
                prop_assert!(cut.records <= most_records);
                prop_assert!(block.len() <= most_bytes || cut.records <= 1, "{:?}", block);
                records += cut.records;
            }
            prop_assert_eq!(records, csv_core_counts(&text, b',').0);
            let whole: Vec<u8> = blocks.iter().flat_map(|(block, _)| block.clone()).collect();
            prop_assert_eq!(whole, text);
        }
    }
}
