//! Where each request goes: the one place that knows HubSpot's path families (records, properties,
//! schemas, associations, pipelines, property validations) and how each is spelled in an API
//! version. Everything that sends asks [`Paths`]; nothing else writes a `/crm/…` path.
//!
//! Since 2026-03-30 every family also lives under dated paths (`/crm/objects/2026-09/…`); the
//! numbered ones (`/crm/v3/…`, `/crm/v4/…`) stop being supported in September 2027 (API-NOTES §4).
//! The routes under a family's prefix are the same in every version, so each path below is its
//! family's prefix plus one suffix.

pub use crate::config::ApiVersion;

use super::standard::standard_object;

/// A family of routes that HubSpot versions as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// Records, single and batch.
    Objects,
    /// Property definitions.
    Properties,
    /// Associations between two object types (v4): batch writes and reads, labels.
    Associations,
    /// One record's associations (v4's per-record paths).
    RecordAssociations,
    /// Object schemas (custom objects).
    Schemas,
    Pipelines,
    /// Admin-configured property validation rules.
    PropertyValidations,
}

/// The paths of one API version.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Paths {
    version: ApiVersion,
}

impl Paths {
    pub fn new(version: ApiVersion) -> Paths {
        Paths { version }
    }

    /// The version these paths are spelled in.
    pub fn version(&self) -> ApiVersion {
        self.version
    }

    /// The prefix of `family` in this version, without a trailing slash.
    fn prefix(&self, family: Family) -> String {
        let Some(date) = self.version.date() else {
            return match family {
                Family::Objects => "/crm/v3/objects",
                Family::Properties => "/crm/v3/properties",
                Family::Associations => "/crm/v4/associations",
                Family::RecordAssociations => "/crm/v4/objects",
                Family::Schemas => "/crm/v3/schemas",
                Family::Pipelines => "/crm/v3/pipelines",
                Family::PropertyValidations => "/crm/v3/property-validations",
            }
            .to_string();
        };
        match family {
            // The dated APIs put a record's associations under the records' own prefix.
            Family::Objects | Family::RecordAssociations => format!("/crm/objects/{date}"),
            Family::Properties => format!("/crm/properties/{date}"),
            Family::Associations => format!("/crm/associations/{date}"),
            // The one family whose dated path leaves `/crm/` (HubSpot's specs).
            Family::Schemas => format!("/crm-object-schemas/{date}/schemas"),
            Family::Pipelines => format!("/crm/pipelines/{date}"),
            Family::PropertyValidations => format!("/crm/property-validations/{date}"),
        }
    }

    /// The records of an object type: `GET` lists them, `POST` creates one.
    pub fn objects(&self, object: &str) -> String {
        format!("{}/{object}", self.prefix(Family::Objects))
    }

    /// One record (`GET`, `PATCH`, `DELETE`); `id` is a record id, or an `idProperty` value.
    pub fn record(&self, object: &str, id: &str) -> String {
        format!("{}/{object}/{id}", self.prefix(Family::Objects))
    }

    /// A batch endpoint of an object type: `…/{object}/batch/{operation}`
    /// (`create`, `read`, `update`, `upsert`, `archive`).
    pub fn batch(&self, object: &str, operation: &str) -> String {
        format!(
            "{}/{object}/batch/{operation}",
            self.prefix(Family::Objects)
        )
    }

    /// The property definitions of an object type.
    pub fn properties(&self, object: &str) -> String {
        format!("{}/{object}", self.prefix(Family::Properties))
    }

    /// One property definition.
    pub fn property(&self, object: &str, property: &str) -> String {
        format!("{}/{object}/{property}", self.prefix(Family::Properties))
    }

    /// Every object schema of the portal.
    pub fn schemas(&self) -> String {
        self.prefix(Family::Schemas)
    }

    /// The schema of an object type (custom objects' required properties).
    pub fn schema(&self, object: &str) -> String {
        format!("{}/{object}", self.prefix(Family::Schemas))
    }

    /// A batch endpoint of the associations from one type to another: `…/{from}/{to}/batch/{operation}`
    /// (`create`, `read`, `archive`, `labels/archive`, `associate/default`).
    pub fn associations_batch(&self, from: &str, to: &str, operation: &str) -> String {
        format!(
            "{}/{from}/{to}/batch/{operation}",
            self.prefix(Family::Associations)
        )
    }

    /// The association labels (types) from one object type to another.
    pub fn association_labels(&self, from: &str, to: &str) -> String {
        format!("{}/{from}/{to}/labels", self.prefix(Family::Associations))
    }

    /// The associations of one record to records of `to` (v4's `GET` listing).
    pub fn record_associations(&self, object: &str, id: &str, to: &str) -> String {
        format!(
            "{}/{object}/{id}/associations/{to}",
            self.prefix(Family::RecordAssociations)
        )
    }

    /// The association of one record with another (`PUT` with the types in the body, `DELETE`).
    pub fn record_association(&self, object: &str, id: &str, to: &str, to_id: &str) -> String {
        format!("{}/{to_id}", self.record_associations(object, id, to))
    }

