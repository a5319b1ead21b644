//! Keys that several rows share. An update or upsert applies a key's rows in file order, so the
//! portal ends with the last value of each property; comparing an earlier row alone would report
//! a difference that is not one. A first pass over the source finds the repeated keys and their
//! last rows (memory: one hash per distinct key while it runs, then one per repeated key); the
//! verifying pass merges each repeated key's rows and checks the merge at its last row.
//!
//! A create is different: its later rows of a key were refused as conflicts, so each row is
//! checked on its own against the record the first one created.

use std::collections::HashMap;

use xxhash_rust::xxh3::xxh3_64;

use super::compare::Expected;

/// Repeated keys (by hash) and the row of their last occurrence.
#[derive(Debug, Default)]
pub struct Repeats {
    last: HashMap<u64, u64>,
    pending: HashMap<String, Expected>,
}

/// Counts keys as the first pass meets them.
#[derive(Debug, Default)]
pub struct Scan {
    seen: HashMap<u64, (u32, u64)>,
}

fn hash(key: &str) -> u64 {
    xxh3_64(key.to_lowercase().as_bytes())
}

impl Scan {
    /// Row `row` has key `key`.
    pub fn saw(&mut self, key: &str, row: u64) {
        let entry = self.seen.entry(hash(key)).or_insert((0, row));
        entry.0 += 1;
        entry.1 = entry.1.max(row);
    }

    /// The repeated keys.
    pub fn repeats(self) -> Repeats {
        Repeats {
            last: self
                .seen
                .into_iter()
                .filter(|(_, (count, _))| *count > 1)
                .map(|(hash, (_, last))| (hash, last))
                .collect(),
            pending: HashMap::new(),
        }
    }
}

impl Repeats {
    /// `expected` to check now, or `None` while later rows of its key are still to come.
    pub fn offer(&mut self, expected: Expected) -> Option<Expected> {
        let Some(&last) = self.last.get(&hash(&expected.key)) else {
            return Some(expected);
        };
        let folded = expected.key.to_lowercase();
        let row = expected.row;
        let merged = match self.pending.remove(&folded) {
            Some(mut earlier) => {
                earlier.merge(expected);
                earlier
            }
            None => expected,
        };
        if row >= last {
            Some(merged)
        } else {
            self.pending.insert(folded, merged);
            None
        }
    }

    /// Keys whose last row never came (rejected rows, or two keys sharing a hash): check them as
    /// they stand.
    pub fn drain(&mut self) -> Vec<Expected> {
        self.pending.drain().map(|(_, e)| e).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn expected(key: &str, row: u64, value: &str) -> Expected {
        Expected {
            key: key.into(),
            row,
            rows: 1,
            properties: vec![(Arc::from("city"), value.into(), row)],
        }
    }

    #[test]
    fn a_repeated_key_is_checked_once_with_its_last_values() {
        let mut scan = Scan::default();
        for (key, row) in [("a", 1), ("B", 2), ("c", 3), ("b", 4)] {
            scan.saw(key, row);
        }
        let mut repeats = scan.repeats();
        assert_eq!(repeats.offer(expected("a", 1, "x")).unwrap().rows, 1);
        assert!(repeats.offer(expected("B", 2, "old")).is_none());
        assert!(repeats.offer(expected("c", 3, "y")).is_some());
        let merged = repeats.offer(expected("b", 4, "new")).unwrap();
        assert_eq!(merged.rows, 2);
        assert_eq!(merged.row, 4);
        assert_eq!(
            merged.properties,
            vec![(Arc::from("city"), "new".into(), 4)]
        );
        assert!(repeats.drain().is_empty());
    }
}
