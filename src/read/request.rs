//! The read requests, each through the [`Portal`] (rate gate inside the retry loop; reads are never
//! ambiguous, so a lost answer is simply retried):
//! - a list page: `GET …/objects/{type}?limit&after&properties&propertiesWithHistory&archived`;
//! - a batch read: `POST …/objects/{type}/batch/read[?archived=true]` with `idProperty`, 100 ids a
//!   call, 50 with history (HubSpot's cap, API-NOTES §1);
//! - the v4 association reads: `POST /crm/v4/associations/{from}/{to}/batch/read`, following each
//!   record's own paging past 500 targets.
//!
//! A read answers with its body (any 2xx: from 2026-09 a batch read's `errors[]` ride in a 200), or
//! says why it has none: the run is stopping (the portal's halt says why), or the portal refused it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::query::Query;
use crate::portal::response::ErrorItem;
use crate::portal::{Call, Pacing, Portal};

/// Records per list page (HubSpot's largest `limit`).
pub const LIST_LIMIT: usize = 100;
/// Inputs per batch read.
pub const BATCH_LIMIT: usize = 100;
/// Records per list page or batch read when property history is asked for (HubSpot's cap).
pub const HISTORY_LIMIT: usize = 50;
/// Ids per v4 association batch read: a page of records is far below HubSpot's 1,000.
pub const ASSOCIATION_LIMIT: usize = 1_000;
/// The longest query string a list read sends. HubSpot answers 414 to over-long URLs (DOC-ERR);
/// longer property lists are read by batch read, whose list travels in the body.
pub const MAX_QUERY: usize = 4_000;

/// What a read asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// `properties`; empty: HubSpot's default set for the type.
    pub properties: Vec<String>,
    /// `propertiesWithHistory`.
    pub history: Vec<String>,
    /// Only archived records (HubSpot's `archived=true`).
    pub archived: bool,
}

impl Selection {
    /// Records per list page or batch read.
    pub fn page_size(&self) -> usize {
        if self.history.is_empty() {
            LIST_LIMIT
        } else {
            HISTORY_LIMIT
        }
    }

    /// The query of a list page after cursor `after`.
    pub fn list_query(&self, after: Option<&str>) -> Query {
        let mut query = Query::default();
        query.push("limit", &self.page_size().to_string());
        if let Some(after) = after {
            query.push("after", after);
        }
        query
            .push_list("properties", &self.properties)
            .push_list("propertiesWithHistory", &self.history);
        if self.archived {
            query.push("archived", "true");
        }
        query
    }

    /// Whether a list page can carry this selection in its URL.
    pub fn fits_a_url(&self) -> bool {
        self.list_query(None).len() <= MAX_QUERY
    }
}

/// Why a read has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The run is stopping (daily limit, refused token, Ctrl-C): the portal's halt says why.
    #[error("the run is stopping")]
    Halted,
    /// The portal answered with an error, or no answer came after the retries.
    #[error("{url}: {message}")]
    Failed { url: String, message: String },
}

/// The body of a 2xx answer, or why there is none.
fn body_of(portal: &Portal, path: &str, call: Call) -> Result<Vec<u8>, ReadError> {
    let failed = |message: String| ReadError::Failed {
        url: portal.url(path.split('?').next().unwrap_or(path)),
        message,
    };
    match call {
        Call::Answer(reply) if (200..300).contains(&reply.status) => Ok(reply.body),
        Call::Answer(reply) => {
            let error = ErrorItem::parse(&reply.body);
            let category = error.category_or("HTTP_ERROR");
            Err(failed(format!(
                "HTTP {} {category}: {}",
                reply.status, error.message
            )))
        }
        Call::Ambiguous(reason) | Call::GaveUp(reason) => Err(failed(reason)),
        Call::Halted => Err(ReadError::Halted),
    }
}

/// One list page of `object` after cursor `after` (the first page without one).
pub async fn list_page(
    portal: &Portal,
    object: &str,
    selection: &Selection,
    after: Option<&str>,
) -> Result<Vec<u8>, ReadError> {
    let path = selection
        .list_query(after)
        .on(&portal.paths().objects(object));
    let call = portal.get(&path).await;
    body_of(portal, &path, call)
}

