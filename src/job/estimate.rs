//! The arithmetic of sending: how many requests a job takes, how long they take at the pipeline's
//! windows, and what share of the portal's daily budget they use. `etl validate` prints it before
//! anything is sent; the progress line takes its ETA from it and says when the daily budget runs
//! out before the end.
//!
//! The pace is the rate gate's: a window of N requests per interval sends one request every
//! interval / N, so R requests take R × interval / N. Writes and links draw on two windows side by
//! side (API-NOTES §1), so a job takes as long as the slower of the two; both count towards the
//! one daily budget.

use std::fmt;
use std::time::Duration;

use crate::config::{Dispatch, Operation};
use crate::prepare::row::Input;

/// The requests a job sends, by window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requests {
    /// Batch writes (create, update, upsert, archive) and mirrored deletes: the general window.
    pub writes: u64,
    /// v4 association batches: the associations window.
    pub links: u64,
}

impl Requests {
    pub fn total(&self) -> u64 {
        self.writes + self.links
    }

    /// With one more batch of `inputs` sent by `operation`: a link operation's batch is one
    /// association request; a create carries its links inline; an update or upsert writes its
    /// links after the batch, `link_batch` to a request.
    pub fn add_batch(self, operation: Operation, inputs: &[Input], link_batch: u64) -> Requests {
        if operation.links_only() {
            return Requests {
                links: self.links + 1,
                ..self
            };
        }
        let links = match operation {
            Operation::Update | Operation::Upsert => {
                let n: usize = inputs
                    .iter()
                    .map(|input| input.associations.len().max(input.links.len()))
                    .sum();
                (n as u64).div_ceil(link_batch.max(1))
            }
            _ => 0,
        };
        Requests {
            writes: self.writes + 1,
            links: self.links + links,
        }
    }

    /// How long the requests take at `dispatch`'s windows, when nothing else slows them.
    pub fn duration(&self, dispatch: &Dispatch) -> Duration {
        let writes = at_pace(
            self.writes,
            dispatch.requests_per_interval.get(),
            dispatch.interval,
        );
        let links = at_pace(
            self.links,
            dispatch.association_requests_per_interval.get(),
            dispatch.interval,
        );
        writes.max(links)
    }
}

/// `requests` sent at `per_interval` per `interval`.
pub fn at_pace(requests: u64, per_interval: u32, interval: Duration) -> Duration {
    interval.mul_f64(requests as f64 / f64::from(per_interval.max(1)))
}

/// A job's requests measured against the pipeline's windows and daily budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendingPlan {
    pub requests: Requests,
    pub duration: Duration,
    /// `[dispatch] daily_limit`.
    pub daily_limit: u64,
    /// `requests_per_interval` and the interval, to say the pace the duration assumes.
    pub per_interval: u32,
    pub interval: Duration,
}

impl SendingPlan {
    pub fn new(requests: Requests, dispatch: &Dispatch) -> SendingPlan {
        SendingPlan {
            requests,
            duration: requests.duration(dispatch),
            daily_limit: dispatch.daily_limit,
            per_interval: dispatch.requests_per_interval.get(),
            interval: dispatch.interval,
        }
    }

    /// The share of the daily budget the job uses (1.0: all of it).
    pub fn daily_share(&self) -> f64 {
        self.requests.total() as f64 / self.daily_limit.max(1) as f64
    }
}

impl fmt::Display for SendingPlan {
    /// `31 (30 writes, 1 link batch) ≈ 0:31 at 100 per 10 s · 0.01% of the daily budget (250,000)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Requests { writes, links } = self.requests;
        write!(f, "{}", thousands(self.requests.total()))?;
        if links > 0 {
            write!(
                f,
                " ({} writes, {} link batches)",
                thousands(writes),
                thousands(links)
            )?;
        }
        write!(
            f,
            " ≈ {} at {} per {} · {} of the daily budget ({})",
            clock(self.duration),
            self.per_interval,
            seconds(self.interval),
            percent(self.daily_share()),
            thousands(self.daily_limit)
        )?;
        if self.requests.total() > self.daily_limit {
            write!(
                f,
                "\nwarning: more than a day's budget: the run stops at the daily limit (exit 4); \
                 `etl run --resume` after the portal's midnight goes on"
            )?;
        }
        Ok(())
    }
}

