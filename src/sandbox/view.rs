//! What goes back on the wire: records rendered as `SimplePublicObject`s from snapshots taken under the
//! table lock (serialization happens after the lock is released, so a large response never blocks
//! writers), and batch envelopes. JSON responses themselves are written by `response.rs` (re-exported
//! here, where the handlers look for them).

use std::ops::Range;

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeStruct, Serializer};

use super::error::ErrorItem;

use super::history::Source;
use super::objects::ObjectType;
use super::properties::ServerSet;
use super::record::Record;
use super::time;
use super::version::ApiVersion;

pub use super::response::json;

/// Which properties a rendered record carries (server-set ones are always added).
#[derive(Debug, Clone)]
pub enum Select {
    /// The type's default read set.
    Defaults,
    /// These properties, `null` when unset (reads with `properties=`, and write echoes).
    Named(Vec<usize>),
    /// Every property that has a value (create responses).
    All,
}

impl Select {
    /// From a read's `properties` list: unknown names are ignored, as HubSpot does; none → defaults.
    pub fn from_names(ty: &ObjectType, names: &[String]) -> Select {
        if names.is_empty() {
            Select::Defaults
        } else {
            Select::Named(names.iter().filter_map(|n| ty.prop(n)).collect())
        }
    }
}

/// The associations of one record grouped by target type: `(target type plural name, [(id, v3 type name)])`.
pub type Assocs = Vec<(String, Vec<(u64, String)>)>;

/// A record copied out of its table: enough to render it without the lock.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub id: u64,
    pub created: i64,
    pub updated: i64,
    pub archived: Option<i64>,
    /// The selected properties, each with its current value as a span of `text` (`None` when unset).
    props: Vec<(usize, Option<Range<usize>>)>,
    /// The selected current values, end to end: one copy per record, not one allocation per value.
    text: String,
    history: Vec<(usize, Vec<Past>)>,
    pub associations: Option<Assocs>,
    /// `new` of upsert results.
    pub new: Option<bool>,
}

/// One version of a property, copied for `propertiesWithHistory`.
#[derive(Debug, Clone)]
struct Past {
    value: String,
    timestamp: i64,
    source: Source,
}

impl Snapshot {
    /// Copies what `select` and `history` ask for.
    pub fn of(ty: &ObjectType, record: &Record, select: &Select, history: &[usize]) -> Snapshot {
        let mut props: Vec<(usize, Option<Range<usize>>)> = Vec::new();
        let mut text = String::new();
        let mut push = |prop: usize, value: Option<&str>| {
            if !props.iter().any(|(p, _)| *p == prop) {
                let span = value.map(|v| {
                    text.push_str(v);
                    text.len() - v.len()..text.len()
                });
                props.push((prop, span));
            }
        };
        match select {
            Select::Defaults => ty.defaults.iter().for_each(|&p| push(p, record.current(p))),
            Select::Named(list) => list.iter().for_each(|&p| push(p, record.current(p))),
            // A record written through a newer version of the type may hold properties this
            // version does not know: only this version's are rendered.
            Select::All => record
                .values
                .currents()
                .filter(|(p, _)| *p < ty.properties.len())
                .for_each(|(p, v)| push(p, Some(v))),
        }
        ty.server.iter().for_each(|&p| push(p, record.current(p)));
        let history = history
            .iter()
            .map(|&p| {
                let versions = record.values.versions(p).map(|v| Past {
                    value: v.value.to_owned(),
                    timestamp: v.timestamp,
                    source: v.source,
                });
                (p, versions.collect())
            })
            .collect();
        Snapshot {
            id: record.id,
            created: record.created,
            updated: record.updated,
            archived: record.archived,
            props,
            text,
            history,
            associations: None,
            new: None,
        }
    }

    /// The value of a selected property (`None` when unset).
    fn value(&self, span: &Option<Range<usize>>) -> Option<&str> {
        span.as_ref().and_then(|r| self.text.get(r.clone()))
    }
}

/// A snapshot bound to its type, ready to serialize as a `SimplePublicObject`.
pub struct RecordView<'a> {
    pub ty: &'a ObjectType,
    pub snap: &'a Snapshot,
}

struct Values<'a> {
    view: &'a RecordView<'a>,
    created: &'a str,
    updated: &'a str,
}

