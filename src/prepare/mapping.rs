//! Mapping: source columns → HubSpot property values in wire format, with the per-property transforms
//! of `[mapping]` (trim, lowercase, label → value, date/datetime/number/bool parsing, defaults,
//! constants, multi-checkbox joins and splits).
//!
//! A [`Mapper`] is compiled once against the source header and the portal's schema (so a missing
//! column is a fatal error before any row is read), then maps each row without looking names up.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::properties::{self, Names, Properties};
use super::row::SourceRow;
use super::text_map::{TextMap, folded};
use super::values::{self, parse_bool, parse_date, parse_datetime, parse_number};
use super::violation::Violation;
use crate::config::mapping::{PropertyMapping, ValueSource, ValueType};
use crate::portal::schema::{ObjectSchema, PropertyType};

/// A mapping that cannot run against this source: fatal, before any row is read.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error(
        "pipeline file {}: mapping.{property} names column {column:?}, which {} does not have (columns: {available})",
        file.display(), source_file.display()
    )]
    MissingColumn {
        file: PathBuf,
        source_file: PathBuf,
        property: String,
        column: String,
        available: String,
    },
    #[error(
        "pipeline file {}: mapping.{property}.format applies to date and datetime properties; {property} is not one (set type = \"date\" or \"datetime\")",
        file.display()
    )]
    FormatWithoutDate { file: PathBuf, property: String },
}

/// The compiled form of one mapping.
#[derive(Debug)]
struct Compiled {
    name: Arc<str>,
    /// For messages: the column name(s), or `(constant)`.
    label: String,
    source: Source,
    trim: bool,
    lowercase: bool,
    values: TextMap<String>,
    values_folded: TextMap<String>,
    kind: Option<ValueType>,
    format: Option<String>,
    default: Option<String>,
    split: Option<String>,
    /// Nothing to do but copy the cell.
    plain: bool,
}

#[derive(Debug)]
enum Source {
    Column(usize),
    Columns(Vec<usize>),
    Constant(String),
}

/// Maps source rows to property values.
#[derive(Debug)]
pub struct Mapper {
    compiled: Vec<Compiled>,
    /// The mapped property names in mapping order, shared by every row's values.
    names: Names,
}

