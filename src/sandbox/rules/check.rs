//! Checking one stored value against one rule: pass, or HubSpot's per-property `error` code and a
//! message (reported inside "Property values were not valid: […]", as every invalid value is).
//!
//! Values arrive as the sandbox stores them: dates as `YYYY-MM-DD`, datetimes as ISO 8601 UTC, numbers
//! and text as sent. `""` (a clear) never reaches a rule. The semantics are listed, rule by rule, in
//! docs/sandbox-versions.md; the engine evaluates the same rules locally, so the two must agree.

use chrono::{Datelike, NaiveDate};

use super::super::time;
use super::super::values::{self, Invalid};
use super::kind::RuleType;
use super::phone;
use super::rule::{Case, Charset, Check, DAYS, Rule};
use super::web;

fn fail(code: &'static str, message: String) -> Result<(), Invalid> {
    Err(Invalid { code, message })
}

impl Rule {
    /// Checks `stored` at `now_ms` (the duration rules count from now). With `shouldApplyNormalization`
    /// the value is checked with its leading and trailing whitespace removed (and stored as sent).
    pub fn check(&self, stored: &str, now_ms: i64) -> Result<(), Invalid> {
        let value = if self.normalize == Some(true) {
            stored.trim()
        } else {
            stored
        };
        match &self.check {
            Check::Charset(charset) => check_charset(*charset, value),
            Check::Case(case) => check_case(*case, value),
            Check::Pattern { regex, message } => {
                if regex.is_match(value) {
                    return Ok(());
                }
                let pattern = self.arguments.first().map_or("", String::as_str);
                let message = message
                    .clone()
                    .unwrap_or_else(|| format!("{value} does not match the pattern {pattern}"));
                fail("INVALID_REGEX", message)
            }
            Check::NoSpecialCharacters => {
                let plain = |c: char| c.is_alphabetic() || c.is_numeric() || c.is_whitespace();
                if value.chars().all(plain) {
                    Ok(())
                } else {
                    fail(
                        "INVALID_SPECIAL_CHARACTERS",
                        "Special characters are not allowed".to_owned(),
                    )
                }
            }
            Check::Whitespace { all: true } if value.chars().any(char::is_whitespace) => {
                fail("INVALID_WHITESPACE", "Whitespace is not allowed".to_owned())
            }
            Check::Whitespace { all: false } if value.trim() != value => fail(
                "INVALID_WHITESPACE",
                "Remove leading and trailing whitespace".to_owned(),
            ),
            Check::Whitespace { .. } => Ok(()),
            Check::Domain if !web::is_domain(value) => fail(
                "INVALID_DOMAIN",
                format!("{value} is not a valid domain name"),
            ),
            Check::Email if !values::is_email(value) => {
                fail("INVALID_EMAIL", format!("Email address {value} is invalid"))
            }
            Check::Url if web::url_host(value).is_none() => {
                fail("INVALID_URL", format!("{value} is not a valid URL"))
            }
            Check::Domain | Check::Email | Check::Url => Ok(()),
            Check::Domains { url, allow, list } => check_domains(*url, *allow, list, value),
            Check::Length { min, limit } => {
                let length = value.encode_utf16().count();
                match (*min, length) {
                    (true, n) if n < *limit => fail(
                        "INVALID_MIN_LENGTH",
                        format!("Enter at least {limit} characters"),
                    ),
                    (false, n) if n > *limit => fail(
                        "INVALID_MAX_LENGTH",
                        format!("Enter at most {limit} characters"),
                    ),
                    _ => Ok(()),
                }
            }
            Check::Number { min, bound } => {
                let arg = self.arguments.first().map_or("", |a| a.trim());
                match value.parse::<f64>() {
                    Ok(n) if *min && n < *bound => fail(
                        "INVALID_MIN_NUMBER",
                        format!("Enter a number of at least {arg}"),
                    ),
                    Ok(n) if !*min && n > *bound => fail(
                        "INVALID_MAX_NUMBER",
                        format!("Enter a number of at most {arg}"),
                    ),
                    _ => Ok(()),
                }
            }
            Check::Decimal(places) if decimal_places(value) > u64::from(*places) => fail(
                "INVALID_DECIMAL",
                format!("Enter at most {places} decimal places"),
            ),
            Check::Decimal(_) => Ok(()),
            Check::Phone { country } => check_phone(country.as_ref(), value),
            Check::Bound { start, ms } => self.check_bound(*start, *ms, value),
            Check::Window { after, period } => {
                let dates = matches!(
                    self.rule_type,
                    RuleType::AfterDuration | RuleType::BeforeDuration
                );
                let now_day = time::day_of(now_ms) * 86_400_000;
                let now = if dates { now_day } else { now_ms };
                let shifted = if dates {
                    date_of(now)
                        .and_then(|d| period.shift_date(d, *after))
                        .map(midnight)
                } else {
                    period.shift_ms(now, *after)
                };
                let (from, to) = match (*after, shifted) {
                    (true, Some(end)) => (now, end),
                    (false, Some(start)) => (start, now),
                    // Beyond chrono's calendar: the window reaches as far as any value can.
                    (true, None) => (now, i64::MAX),
                    (false, None) => (i64::MIN, now),
                };
                match time::parse_iso(value) {
                    Some(ms) if ms < from || ms > to => fail(
                        "INVALID_DATE_RANGE",
                        format!(
                            "Enter a date from {} to {}",
                            show(from, dates),
                            show(to, dates)
                        ),
                    ),
                    _ => Ok(()),
                }
            }
            Check::Days(mask) => {
                let Some(day) = time::parse_iso(value).and_then(date_of) else {
                    return Ok(());
                };
                let weekday = day.weekday().num_days_from_monday() as usize;
                if mask & (1 << weekday) != 0 {
                    return Ok(());
                }
                let allowed: Vec<&str> = (0..7)
                    .filter(|d| mask & (1 << d) != 0)
                    .map(|d| DAYS[d])
                    .collect();
                fail(
                    "INVALID_DAY_OF_WEEK",
                    format!(
                        "{value} is a {}; allowed days are [{}]",
                        DAYS[weekday],
                        allowed.join(", ")
                    ),
                )
            }
        }
    }

