//! The sandbox's configuration: the `etl sandbox` flags (`SandboxArgs`), read into a checked
//! `SandboxConfig` that `start` and the tests use directly.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::secret::Secret;

/// Everything a sandbox instance needs. `Default` is a fresh HubSpot Free/Starter portal on
/// `127.0.0.1:0`: 100 requests per 10 s, 250,000 per day (associations: 100 per 10 s, 500,000 per day),
/// no faults, no latency, any bearer token.
#[derive(Clone)]
pub struct SandboxConfig {
    /// Where to listen (`127.0.0.1:0` picks a free port).
    pub addr: SocketAddr,
    /// The one accepted bearer token; `None` accepts any non-empty token. Never logged.
    pub token: Option<String>,
    /// Requests allowed per token in any rolling `interval`.
    pub requests_per_interval: u32,
    /// The rolling window (HubSpot: 10 s).
    pub interval: Duration,
    /// Requests allowed per UTC day, for the whole portal.
    pub daily_limit: u64,
    /// v4 association requests allowed per token in any rolling `interval` (their own window).
    pub association_requests_per_interval: u32,
    /// v4 association requests allowed per UTC day (their own counter; HubSpot publishes 500,000).
    pub association_daily_limit: u64,
    /// Added to every HubSpot-path response.
    pub latency: Duration,
    /// Every HubSpot-path request reaches the limiter after a random delay up to this long.
    pub jitter: Duration,
    /// Share of write requests answered 500/502/503 with nothing written.
    pub fault_rate: f64,
    /// Share of write requests that are applied, then lose their response (dropped connection or 504).
    pub lost_response_rate: f64,
    /// Share of write requests answered with a spurious 429 `TEN_SECONDLY_ROLLING`.
    pub throttle_rate: f64,
    /// Share of batch upserts answered 423 Locked.
    pub locked_rate: f64,
    /// Share of writes that are applied, then answered 2xx with a damaged body.
    pub garble_rate: f64,
    /// Seed of the fault dice and correlation ids.
    pub seed: u64,
    /// Custom object schemas (HubSpot's schema JSON).
    pub schema_file: Option<PathBuf>,
    /// Property validation rules to start with (object → property → rule type → `PUT` body).
    pub rules_file: Option<PathBuf>,
    /// The portal id named in messages (`portalId`, "in portal ID …").
    pub portal_id: u64,
    /// Send `Retry-After` (seconds) on 429s. HubSpot does not document one, so off by default.
    pub retry_after: bool,
    /// Batch update/upsert report invalid inputs as 207 items instead of failing the whole batch.
    pub partial_update_errors: bool,
    /// Let faults hit reads too (by default only writes get them).
    pub faults_on_reads: bool,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: None,
            requests_per_interval: 100,
            interval: Duration::from_millis(10_000),
            daily_limit: 250_000,
            association_requests_per_interval: 100,
            association_daily_limit: 500_000,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            fault_rate: 0.0,
            lost_response_rate: 0.0,
            throttle_rate: 0.0,
            locked_rate: 0.0,
            garble_rate: 0.0,
            seed: 0,
            schema_file: None,
            rules_file: None,
            portal_id: 12_345_678,
            retry_after: false,
            partial_update_errors: false,
            faults_on_reads: false,
        }
    }
}

impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("addr", &self.addr)
            .field("token", &self.token.as_ref().map(|_| "**REDACTED**"))
            .field("requests_per_interval", &self.requests_per_interval)
            .field("interval", &self.interval)
            .field("daily_limit", &self.daily_limit)
            .field(
                "association_requests_per_interval",
                &self.association_requests_per_interval,
            )
            .field("association_daily_limit", &self.association_daily_limit)
            .field("latency", &self.latency)
            .field("jitter", &self.jitter)
            .field("fault_rate", &self.fault_rate)
            .field("lost_response_rate", &self.lost_response_rate)
            .field("throttle_rate", &self.throttle_rate)
            .field("locked_rate", &self.locked_rate)
            .field("garble_rate", &self.garble_rate)
            .field("seed", &self.seed)
            .field("schema_file", &self.schema_file)
            .field("rules_file", &self.rules_file)
            .field("portal_id", &self.portal_id)
            .finish_non_exhaustive()
    }
}

