//! A row's original fields: one text buffer and where each field ends, so a row read costs one
//! allocation up to 16 fields and two beyond, whatever its width (a `Vec<String>` cost one per
//! field, and the rows of a large file spent a third of their time in the allocator).

use std::fmt;
use std::ops::Index;

use smallvec::SmallVec;

/// The fields of one row, in column order, as the user wrote them.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Fields {
    text: String,
    /// The end of each field in `text`; field `i` starts where field `i − 1` ends. Held inline up
    /// to [`INLINE_FIELDS`] fields: a row then costs one allocation, not two.
    ends: SmallVec<[u32; INLINE_FIELDS]>,
}

/// The fields a row holds without a second allocation.
const INLINE_FIELDS: usize = 16;

impl Fields {
    /// Room for `fields` fields of `bytes` bytes in all.
    pub fn with_capacity(fields: usize, bytes: usize) -> Fields {
        Fields {
            text: String::with_capacity(bytes),
            ends: SmallVec::with_capacity(fields),
        }
    }

    /// The fields of `text`, field `i` ending at `ends[i]` (a reader's row, copied whole).
    pub fn from_parts(text: &str, ends: &[usize]) -> Fields {
        debug_assert!(ends.is_sorted() && ends.last().is_none_or(|&end| end == text.len()));
        Fields {
            text: text.to_owned(),
            ends: ends.iter().map(|&end| end_of(end)).collect(),
        }
    }

    /// Appends a field.
    pub fn push(&mut self, field: &str) {
        self.text.push_str(field);
        self.ends.push(end_of(self.text.len()));
    }

    /// The bytes of all fields together.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// How many fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Field `i`, if the row has one.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        self.text.get(start..end)
    }

    /// The fields in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + Clone + '_ {
        (0..self.ends.len()).map(|i| self.get(i).unwrap_or(""))
    }

    /// The fields as owned strings.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(String::from).collect()
    }
}

/// A field's end as stored: a row's text is bounded far below 4 GiB (the readers cap a row in
/// bytes).
fn end_of(end: usize) -> u32 {
    u32::try_from(end).expect("a row's fields are under 4 GiB")
}

impl Index<usize> for Fields {
    type Output = str;

    /// Field `i`; panics past the last field, as a slice does.
    fn index(&self, i: usize) -> &str {
        match self.get(i) {
            Some(field) => field,
            None => panic!("field {i} of a row of {} fields", self.len()),
        }
    }
}

impl<S: AsRef<str>> FromIterator<S> for Fields {
    fn from_iter<I: IntoIterator<Item = S>>(fields: I) -> Fields {
        let mut out = Fields::default();
        for field in fields {
            out.push(field.as_ref());
        }
        out
    }
}

impl From<Vec<String>> for Fields {
    fn from(fields: Vec<String>) -> Fields {
        let bytes = fields.iter().map(String::len).sum();
        let mut out = Fields::with_capacity(fields.len(), bytes);
        for field in &fields {
            out.push(field);
        }
        out
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<S: AsRef<str>> PartialEq<[S]> for Fields {
    fn eq(&self, other: &[S]) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for Fields {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for Fields {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_their_bounds_also_when_empty_or_wide() {
        let fields: Fields = ["a@b.co", "", "Zoë, \"Z\"", ""].into_iter().collect();
        assert_eq!(fields.len(), 4);
        assert_eq!(fields, ["a@b.co", "", "Zoë, \"Z\"", ""]);
        assert_eq!(fields.get(1), Some(""));
        assert_eq!(&fields[2], "Zoë, \"Z\"");
        assert_eq!(fields.get(4), None);
        assert_eq!(format!("{fields:?}"), r#"["a@b.co", "", "Zoë, \"Z\"", ""]"#);
        assert_eq!(Fields::from(fields.to_vec()), fields);
        assert!(Fields::default().is_empty());
        assert_ne!(fields, ["a@b.co", "", "Zoë, \"Z\""]);
    }
}