    /// The pipelines (and their stages) of an object type.
    pub fn pipelines(&self, object: &str) -> String {
        format!("{}/{object}", self.prefix(Family::Pipelines))
    }

    /// The validation rules of every property of an object type that has some.
    pub fn property_validations(&self, object: &str) -> String {
        format!(
            "{}/{}",
            self.prefix(Family::PropertyValidations),
            type_id(object)
        )
    }

    /// The validation rules of one property.
    pub fn property_validation(&self, object: &str, property: &str) -> String {
        format!("{}/{property}", self.property_validations(object))
    }
}

/// The property-validations API names its object type `objectTypeId` in every version: a standard
/// type's name becomes its id (`contacts` → `0-1`); other names and ids go as given.
fn type_id(object: &str) -> &str {
    standard_object(object).map_or(object, |standard| standard.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path of every family, in every version.
    #[test]
    fn every_family_in_every_version() {
        let expected: [(ApiVersion, [&str; 15]); 3] = [
            (
                ApiVersion::V3,
                [
                    "/crm/v3/objects/contacts",
                    "/crm/v3/objects/contacts/42",
                    "/crm/v3/objects/contacts/batch/upsert",
                    "/crm/v3/properties/0-1",
                    "/crm/v3/properties/0-1/email",
                    "/crm/v3/schemas",
                    "/crm/v3/schemas/2-99",
                    "/crm/v4/associations/contacts/companies/batch/create",
                    "/crm/v4/associations/contacts/companies/labels",
                    "/crm/v4/objects/contacts/42/associations/companies",
                    "/crm/v4/objects/contacts/42/associations/companies/7",
                    "/crm/v3/pipelines/deals",
                    "/crm/v3/property-validations/0-1",
                    "/crm/v3/property-validations/0-1/zip",
                    "/crm/v3/property-validations/2-99",
                ],
            ),
            (
                ApiVersion::V2026_03,
                [
                    "/crm/objects/2026-03/contacts",
                    "/crm/objects/2026-03/contacts/42",
                    "/crm/objects/2026-03/contacts/batch/upsert",
                    "/crm/properties/2026-03/0-1",
                    "/crm/properties/2026-03/0-1/email",
                    "/crm-object-schemas/2026-03/schemas",
                    "/crm-object-schemas/2026-03/schemas/2-99",
                    "/crm/associations/2026-03/contacts/companies/batch/create",
                    "/crm/associations/2026-03/contacts/companies/labels",
                    "/crm/objects/2026-03/contacts/42/associations/companies",
                    "/crm/objects/2026-03/contacts/42/associations/companies/7",
                    "/crm/pipelines/2026-03/deals",
                    "/crm/property-validations/2026-03/0-1",
                    "/crm/property-validations/2026-03/0-1/zip",
                    "/crm/property-validations/2026-03/2-99",
                ],
            ),
            (
                ApiVersion::V2026_09,
                [
                    "/crm/objects/2026-09/contacts",
                    "/crm/objects/2026-09/contacts/42",
                    "/crm/objects/2026-09/contacts/batch/upsert",
                    "/crm/properties/2026-09/0-1",
                    "/crm/properties/2026-09/0-1/email",
                    "/crm-object-schemas/2026-09/schemas",
                    "/crm-object-schemas/2026-09/schemas/2-99",
                    "/crm/associations/2026-09/contacts/companies/batch/create",
                    "/crm/associations/2026-09/contacts/companies/labels",
                    "/crm/objects/2026-09/contacts/42/associations/companies",
                    "/crm/objects/2026-09/contacts/42/associations/companies/7",
                    "/crm/pipelines/2026-09/deals",
                    "/crm/property-validations/2026-09/0-1",
                    "/crm/property-validations/2026-09/0-1/zip",
                    "/crm/property-validations/2026-09/2-99",
                ],
            ),
        ];
        for (version, paths) in expected {
            let p = Paths::new(version);
            let built = [
                p.objects("contacts"),
                p.record("contacts", "42"),
                p.batch("contacts", "upsert"),
                p.properties("0-1"),
                p.property("0-1", "email"),
                p.schemas(),
                p.schema("2-99"),
                p.associations_batch("contacts", "companies", "create"),
                p.association_labels("contacts", "companies"),
                p.record_associations("contacts", "42", "companies"),
                p.record_association("contacts", "42", "companies", "7"),
                p.pipelines("deals"),
                p.property_validations("contacts"),
                p.property_validation("Contacts", "zip"),
                p.property_validations("2-99"),
            ];
            assert_eq!(built, paths, "{version}");
            assert_eq!(p.version(), version);
        }
    }

    #[test]
    fn the_default_is_the_latest_dated_version() {
        assert_eq!(Paths::default(), Paths::new(ApiVersion::LATEST));
        assert_eq!(
            Paths::default().batch("0-1", "create"),
            "/crm/objects/2026-09/0-1/batch/create"
        );
    }
}
