//! One property validation rule, read from the portal's [`RuleSpec`] into something the engine can
//! evaluate — or the reason it cannot, which leaves the rule to the portal.
//!
//! The engine evaluates a rule when its meaning is fixed by the rule and the value alone. It leaves
//! to the portal: the duration rules (a window from the portal's "now", in the portal's time zone,
//! which moves while a long job runs), a country-specific phone rule (the calling-code plan is the
//! portal's), weekdays of a datetime (the portal's time zone decides the day), a `REGEX` pattern
//! beyond what the `regex` crate reads (HubSpot's Java regex has look-around and back-references),
//! a rule on a property type it does not apply to, arguments it cannot read, and rule types it
//! does not know.

use chrono::{DateTime, Utc, Weekday};
use regex::Regex;

use super::text::{Case, Characters};
use super::{address, date, number, text};
use crate::portal::rules::RuleSpec;
use crate::portal::schema::{PropertySchema, PropertyType};

/// What kind of value a property holds, as the rules' "applies to" sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holds {
    Text,
    Phone,
    Number,
    Date,
    DateTime,
    Other,
}

impl Holds {
    fn of(property: &PropertySchema) -> Holds {
        match property.kind {
            PropertyType::String if property.field_type == "phonenumber" => Holds::Phone,
            PropertyType::String => Holds::Text,
            PropertyType::PhoneNumber => Holds::Phone,
            PropertyType::Number => Holds::Number,
            PropertyType::Date => Holds::Date,
            PropertyType::DateTime => Holds::DateTime,
            _ => Holds::Other,
        }
    }
}

/// A rule the engine evaluates.
#[derive(Debug)]
pub enum Rule {
    MinLength(usize),
    MaxLength(usize),
    Characters(Characters),
    NoSpecialCharacters,
    /// `true`: only leading and trailing whitespace is refused.
    Whitespace(bool),
    Format(Case),
    Regex(Regex, Option<String>),
    Email,
    /// `true`: the listed domains are the allowed ones; `false`: the blocked ones.
    EmailDomains(Vec<String>, bool),
    Domain,
    Url,
    UrlDomains(Vec<String>, bool),
    Phone,
    MinNumber(f64),
    MaxNumber(f64),
    Decimal(i64),
    /// A lower bound; `true` for a date (whole days), `false` for a datetime.
    Start(DateTime<Utc>, bool),
    End(DateTime<Utc>, bool),
    DaysOfWeek(Vec<Weekday>),
}

