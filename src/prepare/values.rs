//! Every value rule in one place: parsing lenient input into HubSpot's wire formats (dates,
//! datetimes, numbers, bools) and checking values already in wire format (email, number, date,
//! datetime, length). The mapper parses; the validator checks; both use these.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

use crate::config::mapping::ValueType;

/// HubSpot's error word for a value of this type that does not parse.
pub fn category(kind: ValueType) -> &'static str {
    match kind {
        ValueType::Date | ValueType::DateTime => "INVALID_DATE",
        ValueType::Number => "INVALID_INTEGER",
        ValueType::Bool => "INVALID_BOOLEAN",
    }
}

const MS_PER_DAY: i64 = 86_400_000;

/// `s` without leading and trailing white space, as [`str::trim`]; most cells have none, and a
/// visible ASCII character at both ends says so without decoding characters.
pub fn trim(s: &str) -> &str {
    let plain = |b: u8| b > b' ' && b < 0x80;
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&first), Some(&last)) if plain(first) && plain(last) => s,
        _ => s.trim(),
    }
}

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
    let s = trim(s);
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
    let s = trim(s);
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
    let s = trim(s);
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
    match trim(s).to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Ok("true".into()),
        "false" | "no" | "n" | "0" => Ok("false".into()),
        _ => Err("is not a boolean (expected true/false, yes/no, y/n or 1/0)".into()),
    }
}

/// HubSpot's documented cap on string values.
pub const MAX_STRING: usize = 65_536;

/// A pragmatic email syntax check: `local@domain.tld`, no spaces, labels of letters, digits and `-`.
/// One pass over the bytes against a table: it runs for every email of a file.
pub fn is_email(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(at) = bytes.iter().rposition(|&b| b == b'@') else {
        return false;
    };
    is_local_part(&bytes[..at]) && is_domain(&bytes[at + 1..])
}

/// What a byte may be in an address: [`LOCAL`] in the part before the `@`, [`LABEL`] in a domain
/// label (besides the dots between them). Bytes of non-ASCII characters are both.
const LOCAL: u8 = 1;
const LABEL: u8 = 2;
static ADDRESS_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        if byte.is_ascii_alphanumeric() || byte >= 0x80 {
            table[b] = LOCAL | LABEL;
        }
        b += 1;
    }
    let specials = b"!#$%&'*+/=?^_`{|}~.";
    let mut i = 0;
    while i < specials.len() {
        table[specials[i] as usize] = LOCAL;
        i += 1;
    }
    table[b'-' as usize] = LOCAL | LABEL;
    table
};

/// 1–64 bytes of [`LOCAL`] ones, with no dot first, last or next to another.
fn is_local_part(local: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (local.first(), local.last()) else {
        return false;
    };
    if local.len() > 64 || first == b'.' || last == b'.' {
        return false;
    }
    let mut previous = 0u8;
    for &b in local {
        if ADDRESS_BYTES[b as usize] & LOCAL == 0 || (b == b'.' && previous == b'.') {
            return false;
        }
        previous = b;
    }
    true
}

/// Two or more dot-separated labels of [`LABEL`] bytes, none empty or starting or ending with `-`,
/// the last (the TLD) two or more long and not all digits.
fn is_domain(domain: &[u8]) -> bool {
    let mut labels = 0;
    let mut tld: &[u8] = &[];
    for label in domain.split(|&b| b == b'.') {
        let (Some(&first), Some(&last)) = (label.first(), label.last()) else {
            return false;
        };
        if first == b'-'
            || last == b'-'
            || !label
                .iter()
                .all(|&b| ADDRESS_BYTES[b as usize] & LABEL != 0)
        {
            return false;
        }
        labels += 1;
        tld = label;
    }
    labels >= 2 && tld.len() >= 2 && !tld.iter().all(u8::is_ascii_digit)
}

/// HubSpot's number format: digits with at most one decimal point, optional leading `-`.
pub fn is_number(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    (!int.is_empty() || !frac.is_empty())
        && digits(int)
        && digits(frac)
        && !(s.contains('.') && frac.is_empty())
}

pub fn check_date(s: &str) -> Result<(), String> {
    if iso_date(s).is_some() {
        return Ok(());
    }
    if is_epoch_ms(s) {
        let ms: i64 = s.parse().map_err(|_| "is out of range".to_string())?;
        return if ms.rem_euclid(86_400_000) == 0 {
            Ok(())
        } else {
            Err("is not at midnight UTC (a date property holds whole days)".into())
        };
    }
    Err("is not a date (YYYY-MM-DD)".into())
}

/// Whether a date or datetime value looks like epoch *seconds*, which API version 2026-09 refuses
/// (API-NOTES §5): ASCII digits only, below 10^11 (10^11 seconds is the year 5138; 10^11
/// milliseconds is 1973-03-03). The sandbox draws the same line (docs/sandbox-versions.md).
pub fn looks_like_epoch_seconds(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u64>().is_ok_and(|n| n < 100_000_000_000)
}

pub fn is_datetime(s: &str) -> bool {
    is_epoch_ms(s) || DateTime::parse_from_rfc3339(s).is_ok()
}

