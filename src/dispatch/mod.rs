//! The dispatcher: sends batches to the portal and turns every answer into per-row outcomes.
//!
//! Parts:
//! - `limiter`: the request gate that keeps every rolling window under the portal's limit;
//! - `concurrency`: adaptive in-flight bound;
//! - `keys`: batches sharing a key are never in flight together (file order per key);
//! - `retry`: the one classifier of attempts, and the backoff policy;
//! - `attribution`: 207 answers traced back to rows.
//!
//! One batch's life: wait for a concurrency slot and its keys (done by the caller), resolve
//! unique-property values to record ids when the operation needs ids, send through the retry
//! loop, then judge the answer: accepted rows, rejected rows (dead letters), whole-batch 400/409
//! bisected until the offending rows are isolated, lost creates verified before anything is
//! sent again.

pub mod attribution;
pub mod concurrency;
pub mod keys;
pub mod limiter;
pub mod retry;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use backon::Retryable;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::checkpoint::Checkpoint;
use crate::client::{Client, Reply};
use crate::config::Operation;
use crate::encode;
use crate::report::Counters;
use crate::response::{BatchResponse, ErrorItem};
use crate::row::{Input, RejectStatus, Rejection};

use concurrency::{Concurrency, Signal};
use limiter::Limiter;
use retry::{RetryReason, Verdict};

/// What the dispatcher needs to know about the job.
#[derive(Debug, Clone)]
pub struct Job {
    /// Object type as the user named it (`contacts`, `0-1`, `2-1234567`).
    pub object: String,
    pub operation: Operation,
    /// The unique property that identifies records (upsert; update/archive by property).
    pub id_property: Option<String>,
    /// A mapped unique property through which a lost create can be checked (e.g. contact email).
    pub verify_property: Option<String>,
    pub max_retries: u32,
}

impl Job {
    /// Update and archive by a unique property: the values are resolved to record ids first
    /// (archive inputs take only ids; contacts' batch update refuses `idProperty: email`).
    fn resolves_ids(&self) -> bool {
        self.id_property.is_some()
            && matches!(self.operation, Operation::Archive | Operation::Update)
    }
}

/// The fate of rows, sent to the outcome writer as soon as it is known.
#[derive(Debug)]
pub enum Outcome {
    Accepted {
        rows: Vec<u64>,
        created: u64,
        updated: u64,
        archived: u64,
    },
    Rejected(Rejection),
    /// Read but not finished because the run stopped early (daily limit, interrupt, fatal).
    Unfinished(Vec<u64>),
}

/// Why the run stopped sending before the end of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// 429 `DAILY`: resumable once the limit resets.
    DailyLimit(String),
    /// 401/403: the token is refused.
    Fatal { status: u16, message: String },
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// A local failure that makes going on unsafe (the checkpoint journal cannot be written).
    Failed(String),
}

/// Set once; every sender checks it before each attempt.
#[derive(Default)]
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
}

/// The result of one request after its retries.
enum Call {
    Answer(Reply),
    /// A create whose answer was lost (or a 5xx): it may have been applied.
    Ambiguous(String),
    /// Retries exhausted.
    GaveUp(String),
    /// The run is stopping; the request was not sent (or its answer does not count).
    Halted,
}

type Pending<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

pub struct Dispatcher {
    client: Client,
    job: Job,
    limiter: Limiter,
    concurrency: Arc<Concurrency>,
    counters: Arc<Counters>,
    outcomes: mpsc::Sender<Outcome>,
    halt: Arc<HaltFlag>,
    checkpoint: Option<Arc<Checkpoint>>,
}

/// The shared parts a dispatcher works with.
pub struct Shared {
    pub counters: Arc<Counters>,
    pub outcomes: mpsc::Sender<Outcome>,
    pub halt: Arc<HaltFlag>,
    pub checkpoint: Option<Arc<Checkpoint>>,
}

