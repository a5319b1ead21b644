//! The pipeline file: raw serde structs (`deny_unknown_fields`) validated once into a [`Pipeline`]
//! whose types cannot be wrong (resolved paths, `NonZero` limits, `Duration`s, a checked base URL).
//!
//! Parts: `raw` (the file's shape), `check` (raw → validated), `mapping` (the `[mapping]` types),
//! `association` (the `[[associations]]` tables), `identity` (reading the pipeline a
//! `from_pipeline` names), `overrides` (command-line flags that change a loaded pipeline), `flags`
//! (a connection from command-line flags, for commands without a pipeline file), `files` (files
//! compared by identity), `sync` (the `[sync]` table), `plan` (migration plans: stages and the
//! properties they need), `secret` (the token's type), `api_version` (the HubSpot API version a job
//! speaks, and its `--api-version` flag), `budget` (the shared rate budget's URL), `source_name`
//! (what a source's name says: format, compression, standard input, objects),
//! `suggestion` ("did you mean …?" by edit distance).
//! The key names are the user's contract (DESIGN.md §6); every key is documented in docs/.

pub mod api_version;
pub mod association;
pub mod budget;
mod check;
pub mod files;
mod flags;
mod identity;
pub mod mapping;
mod overrides;
pub mod plan;
mod raw;
pub mod secret;
pub mod source_name;
pub mod suggestion;
pub mod sync;
#[cfg(test)]
mod tests;

use std::fmt;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use api_version::{ApiVersion, ApiVersionArg};
pub use association::{AssociationSpec, AssociationType, IdentityMap, TargetKey};
use budget::{BudgetUrl, SHARED_BUDGET_ENV, SharedBudgetSpec};
pub use files::sibling;
pub use flags::ConnectionFlags;
use mapping::PropertyMapping;
pub use overrides::Overrides;
use raw::RawPipeline;
use secret::Secret;

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
    /// `[sync]`: the local state of what was sent, when the pipeline keeps one.
    pub sync: Option<sync::SyncSpec>,
}

/// Where the rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// Resolved relative to the pipeline file.
    pub path: PathBuf,
    pub format: SourceFormat,
    /// How a CSV file is compressed (from its last extension: `.gz`, `.zst`).
    pub compression: Compression,
    /// CSV field delimiter (`b','` for Parquet, where it is unused).
    pub delimiter: u8,
    /// A longer row is dead-lettered as `ROW_TOO_LARGE` without being held whole.
    pub max_row_bytes: usize,
    /// Threads that map and validate rows (`[source] prepare_threads`); `None`: one per core.
    pub prepare_threads: Option<NonZeroUsize>,
}

/// `[source] max_row_bytes` when the file says nothing: 1 MiB.
pub const DEFAULT_MAX_ROW_BYTES: usize = 1 << 20;

/// The file format of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Csv,
    Parquet,
}

/// How the source's bytes are compressed: read through a streaming decoder, never unpacked whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
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
    /// The user accepts sending the token in clear to a non-loopback `http://` URL.
    pub allow_plain_http: bool,
    /// The API version requests are sent in (`api_version`; default the latest).
    pub api_version: ApiVersion,
    /// `associate`/`dissociate`: the records of `id_column` are keys of this pipeline's state.
    pub from_pipeline: Option<IdentityMap>,
}

/// The batch operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Create,
    Update,
    Upsert,
    Archive,
    /// Link existing records (v4 batch create).
    Associate,
    /// Remove links between existing records (v4 batch archive).
    Dissociate,
}