/// A batch read of `ids` (record ids, or values of the unique `id_property`).
pub async fn batch_read(
    portal: &Portal,
    object: &str,
    selection: &Selection,
    id_property: Option<&str>,
    ids: &[&str],
    pacing: &dyn Pacing,
) -> Result<Vec<u8>, ReadError> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Body<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        id_property: Option<&'a str>,
        properties: &'a [String],
        #[serde(skip_serializing_if = "<[String]>::is_empty")]
        properties_with_history: &'a [String],
        inputs: Vec<Input<'a>>,
    }
    #[derive(Serialize)]
    struct Input<'a> {
        id: &'a str,
    }
    let body = Body {
        id_property,
        properties: &selection.properties,
        properties_with_history: &selection.history,
        inputs: ids.iter().map(|id| Input { id }).collect(),
    };
    let body = serde_json::to_vec(&body).expect("a read body always serializes");
    let mut path = portal.paths().batch(object, "read");
    if selection.archived {
        path.push_str("?archived=true");
    }
    let call = portal.post(&path, body, false, pacing).await;
    body_of(portal, &path, call)
}

/// The ids of the `to` records each of `ids` (records of `from`) is associated with, every page of
/// them. A record without associations is absent from the map (HubSpot answers it as an error
/// item, `NO_ASSOCIATIONS_FOUND`).
pub async fn associations(
    portal: &Portal,
    (from, to): (&str, &str),
    ids: &[&str],
    pacing: &dyn Pacing,
) -> Result<HashMap<String, Vec<String>>, ReadError> {
    #[derive(Serialize)]
    struct Body<'a> {
        inputs: Vec<Input<'a>>,
    }
    #[derive(Serialize)]
    struct Input<'a> {
        id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        after: Option<String>,
    }
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        results: Vec<Linked>,
    }
    #[derive(Deserialize)]
    struct Linked {
        from: Id,
        #[serde(default)]
        to: Vec<Target>,
        #[serde(default)]
        paging: Option<Paging>,
    }
    #[derive(Deserialize)]
    struct Id {
        id: serde_json::Value,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Target {
        to_object_id: serde_json::Value,
    }
    #[derive(Deserialize)]
    struct Paging {
        next: Option<Next>,
    }
    #[derive(Deserialize)]
    struct Next {
        after: Option<serde_json::Value>,
    }
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let path = portal.paths().associations_batch(from, to, "read");
    let mut found: HashMap<String, Vec<String>> = HashMap::new();
    let mut todo: Vec<(&str, Option<String>)> = ids.iter().map(|id| (*id, None)).collect();
    while !todo.is_empty() {
        let take = todo.len().min(ASSOCIATION_LIMIT);
        let chunk: Vec<(&str, Option<String>)> = todo.drain(..take).collect();
        let body = Body {
            inputs: chunk
                .iter()
                .map(|(id, after)| Input {
                    id,
                    after: after.clone(),
                })
                .collect(),
        };
        let body = serde_json::to_vec(&body).expect("a read body always serializes");
        let call = portal.post(&path, body, false, pacing).await;
        let answer: Answer =
            serde_json::from_slice(&body_of(portal, &path, call)?).map_err(|e| {
                ReadError::Failed {
                    url: portal.url(&path),
                    message: format!("unreadable association answer: {e}"),
                }
            })?;
        for linked in answer.results {
            let from_id = text(&linked.from.id);
            let after = linked.paging.and_then(|p| p.next).and_then(|n| n.after);
            if let Some(after) = after
                && let Some((id, _)) = chunk.iter().find(|(id, _)| *id == from_id)
            {
                todo.push((*id, Some(text(&after))));
            }
            found
                .entry(from_id)
                .or_default()
                .extend(linked.to.iter().map(|t| text(&t.to_object_id)));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_queries() {
        let selection = Selection {
            properties: vec!["email".into(), "firstname".into()],
            history: vec![],
            archived: true,
        };
        assert_eq!(
            selection.list_query(Some("101")).on("/o"),
            "/o?limit=100&after=101&properties=email%2Cfirstname&archived=true"
        );
        let history = Selection {
            history: vec!["email".into()],
            ..Selection::default()
        };
        assert_eq!(history.page_size(), 50);
        assert_eq!(
            history.list_query(None).on("/o"),
            "/o?limit=50&propertiesWithHistory=email"
        );
        assert!(selection.fits_a_url());
        let many = Selection {
            properties: (0..400).map(|i| format!("custom_property_{i}")).collect(),
            ..Selection::default()
        };
        assert!(!many.fits_a_url());
    }
}
