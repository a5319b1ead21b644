//! S3 keys that a profile gets from somewhere other than its files: its `credential_process`
//! (`aws_process`) or its SSO login (`aws_sso`). They expire; the provider the S3 client asks
//! before each request keeps them until a few minutes before they do, then fetches them again, so
//! a run that reads its source for hours never signs with stale keys.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use object_store::CredentialProvider;
use object_store::aws::AwsCredential;

use super::{aws_process, aws_sso};

/// Keys are renewed this long before they expire: a request signed now may still be read by the
/// store a while later (a stream's retries, a slow network).
const RENEW_BEFORE: Duration = Duration::minutes(5);

/// Keys, and when they expire (`None`: they do not).
#[derive(Debug, Clone)]
pub(super) struct Keys {
    pub(super) credential: Arc<AwsCredential>,
    pub(super) expires: Option<DateTime<Utc>>,
}

impl Keys {
    fn fresh_at(&self, now: DateTime<Utc>) -> bool {
        self.expires
            .is_none_or(|expires| now + RENEW_BEFORE < expires)
    }
}

/// Where a profile's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum KeySource {
    /// The command of its `credential_process`.
    Process(String),
    /// Its SSO login (IAM Identity Center).
    Sso(aws_sso::SsoProfile),
}

/// A profile's keys, fetched when first needed and again before they expire.
#[derive(Debug)]
pub(super) struct RenewedKeys {
    profile: String,
    source: KeySource,
    /// The last keys; one fetch at a time.
    keys: tokio::sync::Mutex<Option<Keys>>,
}

impl RenewedKeys {
    /// The provider of `profile`'s keys, one for the process: a run opens its source more than
    /// once (its fingerprint, its header, its rows), and a fetch may take a second (an `aws` CLI
    /// call) or prompt on the terminal (a vault).
    pub(super) fn shared(profile: String, source: KeySource) -> Arc<RenewedKeys> {
        static PROVIDERS: Mutex<Vec<Arc<RenewedKeys>>> = Mutex::new(Vec::new());
        let mut providers = PROVIDERS.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(known) = providers
            .iter()
            .find(|p| p.profile == profile && p.source == source)
        {
            return Arc::clone(known);
        }
        let provider = Arc::new(RenewedKeys {
            profile,
            source,
            keys: tokio::sync::Mutex::new(None),
        });
        providers.push(Arc::clone(&provider));
        provider
    }

    async fn fetch(&self) -> Result<Keys, String> {
        let profile = self.profile.clone();
        match &self.source {
            KeySource::Process(command) => {
                let command = command.clone();
                tokio::task::spawn_blocking(move || aws_process::run(&profile, &command))
                    .await
                    .map_err(|e| e.to_string())?
            }
            KeySource::Sso(sso) => aws_sso::fetch(&profile, sso).await,
        }
    }
}

#[async_trait]
impl CredentialProvider for RenewedKeys {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut keys = self.keys.lock().await;
        if let Some(known) = keys.as_ref().filter(|k| k.fresh_at(Utc::now())) {
            return Ok(Arc::clone(&known.credential));
        }
        let fetched = self
            .fetch()
            .await
            .map_err(|message| object_store::Error::Generic {
                store: "S3",
                source: message.into(),
            })?;
        let credential = Arc::clone(&fetched.credential);
        *keys = Some(fetched);
        Ok(credential)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_renewed_five_minutes_before_they_expire_and_kept_when_they_do_not() {
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap().to_utc();
        let keys = |expires| Keys {
            credential: Arc::new(AwsCredential {
                key_id: "AKID".into(),
                secret_key: "s".into(),
                token: None,
            }),
            expires,
        };
        let expiring = keys(Some(at("2026-12-05T23:00:00Z")));
        assert!(expiring.fresh_at(at("2026-12-05T22:54:00Z")));
        assert!(!expiring.fresh_at(at("2026-12-05T22:56:00Z")));
        assert!(keys(None).fresh_at(at("2099-01-01T00:00:00Z")));
    }
}
