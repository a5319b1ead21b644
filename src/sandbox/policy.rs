//! What a written value is checked against beyond its property's type, by API version. From 2026-09
//! epoch-seconds dates are refused and the portal's property validation rules are enforced; v3 and
//! 2026-03 check types only. One policy serves one request: it holds a snapshot of the rules and the
//! instant the duration rules count from.

use std::borrow::Cow;
use std::sync::Arc;

use super::objects::ObjectType;
use super::properties::PropType;
use super::rules::RuleSet;
use super::state::AppState;
use super::time;
use super::values::{self, Invalid};
use super::version::ApiVersion;

/// Epoch values below this are taken for seconds (10^11 s is the year 5138; 10^11 ms is 1973-03-03).
const SECONDS_BELOW: u64 = 100_000_000_000;

/// The checks of one write request.
#[derive(Debug, Clone)]
pub struct WritePolicy {
    seconds_refused: bool,
    rules: Option<Arc<RuleSet>>,
    now_ms: i64,
}

impl WritePolicy {
    /// The checks `version` applies, with the portal's current rules.
    pub fn new(app: &AppState, version: ApiVersion) -> WritePolicy {
        WritePolicy {
            seconds_refused: version.refuses_epoch_seconds(),
            rules: version.enforces_rules().then(|| app.rules.snapshot()),
            now_ms: time::now_ms(),
        }
    }

    /// Type checks only, as v3 and 2026-03 apply them (for unit tests, which have no `AppState`).
    #[cfg(test)]
    pub fn types_only() -> WritePolicy {
        WritePolicy {
            seconds_refused: false,
            rules: None,
            now_ms: 0,
        }
    }

    /// Checks one raw value of property `prop` and returns it as it will be stored.
    pub fn check<'a>(
        &self,
        ty: &ObjectType,
        prop: usize,
        raw: Cow<'a, str>,
    ) -> Result<Cow<'a, str>, Invalid> {
        let def = &ty.properties[prop];
        if self.seconds_refused
            && matches!(def.ptype, PropType::Date | PropType::Datetime)
            && is_epoch_seconds(&raw)
        {
            return Err(Invalid {
                code: "INVALID_DATE",
                message: format!(
                    "{raw} looks like seconds since the epoch: from API version 2026-09 send milliseconds since the epoch or ISO 8601"
                ),
            });
        }
        let stored = values::check(def, raw)?;
        if let Some(rules) = &self.rules {
            rules.check(ty.index, def, &stored, self.now_ms)?;
        }
        Ok(stored)
    }
}

/// An epoch value in seconds: ASCII digits only (no sign, point or exponent) below 10^11. Millisecond
/// values before 1973-03-03 look the same and are refused with them.
pub fn is_epoch_seconds(raw: &str) -> bool {
    !raw.is_empty()
        && raw.bytes().all(|b| b.is_ascii_digit())
        && raw.parse::<u64>().is_ok_and(|n| n < SECONDS_BELOW)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_told_from_milliseconds() {
        assert!(is_epoch_seconds("1709294400"));
        assert!(is_epoch_seconds("99999999999"));
        assert!(is_epoch_seconds("0"));
        assert!(!is_epoch_seconds("100000000000"));
        assert!(!is_epoch_seconds("1709294400000"));
        assert!(!is_epoch_seconds("-1709294400"));
        assert!(!is_epoch_seconds("2024-03-01"));
        assert!(!is_epoch_seconds(""));
    }
}
