//! A Parquet output, streamed: rows are buffered a few thousand at a time, typed (`typed.rs`),
//! and written as row groups into part files under `<file>.parts/g<generation>/`; the parts are
//! joined into the file when the export completes (`parts.rs`). Memory is bounded by one row
//! group, whose rows shrink as columns grow.
//!
//! A commit closes the part being written: every committed row is in a complete file, so
//! `--resume` drops the parts written after the last commit and appends new ones. When a column
//! widens, the parts are rewritten into the next generation's folder and the table asks for a
//! commit at once; the older generation is removed only after the state names the new one, so a
//! crash in between leaves the committed generation whole.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{Schema, SchemaRef};
use parquet::arrow::ArrowWriter;

use super::csv_out::partial_of;
use super::error::ExportError;
use super::parts;
use super::table::{Table, TableState};
use super::typed::{Kind, Physical, Typing, array};

/// Rows per Arrow batch handed to the writer.
const BATCH_ROWS: usize = 4096;
/// Cells per row group: a wide export gets shorter row groups, so memory stays bounded.
const GROUP_CELLS: usize = 2_000_000;
/// Rows per row group, at most and at least.
const GROUP_ROWS_MAX: usize = 50_000;
const GROUP_ROWS_MIN: usize = 2_000;

pub struct ParquetTable {
    path: PathBuf,
    /// `<file>.parts`.
    root: PathBuf,
    names: Vec<String>,
    typing: Vec<Typing>,
    /// The types the current generation's parts (and the open part) are written with.
    written: Vec<Physical>,
    /// Buffered rows, column by column.
    buffer: Vec<Vec<Option<String>>>,
    buffered: usize,
    writer: Option<ArrowWriter<File>>,
    part_rows: usize,
    generation: u32,
    /// Closed parts of the current generation.
    parts: u32,
    /// A generation the last commit named, to remove once the next commit names the new one.
    stale: Option<u32>,
    rows: u64,
    batch_rows: usize,
    group_rows: usize,
    ripe: bool,
}

impl ParquetTable {
    /// A new file with these columns.
    pub fn create(path: &Path, columns: &[(String, Kind)]) -> Result<ParquetTable, ExportError> {
        let root = parts_root(path);
        if root.exists() {
            std::fs::remove_dir_all(&root).map_err(ExportError::io(&root))?;
        }
        let typing = columns.iter().map(|(_, kind)| Typing::new(*kind)).collect();
        let state = TableState {
            typing,
            ..TableState::default()
        };
        let table = ParquetTable::with_state(path, columns, &state)?;
        std::fs::create_dir_all(table.generation_dir(0)).map_err(ExportError::io(&root))?;
        Ok(table)
    }

    /// The file an earlier run committed: parts written after its last commit are dropped.
    pub fn resume(
        path: &Path,
        columns: &[(String, Kind)],
        state: &TableState,
    ) -> Result<ParquetTable, ExportError> {
        let table = ParquetTable::with_state(path, columns, state)?;
        let keep = table.generation_dir(state.generation);
        let bad = |message: String| ExportError::BadState {
            state: table.root.clone(),
            message,
        };
        if state.typing.len() != columns.len() {
            return Err(bad("its column types do not match the columns".into()));
        }
        for i in 0..state.parts {
            if !table.part(i).exists() {
                return Err(bad(format!("part {} is missing", table.part(i).display())));
            }
        }
        for entry in std::fs::read_dir(&table.root).map_err(ExportError::io(&table.root))? {
            let entry = entry.map_err(ExportError::io(&table.root))?.path();
            if entry != keep {
                std::fs::remove_dir_all(&entry).map_err(ExportError::io(&entry))?;
            }
        }
        let mut later = state.parts;
        while table.part(later).exists() {
            let part = table.part(later);
            std::fs::remove_file(&part).map_err(ExportError::io(&part))?;
            later += 1;
        }
        Ok(table)
    }

    fn with_state(
        path: &Path,
        columns: &[(String, Kind)],
        state: &TableState,
    ) -> Result<ParquetTable, ExportError> {
        let width = columns.len().max(1);
        Ok(ParquetTable {
            path: path.to_path_buf(),
            root: parts_root(path),
            names: columns.iter().map(|(name, _)| name.clone()).collect(),
            written: state.typing.iter().map(|t| t.physical).collect(),
            typing: state.typing.clone(),
            buffer: vec![Vec::with_capacity(BATCH_ROWS); columns.len()],
            buffered: 0,
            writer: None,
            part_rows: 0,
            generation: state.generation,
            parts: state.parts,
            stale: None,
            rows: state.rows,
            batch_rows: BATCH_ROWS,
            group_rows: (GROUP_CELLS / width).clamp(GROUP_ROWS_MIN, GROUP_ROWS_MAX),
            ripe: false,
        })
    }

