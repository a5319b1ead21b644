//! The batcher: groups inputs into batches of at most `batch_size`, never two inputs with the same key
//! in one batch, and never a later row of a key in an earlier batch than an earlier row of that key.
//!
//! Batches are emitted in the order they were opened. A row whose key already sits in an open batch
//! goes to a later batch (opening one if needed). Memory is bounded: at most `max_open` batches are
//! open; past that the oldest is flushed even if not full.
//!
//! Keys arrive as their 64-bit hash ([`BatchKey`]). Two different keys with the same hash are
//! treated as one key: batches get smaller, never wrong.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use xxhash_rust::xxh3::xxh3_64;

use crate::config::Operation;
use crate::prepare::row::Input;

/// One batch request's worth of inputs, all of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub operation: Operation,
    pub inputs: Vec<Input>,
}

/// An open batch: its operation, its inputs and their key hashes.
#[derive(Debug)]
struct Open {
    operation: Operation,
    inputs: Vec<Input>,
    hashes: Vec<u64>,
}

/// Open batches waiting to fill.
#[derive(Debug)]
pub struct Batcher {
    size: usize,
    max_open: usize,
    /// Open batches; `open[i]` has sequence number `first_seq + i`.
    open: VecDeque<Open>,
    first_seq: u64,
    /// Key hash → sequence number of the latest open batch holding it.
    last: HashMap<u64, u64, BuildHasherDefault<Prehashed>>,
}

/// The map's hasher for keys that are hashes already: hashing them again (SipHash, twice per row
/// with the key's own hash) was a visible share of the prepare path.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u64`s are hashed here; anything else still gets a proper hash.
        self.0 = xxh3_64(bytes);
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}

/// Open batches kept by default: enough to absorb runs of repeated keys without flushing early.
pub const DEFAULT_MAX_OPEN: usize = 8;

impl Batcher {
    /// A batcher of batches of at most `size` (≥ 1) inputs, with at most `max_open` (≥ 1) open batches.
    pub fn new(size: usize, max_open: usize) -> Batcher {
        assert!(
            size >= 1 && max_open >= 1,
            "batch size and open batches must be at least 1"
        );
        Batcher {
            size,
            max_open,
            open: VecDeque::new(),
            first_seq: 0,
            last: HashMap::default(),
        }
    }

    /// Adds an input; full (or evicted) batches are passed to `emit` in order.
    pub fn push(&mut self, input: Input, mut emit: impl FnMut(Batch)) {
        let hash = input.key.map(|k| k.0);
        // The earliest batch this input may join: after the latest open batch holding its key.
        let earliest = match hash.and_then(|h| self.last.get(&h)) {
            Some(&seq) => (seq + 1 - self.first_seq) as usize,
            None => 0,
        };
        // Inputs of different operations (a sync's creates and updates) go to batches of their own.
        let operation = input.operation;
        let slot = (earliest..self.open.len()).find(|&i| {
            self.open[i].operation == operation && self.open[i].inputs.len() < self.size
        });
        let index = match slot {
            Some(i) => i,
            None => {
                self.open.push_back(Open {
                    operation,
                    inputs: Vec::with_capacity(self.size),
                    hashes: Vec::new(),
                });
                self.open.len() - 1
            }
        };
        let open = &mut self.open[index];
        open.inputs.push(input);
        if let Some(h) = hash {
            open.hashes.push(h);
            self.last.insert(h, self.first_seq + index as u64);
        }
        // Emit from the front only, so batches leave in the order they were opened.
        while self
            .open
            .front()
            .is_some_and(|b| b.inputs.len() >= self.size)
            || self.open.len() > self.max_open
        {
            emit(self.pop_front());
        }
    }

    /// Flushes every open batch, in order.
    pub fn finish(&mut self, mut emit: impl FnMut(Batch)) {
        while !self.open.is_empty() {
            emit(self.pop_front());
        }
    }

    /// Inputs held in open batches.
    pub fn pending(&self) -> usize {
        self.open.iter().map(|b| b.inputs.len()).sum()
    }

    fn pop_front(&mut self) -> Batch {
        let open = self.open.pop_front().expect("caller checked");
        let seq = self.first_seq;
        self.first_seq += 1;
        for h in open.hashes {
            if self.last.get(&h) == Some(&seq) {
                self.last.remove(&h);
            }
        }
        Batch {
            operation: open.operation,
            inputs: open.inputs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepare::row::BatchKey;

    fn input(row: u64, key: Option<&str>) -> Input {
        Input {
            row,
            origin: None,
            fields: Default::default(),
            id: key.map(String::from),
            key: key.map(BatchKey::exact),
            properties: Default::default(),
            links: vec![],
            associations: vec![],
            operation: crate::config::Operation::Upsert,
            sync: None,
        }
    }

    fn run(size: usize, max_open: usize, keys: &[Option<&str>]) -> Vec<Vec<u64>> {
        let mut b = Batcher::new(size, max_open);
        let mut out = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            b.push(input(i as u64 + 1, *k), |batch| out.push(batch));
        }
        b.finish(|batch| out.push(batch));
        out.iter()
            .map(|b| b.inputs.iter().map(|i| i.row).collect())
            .collect()
    }

    #[test]
    fn operations_get_batches_of_their_own_and_keys_keep_file_order() {
        use crate::config::Operation::{Create, Update};
        let mut b = Batcher::new(3, 8);
        let mut out = Vec::new();
        // Row 3 is a later row of row 1's key: it must land in a later batch than row 1's.
        for (row, key, op) in [
            (1, "a", Create),
            (2, "b", Update),
            (3, "a", Update),
            (4, "c", Create),
        ] {
            let mut i = input(row, Some(key));
            i.operation = op;
            b.push(i, |batch| out.push(batch));
        }
        b.finish(|batch| out.push(batch));
        let shape: Vec<(crate::config::Operation, Vec<u64>)> = out
            .iter()
            .map(|b| (b.operation, b.inputs.iter().map(|i| i.row).collect()))
            .collect();
        assert_eq!(
            shape,
            [(Create, vec![1, 4]), (Update, vec![2, 3])],
            "one batch per operation, the update batch after the create holding key a"
        );
    }

    #[test]
    fn fills_batches_in_order() {
        assert_eq!(run(2, 4, &[None, None, None]), vec![vec![1, 2], vec![3]]);
    }

    #[test]
    fn repeated_key_waits_for_a_later_batch() {
        let k = Some("k");
        assert_eq!(
            run(3, 4, &[k, None, k, Some("j"), k]),
            vec![vec![1, 2, 4], vec![3], vec![5]]
        );
    }

    #[test]
    fn open_batches_are_bounded() {
        let k = Some("k");
        let out = run(100, 2, &[k, k, k, k]);
        assert_eq!(out, vec![vec![1], vec![2], vec![3], vec![4]]);
    }

    #[test]
    fn a_key_may_rejoin_after_its_batch_left() {
        let k = Some("k");
        // Batch [1,2] fills and leaves; row 3 with key k may then go into the next batch.
        assert_eq!(run(2, 4, &[k, None, k, None]), vec![vec![1, 2], vec![3, 4]]);
    }
}
