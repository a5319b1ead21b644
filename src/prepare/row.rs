//! The values that travel along the data path: a source row, a ready API input, and a rejected row.
//!
//! A row's identity is its source row number (1-based data row, header excluded). It travels with the
//! row to the end: the dead-letter file, the report and the checkpoint all speak of it. A row of a
//! dead-letter file being replayed also carries its number in the original source (`origin`, the
//! file's `etl_row`), which its messages and its new dead letter keep.

use std::fmt;

use xxhash_rust::xxh3::xxh3_64;

pub use super::fields::Fields;
pub use super::properties::Properties;
use super::values::lowercase;
use crate::config::Operation;

/// One data row of the source file, as read: its number and its original fields, in column order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRow {
    /// 1-based data row number (the header is not counted).
    pub row: u64,
    /// The row's number in the original source, when this file is a dead-letter file (`etl_row`).
    pub origin: Option<u64>,
    /// The original fields, rendered as text (Parquet values rendered the way HubSpot expects).
    pub fields: Fields,
}

/// A row mapped and validated, ready to become one input of a batch request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// 1-based source row number; sent in `objectWriteTraceId`.
    pub row: u64,
    /// The row's number in the original source, when replaying a dead-letter file.
    pub origin: Option<u64>,
    /// The original fields, kept so a failure can be dead-lettered with the row as the user wrote it.
    pub fields: Fields,
    /// The record's identity for update/upsert/archive: a record id, or the `id_property` value.
    /// `None` for create.
    pub id: Option<String>,
    /// The batching key: no batch holds two inputs with the same key, and batches sharing a key are
    /// sent in file order. The `id` for update/upsert/archive; for create, the value of a unique
    /// property when one is mapped (e.g. contact email), else `None`.
    pub key: Option<BatchKey>,
    /// Property values to write, in mapping order, already in HubSpot's wire format.
    pub properties: Properties,
    /// The records to link this row's record with, as the row names them (`[[associations]]`);
    /// the dispatcher resolves them into `associations` before anything is written.
    pub links: Vec<Link>,
    /// The resolved links: sent inline with a create, written with the v4 associations API after
    /// an update or upsert, or the whole request of `associate`/`dissociate`.
    pub associations: Vec<Association>,
    /// The operation this input is sent with: the pipeline's, except for a sync's create-or-update
    /// (a key seen before is updated by its stored record id).
    pub operation: Operation,
    /// `[sync]`: the row's key across runs and a hash of what it sends.
    pub sync: Option<SyncRow>,
}

/// A batching key, held as its 64-bit xxh3 hash: the batcher and the dispatcher's key gate only
/// compare keys, so a row carries no copy of its key's text. Two keys of one hash are treated as one
/// key: batches get smaller, never wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchKey(pub u64);

impl BatchKey {
    /// The key of `text` as it is (a `[sync]` key, already in its final form).
    pub fn exact(text: &str) -> BatchKey {
        BatchKey(xxh3_64(text.as_bytes()))
    }

    /// The key of a record id or unique value, which HubSpot compares without case: `text`
    /// lowercased (copied only when lowercasing can change it).
    pub fn folded(text: &str) -> BatchKey {
        BatchKey::exact(&lowercase(text))
    }
}

/// What `[sync]` knows of a row: the key that recognises it across runs (source columns, or its
/// id) and a hash of the property values it sends (after mapping, so reformatting that maps to the
/// same value is no change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRow {
    pub key: String,
    pub hash: u64,
    /// A create-or-update row whose key was first seen earlier in this run as new: its record id
    /// comes from that create's answer.
    pub after_create: bool,
    /// A create whose key the state holds in doubt (an earlier create may have landed): looked up
    /// before it is sent.
    pub verify_first: bool,
    /// With `verify_first`: the record that earlier create made, if any, is no older than this
    /// (its job's start by the portal's clock, less a margin; ms since the epoch). `None`: unknown.
    pub sent_after_ms: Option<i64>,
}

/// One key naming a record to link with, as the row gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The `[[associations]]` table it comes from (its index in the pipeline).
    pub table: usize,
    /// A record id, a value of the table's unique property, or a key of another pipeline's state.
    pub key: String,
}

/// One resolved link of a row's record with another record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    /// The `[[associations]]` table it comes from.
    pub table: usize,
    /// The id of the record to associate with.
    pub to_id: String,
    /// `HUBSPOT_DEFINED` or `USER_DEFINED`.
    pub category: String,
    /// The association type id (e.g. 279 contact → company); `None` for a `dissociate` that
    /// removes every type between the two records.
    pub type_id: Option<u32>,
}

/// Why a row ended in the dead-letter file; written as the `etl_status` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectStatus {
    /// The source row itself could not be read (wrong field count, invalid UTF-8).
    Unreadable,
    /// Local mapping or validation rejected it; nothing was sent.
    Invalid,
    /// The API rejected it with this HTTP status.
    Api(u16),
    /// Retries were exhausted without an answer the row could be judged by.
    GaveUp,
    /// A create whose response was lost and could not be verified: it may or may not exist.
    Ambiguous,
    /// A key of the row names no record (an association target, or the record a link starts
    /// from): nothing was written for the row.
    NotFound,
    /// The record was written, but a link of it was not (`link_failed`): replaying the row is
    /// safe (the write and link creation are idempotent).
    LinkFailed,
}

impl fmt::Display for RejectStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectStatus::Unreadable => f.write_str("unreadable"),
            RejectStatus::Invalid => f.write_str("invalid"),
            RejectStatus::Api(code) => write!(f, "{code}"),
            RejectStatus::GaveUp => f.write_str("gave_up"),
            RejectStatus::Ambiguous => f.write_str("ambiguous"),
            RejectStatus::NotFound => f.write_str("not_found"),
            RejectStatus::LinkFailed => f.write_str("link_failed"),
        }
    }
}

/// A row that goes to the dead-letter file, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based source row number.
    pub row: u64,
    /// The row's number in the original source, when replaying a dead-letter file: the dead
    /// letter's `etl_row`.
    pub origin: Option<u64>,
    /// The original fields, in column order.
    pub fields: Fields,
    pub status: RejectStatus,
    /// A HubSpot category word where one fits (`INVALID_EMAIL`, `INVALID_OPTION`, `CONFLICT`, …).
    pub category: String,
    /// A message a person can act on: names the column, property, value and reason.
    pub message: String,
}

/// The number a person knows a row by: its number in the original source when it has one.
pub fn row_label(row: u64, origin: Option<u64>) -> u64 {
    origin.unwrap_or(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folded_key_is_the_key_of_its_lowercase_text() {
        for (text, lower) in [
            ("ann@b.co", "ann@b.co"),
            ("Ann@B.CO", "ann@b.co"),
            ("zoë@x.de", "zoë@x.de"),
            ("ZOË@x.de", "zoë@x.de"),
            // A titlecase letter: not uppercase, yet lowercasing changes it.
            ("ǅ@x.de", "ǆ@x.de"),
        ] {
            assert_eq!(BatchKey::folded(text), BatchKey::exact(lower), "{text}");
        }
        assert_ne!(BatchKey::exact("Ann@b.co"), BatchKey::exact("ann@b.co"));
        assert_ne!(BatchKey::folded("ann@b.co"), BatchKey::folded("bob@b.co"));
    }
}
