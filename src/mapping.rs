//! Mapping: source columns → HubSpot property values in wire format, with the per-property transforms
//! of `[mapping]` (trim, lowercase, label → value, date/datetime/number/bool parsing, defaults,
//! constants, multi-checkbox joins and splits).
//!
//! A [`Mapper`] is compiled once against the source header and the portal's schema (so a missing
//! column is a fatal error before any row is read), then maps each row without looking names up.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

use crate::row::SourceRow;
use crate::schema::{ObjectSchema, PropertyType};
use crate::validate::Violation;

/// One `[mapping]` entry, as declared in `pipeline.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyMapping {
    /// The HubSpot property (internal name) to write.
    pub property: String,
    pub source: ValueSource,
    /// Trim surrounding whitespace (typed values are always trimmed).
    pub trim: bool,
    /// Lowercase the value.
    pub lowercase: bool,
    /// Labels → internal enumeration values; exact match first, then case-insensitive.
    pub values: Vec<(String, String)>,
    /// Parse and re-render as this type; `None` takes the type from the portal's schema.
    pub kind: Option<ValueType>,
    /// chrono format for date/datetime input, e.g. `%d/%m/%Y`.
    pub format: Option<String>,
    /// Used when the cell is empty.
    pub default: Option<String>,
    /// Split one cell on this separator and re-join with `;` (multi-checkbox).
    pub split: Option<String>,
}

impl PropertyMapping {
    /// A plain `property = "Column"` mapping.
    pub fn column(property: impl Into<String>, column: impl Into<String>) -> Self {
        PropertyMapping {
            property: property.into(),
            source: ValueSource::Column(column.into()),
            trim: false,
            lowercase: false,
            values: Vec::new(),
            kind: None,
            format: None,
            default: None,
            split: None,
        }
    }
}

/// Where a property's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    Column(String),
    /// Several columns joined with `;` (multi-checkbox), empty cells left out.
    Columns(Vec<String>),
    /// The same value for every row.
    Constant(String),
}

/// A typed transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Date,
    DateTime,
    Number,
    Bool,
}

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
    values: HashMap<String, String>,
    values_folded: HashMap<String, String>,
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
            let values: HashMap<String, String> = m.values.iter().cloned().collect();
            let values_folded = m
                .values
                .iter()
                .map(|(k, v)| (k.trim().to_lowercase(), v.clone()))
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
        Ok(Mapper { compiled })
    }

    /// The mapped properties in mapping order: their shared names and source column labels.
    pub fn properties(&self) -> impl Iterator<Item = (&Arc<str>, &str)> {
        self.compiled.iter().map(|c| (&c.name, c.label.as_str()))
    }

    /// Maps one row. Empty cells without a default are left out. Failed transforms are pushed to
    /// `violations` (the property is then left out).
    pub fn map(&self, row: &SourceRow, violations: &mut Vec<Violation>) -> Vec<(Arc<str>, String)> {
        let mut out = Vec::with_capacity(self.compiled.len());
        for c in &self.compiled {
            if c.plain
                && let Source::Column(i) = c.source
            {
                let cell = row.fields.get(i).map(String::as_str).unwrap_or("");
                let cell = if c.trim { cell.trim() } else { cell };
                if !cell.trim().is_empty() {
                    out.push((c.name.clone(), cell.to_string()));
                    continue;
                }
                if c.default.is_none() {
                    continue;
                }
            }
            match c.value(row) {
                Ok(Some(v)) => out.push((c.name.clone(), v)),
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
    /// The value for one row. Works on borrowed text and allocates once at the end where it can.
    fn value<'a>(&'a self, row: &'a SourceRow) -> Result<Option<String>, Failure> {
        let cell = |i: usize| row.fields.get(i).map(String::as_str).unwrap_or("");
        let mut multi = self.split.is_some();
        let mut value: Cow<'a, str> = match &self.source {
            Source::Column(i) => Cow::Borrowed(cell(*i)),
            Source::Constant(v) => Cow::Borrowed(v.as_str()),
            Source::Columns(is) => {
                multi = true;
                let parts: Vec<&str> = is
                    .iter()
                    .map(|&i| cell(i).trim())
                    .filter(|p| !p.is_empty())
                    .collect();
                Cow::Owned(parts.join(";"))
            }
        };
        if self.trim {
            value = match value {
                Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
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
        if value.trim().is_empty() {
            match &self.default {
                Some(d) => value = Cow::Borrowed(d.as_str()),
                None => return Ok(None),
            }
        }
        if self.lowercase && value.chars().any(char::is_uppercase) {
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
            return Ok(Some(value.into_owned()));
        };
        let parsed = match kind {
            ValueType::Date => parse_date(&value, self.format.as_deref()),
            ValueType::DateTime => parse_datetime(&value, self.format.as_deref()),
            ValueType::Number => parse_number(&value),
            ValueType::Bool => parse_bool(&value),
        };
        parsed
            .map(Some)
            .map_err(|reason| (value.into_owned(), kind.category(), reason))
    }

    /// The internal value for `label`: exact match first, then case-insensitive.
    fn label_to_value(&self, label: &str) -> Option<&str> {
        if let Some(v) = self.values.get(label) {
            return Some(v);
        }
        self.values_folded
            .get(&label.trim().to_lowercase())
            .map(String::as_str)
    }
}

impl ValueType {
    /// HubSpot's error word for a value of this type that does not parse.
    pub fn category(self) -> &'static str {
        match self {
            ValueType::Date | ValueType::DateTime => "INVALID_DATE",
            ValueType::Number => "INVALID_INTEGER",
            ValueType::Bool => "INVALID_BOOLEAN",
        }
    }
}

const MS_PER_DAY: i64 = 86_400_000;

fn is_epoch_ms(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit())
}

