//! Per-key ordering across batches (DESIGN.md §3.3): two batches that share a key are never in
//! flight at once, so for update/upsert the portal ends in the state of applying rows in file
//! order. The batcher already keeps each key once per batch and in file order across batches.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use crate::prepare::row::Input;

/// Keys are held by their 64-bit xxh3 hash, not their text: a batch of 100 keys then costs no
/// string copies and no string hashing under the lock. Two different keys with one hash only
/// make a batch wait for another it did not need to wait for; two batches sharing a key still
/// never fly together.
#[derive(Default)]
pub struct KeyGate {
    in_flight: Mutex<HashSet<u64>>,
    released: Notify,
}

/// The keys of one batch in flight; released when dropped.
pub struct Reservation {
    gate: Arc<KeyGate>,
    keys: Vec<u64>,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut in_flight = self.gate.in_flight.lock().expect("key gate lock poisoned");
        for key in &self.keys {
            in_flight.remove(key);
        }
        drop(in_flight);
        self.gate.released.notify_waiters();
    }
}

impl KeyGate {
    pub fn new() -> Arc<KeyGate> {
        Arc::new(KeyGate::default())
    }

    /// Waits until no batch in flight holds any key of `inputs`, then holds them.
    pub async fn reserve(self: &Arc<Self>, inputs: &[Input]) -> Reservation {
        let keys: Vec<u64> = inputs
            .iter()
            .filter_map(|i| i.key.map(|key| key.0))
            .collect();
        loop {
            // Register before checking so a release in between is not missed.
            let released = self.released.notified();
            {
                let mut in_flight = self.in_flight.lock().expect("key gate lock poisoned");
                if !keys.iter().any(|k| in_flight.contains(k)) {
                    in_flight.extend(keys.iter().copied());
                    return Reservation {
                        gate: Arc::clone(self),
                        keys,
                    };
                }
            }
            released.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepare::row::BatchKey;

    fn keyed(key: &str) -> Input {
        Input {
            row: 1,
            origin: None,
            fields: Default::default(),
            id: Some(key.into()),
            key: Some(BatchKey::exact(key)),
            properties: Default::default(),
            links: Vec::new(),
            associations: Vec::new(),
            operation: crate::config::Operation::Upsert,
            sync: None,
        }
    }

    #[tokio::test]
    async fn a_shared_key_waits_for_the_earlier_batch() {
        let gate = KeyGate::new();
        let first = gate.reserve(&[keyed("a"), keyed("b")]).await;
        let _other = gate.reserve(&[keyed("c")]).await;
        let waiter = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move { gate.reserve(&[keyed("b")]).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(first);
        waiter.await.unwrap();
    }
}
