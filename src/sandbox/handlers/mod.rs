//! The endpoints, one file per resource: `records` (single-record CRUD and list), `batch` (batch
//! read/create/update/upsert/archive), `links` (associations on creates and reads, v3 paths, labels),
//! `assoc_batch` / `assoc_read` / `assoc_labels` (the v4 associations API), `schemas` (schemas,
//! properties, pipelines), `property_create` (new properties), `validations` (property validation
//! rules), `admin` (`/_sandbox/*`). `bodies` holds the request bodies as clients send them; this
//! file holds the query-string and record-lookup helpers they share.

pub mod admin;
pub mod assoc_batch;
pub mod assoc_labels;
pub mod assoc_read;
pub mod batch;
pub mod bodies;
pub mod links;
pub mod property_create;
pub mod records;
pub mod schemas;
pub mod validations;

use serde::Deserialize;

use super::error::ApiError;
use super::objects::ObjectType;
use super::properties::ServerSet;
use super::store::Table;

/// Parses a JSON body into `T`, or HubSpot's 400 for invalid JSON.
pub fn parse_body<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|err| ApiError::invalid_json(&err))
}

/// The query parameters of object reads. List parameters may repeat (`properties=a&properties=b`) or be
/// comma-separated (`properties=a,b`); HubSpot takes both.
#[derive(Debug, Default, Clone)]
pub struct Params {
    pub properties: Vec<String>,
    pub history: Vec<String>,
    pub associations: Vec<String>,
    pub id_property: Option<String>,
    pub archived: bool,
    pub limit: Option<String>,
    pub after: Option<String>,
}

impl Params {
    /// Reads a raw query string.
    pub fn parse(query: Option<&str>) -> Params {
        let mut params = Params::default();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = decode(value);
            let list = |target: &mut Vec<String>| {
                target.extend(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(str::to_owned),
                );
            };
            match decode(key).as_str() {
                "properties" => list(&mut params.properties),
                "propertiesWithHistory" => list(&mut params.history),
                "associations" => list(&mut params.associations),
                "idProperty" => params.id_property = Some(value.clone()),
                "archived" => params.archived = value.eq_ignore_ascii_case("true"),
                "limit" => params.limit = Some(value.clone()),
                "after" => params.after = Some(value.clone()),
                _ => {}
            }
        }
        params
    }
}

/// Percent-decoding of one query component (`+` is a space).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi * 16 + lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// How an id names a record: by record id, or by a unique property's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    RecordId,
    Unique(usize),
}

/// Resolves an `idProperty`: absent or `hs_object_id` means record ids; otherwise it must be a unique
/// property of the type, else HubSpot's "non-unique … property" 400.
pub fn id_kind(
    ty: &ObjectType,
    id_property: Option<&str>,
    portal_id: u64,
) -> Result<IdKind, ApiError> {
    let Some(name) = id_property.filter(|n| !n.is_empty()) else {
        return Ok(IdKind::RecordId);
    };
    match ty.prop(name) {
        Some(p) if ty.properties[p].server == ServerSet::ObjectId => Ok(IdKind::RecordId),
        Some(p) if ty.unique_slot[p].is_some() => Ok(IdKind::Unique(p)),
        _ => Err(ApiError::non_unique(&ty.id, name, portal_id)),
    }
}

/// The record an id names (live, or archived with `archived`).
pub fn find(table: &Table, ty: &ObjectType, id: &str, kind: IdKind, archived: bool) -> Option<u64> {
    match kind {
        IdKind::RecordId => id
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|id| table.get(*id, archived).is_some()),
        IdKind::Unique(prop) if !archived => table.find_unique(ty, prop, id),
        // Archived records left the unique index: look them up the slow way.
        IdKind::Unique(prop) => {
            let key = super::values::unique_keys(&ty.properties[prop], id)
                .next()?
                .into_owned();
            table
                .scan(0, true)
                .find(|r| {
                    r.current(prop).is_some_and(|v| {
                        super::values::unique_keys(&ty.properties[prop], v).any(|k| k == key)
                    })
                })
                .map(|r| r.id)
        }
    }
}

/// The key duplicates are detected on within one batch (emails fold case).
pub fn id_key(ty: &ObjectType, id: &str, kind: IdKind) -> String {
    match kind {
        IdKind::RecordId => id.trim().to_owned(),
        IdKind::Unique(prop) => super::values::unique_keys(&ty.properties[prop], id)
            .next()
            .map_or_else(String::new, |k| k.into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_lists_repeat_or_split() {
        let p = Params::parse(Some(
            "properties=email,firstname&properties=lastname&archived=true&idProperty=email&after=10&propertiesWithHistory=a%2Cb",
        ));
        assert_eq!(p.properties, ["email", "firstname", "lastname"]);
        assert_eq!(p.history, ["a", "b"]);
        assert!(p.archived);
        assert_eq!(p.id_property.as_deref(), Some("email"));
        assert_eq!(p.after.as_deref(), Some("10"));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(decode("a%40b.com"), "a@b.com");
        assert_eq!(decode("a+b"), "a b");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz"), "%zz");
    }
}
