//! The request gate: no rolling window of `interval` ever carries more than `requests_per_interval`
//! requests from this run, retries included (DESIGN.md §3.4). The pace (spacing and burst, and
//! why they bound every window) is [`super::pace`]'s; this gate applies it on its own, or draws
//! from a budget shared with other processes ([`super::budget`]) when the run names one.
//!
//! The gate also reads the portal's own count (`X-HubSpot-RateLimit-Remaining`): other apps of
//! the same account share the window, so when the portal says it is nearly full, or answers 429,
//! every sender pauses for a while.
//!
//! A portal has two windows (API-NOTES §1): the general one, and the associations API's own
//! (v4 links, labels). [`Budget`] holds a gate for each.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::budget::{BudgetError, SharedBudget};
use super::pace::Pace;
use super::response::RateHeaders;
use crate::config::Dispatch;
use crate::config::budget::SharedBudgetSpec;
use crate::config::secret::Secret;

/// The windows of a portal, shared by everything that sends to it (the stages of a plan too).
#[derive(Clone)]
pub struct Budget {
    /// The CRM APIs (objects, properties, schemas…).
    pub general: Arc<RateGate>,
    /// The associations API (v4 batch links, labels).
    pub associations: Arc<RateGate>,
}

impl Budget {
    /// A budget at `dispatch`'s limits.
    pub fn new(dispatch: &Dispatch) -> Budget {
        Budget {
            general: Arc::new(RateGate::new(
                dispatch.requests_per_interval,
                dispatch.interval,
            )),
            associations: Arc::new(RateGate::new(
                dispatch.association_requests_per_interval,
                dispatch.interval,
            )),
        }
    }

    /// A budget at `dispatch`'s limits drawn from the one `spec` names, shared with every process
    /// that names it for the same portal (`base_url` and `token`): each window keeps its own
    /// pacing state there, and both count towards the one daily counter.
    pub fn shared(
        dispatch: &Dispatch,
        spec: &SharedBudgetSpec,
        base_url: &str,
        token: &Secret,
    ) -> Result<Budget, BudgetError> {
        let gate = |window: &str, n: NonZeroU32| -> Result<Arc<RateGate>, BudgetError> {
            let pace = Pace::for_window(n, dispatch.interval);
            let budget = SharedBudget::new(spec, base_url, token, window, pace, dispatch.interval)?;
            Ok(Arc::new(RateGate::shared(n, dispatch.interval, budget)))
        };
        Ok(Budget {
            general: gate("general", dispatch.requests_per_interval)?,
            associations: gate("associations", dispatch.association_requests_per_interval)?,
        })
    }
}

/// The longest pause a response can cause.
const MAX_PAUSE: Duration = Duration::from_secs(60);

pub struct RateGate {
    /// The pace applied here, when no budget is shared.
    gcra: DefaultDirectRateLimiter,
    /// The budget shared with other processes; it replaces `gcra` (same pace, one state for all).
    shared: Option<SharedBudget>,
    /// One token's worth of time: `interval / (N − m − 0.1)`.
    spacing: Duration,
    interval: Duration,
    /// Set when the portal says its window is (nearly) full; no request leaves before it.
    paused_until: Mutex<Option<Instant>>,
}

impl RateGate {
    /// A gate pacing this process alone.
    pub fn new(requests_per_interval: NonZeroU32, interval: Duration) -> RateGate {
        let pace = Pace::for_window(requests_per_interval, interval);
        let quota = Quota::with_period(pace.spacing)
            .expect("spacing is never zero")
            .allow_burst(NonZeroU32::new(pace.burst).expect("burst is 1 or 2"));
        RateGate {
            gcra: RateLimiter::direct(quota),
            shared: None,
            spacing: pace.spacing,
            interval,
            paused_until: Mutex::new(None),
        }
    }

    /// A gate drawing from `budget`, shared with every process that names the same one.
    pub fn shared(
        requests_per_interval: NonZeroU32,
        interval: Duration,
        budget: SharedBudget,
    ) -> RateGate {
        RateGate {
            shared: Some(budget),
            ..RateGate::new(requests_per_interval, interval)
        }
    }

    /// The shared budget, when the run draws from one.
    pub fn shared_budget(&self) -> Option<&SharedBudget> {
        self.shared.as_ref()
    }

    /// Waits until one more request may leave, and takes its token. Fails only when the shared
    /// budget cannot give one (unreachable for too long, refused, or the daily limit spent).
    pub async fn acquire(&self) -> Result<(), BudgetError> {
        loop {
            let pause = *self.paused_until.lock().expect("limiter lock poisoned");
            match pause {
                Some(until) if until > Instant::now() => {
                    tokio::time::sleep_until(until.into()).await;
                }
                _ => break,
            }
        }
        match &self.shared {
            Some(budget) => budget.acquire().await,
            None => {
                self.gcra.until_ready().await;
                Ok(())
            }
        }
    }

    /// Reads the portal's rate headers from a response: when the window has (almost) no room
    /// left for anyone, stop every sender for a share of the window.
    pub fn observe(&self, rate: &RateHeaders) {
        if let Some(remaining) = rate.remaining
            && remaining == 0
        {
            // The headers are untrusted input: whatever window they claim, the pause never
            // exceeds the configured window, nor a minute.
            let interval = rate
                .interval_ms
                .map(Duration::from_millis)
                .unwrap_or(self.interval)
                .min(self.interval)
                .min(MAX_PAUSE);
            self.pause_for((interval / 10).max(self.spacing).min(MAX_PAUSE));
        }
    }

    /// The portal answered 429 for the rolling window: let the window drain a little.
    pub fn throttled(&self) {
        self.pause_for((self.interval / 10).max(self.spacing));
    }

    fn pause_for(&self, pause: Duration) {
        let pause = pause.min(MAX_PAUSE);
        let until = Instant::now() + pause;
        let mut paused = self.paused_until.lock().expect("limiter lock poisoned");
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_window_holds_more_than_the_limit() {
        // 20 per 200 ms: take 45 tokens and check every window of 200 ms over the admission times.
        let gate = RateGate::new(NonZeroU32::new(20).unwrap(), Duration::from_millis(200));
        let mut times = Vec::new();
        for _ in 0..45 {
            gate.acquire().await.unwrap();
            times.push(Instant::now());
        }
        for (i, start) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|t| t.duration_since(*start) < Duration::from_millis(200))
                .count();
            assert!(in_window <= 20, "{in_window} admissions in one window");
        }
        // And it does not crawl: after a burst of 2, 43 tokens at 18.9 per 200 ms need ~455 ms.
        let span = times.last().unwrap().duration_since(times[0]);
        assert!(span >= Duration::from_millis(400), "{span:?}");
    }

    #[tokio::test]
    async fn a_full_window_pauses_every_sender() {
        let gate = RateGate::new(NonZeroU32::new(1000).unwrap(), Duration::from_millis(500));
        gate.observe(&RateHeaders {
            remaining: Some(0),
            interval_ms: Some(500),
            ..RateHeaders::default()
        });
        let start = Instant::now();
        gate.acquire().await.unwrap();
        assert!(start.elapsed() >= Duration::from_millis(45));
    }
}
