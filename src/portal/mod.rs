//! Everything that talks to a portal, and the one way a request leaves: through the rate gate,
//! inside the retry loop, by the one client that holds the token.
//!
//! Parts:
//! - `target`: where requests go (a URL, or the embedded sandbox started with the pipeline's limits)
//!   and the token;
//! - `client`: the HTTP client, the only code that puts the token on the wire;
//! - `gate`: the rate gate that keeps every rolling window under the portal's limit, and the
//!   budget of a portal (the general window, and the associations API's own);
//! - `pace`: the cost of a request in the limiter's cells, which bounds every window, for the gate
//!   and the shared budget;
//! - `spread`: how far the portal's arrivals stray from our sends, measured from its own count:
//!   the requests of the window the pace keeps free;
//! - `budget`: the rate budget shared with other processes through Redis;
//! - `retry`: the one classifier of attempts, and the backoff policy;
//! - `halt`: the run's stop switch;
//! - `paths`: every path of every request, spelled in the chosen API version;
//! - `response`: HubSpot's response bodies and rate-limit headers as the engine reads them;
//! - `read`: one metadata GET through [`Portal`], and the errors that stop it;
//! - `schema`: the property schema of an object type, fetched through [`Portal`];
//! - `rules`: the properties' admin-configured validation rules, fetched the same way;
//! - `standard`: the standard object types and what a create of each requires.

pub mod budget;
pub mod client;
pub mod gate;
pub mod halt;
pub mod labels;
pub mod pace;
pub mod paths;
pub mod properties;
pub mod read;
pub mod response;
pub mod retry;
pub mod rules;
pub mod schema;
pub mod spread;
pub mod standard;
pub mod target;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use backon::Retryable;

use budget::BudgetError;
use client::{Client, Reply, TransportError};
use gate::{Budget, RateGate};
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
    /// The last `X-HubSpot-RateLimit-Daily-Remaining` seen, plus one (0: none seen yet).
    daily_remaining: AtomicU64,
    /// The portal's clock at its first answer that told it (`Date`), ms since the epoch.
    first_answer_ms: OnceLock<i64>,
}

impl Traffic {
    /// What the portal last said is left of its daily budget (every app of the account counts).
    pub fn daily_remaining(&self) -> Option<u64> {
        self.daily_remaining.load(Relaxed).checked_sub(1)
    }

    fn note_daily_remaining(&self, left: u64) {
        self.daily_remaining.store(left.saturating_add(1), Relaxed);
    }

    /// When the portal first answered this process, by its own clock (to the second; ms since
    /// the epoch): everything this run writes lands after it.
    pub fn first_answer_ms(&self) -> Option<i64> {
        self.first_answer_ms.get().copied()
    }
}

/// Told how each attempt went, so a sender can adapt how many requests it keeps in flight.
pub trait Pacing: Sync {
    /// Answered; `room` is false when the portal said its window is full.
    fn answered(&self, latency: Duration, room: bool);
    /// 429, 423, 5xx, timeout or a connection failure.
    fn backpressure(&self);
}

