//! A row's property values in wire format: one text buffer, and per value the index of its
//! property in a name table the whole job shares and where the value ends. A row mapped to ten
//! properties costs one allocation (two beyond 16 values), not ten strings plus ten shared-name
//! reference counts (the allocator and the counts were a fifth of the prepare path).
//!
//! Name tables are interned for the life of the process, so a row holds a plain reference: a
//! reference count taken by every row on the prepare workers and dropped on the dispatcher was one
//! cache line bounced between cores for every row, which kept a second core from adding speed.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, PoisonError};

use smallvec::SmallVec;

use super::json;

/// The property names values may have, in mapping order; one table per mapping (see [`intern`]).
pub type Names = &'static NameTable;

/// Property names, and each written once as a JSON object key: a row's JSON copies its keys
/// instead of checking and quoting every name again (half the strings of a row's JSON).
pub struct NameTable {
    names: Vec<Arc<str>>,
    /// `"name":` for each name.
    keys: Vec<Box<[u8]>>,
}

impl NameTable {
    /// The table of no names.
    const EMPTY: NameTable = NameTable {
        names: Vec::new(),
        keys: Vec::new(),
    };

    fn new(names: Vec<Arc<str>>) -> NameTable {
        let keys = names
            .iter()
            .map(|name| {
                let mut key = Vec::with_capacity(name.len() + 3);
                json::string(&mut key, name);
                key.push(b':');
                key.into_boxed_slice()
            })
            .collect();
        NameTable { names, keys }
    }
}

impl fmt::Debug for NameTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.names).finish()
    }
}

impl Deref for NameTable {
    type Target = [Arc<str>];

    fn deref(&self) -> &[Arc<str>] {
        &self.names
    }
}

/// The one table of these `names`, made on first use and kept for the life of the process (a
/// process sees a handful of mappings: one per pipeline).
pub fn intern(names: Vec<Arc<str>>) -> Names {
    static TABLES: Mutex<Vec<Names>> = Mutex::new(Vec::new());
    let mut tables = TABLES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(table) = tables.iter().find(|table| table.names == names) {
        return table;
    }
    let table: Names = Box::leak(Box::new(NameTable::new(names)));
    tables.push(table);
    table
}

/// A row's property values, in the order they were pushed (mapping order).
#[derive(Clone)]
pub struct Properties {
    names: Names,
    text: String,
    /// Per value: its name's index in `names` and its end in `text`; value `i` starts where value
    /// `i − 1` ends. Held inline up to [`INLINE_VALUES`] values: a row's values then cost one
    /// allocation, not two.
    entries: SmallVec<[(u32, u32); INLINE_VALUES]>,
}

/// The values a row holds without a second allocation.
const INLINE_VALUES: usize = 16;

impl Properties {
    /// No values yet, with room for `values` values of `bytes` bytes in all.
    pub fn with_capacity(names: Names, values: usize, bytes: usize) -> Properties {
        Properties {
            names,
            text: String::with_capacity(bytes),
            entries: SmallVec::with_capacity(values),
        }
    }

    /// Appends the value of the property `names[name]`.
    pub fn push(&mut self, name: usize, value: &str) {
        assert!(
            name < self.names.len(),
            "property {name} is not in the table"
        );
        self.text.push_str(value);
        let end = u32::try_from(self.text.len()).expect("a row's values are under 4 GiB");
        self.entries.push((name as u32, end));
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops every value (the name table stays).
    pub fn clear(&mut self) {
        self.text.clear();
        self.entries.clear();
    }

    /// Appends the values as a JSON object (`{"name":"value",…}`) to `out`.
    ///
    /// Written where the request body is, not ahead by the prepare workers: a row carrying its JSON
    /// cost an allocation, a copy and a free on another thread, more than writing it here
    /// (measured: the threaded prepare pass 8–15 % slower, and more memory per row in flight).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // One check over every value at once: nearly always none needs escaping, and each is then
        // copied between quotes with no check of its own.
        let plain = !json::needs_escaping(self.text.as_bytes());
        // Exact when no value needs escaping: braces, and per value its key, quotes and a comma.
        let keys: usize = self
            .entries
            .iter()
            .map(|&(name, _)| self.names.keys[name as usize].len() + 3)
            .sum();
        out.reserve(self.text.len() + keys + 2);
        out.push(b'{');
        // The values walked here, not through `indexed()`: a hot loop that must not hang on the
        // compiler inlining an iterator (once it did not, and encoding took 3 ms more a 100k rows).
        let mut start = 0;
        for (i, &(name, end)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&self.names.keys[name as usize]);
            let value = &self.text[start..end as usize];
            start = end as usize;
            match plain {
                true => json::quoted(out, value),
                false => json::string(out, value),
            }
        }
        out.push(b'}');
    }

    /// (name index, name, value) in order.
    pub fn indexed(&self) -> impl ExactSizeIterator<Item = (usize, &'static Arc<str>, &str)> + '_ {
        let names = self.names;
        self.entries
            .iter()
            .enumerate()
            .map(move |(i, &(name, end))| {
                let start = match i {
                    0 => 0,
                    _ => self.entries[i - 1].1 as usize,
                };
                let name = name as usize;
                (name, &names[name], &self.text[start..end as usize])
            })
    }

    /// (name, value) pairs in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&'static Arc<str>, &str)> + '_ {
        self.indexed().map(|(_, name, value)| (name, value))
    }

    /// The value of the property named `name`, if the row has one.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| &***n == name).map(|(_, v)| v)
    }
}