impl SandboxConfig {
    /// Checks the rates are probabilities whose sum stays ≤ 1 (one die decides a request's fault), the
    /// limits are positive, and a sandbox reachable from other machines has a token.
    pub fn check(&self) -> Result<(), String> {
        let rates = [
            ("fault_rate", self.fault_rate),
            ("lost_response_rate", self.lost_response_rate),
            ("throttle_rate", self.throttle_rate),
            ("locked_rate", self.locked_rate),
            ("garble_rate", self.garble_rate),
        ];
        check_rates(&rates)?;
        if self.requests_per_interval == 0
            || self.association_requests_per_interval == 0
            || self.interval.is_zero()
        {
            return Err(
                "requests_per_interval, association_requests_per_interval and interval must be positive"
                    .into(),
            );
        }
        if self.exposed() && self.token.as_deref().is_none_or(str::is_empty) {
            return Err(format!(
                "refusing to listen on {} without a token: it is not a loopback address, so other \
                 machines could read and write the sandbox. Pass --token (or set ETL_SANDBOX_TOKEN), \
                 or listen on 127.0.0.1",
                self.addr
            ));
        }
        Ok(())
    }

    /// Whether the sandbox listens beyond this machine (then `/_sandbox/*` needs the token too).
    pub fn exposed(&self) -> bool {
        !self.addr.ip().is_loopback()
    }
}

/// Each rate in [0, 1] and their sum ≤ 1.
pub fn check_rates(rates: &[(&str, f64)]) -> Result<(), String> {
    for (name, rate) in rates {
        if !(0.0..=1.0).contains(rate) {
            return Err(format!("{name} must be between 0 and 1, got {rate}"));
        }
    }
    let sum: f64 = rates.iter().map(|(_, r)| r).sum();
    if sum > 1.0 + 1e-9 {
        return Err(format!("the fault rates add up to {sum}, more than 1"));
    }
    Ok(())
}

/// Flags of `etl sandbox`.
#[derive(clap::Args, Debug, Clone)]
pub struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// The accepted bearer token (default: any non-empty token). Required on a non-loopback address.
    #[arg(long, env = "ETL_SANDBOX_TOKEN", hide_env_values = true)]
    pub token: Option<Secret>,
    /// Requests allowed per token in any rolling interval.
    #[arg(long, default_value_t = 100)]
    pub requests_per_interval: u32,
    /// The rolling window, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub interval_ms: u64,
    /// Requests allowed per UTC day.
    #[arg(long, default_value_t = 250_000)]
    pub daily_limit: u64,
    /// v4 association requests allowed per token in any rolling interval (their own window).
    #[arg(long, default_value_t = 100)]
    pub association_requests_per_interval: u32,
    /// v4 association requests allowed per UTC day (their own counter).
    #[arg(long, default_value_t = 500_000)]
    pub association_daily_limit: u64,
    /// Latency added to every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Every request reaches the limiter after a random delay of 0 to this many milliseconds
    /// (uniform, seeded): the varying network delay that bunches arrivals.
    #[arg(long, default_value_t = 0)]
    pub jitter_ms: u64,
    /// Share of writes answered 500/502/503 with nothing written.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Share of writes answered whose answer is then lost (dropped connection or 504), whatever
    /// it was (applied, or refused).
    #[arg(long, default_value_t = 0.0)]
    pub lost_response_rate: f64,
    /// Share of writes answered with a spurious 429 TEN_SECONDLY_ROLLING.
    #[arg(long, default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Share of batch upserts answered 423 Locked.
    #[arg(long, default_value_t = 0.0)]
    pub locked_rate: f64,
    /// Share of writes applied, then answered 2xx with a damaged body.
    #[arg(long, default_value_t = 0.0)]
    pub garble_rate: f64,
    /// Seed of the fault dice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// JSON file with custom object schemas (HubSpot's schema API shape).
    #[arg(long)]
    pub schema_file: Option<PathBuf>,
    /// JSON file with property validation rules to start with (enforced on 2026-09 writes).
    #[arg(long)]
    pub rules_file: Option<PathBuf>,
    /// The portal (hub) id.
    #[arg(long, default_value_t = 12_345_678)]
    pub portal_id: u64,
    /// Send Retry-After on 429 responses.
    #[arg(long)]
    pub retry_after: bool,
    /// Report invalid inputs of batch update/upsert as 207 items instead of failing the batch.
    #[arg(long)]
    pub partial_update_errors: bool,
    /// Inject faults into reads too.
    #[arg(long)]
    pub faults_on_reads: bool,
}