impl Rule {
    /// Reads `spec` for a property of this schema: the rule, or why the portal must judge it.
    pub fn read(spec: &RuleSpec, property: &PropertySchema) -> Result<Rule, String> {
        let holds = Holds::of(property);
        let args: Vec<&str> = spec.arguments.iter().map(|a| a.trim()).collect();
        let applies = |ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(format!(
                    "etl does not apply it to a property of type {} (fieldType {})",
                    type_name(&property.kind),
                    property.field_type
                ))
            }
        };
        let unreadable = || format!("etl cannot read its arguments {:?}", spec.arguments);
        let text = holds == Holds::Text;
        match spec.rule_type.as_str() {
            "MIN_LENGTH" | "MAX_LENGTH" => {
                applies(matches!(holds, Holds::Text | Holds::Phone))?;
                let n = one(&args)
                    .and_then(|a| a.parse::<usize>().ok())
                    .filter(|n| (1..=10_000).contains(n))
                    .ok_or_else(unreadable)?;
                Ok(if spec.rule_type == "MIN_LENGTH" {
                    Rule::MinLength(n)
                } else {
                    Rule::MaxLength(n)
                })
            }
            "ALPHANUMERIC" => {
                applies(text)?;
                one(&args)
                    .and_then(Characters::parse)
                    .map(Rule::Characters)
                    .ok_or_else(unreadable)
            }
            "SPECIAL_CHARACTERS" => {
                applies(text)?;
                match one(&args) {
                    Some("NOT_ALLOWED") => Ok(Rule::NoSpecialCharacters),
                    _ => Err(unreadable()),
                }
            }
            "WHITESPACE" => {
                applies(text)?;
                match args.as_slice() {
                    [] | ["ALL"] => Ok(Rule::Whitespace(false)),
                    ["TRIM"] => Ok(Rule::Whitespace(true)),
                    _ => Err(unreadable()),
                }
            }
            "FORMAT" => {
                applies(text)?;
                one(&args)
                    .and_then(Case::parse)
                    .map(Rule::Format)
                    .ok_or_else(unreadable)
            }
            "REGEX" => {
                applies(text)?;
                let (pattern, message) = match args.as_slice() {
                    [pattern] => (*pattern, None),
                    [pattern, message] => (*pattern, Some(message.to_string())),
                    _ => return Err(unreadable()),
                };
                let pattern = Regex::new(pattern).map_err(|_| {
                    format!("etl's regex engine (RE2 syntax) cannot read the pattern {pattern:?}")
                })?;
                Ok(Rule::Regex(pattern, message))
            }
            "EMAIL" | "DOMAIN" | "URL" => {
                applies(text)?;
                if !args.is_empty() {
                    return Err(unreadable());
                }
                Ok(match spec.rule_type.as_str() {
                    "EMAIL" => Rule::Email,
                    "DOMAIN" => Rule::Domain,
                    _ => Rule::Url,
                })
            }
            kind @ ("EMAIL_ALLOWED_DOMAINS"
            | "EMAIL_BLOCKED_DOMAINS"
            | "URL_ALLOWED_DOMAINS"
            | "URL_BLOCKED_DOMAINS") => {
                applies(text)?;
                if args.is_empty() || args.len() > 20 || !args.iter().all(|d| address::is_domain(d))
                {
                    return Err(unreadable());
                }
                let domains = args.iter().map(|d| d.to_string()).collect();
                let allowed = kind.contains("ALLOWED");
                Ok(if kind.starts_with("EMAIL") {
                    Rule::EmailDomains(domains, allowed)
                } else {
                    Rule::UrlDomains(domains, allowed)
                })
            }
            "PHONE_NUMBER_WITH_EXPLICIT_COUNTRY_CODE" => {
                applies(holds == Holds::Phone)?;
                match args.as_slice() {
                    [] => Ok(Rule::Phone),
                    _ => Err("the country's calling code is the portal's to check".into()),
                }
            }
            "MIN_NUMBER" | "MAX_NUMBER" => {
                applies(holds == Holds::Number)?;
                let bound = one(&args).and_then(number::parse).ok_or_else(unreadable)?;
                Ok(if spec.rule_type == "MIN_NUMBER" {
                    Rule::MinNumber(bound)
                } else {
                    Rule::MaxNumber(bound)
                })
            }
            "DECIMAL" => {
                applies(holds == Holds::Number)?;
                one(&args)
                    .and_then(|a| a.parse::<i64>().ok())
                    .filter(|n| (0..=20).contains(n))
                    .map(Rule::Decimal)
                    .ok_or_else(unreadable)
            }
            kind @ ("START_DATE" | "END_DATE" | "START_DATETIME" | "END_DATETIME") => {
                let whole_days = !kind.ends_with("DATETIME");
                applies(
                    holds
                        == if whole_days {
                            Holds::Date
                        } else {
                            Holds::DateTime
                        },
                )?;
                let at = one(&args).and_then(date::bound).ok_or_else(unreadable)?;
                Ok(if kind.starts_with("START") {
                    Rule::Start(at, whole_days)
                } else {
                    Rule::End(at, whole_days)
                })
            }
            "AFTER_DURATION" | "BEFORE_DURATION" => {
                applies(holds == Holds::Date)?;
                Err(FROM_NOW.into())
            }
            "AFTER_DATETIME_DURATION" | "BEFORE_DATETIME_DURATION" => {
                applies(holds == Holds::DateTime)?;
                Err(FROM_NOW.into())
            }
            "DAYS_OF_WEEK" => {
                applies(matches!(holds, Holds::Date | Holds::DateTime))?;
                if holds == Holds::DateTime {
                    return Err(
                        "the weekday of an instant depends on the portal's time zone".into(),
                    );
                }
                let days: Option<Vec<Weekday>> = args.iter().map(|a| date::weekday(a)).collect();
                days.filter(|d| (1..=7).contains(&d.len()))
                    .map(Rule::DaysOfWeek)
                    .ok_or_else(unreadable)
            }
            other => Err(format!("etl does not know the rule type {other}")),
        }
    }

    /// `Err(why)` when `value` breaks this rule.
    pub fn check(&self, value: &str) -> Result<(), String> {
        match self {
            Rule::MinLength(n) => text::min_length(value, *n),
            Rule::MaxLength(n) => text::max_length(value, *n),
            Rule::Characters(which) => which.check(value),
            Rule::NoSpecialCharacters => text::no_special_characters(value),
            Rule::Whitespace(trim_only) => text::whitespace(value, *trim_only),
            Rule::Format(case) => case.check(value),
            Rule::Regex(pattern, message) => text::regex(value, pattern, message.as_deref()),
            Rule::Email => address::email(value),
            Rule::EmailDomains(domains, allowed) => {
                address::email_domains(value, domains, *allowed)
            }
            Rule::Domain => address::domain(value),
            Rule::Url => address::url(value),
            Rule::UrlDomains(domains, allowed) => address::url_domains(value, domains, *allowed),
            Rule::Phone => address::phone_with_country_code(value),
            Rule::MinNumber(bound) => number::at_least(value, *bound),
            Rule::MaxNumber(bound) => number::at_most(value, *bound),
            Rule::Decimal(places) => number::decimal_places(value, *places),
            Rule::Start(at, whole_days) => date::on_or_after(value, *at, *whole_days),
            Rule::End(at, whole_days) => date::on_or_before(value, *at, *whole_days),
            Rule::DaysOfWeek(days) => date::on_days(value, days),
        }
    }
}

