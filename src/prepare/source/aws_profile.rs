//! The AWS shared profile files (`~/.aws/credentials`, `~/.aws/config`), the step of AWS's standard
//! credential chain that the `object_store` crate does not take: static keys and the region of the
//! profile `AWS_PROFILE` names (`default` otherwise), used only when the environment has no keys;
//! or where the profile's keys come from instead: the role it assumes (`aws_sts`), its SSO login
//! (`aws_sso`) or its `credential_process` (`aws_process`).

use std::collections::HashMap;
use std::path::PathBuf;

use super::aws_keys::KeySource;
use super::aws_sso::SsoProfile;
use super::aws_sts::RoleProfile;

/// `(object_store config key, value)` pairs.
pub(super) type Settings = Vec<(&'static str, String)>;

/// What the profile in effect gives the S3 client.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Profile {
    /// Its name.
    pub(super) name: String,
    /// Static keys and the region, for what the environment does not set itself.
    pub(super) settings: Settings,
    /// Where its keys come from when neither the environment nor the profile hold them.
    pub(super) keys: Option<KeySource>,
}

/// The profile in effect (`AWS_PROFILE`, else `default`), from the shared files.
pub(super) fn profile() -> Profile {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let home = env("HOME").map(PathBuf::from);
    let file = |variable: &str, name: &str| {
        env(variable)
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(name)))
            .and_then(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default()
    };
    let credentials = file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let config = file("AWS_CONFIG_FILE", "config");
    resolve(&profile, &credentials, &config, |name| env(name).is_some())
}

/// The settings of `profile` from the two files' texts, leaving out what `is_set` says the
/// environment holds (the environment comes first in AWS's chain, then a profile's role, its SSO
/// login, its static keys, its `credential_process`).
fn resolve(
    profile: &str,
    credentials: &str,
    config: &str,
    is_set: impl Fn(&str) -> bool,
) -> Profile {
    let keys = section(credentials, profile);
    // In `config` a named profile's section is `[profile NAME]`; only `default` stands alone.
    let config_name = match profile {
        "default" => "default".to_string(),
        name => format!("profile {name}"),
    };
    let conf = section(config, &config_name);
    let mut settings = Settings::new();
    let mut source = None;
    if !is_set("AWS_ACCESS_KEY_ID") {
        if let Some(role) = role_of(&keys, &conf, credentials) {
            source = Some(KeySource::Role(role));
        } else if let Some(sso) = sso_of(&conf, config) {
            source = Some(KeySource::Sso(sso));
        } else if let (Some(id), Some(secret)) = (
            keys.get("aws_access_key_id"),
            keys.get("aws_secret_access_key"),
        ) {
            settings.push(("aws_access_key_id", id.clone()));
            settings.push(("aws_secret_access_key", secret.clone()));
            if let Some(token) = keys.get("aws_session_token") {
                settings.push(("aws_session_token", token.clone()));
            }
        } else {
            source = keys
                .get("credential_process")
                .or_else(|| conf.get("credential_process"))
                .cloned()
                .map(KeySource::Process);
        }
    }
    if !is_set("AWS_REGION")
        && !is_set("AWS_DEFAULT_REGION")
        && let Some(region) = conf.get("region").or_else(|| keys.get("region"))
    {
        settings.push(("aws_region", region.clone()));
    }
    Profile {
        name: profile.to_string(),
        settings,
        keys: source,
    }
}

/// The role a profile assumes (`role_arn`) with the static keys of its `source_profile` (in the
/// credentials file). A role behind MFA (`mfa_serial`) or with another source
/// (`credential_source`) is not followed.
fn role_of(
    keys: &HashMap<String, String>,
    conf: &HashMap<String, String>,
    credentials: &str,
) -> Option<RoleProfile> {
    let get = |name: &str| conf.get(name).or_else(|| keys.get(name)).cloned();
    let role_arn = get("role_arn")?;
    if get("mfa_serial").is_some() {
        return None;
    }
    let source = section(credentials, &get("source_profile")?);
    let region = get("region")
        .or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()))
        .unwrap_or_else(|| "us-east-1".to_string());
    Some(RoleProfile {
        role_arn,
        session_name: get("role_session_name").unwrap_or_else(|| "etl".to_string()),
        external_id: get("external_id"),
        duration_seconds: get("duration_seconds"),
        region,
        source: (
            source.get("aws_access_key_id")?.clone(),
            source.get("aws_secret_access_key")?.clone(),
            source.get("aws_session_token").cloned(),
        ),
    })
}

/// The SSO login a profile's `config` section names: its account and role, and the start URL and
/// region of its `sso_session` (or, a legacy profile, its own).
fn sso_of(profile: &HashMap<String, String>, config: &str) -> Option<SsoProfile> {
    let account_id = profile.get("sso_account_id")?.clone();
    let role_name = profile.get("sso_role_name")?.clone();
    let session = profile.get("sso_session").cloned();
    let login = match &session {
        Some(name) => section(config, &format!("sso-session {name}")),
        None => profile.clone(),
    };
    Some(SsoProfile {
        start_url: login.get("sso_start_url")?.clone(),
        region: login.get("sso_region")?.clone(),
        session,
        account_id,
        role_name,
    })
}

