//! Timestamps as HubSpot writes them: epoch milliseconds in, ISO 8601 UTC with millis and `Z` out.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `2024-08-15T17:09:13.648Z`: always three fractional digits and a `Z`, as HubSpot returns datetimes.
pub fn iso(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The UTC calendar day (days since the epoch) of an epoch-ms instant: the daily limit resets when it changes.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(86_400_000)
}

/// Parses an ISO 8601 datetime (with offset or `Z`, or naive meaning UTC, or a bare date meaning midnight UTC).
pub fn parse_iso(text: &str) -> Option<i64> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.timestamp_millis());
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(naive.and_utc().timestamp_millis());
        }
    }
    parse_date(text).map(|date| {
        date.and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .timestamp_millis()
    })
}

/// Parses a strict `YYYY-MM-DD` calendar date.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// The calendar date of a midnight-UTC epoch-ms instant, as `YYYY-MM-DD`.
pub fn date_string(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

/// The time of day of an epoch-ms instant as `HH:MM:SS.mmm`, for the "not midnight" message.
pub fn time_of_day(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%H:%M:%S%.3f")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_has_millis_and_z() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso(1_723_741_753_648), "2024-08-15T17:09:13.648Z");
    }

    #[test]
    fn parses_the_iso_variants() {
        assert_eq!(
            parse_iso("2020-02-29T03:30:17.000Z"),
            Some(1_582_947_017_000)
        );
        assert_eq!(parse_iso("2020-02-29T03:30:17Z"), Some(1_582_947_017_000));
        assert_eq!(
            parse_iso("2020-02-29T04:30:17+01:00"),
            Some(1_582_947_017_000)
        );
        assert_eq!(parse_iso("2020-02-29"), Some(1_582_934_400_000));
        assert_eq!(parse_iso("yesterday"), None);
    }

    #[test]
    fn time_of_day_matches_hubspots_message() {
        // The captured message: "1635535865 is at 22:18:55.865 UTC, not midnight!"
        assert_eq!(time_of_day(1_635_535_865), "22:18:55.865");
    }
}