impl Serialize for Values<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ty = self.view.ty;
        let snap = self.view.snap;
        let mut map = s.serialize_map(Some(snap.props.len()))?;
        let mut digits = itoa::Buffer::new();
        let id = digits.format(snap.id);
        for (prop, value) in &snap.props {
            let def = &ty.properties[*prop];
            match def.server {
                ServerSet::ObjectId => map.serialize_entry(&def.name, &id)?,
                ServerSet::CreateDate => map.serialize_entry(&def.name, self.created)?,
                ServerSet::ModifiedDate => map.serialize_entry(&def.name, self.updated)?,
                ServerSet::No => map.serialize_entry(&def.name, &snap.value(value))?,
            }
        }
        map.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HistoryEntry<'a> {
    value: &'a str,
    timestamp: String,
    source_type: &'a str,
}

struct Histories<'a> {
    view: &'a RecordView<'a>,
}

impl Serialize for Histories<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ty = self.view.ty;
        let snap = self.view.snap;
        let mut map = s.serialize_map(Some(snap.history.len()))?;
        for (prop, versions) in &snap.history {
            let def = &ty.properties[*prop];
            // Newest first, as HubSpot lists history. Server-set properties have one synthetic entry.
            let id = snap.id.to_string();
            let entries: Vec<HistoryEntry<'_>> = match def.server {
                ServerSet::No => versions
                    .iter()
                    .rev()
                    .map(|v| HistoryEntry {
                        value: &v.value,
                        timestamp: time::iso(v.timestamp),
                        source_type: v.source.as_str(),
                    })
                    .collect(),
                ServerSet::ObjectId => vec![HistoryEntry {
                    value: &id,
                    timestamp: time::iso(snap.created),
                    source_type: "CALCULATED",
                }],
                ServerSet::CreateDate | ServerSet::ModifiedDate => Vec::new(),
            };
            map.serialize_entry(&def.name, &entries)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct AssocItem {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize)]
struct AssocResults {
    results: Vec<AssocItem>,
}

impl Serialize for RecordView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let snap = self.snap;
        let created = time::iso(snap.created);
        let updated = time::iso(snap.updated);
        let mut st = s.serialize_struct("SimplePublicObject", 8)?;
        st.serialize_field("id", itoa::Buffer::new().format(snap.id))?;
        st.serialize_field(
            "properties",
            &Values {
                view: self,
                created: &created,
                updated: &updated,
            },
        )?;
        if !snap.history.is_empty() {
            st.serialize_field("propertiesWithHistory", &Histories { view: self })?;
        }
        st.serialize_field("createdAt", &created)?;
        st.serialize_field("updatedAt", &updated)?;
        st.serialize_field("archived", &snap.archived.is_some())?;
        if let Some(at) = snap.archived {
            st.serialize_field("archivedAt", &time::iso(at))?;
        }
        if let Some(assocs) = &snap.associations {
            let map: std::collections::BTreeMap<&str, AssocResults> = assocs
                .iter()
                .map(|(name, links)| {
                    let results = links
                        .iter()
                        .map(|(id, kind)| AssocItem {
                            id: id.to_string(),
                            kind: kind.clone(),
                        })
                        .collect();
                    (name.as_str(), AssocResults { results })
                })
                .collect();
            st.serialize_field("associations", &map)?;
        }
        if let Some(new) = snap.new {
            st.serialize_field("new", &new)?;
        }
        st.end()
    }
}

/// A batch answer: `{"status":"COMPLETE","results",["numErrors","errors"],"startedAt","completedAt"}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchOut<'a> {
    pub status: &'static str,
    pub results: Vec<RecordView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_errors: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ErrorItem>>,
    pub started_at: String,
    pub completed_at: String,
}

impl<'a> BatchOut<'a> {
    /// The envelope; `numErrors`/`errors` only when there are errors.
    pub fn new(
        ty: &'a ObjectType,
        snaps: &'a [Snapshot],
        errors: Vec<ErrorItem>,
        started: i64,
    ) -> BatchOut<'a> {
        let (num_errors, errors) = if errors.is_empty() {
            (None, None)
        } else {
            (Some(errors.len()), Some(errors))
        };
        BatchOut {
            status: "COMPLETE",
            results: snaps.iter().map(|snap| RecordView { ty, snap }).collect(),
            num_errors,
            errors,
            started_at: time::iso(started),
            completed_at: time::iso(time::now_ms()),
        }
    }

    /// 200/201 without errors; with errors 207, or `ok` again from 2026-09 (the errors ride in the body).
    pub fn into_response(self, ok: StatusCode, version: ApiVersion) -> Response {
        let status = if self.errors.is_some() && version.multi_status() {
            StatusCode::MULTI_STATUS
        } else {
            ok
        };
        json(status, &self)
    }
}
