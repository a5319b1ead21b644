//! One unique-value index of a table, holding no strings: a 64-bit hash of each normalised value
//! points to the record that holds it, and the table confirms every hit against the record's own
//! values (`store.rs`), so two values whose hashes collide are told apart, never confused.
//!
//! A `String` key per value cost ~80 bytes a contact (the key, its heap copy, the slot); a hash and an
//! id cost ~22.

use std::collections::hash_map::Entry;

use xxhash_rust::xxh3::xxh3_64;

use super::hasher::FastMap;

/// Normalised unique value (by hash) → the live record holding it.
#[derive(Debug, Default, Clone)]
pub struct UniqueIndex {
    /// The first holder of each hash: every value but a colliding one.
    first: FastMap<u64, u64>,
    /// Further holders of a hash whose first holder holds another value. Almost always empty.
    more: FastMap<u64, Vec<u64>>,
}

fn hash(key: &str) -> u64 {
    xxh3_64(key.as_bytes())
}

impl UniqueIndex {
    /// The records that may hold `key`: every one whose value hashes alike. The caller confirms.
    pub fn candidates(&self, key: &str) -> impl Iterator<Item = u64> + '_ {
        let h = hash(key);
        let more = self.more.get(&h).map(Vec::as_slice).unwrap_or_default();
        self.first
            .get(&h)
            .copied()
            .into_iter()
            .chain(more.iter().copied())
    }

    /// Notes that record `id` holds `key`.
    pub fn insert(&mut self, key: &str, id: u64) {
        let h = hash(key);
        match self.first.entry(h) {
            Entry::Vacant(slot) => {
                slot.insert(id);
            }
            Entry::Occupied(slot) if *slot.get() == id => {}
            Entry::Occupied(_) => {
                let more = self.more.entry(h).or_default();
                if !more.contains(&id) {
                    more.push(id);
                }
            }
        }
    }

    /// Notes that record `id` no longer holds `key`.
    pub fn remove(&mut self, key: &str, id: u64) {
        let h = hash(key);
        let Entry::Occupied(mut more) = self.more.entry(h) else {
            if self.first.get(&h) == Some(&id) {
                self.first.remove(&h);
            }
            return;
        };
        if self.first.get(&h) == Some(&id) {
            if let Some(next) = more.get_mut().pop() {
                self.first.insert(h, next);
            }
        } else {
            more.get_mut().retain(|held| *held != id);
        }
        if more.get().is_empty() {
            more.remove();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holders_come_and_go() {
        let mut index = UniqueIndex::default();
        index.insert("a@x.com", 1);
        index.insert("a@x.com", 1);
        assert_eq!(index.candidates("a@x.com").collect::<Vec<_>>(), [1]);
        assert_eq!(index.candidates("b@x.com").count(), 0);
        index.remove("a@x.com", 2);
        assert_eq!(index.candidates("a@x.com").collect::<Vec<_>>(), [1]);
        index.remove("a@x.com", 1);
        assert_eq!(index.candidates("a@x.com").count(), 0);
    }

    #[test]
    fn holders_of_one_hash_are_all_candidates() {
        // Two holders under one hash: what a collision looks like to the index.
        let mut index = UniqueIndex::default();
        index.insert("k", 1);
        index.insert("k", 2);
        index.insert("k", 3);
        assert_eq!(index.candidates("k").collect::<Vec<_>>(), [1, 2, 3]);
        index.remove("k", 1);
        assert_eq!(index.candidates("k").collect::<Vec<_>>(), [3, 2]);
        index.remove("k", 2);
        assert_eq!(index.candidates("k").collect::<Vec<_>>(), [3]);
        assert!(index.more.is_empty(), "no empty overflow left behind");
        index.remove("k", 3);
        assert_eq!(index.candidates("k").count(), 0);
    }
}
