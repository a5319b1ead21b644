//! Everything that talks to a portal, and the one way a request leaves: through the rate gate,
//! inside the retry loop, by the one client that holds the token.
//!
//! Parts:
//! - `target`: where requests go (a URL, or the embedded sandbox started with the pipeline's limits)
//!   and the token;
//! - `client`: the HTTP client, the only code that puts the token on the wire;
//! - `gate`: the rate gate that keeps every rolling window under the portal's limit;
//! - `retry`: the one classifier of attempts, and the backoff policy;
//! - `halt`: the run's stop switch;
//! - `paths`: every path of every request, spelled in the chosen API version;
//! - `response`: HubSpot's response bodies and rate-limit headers as the engine reads them;
//! - `read`: one metadata GET through [`Portal`], and the errors that stop it;
//! - `schema`: the property schema of an object type, fetched through [`Portal`];
//! - `rules`: the properties' admin-configured validation rules, fetched the same way;
//! - `standard`: the standard object types and what a create of each requires.

pub mod client;
pub mod gate;
pub mod halt;
pub mod paths;
pub mod read;
pub mod response;
pub mod retry;
pub mod rules;
pub mod schema;
pub mod standard;
pub mod target;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use backon::Retryable;

use client::{Client, Reply, TransportError};
use gate::RateGate;
use halt::{Halt, HaltFlag};
use paths::Paths;
use retry::{RetryReason, Verdict};

/// Requests sent to the portal, counted where they leave (every attempt, retries included).
#[derive(Debug, Default)]
pub struct Traffic {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    /// 429 answers (rolling window and daily).
    pub rate_limited: AtomicU64,
}

/// Told how each attempt went, so a sender can adapt how many requests it keeps in flight.
pub trait Pacing: Sync {
    /// Answered; `room` is false when the portal said its window is full.
    fn answered(&self, latency: Duration, room: bool);
    /// 429, 423, 5xx, timeout or a connection failure.
    fn backpressure(&self);
}

/// For requests outside any adaptive flow (the schema fetch).
pub struct Unpaced;

impl Pacing for Unpaced {
    fn answered(&self, _: Duration, _: bool) {}
    fn backpressure(&self) {}
}

/// The result of one request after its retries.
#[derive(Debug)]
pub enum Call {
    /// An answer the request can be judged by (2xx, 400, 404, 409 and other 4xx).
    Answer(Reply),
    /// A create whose answer was lost (or a 5xx): it may have been applied.
    Ambiguous(String),
    /// Retries exhausted.
    GaveUp(String),
    /// The run is stopping ([`Portal::halt`] says why); the request was not sent, or its answer
    /// does not count.
    Halted,
}

/// One portal as the engine sees it: its client, its rate gate, the run's stop switch and what
/// was sent. Shared by everything in a run that sends (schema fetch, dispatcher), so they draw
/// from one window.
pub struct Portal {
    client: Client,
    paths: Paths,
    gate: RateGate,
    halt: Arc<HaltFlag>,
    traffic: Traffic,
    max_retries: u32,
}

impl Portal {
    pub fn new(
        client: Client,
        paths: Paths,
        gate: RateGate,
        halt: Arc<HaltFlag>,
        max_retries: u32,
    ) -> Portal {
        Portal {
            client,
            paths,
            gate,
            halt,
            traffic: Traffic::default(),
            max_retries,
        }
    }

    /// Where this portal's requests go.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    pub fn halt(&self) -> &Arc<HaltFlag> {
        &self.halt
    }

    pub fn traffic(&self) -> &Traffic {
        &self.traffic
    }

    /// The full URL of `path`, for messages.
    pub fn url(&self, path: &str) -> String {
        self.client.url(path)
    }

    /// GETs `path` (a read: retried, never ambiguous).
    pub async fn get(&self, path: &str) -> Call {
        self.call(|| self.client.get(path), false, &Unpaced).await
    }

    /// POSTs `body` to `path`. `creates`: a lost answer may have created records, so it is
    /// [`Call::Ambiguous`] instead of retried.
    pub async fn post(
        &self,
        path: &str,
        body: Vec<u8>,
        creates: bool,
        pacing: &dyn Pacing,
    ) -> Call {
        self.call(|| self.client.post(path, body.clone()), creates, pacing)
            .await
    }

    /// One request through the retry loop. The rate gate sits *inside* the loop: HubSpot counts
    /// every attempt, so every attempt takes a token (DESIGN.md §3.4).
    async fn call<F, Fut>(&self, send: F, creates: bool, pacing: &dyn Pacing) -> Call
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Reply, TransportError>>,
    {
        let attempt = || async {
            // Every wait ends when the run stops: a stopping run sends nothing new.
            tokio::select! {
                biased;
                () = self.halt.raised() => return Ok(Call::Halted),
                () = self.gate.acquire() => {}
            }
            self.traffic.requests.fetch_add(1, Relaxed);
            let started = Instant::now();
            // A request in flight finishes when the run stops, unless it is aborted (a second
            // Ctrl-C): then its rows stay unfinished (creates: in doubt, checked on --resume).
            let result = tokio::select! {
                biased;
                () = self.halt.aborted() => return Ok(Call::Halted),
                result = send() => result,
            };
            if let Ok(reply) = &result {
                self.gate.observe(&reply.rate);
            }
            // The window has room unless the portal says it is full: our own pacing keeps
            // `Remaining` low at the ceiling, and the rate gate (not concurrency) spaces requests.
            let room = match &result {
                Ok(reply) => reply.rate.remaining.is_none_or(|r| r > 0),
                Err(_) => true,
            };
            match retry::classify(result, creates) {
                Verdict::Answer(reply) => {
                    pacing.answered(started.elapsed(), room);
                    Ok(Call::Answer(reply))
                }
                Verdict::Retry(reason) => {
                    pacing.backpressure();
                    if reason.throttled {
                        self.traffic.rate_limited.fetch_add(1, Relaxed);
                        self.gate.throttled();
                    }
                    Err(reason)
                }
                Verdict::Ambiguous(reason) => {
                    pacing.backpressure();
                    Ok(Call::Ambiguous(reason))
                }
                Verdict::Refused { status, message } => {
                    self.halt.raise(Halt::Refused { status, message });
                    Ok(Call::Halted)
                }
                Verdict::DailyLimit(message) => {
                    self.traffic.rate_limited.fetch_add(1, Relaxed);
                    self.halt.raise(Halt::DailyLimit(message));
                    Ok(Call::Halted)
                }
            }
        };
        let halt = Arc::clone(&self.halt);
        attempt
            .retry(retry::backoff(self.max_retries))
            .sleep(move |delay| {
                let halt = Arc::clone(&halt);
                async move {
                    tokio::select! {
                        () = halt.raised() => {}
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            })
            .adjust(|reason: &RetryReason, delay| delay.map(|d| retry::full_jitter(reason, d)))
            .notify(|reason: &RetryReason, delay| {
                self.traffic.retries.fetch_add(1, Relaxed);
                tracing::debug!(reason = %reason.message, ?delay, "retrying");
            })
            .await
            .unwrap_or_else(|reason| Call::GaveUp(reason.message))
    }
}
