//! Source readers: stream a CSV or Parquet file as numbered rows of text fields.
//!
//! Parts: `csv` (the header, and how a record becomes a row), `blocks` (a CSV file handed on as
//! blocks of whole records, cut by `split` without parsing, for the prepare workers to parse),
//! `capped` (records parsed with memory bounded in bytes), `input` (a file, a compressed file,
//! standard input or an object in a store, as bytes), `remote` (objects in a store: streamed, or
//! read by ranges; `aws_profile` adds AWS's profile files to its credentials), `parquet` (arrow
//! record batches rendered to HubSpot's text formats) and `extent` (how big the file is and how
//! far reading has got, for the progress display). A source hands on [`Piece`]s (CSV blocks, or
//! rows) and is also an iterator of `Result<SourceRow, Rejection>`: a row that cannot be read
//! becomes an `Unreadable` rejection and the run goes on; an error that ends the file early is
//! kept for [`Source::take_error`]. Rows are numbered from 1 after the header.

mod aws_expiring;
mod aws_keys;
mod aws_process;
mod aws_profile;
mod aws_service;
mod aws_sso;
mod aws_sts;
mod blocks;
mod capped;
mod csv;
mod extent;
mod input;
mod parquet;
mod remote;
mod split;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use blocks::{Block, BlockRows, Piece};
pub use extent::{Extent, Total};
pub use parquet::{Slice, SliceRows};

use crate::config::source_name::is_remote;
use crate::config::{Compression, SourceFormat, SourceSpec};
use crate::prepare::row::{Rejection, SourceRow};

/// Appended to a field cut at `max_row_bytes` in the dead-letter file.
pub const CUT_MARK: &str = "…[cut]";

/// Why a row is dead-lettered as `ROW_TOO_LARGE`.
fn too_large(size: usize, max: usize) -> String {
    format!(
        "the row holds {size} bytes, more than [source] max_row_bytes = {max}; its fields are kept \
         cut at the limit, marked {CUT_MARK}"
    )
}

/// Columns a dead-letter file adds; dropped on read so a dead-letter file replays as input.
pub const DEAD_LETTER_COLUMNS: [&str; 4] = ["etl_row", "etl_status", "etl_category", "etl_message"];

/// The column a replay's dead-letter file adds after those: the row's number in the replayed file
/// (its `etl_row` keeps the original source's), which `--resume` of the replay goes by. Dropped on
/// read too.
pub const REPLAY_ROW_COLUMN: &str = "etl_replay_row";

/// A source that cannot be read (fatal).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot open source file {}: {source}", file.display())]
    Open {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("unreadable source file {}: {reason}", file.display())]
    Unreadable { file: PathBuf, reason: String },
    #[error("source file {} has no header row", file.display())]
    MissingHeader { file: PathBuf },
    #[error("source file {}: header column {column} has an empty name", file.display())]
    EmptyHeaderName { file: PathBuf, column: usize },
    #[error("source file {}: header names column {name:?} twice", file.display())]
    DuplicateHeader { file: PathBuf, name: String },
    #[error("source file {}: column {column:?} has type {data_type}, which etl cannot render as a property value", file.display())]
    UnsupportedType {
        file: PathBuf,
        column: String,
        data_type: String,
    },
    #[error("source file {} became unreadable after row {after_row}: {reason}", file.display())]
    Read {
        file: PathBuf,
        after_row: u64,
        reason: String,
    },
}

/// An open source: its header, then its rows.
pub struct Source {
    header: Vec<String>,
    reader: Reader,
    /// The block the iterator is reading.
    block: Option<BlockRows>,
    error: Option<SourceError>,
    extent: Arc<Extent>,
}

enum Reader {
    /// Boxed, both: the CSV parser's tables are large, and the source is moved to its thread.
    Csv(Box<blocks::Blocks>),
    Parquet(Box<parquet::ParquetReader>),
}

/// Opens the source file; header problems and unreadable files are fatal here.
pub fn open(spec: &SourceSpec) -> Result<Source, SourceError> {
    let bytes = std::fs::metadata(&spec.path).map_or(0, |m| m.len());
    let (header, reader, extent) = match spec.format {
        SourceFormat::Csv => {
            let (header, reader) = blocks::open(
                &spec.path,
                spec.compression,
                spec.delimiter,
                spec.max_row_bytes,
            )?;
            // Progress by bytes read of the file's size: not for compressed files (their size is
            // not the rows'), standard input or objects (no size here).
            let size = match spec.compression {
                Compression::None => bytes,
                _ => 0,
            };
            (header, Reader::Csv(Box::new(reader)), Extent::sized(size))
        }
        SourceFormat::Parquet => {
            let (header, reader) = if is_remote(&spec.path) {
                let object = remote::Object::open(&spec.path.to_string_lossy())
                    .and_then(remote::Object::with_footer)
                    .map_err(|source| SourceError::Open {
                        file: spec.path.clone(),
                        source,
                    })?;
                let planner = object.clone();
                parquet::ParquetReader::open_chunks(
                    &spec.path,
                    object,
                    spec.max_row_bytes,
                    move |metadata| planner.plan(metadata),
                )?
            } else {
                parquet::ParquetReader::open(&spec.path, spec.max_row_bytes)?
            };
            let extent = Extent::counted(reader.rows(), bytes);
            (header, Reader::Parquet(Box::new(reader)), extent)
        }
    };
    Ok(Source {
        header,
        reader,
        block: None,
        error: None,
        extent: Arc::new(extent),
    })
}

