//! The run's stop switch: set once, with the first reason, and checked before every request.
//!
//! The portal raises it (a refused token, a spent daily budget), the outcome writer raises it (a
//! bookkeeping failure), and so does Ctrl-C or SIGTERM. Nothing is sent after it is up, and every
//! wait (the rate gate, a pause the portal asked for, a backoff, a concurrency slot) ends when it
//! goes up. A second Ctrl-C aborts: requests in flight are abandoned too (their rows stay
//! unfinished, or in doubt for creates, and `--resume` settles them).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// Why the run stopped sending before the end of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// 429 `DAILY`: resumable once the limit resets.
    DailyLimit(String),
    /// 401/403: the token is refused.
    Refused { status: u16, message: String },
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// The shared rate budget stayed unreachable longer than the run may wait: resumable.
    BudgetUnavailable(String),
    /// A local failure that makes going on unsafe (the journal or the dead-letter file cannot be
    /// written).
    Failed(String),
}

/// How far the stop has gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Running,
    /// Nothing new leaves; requests in flight finish.
    Halted,
    /// Requests in flight are abandoned too.
    Aborted,
}

/// Set once; every sender checks it before each attempt, and every wait ends on it.
#[derive(Debug)]
pub struct HaltFlag {
    level: watch::Sender<Level>,
    reason: Mutex<Option<Halt>>,
}

impl Default for HaltFlag {
    fn default() -> Self {
        HaltFlag {
            level: watch::Sender::new(Level::Running),
            reason: Mutex::new(None),
        }
    }
}

impl HaltFlag {
    /// Raises the flag; the first reason wins.
    pub fn raise(&self, halt: Halt) {
        let mut reason = self.reason.lock().expect("halt lock poisoned");
        if reason.is_none() {
            *reason = Some(halt);
        }
        self.level
            .send_if_modified(|level| raise_to(level, Level::Halted));
    }

    pub fn is_raised(&self) -> bool {
        *self.level.borrow() >= Level::Halted
    }

    pub fn reason(&self) -> Option<Halt> {
        self.reason.lock().expect("halt lock poisoned").clone()
    }

    /// Resolves once the flag is raised (at once if it is).
    pub async fn raised(&self) {
        self.reached(Level::Halted).await;
    }

    /// Resolves once the run is aborted (a second Ctrl-C): requests in flight are abandoned.
    pub async fn aborted(&self) {
        self.reached(Level::Aborted).await;
    }

    async fn reached(&self, wanted: Level) {
        let mut level = self.level.subscribe();
        // The sender lives as long as `self`, so this only ends by reaching the level.
        let _ = level.wait_for(|level| *level >= wanted).await;
    }

    /// Sets `stop` once the flag is raised, for a thread that cannot wait on it (the prepare
    /// thread stops reading the source). Abort the task when the run is over.
    pub fn mirror_into(self: &Arc<Self>, stop: &Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
        let (halt, stop) = (Arc::clone(self), Arc::clone(stop));
        tokio::spawn(async move {
            halt.raised().await;
            stop.store(true, Ordering::SeqCst);
        })
    }

    /// Ctrl-C or SIGTERM raise [`Halt::Interrupted`]: in-flight requests finish, nothing new
    /// leaves, and the run reports what it did (exit 4, resumable). A second one aborts.
    pub async fn raise_on_signal(&self) {
        next_signal().await;
        tracing::warn!(
            "interrupted: finishing the requests in flight, then stopping (Ctrl-C again to stop at once)"
        );
        self.raise(Halt::Interrupted);
        next_signal().await;
        tracing::warn!("interrupted again: abandoning the requests in flight");
        self.level
            .send_if_modified(|level| raise_to(level, Level::Aborted));
    }
}

fn raise_to(level: &mut Level, to: Level) -> bool {
    if *level < to {
        *level = to;
        true
    } else {
        false
    }
}

/// The next Ctrl-C or SIGTERM.
async fn next_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_end_when_the_flag_goes_up() {
        let flag = std::sync::Arc::new(HaltFlag::default());
        let waiter = {
            let flag = std::sync::Arc::clone(&flag);
            tokio::spawn(async move { flag.raised().await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        flag.raise(Halt::Interrupted);
        flag.raise(Halt::Failed("later".into()));
        waiter.await.unwrap();
        assert_eq!(flag.reason(), Some(Halt::Interrupted));
        // Raised is not aborted.
        let aborted = tokio::time::timeout(std::time::Duration::from_millis(20), flag.aborted());
        assert!(aborted.await.is_err());
    }
}
