//! S3 keys of an AWS SSO (IAM Identity Center) profile, got as AWS's own tools get them: the token
//! `aws sso login` cached (`~/.aws/sso/cache/<SHA-1 of the session name, or of a legacy profile's
//! start URL>.json`) is handed to the SSO portal's GetRoleCredentials for the profile's account and
//! role. etl never logs in itself: a missing or expired login is an error that says to run
//! `aws sso login`. `AWS_ENDPOINT_URL_SSO` points the portal elsewhere, as AWS's SDKs allow.
//!
//! The token and the keys are secrets: no message shows them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use object_store::aws::AwsCredential;
use serde::Deserialize;

use super::aws_expiring::Keys;
use super::aws_service;

/// What a profile says of its SSO login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SsoProfile {
    /// Its `sso_session` (a `[sso-session NAME]` section); `None` for a legacy profile that holds
    /// `sso_start_url` itself.
    pub(super) session: Option<String>,
    pub(super) start_url: String,
    pub(super) region: String,
    pub(super) account_id: String,
    pub(super) role_name: String,
}

impl SsoProfile {
    /// The file `aws sso login` cached the token in, under `home`.
    fn token_file(&self, home: &Path) -> PathBuf {
        let name = self.session.as_deref().unwrap_or(&self.start_url);
        let hash = sha1_smol::Sha1::from(name).digest().to_string();
        home.join(".aws/sso/cache").join(format!("{hash}.json"))
    }

    /// The SSO portal of the login's region.
    fn portal(&self) -> String {
        aws_service::endpoint("AWS_ENDPOINT_URL_SSO", || {
            format!("https://portal.sso.{}.amazonaws.com", self.region)
        })
    }
}

/// The role's keys, with the login cached under `$HOME`.
pub(super) async fn fetch(profile: &str, sso: &SsoProfile) -> Result<Keys, String> {
    let home = std::env::var("HOME").map_err(|_| {
        format!(
            "AWS profile {profile:?} logs in through SSO, and HOME is not set to find the login"
        )
    })?;
    let token = cached_token(profile, &sso.token_file(Path::new(&home)), Utc::now())?;
    role_keys(profile, sso, &token).await
}

/// The token of a login that has not expired by `now`.
fn cached_token(profile: &str, path: &Path, now: DateTime<Utc>) -> Result<String, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Cached {
        access_token: String,
        expires_at: String,
    }
    let login = format!("run `aws sso login --profile {profile}`");
    let text = std::fs::read(path).map_err(|e| {
        format!(
            "AWS profile {profile:?} logs in through SSO, and no login is cached ({}: {e}): {login}",
            path.display()
        )
    })?;
    let cached: Cached = serde_json::from_slice(&text).map_err(|_| {
        format!(
            "the SSO login cached for AWS profile {profile:?} cannot be read ({}): {login}",
            path.display()
        )
    })?;
    let expires = DateTime::parse_from_rfc3339(&cached.expires_at).map_err(|_| {
        format!(
            "the SSO login cached for AWS profile {profile:?} has an expiry that is no time ({:?}): {login}",
            cached.expires_at
        )
    })?;
    if expires <= now {
        return Err(format!(
            "the SSO login of AWS profile {profile:?} expired at {expires}: {login}"
        ));
    }
    Ok(cached.access_token)
}

/// GetRoleCredentials: the keys of the profile's role in its account.
async fn role_keys(profile: &str, sso: &SsoProfile, token: &str) -> Result<Keys, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer {
        role_credentials: RoleCredentials,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RoleCredentials {
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
        /// ms since the epoch.
        expiration: Option<i64>,
    }
    let role = format!(
        "role {} in account {} for AWS profile {profile:?}",
        sso.role_name, sso.account_id
    );
    let portal = sso.portal();
    let url = reqwest::Url::parse_with_params(
        &format!("{}/federation/credentials", portal.trim_end_matches('/')),
        [
            ("account_id", sso.account_id.as_str()),
            ("role_name", sso.role_name.as_str()),
        ],
    )
    .map_err(|e| format!("the SSO portal {portal:?} is no URL: {e}"))?;
    let answer = aws_service::client()?
        .get(url)
        .header("x-amz-sso_bearer_token", token)
        .send()
        .await
        .map_err(|e| format!("could not reach AWS's SSO portal ({portal}) for the {role}: {e}"))?;
    let status = answer.status();
    if status == 401 || status == 403 {
        return Err(format!(
            "AWS's SSO portal refused the login for the {role} (HTTP {}): run `aws sso login \
             --profile {profile}`, and check that the login may take that role",
            status.as_u16()
        ));
    }
    if !status.is_success() {
        return Err(format!(
            "AWS's SSO portal answered HTTP {} for the {role}",
            status.as_u16()
        ));
    }
    let body = answer.bytes().await.map_err(|e| e.to_string())?;
    let keys: Answer = serde_json::from_slice(&body)
        .map_err(|_| format!("AWS's SSO portal gave no keys AWS's format reads for the {role}"))?;
    let keys = keys.role_credentials;
    Ok(Keys {
        credential: Arc::new(AwsCredential {
            key_id: keys.access_key_id,
            secret_key: keys.secret_access_key,
            token: keys.session_token,
        }),
        expires: keys.expiration.and_then(DateTime::from_timestamp_millis),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sso(session: Option<&str>) -> SsoProfile {
        SsoProfile {
            session: session.map(String::from),
            start_url: "https://corp.awsapps.com/start".into(),
            region: "eu-west-1".into(),
            account_id: "111122223333".into(),
            role_name: "Loader".into(),
        }
    }

    #[test]
    fn the_login_is_cached_under_the_sha1_of_the_session_name_or_of_the_start_url() {
        let home = Path::new("/home/ann");
        // The names AWS's CLI gives: Python's hashlib.sha1(b"corp").hexdigest().
        assert_eq!(
            sso(Some("corp")).token_file(home),
            home.join(".aws/sso/cache/ee0bfd2552fbd840c02cc48b6e823320543c450f.json")
        );
        assert_ne!(
            sso(None).token_file(home),
            sso(Some("corp")).token_file(home)
        );
    }

    #[test]
    fn an_expired_or_missing_login_says_to_log_in_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("login.json");
        let now = DateTime::parse_from_rfc3339("2026-12-05T23:00:00Z")
            .unwrap()
            .to_utc();
        let missing = cached_token("sso-etl", &path, now).unwrap_err();
        assert!(
            missing.contains("aws sso login --profile sso-etl"),
            "{missing}"
        );
        std::fs::write(
            &path,
            r#"{"accessToken":"tok-secret","expiresAt":"2026-12-05T22:00:00Z","region":"eu-west-1"}"#,
        )
        .unwrap();
        let expired = cached_token("sso-etl", &path, now).unwrap_err();
        assert!(
            expired.contains("expired") && expired.contains("aws sso login"),
            "{expired}"
        );
        assert!(!expired.contains("tok-secret"));
        std::fs::write(
            &path,
            r#"{"accessToken":"tok-secret","expiresAt":"2026-12-06T07:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(cached_token("sso-etl", &path, now).unwrap(), "tok-secret");
    }
}
