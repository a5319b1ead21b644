//! In-memory storage: one table of records per object type, with unique-value indexes and per-property
//! history, plus the association links.
//!
//! Each table sits behind its own std `RwLock` (and the links behind a std `Mutex`): critical sections are
//! short, CPU-only and never span an `.await`, so a blocking lock is cheaper than tokio's async one and
//! cannot be held across a yield by construction (mini-redis' `db.rs` makes the same choice). Handlers
//! validate and serialize outside the locks. Lock order is "one table, then links"; no code path ever
//! holds two table locks, so two writers on different types cannot deadlock.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::history::{History, Source};
use super::links::Links;
use super::objects::ObjectType;
use super::properties::PropertyDef;
use super::record::Record;
use super::registry::Registry;
use super::rows::Rows;
use super::unique::UniqueIndex;
use super::values;

/// The first record id of a portal; ids increase across all types, like HubSpot's.
const FIRST_ID: u64 = 10_001;

/// One index per unique slot of a type (a value's keys → the live record holding it). A unique
/// property created at run time adds an index; lookups by a slot the table does not have yet find
/// nothing.
type Indexes = Vec<UniqueIndex>;

/// The records of one object type.
#[derive(Debug)]
pub struct Table {
    records: Rows,
    unique: Indexes,
    live: usize,
    /// Where a new record's values are written before they are copied out at their final size: one
    /// allocation per buffer instead of a growth step per value and a shrink at the end.
    scratch: History,
}

impl Table {
    fn new(ty: &ObjectType) -> Table {
        Table {
            records: Rows::default(),
            unique: vec![UniqueIndex::default(); ty.unique_count],
            live: 0,
            scratch: History::default(),
        }
    }

    /// Makes room for the unique indexes of `ty` (a newer version with a created unique property). Its
    /// index starts empty, which is right: no record can hold a value of a property that did not exist.
    pub fn grow(&mut self, ty: &ObjectType) {
        if self.unique.len() < ty.unique_count {
            self.unique
                .resize_with(ty.unique_count, UniqueIndex::default);
        }
    }

    /// Live (non-archived) records.
    pub fn live(&self) -> usize {
        self.live
    }

    /// A record by id: a live one, or with `archived` an archived one (HubSpot's `archived=true`).
    pub fn get(&self, id: u64, archived: bool) -> Option<&Record> {
        self.records
            .get(id)
            .filter(|r| r.archived.is_some() == archived)
    }

    /// Records with id ≥ `from`, live or archived, in id order (list paging).
    pub fn scan(&self, from: u64, archived: bool) -> impl Iterator<Item = &Record> {
        self.records
            .range(from)
            .filter(move |r| r.archived.is_some() == archived)
    }

    /// The live record holding `value` in unique property `prop`.
    pub fn find_unique(&self, ty: &ObjectType, prop: usize, value: &str) -> Option<u64> {
        let slot = ty.unique_slot[prop]?;
        let key = values::unique_keys(&ty.properties[prop], value).next()?;
        self.holder(ty, slot, &key, None)
    }

    /// The live record other than `own` holding `key` in unique slot `slot`: the index names the
    /// records whose values hash alike, and each is checked against its own values.
    fn holder(&self, ty: &ObjectType, slot: usize, key: &str, own: Option<u64>) -> Option<u64> {
        self.unique
            .get(slot)?
            .candidates(key)
            .find(|&id| Some(id) != own && self.holds(ty, slot, id, key))
    }

    /// Whether live record `id` holds `key` in one of the properties of unique slot `slot`.
    fn holds(&self, ty: &ObjectType, slot: usize, id: u64, key: &str) -> bool {
        let Some(record) = self.get(id, false) else {
            return false;
        };
        ty.unique_slot
            .iter()
            .enumerate()
            .filter(|(_, s)| **s == Some(slot))
            .filter_map(|(prop, _)| Some((prop, record.current(prop)?)))
            .any(|(prop, value)| values::unique_keys(&ty.properties[prop], value).any(|k| k == key))
    }

