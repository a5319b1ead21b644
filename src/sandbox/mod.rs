//! The local HubSpot-compatible sandbox: an independent, in-memory implementation of HubSpot's CRM v3
//! object API (limits, error bodies, 207 multi-status answers, injectable faults) for rehearsing
//! migrations and for every test and benchmark of the engine. It shares no types with the engine.
//!
//! Parts:
//! - `config`: `SandboxConfig` and the `etl sandbox` flags (`SandboxArgs`).
//! - `server`: the router (`app`), `run`/`start`/`serve` and the `SandboxHandle`.
//! - `state`: what handlers share. `gate`: auth, limits, faults, headers, stats around every HubSpot path.
//! - `objects` (the type table), `properties` (property schemas), `pipelines`, `associations`
//!   (default association types and the links).
//! - `values` (validation per property type), `changes` (an input's property map checked, and row errors),
//!   `store` (tables, unique indexes, history), `view` (records and batch bodies on the wire).
//! - `limits` (rolling window and daily counter), `faults` (seeded dice), `stats` (`/_sandbox/stats`),
//!   `error` (HubSpot-shaped errors), `response` (JSON answers), `time` (timestamps), `hasher` (a fast
//!   hasher for the maps).
//! - `handlers`: the endpoints, one file per resource.

mod associations;
mod changes;
mod config;
mod error;
mod faults;
mod gate;
mod handlers;
mod hasher;
mod limits;
mod objects;
mod pipelines;
mod properties;
mod response;
mod server;
mod state;
mod stats;
mod store;
mod time;
mod values;
mod view;

pub use config::{SandboxArgs, SandboxConfig};
pub use server::{SandboxHandle, app, run, serve, start};
pub use state::AppState;
