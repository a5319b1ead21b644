//! The rate budget shared by every process that names the same Redis and the same portal: one
//! GCRA state in Redis (`gcra.lua`, run atomically by the server on its own clock), drawn from at
//! the pace of [`super::pace`], so several `etl run`s together keep the window one run keeps alone.
//!
//! The portal's key is derived from its base URL and a hash of the token (never the token): runs
//! with the same app against the same portal share, anything else does not.
//!
//! Redis failing never means exceeding the window: while it is unreachable nothing is sent; the
//! connection is retried with backoff, and after the configured outage the run stops, resumable.
//! A Redis that comes back may have lost its state (a restart without persistence), so the first
//! request after an outage waits one whole window from the moment the outage was noticed: every
//! token the old state gave out was given before that moment, so no window holds tokens of both.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ErrorKind, RedisError, ServerErrorKind};

use super::pace::{BURST_CELLS, Pace};
use crate::config::budget::SharedBudgetSpec;
use crate::config::secret::Secret;

/// How long one Redis round trip (or connection attempt) may take before it counts as a failure.
const ROUND_TRIP_LIMIT: Duration = Duration::from_secs(2);
/// The first pause between reconnection attempts; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long a spent daily limit is remembered for every process. The portal's day ends at
/// midnight in the account's time zone, which we do not know: a short memory means a process
/// after the reset at worst waits this long, or one process asks the portal and is told again.
const SPENT_MEMORY: Duration = Duration::from_secs(600);

/// Why the shared budget could not give a request its token.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BudgetError {
    /// A bad URL, a refused password, a Redis that rejects the script: fatal.
    #[error("the shared budget at {shown} cannot be used: {message}")]
    Refused { shown: String, message: String },
    /// Unreachable for longer than the configured outage: stop, resumable.
    #[error(
        "the shared budget at {shown} has been unreachable for {}s ({reason}); nothing was sent \
         meanwhile",
        .waited.as_secs()
    )]
    Unreachable {
        shown: String,
        waited: Duration,
        reason: String,
    },
    /// Another process was told the portal's daily limit is spent.
    #[error("{0}")]
    DailySpent(String),
}

/// One portal's budget in Redis, as one process draws from it.
pub struct SharedBudget {
    client: redis::Client,
    shown: String,
    tat_key: String,
    spent_key: String,
    /// One cell of the pace, in nanoseconds: a request's spacing and tolerance are counted in cells.
    cell_ns: u64,
    interval: Duration,
    outage_limit: Duration,
    script: redis::Script,
    /// One task of this process asks Redis at a time and the others queue here: a tokio mutex held
    /// across the round trip and the wait on purpose, so a process's tasks do not all poll Redis
    /// for the same slot (and take their turns first come, first served).
    turn: tokio::sync::Mutex<()>,
    /// The live connection (cheap to clone; `None` after a failure).
    conn: Mutex<Option<MultiplexedConnection>>,
    /// When the current outage was noticed; `None` while Redis answers.
    down_since: Mutex<Option<Instant>>,
}

impl SharedBudget {
    /// The budget `spec` names for the portal at `base_url` used with `token`, paced for
    /// `pace` over `interval`. Nothing is sent yet: the first [`SharedBudget::acquire`] connects.
    pub fn new(
        spec: &SharedBudgetSpec,
        base_url: &str,
        token: &Secret,
        window: &str,
        pace: Pace,
        interval: Duration,
    ) -> Result<SharedBudget, BudgetError> {
        let shown = spec.url.shown().to_string();
        // The client's own message could repeat the URL (and its password): say it our way.
        let client =
            redis::Client::open(spec.url.expose()).map_err(|err| BudgetError::Refused {
                shown: shown.clone(),
                message: format!("not a usable Redis URL ({:?})", err.kind()),
            })?;
        let key = portal_key(base_url, token);
        Ok(SharedBudget {
            client,
            shown,
            tat_key: format!("{key}:{window}:tat"),
            spent_key: format!("{key}:daily_spent"),
            cell_ns: u64::try_from(pace.cell.as_nanos()).unwrap_or(u64::MAX),
            interval,
            outage_limit: spec.outage,
            script: redis::Script::new(include_str!("gcra.lua")),
            turn: tokio::sync::Mutex::new(()),
            conn: Mutex::new(None),
            down_since: Mutex::new(None),
        })
    }

    /// The budget's URL without credentials.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// How long Redis has been unreachable, while it is (for the progress line).
    pub fn unreachable_for(&self) -> Option<Duration> {
        self.down_since
            .lock()
            .expect("budget lock")
            .map(|t| t.elapsed())
    }

