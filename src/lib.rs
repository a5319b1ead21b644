//! etl: a bulk-load engine for HubSpot's CRM object APIs, and a faithful local HubSpot sandbox.
//!
//! The folders are the layers, each importing only from the layers listed before it:
//! - `config`: the pipeline file, raw → validated;
//! - `portal`: everything that talks to a portal (the one client that sees the token, the rate
//!   gate, retries, the schema fetch, connecting to a target);
//! - `prepare`: the first half of the data path (source → mapping → validation → batches);
//! - `job`: what a job leaves behind (dead letters, journal, checkpoint, report);
//! - `dispatch`: sending batches and tracing every answer back to rows;
//! - `pipeline`: `etl run`'s whole data path as one chain;
//! - `draft`: `etl init`'s pipeline file, drafted from a data file and the portal's schema;
//! - `commands`: one file per command, and the exit-code policy.
//!
//! `sandbox` is an independent implementation of the API: it imports nothing from the engine
//! (the engine only starts it).

pub mod commands;
pub mod config;
pub mod dispatch;
pub mod draft;
pub mod job;
pub mod pipeline;
pub mod portal;
pub mod prepare;
pub mod sandbox;
