//! What a column's sampled values say about the mapping it needs: `trim` when cells carry
//! surrounding spaces, `trim` and `lowercase` for emails, the `format` every sampled date reads
//! with (`31/12/1980` → `%d/%m/%Y`), `values` from the options' labels the column holds to their
//! internal values, `split` for a multi-checkbox column separated by commas. What the sample
//! leaves in doubt becomes a note written beside the mapping.

use std::collections::BTreeSet;

use crate::portal::schema::{PropertySchema, PropertyType};
use crate::prepare::values::{parse_bool, parse_date, parse_datetime, parse_number};

/// Date layouts tried, most usual first (day-first before month-first: most of the world).
const DATE_FORMATS: &[&str] = &[
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%d/%m/%y",
    "%m/%d/%y",
    "%Y%m%d",
    "%d %b %Y",
    "%b %d, %Y",
    "%d %B %Y",
    "%B %d, %Y",
];

/// Datetime layouts tried.
const DATETIME_FORMATS: &[&str] = &[
    "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%d/%m/%Y",
    "%m/%d/%Y",
];

/// Options an enumeration may have for all its labels to be written out.
const ALL_LABELS_UP_TO: usize = 30;

/// Values quoted in a note, at most.
const QUOTED: usize = 5;

/// The transforms of one mapping, and what the sample left in doubt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transform {
    pub trim: bool,
    pub lowercase: bool,
    /// A chrono format for dates and datetimes that are not ISO.
    pub format: Option<String>,
    /// Label → internal value, for an enumeration column holding labels.
    pub values: Vec<(String, String)>,
    /// The separator of a multi-checkbox column that is not `;`.
    pub split: Option<String>,
    /// What a person should check, written as comments.
    pub notes: Vec<String>,
}

impl Transform {
    /// Whether the mapping needs a table (`{ column = …, … }`) rather than a plain column name.
    pub fn is_plain(&self) -> bool {
        !self.trim
            && !self.lowercase
            && self.format.is_none()
            && self.values.is_empty()
            && self.split.is_none()
    }
}

/// The transforms `values` (a column's sampled cells) need to become `property`'s values.
pub fn transform(property: &PropertySchema, values: &[&str]) -> Transform {
    let cells: Vec<&str> = values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    let mut t = Transform {
        trim: values
            .iter()
            .any(|v| !v.trim().is_empty() && v.trim() != *v),
        ..Transform::default()
    };
    if property.name.contains("email") && property.kind == PropertyType::String {
        // HubSpot keeps emails lowercase, and an email that identifies a record must match.
        t.trim = true;
        t.lowercase = true;
    }
    match &property.kind {
        PropertyType::Date => dates(&cells, DATE_FORMATS, parse_date, &mut t),
        PropertyType::DateTime => dates(&cells, DATETIME_FORMATS, parse_datetime, &mut t),
        PropertyType::Number => unreadable(&cells, parse_number, "numbers", &mut t),
        PropertyType::Bool => unreadable(&cells, parse_bool, "true/false values", &mut t),
        PropertyType::Enumeration => options(property, &cells, &mut t),
        _ => {}
    }
    t
}

type Parse = fn(&str, Option<&str>) -> Result<String, String>;

