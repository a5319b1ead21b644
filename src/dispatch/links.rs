//! Writing links with the v4 associations API: after an update or upsert (the record's id from the
//! write's answer), and as the whole work of `associate` (batch create) and `dissociate` (batch
//! archive, or labels/archive when the table names a type).
//!
//! A row's links are grouped by the other object type (one path per pair of types) and sent in
//! requests of at most `association_batch_size` pairs, on the associations API's own budget. Every
//! pair's fate is traced back (`link_attribution`); a pair in doubt is sent again (link writes are
//! idempotent), a whole-batch 400/409/413 is bisected like a record batch. A row is linked when all
//! its pairs are; one failed pair fails the row.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use super::Dispatcher;
use super::attribution::Landed;
use super::link_attribution::{PairFate, attribute};
use crate::config::Operation;
use crate::job::outcome::Outcome as Fate;
use crate::job::report::Counters;
use crate::portal::Call;
use crate::portal::response::ErrorItem;
use crate::prepare::encode::{LinkPair, LinkWrite, links_body};
use crate::prepare::row::{Input, RejectStatus, Rejection};

/// One row whose links are to be written: its record (the from-side) and its resolved
/// associations (`input.associations`).
#[derive(Debug)]
pub(super) struct LinkRow {
    pub input: Input,
    pub from: String,
    /// Upsert: whether the write created the record, when known.
    pub new: Option<bool>,
}

/// Why a row's links were not all written: the first pair that failed.
#[derive(Debug, Clone)]
pub(super) struct LinkFailure {
    pub status: RejectStatus,
    pub category: String,
    /// `companies 678: <HubSpot's message>`.
    pub message: String,
}

/// The fate of the rows of a link write.
#[derive(Debug, Default)]
pub(super) struct LinkFates {
    pub linked: Vec<LinkRow>,
    pub failed: Vec<(LinkRow, LinkFailure)>,
    /// The run stopped before their links were written.
    pub unfinished: Vec<LinkRow>,
}

/// One pair on the wire, and where its fate goes.
#[derive(Debug, Clone)]
struct Pair {
    /// Index into the row list.
    row: usize,
    from: String,
    to: String,
    category: String,
    type_id: Option<u32>,
}

#[derive(Debug, Clone)]
enum Outcome {
    Linked,
    Failed(LinkFailure),
    Unfinished,
}

type Sent<'a> = Pin<Box<dyn Future<Output = Vec<(Pair, Outcome)>> + Send + 'a>>;

impl Dispatcher {
    /// `associate`/`dissociate`: writes (or removes) each row's links; a row is accepted when all
    /// of them are.
    pub(super) async fn link_only(&self, inputs: Vec<Input>, archive: bool) {
        let rows = inputs
            .into_iter()
            .map(|input| LinkRow {
                from: input.id.clone().unwrap_or_default(),
                input,
                new: None,
            })
            .collect();
        let fates = self.write_links(rows, archive).await;
        let object = &self.spec.object;
        for (row, failure) in fates.failed {
            let message = format!("link {object} {} → {}", row.from, failure.message);
            self.emit(Fate::Rejected(rejection(row.input, &failure, message)))
                .await;
        }
        self.unfinished(fates.unfinished.into_iter().map(|r| r.input).collect())
            .await;
        if !fates.linked.is_empty() {
            let rows = fates.linked.into_iter().map(|r| r.input.row).collect();
            self.emit(Fate::Accepted {
                rows,
                created: 0,
                updated: 0,
                archived: 0,
                changes: Vec::new(),
            })
            .await;
        }
    }

    /// After an update or upsert: writes the links of the rows that landed. Returns the rows whose
    /// links are all written (to be accepted) and how many of them created their record; the others
    /// are dead-lettered `link_failed` (their record is written; replaying the row is safe) or left
    /// unfinished.
    pub(super) async fn link_landed(
        &self,
        op: Operation,
        landed: Vec<Landed>,
        created: u64,
    ) -> (Vec<Landed>, u64) {
        let landed = self.with_record_ids(op, landed).await;
        let (plain, linking): (Vec<Landed>, Vec<Landed>) = landed
            .into_iter()
            .partition(|l| l.input.associations.is_empty());
        let mut rows = Vec::with_capacity(linking.len());
        for l in linking {
            match l.record_id {
                Some(from) => rows.push(LinkRow {
                    input: l.input,
                    from,
                    new: l.new,
                }),
                None => {
                    let failure = LinkFailure {
                        status: RejectStatus::LinkFailed,
                        category: "RECORD_ID_UNKNOWN".into(),
                        message: String::new(),
                    };
                    let message = format!(
                        "the {} record was written, but its id could not be read back to link it; \
                         replaying this row is safe",
                        self.spec.object
                    );
                    self.emit(Fate::Rejected(rejection(l.input, &failure, message)))
                        .await;
                }
            }
        }
        let fates: LinkFates = self.write_links(rows, false).await;
        for (row, failure) in fates.failed {
            let message = format!(
                "the {} record {} was written, but its link to {} was not; replaying this row is \
                 safe",
                self.spec.object, row.from, failure.message
            );
            let failure = LinkFailure {
                status: RejectStatus::LinkFailed,
                ..failure
            };
            self.emit(Fate::Rejected(rejection(row.input, &failure, message)))
                .await;
        }
        self.unfinished(fates.unfinished.into_iter().map(|r| r.input).collect())
            .await;
        let mut accepted = plain;
        accepted.extend(fates.linked.into_iter().map(|r| Landed {
            input: r.input,
            record_id: Some(r.from),
            new: r.new,
        }));
        // Rows whose links failed left: count the created records among those accepted.
        let created = if accepted.iter().all(|l| l.new.is_some()) {
            accepted.iter().filter(|l| l.new == Some(true)).count() as u64
        } else {
            created.min(accepted.len() as u64)
        };
        (accepted, created)
    }

