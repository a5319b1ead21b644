//! The property validation rules of an object type as the portal serves them
//! (`GET …/property-validations/{objectTypeId}`), fetched through [`Portal`] like every request.
//! This file only reads them; `prepare::rules` decides which the engine checks itself.
//!
//! Admin-configured rules are enforced on every CRM write from API version 2026-09 (API-NOTES §4);
//! the endpoint exists under v3 and 2026-03 too, so they are read in every version.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use super::Portal;
use super::read::{SchemaError, get};

/// One rule as the portal serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    /// `ruleType`: `MAX_LENGTH`, `REGEX`, … (kept as text: a type etl does not know is still a rule).
    pub rule_type: String,
    /// `ruleArguments`, as served.
    pub arguments: Vec<String>,
    /// `shouldApplyNormalization`: check the value with surrounding whitespace removed.
    pub normalize: bool,
}

impl fmt::Display for RuleSpec {
    /// `MAX_LENGTH ["4"]`: the rule and its arguments, as a dead letter names them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.rule_type, self.arguments)
    }
}

/// The validation rules of one object type's properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationRules {
    /// Property name → its rules, in the order served.
    pub by_property: BTreeMap<String, Vec<RuleSpec>>,
    /// Why the portal's rules are unknown (it has no property-validations endpoint); `None` when
    /// they were read (or none were asked for).
    pub unavailable: Option<String>,
}

#[derive(Deserialize)]
struct RawRules {
    results: Vec<RawProperty>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProperty {
    property_name: String,
    #[serde(default)]
    property_validation_rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRule {
    rule_type: String,
    #[serde(default)]
    rule_arguments: Vec<String>,
    #[serde(default)]
    should_apply_normalization: bool,
}

impl ValidationRules {
    /// Parses a `GET …/property-validations/{objectTypeId}` body.
    pub fn from_json(body: &[u8]) -> Result<ValidationRules, serde_json::Error> {
        let raw: RawRules = serde_json::from_slice(body)?;
        let mut by_property: BTreeMap<String, Vec<RuleSpec>> = BTreeMap::new();
        for property in raw.results {
            by_property
                .entry(property.property_name)
                .or_default()
                .extend(
                    property
                        .property_validation_rules
                        .into_iter()
                        .map(|r| RuleSpec {
                            rule_type: r.rule_type,
                            arguments: r.rule_arguments,
                            normalize: r.should_apply_normalization,
                        }),
                );
        }
        Ok(ValidationRules {
            by_property,
            unavailable: None,
        })
    }

    /// The rules of `property` (none when it has no rules).
    pub fn of(&self, property: &str) -> &[RuleSpec] {
        self.by_property.get(property).map_or(&[], Vec::as_slice)
    }
}

/// Fetches the rules of `object` through `portal`. A portal without the endpoint (404) has no rules
/// etl can know: the result says so and the portal stays the judge. Every other failure is the
/// schema fetch's (a refused token, the daily limit, an unreachable portal).
pub async fn fetch(portal: &Portal, object: &str) -> Result<ValidationRules, SchemaError> {
    let path = portal.paths().property_validations(object);
    match get(portal, &path).await {
        Ok(body) => ValidationRules::from_json(&body).map_err(|e| SchemaError::Parse {
            url: portal.url(&path),
            reason: e.to_string(),
        }),
        Err(SchemaError::NotFound { status, .. }) => Ok(ValidationRules {
            unavailable: Some(format!(
                "the portal has no property-validations endpoint (HTTP {status} from {path})"
            )),
            ..ValidationRules::default()
        }),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hubspots_shape() {
        let rules = ValidationRules::from_json(
            br#"{"results":[
                {"propertyName":"zip","propertyValidationRules":[
                    {"ruleType":"ALPHANUMERIC","ruleArguments":["NUMERIC_ONLY"],"shouldApplyNormalization":true},
                    {"ruleType":"MAX_LENGTH","ruleArguments":["5"]}]},
                {"propertyName":"email","propertyValidationRules":[{"ruleType":"EMAIL"}]}
            ]}"#,
        )
        .unwrap();
        assert_eq!(rules.of("zip").len(), 2);
        assert!(rules.of("zip")[0].normalize);
        assert_eq!(rules.of("zip")[1].to_string(), "MAX_LENGTH [\"5\"]");
        assert_eq!(
            rules.of("email"),
            [RuleSpec {
                rule_type: "EMAIL".into(),
                arguments: vec![],
                normalize: false
            }]
        );
        assert!(rules.of("firstname").is_empty());
        assert!(rules.unavailable.is_none());
        assert!(ValidationRules::from_json(br#"{"results":[{"propertyName":1}]}"#).is_err());
    }
}
