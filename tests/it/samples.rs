//! The committed samples: each pipeline loads, and its source runs through mapping and validation
//! (against fixture schemas in HubSpot's shape) with exactly the deliberately bad rows rejected.

use std::collections::BTreeMap;
use std::path::Path;

use etl::config;
use etl::portal::schema::ObjectSchema;
use etl::prepare::Preparer;
use etl::prepare::source;

use crate::fixtures::{COMPANIES, CONTACTS, DEALS};

/// (rows read, valid, invalid by category) for a sample pipeline.
fn run(pipeline: &str, schema_json: &str) -> (u64, u64, BTreeMap<String, u64>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(pipeline);
    let p = config::load(&path, &Default::default()).unwrap();
    let schema = ObjectSchema::from_json(&p.target.object, schema_json.as_bytes()).unwrap();
    let mut source = source::open(&p.source).unwrap();
    let mut preparer = Preparer::new(&p, &schema, source.header()).unwrap();
    let (mut read, mut valid) = (0, 0);
    let mut invalid = BTreeMap::new();
    for row in source.by_ref() {
        read += 1;
        match row.map(|r| preparer.prepare(r)) {
            Ok(Ok(_)) => valid += 1,
            Ok(Err(r)) | Err(r) => *invalid.entry(r.category).or_insert(0) += 1,
        }
    }
    assert!(source.take_error().is_none());
    (read, valid, invalid)
}

fn total(m: &BTreeMap<String, u64>) -> u64 {
    m.values().sum()
}

#[test]
fn contacts_sample() {
    let (read, valid, invalid) = run("contacts.toml", CONTACTS);
    assert_eq!(read, 3000);
    assert_eq!(valid + total(&invalid), read);
    for category in [
        "INVALID_EMAIL",
        "INVALID_OPTION",
        "INVALID_DATE",
        "UNREADABLE_ROW",
    ] {
        assert!(invalid.contains_key(category), "{category}: {invalid:?}");
    }
    assert!(total(&invalid) < 150, "{invalid:?}");
}

#[test]
fn companies_sample() {
    let (read, valid, invalid) = run("companies.toml", COMPANIES);
    assert_eq!(read, 2000);
    assert_eq!(invalid.get("REQUIRED_PROPERTY"), Some(&8));
    assert_eq!(valid, 1992);
}

#[test]
fn deals_sample() {
    let (read, valid, invalid) = run("deals.toml", DEALS);
    assert_eq!(read, 1500);
    assert_eq!(valid + total(&invalid), read);
    for category in [
        "INVALID_INTEGER",
        "INVALID_OPTION",
        "INVALID_DATE",
        "REQUIRED_PROPERTY",
    ] {
        assert!(invalid.contains_key(category), "{category}: {invalid:?}");
    }
}

#[test]
fn archive_sample() {
    let (read, valid, invalid) = run("archive_contacts.toml", CONTACTS);
    assert_eq!(read, 500);
    assert_eq!(valid, 498);
    assert_eq!(invalid.get("INVALID_ID"), Some(&1));
    assert_eq!(invalid.get("MISSING_ID"), Some(&1));
}