impl Dispatcher {
    pub fn new(
        client: Client,
        job: Job,
        limiter: Limiter,
        concurrency: Arc<Concurrency>,
        shared: Shared,
    ) -> Dispatcher {
        Dispatcher {
            client,
            job,
            limiter,
            concurrency,
            counters: shared.counters,
            outcomes: shared.outcomes,
            halt: shared.halt,
            checkpoint: shared.checkpoint,
        }
    }

    pub fn concurrency(&self) -> &Arc<Concurrency> {
        &self.concurrency
    }

    pub fn halt(&self) -> &Arc<HaltFlag> {
        &self.halt
    }

    /// Sends one batch and reports the fate of each of its rows.
    pub async fn process(&self, mut inputs: Vec<Input>) {
        Counters::add(&self.counters.in_flight, 1);
        if self.job.operation == Operation::Create
            && let Some(checkpoint) = &self.checkpoint
        {
            // Rows an earlier run was creating when it stopped may exist already: check them
            // before anything is sent again.
            let (in_doubt, fresh): (Vec<Input>, Vec<Input>) = inputs
                .into_iter()
                .partition(|i| checkpoint.is_in_doubt(i.row));
            inputs = fresh;
            if !in_doubt.is_empty() {
                let reason = "an earlier run stopped while this row was being created".to_string();
                self.verify_creates(in_doubt, reason, self.job.max_retries)
                    .await;
            }
        }
        if self.job.resolves_ids() {
            let resolved = self.resolve_ids(inputs).await;
            self.send(resolved, false, self.job.max_retries).await;
        } else {
            let by_property = self.job.operation != Operation::Archive;
            self.send(inputs, by_property, self.job.max_retries).await;
        }
        self.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// Sends `inputs` as one batch request. `by_property` sends `idProperty` with each input;
    /// `verify_rounds` bounds how often lost creates are checked and sent again.
    fn send(&self, inputs: Vec<Input>, by_property: bool, verify_rounds: u32) -> Pending<'_> {
        Box::pin(async move {
            if inputs.is_empty() {
                return;
            }
            if self.halt.is_raised() {
                return self.unfinished(inputs).await;
            }
            let op = self.job.operation;
            if matches!(op, Operation::Create | Operation::Archive)
                && let Some(checkpoint) = &self.checkpoint
            {
                // Written and synced before the request leaves: if this process dies before the
                // answer is recorded, the next run knows these rows may have been applied.
                let rows: Vec<u64> = inputs.iter().map(|i| i.row).collect();
                if let Err(err) = checkpoint.mark_sending(&rows) {
                    self.halt.raise(Halt::Failed(err.to_string()));
                    return self.unfinished(inputs).await;
                }
            }
            let id_property = if by_property {
                self.job.id_property.as_deref()
            } else {
                None
            };
            let body = encode::request_body(op, id_property, &inputs);
            let path = format!(
                "/crm/v3/objects/{}/batch/{}",
                self.job.object,
                op.path_segment()
            );
            match self.call(&path, body, op == Operation::Create).await {
                Call::Answer(reply) => self.judge(inputs, reply, by_property, verify_rounds).await,
                Call::Ambiguous(reason) => self.verify_creates(inputs, reason, verify_rounds).await,
                Call::GaveUp(reason) => {
                    let message = format!("no answer after retries: {reason}");
                    self.reject_all(inputs, RejectStatus::GaveUp, "RETRIES_EXHAUSTED", &message)
                        .await
                }
                Call::Halted => self.unfinished(inputs).await,
            }
        })
    }

