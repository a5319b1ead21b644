//! The progress display: a spinner line on a terminal, a log line every few seconds otherwise,
//! nothing when quiet. `etl run` shows its rows' fates; other commands (export, verify) give
//! their own line.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use super::report::Counters;
use crate::portal::{Portal, Traffic};

/// Shows progress until dropped: a bar on a terminal, a log line every few seconds otherwise,
/// nothing when quiet.
pub struct Progress {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// `etl run`'s progress: rows/s, accepted, dead-lettered, in flight, retries.
    pub fn start(counters: Arc<Counters>, portal: Arc<Portal>, quiet: bool) -> Progress {
        Progress::show(quiet, move |elapsed| {
            let line = progress_line(&counters, portal.traffic(), elapsed);
            match portal.waiting_for() {
                Some(waiting) => format!("{line} · {waiting}"),
                None => line,
            }
        })
    }

    /// Shows the line `line` makes from the time elapsed since the start.
    pub fn show(quiet: bool, line: impl Fn(Duration) -> String + Send + 'static) -> Progress {
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
                let line = line(started.elapsed());
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

fn progress_line(counters: &Counters, traffic: &Traffic, elapsed: Duration) -> String {
    let get = |c: &AtomicU64| c.load(Relaxed);
    let done = get(&counters.accepted) + get(&counters.dead_lettered);
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    format!(
        "{:.0} rows/s · {} accepted · {} dead-lettered · {} in flight · {} retries",
        rate,
        get(&counters.accepted),
        get(&counters.dead_lettered),
        get(&counters.in_flight),
        get(&traffic.retries)
    )
}
