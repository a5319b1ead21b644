//! What the integration tests share:
//! - `scenario`: the builder an end-to-end test is written with (sandbox → source → pipeline → run);
//! - `outcome`: a finished run, the assertions chained on it, and the invariants every run checks;
//! - `sandbox`: a sandbox on loopback (in this process or as `etl sandbox`) and its HTTP client;
//! - `redis`: a real `redis-server` on loopback, for the shared budget;
//! - `s3`: a local S3-compatible server (moto) on loopback, for sources on object storage;
//! - `fixtures`: a property schema in HubSpot's shape, CSV writers, the one pipeline-text builder;
//! - `workdir`: a temp directory of job files, and CSV files read back;
//! - `engine`: the engine internals tests reach into, re-exported from one place;
//! - `exported`: an export's CSV or Parquet file read back as text, and its Parquet schema;
//! - `loopback`: an axum app served on loopback, for stand-ins of outside services.

pub mod engine;
pub mod exported;
pub mod fixtures;
pub mod loopback;
pub mod outcome;
pub mod redis;
pub mod s3;
pub mod sandbox;
pub mod scenario;
pub mod workdir;
