//! Value validation per property type: what HubSpot accepts on write, how it normalises it, and the
//! per-property error code and message it answers with (API-NOTES §3 and §5).

use std::borrow::Cow;

use super::properties::{Format, PropType, PropertyDef};
use super::time;

/// HubSpot's string limit for property values (DOC-PROP).
pub const MAX_STRING: usize = 65_536;

/// Why one value was refused: the `error`/`code` and the human message of HubSpot's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub code: &'static str,
    pub message: String,
}

impl Invalid {
    fn new(code: &'static str, message: String) -> Invalid {
        Invalid { code, message }
    }
}

/// Checks one raw value against `def` and returns the value as it will be stored (and returned).
///
/// `""` clears a value and is always accepted. A multi-checkbox value with a leading `;` keeps it, so the
/// write appends to the existing options (see `store.rs`).
pub fn check<'a>(def: &PropertyDef, raw: Cow<'a, str>) -> Result<Cow<'a, str>, Invalid> {
    if raw.is_empty() {
        return Ok(raw);
    }
    match def.ptype {
        PropType::String | PropType::PhoneNumber => {
            if raw.len() > MAX_STRING && raw.chars().count() > MAX_STRING {
                return Err(Invalid::new(
                    "INVALID_LONG_STRING",
                    format!(
                        "{} is longer than the maximum of {MAX_STRING} characters",
                        def.name
                    ),
                ));
            }
            match def.format {
                Format::Plain => Ok(raw),
                Format::Email if is_email(&raw) => Ok(raw),
                Format::Email => Err(invalid_email(&raw)),
                Format::EmailList => match raw.split(';').find(|e| !e.is_empty() && !is_email(e)) {
                    Some(bad) => Err(invalid_email(bad)),
                    None => Ok(raw),
                },
            }
        }
        PropType::Number => {
            if is_number(&raw) {
                Ok(raw)
            } else {
                Err(Invalid::new(
                    "INVALID_INTEGER",
                    format!("{raw} was not a valid number"),
                ))
            }
        }
        PropType::Date => check_date(raw),
        PropType::Datetime => match parse_instant(&raw) {
            Some(ms) => Ok(Cow::Owned(time::iso(ms))),
            None => Err(Invalid::new(
                "INVALID_DATE",
                format!(
                    "{raw} is not a valid datetime: use ISO 8601 or milliseconds since the epoch"
                ),
            )),
        },
        PropType::Bool => match raw.to_ascii_lowercase().as_str() {
            "true" => Ok(Cow::Borrowed("true")),
            "false" => Ok(Cow::Borrowed("false")),
            _ => Err(invalid_option(&raw, def)),
        },
        PropType::Enumeration => {
            let pieces = if def.is_multi() {
                raw.split(';').filter(|p| !p.is_empty()).collect()
            } else {
                vec![raw.as_ref()]
            };
            match pieces
                .into_iter()
                .find(|p| !def.option_values().any(|v| v == *p))
            {
                Some(bad) => Err(invalid_option(bad, def)),
                None => Ok(raw),
            }
        }
    }
}

/// A date: `YYYY-MM-DD`, or epoch milliseconds (or an ISO instant) exactly at midnight UTC.
fn check_date(raw: Cow<'_, str>) -> Result<Cow<'_, str>, Invalid> {
    if time::parse_date(&raw).is_some() {
        return Ok(raw);
    }
    match parse_instant(&raw) {
        Some(ms) if ms.rem_euclid(86_400_000) == 0 => Ok(Cow::Owned(time::date_string(ms))),
        Some(ms) => Err(Invalid::new(
            "INVALID_DATE",
            format!("{raw} is at {} UTC, not midnight!", time::time_of_day(ms)),
        )),
        None => Err(Invalid::new(
            "INVALID_DATE",
            format!(
                "{raw} is not a valid date: use YYYY-MM-DD or milliseconds since the epoch at midnight UTC"
            ),
        )),
    }
}

/// Epoch milliseconds (all digits, optional sign) or an ISO 8601 instant.
fn parse_instant(raw: &str) -> Option<i64> {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return raw.parse().ok();
    }
    time::parse_iso(raw)
}

fn invalid_email(address: &str) -> Invalid {
    Invalid::new(
        "INVALID_EMAIL",
        format!("Email address {address} is invalid"),
    )
}

