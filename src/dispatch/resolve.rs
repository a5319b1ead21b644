//! Keys to record ids, before anything is written: the records a row links with (`[[associations]]`)
//! and, for `associate`/`dissociate`, the records the links start from (`id_column`).
//!
//! A key is a record id (taken as it is), a value of a unique property of the other object (looked
//! up with batch reads by `idProperty`, 100 values a call, through the rate gate), or a key of
//! another pipeline's `[sync]` state (read locally, no request). Found ids are cached for the run in
//! bounded memory (`id_cache`). Labels become type ids, to_property is checked to be unique, and
//! the identity maps are opened when the resolver is built: a mistake there stops the run before any
//! row is sent.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use super::id_cache::{DEFAULT_CAPACITY, IdCache};
use super::lookup::read_by_property;
use crate::config::{AssociationSpec, AssociationType, IdentityMap, Pipeline, TargetKey};
use crate::job::state::{State, StateError};
use crate::portal::labels::{self, LabelError};
use crate::portal::schema::{self, SchemaError};
use crate::portal::{Pacing, Portal};

/// The resolver cannot be built: the run stops before any row is sent.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("pipeline file {file}: associations (column {column:?}): {source}")]
    Label {
        file: String,
        column: String,
        source: Box<LabelError>,
    },
    #[error(
        "pipeline file {file}: associations (column {column:?}): cannot read {object}'s properties: {source}"
    )]
    Schema {
        file: String,
        column: String,
        object: String,
        source: Box<SchemaError>,
    },
    #[error(
        "pipeline file {file}: associations (column {column:?}): to_property {property:?} {reason}"
    )]
    Property {
        file: String,
        column: String,
        property: String,
        reason: String,
    },
    #[error(
        "pipeline file {file}: {key} names {other}, whose state {state} does not exist yet: run \
         that pipeline first (its state maps its keys to record ids)"
    )]
    NoState {
        file: String,
        key: String,
        other: String,
        state: String,
    },
    #[error(transparent)]
    State(#[from] StateError),
}

/// How one table's keys become record ids.
enum By {
    RecordId,
    Property(String),
    Map {
        map: IdentityMap,
        state: Mutex<State>,
    },
    /// Not resolved (`etl validate` of a stage whose targets an earlier stage loads): keys are
    /// checked for shape only.
    ShapeOnly,
}

/// One way of naming records: an `[[associations]]` table, or the from-side of a link operation.
pub struct Table {
    /// The object type the keys name (`None`: record ids whose type HubSpot infers).
    pub object: Option<String>,
    /// The column, for messages.
    pub column: String,
    /// The association's category and type id (`None`: every type, for `dissociate`).
    pub category: String,
    pub type_id: Option<u32>,
    by: By,
    cache: Mutex<IdCache>,
}

/// Why keys could not be resolved.
#[derive(Debug)]
pub enum Unresolved {
    /// The run is stopping.
    Halted,
    /// The lookup failed (after its retries).
    Failed(String),
}

impl Table {
    fn new(object: Option<String>, column: &str, by: By) -> Table {
        Table {
            object,
            column: column.to_string(),
            category: String::new(),
            type_id: None,
            by,
            cache: Mutex::new(IdCache::new(DEFAULT_CAPACITY)),
        }
    }

    /// Whether keys are looked up at all (not for shape only).
    pub fn resolves(&self) -> bool {
        !matches!(self.by, By::ShapeOnly)
    }

    /// How a key is compared: unique-property values without regard to case (as the batch read
    /// answers them), map keys as the other pipeline stored them.
    pub fn normalized(&self, key: &str) -> String {
        match &self.by {
            By::RecordId | By::ShapeOnly => key.to_string(),
            By::Property(_) => key.to_lowercase(),
            By::Map { map, .. } => map.key_of(key),
        }
    }

    /// Why a key that names no record names none, for messages (after the quoted key).
    pub fn not_found(&self) -> String {
        let object = self.object.as_deref().unwrap_or("other");
        match &self.by {
            By::RecordId | By::ShapeOnly => format!("is not the id of any {object} record"),
            By::Property(property) => format!("is not the {property} of any {object} record"),
            By::Map { map, .. } => format!(
                "is not a key in the state of {}: no {object} record was loaded with it",
                map.pipeline.display()
            ),
        }
    }

