//! The shared rate budget's cost per request: one round trip to a real `redis-server` on loopback
//! (the GCRA script) against the local limiter's in-process GCRA, both with a window too wide to
//! ever wait. `cargo bench --bench budget` (needs Debian's `redis-server`).

use std::net::TcpListener;
use std::num::NonZeroU32;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use etl::config::budget::{BudgetUrl, SharedBudgetSpec};
use etl::config::secret::Secret;
use etl::portal::budget::SharedBudget;
use etl::portal::gate::RateGate;
use etl::portal::pace::Pace;

/// A `redis-server` on a free loopback port, killed on drop.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start() -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn acquire(c: &mut Criterion) {
    // The binary's own memory settings, so the figures are the ones users get.
    etl::memory::no_huge_pages();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // A billion requests a second: neither gate ever waits, so what is measured is its overhead.
    let n = NonZeroU32::new(1_000_000_000).expect("non-zero");
    let interval = Duration::from_secs(1);
    let mut group = c.benchmark_group("gate_acquire");

    let local = RateGate::new(n, interval);
    group.bench_function("local", |b| {
        b.iter(|| rt.block_on(local.acquire()).expect("a token"))
    });

    let server = Server::start();
    let spec = SharedBudgetSpec {
        url: BudgetUrl::parse(&format!("redis://127.0.0.1:{}/0", server.port)).expect("a URL"),
        outage: Duration::from_secs(5),
    };
    let budget = SharedBudget::new(
        &spec,
        "http://bench.invalid",
        &Secret::new("bench"),
        "general",
        Pace::for_window(n, interval),
        interval,
    )
    .expect("a budget");
    let shared = RateGate::shared(n, interval, budget);
    group.bench_function("shared_redis", |b| {
        b.iter(|| rt.block_on(shared.acquire()).expect("a token"))
    });
    group.finish();
    drop(server);
}

criterion_group!(benches, acquire);
criterion_main!(benches);
