//! How `etl verify` finds each row's record: by the pipeline's identity — the record id (update and
//! archive by `id_column`), a unique property (upsert, update/archive by `id_property`, and a
//! create that maps one: contacts' `email`, or a property with `hasUniqueValue`), or, for a
//! `[sync]` create, the record id its state holds for the row's key (the source's own key: the one
//! tie between a row and the record it created). A create with neither cannot be verified by key:
//! the portal holds nothing that ties a record to its row.

use std::sync::{Mutex, PoisonError};

use crate::config::{Operation, Pipeline};
use crate::job::state::{Snapshot, State, StateError};
use crate::portal::schema::ObjectSchema;
use crate::prepare::row::Input;

/// How records are found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// By record id.
    RecordId,
    /// By the value of this unique property.
    Property(String),
    /// By the record id the `[sync]` state holds for the row's key.
    SyncState,
}

impl Identity {
    /// The identity of `pipeline`'s rows; `Err` says why there is none.
    pub fn of(pipeline: &Pipeline, schema: &ObjectSchema) -> Result<Identity, String> {
        let target = &pipeline.target;
        match (target.operation, &target.id_property) {
            // Later runs update a sync's records by the ids in its state, whatever their values.
            (Operation::Create, _) if pipeline.sync.is_some() => Ok(Identity::SyncState),
            (Operation::Create, _) => pipeline
                .mapping
                .iter()
                .map(|m| m.property.as_str())
                .find(|name| schema.is_unique(name))
                .map(|name| Identity::Property(name.to_string()))
                .ok_or_else(|| {
                    format!(
                        "this create pipeline maps no unique property of {} (such as contacts' \
                         email, or a property with hasUniqueValue), so its records cannot be \
                         found by key: map one, load it with a [sync] table (its state keeps \
                         the record each row's key created), or verify an update or upsert \
                         pipeline instead",
                        target.object
                    )
                }),
            (_, Some(property)) if property != "hs_object_id" => {
                Ok(Identity::Property(property.clone()))
            }
            (_, _) => Ok(Identity::RecordId),
        }
    }

    /// The `idProperty` of a batch read (none for record ids).
    pub fn id_property(&self) -> Option<&str> {
        match self {
            Identity::RecordId | Identity::SyncState => None,
            Identity::Property(p) => Some(p),
        }
    }
}

/// A row's key, as [`Keys::of`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// The key its record is read by.
    Found(String),
    /// The row has no value to find its record by.
    Absent,
    /// The `[sync]` state names no record for the row's key (`key`): `why`.
    Unknown { key: String, why: &'static str },
}

/// Finds rows' keys by an identity, reading the `[sync]` state for [`Identity::SyncState`].
pub struct Keys {
    identity: Identity,
    operation: Operation,
    /// Read as of one moment (one read transaction for the whole verify), behind a lock because
    /// a connection is one thread's at a time; verify asks from one task.
    state: Option<Mutex<Snapshot>>,
}

impl Keys {
    /// Keys of `pipeline`'s rows by `identity`; `Err` when the state it needs is not there yet.
    pub fn open(pipeline: &Pipeline, identity: Identity) -> Result<Keys, KeysError> {
        let state = match (&identity, &pipeline.sync) {
            (Identity::SyncState, Some(sync)) => match State::read(&sync.state)? {
                Some(state) => Some(Mutex::new(state.snapshot()?)),
                None => {
                    return Err(KeysError::NoState(format!(
                        "no [sync] state at {} yet: it ties each row's key to the record its \
                         create made; run the pipeline first",
                        sync.state.display()
                    )));
                }
            },
            _ => None,
        };
        Ok(Keys {
            identity,
            operation: pipeline.target.operation,
            state,
        })
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The key of `input`: its id (update, upsert, archive), its value of the unique property
    /// (create), or the record id the state holds for its `[sync]` key.
    pub fn of(&self, input: &Input) -> Result<Key, StateError> {
        let key = match (self.operation, &self.identity) {
            (_, Identity::SyncState) => return self.in_state(input),
            (Operation::Create, Identity::Property(p)) => {
                input.properties.get(p).map(str::to_string)
            }
            _ => input.id.clone(),
        };
        Ok(match key.filter(|k| !k.trim().is_empty()) {
            Some(key) => Key::Found(key),
            None => Key::Absent,
        })
    }

    fn in_state(&self, input: &Input) -> Result<Key, StateError> {
        let (Some(state), Some(sync)) = (&self.state, &input.sync) else {
            return Ok(Key::Absent);
        };
        let known = state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .lookup(&sync.key)?;
        let unknown = |why| Key::Unknown {
            key: sync.key.clone(),
            why,
        };
        Ok(match known {
            Some(known) => match known.record_id {
                Some(id) => Key::Found(id),
                None if known.in_doubt => unknown(
                    "in doubt in the [sync] state: a create's answer was lost, and the next run \
                     checks whether it landed",
                ),
                None => unknown("the [sync] state holds no record for this key"),
            },
            None => unknown("not in the [sync] state: no run has had this key accepted"),
        })
    }
}

/// Why rows' keys cannot be found.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("{0}")]
    NoState(String),
    #[error(transparent)]
    State(#[from] StateError),
}
