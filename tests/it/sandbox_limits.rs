//! The sandbox's limits, faults, stats and runtime configuration over loopback. Timing is asserted only
//! in the safe direction (a window is shrunk through `/_sandbox/config` instead of waiting it out).

use std::time::{Duration, Instant};

use etl::sandbox::SandboxConfig;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::sandbox::{Sandbox, TOKEN, assert_uuid, config};

fn limited(requests: u32, interval_ms: u64) -> SandboxConfig {
    SandboxConfig {
        requests_per_interval: requests,
        interval: Duration::from_millis(interval_ms),
        ..config()
    }
}

#[tokio::test]
async fn every_hubspot_response_carries_the_rate_limit_headers() {
    let sb = Sandbox::start(limited(10, 10_000)).await;
    let reply = sb.get("/crm/v3/objects/contacts").await;
    assert_eq!(reply.header("x-hubspot-ratelimit-max"), Some("10"));
    assert_eq!(reply.header("x-hubspot-ratelimit-remaining"), Some("9"));
    assert_eq!(
        reply.header("x-hubspot-ratelimit-interval-milliseconds"),
        Some("10000")
    );
    assert_eq!(reply.header("x-hubspot-ratelimit-daily"), Some("250000"));
    assert_eq!(
        reply.header("x-hubspot-ratelimit-daily-remaining"),
        Some("249999")
    );
    let reply = sb.get("/crm/v3/objects/contacts/1").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(
        reply.header("x-hubspot-ratelimit-remaining"),
        Some("8"),
        "errors carry them too"
    );
    let stats = sb.send_as(None, Method::GET, "/_sandbox/stats", None).await;
    assert!(
        stats.header("x-hubspot-ratelimit-max").is_none(),
        "not on /_sandbox/"
    );
}

#[tokio::test]
async fn the_rolling_window_refuses_request_n_plus_one_then_rolls() {
    // A long window while counting (no timing risk on a loaded machine) …
    let sb = Sandbox::start(limited(5, 60_000)).await;
    for i in 0..5 {
        let reply = sb.get("/crm/v3/objects/contacts").await;
        assert_eq!(reply.status, StatusCode::OK, "request {i}");
    }
    let reply = sb.get("/crm/v3/objects/contacts").await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        reply.header("content-type"),
        Some("application/json;charset=utf-8")
    );
    assert_eq!(reply.body["status"], "error");
    assert_eq!(
        reply.body["message"],
        "You have reached your ten_secondly_rolling limit."
    );
    assert_eq!(reply.body["errorType"], "RATE_LIMIT");
    assert_eq!(reply.body["policyName"], "TEN_SECONDLY_ROLLING");
    assert!(
        reply.body["groupName"]
            .as_str()
            .unwrap()
            .starts_with("publicapi:")
    );
    assert_uuid(&reply.body["correlationId"]);
    assert_eq!(reply.header("x-hubspot-ratelimit-remaining"), Some("0"));
    assert!(
        reply.header("retry-after").is_none(),
        "no Retry-After by default"
    );
    // The refused request counted in the window: still refused.
    assert_eq!(
        sb.get("/crm/v3/objects/contacts").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // … then the shortest window, and it rolls. The sandbox's window runs on the wall clock
    // (`std::time::Instant`), which tokio's paused time does not move, so a real wait is unavoidable;
    // with a 1 ms window it is 2 ms (a longer wait on a loaded machine only makes it surer).
    sb.configure(json!({"interval_ms": 1, "retry_after": true}))
        .await;
    tokio::time::sleep(Duration::from_millis(2)).await;
    let reply = sb.get("/crm/v3/objects/contacts").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header("x-hubspot-ratelimit-interval-milliseconds"),
        Some("1")
    );

    let stats = sb.stats().await;
    assert_eq!(
        stats["requests"]["GET /crm/v3/objects/{objectType}"]["429"],
        2
    );
    assert_eq!(
        stats["requests"]["GET /crm/v3/objects/{objectType}"]["200"],
        6
    );
    assert_eq!(
        stats["daily_used"], 6,
        "429s do not count against the daily limit"
    );

    // With the knob on, a 429 says when to come back.
    sb.configure(json!({"interval_ms": 60_000, "requests_per_interval": 1}))
        .await;
    sb.get("/crm/v3/objects/contacts").await;
    let reply = sb.get("/crm/v3/objects/contacts").await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(reply.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
}

