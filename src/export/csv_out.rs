//! A CSV output: written to `<file>.partial` and renamed when the export completes. A commit
//! flushes and syncs it and records its length; `--resume` cuts the file back to that length
//! (dropping rows written after the last commit, which are read again) and appends.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use super::error::ExportError;
use super::table::{Table, TableState};

pub struct CsvTable {
    path: PathBuf,
    partial: PathBuf,
    writer: csv::Writer<File>,
    rows: u64,
}

/// `<path>.partial`: where a file is written until it is complete.
pub fn partial_of(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

impl CsvTable {
    /// A new file with `header`.
    pub fn create(path: &Path, header: &[String]) -> Result<CsvTable, ExportError> {
        let partial = partial_of(path);
        let file = File::create(&partial).map_err(ExportError::io(&partial))?;
        let mut table = CsvTable::over(path, partial, file, 0);
        table.write(header.iter().map(|h| Some(h.as_str())))?;
        Ok(table)
    }

    /// The file an earlier run committed, cut back to its committed length.
    pub fn resume(path: &Path, state: &TableState) -> Result<CsvTable, ExportError> {
        let partial = partial_of(path);
        let file = OpenOptions::new()
            .write(true)
            .open(&partial)
            .map_err(ExportError::io(&partial))?;
        let length = file.metadata().map_err(ExportError::io(&partial))?.len();
        if length < state.bytes {
            return Err(ExportError::BadState {
                state: partial.clone(),
                message: format!(
                    "it holds {length} bytes, fewer than the {} committed",
                    state.bytes
                ),
            });
        }
        file.set_len(state.bytes)
            .map_err(ExportError::io(&partial))?;
        let mut file = file;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0))
            .map_err(ExportError::io(&partial))?;
        Ok(CsvTable::over(path, partial, file, state.rows))
    }

    fn over(path: &Path, partial: PathBuf, file: File, rows: u64) -> CsvTable {
        CsvTable {
            path: path.to_path_buf(),
            partial,
            writer: csv::WriterBuilder::new()
                .buffer_capacity(1 << 16)
                .from_writer(file),
            rows,
        }
    }

    fn write<'a>(
        &mut self,
        cells: impl Iterator<Item = Option<&'a str>>,
    ) -> Result<(), ExportError> {
        self.writer
            .write_record(cells.map(|c| c.unwrap_or("")))
            .map_err(|e| ExportError::Io {
                path: self.partial.clone(),
                source: e.into(),
            })
    }
}

impl Table for CsvTable {
    fn push(&mut self, cells: Vec<Option<String>>) -> Result<(), ExportError> {
        self.write(cells.iter().map(|c| c.as_deref()))?;
        self.rows += 1;
        Ok(())
    }

    fn ripe(&self) -> bool {
        false
    }

    fn commit(&mut self) -> Result<TableState, ExportError> {
        let io = ExportError::io(&self.partial);
        self.writer.flush().map_err(io)?;
        let file = self.writer.get_ref();
        file.sync_data().map_err(ExportError::io(&self.partial))?;
        let bytes = file
            .metadata()
            .map_err(ExportError::io(&self.partial))?
            .len();
        Ok(TableState {
            rows: self.rows,
            bytes,
            ..TableState::default()
        })
    }

    fn committed(&mut self) -> Result<(), ExportError> {
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), ExportError> {
        self.commit()?;
        std::fs::rename(&self.partial, &self.path).map_err(ExportError::io(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_cuts_back_to_the_commit_and_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let mut table = CsvTable::create(&path, &["a".into(), "b".into()]).unwrap();
        table.push(vec![Some("1".into()), None]).unwrap();
        let state = table.commit().unwrap();
        assert_eq!(state.rows, 1);
        // Written after the commit, then the process dies: these rows are not kept.
        table
            .push(vec![Some("lost".into()), Some("x".into())])
            .unwrap();
        table.commit().unwrap();
        drop(table);
        let mut table = CsvTable::resume(&path, &state).unwrap();
        table
            .push(vec![Some("2".into()), Some("y, z".into())])
            .unwrap();
        Box::new(table).finish().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "a,b\n1,\n2,\"y, z\"\n"
        );
        assert!(!partial_of(&path).exists());
    }
}
