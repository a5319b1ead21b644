//! The request gate: no rolling window of `interval` ever carries more than `requests_per_interval`
//! requests from this run, retries included (DESIGN.md §3.4).
//!
//! A token bucket (governor's GCRA) with burst `b` and one token every `p` lets at most
//! `⌊T / p⌋ + b` requests through in any window `T`. We take `b = 2` and `T / p = N − m − 0.1`, so
//! no window holds more than `N − m + 1` requests, and the run sustains `(N − m − 0.1) / N` of the
//! ceiling (98.4 % at 190). The second token of burst is not there to burst: it lets a request
//! that woke a little late (timer granularity, scheduling) be followed on time, where a burst of
//! one would lose that time for good (measured: 96 % instead of 98 % of a 1 s window).
//!
//! The margin `m` absorbs latency jitter: the portal counts arrivals, not our send times, and a
//! request sent later than its neighbour can land closer to it than we spaced them. With `m` ≈
//! 1.5 % of `N` (3 of 190), arrivals may shift by two spacings (≈110 ms at 190 per 10 s) without
//! a 429.
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

use super::response::RateHeaders;
use crate::config::Dispatch;

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
}

/// The longest pause a response can cause.
const MAX_PAUSE: Duration = Duration::from_secs(60);

pub struct RateGate {
    gcra: DefaultDirectRateLimiter,
    /// One token's worth of time: `interval / (N − m − 0.1)`.
    spacing: Duration,
    interval: Duration,
    /// Set when the portal says its window is (nearly) full; no request leaves before it.
    paused_until: Mutex<Option<Instant>>,
}

impl RateGate {
    pub fn new(requests_per_interval: NonZeroU32, interval: Duration) -> RateGate {
        let n = requests_per_interval.get();
        let margin = safety_margin(n);
        // `⌊T / p⌋ + burst ≤ N − m + 1`; a tiny window (N ≤ 3) gets a burst of one.
        let (burst, per_interval) = if n - margin >= 2 {
            (2, f64::from(n - margin) - 0.1)
        } else {
            (1, f64::from((n - margin).max(1)))
        };
        let spacing = interval.div_f64(per_interval).max(Duration::from_nanos(1));
        let quota = Quota::with_period(spacing)
            .expect("spacing is never zero")
            .allow_burst(NonZeroU32::new(burst).expect("burst is 1 or 2"));
        RateGate {
            gcra: RateLimiter::direct(quota),
            spacing,
            interval,
            paused_until: Mutex::new(None),
        }
    }

    /// Waits until one more request may leave, and takes its token.
    pub async fn acquire(&self) {
        loop {
            let pause = *self.paused_until.lock().expect("limiter lock poisoned");
            match pause {
                Some(until) if until > Instant::now() => {
                    tokio::time::sleep_until(until.into()).await;
                }
                _ => break,
            }
        }
        self.gcra.until_ready().await;
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

/// How many requests of the window to leave unused as a guard against arrival jitter.
pub fn safety_margin(requests_per_interval: u32) -> u32 {
    if requests_per_interval <= 1 {
        return 0;
    }
    // At least two: one request of slack left under the bound even in small windows, where a
    // single late-scheduled request is a large share (seen on loopback under load).
    let margin = (f64::from(requests_per_interval) * 0.015).ceil() as u32;
    margin.max(2).min(requests_per_interval - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_is_small_but_never_zero() {
        assert_eq!(safety_margin(190), 3);
        assert_eq!(safety_margin(100), 2);
        assert_eq!(safety_margin(10), 2);
        assert_eq!(safety_margin(60), 2);
        assert_eq!(safety_margin(2), 1);
        assert_eq!(safety_margin(1), 0);
    }

    #[tokio::test]
    async fn no_window_holds_more_than_the_limit() {
        // 20 per 200 ms: take 45 tokens and check every window of 200 ms over the admission times.
        let gate = RateGate::new(NonZeroU32::new(20).unwrap(), Duration::from_millis(200));
        let mut times = Vec::new();
        for _ in 0..45 {
            gate.acquire().await;
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
        gate.acquire().await;
        assert!(start.elapsed() >= Duration::from_millis(45));
    }
}