#[tokio::test]
async fn windows_are_per_token() {
    let sb = Sandbox::start(SandboxConfig {
        token: None,
        ..limited(2, 60_000)
    })
    .await;
    for token in ["one", "two"] {
        for _ in 0..2 {
            let reply = sb
                .send_as(Some(token), Method::GET, "/crm/v3/objects/contacts", None)
                .await;
            assert_eq!(reply.status, StatusCode::OK);
        }
    }
    let reply = sb
        .send_as(Some("one"), Method::GET, "/crm/v3/objects/contacts", None)
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(sb.stats().await["max_requests_in_window"], 5);
}

#[tokio::test]
async fn the_daily_limit() {
    let sb = Sandbox::start(SandboxConfig {
        daily_limit: 3,
        ..config()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            sb.get("/crm/v3/objects/contacts").await.status,
            StatusCode::OK
        );
    }
    let reply = sb.get("/crm/v3/objects/contacts").await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.body["message"], "You have reached your daily limit.");
    assert_eq!(reply.body["errorType"], "RATE_LIMIT");
    assert_eq!(reply.body["policyName"], "DAILY");
    assert_uuid(&reply.body["requestId"]);
    assert_uuid(&reply.body["correlationId"]);
    assert_eq!(
        reply.header("x-hubspot-ratelimit-daily-remaining"),
        Some("0")
    );
    assert_eq!(sb.stats().await["daily_used"], 3);

    // A scheduler raises the limit before resuming.
    let reply = sb.configure(json!({"daily_limit": 10})).await;
    assert_eq!(reply.body["daily_limit"], 10);
    let reply = sb.get("/crm/v3/objects/contacts").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header("x-hubspot-ratelimit-daily-remaining"),
        Some("6")
    );
    sb.configure(json!({"reset_daily": true})).await;
    assert_eq!(sb.stats().await["daily_used"], 0);
}

async fn create_status(sb: &Sandbox, email: &str) -> StatusCode {
    sb.post(
        "/crm/v3/objects/contacts",
        json!({"properties": {"email": email}}),
    )
    .await
    .status
}

