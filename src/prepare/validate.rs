//! Validation against the portal's property schema.
//!
//! At start ([`Validator::new`]): every mapped property exists and is writable, create maps the
//! required properties, the id property can identify records, and id/association columns exist —
//! otherwise a fatal [`ValidateError`] naming the property and the pipeline file.
//! Per row ([`Validator::check`]): required values, enumeration options, email syntax, numbers, dates,
//! datetimes, booleans, ids and association ids, then the portal's property validation rules (`rules`)
//! on every well-typed value. A failing row becomes a [`Rejection`] with HubSpot's category word (or
//! `PROPERTY_VALIDATION`) and a message naming row, column, property, value and reason.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;

use xxhash_rust::xxh3::xxh3_64;

use super::check::Check;
use super::links::LinkColumns;
use super::mapping::{Mapper, MappingError, column_index};
use super::properties::Properties;
use super::row::{BatchKey, Input, Link, Rejection, SourceRow, SyncRow};
use super::rules::{self, PropertyRules, RulesReport};
use super::values::{self, MAX_STRING, looks_like_epoch_seconds};
use super::violation::{Violation, rejection};
use crate::config::suggestion::{fold, nearest};
use crate::config::{Operation, Pipeline};
use crate::portal::schema::{ObjectSchema, PropertySchema};

/// A pipeline that cannot run against this portal or source: fatal, before any row is read.
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    #[error(transparent)]
    Mapping(#[from] MappingError),
    #[error("pipeline file {}: mapping.{property}: object {object} has no property {property:?}{hint}", file.display())]
    UnknownProperty {
        file: PathBuf,
        object: String,
        property: String,
        hint: String,
    },
    #[error("pipeline file {}: mapping.{property}: property {property:?} of {object} is read-only (calculated or set by HubSpot)", file.display())]
    ReadOnly {
        file: PathBuf,
        object: String,
        property: String,
    },
    #[error("pipeline file {}: create on {object} needs {what} mapped in [mapping]", file.display())]
    RequiredNotMapped {
        file: PathBuf,
        object: String,
        what: String,
    },
    #[error("pipeline file {}: target.id_property: {reason}", file.display())]
    IdProperty { file: PathBuf, reason: String },
}

/// One mapped property's rule.
#[derive(Debug)]
struct Rule {
    name: Arc<str>,
    column: String,
    check: Check,
    unique: bool,
    /// The portal's validation rules the engine evaluates for this property, if any.
    rules: Option<PropertyRules>,
}