    fn check_bound(&self, start: bool, bound: i64, value: &str) -> Result<(), Invalid> {
        let dates = matches!(self.rule_type, RuleType::StartDate | RuleType::EndDate);
        match time::parse_iso(value) {
            Some(ms) if start && ms < bound => fail(
                "INVALID_DATE_RANGE",
                format!("Enter a date on or after {}", show(bound, dates)),
            ),
            Some(ms) if !start && ms > bound => fail(
                "INVALID_DATE_RANGE",
                format!("Enter a date on or before {}", show(bound, dates)),
            ),
            _ => Ok(()),
        }
    }
}

fn check_charset(charset: Charset, value: &str) -> Result<(), Invalid> {
    let allowed = |c: char| match charset {
        Charset::Letters => c.is_alphabetic(),
        Charset::Digits => c.is_ascii_digit(),
        Charset::LettersAndDigits => c.is_alphabetic() || c.is_ascii_digit(),
    };
    if value.chars().filter(|c| !c.is_whitespace()).all(allowed) {
        return Ok(());
    }
    match charset {
        // The code and message HubSpot answered in its 2023 enforcement announcement.
        Charset::Letters => fail("INVALID_ALPHA", "Enter only letters".to_owned()),
        Charset::Digits => fail("INVALID_NUMERIC", "Enter only numbers".to_owned()),
        Charset::LettersAndDigits => fail(
            "INVALID_ALPHANUMERIC",
            "Enter only letters and numbers".to_owned(),
        ),
    }
}

fn check_case(case: Case, value: &str) -> Result<(), Invalid> {
    let (ok, message) = match case {
        Case::Upper => (
            !value.chars().any(char::is_lowercase),
            "Enter only upper-case letters",
        ),
        Case::Lower => (
            !value.chars().any(char::is_uppercase),
            "Enter only lower-case letters",
        ),
        Case::Capitalized => (
            value
                .split_whitespace()
                .all(|w| !w.chars().next().is_some_and(char::is_lowercase)),
            "Start every word with a capital letter",
        ),
    };
    if ok {
        Ok(())
    } else {
        fail("INVALID_FORMAT", message.to_owned())
    }
}

fn check_domains(url: bool, allow: bool, list: &[String], value: &str) -> Result<(), Invalid> {
    let (code, host, what) = if url {
        ("INVALID_URL_DOMAIN", web::url_host(value), "URL")
    } else {
        (
            "INVALID_EMAIL_DOMAIN",
            web::email_domain(value),
            "email address",
        )
    };
    let Some(host) = host else {
        return fail(code, format!("{value} is not a valid {what}"));
    };
    let listed = list.iter().any(|d| web::within(&host, d));
    match (allow, listed) {
        (true, false) => fail(
            code,
            format!(
                "{host} is not one of the allowed domains [{}]",
                list.join(", ")
            ),
        ),
        (false, true) => fail(code, format!("{host} is a blocked domain")),
        _ => Ok(()),
    }
}

fn check_phone(country: Option<&(String, u16)>, value: &str) -> Result<(), Invalid> {
    let digits = phone::international_digits(value);
    let ok = match (&digits, country) {
        (Some(digits), Some((_, code))) => digits.starts_with(&code.to_string()),
        (Some(_), None) => true,
        (None, _) => false,
    };
    if ok {
        return Ok(());
    }
    let message = match country {
        Some((name, code)) => {
            format!("{value} is not a phone number starting with +{code}, the code of {name}")
        }
        None => format!(
            "{value} is not a phone number with an explicit country code, such as +1 617 555 0100"
        ),
    };
    fail("INVALID_PHONE_NUMBER", message)
}

