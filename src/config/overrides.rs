//! Command-line flags that change a loaded pipeline: the file describes the job, the flags
//! describe the run (`--source`, `--base-url`, `--api-version`). One loader applies them for every
//! command; a flag whose value cannot be used is a usage error naming the flag ([`ConfigError::Flag`]).

use std::path::{Path, PathBuf};

use super::check::parse_base_url;
use super::files::{same_file, sibling};
use super::source_name::{
    compression_of, default_delimiter, format_from_extension, is_remote, is_stdin, is_tsv,
    unreadable_combination,
};
use super::{ApiVersion, ConfigError, Pipeline, SourceFormat, SourceSpec};

/// What the command line changes.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Read this file instead of `[source] path` (replaying a dead-letter file).
    pub source: Option<PathBuf>,
    /// Send to this API instead of the pipeline's `base_url` ("sandbox" or an http(s) URL).
    pub base_url: Option<String>,
    /// Send in this API version instead of the pipeline's `api_version`.
    pub api_version: Option<ApiVersion>,
}

impl Overrides {
    /// The pipeline with these overrides applied.
    pub fn apply(&self, mut pipeline: Pipeline) -> Result<Pipeline, ConfigError> {
        if let Some(source) = &self.source {
            pipeline = pipeline.with_source(source)?;
        }
        if let Some(base_url) = &self.base_url {
            pipeline = pipeline.with_base_url(base_url)?;
        }
        if let Some(version) = self.api_version {
            pipeline.target.api_version = version;
        }
        Ok(pipeline)
    }
}

impl Pipeline {
    /// The same pipeline sent to another API (`--base-url`): rehearse against a running
    /// `etl sandbox`, then load the portal, with one pipeline file.
    pub fn with_base_url(&self, raw: &str) -> Result<Pipeline, ConfigError> {
        let base_url = parse_base_url(raw, self.target.allow_plain_http).map_err(|message| {
            ConfigError::Flag {
                flag: "--base-url",
                value: Some(raw.to_string()),
                message,
            }
        })?;
        let mut pipeline = self.clone();
        pipeline.target.base_url = base_url;
        Ok(pipeline)
    }

    /// The same pipeline reading another file (`--source`): the format comes from the new file's
    /// extension; a CSV keeps the pipeline's delimiter when the pipeline reads CSV too.
    ///
    /// Another file is another job: its dead letters go to its own `<stem>.failed.csv` and its
    /// journal to its own `<stem>.journal`, beside it. A replay never writes over the first run's
    /// dead letters, nor takes over the first run's journal (which `--resume` of that run needs).
    pub fn with_source(&self, path: &Path) -> Result<Pipeline, ConfigError> {
        let invalid = |message: String| ConfigError::Flag {
            flag: "--source",
            value: Some(path.display().to_string()),
            message,
        };
        let format = match is_stdin(path) {
            true => SourceFormat::Csv,
            false => format_from_extension(path).ok_or_else(|| {
                invalid(
                    "cannot tell the file's format from its extension (.csv, .tsv or .parquet; \
                     CSV also .csv.gz or .csv.zst)"
                        .into(),
                )
            })?,
        };
        let compression = compression_of(path);
        if let Some(message) = unreadable_combination(path, format, compression) {
            return Err(invalid(message.into()));
        }
        let delimiter = match (format, self.source.format) {
            (SourceFormat::Csv, SourceFormat::Csv) if !is_tsv(path) => self.source.delimiter,
            _ => default_delimiter(path),
        };
        let mut pipeline = self.clone();
        pipeline.source = SourceSpec {
            path: path.to_path_buf(),
            format,
            compression,
            delimiter,
            max_row_bytes: self.source.max_row_bytes,
            prepare_threads: self.source.prepare_threads,
        };
        // Standard input and objects have no folder to write beside: they keep the pipeline's.
        let local = !is_stdin(path) && !is_remote(path);
        if local && !same_file(path, &self.source.path) {
            pipeline.dead_letter.path = own_sibling(path, "failed.csv", &self.dead_letter.path);
            pipeline.checkpoint.path = own_sibling(path, "journal", &self.checkpoint.path);
        }
        if format == SourceFormat::Csv {
            pipeline.dead_letter.delimiter = delimiter;
        }
        Ok(pipeline)
    }
}

/// `<stem>.<suffix>` beside `source`, unless that is `taken` (a pipeline `contacts.toml` reading
/// `contacts.csv` keeps `contacts.journal`; `--source contacts.parquet` must not take it): then
/// `<name>.<suffix>`, the source's whole file name before the suffix.
fn own_sibling(source: &Path, suffix: &str, taken: &Path) -> PathBuf {
    let path = sibling(source, suffix);
    if !same_file(&path, taken) {
        return path;
    }
    let name = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "source".into());
    source.with_file_name(format!("{name}.{suffix}"))
}