fn render_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// A strict ISO `YYYY-MM-DD` date, parsed without chrono's format machinery (the hot path).
pub fn iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)
}

/// Renders a UTC instant as HubSpot's datetime: `2024-01-31T09:30:00.000Z`.
pub fn render_datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn not_midnight(t: NaiveTime) -> String {
    format!(
        "is at {:02}:{:02}:{:02}.{:03}, not midnight (a date property holds whole days)",
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond() / 1_000_000
    )
}

const NAIVE_DATETIME_FORMATS: [&str; 4] = [
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
];

/// Parses a date: with `format` (chrono), else ISO `YYYY-MM-DD`, an RFC 3339 / ISO datetime at
/// midnight, or epoch milliseconds at midnight UTC. Renders `YYYY-MM-DD`.
pub fn parse_date(s: &str, format: Option<&str>) -> Result<String, String> {
    let s = s.trim();
    if let Some(fmt) = format {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return Ok(render_date(d));
        }
        return match NaiveDateTime::parse_from_str(s, fmt) {
            Ok(t) if t.time() == NaiveTime::MIN => Ok(render_date(t.date())),
            Ok(t) => Err(not_midnight(t.time())),
            Err(_) => Err(format!("does not match format {fmt:?}")),
        };
    }
    if iso_date(s).is_some() {
        return Ok(s.to_string());
    }
    if is_epoch_ms(s) {
        let ms: i64 = s.parse().map_err(|_| "is out of range".to_string())?;
        let t = DateTime::from_timestamp_millis(ms).ok_or("is out of range")?;
        if ms.rem_euclid(MS_PER_DAY) != 0 {
            return Err(not_midnight(t.time()));
        }
        return Ok(render_date(t.date_naive()));
    }
    let naive = DateTime::parse_from_rfc3339(s)
        .map(|t| t.naive_local())
        .ok()
        .or_else(|| {
            NAIVE_DATETIME_FORMATS
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        });
    match naive {
        Some(t) if t.time() == NaiveTime::MIN => Ok(render_date(t.date())),
        Some(t) => Err(not_midnight(t.time())),
        None => Err(
            "is not a date (expected YYYY-MM-DD or epoch milliseconds; set format = \"%d/%m/%Y\" or similar for other layouts)"
                .into(),
        ),
    }
}

/// Parses a datetime: with `format` (chrono; with `%z` the offset is honoured, else UTC), else RFC 3339,
/// ISO without offset (UTC), `YYYY-MM-DD` (midnight UTC) or epoch milliseconds.
/// Renders ISO 8601 UTC with milliseconds.
pub fn parse_datetime(s: &str, format: Option<&str>) -> Result<String, String> {
    let s = s.trim();
    if let Some(fmt) = format {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Ok(render_datetime(t.with_timezone(&Utc)));
        }
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(render_datetime(t.and_utc()));
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return Ok(render_datetime(d.and_time(NaiveTime::MIN).and_utc()));
        }
        return Err(format!("does not match format {fmt:?}"));
    }
    if is_epoch_ms(s) {
        let ms: i64 = s.parse().map_err(|_| "is out of range".to_string())?;
        let t = DateTime::from_timestamp_millis(ms).ok_or("is out of range")?;
        return Ok(render_datetime(t));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(render_datetime(t.with_timezone(&Utc)));
    }
    if let Some(t) = NAIVE_DATETIME_FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    {
        return Ok(render_datetime(t.and_utc()));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(render_datetime(d.and_time(NaiveTime::MIN).and_utc()));
    }
    Err("is not a datetime (expected ISO 8601 / RFC 3339 such as 2024-01-31T09:30:00Z, or epoch milliseconds; set format = \"%m/%d/%Y %H:%M\" or similar for other layouts)".into())
}

