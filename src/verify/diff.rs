//! The diff file, `<source stem>.diff.csv` beside the source: one line per difference —
//! `etl_row`, `key`, `kind` (`missing`, `different`, `invalid`), `property`, `expected`, `actual`.
//! Always written (a header alone when everything matches), so an older diff never passes for
//! this run's.

use std::fs::File;
use std::path::{Path, PathBuf};

/// What a line says about its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No record has the row's key.
    Missing,
    /// The record holds another value for `property`.
    Different,
    /// The row cannot be checked: validation rejects it (nothing would be sent), or it has no key.
    Invalid,
}

impl Kind {
    pub fn word(self) -> &'static str {
        match self {
            Kind::Missing => "missing",
            Kind::Different => "different",
            Kind::Invalid => "invalid",
        }
    }
}

/// One line of the diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub row: u64,
    pub key: String,
    pub kind: Kind,
    pub property: String,
    pub expected: String,
    pub actual: String,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot write the diff file {}: {source}", path.display())]
pub struct DiffError {
    path: PathBuf,
    source: std::io::Error,
}

pub struct DiffWriter {
    path: PathBuf,
    writer: csv::Writer<File>,
}

impl DiffWriter {
    pub fn create(path: &Path) -> Result<DiffWriter, DiffError> {
        let error = |source| DiffError {
            path: path.to_path_buf(),
            source,
        };
        let file = File::create(path).map_err(error)?;
        let mut writer = DiffWriter {
            path: path.to_path_buf(),
            writer: csv::Writer::from_writer(file),
        };
        writer.record(["etl_row", "key", "kind", "property", "expected", "actual"])?;
        Ok(writer)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write(&mut self, line: &Line) -> Result<(), DiffError> {
        let row = line.row.to_string();
        self.record([
            row.as_str(),
            &line.key,
            line.kind.word(),
            &line.property,
            &line.expected,
            &line.actual,
        ])
    }

    fn record<'a>(&mut self, fields: impl IntoIterator<Item = &'a str>) -> Result<(), DiffError> {
        self.writer.write_record(fields).map_err(|e| DiffError {
            path: self.path.clone(),
            source: e.into(),
        })
    }

    pub fn finish(mut self) -> Result<(), DiffError> {
        self.writer.flush().map_err(|source| DiffError {
            path: self.path.clone(),
            source,
        })
    }
}
