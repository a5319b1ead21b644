//! Counters for tests and benches, served at `GET /_sandbox/stats`: requests per route and status, the
//! busiest rolling window ever seen (general API and v4 associations apart, as they are limited apart),
//! creates per `objectWriteTraceId` (how a test proves no record was created twice), and every fault
//! kind with its count.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use xxhash_rust::xxh3::xxh3_64;

use super::faults::KINDS;
use super::hasher::FastMap;
use super::limits::{Pool, SlidingLog};

#[derive(Debug)]
struct Inner {
    routes: BTreeMap<String, BTreeMap<u16, u64>>,
    total: u64,
    log: SlidingLog,
    max_in_window: usize,
    association_log: SlidingLog,
    max_association_in_window: usize,
    /// `(type index, hash of the trace id)` → records created with it. A 64-bit hash, not the text:
    /// one entry per created record must stay small and cheap to grow (a table of 100k `String`
    /// keys stalled every request for milliseconds as it doubled). Two trace ids hashing alike would
    /// read as one created twice: about one chance in 400,000 over 10M records (the birthday
    /// bound), a false alarm at worst.
    creates: FastMap<(usize, u64), u32>,
    /// The most records one trace id created, kept as they are counted: the stats are read
    /// between runs, and a scan of 10M counts for it was milliseconds a read.
    creates_max: u32,
    /// The trace ids that created more than one record.
    duplicates: BTreeSet<String>,
    /// Every kind of `KINDS`, from the start: a test reads `faults.throttle` without guessing.
    faults: BTreeMap<&'static str, u64>,
}

impl Default for Inner {
    fn default() -> Inner {
        Inner {
            routes: BTreeMap::new(),
            total: 0,
            log: SlidingLog::default(),
            max_in_window: 0,
            association_log: SlidingLog::default(),
            max_association_in_window: 0,
            creates: FastMap::default(),
            creates_max: 0,
            duplicates: BTreeSet::new(),
            faults: KINDS.iter().map(|kind| (*kind, 0)).collect(),
        }
    }
}

/// The counters.
#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<Inner>,
}

/// What the stats report from elsewhere: the store and the limiter.
#[derive(Debug, Default)]
pub struct Gauges {
    /// Live records per type name.
    pub records: BTreeMap<String, usize>,
    /// General requests counted today.
    pub daily_used: u64,
    /// v4 association requests counted today.
    pub association_daily_used: u64,
    /// Tokens the limiter holds a window for.
    pub tokens_tracked: usize,
}

impl Stats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A HubSpot-path request arrived (any outcome, 401 and 429 included), counted in its pool's window.
    pub fn arrival(&self, now: Instant, interval: Duration, pool: Pool) {
        let mut inner = self.lock();
        inner.total += 1;
        match pool {
            Pool::General => {
                let in_window = inner.log.record(now, interval);
                inner.max_in_window = inner.max_in_window.max(in_window);
            }
            Pool::Associations => {
                let in_window = inner.association_log.record(now, interval);
                inner.max_association_in_window = inner.max_association_in_window.max(in_window);
            }
        }
    }

    /// A response left for `route` (`"POST /crm/v3/objects/{objectType}/batch/upsert"`).
    pub fn response(&self, route: String, status: u16) {
        *self
            .lock()
            .routes
            .entry(route)
            .or_default()
            .entry(status)
            .or_default() += 1;
    }

    /// Records created by inputs that carried trace ids.
    pub fn created<'a>(&self, type_index: usize, traces: impl IntoIterator<Item = &'a str>) {
        let mut inner = self.lock();
        for trace in traces {
            let count = inner
                .creates
                .entry((type_index, xxh3_64(trace.as_bytes())))
                .or_default();
            *count += 1;
            let count = *count;
            inner.creates_max = inner.creates_max.max(count);
            if count == 2 {
                inner.duplicates.insert(trace.to_owned());
            }
        }
    }

    /// An injected fault, one of `faults::KINDS`.
    pub fn fault(&self, kind: &'static str) {
        debug_assert!(KINDS.contains(&kind), "unlisted fault kind {kind}");
        *self.lock().faults.entry(kind).or_default() += 1;
    }

    /// Forgets everything (`/_sandbox/reset`).
    pub fn reset(&self) {
        *self.lock() = Inner::default();
    }

    /// The stats JSON, with `gauges` from the store and the limiter.
    pub fn to_json(&self, gauges: Gauges) -> Value {
        let inner = self.lock();
        let requests: BTreeMap<&str, BTreeMap<String, u64>> = inner
            .routes
            .iter()
            .map(|(route, by_status)| {
                (
                    route.as_str(),
                    by_status
                        .iter()
                        .map(|(status, n)| (status.to_string(), *n))
                        .collect(),
                )
            })
            .collect();
        json!({
            "requests": requests,
            "requests_total": inner.total,
            "max_requests_in_window": inner.max_in_window,
            "max_association_requests_in_window": inner.max_association_in_window,
            "records": gauges.records,
            "creates_per_trace_id_max": inner.creates_max,
            "duplicate_create_trace_ids": inner.duplicates,
            "daily_used": gauges.daily_used,
            "association_daily_used": gauges.association_daily_used,
            "tokens_tracked": gauges.tokens_tracked,
            "faults": inner.faults,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_in_window_is_the_busiest_window() {
        let stats = Stats::default();
        let t0 = Instant::now();
        let second = Duration::from_secs(1);
        for ms in [0, 100, 200, 1150, 1180, 1190, 1199] {
            stats.arrival(t0 + Duration::from_millis(ms), second, Pool::General);
        }
        stats.arrival(t0, second, Pool::Associations);
        // 200, 1150, 1180, 1190, 1199 fit in one second.
        let json = stats.to_json(Gauges::default());
        assert_eq!(json["max_requests_in_window"], 5);
        assert_eq!(json["max_association_requests_in_window"], 1);
        assert_eq!(json["requests_total"], 8);
    }

    #[test]
    fn duplicate_trace_ids_are_reported_per_type() {
        let stats = Stats::default();
        stats.created(0, ["1", "2"]);
        stats.created(1, ["1"]);
        assert_eq!(
            stats.to_json(Gauges::default())["creates_per_trace_id_max"],
            1
        );
        stats.created(0, ["2"]);
        let json = stats.to_json(Gauges::default());
        assert_eq!(json["creates_per_trace_id_max"], 2);
        assert_eq!(json["duplicate_create_trace_ids"], json!(["2"]));
        stats.reset();
        let json = stats.to_json(Gauges::default());
        assert_eq!(json["creates_per_trace_id_max"], 0);
        assert_eq!(json["duplicate_create_trace_ids"], json!([]));
    }

    #[test]
    fn every_fault_kind_is_listed_from_the_start() {
        let stats = Stats::default();
        stats.fault("lost_504");
        let faults = stats.to_json(Gauges::default())["faults"].clone();
        assert_eq!(faults.as_object().unwrap().len(), KINDS.len());
        assert_eq!(faults["throttle"], 0);
        assert_eq!(faults["lost_504"], 1);
        stats.reset();
        assert_eq!(stats.to_json(Gauges::default())["faults"]["lost_504"], 0);
    }
}