#[tokio::test]
async fn server_faults_write_nothing_and_spare_reads() {
    let sb = Sandbox::start(SandboxConfig {
        fault_rate: 1.0,
        ..config()
    })
    .await;
    for i in 0..6 {
        let reply = sb
            .post(
                "/crm/v3/objects/contacts",
                json!({"properties": {"email": format!("f{i}@example.com")}}),
            )
            .await;
        assert!(
            [500, 502, 503].contains(&reply.status.as_u16()),
            "{}",
            reply.status
        );
        assert_eq!(reply.body["status"], "error");
        assert_uuid(&reply.body["correlationId"]);
    }
    assert_eq!(sb.records("contacts").await, 0);
    assert_eq!(
        sb.get("/crm/v3/objects/contacts").await.status,
        StatusCode::OK
    );
    let read = sb
        .post("/crm/v3/objects/contacts/batch/read", json!({"inputs": []}))
        .await;
    assert_eq!(read.status, StatusCode::OK, "batch read is not a write");
    assert_eq!(sb.stats().await["faults"]["server_error"], 6);
    sb.configure(json!({"fault_rate": 0.0})).await;
    assert_eq!(
        create_status(&sb, "ok@example.com").await,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn spurious_throttles_and_locks() {
    let sb = Sandbox::start(SandboxConfig {
        throttle_rate: 1.0,
        ..config()
    })
    .await;
    let reply = sb
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "t@example.com"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(sb.records("contacts").await, 0);

    sb.configure(json!({"throttle_rate": 0.0, "locked_rate": 1.0}))
        .await;
    let upsert =
        json!({"inputs": [{"id": "l@example.com", "idProperty": "email", "properties": {}}]});
    let reply = sb
        .post("/crm/v3/objects/contacts/batch/upsert", upsert)
        .await;
    assert_eq!(reply.status, StatusCode::LOCKED);
    assert_eq!(reply.body["status"], "error");
    assert_eq!(sb.records("contacts").await, 0);
    // 423 is for batch upserts only.
    assert_eq!(
        create_status(&sb, "c@example.com").await,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn lost_responses_land_the_write() {
    let sb = Sandbox::start(SandboxConfig {
        lost_response_rate: 1.0,
        seed: 3,
        ..config()
    })
    .await;
    let client = crate::support::sandbox::http();
    for i in 0..12 {
        let sent = client
            .post(format!("{}/crm/v3/objects/contacts", sb.base))
            .bearer_auth(TOKEN)
            .json(&json!({"properties": {"email": format!("lost{i}@example.com")}}))
            .send()
            .await;
        match sent {
            Err(_) => {}
            Ok(response) if response.status() == StatusCode::GATEWAY_TIMEOUT => {}
            Ok(response) => assert!(response.bytes().await.is_err(), "the body must be cut off"),
        }
    }
    sb.configure(json!({"lost_response_rate": 0.0})).await;
    assert_eq!(sb.records("contacts").await, 12, "every write landed");
    let reply = sb
        .get("/crm/v3/objects/contacts/lost0@example.com?idProperty=email")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let faults = &sb.stats().await["faults"];
    assert!(faults["lost_dropped"].as_u64().unwrap() > 0, "{faults}");
    assert!(faults["lost_504"].as_u64().unwrap() > 0, "{faults}");
}

#[tokio::test]
async fn same_seed_same_fault_sequence() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sb = Sandbox::start(SandboxConfig {
            fault_rate: 0.5,
            seed: 11,
            ..config()
        })
        .await;
        let mut statuses = Vec::new();
        for i in 0..10 {
            statuses.push(
                create_status(&sb, &format!("s{i}@example.com"))
                    .await
                    .as_u16(),
            );
        }
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&201) && runs[0].iter().any(|s| *s >= 500),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn latency_is_added() {
    let sb = Sandbox::start(SandboxConfig {
        latency: Duration::from_millis(150),
        ..config()
    })
    .await;
    let start = Instant::now();
    sb.get("/crm/v3/objects/contacts").await;
    assert!(start.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn stats_and_config() {
    let sb = Sandbox::start(limited(1000, 60_000)).await;
    for _ in 0..7 {
        sb.get("/crm/v3/objects/deals").await;
    }
    sb.send_as(None, Method::GET, "/crm/v3/objects/deals", None)
        .await;
    let stats = sb.stats().await;
    assert_eq!(stats["requests_total"], 8);
    assert_eq!(stats["max_requests_in_window"], 8);
    assert_eq!(
        stats["requests"]["GET /crm/v3/objects/{objectType}"]["200"],
        7
    );
    assert_eq!(
        stats["requests"]["GET /crm/v3/objects/{objectType}"]["401"],
        1
    );
    assert_eq!(stats["daily_used"], 7);
    assert_eq!(stats["records"]["deals"], 0);
    assert!(stats["records"].as_object().unwrap().len() >= 23);

    let reply = sb
        .configure(json!({"fault_rate": 0.8, "throttle_rate": 0.5}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = sb.configure(json!({"no_such_knob": 1})).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = sb
        .configure(json!({"requests_per_interval": 20, "interval_ms": 5000, "latency_ms": 0, "fault_rate": 0.1}))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["requests_per_interval"], 20);
    assert_eq!(reply.body["fault_rate"], 0.1);
    let reply = sb.get("/crm/v3/objects/deals").await;
    assert_eq!(reply.header("x-hubspot-ratelimit-max"), Some("20"));
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let sb = Sandbox::new().await;
    let base = sb.base.clone();
    assert_eq!(sb.handle().addr().ip().to_string(), "127.0.0.1");
    sb.shutdown().await;
    let refused = crate::support::sandbox::http()
        .get(format!("{base}/crm/v3/objects/contacts"))
        .bearer_auth(TOKEN)
        .send()
        .await;
    assert!(refused.is_err());
}
