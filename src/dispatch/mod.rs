//! The dispatcher: sends batches to the portal and turns every answer into per-row outcomes.
//!
//! Parts:
//! - `concurrency`: adaptive in-flight bound (told how each attempt went);
//! - `keys`: batches sharing a key are never in flight together (file order per key);
//! - `attribution`: batch answers traced back to rows;
//! - `lookup`: reads by a unique property (record ids for update/archive by property, and the
//!   check of creates whose answer was lost).
//!
//! One batch's life: wait for a concurrency slot and its keys (done by the caller), resolve
//! unique-property values to record ids when the operation needs ids, send through the portal
//! (rate gate inside the retry loop), then judge the answer: accepted rows, rejected rows (dead
//! letters), whole-batch 400/409 bisected until the offending rows are isolated, lost creates
//! verified before anything is sent again.

pub mod attribution;
pub mod concurrency;
pub mod keys;
mod lookup;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;

use crate::config::Operation;
use crate::job::checkpoint::Checkpoint;
use crate::job::outcome::Outcome;
use crate::job::report::Counters;
use crate::portal::client::Reply;
use crate::portal::halt::Halt;
use crate::portal::response::ErrorItem;
use crate::portal::{Call, Portal};
use crate::prepare::encode;
use crate::prepare::row::{Input, RejectStatus, Rejection};
use crate::prepare::trace::TraceIds;

use concurrency::Concurrency;

/// What the dispatcher needs to know about the job.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Object type as the user named it (`contacts`, `0-1`, `2-1234567`).
    pub object: String,
    pub operation: Operation,
    /// The unique property that identifies records (upsert; update/archive by property).
    pub id_property: Option<String>,
    /// A mapped unique property through which a lost create can be checked (e.g. contact email).
    pub verify_property: Option<String>,
    pub max_retries: u32,
    /// The job's `objectWriteTraceId`s.
    pub traces: TraceIds,
}

impl Spec {
    /// Update and archive by a unique property: the values are resolved to record ids first
    /// (archive inputs take only ids; contacts' batch update refuses `idProperty: email`).
    fn resolves_ids(&self) -> bool {
        self.id_property.is_some()
            && matches!(self.operation, Operation::Archive | Operation::Update)
    }
}

type Pending<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

pub struct Dispatcher {
    portal: Arc<Portal>,
    spec: Spec,
    concurrency: Arc<Concurrency>,
    counters: Arc<Counters>,
    outcomes: mpsc::Sender<Outcome>,
    checkpoint: Option<Arc<Checkpoint>>,
}

/// Where a dispatcher reports: the counters, the outcome writer and the checkpoint.
pub struct Records {
    pub counters: Arc<Counters>,
    pub outcomes: mpsc::Sender<Outcome>,
    pub checkpoint: Option<Arc<Checkpoint>>,
}

impl Dispatcher {
    pub fn new(
        portal: Arc<Portal>,
        spec: Spec,
        concurrency: Arc<Concurrency>,
        records: Records,
    ) -> Dispatcher {
        Dispatcher {
            portal,
            spec,
            concurrency,
            counters: records.counters,
            outcomes: records.outcomes,
            checkpoint: records.checkpoint,
        }
    }

    pub fn concurrency(&self) -> &Arc<Concurrency> {
        &self.concurrency
    }

    /// Whether the run is stopping (nothing new should be sent).
    pub fn is_halted(&self) -> bool {
        self.portal.halt().is_raised()
    }

    /// Resolves once the run is stopping.
    pub async fn halted(&self) {
        self.portal.halt().raised().await;
    }

    /// Sends one batch and reports the fate of each of its rows.
    pub async fn process(&self, mut inputs: Vec<Input>) {
        Counters::add(&self.counters.in_flight, 1);
        if self.spec.operation == Operation::Create
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
                self.verify_creates(in_doubt, reason, self.spec.max_retries)
                    .await;
            }
        }
        if self.spec.resolves_ids() {
            let resolved = self.resolve_ids(inputs).await;
            self.send(resolved, false, self.spec.max_retries).await;
        } else {
            let by_property = self.spec.operation != Operation::Archive;
            self.send(inputs, by_property, self.spec.max_retries).await;
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
            if self.portal.halt().is_raised() {
                return self.unfinished(inputs).await;
            }
            let op = self.spec.operation;
            if matches!(op, Operation::Create | Operation::Archive)
                && let Some(checkpoint) = &self.checkpoint
            {
                // Written and synced before the request leaves: if this process dies before the
                // answer is recorded, the next run knows these rows may have been applied.
                let rows: Vec<u64> = inputs.iter().map(|i| i.row).collect();
                if let Err(err) = checkpoint.mark_sending(&rows) {
                    self.portal.halt().raise(Halt::Failed(err.to_string()));
                    return self.unfinished(inputs).await;
                }
            }
            let id_property = if by_property {
                self.spec.id_property.as_deref()
            } else {
                None
            };
            let body = encode::request_body(op, id_property, &self.spec.traces, &inputs);
            let path = self
                .portal
                .paths()
                .batch(&self.spec.object, op.path_segment());
            let creates = op == Operation::Create;
            match self
                .portal
                .post(&path, body, creates, &*self.concurrency)
                .await
            {
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
                let op = self.spec.operation;
                let out = attribution::attribute(op, &self.spec.traces, inputs, &reply.body);
                for rejection in out.rejected {
                    self.emit(Outcome::Rejected(rejection)).await;
                }
                self.accept(out.accepted, out.created).await;
                if out.in_doubt.is_empty() {
                    return;
                }
                let doubt = out.doubt.unwrap_or_default();
                if op == Operation::Create {
                    self.verify_creates(out.in_doubt, doubt, rounds).await;
                } else if rounds > 0 {
                    // Update, upsert and archive are idempotent: sending again is safe.
                    self.send(out.in_doubt, by_property, rounds - 1).await;
                } else {
                    let message = format!(
                        "{doubt}, also after every retry; look the record up before replaying this row"
                    );
                    self.reject_all(out.in_doubt, RejectStatus::GaveUp, "UNACCOUNTED", &message)
                        .await;
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

    async fn accept(&self, rows: Vec<u64>, created: u64) {
        if rows.is_empty() {
            return;
        }
        let n = rows.len() as u64;
        let outcome = match self.spec.operation {
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
                origin: input.origin,
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
