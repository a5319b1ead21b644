//! Tracing a successful batch answer (200, 201, 204, 207) back to the exact input rows
//! (DESIGN.md §4, "Trace ids").
//!
//! A success status is not proof: a row counts as accepted only when the answer accounts for it.
//! Nor is it the whole answer: the status is never consulted here, because where the errors ride
//! depends on the API version — v3 and 2026-03 answer a partial batch with a 207, 2026-09 with a
//! plain 200/201 whose body holds the same `numErrors`/`errors[]` (API-NOTES §3). Every 2xx body is
//! read for errors.
//! Every create/update/upsert input carries `objectWriteTraceId` = `<job>-<row>` (`prepare::trace`);
//! `errors[]` items name their rows through `context.objectWriteTraceId`, or through `context.ids`
//! (record ids or `idProperty` values). A trace id of another job names no row of this batch. The
//! other rows are accepted when the results account for them:
//! - update: by record id (`results[].id` is the id that was sent);
//! - create and upsert: by count (HubSpot does not echo trace ids in results), so every other row
//!   is accepted only when there are at least as many results as other rows;
//! - archive: a 2xx is the whole answer (HubSpot's 204 has no body).
//!
//! A body that does not parse, or that leaves rows unaccounted, leaves those rows `in_doubt`: the
//! dispatcher resends them (idempotent operations) or looks them up (creates); it never guesses.

use std::collections::{HashMap, HashSet};

use crate::config::Operation;
use crate::portal::response::{BatchResponse, ErrorItem, WriteResponse};
use crate::prepare::row::{Input, RejectStatus, Rejection};
use crate::prepare::trace::TraceIds;

/// A row the portal accepted, with its record's id when the answer tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landed {
    pub input: Input,
    pub record_id: Option<String>,
    /// Upsert: whether the record was created (`new`), when the answer tells which result is
    /// this row's.
    pub new: Option<bool>,
}

impl Landed {
    pub fn of(input: Input, record_id: Option<String>) -> Landed {
        Landed {
            input,
            record_id,
            new: None,
        }
    }
}

/// The fate of each input of one answered batch.
#[derive(Debug, Default)]
pub struct Attributed {
    /// Rows the portal accepted.
    pub accepted: Vec<Landed>,
    /// Rows the portal rejected, with its category and message.
    pub rejected: Vec<Rejection>,
    /// Rows whose fate the answer does not tell, and why.
    pub in_doubt: Vec<Input>,
    pub doubt: Option<String>,
    /// Upsert: how many of the accepted rows created a record (`new: true`).
    pub created: u64,
}

/// Attributes a 2xx answer's `body` to `inputs` of an `operation` batch sent with `traces`.
pub fn attribute(
    operation: Operation,
    traces: &TraceIds,
    inputs: Vec<Input>,
    body: &[u8],
) -> Attributed {
    if operation == Operation::Archive {
        return Attributed {
            accepted: inputs
                .into_iter()
                .map(|i| {
                    let id = i.id.clone();
                    Landed::of(i, id)
                })
                .collect(),
            ..Attributed::default()
        };
    }
    let response: WriteResponse = match serde_json::from_slice(body) {
        Ok(response) => response,
        Err(err) => {
            let doubt = if body.is_empty() {
                "the portal's success answer had no body".to_string()
            } else {
                format!("the portal's success answer could not be read ({err})")
            };
            return Attributed {
                in_doubt: inputs,
                doubt: Some(doubt),
                ..Attributed::default()
            };
        }
    };
    let BatchResponse { results, errors } = response;
    let failure = failures(traces, &inputs, &errors);
    let failed = failure.iter().filter(|f| f.is_some()).count();
    let others = inputs.len() - failed;
    // Only an update's rows are matched by id; the others are counted.
    let result_ids: HashSet<&str> = if operation == Operation::Update {
        results.iter().map(|r| r.id.as_str()).collect()
    } else {
        HashSet::new()
    };
    let counted = results.len() >= others;
    let new_records = results.iter().filter(|r| r.new == Some(true)).count() as u64;
    // Results follow the inputs' order, failed inputs left out: with exactly one result per
    // other row, the n-th result is the n-th other row's record.
    let mut ids = (results.len() == others).then(|| results.iter().map(|r| (r.id.clone(), r.new)));
    let mut out = Attributed::default();
    out.accepted.reserve(others);
    for (input, failure) in inputs.into_iter().zip(failure) {
        if let Some(error) = failure {
            out.rejected.push(rejection(input, error));
            continue;
        }
        let (id, new) = match ids.as_mut().and_then(Iterator::next) {
            Some((id, new)) => (Some(id), new),
            None => (None, None),
        };
        match operation {
            Operation::Update => match input.id.clone() {
                Some(id)
                    if result_ids.contains(id.as_str()) || result_ids.contains(unpadded(&id)) =>
                {
                    out.accepted.push(Landed::of(input, Some(id)))
                }
                _ => out.in_doubt.push(input),
            },
            _ if counted => out.accepted.push(Landed {
                input,
                record_id: id,
                new,
            }),
            _ => out.in_doubt.push(input),
        }
    }
    if !out.in_doubt.is_empty() {
        out.doubt = Some(format!(
            "the portal's success answer accounted for {} of {} rows",
            out.accepted.len() + out.rejected.len(),
            out.accepted.len() + out.rejected.len() + out.in_doubt.len()
        ));
    }
    if operation == Operation::Upsert {
        out.created = new_records.min(out.accepted.len() as u64);
    }
    out
}