/// Why the duration rules are the portal's.
const FROM_NOW: &str = "its window runs from the portal's current time, in the portal's time zone";

/// HubSpot's name of a property type.
fn type_name(kind: &PropertyType) -> &str {
    match kind {
        PropertyType::String => "string",
        PropertyType::Number => "number",
        PropertyType::Date => "date",
        PropertyType::DateTime => "datetime",
        PropertyType::Bool => "bool",
        PropertyType::Enumeration => "enumeration",
        PropertyType::PhoneNumber => "phone_number",
        PropertyType::Other(name) => name,
    }
}

/// The only argument, if there is exactly one.
fn one<'a>(args: &[&'a str]) -> Option<&'a str> {
    match args {
        [arg] => Some(arg),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portal::schema::ObjectSchema;

    fn schema() -> ObjectSchema {
        ObjectSchema::from_json(
            "contacts",
            br#"{"results":[
                {"name":"firstname","type":"string","fieldType":"text"},
                {"name":"phone","type":"string","fieldType":"phonenumber"},
                {"name":"mobile","type":"phone_number","fieldType":"phonenumber"},
                {"name":"score","type":"number","fieldType":"number"},
                {"name":"born","type":"date","fieldType":"date"},
                {"name":"seen","type":"datetime","fieldType":"date"},
                {"name":"stage","type":"enumeration","fieldType":"radio"}
            ]}"#,
        )
        .unwrap()
    }

    fn read(property: &str, rule_type: &str, args: &[&str]) -> Result<Rule, String> {
        let spec = RuleSpec {
            rule_type: rule_type.into(),
            arguments: args.iter().map(|a| a.to_string()).collect(),
            normalize: false,
        };
        Rule::read(&spec, schema().property(property).unwrap())
    }

    #[test]
    fn rules_read_for_the_types_they_apply_to() {
        assert!(
            read("firstname", "MAX_LENGTH", &[" 50 "]).is_ok(),
            "trimmed"
        );
        assert!(read("phone", "MIN_LENGTH", &["7"]).is_ok());
        assert!(read("mobile", "PHONE_NUMBER_WITH_EXPLICIT_COUNTRY_CODE", &[]).is_ok());
        assert!(read("phone", "PHONE_NUMBER_WITH_EXPLICIT_COUNTRY_CODE", &[]).is_ok());
        assert!(read("score", "DECIMAL", &["2"]).is_ok());
        assert!(read("born", "START_DATE", &["1704067200000"]).is_ok());
        assert!(read("seen", "END_DATETIME", &["1704067200000"]).is_ok());
        assert!(read("born", "DAYS_OF_WEEK", &["monday", "FRIDAY"]).is_ok());
        assert!(read("firstname", "WHITESPACE", &[]).is_ok());
        assert!(
            read(
                "firstname",
                "EMAIL_BLOCKED_DOMAINS",
                &["gmail.com", "Yahoo.com"]
            )
            .is_ok()
        );
    }

    #[test]
    fn what_is_left_to_the_portal_says_why() {
        let left = |p, t, a: &[&str]| read(p, t, a).unwrap_err();
        assert!(left("firstname", "DECIMAL", &["2"]).contains("type string (fieldType text)"));
        assert!(left("stage", "MAX_LENGTH", &["2"]).contains("type enumeration"));
        assert!(left("firstname", "MAX_LENGTH", &["0"]).contains("arguments"));
        assert!(left("firstname", "MAX_LENGTH", &["4", "5"]).contains("arguments"));
        assert!(left("born", "AFTER_DURATION", &["P7D"]).contains("current time"));
        assert!(left("seen", "BEFORE_DATETIME_DURATION", &["PT1H"]).contains("time zone"));
        assert!(left("seen", "DAYS_OF_WEEK", &["MONDAY"]).contains("time zone"));
        assert!(
            left("phone", "PHONE_NUMBER_WITH_EXPLICIT_COUNTRY_CODE", &["de"]).contains("calling")
        );
        assert!(left("firstname", "REGEX", &["^(?=a)"]).contains("cannot read the pattern"));
        assert!(left("firstname", "POSTCODE", &[]).contains("rule type POSTCODE"));
        assert!(left("firstname", "URL_ALLOWED_DOMAINS", &["not a domain"]).contains("arguments"));
    }

    #[test]
    fn rules_check_values() {
        let rule = read("firstname", "REGEX", &["^[A-Z]", "Start with a capital"]).unwrap();
        assert!(rule.check("Ada").is_ok());
        assert!(
            rule.check("ada")
                .unwrap_err()
                .contains("Start with a capital")
        );
        let rule = read("score", "MAX_NUMBER", &["1e3"]).unwrap();
        assert!(rule.check("1000").is_ok() && rule.check("1000.5").is_err());
        let rule = read("born", "DAYS_OF_WEEK", &["SATURDAY", "sunday"]).unwrap();
        assert!(rule.check("2024-06-02").is_ok() && rule.check("2024-06-03").is_err());
    }
}
