//! The local HubSpot-compatible sandbox: an independent, in-memory implementation of HubSpot's CRM
//! object APIs, v3/v4 and the dated 2026-03/2026-09 families (limits, error bodies, 207 multi-status
//! answers, property validation rules, injectable faults) for rehearsing migrations and for every test
//! and benchmark of the engine. It shares no types with the engine.
//!
//! Parts:
//! - `config`: `SandboxConfig` and the `etl sandbox` flags (`SandboxArgs`).
//! - `server`: the router (`app`), `run`/`start`/`serve` and the `SandboxHandle`.
//! - `routes`: every route family, mounted under each API version's prefix; `version`: the versions,
//!   what each changes, and the family prefixes.
//! - `state`: what handlers share. `gate`: auth, limits, faults, headers, stats around every HubSpot path.
//! - `objects` (object types), `registry` (the portal's types, whose properties can grow at run time),
//!   `properties` (property schemas), `pipelines`, `associations` (HubSpot's default association types),
//!   `labels` (created labels, and every association type resolved), `links` (the links between records).
//! - `values` (validation per property type), `policy` (what a version checks beyond types: epoch
//!   seconds, validation `rules`), `changes` (an input's property map checked, and row errors),
//!   `store` (tables), `record` (one record), `rows` (a table's records in id order), `unique`
//!   (unique-value indexes), `history` (a record's values and their history, compactly), `view`
//!   (records and batch bodies on the wire).
//! - `limits` (rolling windows and daily counters), `faults` (seeded dice), `garble` (damaged bodies),
//!   `stats` (`/_sandbox/stats`), `error` (HubSpot-shaped errors), `response` (JSON answers), `time`
//!   (timestamps), `hasher` (a fast hasher for the maps), `secret` (the token, redacted and compared
//!   in constant time).
//! - `handlers`: the endpoints, one file per resource.

mod associations;
mod changes;
mod config;
mod error;
mod faults;
mod garble;
mod gate;
mod handlers;
mod hasher;
mod history;
mod labels;
mod limits;
mod links;
mod objects;
mod pipelines;
mod policy;
mod properties;
mod record;
mod registry;
mod response;
mod routes;
mod rows;
mod rules;
mod secret;
mod server;
mod state;
mod stats;
mod store;
mod time;
mod unique;
mod values;
mod version;
mod view;

pub use config::{SandboxArgs, SandboxConfig};
pub use server::{SandboxHandle, app, run, serve, start};
pub use state::AppState;
