//! The rule types of HubSpot's Property Validations API (the `ruleType` enum of its 2026-03/2026-09
//! specs) and the property types each one applies to (the API guide's "Supported type" column).

use super::super::properties::{PropType, PropertyDef};

/// One `ruleType`. Declared in the spec's (alphabetical) order, so ordered collections list rules as
/// HubSpot's enum does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleType {
    AfterDatetimeDuration,
    AfterDuration,
    Alphanumeric,
    BeforeDatetimeDuration,
    BeforeDuration,
    DaysOfWeek,
    Decimal,
    Domain,
    Email,
    EmailAllowedDomains,
    EmailBlockedDomains,
    EndDate,
    EndDatetime,
    Format,
    MaxLength,
    MaxNumber,
    MinLength,
    MinNumber,
    PhoneNumberWithExplicitCountryCode,
    Regex,
    SpecialCharacters,
    StartDate,
    StartDatetime,
    Url,
    UrlAllowedDomains,
    UrlBlockedDomains,
    Whitespace,
}

/// Every rule type with its wire name.
const NAMES: [(RuleType, &str); 27] = [
    (RuleType::AfterDatetimeDuration, "AFTER_DATETIME_DURATION"),
    (RuleType::AfterDuration, "AFTER_DURATION"),
    (RuleType::Alphanumeric, "ALPHANUMERIC"),
    (RuleType::BeforeDatetimeDuration, "BEFORE_DATETIME_DURATION"),
    (RuleType::BeforeDuration, "BEFORE_DURATION"),
    (RuleType::DaysOfWeek, "DAYS_OF_WEEK"),
    (RuleType::Decimal, "DECIMAL"),
    (RuleType::Domain, "DOMAIN"),
    (RuleType::Email, "EMAIL"),
    (RuleType::EmailAllowedDomains, "EMAIL_ALLOWED_DOMAINS"),
    (RuleType::EmailBlockedDomains, "EMAIL_BLOCKED_DOMAINS"),
    (RuleType::EndDate, "END_DATE"),
    (RuleType::EndDatetime, "END_DATETIME"),
    (RuleType::Format, "FORMAT"),
    (RuleType::MaxLength, "MAX_LENGTH"),
    (RuleType::MaxNumber, "MAX_NUMBER"),
    (RuleType::MinLength, "MIN_LENGTH"),
    (RuleType::MinNumber, "MIN_NUMBER"),
    (
        RuleType::PhoneNumberWithExplicitCountryCode,
        "PHONE_NUMBER_WITH_EXPLICIT_COUNTRY_CODE",
    ),
    (RuleType::Regex, "REGEX"),
    (RuleType::SpecialCharacters, "SPECIAL_CHARACTERS"),
    (RuleType::StartDate, "START_DATE"),
    (RuleType::StartDatetime, "START_DATETIME"),
    (RuleType::Url, "URL"),
    (RuleType::UrlAllowedDomains, "URL_ALLOWED_DOMAINS"),
    (RuleType::UrlBlockedDomains, "URL_BLOCKED_DOMAINS"),
    (RuleType::Whitespace, "WHITESPACE"),
];

/// What kind of property a rule type checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// `string` properties (text, textarea, …).
    Text,
    /// `string` and phone-number properties (the length rules).
    TextOrPhone,
    /// Phone-number properties (`phone_number`, or a `string` with field type `phonenumber`).
    Phone,
    Number,
    Date,
    Datetime,
    DateOrDatetime,
}

impl RuleType {
    /// The wire name (`MAX_LENGTH`).
    pub fn name(self) -> &'static str {
        NAMES
            .iter()
            .find(|(t, _)| *t == self)
            .map_or("", |(_, name)| name)
    }

    /// A wire name, exactly as the spec spells it.
    pub fn parse(name: &str) -> Option<RuleType> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(t, _)| *t)
    }

    /// Every wire name, for the "not one of" message.
    pub fn names() -> impl Iterator<Item = &'static str> {
        NAMES.iter().map(|(_, name)| *name)
    }

    fn target(self) -> Target {
        use RuleType::*;
        match self {
            Alphanumeric | Domain | Email | EmailAllowedDomains | EmailBlockedDomains | Format
            | Regex | SpecialCharacters | Url | UrlAllowedDomains | UrlBlockedDomains
            | Whitespace => Target::Text,
            MaxLength | MinLength => Target::TextOrPhone,
            PhoneNumberWithExplicitCountryCode => Target::Phone,
            Decimal | MaxNumber | MinNumber => Target::Number,
            AfterDuration | BeforeDuration | EndDate | StartDate => Target::Date,
            AfterDatetimeDuration | BeforeDatetimeDuration | EndDatetime | StartDatetime => {
                Target::Datetime
            }
            DaysOfWeek => Target::DateOrDatetime,
        }
    }

    /// Whether a rule of this type may be set on `def`.
    pub fn applies_to(self, def: &PropertyDef) -> bool {
        let phone = def.ptype == PropType::PhoneNumber
            || (def.ptype == PropType::String && def.field_type == "phonenumber");
        match self.target() {
            Target::Text => def.ptype == PropType::String,
            Target::TextOrPhone => def.ptype == PropType::String || phone,
            Target::Phone => phone,
            Target::Number => def.ptype == PropType::Number,
            Target::Date => def.ptype == PropType::Date,
            Target::Datetime => def.ptype == PropType::Datetime,
            Target::DateOrDatetime => matches!(def.ptype, PropType::Date | PropType::Datetime),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_spec_order() {
        let names: Vec<&str> = RuleType::names().collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "the spec lists rule types alphabetically");
        for (t, name) in NAMES {
            assert_eq!(RuleType::parse(name), Some(t));
            assert_eq!(t.name(), name);
        }
        assert_eq!(RuleType::parse("max_length"), None);
    }

    #[test]
    fn targets_follow_the_guide() {
        let text = PropertyDef::new("x", "X", PropType::String);
        let phone = PropertyDef::new("p", "P", PropType::PhoneNumber);
        let number = PropertyDef::new("n", "N", PropType::Number);
        let date = PropertyDef::new("d", "D", PropType::Date);
        let datetime = PropertyDef::new("t", "T", PropType::Datetime);
        assert!(RuleType::Regex.applies_to(&text) && !RuleType::Regex.applies_to(&number));
        assert!(RuleType::MaxLength.applies_to(&phone));
        assert!(
            RuleType::PhoneNumberWithExplicitCountryCode.applies_to(&phone)
                && !RuleType::PhoneNumberWithExplicitCountryCode.applies_to(&text)
        );
        assert!(
            RuleType::StartDate.applies_to(&date) && !RuleType::StartDate.applies_to(&datetime)
        );
        assert!(
            RuleType::DaysOfWeek.applies_to(&date) && RuleType::DaysOfWeek.applies_to(&datetime)
        );
        assert!(RuleType::Decimal.applies_to(&number) && !RuleType::Decimal.applies_to(&text));
    }
}
