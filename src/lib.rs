//! etl: a bulk-load engine for HubSpot's CRM object APIs, and a faithful local HubSpot sandbox.
//!
//! The data path runs one way (DESIGN.md §2):
//! `source` → `mapping` → `validate` → `batch` → `dispatch` → outcomes (`dead_letter`, report).
//! `prepare` wires the first half (no network writes: `etl validate` stops there);
//! `pipeline` wires the whole chain for `etl run`.
//! `sandbox` is an independent implementation of the API: it shares no types with the engine.

pub mod batch;
pub mod checkpoint;
pub mod client;
pub mod config;
pub mod dead_letter;
pub mod dispatch;
pub mod encode;
pub mod journal;
pub mod lock;
pub mod mapping;
pub mod pipeline;
pub mod prepare;
pub mod report;
pub mod response;
pub mod row;
pub mod sandbox;
pub mod schema;
pub mod secret;
pub mod source;
pub mod validate;