/// Decimal places as Java's `BigDecimal.scale()` counts them, floored at 0: the digits after the point,
/// less the exponent (`1.50` → 2, `1.5e1` → 0, `1e-3` → 3).
pub fn decimal_places(number: &str) -> u64 {
    let body = number.trim_start_matches(['+', '-']);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], body[at + 1..].parse::<i64>().unwrap_or(0)),
        None => (body, 0),
    };
    let fraction = mantissa.split_once('.').map_or(0, |(_, f)| f.len()) as i64;
    u64::try_from(fraction.saturating_sub(exponent)).unwrap_or(0)
}

/// The UTC calendar day of an epoch-ms instant.
fn date_of(ms: i64) -> Option<NaiveDate> {
    chrono::DateTime::from_timestamp_millis(ms).map(|dt| dt.date_naive())
}

fn midnight(date: NaiveDate) -> i64 {
    date.and_hms_opt(0, 0, 0)
        .map_or(0, |dt| dt.and_utc().timestamp_millis())
}

/// An instant for a message: `YYYY-MM-DD` for date rules, ISO 8601 for datetime ones.
fn show(ms: i64, dates: bool) -> String {
    match (dates, ms) {
        (_, i64::MIN | i64::MAX) => "any date".to_owned(),
        (true, ms) => time::date_string(ms),
        (false, ms) => time::iso(ms),
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::properties::{PropType, PropertyDef};
    use super::super::rule::RuleBody;
    use super::*;

    fn rule(ptype: PropType, rule_type: RuleType, args: &[&str]) -> Rule {
        let def = PropertyDef::new("p", "P", ptype);
        let body = RuleBody {
            rule_arguments: args.iter().map(|a| (*a).to_owned()).collect(),
            should_apply_normalization: None,
        };
        Rule::new(&def, rule_type, body).expect("a valid rule")
    }

    fn code(rule: &Rule, value: &str, now: i64) -> Option<&'static str> {
        rule.check(value, now).err().map(|e| e.code)
    }

    #[test]
    fn decimal_places_follow_bigdecimal_scale() {
        for (text, places) in [
            ("1", 0),
            ("1.50", 2),
            ("-0.125", 3),
            ("1.5e1", 0),
            ("1e-3", 3),
        ] {
            assert_eq!(decimal_places(text), places, "{text}");
        }
    }

    #[test]
    fn lengths_count_utf16_units() {
        let max = rule(PropType::String, RuleType::MaxLength, &["3"]);
        assert_eq!(code(&max, "abc", 0), None);
        assert_eq!(code(&max, "äöü", 0), None);
        assert_eq!(code(&max, "ab😀", 0), Some("INVALID_MAX_LENGTH"));
    }

    #[test]
    fn normalization_trims_before_checking() {
        let mut ws = rule(PropType::String, RuleType::Whitespace, &["TRIM"]);
        assert_eq!(code(&ws, " a", 0), Some("INVALID_WHITESPACE"));
        ws.normalize = Some(true);
        assert_eq!(code(&ws, " a", 0), None);
    }

    #[test]
    fn windows_count_from_now() {
        // 2024-03-01T12:00:00Z, a Friday.
        let now = 1_709_294_400_000;
        let next_week = rule(PropType::Date, RuleType::AfterDuration, &["P7D"]);
        assert_eq!(code(&next_week, "2024-03-01", now), None);
        assert_eq!(code(&next_week, "2024-03-08", now), None);
        assert_eq!(
            code(&next_week, "2024-03-09", now),
            Some("INVALID_DATE_RANGE")
        );
        assert_eq!(
            code(&next_week, "2024-02-29", now),
            Some("INVALID_DATE_RANGE")
        );
        let last_hour = rule(
            PropType::Datetime,
            RuleType::BeforeDatetimeDuration,
            &["PT1H"],
        );
        assert_eq!(code(&last_hour, "2024-03-01T11:30:00.000Z", now), None);
        assert_eq!(
            code(&last_hour, "2024-03-01T10:59:59.999Z", now),
            Some("INVALID_DATE_RANGE")
        );
        let weekdays = rule(PropType::Date, RuleType::DaysOfWeek, &["FRIDAY"]);
        assert_eq!(code(&weekdays, "2024-03-01", now), None);
        let err = weekdays.check("2024-03-02", now).unwrap_err();
        assert_eq!(
            err.message,
            "2024-03-02 is a SATURDAY; allowed days are [FRIDAY]"
        );
    }
}
