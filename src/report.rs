//! What a run did: live counters shared by the dispatcher and the outcome writer, the final
//! JSON report (DESIGN.md §6), and the progress display.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Counters updated as the run goes; all monotonic.
#[derive(Debug, Default)]
pub struct Counters {
    pub accepted: AtomicU64,
    pub created: AtomicU64,
    pub updated: AtomicU64,
    pub archived: AtomicU64,
    pub dead_lettered: AtomicU64,
    /// Rows read but neither accepted nor dead-lettered because the run stopped early.
    pub unfinished: AtomicU64,
    /// Every HTTP request sent to the portal, retries included.
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    /// 429 answers (rolling window and daily).
    pub rate_limited: AtomicU64,
    /// Extra requests spent isolating bad rows of whole-batch failures.
    pub bisections: AtomicU64,
    /// Creates whose answer was lost and that were checked through a unique property.
    pub verified: AtomicU64,
    pub in_flight: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }
}

/// The run report written by `--report FILE` and summarised on exit.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub rows_read: u64,
    pub accepted: u64,
    pub created: u64,
    pub updated: u64,
    pub archived: u64,
    pub dead_lettered: u64,
    pub unfinished: u64,
    pub requests: u64,
    pub retries: u64,
    pub rate_limited: u64,
    pub bisections: u64,
    pub verified_creates: u64,
    pub elapsed_s: f64,
    pub rows_per_s: f64,
    /// `completed`, `daily_limit`, `interrupted` or `fatal`.
    pub stopped: String,
    pub dead_letter_file: String,
}

impl Report {
    pub fn from_counters(counters: &Counters, rows_read: u64, elapsed: Duration) -> Report {
        let get = |c: &AtomicU64| c.load(Relaxed);
        let elapsed_s = elapsed.as_secs_f64();
        let done = get(&counters.accepted) + get(&counters.dead_lettered);
        Report {
            rows_read,
            accepted: get(&counters.accepted),
            created: get(&counters.created),
            updated: get(&counters.updated),
            archived: get(&counters.archived),
            dead_lettered: get(&counters.dead_lettered),
            unfinished: get(&counters.unfinished),
            requests: get(&counters.requests),
            retries: get(&counters.retries),
            rate_limited: get(&counters.rate_limited),
            bisections: get(&counters.bisections),
            verified_creates: get(&counters.verified),
            elapsed_s: (elapsed_s * 1000.0).round() / 1000.0,
            rows_per_s: if elapsed_s > 0.0 {
                (done as f64 / elapsed_s).round()
            } else {
                0.0
            },
            stopped: "completed".to_string(),
            dead_letter_file: String::new(),
        }
    }

    /// Adds what earlier runs of a resumed job did, so the report covers the whole job.
    pub fn add_earlier(&mut self, earlier: &Report) {
        self.rows_read += earlier.rows_read;
        self.accepted += earlier.accepted;
        self.created += earlier.created;
        self.updated += earlier.updated;
        self.archived += earlier.archived;
        self.dead_lettered += earlier.dead_lettered;
        self.requests += earlier.requests;
        self.retries += earlier.retries;
        self.rate_limited += earlier.rate_limited;
    }

    /// The closing summary for people.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "{} rows read: {} accepted ({} created, {} updated, {} archived), {} dead-lettered",
            self.rows_read,
            self.accepted,
            self.created,
            self.updated,
            self.archived,
            self.dead_lettered
        );
        if self.unfinished > 0 {
            text.push_str(&format!(", {} unfinished", self.unfinished));
        }
        text.push_str(&format!(
            "\n{} requests ({} retries, {} rate-limited, {} for bisection) in {:.1}s, {} rows/s",
            self.requests,
            self.retries,
            self.rate_limited,
            self.bisections,
            self.elapsed_s,
            self.rows_per_s
        ));
        if self.dead_lettered > 0 {
            text.push_str(&format!("\ndead letters: {}", self.dead_letter_file));
        }
        text
    }
}

/// Shows progress until dropped: a bar on a terminal, a log line every few seconds otherwise,
/// nothing when quiet.
pub struct Progress {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    pub fn start(counters: Arc<Counters>, quiet: bool) -> Progress {
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
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            });
            let period = if terminal {
                Duration::from_millis(250)
            } else {
                Duration::from_secs(5)
            };
            let mut tick = tokio::time::interval(period);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {}
                }
                let line = progress_line(&counters, started.elapsed());
                match &bar {
                    Some(bar) => bar.set_message(line),
                    None => tracing::info!("{line}"),
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

    pub async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

fn progress_line(counters: &Counters, elapsed: Duration) -> String {
    let get = |c: &AtomicU64| c.load(Relaxed);
    let done = get(&counters.accepted) + get(&counters.dead_lettered);
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    format!(
        "{:.0} rows/s · {} accepted · {} dead-lettered · {} in flight · {} retries",
        rate,
        get(&counters.accepted),
        get(&counters.dead_lettered),
        get(&counters.in_flight),
        get(&counters.retries)
    )
}
