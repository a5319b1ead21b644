//! The draft as a whole: which columns map to which properties with which transforms, how records
//! are identified (email for contacts, a unique property otherwise, or the record id column for
//! update and archive), the operation, the required properties no column holds, and the columns
//! left out. [`super::render`] writes it as a pipeline file.

use super::matching::{Match, match_columns};
use super::sample::Sample;
use super::transform::{Transform, transform};
use super::{Request, flag, path_from};
use crate::config::{BaseUrl, ConfigError, Operation};
use crate::portal::schema::{ObjectSchema, PropertySchema, PropertyType};

/// A pipeline file, drafted.
#[derive(Debug)]
pub struct Plan {
    /// `[source] path`, relative to the pipeline file's folder when it can be.
    pub source: String,
    /// `[source] delimiter` when not a comma.
    pub delimiter: Option<&'static str>,
    pub object: String,
    pub operation: Operation,
    /// Why this operation and identity, for the comment beside them.
    pub identity_note: String,
    pub id_property: Option<String>,
    pub id_column: Option<String>,
    pub base_url: String,
    /// Written only when it is not the default.
    pub token_env: Option<String>,
    pub mappings: Vec<Mapping>,
    /// Required properties no column holds, given one value for every record.
    pub constants: Vec<Constant>,
    /// Required properties no column holds and no single value can stand for.
    pub unmapped_required: Vec<String>,
    /// Columns not mapped: the column, why, and the nearest properties (name, label).
    pub left_out: Vec<LeftOut>,
    /// Rows the sample read, and whether that was the whole file.
    pub sampled: (usize, bool),
}

/// One `[mapping]` entry.
#[derive(Debug)]
pub struct Mapping {
    pub property: String,
    pub column: String,
    pub transform: Transform,
    /// Why the column was taken for the property.
    pub reason: String,
}

/// A required property set to one value for every record.
#[derive(Debug)]
pub struct Constant {
    pub property: String,
    pub value: String,
    pub note: String,
}

/// A column the draft does not map.
#[derive(Debug)]
pub struct LeftOut {
    pub column: String,
    pub why: String,
    pub nearest: Vec<(String, String)>,
}

/// How records are identified: the chosen operation, its id property or id column, and why.
struct Identity {
    operation: Operation,
    id_property: Option<String>,
    id_column: Option<String>,
    note: String,
}

/// The property that holds record ids (a column of them identifies records for update/archive).
const RECORD_ID: &str = "hs_object_id";

/// Plans the pipeline file for `request` from the sample and the schema.
pub fn plan(
    request: &Request,
    sample: &Sample,
    schema: &ObjectSchema,
) -> Result<Plan, ConfigError> {
    let matching = match_columns(&sample.header, schema);
    let property = |name: &str| schema.property(name);
    let identity = identity(request, &matching.matched, sample, schema)?;
    let mut mappings = Vec::new();
    let mut left_out: Vec<LeftOut> = Vec::new();
    for m in &matching.matched {
        let column = sample.header[m.column].clone();
        let Some(p) = property(&m.property) else {
            continue;
        };
        let is_id = identity.id_property.as_deref() == Some(p.name.as_str());
        let why = if p.name == RECORD_ID {
            (identity.id_column.as_deref() != Some(column.as_str())).then(|| {
                format!(
                    "record ids ({RECORD_ID}): HubSpot assigns them; update and archive read them"
                )
            })
        } else if identity.operation == Operation::Archive && !is_id {
            Some(format!(
                "archive sends no properties (would map to {})",
                p.name
            ))
        } else {
            None
        };
        match why {
            Some(why) => left_out.push(LeftOut {
                column,
                why,
                nearest: Vec::new(),
            }),
            None if p.name == RECORD_ID => {}
            None => mappings.push(Mapping {
                property: p.name.clone(),
                transform: transform(p, &sample.column(m.column)),
                reason: m.tier.reason(p),
                column,
            }),
        }
    }
    for (index, nearest) in &matching.left_out {
        left_out.push(LeftOut {
            column: sample.header[*index].clone(),
            why: "no property matched".into(),
            nearest: nearest
                .iter()
                .filter_map(|name| property(name).map(|p| (p.name.clone(), p.label.clone())))
                .collect(),
        });
    }
    let (constants, unmapped_required) = required(identity.operation, schema, &mappings);
    let dir = match request.output.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    Ok(Plan {
        source: path_from(&dir, &sample.path),
        delimiter: sample.delimiter,
        object: request.object.clone(),
        operation: identity.operation,
        identity_note: identity.note,
        id_property: identity.id_property,
        id_column: identity.id_column,
        base_url: match &request.base_url {
            BaseUrl::Sandbox => "sandbox".into(),
            BaseUrl::Url(url) => url.clone(),
        },
        token_env: (request.token_env != "HUBSPOT_TOKEN").then(|| request.token_env.clone()),
        mappings,
        constants,
        unmapped_required,
        left_out,
        sampled: (sample.rows.len(), sample.whole),
    })
}

