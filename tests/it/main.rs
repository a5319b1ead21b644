//! The integration tests: one binary, real files in temp dirs, the sandbox on loopback.

mod support;

mod api_versions;
mod bounded;
mod errors;
mod init;
mod manual;
mod prepare;
mod progress;
mod proxy;
mod readers;
mod reliability;
mod replay;
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
mod sync;
mod validate_rules;
mod validate_sandbox;
