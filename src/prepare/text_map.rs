//! Maps and sets of short text looked up once or more per row (option values, label → value
//! tables): hashed with xxh3 rather than std's SipHash, which was a visible share of the prepare
//! path. Their keys come from the pipeline and the schema, never from rows, so SipHash's defence
//! against keys chosen to collide buys nothing here.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use xxhash_rust::xxh3::Xxh3DefaultBuilder;

use super::values;

/// Text → `V`, hashed with xxh3.
pub type TextMap<V> = HashMap<String, V, Xxh3DefaultBuilder>;

/// A set of text, hashed with xxh3.
pub type TextSet = HashSet<String, Xxh3DefaultBuilder>;

/// `text` trimmed and lowercased, as the folded keys of a label table are; borrowed when it is
/// so already (most values are), so a lookup costs no allocation.
pub fn folded(text: &str) -> Cow<'_, str> {
    let trimmed = values::trim(text);
    if trimmed
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        Cow::Borrowed(trimmed)
    } else {
        Cow::Owned(trimmed.to_lowercase())
    }
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
}
