//! `etl init`'s engine: a pipeline file drafted from a data file and the portal's property schema,
//! as HubSpot's import screen auto-maps, but written as a commented file a person reads and edits.
//!
//! Parts:
//! - `sample`: the header and a sample of rows (CSV delimiter sniffed, Parquet as it is);
//! - `matching`: columns → properties, from sure (name, label) to likely (alias, words, typo);
//! - `transform`: what a column's sampled values need (`format`, `values`, `trim`, …);
//! - `plan`: the whole draft (identity, operation, required properties, columns left out);
//! - `render`: the pipeline file's text.
//!
//! Nothing is written to the portal: the schema is read, as `etl validate` reads it.

mod matching;
mod plan;
mod render;
mod sample;
mod transform;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{ApiVersion, BaseUrl, ConfigError, Connection, Dispatch, Operation};
use crate::portal::halt::HaltFlag;
use crate::portal::schema::{self, ObjectSchema, SchemaError};
use crate::portal::target::{Target, TargetError, refused_token};
use crate::prepare::source::SourceError;

pub use plan::Plan;
pub use render::render;
pub use sample::SAMPLE_ROWS;

/// What `etl init` is asked for.
#[derive(Debug, Clone)]
pub struct Request {
    /// The data file (CSV, TSV or Parquet).
    pub source: PathBuf,
    /// Object type name or id.
    pub object: String,
    /// The operation; `None` chooses upsert when a unique property is mapped, else create.
    pub operation: Option<Operation>,
    /// Where the schema comes from, and what the pipeline's `base_url` says.
    pub base_url: BaseUrl,
    /// The environment variable that holds the token.
    pub token_env: String,
    /// Where the pipeline file goes (its `[source] path` is written relative to its folder).
    pub output: PathBuf,
}

/// Why no pipeline could be drafted.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("cannot fetch the property schema: {0}")]
    Schema(#[from] SchemaError),
    /// 401/403 on the schema fetch.
    #[error("{0}")]
    Refused(String),
    #[error("the reading thread failed")]
    Thread,
}

impl DraftError {
    /// Whether the mistake is on the command line (exit 2).
    pub fn is_usage(&self) -> bool {
        matches!(self, DraftError::Config(err) if err.is_usage())
    }
}

/// Drafts the pipeline `request` asks for: reads the sample and the schema, matches, and plans.
pub async fn draft(request: &Request) -> Result<Plan, DraftError> {
    if let Some(message) = crate::config::files::unreadable_source(&request.source) {
        return Err(flag(
            "<DATA_FILE>",
            &request.source.display().to_string(),
            message,
        )
        .into());
    }
    let source = request.source.clone();
    let sample = tokio::task::spawn_blocking(move || sample::Sample::read(&source))
        .await
        .map_err(|_| DraftError::Thread)??;
    let schema = fetch_schema(request).await?;
    Ok(plan::plan(request, &sample, &schema)?)
}

/// The object type's schema, from the sandbox or the portal.
async fn fetch_schema(request: &Request) -> Result<ObjectSchema, DraftError> {
    let connection = Connection {
        base_url: request.base_url.clone(),
        token_env: request.token_env.clone(),
        // The schema reads the same in every version; the draft leaves `api_version` at its default.
        api_version: ApiVersion::default(),
        dispatch: Dispatch::default(),
    };
    let target = Target::connect(&connection, None).await?;
    let fetched = match target.portal(&connection, Arc::new(HaltFlag::default())) {
        Ok(portal) => schema::fetch(&portal, &request.object)
            .await
            .map_err(|err| match err {
                SchemaError::UnknownObject { .. } => {
                    flag("--object", &request.object, err.to_string()).into()
                }
                SchemaError::Unauthorized {
                    status, message, ..
                } => DraftError::Refused(refused_token(&request.token_env, status, &message)),
                other => other.into(),
            }),
        Err(err) => Err(err.into()),
    };
    target.close().await;
    fetched
}

/// A usage error naming the flag.
fn flag(flag: &'static str, value: &str, message: String) -> ConfigError {
    ConfigError::Flag {
        flag,
        value: Some(value.to_string()),
        message,
    }
}

/// `source` as the pipeline file in `dir` names it: relative when it lies in or below `dir`,
/// else absolute.
fn path_from(dir: &Path, source: &Path) -> String {
    let absolute = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let (dir, source) = (absolute(dir), absolute(source));
    match source.strip_prefix(&dir) {
        Ok(relative) => relative.display().to_string(),
        Err(_) => source.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_is_named_from_the_pipeline_files_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let source = dir.path().join("data/c.csv");
        std::fs::write(&source, "a\n").unwrap();
        assert_eq!(path_from(dir.path(), &source), "data/c.csv");
        assert_eq!(path_from(&dir.path().join("data"), &source), "c.csv");
        let elsewhere = tempfile::tempdir().unwrap();
        let named = path_from(elsewhere.path(), &source);
        assert!(Path::new(&named).is_absolute(), "{named}");
    }
}