impl Operation {
    /// The last segment of the batch endpoint: `/crm/v3/objects/{type}/batch/{segment}`. (The two
    /// link operations send to the v4 associations API instead: their segment is their name.)
    pub fn path_segment(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Upsert => "upsert",
            Operation::Archive => "archive",
            Operation::Associate => "associate",
            Operation::Dissociate => "dissociate",
        }
    }

    /// `associate` and `dissociate`: rows name links, not records.
    pub fn links_only(self) -> bool {
        matches!(self, Operation::Associate | Operation::Dissociate)
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

impl BaseUrl {
    /// `"sandbox"` or an http(s) URL (plain `http://` only to loopback unless `allow_plain_http`);
    /// the error says what is wrong and what to write instead.
    pub fn parse(raw: &str, allow_plain_http: bool) -> Result<BaseUrl, String> {
        check::parse_base_url(raw, allow_plain_http)
    }
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
    /// v4 association requests allowed per rolling `interval`: HubSpot limits the associations
    /// API apart from the rest (API-NOTES §1), so links draw on a budget of their own.
    pub association_requests_per_interval: NonZeroU32,
    /// Links per v4 association batch request, 1..=2000.
    pub association_batch_size: usize,
    /// Retries per request after the first attempt.
    pub max_retries: u32,
    pub request_timeout: Duration,
    /// `shared_budget`: one window shared with every process naming the same Redis and portal.
    /// `None`: [`Connection::shared_budget`] looks at `ETL_SHARED_BUDGET`.
    pub shared_budget: Option<SharedBudgetSpec>,
    /// `shared_budget_outage_ms`, also applied to a budget named by `ETL_SHARED_BUDGET`.
    pub shared_budget_outage: Duration,
    /// Requests the portal allows per day (every app of the account together): what `etl validate`
    /// and the progress line measure a job against.
    pub daily_limit: u64,
}

/// The daily limit of the least tier with this burst (API-NOTES §2, per 10 s): up to 110 (Free,
/// Starter; public apps) 250,000; up to 190 (Professional; Enterprise has 1,000,000) 625,000;
/// above (an API limit increase) 1,250,000. The least, so a plan never promises more than the
/// portal gives; `daily_limit` says what a portal really has.
pub fn daily_limit_of_tier(requests_per_interval: NonZeroU32, interval_ms: u64) -> u64 {
    let per_10_s = u64::from(requests_per_interval.get()) * 10_000 / interval_ms.max(1);
    match per_10_s {
        0..=110 => 250_000,
        111..=190 => 625_000,
        _ => 1_250_000,
    }
}

impl Default for Dispatch {
    /// `[dispatch]` when the file says nothing: HubSpot's smallest burst (100 requests per 10 s),
    /// 4 in flight, full batches, 8 retries, 30 s per request; associations at 100 per 10 s in
    /// batches of 1000; no shared budget; the daily limit of Free and Starter portals.
    fn default() -> Dispatch {
        Dispatch {
            requests_per_interval: NonZeroU32::new(100).expect("not zero"),
            interval: Duration::from_secs(10),
            concurrency: NonZeroUsize::new(4).expect("not zero"),
            batch_size: 100,
            association_requests_per_interval: NonZeroU32::new(100).expect("not zero"),
            association_batch_size: 1000,
            max_retries: 8,
            request_timeout: Duration::from_secs(30),
            shared_budget: None,
            shared_budget_outage: budget::DEFAULT_OUTAGE,
            daily_limit: 250_000,
        }
    }
}

/// The source format a file's extension names (`.csv`, `.tsv`, `.txt`, `.parquet`, `.pq`).
pub fn source_format(path: &Path) -> Option<SourceFormat> {
    source_name::format_from_extension(path)
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
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    /// A command-line flag's value cannot be used: a usage error (exit 2), named by its flag.
    #[error("{flag}{}: {message}", .value.as_ref().map(|v| format!(" {v:?}")).unwrap_or_default())]
    Flag {
        flag: &'static str,
        value: Option<String>,
        message: String,
    },
}

impl ConfigError {
    /// Whether the mistake is on the command line (exit 2) rather than in the pipeline file.
    pub fn is_usage(&self) -> bool {
        matches!(self, ConfigError::Flag { .. })
    }
}

/// Reads and validates a pipeline file, then applies the command line's `overrides`.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Pipeline, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    let pipeline = overrides.apply(parse(path, &text)?)?;
    pipeline.check_files(None)?;
    pipeline.check_source(overrides.source.is_some())?;
    Ok(pipeline)
}

/// Validates pipeline text as if read from `path` (relative paths resolve against its folder).
pub fn parse(path: &Path, text: &str) -> Result<Pipeline, ConfigError> {
    let mut pipeline = parse_shallow(path, text)?;
    identity::resolve(&mut pipeline)?;
    association::check(&pipeline)?;
    pipeline.check_files(None)?;
    Ok(pipeline)
}

/// [`parse`] without reading the pipelines its `from_pipeline`s name (what reading one of those
/// needs: a loader that never follows links round in circles).
fn parse_shallow(path: &Path, text: &str) -> Result<Pipeline, ConfigError> {
    let raw: RawPipeline = toml::from_str(text).map_err(|err| ConfigError::Parse {
        file: path.to_path_buf(),
        message: err.to_string().trim_end().to_string(),
    })?;
    raw.validate(path)
}