fn invalid_option(value: &str, def: &PropertyDef) -> Invalid {
    let allowed: Vec<&str> = def.option_values().collect();
    Invalid::new(
        "INVALID_OPTION",
        format!(
            "{value} was not one of the allowed options: [{}]",
            allowed.join(", ")
        ),
    )
}

/// Digits with at most one decimal point, an optional sign and an optional exponent.
pub fn is_number(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let mut dots = 0;
    let mut digits = 0;
    for b in mantissa.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => dots += 1,
            _ => return false,
        }
    }
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    digits > 0 && dots <= 1 && exponent_ok
}

/// A pragmatic address check: one `@`, a non-empty local part, a dotted domain with a 2+ letter TLD,
/// no whitespace. HubSpot's own check is stricter in odd corners; this catches what real files get wrong.
pub fn is_email(text: &str) -> bool {
    let Some(at) = text.bytes().position(|b| b == b'@') else {
        return false;
    };
    if at == 0 || has_whitespace(text) {
        return false;
    }
    // The domain's labels in one pass over its bytes (a list of them was an allocation a value):
    // each non-empty, of letters, digits, `-` or non-ASCII; at least two; the last of 2+ letters.
    let (mut labels, mut length, mut letters) = (0, 0, true);
    for b in text.bytes().skip(at + 1) {
        match b {
            b'.' if length == 0 => return false,
            b'.' => (labels, length, letters) = (labels + 1, 0, true),
            b if b.is_ascii_alphanumeric() || b == b'-' || b >= 0x80 => {
                length += 1;
                letters &= b.is_ascii_alphabetic() || b >= 0x80;
            }
            _ => return false,
        }
    }
    labels >= 1 && length >= 2 && letters
}

/// Whether `text` holds whitespace as `char::is_whitespace` has it: by bytes for ASCII text (tab to
/// carriage return, and space), by characters otherwise.
fn has_whitespace(text: &str) -> bool {
    match text.is_ascii() {
        true => text.bytes().any(|b| matches!(b, b'\t'..=b'\r' | b' ')),
        false => text.chars().any(char::is_whitespace),
    }
}

/// The keys a unique value is indexed under: one for a plain or email property, one per address for
/// an email list. Emails compare case-insensitively (folded without allocating when already lower-case).
pub fn unique_keys<'a>(def: &PropertyDef, value: &'a str) -> impl Iterator<Item = Cow<'a, str>> {
    let (one, list) = match def.format {
        Format::Plain => (Some(Cow::Borrowed(value)), None),
        Format::Email => (Some(fold(value)), None),
        Format::EmailList => (
            None,
            Some(value.split(';').filter(|e| !e.is_empty()).map(fold)),
        ),
    };
    one.into_iter().chain(list.into_iter().flatten())
}

/// An email address as an index key: trimmed and lower-cased.
fn fold(address: &str) -> Cow<'_, str> {
    let address = address.trim();
    if address
        .bytes()
        .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
    {
        Cow::Owned(address.to_lowercase())
    } else {
        Cow::Borrowed(address)
    }
}

#[cfg(test)]
mod tests {
    use super::super::properties::standard;
    use super::*;

    fn prop(type_name: &str, name: &str) -> PropertyDef {
        standard(type_name)
            .into_iter()
            .find(|p| p.name == name)
            .expect("property exists")
    }

