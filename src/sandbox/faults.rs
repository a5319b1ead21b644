//! Injected faults, decided by seeded dice (`StdRng::seed_from_u64`) so a failing run can be replayed:
//! spurious 429s, 5xx with nothing written, 423 on batch upserts, "lost responses" (the write lands,
//! then the client gets a dropped connection or a 504), and garbled answers (the write lands, then its
//! 2xx body is damaged: `garble.rs`). Also draws the UUID-shaped correlation ids, and the random
//! delay a request takes to reach the limiter (`jitter`: the network between a client and HubSpot,
//! whose varying delay moves arrivals closer together than they were sent).

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::http::StatusCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::garble::Garble;

/// Every fault kind, as `/_sandbox/stats` `faults` names them (each listed, 0 included).
pub const KINDS: [&str; 11] = [
    "throttle",
    "server_error",
    "locked",
    "lost_dropped",
    "lost_504",
    "garbled_truncated",
    "garbled_empty_results",
    "garbled_fewer_results",
    "garbled_unknown_trace_ids",
    "garbled_numeric_trace_id",
    "garbled_not_json",
];

/// The fault knobs (changeable at run time through `/_sandbox/config`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    pub fault: f64,
    pub lost: f64,
    pub throttle: f64,
    pub locked: f64,
    pub garble: f64,
    pub latency: Duration,
    /// Every HubSpot-path request reaches the limiter after a uniformly random delay in `0..=jitter`.
    pub jitter: Duration,
}

/// How a lost response reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lost {
    /// Headers, then the connection closes mid-body.
    Dropped,
    /// A 504 Gateway Timeout.
    GatewayTimeout,
}

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Throttle,
    Server(StatusCode),
    Locked,
    Lost(Lost),
    /// Apply the write, then damage its 2xx body (the kind is picked once the body is known).
    Garble,
}

/// The dice.
#[derive(Debug)]
pub struct Faults {
    dice: Mutex<StdRng>,
    ids: Mutex<StdRng>,
    delays: Mutex<StdRng>,
    rates: Mutex<Rates>,
}

impl Faults {
    /// Dice seeded with `seed`. Correlation ids come from a second generator, so the fault sequence
    /// depends only on the order of write requests, not on how many reads came in between; arrival
    /// delays from a third, so turning jitter on leaves the fault sequence of a seed unchanged.
    pub fn new(seed: u64, rates: Rates) -> Faults {
        Faults {
            dice: Mutex::new(StdRng::seed_from_u64(seed)),
            ids: Mutex::new(StdRng::seed_from_u64(seed ^ 0x05ee_dc0d_e1d5)),
            delays: Mutex::new(StdRng::seed_from_u64(seed ^ 0x0de1_a7ed)),
            rates: Mutex::new(rates),
        }
    }

