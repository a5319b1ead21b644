//! The progress display: how far the job is (rows done of the file's total, percentage, elapsed,
//! ETA) and how it goes (rows/s, accepted, dead-lettered, 429s, retries, requests in flight).
//!
//! On a terminal, one line redrawn in place; off a terminal (a pipe, a cron job's log), a plain
//! log line every few seconds and one at the end, with the same figures and no escape codes.
//! Nothing when quiet.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use super::estimate::{at_pace, beyond_daily, clock, thousands};
use super::report::Counters;
use crate::portal::Portal;
use crate::prepare::source::{Extent, Total};

/// How often a line is written off a terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);
/// How often the terminal line is redrawn.
const REDRAW_EVERY: Duration = Duration::from_millis(250);

/// What a run's progress is measured by.
pub struct Gauges {
    pub counters: Arc<Counters>,
    pub portal: Arc<Portal>,
    pub extent: Arc<Extent>,
    /// Rows finished by earlier runs of a resumed job: done, though this run skips them.
    pub done_before: u64,
    /// How the rows left turn into requests, and the pace and daily budget those take.
    pub sending: Sending,
}

/// The arithmetic of the rows left ([`super::estimate`]): rows per request, the window's pace,
/// and the daily budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sending {
    pub batch_size: u64,
    pub per_interval: u32,
    pub interval: Duration,
    pub daily_limit: u64,
}

/// Shows progress until [`Progress::finish`].
pub struct Progress {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// `etl run`'s progress (nothing when `quiet`): how far, how fast, the rows' fates, and what
    /// the portal makes the run wait for.
    pub fn start(gauges: Gauges, quiet: bool) -> Progress {
        Progress::lines(quiet, move |elapsed, terminal| {
            let figures = Figures::read(&gauges, elapsed);
            let line = match terminal {
                true => figures.bar_line(),
                false => figures.line(),
            };
            match gauges.portal.waiting_for() {
                Some(waiting) => format!("{line} · {waiting}"),
                None => line,
            }
        })
    }

    /// A command's own line (export, verify), made from the time elapsed since the start.
    pub fn show(quiet: bool, line: impl Fn(Duration) -> String + Send + 'static) -> Progress {
        Progress::lines(quiet, move |elapsed, _| line(elapsed))
    }

