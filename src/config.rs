//! `pipeline.toml`: raw serde structs (`deny_unknown_fields`) validated once into a [`Pipeline`] whose
//! types cannot be wrong (resolved paths, `NonZero` limits, `Duration`s, a checked base URL).
//!
//! The key names are the user's contract (DESIGN.md §6); every key is documented in README.md.

use std::collections::BTreeMap;
use std::fmt;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::mapping::{PropertyMapping, ValueSource, ValueType};
use crate::secret::Secret;

/// A validated pipeline: everything `etl run` and `etl validate` need to know about the job.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// The pipeline file itself (errors name it).
    pub file: PathBuf,
    pub source: SourceSpec,
    pub target: Target,
    /// Property mappings, one per target property.
    pub mapping: Vec<PropertyMapping>,
    pub associations: Vec<AssociationSpec>,
    pub dispatch: Dispatch,
    pub dead_letter: DeadLetterSpec,
    pub checkpoint: CheckpointSpec,
}

/// Where the rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// Resolved relative to the pipeline file.
    pub path: PathBuf,
    pub format: SourceFormat,
    /// CSV field delimiter (`b','` for Parquet, where it is unused).
    pub delimiter: u8,
}

/// The file format of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Csv,
    Parquet,
}

/// The object type and the operation applied to every row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Object type name or id: `contacts`, `0-1`, `2-1234567`.
    pub object: String,
    pub operation: Operation,
    /// The unique property that identifies records (upsert: required; update/archive: optional).
    pub id_property: Option<String>,
    /// The column holding the record id (or the `id_property` value when both are set).
    pub id_column: Option<String>,
    pub base_url: BaseUrl,
    /// The environment variable that holds the token (never the token itself).
    pub token_env: String,
}

/// The batch operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Upsert,
    Archive,
}

impl Operation {
    /// The last segment of the batch endpoint: `/crm/v3/objects/{type}/batch/{segment}`.
    pub fn path_segment(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Upsert => "upsert",
            Operation::Archive => "archive",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path_segment())
    }
}

/// Where the API lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseUrl {
    /// The embedded in-process sandbox.
    Sandbox,
    /// An `http(s)` URL without a trailing slash.
    Url(String),
}

/// One association attached to every created record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationSpec {
    /// The column holding the id of the record to associate with.
    pub to_id_column: String,
    /// The association type id (e.g. 279 contact → company).
    pub type_id: u32,
    /// `HUBSPOT_DEFINED` (default) or `USER_DEFINED`.
    pub category: String,
}

/// Limits for the dispatcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatch {
    /// Requests allowed per rolling `interval`.
    pub requests_per_interval: NonZeroU32,
    pub interval: Duration,
    /// Upper bound of requests in flight.
    pub concurrency: NonZeroUsize,
    /// Inputs per batch request, 1..=100.
    pub batch_size: usize,
    /// Retries per request after the first attempt.
    pub max_retries: u32,
    pub request_timeout: Duration,
}

/// Where rejected rows go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterSpec {
    pub path: PathBuf,
    /// The CSV delimiter of the dead-letter file: the source's for a CSV source (so the file can be
    /// replayed by the same pipeline), `,` for Parquet.
    pub delimiter: u8,
}

/// Where the resume journal lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointSpec {
    pub path: PathBuf,
}

/// A pipeline file that cannot be used, with the file and the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read pipeline file {}: {source}", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("pipeline file {}: {message}", file.display())]
    Parse { file: PathBuf, message: String },
    #[error("pipeline file {}: `{key}`: {message}", file.display())]
    Invalid {
        file: PathBuf,
        key: String,
        message: String,
    },
    #[error("environment variable {var} (target.token_env) is not valid Unicode")]
    TokenNotUnicode { var: String },
}

