//! A record's property values with their history, held compactly: one array of small fixed-size
//! entries (property, span of text, timestamp, source), sorted by property and oldest first within a
//! property, and one buffer holding every value ever written end to end. The current value of a
//! property is its latest entry: nothing is stored twice.
//!
//! A contact of ten properties and a few derived ones costs ~300 bytes of entries and its values'
//! bytes, in two allocations, where a `Vec` of versions per property of the type (most of them empty)
//! and a shared string per value cost several kilobytes.

/// Who wrote a value, as `propertiesWithHistory` reports it in `sourceType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A client's write.
    Api,
    /// A value the server derives (`hs_email_domain`, a new contact's `lifecyclestage`, ...).
    Calculated,
}

impl Source {
    /// The `sourceType` on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "API",
            Source::Calculated => "CALCULATED",
        }
    }
}

/// One written value: where its text lies in the buffer, when and by whom it was written.
#[derive(Debug, Clone, Copy)]
struct Entry {
    timestamp: i64,
    start: u32,
    len: u32,
    prop: u32,
    source: Source,
}

/// One version of a property, borrowed from its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version<'a> {
    /// The value; `""` when the write cleared the property.
    pub value: &'a str,
    /// Epoch milliseconds of the write.
    pub timestamp: i64,
    /// Who wrote it.
    pub source: Source,
}

/// The values of one record and every earlier value (see the module comment). Writes go through
/// [`History::push`]; [`History::seal`] returns the spare capacity once a write is done.
#[derive(Debug, Clone, Default)]
pub struct History {
    entries: Vec<Entry>,
    text: String,
}

impl History {
    /// The entries of `prop`, oldest first (empty when never written).
    fn of(&self, prop: usize) -> &[Entry] {
        let start = self.entries.partition_point(|e| (e.prop as usize) < prop);
        let end = start + self.entries[start..].partition_point(|e| e.prop as usize == prop);
        &self.entries[start..end]
    }

    fn text_of(&self, entry: &Entry) -> &str {
        let start = entry.start as usize;
        self.text
            .get(start..start + entry.len as usize)
            .unwrap_or_default()
    }

