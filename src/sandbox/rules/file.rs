//! The rules a sandbox starts with: `etl sandbox --rules-file rules.json`, and the `rules` field of
//! `POST /_sandbox/config`. The shape is the `PUT` body of each rule, keyed by object type (id or name),
//! property name and rule type:
//!
//! ```json
//! {"contacts": {"firstname": {"MAX_LENGTH": {"ruleArguments": ["50"]},
//!                             "ALPHANUMERIC": {"ruleArguments": ["ALPHA_ONLY"]}}},
//!  "0-3": {"amount": {"DECIMAL": {"ruleArguments": ["2"], "shouldApplyNormalization": false}}}}
//! ```

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use serde_json::Value;

use super::super::registry::Registry;
use super::kind::RuleType;
use super::rule::{Rule, RuleBody};
use super::set::RuleSet;

type RulesJson = BTreeMap<String, BTreeMap<String, BTreeMap<String, RuleBody>>>;

/// Reads the rules file at `path`; the error names the file and the rule at fault.
pub fn load(path: &Path, registry: &Registry) -> io::Result<RuleSet> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        io::Error::new(
            err.kind(),
            format!("cannot read rules file {}: {err}", path.display()),
        )
    })?;
    let invalid = |msg: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("rules file {}: {msg}", path.display()),
        )
    };
    let json: RulesJson = serde_json::from_str(&text).map_err(|err| invalid(err.to_string()))?;
    build(json, registry).map_err(invalid)
}

/// Reads rules given as JSON (`/_sandbox/config`).
pub fn from_value(value: Value, registry: &Registry) -> Result<RuleSet, String> {
    let json: RulesJson = serde_json::from_value(value).map_err(|err| err.to_string())?;
    build(json, registry)
}

fn build(json: RulesJson, registry: &Registry) -> Result<RuleSet, String> {
    let mut set = RuleSet::default();
    for (type_name, properties) in json {
        let ty = registry
            .resolve(&type_name)
            .ok_or_else(|| format!("unknown object type {type_name}"))?;
        for (property, rules) in properties {
            let def = ty
                .prop(&property)
                .map(|p| &ty.properties[p])
                .ok_or_else(|| format!("{type_name} has no property {property}"))?;
            for (rule_name, body) in rules {
                let rule_type = RuleType::parse(&rule_name).ok_or_else(|| {
                    format!("{type_name}.{property}: {rule_name} is not a rule type")
                })?;
                let rule = Rule::new(def, rule_type, body)
                    .map_err(|msg| format!("{type_name}.{property}.{rule_name}: {msg}"))?;
                set.put(ty.index, &def.name, rule);
            }
        }
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_types_by_id_or_name() {
        let registry = Registry::new(1, None).unwrap();
        let set = from_value(
            json!({
                "contacts": {"firstname": {"MAX_LENGTH": {"ruleArguments": ["5"]},
                                           "ALPHANUMERIC": {"ruleArguments": ["ALPHA_ONLY"]}}},
                "0-3": {"amount": {"DECIMAL": {"ruleArguments": ["2"], "shouldApplyNormalization": true}}}
            }),
            &registry,
        )
        .unwrap();
        assert_eq!(set.len(), 3);
        let deals = registry.resolve("deals").unwrap();
        assert_eq!(set.of_type(deals.index).count(), 1);
    }

    #[test]
    fn errors_name_the_rule_at_fault() {
        let registry = Registry::new(1, None).unwrap();
        let err = |v| from_value(v, &registry).unwrap_err();
        assert_eq!(err(json!({"nope": {}})), "unknown object type nope");
        assert_eq!(
            err(json!({"contacts": {"shoe_size": {}}})),
            "contacts has no property shoe_size"
        );
        assert_eq!(
            err(json!({"contacts": {"firstname": {"MAXLEN": {"ruleArguments": []}}}})),
            "contacts.firstname: MAXLEN is not a rule type"
        );
        assert!(
            err(json!({"contacts": {"firstname": {"MAX_LENGTH": {"ruleArguments": ["x"]}}}}))
                .starts_with("contacts.firstname.MAX_LENGTH: MAX_LENGTH takes one argument")
        );
        assert!(
            err(json!({"contacts": {"firstname": {"MAX_LENGTH": {"args": ["1"]}}}}))
                .contains("unknown field")
        );
    }
}