/// Reads and validates a pipeline file.
pub fn load(path: &Path) -> Result<Pipeline, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// Validates pipeline text as if read from `path` (relative paths resolve against its folder).
pub fn parse(path: &Path, text: &str) -> Result<Pipeline, ConfigError> {
    let raw: RawPipeline = toml::from_str(text).map_err(|err| ConfigError::Parse {
        file: path.to_path_buf(),
        message: err.to_string().trim_end().to_string(),
    })?;
    raw.validate(path)
}

impl Pipeline {
    /// The token from the environment variable named by `target.token_env`; `None` when unset or empty.
    pub fn token(&self) -> Result<Option<Secret>, ConfigError> {
        match std::env::var(&self.target.token_env) {
            Ok(value) if value.trim().is_empty() => Ok(None),
            Ok(value) => Ok(Some(Secret::new(value.trim()))),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::TokenNotUnicode {
                var: self.target.token_env.clone(),
            }),
        }
    }

    /// The same pipeline sent to another API (`--base-url`): rehearse against a running
    /// `etl sandbox`, then load the portal, with one pipeline file.
    pub fn with_base_url(&self, raw: &str) -> Result<Pipeline, ConfigError> {
        let base_url = parse_base_url(raw).map_err(|message| ConfigError::Invalid {
            file: self.file.clone(),
            key: "--base-url".into(),
            message,
        })?;
        let mut pipeline = self.clone();
        pipeline.target.base_url = base_url;
        Ok(pipeline)
    }

    /// The same pipeline reading another file (`etl validate --source`): the format comes from the
    /// new file's extension; a CSV keeps the pipeline's delimiter when the pipeline reads CSV too.
    pub fn with_source(&self, path: &Path) -> Result<Pipeline, ConfigError> {
        let format = format_from_extension(path).ok_or_else(|| ConfigError::Invalid {
            file: self.file.clone(),
            key: "--source".into(),
            message: format!(
                "cannot tell the format of {} from its extension (.csv, .tsv or .parquet)",
                path.display()
            ),
        })?;
        let delimiter = match (format, self.source.format) {
            (SourceFormat::Csv, SourceFormat::Csv) if !is_tsv(path) => self.source.delimiter,
            _ => default_delimiter(path),
        };
        let mut pipeline = self.clone();
        pipeline.source = SourceSpec {
            path: path.to_path_buf(),
            format,
            delimiter,
        };
        // Replaying the dead-letter file itself: never truncate the file being read.
        if pipeline.dead_letter.path == path {
            pipeline.dead_letter.path = sibling(path, "failed.csv");
        }
        if format == SourceFormat::Csv {
            pipeline.dead_letter.delimiter = delimiter;
        }
        Ok(pipeline)
    }
}

// ---------------------------------------------------------------------------------------------
// Raw file shape

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    source: RawSource,
    target: RawTarget,
    #[serde(default)]
    mapping: BTreeMap<String, RawMapping>,
    #[serde(default)]
    associations: Vec<RawAssociation>,
    #[serde(default)]
    dispatch: RawDispatch,
    #[serde(default)]
    dead_letter: RawDeadLetter,
    #[serde(default)]
    checkpoint: RawCheckpoint,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    path: PathBuf,
    format: Option<String>,
    delimiter: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    object: String,
    operation: String,
    id_property: Option<String>,
    id_column: Option<String>,
    base_url: String,
    token_env: Option<String>,
}

/// `property = "Column"` or a table with transforms.
enum RawMapping {
    Column(String),
    Table(RawMappingTable),
}

