//! The per-property value check, compiled once from the portal's schema: email syntax, numbers,
//! dates, datetimes, booleans, enumeration options (with a hint when a label was sent), length.

use super::text_map::{TextMap, TextSet};
use super::values::{MAX_STRING, check_date, is_datetime, is_email, is_number};
use super::violation::quote;
use crate::portal::schema::{PropertySchema, PropertyType};

/// The per-property check, compiled from the schema.
#[derive(Debug)]
pub enum Check {
    Text,
    Email,
    Number,
    Date,
    DateTime,
    Bool,
    Enumeration {
        values: TextSet,
        /// lowercase label or value → value, for hints.
        folded: TextMap<String>,
        multi: bool,
        listing: String,
    },
}

impl Check {
    pub fn for_property(p: &PropertySchema) -> Check {
        match p.kind {
            _ if p.name == "email" || p.field_type == "email" => Check::Email,
            PropertyType::Number => Check::Number,
            PropertyType::Date => Check::Date,
            PropertyType::DateTime => Check::DateTime,
            PropertyType::Bool => Check::Bool,
            PropertyType::Enumeration => {
                let values = p.options.iter().map(|o| o.value.clone()).collect();
                let mut folded = TextMap::default();
                for o in &p.options {
                    folded.insert(o.label.to_lowercase(), o.value.clone());
                    folded.insert(o.value.to_lowercase(), o.value.clone());
                }
                let mut listing = p
                    .options
                    .iter()
                    .take(12)
                    .map(|o| o.value.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                if p.options.len() > 12 {
                    listing.push_str(&format!(", … ({} in all)", p.options.len()));
                }
                Check::Enumeration {
                    values,
                    folded,
                    multi: p.multi_valued(),
                    listing,
                }
            }
            _ => Check::Text,
        }
    }

    /// `Err((category, reason))` when `value` is not acceptable.
    pub fn check(&self, value: &str) -> Result<(), (&'static str, String)> {
        if value.len() > MAX_STRING && value.chars().count() > MAX_STRING {
            return Err((
                "INVALID_LENGTH",
                format!("is longer than HubSpot's {MAX_STRING} characters"),
            ));
        }
        match self {
            Check::Text => Ok(()),
            Check::Email if is_email(value) => Ok(()),
            Check::Email => Err(("INVALID_EMAIL", "is not a valid email address".into())),
            Check::Number if is_number(value) => Ok(()),
            Check::Number => Err((
                "INVALID_INTEGER",
                "is not a valid number (digits with at most one \".\")".into(),
            )),
            Check::Date => check_date(value).map_err(|r| ("INVALID_DATE", r)),
            Check::DateTime if is_datetime(value) => Ok(()),
            Check::DateTime => Err((
                "INVALID_DATE",
                "is not a datetime (ISO 8601 such as 2024-01-31T09:30:00.000Z, or epoch milliseconds)".into(),
            )),
            Check::Bool if value == "true" || value == "false" => Ok(()),
            Check::Bool => Err(("INVALID_BOOLEAN", "is not true or false".into())),
            Check::Enumeration {
                values,
                folded,
                multi,
                listing,
            } => {
                let bad = if *multi {
                    // A leading ';' appends to the record's existing values.
                    value
                        .strip_prefix(';')
                        .unwrap_or(value)
                        .split(';')
                        .find(|p| !values.contains(*p))
                } else {
                    Some(value).filter(|v| !values.contains(*v))
                };
                let Some(bad) = bad else {
                    return Ok(());
                };
                let hint = match folded.get(&*super::text_map::folded(bad)) {
                    Some(v) => format!(
                        "; did you mean {v:?}? map labels with values = {{ {} = {v:?} }}",
                        quote(bad)
                    ),
                    None if !*multi && value.contains(';') => {
                        "; this property takes one value, not a ';' list".into()
                    }
                    None => String::new(),
                };
                let what = if *multi {
                    format!("has {}, which", quote(bad))
                } else {
                    "".into()
                };
                Err((
                    "INVALID_OPTION",
                    format!("{what} is not one of the allowed options: [{listing}]{hint}")
                        .trim_start()
                        .to_string(),
                ))
            }
        }
    }
}
