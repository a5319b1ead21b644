//! One validation rule: its wire shape (`{"ruleArguments": [...], "shouldApplyNormalization": …}`), and
//! its arguments read once, when the rule is set, into a form that checks values without re-parsing.
//! A rule whose arguments do not fit its type, or whose type does not fit the property, is refused then.

use serde::{Deserialize, Serialize};

use super::super::properties::PropertyDef;
use super::super::values;
use super::kind::RuleType;
use super::period::Period;
use super::phone;
use super::web;

/// The body of `PUT …/rule-type/{ruleType}` (and each rule of a rules file).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleBody {
    pub rule_arguments: Vec<String>,
    #[serde(default)]
    pub should_apply_normalization: Option<bool>,
}

/// A rule as `GET` returns it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleJson<'a> {
    pub rule_type: &'static str,
    pub rule_arguments: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub should_apply_normalization: Option<bool>,
}

/// Which characters `ALPHANUMERIC` allows besides whitespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    Letters,
    Digits,
    LettersAndDigits,
}

/// The letter case `FORMAT` requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Upper,
    Lower,
    Capitalized,
}

/// A rule's arguments, read.
#[derive(Debug, Clone)]
pub enum Check {
    Charset(Charset),
    Case(Case),
    Pattern {
        regex: regex::Regex,
        message: Option<String>,
    },
    NoSpecialCharacters,
    /// `WHITESPACE`: `true` forbids any whitespace (`ALL`), `false` only leading/trailing (`TRIM`).
    Whitespace {
        all: bool,
    },
    Domain,
    Email,
    Url,
    /// `EMAIL_*_DOMAINS` (`url: false`) and `URL_*_DOMAINS` (`url: true`).
    Domains {
        url: bool,
        allow: bool,
        list: Vec<String>,
    },
    /// `MIN_LENGTH`/`MAX_LENGTH` in UTF-16 code units.
    Length {
        min: bool,
        limit: usize,
    },
    Number {
        min: bool,
        bound: f64,
    },
    Decimal(u32),
    Phone {
        country: Option<(String, u16)>,
    },
    /// `START_*`/`END_*`: an epoch-ms bound, inclusive.
    Bound {
        start: bool,
        ms: i64,
    },
    /// `AFTER_*`/`BEFORE_*`: within the period after (or before) now, now included.
    Window {
        after: bool,
        period: Period,
    },
    /// `DAYS_OF_WEEK`: allowed weekdays, Monday = bit 0.
    Days(u8),
}

/// A rule set on a property.
#[derive(Debug, Clone)]
pub struct Rule {
    pub rule_type: RuleType,
    pub arguments: Vec<String>,
    pub normalize: Option<bool>,
    pub check: Check,
}

/// The weekday names `DAYS_OF_WEEK` takes, Monday first.
pub const DAYS: [&str; 7] = [
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
    "SUNDAY",
];

impl Rule {
    /// Reads a rule of `rule_type` for property `def`; the message says what is wrong with it.
    pub fn new(def: &PropertyDef, rule_type: RuleType, body: RuleBody) -> Result<Rule, String> {
        if !rule_type.applies_to(def) {
            return Err(format!(
                "{} rules do not apply to property {} (type {}, fieldType {})",
                rule_type.name(),
                def.name,
                def.ptype.as_str(),
                def.field_type
            ));
        }
        let check = read(rule_type, &body.rule_arguments)
            .map_err(|expected| format!("{} takes {expected}", rule_type.name()))?;
        Ok(Rule {
            rule_type,
            arguments: body.rule_arguments,
            normalize: body.should_apply_normalization,
            check,
        })
    }

    /// The `GET` shape.
    pub fn to_json(&self) -> RuleJson<'_> {
        RuleJson {
            rule_type: self.rule_type.name(),
            rule_arguments: &self.arguments,
            should_apply_normalization: self.normalize,
        }
    }
}

