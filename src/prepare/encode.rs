//! The JSON request encoder: HubSpot's batch bodies, serialized straight from the inputs with serde
//! (no intermediate `serde_json::Value`).
//!
//! - create: `{"inputs":[{"properties":{…},"associations":[…],"objectWriteTraceId":"<job>-<row>"}]}`
//! - update: `{"inputs":[{"id":"…","idProperty"?:"…","properties":{…},"objectWriteTraceId":"<job>-<row>"}]}`
//! - upsert: `{"inputs":[{"id":"<value>","idProperty":"email","properties":{…},"objectWriteTraceId":"<job>-<row>"}]}`
//! - archive: `{"inputs":[{"id":"…"}]}`
//! - v4 association batch create (and labels/archive): `{"inputs":[{"from":{"id"},"to":{"id"},
//!   "types":[{"associationCategory","associationTypeId"}]}]}`; batch archive:
//!   `{"inputs":[{"from":{"id"},"to":[{"id"}]}]}` ([`links_body`]).

use std::fmt;

use serde::Serialize as DeriveSerialize;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::config::Operation;
use crate::prepare::row::{Association, Input};
use crate::prepare::trace::TraceIds;

/// The body of `POST /crm/v3/objects/{type}/batch/{op}` for `inputs`.
///
/// For archive, `id_property` is not sent (HubSpot's batch archive takes record ids only): a dispatcher
/// archiving by a unique property must resolve the values to record ids first.
pub fn request_body(
    op: Operation,
    id_property: Option<&str>,
    traces: &TraceIds,
    inputs: &[Input],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + inputs.len() * 256);
    write_body(&mut out, op, id_property, traces, inputs);
    out
}

/// Like [`request_body`], appending to `out` (reuse a buffer across batches).
pub fn write_body(
    out: &mut Vec<u8>,
    op: Operation,
    id_property: Option<&str>,
    traces: &TraceIds,
    inputs: &[Input],
) {
    let body = Body {
        op,
        id_property,
        traces,
        inputs,
    };
    serde_json::to_writer(out, &body).expect("serializing strings into a Vec cannot fail");
}

struct Body<'a> {
    op: Operation,
    id_property: Option<&'a str>,
    traces: &'a TraceIds,
    inputs: &'a [Input],
}

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry("inputs", &Inputs(self))?;
        map.end()
    }
}

struct Inputs<'a, 'b>(&'b Body<'a>);

impl Serialize for Inputs<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let body = self.0;
        let mut seq = s.serialize_seq(Some(body.inputs.len()))?;
        for input in body.inputs {
            seq.serialize_element(&One {
                op: body.op,
                id_property: body.id_property,
                traces: body.traces,
                input,
            })?;
        }
        seq.end()
    }
}

struct One<'a> {
    op: Operation,
    id_property: Option<&'a str>,
    traces: &'a TraceIds,
    input: &'a Input,
}

impl Serialize for One<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let input = self.input;
        let mut map = s.serialize_map(None)?;
        let id = input.id.as_deref().unwrap_or("");
        match self.op {
            // Links are not sent as records ([`links_body`]); an id is all they have here.
            Operation::Archive | Operation::Associate | Operation::Dissociate => {
                map.serialize_entry("id", id)?;
                return map.end();
            }
            Operation::Create => {}
            Operation::Update | Operation::Upsert => {
                map.serialize_entry("id", id)?;
                if let Some(p) = self.id_property {
                    map.serialize_entry("idProperty", p)?;
                }
            }
        }
        map.serialize_entry("properties", &Properties(input))?;
        if self.op == Operation::Create && !input.associations.is_empty() {
            map.serialize_entry("associations", &Associations(&input.associations))?;
        }
        map.serialize_entry("objectWriteTraceId", &Trace(self.traces, input.row))?;
        map.end()
    }
}

/// One link of a v4 association batch body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkPair<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub category: &'a str,
    /// `None`: every type between the two records (batch archive).
    pub type_id: Option<u32>,
}

/// How a v4 association batch treats its pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LinkWrite {
    /// `batch/create`: link each pair with its type.
    Create,
    /// `batch/labels/archive`: remove each pair's type only.
    ArchiveTypes,
    /// `batch/archive`: remove every type between each pair.
    ArchiveAll,
}

/// The body of a v4 association batch request for `pairs`.
pub fn links_body(write: LinkWrite, pairs: &[LinkPair<'_>]) -> Vec<u8> {
    #[derive(DeriveSerialize)]
    struct Id<'a> {
        id: &'a str,
    }
    #[derive(DeriveSerialize)]
    #[serde(rename_all = "camelCase")]
    struct Type<'a> {
        association_category: &'a str,
        association_type_id: Option<u32>,
    }
    #[derive(DeriveSerialize)]
    struct Typed<'a> {
        from: Id<'a>,
        to: Id<'a>,
        types: [Type<'a>; 1],
    }
    #[derive(DeriveSerialize)]
    struct Untyped<'a> {
        from: Id<'a>,
        to: [Id<'a>; 1],
    }
    #[derive(DeriveSerialize)]
    struct Inputs<T> {
        inputs: Vec<T>,
    }
    let body = match write {
        LinkWrite::Create | LinkWrite::ArchiveTypes => serde_json::to_vec(&Inputs {
            inputs: pairs
                .iter()
                .map(|p| Typed {
                    from: Id { id: p.from },
                    to: Id { id: p.to },
                    types: [Type {
                        association_category: p.category,
                        association_type_id: p.type_id,
                    }],
                })
                .collect(),
        }),
        LinkWrite::ArchiveAll => serde_json::to_vec(&Inputs {
            inputs: pairs
                .iter()
                .map(|p| Untyped {
                    from: Id { id: p.from },
                    to: [Id { id: p.to }],
                })
                .collect(),
        }),
    };
    body.expect("serializing strings into a Vec cannot fail")
}

