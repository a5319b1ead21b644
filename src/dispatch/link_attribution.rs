//! Tracing a v4 association batch answer back to its pairs (from record, to record).
//!
//! `errors[]` items name their input with `context.fromObjectId` and `context.toObjectId`
//! (one-element string arrays, as HubSpot's own association errors do); `results[]` name the pairs
//! linked (`fromObjectId`, `toObjectId`, strings or numbers: HubSpot's guides show numbers). As for
//! record batches, a success status is not proof: a pair counts as linked when a result names it, or
//! when the results are at least as many as the pairs no error names. An archive's 204 is its whole
//! answer. Anything else leaves the pair in doubt: link writes are idempotent, so it is sent again.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

/// The fate of one pair of a link batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairFate {
    Linked,
    Failed {
        category: String,
        message: String,
    },
    /// The answer does not tell.
    Doubt,
}

/// A record id as the v4 API writes it: a string or a number.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum AnyId {
    Text(String),
    Number(u64),
}

impl AnyId {
    fn text(&self) -> String {
        match self {
            AnyId::Text(text) => unpadded(text).to_string(),
            AnyId::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LinkResult {
    from_object_id: Option<AnyId>,
    to_object_id: Option<AnyId>,
}

#[derive(Debug, Deserialize)]
struct LinkError {
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    context: HashMap<String, Vec<AnyId>>,
}

#[derive(Debug, Deserialize)]
struct LinkAnswer {
    #[serde(default)]
    results: Vec<LinkResult>,
    #[serde(default)]
    errors: Vec<LinkError>,
}

/// A record id without leading zeros (`0042` is the record HubSpot calls `42`).
fn unpadded(id: &str) -> &str {
    let trimmed = id.trim().trim_start_matches('0');
    if trimmed.is_empty() && !id.trim().is_empty() {
        "0"
    } else {
        trimmed
    }
}

/// The fate of each of `pairs` (from id, to id) in a 2xx answer `body`. `needs_results`: the
/// answer must account for the pairs (create); otherwise a success is the whole answer (archive).
pub fn attribute(pairs: &[(&str, &str)], body: &[u8], needs_results: bool) -> Vec<PairFate> {
    if !needs_results && body.iter().all(u8::is_ascii_whitespace) {
        return vec![PairFate::Linked; pairs.len()];
    }
    let Ok(answer) = serde_json::from_slice::<LinkAnswer>(body) else {
        return vec![PairFate::Doubt; pairs.len()];
    };
    let keys: Vec<(String, String)> = pairs
        .iter()
        .map(|(from, to)| (unpadded(from).to_string(), unpadded(to).to_string()))
        .collect();
    let mut fates: Vec<Option<PairFate>> = vec![None; pairs.len()];
    for error in &answer.errors {
        let named = |key: &str| -> Option<HashSet<String>> {
            let ids = error.context.get(key)?;
            Some(ids.iter().map(AnyId::text).collect())
        };
        let (froms, tos) = (named("fromObjectId"), named("toObjectId"));
        if froms.is_none() && tos.is_none() {
            continue;
        }
        for (i, (from, to)) in keys.iter().enumerate() {
            let from_named = froms.as_ref().is_none_or(|f| f.contains(from));
            let to_named = tos.as_ref().is_none_or(|t| t.contains(to));
            if from_named && to_named {
                fates[i] = Some(PairFate::Failed {
                    category: error.category.clone().unwrap_or_else(|| "ERROR".into()),
                    message: error.message.clone(),
                });
            }
        }
    }
    let linked: HashSet<(String, String)> = answer
        .results
        .iter()
        .filter_map(|r| {
            Some((
                r.from_object_id.as_ref()?.text(),
                r.to_object_id.as_ref()?.text(),
            ))
        })
        .collect();
    let others: HashSet<&(String, String)> = keys
        .iter()
        .zip(&fates)
        .filter(|(_, fate)| fate.is_none())
        .map(|(key, _)| key)
        .collect();
    let counted = !needs_results || answer.results.len() >= others.len();
    keys.iter()
        .zip(fates)
        .map(|(key, fate)| match fate {
            Some(fate) => fate,
            None if linked.contains(key) || counted => PairFate::Linked,
            None => PairFate::Doubt,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_their_pairs_and_results_account_for_the_rest() {
        let pairs = [("10001", "7"), ("99999", "7"), ("10003", "8")];
        let body = br#"{"status":"COMPLETE",
            "results":[{"fromObjectId":10001,"toObjectId":7},{"fromObjectId":"10003","toObjectId":8}],
            "numErrors":1,"errors":[{"status":"error","category":"OBJECT_NOT_FOUND",
              "message":"No contact with ID 99999 exists",
              "context":{"fromObjectId":["99999"],"toObjectId":["7"]}}]}"#;
        let fates = attribute(&pairs, body, true);
        assert_eq!(fates[0], PairFate::Linked);
        assert_eq!(
            fates[1],
            PairFate::Failed {
                category: "OBJECT_NOT_FOUND".into(),
                message: "No contact with ID 99999 exists".into()
            }
        );
        assert_eq!(fates[2], PairFate::Linked);
    }

    #[test]
    fn a_success_that_does_not_account_for_the_pairs_is_no_proof() {
        let pairs = [("1", "2"), ("3", "4")];
        let fates = attribute(
            &pairs,
            br#"{"results":[{"fromObjectId":1,"toObjectId":2}]}"#,
            true,
        );
        assert_eq!(fates, [PairFate::Linked, PairFate::Doubt]);
        assert_eq!(
            attribute(&pairs, b"<html>", true),
            [PairFate::Doubt, PairFate::Doubt]
        );
        assert_eq!(
            attribute(&pairs, b"", true),
            [PairFate::Doubt, PairFate::Doubt]
        );
        // An archive's 204 is its whole answer.
        assert_eq!(
            attribute(&pairs, b"", false),
            [PairFate::Linked, PairFate::Linked]
        );
        // An error naming only the from-side fails every pair from that record.
        let body = br#"{"results":[],"errors":[{"category":"VALIDATION_ERROR","message":"m","context":{"fromObjectId":["0003"]}}]}"#;
        let fates = attribute(&pairs, body, true);
        assert_eq!(fates[0], PairFate::Doubt);
        assert!(matches!(fates[1], PairFate::Failed { .. }));
    }
}
