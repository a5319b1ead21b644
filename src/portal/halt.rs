//! The run's stop switch: set once, with the first reason, and checked before every request.
//!
//! The portal raises it (a refused token, a spent daily budget), the dispatcher raises it (a
//! bookkeeping failure), and so does Ctrl-C or SIGTERM. Nothing is sent after it is up.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Why the run stopped sending before the end of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// 429 `DAILY`: resumable once the limit resets.
    DailyLimit(String),
    /// 401/403: the token is refused.
    Refused { status: u16, message: String },
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// A local failure that makes going on unsafe (the checkpoint journal cannot be written).
    Failed(String),
}

/// Set once; every sender checks it before each attempt.
#[derive(Debug, Default)]
pub struct HaltFlag {
    raised: AtomicBool,
    reason: Mutex<Option<Halt>>,
}

impl HaltFlag {
    /// Raises the flag; the first reason wins.
    pub fn raise(&self, halt: Halt) {
        let mut reason = self.reason.lock().expect("halt lock poisoned");
        if reason.is_none() {
            *reason = Some(halt);
        }
        self.raised.store(true, Ordering::SeqCst);
    }

    pub fn is_raised(&self) -> bool {
        self.raised.load(Ordering::SeqCst)
    }

    pub fn reason(&self) -> Option<Halt> {
        self.reason.lock().expect("halt lock poisoned").clone()
    }

    /// Ctrl-C or SIGTERM raise [`Halt::Interrupted`]: in-flight requests finish, nothing new
    /// leaves, and the run reports what it did (exit 4, resumable).
    pub async fn raise_on_signal(&self) {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let Ok(mut term) = signal(SignalKind::terminate()) else {
                return;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::warn!("interrupted: finishing the requests in flight, then stopping");
        self.raise(Halt::Interrupted);
    }
}