/// Reads the arguments of `rule_type`; on error, what it takes.
fn read(rule_type: RuleType, args: &[String]) -> Result<Check, &'static str> {
    use RuleType::*;
    let one = |expected: &'static str| match args {
        [arg] => Ok(arg.trim()),
        _ => Err(expected),
    };
    match rule_type {
        Alphanumeric => one_of(
            args,
            &[
                ("ALPHANUMERIC", Charset::LettersAndDigits),
                ("ALPHA_ONLY", Charset::Letters),
                ("NUMERIC_ONLY", Charset::Digits),
            ],
            "one argument: ALPHANUMERIC, ALPHA_ONLY or NUMERIC_ONLY",
        )
        .map(Check::Charset),
        Format => one_of(
            args,
            &[
                ("CAPITALIZATION", Case::Capitalized),
                ("UPPER", Case::Upper),
                ("LOWER", Case::Lower),
            ],
            "one argument: CAPITALIZATION, UPPER or LOWER",
        )
        .map(Check::Case),
        Regex => {
            let expected = "a regular expression (RE2 syntax) and an optional error message";
            match args {
                [pattern] | [pattern, _] => Ok(Check::Pattern {
                    regex: regex::Regex::new(pattern).map_err(|_| expected)?,
                    message: args.get(1).filter(|m| !m.trim().is_empty()).cloned(),
                }),
                _ => Err(expected),
            }
        }
        SpecialCharacters => one_of(args, &[("NOT_ALLOWED", ())], "one argument: NOT_ALLOWED")
            .map(|()| Check::NoSpecialCharacters),
        // No argument means ALL, the guide's default.
        Whitespace if args.is_empty() => Ok(Check::Whitespace { all: true }),
        Whitespace => one_of(
            args,
            &[("ALL", true), ("TRIM", false)],
            "no argument, ALL or TRIM",
        )
        .map(|all| Check::Whitespace { all }),
        Domain | Email | Url => {
            if !args.is_empty() {
                return Err("no arguments");
            }
            Ok(match rule_type {
                Domain => Check::Domain,
                Email => Check::Email,
                _ => Check::Url,
            })
        }
        EmailAllowedDomains | EmailBlockedDomains | UrlAllowedDomains | UrlBlockedDomains => {
            let expected = "one to 20 domain names";
            if args.is_empty() || args.len() > 20 || !args.iter().all(|d| web::is_domain(d.trim()))
            {
                return Err(expected);
            }
            Ok(Check::Domains {
                url: matches!(rule_type, UrlAllowedDomains | UrlBlockedDomains),
                allow: matches!(rule_type, EmailAllowedDomains | UrlAllowedDomains),
                list: args.iter().map(|d| d.trim().to_ascii_lowercase()).collect(),
            })
        }
        MinLength | MaxLength => {
            let expected = "one argument: an integer from 1 to 10000";
            let limit = one(expected)?
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or(expected)?;
            Ok(Check::Length {
                min: rule_type == MinLength,
                limit,
            })
        }
        MinNumber | MaxNumber => {
            let expected = "one argument: a number";
            let text = one(expected)?;
            let bound = Some(text)
                .filter(|t| values::is_number(t))
                .and_then(|t| t.parse::<f64>().ok())
                .filter(|b| b.is_finite())
                .ok_or(expected)?;
            Ok(Check::Number {
                min: rule_type == MinNumber,
                bound,
            })
        }
        Decimal => {
            let expected = "one argument: an integer from 0 to 20";
            let places = one(expected)?
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= 20)
                .ok_or(expected)?;
            Ok(Check::Decimal(places))
        }
        PhoneNumberWithExplicitCountryCode => {
            let expected = "no argument, or a two-letter lower-case country code such as us";
            match args {
                [] => Ok(Check::Phone { country: None }),
                [country] => {
                    let code = phone::calling_code(country.trim()).ok_or(expected)?;
                    Ok(Check::Phone {
                        country: Some((country.trim().to_owned(), code)),
                    })
                }
                _ => Err(expected),
            }
        }
        StartDate | EndDate | StartDatetime | EndDatetime => {
            let expected = "one argument: a Unix timestamp in milliseconds";
            let ms = one(expected)?.parse::<i64>().map_err(|_| expected)?;
            Ok(Check::Bound {
                start: matches!(rule_type, StartDate | StartDatetime),
                ms,
            })
        }
        AfterDuration | BeforeDuration | AfterDatetimeDuration | BeforeDatetimeDuration => {
            let dates = matches!(rule_type, AfterDuration | BeforeDuration);
            let expected = if dates {
                "one argument: an ISO-8601 period of years, months, weeks or days, such as P7D"
            } else {
                "one argument: an ISO-8601 period, such as P1Y or PT12H"
            };
            let period = Period::parse(one(expected)?).ok_or(expected)?;
            if dates && period.has_time() {
                return Err(expected);
            }
            Ok(Check::Window {
                after: matches!(rule_type, AfterDuration | AfterDatetimeDuration),
                period,
            })
        }
        DaysOfWeek => {
            let expected = "one to seven day names, such as MONDAY";
            if args.is_empty() || args.len() > 7 {
                return Err(expected);
            }
            let mut mask = 0u8;
            for arg in args {
                let day = DAYS
                    .iter()
                    .position(|d| d.eq_ignore_ascii_case(arg.trim()))
                    .ok_or(expected)?;
                mask |= 1 << day;
            }
            Ok(Check::Days(mask))
        }
    }
}

