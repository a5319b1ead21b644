//! One output file being written (the records, or the history), CSV or Parquet behind one
//! interface, and where it stands at a commit: what `--resume` needs to continue it exactly.

use serde::{Deserialize, Serialize};

use super::error::ExportError;
use super::typed::Typing;

/// Where a table stands at a commit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableState {
    /// Rows written and made durable.
    pub rows: u64,
    /// CSV: the length of the partial file holding exactly those rows.
    #[serde(default)]
    pub bytes: u64,
    /// Parquet: the generation of the part files (it changes when a column widens) …
    #[serde(default)]
    pub generation: u32,
    /// … and how many closed parts hold those rows.
    #[serde(default)]
    pub parts: u32,
    /// Parquet: each column's type so far.
    #[serde(default)]
    pub typing: Vec<Typing>,
}

/// An output file being written.
pub trait Table: Send {
    /// Appends one row (one cell per column, in the header's order).
    fn push(&mut self, cells: Vec<Option<String>>) -> Result<(), ExportError>;

    /// Whether a natural commit point was reached (Parquet: a part was closed).
    fn ripe(&self) -> bool;

    /// Makes every row pushed so far durable and says where the table stands.
    fn commit(&mut self) -> Result<TableState, ExportError>;

    /// The commit's state was recorded: what it replaced may go.
    fn committed(&mut self) -> Result<(), ExportError>;

    /// Writes the file at its final path (after a last commit).
    fn finish(self: Box<Self>) -> Result<(), ExportError>;
}
