//! Changes: a client's property map checked against the type's schema (unknown, read-only, bad values,
//! missing required properties) into values ready to store, and why an input was refused, rendered both
//! as a whole-request error and as a 207 `errors[]` item.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use super::error::{ApiError, Detail, ErrorItem};
use super::objects::{ObjectType, Required};
use super::policy::WritePolicy;

/// Validated writes: `(property index, stored value)`; `""` clears.
pub type Sets<'a> = Vec<(usize, Cow<'a, str>)>;

/// One refused property, as HubSpot lists it inside "Property values were not valid: […]".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub name: String,
    pub code: &'static str,
    pub message: String,
}

/// Checks every property of an input (types, and what `policy` adds for the API version); all problems
/// are reported, as HubSpot does.
pub fn validate<'a>(
    ty: &ObjectType,
    props: Vec<(Cow<'a, str>, Option<Cow<'a, str>>)>,
    policy: &WritePolicy,
) -> Result<Sets<'a>, Vec<Issue>> {
    let mut sets = Vec::with_capacity(props.len());
    let mut issues = Vec::new();
    for (name, raw) in props {
        let Some(prop) = ty.prop(&name) else {
            issues.push(Issue {
                message: format!("Property \"{name}\" does not exist"),
                code: "PROPERTY_DOESNT_EXIST",
                name: name.into_owned(),
            });
            continue;
        };
        if ty.properties[prop].read_only {
            issues.push(Issue {
                message: format!("\"{name}\" is a read only property; its value cannot be set."),
                code: "READ_ONLY_VALUE",
                name: name.into_owned(),
            });
            continue;
        }
        match policy.check(ty, prop, raw.unwrap_or_default()) {
            Ok(value) => match sets.iter_mut().find(|(p, _)| *p == prop) {
                Some(slot) => slot.1 = value,
                None => sets.push((prop, value)),
            },
            Err(invalid) => issues.push(Issue {
                name: name.into_owned(),
                code: invalid.code,
                message: invalid.message,
            }),
        }
    }
    if issues.is_empty() {
        Ok(sets)
    } else {
        Err(issues)
    }
}

/// Checks a create carries its type's required properties (sandbox decision: `REQUIRED_PROPERTY`,
/// reported like any other invalid property value).
pub fn check_required(ty: &ObjectType, sets: &Sets<'_>) -> Result<(), Issue> {
    let has = |name: &String| {
        ty.prop(name)
            .is_some_and(|p| sets.iter().any(|(q, v)| *q == p && !v.is_empty()))
    };
    match &ty.required {
        Required::All(names) => match names.iter().find(|n| !has(n)) {
            None => Ok(()),
            Some(missing) => Err(Issue {
                name: missing.clone(),
                code: "REQUIRED_PROPERTY",
                message: format!(
                    "Property \"{missing}\" is required to create a {}",
                    ty.singular
                ),
            }),
        },
        Required::AnyOf(names) if names.iter().any(has) => Ok(()),
        Required::AnyOf(names) => Err(Issue {
            name: names[0].clone(),
            code: "REQUIRED_PROPERTY",
            message: format!(
                "At least one of the properties [{}] is required to create a {}",
                names.join(", "),
                ty.singular
            ),
        }),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Embedded<'a> {
    is_valid: bool,
    message: &'a str,
    error: &'a str,
    name: &'a str,
    localized_error_message: &'a str,
    portal_id: u64,
}

/// `Property values were not valid: [{"isValid":false,"message":…,"error":…,"name":…,…}]`.
pub fn embedded_message(issues: &[Issue], portal_id: u64) -> String {
    let items: Vec<Embedded<'_>> = issues
        .iter()
        .map(|i| Embedded {
            is_valid: false,
            message: &i.message,
            error: i.code,
            name: &i.name,
            localized_error_message: &i.message,
            portal_id,
        })
        .collect();
    format!(
        "Property values were not valid: {}",
        serde_json::to_string(&items).expect("plain structs serialize")
    )
}

/// "Contact already exists. Existing ID: 123".
pub fn conflict_message(ty: &ObjectType, existing: u64) -> String {
    format!("{} already exists. Existing ID: {existing}", ty.label)
}

/// Why one input of a write was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowError {
    /// Invalid property values (or a missing required one).
    Invalid(Vec<Issue>),
    /// Another validation problem with a plain message (bad association).
    Message(String),
    /// A unique value already taken: the message names the holder.
    Conflict(String),
    /// The id names no live record.
    NotFound(String),
}