/// The operation and how its records are identified.
fn identity(
    request: &Request,
    matched: &[Match],
    sample: &Sample,
    schema: &ObjectSchema,
) -> Result<Identity, ConfigError> {
    let object = &request.object;
    // Unique properties among the matched columns: contacts' email first (HubSpot's own key).
    let mut unique: Vec<&str> = matched
        .iter()
        .map(|m| m.property.as_str())
        .filter(|p| *p != RECORD_ID && schema.is_unique(p))
        .collect();
    unique.sort_by_key(|p| *p != "email");
    let record_ids = matched
        .iter()
        .find(|m| m.property == RECORD_ID)
        .map(|m| sample.header[m.column].clone());
    let by_unique = |op: Operation, first: &str| Identity {
        operation: op,
        id_property: Some(first.to_string()),
        id_column: None,
        note: format!("records are identified by {first}, a unique property of {object}"),
    };
    let needs = |op: Operation, what: &str| {
        let known: Vec<&str> = {
            let mut names: Vec<&str> = schema
                .properties
                .values()
                .filter(|p| schema.is_unique(&p.name) && p.name != RECORD_ID)
                .map(|p| p.name.as_str())
                .collect();
            names.sort_unstable();
            names
        };
        flag(
            "--operation",
            &op.to_string(),
            format!(
                "{op} needs {what}; no column of {} maps to one (unique properties of {object}: {})",
                sample.path.display(),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ),
        )
    };
    Ok(match request.operation {
        None => match unique.first() {
            Some(first) => by_unique(Operation::Upsert, first),
            None => Identity {
                operation: Operation::Create,
                id_property: None,
                id_column: None,
                note: format!(
                    "no column holds a unique property of {object}, so each row creates a record \
                     (upsert needs one)"
                ),
            },
        },
        Some(Operation::Create) => Identity {
            operation: Operation::Create,
            id_property: None,
            id_column: None,
            note: "each row creates a record".into(),
        },
        Some(Operation::Upsert) => match unique.first() {
            Some(first) => by_unique(Operation::Upsert, first),
            None => {
                return Err(needs(
                    Operation::Upsert,
                    "a column holding a unique property",
                ));
            }
        },
        Some(op @ (Operation::Update | Operation::Archive)) => {
            match (&record_ids, unique.first()) {
                (Some(column), _) => Identity {
                    operation: op,
                    id_property: None,
                    id_column: Some(column.clone()),
                    note: format!(
                        "records are identified by their record id, in column {column:?}"
                    ),
                },
                (None, Some(first)) => by_unique(op, first),
                (None, None) => {
                    return Err(needs(op, "a column of record ids or of a unique property"));
                }
            }
        }
        Some(op @ (Operation::Associate | Operation::Dissociate)) => {
            return Err(flag(
                "--operation",
                &op.to_string(),
                "etl init drafts record loads (create, update, upsert, archive); a links file's \
                 [[associations]] are written by hand (see docs/migrate.md)"
                    .into(),
            ));
        }
    })
}

/// For create: required properties no column holds. An enumeration gets its first option for
/// every record (a deal's `pipeline` has one option in most portals); any other is listed.
fn required(
    operation: Operation,
    schema: &ObjectSchema,
    mappings: &[Mapping],
) -> (Vec<Constant>, Vec<String>) {
    let (mut constants, mut unmapped) = (Vec::new(), Vec::new());
    if operation != Operation::Create {
        return (constants, unmapped);
    }
    let mapped = |p: &str| mappings.iter().any(|m| m.property == p);
    for name in schema.required.all_of.iter().filter(|p| !mapped(p)) {
        match schema.property(name).and_then(first_option) {
            Some((value, note)) => constants.push(Constant {
                property: name.clone(),
                value,
                note,
            }),
            None => unmapped.push(name.clone()),
        }
    }
    let any_of = &schema.required.any_of;
    if !any_of.is_empty() && !any_of.iter().any(|p| mapped(p)) {
        unmapped.push(format!("one of {}", any_of.join(", ")));
    }
    (constants, unmapped)
}

/// The first visible option of an enumeration, and a note listing the options.
fn first_option(p: &PropertySchema) -> Option<(String, String)> {
    if p.kind != PropertyType::Enumeration {
        return None;
    }
    let visible: Vec<_> = p.options.iter().filter(|o| !o.hidden).collect();
    let first = visible.first()?;
    let options = visible
        .iter()
        .map(|o| format!("{} ({})", o.value, o.label))
        .collect::<Vec<_>>()
        .join(", ");
    Some((
        first.value.clone(),
        format!(
            "required, and no column holds it: every record gets {:?}; the options: {options}",
            first.label
        ),
    ))
}
