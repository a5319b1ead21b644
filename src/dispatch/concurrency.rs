//! Adaptive concurrency under the configured bound (the idea of Vector's adaptive request
//! concurrency): additive increase while latency stays flat and the portal's window has room,
//! multiplicative decrease on 429, 5xx, timeouts or rising latency; a full window holds it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::portal::Pacing;

/// How a finished request went, as far as pacing is concerned.
#[derive(Debug, Clone, Copy)]
enum Signal {
    /// Answered; `room` is false when the portal said its window is nearly full.
    Answered { latency: Duration, room: bool },
    /// 429, 423, 5xx, timeout or a connection failure.
    Backpressure,
}

pub struct Concurrency {
    max: usize,
    state: Mutex<State>,
    freed: Notify,
}

struct State {
    /// The current limit; fractional so additive increase is +1 per `limit` answers.
    limit: f64,
    in_flight: usize,
    /// Exponentially weighted mean latency: the "flat" reference.
    mean_latency: Option<Duration>,
}

/// A slot of the limit; gives it back when dropped.
pub struct Permit {
    owner: Arc<Concurrency>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.owner
            .state
            .lock()
            .expect("concurrency lock poisoned")
            .in_flight -= 1;
        self.owner.freed.notify_waiters();
    }
}

impl Concurrency {
    pub fn new(max: usize) -> Arc<Concurrency> {
        let max = max.max(1);
        Arc::new(Concurrency {
            max,
            state: Mutex::new(State {
                limit: max.min(2) as f64,
                in_flight: 0,
                mean_latency: None,
            }),
            freed: Notify::new(),
        })
    }

    /// Waits for a free slot under the current limit.
    pub async fn acquire(self: &Arc<Self>) -> Permit {
        loop {
            // Register interest before checking, so a release between the check and the wait
            // is not missed.
            let freed = self.freed.notified();
            {
                let mut state = self.state.lock().expect("concurrency lock poisoned");
                if (state.in_flight as f64) < state.limit.floor().max(1.0) {
                    state.in_flight += 1;
                    return Permit {
                        owner: Arc::clone(self),
                    };
                }
            }
            freed.await;
        }
    }

    /// Adjusts the limit after a request.
    fn record(&self, signal: Signal) {
        let mut state = self.state.lock().expect("concurrency lock poisoned");
        match signal {
            Signal::Answered { latency, room } => {
                let mean = *state.mean_latency.get_or_insert(latency);
                let rising = latency > mean * 2 + Duration::from_millis(5);
                state.mean_latency = Some(mean.mul_f64(0.9) + latency.mul_f64(0.1));
                if rising {
                    state.limit = (state.limit * 0.9).max(1.0);
                } else if room {
                    state.limit = (state.limit + 1.0 / state.limit).min(self.max as f64);
                }
                // A nearly full window holds the limit where it is: running at the portal's
                // ceiling keeps `Remaining` low by design, and the rate gate already paces it.
            }
            Signal::Backpressure => state.limit = (state.limit * 0.75).max(1.0),
        }
        drop(state);
        // A raised limit may admit a waiter.
        self.freed.notify_waiters();
    }

    /// The current limit (whole slots).
    #[cfg(test)]
    fn limit(&self) -> usize {
        self.state
            .lock()
            .expect("concurrency lock poisoned")
            .limit
            .floor() as usize
    }

    #[cfg(test)]
    fn in_flight(&self) -> usize {
        self.state
            .lock()
            .expect("concurrency lock poisoned")
            .in_flight
    }
}

impl Pacing for Concurrency {
    fn answered(&self, latency: Duration, room: bool) {
        self.record(Signal::Answered { latency, room });
    }

    fn backpressure(&self) {
        self.record(Signal::Backpressure);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(ms: u64) -> Signal {
        Signal::Answered {
            latency: Duration::from_millis(ms),
            room: true,
        }
    }

    #[test]
    fn grows_while_flat_up_to_the_bound() {
        let c = Concurrency::new(8);
        assert_eq!(c.limit(), 2);
        for _ in 0..200 {
            c.record(answered(10));
        }
        assert_eq!(c.limit(), 8);
    }

    #[test]
    fn shrinks_on_backpressure_and_rising_latency() {
        let c = Concurrency::new(8);
        for _ in 0..200 {
            c.record(answered(10));
        }
        c.record(Signal::Backpressure);
        assert_eq!(c.limit(), 6);
        c.record(answered(200));
        assert_eq!(c.limit(), 5);
        for _ in 0..20 {
            c.record(Signal::Backpressure);
        }
        assert_eq!(c.limit(), 1);
    }

    #[test]
    fn a_full_window_holds_the_limit() {
        let c = Concurrency::new(8);
        for _ in 0..10 {
            c.record(answered(10));
        }
        let before = c.limit();
        for _ in 0..50 {
            c.record(Signal::Answered {
                latency: Duration::from_millis(10),
                room: false,
            });
        }
        assert_eq!(c.limit(), before);
    }

    #[tokio::test]
    async fn permits_respect_the_limit() {
        let c = Concurrency::new(4);
        let a = c.acquire().await;
        let _b = c.acquire().await;
        assert_eq!(c.in_flight(), 2);
        let waiter = {
            let c = Arc::clone(&c);
            tokio::spawn(async move { c.acquire().await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(a);
        let _c = waiter.await.unwrap();
        assert_eq!(c.in_flight(), 2);
    }
}
