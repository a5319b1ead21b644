//! A table's records in id order, in chunks of a fixed capacity. Ids only grow (they are drawn under
//! the table's write lock), so a new record goes to the end of the last chunk; lookups are two binary
//! searches. A `BTreeMap` kept ~55 % of each node filled under ascending inserts (≈ 200 bytes a
//! record at this record size); one `Vec` would double, copying every record and holding twice the
//! memory while it grows. Chunks cost the records themselves and nothing per record beside.

use super::record::Record;

/// Records per chunk: large enough that chunk overhead vanishes, small enough that an insert out of
/// order (never seen, but kept correct) moves little.
const CHUNK: usize = 4096;

/// The records of one table, sorted by id.
#[derive(Debug, Default)]
pub struct Rows {
    chunks: Vec<Vec<Record>>,
}

impl Rows {
    /// Where `id` is (`Ok`) or would go (`Err`): `(chunk, position)`.
    fn locate(&self, id: u64) -> Result<(usize, usize), (usize, usize)> {
        let chunk = self
            .chunks
            .partition_point(|c| c.first().is_some_and(|r| r.id <= id))
            .saturating_sub(1);
        match self.chunks.get(chunk) {
            None => Err((0, 0)),
            Some(records) => records
                .binary_search_by_key(&id, |r| r.id)
                .map(|at| (chunk, at))
                .map_err(|at| (chunk, at)),
        }
    }

    /// The record with `id`.
    pub fn get(&self, id: u64) -> Option<&Record> {
        let (chunk, at) = self.locate(id).ok()?;
        self.chunks.get(chunk)?.get(at)
    }

    /// The record with `id`, to change it.
    pub fn get_mut(&mut self, id: u64) -> Option<&mut Record> {
        let (chunk, at) = self.locate(id).ok()?;
        self.chunks.get_mut(chunk)?.get_mut(at)
    }

    /// Adds `record`, unless its id is taken (then the record holding it stays); returns the record
    /// now holding the id.
    pub fn insert(&mut self, record: Record) -> &mut Record {
        let last = self.chunks.last().and_then(|c| c.last()).map(|r| r.id);
        // A new record's id is above every other (ids only grow): appended without a search,
        // whose probes into a chunk of 4,096 records each missed the cache.
        if last.is_none_or(|last| record.id > last) {
            if self.chunks.last().is_none_or(|c| c.len() == CHUNK) {
                self.chunks.push(Vec::with_capacity(CHUNK));
            }
            let chunk = self.chunks.last_mut().expect("a chunk was just ensured");
            chunk.push(record);
            return chunk.last_mut().expect("a record was just pushed");
        }
        let (chunk, at) = match self.locate(record.id) {
            Ok((chunk, at)) => (chunk, at),
            Err((mut chunk, mut at)) => {
                if self.chunks[chunk].len() == CHUNK {
                    let tail = self.chunks[chunk].split_off(CHUNK / 2);
                    self.chunks.insert(chunk + 1, tail);
                    if at > CHUNK / 2 {
                        (chunk, at) = (chunk + 1, at - CHUNK / 2);
                    }
                }
                self.chunks[chunk].insert(at, record);
                (chunk, at)
            }
        };
        &mut self.chunks[chunk][at]
    }

    /// Records with id ≥ `from`, in id order.
    pub fn range(&self, from: u64) -> impl Iterator<Item = &Record> {
        let (chunk, at) = self.locate(from).unwrap_or_else(|place| place);
        let first = self
            .chunks
            .get(chunk)
            .map_or(&[][..], |c| &c[at.min(c.len())..]);
        let rest = self.chunks.get(chunk + 1..).unwrap_or_default();
        first.iter().chain(rest.iter().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::super::history::History;
    use super::*;

    fn record(id: u64) -> Record {
        Record {
            id,
            created: 0,
            updated: 0,
            archived: None,
            values: History::default(),
        }
    }

    fn ids(rows: &Rows, from: u64) -> Vec<u64> {
        rows.range(from).map(|r| r.id).collect()
    }

    #[test]
    fn ascending_ids_fill_chunks_and_are_found() {
        let mut rows = Rows::default();
        assert!(rows.get(1).is_none() && ids(&rows, 0).is_empty());
        let n = 2 * CHUNK as u64 + 10;
        for id in (1..=n).map(|i| i * 2) {
            rows.insert(record(id));
        }
        assert_eq!(rows.chunks.len(), 3);
        assert!(rows.chunks.iter().all(|c| c.len() <= CHUNK));
        assert_eq!(
            rows.get(2 * CHUNK as u64).map(|r| r.id),
            Some(2 * CHUNK as u64)
        );
        assert!(rows.get(3).is_none(), "odd ids were never inserted");
        assert!(rows.get(2 * n + 2).is_none());
        rows.get_mut(4).unwrap().updated = 7;
        assert_eq!(rows.get(4).unwrap().updated, 7);
        let from = 2 * CHUNK as u64 - 1;
        let listed = ids(&rows, from);
        assert_eq!(listed.first(), Some(&(2 * CHUNK as u64)));
        assert_eq!(listed.len() as u64, n - CHUNK as u64 + 1);
        assert_eq!(ids(&rows, 0).len() as u64, n);
        assert!(ids(&rows, 2 * n + 1).is_empty());
    }

    #[test]
    fn an_id_out_of_order_lands_in_place_and_a_taken_id_keeps_its_record() {
        let mut rows = Rows::default();
        for id in (0..CHUNK as u64 + 1).map(|i| 10 + 2 * i) {
            rows.insert(record(id));
        }
        rows.insert(record(11)).updated = 1;
        rows.insert(record(3));
        let mut again = record(11);
        again.updated = 2;
        assert_eq!(
            rows.insert(again).updated,
            1,
            "the first record keeps the id"
        );
        let listed = ids(&rows, 0);
        assert_eq!(&listed[..4], [3, 10, 11, 12]);
        assert!(listed.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(listed.len(), CHUNK + 3);
        assert!(rows.chunks.iter().all(|c| c.len() <= CHUNK));
        assert_eq!(rows.get(11).unwrap().updated, 1);
    }
}