/// How to reach a portal: where, with which token variable, in which API version, at what pace. A
/// pipeline's `[target]` and `[dispatch]` make one; commands without a pipeline file build one from
/// their flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub base_url: BaseUrl,
    /// The environment variable that holds the token (never the token itself).
    pub token_env: String,
    /// The API version every request is spelled in.
    pub api_version: ApiVersion,
    pub dispatch: Dispatch,
}

impl Connection {
    /// The token from the environment variable named by `token_env`; `None` when unset or empty.
    pub fn token(&self) -> Result<Option<Secret>, ConfigError> {
        match std::env::var(&self.token_env) {
            Ok(value) if value.trim().is_empty() => Ok(None),
            Ok(value) => Ok(Some(Secret::new(value.trim()))),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::TokenNotUnicode {
                var: self.token_env.clone(),
            }),
        }
    }

    /// The rate budget this connection shares with other processes: the pipeline's
    /// `shared_budget`, else the one `ETL_SHARED_BUDGET` names (so a scheduler can give every job
    /// the same budget without editing pipelines), else none.
    pub fn shared_budget(&self) -> Result<Option<SharedBudgetSpec>, ConfigError> {
        if let Some(spec) = &self.dispatch.shared_budget {
            return Ok(Some(spec.clone()));
        }
        let env_err = |message: String| ConfigError::Env {
            var: SHARED_BUDGET_ENV.into(),
            message,
        };
        match std::env::var(SHARED_BUDGET_ENV) {
            Ok(value) if value.trim().is_empty() => Ok(None),
            Ok(value) => Ok(Some(SharedBudgetSpec {
                url: BudgetUrl::parse(&value).map_err(env_err)?,
                outage: self.dispatch.shared_budget_outage,
            })),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(env_err("not valid Unicode".into())),
        }
    }
}

impl Pipeline {
    /// The files a run reads and writes must all be different files (by identity, not spelling):
    /// a dead-letter file, journal or report over the source or the pipeline file would destroy
    /// it. `report` is the run's `--report` file, when given.
    pub fn check_files(&self, report: Option<&Path>) -> Result<(), ConfigError> {
        let mut files: Vec<(&str, &Path)> = vec![
            ("the pipeline file", &self.file),
            ("source.path", &self.source.path),
            ("dead_letter.path", &self.dead_letter.path),
            ("checkpoint.path", &self.checkpoint.path),
        ];
        if let Some(sync) = &self.sync {
            files.push(("sync.state", &sync.state));
        }
        if let Some(report) = report {
            files.push(("--report", report));
        }
        for (i, (key, path)) in files.iter().enumerate() {
            for (other, other_path) in &files[..i] {
                if !files::same_file(path, other_path) {
                    continue;
                }
                let message = format!(
                    "{} is the same file as {other}: a run would overwrite it",
                    path.display()
                );
                return Err(match *key {
                    "--report" => ConfigError::Flag {
                        flag: "--report",
                        value: Some(path.display().to_string()),
                        message,
                    },
                    key => ConfigError::Invalid {
                        file: self.file.clone(),
                        key: key.to_string(),
                        message,
                    },
                });
            }
        }
        Ok(())
    }

    /// The source is a file that exists: checked when the pipeline loads, so every command says
    /// the same about a wrong path before anything starts. `from_flag`: the path came from
    /// `--source` (a usage error then).
    pub fn check_source(&self, from_flag: bool) -> Result<(), ConfigError> {
        // Standard input and objects are read where they are: their errors come when they open.
        let path = &self.source.path;
        if source_name::is_stdin(path) || source_name::is_remote(path) {
            return Ok(());
        }
        let Some(message) = files::unreadable_source(path) else {
            return Ok(());
        };
        Err(if from_flag {
            ConfigError::Flag {
                flag: "--source",
                value: Some(self.source.path.display().to_string()),
                message,
            }
        } else {
            ConfigError::Invalid {
                file: self.file.clone(),
                key: "source.path".into(),
                message,
            }
        })
    }

    /// Where `etl validate` writes the rows that would fail: `<source stem>.invalid.csv` beside
    /// the source, a file of its own. A dry run never writes over a run's dead letters (which may
    /// hold rows only the portal rejected), nor over another source's invalid rows.
    pub fn invalid_rows_path(&self) -> PathBuf {
        files::sibling(&self.source.path, "invalid.csv")
    }

    /// How this pipeline reaches its portal.
    pub fn connection(&self) -> Connection {
        Connection {
            base_url: self.target.base_url.clone(),
            token_env: self.target.token_env.clone(),
            api_version: self.target.api_version,
            dispatch: self.dispatch.clone(),
        }
    }
}
