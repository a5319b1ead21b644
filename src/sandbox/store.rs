//! In-memory storage: one table of records per object type, with unique-value indexes and per-property
//! history, plus the association links.
//!
//! Each table sits behind its own std `RwLock` (and the links behind a std `Mutex`): critical sections are
//! short, CPU-only and never span an `.await`, so a blocking lock is cheaper than tokio's async one and
//! cannot be held across a yield by construction (mini-redis' `db.rs` makes the same choice). Handlers
//! validate and serialize outside the locks. Lock order is "one table, then links"; no code path ever
//! holds two table locks, so two writers on different types cannot deadlock.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::hasher::FastMap;
use super::links::Links;
use super::objects::ObjectType;
use super::registry::Registry;
use super::values;

/// The first record id of a portal; ids increase across all types, like HubSpot's.
const FIRST_ID: u64 = 10_001;

/// One value of a property, with when and how it was written (for `propertiesWithHistory`).
#[derive(Debug, Clone)]
pub struct Version {
    pub value: Arc<str>,
    pub timestamp: i64,
    /// `API` for client writes, `CALCULATED` for values the server derives.
    pub source: &'static str,
}

/// One record. `values[p]` is the history of property `p`, oldest first; the last entry is current. A
/// record written before a property was created is shorter: it grows when that property is first set.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: u64,
    pub created: i64,
    pub updated: i64,
    pub archived: Option<i64>,
    pub values: Vec<Vec<Version>>,
}

impl Record {
    /// The current value of a property (`None` when unset or cleared).
    pub fn current(&self, prop: usize) -> Option<&Arc<str>> {
        self.values
            .get(prop)
            .and_then(|h| h.last())
            .map(|v| &v.value)
            .filter(|v| !v.is_empty())
    }
}

/// One map per unique index of a type: normalised value → record id (live records only). A unique
/// property created at run time adds a map; lookups by a slot the table does not have yet find nothing.
type Indexes = Vec<FastMap<String, u64>>;

/// The records of one object type.
#[derive(Debug)]
pub struct Table {
    records: BTreeMap<u64, Record>,
    unique: Indexes,
    live: usize,
}

impl Table {
    fn new(ty: &ObjectType) -> Table {
        Table {
            records: BTreeMap::new(),
            unique: vec![FastMap::default(); ty.unique_count],
            live: 0,
        }
    }

    /// Makes room for the unique indexes of `ty` (a newer version with a created unique property). Its
    /// index starts empty, which is right: no record can hold a value of a property that did not exist.
    pub fn grow(&mut self, ty: &ObjectType) {
        if self.unique.len() < ty.unique_count {
            self.unique.resize_with(ty.unique_count, FastMap::default);
        }
    }

    /// Live (non-archived) records.
    pub fn live(&self) -> usize {
        self.live
    }

    /// A record by id: a live one, or with `archived` an archived one (HubSpot's `archived=true`).
    pub fn get(&self, id: u64, archived: bool) -> Option<&Record> {
        self.records
            .get(&id)
            .filter(|r| r.archived.is_some() == archived)
    }

    /// Records with id ≥ `from`, live or archived, in id order (list paging).
    pub fn scan(&self, from: u64, archived: bool) -> impl Iterator<Item = &Record> {
        self.records
            .range(from..)
            .map(|(_, r)| r)
            .filter(move |r| r.archived.is_some() == archived)
    }

    /// The live record holding `value` in unique property `prop`.
    pub fn find_unique(&self, ty: &ObjectType, prop: usize, value: &str) -> Option<u64> {
        let slot = ty.unique_slot[prop]?;
        let key = values::unique_keys(&ty.properties[prop], value).next()?;
        self.unique.get(slot)?.get(key.as_ref()).copied()
    }

    /// The live record (other than `own`) that already holds one of the unique values in `sets`.
    pub fn conflict(
        &self,
        ty: &ObjectType,
        sets: &[(usize, String)],
        own: Option<u64>,
    ) -> Option<u64> {
        for (prop, value) in sets {
            let Some(index) = ty.unique_slot[*prop].and_then(|slot| self.unique.get(slot)) else {
                continue;
            };
            for key in values::unique_keys(&ty.properties[*prop], value) {
                if let Some(&holder) = index.get(key.as_ref())
                    && Some(holder) != own
                {
                    return Some(holder);
                }
            }
        }
        None
    }

