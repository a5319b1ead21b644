//! The prepare workers: a rayon pool of `[source] prepare_threads` threads (one per core by
//! default) that parses (a CSV file's blocks) or renders (a Parquet file's slices), maps and
//! validates rows, a whole chunk per task (the prepare thread puts the chunks back in file order).
//!
//! The pool is the job's own, not rayon's global one, so the count the user set is the count used
//! and nothing else in the process competes for it.

use std::num::NonZeroUsize;

/// Rows per chunk, at most: enough that handing a chunk to a worker, and its events to the
/// consumer, costs little per row; few enough that the chunks and events in flight stay small.
/// Measured (`cargo bench --bench prepare`, two workers, chunks streamed): 1,024 rows 57.0 ms a
/// pass, 2,048 rows 55.3–55.8 ms, but `etl run` of 200k rows then peaked at 51–62 MB against
/// 44–45 MB (about six chunks' rows are in flight when the network is the slower side).
pub const CHUNK_ROWS: usize = 1024;

/// The bytes a chunk holds, at most: the chunks in flight hold a few MB whatever the width of the
/// rows. A block of a CSV file holds this many bytes of the file or less (unless one record is
/// longer); a slice of a Parquet file's decoded batch about this many bytes of text (the strings'
/// own lengths, a few bytes a number), as did a chunk of its rows read one by one. A chunk
/// of the bench's 10-column rows (≈ 130 bytes each) ends near [`CHUNK_ROWS`]; one of rows with a
/// long note ends sooner (measured: 2,048 rows of a 256-byte note a chunk took the large Parquet
/// object test's peak from 62 to 64.8 MB, at its 64 MiB bound).
pub const CHUNK_BYTES: usize = 128 * 1024;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_has_the_threads_asked_for_and_one_per_core_by_default() {
        for threads in [1, 2, 4] {
            let workers = Workers::new(NonZeroUsize::new(threads)).unwrap();
            assert_eq!(workers.threads(), threads);
        }
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        assert_eq!(Workers::new(None).unwrap().threads(), cores);
    }
}
