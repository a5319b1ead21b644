//! The flags that say how to reach a portal without a pipeline file (`etl export`): where, with
//! which token variable, in which API version, at what pace. One clap struct, flattened into each
//! command that needs it.

use crate::config::{ApiVersionArg, ConfigError, Connection, ConnectionFlags};

/// How to reach the portal.
#[derive(clap::Args, Debug, Clone)]
pub struct ConnectionArgs {
    /// The API: HubSpot's, "sandbox" (an empty embedded sandbox), or any http(s) URL such as a
    /// running `etl sandbox`.
    #[arg(long, value_name = "URL", default_value = "https://api.hubapi.com")]
    base_url: String,
    /// The environment variable that holds the private app's token.
    #[arg(long, value_name = "VAR", default_value = "HUBSPOT_TOKEN")]
    token_env: String,
    #[command(flatten)]
    api_version: ApiVersionArg,
    /// Requests allowed per rolling interval: the portal's burst (100 Free/Starter, 190
    /// Pro/Enterprise).
    #[arg(long, value_name = "N", default_value_t = 100)]
    requests_per_interval: u32,
    /// The rolling interval, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    interval_ms: u64,
    /// Reads in flight at most (batch reads of an id file; list pages go one after the other).
    #[arg(long, value_name = "N", default_value_t = 4)]
    concurrency: usize,
}

impl ConnectionArgs {
    /// The checked connection.
    pub fn connection(&self) -> Result<Connection, ConfigError> {
        ConnectionFlags {
            base_url: self.base_url.clone(),
            token_env: self.token_env.clone(),
            api_version: self.api_version.or(Default::default()),
            requests_per_interval: self.requests_per_interval,
            interval_ms: self.interval_ms,
            concurrency: self.concurrency,
        }
        .connection()
    }
}
