//! How big a source is and how far reading has got, shared with the progress display: a Parquet
//! file's footer says how many rows it holds; a CSV file only how many bytes, so its row count is
//! estimated from the bytes parsed so far until the end is reached.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// The size of a source and the reader's position in it. Written by the reading thread, read by
/// the progress display (relaxed atomics: a figure a few rows old is fine).
#[derive(Debug, Default)]
pub struct Extent {
    /// Rows in the file, when its format records them (Parquet).
    rows: Option<u64>,
    /// The file's size in bytes.
    bytes: u64,
    /// Bytes parsed so far (CSV).
    bytes_read: AtomicU64,
    /// Data rows read so far.
    rows_read: AtomicU64,
    /// The reader reached the end of the file.
    ended: AtomicBool,
}

/// The number of rows in a source, as well as it is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    /// Counted (Parquet's footer, or a CSV read to its end).
    Exact(u64),
    /// Estimated from the bytes of the rows read so far (CSV).
    About(u64),
    /// Nothing read yet.
    Unknown,
}

impl Extent {
    /// A file whose format records its row count.
    pub fn counted(rows: u64, bytes: u64) -> Extent {
        Extent {
            rows: Some(rows),
            bytes,
            ..Extent::default()
        }
    }

    /// A file known only by its size.
    pub fn sized(bytes: u64) -> Extent {
        Extent {
            bytes,
            ..Extent::default()
        }
    }

    /// The reader has read `rows` data rows, and parsed `bytes` bytes of the file when it knows.
    pub fn advance(&self, rows: u64, bytes: Option<u64>) {
        self.rows_read.store(rows, Relaxed);
        if let Some(bytes) = bytes {
            self.bytes_read.store(bytes, Relaxed);
        }
    }

    /// The reader reached the end of the file.
    pub fn end(&self) {
        self.ended.store(true, Relaxed);
    }

    /// Data rows read so far.
    pub fn rows_read(&self) -> u64 {
        self.rows_read.load(Relaxed)
    }

    /// How many rows the file holds.
    pub fn total(&self) -> Total {
        if let Some(rows) = self.rows {
            return Total::Exact(rows);
        }
        let read = self.rows_read();
        if self.ended.load(Relaxed) {
            return Total::Exact(read);
        }
        let bytes_read = self.bytes_read.load(Relaxed);
        // A size of 0: unknown (standard input, a compressed file whose size is not the rows').
        if read == 0 || bytes_read == 0 || self.bytes == 0 {
            return Total::Unknown;
        }
        // Rows so far times the bytes still to come at their average size.
        let estimate = (read as f64 * self.bytes as f64 / bytes_read as f64).round() as u64;
        Total::About(estimate.max(read))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parquet_counts_csv_estimates_until_the_end() {
        assert_eq!(Extent::counted(2000, 1 << 20).total(), Total::Exact(2000));
        let csv = Extent::sized(1000);
        assert_eq!(csv.total(), Total::Unknown);
        csv.advance(25, Some(250));
        assert_eq!(csv.total(), Total::About(100));
        csv.advance(30, Some(280));
        assert_eq!(csv.total(), Total::About(107));
        csv.advance(97, Some(1000));
        csv.end();
        assert_eq!(csv.total(), Total::Exact(97));
    }

    #[test]
    fn an_estimate_is_never_below_the_rows_read() {
        let csv = Extent::sized(10);
        csv.advance(50, Some(20));
        assert_eq!(csv.total(), Total::About(50));
    }
}
