//! Values compared the way HubSpot stores them: what the pipeline sends and what the portal
//! returns may be written differently and still be the same value — `12.50` and `12.5`, an epoch
//! and an ISO datetime (to the millisecond), `TRUE` and `true`, multi-checkbox values in another
//! order, an email in other case.

use chrono::{DateTime, NaiveDate};

use crate::portal::schema::{PropertySchema, PropertyType};
use crate::prepare::values::iso_date;

const MS_PER_DAY: i64 = 86_400_000;

/// How a property's values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// Exactly (strings, phone numbers, single enumeration values).
    Text,
    /// Case-insensitively, spaces around aside.
    Email,
    /// As numbers: `12.50` = `12.5` = `+12.5`; with an exponent, as floats.
    Number,
    /// As days: `2024-01-31` = epoch milliseconds at that midnight.
    Date,
    /// As instants, to the millisecond, whatever the offset or form.
    DateTime,
    /// `true`/`false`, any case.
    Bool,
    /// Multi-checkbox: as sets of `;`-separated values; a value sent with a leading `;` (append)
    /// only has to be among the portal's.
    Multi,
}

impl Compare {
    /// How values of `property` compare (text when the schema does not know it).
    pub fn of(property: Option<&PropertySchema>) -> Compare {
        let Some(p) = property else {
            return Compare::Text;
        };
        if p.name == "email" || p.field_type == "email" {
            return Compare::Email;
        }
        match p.kind {
            PropertyType::Number => Compare::Number,
            PropertyType::Date => Compare::Date,
            PropertyType::DateTime => Compare::DateTime,
            PropertyType::Bool => Compare::Bool,
            _ if p.multi_valued() => Compare::Multi,
            _ => Compare::Text,
        }
    }

    /// Whether the portal's `actual` value is the `expected` one.
    pub fn same(self, expected: &str, actual: &str) -> bool {
        if expected == actual {
            return true;
        }
        match self {
            Compare::Text => false,
            Compare::Email => expected.trim().eq_ignore_ascii_case(actual.trim()),
            Compare::Number => match (canonical_number(expected), canonical_number(actual)) {
                (Some(a), Some(b)) => a == b,
                _ => match (expected.trim().parse::<f64>(), actual.trim().parse::<f64>()) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => false,
                },
            },
            Compare::Date => matches!((day(expected), day(actual)), (Some(a), Some(b)) if a == b),
            Compare::DateTime => {
                matches!((instant(expected), instant(actual)), (Some(a), Some(b)) if a == b)
            }
            Compare::Bool => expected.trim().eq_ignore_ascii_case(actual.trim()),
            Compare::Multi => {
                let set = |v: &str| -> std::collections::BTreeSet<String> {
                    v.split(';')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(str::to_owned)
                        .collect()
                };
                match expected.strip_prefix(';') {
                    Some(appended) => set(appended).is_subset(&set(actual)),
                    None => set(expected) == set(actual),
                }
            }
        }
    }
}

/// A plain decimal without its sign's `+`, leading zeros, trailing fractional zeros and a bare
/// `.`; `-0` is `0`. `None` for any other form.
fn canonical_number(value: &str) -> Option<String> {
    let value = value.trim();
    let (negative, body) = match value.as_bytes().first()? {
        b'-' => (true, &value[1..]),
        b'+' => (false, &value[1..]),
        _ => (false, value),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let zero = int == "0" && frac.is_empty();
    let sign = if negative && !zero { "-" } else { "" };
    Some(if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    })
}

fn epoch_ms(value: &str) -> Option<i64> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| value.parse().ok())
        .flatten()
}

/// The day of `YYYY-MM-DD` or of epoch milliseconds at midnight UTC.
fn day(value: &str) -> Option<NaiveDate> {
    let value = value.trim();
    if let Some(d) = iso_date(value) {
        return Some(d);
    }
    let ms = epoch_ms(value)?;
    if ms.rem_euclid(MS_PER_DAY) != 0 {
        return None;
    }
    DateTime::from_timestamp_millis(ms).map(|t| t.date_naive())
}

/// Milliseconds since the epoch of an RFC 3339 instant or of epoch milliseconds.
fn instant(value: &str) -> Option<i64> {
    let value = value.trim();
    epoch_ms(value).or_else(|| {
        DateTime::parse_from_rfc3339(value)
            .ok()
            .map(|t| t.timestamp_millis())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let n = Compare::Number;
        assert!(n.same("12.50", "12.5"));
        assert!(n.same("+7", "7.000"));
        assert!(n.same("-0", "0"));
        assert!(n.same("0012", "12"));
        assert!(n.same("1500", "1.5e3"));
        assert!(!n.same("12.5", "12.51"));
        assert!(!n.same("-1", "1"));
        assert!(!n.same("12", "twelve"));
    }

    #[test]
    fn dates_and_datetimes() {
        assert!(Compare::Date.same("2024-01-31", "1706659200000"));
        assert!(!Compare::Date.same("2024-01-31", "2024-02-01"));
        let dt = Compare::DateTime;
        assert!(dt.same("2024-01-31T09:30:00Z", "2024-01-31T09:30:00.000Z"));
        assert!(dt.same("2024-01-31T10:30:00+01:00", "1706693400000"));
        assert!(!dt.same("2024-01-31T09:30:00.001Z", "2024-01-31T09:30:00.000Z"));
    }

    #[test]
    fn bools_emails_and_checkboxes() {
        assert!(Compare::Bool.same("true", "TRUE"));
        assert!(!Compare::Bool.same("true", "false"));
        assert!(Compare::Email.same("Ann@Example.com", "ann@example.com"));
        assert!(!Compare::Text.same("Ann", "ann"));
        let multi = Compare::Multi;
        assert!(multi.same("a;b", "b;a"));
        assert!(!multi.same("a;b", "a;b;c"));
        assert!(
            multi.same(";c", "a;b;c"),
            "appended values are among the portal's"
        );
        assert!(!multi.same(";d", "a;b;c"));
    }
}