    /// Upserted rows whose answer did not tell their record ids get them by a batch read of the
    /// values they were upserted by.
    async fn with_record_ids(&self, op: Operation, mut landed: Vec<Landed>) -> Vec<Landed> {
        let property = match (&self.spec.id_property, op) {
            (Some(property), Operation::Upsert) => property.clone(),
            _ => return landed,
        };
        let values: Vec<String> = landed
            .iter()
            .filter(|l| l.record_id.is_none() && !l.input.associations.is_empty())
            .filter_map(|l| l.input.id.clone())
            .collect();
        if values.is_empty() {
            return landed;
        }
        // A failed read leaves the ids unknown: those rows are dead-lettered, replayable.
        if let Ok(found) = self.read_by_property(&property, &values).await {
            for l in landed.iter_mut().filter(|l| l.record_id.is_none()) {
                let value = l.input.id.as_deref().unwrap_or_default().to_lowercase();
                l.record_id = found.get(&value).cloned();
            }
        }
        landed
    }

    /// Writes (or, `archive`, removes) the links of `rows`.
    pub(super) async fn write_links(&self, rows: Vec<LinkRow>, archive: bool) -> LinkFates {
        let Some(resolver) = self.resolver.as_deref() else {
            return LinkFates {
                linked: rows,
                ..LinkFates::default()
            };
        };
        // Pairs by (other object type, how they are written): one path each.
        let mut groups: BTreeMap<(String, LinkWrite), Vec<Pair>> = BTreeMap::new();
        let mut outcomes: Vec<Option<Outcome>> = vec![None; rows.len()];
        for (index, row) in rows.iter().enumerate() {
            for association in &row.input.associations {
                let object = resolver
                    .table(association.table)
                    .and_then(|t| t.object.clone());
                let Some(object) = object else {
                    // The configuration requires to_object wherever links are written this way.
                    outcomes[index] = Some(Outcome::Failed(LinkFailure {
                        status: RejectStatus::Invalid,
                        category: "INVALID_ASSOCIATION".into(),
                        message: "the [[associations]] table names no to_object".into(),
                    }));
                    continue;
                };
                let write = match (archive, association.type_id) {
                    (false, _) => LinkWrite::Create,
                    (true, Some(_)) => LinkWrite::ArchiveTypes,
                    (true, None) => LinkWrite::ArchiveAll,
                };
                groups.entry((object, write)).or_default().push(Pair {
                    row: index,
                    from: row.from.clone(),
                    to: association.to_id.clone(),
                    category: association.category.clone(),
                    type_id: association.type_id,
                });
            }
        }
        let size = self.spec.association_batch_size.max(1);
        for ((object, write), pairs) in groups {
            let path =
                self.portal
                    .paths()
                    .associations_batch(&self.spec.object, &object, segment(write));
            for chunk in pairs.chunks(size) {
                let sent = self
                    .send_pairs(&path, &object, write, chunk.to_vec(), self.spec.max_retries)
                    .await;
                let mut written = 0;
                for (pair, outcome) in sent {
                    if matches!(outcome, Outcome::Linked) {
                        written += 1;
                    }
                    let slot = &mut outcomes[pair.row];
                    // A failure is the row's fate whatever its other pairs did; then a stop.
                    match (&slot, outcome) {
                        (Some(Outcome::Failed(_)), _) => {}
                        (_, failed @ Outcome::Failed(_)) => *slot = Some(failed),
                        (Some(Outcome::Unfinished), _) => {}
                        (_, outcome) => *slot = Some(outcome),
                    }
                }
                let counter = if archive {
                    &self.counters.unlinked
                } else {
                    &self.counters.linked
                };
                Counters::add(counter, written);
            }
        }
        let mut fates = LinkFates::default();
        for (row, outcome) in rows.into_iter().zip(outcomes) {
            match outcome {
                None | Some(Outcome::Linked) => fates.linked.push(row),
                Some(Outcome::Failed(failure)) => fates.failed.push((row, failure)),
                Some(Outcome::Unfinished) => fates.unfinished.push(row),
            }
        }
        fates
    }