    /// The current knobs.
    pub fn rates(&self) -> Rates {
        *self.rates.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the knobs.
    pub fn set_rates(&self, rates: Rates) {
        *self.rates.lock().unwrap_or_else(PoisonError::into_inner) = rates;
    }

    /// Rolls for one request. One uniform draw picks at most one fault (the rates add up to ≤ 1);
    /// 423 applies only to batch upserts. Garbling comes last, so adding it leaves the sequence the other
    /// rates produce for a seed unchanged.
    pub fn draw(&self, upsert: bool) -> Option<Fault> {
        let rates = self.rates();
        if rates.fault + rates.lost + rates.throttle + rates.locked + rates.garble <= 0.0 {
            return None;
        }
        let mut rng = self.dice.lock().unwrap_or_else(PoisonError::into_inner);
        let roll: f64 = rng.random();
        let mut edge = rates.throttle;
        if roll < edge {
            return Some(Fault::Throttle);
        }
        edge += rates.fault;
        if roll < edge {
            let status = [
                StatusCode::INTERNAL_SERVER_ERROR,
                StatusCode::BAD_GATEWAY,
                StatusCode::SERVICE_UNAVAILABLE,
            ][rng.random_range(0..3)];
            return Some(Fault::Server(status));
        }
        edge += rates.locked;
        if roll < edge {
            return upsert.then_some(Fault::Locked);
        }
        edge += rates.lost;
        if roll < edge {
            let how = if rng.random_bool(0.5) {
                Lost::Dropped
            } else {
                Lost::GatewayTimeout
            };
            return Some(Fault::Lost(how));
        }
        edge += rates.garble;
        if roll < edge {
            return Some(Fault::Garble);
        }
        None
    }

    /// How long the next request takes to reach the limiter: uniform in `0..=jitter`.
    pub fn arrival_delay(&self) -> Duration {
        let jitter = self.rates().jitter;
        if jitter.is_zero() {
            return Duration::ZERO;
        }
        let mut rng = self.delays.lock().unwrap_or_else(PoisonError::into_inner);
        Duration::from_nanos(
            rng.random_range(0..=jitter.as_nanos().min(u128::from(u64::MAX)) as u64),
        )
    }

    /// Picks how to damage a body among the kinds that apply to it (same dice, so a seed replays).
    pub fn pick(&self, choices: &[Garble]) -> Option<Garble> {
        if choices.is_empty() {
            return None;
        }
        let mut rng = self.dice.lock().unwrap_or_else(PoisonError::into_inner);
        Some(choices[rng.random_range(0..choices.len())])
    }

    /// A version-4-shaped UUID from the seeded generator.
    pub fn uuid(&self) -> String {
        let bits: u128 = self
            .ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .random();
        let bits = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
        let hex = format!("{bits:032x}");
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults() {
        let rates = Rates {
            fault: 0.2,
            lost: 0.2,
            throttle: 0.2,
            locked: 0.2,
            garble: 0.0,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
        };
        let a = Faults::new(7, rates);
        let b = Faults::new(7, rates);
        let draws_a: Vec<_> = (0..50).map(|_| a.draw(true)).collect();
        let draws_b: Vec<_> = (0..50).map(|_| b.draw(true)).collect();
        assert_eq!(draws_a, draws_b);
        assert!(draws_a.iter().any(|d| d.is_none()));
        assert!(draws_a.contains(&Some(Fault::Locked)));
    }

    #[test]
    fn garbling_comes_last_and_picks_among_choices() {
        let rates = Rates {
            garble: 1.0,
            ..Rates::default()
        };
        let faults = Faults::new(3, rates);
        assert!((0..20).all(|_| faults.draw(false) == Some(Fault::Garble)));
        let choices = [Garble::Truncated, Garble::NotJson];
        let picks: Vec<_> = (0..50).map(|_| faults.pick(&choices).unwrap()).collect();
        assert!(picks.contains(&Garble::Truncated) && picks.contains(&Garble::NotJson));
        assert_eq!(faults.pick(&[]), None);
    }

    #[test]
    fn arrival_delays_stay_within_the_jitter_and_vary() {
        let none = Faults::new(1, Rates::default());
        assert_eq!(none.arrival_delay(), Duration::ZERO);
        let jitter = Duration::from_millis(30);
        let faults = Faults::new(
            1,
            Rates {
                jitter,
                ..Rates::default()
            },
        );
        let delays: Vec<_> = (0..200).map(|_| faults.arrival_delay()).collect();
        assert!(delays.iter().all(|d| *d <= jitter));
        assert!(
            delays.iter().any(|d| *d < jitter / 4) && delays.iter().any(|d| *d > jitter * 3 / 4)
        );
    }

    #[test]
    fn no_rates_no_faults() {
        let faults = Faults::new(1, Rates::default());
        assert!((0..100).all(|_| faults.draw(true).is_none()));
    }

    #[test]
    fn uuids_are_uuid_shaped() {
        let id = Faults::new(1, Rates::default()).uuid();
        let parts: Vec<_> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_eq!(&id[14..15], "4");
    }
}
