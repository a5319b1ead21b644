//! HubSpot's standard object types (name and `0-…` id) and what a create of each requires
//! (API-NOTES, and the sandbox's decisions in README). Custom `2-…` types bring their own rules.

/// A standard object type from our own table.
#[derive(Debug, Clone, Copy)]
pub struct StandardObject {
    pub name: &'static str,
    pub id: &'static str,
    pub all_of: &'static [&'static str],
    pub any_of: &'static [&'static str],
}

const STANDARD: &[StandardObject] = &[
    StandardObject {
        name: "contacts",
        id: "0-1",
        all_of: &[],
        any_of: &["email", "firstname", "lastname"],
    },
    StandardObject {
        name: "companies",
        id: "0-2",
        all_of: &[],
        any_of: &["name", "domain"],
    },
    StandardObject {
        name: "deals",
        id: "0-3",
        all_of: &["dealname", "dealstage", "pipeline"],
        any_of: &[],
    },
    StandardObject {
        name: "tickets",
        id: "0-5",
        all_of: &["subject", "hs_pipeline", "hs_pipeline_stage"],
        any_of: &[],
    },
    StandardObject {
        name: "calls",
        id: "0-48",
        all_of: &["hs_timestamp"],
        any_of: &[],
    },
    StandardObject {
        name: "emails",
        id: "0-49",
        all_of: &["hs_timestamp"],
        any_of: &[],
    },
    StandardObject {
        name: "meetings",
        id: "0-47",
        all_of: &["hs_timestamp"],
        any_of: &[],
    },
    StandardObject {
        name: "notes",
        id: "0-46",
        all_of: &["hs_timestamp"],
        any_of: &[],
    },
    StandardObject {
        name: "tasks",
        id: "0-27",
        all_of: &["hs_timestamp"],
        any_of: &[],
    },
    StandardObject {
        name: "communications",
        id: "0-18",
        all_of: &["hs_timestamp"],
        any_of: &[],
    },
    StandardObject {
        name: "postal_mail",
        id: "0-116",
        all_of: &["hs_timestamp"],
        any_of: &[],
    },
    StandardObject {
        name: "products",
        id: "0-7",
        all_of: &["name"],
        any_of: &[],
    },
    StandardObject {
        name: "line_items",
        id: "0-8",
        all_of: &["name"],
        any_of: &[],
    },
    StandardObject {
        name: "quotes",
        id: "0-14",
        all_of: &["hs_title", "hs_expiration_date"],
        any_of: &[],
    },
    StandardObject {
        name: "leads",
        id: "0-136",
        all_of: &["hs_lead_name"],
        any_of: &[],
    },
];

/// The standard object type named `object` (by name or `0-x` id, case-insensitive).
pub fn standard_object(object: &str) -> Option<&'static StandardObject> {
    STANDARD
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(object) || s.id == object)
}

/// The standard object type `object` most likely misspells, by name.
pub fn nearest_standard(object: &str) -> Option<&'static str> {
    crate::config::suggestion::nearest(object, STANDARD.iter().map(|s| s.name))
}

/// Whether `object` is a custom object type (`2-…`).
pub fn is_custom(object: &str) -> bool {
    object.starts_with("2-")
}
