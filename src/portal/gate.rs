//! The request gate: no rolling window of `interval` ever carries more than `requests_per_interval`
//! requests from this run, retries included (DESIGN.md §3.4). The pace (a request's cost in the
//! limiter's cells, and why it bounds every window) is [`super::pace`]'s; this gate applies it on
//! its own (governor's GCRA), or draws from a budget shared with other processes
//! ([`super::budget`]) when the run names one.
//!
//! The gate also reads the portal's own count (`X-HubSpot-RateLimit-Max`/`-Remaining`) after every
//! answer: [`super::spread`] turns it into the requests of the window to keep free for arrival
//! jitter (and others' traffic), and the cost follows. Where that count cannot be read against
//! ours and the portal says its window is full, or when it answers 429, every sender pauses for a
//! while.
//!
//! A portal has two windows (API-NOTES §1): the general one, and the associations API's own
//! (v4 links, labels). [`Budget`] holds a gate for each.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::budget::{BudgetError, SharedBudget};
use super::pace::{BURST_CELLS, Pace};
use super::response::RateHeaders;
use super::spread::{Spread, Ticket};
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
    pace: Pace,
    /// How far the portal's arrivals stray from our sends: the slack of the pace.
    spread: Spread,
    /// The cells a request costs now ([`Pace::cost`] of the spread's slack).
    cost: AtomicU32,
    /// The slack last logged, in whole requests.
    logged_slack: AtomicU32,
    interval: Duration,
    /// Set when the portal says its window is (nearly) full; no request leaves before it.
    paused_until: Mutex<Option<Instant>>,
}

impl RateGate {
    /// A gate pacing this process alone.
    pub fn new(requests_per_interval: NonZeroU32, interval: Duration) -> RateGate {
        RateGate::build(requests_per_interval, interval, None)
    }

    /// A gate drawing from `budget`, shared with every process that names the same one.
    pub fn shared(
        requests_per_interval: NonZeroU32,
        interval: Duration,
        budget: SharedBudget,
    ) -> RateGate {
        RateGate::build(requests_per_interval, interval, Some(budget))
    }

    fn build(
        requests_per_interval: NonZeroU32,
        interval: Duration,
        shared: Option<SharedBudget>,
    ) -> RateGate {
        let pace = Pace::for_window(requests_per_interval, interval);
        let quota = Quota::with_period(pace.cell)
            .expect("a cell is never zero")
            .allow_burst(NonZeroU32::new(BURST_CELLS).expect("the bucket is not empty"));
        let spread = Spread::new(requests_per_interval.get(), interval, shared.is_none());
        RateGate {
            gcra: RateLimiter::direct(quota),
            cost: AtomicU32::new(pace.cost(spread.slack())),
            logged_slack: AtomicU32::new(u32::MAX),
            shared,
            pace,
            spread,
            interval,
            paused_until: Mutex::new(None),
        }
    }

    /// The shared budget, when the run draws from one.
    pub fn shared_budget(&self) -> Option<&SharedBudget> {
        self.shared.as_ref()
    }

    /// The requests of the window kept free now for arrival jitter, and the share of the window
    /// that leaves (for the log and the benches).
    pub fn slack(&self) -> (f64, f64) {
        let cost = self.cost.load(Relaxed);
        (self.spread.slack(), self.pace.share(cost))
    }

    /// Waits until one more request may leave, and takes its token. Fails only when the shared
    /// budget cannot give one (unreachable for too long, refused, or the daily limit spent).
    pub async fn acquire(&self) -> Result<Ticket, BudgetError> {
        loop {
            let pause = *self.paused_until.lock().expect("limiter lock poisoned");
            match pause {
                Some(until) if until > Instant::now() => {
                    tokio::time::sleep_until(until.into()).await;
                }
                _ => break,
            }
        }
        let cost = self.cost.load(Relaxed);
        match &self.shared {
            Some(budget) => budget.acquire(cost).await?,
            None => {
                let cells = NonZeroU32::new(cost).expect("a request costs at least one cell");
                // The cost never exceeds the bucket (`Pace::cost`), so this never fails; if it
                // did, a whole bucket is the slowest pace there is.
                if self.gcra.until_n_ready(cells).await.is_err() {
                    self.gcra.until_ready().await;
                }
            }
        }
        Ok(self.spread.sent(Instant::now()))
    }

    /// Reads the portal's answer to the request of `ticket`: its count of the window against ours
    /// sets the slack; when it cannot (no comparable count) and the window has no room left for
    /// anyone, every sender stops for a share of the window.
    pub fn observe(&self, ticket: Ticket, latency: Duration, rate: &RateHeaders, refused: bool) {
        let measured = self
            .spread
            .answered(ticket, latency, rate, refused, Instant::now());
        let slack = self.spread.slack();
        let cost = self.pace.cost(slack);
        self.cost.store(cost, Relaxed);
        // Logged in whole requests: the latency estimate moves a little with every answer.
        let whole = slack.round() as u32;
        if self.logged_slack.swap(whole, Relaxed) != whole {
            tracing::debug!(
                slack,
                share = self.pace.share(cost),
                "requests of the window kept free for arrival jitter"
            );
        }
        if !measured
            && let Some(remaining) = rate.remaining
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
            self.pause_for((interval / 10).max(self.spacing()).min(MAX_PAUSE));
        }
    }

    /// The portal answered 429 for the rolling window: let the window drain a little.
    pub fn throttled(&self) {
        self.pause_for((self.interval / 10).max(self.spacing()));
    }

    /// One request's worth of time at the current cost.
    fn spacing(&self) -> Duration {
        self.pace.cell * self.cost.load(Relaxed)
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
    use super::super::spread::HEADROOM;
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
        let ticket = gate.acquire().await.unwrap();
        // No `Max`: the portal's count cannot be read against ours, so a full window pauses.
        let rate = RateHeaders {
            remaining: Some(0),
            interval_ms: Some(500),
            ..RateHeaders::default()
        };
        gate.observe(ticket, Duration::from_millis(1), &rate, false);
        let start = Instant::now();
        gate.acquire().await.unwrap();
        assert!(start.elapsed() >= Duration::from_millis(45));
    }

    #[tokio::test]
    async fn the_portal_counting_more_than_we_sent_slows_the_pace() {
        let gate = RateGate::new(NonZeroU32::new(190).unwrap(), Duration::from_secs(10));
        let (_, prior) = gate.slack();
        let ticket = gate.acquire().await.unwrap();
        let rate = |remaining| RateHeaders {
            max: Some(190),
            remaining: Some(remaining),
            interval_ms: Some(10_000),
            ..RateHeaders::default()
        };
        // The portal's window holds just this request, as ours does: nothing to keep free.
        gate.observe(ticket, Duration::from_millis(5), &rate(189), false);
        let (slack, calm) = gate.slack();
        assert_eq!(slack, HEADROOM);
        assert!(calm > prior && calm > 0.989, "{calm}");
        // It holds four more than ours (arrivals bunched, or others' traffic): keep them free.
        gate.observe(ticket, Duration::from_millis(5), &rate(185), false);
        let (slack, bunched) = gate.slack();
        assert_eq!(slack, 4.0 + HEADROOM);
        assert!(bunched < calm, "{bunched} {calm}");
        // The count is read, so a full window is no reason to pause everyone.
        gate.observe(ticket, Duration::from_millis(5), &rate(0), false);
        let start = Instant::now();
        gate.acquire().await.unwrap();
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