impl SandboxArgs {
    /// The checked configuration.
    pub fn into_config(self) -> Result<SandboxConfig, String> {
        let config = SandboxConfig {
            addr: self.addr,
            token: self
                .token
                .filter(|t| !t.is_empty())
                .map(Secret::into_string),
            requests_per_interval: self.requests_per_interval,
            interval: Duration::from_millis(self.interval_ms),
            daily_limit: self.daily_limit,
            association_requests_per_interval: self.association_requests_per_interval,
            association_daily_limit: self.association_daily_limit,
            latency: Duration::from_millis(self.latency_ms),
            jitter: Duration::from_millis(self.jitter_ms),
            fault_rate: self.fault_rate,
            lost_response_rate: self.lost_response_rate,
            throttle_rate: self.throttle_rate,
            locked_rate: self.locked_rate,
            garble_rate: self.garble_rate,
            seed: self.seed,
            schema_file: self.schema_file,
            rules_file: self.rules_file,
            portal_id: self.portal_id,
            retry_after: self.retry_after,
            partial_update_errors: self.partial_update_errors,
            faults_on_reads: self.faults_on_reads,
        };
        config.check()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_token() {
        let config = SandboxConfig {
            token: Some("pat-secret-value".into()),
            ..SandboxConfig::default()
        };
        assert!(!format!("{config:?}").contains("secret"));
    }

    #[test]
    fn parsed_flags_hide_the_token() {
        use clap::Parser;
        #[derive(Parser, Debug)]
        struct Cli {
            #[command(flatten)]
            args: SandboxArgs,
        }
        let cli =
            Cli::try_parse_from(["etl", "--token", "pat-flag-secret", "--garble-rate", "0.1"])
                .unwrap();
        assert!(!format!("{cli:?}").contains("flag-secret"));
        let config = cli.args.into_config().unwrap();
        assert_eq!(config.token.as_deref(), Some("pat-flag-secret"));
        assert_eq!(config.garble_rate, 0.1);
    }

    #[test]
    fn a_non_loopback_address_needs_a_token() {
        let mut config = SandboxConfig {
            addr: "0.0.0.0:8080".parse().unwrap(),
            ..SandboxConfig::default()
        };
        let err = config.check().unwrap_err();
        assert!(err.contains("--token"), "{err}");
        config.token = Some(String::new());
        assert!(config.check().is_err(), "an empty token is no token");
        config.token = Some("t".into());
        assert!(config.check().is_ok());
        assert!(config.exposed());
        assert!(!SandboxConfig::default().exposed());
    }

    #[test]
    fn rates_are_checked() {
        let mut config = SandboxConfig::default();
        assert!(config.check().is_ok());
        config.fault_rate = 0.7;
        config.throttle_rate = 0.5;
        assert!(config.check().is_err());
        config.throttle_rate = -0.1;
        assert!(config.check().is_err());
        config.throttle_rate = 0.0;
        config.garble_rate = 0.4;
        assert!(config.check().is_err(), "garbling joins the sum");
    }
}
