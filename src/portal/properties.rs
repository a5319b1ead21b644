//! The properties step of a migration plan: each `[[properties]]` is read (`GET …/properties/{object}
//! /{name}`) and created when missing (`POST …/properties/{object}`). An existing property is never
//! modified or deleted: one of another type (or not unique where the plan needs it unique) stops the
//! plan, naming both.

use serde::Serialize;

use super::read::{SchemaError, get, hubspot_message};
use super::{Call, Portal, Unpaced};
use crate::config::plan::PropertySpec;

/// What the step did for one property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ensured {
    Created,
    Existed,
}

/// A property the plan needs cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum PropertyError {
    #[error("property {object}.{name}: {source}")]
    Read {
        object: String,
        name: String,
        source: SchemaError,
    },
    #[error(
        "property {object}.{name} exists with type {found:?} (fieldType {found_field:?}), but the \
         plan declares type {wanted:?}: etl never changes an existing property; rename the plan's \
         property or change the portal's by hand"
    )]
    OtherType {
        object: String,
        name: String,
        wanted: String,
        found: String,
        found_field: String,
    },
    #[error(
        "property {object}.{name} exists but is not unique (hasUniqueValue is false), and the plan \
         declares it unique: records could not be looked up by it"
    )]
    NotUnique { object: String, name: String },
    #[error("property {object}.{name} could not be created ({status}): {message}")]
    Create {
        object: String,
        name: String,
        status: u16,
        message: String,
    },
}

/// The part of a property definition the step compares.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Existing {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    field_type: String,
    #[serde(default)]
    has_unique_value: bool,
}

/// Makes sure `spec` exists: reads it, creates it when missing.
pub async fn ensure(portal: &Portal, spec: &PropertySpec) -> Result<Ensured, PropertyError> {
    if let Some(existing) = read(portal, spec).await? {
        return compare(spec, &existing).map(|()| Ensured::Existed);
    }
    let body = serde_json::to_vec(&create_body(spec)).expect("a property always serializes");
    let path = portal.paths().properties(&spec.object);
    let failed = |status: u16, message: String| PropertyError::Create {
        object: spec.object.clone(),
        name: spec.name.clone(),
        status,
        message,
    };
    // Not a record create: a lost answer is sent again, and a second create answers 409.
    match portal.post(&path, body, false, &Unpaced).await {
        Call::Answer(reply) if (200..300).contains(&reply.status) => Ok(Ensured::Created),
        // Created meanwhile (by someone else, or by our own request whose answer was lost).
        Call::Answer(reply) if reply.status == 409 => match read(portal, spec).await? {
            Some(existing) => compare(spec, &existing).map(|()| Ensured::Existed),
            None => Err(failed(409, hubspot_message(&reply.body))),
        },
        Call::Answer(reply) => Err(failed(reply.status, hubspot_message(&reply.body))),
        Call::Ambiguous(reason) | Call::GaveUp(reason) => Err(failed(0, reason)),
        Call::Halted => Err(failed(0, "the run is stopping".into())),
    }
}

/// Whether `spec` exists as the plan declares it (`etl validate`: nothing is created); one of
/// another type is the error the properties step would stop on.
pub async fn exists(portal: &Portal, spec: &PropertySpec) -> Result<bool, PropertyError> {
    match read(portal, spec).await? {
        Some(existing) => compare(spec, &existing).map(|()| true),
        None => Ok(false),
    }
}

/// The property as the portal has it, `None` when it has none of that name.
async fn read(portal: &Portal, spec: &PropertySpec) -> Result<Option<Existing>, PropertyError> {
    let error = |source| PropertyError::Read {
        object: spec.object.clone(),
        name: spec.name.clone(),
        source,
    };
    let path = portal.paths().property(&spec.object, &spec.name);
    match get(portal, &path).await {
        Ok(body) => serde_json::from_slice(&body).map(Some).map_err(|e| {
            error(SchemaError::Parse {
                url: portal.url(&path),
                reason: e.to_string(),
            })
        }),
        Err(SchemaError::NotFound { .. }) => Ok(None),
        Err(other) => Err(error(other)),
    }
}

/// An existing property serves the plan when it has the declared type (and is unique if declared
/// so).
fn compare(spec: &PropertySpec, existing: &Existing) -> Result<(), PropertyError> {
    if existing.kind != spec.kind {
        return Err(PropertyError::OtherType {
            object: spec.object.clone(),
            name: spec.name.clone(),
            wanted: spec.kind.clone(),
            found: existing.kind.clone(),
            found_field: existing.field_type.clone(),
        });
    }
    if spec.unique && !existing.has_unique_value {
        return Err(PropertyError::NotUnique {
            object: spec.object.clone(),
            name: spec.name.clone(),
        });
    }
    Ok(())
}

/// HubSpot's `PropertyCreate` body.
fn create_body(spec: &PropertySpec) -> serde_json::Value {
    let mut body = serde_json::json!({
        "name": spec.name,
        "label": spec.label,
        "type": spec.kind,
        "fieldType": spec.field_type,
        "groupName": spec.group,
        "hasUniqueValue": spec.unique,
    });
    if let Some(description) = &spec.description {
        body["description"] = description.clone().into();
    }
    if !spec.options.is_empty() {
        body["options"] = spec
            .options
            .iter()
            .enumerate()
            .map(|(i, (label, value))| {
                serde_json::json!({"label": label, "value": value, "displayOrder": i})
            })
            .collect();
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(kind: &str, unique: bool) -> PropertySpec {
        PropertySpec {
            object: "companies".into(),
            name: "external_id".into(),
            label: "External ID".into(),
            kind: kind.into(),
            field_type: "text".into(),
            unique,
            group: "companyinformation".into(),
            description: None,
            options: Vec::new(),
        }
    }

    #[test]
    fn an_existing_property_must_match_the_plan() {
        let existing = Existing {
            kind: "number".into(),
            field_type: "number".into(),
            has_unique_value: false,
        };
        let err = compare(&spec("string", false), &existing)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("type \"number\"") && err.contains("type \"string\""),
            "{err}"
        );
        assert!(compare(&spec("number", false), &existing).is_ok());
        assert!(matches!(
            compare(&spec("number", true), &existing),
            Err(PropertyError::NotUnique { .. })
        ));
        let body = create_body(&spec("string", true));
        assert_eq!(body["hasUniqueValue"], true);
        assert_eq!(body["groupName"], "companyinformation");
        assert!(body.get("options").is_none());
    }
}
