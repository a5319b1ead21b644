//! The header of a data file and a sample of its rows, read with the engine's own readers (so what
//! `etl init` sees is what `etl run` will read). A CSV file's delimiter is sniffed from its header.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::config::source_name::compression_of;
use crate::config::{DEFAULT_MAX_ROW_BYTES, SourceFormat, SourceSpec, source_format};
use crate::prepare::source::{self, SourceError};

/// Rows read for types, date layouts and enumeration labels: enough to meet the rare labels of a
/// large file, few enough to take well under a second.
pub const SAMPLE_ROWS: usize = 10_000;

/// Delimiters a CSV file may use, and the names the pipeline file gives them.
const DELIMITERS: [(u8, &str); 4] = [(b',', ","), (b';', ";"), (b'\t', "tab"), (b'|', "|")];

/// A data file's header and first rows.
#[derive(Debug)]
pub struct Sample {
    pub path: PathBuf,
    /// The CSV delimiter, as the pipeline file writes it, when it is not a comma.
    pub delimiter: Option<&'static str>,
    pub header: Vec<String>,
    /// The readable rows among the first [`SAMPLE_ROWS`].
    pub rows: Vec<Vec<String>>,
    /// Whether the sample is the whole file.
    pub whole: bool,
}

impl Sample {
    /// Reads the header and up to [`SAMPLE_ROWS`] rows of `path`.
    pub fn read(path: &Path) -> Result<Sample, SourceError> {
        let format = source_format(path).ok_or_else(|| SourceError::Unreadable {
            file: path.to_path_buf(),
            reason: "cannot tell its format from its extension (.csv, .tsv or .parquet)".into(),
        })?;
        let (byte, delimiter) = match format {
            SourceFormat::Csv => sniff(path)?,
            SourceFormat::Parquet => (b',', None),
        };
        let spec = SourceSpec {
            path: path.to_path_buf(),
            format,
            compression: compression_of(path),
            delimiter: byte,
            max_row_bytes: DEFAULT_MAX_ROW_BYTES,
            prepare_threads: None,
        };
        let mut source = source::open(&spec)?;
        let header = source.header().to_vec();
        let mut rows = Vec::new();
        let mut whole = true;
        for (read, item) in source.by_ref().enumerate() {
            if read == SAMPLE_ROWS {
                whole = false;
                break;
            }
            if let Ok(row) = item {
                rows.push(row.fields.to_vec());
            }
        }
        if let Some(error) = source.take_error() {
            return Err(error);
        }
        Ok(Sample {
            path: path.to_path_buf(),
            delimiter,
            header,
            rows,
            whole,
        })
    }

    /// The sampled values of column `index`.
    pub fn column(&self, index: usize) -> Vec<&str> {
        self.rows
            .iter()
            .map(|row| row.get(index).map_or("", String::as_str))
            .collect()
    }
}

/// The delimiter of a CSV file: the candidate its header line holds most of, outside quotes
/// (`.tsv` files are tab-separated). The name is `None` for a comma, the default.
fn sniff(path: &Path) -> Result<(u8, Option<&'static str>), SourceError> {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("tsv"))
    {
        return Ok((b'\t', None));
    }
    let mut head = Vec::with_capacity(64 * 1024);
    std::fs::File::open(path)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut head))
        .map_err(|source| SourceError::Open {
            file: path.to_path_buf(),
            source,
        })?;
    let mut counts = [0usize; DELIMITERS.len()];
    let mut quoted = false;
    for &b in &head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            _ if !quoted => {
                if let Some(i) = DELIMITERS.iter().position(|(d, _)| *d == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    // The most frequent, the comma on a tie (and for a one-column file).
    let best = (0..DELIMITERS.len())
        .max_by_key(|&i| (counts[i], std::cmp::Reverse(i)))
        .unwrap_or(0);
    let (byte, name) = DELIMITERS[best];
    Ok((byte, (byte != b',').then_some(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(text: &str, name: &str) -> Sample {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        Sample::read(&path).unwrap()
    }

    #[test]
    fn delimiters_are_sniffed_from_the_header() {
        let s = sample("Record ID;Reason\n1000;duplicate\n", "a.csv");
        assert_eq!(s.delimiter, Some(";"));
        assert_eq!(s.header, ["Record ID", "Reason"]);
        assert_eq!(s.column(1), ["duplicate"]);
        let s = sample("\"a;b\",c\n1,2\n", "b.csv");
        assert_eq!(s.delimiter, None, "a quoted ; is no delimiter");
        let s = sample("Email\nx@y.z\n", "c.csv");
        assert_eq!(s.delimiter, None);
        let s = sample("A\tB\n1\t2\n", "d.tsv");
        assert_eq!((s.delimiter, s.column(1)), (None, vec!["2"]));
        assert!(s.whole);
    }
}
