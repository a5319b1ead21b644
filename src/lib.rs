//! etl: a bulk-load engine for HubSpot's CRM object APIs, and a faithful local HubSpot sandbox.
//!
//! The folders are the layers, each importing only from the layers listed before it:
//! - `config`: the pipeline file, raw → validated;
//! - `portal`: everything that talks to a portal (the one client that sees the token, the rate
//!   gate, retries, the schema fetch, connecting to a target);
//! - `prepare`: the first half of the data path (source → mapping → validation → batches);
//! - `job`: what a job leaves behind (dead letters, journal, checkpoint, report);
//! - `dispatch`: sending batches and tracing every answer back to rows;
//! - `read`: reading records back (list pages, batch reads, associations), for export and verify;
//! - `export`: `etl export`'s chain (pages → CSV or typed Parquet, resumable);
//! - `verify`: `etl verify` (what the pipeline would send against what the portal holds);
//! - `pipeline`: `etl run`'s whole data path as one chain;
//! - `plan`: migration plans (the properties step, then stages of pipelines, in one session);
//! - `draft`: `etl init`'s pipeline file, drafted from a data file and the portal's schema;
//! - `commands`: one file per command, and the exit-code policy.
//!
//! `memory` holds the process-wide memory settings the binary applies first.
//!
//! `sandbox` is an independent implementation of the API: it imports nothing from the engine
//! (the engine only starts it).

pub mod commands;
pub mod config;
pub mod dispatch;
pub mod draft;
pub mod export;
pub mod job;
pub mod memory;
pub mod pipeline;
pub mod plan;
pub mod portal;
pub mod prepare;
pub mod read;
pub mod sandbox;
pub mod verify;
