//! S3 keys from a profile's `credential_process`: the command AWS's tools run to get keys (a
//! vault, a login). It prints JSON (`Version` 1, `AccessKeyId`, `SecretAccessKey`, optional
//! `SessionToken` and `Expiration`); `aws_keys` runs it again before the keys expire.
//!
//! The command's output holds secrets: it is never shown, nor is the command (its arguments may
//! hold a token). Its error output is, when it fails.

use std::process::{Command, Stdio};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use object_store::aws::AwsCredential;
use serde::Deserialize;

use super::aws_expiring::Keys;

/// Runs `profile`'s `credential_process` `command` and reads the keys it prints.
pub(super) fn run(profile: &str, command: &str) -> Result<Keys, String> {
    // The command is not shown either: its arguments may hold a token.
    let context =
        |what: String| format!("the credential_process of AWS profile {profile:?} {what}");
    let output = shell(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| context(format!("could not start: {e}")))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        let said: String = said.trim().chars().take(500).collect();
        return Err(context(format!("failed ({}): {said}", output.status)));
    }
    parse(&output.stdout).map_err(context)
}

/// The command run by the platform's shell, as AWS's tools split it (quotes, spaces in paths).
fn shell(command: &str) -> Command {
    if cfg!(windows) {
        let mut shell = Command::new("cmd");
        shell.args(["/C", command]);
        shell
    } else {
        let mut shell = Command::new("sh");
        shell.args(["-c", command]);
        shell
    }
}

/// The keys in the command's output.
fn parse(stdout: &[u8]) -> Result<Keys, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Printed {
        version: u32,
        access_key_id: String,
        secret_access_key: String,
        session_token: Option<String>,
        expiration: Option<String>,
    }
    // The output holds the secret: a mistake in it is told without its values (`mistake_of`).
    let printed: Printed = serde_json::from_slice(stdout)
        .map_err(|e| format!("printed no keys AWS's format reads ({})", mistake_of(&e)))?;
    if printed.version != 1 {
        return Err(format!(
            "printed keys of version {}, not 1",
            printed.version
        ));
    }
    let expires = match printed.expiration {
        Some(text) => Some(
            DateTime::parse_from_rfc3339(&text)
                .map_err(|_| format!("printed an Expiration that is no ISO 8601 time: {text:?}"))?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    Ok(Keys {
        credential: Arc::new(AwsCredential {
            key_id: printed.access_key_id,
            secret_key: printed.secret_access_key,
            token: printed.session_token,
        }),
        expires,
    })
}

/// What is wrong with the printed JSON, in words that hold none of its values.
fn mistake_of(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match error.classify() {
        Category::Io | Category::Syntax | Category::Eof => "not JSON".to_string(),
        // "missing field `AccessKeyId` at line 1 column 30" names no value; "invalid type:
        // string \"…\"" would.
        Category::Data => {
            let text = error.to_string();
            match text.split(" at line").next() {
                Some(missing) if missing.starts_with("missing field") => missing.to_string(),
                _ => "a field of the wrong type".to_string(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_their_expiry_are_read() {
        let keys = parse(
            br#"{"Version":1,"AccessKeyId":"AKID","SecretAccessKey":"s3cr3t",
                "SessionToken":"tok","Expiration":"2026-12-05T23:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(keys.credential.key_id, "AKID");
        assert_eq!(keys.credential.token.as_deref(), Some("tok"));
        let expires = DateTime::parse_from_rfc3339("2026-12-05T23:00:00Z").unwrap();
        assert_eq!(keys.expires, Some(expires.to_utc()));
        let lasting = parse(br#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"s"}"#).unwrap();
        assert_eq!(lasting.expires, None);
    }

    #[test]
    fn a_wrong_output_is_named_without_its_secrets() {
        let not_json = parse(b"AKID s3cr3t").unwrap_err();
        assert!(not_json.contains("not JSON"), "{not_json}");
        let missing = parse(br#"{"Version":1,"AccessKeyId":"AKID"}"#).unwrap_err();
        assert!(missing.contains("SecretAccessKey"), "{missing}");
        let truncated =
            parse(br#"{"Version":1,"AccessKeyId":"AKID","SecretAccessKey":"s3cr3"#).unwrap_err();
        assert!(!truncated.contains("s3cr3"), "{truncated}");
        let wrong_type =
            parse(br#"{"Version":"s3cr3t","AccessKeyId":"A","SecretAccessKey":"s"}"#).unwrap_err();
        assert!(!wrong_type.contains("s3cr3t"), "{wrong_type}");
        let version = parse(br#"{"Version":2,"AccessKeyId":"A","SecretAccessKey":"s"}"#);
        assert!(version.unwrap_err().contains("version 2"));
    }

    #[test]
    fn a_failing_command_says_what_it_printed_on_its_error_output() {
        let error = run(
            "sso",
            "echo 'the SSO session has expired: run aws sso login' >&2; exit 3",
        )
        .unwrap_err();
        assert!(error.contains("AWS profile \"sso\""), "{error}");
        assert!(error.contains("run aws sso login"), "{error}");
        let keys = run(
            "vault",
            r#"printf '{"Version":1,"AccessKeyId":"AKVAULT","SecretAccessKey":"s"}'"#,
        )
        .unwrap();
        assert_eq!(keys.credential.key_id, "AKVAULT");
    }
}
