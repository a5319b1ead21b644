//! How far the portal's arrivals stray from our send times, and so how many requests of the window
//! the gate keeps free (the pace's slack, [`super::pace`]).
//!
//! The portal counts arrivals; we pace sends. A request that travels faster than the one sent a
//! window before it makes the portal's window hold more of ours than our own window did. The
//! portal says how many its window holds (`X-HubSpot-RateLimit-Max` minus `-Remaining`, counted at
//! the request's arrival); we know how many we sent in the window before that request left. The
//! difference, the *excess*, is the jitter in units of requests (plus anyone else's traffic on
//! the same app), measured where it matters. The gate keeps the largest excess of the last
//! [`MEMORY`] windows free, and [`HEADROOM`] more, so the portal's busiest window holds no more
//! than its limit while the jitter stays within one request of what it was; a larger spike is
//! answered 429, counted, and kept free from then on.
//!
//! When the portal's count cannot be compared with ours (no headers, another window length, or a
//! budget shared with other processes, whose sends we do not see), the spread of response
//! latencies stands in: arrival delay is part of latency, so its spread is an upper estimate of
//! how far arrivals stray (too high where the server's own time varies; safe).

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::response::RateHeaders;

/// How many windows an excess is remembered for.
pub const MEMORY: u64 = 8;
/// Kept free beyond the largest excess seen: a spike one request larger than any before is
/// absorbed instead of answered 429 (measured at the real window: with none, the first request of
/// jitter a run meets is a 429; one request costs half a percent of the window).
pub const HEADROOM: f64 = 1.0;
/// The slack kept before anything was measured: two requests, the tolerance the fixed margin
/// had before it was measured.
const PRIOR: f64 = 2.0;
/// Latencies kept for the fallback estimate, and how many are needed before it is used.
const LATENCY_SAMPLES: usize = 64;
const MIN_SAMPLES: usize = 8;

/// What a request's admission knew: how many of our requests (this one included) left in the
/// window that ends when it left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticket {
    pub ours: u32,
}

/// The estimate of one window's spread.
#[derive(Debug)]
pub struct Spread {
    interval: Duration,
    requests_per_interval: u32,
    /// Whether every request of this window leaves through this process (no shared budget), so
    /// our count of sends is the portal's count of ours.
    whole: bool,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    start: Instant,
    /// Our sends in the last interval.
    sent: VecDeque<Instant>,
    /// The largest excess seen per window (numbered from `start`), oldest first.
    maxima: VecDeque<(u64, f64)>,
    latencies: VecDeque<Duration>,
}