    fn generation_dir(&self, generation: u32) -> PathBuf {
        self.root.join(format!("g{generation}"))
    }

    fn part_of(&self, generation: u32, index: u32) -> PathBuf {
        self.generation_dir(generation)
            .join(format!("part-{index:06}.parquet"))
    }

    fn part(&self, index: u32) -> PathBuf {
        self.part_of(self.generation, index)
    }

    fn schema(&self) -> SchemaRef {
        let fields: Vec<_> = self
            .typing
            .iter()
            .zip(&self.names)
            .map(|(typing, name)| typing.field(name))
            .collect();
        Arc::new(Schema::new(fields))
    }

    /// Types the buffered rows, widening columns (and rewriting the parts) where they need it,
    /// and hands them to the writer. Each column is built at its current type first; only a
    /// column with a value that does not fit is looked at value by value, widened and built again.
    fn write_batch(&mut self) -> Result<(), ExportError> {
        if self.buffered == 0 {
            return Ok(());
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.typing.len());
        let mut misfits = Vec::new();
        for (i, (typing, values)) in self.typing.iter_mut().zip(&self.buffer).enumerate() {
            let (column, fits) = array(typing.physical, values);
            if !fits {
                values.iter().flatten().for_each(|v| typing.admit(v));
                misfits.push(i);
            }
            columns.push(column);
        }
        let widened = self.typing.iter().zip(&self.written);
        if widened.clone().any(|(t, w)| t.physical != *w) {
            self.widen()?;
        }
        for i in misfits {
            columns[i] = array(self.typing[i].physical, &self.buffer[i]).0;
        }
        let schema = self.schema();
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns).map_err(|e| {
            ExportError::Parquet {
                path: self.part(self.parts),
                message: e.to_string(),
            }
        })?;
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => self
                .writer
                .insert(parts::writer(&self.part(self.parts), schema)?),
        };
        writer
            .write(&batch)
            .map_err(ExportError::parquet(&self.path))?;
        self.part_rows += self.buffered;
        self.buffered = 0;
        self.buffer.iter_mut().for_each(Vec::clear);
        if self.part_rows >= self.group_rows {
            self.close_part()?;
        }
        Ok(())
    }

    fn close_part(&mut self) -> Result<(), ExportError> {
        if let Some(writer) = self.writer.take() {
            let part = self.part(self.parts);
            writer.close().map_err(ExportError::parquet(&part))?;
            self.parts += 1;
            self.part_rows = 0;
            self.ripe = true;
        }
        Ok(())
    }

    /// Rewrites every part with the current types into the next generation.
    fn widen(&mut self) -> Result<(), ExportError> {
        self.close_part()?;
        if self.parts > 0 {
            let next = self.generation + 1;
            let dir = self.generation_dir(next);
            std::fs::create_dir_all(&dir).map_err(ExportError::io(&dir))?;
            let schema = self.schema();
            for i in 0..self.parts {
                parts::rewrite(&self.part(i), &self.part_of(next, i), Arc::clone(&schema))?;
            }
            match self.stale {
                // The current generation was never committed: nothing refers to it.
                Some(_) => {
                    let current = self.generation_dir(self.generation);
                    std::fs::remove_dir_all(&current).map_err(ExportError::io(&current))?;
                }
                None => self.stale = Some(self.generation),
            }
            self.generation = next;
            self.ripe = true;
        }
        self.written = self.typing.iter().map(|t| t.physical).collect();
        Ok(())
    }
}

/// `<file>.parts`.
fn parts_root(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".parts");
    PathBuf::from(name)
}

impl Table for ParquetTable {
    fn push(&mut self, cells: Vec<Option<String>>) -> Result<(), ExportError> {
        for (column, cell) in self.buffer.iter_mut().zip(cells) {
            column.push(cell);
        }
        self.buffered += 1;
        self.rows += 1;
        if self.buffered >= self.batch_rows {
            self.write_batch()?;
        }
        Ok(())
    }

    fn ripe(&self) -> bool {
        self.ripe
    }

