//! Rate limits: an exact rolling window per token (a sliding log of arrival instants, so exactly
//! `requests_per_interval` fit in any window of `interval`, as HubSpot counts) and a daily counter for the
//! portal that resets at UTC midnight — once for the general API, and once more for the v4 association
//! endpoints, which HubSpot limits separately (API-NOTES §1: their own burst and daily figures, and the
//! `ten-secondly` exemption in the spec).
//!
//! Decisions (README): every authenticated request that reaches the limiter is logged in its token's
//! window, the 429'd ones included — HubSpot counts what it receives, so a client that keeps hammering
//! stays throttled. The daily counter counts only requests that were let through (a 429 did no work).
//! 401s are not counted anywhere. A token whose window has emptied is forgotten (its table entry would
//! only say "nothing in the last interval"), so many short-lived tokens cannot grow the table forever.

use std::collections::{HashMap, VecDeque};
use std::fmt;
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

/// Which budget a request draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// Every HubSpot path except the v4 associations API.
    General,
    /// `/crm/v4/…`: the associations API's own window and daily counter.
    Associations,
}

/// The limits in force (`/_sandbox/config` answers them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub max: u32,
    pub daily_limit: u64,
    pub association_max: u32,
    pub association_daily_limit: u64,
    pub interval: Duration,
}

/// A run-time change (`/_sandbox/config`); `None` keeps the current value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Change {
    pub max: Option<u32>,
    pub daily_limit: Option<u64>,
    pub association_max: Option<u32>,
    pub association_daily_limit: Option<u64>,
    pub interval: Option<Duration>,
    /// Zeroes today's counters.
    pub reset_daily: bool,
}

/// The table is swept of idle tokens when it grows past twice its size after the last sweep (and at
/// least this many entries): amortised O(1) per request, and never more than about twice the tokens
/// active in one interval.
const MIN_SWEEP: usize = 64;

/// One pool's window per token and daily counter.
struct Budget {
    max: u32,
    daily_limit: u64,
    daily_used: u64,
    windows: HashMap<String, SlidingLog>,
    sweep_at: usize,
}

impl Budget {
    fn new(max: u32, daily_limit: u64) -> Budget {
        Budget {
            max,
            daily_limit,
            daily_used: 0,
            windows: HashMap::new(),
            sweep_at: MIN_SWEEP,
        }
    }

    fn admit(&mut self, token: &str, now: Instant, interval: Duration) -> (Verdict, Quota) {
        let log = match self.windows.get_mut(token) {
            Some(log) => log,
            None => self.windows.entry(token.to_owned()).or_default(),
        };
        let in_window = log.record(now, interval);
        let wait = log.until_room(now, interval);
        if self.windows.len() > self.sweep_at {
            // The current token just logged an arrival, so it survives the sweep.
            self.windows.retain(|_, log| log.count(now, interval) > 0);
            self.sweep_at = MIN_SWEEP.max(2 * self.windows.len());
        }
        let verdict = if self.daily_used >= self.daily_limit {
            Verdict::Daily
        } else if in_window > self.max as usize {
            Verdict::Window(wait)
        } else {
            self.daily_used += 1;
            Verdict::Allowed
        };
        (verdict, self.quota(in_window, interval))
    }

    fn quota(&self, in_window: usize, interval: Duration) -> Quota {
        Quota {
            max: self.max,
            remaining: self
                .max
                .saturating_sub(in_window.min(u32::MAX as usize) as u32),
            interval_ms: interval.as_millis() as u64,
            daily: self.daily_limit,
            daily_remaining: self.daily_limit.saturating_sub(self.daily_used),
        }
    }
}

struct Inner {
    interval: Duration,
    day: i64,
    general: Budget,
    associations: Budget,
}

/// Says how many tokens are tracked, never which: the table's keys are bearer tokens.
impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limits")
            .field("interval", &self.interval)
            .field("max", &self.general.max)
            .field("daily_limit", &self.general.daily_limit)
            .field("association_max", &self.associations.max)
            .field("association_daily_limit", &self.associations.daily_limit)
            .field("tokens_tracked", &self.tracked())
            .finish_non_exhaustive()
    }
}

