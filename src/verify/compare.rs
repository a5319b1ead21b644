//! One batch of expectations against the records the portal returned: which rows' records are
//! missing, which hold other values (property by property, compared as HubSpot stores them), and
//! which match.

use std::collections::HashMap;
use std::sync::Arc;

use super::diff::{Kind, Line};
use super::identity::Identity;
use super::normalise::Compare;
use crate::config::{Operation, Pipeline};
use crate::portal::schema::ObjectSchema;
use crate::prepare::row::Input;
use crate::read::{Page, Record, Selection, Wanted};

/// What the record of one key should hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub key: String,
    /// The row named when the record is missing (the key's last row).
    pub row: u64,
    /// Source rows this expectation stands for (more than one when later rows of a key update
    /// what earlier ones wrote).
    pub rows: u64,
    /// Property, value, and the row the value comes from.
    pub properties: Vec<(Arc<str>, String, u64)>,
}

impl Expected {
    pub fn of(input: Input, key: String) -> Expected {
        let row = input.row;
        Expected {
            key,
            row,
            rows: 1,
            properties: input
                .properties
                .iter()
                .map(|(name, value)| (name.clone(), value.to_string(), row))
                .collect(),
        }
    }

    /// Applies a later row of the same key: its values replace earlier ones, as the run's writes
    /// did, in file order.
    pub fn merge(&mut self, later: Expected) {
        self.row = later.row;
        self.rows += later.rows;
        for (name, value, row) in later.properties {
            match self.properties.iter_mut().find(|(n, _, _)| *n == name) {
                Some(slot) => *slot = (name, value, row),
                None => self.properties.push((name, value, row)),
            }
        }
    }
}

/// Rows by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub matching: u64,
    pub missing: u64,
    pub different: u64,
    pub invalid: u64,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.matching += other.matching;
        self.missing += other.missing;
        self.different += other.different;
        self.invalid += other.invalid;
    }
}

/// Compares expectations with the portal's records.
#[derive(Debug, Clone)]
pub struct Checker {
    identity: Identity,
    operation: Operation,
    /// What is read: the mapped properties, and the identity's property.
    wanted: Wanted,
    compares: Vec<Compare>,
}

impl Checker {
    pub fn new(pipeline: &Pipeline, schema: &ObjectSchema, identity: Identity) -> Checker {
        let mut names: Vec<String> = pipeline
            .mapping
            .iter()
            .map(|m| m.property.clone())
            .collect();
        if let Identity::Property(p) = &identity {
            names.push(p.clone());
        }
        let wanted = Wanted::new(names);
        let compares = wanted
            .names()
            .iter()
            .map(|name| Compare::of(schema.property(name)))
            .collect();
        Checker {
            identity,
            operation: pipeline.target.operation,
            wanted,
            compares,
        }
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    pub fn wanted(&self) -> &Wanted {
        &self.wanted
    }

    /// What a batch read asks for.
    pub fn selection(&self) -> Selection {
        Selection {
            properties: self.wanted.names().to_vec(),
            ..Selection::default()
        }
    }

    fn key_of(&self, record: &Record) -> Option<String> {
        match &self.identity {
            Identity::RecordId | Identity::SyncState => Some(record.id.clone()),
            Identity::Property(p) => {
                let i = self.wanted.position(p)?;
                record.values.get(i)?.as_ref().map(|v| v.to_lowercase())
            }
        }
    }

    fn lookup_key(&self, key: &str) -> String {
        match &self.identity {
            Identity::RecordId | Identity::SyncState => key.trim().to_string(),
            Identity::Property(_) => key.to_lowercase(),
        }
    }

    /// The diff lines and the tally of `expected` against `page`'s records.
    pub fn check(&self, expected: &[Expected], page: &Page) -> (Vec<Line>, Tally) {
        let found: HashMap<String, &Record> = page
            .records
            .iter()
            .filter_map(|r| Some((self.key_of(r)?, r)))
            .collect();
        let mut lines = Vec::new();
        let mut tally = Tally::default();
        for e in expected {
            let line = |kind, property: &str, expected: &str, actual: &str, row| Line {
                row,
                key: e.key.clone(),
                kind,
                property: property.to_string(),
                expected: expected.to_string(),
                actual: actual.to_string(),
            };
            let record = found.get(&self.lookup_key(&e.key));
            if self.operation == Operation::Archive {
                // Archived means gone from the live records.
                match record {
                    Some(_) => {
                        lines.push(line(Kind::Different, "archived", "true", "false", e.row));
                        tally.different += e.rows;
                    }
                    None => tally.matching += e.rows,
                }
                continue;
            }
            let Some(record) = record else {
                lines.push(line(Kind::Missing, "", "", "", e.row));
                tally.missing += e.rows;
                continue;
            };
            let before = lines.len();
            for (name, value, row) in &e.properties {
                let Some(i) = self.wanted.position(name) else {
                    continue;
                };
                let actual = record.values.get(i).cloned().flatten().unwrap_or_default();
                if !self.compares[i].same(value, &actual) {
                    lines.push(line(Kind::Different, name, value, &actual, *row));
                }
            }
            if lines.len() > before {
                tally.different += e.rows;
            } else {
                tally.matching += e.rows;
            }
        }
        (lines, tally)
    }
}