    /// Waits until the shared window has room for one more request costing `cost` cells of the
    /// pace ([`Pace::cost`]), and takes its token: the same bucket as the local gate's, in Redis.
    pub async fn acquire(&self, cost: u32) -> Result<(), BudgetError> {
        let _turn = self.turn.lock().await;
        let cost = cost.min(BURST_CELLS);
        // The script counts microseconds: a request's spacing is `cost` cells, and it may go as
        // far ahead of the bucket's schedule as the cells the bucket holds beyond it.
        // Rounding: the spacing up, the tolerance down, so the bound never loosens.
        let nanos = |cells: u32| u128::from(cells) * u128::from(self.cell_ns);
        let spacing_us = u64::try_from(nanos(cost).div_ceil(1000))
            .unwrap_or(u64::MAX)
            .max(1);
        let tolerance_us = u64::try_from(nanos(BURST_CELLS - cost) / 1000).unwrap_or(u64::MAX);
        let mut backoff = FIRST_BACKOFF;
        loop {
            let answer = match self.connection().await {
                Ok(mut conn) => {
                    self.script
                        .key(&self.tat_key)
                        .key(&self.spent_key)
                        .arg(spacing_us)
                        .arg(tolerance_us)
                        .invoke_async::<(i64, String)>(&mut conn)
                        .await
                }
                Err(err) => Err(err),
            };
            match answer {
                Ok((0, _)) => return Ok(()),
                Ok((1, wait)) => {
                    // The script says when the next token is due; never sleep past a window.
                    let wait = wait.parse::<u64>().unwrap_or(spacing_us);
                    tokio::time::sleep(Duration::from_micros(wait).min(self.interval)).await;
                }
                Ok((_, message)) => return Err(BudgetError::DailySpent(message)),
                Err(err) if transient(&err) => {
                    *self.conn.lock().expect("budget lock") = None;
                    self.wait_out(&err, &mut backoff).await?;
                }
                Err(err) => {
                    return Err(BudgetError::Refused {
                        shown: self.shown.clone(),
                        message: err.to_string(),
                    });
                }
            }
        }
    }

    /// Tells every process sharing the budget that the portal's daily limit is spent, so they stop
    /// without asking the portal again. Best effort: a process not told asks and is told by HubSpot.
    pub async fn daily_spent(&self, message: &str) {
        let Some(mut conn) = self.conn.lock().expect("budget lock").clone() else {
            return;
        };
        let set = redis::cmd("SET")
            .arg(&self.spent_key)
            .arg(message)
            .arg("PX")
            .arg(SPENT_MEMORY.as_millis() as u64)
            .query_async::<()>(&mut conn)
            .await;
        if let Err(err) = set {
            tracing::debug!(budget = %self.shown, error = %err, "could not share the daily stop");
        }
    }

    /// The live connection, or a new one. The first connection after an outage waits until a
    /// whole window has passed since the outage was noticed (the state may be gone).
    async fn connection(&self) -> Result<MultiplexedConnection, RedisError> {
        if let Some(conn) = self.conn.lock().expect("budget lock").clone() {
            return Ok(conn);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(ROUND_TRIP_LIMIT))
            .set_response_timeout(Some(ROUND_TRIP_LIMIT));
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        let down_since = *self.down_since.lock().expect("budget lock");
        if let Some(since) = down_since {
            tracing::info!(
                budget = %self.shown,
                "the shared budget is reachable again; sending resumes one window after the outage began"
            );
            tokio::time::sleep_until((since + self.interval).into()).await;
            *self.down_since.lock().expect("budget lock") = None;
        }
        *self.conn.lock().expect("budget lock") = Some(conn.clone());
        Ok(conn)
    }

    /// Waits before the next attempt after `err`, or gives up once the outage is too long.
    async fn wait_out(&self, err: &RedisError, backoff: &mut Duration) -> Result<(), BudgetError> {
        let since = {
            let mut down = self.down_since.lock().expect("budget lock");
            *down.get_or_insert_with(|| {
                tracing::warn!(
                    budget = %self.shown,
                    error = %err,
                    limit_s = self.outage_limit.as_secs(),
                    "the shared budget is unreachable: sending is paused until it answers"
                );
                Instant::now()
            })
        };
        let waited = since.elapsed();
        if waited >= self.outage_limit {
            return Err(BudgetError::Unreachable {
                shown: self.shown.clone(),
                waited,
                reason: err.to_string(),
            });
        }
        tokio::time::sleep((*backoff).min(self.outage_limit - waited)).await;
        *backoff = (*backoff * 2).min(MAX_BACKOFF);
        Ok(())
    }
}

/// The Redis key of one portal used by one app: its base URL and a 128-bit hash of the token. The
/// braces make it one Redis Cluster hash slot, so both keys of the script live together.
fn portal_key(base_url: &str, token: &Secret) -> String {
    let hash = xxhash_rust::xxh3::xxh3_128(token.expose().as_bytes());
    format!("etl:budget:{{{base_url}|{hash:032x}}}")
}

/// A failure that may pass: the connection, a timeout, a Redis still loading or failing over.
/// Anything else (a refused password, a rejected script) will not pass by waiting.
fn transient(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || matches!(
            err.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ReadOnly
                    | ServerErrorKind::ClusterDown
            )
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_names_the_portal_and_hides_the_token() {
        let token = Secret::new("pat-na1-11111111-2222");
        let key = portal_key("https://api.hubapi.com", &token);
        assert!(
            key.starts_with("etl:budget:{https://api.hubapi.com|"),
            "{key}"
        );
        assert!(!key.contains("pat-na1"), "{key}");
        assert_ne!(
            key,
            portal_key("https://api.hubapi.com", &Secret::new("other"))
        );
        assert_ne!(key, portal_key("http://127.0.0.1:8080", &token));
    }
}