/// The portal's limits.
#[derive(Debug)]
pub struct Limits {
    inner: Mutex<Inner>,
}

impl Limits {
    /// The limits of `settings`.
    pub fn new(settings: Settings) -> Limits {
        Limits {
            inner: Mutex::new(Inner {
                interval: settings.interval,
                day: i64::MIN,
                general: Budget::new(settings.max, settings.daily_limit),
                associations: Budget::new(
                    settings.association_max,
                    settings.association_daily_limit,
                ),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one request of `token` to `pool` arriving at `now` on UTC day `today`.
    pub fn admit(&self, pool: Pool, token: &str, now: Instant, today: i64) -> (Verdict, Quota) {
        let mut inner = self.lock();
        inner.roll_day(today);
        let interval = inner.interval;
        inner.budget(pool).admit(token, now, interval)
    }

    /// The quota of `token` in `pool` without counting a request (for 401 answers).
    pub fn peek(&self, pool: Pool, token: &str, now: Instant, today: i64) -> Quota {
        let mut inner = self.lock();
        inner.roll_day(today);
        let interval = inner.interval;
        let budget = inner.budget(pool);
        let in_window = budget
            .windows
            .get_mut(token)
            .map_or(0, |log| log.count(now, interval));
        budget.quota(in_window, interval)
    }

    /// The window length.
    pub fn interval(&self) -> Duration {
        self.lock().interval
    }

    /// The limits in force.
    pub fn settings(&self) -> Settings {
        let inner = self.lock();
        Settings {
            max: inner.general.max,
            daily_limit: inner.general.daily_limit,
            association_max: inner.associations.max,
            association_daily_limit: inner.associations.daily_limit,
            interval: inner.interval,
        }
    }

    /// Requests of `pool` counted today.
    pub fn daily_used(&self, pool: Pool, today: i64) -> u64 {
        let mut inner = self.lock();
        inner.roll_day(today);
        inner.budget(pool).daily_used
    }

    /// Tokens with a window in the table, all pools together (`/_sandbox/stats` `tokens_tracked`).
    pub fn tracked_tokens(&self) -> usize {
        self.lock().tracked()
    }

    /// Changes limits at run time (`/_sandbox/config`).
    pub fn configure(&self, change: Change) {
        let mut inner = self.lock();
        if let Some(interval) = change.interval {
            inner.interval = interval;
        }
        let pools = [
            (Pool::General, change.max, change.daily_limit),
            (
                Pool::Associations,
                change.association_max,
                change.association_daily_limit,
            ),
        ];
        for (pool, max, daily) in pools {
            let budget = inner.budget(pool);
            if let Some(max) = max {
                budget.max = max;
            }
            if let Some(daily) = daily {
                budget.daily_limit = daily;
            }
            if change.reset_daily {
                budget.daily_used = 0;
            }
        }
    }

    /// Empties every window and the daily counters (`/_sandbox/reset`).
    pub fn reset(&self) {
        let mut guard = self.lock();
        let inner = &mut *guard;
        for budget in [&mut inner.general, &mut inner.associations] {
            budget.windows.clear();
            budget.sweep_at = MIN_SWEEP;
            budget.daily_used = 0;
        }
    }
}

impl Inner {
    fn roll_day(&mut self, today: i64) {
        if today != self.day {
            self.day = today;
            self.general.daily_used = 0;
            self.associations.daily_used = 0;
        }
    }

    fn budget(&mut self, pool: Pool) -> &mut Budget {
        match pool {
            Pool::General => &mut self.general,
            Pool::Associations => &mut self.associations,
        }
    }

    fn tracked(&self) -> usize {
        self.general.windows.len() + self.associations.windows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Pool::{Associations, General};
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn settings(max: u32, daily_limit: u64) -> Settings {
        Settings {
            max,
            daily_limit,
            association_max: max + 1,
            association_daily_limit: daily_limit.saturating_add(3),
            interval: SECOND,
        }
    }

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
        let limits = Limits::new(settings(3, 1000));
        let t0 = Instant::now();
        for i in 0..3 {
            let (verdict, quota) = limits.admit(General, "tok", t0, 0);
            assert_eq!(verdict, Verdict::Allowed);
            assert_eq!(quota.remaining, 2 - i);
        }
        let (verdict, quota) = limits.admit(General, "tok", t0, 0);
        assert!(matches!(verdict, Verdict::Window(_)));
        assert_eq!(quota.remaining, 0);
        // Another token has its own window.
        assert_eq!(limits.admit(General, "other", t0, 0).0, Verdict::Allowed);
        // The refused request counted too: all four leave one interval later.
        assert_eq!(
            limits.admit(General, "tok", t0 + SECOND, 0).0,
            Verdict::Allowed
        );
        // The daily counter counted only the allowed ones.
        assert_eq!(limits.daily_used(General, 0), 5);
    }

    #[test]
    fn daily_limit_and_midnight_reset() {
        let limits = Limits::new(settings(100, 2));
        let t0 = Instant::now();
        assert_eq!(limits.admit(General, "t", t0, 7).0, Verdict::Allowed);
        assert_eq!(limits.admit(General, "t", t0, 7).0, Verdict::Allowed);
        let (verdict, quota) = limits.admit(General, "t", t0, 7);
        assert_eq!((verdict, quota.daily_remaining), (Verdict::Daily, 0));
        assert_eq!(limits.admit(General, "t", t0, 8).0, Verdict::Allowed);
        limits.configure(Change {
            daily_limit: Some(10),
            reset_daily: true,
            ..Change::default()
        });
        assert_eq!(limits.daily_used(General, 8), 0);
    }

    #[test]
    fn associations_have_their_own_window_and_day() {
        let limits = Limits::new(settings(1, 1000));
        let t0 = Instant::now();
        assert_eq!(limits.admit(General, "t", t0, 0).0, Verdict::Allowed);
        assert!(matches!(
            limits.admit(General, "t", t0, 0).0,
            Verdict::Window(_)
        ));
        let (verdict, quota) = limits.admit(Associations, "t", t0, 0);
        assert_eq!(verdict, Verdict::Allowed);
        assert_eq!((quota.max, quota.remaining, quota.daily), (2, 1, 1003));
        assert_eq!(limits.daily_used(General, 0), 1);
        assert_eq!(limits.daily_used(Associations, 0), 1);
    }

    #[test]
    fn idle_tokens_are_forgotten() {
        let limits = Limits::new(settings(10, u64::MAX));
        let t0 = Instant::now();
        // Ten thousand tokens, one request each, each a full interval after the one before: at most one
        // window is ever non-empty, so the table stays near its sweep threshold instead of growing.
        for i in 0..10_000u32 {
            let now = t0 + SECOND * i;
            assert_eq!(
                limits.admit(General, &format!("token-{i}"), now, 0).0,
                Verdict::Allowed
            );
        }
        assert!(
            limits.tracked_tokens() <= MIN_SWEEP + 1,
            "{}",
            limits.tracked_tokens()
        );
        // Busy tokens are kept: their windows still count.
        let now = t0 + SECOND * 20_000;
        for i in 0..200 {
            limits.admit(General, &format!("busy-{i}"), now, 0);
        }
        assert_eq!(limits.tracked_tokens(), 200);
        assert_eq!(limits.peek(General, "busy-7", now, 0).remaining, 9);
    }

    #[test]
    fn debug_never_shows_tokens() {
        let limits = Limits::new(settings(10, 10));
        limits.admit(General, "pat-secret-token", Instant::now(), 0);
        let text = format!("{limits:?}");
        assert!(!text.contains("pat-secret-token"), "{text}");
        assert!(text.contains("tokens_tracked: 1"), "{text}");
    }
}
