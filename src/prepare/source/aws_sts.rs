//! S3 keys of an AWS profile that assumes a role (`role_arn`, with the `source_profile` whose keys
//! may assume it), got as AWS's CLI gets them: STS's AssumeRole, signed with the source profile's
//! keys (SigV4, object_store's signer). `AWS_ENDPOINT_URL_STS` points STS elsewhere, as AWS's
//! SDKs allow. Roles behind MFA are not followed (they need a code typed at the start).
//!
//! The keys are secrets: no message shows them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use object_store::aws::{AwsAuthorizer, AwsCredential};
use serde::Deserialize;

use super::aws_expiring::Keys;
use super::aws_service;

/// What a profile says of the role it assumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RoleProfile {
    pub(super) role_arn: String,
    /// `role_session_name`, else `etl`.
    pub(super) session_name: String,
    pub(super) external_id: Option<String>,
    pub(super) duration_seconds: Option<String>,
    /// STS's region: the profile's, else `AWS_REGION`, else `us-east-1`.
    pub(super) region: String,
    /// The source profile's keys: (id, secret, session token).
    pub(super) source: (String, String, Option<String>),
}

impl RoleProfile {
    fn endpoint(&self) -> String {
        aws_service::endpoint("AWS_ENDPOINT_URL_STS", || {
            format!("https://sts.{}.amazonaws.com", self.region)
        })
    }
}

/// The role's keys, from STS's AssumeRole.
pub(super) async fn assume(profile: &str, role: &RoleProfile) -> Result<Keys, String> {
    let about = format!("role {} of AWS profile {profile:?}", role.role_arn);
    let endpoint = role.endpoint();
    let url = format!("{}/", endpoint.trim_end_matches('/'));
    let mut form = reqwest::Url::parse("http://form/").expect("a constant URL");
    {
        let mut pairs = form.query_pairs_mut();
        pairs
            .append_pair("Action", "AssumeRole")
            .append_pair("Version", "2011-06-15")
            .append_pair("RoleArn", &role.role_arn)
            .append_pair("RoleSessionName", &role.session_name);
        if let Some(id) = &role.external_id {
            pairs.append_pair("ExternalId", id);
        }
        if let Some(seconds) = &role.duration_seconds {
            pairs.append_pair("DurationSeconds", seconds);
        }
    }
    let body = form.query().unwrap_or_default().to_string();
    let mut request = http::Request::builder()
        .method("POST")
        .uri(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(object_store::client::HttpRequestBody::from(body.clone()))
        .map_err(|e| format!("STS's endpoint {endpoint:?} is no URL: {e}"))?;
    let (id, secret, token) = &role.source;
    let source = AwsCredential {
        key_id: id.clone(),
        secret_key: secret.clone(),
        token: token.clone(),
    };
    AwsAuthorizer::new(&source, "sts", &role.region)
        .try_authorize(&mut request, None)
        .map_err(|e| format!("could not sign the request for the {about}: {e}"))?;
    let mut sending = aws_service::client()?.post(&url).body(body);
    for (name, value) in request.headers() {
        sending = sending.header(name.as_str(), value.as_bytes());
    }
    let answer = sending
        .send()
        .await
        .map_err(|e| format!("could not reach AWS STS ({endpoint}) for the {about}: {e}"))?;
    let status = answer.status();
    let text = answer.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        // STS's error names its code and message (AccessDenied: …), never a key.
        let said = error_of(&text).unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
        return Err(format!("AWS STS refused the {about}: {said}"));
    }
    keys_of(&text).map_err(|what| format!("AWS STS answered the {about} with {what}"))
}

/// The keys in AssumeRole's XML answer.
fn keys_of(xml: &str) -> Result<Keys, String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Response {
        assume_role_result: AssumeRoleResult,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct AssumeRoleResult {
        credentials: Credentials,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Credentials {
        access_key_id: String,
        secret_access_key: String,
        session_token: String,
        expiration: String,
    }
    let answer: Response =
        quick_xml::de::from_str(xml).map_err(|_| "no keys AWS's format reads".to_string())?;
    let credentials = answer.assume_role_result.credentials;
    let expires = DateTime::parse_from_rfc3339(&credentials.expiration)
        .map_err(|_| format!("an expiry that is no time ({:?})", credentials.expiration))?;
    Ok(Keys {
        credential: Arc::new(AwsCredential {
            key_id: credentials.access_key_id,
            secret_key: credentials.secret_access_key,
            token: Some(credentials.session_token),
        }),
        expires: Some(expires.with_timezone(&Utc)),
    })
}

/// `Code: Message` of STS's XML error.
fn error_of(xml: &str) -> Option<String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct ErrorResponse {
        error: Error,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Error {
        code: String,
        message: Option<String>,
    }
    let error: ErrorResponse = quick_xml::de::from_str(xml).ok()?;
    let code = error.error.code;
    Some(match error.error.message {
        Some(message) => format!("{code}: {message}"),
        None => code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assume_roles_answer_and_errors_are_read() {
        let answer = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <AssumeRoleResult>
            <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/loader/etl</Arn>
              <AssumedRoleId>AROA:etl</AssumedRoleId></AssumedRoleUser>
            <Credentials>
              <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
              <SecretAccessKey>s3cr3t</SecretAccessKey>
              <SessionToken>tok</SessionToken>
              <Expiration>2026-12-06T01:00:00Z</Expiration>
            </Credentials>
          </AssumeRoleResult>
          <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>
        </AssumeRoleResponse>"#;
        let keys = keys_of(answer).unwrap();
        assert_eq!(keys.credential.key_id, "ASIAEXAMPLE");
        assert_eq!(keys.credential.token.as_deref(), Some("tok"));
        let expires = DateTime::parse_from_rfc3339("2026-12-06T01:00:00Z").unwrap();
        assert_eq!(keys.expires, Some(expires.to_utc()));
        let refused = r#"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>
          <Message>User is not authorized to perform: sts:AssumeRole</Message></Error>
          <RequestId>2</RequestId></ErrorResponse>"#;
        assert_eq!(
            error_of(refused).as_deref(),
            Some("AccessDenied: User is not authorized to perform: sts:AssumeRole")
        );
        assert!(keys_of("<html/>").is_err());
    }
}
