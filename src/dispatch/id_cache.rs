//! The record ids a run has looked up (key → id), kept for the run in bounded memory: two
//! generations of at most half the capacity each. A hit in the older generation moves the key to
//! the newer; when the newer fills, the older is dropped whole. Keys used again and again (the
//! companies of many contacts) stay; a key not seen for a generation is forgotten and looked up
//! again if it comes back. Only found ids are kept: a key that named no record may name one later.

use std::collections::HashMap;

/// Keys kept by default per `[[associations]]` table: a few MB at most.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// A bounded map of key → record id.
#[derive(Debug)]
pub struct IdCache {
    current: HashMap<String, String>,
    previous: HashMap<String, String>,
    /// The most keys held at once (both generations).
    capacity: usize,
}

impl IdCache {
    /// A cache of at most `capacity` (≥ 2) keys.
    pub fn new(capacity: usize) -> IdCache {
        IdCache {
            current: HashMap::new(),
            previous: HashMap::new(),
            capacity: capacity.max(2),
        }
    }

    /// The id of `key`, if kept.
    pub fn get(&mut self, key: &str) -> Option<String> {
        if let Some(id) = self.current.get(key) {
            return Some(id.clone());
        }
        let (key, id) = self.previous.remove_entry(key)?;
        self.insert(key, id.clone());
        Some(id)
    }

    /// Keeps `key` → `id`.
    pub fn insert(&mut self, key: String, id: String) {
        if self.current.len() >= self.capacity / 2 && !self.current.contains_key(&key) {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, id);
    }

    /// Keys held (both generations).
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_keeps_what_is_used() {
        let mut cache = IdCache::new(4);
        cache.insert("a".into(), "1".into());
        cache.insert("b".into(), "2".into());
        cache.insert("c".into(), "3".into()); // a, b move to the older generation
        assert_eq!(cache.get("a").as_deref(), Some("1")); // back in the newer one
        cache.insert("d".into(), "4".into()); // c, a move; b is dropped
        assert_eq!(cache.get("b"), None);
        assert_eq!(cache.get("a").as_deref(), Some("1"));
        assert_eq!(cache.get("c").as_deref(), Some("3"));
        for i in 0..1000 {
            cache.insert(format!("k{i}"), i.to_string());
            assert!(cache.len() <= 4);
        }
        assert!(!cache.is_empty());
    }
}
