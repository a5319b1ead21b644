//! The prepare workers: a rayon pool of `[source] prepare_threads` threads (one per core by
//! default) that maps and validates rows a chunk at a time, each chunk handed back in file order.
//!
//! The pool is the job's own, not rayon's global one, so the count the user set is the count used
//! and nothing else in the process competes for it.

use std::num::NonZeroUsize;

use rayon::prelude::*;

/// Rows per chunk, at most: enough that handing a chunk to the pool costs little per row, and that
/// the workers seldom meet at a chunk's end. Measured (`cargo bench --bench prepare`, two workers):
/// 1,024 rows 75 ms a pass, 2,048 and 4,096 both 67 ms.
pub const CHUNK_ROWS: usize = 2048;

/// The fields' bytes a chunk holds, at most: the chunks in flight (one being read, one being
/// mapped, one being batched) hold a few MB whatever the width of the rows. A chunk of the
/// bench's 10-column rows (≈ 130 bytes each) ends near [`CHUNK_ROWS`]; one of rows with a long
/// note ends sooner (measured: 2,048 rows of a 256-byte note a chunk took the large Parquet object
/// test's peak from 62 to 64.8 MB, at its 64 MiB bound).
pub const CHUNK_BYTES: usize = 256 * 1024;

/// Rows one task of the pool takes at least: splitting finer costs more than it spreads.
const MIN_ROWS_PER_TASK: usize = 64;

/// The threads that prepare rows.
pub struct Workers {
    pool: rayon::ThreadPool,
}

impl Workers {
    /// A pool of `threads` threads; `None`: one per core the process may use.
    pub fn new(threads: Option<NonZeroUsize>) -> Result<Workers, rayon::ThreadPoolBuildError> {
        let threads = threads
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("etl-prepare-{i}"))
            .build()?;
        Ok(Workers { pool })
    }

    /// How many threads prepare rows.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Runs `work` on the calling thread while the tasks it spawns run on the pool; returns when
    /// they all have.
    pub fn scope<'scope, R>(&self, work: impl FnOnce(&rayon::Scope<'scope>) -> R) -> R {
        self.pool.in_place_scope(work)
    }
}

/// `f` over `items`, results in the items' order; spread over the current pool's threads when it
/// has more than one (one thread: a plain loop, no task overhead).
pub fn map_in_order<T: Send, U: Send>(items: Vec<T>, f: impl Fn(T) -> U + Sync + Send) -> Vec<U> {
    if rayon::current_num_threads() > 1 {
        items
            .into_par_iter()
            .with_min_len(MIN_ROWS_PER_TASK)
            .map(f)
            .collect()
    } else {
        items.into_iter().map(f).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_of_the_items_whatever_the_threads() {
        let items: Vec<u64> = (0..10_000).collect();
        let expected: Vec<u64> = items.iter().map(|i| i * 3).collect();
        for threads in [1, 2, 4] {
            let workers = Workers::new(NonZeroUsize::new(threads)).unwrap();
            assert_eq!(workers.threads(), threads);
            let mut got = Vec::new();
            workers.scope(|scope| scope.spawn(|_| got = map_in_order(items.clone(), |i| i * 3)));
            assert_eq!(got, expected, "{threads} threads");
        }
    }
}
