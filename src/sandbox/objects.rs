//! The object types: every standard CRM type (by id `0-1`, plural `contacts` and singular `contact`),
//! plus custom `2-…` types read from a schema file, each with its properties, required properties and
//! unique indexes. Served as schemas at `GET /crm/v3/schemas[/{objectType}]`. `registry.rs` holds them
//! for the running portal and resolves names.

use std::io;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};

use super::hasher::FastMap;
use super::properties::{self, Format, OptionDef, PropType, PropertyDef, ServerSet};

/// What a create must carry.
#[derive(Debug, Clone)]
pub enum Required {
    /// Every one of these (deals: `dealname`, `dealstage`, `pipeline`).
    All(Vec<String>),
    /// At least one of these (contacts: `email`, `firstname` or `lastname`; companies: `domain` or `name`).
    AnyOf(Vec<String>),
}

/// One object type. Immutable once shared: a property created at run time makes a new version
/// ([`ObjectType::with_property`]) that the registry swaps in.
#[derive(Debug, Clone)]
pub struct ObjectType {
    /// Position in the registry (and in the store's table list).
    pub index: usize,
    /// `0-1`, `2-3`, …
    pub id: String,
    /// The plural path name (`contacts`, `line_items`, custom `cars`).
    pub name: String,
    /// `contact`, `line_item`, …
    pub singular: String,
    /// Singular label, as in "Contact already exists".
    pub label: String,
    pub plural_label: String,
    /// `p{portalId}_{name}` for custom types, the name for standard ones.
    pub fully_qualified_name: String,
    pub custom: bool,
    pub primary_display: String,
    pub required: Required,
    pub searchable: Vec<String>,
    pub properties: Vec<PropertyDef>,
    by_name: FastMap<String, usize>,
    /// Properties returned when a read names none.
    pub defaults: Vec<usize>,
    /// The server-set properties, returned on every read.
    pub server: Vec<usize>,
    /// For each property, the unique index it belongs to (`email` and `hs_additional_emails` share one).
    pub unique_slot: Vec<Option<usize>>,
    pub unique_count: usize,
}

/// HubSpot's limit on unique-value properties per object (DOC-OBJ, DOC-PROP).
pub const MAX_UNIQUE: usize = 10;

/// Why a property cannot be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A property (or a read-only, server-set one) already has the name.
    Exists(String),
    /// The type already has `MAX_UNIQUE` custom unique properties.
    TooManyUnique(String),
}

impl ObjectType {
    /// This type with one more property, appended after the others so every existing property index
    /// (in records, indexes and snapshots) keeps its meaning. A unique property gets its own new slot.
    pub fn with_property(&self, def: PropertyDef) -> Result<ObjectType, Refusal> {
        if self.prop(&def.name).is_some() {
            return Err(Refusal::Exists(def.name));
        }
        if def.unique && self.custom_unique() >= MAX_UNIQUE {
            return Err(Refusal::TooManyUnique(def.name));
        }
        let mut ty = self.clone();
        let index = ty.properties.len();
        ty.by_name.insert(def.name.clone(), index);
        ty.unique_slot.push(def.unique.then(|| {
            ty.unique_count += 1;
            ty.unique_count - 1
        }));
        ty.properties.push(def);
        Ok(ty)
    }

    /// Unique properties defined by the portal (HubSpot's own, like contacts' `email`, do not count).
    pub fn custom_unique(&self) -> usize {
        self.properties
            .iter()
            .filter(|p| p.unique && (self.custom || p.custom))
            .count()
    }

