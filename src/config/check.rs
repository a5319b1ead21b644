//! Raw → validated: every key checked once, with errors naming the file and the key.

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::Path;
use std::time::Duration;

use super::api_version::{ApiVersion, UnknownVersion};
use super::budget::{BudgetUrl, DEFAULT_OUTAGE, SharedBudgetSpec};
use super::files::sibling;
use super::mapping::{PropertyMapping, ValueSource, ValueType};
use super::raw::{RawDispatch, RawMapping, RawPipeline, RawSource, RawTarget};
use super::source_name::{
    compression_of, default_delimiter, format_from_extension, is_remote, is_stdin,
    unreadable_combination,
};
use super::suggestion::{did_you_mean, nearest};
use super::{
    BaseUrl, CheckpointSpec, ConfigError, DEFAULT_MAX_ROW_BYTES, DeadLetterSpec, Dispatch,
    Operation, Pipeline, SourceFormat, SourceSpec, Target,
};

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
    pub(super) fn validate(self, file: &Path) -> Result<Pipeline, ConfigError> {
        let ctx = Ctx { file };
        let dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
        let source = self.source.validate(&ctx, &dir)?;
        let target = self.target.validate(&ctx, &dir)?;
        let mapping = self
            .mapping
            .into_iter()
            .map(|(property, raw)| raw.validate(&ctx, property))
            .collect::<Result<Vec<_>, _>>()?;
        let associations = self
            .associations
            .into_iter()
            .map(|raw| raw.validate(&|key, message| ctx.err(key, message), &dir))
            .collect::<Result<Vec<_>, _>>()?;
        check_operation(&ctx, &target, &mapping)?;
        let dispatch = self.dispatch.validate(&ctx)?;
        let dead_letter = DeadLetterSpec {
            path: match self.dead_letter.path {
                Some(path) => dir.join(path),
                // Standard input has no name, and an object's folder is no local one: the
                // pipeline file's names the dead letters.
                None if is_stdin(&source.path) || is_remote(&source.path) => {
                    sibling(file, "failed.csv")
                }
                None => sibling(&source.path, "failed.csv"),
            },
            delimiter: match source.format {
                SourceFormat::Csv => source.delimiter,
                SourceFormat::Parquet => b',',
            },
        };
        let checkpoint = CheckpointSpec {
            path: match self.checkpoint.path {
                Some(path) => dir.join(path),
                None => sibling(file, "journal"),
            },
        };
        let sync = match self.sync {
            Some(raw) => {
                Some(raw.validate(&|key, message| ctx.err(key, message), file, &target)?)
            }
            None => None,
        };
        Ok(Pipeline {
            sync,
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

impl RawSource {
    fn validate(self, ctx: &Ctx, dir: &Path) -> Result<SourceSpec, ConfigError> {
        // Standard input and objects in a store are no files of the pipeline's folder; standard
        // input is CSV unless told otherwise.
        let path = if is_stdin(&self.path) || is_remote(&self.path) {
            self.path.clone()
        } else {
            dir.join(&self.path)
        };
        let format = match (self.format.as_deref(), is_stdin(&path)) {
            (None, true) => Some("csv"),
            (format, _) => format,
        };
        let format = match format {
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
                        "cannot tell the format of {} from its extension: name it .csv, .tsv or .parquet (CSV also .csv.gz or .csv.zst), or set source.format",
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
        let compression = compression_of(&path);
        if let Some(message) = unreadable_combination(&path, format, compression) {
            return Err(ctx.err("source.path", message));
        }
        let max_row_bytes = self.max_row_bytes.unwrap_or(DEFAULT_MAX_ROW_BYTES);
        if max_row_bytes < 1024 {
            return Err(ctx.err(
                "source.max_row_bytes",
                format!("{max_row_bytes} is too small: at least 1024 bytes"),
            ));
        }
        let prepare_threads = match self.prepare_threads {
            None => None,
            Some(0) => {
                return Err(ctx.err(
                    "source.prepare_threads",
                    "0 threads cannot prepare rows: at least 1 (leave it out for one per core)",
                ));
            }
            Some(n) => NonZeroUsize::new(n),
        };
        Ok(SourceSpec {
            path,
            format,
            compression,
            delimiter,
            max_row_bytes,
            prepare_threads,
        })
    }
}

impl RawTarget {
    fn validate(self, ctx: &Ctx, dir: &Path) -> Result<Target, ConfigError> {
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
            "associate" => Operation::Associate,
            "dissociate" => Operation::Dissociate,
            other => {
                return Err(ctx.err(
                    "target.operation",
                    format!(
                        "unknown operation {other:?}: expected create, update, upsert, archive, \
                         associate or dissociate{}",
                        did_you_mean(other, OPERATIONS)
                    ),
                ));
            }
        };
        let base_url = parse_base_url(&self.base_url, self.allow_plain_http)
            .map_err(|m| ctx.err("target.base_url", m))?;
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
        let api_version = match self.api_version {
            Some(name) => name
                .parse()
                .map_err(|e: UnknownVersion| ctx.err("target.api_version", e.to_string()))?,
            None => ApiVersion::LATEST,
        };
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
            allow_plain_http: self.allow_plain_http,
            api_version,
            from_pipeline: self
                .from_pipeline
                .map(|file| super::association::unread_map(dir.join(file))),
        })
    }
}

/// The operations, as the pipeline file spells them.
const OPERATIONS: [&str; 6] = [
    "create",
    "update",
    "upsert",
    "archive",
    "associate",
    "dissociate",
];

/// `"sandbox"` or an http(s) URL. Plain `http://` to a host beyond loopback would carry the token in
/// clear across the network: refused unless `allow_plain_http` says the user accepts it.
pub(super) fn parse_base_url(raw: &str, allow_plain_http: bool) -> Result<BaseUrl, String> {
    if raw == "sandbox" {
        return Ok(BaseUrl::Sandbox);
    }
    const EXPECTED: &str = "\"sandbox\" or an http(s) URL such as \"https://api.hubapi.com\"";
    if !raw.contains("://") {
        if nearest(raw, ["sandbox"]).is_some() {
            return Err(format!(
                "{raw:?} must be {EXPECTED} (did you mean \"sandbox\"?)"
            ));
        }
        // A host without its scheme (`127.0.0.1:8080`, `api.hubapi.com`): say which one to add.
        if let Ok(url) = reqwest::Url::parse(&format!("http://{raw}"))
            && url.host_str().is_some_and(|h| !h.is_empty())
        {
            let scheme = if is_loopback(&url) { "http" } else { "https" };
            return Err(format!(
                "{raw:?} has no scheme: write \"{scheme}://{raw}\" (or \"sandbox\" for the embedded sandbox)"
            ));
        }
    }
    let url = reqwest::Url::parse(raw)
        .map_err(|e| format!("{raw:?} is not a URL ({e}): expected {EXPECTED}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{raw:?} must be {EXPECTED}"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{raw:?} must not have a query or fragment"));
    }
    if url.scheme() == "http" && !is_loopback(&url) && !allow_plain_http {
        return Err(format!(
            "{raw:?} would send the API token in clear across the network: use https, or set \
             target.allow_plain_http = true if this network is trusted"
        ));
    }
    Ok(BaseUrl::Url(raw.trim_end_matches('/').to_string()))
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let host = url.host_str().unwrap_or("");
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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
                    format!(
                        "unknown type {other:?}: expected date, datetime, number or bool{}",
                        did_you_mean(other, ["date", "datetime", "number", "bool"])
                    ),
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

fn check_operation(
    ctx: &Ctx,
    target: &Target,
    mapping: &[PropertyMapping],
) -> Result<(), ConfigError> {
    let op = target.operation;
    let mapped = |p: &str| mapping.iter().any(|m| m.property == p);
    // Associations against the operation are checked once `from_pipeline`s are read
    // (`association::check`): they give `to_object` its default.
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
        Operation::Associate | Operation::Dissociate => {
            if let Some(m) = mapping.first() {
                return Err(ctx.err(
                    &format!("mapping.{}", m.property),
                    format!("{op} writes links, not properties: [mapping] must be empty"),
                ));
            }
            if target.id_column.is_none() {
                return Err(ctx.err(
                    "target.id_column",
                    format!(
                        "{op} needs id_column: the column naming the {} records to link (record \
                         ids, or with id_property or from_pipeline their keys)",
                        target.object
                    ),
                ));
            }
        }
    }
    Ok(())
}

impl RawDispatch {
    fn validate(self, ctx: &Ctx) -> Result<Dispatch, ConfigError> {
        let defaults = Dispatch::default();
        let requests_per_interval = NonZeroU32::new(
            self.requests_per_interval
                .unwrap_or(defaults.requests_per_interval.get()),
        )
        .ok_or_else(|| ctx.err("dispatch.requests_per_interval", "must be at least 1"))?;
        let interval_ms = self
            .interval_ms
            .unwrap_or(defaults.interval.as_millis() as u64);
        if interval_ms == 0 {
            return Err(ctx.err("dispatch.interval_ms", "must be at least 1"));
        }
        let concurrency = NonZeroUsize::new(self.concurrency.unwrap_or(defaults.concurrency.get()))
            .ok_or_else(|| ctx.err("dispatch.concurrency", "must be at least 1"))?;
        let batch_size = self.batch_size.unwrap_or(defaults.batch_size);
        if !(1..=100).contains(&batch_size) {
            return Err(ctx.err(
                "dispatch.batch_size",
                format!("{batch_size} is out of range: HubSpot takes 1 to 100 inputs per batch"),
            ));
        }
        let association_requests_per_interval = NonZeroU32::new(
            self.association_requests_per_interval
                .unwrap_or(defaults.association_requests_per_interval.get()),
        )
        .ok_or_else(|| {
            ctx.err(
                "dispatch.association_requests_per_interval",
                "must be at least 1",
            )
        })?;
        let association_batch_size = self
            .association_batch_size
            .unwrap_or(defaults.association_batch_size);
        if !(1..=2000).contains(&association_batch_size) {
            return Err(ctx.err(
                "dispatch.association_batch_size",
                format!(
                    "{association_batch_size} is out of range: HubSpot takes 1 to 2000 links per \
                     association batch"
                ),
            ));
        }
        let daily_limit = match self.daily_limit {
            Some(0) => return Err(ctx.err("dispatch.daily_limit", "must be at least 1")),
            Some(limit) => limit,
            None => super::daily_limit_of_tier(requests_per_interval, interval_ms),
        };
        let timeout_ms = self
            .timeout_ms
            .unwrap_or(defaults.request_timeout.as_millis() as u64);
        if timeout_ms == 0 {
            return Err(ctx.err("dispatch.timeout_ms", "must be at least 1"));
        }
        let outage = match self.shared_budget_outage_ms {
            Some(0) => {
                return Err(ctx.err("dispatch.shared_budget_outage_ms", "must be at least 1"));
            }
            Some(ms) => Duration::from_millis(ms),
            None => DEFAULT_OUTAGE,
        };
        let shared_budget = match self.shared_budget {
            Some(raw) => Some(SharedBudgetSpec {
                url: BudgetUrl::parse(&raw).map_err(|m| ctx.err("dispatch.shared_budget", m))?,
                outage,
            }),
            None => None,
        };
        Ok(Dispatch {
            requests_per_interval,
            interval: Duration::from_millis(interval_ms),
            concurrency,
            batch_size,
            association_requests_per_interval,
            association_batch_size,
            max_retries: self.max_retries.unwrap_or(defaults.max_retries),
            request_timeout: Duration::from_millis(timeout_ms),
            shared_budget,
            shared_budget_outage: outage,
            daily_limit,
        })
    }
}
