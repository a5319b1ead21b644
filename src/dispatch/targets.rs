//! A batch's rows, their keys resolved: each row's links get the record ids they name (its
//! `associations`), and for `associate`/`dissociate` its `id` becomes the record id the links start
//! from. A row with a key that names no record is rejected here, before anything is written for it.
//! One lookup per table and batch: every row's keys of a table are looked up together.

use std::collections::{BTreeSet, HashMap};

use super::Dispatcher;
use super::resolve::{Resolver, Table, Unresolved};
use crate::job::outcome::Outcome;
use crate::portal::{Pacing, Portal};
use crate::prepare::row::{Association, Input, RejectStatus, Rejection};
use crate::prepare::violation::{Violation, rejection};

impl Dispatcher {
    /// Resolves the keys of a batch's rows; returns the rows ready to send. The others are
    /// dead-lettered (a key naming no record, a lookup that failed) or left unfinished.
    pub(super) async fn resolve_keys(&self, resolver: &Resolver, inputs: Vec<Input>) -> Vec<Input> {
        if resolver.from.is_none() && inputs.iter().all(|i| i.links.is_empty()) {
            return inputs;
        }
        let resolved = resolve_rows(resolver, &self.portal, &*self.concurrency, inputs).await;
        for rejection in resolved.not_found {
            self.emit(Outcome::Rejected(rejection)).await;
        }
        for (input, reason) in resolved.failed {
            let message = format!(
                "could not look up the records this row names (nothing was written): {reason}"
            );
            self.reject_all(vec![input], RejectStatus::GaveUp, "LOOKUP_FAILED", &message)
                .await;
        }
        self.unfinished(resolved.halted).await;
        resolved.ready
    }
}

/// What resolving a batch's rows gave.
#[derive(Debug, Default)]
pub struct Resolved {
    /// Rows whose every key named a record.
    pub ready: Vec<Input>,
    /// Rows with a key that named no record (`not_found`).
    pub not_found: Vec<Rejection>,
    /// Rows whose keys could not be looked up, with why.
    pub failed: Vec<(Input, String)>,
    /// Rows left for `--resume`: the run is stopping.
    pub halted: Vec<Input>,
}

/// Resolves `inputs`' keys. Tables checked for shape only keep their keys as they are.
pub async fn resolve_rows(
    resolver: &Resolver,
    portal: &Portal,
    pacing: &dyn Pacing,
    inputs: Vec<Input>,
) -> Resolved {
    let mut out = Resolved::default();
    // The records the links start from (link operations).
    let mut inputs = inputs;
    if let Some(from) = resolver.from.as_ref().filter(|t| t.resolves()) {
        let keys: BTreeSet<String> = inputs.iter().filter_map(|i| i.id.clone()).collect();
        let found = match from.resolve(portal, pacing, &keys).await {
            Ok(found) => found,
            Err(unresolved) => {
                settle(&mut out, inputs, unresolved);
                return out;
            }
        };
        let mut kept = Vec::with_capacity(inputs.len());
        for mut input in inputs {
            let key = input.id.clone().unwrap_or_default();
            match found.get(&from.normalized(&key)) {
                Some(id) => {
                    input.id = Some(id.clone());
                    kept.push(input);
                }
                None => {
                    let violation = Violation {
                        category: "OBJECT_NOT_FOUND",
                        column: Some(format!("{:?}", from.column)),
                        property: None,
                        value: key,
                        reason: from.not_found(),
                    };
                    out.not_found.push(not_found(input, &[violation]));
                }
            }
        }
        inputs = kept;
    }
    // The records the links go to: one lookup per table for the whole batch.
    let mut ids: Vec<Option<HashMap<String, String>>> = Vec::with_capacity(resolver.tables.len());
    for (index, table) in resolver.tables.iter().enumerate() {
        let keys: BTreeSet<String> = inputs
            .iter()
            .flat_map(|i| &i.links)
            .filter(|l| l.table == index)
            .map(|l| l.key.clone())
            .collect();
        if keys.is_empty() {
            ids.push(None);
            continue;
        }
        match table.resolve(portal, pacing, &keys).await {
            Ok(found) => ids.push(Some(found)),
            Err(unresolved) => {
                // Only the rows that link through this table are held up.
                let (blocked, others): (Vec<Input>, Vec<Input>) = inputs
                    .into_iter()
                    .partition(|i| i.links.iter().any(|l| l.table == index));
                settle(&mut out, blocked, unresolved);
                inputs = others;
                ids.push(None);
            }
        }
    }
    for mut input in inputs {
        let mut missing = Vec::new();
        let mut associations = Vec::with_capacity(input.links.len());
        for link in &input.links {
            let (Some(table), Some(Some(found))) =
                (resolver.tables.get(link.table), ids.get(link.table))
            else {
                continue;
            };
            match found.get(&table.normalized(&link.key)) {
                Some(id) => associations.push(association(link.table, table, id)),
                None => missing.push(Violation {
                    category: "ASSOCIATION_TARGET_NOT_FOUND",
                    column: Some(format!("{:?}", table.column)),
                    property: None,
                    value: link.key.clone(),
                    reason: table.not_found(),
                }),
            }
        }
        if missing.is_empty() {
            input.associations = associations;
            out.ready.push(input);
        } else {
            out.not_found.push(not_found(input, &missing));
        }
    }
    out
}

fn association(index: usize, table: &Table, id: &str) -> Association {
    Association {
        table: index,
        to_id: id.to_string(),
        category: table.category.clone(),
        type_id: table.type_id,
    }
}

fn not_found(input: Input, violations: &[Violation]) -> Rejection {
    let mut rejection = rejection(input.row, input.origin, input.fields, violations);
    rejection.status = RejectStatus::NotFound;
    rejection
}

fn settle(out: &mut Resolved, inputs: Vec<Input>, unresolved: Unresolved) {
    match unresolved {
        Unresolved::Halted => out.halted.extend(inputs),
        Unresolved::Failed(reason) => out
            .failed
            .extend(inputs.into_iter().map(|i| (i, reason.clone()))),
    }
}
