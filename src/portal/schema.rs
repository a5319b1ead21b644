//! The portal's property schema for one object type: which properties exist, their types and options,
//! which are unique or read-only, and which are required on create.
//!
//! Parsing is a pure function ([`ObjectSchema::from_json`]) so validation is testable without a
//! server; [`fetch`] gets the JSON from the properties endpoint (and, for custom `2-…` types, the
//! schema endpoint for the required properties) through the [`Portal`]: the rate gate, retries and
//! the stop switch, like every other request. [`fetch_for_writing`] adds the property validation
//! rules (`rules.rs`), which a write must also satisfy.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::Portal;
pub use super::read::SchemaError;
use super::read::get;
use super::rules::{self, ValidationRules};
use super::standard::{is_custom, nearest_standard, standard_object};
use crate::config::ConfigError;

/// The property schema of one object type.
#[derive(Debug, Clone)]
pub struct ObjectSchema {
    /// The object type as configured (`contacts`, `0-1`, `2-1234`).
    pub object: String,
    pub properties: HashMap<String, PropertySchema>,
    /// What a create must carry.
    pub required: Required,
    /// The admin-configured validation rules of the properties (empty unless fetched for a write).
    pub rules: ValidationRules,
}

/// One property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertySchema {
    pub name: String,
    pub label: String,
    pub kind: PropertyType,
    /// HubSpot's `fieldType` (`checkbox` makes an enumeration multi-valued).
    pub field_type: String,
    pub options: Vec<EnumOption>,
    /// `hasUniqueValue`.
    pub unique: bool,
    /// `modificationMetadata.readOnlyValue`.
    pub read_only: bool,
    pub calculated: bool,
}

impl PropertySchema {
    /// Whether a write may set this property.
    pub fn writable(&self) -> bool {
        !self.read_only && !self.calculated && self.field_type != "calculation_equation"
    }

    /// A multi-checkbox enumeration: values are `;`-joined.
    pub fn multi_valued(&self) -> bool {
        self.kind == PropertyType::Enumeration && self.field_type == "checkbox"
    }
}

/// HubSpot's property `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyType {
    String,
    Number,
    Date,
    DateTime,
    Bool,
    Enumeration,
    PhoneNumber,
    Other(String),
}

/// One enumeration option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumOption {
    pub label: String,
    /// The internal value that is sent.
    pub value: String,
    pub hidden: bool,
}

/// Required properties on create.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Required {
    /// Every one of these.
    pub all_of: Vec<String>,
    /// At least one of these (when non-empty).
    pub any_of: Vec<String>,
}

