//! Process-wide memory settings, applied first thing by the binary (and by the benches, so their
//! figures are the ones users get).
//!
//! Transparent huge pages are turned off for the process. mimalloc asks the kernel for them on its
//! arenas, and on a virtual machine the first touch of a fresh 2 MiB page costs milliseconds:
//! measured on the 2-core VM of docs/benchmarks.md ("Huge pages off"), a hash table growing past
//! 448 entries stalled 6 ms, the sandbox's tables growing at 57k and 115k contacts stalled every
//! request for 17–57 ms, and `etl run` of 200k rows peaked at 66–75 MB against 42–50 MB with 4 KiB
//! pages, its CPU the same.

/// Turns transparent huge pages off for this process (Linux; elsewhere nothing to do). A kernel
/// that refuses leaves the process as it was: a cost in memory, never an error.
pub fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(err) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!(%err, "transparent huge pages stay on");
    }
}
