//! The integration tests: one binary, real files in temp dirs, the sandbox on loopback.

mod support;

mod prepare;
mod readers;
mod resume;
mod run;
mod samples;
mod sandbox_api;
mod sandbox_associations;
mod sandbox_batch;
mod sandbox_limits;
mod sandbox_schemas;
mod validate_sandbox;
