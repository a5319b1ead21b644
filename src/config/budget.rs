//! `[dispatch] shared_budget`: where the rate budget shared by several processes lives (a Redis
//! URL), checked once and kept so its password never shows in a message.

use std::time::Duration;

use super::secret::Secret;

/// The environment variable that names a shared budget for pipelines whose file names none.
pub const SHARED_BUDGET_ENV: &str = "ETL_SHARED_BUDGET";

/// How long a run waits for an unreachable shared budget before stopping resumably: 5 minutes.
pub const DEFAULT_OUTAGE: Duration = Duration::from_secs(300);

/// A checked `redis://` URL. The whole URL (which may carry a password) is a [`Secret`]; messages
/// show [`BudgetUrl::shown`], without the credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetUrl {
    url: Secret,
    shown: String,
}

impl BudgetUrl {
    /// Checks `raw`: `redis://[user:password@]host[:port][/db]`. The message of an error never
    /// repeats the URL whole (it may hold a password).
    pub fn parse(raw: &str) -> Result<BudgetUrl, String> {
        let url = reqwest::Url::parse(raw.trim())
            .map_err(|e| format!("not a URL ({e}): expected redis://host:port/db"))?;
        match url.scheme() {
            "redis" => {}
            "rediss" => {
                return Err(
                    "rediss:// (Redis over TLS) is not supported: reach Redis over a trusted \
                     network or a TLS tunnel, and name it with redis://"
                        .into(),
                );
            }
            other => return Err(format!("scheme {other:?}: expected redis://host:port/db")),
        }
        let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
            return Err("no host: expected redis://host:port/db".into());
        };
        if url.query().is_some() || url.fragment().is_some() {
            return Err("must not have a query or fragment".into());
        }
        let db = url.path().trim_start_matches('/');
        if !db.is_empty() && db.parse::<u16>().is_err() {
            return Err(format!(
                "the path must be a database number such as /0, not /{db}"
            ));
        }
        let port = url.port().unwrap_or(6379);
        let db = if db.is_empty() { "0" } else { db };
        Ok(BudgetUrl {
            url: Secret::new(raw.trim()),
            shown: format!("redis://{host}:{port}/{db}"),
        })
    }

    /// The URL as given, password included: only for opening the connection.
    pub fn expose(&self) -> &str {
        self.url.expose()
    }

    /// The URL without credentials, for messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

/// The shared budget of a run: where, and how long an outage may last before the run stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedBudgetSpec {
    pub url: BudgetUrl,
    /// An unreachable budget pauses sending; after this long the run stops, resumable (exit 4).
    pub outage: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_shows() {
        let url = BudgetUrl::parse("redis://:hunter2@cache.internal:6380/3").unwrap();
        assert_eq!(url.shown(), "redis://cache.internal:6380/3");
        assert!(!format!("{url:?}").contains("hunter2"));
        assert_eq!(url.expose(), "redis://:hunter2@cache.internal:6380/3");
        let plain = BudgetUrl::parse("redis://127.0.0.1").unwrap();
        assert_eq!(plain.shown(), "redis://127.0.0.1:6379/0");
    }

    #[test]
    fn only_plain_redis_urls() {
        for (raw, says) in [
            ("rediss://cache:6379/0", "TLS"),
            ("http://cache:6379", "scheme"),
            ("redis://cache/x", "database number"),
            ("redis://cache/0?protocol=resp3", "query"),
            ("cache:6379", "scheme"),
        ] {
            let err = BudgetUrl::parse(raw).unwrap_err();
            assert!(err.contains(says), "{raw}: {err}");
        }
        let err = BudgetUrl::parse("redis://:hunter2@/0").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
