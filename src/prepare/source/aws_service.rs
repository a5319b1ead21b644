//! What the key fetchers (`aws_sso`, `aws_sts`) share to ask an AWS service: its endpoint, which
//! `AWS_ENDPOINT_URL_<SERVICE>` overrides as AWS's SDKs allow, and an HTTP client.

use std::time::Duration;

/// `variable`'s URL when set, else `default`.
pub(super) fn endpoint(variable: &str, default: impl FnOnce() -> String) -> String {
    std::env::var(variable)
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(default)
}

/// A client for one call to the service (a fetch of keys, minutes or hours apart).
pub(super) fn client() -> Result<reqwest::Client, String> {
    crate::portal::client::install_tls();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}