/// A record id without leading zeros (`0042` is the record HubSpot calls `42`).
fn unpadded(id: &str) -> &str {
    let trimmed = id.trim_start_matches('0');
    if trimmed.is_empty() && !id.is_empty() {
        "0"
    } else {
        trimmed
    }
}

/// For each input, the error item that names it (by trace id, else by id), if any.
fn failures<'a>(
    traces: &TraceIds,
    inputs: &[Input],
    errors: &'a [ErrorItem],
) -> Vec<Option<&'a ErrorItem>> {
    let mut failure: Vec<Option<&ErrorItem>> = vec![None; inputs.len()];
    // The common answer names no error: no index of the batch's rows is built for it.
    if errors.is_empty() {
        return failure;
    }
    let mut by_row: HashMap<u64, usize> = HashMap::with_capacity(inputs.len());
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for (index, input) in inputs.iter().enumerate() {
        by_row.insert(input.row, index);
        if let Some(id) = &input.id {
            by_id.insert(id.to_lowercase(), index);
        }
    }
    for error in errors {
        let mut named = false;
        let trace_ids = error
            .context
            .get("objectWriteTraceId")
            .into_iter()
            .flatten();
        for trace in trace_ids {
            if let Some(&index) = traces.row_of(trace).and_then(|row| by_row.get(&row)) {
                failure[index] = Some(error);
                named = true;
            }
        }
        if !named {
            for id in error.context.get("ids").into_iter().flatten() {
                if let Some(&index) = by_id.get(&id.to_lowercase()) {
                    failure[index] = Some(error);
                }
            }
        }
    }
    failure
}

/// A rejection of `input` from one HubSpot error item (of a 207, or a whole-batch error).
pub fn rejection(input: Input, error: &ErrorItem) -> Rejection {
    let category = error.category_or("ERROR");
    Rejection {
        row: input.row,
        origin: input.origin,
        fields: input.fields,
        status: RejectStatus::Api(status_of(&category)),
        category,
        message: error.message.clone(),
    }
}

