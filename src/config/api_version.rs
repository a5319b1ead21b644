//! The HubSpot API version a job speaks: the numbered paths (`v3`) or a dated version (`2026-03`,
//! `2026-09`), from `[target] api_version` or `--api-version`. Only the names and the behaviour
//! changes live here; the paths of each version are spelled by `portal::paths` alone.

use std::fmt;
use std::str::FromStr;

/// One API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum ApiVersion {
    /// The numbered paths (`/crm/v3/…`, `/crm/v4/associations`), unsupported from September 2027.
    V3,
    /// `2026-03`: the v3/v4 behaviour under dated paths.
    V2026_03,
    /// `2026-09`: batch errors ride in 200/201 bodies, epoch-seconds dates are refused, property
    /// validation rules are enforced on every write.
    #[default]
    V2026_09,
}

impl ApiVersion {
    /// Every version, oldest first.
    pub const ALL: [ApiVersion; 3] = [ApiVersion::V3, ApiVersion::V2026_03, ApiVersion::V2026_09];

    /// The newest dated version etl is tested against: the default.
    pub const LATEST: ApiVersion = ApiVersion::V2026_09;

    /// How the version is written in a pipeline file and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ApiVersion::V3 => "v3",
            ApiVersion::V2026_03 => "2026-03",
            ApiVersion::V2026_09 => "2026-09",
        }
    }

    /// The date segment of a dated version's paths; `None` for the numbered paths.
    pub fn date(self) -> Option<&'static str> {
        match self {
            ApiVersion::V3 => None,
            dated => Some(dated.name()),
        }
    }

    /// Whether a date or datetime sent as epoch *seconds* is refused (from 2026-09, API-NOTES §5).
    pub fn refuses_epoch_seconds(self) -> bool {
        self >= ApiVersion::V2026_09
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A version name etl does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown API version {0:?}: expected \"v3\", \"2026-03\" or \"2026-09\"")]
pub struct UnknownVersion(pub String);

impl FromStr for ApiVersion {
    type Err = UnknownVersion;

    fn from_str(text: &str) -> Result<ApiVersion, UnknownVersion> {
        ApiVersion::ALL
            .into_iter()
            .find(|v| v.name() == text.trim())
            .ok_or_else(|| UnknownVersion(text.to_string()))
    }
}

/// `--api-version`, shared by every command that talks to a portal (`#[command(flatten)]` it).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ApiVersionArg {
    /// The HubSpot API version to send: v3, 2026-03 or 2026-09 (default: the pipeline's
    /// `api_version`, else 2026-09).
    #[arg(long = "api-version", value_name = "VERSION")]
    pub api_version: Option<ApiVersion>,
}

impl ApiVersionArg {
    /// The flag's version, else `fallback` (a pipeline's `api_version`).
    pub fn or(&self, fallback: ApiVersion) -> ApiVersion {
        self.api_version.unwrap_or(fallback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_the_default_is_the_latest() {
        for version in ApiVersion::ALL {
            assert_eq!(version.name().parse::<ApiVersion>(), Ok(version));
        }
        assert_eq!(ApiVersion::default(), ApiVersion::LATEST);
        assert_eq!(ApiVersion::LATEST, ApiVersion::V2026_09);
        assert_eq!(ApiVersion::V3.date(), None);
        assert_eq!(ApiVersion::V2026_03.date(), Some("2026-03"));
        let err = "v4".parse::<ApiVersion>().unwrap_err().to_string();
        assert!(err.contains("\"v4\"") && err.contains("2026-09"), "{err}");
    }

    #[test]
    fn epoch_seconds_are_refused_from_2026_09() {
        assert!(!ApiVersion::V3.refuses_epoch_seconds());
        assert!(!ApiVersion::V2026_03.refuses_epoch_seconds());
        assert!(ApiVersion::V2026_09.refuses_epoch_seconds());
    }

    #[test]
    fn the_flag_parses_and_falls_back() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            version: ApiVersionArg,
        }
        let cli = Cli::try_parse_from(["etl", "--api-version", "2026-03"]).unwrap();
        assert_eq!(cli.version.or(ApiVersion::V3), ApiVersion::V2026_03);
        let cli = Cli::try_parse_from(["etl"]).unwrap();
        assert_eq!(cli.version.or(ApiVersion::V3), ApiVersion::V3);
        assert!(Cli::try_parse_from(["etl", "--api-version", "v2"]).is_err());
    }
}
