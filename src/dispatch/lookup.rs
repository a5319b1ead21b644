//! Reads by a unique property, for the dispatcher: record ids for update and archive by
//! property, and the check of creates whose answer was lost (did the record land?).

use std::collections::HashMap;

use serde::Serialize;

use super::attribution::Landed;
use super::{Dispatcher, Pending};
use crate::config::Operation;
use crate::job::outcome::Outcome;
use crate::job::report::Counters;
use crate::job::state::Change;
use crate::portal::response::{BatchResponse, ErrorItem};
use crate::portal::{Call, Pacing, Portal};
use crate::prepare::row::{Input, RejectStatus, Rejection};

impl Dispatcher {
    /// A create whose answer was lost may have landed. Check each row through the mapped unique
    /// property: found → it landed; not found → safe to send again. Without such a property the
    /// rows are dead-lettered as AMBIGUOUS: never guess (DESIGN.md §4).
    pub(super) fn verify_creates(
        &self,
        inputs: Vec<Input>,
        reason: String,
        rounds: u32,
    ) -> Pending<'_> {
        Box::pin(async move {
            let Some(property) = self.spec.verify_property.clone() else {
                let message = format!(
                    "the create request got no usable answer ({reason}); the record may or may \
                     not exist in HubSpot, and no unique property is mapped to check: look it up \
                     before replaying this row"
                );
                return self.ambiguous(inputs, &message).await;
            };
            let (checkable, unknown): (Vec<Input>, Vec<Input>) = inputs
                .into_iter()
                .partition(|input| value_of(input, &property).is_some());
            if !unknown.is_empty() {
                let message = format!(
                    "the create request got no usable answer ({reason}) and this row has no \
                     {property} to check it by: look the record up before replaying this row"
                );
                self.ambiguous(unknown, &message).await;
            }
            if checkable.is_empty() {
                return;
            }
            let values: Vec<String> = checkable
                .iter()
                .filter_map(|i| value_of(i, &property))
                .collect();
            match self.read_records_by_property(&property, &values).await {
                Ok(found) => {
                    let mut landed = Vec::new();
                    let mut missing = Vec::new();
                    let mut older = Vec::new();
                    for input in checkable {
                        let record = value_of(&input, &property)
                            .and_then(|v| found.get(&v.to_lowercase()).cloned());
                        match record {
                            Some(record) if self.older_than_its_create(&input, &record) => {
                                older.push((input, record));
                            }
                            Some(record) => landed.push(Landed::of(input, Some(record.id))),
                            None => missing.push(input),
                        }
                    }
                    for (input, record) in older {
                        self.conflicted(input, &property, &record, &reason).await;
                    }
                    let created = landed.len() as u64;
                    // Rows, not lookups: a row checked in two rounds is settled once.
                    Counters::add(&self.counters.verified, created);
                    self.accept(Operation::Create, landed, created).await;
                    if rounds > 0 {
                        self.send(missing, Operation::Create, false, rounds - 1)
                            .await;
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
                    self.ambiguous(checkable, &message).await;
                }
                Err(None) => self.unfinished(checkable).await,
            }
        })
    }

    /// Whether `record`, found for a create whose answer was lost, was made before the create
    /// was sent (by someone else: the create was a conflict). Unknown without a bound (see
    /// [`Dispatcher::sent_after_ms`]) or the record's `createdAt`.
    fn older_than_its_create(&self, input: &Input, record: &FoundRecord) -> bool {
        match (self.sent_after_ms(input), record.created_ms()) {
            (Some(start), Some(created)) => created < start,
            _ => false,
        }
    }

    /// No record `input`'s create made is older than this: for a key a `[sync]` state holds in
    /// doubt, the bound kept with it (its create came from an earlier job); this job's start
    /// otherwise.
    fn sent_after_ms(&self, input: &Input) -> Option<i64> {
        match &input.sync {
            Some(sync) if sync.verify_first => sync.sent_after_ms,
            _ => self.spec.sent_after_ms,
        }
    }

    /// Dead-letters a create whose answer was lost and whose record existed before it was sent:
    /// the portal's answer was a conflict (409), as it would have said.
    async fn conflicted(&self, input: Input, property: &str, record: &FoundRecord, reason: &str) {
        let value = value_of(&input, property).unwrap_or_default();
        let created = record.created_at.as_deref().unwrap_or("?");
        let message = format!(
            "a {object} record with {property} = {value:?} already existed before this row's \
             create was sent (record {id}, created {created}): the create was a conflict whose \
             answer was lost ({reason}); update that record instead (operation = \"upsert\")",
            object = self.spec.object,
            id = record.id,
        );
        let rejection = Rejection {
            row: input.row,
            origin: input.origin,
            fields: input.fields,
            status: RejectStatus::Api(409),
            category: "CONFLICT".to_string(),
            message,
        };
        self.emit(Outcome::Rejected(rejection)).await;
    }

