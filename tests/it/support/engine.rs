//! The engine internals that tests and benches reach into, re-exported from this one file: when the
//! engine's modules move, this is the file of `tests/` and `benches/` to fix. Everything else goes
//! through the `etl` binary or `etl::sandbox`, whose paths stay. (`benches/` include it by `#[path]`.)

#![allow(unused_imports)]

pub use etl::batch::{Batch, Batcher, DEFAULT_MAX_OPEN};
pub use etl::config::{self, Operation, SourceFormat, SourceSpec};
pub use etl::encode;
pub use etl::pipeline::{RunOptions, run};
pub use etl::prepare::{self, PrepareOptions, PrepareOutcome, Prepared, Preparer, ValidateOptions};
pub use etl::row::{RejectStatus, Rejection, SourceRow};
pub use etl::schema::ObjectSchema;
pub use etl::secret::Secret;
pub use etl::source::{self, SourceError};
