//! A set of source row numbers: bitmaps of 4,096 rows, allocated only where rows are. A million
//! consecutive rows take about 140 KB; one row numbered 10^12 (a damaged or hostile dead-letter
//! file) takes 512 bytes, not the gigabytes a flat bitmap up to it would.

use std::collections::HashMap;

/// Rows per chunk: 64 words of 64 bits.
const CHUNK_ROWS: u64 = 4096;
const CHUNK_WORDS: usize = (CHUNK_ROWS / 64) as usize;

/// A set of row numbers.
#[derive(Debug, Clone, Default)]
pub struct RowSet {
    chunks: HashMap<u64, Box<[u64; CHUNK_WORDS]>>,
    len: u64,
}

impl RowSet {
    pub fn insert(&mut self, row: u64) {
        let (chunk, word, bit) = place(row);
        let words = self
            .chunks
            .entry(chunk)
            .or_insert_with(|| Box::new([0; CHUNK_WORDS]));
        if words[word] & (1 << bit) == 0 {
            words[word] |= 1 << bit;
            self.len += 1;
        }
    }

    pub fn contains(&self, row: u64) -> bool {
        let (chunk, word, bit) = place(row);
        self.chunks
            .get(&chunk)
            .is_some_and(|words| words[word] & (1 << bit) != 0)
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The chunk, word and bit of a row.
fn place(row: u64) -> (u64, usize, u64) {
    let offset = row % CHUNK_ROWS;
    (row / CHUNK_ROWS, (offset / 64) as usize, offset % 64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_sets_hold_rows() {
        let mut set = RowSet::default();
        for row in [1, 64, 65, 1_000_000, 64, 4095, 4096] {
            set.insert(row);
        }
        assert_eq!(set.len(), 6);
        assert!(set.contains(64) && set.contains(1_000_000) && !set.contains(2));
        assert!(set.contains(4095) && set.contains(4096) && !set.contains(4097));
    }

    #[test]
    fn a_huge_row_number_costs_one_chunk() {
        let mut set = RowSet::default();
        set.insert(1_000_000_000_000);
        set.insert(u64::MAX);
        assert_eq!(set.chunks.len(), 2);
        assert!(set.contains(1_000_000_000_000) && set.contains(u64::MAX));
        assert!(!set.contains(999_999_999_999));
    }
}
