//! How `etl verify` finds each row's record: by the pipeline's identity — the record id (update and
//! archive by `id_column`), or a unique property (upsert, update/archive by `id_property`, and a
//! create that maps one: contacts' `email`, or a property with `hasUniqueValue`). A create without
//! one cannot be verified by key: the portal holds nothing that ties a record to its row.

use crate::config::{Operation, Pipeline};
use crate::portal::schema::ObjectSchema;
use crate::prepare::row::Input;

/// How records are found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// By record id.
    RecordId,
    /// By the value of this unique property.
    Property(String),
}

impl Identity {
    /// The identity of `pipeline`'s rows; `Err` says why there is none.
    pub fn of(pipeline: &Pipeline, schema: &ObjectSchema) -> Result<Identity, String> {
        let target = &pipeline.target;
        match (target.operation, &target.id_property) {
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
                         found by key: map one, or verify an update or upsert pipeline instead",
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
            Identity::RecordId => None,
            Identity::Property(p) => Some(p),
        }
    }

    /// The key of `input`: its id (update, upsert, archive), or its value of the unique property
    /// (create). `None` when the row has none.
    pub fn key(&self, operation: Operation, input: &Input) -> Option<String> {
        let key = match (operation, self) {
            (Operation::Create, Identity::Property(p)) => {
                input.properties.get(p).map(str::to_string)
            }
            _ => input.id.clone(),
        };
        key.filter(|k| !k.trim().is_empty())
    }
}