/// Picks the format every sampled date reads with (none when they are ISO already).
fn dates(cells: &[&str], formats: &[&str], parse: Parse, t: &mut Transform) {
    if cells.iter().all(|c| parse(c, None).is_ok()) {
        return;
    }
    let reads = |format: &str| {
        cells
            .iter()
            .filter(|c| parse(c, Some(format)).is_ok())
            .count()
    };
    let all: Vec<&str> = formats
        .iter()
        .copied()
        .filter(|f| reads(f) == cells.len())
        .collect();
    match all.as_slice() {
        [format, others @ ..] => {
            t.format = Some(format.to_string());
            if let Some(other) = others.first() {
                t.notes.push(format!(
                    "every sampled date also reads as {other:?}: check which the file means"
                ));
            }
        }
        [] => {
            // The first of the formats that read the most values.
            let best = formats
                .iter()
                .copied()
                .min_by_key(|f| std::cmp::Reverse(reads(f)));
            match best.filter(|f| reads(f) > 0) {
                Some(format) => {
                    t.format = Some(format.to_string());
                    let misfits: Vec<&str> = cells
                        .iter()
                        .copied()
                        .filter(|c| parse(c, Some(format)).is_err())
                        .collect();
                    t.notes.push(format!(
                        "{} of {} sampled values do not read as {format:?} ({}): those rows will be dead-lettered",
                        misfits.len(),
                        cells.len(),
                        quoted(misfits)
                    ));
                }
                None => t.notes.push(format!(
                    "no date layout reads these values ({}): set format = \"…\" (chrono)",
                    quoted(cells.to_vec())
                )),
            }
        }
    }
}

/// Notes the sampled values `parse` refuses.
fn unreadable(
    cells: &[&str],
    parse: fn(&str) -> Result<String, String>,
    what: &str,
    t: &mut Transform,
) {
    let misfits: Vec<&str> = cells
        .iter()
        .copied()
        .filter(|c| parse(c).is_err())
        .collect();
    if !misfits.is_empty() {
        t.notes.push(format!(
            "{} of {} sampled values are not {what} ({}): those rows will be dead-lettered",
            misfits.len(),
            cells.len(),
            quoted(misfits)
        ));
    }
}

/// Maps an enumeration column: labels to values, a comma separator, values that are no option.
fn options(property: &PropertySchema, cells: &[&str], t: &mut Transform) {
    let multi = property.multi_valued();
    if multi && cells.iter().any(|c| c.contains(',')) && !cells.iter().any(|c| c.contains(';')) {
        t.split = Some(",".into());
    }
    let separator = t.split.as_deref().unwrap_or(";");
    let seen: BTreeSet<&str> = cells
        .iter()
        .flat_map(|c| {
            if multi {
                c.split(separator).map(str::trim).collect::<Vec<_>>()
            } else {
                vec![*c]
            }
        })
        .filter(|v| !v.is_empty())
        .collect();
    let is_value = |v: &str| property.options.iter().any(|o| o.value == v);
    let label_of = |v: &str| {
        property
            .options
            .iter()
            .find(|o| o.label.eq_ignore_ascii_case(v) && o.label != o.value)
    };
    let labelled: Vec<&str> = seen
        .iter()
        .copied()
        .filter(|v| !is_value(v) && label_of(v).is_some())
        .collect();
    let unknown: Vec<&str> = seen
        .iter()
        .copied()
        .filter(|v| !is_value(v) && label_of(v).is_none())
        .collect();
    if !labelled.is_empty() {
        t.values = if property.options.len() <= ALL_LABELS_UP_TO {
            // Every label, so rows the sample did not see map too.
            property
                .options
                .iter()
                .filter(|o| o.label != o.value && !o.label.is_empty())
                .map(|o| (o.label.clone(), o.value.clone()))
                .collect()
        } else {
            labelled
                .iter()
                .filter_map(|v| label_of(v).map(|o| (o.label.clone(), o.value.clone())))
                .collect()
        };
    }
    if !unknown.is_empty() {
        t.notes.push(format!(
            "sampled values that are no option of {} ({}): map them in values = {{ … }} or those rows will be dead-lettered",
            property.name,
            quoted(unknown)
        ));
    }
}