/// Requests left before the daily budget is spent, against the requests a job still needs: the
/// requests that remain after the budget runs out, if it does.
pub fn beyond_daily(requests_left: u64, daily_left: u64) -> Option<u64> {
    requests_left.checked_sub(daily_left).filter(|n| *n > 0)
}

/// `0.5%`, `12%`, `<0.01%`.
fn percent(share: f64) -> String {
    let p = share * 100.0;
    match p {
        0.0 => "0%".into(),
        p if p < 0.01 => "<0.01%".into(),
        p if p < 1.0 => format!("{p:.2}%"),
        p => format!("{p:.0}%"),
    }
}

/// `10 s`, `1.5 s`, `250 ms`.
fn seconds(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        ms if ms % 1000 == 0 => format!("{} s", ms / 1000),
        ms if ms >= 1000 => format!("{:.1} s", d.as_secs_f64()),
        ms => format!("{ms} ms"),
    }
}

/// `21000` → `21,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `0:20`, `12:05`, `1:02:03`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn dispatch(per_interval: u32, interval_ms: u64, daily_limit: u64) -> Dispatch {
        Dispatch {
            requests_per_interval: NonZeroU32::new(per_interval).unwrap(),
            interval: Duration::from_millis(interval_ms),
            daily_limit,
            ..Dispatch::default()
        }
    }

    #[test]
    fn requests_take_their_window_and_the_slower_window_decides() {
        let d = dispatch(100, 10_000, 250_000);
        let writes = Requests {
            writes: 300,
            links: 0,
        };
        assert_eq!(writes.duration(&d), Duration::from_secs(30));
        // Links at their own 100 per 10 s, beside the writes: 500 of them take 50 s.
        let both = Requests {
            writes: 300,
            links: 500,
        };
        assert_eq!(both.duration(&d), Duration::from_secs(50));
    }

    #[test]
    fn the_plan_says_pace_and_daily_share_and_warns_past_a_day() {
        let plan = SendingPlan::new(
            Requests {
                writes: 30,
                links: 0,
            },
            &dispatch(100, 10_000, 250_000),
        );
        assert_eq!(
            plan.to_string(),
            "30 ≈ 0:03 at 100 per 10 s · 0.01% of the daily budget (250,000)"
        );
        let big = SendingPlan::new(
            Requests {
                writes: 700_000,
                links: 20_000,
            },
            &dispatch(190, 10_000, 625_000),
        );
        let text = big.to_string();
        assert!(
            text.starts_with(
                "720,000 (700,000 writes, 20,000 link batches) ≈ 10:14:02 at 190 per 10 s · 115% \
                 of the daily budget (625,000)"
            ),
            "{text}"
        );
        assert!(text.contains("more than a day's budget"), "{text}");
    }

    #[test]
    fn beyond_the_daily_budget() {
        assert_eq!(beyond_daily(1_000, 5_000), None);
        assert_eq!(beyond_daily(5_000, 5_000), None);
        assert_eq!(beyond_daily(5_001, 5_000), Some(1));
    }

    #[test]
    fn numbers_and_clocks() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(clock(Duration::from_secs(5)), "0:05");
        assert_eq!(clock(Duration::from_secs(725)), "12:05");
        assert_eq!(seconds(Duration::from_millis(1000)), "1 s");
        assert_eq!(seconds(Duration::from_millis(250)), "250 ms");
        assert_eq!(percent(0.5), "50%");
        assert_eq!(percent(0.0012), "0.12%");
    }
}