    /// Sends one request of pairs and judges its answer; `rounds` bounds how often pairs in doubt
    /// are sent again.
    fn send_pairs<'a>(
        &'a self,
        path: &'a str,
        object: &'a str,
        write: LinkWrite,
        pairs: Vec<Pair>,
        rounds: u32,
    ) -> Sent<'a> {
        Box::pin(async move {
            if pairs.is_empty() {
                return Vec::new();
            }
            if self.portal.halt().is_raised() {
                return unfinished(pairs);
            }
            let wire: Vec<LinkPair<'_>> = pairs
                .iter()
                .map(|p| LinkPair {
                    from: &p.from,
                    to: &p.to,
                    category: &p.category,
                    type_id: p.type_id,
                })
                .collect();
            let body = links_body(write, &wire);
            let failed = |pairs: Vec<Pair>, status, category: &str, message: &str| {
                pairs
                    .into_iter()
                    .map(|p| {
                        let failure = LinkFailure {
                            status,
                            category: category.to_string(),
                            message: format!("{object} {}: {message}", p.to),
                        };
                        (p, Outcome::Failed(failure))
                    })
                    .collect::<Vec<_>>()
            };
            let call = self.portal.post_links(path, body, &*self.concurrency).await;
            let reply = match call {
                Call::Answer(reply) => reply,
                Call::Halted => return unfinished(pairs),
                Call::GaveUp(reason) => {
                    let message = format!("no answer after retries: {reason}");
                    return failed(pairs, RejectStatus::GaveUp, "RETRIES_EXHAUSTED", &message);
                }
                // Never for a request sent as a non-create; and a link sent twice is one link.
                Call::Ambiguous(_) if rounds > 0 => {
                    return self
                        .send_pairs(path, object, write, pairs, rounds - 1)
                        .await;
                }
                Call::Ambiguous(reason) => {
                    return failed(pairs, RejectStatus::GaveUp, "UNACCOUNTED", &reason);
                }
            };
            match reply.status {
                200..=299 => {
                    let keys: Vec<(&str, &str)> = pairs
                        .iter()
                        .map(|p| (p.from.as_str(), p.to.as_str()))
                        .collect();
                    let fates = attribute(&keys, &reply.body, write == LinkWrite::Create);
                    let mut out = Vec::with_capacity(pairs.len());
                    let mut doubt = Vec::new();
                    for (pair, fate) in pairs.into_iter().zip(fates) {
                        match fate {
                            PairFate::Linked => out.push((pair, Outcome::Linked)),
                            PairFate::Failed { category, message } => {
                                let failure = LinkFailure {
                                    status: RejectStatus::Api(status_of(&category)),
                                    message: format!("{object} {}: {message}", pair.to),
                                    category,
                                };
                                out.push((pair, Outcome::Failed(failure)));
                            }
                            PairFate::Doubt => doubt.push(pair),
                        }
                    }
                    if !doubt.is_empty() {
                        if rounds > 0 {
                            out.extend(
                                self.send_pairs(path, object, write, doubt, rounds - 1)
                                    .await,
                            );
                        } else {
                            out.extend(failed(
                                doubt,
                                RejectStatus::GaveUp,
                                "UNACCOUNTED",
                                "the portal's answer did not account for this link, also after \
                                 every retry",
                            ));
                        }
                    }
                    out
                }
                400 | 409 | 413 if pairs.len() > 1 => {
                    let mut left = pairs;
                    let right = left.split_off(left.len() / 2);
                    Counters::add(&self.counters.bisections, 2);
                    let mut out = self.send_pairs(path, object, write, left, rounds).await;
                    out.extend(self.send_pairs(path, object, write, right, rounds).await);
                    out
                }
                status => {
                    let error = ErrorItem::parse(&reply.body);
                    let category = match error.category.clone().or(error.error_type.clone()) {
                        Some(category) => category,
                        None => format!("HTTP_{status}"),
                    };
                    failed(pairs, RejectStatus::Api(status), &category, &error.message)
                }
            }
        })
    }
}

/// The dead letter of a row whose links failed.
fn rejection(input: Input, failure: &LinkFailure, message: String) -> Rejection {
    Rejection {
        row: input.row,
        origin: input.origin,
        fields: input.fields,
        status: failure.status,
        category: failure.category.clone(),
        message,
    }
}

fn unfinished(pairs: Vec<Pair>) -> Vec<(Pair, Outcome)> {
    pairs
        .into_iter()
        .map(|p| (p, Outcome::Unfinished))
        .collect()
}

/// The HTTP status that goes with a v4 error item's category (the item carries none).
fn status_of(category: &str) -> u16 {
    match category {
        "OBJECT_NOT_FOUND" => 404,
        "CONFLICT" => 409,
        _ => 400,
    }
}

/// The last segments of the v4 batch path of a link write.
fn segment(write: LinkWrite) -> &'static str {
    match write {
        LinkWrite::Create => "create",
        LinkWrite::ArchiveTypes => "labels/archive",
        LinkWrite::ArchiveAll => "archive",
    }
}