/// What a sender records about a request that may apply without an answer (creates, archives):
/// the journal's "sending" rows.
pub trait Sending: Sync {
    /// Before the request waits for its token: its rows may be applied from now on.
    fn mark(&self) -> Result<(), String>;
    /// The call ended without any attempt leaving: its rows were never sent.
    fn unsent(&self) -> Result<(), String>;
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

/// One portal as the engine sees it: its client, its budget (rate gates), the run's stop switch
/// and what was sent. Shared by everything in a run that sends (schema fetch, dispatcher), so they
/// draw from one window; the stages of a migration plan share one budget too.
pub struct Portal {
    client: Client,
    paths: Paths,
    budget: Budget,
    halt: Arc<HaltFlag>,
    traffic: Traffic,
    max_retries: u32,
}

impl Portal {
    pub fn new(
        client: Client,
        paths: Paths,
        budget: Budget,
        halt: Arc<HaltFlag>,
        max_retries: u32,
    ) -> Portal {
        Portal {
            client,
            paths,
            budget,
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

    /// What the sending waits for, when it waits for something other than the window (for the
    /// progress line): an unreachable shared budget.
    pub fn waiting_for(&self) -> Option<String> {
        let budget = self.budget.general.shared_budget()?;
        let down = budget.unreachable_for()?;
        Some(format!(
            "paused: shared budget {} unreachable for {}s",
            budget.shown(),
            down.as_secs()
        ))
    }

    /// The full URL of `path`, for messages.
    pub fn url(&self, path: &str) -> String {
        self.client.url(path)
    }

    /// GETs `path` (a read: retried, never ambiguous).
    pub async fn get(&self, path: &str) -> Call {
        let gate = &self.budget.general;
        self.call(|| self.client.get(path), false, &Unpaced, gate, None)
            .await
    }

    /// GETs a path of the associations API (v4 labels): its own budget.
    pub async fn get_links(&self, path: &str) -> Call {
        let gate = &self.budget.associations;
        self.call(|| self.client.get(path), false, &Unpaced, gate, None)
            .await
    }

    /// POSTs to the associations API (v4 batch writes and reads): its own budget. Link writes are
    /// idempotent, so a lost answer is retried like a read.
    pub async fn post_links(&self, path: &str, body: Vec<u8>, pacing: &dyn Pacing) -> Call {
        let gate = &self.budget.associations;
        self.call(
            || self.client.post(path, body.clone()),
            false,
            pacing,
            gate,
            None,
        )
        .await
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
        let gate = &self.budget.general;
        self.call(
            || self.client.post(path, body.clone()),
            creates,
            pacing,
            gate,
            None,
        )
        .await
    }

    /// [`Portal::post`] for a request recorded as "sending" before it waits for its token
    /// ([`Sending::mark`]; an error stops the run and nothing is sent). When the call ends
    /// without any attempt having left (the run stopped while it waited), [`Sending::unsent`]
    /// takes the record back, so a stopped run leaves no rows in doubt that were never sent.
    /// (Marking after the token instead would put a synced write between the token and the
    /// request: jitter the window's margin must not absorb.)
    pub async fn post_journalled(
        &self,
        path: &str,
        body: Vec<u8>,
        creates: bool,
        pacing: &dyn Pacing,
        sending: &dyn Sending,
    ) -> Call {
        if let Err(reason) = sending.mark() {
            self.halt.raise(Halt::Failed(reason));
            return Call::Halted;
        }
        let send = || self.client.post(path, body.clone());
        let left = AtomicBool::new(false);
        let gate = &self.budget.general;
        let call = self.call(send, creates, pacing, gate, Some(&left)).await;
        if matches!(call, Call::Halted)
            && !left.load(Relaxed)
            && let Err(reason) = sending.unsent()
        {
            self.halt.raise(Halt::Failed(reason));
        }
        call
    }

    /// One request through the retry loop. The rate gate (of the request's budget) sits *inside*
    /// the loop: HubSpot counts every attempt, so every attempt takes a token (DESIGN.md §3.4).
    async fn call<F, Fut>(
        &self,
        send: F,
        creates: bool,
        pacing: &dyn Pacing,
        gate: &RateGate,
        left: Option<&AtomicBool>,
    ) -> Call
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Reply, TransportError>>,
    {
        let attempt = || async {
            // Every wait ends when the run stops: a stopping run sends nothing new.
            let token = tokio::select! {
                biased;
                () = self.halt.raised() => return Ok(Call::Halted),
                token = gate.acquire() => token,
            };
            let ticket = match token {
                Ok(ticket) => ticket,
                Err(err) => {
                    self.halt.raise(match err {
                        BudgetError::DailySpent(message) => Halt::DailyLimit(message),
                        BudgetError::Unreachable { .. } => Halt::BudgetUnavailable(err.to_string()),
                        BudgetError::Refused { .. } => Halt::Failed(err.to_string()),
                    });
                    return Ok(Call::Halted);
                }
            };
            if let Some(left) = left {
                left.store(true, Relaxed);
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
                let refused = reply.status == 429;
                gate.observe(ticket, started.elapsed(), &reply.rate, refused);
                if let Some(left) = reply.rate.daily_remaining {
                    self.traffic.note_daily_remaining(left);
                }
                if let Some(date) = reply.date_ms {
                    self.traffic.first_answer_ms.get_or_init(|| date);
                }
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
                        gate.throttled();
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
                    if let Some(budget) = self.budget.general.shared_budget() {
                        budget.daily_spent(&message).await;
                    }
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
