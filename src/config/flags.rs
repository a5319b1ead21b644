//! A connection described by command-line flags, for commands that read a portal without a
//! pipeline file (`etl export`): the same checks as the pipeline file's `[target]` and
//! `[dispatch]` keys, with errors that name the flag.

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::Path;
use std::time::Duration;

use super::check::parse_base_url;
use super::source_name::{compression_of, default_delimiter, format_from_extension};
use super::{
    ApiVersion, ConfigError, Connection, DEFAULT_MAX_ROW_BYTES, Dispatch, SourceSpec,
    daily_limit_of_tier,
};

/// What the flags say, before it is checked.
#[derive(Debug, Clone)]
pub struct ConnectionFlags {
    /// `sandbox`, or an http(s) URL.
    pub base_url: String,
    /// The environment variable that holds the token.
    pub token_env: String,
    /// The API version every request is spelled in.
    pub api_version: ApiVersion,
    pub requests_per_interval: u32,
    pub interval_ms: u64,
    /// Upper bound of requests in flight (reads that can run side by side).
    pub concurrency: usize,
}

fn flag_error(flag: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Flag {
        flag,
        value: None,
        message: message.into(),
    }
}

impl ConnectionFlags {
    /// The checked connection; the pace's other keys take the pipeline file's defaults.
    pub fn connection(&self) -> Result<Connection, ConfigError> {
        let base_url =
            parse_base_url(&self.base_url, false).map_err(|m| flag_error("--base-url", m))?;
        if self.token_env.is_empty()
            || !self
                .token_env
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            // Never echo the value: it may be a token pasted by mistake.
            return Err(flag_error(
                "--token-env",
                "must name an environment variable (letters, digits, _), not hold the token itself",
            ));
        }
        let requests_per_interval = NonZeroU32::new(self.requests_per_interval)
            .ok_or_else(|| flag_error("--requests-per-interval", "must be at least 1"))?;
        if self.interval_ms == 0 {
            return Err(flag_error("--interval-ms", "must be at least 1"));
        }
        let concurrency = NonZeroUsize::new(self.concurrency)
            .ok_or_else(|| flag_error("--concurrency", "must be at least 1"))?;
        Ok(Connection {
            base_url,
            token_env: self.token_env.clone(),
            api_version: self.api_version,
            // The rest (links, retries, the daily budget, no shared budget: `ETL_SHARED_BUDGET`
            // still names one) as a pipeline file without those keys has them.
            dispatch: Dispatch {
                requests_per_interval,
                interval: Duration::from_millis(self.interval_ms),
                concurrency,
                daily_limit: daily_limit_of_tier(requests_per_interval, self.interval_ms),
                ..Dispatch::default()
            },
        })
    }
}

impl SourceSpec {
    /// A file named on the command line (`--ids ids.csv`): its format from the extension, the
    /// delimiter a comma (a tab for `.tsv`); `flag` names it in the error.
    pub fn from_flag(flag: &'static str, path: &Path) -> Result<SourceSpec, ConfigError> {
        let format = format_from_extension(path).ok_or_else(|| {
            flag_error(
                flag,
                format!(
                    "cannot tell the format of {} from its extension (.csv, .tsv or .parquet)",
                    path.display()
                ),
            )
        })?;
        Ok(SourceSpec {
            path: path.to_path_buf(),
            format,
            delimiter: default_delimiter(path),
            compression: compression_of(path),
            max_row_bytes: DEFAULT_MAX_ROW_BYTES,
            prepare_threads: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{BaseUrl, SourceFormat};

    fn flags() -> ConnectionFlags {
        ConnectionFlags {
            base_url: "https://api.hubapi.com/".into(),
            token_env: "HUBSPOT_TOKEN".into(),
            api_version: ApiVersion::V2026_03,
            requests_per_interval: 190,
            interval_ms: 10_000,
            concurrency: 4,
        }
    }

    #[test]
    fn flags_make_a_connection() {
        let c = flags().connection().unwrap();
        assert_eq!(c.api_version, ApiVersion::V2026_03);
        assert_eq!(c.base_url, BaseUrl::Url("https://api.hubapi.com".into()));
        assert_eq!(c.dispatch.requests_per_interval.get(), 190);
        assert_eq!(c.dispatch.interval, Duration::from_secs(10));
        let sandbox = ConnectionFlags {
            base_url: "sandbox".into(),
            ..flags()
        };
        assert_eq!(sandbox.connection().unwrap().base_url, BaseUrl::Sandbox);
    }

    #[test]
    fn bad_flags_are_named() {
        let bad = |f: ConnectionFlags| f.connection().unwrap_err().to_string();
        let e = bad(ConnectionFlags {
            base_url: "ftp://x".into(),
            ..flags()
        });
        assert!(e.contains("--base-url"), "{e}");
        let e = bad(ConnectionFlags {
            token_env: "pat-na1-secret".into(),
            ..flags()
        });
        assert!(e.contains("--token-env") && !e.contains("secret"), "{e}");
        let e = bad(ConnectionFlags {
            requests_per_interval: 0,
            ..flags()
        });
        assert!(e.contains("--requests-per-interval"), "{e}");
    }

    #[test]
    fn files_named_by_flags() {
        let spec = SourceSpec::from_flag("--ids", Path::new("ids.tsv")).unwrap();
        assert_eq!((spec.format, spec.delimiter), (SourceFormat::Csv, b'\t'));
        let spec = SourceSpec::from_flag("--ids", Path::new("ids.parquet")).unwrap();
        assert_eq!(spec.format, SourceFormat::Parquet);
        let e = SourceSpec::from_flag("--ids", Path::new("ids.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("--ids"), "{e}");
    }
}
