//! A page of records as a reader wants it: list pages (`results` + `paging.next.after`) and batch
//! read answers (`results` + `errors`), parsed straight into each record's wanted properties, in
//! the reader's order. A serde seed does it in one pass, without a map per record or a copy of
//! every property name: the cost that matters when an export writes hundreds of thousands of
//! records per second.
//!
//! Values are taken as HubSpot sends them (strings; numbers and booleans are tolerated and kept as
//! their JSON text); properties the reader did not ask for are skipped.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use xxhash_rust::xxh3::Xxh3DefaultBuilder;

use crate::portal::response::ErrorItem;

/// The properties a reader wants, by position: record values come back in this order.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    names: Vec<String>,
    /// Looked up once per property of every record read: xxh3 hashes short names several times
    /// faster than the default SipHash (measured in `cargo bench --bench export`).
    index: HashMap<String, usize, Xxh3DefaultBuilder>,
}

impl Wanted {
    /// `names` in order; a repeated name keeps its first position.
    pub fn new(names: impl IntoIterator<Item = String>) -> Wanted {
        let mut wanted = Wanted::default();
        for name in names {
            if !wanted.index.contains_key(&name) {
                wanted.index.insert(name.clone(), wanted.names.len());
                wanted.names.push(name);
            }
        }
        wanted
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The position of `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// One record as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The record id (`hs_object_id`).
    pub id: String,
    /// The wanted properties' values, in [`Wanted`] order (`None`: unset or not returned).
    pub values: Vec<Option<String>>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub archived: bool,
    /// The versions of the wanted properties' history, newest first per property as HubSpot
    /// lists them.
    pub history: Vec<Version>,
}

/// One version of one property.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Version {
    /// The property's position in [`Wanted`].
    pub property: usize,
    pub value: Option<String>,
    pub timestamp: Option<String>,
    pub source_type: Option<String>,
}

/// A page of records: a list page, or a batch read's answer.
#[derive(Debug, Default)]
pub struct Page {
    pub records: Vec<Record>,
    /// The cursor of the next list page (`paging.next.after`); `None` on the last page.
    pub next: Option<String>,
    /// A batch read's `errors[]` (ids not found, …).
    pub errors: Vec<ErrorItem>,
}

impl Page {
    /// Parses a page body, keeping the properties `wanted` names.
    pub fn parse(body: &[u8], wanted: &Wanted) -> Result<Page, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let page = PageSeed(wanted).deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(page)
    }

    /// Only the cursor of the next list page, skimming past the records: lets a reader ask for the
    /// next page while another thread parses this one.
    pub fn next_cursor(body: &[u8]) -> Result<Option<String>, serde_json::Error> {
        #[derive(Deserialize)]
        struct Skim {
            #[serde(default)]
            paging: Option<Paging>,
        }
        let skim: Skim = serde_json::from_slice(body)?;
        Ok(skim
            .paging
            .and_then(|p| p.next)
            .and_then(|n| n.after)
            .and_then(|t| t.0))
    }

    /// The names of every property the page's records carry, sorted (HubSpot's default set when a
    /// read named none).
    pub fn property_names(body: &[u8]) -> Result<Vec<String>, serde_json::Error> {
        #[derive(Deserialize)]
        struct Names {
            #[serde(default)]
            results: Vec<Props>,
        }
        #[derive(Deserialize)]
        struct Props {
            #[serde(default)]
            properties: HashMap<String, IgnoredAny>,
        }
        let names: Names = serde_json::from_slice(body)?;
        let set: BTreeSet<String> = names
            .results
            .into_iter()
            .flat_map(|r| r.properties.into_keys())
            .collect();
        Ok(set.into_iter().collect())
    }
}

/// A map key, borrowed from the body when it holds no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// A property value: a string, `null`, or (tolerated) a number or boolean kept as its JSON text.
struct Text(Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, a number, a boolean or null")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(Some(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(Some(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Text, D::Error> {
                Text::deserialize(d)
            }
        }
        d.deserialize_any(TextVisitor)
    }
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    next: Option<Next>,
}

#[derive(Deserialize)]
struct Next {
    #[serde(default)]
    after: Option<Text>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawVersion {
    #[serde(default)]
    value: Option<Text>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    source_type: Option<String>,
}

struct PageSeed<'w>(&'w Wanted);

impl<'de> DeserializeSeed<'de> for PageSeed<'_> {
    type Value = Page;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Page, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PageSeed<'_> {
    type Value = Page;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a page of records")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Page, A::Error> {
        let mut page = Page::default();
        while let Some(key) = map.next_key::<Key>()? {
            match &*key.0 {
                "results" => page.records = map.next_value_seed(RecordsSeed(self.0))?,
                "paging" => {
                    let paging: Option<Paging> = map.next_value()?;
                    page.next = paging
                        .and_then(|p| p.next)
                        .and_then(|n| n.after)
                        .and_then(|t| t.0);
                }
                "errors" => {
                    page.errors = map
                        .next_value::<Option<Vec<ErrorItem>>>()?
                        .unwrap_or_default()
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(page)
    }
}

struct RecordsSeed<'w>(&'w Wanted);

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_> {
    type Value = Vec<Record>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Record>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_> {
    type Value = Vec<Record>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Record>, A::Error> {
        let mut records = Vec::with_capacity(seq.size_hint().unwrap_or(100));
        while let Some(record) = seq.next_element_seed(RecordSeed(self.0))? {
            records.push(record);
        }
        Ok(records)
    }
}

struct RecordSeed<'w>(&'w Wanted);

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = Record;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Record, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = Record;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record, A::Error> {
        let wanted = self.0;
        let mut record = Record {
            values: vec![None; wanted.len()],
            ..Record::default()
        };
        while let Some(key) = map.next_key::<Key>()? {
            match &*key.0 {
                "id" => record.id = map.next_value::<Text>()?.0.unwrap_or_default(),
                "properties" => map.next_value_seed(ValuesSeed(wanted, &mut record.values))?,
                "propertiesWithHistory" => {
                    let raw: Option<HashMap<String, Vec<RawVersion>>> = map.next_value()?;
                    for (name, versions) in raw.unwrap_or_default() {
                        let Some(property) = wanted.position(&name) else {
                            continue;
                        };
                        record.history.extend(versions.into_iter().map(|v| Version {
                            property,
                            value: v.value.and_then(|t| t.0),
                            timestamp: v.timestamp,
                            source_type: v.source_type,
                        }));
                    }
                }
                "createdAt" => record.created_at = map.next_value()?,
                "updatedAt" => record.updated_at = map.next_value()?,
                "archived" => record.archived = map.next_value::<Option<bool>>()?.unwrap_or(false),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        // History comes per property in the body's order: keep the reader's order instead.
        record.history.sort_by_key(|v| v.property);
        Ok(record)
    }
}

struct ValuesSeed<'w, 'r>(&'w Wanted, &'r mut Vec<Option<String>>);

impl<'de> DeserializeSeed<'de> for ValuesSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ValuesSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a map of property values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key>()? {
            match self.0.position(&key.0) {
                Some(i) => self.1[i] = map.next_value::<Text>()?.0,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = r#"{"results":[
        {"id":"7","properties":{"email":"a@b.co","firstname":null,"hs_object_id":"7","score":12.5},
         "propertiesWithHistory":{"firstname":[{"value":"Ann","timestamp":"2024-01-02T00:00:00.000Z","sourceType":"API"}],
            "email":[{"value":"a@b.co","timestamp":"2024-01-01T00:00:00.000Z","sourceType":"IMPORT","sourceId":"x"}]},
         "createdAt":"2024-01-01T00:00:00.000Z","updatedAt":"2024-01-02T00:00:00.000Z","archived":false,
         "associations":{"companies":{"results":[{"id":"9","type":"contact_to_company"}]}}},
        {"id":"8","properties":{"em\u0061il":"c@d.co"},"archived":true}
      ],
      "paging":{"next":{"after":"9","link":"?after=9"}}}"#;

    #[test]
    fn list_page_into_wanted_order() {
        let wanted = Wanted::new(["firstname", "email", "missing", "score"].map(String::from));
        let page = Page::parse(LIST.as_bytes(), &wanted).unwrap();
        assert_eq!(page.next.as_deref(), Some("9"));
        let first = &page.records[0];
        assert_eq!(first.id, "7");
        assert_eq!(
            first.values,
            vec![None, Some("a@b.co".into()), None, Some("12.5".into())]
        );
        assert_eq!(
            first.created_at.as_deref(),
            Some("2024-01-01T00:00:00.000Z")
        );
        assert!(!first.archived);
        let history: Vec<(usize, &str, &str)> = first
            .history
            .iter()
            .map(|v| {
                (
                    v.property,
                    v.value.as_deref().unwrap(),
                    v.source_type.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(history, vec![(0, "Ann", "API"), (1, "a@b.co", "IMPORT")]);
        // An escaped key is still matched.
        assert_eq!(page.records[1].values[1].as_deref(), Some("c@d.co"));
        assert!(page.records[1].archived);
    }

    #[test]
    fn the_cursor_alone() {
        assert_eq!(
            Page::next_cursor(LIST.as_bytes()).unwrap().as_deref(),
            Some("9")
        );
        assert_eq!(Page::next_cursor(br#"{"results":[]}"#).unwrap(), None);
        assert!(Page::next_cursor(b"{").is_err());
    }

    #[test]
    fn batch_answer_with_errors_and_no_paging() {
        let body = br#"{"status":"COMPLETE","results":[{"id":"1","properties":{"email":"x@y.co"}}],
            "numErrors":1,"errors":[{"status":"error","category":"OBJECT_NOT_FOUND",
            "message":"Could not get some CONTACT objects","context":{"ids":["9"]}}],
            "startedAt":"2024-01-01T00:00:00Z","completedAt":"2024-01-01T00:00:00Z"}"#;
        let page = Page::parse(body, &Wanted::new(["email".to_string()])).unwrap();
        assert_eq!(page.next, None);
        assert_eq!(page.records.len(), 1);
        assert_eq!(page.errors[0].context["ids"], vec!["9"]);
    }

    #[test]
    fn property_names_of_a_default_read() {
        assert_eq!(
            Page::property_names(LIST.as_bytes()).unwrap(),
            ["email", "firstname", "hs_object_id", "score"]
        );
        assert!(Page::parse(b"{\"results\":[1]}", &Wanted::default()).is_err());
    }
}