struct Properties<'a>(&'a Input);

impl Serialize for Properties<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.properties.len()))?;
        for (name, value) in &self.0.properties {
            map.serialize_entry(&**name, value)?;
        }
        map.end()
    }
}

/// A row's trace id as a JSON string, written straight into the output (no allocation per input).
struct Trace<'a>(&'a TraceIds, u64);

impl fmt::Display for Trace<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt_row(self.1, f)
    }
}

impl Serialize for Trace<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

struct Associations<'a>(&'a [Association]);

impl Serialize for Associations<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for a in self.0 {
            seq.serialize_element(&AssociationJson(a))?;
        }
        seq.end()
    }
}

struct AssociationJson<'a>(&'a Association);

impl Serialize for AssociationJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct To<'a>(&'a str);
        impl Serialize for To<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("id", self.0)?;
                map.end()
            }
        }
        struct Type<'a>(&'a Association);
        impl Serialize for Type<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(2))?;
                map.serialize_entry("associationCategory", &self.0.category)?;
                map.serialize_entry("associationTypeId", &self.0.type_id)?;
                map.end()
            }
        }
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("to", &To(&self.0.to_id))?;
        map.serialize_entry("types", &[Type(self.0)])?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use std::sync::Arc;

    fn input(row: u64, id: Option<&str>) -> Input {
        Input {
            row,
            origin: None,
            fields: Default::default(),
            id: id.map(String::from),
            key: None,
            properties: vec![
                (Arc::from("email"), "a@b.co".to_string()),
                (Arc::from("note"), "say \"hi\"\n".to_string()),
            ],
            links: vec![],
            associations: vec![],
            operation: crate::config::Operation::Upsert,
            sync: None,
        }
    }

    fn body(op: Operation, id_property: Option<&str>, inputs: &[Input]) -> Value {
        let traces = TraceIds::new("j0b");
        serde_json::from_slice(&request_body(op, id_property, &traces, inputs)).unwrap()
    }

    #[test]
    fn create_with_and_without_associations() {
        let mut with = input(1, None);
        with.associations.push(Association {
            table: 0,
            to_id: "99".into(),
            category: "HUBSPOT_DEFINED".into(),
            type_id: Some(279),
        });
        let v = body(Operation::Create, None, &[with, input(12345678901, None)]);
        assert_eq!(
            v,
            json!({"inputs":[
                {"properties":{"email":"a@b.co","note":"say \"hi\"\n"},
                 "associations":[{"to":{"id":"99"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}],
                 "objectWriteTraceId":"j0b-1"},
                {"properties":{"email":"a@b.co","note":"say \"hi\"\n"},"objectWriteTraceId":"j0b-12345678901"}
            ]})
        );
    }

    #[test]
    fn update_upsert_archive() {
        let v = body(Operation::Update, None, &[input(3, Some("42"))]);
        assert_eq!(v["inputs"][0]["id"], "42");
        assert!(v["inputs"][0].get("idProperty").is_none());
        assert_eq!(v["inputs"][0]["objectWriteTraceId"], "j0b-3");
        let v = body(
            Operation::Upsert,
            Some("email"),
            &[input(4, Some("a@b.co"))],
        );
        assert_eq!(v["inputs"][0]["idProperty"], "email");
        assert_eq!(v["inputs"][0]["id"], "a@b.co");
        assert_eq!(v["inputs"][0]["properties"]["email"], "a@b.co");
        let v = body(
            Operation::Archive,
            None,
            &[input(5, Some("7")), input(6, Some("8"))],
        );
        assert_eq!(v, json!({"inputs":[{"id":"7"},{"id":"8"}]}));
    }

    #[test]
    fn v4_link_bodies() {
        let pairs = [
            LinkPair {
                from: "1",
                to: "2",
                category: "USER_DEFINED",
                type_id: Some(1000),
            },
            LinkPair {
                from: "1",
                to: "3",
                category: "HUBSPOT_DEFINED",
                type_id: None,
            },
        ];
        let create: Value =
            serde_json::from_slice(&links_body(LinkWrite::Create, &pairs[..1])).unwrap();
        assert_eq!(
            create,
            json!({"inputs":[{"from":{"id":"1"},"to":{"id":"2"},
                "types":[{"associationCategory":"USER_DEFINED","associationTypeId":1000}]}]})
        );
        let archive: Value =
            serde_json::from_slice(&links_body(LinkWrite::ArchiveAll, &pairs)).unwrap();
        assert_eq!(
            archive,
            json!({"inputs":[{"from":{"id":"1"},"to":[{"id":"2"}]},{"from":{"id":"1"},"to":[{"id":"3"}]}]})
        );
    }

    #[test]
    fn trace_ids_render_every_width() {
        let traces = TraceIds::new("5f3a9c01");
        for n in [0u64, 9, 10, 99, 100, u64::MAX] {
            let mut out = Vec::new();
            serde_json::to_writer(&mut out, &Trace(&traces, n)).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), format!("\"5f3a9c01-{n}\""));
        }
    }
}