/// One argument, one of `options` (trimmed, exact case).
fn one_of<T: Copy>(
    args: &[String],
    options: &[(&str, T)],
    expected: &'static str,
) -> Result<T, &'static str> {
    match args {
        [arg] => options
            .iter()
            .find(|(name, _)| *name == arg.trim())
            .map(|(_, value)| *value)
            .ok_or(expected),
        _ => Err(expected),
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::properties::PropType;
    use super::*;

    fn body(args: &[&str]) -> RuleBody {
        RuleBody {
            rule_arguments: args.iter().map(|a| (*a).to_owned()).collect(),
            should_apply_normalization: None,
        }
    }

    #[test]
    fn arguments_are_checked_when_the_rule_is_set() {
        let text = PropertyDef::new("code", "Code", PropType::String);
        let ok = |t, a: &[&str]| Rule::new(&text, t, body(a)).is_ok();
        assert!(ok(RuleType::MaxLength, &["100"]));
        assert!(!ok(RuleType::MaxLength, &["0"]));
        assert!(!ok(RuleType::MaxLength, &["10001"]));
        assert!(!ok(RuleType::MaxLength, &[]));
        assert!(ok(RuleType::Regex, &["^[A-Z]+$", "Must be uppercase"]));
        assert!(!ok(RuleType::Regex, &["(unclosed"]));
        assert!(ok(RuleType::Whitespace, &[]));
        assert!(!ok(RuleType::Whitespace, &["SOME"]));
        assert!(!ok(RuleType::EmailAllowedDomains, &["not a domain"]));
        let err = Rule::new(&text, RuleType::Decimal, body(&["2"])).unwrap_err();
        assert_eq!(
            err,
            "DECIMAL rules do not apply to property code (type string, fieldType text)"
        );
        let date = PropertyDef::new("d", "D", PropType::Date);
        assert!(Rule::new(&date, RuleType::AfterDuration, body(&["P7D"])).is_ok());
        assert!(Rule::new(&date, RuleType::AfterDuration, body(&["PT7H"])).is_err());
        assert!(Rule::new(&date, RuleType::DaysOfWeek, body(&["monday", "FRIDAY"])).is_ok());
        assert!(Rule::new(&date, RuleType::DaysOfWeek, body(&["MONDAYS"])).is_err());
        let phone = PropertyDef::new("p", "P", PropType::PhoneNumber);
        assert!(
            Rule::new(
                &phone,
                RuleType::PhoneNumberWithExplicitCountryCode,
                body(&["us"])
            )
            .is_ok()
        );
        assert!(
            Rule::new(
                &phone,
                RuleType::PhoneNumberWithExplicitCountryCode,
                body(&["USA"])
            )
            .is_err()
        );
    }
}