    /// The index of a property by name.
    pub fn prop(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// `CONTACT`, `LINE_ITEM`: the form used in "Could not get some CONTACT objects".
    pub fn upper(&self) -> String {
        self.singular.to_uppercase()
    }

    /// Activities that can be pinned on a record (`hs_pinned_engagement_id`).
    pub fn is_engagement(&self) -> bool {
        matches!(
            self.name.as_str(),
            "calls" | "emails" | "meetings" | "notes" | "tasks" | "communications" | "postal_mail"
        )
    }

    /// The list named by a `Required` rule.
    pub fn required_names(&self) -> &[String] {
        match &self.required {
            Required::All(names) | Required::AnyOf(names) => names,
        }
    }

    /// HubSpot's schema JSON (`GET /crm/v3/schemas/{objectType}`). `requiredProperties` lists what every
    /// create needs; an "at least one of" rule is listed under `requiredAnyOf` (a sandbox extension) instead.
    pub fn schema_json(&self, portal_id: u64) -> Value {
        let (required, any_of): (&[String], &[String]) = match &self.required {
            Required::All(names) => (names, &[]),
            Required::AnyOf(names) => (&[], names),
        };
        let props: Vec<Value> = self
            .properties
            .iter()
            .map(|p| p.to_json(!self.custom))
            .collect();
        json!({
            "id": self.id.split_once('-').map_or("", |(_, n)| n),
            "objectTypeId": self.id,
            "name": self.name,
            "fullyQualifiedName": self.fully_qualified_name,
            "labels": {"singular": self.label, "plural": self.plural_label},
            "primaryDisplayProperty": self.primary_display,
            "secondaryDisplayProperties": [],
            "requiredProperties": required,
            "requiredAnyOf": any_of,
            "searchableProperties": self.searchable,
            "properties": props,
            "associations": [],
            // Required in the 2026-03 and 2026-09 schema specs; the sandbox keeps no sensitive data.
            "allowsSensitiveProperties": false,
            "portalId": portal_id,
            "createdAt": "2020-01-01T00:00:00.000Z",
            "updatedAt": "2020-01-01T00:00:00.000Z",
            "archived": false,
        })
    }

    fn build(
        index: usize,
        ids: Names,
        custom: bool,
        primary_display: String,
        required: Required,
        own: Vec<PropertyDef>,
        default_names: &[&str],
    ) -> ObjectType {
        let contacts = ids.name == "contacts";
        let mut props = own;
        props.extend(properties::server_set(contacts));
        let group = format!("{}information", ids.singular.replace('_', ""));
        for p in &mut props {
            if p.group.is_empty() {
                p.group = group.clone();
            }
        }
        let by_name: FastMap<String, usize> = props
            .iter()
            .enumerate()
            .map(|(i, p)| (p.name.clone(), i))
            .collect();
        let server: Vec<usize> = (0..props.len())
            .filter(|&i| props[i].server != ServerSet::No)
            .collect();
        let defaults = default_names
            .iter()
            .filter_map(|n| by_name.get(*n).copied())
            .collect();
        // Email-like unique properties share one index: an address may live in `email` of one contact
        // or `hs_additional_emails` of another, never both (DOC-CON).
        let mut unique_slot = vec![None; props.len()];
        let mut unique_count = 0;
        let mut email_slot = None;
        for (i, p) in props.iter().enumerate() {
            if !p.unique {
                continue;
            }
            let slot = if p.format != Format::Plain {
                *email_slot.get_or_insert_with(|| {
                    unique_count += 1;
                    unique_count - 1
                })
            } else {
                unique_count += 1;
                unique_count - 1
            };
            unique_slot[i] = Some(slot);
        }
        let searchable = vec![primary_display.clone()];
        ObjectType {
            index,
            id: ids.id,
            fully_qualified_name: ids.fully_qualified_name,
            name: ids.name,
            singular: ids.singular,
            label: ids.label,
            plural_label: ids.plural_label,
            custom,
            primary_display,
            required,
            searchable,
            properties: props,
            by_name,
            defaults,
            server,
            unique_slot,
            unique_count,
        }
    }
}

struct Names {
    id: String,
    name: String,
    singular: String,
    label: String,
    plural_label: String,
    fully_qualified_name: String,
}

/// `(objectTypeId, plural, singular, label, plural label, primary display property)`.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// The standard types (the seed's table). Types whose required property the notes leave open use their
/// primary name property (README: "The sandbox").
const STANDARD: [Row; 23] = [
    (
        "0-2",
        "companies",
        "company",
        "Company",
        "Companies",
        "name",
    ),
    ("0-1", "contacts", "contact", "Contact", "Contacts", "email"),
    ("0-3", "deals", "deal", "Deal", "Deals", "dealname"),
    ("0-5", "tickets", "ticket", "Ticket", "Tickets", "subject"),
    (
        "0-421",
        "appointments",
        "appointment",
        "Appointment",
        "Appointments",
        "hs_appointment_name",
    ),
    ("0-48", "calls", "call", "Call", "Calls", "hs_call_title"),
    (
        "0-18",
        "communications",
        "communication",
        "Communication",
        "Communications",
        "hs_communication_body",
    ),
    (
        "0-410",
        "courses",
        "course",
        "Course",
        "Courses",
        "hs_course_name",
    ),
    (
        "0-49",
        "emails",
        "email",
        "Email",
        "Emails",
        "hs_email_subject",
    ),
    ("0-136", "leads", "lead", "Lead", "Leads", "hs_lead_name"),
    (
        "0-8",
        "line_items",
        "line_item",
        "Line item",
        "Line items",
        "name",
    ),
    (
        "0-420", "listings", "listing", "Listing", "Listings", "hs_name",
    ),
    (
        "0-54",
        "marketing_events",
        "marketing_event",
        "Marketing event",
        "Marketing events",
        "hs_event_name",
    ),
    (
        "0-47",
        "meetings",
        "meeting",
        "Meeting",
        "Meetings",
        "hs_meeting_title",
    ),
    ("0-46", "notes", "note", "Note", "Notes", "hs_note_body"),
    (
        "0-123",
        "orders",
        "order",
        "Order",
        "Orders",
        "hs_order_name",
    ),
    (
        "0-116",
        "postal_mail",
        "postal_mail",
        "Postal mail",
        "Postal mail",
        "hs_postal_mail_body",
    ),
    ("0-7", "products", "product", "Product", "Products", "name"),
    ("0-14", "quotes", "quote", "Quote", "Quotes", "hs_title"),
    (
        "0-162", "services", "service", "Service", "Services", "hs_name",
    ),
    (
        "0-69",
        "subscriptions",
        "subscription",
        "Subscription",
        "Subscriptions",
        "hs_name",
    ),
    ("0-27", "tasks", "task", "Task", "Tasks", "hs_task_subject"),
    ("0-115", "users", "user", "User", "Users", "hs_email"),
];

fn all(names: &[&str]) -> Required {
    Required::All(names.iter().map(|n| (*n).to_owned()).collect())
}

fn any_of(names: &[&str]) -> Required {
    Required::AnyOf(names.iter().map(|n| (*n).to_owned()).collect())
}

fn standard_required(name: &str, primary: &str) -> Required {
    match name {
        "contacts" => any_of(&["email", "firstname", "lastname"]),
        "companies" => any_of(&["domain", "name"]),
        "deals" => all(&["dealname", "dealstage", "pipeline"]),
        "tickets" => all(&["subject", "hs_pipeline", "hs_pipeline_stage"]),
        "calls" | "emails" | "meetings" | "notes" | "tasks" | "communications" | "postal_mail" => {
            all(&["hs_timestamp"])
        }
        "line_items" => any_of(&["name", "hs_product_id"]),
        "quotes" => all(&["hs_title", "hs_expiration_date"]),
        _ => all(&[primary]),
    }
}

fn standard_defaults(name: &str) -> &'static [&'static str] {
    match name {
        "contacts" => &["firstname", "lastname", "email"],
        "companies" => &["name", "domain"],
        "deals" => &["dealname", "amount", "closedate", "pipeline", "dealstage"],
        "products" => &["name", "description", "price"],
        "tickets" => &[
            "content",
            "hs_pipeline",
            "hs_pipeline_stage",
            "hs_ticket_category",
            "hs_ticket_priority",
            "subject",
        ],
        "line_items" => &["quantity", "amount", "price"],
        _ => &[],
    }
}

