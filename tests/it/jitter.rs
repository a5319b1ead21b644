//! The rate gate under arrival jitter: the sandbox holds every request back by a random 0..X ms
//! before its limiter counts it (the network's varying delay), so arrivals bunch where sends did
//! not. The gate reads the portal's count against its own and keeps the excess of the window
//! free; the scenario's own check proves no window of arrivals held more than the limit.

use crate::support::fixtures::contacts;
use crate::support::scenario::Scenario;

#[test]
fn arrivals_straying_by_three_spacings_never_overfill_the_window() {
    // 20 requests a second: one every 50 ms. Arrivals stray by up to 150 ms, three spacings: more
    // than a fixed margin of two requests absorbs.
    let run = Scenario::new()
        .window(20, 1000)
        .sandbox(|s| s.jitter_ms(150).seed(13))
        .csv(contacts(2000))
        .pipeline(|p| {
            p.upsert_by("email")
                .map_contact_columns()
                .concurrency(16)
                .batch_size(25)
        })
        .run();
    run.exit(0).accepted(2000).reported("rate_limited", 0);
}