/// The `key = value` lines of the INI section `[name]` (keys lowercased; comments skipped).
fn section(text: &str, name: &str) -> HashMap<String, String> {
    let mut inside = false;
    let mut values = HashMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = header.trim() == name;
        } else if inside && let Some((key, value)) = line.split_once('=') {
            values.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREDENTIALS: &str = "[default]\naws_access_key_id = AKIDEFAULT\naws_secret_access_key = s1\n\n\
        # the nightly jobs' keys\n[etl]\naws_access_key_id=AKIETL\naws_secret_access_key=s2\naws_session_token=t2\n";
    const CONFIG: &str = "[default]\nregion = eu-west-1\n[profile etl]\nregion = us-east-2\n";

    #[test]
    fn a_named_profile_gives_its_keys_token_and_region() {
        let got = resolve("etl", CREDENTIALS, CONFIG, |_| false);
        assert_eq!(got.keys, None);
        assert_eq!(
            got.settings,
            vec![
                ("aws_access_key_id", "AKIETL".to_string()),
                ("aws_secret_access_key", "s2".to_string()),
                ("aws_session_token", "t2".to_string()),
                ("aws_region", "us-east-2".to_string()),
            ]
        );
    }

    #[test]
    fn the_environment_comes_first() {
        let got = resolve("default", CREDENTIALS, CONFIG, |name| {
            name == "AWS_ACCESS_KEY_ID"
        });
        assert_eq!(got.settings, vec![("aws_region", "eu-west-1".to_string())]);
        assert!(
            resolve("default", CREDENTIALS, CONFIG, |_| true)
                .settings
                .is_empty()
        );
    }

    #[test]
    fn an_unknown_profile_or_no_files_give_nothing() {
        let nothing = |got: Profile| got.settings.is_empty() && got.keys.is_none();
        assert!(nothing(resolve("nope", CREDENTIALS, CONFIG, |_| false)));
        assert!(nothing(resolve("default", "", "", |_| false)));
    }

    #[test]
    fn a_profile_without_keys_gives_its_credential_process_unless_keys_come_first() {
        let config = "[profile sso]\nregion = eu-central-1\ncredential_process = aws configure \
                      export-credentials --profile sso-admin --format process\n";
        let got = resolve("sso", "", config, |_| false);
        assert_eq!(
            got.keys,
            Some(KeySource::Process(
                "aws configure export-credentials --profile sso-admin --format process".into()
            ))
        );
        assert_eq!(
            got.settings,
            vec![("aws_region", "eu-central-1".to_string())]
        );
        // Keys in the environment, or the profile's own static keys, come first.
        let env_keys = resolve("sso", "", config, |name| name == "AWS_ACCESS_KEY_ID");
        assert_eq!(env_keys.keys, None);
        let credentials = "[sso]\naws_access_key_id = AKID\naws_secret_access_key = s\n";
        assert_eq!(resolve("sso", credentials, config, |_| false).keys, None);
    }

    #[test]
    fn a_role_profile_assumes_its_role_with_its_source_profiles_keys() {
        let credentials = "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = sb\n";
        let config = "[profile loader]\nrole_arn = arn:aws:iam::123456789012:role/etl-loader\n\
                      source_profile = base\nregion = eu-west-1\nexternal_id = x-1\n\
                      [profile mfa]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n\
                      mfa_serial = arn:aws:iam::1:mfa/ann\n";
        let Some(KeySource::Role(role)) = resolve("loader", credentials, config, |_| false).keys
        else {
            panic!("no role");
        };
        assert_eq!(role.role_arn, "arn:aws:iam::123456789012:role/etl-loader");
        assert_eq!(role.source, ("AKIDBASE".into(), "sb".into(), None));
        assert_eq!(
            (role.region.as_str(), role.external_id.as_deref()),
            ("eu-west-1", Some("x-1"))
        );
        assert_eq!(role.session_name, "etl");
        // A role behind MFA needs a code typed at the start: not followed.
        assert_eq!(resolve("mfa", credentials, config, |_| false).keys, None);
    }

    #[test]
    fn an_sso_profile_names_its_login_by_session_or_by_its_own_start_url() {
        let config = "[profile etl]\nsso_session = corp\nsso_account_id = 111122223333\n\
                      sso_role_name = Loader\nregion = eu-west-1\n\
                      [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n\
                      sso_region = us-east-1\n\
                      [profile legacy]\nsso_start_url = https://old.awsapps.com/start\n\
                      sso_region = eu-central-1\nsso_account_id = 444455556666\nsso_role_name = Reader\n";
        let sso = |profile| match resolve(profile, "", config, |_| false).keys {
            Some(KeySource::Sso(sso)) => sso,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            sso("etl"),
            SsoProfile {
                session: Some("corp".into()),
                start_url: "https://corp.awsapps.com/start".into(),
                region: "us-east-1".into(),
                account_id: "111122223333".into(),
                role_name: "Loader".into(),
            }
        );
        let legacy = sso("legacy");
        assert_eq!(
            (legacy.session, legacy.region),
            (None, "eu-central-1".into())
        );
        // An SSO profile without its role is not one etl can follow.
        let partial = "[profile p]\nsso_session = corp\nsso_account_id = 1\n";
        assert_eq!(resolve("p", "", partial, |_| false).keys, None);
    }
}
