//! Sandbox throughput: batch upserts by email (100 inputs each) from one client keeping 8 requests in
//! flight over loopback, limits set out of the way. `cargo bench --bench sandbox`.

/// The allocator the `etl` binary uses, so the figures are the ones users get.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use etl::sandbox::{self, SandboxConfig};
use serde_json::json;
use tokio::task::JoinSet;

#[path = "../tests/it/support/engine.rs"]
mod engine;

const IN_FLIGHT: usize = 8;
const REQUESTS_PER_ITERATION: usize = 64;
const BATCH: usize = 100;
/// Distinct emails: the first pass creates them, later passes update them (`new: false`).
const POOL: usize = 50_000;

/// Pre-encoded request bodies, so the measured cost is the sandbox's, not the client's encoding.
fn bodies() -> Vec<Vec<u8>> {
    (0..POOL / BATCH)
        .map(|b| {
            let inputs: Vec<_> = (0..BATCH)
                .map(|i| {
                    let n = b * BATCH + i;
                    json!({
                        "id": format!("person{n}@example.com"),
                        "idProperty": "email",
                        "objectWriteTraceId": n.to_string(),
                        "properties": {
                            "firstname": format!("First{n}"),
                            "lastname": "Bench",
                            "phone": "+1 555 0100",
                            "lifecyclestage": "customer",
                            "city": "Springfield",
                        }
                    })
                })
                .collect();
            serde_json::to_vec(&json!({ "inputs": inputs })).expect("encodes")
        })
        .collect()
}

fn upsert_throughput(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let handle = rt.block_on(async {
        sandbox::start(SandboxConfig {
            token: Some("bench".into()),
            requests_per_interval: u32::MAX,
            daily_limit: u64::MAX,
            ..SandboxConfig::default()
        })
        .await
        .expect("sandbox starts")
    });
    let url = format!("{}/crm/v3/objects/contacts/batch/upsert", handle.base_url());
    engine::install_tls();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()
        .expect("client");
    let bodies = Arc::new(bodies());
    let mut next = 0usize;

    let mut group = c.benchmark_group("sandbox");
    group.throughput(Throughput::Elements(
        (REQUESTS_PER_ITERATION * BATCH) as u64,
    ));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("batch_upsert_by_email_8_in_flight", |b| {
        b.iter(|| {
            let start = next;
            next += REQUESTS_PER_ITERATION;
            rt.block_on(async {
                let mut tasks = JoinSet::new();
                for worker in 0..IN_FLIGHT {
                    let client = client.clone();
                    let url = url.clone();
                    let bodies = Arc::clone(&bodies);
                    tasks.spawn(async move {
                        for k in (worker..REQUESTS_PER_ITERATION).step_by(IN_FLIGHT) {
                            let body = bodies[(start + k) % bodies.len()].clone();
                            let response = client
                                .post(&url)
                                .bearer_auth("bench")
                                .header("content-type", "application/json")
                                .body(body)
                                .send()
                                .await
                                .expect("sent");
                            assert_eq!(response.status(), 200);
                            response.bytes().await.expect("read");
                        }
                    });
                }
                while let Some(done) = tasks.join_next().await {
                    done.expect("worker");
                }
            });
        });
    });
    group.finish();
    rt.block_on(handle.shutdown());
}

criterion_group!(benches, upsert_throughput);
criterion_main!(benches);
