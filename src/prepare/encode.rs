//! The JSON request encoder: HubSpot's batch bodies, serialized straight from the inputs with serde
//! (no intermediate `serde_json::Value`).
//!
//! - create: `{"inputs":[{"properties":{…},"associations":[…],"objectWriteTraceId":"<row>"}]}`
//! - update: `{"inputs":[{"id":"…","idProperty"?:"…","properties":{…},"objectWriteTraceId":"<row>"}]}`
//! - upsert: `{"inputs":[{"id":"<value>","idProperty":"email","properties":{…},"objectWriteTraceId":"<row>"}]}`
//! - archive: `{"inputs":[{"id":"…"}]}`

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::config::Operation;
use crate::prepare::row::{Association, Input};

/// The body of `POST /crm/v3/objects/{type}/batch/{op}` for `inputs`.
///
/// For archive, `id_property` is not sent (HubSpot's batch archive takes record ids only): a dispatcher
/// archiving by a unique property must resolve the values to record ids first.
pub fn request_body(op: Operation, id_property: Option<&str>, inputs: &[Input]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + inputs.len() * 256);
    write_body(&mut out, op, id_property, inputs);
    out
}

/// Like [`request_body`], appending to `out` (reuse a buffer across batches).
pub fn write_body(out: &mut Vec<u8>, op: Operation, id_property: Option<&str>, inputs: &[Input]) {
    let body = Body {
        op,
        id_property,
        inputs,
    };
    serde_json::to_writer(out, &body).expect("serializing strings into a Vec cannot fail");
}

struct Body<'a> {
    op: Operation,
    id_property: Option<&'a str>,
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
                input,
            })?;
        }
        seq.end()
    }
}

struct One<'a> {
    op: Operation,
    id_property: Option<&'a str>,
    input: &'a Input,
}

impl Serialize for One<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let input = self.input;
        let mut map = s.serialize_map(None)?;
        let id = input.id.as_deref().unwrap_or("");
        match self.op {
            Operation::Archive => {
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
        map.serialize_entry("objectWriteTraceId", &TraceId(input.row))?;
        map.end()
    }
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

/// The row number as a JSON string, without allocating.
struct TraceId(u64);

impl Serialize for TraceId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 20];
        let mut n = self.0;
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        s.serialize_str(std::str::from_utf8(&buf[i..]).expect("ASCII digits"))
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
            fields: vec![],
            id: id.map(String::from),
            key: None,
            properties: vec![
                (Arc::from("email"), "a@b.co".to_string()),
                (Arc::from("note"), "say \"hi\"\n".to_string()),
            ],
            associations: vec![],
            operation: crate::config::Operation::Upsert,
            sync: None,
        }
    }

    fn body(op: Operation, id_property: Option<&str>, inputs: &[Input]) -> Value {
        serde_json::from_slice(&request_body(op, id_property, inputs)).unwrap()
    }

    #[test]
    fn create_with_and_without_associations() {
        let mut with = input(1, None);
        with.associations.push(Association {
            to_id: "99".into(),
            category: "HUBSPOT_DEFINED".into(),
            type_id: 279,
        });
        let v = body(Operation::Create, None, &[with, input(12345678901, None)]);
        assert_eq!(
            v,
            json!({"inputs":[
                {"properties":{"email":"a@b.co","note":"say \"hi\"\n"},
                 "associations":[{"to":{"id":"99"},"types":[{"associationCategory":"HUBSPOT_DEFINED","associationTypeId":279}]}],
                 "objectWriteTraceId":"1"},
                {"properties":{"email":"a@b.co","note":"say \"hi\"\n"},"objectWriteTraceId":"12345678901"}
            ]})
        );
    }

    #[test]
    fn update_upsert_archive() {
        let v = body(Operation::Update, None, &[input(3, Some("42"))]);
        assert_eq!(v["inputs"][0]["id"], "42");
        assert!(v["inputs"][0].get("idProperty").is_none());
        assert_eq!(v["inputs"][0]["objectWriteTraceId"], "3");
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
    fn trace_ids_render_every_width() {
        for n in [0u64, 9, 10, 99, 100, u64::MAX] {
            let mut out = Vec::new();
            serde_json::to_writer(&mut out, &TraceId(n)).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), format!("\"{n}\""));
        }
    }
}
