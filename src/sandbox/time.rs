//! Timestamps as HubSpot writes them: epoch milliseconds in, ISO 8601 UTC with millis and `Z` out.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// `2024-08-15T17:09:13.648Z`: always three fractional digits and a `Z`, as HubSpot returns datetimes.
///
/// Formatted by hand (days → civil date, Howard Hinnant's algorithm): every record of every response
/// carries two of these, and chrono's general formatter showed in the upsert profile.
pub fn iso(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Millis, true);
    }
    let (h, m, sec, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    // Fixed-width digits written in place: `format!`'s machinery was most of this function's cost.
    let mut text = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut value: i64| {
        for i in (at..at + width).rev() {
            text[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, i64::from(month));
    put(8, 2, i64::from(day));
    put(11, 2, h);
    put(14, 2, m);
    put(17, 2, sec);
    put(20, 3, milli);
    String::from_utf8(text.to_vec()).expect("digits and separators are ASCII")
}

/// `(year, month, day)` of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
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
        // The hand-written formatter agrees with chrono across leap years and centuries.
        for ms in [
            951_782_400_000_i64,
            1_709_210_096_123,
            4_102_444_799_999,
            68_169_600_000,
            -86_400_000,
            253_402_300_799_999,
            1_000_000_000_001,
        ] {
            let chrono = DateTime::from_timestamp_millis(ms)
                .unwrap()
                .to_rfc3339_opts(SecondsFormat::Millis, true);
            assert_eq!(iso(ms), chrono, "{ms}");
        }
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
