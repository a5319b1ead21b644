//! The pace that keeps every rolling window under the portal's limit: how many of the limiter's
//! cells one request costs, given how far the portal's arrivals are seen to stray from our send
//! times. The local rate gate and the shared budget use the same pace, so one process alone and
//! many processes together keep the same bound.
//!
//! The limiter is a token bucket (GCRA) of small cells: `CELLS` of them make one request at the
//! full rate `N / T`, and the bucket holds `BURST_CELLS` (two requests' worth). In any stretch of
//! time `W` it gives out at most `W / cell + BURST_CELLS` cells, so a request costing `c` cells
//! lets at most `(W / cell + BURST_CELLS) / c` requests through in `W`. The cost is chosen so that
//! this stays below `N + 1 − slack` for `W = T`:
//!
//! ```text
//! c = ⌊CELLS · (N + 2) / (N + 1 − slack)⌋ + 1        sustains (N + 1 − slack) / (N + 2) of N
//! ```
//!
//! `slack` is how many requests of the window to keep free because the portal counts *arrivals*,
//! and a request sent after its neighbour can land closer to it than we spaced them
//! ([`super::spread`] measures it). At no slack a sender sustains 191/192 = 99.5 % of a 190-request
//! window, and each request of slack costs about half a percent. Cells make the slack a real
//! number: the cost moves in steps of 1/1024 of a request, not of a whole request.
//!
//! The second request's worth of burst is not there to burst: it lets a request that woke a
//! little late (timer granularity, scheduling) be followed on time, where a bucket of one request
//! would lose that time for good (measured: 96 % instead of 98 % of a 1 s window).

use std::num::NonZeroU32;
use std::time::Duration;

/// Cells to one request at the full rate: the resolution of the slack.
pub const CELLS: u32 = 1024;
/// What the bucket holds: two requests' worth at the full rate.
pub const BURST_CELLS: u32 = 2 * CELLS;

/// The cell of one window, and its size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    /// One cell's worth of time: `T / (N · CELLS)`.
    pub cell: Duration,
    /// `N`, the requests the window allows.
    pub requests_per_interval: u32,
}

impl Pace {
    /// The pace for `requests_per_interval` requests per `interval`.
    pub fn for_window(requests_per_interval: NonZeroU32, interval: Duration) -> Pace {
        let n = requests_per_interval.get();
        // Rounded up: a cell a fraction of a nanosecond short would let a few cells too many
        // through a window (measured: 191 of 190 at 200 ms).
        let cell = interval
            .as_nanos()
            .div_ceil(u128::from(n) * u128::from(CELLS));
        Pace {
            // A window of a billion requests a second is paced no finer than a nanosecond a cell.
            cell: Duration::from_nanos(cell.clamp(1, u128::from(u64::MAX)) as u64),
            requests_per_interval: n,
        }
    }

    /// The cells one request costs when `slack` requests of the window are kept free. The cost
    /// never exceeds what the bucket holds, so the slack is capped near half the window: at most
    /// `⌊N / 2⌋ + 1` requests then (a tiny window, `N ≤ 2`, can keep no slack at all).
    pub fn cost(&self, slack: f64) -> u32 {
        let n = f64::from(self.requests_per_interval);
        let slack = if slack.is_finite() {
            slack.clamp(0.0, n / 2.0)
        } else {
            n / 2.0
        };
        let cost = (f64::from(CELLS) * (n + 2.0) / (n + 1.0 - slack)).floor() + 1.0;
        (cost as u32).clamp(CELLS, BURST_CELLS)
    }

    /// The share of the window a sender sustains at `cost` cells a request.
    pub fn share(&self, cost: u32) -> f64 {
        f64::from(CELLS) / f64::from(cost.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most requests a window of `interval` can hold at `cost`: `⌊(T / cell + burst) / c⌋`.
    fn bound(pace: &Pace, interval: Duration, cost: u32) -> u64 {
        let cells = interval.as_nanos() / pace.cell.as_nanos() + u128::from(BURST_CELLS);
        (cells / u128::from(cost)) as u64
    }

    #[test]
    fn no_window_can_hold_more_than_the_limit_less_the_slack() {
        for n in [1u32, 2, 3, 4, 10, 60, 100, 190, 1000] {
            for interval in [Duration::from_millis(200), Duration::from_secs(10)] {
                let pace = Pace::for_window(NonZeroU32::new(n).unwrap(), interval);
                for slack in [0.0, 0.5, 1.0, 2.0, 3.0, 7.0] {
                    let cost = pace.cost(slack);
                    // At the cap (the bucket's size) a window holds at most half the limit and one.
                    let allowed = if cost == BURST_CELLS {
                        u64::from(n + 2) / 2
                    } else {
                        (f64::from(n) - slack).ceil() as u64
                    };
                    let bound = bound(&pace, interval, cost);
                    assert!(bound <= allowed, "{n}/{interval:?} slack {slack}: {bound}");
                    assert!(
                        bound <= u64::from(n),
                        "{n}/{interval:?} slack {slack}: {bound}"
                    );
                }
            }
        }
    }

    #[test]
    fn small_slack_keeps_most_of_the_window() {
        let pace = Pace::for_window(NonZeroU32::new(190).unwrap(), Duration::from_secs(10));
        assert!(pace.share(pace.cost(0.0)) > 0.994);
        assert!(pace.share(pace.cost(2.0)) > 0.983);
        // More slack, slower; capped at half the window.
        assert!(pace.cost(3.0) > pace.cost(2.0));
        assert_eq!(pace.cost(500.0), pace.cost(95.0));
        assert_eq!(pace.cost(f64::NAN), pace.cost(95.0));
        assert!(pace.cost(95.0) <= BURST_CELLS);
    }
}
