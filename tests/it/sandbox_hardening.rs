//! The sandbox's share of the reliability issue, over loopback: garbled 2xx answers, a bounded limiter
//! table, tokens kept out of `Debug`, the token required (also on `/_sandbox/*`) off loopback, and
//! every fault kind listed in the stats.

use std::collections::BTreeSet;
use std::time::Duration;

use etl::sandbox::{self, SandboxConfig};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::sandbox::{Sandbox, TOKEN, config};

/// How a garbled batch-create answer (2 inputs, trace ids "a" and "b") is damaged.
fn damage(content_type: &str, body: &Value) -> &'static str {
    if content_type.starts_with("text/html") {
        return "garbled_not_json";
    }
    let Some(results) = body.get("results").and_then(Value::as_array) else {
        return "garbled_truncated";
    };
    if let Some(errors) = body.get("errors").and_then(Value::as_array) {
        let trace = &errors[0]["context"]["objectWriteTraceId"];
        if trace.is_number() {
            return "garbled_numeric_trace_id";
        }
        let named = trace[0].as_str().unwrap();
        assert!(named != "a" && named != "b", "names a trace id nobody sent");
        return "garbled_unknown_trace_ids";
    }
    match results.len() {
        0 => "garbled_empty_results",
        1 => "garbled_fewer_results",
        n => panic!("an undamaged body with {n} results"),
    }
}

