//! The links between records: for every record, the records it is associated with and by which type
//! ids. Each association is stored from both ends (the far end under the inverse type id), so "what is
//! linked to X" is one lookup whichever side a client asks from, through v3 or v4. Targets are kept in
//! `(type, id)` order, which is what v4 paging walks.

use std::collections::{BTreeMap, HashMap};

/// A record: `(type index, record id)`.
pub type RecordKey = (usize, u64);

/// Every link of the portal.
#[derive(Debug, Default)]
pub struct Links {
    map: HashMap<RecordKey, BTreeMap<RecordKey, Vec<u32>>>,
}

impl Links {
    /// Links `from` to `to` with `type_id`, and `to` back to `from` with `inverse` (when the type has
    /// one). Linking twice is a no-op; answers whether anything was new.
    pub fn add(
        &mut self,
        from: RecordKey,
        to: RecordKey,
        type_id: u32,
        inverse: Option<u32>,
    ) -> bool {
        let mut new = insert(self.map.entry(from).or_default(), to, type_id);
        if let Some(inverse) = inverse {
            new |= insert(self.map.entry(to).or_default(), from, inverse);
        }
        new
    }

    /// Removes one type between two records (and its inverse from the other end).
    pub fn remove(&mut self, from: RecordKey, to: RecordKey, type_id: u32, inverse: Option<u32>) {
        self.drop_type(from, to, type_id);
        if let Some(inverse) = inverse {
            self.drop_type(to, from, inverse);
        }
    }

    /// Removes every type between two records, in both directions.
    pub fn remove_pair(&mut self, a: RecordKey, b: RecordKey) {
        for (from, to) in [(a, b), (b, a)] {
            if let Some(targets) = self.map.get_mut(&from) {
                targets.remove(&to);
                if targets.is_empty() {
                    self.map.remove(&from);
                }
            }
        }
    }

    /// Forgets a record's links, from both ends (it was archived: HubSpot drops its associations).
    pub fn forget(&mut self, record: RecordKey) {
        let Some(targets) = self.map.remove(&record) else {
            return;
        };
        for far in targets.keys() {
            if let Some(back) = self.map.get_mut(far) {
                back.remove(&record);
                if back.is_empty() {
                    self.map.remove(far);
                }
            }
        }
    }

    /// Every target of `from` with its type ids, in `(type, id)` order.
    pub fn of(&self, from: RecordKey) -> impl Iterator<Item = (RecordKey, &[u32])> {
        self.map
            .get(&from)
            .into_iter()
            .flat_map(|targets| targets.iter().map(|(to, types)| (*to, types.as_slice())))
    }

    /// The targets of `from` of type `to_type` whose id is above `after`, in id order (v4 paging).
    pub fn toward(
        &self,
        from: RecordKey,
        to_type: usize,
        after: u64,
    ) -> impl Iterator<Item = (u64, &[u32])> {
        self.map.get(&from).into_iter().flat_map(move |targets| {
            targets
                .range((to_type, after.saturating_add(1))..=(to_type, u64::MAX))
                .map(|(to, types)| (to.1, types.as_slice()))
        })
    }

    /// Every link stored from records of `from_type`, in record order (`/_sandbox/links`).
    pub fn all_from(&self, from_type: usize) -> Vec<(u64, RecordKey, Vec<u32>)> {
        let mut all: Vec<_> = self
            .map
            .iter()
            .filter(|(from, _)| from.0 == from_type)
            .flat_map(|(from, targets)| {
                targets
                    .iter()
                    .map(|(to, types)| (from.1, *to, types.clone()))
            })
            .collect();
        all.sort_unstable_by_key(|(from, to, _)| (*from, *to));
        all
    }

    /// Forgets everything (`/_sandbox/reset`).
    pub fn clear(&mut self) {
        self.map.clear();
    }

    fn drop_type(&mut self, from: RecordKey, to: RecordKey, type_id: u32) {
        let Some(targets) = self.map.get_mut(&from) else {
            return;
        };
        if let Some(types) = targets.get_mut(&to) {
            types.retain(|t| *t != type_id);
            if types.is_empty() {
                targets.remove(&to);
            }
        }
        if targets.is_empty() {
            self.map.remove(&from);
        }
    }
}

fn insert(targets: &mut BTreeMap<RecordKey, Vec<u32>>, to: RecordKey, type_id: u32) -> bool {
    let types = targets.entry(to).or_default();
    if types.contains(&type_id) {
        false
    } else {
        types.push(type_id);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTACT: usize = 1;
    const COMPANY: usize = 0;

    #[test]
    fn links_are_two_way_and_idempotent() {
        let mut links = Links::default();
        assert!(links.add((CONTACT, 10), (COMPANY, 20), 279, Some(280)));
        assert!(!links.add((CONTACT, 10), (COMPANY, 20), 279, Some(280)));
        links.add((CONTACT, 10), (COMPANY, 20), 1, Some(2));
        let back: Vec<_> = links.of((COMPANY, 20)).collect();
        assert_eq!(back, [((CONTACT, 10), &[280, 2][..])]);
        links.remove((CONTACT, 10), (COMPANY, 20), 1, Some(2));
        assert_eq!(links.of((COMPANY, 20)).next().unwrap().1, [280]);
        links.remove_pair((COMPANY, 20), (CONTACT, 10));
        assert!(links.of((COMPANY, 20)).next().is_none());
        assert!(links.of((CONTACT, 10)).next().is_none());
    }

    #[test]
    fn paging_walks_one_type_in_id_order() {
        let mut links = Links::default();
        for id in [30, 10, 20] {
            links.add((CONTACT, 1), (COMPANY, id), 279, Some(280));
        }
        links.add((CONTACT, 1), (CONTACT, 5), 449, Some(449));
        let ids: Vec<u64> = links
            .toward((CONTACT, 1), COMPANY, 0)
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids, [10, 20, 30]);
        let ids: Vec<u64> = links
            .toward((CONTACT, 1), COMPANY, 10)
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids, [20, 30]);
        // Contact 1's four links, and contact 5's link back to contact 1.
        assert_eq!(links.all_from(CONTACT).len(), 5);
    }

    #[test]
    fn an_archived_record_takes_its_links_along() {
        let mut links = Links::default();
        links.add((CONTACT, 1), (COMPANY, 2), 279, Some(280));
        links.add((CONTACT, 3), (COMPANY, 2), 279, Some(280));
        links.forget((COMPANY, 2));
        assert!(links.of((CONTACT, 1)).next().is_none());
        assert!(links.of((CONTACT, 3)).next().is_none());
        assert!(links.all_from(CONTACT).is_empty());
    }
}