    /// The live record (other than `own`) that already holds one of the unique values in `sets`.
    pub fn conflict(
        &self,
        ty: &ObjectType,
        sets: &[(usize, Cow<'_, str>)],
        own: Option<u64>,
    ) -> Option<u64> {
        sets.iter().find_map(|(prop, value)| {
            let slot = ty.unique_slot[*prop]?;
            values::unique_keys(&ty.properties[*prop], value)
                .find_map(|key| self.holder(ty, slot, &key, own))
        })
    }

    /// Creates a record from validated values (the caller checked required properties and conflicts).
    pub fn insert(
        &mut self,
        ty: &ObjectType,
        id: u64,
        sets: &[(usize, Cow<'_, str>)],
        now: i64,
    ) -> &Record {
        let mut record = Record {
            id,
            created: now,
            updated: now,
            archived: None,
            values: std::mem::take(&mut self.scratch),
        };
        for (prop, value) in sets {
            set(
                &mut self.unique,
                ty,
                &mut record,
                *prop,
                value,
                now,
                Source::Api,
            );
        }
        derive(&mut self.unique, ty, &mut record, None, now);
        let sealed = record.values.sealed_copy();
        self.scratch = std::mem::replace(&mut record.values, sealed);
        self.scratch.clear();
        self.live += 1;
        self.records.insert(record)
    }

    /// Applies validated values to a live record.
    pub fn update(
        &mut self,
        ty: &ObjectType,
        id: u64,
        sets: &[(usize, Cow<'_, str>)],
        now: i64,
    ) -> Option<&Record> {
        let record = self.records.get_mut(id)?;
        let mut changed = Vec::with_capacity(sets.len());
        for (prop, value) in sets {
            if moves_back(&ty.properties[*prop], record.current(*prop), value) {
                continue;
            }
            if set(&mut self.unique, ty, record, *prop, value, now, Source::Api) {
                changed.push(*prop);
            }
        }
        record.updated = now;
        derive(&mut self.unique, ty, record, Some(&changed), now);
        record.values.seal();
        Some(record)
    }

    /// Archives a live record; `false` when there is none (archive is idempotent for callers).
    pub fn archive(&mut self, ty: &ObjectType, id: u64, now: i64) -> bool {
        let Some(record) = self.records.get_mut(id).filter(|r| r.archived.is_none()) else {
            return false;
        };
        record.archived = Some(now);
        record.updated = now;
        // An archived record frees its unique values: a new record may take them.
        for (prop, slot) in ty.unique_slot.iter().enumerate() {
            let index = slot.and_then(|slot| self.unique.get_mut(slot));
            if let (Some(index), Some(value)) = (index, record.current(prop)) {
                for key in values::unique_keys(&ty.properties[prop], value) {
                    index.remove(&key, record.id);
                }
            }
        }
        self.live -= 1;
        true
    }
}

/// Whether writing `value` would move a record's lifecycle stage back (an earlier option than
/// `current`). A stage moves forward only, unless cleared first with `""` (API-NOTES §4); the notes
/// name no error for it, so such a write is accepted and the later stage kept (docs/sandbox.md;
/// contacts' and companies' standard property).
fn moves_back(def: &PropertyDef, current: Option<&str>, value: &str) -> bool {
    if def.name != "lifecyclestage" || def.custom || value.is_empty() {
        return false;
    }
    let order = |v: &str| {
        def.options
            .iter()
            .find(|o| o.value == v)
            .map(|o| o.display_order)
    };
    matches!((current.and_then(order), order(value)), (Some(now), Some(new)) if new < now)
}

/// Writes one value into a record and keeps the unique index in step; `false` when the value was
/// already current (no history entry, nothing to derive).
fn set(
    unique: &mut Indexes,
    ty: &ObjectType,
    record: &mut Record,
    prop: usize,
    value: &str,
    now: i64,
    source: Source,
) -> bool {
    let def = &ty.properties[prop];
    let current = record.values.current(prop);
    // A multi-checkbox value with a leading `;` appends to the options already set (DOC-PROP).
    let merged;
    let value = match (current, value.strip_prefix(';')) {
        (Some(old), Some(added)) if def.is_multi() => {
            let mut all: Vec<&str> = old.split(';').filter(|p| !p.is_empty()).collect();
            for piece in added.split(';').filter(|p| !p.is_empty()) {
                if !all.contains(&piece) {
                    all.push(piece);
                }
            }
            merged = all.join(";");
            merged.as_str()
        }
        (None, Some(added)) if def.is_multi() => added,
        _ => value,
    };
    if current.map_or(value.is_empty(), |c| c == value) {
        return false;
    }
    if let Some(slot) = ty.unique_slot[prop] {
        if unique.len() <= slot {
            unique.resize_with(slot + 1, UniqueIndex::default);
        }
        if let Some(old) = current {
            for key in values::unique_keys(def, old) {
                unique[slot].remove(&key, record.id);
            }
        }
        for key in values::unique_keys(def, value) {
            unique[slot].insert(&key, record.id);
        }
    }
    record.values.push(prop, value, now, source);
    true
}

/// The current value of property `name` of `record`, when the type has it.
fn value_of<'r>(ty: &ObjectType, record: &'r Record, name: &str) -> Option<&'r str> {
    ty.prop(name).and_then(|p| record.current(p))
}

/// The values HubSpot computes itself: `hs_email_domain`, the default `lifecyclestage` of a new contact,
/// `hs_object_source`, `hs_ticket_id`, `hs_is_closed`, a line item's `amount`. `changed` lists the
/// properties an update actually changed (`None` for a create), so an update that touches none of the
/// inputs of a derived value costs nothing here.
fn derive(
    unique: &mut Indexes,
    ty: &ObjectType,
    record: &mut Record,
    changed: Option<&[usize]>,
    now: i64,
) {
    let touched = |name: &str| match changed {
        None => true,
        Some(changed) => ty.prop(name).is_some_and(|p| changed.contains(&p)),
    };
    let put = |unique: &mut Indexes, record: &mut Record, name: &str, value: &str| {
        if let Some(prop) = ty.prop(name) {
            set(unique, ty, record, prop, value, now, Source::Calculated);
        }
    };
    if changed.is_none() {
        put(unique, record, "hs_object_source", "API");
    }
    match ty.name.as_str() {
        "contacts" => {
            if touched("email") {
                let domain = value_of(ty, record, "email")
                    .and_then(|e| e.rsplit_once('@').map(|(_, d)| d.to_lowercase()))
                    .unwrap_or_default();
                put(unique, record, "hs_email_domain", &domain);
            }
            if changed.is_none() && value_of(ty, record, "lifecyclestage").is_none() {
                put(unique, record, "lifecyclestage", "lead");
            }
        }
        "tickets" if changed.is_none() => {
            put(unique, record, "hs_ticket_id", &record.id.to_string())
        }
        "deals" if touched("dealstage") => {
            let closed = matches!(
                value_of(ty, record, "dealstage"),
                Some("closedwon" | "closedlost")
            );
            put(
                unique,
                record,
                "hs_is_closed",
                if closed { "true" } else { "false" },
            );
        }
        "line_items" if touched("quantity") || touched("price") || touched("discount") => {
            let number = |name| value_of(ty, record, name).and_then(|v| v.parse::<f64>().ok());
            if let (Some(quantity), Some(price)) = (number("quantity"), number("price")) {
                let amount = quantity * (price - number("discount").unwrap_or(0.0));
                put(unique, record, "amount", &format!("{amount}"));
            }
        }
        _ => {}
    }
}

/// All tables, the id sequence and the links.
#[derive(Debug)]
pub struct Store {
    tables: Vec<RwLock<Table>>,
    next_id: AtomicU64,
    links: Mutex<Links>,
}

impl Store {
    /// Empty tables for every type of `registry`.
    pub fn new(registry: &Registry) -> Store {
        Store {
            tables: registry
                .all()
                .iter()
                .map(|ty| RwLock::new(Table::new(ty)))
                .collect(),
            next_id: AtomicU64::new(FIRST_ID),
            links: Mutex::new(Links::default()),
        }
    }

    /// Shared access to a type's table. A poisoned lock (a panicking handler) is taken over: the sandbox
    /// keeps serving rather than failing every later request.
    pub fn read(&self, ty: &ObjectType) -> RwLockReadGuard<'_, Table> {
        self.tables[ty.index]
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Exclusive access to a type's table.
    pub fn write(&self, ty: &ObjectType) -> RwLockWriteGuard<'_, Table> {
        self.tables[ty.index]
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The association links.
    pub fn links(&self) -> MutexGuard<'_, Links> {
        self.links.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh record id (never reused, not even after a reset).
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Whether a live record exists.
    pub fn exists(&self, ty: &ObjectType, id: u64) -> bool {
        self.read(ty).get(id, false).is_some()
    }

    /// Drops every record and link (`/_sandbox/reset`), sizing the tables for the registry's types.
    pub fn clear(&self, registry: &Registry) {
        for ty in registry.all() {
            *self.write(&ty) = Table::new(&ty);
        }
        self.links().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::super::properties::{PropType, PropertyDef};
    use super::*;

    fn contacts() -> (Registry, usize, usize) {
        let reg = Registry::new(1, None).unwrap();
        let ty = reg.resolve("contacts").unwrap();
        let email = ty.prop("email").unwrap();
        let role = ty.prop("hs_buying_role").unwrap();
        (reg, email, role)
    }

    #[test]
    fn unique_index_follows_writes_and_archive() {
        let (reg, email, _) = contacts();
        let ty = &*reg.resolve("contacts").unwrap();
        let mut table = Table::new(ty);
        table.insert(ty, 1, &[(email, "A@x.com".into())], 0);
        assert_eq!(table.find_unique(ty, email, "a@X.com"), Some(1));
        assert_eq!(
            table.conflict(ty, &[(email, "a@x.com".into())], None),
            Some(1)
        );
        assert_eq!(
            table.conflict(ty, &[(email, "a@x.com".into())], Some(1)),
            None
        );
        table.update(ty, 1, &[(email, "b@x.com".into())], 5);
        assert_eq!(table.find_unique(ty, email, "a@x.com"), None);
        let rec = table.get(1, false).unwrap();
        assert_eq!(rec.values.versions(email).count(), 2);
        assert_eq!(
            rec.current(ty.prop("hs_email_domain").unwrap()).unwrap(),
            "x.com"
        );
        assert_eq!(
            rec.current(ty.prop("lifecyclestage").unwrap()).unwrap(),
            "lead"
        );
        assert!(table.archive(ty, 1, 9));
        assert!(!table.archive(ty, 1, 9));
        assert_eq!(table.find_unique(ty, email, "b@x.com"), None);
        assert_eq!(table.live(), 0);
        assert!(table.get(1, true).is_some() && table.get(1, false).is_none());
    }

    #[test]
    fn an_index_hit_is_checked_against_the_record() {
        let (reg, email, _) = contacts();
        let ty = &*reg.resolve("contacts").unwrap();
        let mut table = Table::new(ty);
        table.insert(ty, 1, &[(email, "a@x.com".into())], 0);
        // What a hash collision looks like: the index names record 1 for a value it does not hold.
        table.unique[0].insert("ghost@x.com", 1);
        assert_eq!(table.find_unique(ty, email, "ghost@x.com"), None);
        assert_eq!(
            table.conflict(ty, &[(email, "ghost@x.com".into())], None),
            None
        );
        table.insert(ty, 2, &[(email, "ghost@x.com".into())], 1);
        assert_eq!(table.find_unique(ty, email, "GHOST@x.com"), Some(2));
        assert_eq!(table.find_unique(ty, email, "a@x.com"), Some(1));
        assert_eq!(
            table.conflict(ty, &[(email, "Ghost@X.com".into())], Some(1)),
            Some(2)
        );
    }

    #[test]
    fn leading_semicolon_appends_checkbox_options() {
        let (reg, _, role) = contacts();
        let ty = &*reg.resolve("contacts").unwrap();
        let mut table = Table::new(ty);
        table.insert(ty, 1, &[(role, "CHAMPION".into())], 0);
        table.update(ty, 1, &[(role, ";END_USER;CHAMPION".into())], 1);
        let rec = table.get(1, false).unwrap();
        assert_eq!(rec.current(role), Some("CHAMPION;END_USER"));
    }

    #[test]
    fn records_and_indexes_grow_with_created_properties() {
        let (reg, email, _) = contacts();
        let old = reg.resolve("contacts").unwrap();
        let mut table = Table::new(&old);
        table.insert(&old, 1, &[(email, "a@x.com".into())], 0);
        let mut def = PropertyDef::new("member_no", "Member", PropType::String);
        def.unique = true;
        let new = reg.update(old.index, |ty| ty.with_property(def)).unwrap();
        let member = new.prop("member_no").unwrap();
        table.grow(&new);
        // The old record is shorter than the new type: reading and writing the new property work.
        assert!(table.get(1, false).unwrap().current(member).is_none());
        table.update(&new, 1, &[(member, "M-1".into())], 1);
        assert_eq!(table.find_unique(&new, member, "M-1"), Some(1));
        assert_eq!(
            table.conflict(&new, &[(member, "M-1".into())], Some(2)),
            Some(1)
        );
        // A writer still holding the old version never sees the new slot, and never trips on it.
        table.insert(&old, 2, &[(email, "b@x.com".into())], 2);
        assert!(table.archive(&new, 1, 3));
        assert_eq!(table.find_unique(&new, member, "M-1"), None);
    }
}
