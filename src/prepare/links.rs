//! The `[[associations]]` columns of a row: each table's cell read, split into keys and checked for
//! shape (record ids are digits). Which record a key names is not known here: the dispatcher
//! resolves keys (a lookup by unique property, another pipeline's map) before anything is written.

use std::path::Path;

use super::mapping::{MappingError, column_index};
use super::row::{Link, SourceRow};
use super::violation::Violation;
use crate::config::{AssociationSpec, AssociationType, TargetKey};

/// One table's column, compiled against the source header.
#[derive(Debug)]
struct Column {
    index: usize,
    /// The column's name, quoted, for messages.
    label: String,
    split: Option<String>,
    /// Keys are record ids (digits).
    record_ids: bool,
    /// What identifies the table's association type in a row's content hash.
    kind: Vec<u8>,
    category: String,
}

/// Every `[[associations]]` column of a pipeline.
#[derive(Debug, Default)]
pub struct LinkColumns {
    columns: Vec<Column>,
}

impl LinkColumns {
    /// Finds each table's column in `header` (a missing column is fatal, naming the file).
    pub fn new(
        tables: &[AssociationSpec],
        header: &[String],
        pipeline_file: &Path,
        source_file: &Path,
    ) -> Result<LinkColumns, MappingError> {
        let columns = tables
            .iter()
            .map(|table| {
                let index = column_index(
                    header,
                    &table.column,
                    "(associations.column)",
                    pipeline_file,
                    source_file,
                )?;
                let kind = match &table.kind {
                    Some(AssociationType::Id(id)) => id.to_le_bytes().to_vec(),
                    Some(AssociationType::Label(label)) => label.as_bytes().to_vec(),
                    None => Vec::new(),
                };
                Ok(Column {
                    index,
                    label: format!("{:?}", table.column),
                    split: table.split.clone(),
                    record_ids: table.key == TargetKey::RecordId,
                    kind,
                    category: table.category.clone(),
                })
            })
            .collect::<Result<_, MappingError>>()?;
        Ok(LinkColumns { columns })
    }

    /// The row's links, table by table; keys of the wrong shape become violations. An empty cell
    /// links nothing.
    pub fn read(&self, row: &SourceRow, violations: &mut Vec<Violation>) -> Vec<Link> {
        let mut links = Vec::new();
        for (table, column) in self.columns.iter().enumerate() {
            let cell = row.fields.get(column.index).unwrap_or("");
            let parts: Box<dyn Iterator<Item = &str>> = match &column.split {
                Some(separator) => Box::new(cell.split(separator.as_str())),
                None => Box::new(std::iter::once(cell)),
            };
            for key in parts.map(str::trim).filter(|k| !k.is_empty()) {
                if column.record_ids && !key.bytes().all(|b| b.is_ascii_digit()) {
                    violations.push(Violation {
                        category: "INVALID_ID",
                        column: Some(column.label.clone()),
                        property: None,
                        value: key.to_string(),
                        reason: "is not a record id to associate with (expected digits)".into(),
                    });
                    continue;
                }
                let seen = links
                    .iter()
                    .any(|l: &Link| l.table == table && l.key == key);
                if !seen {
                    links.push(Link {
                        table,
                        key: key.to_string(),
                    });
                }
            }
        }
        links
    }

    /// Appends what a row's content hash takes of its links to `bytes` (`[sync]`: a changed link
    /// is a change to send).
    pub fn hashed_bytes(&self, links: &[Link], bytes: &mut Vec<u8>) {
        for link in links {
            let Some(column) = self.columns.get(link.table) else {
                continue;
            };
            bytes.push(1);
            bytes.extend_from_slice(link.key.as_bytes());
            bytes.extend_from_slice(&column.kind);
            bytes.extend_from_slice(column.category.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn columns(associations: &str) -> LinkColumns {
        let p = config::parse(
            Path::new("/jobs/p.toml"),
            &format!(
                "[source]\npath = \"c.csv\"\n[target]\nobject = \"contacts\"\noperation = \"create\"\nbase_url = \"sandbox\"\n[mapping]\nemail = \"Email\"\n{associations}"
            ),
        )
        .unwrap();
        let header = ["Email", "Company", "Tags"].map(String::from);
        LinkColumns::new(&p.associations, &header, &p.file, &p.source.path).unwrap()
    }

    fn row(company: &str) -> SourceRow {
        SourceRow {
            row: 1,
            origin: None,
            fields: ["a@b.co", company, ""].into_iter().collect(),
        }
    }

    #[test]
    fn cells_split_into_keys_and_record_ids_are_digits() {
        let c = columns(
            "[[associations]]\nto_object = \"companies\"\ncolumn = \"Company\"\nsplit = \";\"\nto_property = \"external_id\"\ntype_id = 279\n",
        );
        let mut violations = Vec::new();
        let links = c.read(&row(" A-1 ; ;A-2;A-1"), &mut violations);
        let keys: Vec<&str> = links.iter().map(|l| l.key.as_str()).collect();
        assert_eq!(
            keys,
            ["A-1", "A-2"],
            "trimmed, empty parts skipped, once each"
        );
        assert!(violations.is_empty());

        let c = columns("[[associations]]\nto_id_column = \"Company\"\ntype_id = 279\n");
        assert!(c.read(&row(""), &mut violations).is_empty());
        assert_eq!(c.read(&row("42"), &mut violations)[0].key, "42");
        assert!(c.read(&row("ACME"), &mut violations).is_empty());
        assert_eq!(violations[0].category, "INVALID_ID");
    }
}