/// `text` lowercased as [`str::to_lowercase`] does, borrowed when it is ASCII with no uppercase
/// letter (nearly every key and label): text beyond ASCII is always lowercased, since more than its
/// uppercase letters can change.
pub fn lowercase(text: &str) -> Cow<'_, str> {
    match text
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        true => Cow::Borrowed(text),
        false => Cow::Owned(text.to_lowercase()),
    }
}

/// Whether `s` holds an uppercase letter: a byte scan for ASCII text (nearly every email), a
/// character scan otherwise.
pub fn has_uppercase(s: &str) -> bool {
    // One pass with no early exit, which the compiler vectorises: any ASCII uppercase, any byte
    // beyond ASCII.
    let (upper, wide) = s.bytes().fold((false, false), |(upper, wide), b| {
        (upper | b.is_ascii_uppercase(), wide | !b.is_ascii())
    });
    match wide {
        false => upper,
        true => s.chars().any(char::is_uppercase),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uppercase_is_found_in_ascii_and_in_any_script() {
        for (s, upper) in [
            ("bob@x.com", false),
            ("Bob@x.com", true),
            ("zoë@x.de", false),
            ("ZOË@x.de", true),
            ("zoÉ", true),
            ("", false),
        ] {
            assert_eq!(has_uppercase(s), upper, "{s}");
        }
    }

    #[test]
    fn trim_agrees_with_the_standard_trim() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "\ta\n",
            "Zoë",
            " Zoë\u{a0}",
            "\u{3000}x",
            "x\u{85}",
            "\u{1f}x",
            "a b",
            "é",
            "\u{a0}",
        ] {
            assert_eq!(trim(s), s.trim(), "{s:?}");
        }
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

    #[test]
    fn check_functions() {
        assert!(is_number("-12.5") && is_number("0") && is_number(".5"));
        assert!(!is_number("1.") && !is_number("1,2") && !is_number("") && !is_number("-"));
        assert!(check_date("2024-01-31").is_ok() && check_date("1706659200000").is_ok());
        assert!(
            check_date("1706659200001")
                .unwrap_err()
                .contains("midnight")
        );
        assert!(check_date("2024-1-31").is_err());
        assert!(is_datetime("2024-01-31T09:30:00.000Z") && is_datetime("1706693400000"));
        assert!(!is_datetime("2024-01-31 09:30"));
    }

    #[test]
    fn epoch_seconds_are_digits_below_ten_to_the_eleventh() {
        for seconds in ["1709294400", "0", "99999999999"] {
            assert!(looks_like_epoch_seconds(seconds), "{seconds}");
        }
        for other in [
            "100000000000",
            "1709294400000",
            "-1709294400",
            "1709294400.5",
            "",
            "2024-01-31",
        ] {
            assert!(!looks_like_epoch_seconds(other), "{other}");
        }
    }

    #[test]
    fn the_mapper_never_renders_epoch_seconds() {
        // Whatever a cell holds, a date or datetime leaves the mapper as YYYY-MM-DD or ISO 8601.
        for cell in [
            "1709294400",
            "1709294400000",
            "2024-03-01T12:00:00+01:00",
            "2024-03-01",
        ] {
            let rendered = parse_datetime(cell, None).unwrap();
            assert!(!looks_like_epoch_seconds(&rendered), "{cell} → {rendered}");
            assert!(
                rendered.ends_with('Z') && rendered.contains('T'),
                "{rendered}"
            );
        }
        assert_eq!(parse_date("0", None).unwrap(), "1970-01-01");
    }

    #[test]
    fn emails() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.org",
            "o'neil@x.ie",
            "ü@bücher.de",
        ] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@b.co",
            "a@.co",
            "a@b.c",
            "a b@c.de",
            "a..b@c.de",
            " a@b.co",
            "a@b.co ",
            "a@-b.co",
            "a@b.123",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    /// The check as first written (string searches), kept as the oracle for the table-driven one.
    fn is_email_by_searches(s: &str) -> bool {
        let Some((local, domain)) = s.rsplit_once('@') else {
            return false;
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.bytes().all(|b| {
                b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b) || b >= 0x80
            });
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b >= 0x80)
            })
            && domain
                .rsplit('.')
                .next()
                .is_some_and(|tld| tld.len() >= 2 && !tld.bytes().all(|b| b.is_ascii_digit()));
        local_ok && domain_ok
    }

    #[test]
    fn emails_agree_with_the_checks_by_searches_on_every_short_address() {
        // Every string of up to five characters over an alphabet with each kind of byte, framed as
        // `x…@y.co`, `x@…` and `…`: the two checks agree on all of them.
        let alphabet = ["a", "1", ".", "-", "@", "+", " ", "ü", "\"", "_"];
        let mut strings = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = strings
                .iter()
                .filter(|s| s.chars().count() == strings.last().unwrap().chars().count())
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(longer);
        }
        let long_local = format!("{}@b.co", "a".repeat(65));
        for s in &strings {
            for framed in [
                format!("x{s}@y.co"),
                format!("x@{s}"),
                s.clone(),
                long_local.clone(),
            ] {
                assert_eq!(
                    is_email(&framed),
                    is_email_by_searches(&framed),
                    "{framed:?}"
                );
            }
        }
    }
}