    /// The record ids of `keys` (as the rows wrote them): normalized key → id, without the keys
    /// that name no record.
    pub async fn resolve(
        &self,
        portal: &Portal,
        pacing: &dyn Pacing,
        keys: &BTreeSet<String>,
    ) -> Result<HashMap<String, String>, Unresolved> {
        let mut found = HashMap::with_capacity(keys.len());
        let mut missing = Vec::new();
        {
            let mut cache = self.cache.lock().expect("cache lock poisoned");
            for key in keys {
                let normalized = self.normalized(key);
                match (&self.by, cache.get(&normalized)) {
                    (By::RecordId | By::ShapeOnly, _) => {
                        found.insert(normalized, key.clone());
                    }
                    (_, Some(id)) => {
                        found.insert(normalized, id);
                    }
                    // Looked up as written: a unique property's value is matched as the portal
                    // stores it.
                    (_, None) => missing.push(key.clone()),
                }
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let looked_up = match &self.by {
            By::Property(property) => {
                let object = self.object.as_deref().unwrap_or_default();
                read_by_property(portal, pacing, object, property, &missing)
                    .await
                    .map_err(|e| e.map_or(Unresolved::Halted, Unresolved::Failed))?
            }
            // A primary-key read of a local SQLite file per key: microseconds, so it runs here
            // rather than on a blocking thread.
            By::Map { map, state } => {
                let state = state.lock().expect("state lock poisoned");
                let mut ids = HashMap::with_capacity(missing.len());
                for key in &missing {
                    let key = map.key_of(key);
                    let known = state
                        .lookup(&key)
                        .map_err(|e| Unresolved::Failed(e.to_string()))?;
                    if let Some(id) = known.filter(|k| !k.in_doubt).and_then(|k| k.record_id) {
                        ids.insert(key, id);
                    }
                }
                ids
            }
            By::RecordId | By::ShapeOnly => HashMap::new(),
        };
        let mut cache = self.cache.lock().expect("cache lock poisoned");
        for (key, id) in looked_up {
            cache.insert(key.clone(), id.clone());
            found.insert(key, id);
        }
        Ok(found)
    }
}

/// Every way a pipeline names records by keys.
pub struct Resolver {
    /// One per `[[associations]]` table, in the pipeline's order.
    pub tables: Vec<Table>,
    /// `associate`/`dissociate`: how `id_column` names the records links start from.
    pub from: Option<Table>,
}

impl Resolver {
    /// Builds the resolver of `pipeline`: labels resolved, unique properties checked, identity
    /// maps opened. `shape_only(Some(i))` tells the tables whose keys are checked for shape only
    /// (their targets do not exist yet; their labels are still resolved), `shape_only(None)` the
    /// from-side of a link operation.
    pub async fn new(
        portal: &Portal,
        pipeline: &Pipeline,
        shape_only: &dyn Fn(Option<usize>) -> bool,
    ) -> Result<Resolver, ResolveError> {
        let file = pipeline.file.display().to_string();
        let mut tables = Vec::with_capacity(pipeline.associations.len());
        for (i, spec) in pipeline.associations.iter().enumerate() {
            let by = if shape_only(Some(i)) {
                By::ShapeOnly
            } else {
                by_of(portal, &file, spec).await?
            };
            let mut table = Table::new(spec.to_object.clone(), &spec.column, by);
            table.category = spec.category.clone();
            table.type_id = match &spec.kind {
                Some(AssociationType::Id(id)) => Some(*id),
                Some(AssociationType::Label(label)) => {
                    let to = spec.to_object.as_deref().unwrap_or_default();
                    let id =
                        labels::resolve(portal, &pipeline.target.object, to, label, &spec.category)
                            .await
                            .map_err(|source| ResolveError::Label {
                                file: file.clone(),
                                column: spec.column.clone(),
                                source: Box::new(source),
                            })?;
                    Some(id)
                }
                None => None,
            };
            tables.push(table);
        }
        let target = &pipeline.target;
        let from = match (&target.from_pipeline, &target.id_column) {
            _ if !target.operation.links_only() => None,
            (_, Some(column)) if shape_only(None) => Some(Table::new(
                Some(target.object.clone()),
                column,
                By::ShapeOnly,
            )),
            (Some(map), Some(column)) => {
                let by = open_map(&file, "target.from_pipeline", map)?;
                Some(Table::new(Some(target.object.clone()), column, by))
            }
            (None, Some(column)) => {
                let by = match &target.id_property {
                    Some(property) => By::Property(property.clone()),
                    None => By::RecordId,
                };
                Some(Table::new(Some(target.object.clone()), column, by))
            }
            (_, None) => None,
        };
        Ok(Resolver { tables, from })
    }

    /// The table of `[[associations]]` number `index`.
    pub fn table(&self, index: usize) -> Option<&Table> {
        self.tables.get(index)
    }
}

/// How `spec`'s keys are resolved, checked against the portal (to_property) or the disk (maps).
async fn by_of(portal: &Portal, file: &str, spec: &AssociationSpec) -> Result<By, ResolveError> {
    match &spec.key {
        TargetKey::RecordId => Ok(By::RecordId),
        TargetKey::Property(property) => {
            let object = spec.to_object.clone().unwrap_or_default();
            let target =
                schema::fetch(portal, &object)
                    .await
                    .map_err(|source| ResolveError::Schema {
                        file: file.to_string(),
                        column: spec.column.clone(),
                        object: object.clone(),
                        source: Box::new(source),
                    })?;
            let reason = match target.property(property) {
                None => Some(format!("is not a property of {object}")),
                Some(_) if !target.is_unique(property) => Some(format!(
                    "is not a unique property of {object} (hasUniqueValue is false): records \
                     cannot be looked up by it"
                )),
                Some(_) => None,
            };
            match reason {
                Some(reason) => Err(ResolveError::Property {
                    file: file.to_string(),
                    column: spec.column.clone(),
                    property: property.clone(),
                    reason,
                }),
                None => Ok(By::Property(property.clone())),
            }
        }
        TargetKey::Pipeline(map) => open_map(file, "associations.from_pipeline", map),
    }
}

/// Opens the state of an identity map (read only: nothing here writes it).
fn open_map(file: &str, key: &str, map: &IdentityMap) -> Result<By, ResolveError> {
    match State::read(&map.state)? {
        Some(state) => Ok(By::Map {
            map: map.clone(),
            state: Mutex::new(state),
        }),
        None => Err(ResolveError::NoState {
            file: file.to_string(),
            key: key.to_string(),
            other: map.pipeline.display().to_string(),
            state: map.state.display().to_string(),
        }),
    }
}