impl<'de> Deserialize<'de> for RawMapping {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawMapping;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a column name or a table such as { column = \"Close\", type = \"date\" }",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawMapping, E> {
                Ok(RawMapping::Column(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawMapping, A::Error> {
                RawMappingTable::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawMapping::Table)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMappingTable {
    column: Option<String>,
    columns: Option<Vec<String>>,
    value: Option<String>,
    #[serde(default)]
    trim: bool,
    #[serde(default)]
    lowercase: bool,
    #[serde(default)]
    values: BTreeMap<String, String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    format: Option<String>,
    default: Option<String>,
    split: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssociation {
    to_id_column: String,
    type_id: u32,
    category: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDispatch {
    requests_per_interval: Option<u32>,
    interval_ms: Option<u64>,
    concurrency: Option<usize>,
    batch_size: Option<usize>,
    max_retries: Option<u32>,
    timeout_ms: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDeadLetter {
    path: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCheckpoint {
    path: Option<PathBuf>,
}

// ---------------------------------------------------------------------------------------------
// Validation

struct Ctx<'a> {
    file: &'a Path,
}

impl Ctx<'_> {
    fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_path_buf(),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

impl RawPipeline {
    fn validate(self, file: &Path) -> Result<Pipeline, ConfigError> {
        let ctx = Ctx { file };
        let dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
        let source = self.source.validate(&ctx, &dir)?;
        let target = self.target.validate(&ctx)?;
        let mapping = self
            .mapping
            .into_iter()
            .map(|(property, raw)| raw.validate(&ctx, property))
            .collect::<Result<Vec<_>, _>>()?;
        let associations = self
            .associations
            .into_iter()
            .map(|raw| raw.validate(&ctx))
            .collect::<Result<Vec<_>, _>>()?;
        check_operation(&ctx, &target, &mapping, &associations)?;
        let dispatch = self.dispatch.validate(&ctx)?;
        let dead_letter = DeadLetterSpec {
            path: match self.dead_letter.path {
                Some(path) => dir.join(path),
                None => sibling(&source.path, "failed.csv"),
            },
            delimiter: match source.format {
                SourceFormat::Csv => source.delimiter,
                SourceFormat::Parquet => b',',
            },
        };
        if dead_letter.path == source.path {
            return Err(ctx.err("dead_letter.path", "must not be the source file"));
        }
        let checkpoint = CheckpointSpec {
            path: match self.checkpoint.path {
                Some(path) => dir.join(path),
                None => sibling(file, "journal"),
            },
        };
        Ok(Pipeline {
            file: file.to_path_buf(),
            source,
            target,
            mapping,
            associations,
            dispatch,
            dead_letter,
            checkpoint,
        })
    }
}

/// `dir/stem.suffix` next to `path`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pipeline".into());
    path.with_file_name(format!("{stem}.{suffix}"))
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

fn is_tsv(path: &Path) -> bool {
    extension(path) == "tsv"
}

fn format_from_extension(path: &Path) -> Option<SourceFormat> {
    match extension(path).as_str() {
        "csv" | "tsv" | "txt" => Some(SourceFormat::Csv),
        "parquet" | "pq" => Some(SourceFormat::Parquet),
        _ => None,
    }
}

fn default_delimiter(path: &Path) -> u8 {
    if is_tsv(path) { b'\t' } else { b',' }
}

impl RawSource {
    fn validate(self, ctx: &Ctx, dir: &Path) -> Result<SourceSpec, ConfigError> {
        let path = dir.join(&self.path);
        let format = match self.format.as_deref() {
            Some("csv") | Some("tsv") => SourceFormat::Csv,
            Some("parquet") => SourceFormat::Parquet,
            Some(other) => {
                return Err(ctx.err(
                    "source.format",
                    format!("unknown format {other:?}: expected \"csv\", \"tsv\" or \"parquet\""),
                ));
            }
            None => format_from_extension(&path).ok_or_else(|| {
                ctx.err(
                    "source.path",
                    format!(
                        "cannot tell the format of {} from its extension: name it .csv, .tsv or .parquet, or set source.format",
                        self.path.display()
                    ),
                )
            })?,
        };
        let delimiter = match (self.delimiter.as_deref(), format) {
            (None, _) if self.format.as_deref() == Some("tsv") => b'\t',
            (None, _) => default_delimiter(&path),
            (Some(_), SourceFormat::Parquet) => {
                return Err(ctx.err("source.delimiter", "only applies to CSV sources"));
            }
            (Some("," | "comma"), _) => b',',
            (Some(";" | "semicolon"), _) => b';',
            (Some("\t" | "tab"), _) => b'\t',
            (Some("|" | "pipe"), _) => b'|',
            (Some(other), _) => {
                return Err(ctx.err(
                    "source.delimiter",
                    format!(
                        "unsupported delimiter {other:?}: expected \",\", \";\", \"tab\" or \"|\""
                    ),
                ));
            }
        };
        Ok(SourceSpec {
            path,
            format,
            delimiter,
        })
    }
}

impl RawTarget {
    fn validate(self, ctx: &Ctx) -> Result<Target, ConfigError> {
        let object = self.object.trim().to_string();
        if object.is_empty() || object.contains('/') || object.contains(char::is_whitespace) {
            return Err(ctx.err(
                "target.object",
                format!("{:?} is not an object type name or id", self.object),
            ));
        }
        let operation = match self.operation.as_str() {
            "create" => Operation::Create,
            "update" => Operation::Update,
            "upsert" => Operation::Upsert,
            "archive" => Operation::Archive,
            other => {
                return Err(ctx.err(
                    "target.operation",
                    format!(
                        "unknown operation {other:?}: expected create, update, upsert or archive"
                    ),
                ));
            }
        };
        let base_url = parse_base_url(&self.base_url).map_err(|m| ctx.err("target.base_url", m))?;
        let token_env = self.token_env.unwrap_or_else(|| "HUBSPOT_TOKEN".into());
        if token_env.is_empty()
            || !token_env
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            // Never echo the value: it may be a token pasted by mistake.
            return Err(ctx.err(
                "target.token_env",
                "must name an environment variable (letters, digits, _), not hold the token itself",
            ));
        }
        let nonempty = |key: &str, v: Option<String>| -> Result<Option<String>, ConfigError> {
            match v {
                Some(s) if s.trim().is_empty() => Err(ctx.err(key, "must not be empty")),
                other => Ok(other),
            }
        };
        Ok(Target {
            object,
            operation,
            id_property: nonempty("target.id_property", self.id_property)?,
            id_column: nonempty("target.id_column", self.id_column)?,
            base_url,
            token_env,
        })
    }
}

fn parse_base_url(raw: &str) -> Result<BaseUrl, String> {
    if raw == "sandbox" {
        return Ok(BaseUrl::Sandbox);
    }
    let url = reqwest::Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "{raw:?} must be \"sandbox\" or an http(s) URL such as \"https://api.hubapi.com\""
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{raw:?} must not have a query or fragment"));
    }
    Ok(BaseUrl::Url(raw.trim_end_matches('/').to_string()))
}

impl RawMapping {
    fn validate(self, ctx: &Ctx, property: String) -> Result<PropertyMapping, ConfigError> {
        let key = format!("mapping.{property}");
        let table = match self {
            RawMapping::Column(column) => {
                if column.is_empty() {
                    return Err(ctx.err(&key, "column name must not be empty"));
                }
                return Ok(PropertyMapping::column(property, column));
            }
            RawMapping::Table(table) => table,
        };
        let source = match (table.column, table.columns, table.value) {
            (Some(c), None, None) if !c.is_empty() => ValueSource::Column(c),
            (None, Some(cs), None) if !cs.is_empty() && cs.iter().all(|c| !c.is_empty()) => {
                ValueSource::Columns(cs)
            }
            (None, None, Some(v)) => ValueSource::Constant(v),
            _ => {
                return Err(ctx.err(
                    &key,
                    "needs exactly one of `column` (a column name), `columns` (a non-empty list) or `value` (a constant)",
                ));
            }
        };
        let kind = match table.kind.as_deref() {
            None => None,
            Some("date") => Some(ValueType::Date),
            Some("datetime") => Some(ValueType::DateTime),
            Some("number") => Some(ValueType::Number),
            Some("bool") => Some(ValueType::Bool),
            Some(other) => {
                return Err(ctx.err(
                    &format!("{key}.type"),
                    format!("unknown type {other:?}: expected date, datetime, number or bool"),
                ));
            }
        };
        if let Some(format) = &table.format {
            // Without `type`, the portal's schema decides date vs datetime (checked when compiling).
            if matches!(kind, Some(ValueType::Number | ValueType::Bool)) {
                return Err(ctx.err(
                    &format!("{key}.format"),
                    "only applies to dates and datetimes (type = \"date\", \"datetime\" or the property's own type)",
                ));
            }
            if chrono::format::StrftimeItems::new(format)
                .any(|item| matches!(item, chrono::format::Item::Error))
            {
                return Err(ctx.err(
                    &format!("{key}.format"),
                    format!("{format:?} is not a valid chrono format (e.g. \"%d/%m/%Y\")"),
                ));
            }
        }
        if let Some(split) = &table.split
            && split.is_empty()
        {
            return Err(ctx.err(&format!("{key}.split"), "must not be empty"));
        }
        if matches!(source, ValueSource::Constant(_)) && table.default.is_some() {
            return Err(ctx.err(&key, "`default` has no meaning with a constant `value`"));
        }
        Ok(PropertyMapping {
            property,
            source,
            trim: table.trim,
            lowercase: table.lowercase,
            values: table.values.into_iter().collect(),
            kind,
            format: table.format,
            default: table.default,
            split: table.split,
        })
    }
}

impl RawAssociation {
    fn validate(self, ctx: &Ctx) -> Result<AssociationSpec, ConfigError> {
        if self.to_id_column.is_empty() {
            return Err(ctx.err("associations.to_id_column", "must not be empty"));
        }
        let category = self.category.unwrap_or_else(|| "HUBSPOT_DEFINED".into());
        if !matches!(category.as_str(), "HUBSPOT_DEFINED" | "USER_DEFINED") {
            return Err(ctx.err(
                "associations.category",
                format!("{category:?}: expected \"HUBSPOT_DEFINED\" or \"USER_DEFINED\""),
            ));
        }
        Ok(AssociationSpec {
            to_id_column: self.to_id_column,
            type_id: self.type_id,
            category,
        })
    }
}

fn check_operation(
    ctx: &Ctx,
    target: &Target,
    mapping: &[PropertyMapping],
    associations: &[AssociationSpec],
) -> Result<(), ConfigError> {
    let op = target.operation;
    let mapped = |p: &str| mapping.iter().any(|m| m.property == p);
    if !associations.is_empty() && op != Operation::Create {
        return Err(ctx.err(
            "associations",
            format!("[[associations]] only apply to operation = \"create\", not {op:?}"),
        ));
    }
    match op {
        Operation::Create => {
            if mapping.is_empty() {
                return Err(ctx.err("mapping", "create needs at least one mapped property"));
            }
            if target.id_property.is_some() || target.id_column.is_some() {
                return Err(ctx.err(
                    "target.id_property",
                    "create takes no id_property or id_column (new records get new ids)",
                ));
            }
        }
        Operation::Upsert => {
            let Some(id_property) = &target.id_property else {
                return Err(ctx.err(
                    "target.id_property",
                    "upsert needs id_property (e.g. \"email\" or a unique custom property)",
                ));
            };
            if target.id_column.is_none() && !mapped(id_property) {
                return Err(ctx.err(
                    "target.id_property",
                    format!("upsert by {id_property:?}: map that property in [mapping] or set target.id_column"),
                ));
            }
        }
        Operation::Update | Operation::Archive => {
            match (&target.id_property, &target.id_column) {
                (None, None) => {
                    return Err(ctx.err(
                        "target.id_column",
                        format!("{op} needs id_column (the record id column) or id_property"),
                    ));
                }
                (Some(p), None) if !mapped(p) => {
                    return Err(ctx.err(
                        "target.id_property",
                        format!(
                            "{op} by {p:?}: map that property in [mapping] or set target.id_column"
                        ),
                    ));
                }
                _ => {}
            }
            if op == Operation::Update && mapping.is_empty() {
                return Err(ctx.err("mapping", "update needs at least one mapped property"));
            }
            if op == Operation::Archive
                && let Some(m) = mapping
                    .iter()
                    .find(|m| Some(&m.property) != target.id_property.as_ref())
            {
                return Err(ctx.err(
                    &format!("mapping.{}", m.property),
                    "archive sends no properties: [mapping] may only map the id_property",
                ));
            }
        }
    }
    Ok(())
}

impl RawDispatch {
    fn validate(self, ctx: &Ctx) -> Result<Dispatch, ConfigError> {
        let requests_per_interval = NonZeroU32::new(self.requests_per_interval.unwrap_or(100))
            .ok_or_else(|| ctx.err("dispatch.requests_per_interval", "must be at least 1"))?;
        let interval_ms = self.interval_ms.unwrap_or(10_000);
        if interval_ms == 0 {
            return Err(ctx.err("dispatch.interval_ms", "must be at least 1"));
        }
        let concurrency = NonZeroUsize::new(self.concurrency.unwrap_or(4))
            .ok_or_else(|| ctx.err("dispatch.concurrency", "must be at least 1"))?;
        let batch_size = self.batch_size.unwrap_or(100);
        if !(1..=100).contains(&batch_size) {
            return Err(ctx.err(
                "dispatch.batch_size",
                format!("{batch_size} is out of range: HubSpot takes 1 to 100 inputs per batch"),
            ));
        }
        let timeout_ms = self.timeout_ms.unwrap_or(30_000);
        if timeout_ms == 0 {
            return Err(ctx.err("dispatch.timeout_ms", "must be at least 1"));
        }
        Ok(Dispatch {
            requests_per_interval,
            interval: Duration::from_millis(interval_ms),
            concurrency,
            batch_size,
            max_retries: self.max_retries.unwrap_or(8),
            request_timeout: Duration::from_millis(timeout_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[source]
path = "contacts.csv"
[target]
object = "contacts"
operation = "upsert"
id_property = "email"
base_url = "sandbox"
[mapping]
email = "Email"
"#;

    fn parse_str(text: &str) -> Result<Pipeline, ConfigError> {
        parse(Path::new("/jobs/p.toml"), text)
    }

    fn err(text: &str) -> String {
        parse_str(text).unwrap_err().to_string()
    }

    #[test]
    fn minimal_pipeline_gets_defaults() {
        let p = parse_str(MINIMAL).unwrap();
        assert_eq!(p.source.path, Path::new("/jobs/contacts.csv"));
        assert_eq!(p.source.format, SourceFormat::Csv);
        assert_eq!(p.source.delimiter, b',');
        assert_eq!(p.target.operation, Operation::Upsert);
        assert_eq!(p.target.base_url, BaseUrl::Sandbox);
        assert_eq!(p.target.token_env, "HUBSPOT_TOKEN");
        assert_eq!(p.dispatch.batch_size, 100);
        assert_eq!(p.dispatch.requests_per_interval.get(), 100);
        assert_eq!(p.dispatch.interval, Duration::from_secs(10));
        assert_eq!(p.dispatch.concurrency.get(), 4);
        assert_eq!(p.dispatch.max_retries, 8);
        assert_eq!(p.dispatch.request_timeout, Duration::from_secs(30));
        assert_eq!(p.dead_letter.path, Path::new("/jobs/contacts.failed.csv"));
        assert_eq!(p.checkpoint.path, Path::new("/jobs/p.journal"));
    }

    #[test]
    fn full_pipeline() {
        let p = parse_str(
            r#"
[source]
path = "data/deals.txt"
format = "csv"
delimiter = "tab"
[target]
object = "deals"
operation = "create"
base_url = "http://127.0.0.1:8080/"
token_env = "MY_TOKEN"
[mapping]
dealname = { column = "Name", trim = true }
closedate = { column = "Close", type = "date", format = "%d/%m/%Y" }
pipeline = { value = "default" }
tags = { columns = ["A", "B"] }
[[associations]]
to_id_column = "Company ID"
type_id = 341
[dispatch]
batch_size = 50
interval_ms = 1000
[dead_letter]
path = "out/failed.csv"
[checkpoint]
path = "state.journal"
"#,
        )
        .unwrap();
        assert_eq!(p.source.delimiter, b'\t');
        assert_eq!(
            p.target.base_url,
            BaseUrl::Url("http://127.0.0.1:8080".into())
        );
        assert_eq!(p.mapping.len(), 4);
        assert_eq!(p.associations[0].category, "HUBSPOT_DEFINED");
        assert_eq!(p.dispatch.batch_size, 50);
        assert_eq!(p.dead_letter.path, Path::new("/jobs/out/failed.csv"));
        assert_eq!(p.dead_letter.delimiter, b'\t');
        assert_eq!(p.checkpoint.path, Path::new("/jobs/state.journal"));
    }

    #[test]
    fn delimiters_and_formats() {
        for (d, b) in [
            (",", b','),
            (";", b';'),
            ("\\t", b'\t'),
            ("tab", b'\t'),
            ("|", b'|'),
        ] {
            let text = MINIMAL.replace(
                "path = \"contacts.csv\"",
                &format!("path = \"contacts.csv\"\ndelimiter = \"{d}\""),
            );
            assert_eq!(parse_str(&text).unwrap().source.delimiter, b);
        }
        let tsv = parse_str(&MINIMAL.replace("contacts.csv", "contacts.tsv")).unwrap();
        assert_eq!(tsv.source.delimiter, b'\t');
        let pq = parse_str(&MINIMAL.replace("contacts.csv", "contacts.parquet")).unwrap();
        assert_eq!(pq.source.format, SourceFormat::Parquet);
        assert_eq!(pq.dead_letter.path, Path::new("/jobs/contacts.failed.csv"));
        assert!(err(&MINIMAL.replace("contacts.csv", "contacts.xlsx")).contains("source.path"));
        let bad = MINIMAL.replace(
            "path = \"contacts.csv\"",
            "path = \"contacts.csv\"\ndelimiter = \"#\"",
        );
        assert!(err(&bad).contains("source.delimiter"));
    }

    #[test]
    fn unknown_keys_are_named_with_their_line() {
        let e = err(&MINIMAL.replace("[target]", "[target]\nobjet = \"x\""));
        assert!(e.contains("objet"), "{e}");
        assert!(e.contains("/jobs/p.toml"), "{e}");
        assert!(e.contains("line"), "{e}");
        let e = err(&MINIMAL.replace(
            "email = \"Email\"",
            "email = { column = \"Email\", trimm = true }",
        ));
        assert!(e.contains("trimm"), "{e}");
    }

    #[test]
    fn missing_required_keys() {
        let e = err(&MINIMAL.replace("object = \"contacts\"", ""));
        assert!(e.contains("object"), "{e}");
        let e = err(&MINIMAL.replace("base_url = \"sandbox\"", ""));
        assert!(e.contains("base_url"), "{e}");
    }

    #[test]
    fn operation_rules() {
        let e = err(&MINIMAL.replace("id_property = \"email\"\n", ""));
        assert!(e.contains("upsert needs id_property"), "{e}");
        let e = err(&MINIMAL.replace("email = \"Email\"", "firstname = \"F\""));
        assert!(e.contains("map that property"), "{e}");
        let e = err(&MINIMAL
            .replace("upsert", "update")
            .replace("id_property = \"email\"\n", ""));
        assert!(e.contains("id_column"), "{e}");
        let ok = MINIMAL
            .replace("upsert", "archive")
            .replace("id_property = \"email\"", "id_column = \"Id\"")
            .replace("email = \"Email\"", "");
        assert_eq!(parse_str(&ok).unwrap().target.operation, Operation::Archive);
        let e = err(&MINIMAL
            .replace("upsert", "archive")
            .replace("email = \"Email\"", "email = \"Email\"\nfirstname = \"F\""));
        assert!(e.contains("archive sends no properties"), "{e}");
        let e = err(&format!(
            "{MINIMAL}\n[[associations]]\nto_id_column = \"C\"\ntype_id = 279\n"
        ));
        assert!(e.contains("only apply to operation = \"create\""), "{e}");
        let e = err(&MINIMAL
            .replace("upsert", "create")
            .replace("id_property = \"email\"\n", "")
            .replace("email = \"Email\"", ""));
        assert!(e.contains("at least one mapped property"), "{e}");
    }

    #[test]
    fn bad_values() {
        let e = err(&MINIMAL.replace("\"upsert\"", "\"merge\""));
        assert!(e.contains("target.operation") && e.contains("merge"), "{e}");
        let e = err(&MINIMAL.replace("\"sandbox\"", "\"ftp://x\""));
        assert!(e.contains("target.base_url"), "{e}");
        let e = err(&format!("{MINIMAL}[dispatch]\nbatch_size = 101\n"));
        assert!(e.contains("dispatch.batch_size"), "{e}");
        let e = err(&format!("{MINIMAL}[dispatch]\nconcurrency = 0\n"));
        assert!(e.contains("dispatch.concurrency"), "{e}");
        let e = err(&MINIMAL.replace(
            "email = \"Email\"",
            "email = { column = \"E\", type = \"money\" }",
        ));
        assert!(e.contains("mapping.email.type"), "{e}");
        let e = err(&MINIMAL.replace(
            "email = \"Email\"",
            "email = { column = \"E\", type = \"bool\", format = \"%d\" }",
        ));
        assert!(e.contains("mapping.email.format"), "{e}");
        let e = err(&MINIMAL.replace(
            "email = \"Email\"",
            "email = { column = \"E\", value = \"x\" }",
        ));
        assert!(e.contains("exactly one of"), "{e}");
    }

    #[test]
    fn token_env_never_echoes_a_pasted_token() {
        let e = err(&MINIMAL.replace(
            "base_url = \"sandbox\"",
            "base_url = \"sandbox\"\ntoken_env = \"pat-na1-1234-secret\"",
        ));
        assert!(e.contains("target.token_env"), "{e}");
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn token_comes_from_the_named_variable() {
        let p = parse_str(&MINIMAL.replace(
            "base_url = \"sandbox\"",
            "base_url = \"sandbox\"\ntoken_env = \"ETL_CONFIG_TEST_TOKEN_UNSET\"",
        ))
        .unwrap();
        assert!(p.token().unwrap().is_none());
    }

    #[test]
    fn with_source_switches_format() {
        let p = parse_str(&MINIMAL.replace("contacts.csv", "contacts.parquet")).unwrap();
        let q = p
            .with_source(Path::new("/tmp/contacts.failed.csv"))
            .unwrap();
        assert_eq!(q.source.format, SourceFormat::Csv);
        assert_eq!(q.source.delimiter, b',');
        let p = parse_str(&MINIMAL.replace(
            "path = \"contacts.csv\"",
            "path = \"c.csv\"\ndelimiter = \";\"",
        ))
        .unwrap();
        assert_eq!(
            p.with_source(Path::new("x.csv")).unwrap().source.delimiter,
            b';'
        );
    }

    #[test]
    fn operation_display() {
        assert_eq!(Operation::Upsert.to_string(), "upsert");
        assert_eq!(Operation::Archive.path_segment(), "archive");
    }
}