/// The HTTP status that goes with a 207 item's category (the item itself carries none).
fn status_of(category: &str) -> u16 {
    match category {
        "CONFLICT" => 409,
        "OBJECT_NOT_FOUND" => 404,
        "RATE_LIMIT" => 429,
        "MISSING_SCOPES" => 403,
        _ => 400,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input(row: u64, id: Option<&str>) -> Input {
        Input {
            row,
            origin: None,
            fields: vec![format!("field{row}")].into(),
            id: id.map(str::to_string),
            key: id.map(crate::prepare::row::BatchKey::exact),
            properties: Default::default(),
            links: Vec::new(),
            associations: Vec::new(),
            operation: Operation::Upsert,
            sync: None,
        }
    }

    /// The batches' job: the trace id of row 8 is `j0b-8`.
    fn attribute(operation: Operation, inputs: Vec<Input>, body: &[u8]) -> Attributed {
        super::attribute(operation, &TraceIds::new("j0b"), inputs, body)
    }

    fn rows(out: &[Input]) -> Vec<u64> {
        out.iter().map(|i| i.row).collect()
    }

    fn landed(out: &[Landed]) -> Vec<u64> {
        out.iter().map(|l| l.input.row).collect()
    }

    #[test]
    fn trace_ids_name_the_failed_rows() {
        let inputs = vec![input(7, None), input(8, None), input(9, None)];
        let answer =
            br#"{"results":[{"id":"1"},{"id":"2"}],"numErrors":1,"errors":[{"status":"error",
            "category":"CONFLICT","message":"Contact already exists. Existing ID: 5",
            "context":{"objectWriteTraceId":["j0b-8"]}}]}"#;
        let out = attribute(Operation::Create, inputs, answer);
        assert_eq!(landed(&out.accepted), vec![7, 9]);
        // Two results for the two other rows: their record ids, in order.
        let ids: Vec<_> = out.accepted.iter().map(|l| l.record_id.clone()).collect();
        assert_eq!(ids, [Some("1".to_string()), Some("2".to_string())]);
        assert_eq!(out.rejected.len(), 1);
        assert_eq!(out.rejected[0].row, 8);
        assert_eq!(out.rejected[0].status, RejectStatus::Api(409));
        assert_eq!(out.rejected[0].category, "CONFLICT");
        assert_eq!(out.rejected[0].fields, vec!["field8"]);
        assert!(out.in_doubt.is_empty());
    }

    #[test]
    fn ids_name_rows_of_an_update_and_results_account_for_the_rest() {
        let inputs = vec![
            input(1, Some("101")),
            input(2, Some("102")),
            input(3, Some("103")),
            input(4, Some("104")),
        ];
        let answer = br#"{"results":[{"id":"101"}],"errors":[{"category":"OBJECT_NOT_FOUND",
            "message":"Could not get some CONTACT objects","context":{"ids":["102","103"]}}]}"#;
        let out = attribute(Operation::Update, inputs, answer);
        assert_eq!(landed(&out.accepted), vec![1]);
        assert_eq!(out.accepted[0].record_id.as_deref(), Some("101"));
        let rejected: Vec<u64> = out.rejected.iter().map(|r| r.row).collect();
        assert_eq!(rejected, vec![2, 3]);
        assert_eq!(out.rejected[0].status, RejectStatus::Api(404));
        // 104 is in no error and no result: not proof of anything.
        assert_eq!(rows(&out.in_doubt), vec![4]);
    }

    #[test]
    fn a_success_that_does_not_account_for_every_row_is_no_proof() {
        let three = || vec![input(1, None), input(2, None), input(3, None)];
        // 200 with no results at all.
        let out = attribute(
            Operation::Upsert,
            three(),
            br#"{"status":"COMPLETE","results":[]}"#,
        );
        assert_eq!(rows(&out.in_doubt), vec![1, 2, 3]);
        assert!(out.accepted.is_empty());
        // Fewer results than rows, no errors.
        let out = attribute(Operation::Create, three(), br#"{"results":[{"id":"1"}]}"#);
        assert_eq!(out.in_doubt.len(), 3);
        // An error naming a trace id that was not sent, and too few results.
        let body = br#"{"results":[{"id":"1"},{"id":"2"}],"errors":[{"message":"x","context":{"objectWriteTraceId":["j0b-99"]}}]}"#;
        let out = attribute(Operation::Create, three(), body);
        assert_eq!(out.in_doubt.len(), 3);
        // Another job's trace id of the same row, or a bare row number, names no row of this batch.
        for trace in ["j1b-2", "2"] {
            let body = format!(
                r#"{{"results":[{{"id":"1"}},{{"id":"2"}}],"errors":[{{"message":"x","context":{{"objectWriteTraceId":["{trace}"]}}}}]}}"#
            );
            let out = attribute(Operation::Create, three(), body.as_bytes());
            assert!(out.rejected.is_empty(), "{trace}");
            assert_eq!(out.in_doubt.len(), 3, "{trace}");
        }
        // A trace id of the wrong JSON type: the body does not parse.
        let body =
            br#"{"results":[],"errors":[{"message":"x","context":{"objectWriteTraceId":[2]}}]}"#;
        let out = attribute(Operation::Create, three(), body);
        assert_eq!(out.in_doubt.len(), 3);
        assert!(out.doubt.unwrap().contains("could not be read"));
        // Not JSON, and empty.
        assert_eq!(
            attribute(Operation::Upsert, three(), b"<html>")
                .in_doubt
                .len(),
            3
        );
        assert_eq!(attribute(Operation::Update, three(), b"").in_doubt.len(), 3);
        // Archive answers 204 with no body: that is the whole answer.
        assert_eq!(
            landed(&attribute(Operation::Archive, three(), b"").accepted),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn upsert_counts_new_records() {
        let inputs = vec![input(1, Some("a@x.io")), input(2, Some("b@x.io"))];
        let answer = br#"{"results":[{"id":"1","new":true},{"id":"2","new":false}]}"#;
        let out = attribute(Operation::Upsert, inputs, answer);
        assert_eq!(landed(&out.accepted), vec![1, 2]);
        assert_eq!(out.created, 1);
    }

    /// JSON shaped like HubSpot's batch answers, with the mistakes a broken proxy or portal makes.
    fn answer_body() -> impl Strategy<Value = Vec<u8>> {
        let trace = prop_oneof![
            (1u64..12).prop_map(|r| format!("\"j0b-{r}\"")),
            (1u64..12).prop_map(|r| format!("\"x1-{r}\"")),
            (1u64..12).prop_map(|r| r.to_string()),
            Just("\"x\"".to_string()),
        ];
        let error = (
            prop::collection::vec(trace, 0..3),
            prop::collection::vec((100u64..112).prop_map(|i| format!("\"{i}\"")), 0..3),
            prop::sample::select(vec!["CONFLICT", "VALIDATION_ERROR", "OBJECT_NOT_FOUND"]),
        )
            .prop_map(|(traces, ids, category)| {
                format!(
                    r#"{{"category":"{category}","message":"m","context":{{"objectWriteTraceId":[{}],"ids":[{}]}}}}"#,
                    traces.join(","),
                    ids.join(",")
                )
            });
        let result = (100u64..115, any::<bool>())
            .prop_map(|(id, new)| format!(r#"{{"id":"{id}","new":{new}}}"#));
        let json = (
            prop::collection::vec(result, 0..14),
            prop::collection::vec(error, 0..5),
        )
            .prop_map(|(results, errors)| {
                format!(
                    r#"{{"status":"COMPLETE","results":[{}],"errors":[{}]}}"#,
                    results.join(","),
                    errors.join(",")
                )
                .into_bytes()
            });
        prop_oneof![
            4 => json.clone(),
            1 => json.prop_flat_map(|b| {
                let len = b.len();
                (Just(b), 0..len).prop_map(|(b, cut)| b[..cut].to_vec())
            }),
            1 => prop::collection::vec(any::<u8>(), 0..40),
        ]
    }

    proptest! {
        /// Whatever the body, every row ends in exactly one of accepted, rejected and in doubt, and
        /// a row is accepted only if the answer accounts for it.
        #[test]
        fn every_row_has_exactly_one_fate(
            body in answer_body(),
            op in prop::sample::select(vec![Operation::Create, Operation::Update, Operation::Upsert]),
            n in 1usize..12,
        ) {
            let inputs: Vec<Input> = (1..=n as u64)
                .map(|r| input(r, Some(&(99 + r).to_string())))
                .collect();
            let out = attribute(op, inputs, &body);
            let mut seen: Vec<u64> = landed(&out.accepted);
            seen.extend(out.rejected.iter().map(|r| r.row));
            seen.extend(rows(&out.in_doubt));
            seen.sort_unstable();
            prop_assert_eq!(seen, (1..=n as u64).collect::<Vec<_>>());
            if !out.accepted.is_empty() {
                let parsed: WriteResponse = serde_json::from_slice(&body).expect("accepted rows need a readable body");
                prop_assert!(parsed.results.len() >= out.accepted.len());
            }
            prop_assert_eq!(out.doubt.is_some(), !out.in_doubt.is_empty());
        }
    }
}
