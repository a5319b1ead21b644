//! Admin-configured property validation rules, checked before anything is sent: a row whose value
//! breaks a rule is dead-lettered as `PROPERTY_VALIDATION` instead of costing a request and a
//! portal error. The rules come from the portal (`portal::rules`); this is the engine's own reading
//! of them (the sandbox's is an independent one, and the tests hold the two to each other).
//!
//! Semantics, as docs/sandbox-versions.md fixes them: a property's rules are checked in rule-type
//! order and the first broken one is reported; an empty value (clearing) passes every rule;
//! `shouldApplyNormalization` checks the value with surrounding whitespace removed. A rule the
//! engine cannot evaluate is left to the portal, which rejects the row as usual (`rule.rs` says
//! which, and why).
//!
//! Parts: `rule` (reading a rule, and dispatching its check), `text` (characters, length, case,
//! regex), `address` (email, domain, URL, phone), `number` (bounds, decimal places), `date`
//! (bounds, weekdays).

mod address;
mod date;
mod number;
mod rule;
mod text;

use crate::portal::rules::RuleSpec;
use crate::portal::schema::PropertySchema;

pub use rule::Rule;

/// The category of a row dead-lettered by a rule.
pub const CATEGORY: &str = "PROPERTY_VALIDATION";

/// The rules of one property, compiled for its values.
#[derive(Debug, Default)]
pub struct PropertyRules {
    /// Evaluated here, in rule-type order.
    local: Vec<(RuleSpec, Rule)>,
    /// Left to the portal, each with the reason.
    left: Vec<(RuleSpec, String)>,
}

/// The rule a value breaks, and how.
#[derive(Debug)]
pub struct Broken<'a> {
    pub rule: &'a RuleSpec,
    /// What is wrong with the value (`is 11 characters long, longer than 4`).
    pub why: String,
}

impl Broken<'_> {
    /// The reason a dead letter gives: the rule, its arguments and what is wrong.
    pub fn reason(&self) -> String {
        format!("breaks the rule {}: it {}", self.rule, self.why)
    }
}

impl PropertyRules {
    /// Reads `specs`, the portal's rules of `property`.
    pub fn compile(property: &PropertySchema, specs: &[RuleSpec]) -> PropertyRules {
        let mut specs = specs.to_vec();
        // The portal checks a property's rules in rule-type order and reports the first broken.
        specs.sort_by(|a, b| a.rule_type.cmp(&b.rule_type));
        let mut rules = PropertyRules::default();
        for spec in specs {
            match Rule::read(&spec, property) {
                Ok(rule) => rules.local.push((spec, rule)),
                Err(why) => rules.left.push((spec, why)),
            }
        }
        rules
    }

    /// Whether no rule is evaluated here.
    pub fn is_empty(&self) -> bool {
        self.local.is_empty()
    }

    /// The first rule `value` breaks, if any.
    pub fn check(&self, value: &str) -> Result<(), Broken<'_>> {
        if value.is_empty() {
            return Ok(());
        }
        for (spec, rule) in &self.local {
            let value = if spec.normalize { value.trim() } else { value };
            if let Err(why) = rule.check(value) {
                return Err(Broken { rule: spec, why });
            }
        }
        Ok(())
    }

    /// The rules evaluated here.
    pub fn checked(&self) -> impl Iterator<Item = &RuleSpec> {
        self.local.iter().map(|(spec, _)| spec)
    }

    /// The rules left to the portal, with the reason.
    pub fn left(&self) -> impl Iterator<Item = (&RuleSpec, &str)> {
        self.left.iter().map(|(spec, why)| (spec, why.as_str()))
    }
}

/// Which rules of the written properties the engine checks, and which it leaves to the portal
/// (`etl validate` prints it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesReport {
    /// `property RULE ["arguments"]`, checked before sending.
    pub checked: Vec<String>,
    /// `property RULE ["arguments"]: why`, judged by the portal only.
    pub left: Vec<String>,
    /// Why the portal's rules are unknown, when they are.
    pub unavailable: Option<String>,
}

impl RulesReport {
    /// Adds the rules of `property`.
    pub fn add(&mut self, property: &str, rules: &PropertyRules) {
        self.checked
            .extend(rules.checked().map(|spec| format!("{property} {spec}")));
        self.left.extend(
            rules
                .left()
                .map(|(spec, why)| format!("{property} {spec}: {why}")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portal::schema::ObjectSchema;

    fn spec(rule_type: &str, args: &[&str], normalize: bool) -> RuleSpec {
        RuleSpec {
            rule_type: rule_type.into(),
            arguments: args.iter().map(|a| a.to_string()).collect(),
            normalize,
        }
    }

    fn zip() -> PropertySchema {
        let schema = ObjectSchema::from_json(
            "contacts",
            br#"{"results":[{"name":"zip","type":"string","fieldType":"text"}]}"#,
        )
        .unwrap();
        schema.property("zip").unwrap().clone()
    }

    #[test]
    fn the_first_broken_rule_in_rule_type_order_is_reported() {
        let rules = PropertyRules::compile(
            &zip(),
            &[
                spec("MAX_LENGTH", &["5"], false),
                spec("ALPHANUMERIC", &["NUMERIC_ONLY"], false),
            ],
        );
        let broken = rules.check("ABCDEFG").unwrap_err();
        assert_eq!(broken.rule.rule_type, "ALPHANUMERIC");
        assert_eq!(
            broken.reason(),
            "breaks the rule ALPHANUMERIC [\"NUMERIC_ONLY\"]: it has 'A': only digits are allowed"
        );
        assert_eq!(
            rules.check("0213999").unwrap_err().rule.rule_type,
            "MAX_LENGTH"
        );
        assert!(rules.check("02139").is_ok());
        assert!(rules.check("").is_ok(), "clearing passes every rule");
    }

    #[test]
    fn normalization_trims_before_checking() {
        let strict = PropertyRules::compile(&zip(), &[spec("MAX_LENGTH", &["5"], false)]);
        let normalized = PropertyRules::compile(&zip(), &[spec("MAX_LENGTH", &["5"], true)]);
        assert!(strict.check(" 02139 ").is_err());
        assert!(normalized.check(" 02139 ").is_ok());
    }

    #[test]
    fn the_report_names_what_is_checked_and_what_is_left() {
        let rules = PropertyRules::compile(
            &zip(),
            &[
                spec("MAX_LENGTH", &["5"], false),
                spec("REGEX", &["^(?!0)"], false),
            ],
        );
        assert!(!rules.is_empty());
        let mut report = RulesReport::default();
        report.add("zip", &rules);
        assert_eq!(report.checked, ["zip MAX_LENGTH [\"5\"]"]);
        assert_eq!(report.left.len(), 1);
        assert!(
            report.left[0].starts_with("zip REGEX [\"^(?!0)\"]: etl's regex engine"),
            "{:?}",
            report.left
        );
    }
}