    /// The check as first written (a list of the domain's labels), kept as the oracle.
    fn is_email_with_a_label_list(text: &str) -> bool {
        let Some((local, domain)) = text.split_once('@') else {
            return false;
        };
        if local.is_empty() || domain.contains('@') || text.chars().any(char::is_whitespace) {
            return false;
        }
        let labels: Vec<&str> = domain.split('.').collect();
        labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b >= 0x80)
            })
            && labels.last().is_some_and(|tld| {
                tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic() || b >= 0x80)
            })
    }

    #[test]
    fn emails_agree_with_the_first_check_on_every_short_string() {
        // Every string of up to five characters over an alphabet with each kind of byte (every
        // ASCII whitespace, a non-ASCII one), bare and framed as `x@…` and `…@y.co`.
        let alphabet = [
            "a", "1", ".", "-", "@", "\t", "\u{b}", " ", "ü", "\u{a0}", "_",
        ];
        let mut strings = vec![String::new()];
        let mut all = Vec::new();
        for _ in 0..5 {
            strings = strings
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(strings.iter().cloned());
        }
        for s in &all {
            for text in [s.clone(), format!("x@{s}"), format!("{s}@y.co")] {
                assert_eq!(
                    is_email(&text),
                    is_email_with_a_label_list(&text),
                    "{text:?}"
                );
            }
        }
    }

    #[test]
    fn emails() {
        let email = prop("contacts", "email");
        assert!(check(&email, "a.b@example.com".into()).is_ok());
        let err = check(&email, "example.lcom".into()).unwrap_err();
        assert_eq!(err.code, "INVALID_EMAIL");
        assert_eq!(err.message, "Email address example.lcom is invalid");
        for bad in ["a@b", "@b.com", "a b@c.com", "a@@b.com", "a@b.c", "a@.com"] {
            assert!(!is_email(bad), "{bad}");
        }
        let extra = prop("contacts", "hs_additional_emails");
        assert!(check(&extra, "a@x.com;b@y.org".into()).is_ok());
        assert_eq!(
            check(&extra, "a@x.com;nope".into()).unwrap_err().message,
            "Email address nope is invalid"
        );
    }

    #[test]
    fn numbers() {
        let amount = prop("deals", "amount");
        for good in ["1", "-1.5", "0.25", "1e5", "+3", "12.", ".5"] {
            assert!(check(&amount, good.into()).is_ok(), "{good}");
        }
        let err = check(&amount, "12,5".into()).unwrap_err();
        assert_eq!(
            (err.code, err.message.as_str()),
            ("INVALID_INTEGER", "12,5 was not a valid number")
        );
        for bad in ["1.2.3", "abc", "-", "1e", "NaN"] {
            assert!(!is_number(bad), "{bad}");
        }
    }

    #[test]
    fn dates_must_be_midnight() {
        let close = prop("deals", "closedate");
        assert_eq!(check(&close, "2024-03-01".into()).unwrap(), "2024-03-01");
        assert_eq!(check(&close, "1572480000000".into()).unwrap(), "2019-10-31");
        let err = check(&close, "1635535865".into()).unwrap_err();
        assert_eq!(err.code, "INVALID_DATE");
        assert_eq!(
            err.message,
            "1635535865 is at 22:18:55.865 UTC, not midnight!"
        );
        assert_eq!(
            check(&close, "03/01/2024".into()).unwrap_err().code,
            "INVALID_DATE"
        );
    }

    #[test]
    fn datetimes_normalise_to_iso() {
        let ts = prop("notes", "hs_timestamp");
        assert_eq!(check(&ts, "0".into()).unwrap(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            check(&ts, "2020-02-29T03:30:17Z".into()).unwrap(),
            "2020-02-29T03:30:17.000Z"
        );
        assert!(check(&ts, "soon".into()).is_err());
    }

    #[test]
    fn enumerations_and_checkboxes() {
        let cat = prop("tickets", "hs_ticket_category");
        let err = check(&cat, "reports".into()).unwrap_err();
        assert_eq!(err.code, "INVALID_OPTION");
        assert_eq!(
            err.message,
            "reports was not one of the allowed options: [PRODUCT_ISSUE, BILLING_ISSUE, FEATURE_REQUEST, GENERAL_INQUIRY]"
        );
        let role = prop("contacts", "hs_buying_role");
        assert!(check(&role, "CHAMPION;END_USER".into()).is_ok());
        assert!(check(&role, ";CHAMPION".into()).is_ok());
        assert_eq!(
            check(&role, "CHAMPION;BOSS".into())
                .unwrap_err()
                .message
                .split(' ')
                .next(),
            Some("BOSS")
        );
        // A single-select does not take `;`-joined values.
        assert!(check(&cat, "PRODUCT_ISSUE;BILLING_ISSUE".into()).is_err());
    }

    #[test]
    fn booleans_and_clearing() {
        let marketable = prop("contacts", "hs_marketable_status");
        assert_eq!(check(&marketable, "TRUE".into()).unwrap(), "true");
        assert_eq!(
            check(&marketable, "yes".into()).unwrap_err().code,
            "INVALID_OPTION"
        );
        assert_eq!(check(&marketable, "".into()).unwrap(), "");
    }

    #[test]
    fn unique_keys_fold_email_case() {
        let email = prop("contacts", "email");
        assert_eq!(
            unique_keys(&email, "A@X.com").collect::<Vec<_>>(),
            vec!["a@x.com"]
        );
        let extra = prop("contacts", "hs_additional_emails");
        assert_eq!(
            unique_keys(&extra, "a@x.com;B@y.org").collect::<Vec<_>>(),
            vec!["a@x.com", "b@y.org"]
        );
    }
}