impl Spread {
    /// The spread of a window of `requests_per_interval` per `interval`; `whole` when this process
    /// alone draws from it.
    pub fn new(requests_per_interval: u32, interval: Duration, whole: bool) -> Spread {
        Spread {
            interval,
            requests_per_interval,
            whole,
            state: Mutex::new(State {
                start: Instant::now(),
                sent: VecDeque::new(),
                maxima: VecDeque::new(),
                latencies: VecDeque::with_capacity(LATENCY_SAMPLES),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A request leaves at `now`.
    pub fn sent(&self, now: Instant) -> Ticket {
        let mut state = self.lock();
        while let Some(&first) = state.sent.front() {
            if now.saturating_duration_since(first) >= self.interval {
                state.sent.pop_front();
            } else {
                break;
            }
        }
        state.sent.push_back(now);
        Ticket {
            ours: u32::try_from(state.sent.len()).unwrap_or(u32::MAX),
        }
    }

    /// The portal answered the request of `ticket` after `latency` with `rate`; `refused` when
    /// the answer was a 429 (its window held more than the limit). Returns whether the portal's
    /// count could be read against ours.
    pub fn answered(
        &self,
        ticket: Ticket,
        latency: Duration,
        rate: &RateHeaders,
        refused: bool,
        now: Instant,
    ) -> bool {
        let excess = self.excess(ticket, rate, refused);
        let mut state = self.lock();
        if state.latencies.len() == LATENCY_SAMPLES {
            state.latencies.pop_front();
        }
        state.latencies.push_back(latency);
        let Some(excess) = excess else {
            return false;
        };
        let window = (now.saturating_duration_since(state.start).as_nanos()
            / self.interval.as_nanos().max(1)) as u64;
        while state
            .maxima
            .front()
            .is_some_and(|(w, _)| w + MEMORY <= window)
        {
            state.maxima.pop_front();
        }
        match state.maxima.back_mut() {
            Some((w, max)) if *w == window => *max = max.max(excess),
            _ => state.maxima.push_back((window, excess)),
        }
        true
    }

    /// How many more requests the portal's window held than ours did, beyond what the portal's
    /// limit leaves free above ours: `N − Remaining − ours` (a 429 held one more than the limit).
    /// `None` when the two counts do not speak of the same window.
    fn excess(&self, ticket: Ticket, rate: &RateHeaders, refused: bool) -> Option<f64> {
        let same_window = rate.interval_ms == Some(self.interval.as_millis() as u64);
        if !self.whole || !same_window || rate.max.is_none() {
            return None;
        }
        let remaining = rate.remaining? as f64;
        let over = if refused { 1.0 } else { 0.0 };
        let excess =
            f64::from(self.requests_per_interval) - remaining + over - f64::from(ticket.ours);
        Some(excess.max(0.0))
    }

    /// The requests of the window to keep free now.
    pub fn slack(&self) -> f64 {
        let state = self.lock();
        if let Some(max) = state.maxima.iter().map(|(_, m)| *m).reduce(f64::max) {
            return max + HEADROOM;
        }
        if state.latencies.len() < MIN_SAMPLES {
            return PRIOR;
        }
        let mut sorted: Vec<Duration> = state.latencies.iter().copied().collect();
        sorted.sort_unstable();
        // The 95th percentile against the fastest: one stray answer does not slow the run.
        let high = sorted[(sorted.len() * 95 / 100).min(sorted.len() - 1)];
        let spread = high.saturating_sub(sorted[0]);
        HEADROOM
            + spread.as_secs_f64() / self.interval.as_secs_f64().max(f64::MIN_POSITIVE)
                * f64::from(self.requests_per_interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn headers(max: u64, remaining: u64, interval_ms: u64) -> RateHeaders {
        RateHeaders {
            max: Some(max),
            remaining: Some(remaining),
            interval_ms: Some(interval_ms),
            ..RateHeaders::default()
        }
    }

    #[test]
    fn counts_our_sends_in_the_last_window() {
        let spread = Spread::new(10, SECOND, true);
        let t0 = Instant::now();
        assert_eq!(spread.sent(t0).ours, 1);
        assert_eq!(spread.sent(t0 + SECOND / 2).ours, 2);
        assert_eq!(spread.sent(t0 + SECOND).ours, 2);
    }

    #[test]
    fn the_portal_counting_more_than_we_sent_is_kept_free_for_a_while() {
        let spread = Spread::new(190, SECOND, true);
        let t0 = Instant::now();
        assert_eq!(spread.slack(), PRIOR);
        let ticket = Ticket { ours: 180 };
        // The portal's window held 183 when ours held 180: three arrived bunched.
        assert!(spread.answered(ticket, SECOND / 100, &headers(190, 7, 1000), false, t0));
        assert_eq!(spread.slack(), 3.0 + HEADROOM);
        // A calmer window does not lower it at once…
        spread.answered(
            ticket,
            SECOND / 100,
            &headers(190, 10, 1000),
            false,
            t0 + SECOND,
        );
        assert_eq!(spread.slack(), 3.0 + HEADROOM);
        // …but after MEMORY windows the old excess is forgotten.
        let later = t0 + SECOND * (MEMORY as u32 + 1);
        spread.answered(ticket, SECOND / 100, &headers(190, 9, 1000), false, later);
        assert_eq!(spread.slack(), 1.0 + HEADROOM);
        // A 429 says the window held one more than the limit.
        spread.answered(ticket, SECOND / 100, &headers(190, 0, 1000), true, later);
        assert_eq!(spread.slack(), 11.0 + HEADROOM);
    }

    #[test]
    fn a_larger_portal_limit_leaves_room_for_others() {
        // We are configured at 100 of the portal's 190: others' traffic in the rest is no excess.
        let spread = Spread::new(100, SECOND, true);
        let t0 = Instant::now();
        spread.answered(
            Ticket { ours: 95 },
            SECOND,
            &headers(190, 40, 1000),
            false,
            t0,
        );
        assert_eq!(spread.slack(), HEADROOM);
        // A portal whose limit is below ours shows as excess: we slow down to it.
        spread.answered(
            Ticket { ours: 95 },
            SECOND,
            &headers(90, 0, 1000),
            false,
            t0,
        );
        assert_eq!(spread.slack(), 5.0 + HEADROOM);
    }

    #[test]
    fn without_a_comparable_count_the_latency_spread_stands_in() {
        let shared = Spread::new(100, SECOND, false);
        let t0 = Instant::now();
        for ms in [10, 12, 14, 16, 18, 20, 25, 30, 40, 50] {
            let latency = Duration::from_millis(ms);
            assert!(!shared.answered(
                Ticket { ours: 1 },
                latency,
                &headers(100, 0, 1000),
                false,
                t0
            ));
        }
        // 50 ms − 10 ms of a 1 s window of 100: four requests.
        assert!(
            (shared.slack() - 4.0 - HEADROOM).abs() < 1e-9,
            "{}",
            shared.slack()
        );
        // Another window length: the counts are not compared.
        let other = Spread::new(100, SECOND, true);
        assert!(!other.answered(
            Ticket { ours: 1 },
            SECOND,
            &headers(100, 0, 10_000),
            false,
            t0
        ));
        assert!(!other.answered(
            Ticket { ours: 1 },
            SECOND,
            &RateHeaders::default(),
            false,
            t0
        ));
    }
}
