//! The dispatcher: sends batches to the portal and turns every answer into per-row outcomes.
//!
//! Parts:
//! - `concurrency`: adaptive in-flight bound (told how each attempt went);
//! - `keys`: batches sharing a key are never in flight together (file order per key);
//! - `attribution`: batch answers traced back to rows;
//! - `lookup`: reads by a unique property (record ids for update/archive by property, and the
//!   check of creates whose answer was lost);
//! - `resolve`, `id_cache`, `targets`: the keys rows name records by (`[[associations]]`, and the
//!   from-side of `associate`/`dissociate`) resolved to record ids, cached in bounded memory;
//! - `links`, `link_attribution`: link writes with the v4 associations API, each pair's fate traced.
//!
//! One batch's life: wait for a concurrency slot and its keys (done by the caller), resolve the
//! rows' link keys (a row naming no record ends here, before anything is written), resolve
//! unique-property values to record ids when the operation needs ids, send through the portal
//! (rate gate inside the retry loop), then judge the answer: accepted rows, rejected rows (dead
//! letters), whole-batch 400/409 bisected until the offending rows are isolated, lost creates
//! verified before anything is sent again. Updates and upserts then write their rows' links; a row
//! whose record landed but whose link did not is dead-lettered `link_failed`.

pub mod attribution;
pub mod concurrency;
pub mod deletes;
pub mod id_cache;
pub mod keys;
mod link_attribution;
mod links;
mod lookup;
pub mod resolve;
pub mod targets;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::config::Operation;
use crate::job::checkpoint::Checkpoint;
use crate::job::outcome::Outcome;
use crate::job::report::Counters;
use crate::job::state::Change;
use crate::portal::client::Reply;
use crate::portal::response::ErrorItem;
use crate::portal::{Call, Portal, Sending};
use crate::prepare::batch::Batch;
use crate::prepare::encode;
use crate::prepare::row::{Input, RejectStatus, Rejection};
use crate::prepare::trace::TraceIds;

use attribution::Landed;
use concurrency::Concurrency;
use resolve::Resolver;

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
    /// No record this job's creates made is older than this (its start by the portal's clock,
    /// less a margin: `Journal::sent_after_ms`; ms since the epoch): a lost create that finds an
    /// older one was a conflict. `None`: unknown, a found record counts as created.
    pub sent_after_ms: Option<i64>,
    pub max_retries: u32,
    /// Links per v4 association batch request.
    pub association_batch_size: usize,
    /// The job's `objectWriteTraceId`s.
    pub traces: TraceIds,
}

impl Spec {
    /// Update and archive by a unique property: the values are resolved to record ids first
    /// (archive inputs take only ids; contacts' batch update refuses `idProperty: email`). The
    /// records of link operations are resolved with their links (`targets`).
    fn resolves_ids(&self) -> bool {
        self.id_property.is_some()
            && matches!(self.operation, Operation::Archive | Operation::Update)
    }
}

type Pending<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