/// Parses a number conservatively: an optional sign, digits with an optional `.` decimal part, and
/// optionally `,` thousands groups that are well formed (`1,234,567.50`). Anything ambiguous
/// (`1,5`, `1.234,5`), exponents, currency signs and percentages are rejected rather than guessed.
/// Renders digits and at most one `.`, without the grouping and without a leading `+`.
pub fn parse_number(s: &str) -> Result<String, String> {
    const REASON: &str = "is not a number (expected digits with an optional \".\" decimal part, e.g. 1234.50 or 1,234.50)";
    let s = s.trim();
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    if let Some(f) = frac
        && (f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(REASON.into());
    }
    let int_digits: String = if int.contains(',') {
        let mut groups = int.split(',');
        let first = groups.next().unwrap_or("");
        let ok = (1..=3).contains(&first.len())
            && first.bytes().all(|b| b.is_ascii_digit())
            && groups.all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            return Err(REASON.into());
        }
        int.replace(',', "")
    } else {
        if !int.bytes().all(|b| b.is_ascii_digit()) || (int.is_empty() && frac.is_none()) {
            return Err(REASON.into());
        }
        int.to_string()
    };
    let mut out = String::with_capacity(s.len());
    if negative {
        out.push('-');
    }
    if int_digits.is_empty() {
        out.push('0');
    }
    out.push_str(&int_digits);
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    Ok(out)
}

/// Parses a boolean: true/false, yes/no, y/n, 1/0, case-insensitive. Renders `true` / `false`.
pub fn parse_bool(s: &str) -> Result<String, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Ok("true".into()),
        "false" | "no" | "n" | "0" => Ok("false".into()),
        _ => Err("is not a boolean (expected true/false, yes/no, y/n or 1/0)".into()),
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
            fields: fields.iter().map(|s| s.to_string()).collect(),
        };
        let mut violations = Vec::new();
        let out = mapper.map(&row, &mut violations);
        (
            out.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
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

    #[test]
    fn dates() {
        assert_eq!(parse_date("2024-01-31", None).unwrap(), "2024-01-31");
        assert_eq!(parse_date(" 1706659200000 ", None).unwrap(), "2024-01-31");
        assert!(
            parse_date("1706659200001", None)
                .unwrap_err()
                .contains("not midnight")
        );
        assert_eq!(
            parse_date("2024-01-31T00:00:00Z", None).unwrap(),
            "2024-01-31"
        );
        assert_eq!(
            parse_date("2024-01-31 00:00:00", None).unwrap(),
            "2024-01-31"
        );
        assert!(
            parse_date("2024-01-31T09:30:00Z", None)
                .unwrap_err()
                .contains("09:30:00.000")
        );
        assert!(parse_date("2024-02-30", None).is_err());
        assert!(parse_date("31/01/2024", None).is_err());
        assert_eq!(
            parse_date("01/31/2024", Some("%m/%d/%Y")).unwrap(),
            "2024-01-31"
        );
        assert!(
            parse_date("2024-01-31", Some("%m/%d/%Y"))
                .unwrap_err()
                .contains("format")
        );
    }

    #[test]
    fn datetimes() {
        assert_eq!(
            parse_datetime("2024-01-31T09:30:00Z", None).unwrap(),
            "2024-01-31T09:30:00.000Z"
        );
        assert_eq!(
            parse_datetime("2024-01-31T10:30:00+01:00", None).unwrap(),
            "2024-01-31T09:30:00.000Z"
        );
        assert_eq!(
            parse_datetime("2024-01-31 09:30:00.25", None).unwrap(),
            "2024-01-31T09:30:00.250Z"
        );
        assert_eq!(
            parse_datetime("2024-01-31", None).unwrap(),
            "2024-01-31T00:00:00.000Z"
        );
        assert_eq!(
            parse_datetime("1706693400000", None).unwrap(),
            "2024-01-31T09:30:00.000Z"
        );
        assert_eq!(
            parse_datetime("01/31/2024 09:30", Some("%m/%d/%Y %H:%M")).unwrap(),
            "2024-01-31T09:30:00.000Z"
        );
        assert_eq!(
            parse_datetime("31.01.2024 10:30 +0100", Some("%d.%m.%Y %H:%M %z")).unwrap(),
            "2024-01-31T09:30:00.000Z"
        );
        assert!(parse_datetime("yesterday", None).is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("1234").unwrap(), "1234");
        assert_eq!(parse_number(" -12.50 ").unwrap(), "-12.50");
        assert_eq!(parse_number("+7").unwrap(), "7");
        assert_eq!(parse_number("1,234.50").unwrap(), "1234.50");
        assert_eq!(parse_number("1,234,567").unwrap(), "1234567");
        assert_eq!(parse_number(".5").unwrap(), "0.5");
        for bad in [
            "1,5", "1.234,5", "12,34", "1e5", "$12", "12%", "", "-", "1.", "1.2.3", "NaN", "1 000",
        ] {
            assert!(parse_number(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bools() {
        for t in ["true", "TRUE", "Yes", "y", "1", " Y "] {
            assert_eq!(parse_bool(t).unwrap(), "true", "{t}");
        }
        for f in ["false", "No", "n", "0"] {
            assert_eq!(parse_bool(f).unwrap(), "false", "{f}");
        }
        assert!(parse_bool("maybe").is_err());
    }
}
