//! Tracing a batch answer back to the exact input rows (DESIGN.md §4, "Trace ids").
//!
//! Every create/update/upsert input carries `objectWriteTraceId` = its row number. A 207's
//! `errors[]` items name their rows through `context.objectWriteTraceId`, or through
//! `context.ids` (record ids or `idProperty` values, for update and read). Inputs that no error
//! names succeeded, as long as the error count adds up; when it does not, the rows no error names
//! are left `unresolved` (the dispatcher then verifies or resends them rather than guess).

use std::collections::HashMap;

use crate::portal::response::{BatchResponse, ErrorItem};
use crate::prepare::row::{Input, RejectStatus, Rejection};

/// The fate of each input of one answered batch.
#[derive(Debug, Default)]
pub struct Attributed {
    /// Rows the portal accepted.
    pub accepted: Vec<u64>,
    /// Rows the portal rejected, with its category and message.
    pub rejected: Vec<Rejection>,
    /// Rows whose fate the answer does not tell.
    pub unresolved: Vec<Input>,
    /// Upsert: how many of the accepted rows created a record (`new: true`).
    pub created: u64,
}

/// Attributes a 200/201/207 batch answer to `inputs`.
pub fn attribute(inputs: Vec<Input>, response: &BatchResponse) -> Attributed {
    let mut by_row: HashMap<u64, usize> = HashMap::with_capacity(inputs.len());
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for (index, input) in inputs.iter().enumerate() {
        by_row.insert(input.row, index);
        if let Some(id) = &input.id {
            by_id.insert(id.to_lowercase(), index);
        }
    }

    let mut failure: Vec<Option<&ErrorItem>> = vec![None; inputs.len()];
    let mut unattributed = 0usize;
    for error in &response.errors {
        let mut named = false;
        let traces = error
            .context
            .get("objectWriteTraceId")
            .into_iter()
            .flatten();
        for trace in traces {
            if let Some(&index) = trace.parse().ok().and_then(|row: u64| by_row.get(&row)) {
                failure[index] = Some(error);
                named = true;
            }
        }
        if !named {
            for id in error.context.get("ids").into_iter().flatten() {
                if let Some(&index) = by_id.get(&id.to_lowercase()) {
                    failure[index] = Some(error);
                    named = true;
                }
            }
        }
        if !named {
            unattributed += 1;
        }
    }

    let mut out = Attributed {
        created: response
            .results
            .iter()
            .filter(|r| r.new == Some(true))
            .count() as u64,
        ..Attributed::default()
    };
    let failed = failure.iter().filter(|f| f.is_some()).count();
    // Without an error naming them, the other rows succeeded; unless some errors named nobody
    // and the results do not account for every other row.
    let others_trusted =
        unattributed == 0 || response.results.len() >= inputs.len().saturating_sub(failed);
    for (input, failure) in inputs.into_iter().zip(failure) {
        match failure {
            Some(error) => out.rejected.push(rejection(input, error)),
            None if others_trusted => out.accepted.push(input.row),
            None => out.unresolved.push(input),
        }
    }
    out
}

/// A rejection of `input` from one HubSpot error item (of a 207, or a whole-batch error).
pub fn rejection(input: Input, error: &ErrorItem) -> Rejection {
    let category = error.category_or("ERROR");
    Rejection {
        row: input.row,
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

    fn input(row: u64, id: Option<&str>) -> Input {
        Input {
            row,
            fields: vec![format!("field{row}")],
            id: id.map(str::to_string),
            key: id.map(str::to_string),
            properties: Vec::new(),
            associations: Vec::new(),
        }
    }

    fn response(json: &str) -> BatchResponse {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn trace_ids_name_the_failed_rows() {
        let inputs = vec![input(7, None), input(8, None), input(9, None)];
        let answer = response(
            r#"{"results":[{"id":"1"},{"id":"2"}],"numErrors":1,"errors":[{"status":"error",
            "category":"CONFLICT","message":"Contact already exists. Existing ID: 5",
            "context":{"objectWriteTraceId":["8"]}}]}"#,
        );
        let out = attribute(inputs, &answer);
        assert_eq!(out.accepted, vec![7, 9]);
        assert_eq!(out.rejected.len(), 1);
        assert_eq!(out.rejected[0].row, 8);
        assert_eq!(out.rejected[0].status, RejectStatus::Api(409));
        assert_eq!(out.rejected[0].category, "CONFLICT");
        assert_eq!(out.rejected[0].fields, vec!["field8"]);
        assert!(out.unresolved.is_empty());
    }

    #[test]
    fn ids_name_rows_of_an_update() {
        let inputs = vec![
            input(1, Some("101")),
            input(2, Some("102")),
            input(3, Some("103")),
        ];
        let answer = response(
            r#"{"results":[{"id":"101"}],"errors":[{"category":"OBJECT_NOT_FOUND",
            "message":"Could not get some CONTACT objects","context":{"ids":["102","103"]}}]}"#,
        );
        let out = attribute(inputs, &answer);
        assert_eq!(out.accepted, vec![1]);
        let rows: Vec<u64> = out.rejected.iter().map(|r| r.row).collect();
        assert_eq!(rows, vec![2, 3]);
        assert_eq!(out.rejected[0].status, RejectStatus::Api(404));
    }

    #[test]
    fn an_error_naming_nobody_leaves_the_rest_unresolved() {
        let inputs = vec![input(1, None), input(2, None)];
        let answer = response(r#"{"results":[{"id":"1"}],"errors":[{"message":"boom"}]}"#);
        let out = attribute(inputs, &answer);
        assert!(out.accepted.is_empty());
        assert_eq!(out.unresolved.len(), 2);
    }

    #[test]
    fn upsert_counts_new_records() {
        let inputs = vec![input(1, Some("a@x.io")), input(2, Some("b@x.io"))];
        let answer = response(r#"{"results":[{"id":"1","new":true},{"id":"2","new":false}]}"#);
        let out = attribute(inputs, &answer);
        assert_eq!(out.accepted, vec![1, 2]);
        assert_eq!(out.created, 1);
    }
}
