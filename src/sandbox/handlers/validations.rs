//! Property validation rules (the Property Validations API, same under v3, 2026-03 and 2026-09):
//! `GET …/{objectTypeId}` (every property of a type that has rules), `GET …/{objectTypeId}/{propertyName}`,
//! and `GET`/`PUT …/{objectTypeId}/{propertyName}/rule-type/{ruleType}`. The spec has no `DELETE`: a
//! rule is replaced by a `PUT` of its type, and `/_sandbox/reset` returns to the start rules.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::super::error::ApiError;
use super::super::objects::ObjectType;
use super::super::properties::PropertyDef;
use super::super::rules::{Rule, RuleBody, RuleType};
use super::super::state::AppState;
use super::super::view;
use super::parse_body;

/// A 404 with HubSpot's `OBJECT_NOT_FOUND` category.
fn missing(message: String) -> ApiError {
    let mut err = ApiError::not_found();
    err.body.message = message;
    err.body.category = Some("OBJECT_NOT_FOUND");
    err
}

fn property<'a>(ty: &'a ObjectType, name: &str) -> Result<&'a PropertyDef, ApiError> {
    ty.prop(name)
        .map(|p| &ty.properties[p])
        .ok_or_else(|| missing(format!("Property {name} does not exist on {}", ty.id)))
}

fn rule_type(name: &str) -> Result<RuleType, ApiError> {
    RuleType::parse(name).ok_or_else(|| {
        ApiError::validation(format!(
            "Unknown ruleType {name}: use one of [{}]",
            RuleType::names().collect::<Vec<_>>().join(", ")
        ))
    })
}

fn rules_json<'a>(rules: impl Iterator<Item = &'a Rule>) -> Vec<Value> {
    rules
        .map(|r| serde_json::to_value(r.to_json()).unwrap_or(Value::Null))
        .collect()
}

/// `GET …/{objectTypeId}`: `{"results": [{"propertyName", "propertyValidationRules": [...]}]}`.
pub async fn of_type(
    State(app): State<AppState>,
    Path(object_type): Path<String>,
) -> Result<Response, ApiError> {
    let ty = app.resolve(&object_type)?;
    let rules = app.rules.snapshot();
    let results: Vec<Value> = rules
        .of_type(ty.index)
        .map(|(name, rules)| {
            json!({"propertyName": name, "propertyValidationRules": rules_json(rules.values())})
        })
        .collect();
    Ok(view::json(StatusCode::OK, &json!({ "results": results })))
}

/// `GET …/{objectTypeId}/{propertyName}`: `{"results": [rule, …]}`, empty when the property has none.
pub async fn of_property(
    State(app): State<AppState>,
    Path((object_type, name)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let ty = app.resolve(&object_type)?;
    let def = property(&ty, &name)?;
    let rules = app.rules.snapshot();
    let results = rules
        .of_property(ty.index, &def.name)
        .map(|r| rules_json(r.values()))
        .unwrap_or_default();
    Ok(view::json(StatusCode::OK, &json!({ "results": results })))
}

/// `GET …/{propertyName}/rule-type/{ruleType}`: the rule, or 404 when the property has none of that type.
pub async fn one(
    State(app): State<AppState>,
    Path((object_type, name, kind)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let ty = app.resolve(&object_type)?;
    let def = property(&ty, &name)?;
    let kind = rule_type(&kind)?;
    let rules = app.rules.snapshot();
    let rule = rules
        .of_property(ty.index, &def.name)
        .and_then(|r| r.get(&kind))
        .ok_or_else(|| {
            missing(format!(
                "Property {name} of {} has no {} rule",
                ty.id,
                kind.name()
            ))
        })?;
    Ok(view::json(StatusCode::OK, &rule.to_json()))
}

/// `PUT …/{propertyName}/rule-type/{ruleType}` with `{"ruleArguments": [...], "shouldApplyNormalization"?}`:
/// sets the rule, replacing one of the same type; 204. Arguments that do not fit the rule, or a rule
/// type that does not fit the property, are a 400.
pub async fn put(
    State(app): State<AppState>,
    Path((object_type, name, kind)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ty = app.resolve(&object_type)?;
    let def = property(&ty, &name)?;
    let kind = rule_type(&kind)?;
    let body: RuleBody = parse_body(&body)?;
    let rule = Rule::new(def, kind, body).map_err(ApiError::validation)?;
    app.rules.put(ty.index, &def.name, rule);
    Ok(StatusCode::NO_CONTENT.into_response())
}
