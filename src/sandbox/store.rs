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

use super::associations::Links;
use super::hasher::FastMap;
use super::objects::{ObjectType, Registry};
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

/// One record. `values[p]` is the history of property `p`, oldest first; the last entry is current.
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

/// The records of one object type.
#[derive(Debug)]
pub struct Table {
    records: BTreeMap<u64, Record>,
    /// One map per unique index of the type: normalised value → record id (live records only).
    unique: Vec<FastMap<String, u64>>,
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
        self.unique[slot].get(key.as_ref()).copied()
    }

    /// The live record (other than `own`) that already holds one of the unique values in `sets`.
    pub fn conflict(
        &self,
        ty: &ObjectType,
        sets: &[(usize, String)],
        own: Option<u64>,
    ) -> Option<u64> {
        for (prop, value) in sets {
            let Some(slot) = ty.unique_slot[*prop] else {
                continue;
            };
            for key in values::unique_keys(&ty.properties[*prop], value) {
                if let Some(&holder) = self.unique[slot].get(key.as_ref())
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
            if let (Some(slot), Some(value)) = (slot, record.current(prop)) {
                for key in values::unique_keys(&ty.properties[prop], value) {
                    self.unique[*slot].remove(key.as_ref());
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
    unique: &mut [FastMap<String, u64>],
    ty: &ObjectType,
    record: &mut Record,
    prop: usize,
    value: String,
    now: i64,
    source: &'static str,
) -> bool {
    let def = &ty.properties[prop];
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
    unique: &mut [FastMap<String, u64>],
    ty: &ObjectType,
    record: &mut Record,
    changed: Option<&[usize]>,
    now: i64,
) {
    let touched = |name: &str| match changed {
        None => true,
        Some(changed) => ty.prop(name).is_some_and(|p| changed.contains(&p)),
    };
    let put =
        |unique: &mut [FastMap<String, u64>], record: &mut Record, name: &str, value: String| {
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

    /// Drops every record and link (`/_sandbox/reset`).
    pub fn clear(&self, registry: &Registry) {
        for ty in registry.all() {
            *self.write(ty) = Table::new(ty);
        }
        self.links().clear();
    }
}

#[cfg(test)]
mod tests {
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
        let ty = reg.resolve("contacts").unwrap();
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
        let ty = reg.resolve("contacts").unwrap();
        let mut table = Table::new(ty);
        table.insert(ty, 1, vec![(role, "CHAMPION".into())], 0);
        table.update(ty, 1, vec![(role, ";END_USER;CHAMPION".into())], 1);
        let rec = table.get(1, false).unwrap();
        assert_eq!(rec.current(role).unwrap().as_ref(), "CHAMPION;END_USER");
    }
}
