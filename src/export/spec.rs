//! What one export reads and writes, from the command line: the object, the output and its format,
//! the properties, associations, history, archived records, an id file; the files it leaves beside
//! the output; and the fingerprint that tells `--resume` it is the same export.

use std::io::Read;
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::Xxh3;

use super::error::ExportError;
use crate::config::SourceSpec;

/// The output's format, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
}

/// Which properties become columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Properties {
    /// HubSpot's default set for the type, as the portal returns it (read once at the start).
    Default,
    /// Every property of the type's schema, by name.
    All,
    /// These, in this order.
    Named(Vec<String>),
}

/// Read these records only: the ids in a column of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ids {
    pub file: SourceSpec,
    /// The column holding the ids (default: the file's first column).
    pub column: Option<String>,
    /// The unique property the ids are values of (default: record ids).
    pub property: Option<String>,
}

/// One export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSpec {
    /// Object type name or id: `contacts`, `0-1`, `2-1234567`.
    pub object: String,
    pub output: PathBuf,
    pub format: Format,
    pub properties: Properties,
    /// Object types whose associated ids become columns.
    pub associations: Vec<String>,
    /// Also write the properties' history (long format) beside the output.
    pub history: bool,
    /// Archived records only.
    pub archived: bool,
    pub ids: Option<Ids>,
}

/// `path` with `suffix` appended to its whole name (`a.csv` → `a.csv.missing.csv`).
fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

impl ExportSpec {
    /// The format of `output`, from its extension (`.csv`, `.parquet`).
    pub fn format_of(output: &Path) -> Result<Format, ExportError> {
        let extension = output
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match extension.as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("parquet" | "pq") => Ok(Format::Parquet),
            _ => Err(ExportError::Invalid(format!(
                "--output: cannot tell the format of {} from its extension (.csv or .parquet)",
                output.display()
            ))),
        }
    }

    /// The history file: `<stem>.history.<ext>` beside the output.
    pub fn history_path(&self) -> PathBuf {
        let stem = self
            .output
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "export".into());
        let extension = self
            .output
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.output
            .with_file_name(format!("{stem}.history.{extension}"))
    }

    /// The ids of `--ids` that matched no record: `<output>.missing.csv`.
    pub fn missing_path(&self) -> PathBuf {
        suffixed(&self.output, ".missing.csv")
    }

    /// Where an unfinished export keeps its progress: `<output>.export.json`.
    pub fn state_path(&self) -> PathBuf {
        suffixed(&self.output, ".export.json")
    }

    /// One export of an output at a time: `<output>.lock`.
    pub fn lock_path(&self) -> PathBuf {
        suffixed(&self.output, ".lock")
    }

    /// A digest of everything that decides what the files hold: the options, and the id file's
    /// bytes. A resumed export must have the same one.
    pub fn fingerprint(&self) -> Result<String, ExportError> {
        let mut hasher = Xxh3::new();
        let properties = match &self.properties {
            Properties::Default => "(default)".to_string(),
            Properties::All => "(all)".to_string(),
            Properties::Named(names) => names.join(","),
        };
        let description = format!(
            "object={}\0format={:?}\0properties={properties}\0associations={}\0history={}\0archived={}\0",
            self.object,
            self.format,
            self.associations.join(","),
            self.history,
            self.archived
        );
        hasher.update(description.as_bytes());
        if let Some(ids) = &self.ids {
            hasher.update(
                format!(
                    "ids.column={:?}\0ids.property={:?}\0",
                    ids.column, ids.property
                )
                .as_bytes(),
            );
            let path = &ids.file.path;
            let mut file = std::fs::File::open(path).map_err(ExportError::io(path))?;
            let mut buffer = vec![0u8; 1 << 20];
            loop {
                let n = file.read(&mut buffer).map_err(ExportError::io(path))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
            }
        }
        Ok(format!("{:032x}", hasher.digest128()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(output: &str) -> ExportSpec {
        ExportSpec {
            object: "contacts".into(),
            output: PathBuf::from(output),
            format: ExportSpec::format_of(Path::new(output)).unwrap(),
            properties: Properties::Default,
            associations: vec![],
            history: false,
            archived: false,
            ids: None,
        }
    }

    #[test]
    fn files_beside_the_output() {
        let s = spec("out/contacts.parquet");
        assert_eq!(s.format, Format::Parquet);
        assert_eq!(s.history_path(), Path::new("out/contacts.history.parquet"));
        assert_eq!(
            s.missing_path(),
            Path::new("out/contacts.parquet.missing.csv")
        );
        assert_eq!(
            s.state_path(),
            Path::new("out/contacts.parquet.export.json")
        );
        assert!(ExportSpec::format_of(Path::new("x.json")).is_err());
    }

    #[test]
    fn the_fingerprint_follows_the_options() {
        let a = spec("c.csv");
        let mut b = spec("c.csv");
        assert_eq!(a.fingerprint().unwrap(), b.fingerprint().unwrap());
        b.archived = true;
        assert_ne!(a.fingerprint().unwrap(), b.fingerprint().unwrap());
    }
}