impl Default for Properties {
    fn default() -> Properties {
        static EMPTY: NameTable = NameTable::EMPTY;
        Properties::with_capacity(&EMPTY, 0, 0)
    }
}

/// Values built one by one (tests, and the inputs made outside the mapper), each name its own.
impl<N: AsRef<str>, V: AsRef<str>> FromIterator<(N, V)> for Properties {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(pairs: I) -> Properties {
        let (names, values): (Vec<Arc<str>>, Vec<V>) = pairs
            .into_iter()
            .map(|(n, v)| (Arc::from(n.as_ref()), v))
            .unzip();
        let bytes = values.iter().map(|v| v.as_ref().len()).sum();
        let mut out = Properties::with_capacity(intern(names), values.len(), bytes);
        for (i, value) in values.iter().enumerate() {
            out.push(i, value.as_ref());
        }
        out
    }
}

/// Equal when they hold the same values under the same names in the same order, whatever the table.
impl PartialEq for Properties {
    fn eq(&self, other: &Properties) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|((n, v), (m, w))| n == m && v == w)
    }
}

impl Eq for Properties {}

impl fmt::Debug for Properties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_their_names_bounds_and_order_also_when_empty() {
        let names = intern(["email", "firstname", "city"].map(Arc::from).to_vec());
        assert!(
            std::ptr::eq(names, intern(names.to_vec())),
            "one table per names"
        );
        let mut p = Properties::with_capacity(names, 3, 16);
        p.push(0, "a@b.co");
        p.push(2, "");
        p.push(1, "Zoë");
        assert_eq!(p.len(), 3);
        let pairs: Vec<(&str, &str)> = p.iter().map(|(n, v)| (&**n, v)).collect();
        assert_eq!(
            pairs,
            [("email", "a@b.co"), ("city", ""), ("firstname", "Zoë")]
        );
        assert_eq!(p.get("firstname"), Some("Zoë"));
        let indexed: Vec<(usize, &str)> = p.indexed().map(|(i, _, v)| (i, v)).collect();
        assert_eq!(indexed, [(0, "a@b.co"), (2, ""), (1, "Zoë")]);
        assert_eq!(p.get("phone"), None);
        let same: Properties = [("email", "a@b.co"), ("city", ""), ("firstname", "Zoë")]
            .into_iter()
            .collect();
        assert_eq!(p, same, "equal whatever the name table");
        assert_eq!(
            format!("{p:?}"),
            r#"{"email": "a@b.co", "city": "", "firstname": "Zoë"}"#
        );
        let mut written = Vec::new();
        p.write_json(&mut written);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&written).unwrap(),
            serde_json::json!({"email": "a@b.co", "city": "", "firstname": "Zoë"})
        );
        p.push(1, "Zoe");
        let mut changed = Vec::new();
        p.write_json(&mut changed);
        assert!(
            String::from_utf8(changed)
                .unwrap()
                .ends_with(r#""firstname":"Zoe"}"#),
        );
        p.clear();
        assert!(p.is_empty());
        assert_ne!(p, same);
        assert_eq!(p, Properties::default());
    }

    #[test]
    fn one_value_that_needs_escaping_is_escaped_and_the_others_copied() {
        let values = [
            ("email", "a@b.co"),
            ("firstname", "Zoë \"Z\"\\"),
            ("city", "line\nbreak\u{1}"),
            ("phone", ""),
        ];
        for escaped in [None, Some(1), Some(2)] {
            let row: Properties = values
                .iter()
                .enumerate()
                .map(|(i, &(name, value))| match Some(i) == escaped || i == 0 {
                    true => (name, value),
                    false => (name, "plain"),
                })
                .collect();
            let mut out = Vec::new();
            row.write_json(&mut out);
            let back: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&out).unwrap();
            let expected: Vec<(&str, &str)> = row.iter().map(|(n, v)| (&**n, v)).collect();
            let read: Vec<(&str, &str)> = back
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str().unwrap()))
                .collect();
            assert_eq!(read.len(), expected.len());
            for pair in expected {
                assert!(
                    read.contains(&pair),
                    "{pair:?} in {}",
                    String::from_utf8_lossy(&out)
                );
            }
        }
    }
}
