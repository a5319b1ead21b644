//! What to do with the result of one HTTP attempt: one pure classifier (Vector's `retry_action`
//! idea), plus the backoff policy. Retry classes follow DESIGN.md §4.

use std::time::Duration;

use backon::ExponentialBuilder;
use rand::Rng;

use super::client::{Reply, TransportError};
use super::response::ErrorItem;

/// The verdict on one attempt.
#[derive(Debug)]
pub enum Verdict {
    /// An answer the rows can be judged by: 2xx, 400, 404, 409 and other 4xx.
    Answer(Reply),
    /// Try again after a backoff.
    Retry(RetryReason),
    /// The request may have been applied but its answer was lost (creates only: sending it again
    /// could create the records twice).
    Ambiguous(String),
    /// The portal refuses this token (401/403): stop the run at once.
    Refused { status: u16, message: String },
    /// The account's daily limit is spent: stop sending; the run is resumable.
    DailyLimit(String),
}

/// Why an attempt is worth repeating, and the least time to wait before the next one.
#[derive(Debug, Clone)]
pub struct RetryReason {
    pub message: String,
    /// The floor for the next wait (423 Locked: the lock lasts 2 s).
    pub at_least: Duration,
    /// A 429 for the rolling window: the limiter should pause every sender.
    pub throttled: bool,
}

impl RetryReason {
    fn plain(message: String) -> RetryReason {
        RetryReason {
            message,
            at_least: Duration::ZERO,
            throttled: false,
        }
    }
}

/// Classifies one attempt. `creates` is true when a lost answer makes the request ambiguous.
pub fn classify(result: Result<Reply, TransportError>, creates: bool) -> Verdict {
    let reply = match result {
        Ok(reply) => reply,
        Err(err @ TransportError::NotSent { .. }) => {
            return Verdict::Retry(RetryReason::plain(err.to_string()));
        }
        Err(err @ TransportError::Lost { .. }) if creates => {
            return Verdict::Ambiguous(err.to_string());
        }
        Err(err) => return Verdict::Retry(RetryReason::plain(err.to_string())),
    };
    match reply.status {
        401 | 403 => {
            let error = ErrorItem::parse(&reply.body);
            Verdict::Refused {
                status: reply.status,
                message: error.message,
            }
        }
        429 => {
            let error = ErrorItem::parse(&reply.body);
            if error.policy_name.as_deref() == Some("DAILY") {
                Verdict::DailyLimit(error.message)
            } else {
                Verdict::Retry(RetryReason {
                    message: format!("429 {}", error.message),
                    at_least: Duration::ZERO,
                    throttled: true,
                })
            }
        }
        423 => Verdict::Retry(RetryReason {
            message: "423 Locked".to_string(),
            at_least: Duration::from_secs(2),
            throttled: false,
        }),
        // A 5xx on a create may come after the records were written (a gateway timing out on a
        // slow write): treat it like a lost answer.
        500..=599 if creates => Verdict::Ambiguous(format!("HTTP {}", reply.status)),
        500..=599 => Verdict::Retry(RetryReason::plain(format!("HTTP {}", reply.status))),
        _ => Verdict::Answer(reply),
    }
}

/// Exponential backoff, bounded in attempts and in each wait; jitter is applied by [`full_jitter`].
pub fn backoff(max_retries: u32) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(20))
        .with_factor(2.0)
        .with_max_times(max_retries as usize)
}

/// "Full jitter": wait a uniform random time in `[0, delay)`, never less than the reason's floor.
/// Spreads the retries of many concurrent senders so they do not return in step.
pub fn full_jitter(reason: &RetryReason, delay: Duration) -> Duration {
    let jittered = delay.mul_f64(rand::rng().random_range(0.0..1.0));
    jittered.max(reason.at_least)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portal::response::RateHeaders;

    fn reply(status: u16, body: &str) -> Result<Reply, TransportError> {
        Ok(Reply {
            status,
            rate: RateHeaders::default(),
            date_ms: None,
            body: body.as_bytes().to_vec(),
        })
    }

    fn lost() -> Result<Reply, TransportError> {
        Err(TransportError::Lost {
            url: "http://127.0.0.1:1/x".into(),
            reason: "connection reset".into(),
        })
    }

    #[test]
    fn rolling_429_retries_and_throttles() {
        let body = r#"{"status":"error","message":"You have reached your ten_secondly_rolling limit.","errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING"}"#;
        match classify(reply(429, body), false) {
            Verdict::Retry(reason) => assert!(reason.throttled),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn daily_429_stops() {
        let body = r#"{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT","policyName":"DAILY"}"#;
        assert!(
            matches!(classify(reply(429, body), false), Verdict::DailyLimit(m) if m.contains("daily"))
        );
    }

    #[test]
    fn locked_waits_two_seconds() {
        match classify(reply(423, ""), false) {
            Verdict::Retry(reason) => {
                assert_eq!(reason.at_least, Duration::from_secs(2));
                assert!(full_jitter(&reason, Duration::from_millis(10)) >= Duration::from_secs(2));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn auth_failures_are_fatal() {
        let body = r#"{"status":"error","message":"Authentication credentials not found.","category":"INVALID_AUTHENTICATION"}"#;
        assert!(matches!(
            classify(reply(401, body), false),
            Verdict::Refused { status: 401, .. }
        ));
        assert!(matches!(
            classify(reply(403, "{}"), true),
            Verdict::Refused { status: 403, .. }
        ));
    }

    #[test]
    fn lost_answers_are_ambiguous_only_for_creates() {
        assert!(matches!(classify(lost(), true), Verdict::Ambiguous(_)));
        assert!(matches!(classify(lost(), false), Verdict::Retry(_)));
        assert!(matches!(
            classify(reply(502, ""), true),
            Verdict::Ambiguous(_)
        ));
        assert!(matches!(classify(reply(502, ""), false), Verdict::Retry(_)));
        let refused = Err(TransportError::NotSent {
            url: "u".into(),
            reason: "refused".into(),
        });
        assert!(matches!(classify(refused, true), Verdict::Retry(_)));
    }

    #[test]
    fn row_level_answers_are_final() {
        for status in [200, 201, 204, 207, 400, 404, 409, 413] {
            assert!(matches!(
                classify(reply(status, "{}"), true),
                Verdict::Answer(_)
            ));
        }
    }

    #[test]
    fn jitter_stays_within_the_delay() {
        let reason = RetryReason::plain("x".into());
        for _ in 0..100 {
            assert!(full_jitter(&reason, Duration::from_millis(100)) < Duration::from_millis(100));
        }
    }
}
