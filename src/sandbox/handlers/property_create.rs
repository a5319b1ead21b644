//! `POST /crm/v3/properties/{objectType}`: creates a property on a standard or custom type (HubSpot's
//! `PropertyCreate`). The new property is usable at once: in writes, as an `idProperty` when unique, in
//! `GET /crm/v3/properties` and `/crm/v3/schemas`. `/_sandbox/reset` removes it again.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::super::error::ApiError;
use super::super::objects::{MAX_UNIQUE, Refusal};
use super::super::properties::{OptionDef, PropType, PropertyDef};
use super::super::state::AppState;
use super::super::view;
use super::parse_body;

/// The body (unknown keys such as `displayOrder` or `formField` are accepted and ignored).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PropertyCreate {
    name: String,
    label: String,
    #[serde(rename = "type")]
    ptype: String,
    field_type: String,
    group_name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    options: Vec<OptionInput>,
    #[serde(default)]
    has_unique_value: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OptionInput {
    label: String,
    value: String,
    #[serde(default)]
    display_order: Option<i32>,
    #[serde(default)]
    hidden: bool,
}

/// The field types each type takes (DOC-PROP's table).
fn field_types(ptype: PropType) -> &'static [&'static str] {
    match ptype {
        PropType::Bool => &["booleancheckbox", "calculation_equation"],
        PropType::Enumeration => &[
            "booleancheckbox",
            "checkbox",
            "radio",
            "select",
            "calculation_equation",
        ],
        PropType::Date | PropType::Datetime => &["date"],
        PropType::Number => &["number", "calculation_equation"],
        PropType::String => &[
            "text",
            "textarea",
            "html",
            "phonenumber",
            "file",
            "calculation_equation",
        ],
        PropType::PhoneNumber => &["phonenumber"],
    }
}

/// Checks the body and builds the definition, or the 400 that says what is wrong.
fn definition(body: PropertyCreate) -> Result<PropertyDef, ApiError> {
    let name = body.name.as_str();
    let well_formed = name.len() <= 100
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !well_formed {
        return Err(ApiError::validation(format!(
            "Property name '{name}' is invalid: a name starts with a lower-case letter and holds only \
             lower-case letters, digits and underscores (at most 100 characters)"
        )));
    }
    if body.label.trim().is_empty() || body.group_name.trim().is_empty() {
        return Err(ApiError::validation(
            "A property needs a non-empty label and groupName",
        ));
    }
    let ptype = match body.ptype.as_str() {
        "bool" | "date" | "datetime" | "enumeration" | "number" | "phone_number" | "string" => {
            PropType::parse(&body.ptype)
        }
        _ => None,
    }
    .ok_or_else(|| {
        ApiError::validation(format!(
            "'{}' is not a valid property type: use one of [bool, date, datetime, enumeration, number, phone_number, string]",
            body.ptype
        ))
    })?;
    let allowed = field_types(ptype);
    if !allowed.contains(&body.field_type.as_str()) {
        return Err(ApiError::validation(format!(
            "Field type '{}' is not valid for a property of type '{}': use one of [{}]",
            body.field_type,
            ptype.as_str(),
            allowed.join(", ")
        )));
    }
    let unique_ok = matches!(
        (ptype, body.field_type.as_str()),
        (PropType::String, "text") | (PropType::Number, "number")
    );
    if body.has_unique_value && !unique_ok {
        return Err(ApiError::validation(format!(
            "Property '{name}' cannot require unique values: only single-line text (string/text) and number properties can"
        )));
    }
    let mut def = PropertyDef::new(name, &body.label, ptype);
    def.field_type = body.field_type;
    def.group = body.group_name;
    def.description = body.description;
    def.unique = body.has_unique_value;
    def.custom = true;
    if ptype == PropType::Enumeration {
        if body.options.is_empty() {
            return Err(ApiError::validation(format!(
                "Enumeration property '{name}' needs at least one option"
            )));
        }
        let mut options: Vec<OptionDef> = Vec::with_capacity(body.options.len());
        for (i, o) in body.options.into_iter().enumerate() {
            if options.iter().any(|known| known.value == o.value) {
                return Err(ApiError::validation(format!(
                    "Option value '{}' appears twice in property '{name}'",
                    o.value
                )));
            }
            options.push(OptionDef {
                label: o.label,
                value: o.value,
                display_order: o.display_order.unwrap_or(i as i32),
                hidden: o.hidden,
            });
        }
        def.options = options;
    }
    Ok(def)
}

/// `POST /crm/v3/properties/{objectType}`: 201 with the property; 409 when the name is taken; 400 for a
/// bad definition or an eleventh unique property.
pub async fn create(
    State(app): State<AppState>,
    Path(object_type): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ty = app.resolve(&object_type)?;
    let def = definition(parse_body(&body)?)?;
    let name = def.name.clone();
    let updated = app.add_property(&ty, def).map_err(|refusal| match refusal {
        Refusal::Exists(name) => {
            ApiError::already_exists(format!("A property named '{name}' already exists."))
        }
        Refusal::TooManyUnique(name) => ApiError::validation(format!(
            "Unable to create property '{name}': object type {} already has {MAX_UNIQUE} unique value \
             properties, the most HubSpot allows",
            ty.id
        )),
    })?;
    let prop = updated
        .prop(&name)
        .ok_or_else(|| ApiError::validation("the property vanished"))?;
    Ok(view::json(
        StatusCode::CREATED,
        &updated.properties[prop].to_json(!updated.custom),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(json: &str) -> PropertyCreate {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn definitions_are_checked() {
        let ok = definition(body(
            r#"{"name":"tier","label":"Tier","type":"enumeration","fieldType":"select","groupName":"g",
                "options":[{"label":"Gold","value":"gold"},{"label":"Silver","value":"silver"}]}"#,
        ))
        .unwrap();
        assert_eq!(ok.option_values().collect::<Vec<_>>(), ["gold", "silver"]);
        assert!(ok.custom);
        for bad in [
            r#"{"name":"Tier","label":"T","type":"string","fieldType":"text","groupName":"g"}"#,
            r#"{"name":"t","label":"T","type":"string","fieldType":"select","groupName":"g"}"#,
            r#"{"name":"t","label":"T","type":"text","fieldType":"text","groupName":"g"}"#,
            r#"{"name":"t","label":"T","type":"enumeration","fieldType":"select","groupName":"g"}"#,
            r#"{"name":"t","label":"T","type":"date","fieldType":"date","groupName":"g","hasUniqueValue":true}"#,
            r#"{"name":"t","label":" ","type":"string","fieldType":"text","groupName":"g"}"#,
        ] {
            assert!(definition(body(bad)).is_err(), "{bad}");
        }
        let unique = definition(body(
            r#"{"name":"member_no","label":"M","type":"string","fieldType":"text","groupName":"g","hasUniqueValue":true}"#,
        ))
        .unwrap();
        assert!(unique.unique);
    }
}