    fn version(&self, entry: &Entry) -> Version<'_> {
        Version {
            value: self.text_of(entry),
            timestamp: entry.timestamp,
            source: entry.source,
        }
    }

    /// The current value of `prop`: `None` when never written or cleared (`""`).
    pub fn current(&self, prop: usize) -> Option<&str> {
        // The latest entry of `prop` is the last one at or before its end: one search, not two.
        let end = self.entries.partition_point(|e| e.prop as usize <= prop);
        self.entries[..end]
            .last()
            .filter(|e| e.prop as usize == prop)
            .map(|e| self.text_of(e))
            .filter(|v| !v.is_empty())
    }

    /// Every version of `prop`, oldest first.
    pub fn versions(&self, prop: usize) -> impl DoubleEndedIterator<Item = Version<'_>> + '_ {
        self.of(prop).iter().map(|e| self.version(e))
    }

    /// The properties that have a current value, in property order, with that value.
    pub fn currents(&self) -> impl Iterator<Item = (usize, &str)> + '_ {
        self.latest()
            .map(|e| (e.prop as usize, self.text_of(e)))
            .filter(|(_, v)| !v.is_empty())
    }

    /// The latest entry of every property written, in property order.
    fn latest(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|(i, e)| {
                self.entries
                    .get(i + 1)
                    .is_none_or(|next| next.prop != e.prop)
            })
            .map(|(_, e)| e)
    }

    /// Records a new value of `prop` (the caller checked that it differs from the current one).
    pub fn push(&mut self, prop: usize, value: &str, timestamp: i64, source: Source) {
        if u32::try_from(self.text.len() + value.len()).is_err() {
            self.forget_superseded();
        }
        let (Ok(prop), Ok(start), Ok(len)) = (
            u32::try_from(prop),
            u32::try_from(self.text.len()),
            u32::try_from(value.len()),
        ) else {
            // Unreachable: a body is at most a few MB and the buffer was just cut to current values.
            return;
        };
        self.text.push_str(value);
        let at = self.entries.partition_point(|e| e.prop <= prop);
        self.entries.insert(
            at,
            Entry {
                timestamp,
                start,
                len,
                prop,
                source,
            },
        );
    }

    /// Gives back the spare capacity of a write: a record is written once and read many times, and
    /// amortised growth would leave up to half of each buffer unused for the life of the record.
    pub fn seal(&mut self) {
        self.entries.shrink_to_fit();
        self.text.shrink_to_fit();
    }

    /// A copy holding exactly these entries and values, no spare capacity.
    pub fn sealed_copy(&self) -> History {
        History {
            entries: self.entries.as_slice().to_vec(),
            text: self.text.as_str().to_owned(),
        }
    }

    /// Forgets every value, keeping the buffers' room for reuse.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.text.clear();
    }

    /// Drops every superseded version, keeping current values only. Runs only when a record's values
    /// ever written reach 4 GiB, the limit of the 32-bit offsets that keep an entry at 24 bytes.
    fn forget_superseded(&mut self) {
        let mut kept = History::default();
        for e in self.latest() {
            kept.push(e.prop as usize, self.text_of(e), e.timestamp, e.source);
        }
        *self = kept;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(history: &History, prop: usize) -> Vec<&str> {
        history.versions(prop).map(|v| v.value).collect()
    }

    #[test]
    fn entries_stay_small() {
        assert_eq!(std::mem::size_of::<Entry>(), 24);
    }

    #[test]
    fn versions_keep_write_order_per_property() {
        let mut h = History::default();
        h.push(5, "b1", 1, Source::Api);
        h.push(2, "a1", 1, Source::Api);
        h.push(5, "b2", 2, Source::Api);
        h.push(9, "lead", 2, Source::Calculated);
        h.push(2, "", 3, Source::Api);
        h.push(5, "b3", 4, Source::Api);
        h.seal();
        assert_eq!(values(&h, 5), ["b1", "b2", "b3"]);
        assert_eq!(values(&h, 2), ["a1", ""]);
        assert_eq!(values(&h, 7), Vec::<&str>::new());
        let newest = h.versions(5).next_back().unwrap();
        assert_eq!((newest.timestamp, newest.source), (4, Source::Api));
        assert_eq!(h.versions(9).next().unwrap().source.as_str(), "CALCULATED");
        assert_eq!(h.current(5), Some("b3"));
        assert_eq!(h.current(2), None, "a cleared value is no current value");
        assert_eq!(h.current(7), None);
        assert_eq!(h.currents().collect::<Vec<_>>(), [(5, "b3"), (9, "lead")]);
    }

    #[test]
    fn a_sealed_copy_holds_the_values_and_no_spare_room() {
        let mut scratch = History::default();
        for (prop, value) in [(3, "ada@example.com"), (1, "Ada"), (7, "lead")] {
            scratch.push(prop, value, 1, Source::Api);
        }
        let sealed = scratch.sealed_copy();
        assert_eq!(
            sealed.currents().collect::<Vec<_>>(),
            scratch.currents().collect::<Vec<_>>()
        );
        assert_eq!(sealed.entries.capacity(), 3);
        assert_eq!(sealed.text.capacity(), sealed.text.len());
        let room = scratch.text.capacity();
        scratch.clear();
        assert_eq!(scratch.currents().count(), 0);
        assert_eq!(
            scratch.text.capacity(),
            room,
            "cleared, not freed: the next record reuses it"
        );
    }

    #[test]
    fn an_empty_value_after_a_value_is_kept_as_a_version() {
        let mut h = History::default();
        h.push(0, "x", 1, Source::Api);
        h.push(0, "", 2, Source::Api);
        h.push(0, "y", 3, Source::Api);
        assert_eq!(values(&h, 0), ["x", "", "y"]);
        assert_eq!(h.current(0), Some("y"));
    }

    #[test]
    fn forgetting_superseded_versions_keeps_current_values() {
        let mut h = History::default();
        h.push(1, "old", 1, Source::Api);
        h.push(3, "c", 1, Source::Calculated);
        h.push(1, "new", 2, Source::Api);
        h.forget_superseded();
        assert_eq!(values(&h, 1), ["new"]);
        assert_eq!(h.versions(1).next().unwrap().timestamp, 2);
        assert_eq!(h.current(3), Some("c"));
        assert_eq!(h.text.len(), 4);
    }
}