#[derive(Deserialize)]
struct RawProperties {
    results: Vec<RawProperty>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProperty {
    name: String,
    #[serde(default)]
    label: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    field_type: String,
    #[serde(default)]
    options: Vec<RawOption>,
    #[serde(default)]
    has_unique_value: bool,
    #[serde(default)]
    modification_metadata: Option<RawModification>,
    #[serde(default)]
    calculated: bool,
}

#[derive(Deserialize)]
struct RawOption {
    #[serde(default)]
    label: String,
    value: String,
    #[serde(default)]
    hidden: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawModification {
    #[serde(default)]
    read_only_value: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawObjectSchema {
    #[serde(default)]
    required_properties: Vec<String>,
}

impl ObjectSchema {
    /// Parses a `GET /crm/v3/properties/{objectType}` body. Required properties come from our table for
    /// standard types; for custom types add them with [`ObjectSchema::with_custom_required`].
    pub fn from_json(object: &str, properties: &[u8]) -> Result<ObjectSchema, serde_json::Error> {
        let raw: RawProperties = serde_json::from_slice(properties)?;
        let properties = raw
            .results
            .into_iter()
            .map(|p| {
                let kind = match p.kind.as_str() {
                    "string" => PropertyType::String,
                    "number" => PropertyType::Number,
                    "date" => PropertyType::Date,
                    "datetime" => PropertyType::DateTime,
                    "bool" => PropertyType::Bool,
                    "enumeration" => PropertyType::Enumeration,
                    "phone_number" => PropertyType::PhoneNumber,
                    other => PropertyType::Other(other.to_string()),
                };
                let schema = PropertySchema {
                    name: p.name.clone(),
                    label: p.label,
                    kind,
                    field_type: p.field_type,
                    options: p
                        .options
                        .into_iter()
                        .map(|o| EnumOption {
                            label: o.label,
                            value: o.value,
                            hidden: o.hidden,
                        })
                        .collect(),
                    unique: p.has_unique_value,
                    read_only: p.modification_metadata.is_some_and(|m| m.read_only_value),
                    calculated: p.calculated,
                };
                (p.name, schema)
            })
            .collect();
        let required = standard_object(object)
            .map(|s| Required {
                all_of: s.all_of.iter().map(|p| p.to_string()).collect(),
                any_of: s.any_of.iter().map(|p| p.to_string()).collect(),
            })
            .unwrap_or_default();
        Ok(ObjectSchema {
            object: object.to_string(),
            properties,
            required,
            rules: ValidationRules::default(),
        })
    }

    /// Adds the `requiredProperties` of a `GET /crm/v3/schemas/{objectType}` body (custom objects).
    pub fn with_custom_required(
        mut self,
        schema: &[u8],
    ) -> Result<ObjectSchema, serde_json::Error> {
        let raw: RawObjectSchema = serde_json::from_slice(schema)?;
        for p in raw.required_properties {
            if !self.required.all_of.contains(&p) {
                self.required.all_of.push(p);
            }
        }
        Ok(self)
    }

    /// The property named `name`.
    pub fn property(&self, name: &str) -> Option<&PropertySchema> {
        self.properties.get(name)
    }

    /// Whether `name` identifies at most one record: `hasUniqueValue`, or contacts' `email`.
    pub fn is_unique(&self, name: &str) -> bool {
        self.property(name).is_some_and(|p| p.unique) || (self.is_contacts() && name == "email")
    }

    /// Whether this is the contacts object (`contacts` or `0-1`).
    pub fn is_contacts(&self) -> bool {
        standard_object(&self.object).is_some_and(|s| s.id == "0-1")
    }
}

impl SchemaError {
    /// The pipeline file's mistake behind this error, if it is one (an unknown object type): then
    /// the error names the file and `target.object`.
    pub fn pipeline_mistake(&self, file: &Path) -> Option<ConfigError> {
        matches!(self, SchemaError::UnknownObject { .. }).then(|| ConfigError::Invalid {
            file: file.to_path_buf(),
            key: "target.object".into(),
            message: self.to_string(),
        })
    }
}

/// The schema a write is checked against: [`fetch`], plus the properties' validation rules.
pub async fn fetch_for_writing(portal: &Portal, object: &str) -> Result<ObjectSchema, SchemaError> {
    let mut schema = fetch(portal, object).await?;
    schema.rules = rules::fetch(portal, object).await?;
    Ok(schema)
}

/// Fetches the schema of `object` through `portal`. A refused token, a spent daily budget or an
/// interrupt stop the fetch with the reason; the token never appears in errors.
pub async fn fetch(portal: &Portal, object: &str) -> Result<ObjectSchema, SchemaError> {
    let path = portal.paths().properties(object);
    let body = get(portal, &path)
        .await
        .map_err(|err| unknown_object(err, object))?;
    let schema = ObjectSchema::from_json(object, &body).map_err(|e| SchemaError::Parse {
        url: portal.url(&path),
        reason: e.to_string(),
    })?;
    if !is_custom(object) {
        return Ok(schema);
    }
    let path = portal.paths().schema(object);
    let body = get(portal, &path).await?;
    schema
        .with_custom_required(&body)
        .map_err(|e| SchemaError::Parse {
            url: portal.url(&path),
            reason: e.to_string(),
        })
}

/// HubSpot answers a properties request for an object type it does not know with a 400 "Unable
/// to infer object type from: …" (or a 404): that is an unknown object type.
fn unknown_object(err: SchemaError, object: &str) -> SchemaError {
    let unknown = match &err {
        SchemaError::NotFound { .. } => true,
        SchemaError::Status {
            status: 400,
            message,
            ..
        } => message.contains("infer object type"),
        _ => false,
    };
    if !unknown {
        return err;
    }
    SchemaError::UnknownObject {
        object: object.to_string(),
        hint: nearest_standard(object)
            .map(|name| format!(" (did you mean {name:?}?)"))
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONTACTS: &str = r#"{"results":[
        {"name":"email","label":"Email","type":"string","fieldType":"text","hasUniqueValue":false,
         "modificationMetadata":{"readOnlyValue":false,"archivable":true},"calculated":false},
        {"name":"lifecyclestage","label":"Lifecycle Stage","type":"enumeration","fieldType":"radio",
         "options":[{"label":"Lead","value":"lead","hidden":false,"displayOrder":1}]},
        {"name":"hs_object_id","label":"Record ID","type":"number","fieldType":"number",
         "hasUniqueValue":true,"modificationMetadata":{"readOnlyValue":true}},
        {"name":"score","label":"Score","type":"number","fieldType":"calculation_equation","calculated":true},
        {"name":"tags","label":"Tags","type":"enumeration","fieldType":"checkbox","options":[]},
        {"name":"ext_id","label":"External id","type":"string","fieldType":"text","hasUniqueValue":true}
    ]}"#;

    #[test]
    fn parses_hubspot_shape() {
        let s = ObjectSchema::from_json("contacts", CONTACTS.as_bytes()).unwrap();
        assert_eq!(s.properties.len(), 6);
        let stage = s.property("lifecyclestage").unwrap();
        assert_eq!(stage.kind, PropertyType::Enumeration);
        assert_eq!(stage.options[0].value, "lead");
        assert!(!stage.multi_valued());
        assert!(s.property("tags").unwrap().multi_valued());
        assert!(!s.property("hs_object_id").unwrap().writable());
        assert!(!s.property("score").unwrap().writable());
        assert!(s.property("email").unwrap().writable());
        assert!(s.is_unique("email"), "contacts' email identifies a contact");
        assert!(s.is_unique("ext_id"));
        assert!(!s.is_unique("lifecyclestage"));
        assert_eq!(s.required.any_of, ["email", "firstname", "lastname"]);
    }

    #[test]
    fn standard_objects_by_name_or_id() {
        use super::super::standard::standard_object;
        assert_eq!(standard_object("0-3").unwrap().name, "deals");
        assert_eq!(standard_object("Tickets").unwrap().id, "0-5");
        assert_eq!(standard_object("postal_mail").unwrap().id, "0-116");
        assert!(standard_object("2-123").is_none());
        let s = ObjectSchema::from_json("0-3", br#"{"results":[]}"#).unwrap();
        assert_eq!(s.required.all_of, ["dealname", "dealstage", "pipeline"]);
        assert!(!s.is_contacts());
    }

    #[test]
    fn custom_required_from_schema_body() {
        let s = ObjectSchema::from_json("2-99", br#"{"results":[]}"#)
            .unwrap()
            .with_custom_required(
                br#"{"id":"99","requiredProperties":["car_id","model"],"labels":{}}"#,
            )
            .unwrap();
        assert_eq!(s.required.all_of, ["car_id", "model"]);
        assert!(s.required.any_of.is_empty());
    }

    #[tokio::test]
    async fn connection_refused_names_the_url() {
        use super::super::client::Client;
        use super::super::gate::{Budget, RateGate};
        use crate::config::secret::Secret;
        use std::num::NonZeroU32;
        use std::sync::Arc;
        use std::time::Duration;
        // Bind then drop a listener to get a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let token = Secret::new("pat-secret-value");
        let client = Client::new(&base, &token, Duration::from_secs(5)).unwrap();
        let gate = || {
            Arc::new(RateGate::new(
                NonZeroU32::new(100).unwrap(),
                Duration::from_secs(1),
            ))
        };
        let budget = Budget {
            general: gate(),
            associations: gate(),
        };
        let portal = Portal::new(client, Default::default(), budget, Default::default(), 0);
        let err = fetch(&portal, "contacts").await.unwrap_err().to_string();
        assert!(err.contains(&base), "{err}");
        assert!(!err.contains("pat-secret-value"), "{err}");
    }
}