    /// Creates a record from validated values (the caller checked required properties and conflicts).
    pub fn insert(
        &mut self,
        ty: &ObjectType,
        id: u64,
        sets: Vec<(usize, String)>,
        now: i64,
    ) -> &Record {
        let mut record = Record {
            id,
            created: now,
            updated: now,
            archived: None,
            values: vec![Vec::new(); ty.properties.len()],
        };
        for (prop, value) in sets {
            set(&mut self.unique, ty, &mut record, prop, value, now, "API");
        }
        derive(&mut self.unique, ty, &mut record, None, now);
        self.live += 1;
        self.records.entry(id).or_insert(record)
    }

    /// Applies validated values to a live record.
    pub fn update(
        &mut self,
        ty: &ObjectType,
        id: u64,
        sets: Vec<(usize, String)>,
        now: i64,
    ) -> Option<&Record> {
        let record = self.records.get_mut(&id)?;
        let mut changed = Vec::with_capacity(sets.len());
        for (prop, value) in sets {
            if set(&mut self.unique, ty, record, prop, value, now, "API") {
                changed.push(prop);
            }
        }
        record.updated = now;
        derive(&mut self.unique, ty, record, Some(&changed), now);
        Some(record)
    }

    /// Archives a live record; `false` when there is none (archive is idempotent for callers).
    pub fn archive(&mut self, ty: &ObjectType, id: u64, now: i64) -> bool {
        let Some(record) = self.records.get_mut(&id).filter(|r| r.archived.is_none()) else {
            return false;
        };
        record.archived = Some(now);
        record.updated = now;
        // An archived record frees its unique values: a new record may take them.
        for (prop, slot) in ty.unique_slot.iter().enumerate() {
            let index = slot.and_then(|slot| self.unique.get_mut(slot));
            if let (Some(index), Some(value)) = (index, record.current(prop)) {
                for key in values::unique_keys(&ty.properties[prop], value) {
                    index.remove(key.as_ref());
                }
            }
        }
        self.live -= 1;
        true
    }
}