pub struct Dispatcher {
    portal: Arc<Portal>,
    spec: Spec,
    /// `[sync]` keys created in this run, with their record ids: a later row of the same key
    /// updates that record.
    created: Mutex<HashMap<String, String>>,
    concurrency: Arc<Concurrency>,
    counters: Arc<Counters>,
    outcomes: mpsc::Sender<Outcome>,
    checkpoint: Option<Arc<Checkpoint>>,
    /// How the rows' keys become record ids (`[[associations]]`, link operations).
    resolver: Option<Arc<Resolver>>,
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
            created: Mutex::new(HashMap::new()),
            concurrency,
            counters: records.counters,
            outcomes: records.outcomes,
            checkpoint: records.checkpoint,
            resolver: None,
        }
    }

    /// Resolves the rows' keys with `resolver` before anything is written.
    pub fn with_resolver(mut self, resolver: Arc<Resolver>) -> Dispatcher {
        self.resolver = Some(resolver);
        self
    }

    pub fn concurrency(&self) -> &Arc<Concurrency> {
        &self.concurrency
    }

    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
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
    pub async fn process(&self, batch: Batch) {
        Counters::add(&self.counters.in_flight, 1);
        let op = batch.operation;
        let mut inputs = batch.inputs;
        if let Some(resolver) = &self.resolver {
            inputs = self.resolve_keys(resolver, inputs).await;
        }
        if op.links_only() {
            self.link_only(inputs, op == Operation::Dissociate).await;
            self.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        if op == Operation::Create {
            // Rows an earlier run was creating when it stopped may exist already, and so may a
            // sync key whose create was in doubt: check them before anything is sent again.
            // Taken out in place: the rows left behind are not moved.
            let in_doubt: Vec<Input> = inputs.extract_if(.., |i| self.in_doubt(i)).collect();
            if !in_doubt.is_empty() {
                let reason = "an earlier run stopped while this row was being created".to_string();
                self.verify_creates(in_doubt, reason, self.spec.max_retries)
                    .await;
            }
        }
        if op == Operation::Update && inputs.iter().any(|i| i.id.is_none()) {
            // A sync key first created earlier in this run: update that record; if its create
            // did not land, this row is the key's create.
            let creates = self.adopt_created(&mut inputs);
            self.send(creates, Operation::Create, false, self.spec.max_retries)
                .await;
        }
        if op == self.spec.operation && self.spec.resolves_ids() {
            let resolved = self.resolve_ids(inputs).await;
            self.send(resolved, op, false, self.spec.max_retries).await;
        } else {
            let by_property = op == self.spec.operation && op != Operation::Archive;
            self.send(inputs, op, by_property, self.spec.max_retries)
                .await;
        }
        self.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// Whether a create must be looked up before it is sent: an earlier run was sending it, or
    /// the sync state holds its key in doubt.
    fn in_doubt(&self, input: &Input) -> bool {
        self.checkpoint
            .as_ref()
            .is_some_and(|c| c.is_in_doubt(input.row))
            || input.sync.as_ref().is_some_and(|s| s.verify_first)
    }

    /// Gives each id-less update (a sync key created earlier in this run) the record id its create
    /// got; returns the rows whose key has no record yet, to be created.
    fn adopt_created(&self, inputs: &mut Vec<Input>) -> Vec<Input> {
        let created = self.created.lock().expect("created lock poisoned");
        let (mut known, unknown): (Vec<Input>, Vec<Input>) =
            std::mem::take(inputs).into_iter().partition(|i| {
                i.id.is_some()
                    || i.sync
                        .as_ref()
                        .is_some_and(|s| created.contains_key(&s.key))
            });
        for input in &mut known {
            if input.id.is_none()
                && let Some(sync) = &input.sync
            {
                input.id = created.get(&sync.key).cloned();
            }
        }
        *inputs = known;
        unknown
            .into_iter()
            .map(|mut input| {
                input.operation = Operation::Create;
                input
            })
            .collect()
    }

    /// Sends `inputs` as one `op` batch request. `by_property` sends `idProperty` with each input;
    /// `verify_rounds` bounds how often lost creates are checked and sent again.
    fn send(
        &self,
        inputs: Vec<Input>,
        op: Operation,
        by_property: bool,
        verify_rounds: u32,
    ) -> Pending<'_> {
        Box::pin(async move {
            if inputs.is_empty() {
                return;
            }
            if self.portal.halt().is_raised() {
                return self.unfinished(inputs).await;
            }
            // Creates and archives may land without an answer: their rows are journalled as
            // "sending", with their `[sync]` keys, written and synced before the request waits for
            // its token. If this process dies before the answer is recorded, the next run knows
            // these rows may have been applied (and a create in doubt is never created blindly).
            let rows: Vec<(u64, Option<&str>)> = inputs
                .iter()
                .map(|i| (i.row, i.sync.as_ref().map(|s| s.key.as_str())))
                .collect();
            let journal = Journalled {
                checkpoint: self
                    .checkpoint
                    .as_deref()
                    .filter(|_| matches!(op, Operation::Create | Operation::Archive)),
                rows: &rows,
            };
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
                .post_journalled(&path, body, creates, &*self.concurrency, &journal)
                .await
            {
                Call::Answer(reply) => {
                    self.judge(inputs, op, reply, by_property, verify_rounds)
                        .await
                }
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
    async fn judge(
        &self,
        inputs: Vec<Input>,
        op: Operation,
        reply: Reply,
        by_property: bool,
        rounds: u32,
    ) {
        match reply.status {
            // 200, 201 and 207 alike: from 2026-09 a batch's errors ride in its 200/201 body.
            200..=299 => {
                let out = attribution::attribute(op, &self.spec.traces, inputs, &reply.body);
                for rejection in out.rejected {
                    self.emit(Outcome::Rejected(rejection)).await;
                }
                let mut in_doubt = out.in_doubt;
                let mut doubt = out.doubt.unwrap_or_default();
                // A sync create that landed without its record id told would be created again
                // by the next run: look it up instead.
                // Taken out in place: the rows that landed (nearly all) are not moved again.
                let mut landed = out.accepted;
                let unknown: Vec<Landed> = landed
                    .extract_if(.., |l| {
                        op == Operation::Create && l.input.sync.is_some() && l.record_id.is_none()
                    })
                    .collect();
                if !unknown.is_empty() {
                    in_doubt.extend(unknown.into_iter().map(|l| l.input));
                    doubt = "the portal's answer did not tell the new records' ids".into();
                }
                self.accept(op, landed, out.created).await;
                if in_doubt.is_empty() {
                    return;
                }
                if op == Operation::Create {
                    self.verify_creates(in_doubt, doubt, rounds).await;
                } else if rounds > 0 {
                    // Update, upsert and archive are idempotent: sending again is safe.
                    self.send(in_doubt, op, by_property, rounds - 1).await;
                } else {
                    let message = format!(
                        "{doubt}, also after every retry; look the record up before replaying this row"
                    );
                    self.reject_all(in_doubt, RejectStatus::GaveUp, "UNACCOUNTED", &message)
                        .await;
                }
            }
            // Whole-batch failures: one bad row (or a conflict) fails them all. Halve until the
            // offending rows stand alone; the good rows still land. 413: the body was too big.
            400 | 409 | 413 if inputs.len() > 1 => {
                let mut left = inputs;
                let right = left.split_off(left.len() / 2);
                Counters::add(&self.counters.bisections, 2);
                self.send(left, op, by_property, rounds).await;
                self.send(right, op, by_property, rounds).await;
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

    /// Records accepted rows, with what `[sync]` learns from them. Updated and upserted rows with
    /// links are accepted once their links are written too.
    async fn accept(&self, op: Operation, landed: Vec<Landed>, created: u64) {
        let (landed, created) = match op {
            Operation::Update | Operation::Upsert
                if landed.iter().any(|l| !l.input.associations.is_empty()) =>
            {
                self.link_landed(op, landed, created).await
            }
            _ => (landed, created),
        };
        if landed.is_empty() {
            return;
        }
        let n = landed.len() as u64;
        if op == Operation::Create {
            // A create's links land with its record (sent inline): they are links written too.
            let inline = landed.iter().map(|l| l.input.associations.len() as u64);
            Counters::add(&self.counters.linked, inline.sum());
        }
        let mut changes = Vec::new();
        for l in &landed {
            let Some(sync) = &l.input.sync else { continue };
            changes.push(match (op, &l.record_id) {
                (Operation::Archive, _) => Change::Removed {
                    key: sync.key.clone(),
                },
                (_, Some(id)) => Change::Accepted {
                    key: sync.key.clone(),
                    hash: sync.hash,
                    record_id: id.clone(),
                },
                (_, None) => continue,
            });
            if op == Operation::Create
                && let Some(id) = &l.record_id
            {
                self.created
                    .lock()
                    .expect("created lock poisoned")
                    .insert(sync.key.clone(), id.clone());
            }
        }
        let rows = landed.into_iter().map(|l| l.input.row).collect();
        let (created, updated, archived) = match op {
            Operation::Create => (n, 0, 0),
            Operation::Upsert => (created.min(n), n - created.min(n), 0),
            Operation::Update => (0, n, 0),
            Operation::Archive => (0, 0, n),
            Operation::Associate | Operation::Dissociate => (0, 0, 0),
        };
        self.emit(Outcome::Accepted {
            rows,
            created,
            updated,
            archived,
            changes,
        })
        .await;
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

/// The journal's view of one request's rows: marked as sending before it waits for its token,
/// the mark taken back when it never left. `checkpoint` is `None` for requests that cannot apply
/// without an answer being seen (updates, upserts: sending them again is harmless).
struct Journalled<'a> {
    checkpoint: Option<&'a Checkpoint>,
    /// Each row with its `[sync]` key, if the job has one.
    rows: &'a [(u64, Option<&'a str>)],
}

impl Sending for Journalled<'_> {
    fn mark(&self) -> Result<(), String> {
        match self.checkpoint {
            Some(checkpoint) => checkpoint
                .mark_sending(self.rows)
                .map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    fn unsent(&self) -> Result<(), String> {
        match self.checkpoint {
            Some(checkpoint) => checkpoint
                .unmark_sending(&self.rows.iter().map(|(row, _)| *row).collect::<Vec<_>>())
                .map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }
}
