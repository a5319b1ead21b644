//! HubSpot's API versions as the sandbox serves them: the numbered paths (`/crm/v3/objects`, and `v4` for
//! associations) and the dated families (`/crm/objects/2026-03`, `/crm/objects/2026-09`, …), what each
//! version changes in behaviour, and the path prefix of every route family under every version.
//!
//! The version travels with each request as an extension set by the router (`routes.rs`); handlers read
//! it with the `ApiVersion` extractor. One store, one set of limits and one set of faults serve every
//! version: they are one portal.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// One API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiVersion {
    /// The numbered paths: v3 (objects, properties, schemas, pipelines, property validations), v4
    /// (associations). Supported by HubSpot until September 2027.
    Legacy,
    /// `2026-03`: the v3/v4 behaviour under dated paths.
    V2026_03,
    /// `2026-09`: batch answers never 207, epoch-seconds dates refused, validation rules enforced.
    V2026_09,
}

impl ApiVersion {
    /// Every version, oldest first.
    pub const ALL: [ApiVersion; 3] = [
        ApiVersion::Legacy,
        ApiVersion::V2026_03,
        ApiVersion::V2026_09,
    ];

    /// The date segment of the dated paths (`None` for the numbered ones).
    pub fn date(self) -> Option<&'static str> {
        match self {
            ApiVersion::Legacy => None,
            ApiVersion::V2026_03 => Some("2026-03"),
            ApiVersion::V2026_09 => Some("2026-09"),
        }
    }

    /// Whether a batch answer with errors is a 207 multi-status. From 2026-09 the spec declares no 207:
    /// `numErrors`/`errors` ride in the normal 200/201 body (SPEC-OBJ-2609).
    pub fn multi_status(self) -> bool {
        self < ApiVersion::V2026_09
    }

    /// Whether writes are checked against the portal's property validation rules (from 2026-09).
    pub fn enforces_rules(self) -> bool {
        self >= ApiVersion::V2026_09
    }

    /// Whether an epoch-seconds date or datetime is refused (from 2026-09, API-NOTES §5).
    pub fn refuses_epoch_seconds(self) -> bool {
        self >= ApiVersion::V2026_09
    }
}

/// Reads the version the router attached; a route mounted without one is legacy.
impl<S: Send + Sync> FromRequestParts<S> for ApiVersion {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ApiVersion>()
            .copied()
            .unwrap_or(ApiVersion::Legacy))
    }
}

/// A family of routes that HubSpot versions as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Records: `/crm/v3/objects` · `/crm/objects/{date}`.
    Objects,
    /// Property definitions: `/crm/v3/properties` · `/crm/properties/{date}`.
    Properties,
    /// Associations between types: `/crm/v4/associations` · `/crm/associations/{date}`.
    Associations,
    /// Object schemas: `/crm/v3/schemas` · `/crm-object-schemas/{date}/schemas`.
    Schemas,
    /// Pipelines: `/crm/v3/pipelines` · `/crm/pipelines/{date}`.
    Pipelines,
    /// Property validation rules: `/crm/v3/property-validations` · `/crm/property-validations/{date}`.
    PropertyValidations,
}

impl Family {
    /// The path prefix of this family under `version` (no trailing slash).
    pub fn prefix(self, version: ApiVersion) -> String {
        let Some(date) = version.date() else {
            return match self {
                Family::Objects => "/crm/v3/objects",
                Family::Properties => "/crm/v3/properties",
                Family::Associations => "/crm/v4/associations",
                Family::Schemas => "/crm/v3/schemas",
                Family::Pipelines => "/crm/v3/pipelines",
                Family::PropertyValidations => "/crm/v3/property-validations",
            }
            .to_owned();
        };
        match self {
            Family::Objects => format!("/crm/objects/{date}"),
            Family::Properties => format!("/crm/properties/{date}"),
            Family::Associations => format!("/crm/associations/{date}"),
            // The one family whose dated path does not start with `/crm/`: HubSpot moved schemas to
            // `/crm-object-schemas/` (its v3 twin `/crm-object-schemas/v3/schemas` also exists there).
            Family::Schemas => format!("/crm-object-schemas/{date}/schemas"),
            Family::Pipelines => format!("/crm/pipelines/{date}"),
            Family::PropertyValidations => format!("/crm/property-validations/{date}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_follow_the_specs() {
        assert_eq!(
            Family::Objects.prefix(ApiVersion::Legacy),
            "/crm/v3/objects"
        );
        assert_eq!(
            Family::Objects.prefix(ApiVersion::V2026_09),
            "/crm/objects/2026-09"
        );
        assert_eq!(
            Family::Associations.prefix(ApiVersion::V2026_03),
            "/crm/associations/2026-03"
        );
        assert_eq!(
            Family::Schemas.prefix(ApiVersion::V2026_03),
            "/crm-object-schemas/2026-03/schemas"
        );
        assert_eq!(
            Family::PropertyValidations.prefix(ApiVersion::Legacy),
            "/crm/v3/property-validations"
        );
    }

    #[test]
    fn behaviour_changes_start_in_2026_09() {
        assert!(ApiVersion::Legacy.multi_status() && ApiVersion::V2026_03.multi_status());
        assert!(!ApiVersion::V2026_09.multi_status());
        assert!(!ApiVersion::V2026_03.enforces_rules() && ApiVersion::V2026_09.enforces_rules());
        assert!(
            !ApiVersion::Legacy.refuses_epoch_seconds()
                && ApiVersion::V2026_09.refuses_epoch_seconds()
        );
    }
}
