//! The sandbox's two figures: its throughput (batch upserts by email, 100 inputs each, from one client
//! keeping 8 requests in flight over loopback, limits set out of the way) and its memory per contact
//! (resident bytes per record for contacts of 3 and of 10 properties, history kept), printed first.
//! `cargo bench --bench sandbox`.

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

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A sandbox on port 0 with the window and the daily limit out of the way.
async fn start_unlimited() -> sandbox::SandboxHandle {
    sandbox::start(SandboxConfig {
        token: Some("bench".into()),
        requests_per_interval: u32::MAX,
        daily_limit: u64::MAX,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

/// Contacts loaded per memory case, after a warm-up; large enough that the allocator's and the HTTP
/// stack's own buffers vanish in the average.
const MEMORY_RECORDS: usize = 100_000;
const MEMORY_WARM_UP: usize = 2_000;

/// The properties of contact `n` when a contact carries `count` of them (3 or 10), as a rehearsal's
/// CSV would send them: the key, names, and typical short fields.
fn contact(n: usize, count: usize) -> serde_json::Value {
    let mut props = serde_json::Map::new();
    let all = [
        ("email", format!("person{n}@example.com")),
        ("firstname", format!("First{n}")),
        ("lastname", format!("Last{n}")),
        ("phone", format!("+1 555 {:07}", n % 10_000_000)),
        ("city", "Springfield".to_owned()),
        ("state", "Oregon".to_owned()),
        ("zip", format!("{}", 97_000 + n % 1000)),
        ("company", format!("Company {}", n % 5000)),
        ("jobtitle", "Engineer".to_owned()),
        ("lifecyclestage", "customer".to_owned()),
    ];
    for (name, value) in all.into_iter().take(count) {
        props.insert(name.to_owned(), value.into());
    }
    json!({
        "id": format!("person{n}@example.com"),
        "idProperty": "email",
        "objectWriteTraceId": n.to_string(),
        "properties": props,
    })
}

/// This process's resident set in bytes (`VmRSS` of /proc/self/status): what a rehearsal's machine
/// must hold, allocator overhead and fragmentation included.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS in kB")
        * 1024
}

/// Sends one batch upsert and reads its answer whole.
async fn upsert(client: &reqwest::Client, url: &str, body: Vec<u8>) {
    let response = client
        .post(url)
        .bearer_auth("bench")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 200);
    response.bytes().await.expect("read");
}

/// Upserts contacts `range` (100 a request, 8 in flight) into the sandbox at `base`.
async fn load(client: &reqwest::Client, base: &str, range: std::ops::Range<usize>, count: usize) {
    let url = format!("{base}/crm/v3/objects/contacts/batch/upsert");
    let batches: Vec<_> = range.step_by(BATCH).collect();
    let batches = Arc::new(batches);
    let mut tasks = JoinSet::new();
    for worker in 0..IN_FLIGHT {
        let (client, url, batches) = (client.clone(), url.clone(), Arc::clone(&batches));
        tasks.spawn(async move {
            for &first in batches.iter().skip(worker).step_by(IN_FLIGHT) {
                let inputs: Vec<_> = (first..first + BATCH).map(|n| contact(n, count)).collect();
                let body = serde_json::to_vec(&json!({ "inputs": inputs })).expect("encodes");
                upsert(&client, &url, body).await;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("worker");
    }
}

/// Bytes of resident memory per contact held by the sandbox, for contacts of 3 and of 10 properties
/// (HubSpot's derived ones come on top, and every value's history is kept). Each case loads into its
/// own sandbox, which stays alive until both are measured, so no case reuses memory another freed.
fn bytes_per_record(_: &mut Criterion) {
    // The binary's own memory settings, so the figures are the ones users get.
    engine::no_huge_pages();
    let rt = runtime();
    engine::install_tls();
    let client = reqwest::Client::new();
    let mut handles = Vec::new();
    for count in [3, 10] {
        let handle = rt.block_on(start_unlimited());
        let base = handle.base_url();
        rt.block_on(load(&client, &base, 0..MEMORY_WARM_UP, count));
        let before = resident_bytes();
        let records = MEMORY_WARM_UP..MEMORY_WARM_UP + MEMORY_RECORDS;
        rt.block_on(load(&client, &base, records, count));
        let grown = resident_bytes().saturating_sub(before);
        println!(
            "sandbox/bytes_per_record/{count}_properties: {} bytes per contact ({MEMORY_RECORDS} contacts, resident set +{:.1} MB)",
            grown / MEMORY_RECORDS as u64,
            grown as f64 / 1e6
        );
        handles.push(handle);
    }
    for handle in handles {
        rt.block_on(handle.shutdown());
    }
}

fn upsert_throughput(c: &mut Criterion) {
    let rt = runtime();
    let handle = rt.block_on(start_unlimited());
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
                            upsert(&client, &url, body).await;
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

criterion_group!(benches, bytes_per_record, upsert_throughput);
criterion_main!(benches);