/// `"a", "b", "c" and 4 more`.
fn quoted(values: Vec<&str>) -> String {
    let mut distinct: Vec<&str> = values
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let more = distinct.len().saturating_sub(QUOTED);
    distinct.truncate(QUOTED);
    let mut text = distinct
        .iter()
        .map(|v| format!("{v:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portal::schema::ObjectSchema;

    fn property(json: &str) -> PropertySchema {
        let schema =
            ObjectSchema::from_json("contacts", format!(r#"{{"results":[{json}]}}"#).as_bytes())
                .unwrap();
        schema.properties.into_values().next().unwrap()
    }

    #[test]
    fn dates_get_the_layout_every_sampled_value_reads_with() {
        let born = property(
            r#"{"name":"date_of_birth","label":"Date of birth","type":"date","fieldType":"date"}"#,
        );
        let t = transform(&born, &["27/12/1965", "05/11/1980", ""]);
        assert_eq!(t.format.as_deref(), Some("%d/%m/%Y"));
        assert!(t.notes.is_empty(), "{:?}", t.notes);
        let t = transform(&born, &["01/04/2025", "07/13/2025"]);
        assert_eq!(t.format.as_deref(), Some("%m/%d/%Y"));
        let t = transform(&born, &["01/04/2025", "07/12/2025"]);
        assert_eq!(t.format.as_deref(), Some("%d/%m/%Y"));
        assert!(t.notes[0].contains("%m/%d/%Y"), "ambiguous: {:?}", t.notes);
        let t = transform(&born, &["1980-12-31", "2001-01-01"]);
        assert_eq!(t, Transform::default(), "ISO needs nothing");
        let t = transform(&born, &["27/12/1965", "1965-13-45", "31/02/1990"]);
        assert_eq!(t.format.as_deref(), Some("%d/%m/%Y"));
        assert!(
            t.notes[0].starts_with("2 of 3 sampled values"),
            "{:?}",
            t.notes
        );
    }

    #[test]
    fn labels_map_to_values_and_strangers_are_noted() {
        let stage = property(
            r#"{"name":"lifecyclestage","label":"Lifecycle Stage","type":"enumeration","fieldType":"radio",
                "options":[{"label":"Lead","value":"lead"},{"label":"Marketing Qualified Lead","value":"marketingqualifiedlead"},
                           {"label":"Customer","value":"customer"}]}"#,
        );
        let t = transform(
            &stage,
            &["Lead", "marketing qualified lead", "lead", "Alien"],
        );
        assert_eq!(
            t.values,
            vec![
                ("Lead".to_string(), "lead".to_string()),
                (
                    "Marketing Qualified Lead".into(),
                    "marketingqualifiedlead".into()
                ),
                ("Customer".into(), "customer".into()),
            ]
        );
        assert!(t.notes[0].contains("\"Alien\""), "{:?}", t.notes);
        let t = transform(&stage, &["lead", "customer"]);
        assert!(
            t.values.is_empty() && t.notes.is_empty(),
            "values are values already"
        );
    }

    #[test]
    fn emails_are_trimmed_and_lowercased_and_spaces_trimmed() {
        let email =
            property(r#"{"name":"email","label":"Email","type":"string","fieldType":"text"}"#);
        let t = transform(&email, &["a@b.co"]);
        assert!(t.trim && t.lowercase);
        let name = property(
            r#"{"name":"firstname","label":"First Name","type":"string","fieldType":"text"}"#,
        );
        assert!(transform(&name, &["Ann"]).is_plain());
        assert!(transform(&name, &[" Ann "]).trim);
    }

    #[test]
    fn multi_checkboxes_split_on_commas_and_numbers_are_checked() {
        let tags = property(
            r#"{"name":"tags","label":"Tags","type":"enumeration","fieldType":"checkbox",
                "options":[{"label":"Golf","value":"golf"},{"label":"Chess","value":"chess"}]}"#,
        );
        let t = transform(&tags, &["Golf, Chess", "golf"]);
        assert_eq!(t.split.as_deref(), Some(","));
        assert_eq!(t.values.len(), 2);
        let amount =
            property(r#"{"name":"amount","label":"Amount","type":"number","fieldType":"number"}"#);
        assert!(transform(&amount, &["60,963.15", "12"]).notes.is_empty());
        let t = transform(&amount, &["1,5", "12"]);
        assert!(
            t.notes[0].starts_with("1 of 2 sampled values are not numbers"),
            "{:?}",
            t.notes
        );
    }
}
