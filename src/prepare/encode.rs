//! The JSON request encoder: HubSpot's batch bodies, written straight from the inputs (no
//! intermediate `serde_json::Value`).
//!
//! - create: `{"inputs":[{"properties":{…},"associations":[…],"objectWriteTraceId":"<job>-<row>"}]}`
//! - update: `{"inputs":[{"id":"…","idProperty"?:"…","properties":{…},"objectWriteTraceId":"<job>-<row>"}]}`
//! - upsert: `{"inputs":[{"id":"<value>","idProperty":"email","properties":{…},"objectWriteTraceId":"<job>-<row>"}]}`
//! - archive: `{"inputs":[{"id":"…"}]}`
//! - v4 association batch create (and labels/archive): `{"inputs":[{"from":{"id"},"to":{"id"},
//!   "types":[{"associationCategory","associationTypeId"}]}]}`; batch archive:
//!   `{"inputs":[{"from":{"id"},"to":[{"id"}]}]}` ([`links_body`]).

use serde::Serialize as DeriveSerialize;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::config::Operation;
use crate::prepare::json::{joined_string, string};
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
///
/// Written by hand rather than through serde's serializer: a body is the same few keys per input,
/// and most values need no escaping, which [`string`] checks a whole value at a time.
pub fn write_body(
    out: &mut Vec<u8>,
    op: Operation,
    id_property: Option<&str>,
    traces: &TraceIds,
    inputs: &[Input],
) {
    out.extend_from_slice(b"{\"inputs\":[");
    for (i, input) in inputs.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_input(out, op, id_property, traces, input);
    }
    out.extend_from_slice(b"]}");
}

/// One input of a batch body.
fn write_input(
    out: &mut Vec<u8>,
    op: Operation,
    id_property: Option<&str>,
    traces: &TraceIds,
    input: &Input,
) {
    let id = input.id.as_deref().unwrap_or("");
    out.extend_from_slice(b"{");
    match op {
        // Links are not sent as records ([`links_body`]); an id is all they have here.
        Operation::Archive | Operation::Associate | Operation::Dissociate => {
            out.extend_from_slice(b"\"id\":");
            string(out, id);
            out.push(b'}');
            return;
        }
        Operation::Create => {}
        Operation::Update | Operation::Upsert => {
            out.extend_from_slice(b"\"id\":");
            string(out, id);
            if let Some(p) = id_property {
                out.extend_from_slice(b",\"idProperty\":");
                string(out, p);
            }
            out.push(b',');
        }
    }
    out.extend_from_slice(b"\"properties\":");
    input.properties.write_json(out);
    if op == Operation::Create && !input.associations.is_empty() {
        out.extend_from_slice(b",\"associations\":");
        serde_json::to_writer(&mut *out, &Associations(&input.associations))
            .expect("serializing strings into a Vec cannot fail");
    }
    out.extend_from_slice(b",\"objectWriteTraceId\":");
    let mut digits = itoa::Buffer::new();
    joined_string(out, &[traces.prefix(), digits.format(input.row)]);
    out.push(b'}');
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

    fn input(row: u64, id: Option<&str>) -> Input {
        Input {
            row,
            origin: None,
            fields: Default::default(),
            id: id.map(String::from),
            key: None,
            properties: [("email", "a@b.co"), ("note", "say \"hi\"\n")]
                .into_iter()
                .collect(),
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
        let inputs: Vec<Input> = [0u64, 9, 10, 99, 100, u64::MAX]
            .into_iter()
            .map(|n| input(n, Some("1")))
            .collect();
        let v = body(Operation::Update, None, &inputs);
        for (i, input) in inputs.iter().enumerate() {
            let trace = &v["inputs"][i]["objectWriteTraceId"];
            assert_eq!(*trace, json!(format!("j0b-{}", input.row)));
        }
    }

    #[test]
    fn every_value_round_trips_whatever_it_holds() {
        let odd = [
            "plain",
            "",
            "quote \" and backslash \\",
            "tab\tnewline\ncr\r",
            "\u{1}\u{1f}\u{7f}",
            "Zoë 東京 🙂",
            "</script>",
        ];
        let mut one = input(3, Some("a\"b"));
        one.properties = odd.iter().map(|v| (format!("p{v}"), *v)).collect();
        let v = body(Operation::Upsert, Some("e\\mail"), &[one]);
        let sent = &v["inputs"][0];
        assert_eq!(sent["id"], json!("a\"b"));
        assert_eq!(sent["idProperty"], json!("e\\mail"));
        for value in odd {
            assert_eq!(
                sent["properties"][format!("p{value}")],
                json!(value),
                "{value:?}"
            );
        }
        assert_eq!(sent["properties"].as_object().unwrap().len(), odd.len());
    }
}
