//! The integration tests: one binary, real files in temp dirs, the sandbox on loopback.

mod support;

mod api_versions;
mod associations;
mod bounded;
mod export;
mod inputs;
mod jitter;
mod object_storage;
mod plans;
mod prepare;
mod proxy;
mod readers;
mod reliability;
mod resume;
mod run;
mod samples;
mod sandbox_api;
mod sandbox_assoc_v4;
mod sandbox_associations;
mod sandbox_batch;
mod sandbox_hardening;
mod sandbox_limits;
mod sandbox_properties;
mod sandbox_rules;
mod sandbox_schemas;
mod sandbox_versions;
mod shared_budget;
mod sync;
mod validate_rules;
mod validate_sandbox;
mod verify;
