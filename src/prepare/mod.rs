//! The first half of the data path, all CPU and no network: source rows → mapped property values →
//! validated inputs (or rejections) → batches → request bodies (DESIGN.md §2).
//!
//! Parts, in the order a row meets them:
//! - `source`: the CSV and Parquet readers (numbered [`row::SourceRow`]s, unreadable rows rejected;
//!   a CSV file comes as blocks of whole records, parsed by the workers, a Parquet file as slices
//!   of decoded batches, rendered by the workers);
//! - `mapping`: columns → property values in HubSpot's wire format (`[mapping]` transforms);
//! - `properties`: a row's property values in one buffer, named from a table the job shares;
//! - `values`: every parse and check of a date, datetime, number, bool, email or length;
//! - `check`: the per-property check compiled from the portal's schema;
//! - `text_map`: the maps of option values and labels that rows are looked up in;
//! - `links`: the `[[associations]]` columns of a row, split into keys and checked for shape;
//! - `validate`: the validator (start-up checks against the schema, then per-row checks);
//! - `rules`: the portal's property validation rules, evaluated locally where the engine can;
//! - `violation`: one reason a row is invalid, and the rejection built from a row's reasons;
//! - `batch`: the batcher (batch size, one input per key per batch, file order per key);
//! - `encode`: batch request bodies (`json`: the strings in them);
//! - `trace`: a row's name on the wire (`objectWriteTraceId`, unique per job);
//! - `thread`: the loop that runs all of the above off the async runtime, feeding a bounded
//!   channel;
//! - `workers`: the pool that parses (CSV blocks) or renders (Parquet slices), maps and validates
//!   rows a chunk at a time;
//! - `delivery`: the loop's sequential tail (the `[sync]` filter, the batcher, the channel);
//! - `row`: the values that travel along the data path (source row, input, rejection);
//! - `fields`: a row's original fields in one buffer.
//!
//! Depends on `config` and on the portal's schema types only; sends nothing.

// A row's fate travels as `Result<Input, Rejection>`: the rejection (with the row's fields) passes
// clippy's size line, but the input beside it is larger still, so boxing the error would save no move.
#![allow(clippy::result_large_err)]

pub mod batch;
pub mod check;
mod delivery;
pub mod encode;
pub mod events;
pub mod fields;
mod json;
pub mod links;
pub mod mapping;
pub mod properties;
pub mod row;
pub mod rules;
pub mod source;
mod text_map;
pub mod thread;
pub mod trace;
pub mod validate;
pub mod values;
pub mod violation;
pub mod workers;

pub use delivery::{PrepareTotals, RowFilter, Screen, Sorted};
pub use events::Prepared;
pub use thread::{
    Opened, PrepareError, PrepareHandle, PrepareOptions, PrepareOutcome, Preparer, open, spawn,
};
