//! Keys that expire, as a profile's SSO login or `credential_process` gives them (`aws_keys`
//! renews them before they do).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use object_store::aws::AwsCredential;

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
    pub(super) fn fresh_at(&self, now: DateTime<Utc>) -> bool {
        self.expires
            .is_none_or(|expires| now + RENEW_BEFORE < expires)
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
