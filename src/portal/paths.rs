//! Where each request goes: the one place that knows HubSpot's path families (objects, properties,
//! schemas, associations…) and how each is spelled in an API version. Everything that sends asks
//! [`Paths`]; nothing else writes a `/crm/…` path.

/// The API version requests are spelled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiVersion {
    /// The numbered paths: `/crm/v3/objects`, `/crm/v3/properties`, `/crm/v4/associations`, …
    #[default]
    V3,
}

/// The paths of one API version.
#[derive(Debug, Clone, Copy, Default)]
pub struct Paths {
    version: ApiVersion,
}

impl Paths {
    pub fn new(version: ApiVersion) -> Paths {
        Paths { version }
    }

    /// A batch endpoint of an object type: `…/objects/{object}/batch/{operation}`
    /// (`create`, `read`, `update`, `upsert`, `archive`).
    pub fn batch(&self, object: &str, operation: &str) -> String {
        match self.version {
            ApiVersion::V3 => format!("/crm/v3/objects/{object}/batch/{operation}"),
        }
    }

    /// The records of an object type: list (`GET`, paged) and single create (`POST`).
    pub fn objects(&self, object: &str) -> String {
        match self.version {
            ApiVersion::V3 => format!("/crm/v3/objects/{object}"),
        }
    }

    /// A batch endpoint of the associations between two object types:
    /// `…/associations/{from}/{to}/batch/{operation}` (`read`, `create`, `archive`).
    pub fn association_batch(&self, from: &str, to: &str, operation: &str) -> String {
        match self.version {
            ApiVersion::V3 => format!("/crm/v4/associations/{from}/{to}/batch/{operation}"),
        }
    }

    /// The property definitions of an object type.
    pub fn properties(&self, object: &str) -> String {
        match self.version {
            ApiVersion::V3 => format!("/crm/v3/properties/{object}"),
        }
    }

    /// The schema of an object type (custom objects' required properties).
    pub fn schema(&self, object: &str) -> String {
        match self.version {
            ApiVersion::V3 => format!("/crm/v3/schemas/{object}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_paths() {
        let paths = Paths::new(ApiVersion::V3);
        assert_eq!(
            paths.batch("contacts", "upsert"),
            "/crm/v3/objects/contacts/batch/upsert"
        );
        assert_eq!(paths.objects("contacts"), "/crm/v3/objects/contacts");
        assert_eq!(
            paths.association_batch("contacts", "companies", "read"),
            "/crm/v4/associations/contacts/companies/batch/read"
        );
        assert_eq!(paths.properties("0-1"), "/crm/v3/properties/0-1");
        assert_eq!(paths.schema("2-99"), "/crm/v3/schemas/2-99");
    }
}
