//! The state every handler shares: the type registry, the store, the limiter, the fault dice, the
//! stats and the validation rules, behind one `Arc`.

use std::collections::BTreeMap;
use std::io;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::config::SandboxConfig;
use super::error::ApiError;
use super::faults::{Faults, Rates};
use super::limits::Limits;
use super::objects::{ObjectType, Registry};
use super::rules::{self, RuleBook, RuleSet};
use super::stats::Stats;
use super::store::Store;
use super::time;

/// What the handlers share.
#[derive(Debug)]
pub struct Shared {
    /// The accepted token (`None`: any non-empty token). Never logged.
    token: Option<String>,
    pub portal_id: u64,
    pub registry: Registry,
    pub store: Store,
    pub limits: Limits,
    pub faults: Faults,
    pub stats: Stats,
    /// Property validation rules (enforced on 2026-09 writes).
    pub rules: RuleBook,
    pub retry_after: AtomicBool,
    pub partial_update_errors: AtomicBool,
    pub faults_on_reads: AtomicBool,
}

/// The handlers' state (cheap to clone).
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// A fresh portal for `config` (reads the schema file, if any).
    pub fn new(config: &SandboxConfig) -> io::Result<AppState> {
        config
            .check()
            .map_err(|msg| io::Error::new(io::ErrorKind::InvalidInput, msg))?;
        let registry = Registry::new(config.portal_id, config.schema_file.as_deref())?;
        let store = Store::new(&registry);
        let start_rules = match config.rules_file.as_deref() {
            Some(path) => rules::load(path, &registry)?,
            None => RuleSet::default(),
        };
        Ok(AppState(Arc::new(Shared {
            token: config.token.clone(),
            portal_id: config.portal_id,
            store,
            registry,
            limits: Limits::new(
                config.requests_per_interval,
                config.interval,
                config.daily_limit,
            ),
            faults: Faults::new(
                config.seed,
                Rates {
                    fault: config.fault_rate,
                    lost: config.lost_response_rate,
                    throttle: config.throttle_rate,
                    locked: config.locked_rate,
                    latency: config.latency,
                },
            ),
            stats: Stats::default(),
            rules: RuleBook::new(start_rules),
            retry_after: AtomicBool::new(config.retry_after),
            partial_update_errors: AtomicBool::new(config.partial_update_errors),
            faults_on_reads: AtomicBool::new(config.faults_on_reads),
        })))
    }

    /// Whether a bearer token is accepted.
    pub fn accepts(&self, token: &str) -> bool {
        match &self.token {
            Some(expected) => expected == token,
            None => !token.is_empty(),
        }
    }

    /// The object type a path names, or HubSpot's 400.
    pub fn resolve(&self, name: &str) -> Result<&ObjectType, ApiError> {
        self.registry
            .resolve(name)
            .ok_or_else(|| ApiError::unknown_type(name))
    }

    /// Whether batch update/upsert report invalid inputs per row.
    pub fn partial(&self) -> bool {
        self.partial_update_errors.load(Ordering::Relaxed)
    }

    /// Live records per type name.
    pub fn record_counts(&self) -> BTreeMap<String, usize> {
        self.registry
            .all()
            .iter()
            .map(|ty| (ty.name.clone(), self.store.read(ty).live()))
            .collect()
    }

    /// Requests counted today.
    pub fn daily_used(&self) -> u64 {
        self.limits.daily_used(time::day_of(time::now_ms()))
    }
}