impl Source {
    /// Column names, without the dead-letter columns.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The error that ended the rows early, if any. Check it after the iterator returns `None`.
    pub fn take_error(&mut self) -> Option<SourceError> {
        self.error.take()
    }

    /// How big the file is and how far reading has got (shared with the progress display).
    pub fn extent(&self) -> &Arc<Extent> {
        &self.extent
    }

    /// Whether the file is a dead-letter file being replayed (its header has `etl_row`): its
    /// rows carry their number in the original source.
    pub fn is_replay(&self) -> bool {
        match &self.reader {
            Reader::Csv(r) => r.shape().is_replay(),
            Reader::Parquet(_) => false,
        }
    }
}

impl Source {
    /// The next rows: a block of a CSV file's records or a slice of a Parquet file's (parsed or
    /// rendered by whoever prepares them: see [`Block::into_rows`], [`Slice::into_rows`]), or one
    /// row; `None` at the end, or when the file failed (see [`Source::take_error`]).
    pub fn next_piece(&mut self) -> Option<Piece> {
        if self.error.is_some() {
            return None;
        }
        let last_row = |piece: &Piece| match piece {
            Piece::Block(block) => *block.rows().end(),
            Piece::Slice(slice) => *slice.rows().end(),
            Piece::Row(row) => row_number(row),
        };
        match &mut self.reader {
            Reader::Csv(blocks) => {
                let next = blocks.next();
                let consumed = blocks.consumed();
                self.advance(next, last_row, Some(consumed))
            }
            Reader::Parquet(parquet) => {
                let next = parquet.next_slice().map(|slice| slice.map(Piece::Slice));
                self.advance(next, last_row, None)
            }
        }
    }

    /// The next row of a Parquet file.
    fn next_row(&mut self) -> Option<Result<SourceRow, Rejection>> {
        let Reader::Parquet(parquet) = &mut self.reader else {
            unreachable!("a CSV file is read by blocks");
        };
        if self.error.is_some() {
            return None;
        }
        let next = parquet.next_row();
        self.advance(next, row_number, None)
    }

    /// Counts what reading gave (its last row's number, the bytes read when known), or keeps the
    /// error that ended it.
    fn advance<T>(
        &mut self,
        next: Result<Option<T>, SourceError>,
        last_row: impl Fn(&T) -> u64,
        bytes: Option<u64>,
    ) -> Option<T> {
        match next {
            Ok(Some(next)) => {
                self.extent.advance(last_row(&next), bytes);
                Some(next)
            }
            Ok(None) => {
                self.extent.end();
                None
            }
            Err(err) => {
                self.error = Some(err);
                None
            }
        }
    }
}

/// The number of a row as read, whether it could be read or not.
pub fn row_number(row: &Result<SourceRow, Rejection>) -> u64 {
    match row {
        Ok(row) => row.row,
        Err(rejection) => rejection.row,
    }
}

/// Row by row, each block parsed here.
impl Iterator for Source {
    type Item = Result<SourceRow, Rejection>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Reader::Parquet(_) = self.reader {
            return self.next_row();
        }
        loop {
            if let Some(row) = self.block.as_mut().and_then(Iterator::next) {
                return Some(row);
            }
            self.block = None;
            match self.next_piece()? {
                Piece::Row(row) => return Some(row),
                Piece::Block(block) => self.block = Some(block.into_rows()),
                Piece::Slice(_) => unreachable!("a Parquet file is read row by row here"),
            }
        }
    }
}

/// What identifies the object at `url` as it is now (URL, size, ETag, version), for the journal's
/// fingerprint: a store's object is not hashed byte by byte.
pub fn object_identity(url: &Path) -> std::io::Result<String> {
    remote::Object::open(&url.to_string_lossy()).map(|object| object.identity().to_string())
}

/// Checks header names (non-empty, unique) and returns the indices of the columns to keep.
fn check_header(file: &Path, names: &[String]) -> Result<Vec<usize>, SourceError> {
    if names.is_empty() || (names.len() == 1 && names[0].is_empty()) {
        return Err(SourceError::MissingHeader {
            file: file.to_path_buf(),
        });
    }
    let mut seen = std::collections::HashSet::new();
    let mut keep = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        if name.trim().is_empty() {
            return Err(SourceError::EmptyHeaderName {
                file: file.to_path_buf(),
                column: i + 1,
            });
        }
        if !seen.insert(name.as_str()) {
            return Err(SourceError::DuplicateHeader {
                file: file.to_path_buf(),
                name: name.clone(),
            });
        }
        if !DEAD_LETTER_COLUMNS.contains(&name.as_str()) && name != REPLAY_ROW_COLUMN {
            keep.push(i);
        }
    }
    Ok(keep)
}