/// Writes one value into a record and keeps the unique index in step; `false` when the value was
/// already current (no history entry, nothing to derive).
fn set(
    unique: &mut Indexes,
    ty: &ObjectType,
    record: &mut Record,
    prop: usize,
    value: String,
    now: i64,
    source: &'static str,
) -> bool {
    let def = &ty.properties[prop];
    if record.values.len() <= prop {
        record.values.resize(ty.properties.len(), Vec::new());
    }
    let current = record.values[prop]
        .last()
        .map(|v| &v.value)
        .filter(|v| !v.is_empty());
    // A multi-checkbox value with a leading `;` appends to the options already set (DOC-PROP).
    let value = match (current, value.strip_prefix(';')) {
        (Some(old), Some(added)) if def.is_multi() => {
            let mut all: Vec<&str> = old.split(';').filter(|p| !p.is_empty()).collect();
            for piece in added.split(';').filter(|p| !p.is_empty()) {
                if !all.contains(&piece) {
                    all.push(piece);
                }
            }
            all.join(";")
        }
        (None, Some(added)) if def.is_multi() => added.to_owned(),
        _ => value,
    };
    if current.map_or(value.is_empty(), |c| **c == *value) {
        return false;
    }
    if let Some(slot) = ty.unique_slot[prop] {
        if unique.len() <= slot {
            unique.resize_with(slot + 1, FastMap::default);
        }
        if let Some(old) = current {
            for key in values::unique_keys(def, old) {
                if unique[slot].get(key.as_ref()) == Some(&record.id) {
                    unique[slot].remove(key.as_ref());
                }
            }
        }
        for key in values::unique_keys(def, &value) {
            unique[slot].insert(key.into_owned(), record.id);
        }
    }
    record.values[prop].push(Version {
        value: value.into(),
        timestamp: now,
        source,
    });
    true
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
    let put = |unique: &mut Indexes, record: &mut Record, name: &str, value: String| {
        if let Some(prop) = ty.prop(name) {
            set(unique, ty, record, prop, value, now, "CALCULATED");
        }
    };
    let get = |record: &Record, name: &str| ty.prop(name).and_then(|p| record.current(p).cloned());
    if changed.is_none() {
        put(unique, record, "hs_object_source", "API".to_owned());
    }
    match ty.name.as_str() {
        "contacts" => {
            if touched("email") {
                let domain = get(record, "email")
                    .and_then(|e| e.rsplit_once('@').map(|(_, d)| d.to_lowercase()))
                    .unwrap_or_default();
                put(unique, record, "hs_email_domain", domain);
            }
            if changed.is_none() && get(record, "lifecyclestage").is_none() {
                put(unique, record, "lifecyclestage", "lead".to_owned());
            }
        }
        "tickets" if changed.is_none() => {
            put(unique, record, "hs_ticket_id", record.id.to_string())
        }
        "deals" if touched("dealstage") => {
            let closed = matches!(
                get(record, "dealstage").as_deref(),
                Some("closedwon" | "closedlost")
            );
            put(unique, record, "hs_is_closed", closed.to_string());
        }
        "line_items" if touched("quantity") || touched("price") || touched("discount") => {
            let number = |name| get(record, name).and_then(|v| v.parse::<f64>().ok());
            if let (Some(quantity), Some(price)) = (number("quantity"), number("price")) {
                let amount = quantity * (price - number("discount").unwrap_or(0.0));
                put(unique, record, "amount", format!("{amount}"));
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
        table.insert(ty, 1, vec![(email, "A@x.com".into())], 0);
        assert_eq!(table.find_unique(ty, email, "a@X.com"), Some(1));
        assert_eq!(
            table.conflict(ty, &[(email, "a@x.com".into())], None),
            Some(1)
        );
        assert_eq!(
            table.conflict(ty, &[(email, "a@x.com".into())], Some(1)),
            None
        );
        table.update(ty, 1, vec![(email, "b@x.com".into())], 5);
        assert_eq!(table.find_unique(ty, email, "a@x.com"), None);
        let rec = table.get(1, false).unwrap();
        assert_eq!(rec.values[email].len(), 2);
        assert_eq!(
            rec.current(ty.prop("hs_email_domain").unwrap())
                .unwrap()
                .as_ref(),
            "x.com"
        );
        assert_eq!(
            rec.current(ty.prop("lifecyclestage").unwrap())
                .unwrap()
                .as_ref(),
            "lead"
        );
        assert!(table.archive(ty, 1, 9));
        assert!(!table.archive(ty, 1, 9));
        assert_eq!(table.find_unique(ty, email, "b@x.com"), None);
        assert_eq!(table.live(), 0);
        assert!(table.get(1, true).is_some() && table.get(1, false).is_none());
    }

    #[test]
    fn leading_semicolon_appends_checkbox_options() {
        let (reg, _, role) = contacts();
        let ty = &*reg.resolve("contacts").unwrap();
        let mut table = Table::new(ty);
        table.insert(ty, 1, vec![(role, "CHAMPION".into())], 0);
        table.update(ty, 1, vec![(role, ";END_USER;CHAMPION".into())], 1);
        let rec = table.get(1, false).unwrap();
        assert_eq!(rec.current(role).unwrap().as_ref(), "CHAMPION;END_USER");
    }

    #[test]
    fn records_and_indexes_grow_with_created_properties() {
        let (reg, email, _) = contacts();
        let old = reg.resolve("contacts").unwrap();
        let mut table = Table::new(&old);
        table.insert(&old, 1, vec![(email, "a@x.com".into())], 0);
        let mut def = PropertyDef::new("member_no", "Member", PropType::String);
        def.unique = true;
        let new = reg.update(old.index, |ty| ty.with_property(def)).unwrap();
        let member = new.prop("member_no").unwrap();
        table.grow(&new);
        // The old record is shorter than the new type: reading and writing the new property work.
        assert!(table.get(1, false).unwrap().current(member).is_none());
        table.update(&new, 1, vec![(member, "M-1".into())], 1);
        assert_eq!(table.find_unique(&new, member, "M-1"), Some(1));
        assert_eq!(
            table.conflict(&new, &[(member, "M-1".into())], Some(2)),
            Some(1)
        );
        // A writer still holding the old version never sees the new slot, and never trips on it.
        table.insert(&old, 2, vec![(email, "b@x.com".into())], 2);
        assert!(table.archive(&new, 1, 3));
        assert_eq!(table.find_unique(&new, member, "M-1"), None);
    }
}