impl RowError {
    /// The whole-request answer (single-record writes and all-or-nothing batches). Single-record 400s
    /// carry `errors[]` detail, as HubSpot's current docs show.
    pub fn into_api(self, portal_id: u64) -> ApiError {
        match self {
            RowError::Invalid(issues) => {
                let details = issues
                    .iter()
                    .map(|i| Detail {
                        message: i.message.clone(),
                        code: i.code.to_owned(),
                        context: BTreeMap::from([(
                            "propertyName".to_owned(),
                            vec![i.name.clone()],
                        )]),
                    })
                    .collect();
                ApiError::validation(embedded_message(&issues, portal_id)).with_details(details)
            }
            RowError::Message(message) => ApiError::validation(message),
            RowError::Conflict(message) => ApiError::conflict(message),
            RowError::NotFound(_) => ApiError::not_found(),
        }
    }

    /// The 207 `errors[]` item, tagged with the input's trace id when it has one.
    pub fn item(&self, ty: &ObjectType, portal_id: u64, trace: Option<&str>) -> ErrorItem {
        let item = match self {
            RowError::Invalid(issues) => {
                ErrorItem::new("VALIDATION_ERROR", embedded_message(issues, portal_id))
            }
            RowError::Message(message) => ErrorItem::new("VALIDATION_ERROR", message.clone()),
            RowError::Conflict(message) => ErrorItem::new("CONFLICT", message.clone()),
            RowError::NotFound(id) => ErrorItem::new("OBJECT_NOT_FOUND", not_found_message(ty))
                .with("ids", vec![id.clone()]),
        };
        match trace {
            Some(trace) => item.with("objectWriteTraceId", vec![trace.to_owned()]),
            None => item,
        }
    }
}

/// "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid."
pub fn not_found_message(ty: &ObjectType) -> String {
    format!(
        "Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.",
        ty.upper()
    )
}

#[cfg(test)]
mod tests {
    use super::super::registry::Registry;
    use super::*;

    fn props<'a>(pairs: &[(&'a str, &'a str)]) -> Vec<(Cow<'a, str>, Option<Cow<'a, str>>)> {
        pairs
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), Some(Cow::Borrowed(*v))))
            .collect()
    }

    #[test]
    fn reports_every_bad_property() {
        let reg = Registry::new(7, None).unwrap();
        let ty = &*reg.resolve("contacts").unwrap();
        let issues = validate(
            ty,
            props(&[("email", "nope"), ("nosuch", "1"), ("hs_object_id", "3")]),
            &WritePolicy::types_only(),
        )
        .unwrap_err();
        let codes: Vec<_> = issues.iter().map(|i| i.code).collect();
        assert_eq!(
            codes,
            ["INVALID_EMAIL", "PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE"]
        );
        let message = embedded_message(&issues[1..2], 7);
        assert_eq!(
            message,
            r#"Property values were not valid: [{"isValid":false,"message":"Property \"nosuch\" does not exist","error":"PROPERTY_DOESNT_EXIST","name":"nosuch","localizedErrorMessage":"Property \"nosuch\" does not exist","portalId":7}]"#
        );
    }

    #[test]
    fn required_rules() {
        let reg = Registry::new(7, None).unwrap();
        let deals = &*reg.resolve("deals").unwrap();
        let sets = validate(
            deals,
            props(&[("dealname", "x"), ("pipeline", "default")]),
            &WritePolicy::types_only(),
        )
        .unwrap();
        let issue = check_required(deals, &sets).unwrap_err();
        assert_eq!(
            (issue.code, issue.name.as_str()),
            ("REQUIRED_PROPERTY", "dealstage")
        );
        let contacts = &*reg.resolve("contacts").unwrap();
        let sets = validate(
            contacts,
            props(&[("lastname", "x")]),
            &WritePolicy::types_only(),
        )
        .unwrap();
        assert!(check_required(contacts, &sets).is_ok());
        assert!(check_required(contacts, &Vec::new()).is_err());
    }
}