    fn commit(&mut self) -> Result<TableState, ExportError> {
        self.write_batch()?;
        self.close_part()?;
        self.ripe = false;
        Ok(TableState {
            rows: self.rows,
            bytes: 0,
            generation: self.generation,
            parts: self.parts,
            typing: self.typing.clone(),
        })
    }

    fn committed(&mut self) -> Result<(), ExportError> {
        if let Some(old) = self.stale.take() {
            let dir = self.generation_dir(old);
            std::fs::remove_dir_all(&dir).map_err(ExportError::io(&dir))?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), ExportError> {
        self.commit()?;
        self.committed()?;
        let parts: Vec<PathBuf> = (0..self.parts).map(|i| self.part(i)).collect();
        let partial = partial_of(&self.path);
        parts::concat(&parts, &partial, self.schema())?;
        std::fs::rename(&partial, &self.path).map_err(ExportError::io(&self.path))?;
        std::fs::remove_dir_all(&self.root).map_err(ExportError::io(&self.root))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::Decimal128Type;
    use arrow_schema::DataType;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn columns() -> Vec<(String, Kind)> {
        vec![("id".into(), Kind::Text), ("amount".into(), Kind::Number)]
    }

    fn row(id: u32, amount: &str) -> Vec<Option<String>> {
        vec![Some(id.to_string()), Some(amount.to_string())]
    }

    fn small(table: &mut ParquetTable) {
        table.batch_rows = 2;
        table.group_rows = 4;
    }

    /// Every (id, amount) of a finished file, and the amount column's type.
    fn read(path: &Path) -> (DataType, Vec<(String, String)>) {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
            .unwrap()
            .build()
            .unwrap();
        let mut rows = Vec::new();
        let mut data_type = DataType::Null;
        for batch in reader {
            let batch = batch.unwrap();
            data_type = batch.column(1).data_type().clone();
            let ids = batch.column(0).as_string::<i32>();
            let amounts = batch.column(1).as_primitive::<Decimal128Type>();
            for i in 0..batch.num_rows() {
                rows.push((ids.value(i).to_string(), amounts.value_as_string(i)));
            }
        }
        (data_type, rows)
    }

    #[test]
    fn a_later_value_widens_every_part_already_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.parquet");
        let mut table = ParquetTable::create(&path, &columns()).unwrap();
        small(&mut table);
        for i in 0..9 {
            table.push(row(i, &i.to_string())).unwrap();
        }
        assert!(table.ripe(), "full parts were closed");
        table.commit().unwrap();
        table.committed().unwrap();
        table.push(row(9, "2.25")).unwrap();
        table.push(row(10, "-1.5")).unwrap();
        assert!(table.ripe(), "a widening asks for a commit");
        Box::new(table).finish().unwrap();
        let (data_type, rows) = read(&path);
        assert_eq!(data_type, DataType::Decimal128(38, 2));
        assert_eq!(rows.len(), 11);
        assert_eq!(rows[3], ("3".into(), "3.00".into()));
        assert_eq!(rows[9], ("9".into(), "2.25".into()));
        assert_eq!(rows[10], ("10".into(), "-1.50".into()));
        assert!(!parts_root(&path).exists());
    }

    #[test]
    fn resume_keeps_the_committed_rows_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.parquet");
        let mut table = ParquetTable::create(&path, &columns()).unwrap();
        small(&mut table);
        for i in 0..5 {
            table.push(row(i, "1")).unwrap();
        }
        let state = table.commit().unwrap();
        table.committed().unwrap();
        assert_eq!(state.rows, 5);
        // Rows after the commit, in a part closed on disk, then the process dies.
        for i in 5..9 {
            table.push(row(i, "1")).unwrap();
        }
        drop(table);
        let mut table = ParquetTable::resume(&path, &columns(), &state).unwrap();
        small(&mut table);
        for i in 5..7 {
            table.push(row(i, "1.5")).unwrap();
        }
        Box::new(table).finish().unwrap();
        let (data_type, rows) = read(&path);
        assert_eq!(data_type, DataType::Decimal128(38, 1));
        let ids: Vec<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["0", "1", "2", "3", "4", "5", "6"]);
    }

    #[test]
    fn an_empty_export_is_a_valid_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.parquet");
        let table = ParquetTable::create(&path, &columns()).unwrap();
        Box::new(table).finish().unwrap();
        let (_, rows) = read(&path);
        assert!(rows.is_empty());
    }
}
