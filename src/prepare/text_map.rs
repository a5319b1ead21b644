//! Maps and sets of short text looked up once or more per row (option values, label → value
//! tables): hashed with xxh3 rather than std's SipHash, which was a visible share of the prepare
//! path. Their keys come from the pipeline and the schema, never from rows, so SipHash's defence
//! against keys chosen to collide buys nothing here.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::values;

/// Text → `V`, hashed with xxh3.
pub type TextMap<V> = HashMap<String, V, BuildHasherDefault<OneShot>>;

/// A set of text, hashed with xxh3.
pub type TextSet = HashSet<String, BuildHasherDefault<OneShot>>;

/// Hashes a key's bytes with one-shot xxh3: xxh3's streaming hasher buffers its input first, and
/// that cost more than the hash for keys of a few bytes.
#[derive(Default)]
pub struct OneShot(u64);

impl Hasher for OneShot {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxh3_64_with_seed(bytes, self.0);
    }

    /// The end mark a `str` hashes after its bytes (and any other single byte).
    fn write_u8(&mut self, byte: u8) {
        self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// `text` trimmed and lowercased, as the folded keys of a label table are; borrowed when it is
/// so already (most values are), so a lookup costs no allocation.
pub fn folded(text: &str) -> Cow<'_, str> {
    values::lowercase(values::trim(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_borrows_only_what_is_folded_already() {
        assert!(matches!(folded(" lead "), Cow::Borrowed("lead")));
        assert_eq!(folded(" Sales Qualified "), "sales qualified");
        assert_eq!(folded("ÉTÉ"), "été");
        assert!(matches!(folded("ÉTÉ"), Cow::Owned(_)));
        let mut map = TextMap::default();
        map.insert("lead".to_string(), 1);
        assert_eq!(map.get(&*folded(" LEAD")), Some(&1));
    }

    #[test]
    fn every_key_of_a_large_table_is_found_and_no_other() {
        let keys: Vec<String> = (0..10_000).map(|i| format!("option {i}")).collect();
        let set: TextSet = keys.iter().cloned().collect();
        let map: TextMap<usize> = keys.iter().cloned().zip(0..).collect();
        assert_eq!(set.len(), keys.len());
        for (i, key) in keys.iter().enumerate() {
            assert!(set.contains(key.as_str()));
            assert_eq!(map.get(key.as_str()), Some(&i));
        }
        for absent in ["", "option", "option 10000", "Option 1", "option 1 "] {
            assert!(!set.contains(absent), "{absent:?}");
        }
    }
}
