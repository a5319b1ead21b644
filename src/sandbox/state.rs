//! The state every handler shares: the type registry, the store, the association labels, the limiter,
//! the fault dice, the stats and the validation rules, behind one `Arc`.

use std::collections::BTreeMap;
use std::io;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::config::SandboxConfig;
use super::error::ApiError;
use super::faults::{Faults, Rates};
use super::labels::Labels;
use super::limits::{Limits, Pool, Settings};
use super::objects::{ObjectType, Refusal};
use super::properties::PropertyDef;
use super::registry::Registry;
use super::rules::{self, RuleBook, RuleSet};
use super::secret::Secret;
use super::stats::{Gauges, Stats};
use super::store::Store;
use super::time;

/// What the handlers share. Its `Debug` never shows the token (`Secret`, and the limiter's table only
/// says how many tokens it tracks).
#[derive(Debug)]
pub struct Shared {
    /// The accepted token (`None`: any non-empty token).
    token: Option<Secret>,
    /// Whether `/_sandbox/*` needs the token too (the sandbox listens beyond loopback).
    admin_guarded: bool,
    pub portal_id: u64,
    pub registry: Registry,
    pub store: Store,
    labels: RwLock<Labels>,
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
            token: config.token.clone().map(Secret::new),
            admin_guarded: config.exposed(),
            portal_id: config.portal_id,
            store,
            registry,
            labels: RwLock::new(Labels::default()),
            limits: Limits::new(Settings {
                max: config.requests_per_interval,
                daily_limit: config.daily_limit,
                association_max: config.association_requests_per_interval,
                association_daily_limit: config.association_daily_limit,
                interval: config.interval,
            }),
            faults: Faults::new(
                config.seed,
                Rates {
                    fault: config.fault_rate,
                    lost: config.lost_response_rate,
                    throttle: config.throttle_rate,
                    locked: config.locked_rate,
                    garble: config.garble_rate,
                    latency: config.latency,
                    jitter: config.jitter,
                },
            ),
            stats: Stats::default(),
            rules: RuleBook::new(start_rules),
            retry_after: AtomicBool::new(config.retry_after),
            partial_update_errors: AtomicBool::new(config.partial_update_errors),
            faults_on_reads: AtomicBool::new(config.faults_on_reads),
        })))
    }
}

impl Shared {
    /// Whether a bearer token is accepted (compared in constant time).
    pub fn accepts(&self, token: &str) -> bool {
        match &self.token {
            Some(expected) => expected.matches(token),
            None => !token.is_empty(),
        }
    }

    /// Whether a `/_sandbox/*` request may pass: always on loopback, else only with the token.
    pub fn admin_accepts(&self, token: Option<&str>) -> bool {
        !self.admin_guarded || token.is_some_and(|t| self.token.is_some() && self.accepts(t))
    }

    /// The current version of the object type a path names, or HubSpot's 400.
    pub fn resolve(&self, name: &str) -> Result<Arc<ObjectType>, ApiError> {
        self.registry
            .resolve(name)
            .ok_or_else(|| ApiError::unknown_type(name))
    }

    /// Adds a property to a type. The type's table is locked first (the order every writer uses: table,
    /// then anything else) and grown before the new version is published, so a request that sees the new
    /// property always finds its unique index.
    pub fn add_property(
        &self,
        ty: &ObjectType,
        def: PropertyDef,
    ) -> Result<Arc<ObjectType>, Refusal> {
        let mut table = self.store.write(ty);
        let updated = self
            .registry
            .update(ty.index, |current| current.with_property(def))?;
        table.grow(&updated);
        Ok(updated)
    }

    /// The association labels.
    pub fn labels(&self) -> RwLockReadGuard<'_, Labels> {
        self.labels.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The association labels, to create one.
    pub fn labels_mut(&self) -> RwLockWriteGuard<'_, Labels> {
        self.labels.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether batch update/upsert report invalid inputs per row.
    pub fn partial(&self) -> bool {
        self.partial_update_errors.load(Ordering::Relaxed)
    }

    /// What `/_sandbox/stats` reports from the store and the limiter.
    pub fn gauges(&self) -> Gauges {
        let today = time::day_of(time::now_ms());
        Gauges {
            records: self.record_counts(),
            daily_used: self.limits.daily_used(Pool::General, today),
            association_daily_used: self.limits.daily_used(Pool::Associations, today),
            tokens_tracked: self.limits.tracked_tokens(),
        }
    }

    /// Live records per type name.
    pub fn record_counts(&self) -> BTreeMap<String, usize> {
        self.registry
            .all()
            .iter()
            .map(|ty| (ty.name.clone(), self.store.read(ty).live()))
            .collect()
    }

    /// The portal as it started: no records, links, labels or created properties; counters and windows
    /// empty; the validation rules of the start set. The configuration (limits, faults) stays as set.
    pub fn reset(&self) {
        self.registry.reset();
        self.store.clear(&self.registry);
        self.labels_mut().clear();
        self.limits.reset();
        self.stats.reset();
        self.rules.reset();
    }
}
