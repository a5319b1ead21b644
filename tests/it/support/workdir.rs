//! A temp directory holding one job's files: the pipeline, its source, and what a run writes.

use std::path::{Path, PathBuf};

/// A temp directory, removed on drop.
pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("a temp dir"),
        }
    }

    /// The directory itself.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `name` inside the directory (absolute names stay as they are).
    pub fn path(&self, name: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `name` (its folders created) and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create a test folder");
        }
        std::fs::write(&path, contents).expect("write a test file");
        path
    }

    /// The text of `name` (empty when it does not exist).
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// Copies `samples/{name}` (a committed sample file, `rules/contacts.toml` for one in a folder)
    /// into the directory, at the same relative path, and returns its path.
    pub fn copy_sample(&self, name: &str) -> PathBuf {
        let from = sample(name);
        let to = self.path(name);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).expect("create a test folder");
        }
        std::fs::copy(&from, &to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
        to
    }

    /// Every file in the directory.
    pub fn files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.dir())
            .expect("a readable temp dir")
            .map(|entry| entry.expect("a directory entry").path())
            .collect()
    }
}

/// The path of the committed sample file `samples/{name}`.
pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// A CSV file read whole: its header and its records.
#[derive(Debug, Clone)]
pub struct CsvFile {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl CsvFile {
    /// Reads `path` (panics when it is missing or not CSV). The delimiter is the one before
    /// `etl_row` in a dead-letter file (which keeps its source's), else a comma.
    pub fn read(path: &Path) -> CsvFile {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("a readable CSV at {}: {e}", path.display()));
        let header = text.lines().next().unwrap_or_default();
        let delimiter = [b';', b'\t', b'|']
            .into_iter()
            .find(|d| header.contains(&format!("{}etl_row", *d as char)))
            .unwrap_or(b',');
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .from_reader(text.as_bytes());
        let header = reader
            .headers()
            .expect("a header")
            .iter()
            .map(str::to_string)
            .collect();
        let rows = reader
            .records()
            .map(|r| r.expect("a record").iter().map(str::to_string).collect())
            .collect();
        CsvFile { header, rows }
    }

    /// The values of the column named `name`, top to bottom.
    pub fn column(&self, name: &str) -> Vec<&str> {
        let index = self.index(name);
        self.rows.iter().map(|row| row[index].as_str()).collect()
    }

    /// The value of column `name` in record `i` (0-based).
    pub fn get(&self, i: usize, name: &str) -> &str {
        &self.rows[i][self.index(name)]
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn index(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name:?} in {:?}", self.header))
    }
}