    /// Shows the line `line` makes from the time elapsed and whether stderr is a terminal: redrawn
    /// in place on a terminal, logged every few seconds (and once at the end) off one.
    fn lines(quiet: bool, line: impl Fn(Duration, bool) -> String + Send + 'static) -> Progress {
        if quiet {
            return Progress {
                stop: None,
                task: None,
            };
        }
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let terminal = std::io::stderr().is_terminal();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            let bar = terminal.then(|| {
                let bar = indicatif::ProgressBar::new_spinner();
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar
            });
            let mut tick = tokio::time::interval(if terminal { REDRAW_EVERY } else { LOG_EVERY });
            tick.tick().await;
            loop {
                let done = tokio::select! {
                    _ = &mut stopped => true,
                    _ = tick.tick() => false,
                };
                match &bar {
                    Some(bar) if !done => bar.set_message(line(started.elapsed(), true)),
                    Some(_) => {}
                    None => tracing::info!("{}", line(started.elapsed(), false)),
                }
                if done {
                    break;
                }
            }
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
        });
        Progress {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the display (off a terminal, after one last line).
    pub async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// The figures of one progress line.
#[derive(Debug, Clone, PartialEq)]
struct Figures {
    /// Rows done: accepted or dead-lettered (by this run or an earlier one).
    done: u64,
    total: Total,
    elapsed: Duration,
    /// Rows this run finished per second.
    rate: f64,
    accepted: u64,
    dead_lettered: u64,
    rate_limited: u64,
    retries: u64,
    in_flight: u64,
    /// What is left of the daily budget: as the portal last said, else the pipeline's
    /// `daily_limit` less this run's requests.
    daily_left: u64,
    sending: Sending,
}

impl Figures {
    fn read(gauges: &Gauges, elapsed: Duration) -> Figures {
        let get = |c: &AtomicU64| c.load(Relaxed);
        let counters = &gauges.counters;
        let traffic = gauges.portal.traffic();
        let accepted = get(&counters.accepted);
        let dead_lettered = get(&counters.dead_lettered);
        let this_run = accepted + dead_lettered;
        let sent = get(&traffic.requests);
        Figures {
            done: gauges.done_before + this_run,
            total: gauges.extent.total(),
            elapsed,
            rate: this_run as f64 / elapsed.as_secs_f64().max(0.001),
            accepted,
            dead_lettered,
            rate_limited: get(&traffic.rate_limited),
            retries: get(&traffic.retries),
            in_flight: get(&counters.in_flight),
            daily_left: traffic
                .daily_remaining()
                .unwrap_or_else(|| gauges.sending.daily_limit.saturating_sub(sent)),
            sending: gauges.sending,
        }
    }

    /// The total when known or estimated, never below what is done.
    fn total(&self) -> Option<(u64, &'static str)> {
        match self.total {
            Total::Exact(n) => Some((n.max(self.done), "")),
            Total::About(n) => Some((n.max(self.done), "≈")),
            Total::Unknown => None,
        }
    }

    fn fraction(&self) -> Option<f64> {
        let (total, _) = self.total()?;
        Some(if total == 0 {
            1.0
        } else {
            self.done as f64 / total as f64
        })
    }

    /// The requests the rows left still need, when the total is known.
    fn requests_left(&self) -> Option<u64> {
        let (total, _) = self.total()?;
        Some((total - self.done).div_ceil(self.sending.batch_size.max(1)))
    }

    /// When the job ends: the rows left at the live rate, but never sooner than the window's pace
    /// allows their requests (a fast start, before the window fills, promises too much).
    fn eta(&self) -> Option<Duration> {
        let (total, _) = self.total()?;
        let left = (total - self.done) as f64;
        let paced = at_pace(
            self.requests_left()?,
            self.sending.per_interval,
            self.sending.interval,
        );
        let live = (self.rate >= 0.5).then(|| Duration::from_secs_f64((left / self.rate).min(1e7)));
        Some(live.map_or(paced, |live| live.max(paced)))
    }

    /// `9,500/21,000 rows (45%) · 0:20 elapsed · ETA 0:24 · 475 rows/s · 9,400 accepted · …`
    fn line(&self) -> String {
        let amount = match self.total() {
            Some((total, about)) => format!(
                "{}/{about}{} rows ({:.0}%)",
                thousands(self.done),
                thousands(total),
                self.fraction().unwrap_or(0.0) * 100.0
            ),
            None => format!("{} rows", thousands(self.done)),
        };
        let eta = match self.eta() {
            Some(eta) if self.elapsed > Duration::ZERO => clock(eta),
            _ => "--:--".to_string(),
        };
        let mut line = format!(
            "{amount} · {} elapsed · ETA {eta} · {} rows/s · {} accepted · {} dead-lettered · \
             {} 429s · {} retries · {} in flight",
            clock(self.elapsed),
            thousands(self.rate.round() as u64),
            thousands(self.accepted),
            thousands(self.dead_lettered),
            self.rate_limited,
            self.retries,
            self.in_flight
        );
        if let Some(short) = self
            .requests_left()
            .and_then(|left| beyond_daily(left, self.daily_left))
        {
            line.push_str(&format!(
                " · the daily budget runs out ≈{} requests before the end (exit 4; --resume after \
                 the portal's midnight)",
                thousands(short)
            ));
        }
        line
    }

    /// The terminal's line: a bar, then [`Figures::line`].
    fn bar_line(&self) -> String {
        const WIDTH: usize = 20;
        let bar = match self.fraction() {
            Some(fraction) => {
                let full = ((fraction.clamp(0.0, 1.0)) * WIDTH as f64).round() as usize;
                format!("[{}{}]", "#".repeat(full), "-".repeat(WIDTH - full))
            }
            None => format!("[{}]", "?".repeat(WIDTH)),
        };
        format!("{bar} {}", self.line())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(done: u64, total: Total, secs: u64) -> Figures {
        Figures {
            done,
            total,
            elapsed: Duration::from_secs(secs),
            rate: done as f64 / secs as f64,
            accepted: done - 100,
            dead_lettered: 100,
            rate_limited: 1,
            retries: 2,
            in_flight: 3,
            daily_left: 250_000,
            sending: Sending {
                batch_size: 100,
                per_interval: 100,
                interval: Duration::from_secs(10),
                daily_limit: 250_000,
            },
        }
    }

    #[test]
    fn a_line_tells_how_far_and_how_fast() {
        let line = figures(10_000, Total::Exact(21_000), 20).line();
        assert_eq!(
            line,
            "10,000/21,000 rows (48%) · 0:20 elapsed · ETA 0:22 · 500 rows/s · 9,900 accepted · \
             100 dead-lettered · 1 429s · 2 retries · 3 in flight"
        );
        let line = figures(10_000, Total::About(21_000), 20).line();
        assert!(line.starts_with("10,000/≈21,000 rows (48%)"), "{line}");
        let line = figures(200, Total::Unknown, 20).line();
        assert!(
            line.starts_with("200 rows · 0:20 elapsed · ETA --:--"),
            "{line}"
        );
    }

    #[test]
    fn the_terminal_line_has_a_bar_and_no_line_has_escapes() {
        let f = figures(10_500, Total::Exact(21_000), 3725);
        assert!(
            f.bar_line()
                .starts_with("[##########----------] 10,500/21,000 rows (50%) · 1:02:05 elapsed")
        );
        assert!(!f.bar_line().contains('\u{1b}') && !f.line().contains('\u{1b}'));
    }

    #[test]
    fn the_eta_is_never_sooner_than_the_window_allows() {
        // 11,000 rows left at 500 rows/s is 22 s; their 110 requests at 10 per 10 s take 110 s.
        let mut f = figures(10_000, Total::Exact(21_000), 20);
        f.sending.per_interval = 10;
        assert_eq!(f.eta(), Some(Duration::from_secs(110)));
        assert!(f.line().contains("ETA 1:50"), "{}", f.line());
    }

    #[test]
    fn the_line_says_when_the_daily_budget_runs_out_first() {
        let mut f = figures(10_000, Total::Exact(21_000), 20);
        assert!(!f.line().contains("daily budget"), "{}", f.line());
        // 110 requests left, 40 left of the day's budget.
        f.daily_left = 40;
        assert!(
            f.line().ends_with(
                " · the daily budget runs out ≈70 requests before the end (exit 4; \
                     --resume after the portal's midnight)"
            ),
            "{}",
            f.line()
        );
    }
}