/// A hash of what an input sends: its property values (in wire format, after mapping) and its
/// links. Equal hashes across runs mean nothing to send, so the bytes hashed never change (a
/// `[sync]` state keeps them across upgrades).
fn content_hash(properties: &Properties, links: &[Link], columns: &LinkColumns) -> u64 {
    thread_local! {
        // The bytes hashed, in one buffer reused row after row: one pass of xxh3 over them costs
        // less than feeding its streaming state a name and a value at a time.
        static BYTES: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    BYTES.with_borrow_mut(|bytes| {
        bytes.clear();
        for (name, value) in properties.iter() {
            bytes.extend_from_slice(name.as_bytes());
            bytes.push(0);
            bytes.extend_from_slice(value.as_bytes());
            bytes.push(0);
        }
        columns.hashed_bytes(links, bytes);
        xxh3_64(bytes)
    })
}

/// How `[sync]` recognises a row across runs.
#[derive(Debug)]
enum SyncKey {
    /// These source columns (index, name), joined.
    Columns(Vec<(usize, String)>),
    /// The row's id (`id_property`'s value or `id_column`).
    Id,
}

/// Joins the parts of a composite key (a character no CSV value sensibly holds).
pub const KEY_SEPARATOR: char = '\u{1f}';

/// Where a row's id comes from.
#[derive(Debug)]
enum IdSource {
    None,
    /// A column; `check` is the id property's check (or record-id digits when `None`); `rules`
    /// the id property's validation rules when the id becomes a value (upsert).
    Column {
        index: usize,
        label: String,
        check: Option<Check>,
        rules: Option<PropertyRules>,
    },
    /// The value of this mapped property.
    Property(Arc<str>, String),
}

/// Per-row validation, compiled once.
#[derive(Debug)]
pub struct Validator {
    operation: Operation,
    rules: Vec<Rule>,
    required_all: Vec<String>,
    required_any: Vec<String>,
    id: IdSource,
    id_name: String,
    links: LinkColumns,
    sync: Option<SyncKey>,
    /// The API version refuses epoch seconds in dates and datetimes (2026-09 and later).
    refuse_epoch_seconds: bool,
    /// Which rules of the written properties are checked here, and which are left to the portal.
    rules_report: RulesReport,
}

impl Validator {
    /// Checks the pipeline against the schema and the source header (fatal errors), and compiles the
    /// per-row rules. `mapper` must have been built from the same pipeline.
    pub fn new(
        pipeline: &Pipeline,
        schema: &ObjectSchema,
        mapper: &Mapper,
        header: &[String],
    ) -> Result<Validator, ValidateError> {
        let file = &pipeline.file;
        let object = &pipeline.target.object;
        let mut rules = Vec::new();
        let mut rules_report = RulesReport {
            unavailable: schema.rules.unavailable.clone(),
            ..RulesReport::default()
        };
        for (name, column) in mapper.properties() {
            let Some(p) = schema.property(name) else {
                return Err(ValidateError::UnknownProperty {
                    file: file.clone(),
                    object: object.clone(),
                    property: name.to_string(),
                    hint: suggest(schema, name),
                });
            };
            if !p.writable() {
                return Err(ValidateError::ReadOnly {
                    file: file.clone(),
                    object: object.clone(),
                    property: name.to_string(),
                });
            }
            rules.push(Rule {
                name: name.clone(),
                column: column.to_string(),
                check: Check::for_property(p),
                unique: schema.is_unique(name),
                rules: compile_rules(schema, p, &mut rules_report),
            });
        }
        let operation = pipeline.target.operation;
        let mapped = |p: &str| rules.iter().any(|r| &*r.name == p);
        let (mut required_all, mut required_any) = (Vec::new(), Vec::new());
        if operation == Operation::Create {
            let req = &schema.required;
            let missing: Vec<&String> = req.all_of.iter().filter(|p| !mapped(p)).collect();
            if !missing.is_empty() {
                return Err(ValidateError::RequiredNotMapped {
                    file: file.clone(),
                    object: object.clone(),
                    what: format!("the required properties {missing:?}"),
                });
            }
            if !req.any_of.is_empty() && !req.any_of.iter().any(|p| mapped(p)) {
                return Err(ValidateError::RequiredNotMapped {
                    file: file.clone(),
                    object: object.clone(),
                    what: format!("at least one of {:?}", req.any_of),
                });
            }
            required_all = req.all_of.clone();
            required_any = req.any_of.clone();
        }
        let id_property = pipeline.target.id_property.as_deref();
        if let Some(p) = id_property {
            let id_err = |reason: String| ValidateError::IdProperty {
                file: file.clone(),
                reason,
            };
            let Some(prop) = schema.property(p) else {
                return Err(id_err(format!(
                    "object {object} has no property {p:?}{}",
                    suggest(schema, p)
                )));
            };
            if !schema.is_unique(p) {
                return Err(id_err(format!(
                    "{p:?} is not a unique property of {object} (hasUniqueValue is false), so it cannot identify records"
                )));
            }
            // Contacts' batch update refuses `idProperty: email`; the dispatcher looks the
            // emails up to record ids first, so update by email is allowed here.
            let _ = prop;
        }
        // Keys of another pipeline's state are any text; record ids are digits.
        let by_map = pipeline.target.from_pipeline.is_some();
        let id = match (operation, &pipeline.target.id_column, id_property) {
            (Operation::Create, _, _) => IdSource::None,
            (_, Some(column), p) => IdSource::Column {
                index: column_index(
                    header,
                    column,
                    "(target.id_column)",
                    file,
                    &pipeline.source.path,
                )?,
                label: format!("{column:?}"),
                check: match p.and_then(|p| schema.property(p)) {
                    Some(p) => Some(Check::for_property(p)),
                    None if by_map => Some(Check::Text),
                    None => None,
                },
                // An upsert writes its id as the id property's value when it creates the record.
                rules: p
                    .filter(|p| operation == Operation::Upsert && !mapped(p))
                    .and_then(|p| schema.property(p))
                    .and_then(|p| compile_rules(schema, p, &mut rules_report)),
            },
            (_, None, Some(p)) => {
                let rule = rules
                    .iter()
                    .find(|r| &*r.name == p)
                    .expect("config guarantees the id_property is mapped");
                IdSource::Property(rule.name.clone(), rule.column.clone())
            }
            (_, None, None) => IdSource::None,
        };
        let links = LinkColumns::new(&pipeline.associations, header, file, &pipeline.source.path)?;
        let sync = match &pipeline.sync {
            None => None,
            Some(sync) if sync.key.is_empty() => Some(SyncKey::Id),
            Some(sync) => Some(SyncKey::Columns(
                sync.key
                    .iter()
                    .map(|column| {
                        let index = column_index(
                            header,
                            column,
                            "(sync.key)",
                            file,
                            &pipeline.source.path,
                        )?;
                        Ok((index, column.clone()))
                    })
                    .collect::<Result<_, MappingError>>()?,
            )),
        };
        Ok(Validator {
            operation,
            rules,
            required_all,
            required_any,
            id,
            id_name: match (id_property, by_map) {
                (Some(p), _) => p.to_string(),
                (None, true) => "key".to_string(),
                (None, false) => "record id".to_string(),
            },
            links,
            sync,
            refuse_epoch_seconds: pipeline.target.api_version.refuses_epoch_seconds(),
            rules_report,
        })
    }

    /// Which rules of the written properties are checked here, and which are left to the portal.
    pub fn rules_report(&self) -> &RulesReport {
        &self.rules_report
    }

    /// Validates a mapped row. `violations` holds the mapping's failures (and is cleared).
    /// Returns the ready input, or the rejection naming every problem found.
    pub fn check(
        &self,
        row: SourceRow,
        properties: Properties,
        violations: &mut Vec<Violation>,
    ) -> Result<Input, Rejection> {
        self.check_keyed(row, properties, violations, false).0
    }

    /// [`Validator::check`], with the `[sync]` key of a rejected row when `keyed` (see
    /// [`Validator::key_of`]); a valid row's key is its input's (`sync.key`), found once.
    pub fn check_keyed(
        &self,
        row: SourceRow,
        mut properties: Properties,
        violations: &mut Vec<Violation>,
        keyed: bool,
    ) -> (Result<Input, Rejection>, Option<String>) {
        // The mapper's name table is in the rules' order: the value of name `i` meets rule `i`
        // (values named otherwise, built elsewhere, are matched by name).
        for (index, name, value) in properties.indexed() {
            let rule = match self.rules.get(index) {
                Some(rule) if Arc::ptr_eq(&rule.name, name) => rule,
                _ => match self.rules.iter().find(|r| r.name == *name) {
                    Some(rule) => rule,
                    None => continue,
                },
            };
            // Most values are free text with no rules: only their length could be wrong.
            if matches!(rule.check, Check::Text)
                && rule.rules.is_none()
                && value.len() <= MAX_STRING
            {
                continue;
            }
            if let Some((category, reason)) = self.problem(&rule.check, rule.rules.as_ref(), value)
            {
                violations.push(Violation {
                    category,
                    column: Some(rule.column.clone()),
                    property: Some(rule.name.to_string()),
                    value: value.to_string(),
                    reason,
                });
            }
        }
        let has = |p: &str| properties.get(p).is_some();
        for p in &self.required_all {
            if !has(p) {
                violations.push(self.required(p, format!("{p} is required to create a record")));
            }
        }
        if !self.required_any.is_empty() && !self.required_any.iter().any(|p| has(p)) {
            violations.push(self.required(
                &self.required_any[0],
                format!(
                    "one of {} is required to create a record",
                    self.required_any.join(", ")
                ),
            ));
        }
        let id = self.id(&row, &properties, violations);
        let sync_key = self.sync_key(&row, id.as_deref(), violations);
        let links = self.links.read(&row, violations);
        if !violations.is_empty() {
            let key = match keyed {
                true => self.key_of(&row, &properties),
                false => None,
            };
            let rejection = rejection(row.row, row.origin, row.fields, violations);
            violations.clear();
            return (Err(rejection), key);
        }
        // A sync's creates are batched by their key: a later row of the same key waits for the
        // create of the first (it becomes an update of that record).
        let key = match (&id, &sync_key) {
            // Links are idempotent and order-free: a link-only row needs no batching key.
            _ if self.operation.links_only() => None,
            (Some(id), _) => Some(BatchKey::folded(id)),
            (None, Some(key)) => Some(BatchKey::exact(key)),
            (None, None) => self.create_key(&properties),
        };
        if self.operation == Operation::Archive {
            properties.clear();
        }
        let sync = sync_key.map(|key| SyncRow {
            key,
            hash: content_hash(&properties, &links, &self.links),
            after_create: false,
            verify_first: false,
            sent_after_ms: None,
        });
        let input = Input {
            row: row.row,
            origin: row.origin,
            fields: row.fields,
            id,
            key,
            properties,
            links,
            associations: Vec::new(),
            operation: self.operation,
            sync,
        };
        (Ok(input), None)
    }

    /// The row's `[sync]` key from its fields and mapped values, without checking them (so an
    /// invalid row's key is known too); `None` without `[sync]` or when the key is empty.
    fn key_of(&self, row: &SourceRow, properties: &Properties) -> Option<String> {
        let id = match &self.id {
            IdSource::Column { index, .. } => row
                .fields
                .get(*index)
                .map(values::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            IdSource::Property(name, _) => properties
                .iter()
                .find(|(n, _)| Arc::ptr_eq(n, name))
                .map(|(_, v)| v.to_string()),
            IdSource::None => None,
        };
        self.sync_key(row, id.as_deref(), &mut Vec::new())
    }

    /// The row's `[sync]` key, when the pipeline keeps a state.
    fn sync_key(
        &self,
        row: &SourceRow,
        id: Option<&str>,
        violations: &mut Vec<Violation>,
    ) -> Option<String> {
        match self.sync.as_ref()? {
            SyncKey::Id => id.map(|id| values::lowercase(id).into_owned()),
            SyncKey::Columns(columns) => {
                let mut key = String::new();
                for (i, (index, name)) in columns.iter().enumerate() {
                    let value = row.fields.get(*index).map_or("", values::trim);
                    if value.is_empty() {
                        violations.push(Violation {
                            category: "MISSING_ID",
                            column: Some(format!("{name:?}")),
                            property: None,
                            value: String::new(),
                            reason:
                                "no value: [sync] key needs it to recognise the row across runs"
                                    .into(),
                        });
                        return None;
                    }
                    if i > 0 {
                        key.push(KEY_SEPARATOR);
                    }
                    key.push_str(value);
                }
                Some(key)
            }
        }
    }

    fn required(&self, property: &str, reason: String) -> Violation {
        let column = self
            .rules
            .iter()
            .find(|r| &*r.name == property)
            .map(|r| r.column.clone());
        Violation {
            category: "REQUIRED_PROPERTY",
            column,
            property: Some(property.to_string()),
            value: String::new(),
            reason: format!("no value: {reason}"),
        }
    }

    fn id(
        &self,
        row: &SourceRow,
        properties: &Properties,
        violations: &mut Vec<Violation>,
    ) -> Option<String> {
        let missing = |column: Option<String>| Violation {
            category: "MISSING_ID",
            column,
            property: Some(self.id_name.clone()),
            value: String::new(),
            reason: format!(
                "no value: {} needs the {} of the record",
                self.operation, self.id_name
            ),
        };
        match &self.id {
            IdSource::None => None,
            IdSource::Property(name, label) => {
                match properties.iter().find(|(n, _)| Arc::ptr_eq(n, name)) {
                    Some((_, v)) => Some(v.to_string()),
                    None => {
                        violations.push(missing(Some(label.clone())));
                        None
                    }
                }
            }
            IdSource::Column {
                index,
                label,
                check,
                rules,
            } => {
                let value = row.fields.get(*index).map_or("", values::trim);
                if value.is_empty() {
                    violations.push(missing(Some(label.clone())));
                    return None;
                }
                let problem = match check {
                    Some(check) => self.problem(check, rules.as_ref(), value),
                    None if value.bytes().all(|b| b.is_ascii_digit()) => None,
                    None => Some(("INVALID_ID", "is not a record id (expected digits)".into())),
                };
                if let Some((category, reason)) = problem {
                    violations.push(Violation {
                        category,
                        column: Some(label.clone()),
                        property: Some(self.id_name.clone()),
                        value: value.to_string(),
                        reason,
                    });
                    return None;
                }
                Some(value.to_string())
            }
        }
    }

    /// What is wrong with a property's `value`, if anything: its type first (as the portal checks),
    /// then epoch seconds where the API version refuses them, then the validation rules.
    fn problem(
        &self,
        check: &Check,
        rules: Option<&PropertyRules>,
        value: &str,
    ) -> Option<(&'static str, String)> {
        if let Err(problem) = check.check(value) {
            return Some(problem);
        }
        if self.refuse_epoch_seconds
            && matches!(check, Check::Date | Check::DateTime)
            && looks_like_epoch_seconds(value)
        {
            return Some((
                "INVALID_DATE",
                "looks like seconds since the epoch, which API version 2026-09 refuses: send \
                 milliseconds or ISO 8601 (a day before 1973-03-03 as YYYY-MM-DD)"
                    .into(),
            ));
        }
        let broken = rules?.check(value).err()?;
        Some((rules::CATEGORY, broken.reason()))
    }

    /// For create: the value of the first mapped unique property, without case, if any.
    fn create_key(&self, properties: &Properties) -> Option<BatchKey> {
        let rule = self.rules.iter().find(|r| r.unique)?;
        properties
            .iter()
            .find(|(n, _)| Arc::ptr_eq(n, &rule.name))
            .map(|(_, v)| BatchKey::folded(v))
    }
}

/// The validation rules of `property` the engine evaluates (`None` when there are none), recorded
/// with those it leaves to the portal in `report`.
fn compile_rules(
    schema: &ObjectSchema,
    property: &PropertySchema,
    report: &mut RulesReport,
) -> Option<PropertyRules> {
    let specs = schema.rules.of(&property.name);
    if specs.is_empty() {
        return None;
    }
    let rules = PropertyRules::compile(property, specs);
    report.add(&property.name, &rules);
    (!rules.is_empty()).then_some(rules)
}

/// ` (did you mean "firstname", label "First Name"?)` when a property's label or name is the
/// wanted name folded (case, spaces, `_`, `-`), else the nearest name by edit distance.
fn suggest(schema: &ObjectSchema, wanted: &str) -> String {
    let folded = fold(wanted);
    let mut hits: Vec<&PropertySchema> = schema
        .properties
        .values()
        .filter(|p| fold(&p.label) == folded || fold(&p.name) == folded)
        .collect();
    hits.sort_by(|a, b| a.name.cmp(&b.name));
    let hit = hits.first().copied().or_else(|| {
        nearest(wanted, schema.properties.keys().map(String::as_str))
            .and_then(|name| schema.property(name))
    });
    match hit {
        Some(p) => format!(" (did you mean {:?}, label {:?}?)", p.name, p.label),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::prepare::row::RejectStatus;
    use std::path::Path;

    pub(crate) const CONTACTS: &str = r#"{"results":[
        {"name":"email","label":"Email","type":"string","fieldType":"text"},
        {"name":"firstname","label":"First Name","type":"string","fieldType":"text"},
        {"name":"lastname","label":"Last Name","type":"string","fieldType":"text"},
        {"name":"lifecyclestage","label":"Lifecycle Stage","type":"enumeration","fieldType":"radio",
         "options":[{"label":"Lead","value":"lead"},{"label":"Customer","value":"customer"}]},
        {"name":"interests","label":"Interests","type":"enumeration","fieldType":"checkbox",
         "options":[{"label":"Golf","value":"golf"},{"label":"Chess","value":"chess"}]},
        {"name":"date_of_birth","label":"Birthday","type":"date","fieldType":"date"},
        {"name":"last_seen","label":"Last seen","type":"datetime","fieldType":"date"},
        {"name":"score","label":"Score","type":"number","fieldType":"number"},
        {"name":"vip","label":"VIP","type":"bool","fieldType":"booleancheckbox"},
        {"name":"hs_object_id","label":"Record ID","type":"number","fieldType":"number",
         "hasUniqueValue":true,"modificationMetadata":{"readOnlyValue":true}},
        {"name":"ext_id","label":"External ID","type":"string","fieldType":"text","hasUniqueValue":true}
    ]}"#;

    fn schema() -> ObjectSchema {
        ObjectSchema::from_json("contacts", CONTACTS.as_bytes()).unwrap()
    }

    fn pipeline(target: &str, mapping: &str) -> Pipeline {
        config::parse(
            Path::new("/jobs/p.toml"),
            &format!(
                "[source]\npath = \"c.csv\"\n[target]\nobject = \"contacts\"\nbase_url = \"sandbox\"\n{target}\n[mapping]\n{mapping}\n"
            ),
        )
        .unwrap()
    }

    const HEADER: [&str; 9] = [
        "Email",
        "First",
        "Stage",
        "Interests",
        "Born",
        "Seen",
        "Score",
        "VIP",
        "Id",
    ];

    fn setup(target: &str, mapping: &str) -> Result<(Mapper, Validator), ValidateError> {
        let p = pipeline(target, mapping);
        let header: Vec<String> = HEADER.map(String::from).to_vec();
        let mapper = Mapper::new(&p.mapping, &header, &schema(), &p.file, &p.source.path)?;
        let validator = Validator::new(&p, &schema(), &mapper, &header)?;
        Ok((mapper, validator))
    }

    fn run(target: &str, mapping: &str, fields: &[&str]) -> Result<Input, Rejection> {
        let (mapper, validator) = setup(target, mapping).unwrap();
        let row = SourceRow {
            row: 7,
            origin: None,
            fields: fields.iter().map(|s| s.to_string()).collect(),
        };
        let mut violations = Vec::new();
        let props = mapper.map(&row, &mut violations);
        validator.check(row, props, &mut violations)
    }

    #[test]
    fn a_rows_content_hash_is_the_one_earlier_versions_stored() {
        // `[sync]` states keep these hashes across upgrades: a different hash of the same row
        // would send every row of the next run again.
        let input = run(
            "operation = \"upsert\"\nid_property = \"email\"",
            "email = \"Email\"\nfirstname = \"First\"\nscore = \"Score\"\n[sync]\nmode = \"changes\"\n[[associations]]\nto_object = \"companies\"\nto_id_column = \"Id\"\ntype_id = 279\n",
            &["Ann@X.io", "Ann", "", "", "", "", "42", "", "1234"],
        )
        .unwrap();
        let sync = input.sync.unwrap();
        assert_eq!(sync.key, "ann@x.io");
        assert_eq!(input.links.len(), 1);
        assert_eq!(sync.hash, 12727544674345884459);
    }

    const CREATE: &str = "operation = \"create\"";
    const GOOD: [&str; 9] = [
        "a@b.co",
        "Ann",
        "lead",
        "golf;chess",
        "2000-02-29",
        "2024-01-31T09:30:00Z",
        "12.5",
        "yes",
        "42",
    ];

    fn reject(mapping: &str, fields: &[&str]) -> Rejection {
        run(CREATE, mapping, fields).unwrap_err()
    }

    #[test]
    fn a_good_row_becomes_an_input() {
        let input = run(
            CREATE,
            "email = \"Email\"\nlifecyclestage = \"Stage\"\ninterests = \"Interests\"\ndate_of_birth = \"Born\"\nlast_seen = \"Seen\"\nscore = \"Score\"\nvip = \"VIP\"",
            &GOOD,
        )
        .unwrap();
        assert_eq!(input.row, 7);
        assert_eq!(input.key, Some(BatchKey::exact("a@b.co")));
        assert!(input.id.is_none());
        let props: Vec<(&str, &str)> = input.properties.iter().map(|(k, v)| (&**k, v)).collect();
        assert!(props.contains(&("last_seen", "2024-01-31T09:30:00.000Z")));
        assert!(props.contains(&("vip", "true")));
    }

    #[test]
    fn invalid_email() {
        let mut f = GOOD;
        f[0] = "bob@@example";
        let r = reject("email = \"Email\"", &f);
        assert_eq!(r.category, "INVALID_EMAIL");
        assert_eq!(r.status, RejectStatus::Invalid);
        assert!(
            r.message
                .starts_with("row 7: column \"Email\" → property email: \"bob@@example\""),
            "{}",
            r.message
        );
        assert_eq!(&r.fields[0], "bob@@example");
    }

    #[test]
    fn invalid_option_with_hint() {
        let mut f = GOOD;
        f[2] = "Customer";
        let r = reject("email = \"Email\"\nlifecyclestage = \"Stage\"", &f);
        assert_eq!(r.category, "INVALID_OPTION");
        assert!(
            r.message.contains("allowed options: [lead, customer]"),
            "{}",
            r.message
        );
        assert!(
            r.message.contains("did you mean \"customer\""),
            "{}",
            r.message
        );
        f[2] = "lead;customer";
        let r = reject("email = \"Email\"\nlifecyclestage = \"Stage\"", &f);
        assert!(r.message.contains("takes one value"), "{}", r.message);
    }

    #[test]
    fn multi_checkbox_checks_each_part() {
        let mut f = GOOD;
        f[3] = "golf;poker";
        let r = reject("email = \"Email\"\ninterests = \"Interests\"", &f);
        assert_eq!(r.category, "INVALID_OPTION");
        assert!(r.message.contains("\"poker\""), "{}", r.message);
        f[3] = ";golf";
        assert!(run(CREATE, "email = \"Email\"\ninterests = \"Interests\"", &f).is_ok());
    }

    #[test]
    fn numbers_dates_bools_through_explicit_mismatched_types() {
        // An explicit type overrides the schema's: a "number" transform feeding a date property.
        let mut f = GOOD;
        f[6] = "12";
        let r = reject(
            "email = \"Email\"\ndate_of_birth = { column = \"Score\", type = \"number\" }",
            &f,
        );
        assert_eq!(r.category, "INVALID_DATE");
        let r = reject("email = \"Email\"\nscore = { column = \"First\" }", &f);
        assert_eq!(r.category, "INVALID_INTEGER");
        let r = reject("email = \"Email\"\nvip = { column = \"First\" }", &f);
        assert_eq!(r.category, "INVALID_BOOLEAN");
        let r = reject("email = \"Email\"\nlast_seen = { column = \"First\" }", &f);
        assert_eq!(r.category, "INVALID_DATE");
    }

    #[test]
    fn required_properties_on_create() {
        let mut f = GOOD;
        f[0] = "";
        let r = reject(
            "email = \"Email\"\nfirstname = \"First\"",
            &["", "", "", "", "", "", "", "", ""],
        );
        assert_eq!(r.category, "REQUIRED_PROPERTY");
        assert!(
            r.message.contains("one of email, firstname, lastname"),
            "{}",
            r.message
        );
        assert!(run(CREATE, "email = \"Email\"\nfirstname = \"First\"", &f).is_ok());
    }

    #[test]
    fn several_violations_in_one_message() {
        let mut f = GOOD;
        f[0] = "nope";
        f[7] = "perhaps";
        let r = reject("email = \"Email\"\nvip = \"VIP\"", &f);
        // Transform failures are found first (while mapping), then schema checks.
        assert_eq!(r.category, "INVALID_BOOLEAN");
        assert!(r.message.contains("[INVALID_EMAIL]"), "{}", r.message);
        assert!(
            r.message.contains("\"perhaps\" is not a boolean"),
            "{}",
            r.message
        );
    }

    #[test]
    fn fatal_start_checks() {
        let e = setup(CREATE, "first_name = \"First\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no property \"first_name\"")
                && e.contains("did you mean \"firstname\"")
                && e.contains("/jobs/p.toml"),
            "{e}"
        );
        let e = setup(CREATE, "email = \"Email\"\nhs_object_id = \"Id\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("read-only"), "{e}");
        let e = setup(CREATE, "lifecyclestage = \"Stage\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least one of"), "{e}");
        let e = setup(
            "operation = \"upsert\"\nid_property = \"firstname\"",
            "firstname = \"First\"",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("not a unique property"), "{e}");
        // Update by email: the dispatcher resolves emails to record ids first.
        assert!(
            setup(
                "operation = \"update\"\nid_property = \"email\"",
                "email = \"Email\"",
            )
            .is_ok()
        );
        let e = setup(
            "operation = \"update\"\nid_column = \"Record\"",
            "email = \"Email\"",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("\"Record\""), "{e}");
    }

    #[test]
    fn upsert_ids_and_keys() {
        let t = "operation = \"upsert\"\nid_property = \"email\"";
        let input = run(
            t,
            "email = { column = \"Email\", trim = true }\nfirstname = \"First\"",
            &{
                let mut f = GOOD;
                f[0] = " Ann@B.co ";
                f
            },
        )
        .unwrap();
        assert_eq!(input.id.as_deref(), Some("Ann@B.co"));
        assert_eq!(input.key, Some(BatchKey::exact("ann@b.co")));
        // A second pipeline of the same mapping shares the first one's name table, and finds its id.
        let again = run(t, "email = \"Email\"\nfirstname = \"First\"", &GOOD).unwrap();
        assert_eq!(again.id.as_deref(), Some(GOOD[0]));
        let mut f = GOOD;
        f[0] = "";
        let r = run(t, "email = \"Email\"\nfirstname = \"First\"", &f).unwrap_err();
        assert_eq!(r.category, "MISSING_ID");
    }

    #[test]
    fn update_and_archive_by_record_id() {
        let t = "operation = \"update\"\nid_column = \"Id\"";
        let input = run(t, "firstname = \"First\"", &GOOD).unwrap();
        assert_eq!(input.id.as_deref(), Some("42"));
        let mut f = GOOD;
        f[8] = "abc";
        assert_eq!(
            run(t, "firstname = \"First\"", &f).unwrap_err().category,
            "INVALID_ID"
        );
        f[8] = " ";
        assert_eq!(
            run(t, "firstname = \"First\"", &f).unwrap_err().category,
            "MISSING_ID"
        );
        let archive = run("operation = \"archive\"\nid_column = \"Id\"", "", &GOOD).unwrap();
        assert!(archive.properties.is_empty());
        // Archive by a unique property read from a column: the property's check applies.
        let t = "operation = \"archive\"\nid_property = \"email\"\nid_column = \"Email\"";
        assert_eq!(run(t, "", &GOOD).unwrap().id.as_deref(), Some("a@b.co"));
        let mut f = GOOD;
        f[0] = "x@";
        assert_eq!(run(t, "", &f).unwrap_err().category, "INVALID_EMAIL");
    }

    #[test]
    fn epoch_seconds_are_refused_from_2026_09_only() {
        // A number fed to a date property: "0" is midnight in milliseconds, but seconds-like.
        let mapping =
            "email = \"Email\"\ndate_of_birth = { column = \"Score\", type = \"number\" }";
        let mut f = GOOD;
        f[6] = "0";
        let r = reject(mapping, &f);
        assert_eq!(r.category, "INVALID_DATE");
        assert!(
            r.message.contains("seconds since the epoch"),
            "{}",
            r.message
        );
        let v3 = "operation = \"create\"\napi_version = \"v3\"";
        assert!(run(v3, mapping, &f).is_ok());
    }

    #[test]
    fn a_value_that_breaks_a_rule_names_the_rule_and_the_report_lists_the_rules() {
        use crate::portal::rules::ValidationRules;
        let p = pipeline(CREATE, "email = \"Email\"\nfirstname = \"First\"");
        let mut schema = schema();
        schema.rules = ValidationRules::from_json(
            br#"{"results":[{"propertyName":"firstname","propertyValidationRules":[
                {"ruleType":"MAX_LENGTH","ruleArguments":["2"]},
                {"ruleType":"DECIMAL","ruleArguments":["1"]}]},
              {"propertyName":"lastname","propertyValidationRules":[
                {"ruleType":"MIN_LENGTH","ruleArguments":["9"]}]}]}"#,
        )
        .unwrap();
        let header: Vec<String> = HEADER.map(String::from).to_vec();
        let mapper = Mapper::new(&p.mapping, &header, &schema, &p.file, &p.source.path).unwrap();
        let validator = Validator::new(&p, &schema, &mapper, &header).unwrap();
        let report = validator.rules_report();
        assert_eq!(report.checked, ["firstname MAX_LENGTH [\"2\"]"]);
        assert_eq!(report.left.len(), 1, "lastname is not written: {report:?}");
        assert!(
            report.left[0].starts_with("firstname DECIMAL [\"1\"]: "),
            "{report:?}"
        );
        let row = SourceRow {
            row: 3,
            origin: None,
            fields: GOOD.into_iter().collect(),
        };
        let mut violations = Vec::new();
        let props = mapper.map(&row, &mut violations);
        let r = validator.check(row, props, &mut violations).unwrap_err();
        assert_eq!(r.category, "PROPERTY_VALIDATION");
        assert_eq!(
            r.message,
            "row 3: column \"First\" → property firstname: \"Ann\" breaks the rule MAX_LENGTH \
             [\"2\"]: it is 3 characters long, longer than 2 [PROPERTY_VALIDATION]"
        );
    }

    #[test]
    fn association_ids_must_be_numeric() {
        let p = config::parse(
            Path::new("/jobs/p.toml"),
            "[source]\npath = \"c.csv\"\n[target]\nobject = \"contacts\"\noperation = \"create\"\nbase_url = \"sandbox\"\n[mapping]\nemail = \"Email\"\n[[associations]]\nto_object = \"companies\"\nto_id_column = \"Id\"\ntype_id = 279\n",
        )
        .unwrap();
        let header: Vec<String> = HEADER.map(String::from).to_vec();
        let mapper = Mapper::new(&p.mapping, &header, &schema(), &p.file, &p.source.path).unwrap();
        let v = Validator::new(&p, &schema(), &mapper, &header).unwrap();
        let go = |id: &str| {
            let mut fields: Vec<String> = GOOD.map(String::from).to_vec();
            fields[8] = id.into();
            let row = SourceRow {
                row: 1,
                origin: None,
                fields: fields.into(),
            };
            let mut vs = Vec::new();
            let props = mapper.map(&row, &mut vs);
            v.check(row, props, &mut vs)
        };
        let input = go("42").unwrap();
        assert_eq!(input.links[0].key, "42");
        assert_eq!(input.links[0].table, 0);
        assert!(go("").unwrap().links.is_empty());
        assert_eq!(go("ACME").unwrap_err().category, "INVALID_ID");
    }
}
