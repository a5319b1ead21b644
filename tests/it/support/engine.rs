//! The engine internals that tests and benches reach into, re-exported from this one file: when the
//! engine's modules move, this is the file of `tests/` and `benches/` to fix. Everything else goes
//! through the `etl` binary or `etl::sandbox`, whose paths stay. (`benches/` include it by `#[path]`.)

#![allow(unused_imports)]

pub use etl::commands::{self, validate};
pub use etl::config::secret::Secret;
pub use etl::config::{
    self, Compression, ConnectionFlags, Operation, Overrides, SourceFormat, SourceSpec,
};
pub use etl::export::columns::{Plan, Row};
pub use etl::export::parquet_out::ParquetTable;
pub use etl::export::spec::{ExportSpec, Format, Properties};
pub use etl::export::table::Table;
pub use etl::export::{ExportOptions, export};
pub use etl::memory::no_huge_pages;
pub use etl::pipeline::{RunOptions, run};
pub use etl::portal::client::install_tls;
pub use etl::portal::schema::ObjectSchema;
pub use etl::prepare::batch::{Batch, Batcher, DEFAULT_MAX_OPEN};
pub use etl::prepare::encode;
pub use etl::prepare::row::{BatchKey, Input, RejectStatus, Rejection, SourceRow};
pub use etl::prepare::source::{self, SourceError};
pub use etl::prepare::trace::TraceIds;
pub use etl::prepare::{
    self, PrepareOptions, PrepareOutcome, PrepareTotals, Prepared, Preparer, RowFilter, Screen,
    Sorted,
};
pub use etl::read::{Page, Wanted};
pub use etl::verify::{VerifyOptions, verify};

/// Loads a pipeline file as the command line does without flags.
#[allow(dead_code)] // the benches include this file but load pipelines their own way
pub fn load(path: &std::path::Path) -> etl::config::Pipeline {
    config::load(path, &Overrides::default()).expect("a valid pipeline file")
}

/// The rows a dead-letter file (comma-separated) names, as `--resume` reads them.
#[allow(dead_code)] // the benches include this file too
pub fn dead_letter_rows(path: &std::path::Path) -> etl::job::row_set::RowSet {
    etl::job::dead_letter::rows_written(path, b',').expect("a readable dead-letter file")
}
