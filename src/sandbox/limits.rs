//! Rate limits: an exact rolling window per token (a sliding log of arrival instants, so exactly
//! `requests_per_interval` fit in any window of `interval`, as HubSpot counts) and a daily counter for the
//! portal that resets at UTC midnight.
//!
//! Decisions (README): every authenticated request that reaches the limiter is logged in its token's
//! window, the 429'd ones included — HubSpot counts what it receives, so a client that keeps hammering
//! stays throttled. The daily counter counts only requests that were let through (a 429 did no work).
//! 401s are not counted anywhere.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A log of arrival instants, trimmed to one window.
#[derive(Debug, Default, Clone)]
pub struct SlidingLog {
    arrivals: VecDeque<Instant>,
}

impl SlidingLog {
    /// Forgets arrivals at least `interval` before `now`.
    pub fn trim(&mut self, now: Instant, interval: Duration) {
        while let Some(&first) = self.arrivals.front() {
            if now.saturating_duration_since(first) >= interval {
                self.arrivals.pop_front();
            } else {
                break;
            }
        }
    }

    /// Records an arrival at `now`; returns how many arrivals the window ending at `now` holds, this one
    /// included.
    pub fn record(&mut self, now: Instant, interval: Duration) -> usize {
        self.trim(now, interval);
        self.arrivals.push_back(now);
        self.arrivals.len()
    }

    /// Arrivals in the window ending at `now`.
    pub fn count(&mut self, now: Instant, interval: Duration) -> usize {
        self.trim(now, interval);
        self.arrivals.len()
    }

    /// How long until the oldest arrival leaves the window.
    pub fn until_room(&self, now: Instant, interval: Duration) -> Duration {
        self.arrivals.front().map_or(Duration::ZERO, |first| {
            (*first + interval).saturating_duration_since(now)
        })
    }
}

/// What the `X-HubSpot-RateLimit-*` headers say after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub max: u32,
    pub remaining: u32,
    pub interval_ms: u64,
    pub daily: u64,
    pub daily_remaining: u64,
}

/// The limiter's answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the rolling window; room again after this long.
    Window(Duration),
    /// Over the daily limit; it resets at the next UTC midnight.
    Daily,
}

#[derive(Debug)]
struct Inner {
    max: u32,
    interval: Duration,
    daily_limit: u64,
    day: i64,
    daily_used: u64,
    windows: HashMap<String, SlidingLog>,
}

/// The portal's limits.
#[derive(Debug)]
pub struct Limits {
    inner: Mutex<Inner>,
}

