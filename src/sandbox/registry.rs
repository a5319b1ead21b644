//! The running portal's object types, and how names resolve to them.
//!
//! The set of types is fixed at start; what can change at run time is a type's properties
//! (`POST /crm/v3/properties/{objectType}`). Each type therefore sits in its own slot as an
//! `Arc<ObjectType>` behind a std `RwLock`: a request takes the current version once (a read lock held
//! for one `Arc` clone, never across an `.await`) and works with that immutable snapshot, so the hot
//! paths pay one uncontended lock and one reference count per request, not a lock per property lookup.
//! A property creation builds a new version and swaps it in; requests already running finish with the
//! version they took. Properties are only ever appended, so an older version's property indexes stay
//! valid for records written by a newer one and the other way round.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};

use super::objects::{self, ObjectType};

/// Every object type of the portal.
#[derive(Debug)]
pub struct Registry {
    slots: Vec<RwLock<Arc<ObjectType>>>,
    /// The types as the portal started (what `/_sandbox/reset` returns to).
    originals: Vec<Arc<ObjectType>>,
    keys: HashMap<String, usize>,
}

impl Registry {
    /// The standard types plus the custom types of `schema_file`.
    pub fn new(portal_id: u64, schema_file: Option<&Path>) -> io::Result<Registry> {
        let originals: Vec<Arc<ObjectType>> = objects::portal_types(portal_id, schema_file)?
            .into_iter()
            .map(Arc::new)
            .collect();
        let mut keys = HashMap::new();
        for ty in &originals {
            for key in [&ty.id, &ty.name, &ty.singular, &ty.fully_qualified_name] {
                keys.insert(key.to_lowercase(), ty.index);
            }
        }
        Ok(Registry {
            slots: originals
                .iter()
                .map(|ty| RwLock::new(Arc::clone(ty)))
                .collect(),
            originals,
            keys,
        })
    }

    /// A type by id (`0-1`), plural or singular name, or `p{portalId}_{name}`; case-insensitive.
    pub fn resolve(&self, key: &str) -> Option<Arc<ObjectType>> {
        let index = match self.keys.get(key) {
            Some(index) => *index,
            None => *self.keys.get(&key.to_lowercase())?,
        };
        Some(self.get(index))
    }

    /// The current version of a type by its registry index.
    pub fn get(&self, index: usize) -> Arc<ObjectType> {
        Arc::clone(
            &self.slots[index]
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// The current version of every type, in registry order.
    pub fn all(&self) -> Vec<Arc<ObjectType>> {
        (0..self.slots.len()).map(|i| self.get(i)).collect()
    }

    /// Replaces type `index` by what `change` makes of its current version; the slot stays locked while
    /// `change` runs, so two changes to one type cannot both start from the same version.
    pub fn update<E>(
        &self,
        index: usize,
        change: impl FnOnce(&ObjectType) -> Result<ObjectType, E>,
    ) -> Result<Arc<ObjectType>, E> {
        let mut slot = self.slots[index]
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let next = Arc::new(change(&slot)?);
        *slot = Arc::clone(&next);
        Ok(next)
    }

    /// Every type back to how the portal started (created properties gone).
    pub fn reset(&self) {
        for (slot, original) in self.slots.iter().zip(&self.originals) {
            *slot.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(original);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::properties::{PropType, PropertyDef};
    use super::*;

    #[test]
    fn resolves_by_id_and_names() {
        let reg = Registry::new(42, None).unwrap();
        for key in ["contacts", "contact", "0-1", "CONTACTS"] {
            assert_eq!(reg.resolve(key).unwrap().name, "contacts", "{key}");
        }
        assert_eq!(reg.resolve("line_item").unwrap().id, "0-8");
        assert_eq!(reg.resolve("0-116").unwrap().name, "postal_mail");
        assert!(reg.resolve("widgets").is_none());
        assert_eq!(reg.all().len(), 23);
    }

    #[test]
    fn updates_swap_a_version_and_reset_restores() {
        let reg = Registry::new(42, None).unwrap();
        let before = reg.resolve("deals").unwrap();
        let def = PropertyDef::new("region", "Region", PropType::String);
        let after = reg
            .update(before.index, |ty| ty.with_property(def.clone()))
            .unwrap();
        assert!(after.prop("region").is_some());
        assert!(reg.resolve("0-3").unwrap().prop("region").is_some());
        assert!(
            before.prop("region").is_none(),
            "a taken version never changes"
        );
        assert!(
            reg.update(before.index, |ty| ty.with_property(def))
                .is_err()
        );
        reg.reset();
        assert!(reg.resolve("deals").unwrap().prop("region").is_none());
    }
}
