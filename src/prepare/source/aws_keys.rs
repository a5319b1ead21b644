//! S3 keys that a profile gets from somewhere other than its files: its `credential_process`
//! (`aws_process`), its SSO login (`aws_sso`) or the role it assumes (`aws_sts`). They expire; the provider the S3 client asks
//! before each request keeps them until a few minutes before they do, then fetches them again, so
//! a run that reads its source for hours never signs with stale keys.

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::Utc;
use object_store::CredentialProvider;
use object_store::aws::AwsCredential;

use super::aws_expiring::Keys;
use super::{aws_process, aws_sso, aws_sts};

/// Where a profile's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum KeySource {
    /// The command of its `credential_process`.
    Process(String),
    /// Its SSO login (IAM Identity Center).
    Sso(aws_sso::SsoProfile),
    /// The role it assumes with its source profile's keys.
    Role(aws_sts::RoleProfile),
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
            KeySource::Role(role) => aws_sts::assume(&profile, role).await,
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