impl Limits {
    /// `max` requests per `interval` per token, `daily_limit` per UTC day.
    pub fn new(max: u32, interval: Duration, daily_limit: u64) -> Limits {
        Limits {
            inner: Mutex::new(Inner {
                max,
                interval,
                daily_limit,
                day: i64::MIN,
                daily_used: 0,
                windows: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one request of `token` arriving at `now` on UTC day `today`.
    pub fn admit(&self, token: &str, now: Instant, today: i64) -> (Verdict, Quota) {
        let mut inner = self.lock();
        inner.roll_day(today);
        let (max, interval) = (inner.max, inner.interval);
        let log = match inner.windows.get_mut(token) {
            Some(log) => log,
            None => inner.windows.entry(token.to_owned()).or_default(),
        };
        let in_window = log.record(now, interval);
        let wait = log.until_room(now, interval);
        let verdict = if inner.daily_used >= inner.daily_limit {
            Verdict::Daily
        } else if in_window > max as usize {
            Verdict::Window(wait)
        } else {
            inner.daily_used += 1;
            Verdict::Allowed
        };
        (verdict, inner.quota(in_window))
    }

    /// The quota of `token` without counting a request (for 401 answers).
    pub fn peek(&self, token: &str, now: Instant, today: i64) -> Quota {
        let mut inner = self.lock();
        inner.roll_day(today);
        let interval = inner.interval;
        let in_window = inner
            .windows
            .get_mut(token)
            .map_or(0, |log| log.count(now, interval));
        inner.quota(in_window)
    }

    /// The window length.
    pub fn interval(&self) -> Duration {
        self.lock().interval
    }

    /// `(requests_per_interval, interval, daily_limit)`.
    pub fn settings(&self) -> (u32, Duration, u64) {
        let inner = self.lock();
        (inner.max, inner.interval, inner.daily_limit)
    }

    /// Requests counted today.
    pub fn daily_used(&self, today: i64) -> u64 {
        let mut inner = self.lock();
        inner.roll_day(today);
        inner.daily_used
    }

    /// Changes limits at run time (`/_sandbox/config`); `reset_daily` zeroes today's counter.
    pub fn configure(
        &self,
        max: Option<u32>,
        interval: Option<Duration>,
        daily: Option<u64>,
        reset_daily: bool,
    ) {
        let mut inner = self.lock();
        if let Some(max) = max {
            inner.max = max;
        }
        if let Some(interval) = interval {
            inner.interval = interval;
        }
        if let Some(daily) = daily {
            inner.daily_limit = daily;
        }
        if reset_daily {
            inner.daily_used = 0;
        }
    }

    /// Empties every window and the daily counter (`/_sandbox/reset`).
    pub fn reset(&self) {
        let mut inner = self.lock();
        inner.windows.clear();
        inner.daily_used = 0;
    }
}

impl Inner {
    fn roll_day(&mut self, today: i64) {
        if today != self.day {
            self.day = today;
            self.daily_used = 0;
        }
    }

    fn quota(&self, in_window: usize) -> Quota {
        Quota {
            max: self.max,
            remaining: self
                .max
                .saturating_sub(in_window.min(u32::MAX as usize) as u32),
            interval_ms: self.interval.as_millis() as u64,
            daily: self.daily_limit,
            daily_remaining: self.daily_limit.saturating_sub(self.daily_used),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn sliding_log_is_exact() {
        let t0 = Instant::now();
        let mut log = SlidingLog::default();
        assert_eq!(log.record(t0, SECOND), 1);
        assert_eq!(log.record(t0 + SECOND / 2, SECOND), 2);
        // The first arrival leaves exactly one interval after it came.
        assert_eq!(log.count(t0 + SECOND - Duration::from_nanos(1), SECOND), 2);
        assert_eq!(log.count(t0 + SECOND, SECOND), 1);
        assert_eq!(log.until_room(t0 + SECOND, SECOND), SECOND / 2);
    }

    #[test]
    fn window_allows_max_then_refuses_then_rolls() {
        let limits = Limits::new(3, SECOND, 1000);
        let t0 = Instant::now();
        for i in 0..3 {
            let (verdict, quota) = limits.admit("tok", t0, 0);
            assert_eq!(verdict, Verdict::Allowed);
            assert_eq!(quota.remaining, 2 - i);
        }
        let (verdict, quota) = limits.admit("tok", t0, 0);
        assert!(matches!(verdict, Verdict::Window(_)));
        assert_eq!(quota.remaining, 0);
        // Another token has its own window.
        assert_eq!(limits.admit("other", t0, 0).0, Verdict::Allowed);
        // The refused request counted too: all four leave one interval later.
        assert_eq!(limits.admit("tok", t0 + SECOND, 0).0, Verdict::Allowed);
        // The daily counter counted only the allowed ones.
        assert_eq!(limits.daily_used(0), 5);
    }

    #[test]
    fn daily_limit_and_midnight_reset() {
        let limits = Limits::new(100, SECOND, 2);
        let t0 = Instant::now();
        assert_eq!(limits.admit("t", t0, 7).0, Verdict::Allowed);
        assert_eq!(limits.admit("t", t0, 7).0, Verdict::Allowed);
        let (verdict, quota) = limits.admit("t", t0, 7);
        assert_eq!((verdict, quota.daily_remaining), (Verdict::Daily, 0));
        assert_eq!(limits.admit("t", t0, 8).0, Verdict::Allowed);
        limits.configure(None, None, Some(10), true);
        assert_eq!(limits.daily_used(8), 0);
    }
}