/// The index of `name` in `header`, or a [`MappingError::MissingColumn`].
pub fn column_index(
    header: &[String],
    name: &str,
    property: &str,
    pipeline_file: &Path,
    source_file: &Path,
) -> Result<usize, MappingError> {
    header
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| MappingError::MissingColumn {
            file: pipeline_file.to_path_buf(),
            source_file: source_file.to_path_buf(),
            property: property.to_string(),
            column: name.to_string(),
            available: header
                .iter()
                .map(|h| format!("{h:?}"))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

impl Mapper {
    /// Compiles `mappings` against the source `header`. A mapping without `type` takes the type of its
    /// property in `schema` (date, datetime, number, bool), so lenient input like `yes` or an epoch
    /// becomes HubSpot's format without configuration.
    pub fn new(
        mappings: &[PropertyMapping],
        header: &[String],
        schema: &ObjectSchema,
        pipeline_file: &Path,
        source_file: &Path,
    ) -> Result<Mapper, MappingError> {
        let mut compiled = Vec::with_capacity(mappings.len());
        for m in mappings {
            let index =
                |name: &str| column_index(header, name, &m.property, pipeline_file, source_file);
            let (source, label) = match &m.source {
                ValueSource::Column(c) => (Source::Column(index(c)?), format!("{c:?}")),
                ValueSource::Columns(cs) => (
                    Source::Columns(cs.iter().map(|c| index(c)).collect::<Result<_, _>>()?),
                    cs.iter()
                        .map(|c| format!("{c:?}"))
                        .collect::<Vec<_>>()
                        .join("+"),
                ),
                ValueSource::Constant(v) => (Source::Constant(v.clone()), "(constant)".into()),
            };
            let kind = m.kind.or_else(|| {
                schema.property(&m.property).and_then(|p| match p.kind {
                    PropertyType::Date => Some(ValueType::Date),
                    PropertyType::DateTime => Some(ValueType::DateTime),
                    PropertyType::Number => Some(ValueType::Number),
                    PropertyType::Bool => Some(ValueType::Bool),
                    _ => None,
                })
            });
            if m.format.is_some() && !matches!(kind, Some(ValueType::Date | ValueType::DateTime)) {
                return Err(MappingError::FormatWithoutDate {
                    file: pipeline_file.to_path_buf(),
                    property: m.property.clone(),
                });
            }
            let values: TextMap<String> = m.values.iter().cloned().collect();
            let values_folded = m
                .values
                .iter()
                .map(|(k, v)| (folded(k).into_owned(), v.clone()))
                .collect();
            let plain = matches!(source, Source::Column(_))
                && !m.lowercase
                && values.is_empty()
                && kind.is_none()
                && m.split.is_none();
            compiled.push(Compiled {
                name: Arc::from(m.property.as_str()),
                label,
                source,
                trim: m.trim,
                lowercase: m.lowercase,
                values,
                values_folded,
                kind,
                format: m.format.clone(),
                default: m.default.clone(),
                split: m.split.clone(),
                plain,
            });
        }
        let names = properties::intern(compiled.iter().map(|c| c.name.clone()).collect());
        // The table may be an earlier mapper's: names are compared by pointer downstream.
        for (c, name) in compiled.iter_mut().zip(names.iter()) {
            c.name = name.clone();
        }
        Ok(Mapper { compiled, names })
    }

    /// The mapped properties in mapping order: their shared names and source column labels.
    pub fn properties(&self) -> impl Iterator<Item = (&Arc<str>, &str)> {
        self.compiled.iter().map(|c| (&c.name, c.label.as_str()))
    }

    /// Maps one row. Empty cells without a default are left out. Failed transforms are pushed to
    /// `violations` (the property is then left out).
    pub fn map(&self, row: &SourceRow, violations: &mut Vec<Violation>) -> Properties {
        let mut out =
            Properties::with_capacity(self.names, self.compiled.len(), row.fields.text_len());
        for (index, c) in self.compiled.iter().enumerate() {
            if c.plain
                && let Source::Column(i) = c.source
            {
                let cell = row.fields.get(i).unwrap_or("");
                let trimmed = values::trim(cell);
                let cell = if c.trim { trimmed } else { cell };
                if !trimmed.is_empty() {
                    out.push(index, cell);
                    continue;
                }
                if c.default.is_none() {
                    continue;
                }
            }
            match c.value(row) {
                Ok(Some(v)) => out.push(index, &v),
                Ok(None) => {}
                Err((value, category, reason)) => violations.push(Violation {
                    category,
                    column: Some(c.label.clone()),
                    property: Some(c.name.to_string()),
                    value,
                    reason,
                }),
            }
        }
        out
    }
}

type Failure = (String, &'static str, String);

impl Compiled {
    /// The value for one row. Works on borrowed text, allocating only for a transformed value.
    fn value<'a>(&'a self, row: &'a SourceRow) -> Result<Option<Cow<'a, str>>, Failure> {
        let cell = |i: usize| row.fields.get(i).unwrap_or("");
        let mut multi = self.split.is_some();
        let mut value: Cow<'a, str> = match &self.source {
            Source::Column(i) => Cow::Borrowed(cell(*i)),
            Source::Constant(v) => Cow::Borrowed(v.as_str()),
            Source::Columns(is) => {
                multi = true;
                let parts: Vec<&str> = is
                    .iter()
                    .map(|&i| values::trim(cell(i)))
                    .filter(|p| !p.is_empty())
                    .collect();
                Cow::Owned(parts.join(";"))
            }
        };
        if self.trim {
            value = match value {
                Cow::Borrowed(s) => Cow::Borrowed(values::trim(s)),
                Cow::Owned(s) => Cow::Owned(s.trim().to_string()),
            };
        }
        if let Some(sep) = &self.split {
            value = Cow::Owned(
                value
                    .split(sep.as_str())
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join(";"),
            );
        }
        if values::trim(&value).is_empty() {
            match &self.default {
                Some(d) => value = Cow::Borrowed(d.as_str()),
                None => return Ok(None),
            }
        }
        if self.lowercase && values::has_uppercase(&value) {
            value = Cow::Owned(value.to_lowercase());
        }
        if !self.values.is_empty() {
            if multi {
                value = Cow::Owned(
                    value
                        .split(';')
                        .map(|p| self.label_to_value(p).unwrap_or(p))
                        .collect::<Vec<_>>()
                        .join(";"),
                );
            } else if let Some(v) = self.label_to_value(&value) {
                value = Cow::Borrowed(v);
            }
        }
        let Some(kind) = self.kind else {
            return Ok(Some(value));
        };
        let parsed = match kind {
            ValueType::Date => parse_date(&value, self.format.as_deref()),
            ValueType::DateTime => parse_datetime(&value, self.format.as_deref()),
            ValueType::Number => parse_number(&value),
            ValueType::Bool => parse_bool(&value),
        };
        parsed
            .map(|v| Some(Cow::Owned(v)))
            .map_err(|reason| (value.into_owned(), values::category(kind), reason))
    }

    /// The internal value for `label`: exact match first, then case-insensitive.
    fn label_to_value(&self, label: &str) -> Option<&str> {
        if let Some(v) = self.values.get(label) {
            return Some(v);
        }
        self.values_folded.get(&*folded(label)).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> ObjectSchema {
        ObjectSchema::from_json(
            "contacts",
            br#"{"results":[
                {"name":"email","label":"Email","type":"string","fieldType":"text"},
                {"name":"hs_lead_status","label":"Lead Status","type":"enumeration","fieldType":"select",
                 "options":[{"label":"New","value":"NEW"},{"label":"Open","value":"OPEN"}]},
                {"name":"date_of_birth","label":"Birthday","type":"date","fieldType":"date"},
                {"name":"consent","label":"Consent","type":"bool","fieldType":"booleancheckbox"}
            ]}"#,
        )
        .unwrap()
    }

    fn header() -> Vec<String> {
        ["Email", "Status", "Born", "A", "B", "Tags", "Consent"]
            .map(String::from)
            .to_vec()
    }

    fn map_one(m: PropertyMapping, fields: &[&str]) -> (Vec<(String, String)>, Vec<Violation>) {
        let mapper = Mapper::new(
            &[m],
            &header(),
            &schema(),
            Path::new("p.toml"),
            Path::new("s.csv"),
        )
        .unwrap();
        let row = SourceRow {
            row: 1,
            origin: None,
            fields: fields.iter().map(|s| s.to_string()).collect(),
        };
        let mut violations = Vec::new();
        let out = mapper.map(&row, &mut violations);
        (
            out.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            violations,
        )
    }

    fn table(property: &str, column: &str) -> PropertyMapping {
        PropertyMapping::column(property, column)
    }

    const ROW: [&str; 7] = [
        " Bob@X.com ",
        "Open",
        "31/01/2024",
        "a",
        "",
        "x, y ,,z",
        "Yes",
    ];

    #[test]
    fn plain_column_copies_and_empty_is_left_out() {
        let (out, v) = map_one(table("email", "Email"), &ROW);
        assert_eq!(out, vec![("email".into(), " Bob@X.com ".into())]);
        assert!(v.is_empty());
        let (out, _) = map_one(table("email", "B"), &ROW);
        assert!(out.is_empty());
        let (out, _) = map_one(table("email", "Email"), &["   "]);
        assert!(out.is_empty(), "whitespace-only counts as empty");
    }

    #[test]
    fn trim_and_lowercase() {
        let mut m = table("email", "Email");
        m.trim = true;
        assert_eq!(map_one(m.clone(), &ROW).0[0].1, "Bob@X.com");
        m.lowercase = true;
        assert_eq!(map_one(m, &ROW).0[0].1, "bob@x.com");
    }

    #[test]
    fn values_map_labels_exactly_then_case_insensitively() {
        let mut m = table("hs_lead_status", "Status");
        m.values = vec![("open".into(), "OPEN".into())];
        assert_eq!(map_one(m.clone(), &ROW).0[0].1, "OPEN");
        let mut row = ROW;
        row[1] = "Unknown";
        assert_eq!(
            map_one(m, &row).0[0].1,
            "Unknown",
            "unmapped labels pass through"
        );
    }

    #[test]
    fn date_with_format_and_schema_default_type() {
        let mut m = table("date_of_birth", "Born");
        m.kind = Some(ValueType::Date);
        m.format = Some("%d/%m/%Y".into());
        assert_eq!(map_one(m, &ROW).0[0].1, "2024-01-31");
        // No type: the schema says date; "31/01/2024" is not ISO, so it is rejected with a hint.
        let (out, v) = map_one(table("date_of_birth", "Born"), &ROW);
        assert!(out.is_empty());
        assert_eq!(v[0].category, "INVALID_DATE");
        assert!(v[0].reason.contains("format"), "{}", v[0].reason);
        assert_eq!(v[0].value, "31/01/2024");
        assert_eq!(v[0].column.as_deref(), Some("\"Born\""));
    }

    #[test]
    fn format_takes_its_type_from_the_schema() {
        let mut m = table("date_of_birth", "Born");
        m.format = Some("%d/%m/%Y".into());
        assert_eq!(map_one(m, &ROW).0[0].1, "2024-01-31");
        let mut m = table("email", "Email");
        m.format = Some("%d/%m/%Y".into());
        let err = Mapper::new(
            &[m],
            &header(),
            &schema(),
            Path::new("p.toml"),
            Path::new("s.csv"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("mapping.email.format"), "{err}");
    }

    #[test]
    fn bool_from_schema_type() {
        let (out, _) = map_one(table("consent", "Consent"), &ROW);
        assert_eq!(out[0].1, "true");
    }

    #[test]
    fn default_when_empty_and_constant() {
        let mut m = table("hs_lead_status", "B");
        m.default = Some("NEW".into());
        assert_eq!(map_one(m, &ROW).0[0].1, "NEW");
        let mut m = table("hs_lead_status", "B");
        m.source = ValueSource::Constant("OPEN".into());
        assert_eq!(map_one(m, &ROW).0[0].1, "OPEN");
    }

    #[test]
    fn columns_join_and_split() {
        let mut m = table("tags", "A");
        m.source = ValueSource::Columns(vec!["A".into(), "B".into(), "Email".into()]);
        assert_eq!(map_one(m, &ROW).0[0].1, "a;Bob@X.com");
        let mut m = table("tags", "Tags");
        m.split = Some(",".into());
        m.values = vec![("y".into(), "Y_VALUE".into())];
        assert_eq!(map_one(m, &ROW).0[0].1, "x;Y_VALUE;z");
    }

    #[test]
    fn missing_column_is_fatal_and_named() {
        let err = Mapper::new(
            &[table("email", "E-mail")],
            &header(),
            &schema(),
            Path::new("p.toml"),
            Path::new("s.csv"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("\"E-mail\"")
                && err.contains("mapping.email")
                && err.contains("s.csv")
                && err.contains("p.toml"),
            "{err}"
        );
    }
}
