//! A set of source row numbers, one bit each: a million rows take 125 KB.

/// A set of row numbers, one bit each: a million rows take 125 KB.
#[derive(Debug, Clone, Default)]
pub struct RowSet {
    words: Vec<u64>,
    len: u64,
}

impl RowSet {
    pub fn insert(&mut self, row: u64) {
        let (word, bit) = ((row / 64) as usize, row % 64);
        if word >= self.words.len() {
            self.words.resize(word + 1, 0);
        }
        if self.words[word] & (1 << bit) == 0 {
            self.words[word] |= 1 << bit;
            self.len += 1;
        }
    }

    pub fn contains(&self, row: u64) -> bool {
        let (word, bit) = ((row / 64) as usize, row % 64);
        self.words.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_sets_hold_rows() {
        let mut set = RowSet::default();
        for row in [1, 64, 65, 1_000_000, 64] {
            set.insert(row);
        }
        assert_eq!(set.len(), 4);
        assert!(set.contains(64) && set.contains(1_000_000) && !set.contains(2));
    }
}
