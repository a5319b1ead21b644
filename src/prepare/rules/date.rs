//! The rules on date and datetime values: fixed bounds (`START_DATE`, `END_DATE`, `START_DATETIME`,
//! `END_DATETIME`, each a Unix timestamp in milliseconds) and allowed weekdays (`DAYS_OF_WEEK`).
//!
//! A date property holds midnight UTC of its day, so its bounds compare that instant. Values arrive
//! in wire format (`YYYY-MM-DD`, ISO 8601 UTC, or epoch milliseconds).

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};

use crate::prepare::values::iso_date;

/// The instant a date or datetime value stands for (a date: its midnight UTC).
pub fn instant(value: &str) -> Option<DateTime<Utc>> {
    if let Some(date) = iso_date(value) {
        return Some(date.and_hms_opt(0, 0, 0)?.and_utc());
    }
    if !value.is_empty()
        && value
            .trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return DateTime::from_timestamp_millis(value.parse().ok()?);
    }
    DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A bound's timestamp (milliseconds since the epoch) as an instant.
pub fn bound(argument: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(argument.parse().ok()?)
}

/// How a bound is named in a message: a day for date rules, an instant for datetime rules.
fn shown(at: DateTime<Utc>, whole_days: bool) -> String {
    if whole_days {
        at.format("%Y-%m-%d").to_string()
    } else {
        at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }
}

/// `START_DATE` / `START_DATETIME` (`whole_days` for the date rule).
pub fn on_or_after(value: &str, start: DateTime<Utc>, whole_days: bool) -> Result<(), String> {
    match instant(value) {
        Some(at) if at >= start => Ok(()),
        Some(_) => Err(format!("is before {}", shown(start, whole_days))),
        None => Err("is not a date".into()),
    }
}

/// `END_DATE` / `END_DATETIME`.
pub fn on_or_before(value: &str, end: DateTime<Utc>, whole_days: bool) -> Result<(), String> {
    match instant(value) {
        Some(at) if at <= end => Ok(()),
        Some(_) => Err(format!("is after {}", shown(end, whole_days))),
        None => Err("is not a date".into()),
    }
}

/// The weekdays as `DAYS_OF_WEEK` names them.
const DAYS: [(&str, Weekday); 7] = [
    ("MONDAY", Weekday::Mon),
    ("TUESDAY", Weekday::Tue),
    ("WEDNESDAY", Weekday::Wed),
    ("THURSDAY", Weekday::Thu),
    ("FRIDAY", Weekday::Fri),
    ("SATURDAY", Weekday::Sat),
    ("SUNDAY", Weekday::Sun),
];

/// One `DAYS_OF_WEEK` argument (`MONDAY` … `SUNDAY`, any case).
pub fn weekday(argument: &str) -> Option<Weekday> {
    DAYS.iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(argument))
        .map(|(_, day)| *day)
}

/// A weekday's name as the rule writes it.
fn day_name(day: Weekday) -> &'static str {
    DAYS.iter()
        .find(|(_, d)| *d == day)
        .map_or("?", |(name, _)| name)
}

/// `DAYS_OF_WEEK` on a date: its weekday is one of `days`.
pub fn on_days(value: &str, days: &[Weekday]) -> Result<(), String> {
    let date: NaiveDate = instant(value).ok_or("is not a date")?.date_naive();
    let day = date.weekday();
    if days.contains(&day) {
        Ok(())
    } else {
        Err(format!(
            "is a {}, not one of the allowed days",
            day_name(day)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_wire_format() {
        let at = |s| instant(s).map(|t| t.timestamp_millis());
        assert_eq!(at("2024-01-31"), Some(1_706_659_200_000));
        assert_eq!(at("1706659200000"), Some(1_706_659_200_000));
        assert_eq!(at("2024-01-31T09:30:00.000Z"), Some(1_706_693_400_000));
        assert_eq!(at("31/01/2024"), None);
    }

    #[test]
    fn bounds_include_their_day() {
        let start = bound("1704067200000").unwrap(); // 2024-01-01T00:00:00Z
        assert!(on_or_after("2024-01-01", start, true).is_ok());
        let why = on_or_after("2023-12-31", start, true).unwrap_err();
        assert_eq!(why, "is before 2024-01-01");
        assert!(on_or_before("2024-01-01", start, true).is_ok());
        assert!(on_or_before("2024-01-01T00:00:00.001Z", start, false).is_err());
        let why = on_or_after("2023-12-31T23:59:59Z", start, false).unwrap_err();
        assert_eq!(why, "is before 2024-01-01T00:00:00.000Z");
        assert_eq!(bound("soon"), None);
    }

    #[test]
    fn weekdays() {
        assert_eq!(weekday("monday"), Some(Weekday::Mon));
        assert_eq!(weekday("Mon"), None);
        let weekend = [Weekday::Sat, Weekday::Sun];
        assert!(on_days("2024-06-01", &weekend).is_ok()); // a Saturday
        let why = on_days("2024-06-03", &weekend).unwrap_err();
        assert_eq!(why, "is a MONDAY, not one of the allowed days");
    }
}
