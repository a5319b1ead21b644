//! Why an export cannot go on: files it cannot write or read back, a resume that does not fit,
//! the portal's refusal.

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::job::lock::LockError;
use crate::portal::schema::SchemaError;
use crate::portal::target::TargetError;
use crate::prepare::source::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("cannot fetch the property schema: {0}")]
    Schema(#[from] SchemaError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("another `etl export` to {} is running; wait for it to finish", output.display())]
    Busy { output: PathBuf },
    #[error(transparent)]
    Ids(#[from] SourceError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Parquet { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
    #[error(
        "an earlier export to {} stopped before the end (its state is {}): run again with \
         --resume to continue it, or with --restart to start over",
        output.display(), state.display()
    )]
    Unfinished { output: PathBuf, state: PathBuf },
    #[error(
        "{} belongs to a different export (the object, the columns, the options or the id file \
         changed): run with --restart to start over",
        state.display()
    )]
    Mismatch { state: PathBuf },
    #[error("{} is unreadable: {message}; run with --restart to start over", state.display())]
    BadState { state: PathBuf, message: String },
    #[error("the portal refused a read: {0}")]
    Read(String),
}

impl ExportError {
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
        move |source| ExportError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A Parquet error on `path`.
    pub fn parquet(
        path: &std::path::Path,
    ) -> impl FnOnce(parquet::errors::ParquetError) -> ExportError + '_ {
        move |e| ExportError::Parquet {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}