/// The standard types, plus the custom types of `schema_file` (HubSpot's schema shape: one object, an
/// array, or `{"results": [...]}`), in registry order.
pub fn portal_types(portal_id: u64, schema_file: Option<&Path>) -> io::Result<Vec<ObjectType>> {
    let mut types = Vec::new();
    for (id, name, singular, label, plural_label, primary) in STANDARD {
        let names = Names {
            id: id.to_owned(),
            name: name.to_owned(),
            singular: singular.to_owned(),
            label: label.to_owned(),
            plural_label: plural_label.to_owned(),
            fully_qualified_name: name.to_owned(),
        };
        types.push(ObjectType::build(
            types.len(),
            names,
            false,
            primary.to_owned(),
            standard_required(name, primary),
            properties::standard(name),
            standard_defaults(name),
        ));
    }
    if let Some(path) = schema_file {
        let text = std::fs::read_to_string(path).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!("cannot read schema file {}: {err}", path.display()),
            )
        })?;
        for schema in parse_schemas(&text).map_err(|msg| invalid(path, &msg))? {
            let ty = custom_type(types.len(), portal_id, schema, &types)
                .map_err(|msg| invalid(path, &msg))?;
            types.push(ty);
        }
    }
    Ok(types)
}

fn invalid(path: &Path, msg: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("schema file {}: {msg}", path.display()),
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaFile {
    name: String,
    #[serde(default)]
    object_type_id: Option<String>,
    #[serde(default)]
    labels: Option<Labels>,
    #[serde(default)]
    primary_display_property: Option<String>,
    #[serde(default)]
    required_properties: Vec<String>,
    #[serde(default)]
    searchable_properties: Vec<String>,
    properties: Vec<PropertyFile>,
}

#[derive(Debug, Deserialize)]
struct Labels {
    singular: Option<String>,
    plural: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PropertyFile {
    name: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(rename = "type")]
    ptype: String,
    #[serde(default)]
    field_type: Option<String>,
    #[serde(default)]
    has_unique_value: bool,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    options: Vec<OptionFile>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OptionFile {
    value: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    display_order: Option<i32>,
    #[serde(default)]
    hidden: bool,
}

fn parse_schemas(text: &str) -> Result<Vec<SchemaFile>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let list = match value {
        Value::Array(items) => items,
        Value::Object(mut map) if map.contains_key("results") => match map.remove("results") {
            Some(Value::Array(items)) => items,
            _ => return Err("`results` must be an array".into()),
        },
        other => vec![other],
    };
    list.into_iter()
        .map(|v| serde_json::from_value(v).map_err(|e| e.to_string()))
        .collect()
}

fn custom_type(
    index: usize,
    portal_id: u64,
    schema: SchemaFile,
    existing: &[ObjectType],
) -> Result<ObjectType, String> {
    let name = schema.name.to_lowercase();
    if existing
        .iter()
        .any(|t| t.name == name || t.singular == name)
    {
        return Err(format!("object type name {name:?} is already taken"));
    }
    let customs = existing.iter().filter(|t| t.custom).count();
    let id = match schema.object_type_id {
        Some(id) if id.starts_with("2-") => id,
        Some(id) => return Err(format!("objectTypeId {id:?} must start with \"2-\"")),
        None => format!("2-{}", customs + 1),
    };
    if existing.iter().any(|t| t.id == id) {
        return Err(format!("objectTypeId {id} is used twice"));
    }
    let mut props = Vec::new();
    for p in schema.properties {
        let ptype = PropType::parse(&p.ptype)
            .ok_or_else(|| format!("property {}: unknown type {:?}", p.name, p.ptype))?;
        if props.iter().any(|d: &PropertyDef| d.name == p.name) {
            return Err(format!("property {} is defined twice", p.name));
        }
        let mut def = PropertyDef::new(&p.name, p.label.as_deref().unwrap_or(&p.name), ptype);
        if let Some(field_type) = p.field_type {
            def.field_type = field_type;
        }
        def.unique = p.has_unique_value;
        def.custom = true;
        def.description = p.description.unwrap_or_default();
        if !p.options.is_empty() {
            def.options = p
                .options
                .into_iter()
                .enumerate()
                .map(|(i, o)| OptionDef {
                    label: o.label.unwrap_or_else(|| o.value.clone()),
                    value: o.value,
                    display_order: o.display_order.unwrap_or(i as i32),
                    hidden: o.hidden,
                })
                .collect();
        }
        if ptype == PropType::Enumeration && def.options.is_empty() {
            return Err(format!("enumeration property {} has no options", def.name));
        }
        props.push(def);
    }
    for required in &schema.required_properties {
        if !props.iter().any(|p| &p.name == required) {
            return Err(format!("required property {required} is not defined"));
        }
    }
    let primary = schema
        .primary_display_property
        .or_else(|| schema.required_properties.first().cloned())
        .or_else(|| props.first().map(|p| p.name.clone()))
        .unwrap_or_else(|| "hs_object_id".to_owned());
    let labels = schema.labels.unwrap_or(Labels {
        singular: None,
        plural: None,
    });
    let names = Names {
        id,
        singular: name.clone(),
        label: labels.singular.unwrap_or_else(|| schema.name.clone()),
        plural_label: labels.plural.unwrap_or_else(|| schema.name.clone()),
        fully_qualified_name: format!("p{portal_id}_{name}"),
        name,
    };
    let defaults = [primary.as_str()];
    let mut ty = ObjectType::build(
        index,
        names,
        true,
        primary.clone(),
        Required::All(schema.required_properties),
        props,
        &defaults,
    );
    if !schema.searchable_properties.is_empty() {
        ty.searchable = schema.searchable_properties;
    }
    Ok(ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contacts() -> ObjectType {
        portal_types(42, None)
            .unwrap()
            .into_iter()
            .find(|t| t.name == "contacts")
            .unwrap()
    }

    #[test]
    fn email_properties_share_a_unique_index() {
        let contacts = contacts();
        let email = contacts.prop("email").unwrap();
        let extra = contacts.prop("hs_additional_emails").unwrap();
        assert_eq!(contacts.unique_slot[email], Some(0));
        assert_eq!(contacts.unique_slot[extra], Some(0));
        assert_eq!(contacts.unique_count, 1);
        assert_eq!(contacts.custom_unique(), 0, "HubSpot's own do not count");
    }

    #[test]
    fn properties_are_appended_with_their_own_unique_slot() {
        let contacts = contacts();
        let before = contacts.properties.len();
        let mut def = PropertyDef::new("member_no", "Member", PropType::String);
        def.unique = true;
        def.custom = true;
        let grown = contacts.with_property(def.clone()).unwrap();
        assert_eq!(grown.prop("member_no"), Some(before));
        assert_eq!(grown.unique_slot[before], Some(1));
        assert_eq!((grown.unique_count, grown.custom_unique()), (2, 1));
        assert_eq!(
            contacts.properties.len(),
            before,
            "the old version is unchanged"
        );
        assert_eq!(
            grown.with_property(def).unwrap_err(),
            Refusal::Exists("member_no".into())
        );
        let taken = PropertyDef::new("createdate", "x", PropType::String);
        assert!(matches!(
            grown.with_property(taken),
            Err(Refusal::Exists(_))
        ));
        let mut ty = grown;
        for i in 0..9 {
            let mut def = PropertyDef::new(&format!("u{i}"), "u", PropType::Number);
            def.unique = true;
            def.custom = true;
            ty = ty.with_property(def).unwrap();
        }
        let mut eleventh = PropertyDef::new("u10", "u", PropType::Number);
        eleventh.unique = true;
        eleventh.custom = true;
        assert!(matches!(
            ty.with_property(eleventh.clone()),
            Err(Refusal::TooManyUnique(_))
        ));
        eleventh.unique = false;
        assert!(
            ty.with_property(eleventh).is_ok(),
            "the limit is on unique ones"
        );
    }

    #[test]
    fn custom_types_from_a_schema_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("schema.json");
        std::fs::write(
            &path,
            r#"{"results":[{"name":"cars","labels":{"singular":"Car","plural":"Cars"},
               "primaryDisplayProperty":"model","requiredProperties":["vin"],
               "properties":[{"name":"vin","label":"VIN","type":"string","fieldType":"text","hasUniqueValue":true},
                             {"name":"model","type":"string"},
                             {"name":"color","type":"enumeration","fieldType":"select","options":[{"label":"Red","value":"red"}]}]}]}"#,
        )
        .unwrap();
        let types = portal_types(42, Some(&path)).unwrap();
        let cars = types.last().unwrap();
        assert_eq!(cars.id, "2-1");
        assert_eq!(cars.fully_qualified_name, "p42_cars");
        assert_eq!(cars.label, "Car");
        assert!(cars.properties[cars.prop("vin").unwrap()].unique);
        assert_eq!(cars.custom_unique(), 1);
        let schema = cars.schema_json(42);
        assert_eq!(schema["requiredProperties"], json!(["vin"]));
        assert_eq!(schema["fullyQualifiedName"], "p42_cars");
    }
}