    /// Turns a final answer into outcomes.
    async fn judge(&self, inputs: Vec<Input>, reply: Reply, by_property: bool, rounds: u32) {
        match reply.status {
            200..=299 => {
                let response: BatchResponse = if reply.body.is_empty() {
                    BatchResponse::default()
                } else {
                    match serde_json::from_slice(&reply.body) {
                        Ok(response) => response,
                        Err(err) => {
                            // The portal said yes but the body is unreadable: the writes landed.
                            tracing::warn!(error = %err, "unreadable success body; counting rows as accepted");
                            BatchResponse::default()
                        }
                    }
                };
                let out = attribution::attribute(inputs, &response);
                for rejection in out.rejected {
                    self.emit(Outcome::Rejected(rejection)).await;
                }
                self.accept(out.accepted, out.created).await;
                if !out.unresolved.is_empty() {
                    if self.job.operation == Operation::Create {
                        let reason =
                            "the answer reported errors it did not tie to rows".to_string();
                        self.verify_creates(out.unresolved, reason, rounds).await;
                    } else if rounds > 0 {
                        // Update, upsert and archive are idempotent: sending again is safe.
                        self.send(out.unresolved, by_property, rounds - 1).await;
                    } else {
                        let message = "the answer reported errors it did not tie to rows";
                        self.reject_all(
                            out.unresolved,
                            RejectStatus::Api(reply.status),
                            "UNATTRIBUTED",
                            message,
                        )
                        .await;
                    }
                }
            }
            // Whole-batch failures: one bad row (or a conflict) fails them all. Halve until the
            // offending rows stand alone; the good rows still land. 413: the body was too big.
            400 | 409 | 413 if inputs.len() > 1 => {
                let mut left = inputs;
                let right = left.split_off(left.len() / 2);
                Counters::add(&self.counters.bisections, 2);
                self.send(left, by_property, rounds).await;
                self.send(right, by_property, rounds).await;
            }
            status => {
                let error = ErrorItem::parse(&reply.body);
                for input in inputs {
                    let mut rejection = attribution::rejection(input, &error);
                    rejection.status = RejectStatus::Api(status);
                    if error.category.is_none() && error.error_type.is_none() {
                        rejection.category = format!("HTTP_{status}");
                    }
                    self.emit(Outcome::Rejected(rejection)).await;
                }
            }
        }
    }