    /// Replaces each input's `id` (a unique-property value) with its record id; rows whose value
    /// matches no record are dead-lettered.
    pub(super) async fn resolve_ids(&self, inputs: Vec<Input>) -> Vec<Input> {
        let property = self
            .spec
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
        let op = self.spec.operation;
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
                None if in_doubt && op == Operation::Archive => {
                    already_archived.push(Landed::of(input, None));
                }
                None => {
                    let message = format!(
                        "no {} record has {property} = {value:?} (already archived, or never existed)",
                        self.spec.object
                    );
                    let rejection = Rejection {
                        row: input.row,
                        origin: input.origin,
                        fields: input.fields,
                        status: RejectStatus::Api(404),
                        category: "OBJECT_NOT_FOUND".to_string(),
                        message,
                    };
                    self.emit(Outcome::Rejected(rejection)).await;
                }
            }
        }
        self.accept(op, already_archived, 0).await;
        resolved
    }

    /// Dead-letters creates that may or may not have landed as `AMBIGUOUS`; their `[sync]` keys
    /// are marked in doubt so no later run creates them blindly.
    async fn ambiguous(&self, inputs: Vec<Input>, message: &str) {
        let keys: Vec<Change> = inputs
            .iter()
            .filter_map(|i| {
                let sync = i.sync.as_ref()?;
                Some(Change::InDoubt {
                    key: sync.key.clone(),
                    sent_after_ms: self.sent_after_ms(i),
                })
            })
            .collect();
        if !keys.is_empty() {
            self.emit(Outcome::Doubt(keys)).await;
        }
        self.reject_all(inputs, RejectStatus::Ambiguous, "AMBIGUOUS", message)
            .await;
    }

    /// Batch-reads records of the job's object by a unique property: lowercased value → record id.
    /// `Err(None)` means the run is halting.
    pub(super) async fn read_by_property(
        &self,
        property: &str,
        values: &[String],
    ) -> Result<HashMap<String, String>, Option<String>> {
        let found = self.read_records_by_property(property, values).await?;
        Ok(ids_of(found))
    }

    /// [`Dispatcher::read_by_property`] with when each record was created.
    async fn read_records_by_property(
        &self,
        property: &str,
        values: &[String],
    ) -> Result<HashMap<String, FoundRecord>, Option<String>> {
        read_records_by_property(
            &self.portal,
            &*self.concurrency,
            &self.spec.object,
            property,
            values,
        )
        .await
    }
}

/// A record found by a unique property.
#[derive(Debug, Clone)]
pub(super) struct FoundRecord {
    pub(super) id: String,
    /// `createdAt` as the portal wrote it.
    pub(super) created_at: Option<String>,
}

impl FoundRecord {
    /// `createdAt` in ms since the epoch (read only for a lost create's check, not for every
    /// record an update or a link looks up).
    fn created_ms(&self) -> Option<i64> {
        let text = self.created_at.as_deref()?;
        let instant = chrono::DateTime::parse_from_rfc3339(text).ok()?;
        Some(instant.timestamp_millis())
    }
}

/// Value → record id.
fn ids_of(found: HashMap<String, FoundRecord>) -> HashMap<String, String> {
    found
        .into_iter()
        .map(|(value, record)| (value, record.id))
        .collect()
}

/// The most values one batch read takes (API-NOTES §1).
const READ_BATCH: usize = 100;

/// Batch-reads records of `object` by the unique `property`, 100 values a call (through the rate
/// gate, like every request): lowercased value → record id. Values that name no record are not in
/// the map. `Err(None)` means the run is halting.
pub(super) async fn read_by_property(
    portal: &Portal,
    pacing: &dyn Pacing,
    object: &str,
    property: &str,
    values: &[String],
) -> Result<HashMap<String, String>, Option<String>> {
    let found = read_records_by_property(portal, pacing, object, property, values).await?;
    Ok(ids_of(found))
}

/// [`read_by_property`] with when each record was created.
async fn read_records_by_property(
    portal: &Portal,
    pacing: &dyn Pacing,
    object: &str,
    property: &str,
    values: &[String],
) -> Result<HashMap<String, FoundRecord>, Option<String>> {
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
    let path = portal.paths().batch(object, "read");
    let mut found = HashMap::with_capacity(values.len());
    for chunk in values.chunks(READ_BATCH) {
        let body = ReadBody {
            id_property: property,
            properties: [property],
            inputs: chunk.iter().map(|v| ReadInput { id: v }).collect(),
        };
        let body = serde_json::to_vec(&body).expect("a read body always serializes");
        match portal.post(&path, body, false, pacing).await {
            Call::Answer(reply) if reply.status == 200 || reply.status == 207 => {
                let response: BatchResponse = serde_json::from_slice(&reply.body)
                    .map_err(|e| Some(format!("unreadable batch read answer: {e}")))?;
                found.extend(response.results.into_iter().filter_map(|r| {
                    let value = r.properties.get(property).cloned().flatten()?;
                    let record = FoundRecord {
                        id: r.id,
                        created_at: r.created_at,
                    };
                    Some((value.to_lowercase(), record))
                }));
            }
            Call::Answer(reply) => {
                let error = ErrorItem::parse(&reply.body);
                return Err(Some(format!("HTTP {}: {}", reply.status, error.message)));
            }
            Call::Ambiguous(reason) | Call::GaveUp(reason) => return Err(Some(reason)),
            Call::Halted => return Err(None),
        }
    }
    Ok(found)
}

/// The value of `property` in an input (its mapped value, or its id for upsert keys).
fn value_of(input: &Input, property: &str) -> Option<String> {
    input
        .properties
        .get(property)
        .map(str::to_string)
        .filter(|v| !v.is_empty())
}
