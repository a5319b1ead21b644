//! What a stage of a migration plan has before it when the plan is validated: the stages before it
//! have not run (their records and maps do not exist yet) and the properties step has not created
//! the plan's properties. Links to those are checked for shape only, and the declared properties
//! count as existing.

use crate::config::plan::PropertySpec;
use crate::config::{self, Pipeline, TargetKey};
use crate::portal::schema::ObjectSchema;
use crate::portal::standard::standard_object;

/// What a stage of a plan has before it: its records and properties do not exist yet when the
/// plan is validated.
#[derive(Debug, Default, Clone, Copy)]
pub struct Before<'a> {
    /// The stages that run before this one.
    pub stages: &'a [&'a Pipeline],
    /// The properties the plan's properties step creates.
    pub declared: &'a [PropertySpec],
}

/// The tables (`Some(index)`, or `None` for the from-side of a link operation) whose keys cannot
/// be looked up yet, with why: their records are loaded by an earlier stage of the plan, the map
/// they name is written by one (or does not exist yet), or the property they are looked up by is
/// created by the plan.
pub(super) fn shape_only(pipeline: &Pipeline, before: Before<'_>) -> Vec<(Option<usize>, String)> {
    let loaded_by = |object: &str| {
        before
            .stages
            .iter()
            .find(|p| same_object(&p.target.object, object))
            .map(|p| p.file.display().to_string())
    };
    let map_note = |map: &config::IdentityMap, column: &str| {
        let writer = before
            .stages
            .iter()
            .find(|p| config::files::same_file(&p.file, &map.pipeline));
        match writer {
            Some(p) => Some(format!(
                "links of column {column:?} checked for shape only: their map is written by {}, an earlier stage",
                p.file.display()
            )),
            None if !map.state.exists() => Some(format!(
                "links of column {column:?} checked for shape only: {} has no state yet ({})",
                map.pipeline.display(),
                map.state.display()
            )),
            None => None,
        }
    };
    let mut notes = Vec::new();
    for (i, spec) in pipeline.associations.iter().enumerate() {
        let object = spec.to_object.as_deref().unwrap_or_default();
        let note = match &spec.key {
            TargetKey::RecordId => None,
            TargetKey::Pipeline(map) => map_note(map, &spec.column),
            TargetKey::Property(property) => match loaded_by(object) {
                Some(file) => Some(format!(
                    "links of column {:?} checked for shape only: {object} records are loaded by {file}, an earlier stage",
                    spec.column
                )),
                None => before
                    .declared
                    .iter()
                    .any(|p| p.name == *property && same_object(&p.object, object))
                    .then(|| {
                        format!(
                            "links of column {:?} checked for shape only: {object}.{property} is created by the plan",
                            spec.column
                        )
                    }),
            },
        };
        notes.extend(note.map(|note| (Some(i), note)));
    }
    let target = &pipeline.target;
    if target.operation.links_only()
        && let Some(column) = &target.id_column
    {
        let note = match &target.from_pipeline {
            Some(map) => map_note(map, column),
            None => loaded_by(&target.object).map(|file| {
                format!(
                    "records of column {column:?} checked for shape only: {} records are loaded by {file}, an earlier stage",
                    target.object
                )
            }),
        };
        notes.extend(note.map(|note| (None, note)));
    }
    notes
}

/// Adds the properties a plan declares for this object to its schema, as the properties step will
/// create them.
pub(super) fn declare(schema: &mut ObjectSchema, declared: &[PropertySpec]) {
    let missing: Vec<serde_json::Value> = declared
        .iter()
        .filter(|p| same_object(&p.object, &schema.object) && schema.property(&p.name).is_none())
        .map(|p| {
            serde_json::json!({
                "name": p.name, "label": p.label, "type": p.kind, "fieldType": p.field_type,
                "hasUniqueValue": p.unique,
                "options": p.options.iter().map(|(label, value)| {
                    serde_json::json!({"label": label, "value": value})
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    if missing.is_empty() {
        return;
    }
    let body = serde_json::json!({ "results": missing }).to_string();
    if let Ok(extra) = ObjectSchema::from_json(&schema.object, body.as_bytes()) {
        schema.properties.extend(extra.properties);
    }
}

/// Whether two spellings name one object type (`companies`, `0-2`).
fn same_object(a: &str, b: &str) -> bool {
    let id = |o: &str| standard_object(o).map_or(o.to_lowercase(), |s| s.id.to_string());
    id(a) == id(b)
}