    /// A create whose answer was lost may have landed. Check each row through the mapped unique
    /// property: found → it landed; not found → safe to send again. Without such a property the
    /// rows are dead-lettered as AMBIGUOUS: never guess (DESIGN.md §4).
    fn verify_creates(&self, inputs: Vec<Input>, reason: String, rounds: u32) -> Pending<'_> {
        Box::pin(async move {
            let Some(property) = self.job.verify_property.clone() else {
                let message = format!(
                    "the create request got no usable answer ({reason}); the record may or may \
                     not exist in HubSpot, and no unique property is mapped to check: look it up \
                     before replaying this row"
                );
                return self
                    .reject_all(inputs, RejectStatus::Ambiguous, "AMBIGUOUS", &message)
                    .await;
            };
            let (checkable, unknown): (Vec<Input>, Vec<Input>) = inputs
                .into_iter()
                .partition(|input| value_of(input, &property).is_some());
            if !unknown.is_empty() {
                let message = format!(
                    "the create request got no usable answer ({reason}) and this row has no \
                     {property} to check it by: look the record up before replaying this row"
                );
                self.reject_all(unknown, RejectStatus::Ambiguous, "AMBIGUOUS", &message)
                    .await;
            }
            if checkable.is_empty() {
                return;
            }
            let values: Vec<String> = checkable
                .iter()
                .filter_map(|i| value_of(i, &property))
                .collect();
            match self.read_by_property(&property, &values).await {
                Ok(found) => {
                    Counters::add(&self.counters.verified, checkable.len() as u64);
                    let (landed, missing): (Vec<Input>, Vec<Input>) =
                        checkable.into_iter().partition(|i| {
                            value_of(i, &property)
                                .is_some_and(|v| found.contains_key(&v.to_lowercase()))
                        });
                    let landed_rows: Vec<u64> = landed.iter().map(|i| i.row).collect();
                    let created = landed_rows.len() as u64;
                    self.accept(landed_rows, created).await;
                    if rounds > 0 {
                        self.send(missing, true, rounds - 1).await;
                    } else {
                        let message =
                            format!("the create got no usable answer after retries ({reason})");
                        self.reject_all(
                            missing,
                            RejectStatus::GaveUp,
                            "RETRIES_EXHAUSTED",
                            &message,
                        )
                        .await;
                    }
                }
                Err(Some(error)) => {
                    let message = format!(
                        "the create request got no usable answer ({reason}), and checking by \
                         {property} failed ({error}): look the record up before replaying this row"
                    );
                    self.reject_all(checkable, RejectStatus::Ambiguous, "AMBIGUOUS", &message)
                        .await;
                }
                Err(None) => self.unfinished(checkable).await,
            }
        })
    }

    /// Replaces each input's `id` (a unique-property value) with its record id; rows whose value
    /// matches no record are dead-lettered.
    async fn resolve_ids(&self, inputs: Vec<Input>) -> Vec<Input> {
        let property = self
            .job
            .id_property
            .clone()
            .expect("resolves_ids checked id_property");
        let values: Vec<String> = inputs.iter().filter_map(|i| i.id.clone()).collect();
        let found = match self.read_by_property(&property, &values).await {
            Ok(found) => found,
            Err(Some(error)) => {
                let message = format!("could not look up records by {property}: {error}");
                self.reject_all(inputs, RejectStatus::GaveUp, "LOOKUP_FAILED", &message)
                    .await;
                return Vec::new();
            }
            Err(None) => {
                self.unfinished(inputs).await;
                return Vec::new();
            }
        };
        let mut resolved = Vec::with_capacity(inputs.len());
        let mut already_archived = Vec::new();
        for mut input in inputs {
            let value = input.id.clone().unwrap_or_default();
            let in_doubt = self
                .checkpoint
                .as_ref()
                .is_some_and(|c| c.is_in_doubt(input.row));
            match found.get(&value.to_lowercase()) {
                Some(id) => {
                    input.id = Some(id.clone());
                    resolved.push(input);
                }
                // An earlier run archived it and stopped before recording the answer.
                None if in_doubt && self.job.operation == Operation::Archive => {
                    already_archived.push(input.row);
                }
                None => {
                    let message = format!(
                        "no {} record has {property} = {value:?} (already archived, or never existed)",
                        self.job.object
                    );
                    let rejection = Rejection {
                        row: input.row,
                        fields: input.fields,
                        status: RejectStatus::Api(404),
                        category: "OBJECT_NOT_FOUND".to_string(),
                        message,
                    };
                    self.emit(Outcome::Rejected(rejection)).await;
                }
            }
        }
        self.accept(already_archived, 0).await;
        resolved
    }

    /// Batch-reads records by a unique property: lowercased value → record id.
    /// `Err(None)` means the run is halting.
    async fn read_by_property(
        &self,
        property: &str,
        values: &[String],
    ) -> Result<HashMap<String, String>, Option<String>> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct ReadBody<'a> {
            id_property: &'a str,
            properties: [&'a str; 1],
            inputs: Vec<ReadInput<'a>>,
        }
        #[derive(Serialize)]
        struct ReadInput<'a> {
            id: &'a str,
        }
        let body = ReadBody {
            id_property: property,
            properties: [property],
            inputs: values.iter().map(|v| ReadInput { id: v }).collect(),
        };
        let body = serde_json::to_vec(&body).expect("a read body always serializes");
        let path = format!("/crm/v3/objects/{}/batch/read", self.job.object);
        match self.call(&path, body, false).await {
            Call::Answer(reply) if reply.status == 200 || reply.status == 207 => {
                let response: BatchResponse = serde_json::from_slice(&reply.body)
                    .map_err(|e| Some(format!("unreadable batch read answer: {e}")))?;
                Ok(response
                    .results
                    .into_iter()
                    .filter_map(|r| {
                        let value = r.properties.get(property).cloned().flatten()?;
                        Some((value.to_lowercase(), r.id))
                    })
                    .collect())
            }
            Call::Answer(reply) => {
                let error = ErrorItem::parse(&reply.body);
                Err(Some(format!("HTTP {}: {}", reply.status, error.message)))
            }
            Call::Ambiguous(reason) | Call::GaveUp(reason) => Err(Some(reason)),
            Call::Halted => Err(None),
        }
    }

    /// One request through the retry loop. The rate limiter sits *inside* the loop: HubSpot
    /// counts every attempt, so every attempt takes a token (DESIGN.md §3.4).
    async fn call(&self, path: &str, body: Vec<u8>, creates: bool) -> Call {
        let attempt = || async {
            if self.halt.is_raised() {
                return Ok(Call::Halted);
            }
            self.limiter.acquire().await;
            Counters::add(&self.counters.requests, 1);
            let started = Instant::now();
            let result = self.client.post(path, body.clone()).await;
            if let Ok(reply) = &result {
                self.limiter.observe(&reply.rate);
            }
            // The window has room unless the portal says it is full: our own pacing keeps
            // `Remaining` low at the ceiling, and the rate gate (not concurrency) spaces requests.
            let room = match &result {
                Ok(reply) => reply.rate.remaining.is_none_or(|r| r > 0),
                Err(_) => true,
            };
            match retry::classify(result, creates) {
                Verdict::Answer(reply) => {
                    let latency = started.elapsed();
                    self.concurrency.record(Signal::Answered { latency, room });
                    Ok(Call::Answer(reply))
                }
                Verdict::Retry(reason) => {
                    self.concurrency.record(Signal::Backpressure);
                    if reason.throttled {
                        Counters::add(&self.counters.rate_limited, 1);
                        self.limiter.throttled();
                    }
                    Err(reason)
                }
                Verdict::Ambiguous(reason) => {
                    self.concurrency.record(Signal::Backpressure);
                    Ok(Call::Ambiguous(reason))
                }
                Verdict::Fatal { status, message } => {
                    self.halt.raise(Halt::Fatal { status, message });
                    Ok(Call::Halted)
                }
                Verdict::DailyLimit(message) => {
                    Counters::add(&self.counters.rate_limited, 1);
                    self.halt.raise(Halt::DailyLimit(message));
                    Ok(Call::Halted)
                }
            }
        };
        attempt
            .retry(retry::backoff(self.job.max_retries))
            .adjust(|reason: &RetryReason, delay| delay.map(|d| retry::full_jitter(reason, d)))
            .notify(|reason: &RetryReason, delay| {
                Counters::add(&self.counters.retries, 1);
                tracing::debug!(reason = %reason.message, ?delay, "retrying");
            })
            .await
            .unwrap_or_else(|reason| Call::GaveUp(reason.message))
    }

    async fn accept(&self, rows: Vec<u64>, created: u64) {
        if rows.is_empty() {
            return;
        }
        let n = rows.len() as u64;
        let outcome = match self.job.operation {
            Operation::Create => Outcome::Accepted {
                rows,
                created: n,
                updated: 0,
                archived: 0,
            },
            Operation::Upsert => Outcome::Accepted {
                rows,
                created: created.min(n),
                updated: n - created.min(n),
                archived: 0,
            },
            Operation::Update => Outcome::Accepted {
                rows,
                created: 0,
                updated: n,
                archived: 0,
            },
            Operation::Archive => Outcome::Accepted {
                rows,
                created: 0,
                updated: 0,
                archived: n,
            },
        };
        self.emit(outcome).await;
    }

    async fn reject_all(
        &self,
        inputs: Vec<Input>,
        status: RejectStatus,
        category: &str,
        message: &str,
    ) {
        for input in inputs {
            let rejection = Rejection {
                row: input.row,
                fields: input.fields,
                status,
                category: category.to_string(),
                message: message.to_string(),
            };
            self.emit(Outcome::Rejected(rejection)).await;
        }
    }

    async fn unfinished(&self, inputs: Vec<Input>) {
        let rows = inputs.into_iter().map(|i| i.row).collect();
        self.emit(Outcome::Unfinished(rows)).await;
    }

    async fn emit(&self, outcome: Outcome) {
        // The outcome writer lives until every dispatcher is gone; a closed channel means the run
        // is already tearing down after a fatal error, and there is nobody left to tell.
        let _ = self.outcomes.send(outcome).await;
    }
}

/// The value of `property` in an input (its mapped value, or its id for upsert keys).
fn value_of(input: &Input, property: &str) -> Option<String> {
    input
        .properties
        .iter()
        .find(|(name, _)| name.as_ref() == property)
        .map(|(_, value)| value.clone())
        .filter(|v| !v.is_empty())
}
