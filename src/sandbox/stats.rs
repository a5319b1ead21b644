//! Counters for tests and benches, served at `GET /_sandbox/stats`: requests per route and status, the
//! busiest rolling window ever seen, and creates per `objectWriteTraceId` (how a test proves no record
//! was created twice).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::limits::SlidingLog;

#[derive(Debug, Default)]
struct Inner {
    routes: BTreeMap<String, BTreeMap<u16, u64>>,
    total: u64,
    log: SlidingLog,
    max_in_window: usize,
    /// `(type index, trace id)` → records created with it.
    creates: HashMap<(usize, String), u32>,
    faults: BTreeMap<&'static str, u64>,
}

/// The counters.
#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<Inner>,
}

impl Stats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A HubSpot-path request arrived (any outcome, 401 and 429 included).
    pub fn arrival(&self, now: Instant, interval: Duration) {
        let mut inner = self.lock();
        inner.total += 1;
        let in_window = inner.log.record(now, interval);
        inner.max_in_window = inner.max_in_window.max(in_window);
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
    pub fn created(&self, type_index: usize, traces: impl IntoIterator<Item = String>) {
        let mut inner = self.lock();
        for trace in traces {
            *inner.creates.entry((type_index, trace)).or_default() += 1;
        }
    }

    /// An injected fault (`throttle`, `server_error`, `locked`, `lost_dropped`, `lost_504`).
    pub fn fault(&self, kind: &'static str) {
        *self.lock().faults.entry(kind).or_default() += 1;
    }

    /// Forgets everything (`/_sandbox/reset`).
    pub fn reset(&self) {
        *self.lock() = Inner::default();
    }

    /// The stats JSON; `records` and `daily_used` come from the store and the limiter.
    pub fn to_json(&self, records: BTreeMap<String, usize>, daily_used: u64) -> Value {
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
        let duplicates: BTreeSet<&str> = inner
            .creates
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|((_, trace), _)| trace.as_str())
            .collect();
        json!({
            "requests": requests,
            "requests_total": inner.total,
            "max_requests_in_window": inner.max_in_window,
            "records": records,
            "creates_per_trace_id_max": inner.creates.values().max().copied().unwrap_or(0),
            "duplicate_create_trace_ids": duplicates,
            "daily_used": daily_used,
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
            stats.arrival(t0 + Duration::from_millis(ms), second);
        }
        // 200, 1150, 1180, 1190, 1199 fit in one second.
        let json = stats.to_json(BTreeMap::new(), 0);
        assert_eq!(json["max_requests_in_window"], 5);
        assert_eq!(json["requests_total"], 7);
    }

    #[test]
    fn duplicate_trace_ids_are_reported_per_type() {
        let stats = Stats::default();
        stats.created(0, ["1".to_owned(), "2".to_owned()]);
        stats.created(1, ["1".to_owned()]);
        assert_eq!(
            stats.to_json(BTreeMap::new(), 0)["creates_per_trace_id_max"],
            1
        );
        stats.created(0, ["2".to_owned()]);
        let json = stats.to_json(BTreeMap::new(), 0);
        assert_eq!(json["creates_per_trace_id_max"], 2);
        assert_eq!(json["duplicate_create_trace_ids"], json!(["2"]));
    }
}
