//! The garble fault's damaged bodies: the write was applied, the status is still 2xx, but the body is
//! one a client must not trust — cut short, missing results, naming trace ids nobody sent, typed wrong,
//! or not JSON at all. A client that counts such a batch as accepted loses track of rows; these bodies
//! are how tests prove it does not.

use serde_json::{Value, json};

/// One way of damaging a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Garble {
    /// The first half of the JSON text (with a matching `Content-Length`: the cut is in the content).
    Truncated,
    /// `results: []`, no errors.
    EmptyResults,
    /// The last result left out, no errors: fewer results than inputs and nothing to say why.
    FewerResults,
    /// An `errors[]` item whose `context.objectWriteTraceId` names a trace id that was never sent.
    UnknownTraceIds,
    /// An `errors[]` item whose `context.objectWriteTraceId` is a number, not an array of strings.
    NumericTraceId,
    /// An HTML page instead of JSON.
    NotJson,
}

impl Garble {
    /// The `/_sandbox/stats` `faults` key.
    pub fn name(self) -> &'static str {
        match self {
            Garble::Truncated => "garbled_truncated",
            Garble::EmptyResults => "garbled_empty_results",
            Garble::FewerResults => "garbled_fewer_results",
            Garble::UnknownTraceIds => "garbled_unknown_trace_ids",
            Garble::NumericTraceId => "garbled_numeric_trace_id",
            Garble::NotJson => "garbled_not_json",
        }
    }
}

/// A body as the gate read it: its JSON when it parses.
pub struct Body<'a> {
    bytes: &'a [u8],
    json: Option<Value>,
}

impl<'a> Body<'a> {
    /// Reads `bytes`; a body that is not a JSON object is damaged only by cutting or replacing it.
    pub fn new(bytes: &'a [u8]) -> Body<'a> {
        let json = serde_json::from_slice::<Value>(bytes)
            .ok()
            .filter(Value::is_object);
        Body { bytes, json }
    }

    /// The kinds that apply: batch bodies (with `results`) take all; other JSON bodies only the cut and
    /// the HTML page; an empty body (204) none.
    pub fn choices(&self) -> Vec<Garble> {
        if self.bytes.is_empty() {
            return Vec::new();
        }
        let mut choices = vec![Garble::Truncated, Garble::NotJson];
        if let Some(results) = self.results() {
            choices.extend([Garble::UnknownTraceIds, Garble::NumericTraceId]);
            if !results.is_empty() {
                choices.extend([Garble::EmptyResults, Garble::FewerResults]);
            }
        }
        choices
    }

    fn results(&self) -> Option<&Vec<Value>> {
        self.json.as_ref()?.get("results")?.as_array()
    }

    /// The damaged body and its content type. `marker` makes the stranger trace id unmistakable (the
    /// request's correlation id: no client sends that as a trace id).
    pub fn damage(self, kind: Garble, marker: &str) -> (&'static str, Vec<u8>) {
        const JSON: &str = super::response::JSON;
        let Some(mut json) = self.json else {
            return match kind {
                Garble::NotJson => ("text/html", html()),
                _ => (JSON, self.bytes[..self.bytes.len() / 2].to_vec()),
            };
        };
        match kind {
            Garble::Truncated => return (JSON, self.bytes[..self.bytes.len() / 2].to_vec()),
            Garble::NotJson => return ("text/html", html()),
            Garble::EmptyResults | Garble::FewerResults => {
                if let Some(results) = json.get_mut("results").and_then(Value::as_array_mut) {
                    if kind == Garble::EmptyResults {
                        results.clear();
                    } else {
                        results.pop();
                    }
                }
                if let Some(map) = json.as_object_mut() {
                    map.remove("errors");
                    map.remove("numErrors");
                }
            }
            Garble::UnknownTraceIds => add_error(&mut json, json!([format!("garbled-{marker}")])),
            Garble::NumericTraceId => add_error(&mut json, json!(1)),
        }
        (JSON, serde_json::to_vec(&json).unwrap_or_default())
    }
}

/// Appends an `errors[]` item with `context.objectWriteTraceId` = `trace` and bumps `numErrors`.
fn add_error(json: &mut Value, trace: Value) {
    let Some(map) = json.as_object_mut() else {
        return;
    };
    let item = json!({
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": "Property values were not valid",
        "context": {"objectWriteTraceId": trace},
    });
    let errors = map.entry("errors").or_insert_with(|| json!([]));
    if let Some(list) = errors.as_array_mut() {
        list.push(item);
        let count = list.len();
        map.insert("numErrors".to_owned(), json!(count));
    }
}

fn html() -> Vec<u8> {
    b"<html><head><title>HubSpot</title></head><body><p>Something went wrong.</p></body></html>"
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> Vec<u8> {
        serde_json::to_vec(
            &json!({"status": "COMPLETE", "results": [{"id": "1"}, {"id": "2"}],
            "startedAt": "x", "completedAt": "y"}),
        )
        .unwrap()
    }

    fn damaged(bytes: &[u8], kind: Garble) -> Value {
        let (_, out) = Body::new(bytes).damage(kind, "m");
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn batch_bodies_take_every_kind() {
        let bytes = batch();
        assert_eq!(Body::new(&bytes).choices().len(), 6);
        assert_eq!(damaged(&bytes, Garble::EmptyResults)["results"], json!([]));
        assert_eq!(
            damaged(&bytes, Garble::FewerResults)["results"],
            json!([{"id": "1"}])
        );
        let unknown = damaged(&bytes, Garble::UnknownTraceIds);
        assert_eq!(unknown["numErrors"], 1);
        assert_eq!(
            unknown["errors"][0]["context"]["objectWriteTraceId"],
            json!(["garbled-m"])
        );
        assert_eq!(unknown["results"].as_array().unwrap().len(), 2);
        let numeric = damaged(&bytes, Garble::NumericTraceId);
        assert!(numeric["errors"][0]["context"]["objectWriteTraceId"].is_number());
        let (_, cut) = Body::new(&bytes).damage(Garble::Truncated, "m");
        assert!(serde_json::from_slice::<Value>(&cut).is_err());
        let (kind, page) = Body::new(&bytes).damage(Garble::NotJson, "m");
        assert_eq!(kind, "text/html");
        assert!(serde_json::from_slice::<Value>(&page).is_err());
    }

    #[test]
    fn other_bodies_take_fewer_kinds() {
        let record = serde_json::to_vec(&json!({"id": "1", "properties": {}})).unwrap();
        assert_eq!(
            Body::new(&record).choices(),
            [Garble::Truncated, Garble::NotJson]
        );
        assert!(Body::new(b"").choices().is_empty());
        let empty = serde_json::to_vec(&json!({"results": []})).unwrap();
        assert_eq!(Body::new(&empty).choices().len(), 4);
    }
}