#[tokio::test]
async fn garbled_answers_land_the_write_and_damage_the_body() {
    let sb = Sandbox::start(SandboxConfig {
        garble_rate: 1.0,
        ..config()
    })
    .await;
    let mut seen = BTreeSet::new();
    let rounds = 60;
    for i in 0..rounds {
        let reply = sb
            .post(
                "/crm/v3/objects/contacts/batch/create",
                json!({"inputs": [
                    {"objectWriteTraceId": "a", "properties": {"email": format!("a{i}@example.com")}},
                    {"objectWriteTraceId": "b", "properties": {"email": format!("b{i}@example.com")}}]}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "the status stays 2xx");
        seen.insert(damage(
            reply.header("content-type").unwrap_or(""),
            &reply.body,
        ));
    }
    assert_eq!(seen.len(), 6, "every kind of damage shows up: {seen:?}");
    let stats = sb.stats().await;
    assert_eq!(
        stats["records"]["contacts"],
        rounds * 2,
        "every write landed"
    );
    let counted: u64 = seen
        .iter()
        .map(|kind| stats["faults"][*kind].as_u64().unwrap())
        .sum();
    assert_eq!(counted, rounds as u64);
    // A 204 has nothing to damage; reads are spared unless faults_on_reads.
    let reply = sb
        .post(
            "/crm/v3/objects/contacts/batch/archive",
            json!({"inputs": [{"id": "1"}]}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = sb.get("/crm/v3/objects/contacts?limit=1").await;
    assert_eq!(reply.body["results"].as_array().unwrap().len(), 1);
    // The knob joins the rates' sum ≤ 1 rule, and is changeable at run time.
    let reply = sb
        .configure(json!({"garble_rate": 0.6, "fault_rate": 0.5}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = sb.configure(json!({"garble_rate": 0.0})).await;
    assert_eq!(reply.body["garble_rate"], 0.0);
    let reply = sb
        .post(
            "/crm/v3/objects/contacts",
            json!({"properties": {"email": "clean@example.com"}}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.body["properties"]["email"], "clean@example.com");
}

#[tokio::test]
async fn the_limiter_forgets_idle_tokens() {
    let sb = Sandbox::start(SandboxConfig {
        token: None,
        interval: Duration::from_millis(1),
        ..config()
    })
    .await;
    let tokens = 1_000;
    for i in 0..tokens {
        let token = format!("token-{i}");
        let reply = sb
            .send_as(Some(&token), Method::GET, "/crm/v3/pipelines/deals", None)
            .await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    // Each window empties a millisecond after its one request: the table keeps only recent tokens (at
    // most about twice those of the last millisecond), not all thousand.
    let tracked = sb.stats().await["tokens_tracked"].as_u64().unwrap();
    assert!(tracked < 500, "{tracked} tokens still tracked");
}

#[tokio::test]
async fn debug_output_never_shows_the_token() {
    let secret = "pat-na1-hardening-secret";
    let sb = Sandbox::start(SandboxConfig {
        token: Some(secret.to_owned()),
        ..config()
    })
    .await;
    let reply = sb
        .send_as(Some(secret), Method::GET, "/crm/v3/objects/contacts", None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    for text in [
        format!("{:?}", sb.handle()),
        format!("{:?}", sb.handle().state()),
        format!("{:?}", config()),
    ] {
        assert!(!text.contains("hardening-secret"), "{text}");
        assert!(!text.contains(TOKEN), "{text}");
    }
}

#[tokio::test]
async fn only_the_whole_token_is_accepted() {
    let sb = Sandbox::new().await;
    let longer = format!("{TOKEN}x");
    let shorter = &TOKEN[..TOKEN.len() - 1];
    let same_length = format!("{}X", shorter);
    for token in [longer.as_str(), shorter, same_length.as_str(), ""] {
        let reply = sb
            .send_as(Some(token), Method::GET, "/crm/v3/objects/contacts", None)
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{token:?}");
    }
}

#[tokio::test]
async fn off_loopback_the_token_is_required_and_guards_sandbox_paths() {
    // In process: refused without a token …
    let refused = sandbox::start(SandboxConfig {
        addr: "0.0.0.0:0".parse().unwrap(),
        token: None,
        ..config()
    })
    .await;
    let err = refused.expect_err("refused without a token");
    assert!(err.to_string().contains("--token"), "{err}");
    // … and with one, `/_sandbox/*` needs it too.
    let handle = sandbox::start(SandboxConfig {
        addr: "0.0.0.0:0".parse().unwrap(),
        ..config()
    })
    .await
    .expect("starts with a token");
    let base = format!("http://127.0.0.1:{}", handle.addr().port());
    let client = crate::support::sandbox::http();
    let stats = format!("{base}/_sandbox/stats");
    for token in [None, Some("wrong")] {
        let mut request = client.get(&stats);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let reply = request.send().await.unwrap();
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED, "{token:?}");
    }
    let reply = client
        .post(format!("{base}/_sandbox/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    let reply = client.get(&stats).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let reply = client
        .get(format!("{base}/crm/v3/objects/contacts"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    handle.shutdown().await;
    // On loopback the sandbox paths stay open, as the other tests use them.
    let sb = Sandbox::new().await;
    let reply = sb.send_as(None, Method::GET, "/_sandbox/stats", None).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[test]
fn the_cli_refuses_a_non_loopback_address_without_a_token() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_etl"))
        .args(["sandbox", "--addr", "0.0.0.0:0"])
        .env_remove("ETL_SANDBOX_TOKEN")
        .output()
        .expect("etl runs");
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("listening"), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not a loopback address") && stderr.contains("--token"),
        "{stderr}"
    );
}

#[tokio::test]
async fn stats_list_every_fault_kind_from_the_start() {
    let sb = Sandbox::new().await;
    let faults = sb.stats().await["faults"].clone();
    let kinds: Vec<&str> = faults
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for kind in [
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
    ] {
        assert_eq!(faults[kind], 0, "{kind} in {kinds:?}");
    }
    sb.configure(json!({"throttle_rate": 1.0})).await;
    sb.post(
        "/crm/v3/objects/contacts",
        json!({"properties": {"email": "a@example.com"}}),
    )
    .await;
    let faults = sb.stats().await["faults"].clone();
    assert_eq!(faults["throttle"], 1);
    assert_eq!(faults["server_error"], 0);
    assert_eq!(faults.as_object().unwrap().len(), 11);
}
