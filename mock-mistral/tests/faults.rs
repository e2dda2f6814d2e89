//! Every fault the mock can act out, by header and by script.

mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mock_mistral::config::Config;
use serde_json::{json, Value};
use support::{chat, Mock};

fn stream_body(max_tokens: u64) -> Value {
    let mut b = chat(max_tokens);
    b["stream"] = json!(true);
    b
}

#[tokio::test]
async fn server_errors_and_429s_on_demand() {
    let mock = Mock::start(Config::default()).await;
    for code in [500u16, 502, 503, 504] {
        let r =
            mock.post("/v1/chat/completions", &chat(1)).header("x-mock-fault", code.to_string()).send().await.unwrap();
        assert_eq!(r.status().as_u16(), code);
        assert_eq!(r.json::<Value>().await.unwrap()["type"], "server_error");
    }
    let r = mock.post("/v1/chat/completions", &chat(1)).header("x-mock-fault", "429").send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers().get("retry-after").is_none()), (429, true));
    let r = mock.post("/v1/chat/completions", &chat(1)).header("x-mock-fault", "429-retry-after").send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["retry-after"].to_str().unwrap()), (429, "1"));
    let r = mock.post("/v1/chat/completions", &chat(1)).header("x-mock-fault", "teapot").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("unknown fault 'teapot'"));
}

#[tokio::test]
async fn reset_drops_the_connection_before_any_header() {
    let mock = Mock::start(Config::default()).await;
    let err = mock.post("/v1/chat/completions", &chat(1)).header("x-mock-fault", "reset").send().await.unwrap_err();
    assert!(err.status().is_none(), "no status line was sent: {err:?}");
    assert!(err.is_request() || err.is_connect(), "{err:?}");
    // The server itself carries on.
    assert_eq!(mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn hang_never_answers_and_slow_answers_late() {
    let mock = Mock::start(Config { slow: Duration::from_millis(300), ..Config::default() }).await;
    let err = mock
        .post("/v1/chat/completions", &chat(1))
        .header("x-mock-fault", "hang")
        .timeout(Duration::from_millis(400))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    let t = Instant::now();
    let r = mock.post("/v1/chat/completions", &chat(1)).header("x-mock-fault", "slow").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn truncated_and_malformed_json_bodies() {
    let mock = Mock::start(Config::default()).await;
    let r = mock.post("/v1/chat/completions", &chat(20)).header("x-mock-fault", "truncate").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.is_err(), "the body must end early");
    let r = mock.post("/v1/chat/completions", &chat(20)).header("x-mock-fault", "malformed-json").send().await.unwrap();
    let text = r.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert!(text.starts_with('{'));
}

/// Reads a stream until it ends or fails; returns the bytes and whether it failed.
async fn drain(r: reqwest::Response, limit: Duration) -> (Vec<u8>, bool) {
    let mut body = r.bytes_stream();
    let mut bytes = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, body.next()).await {
            Ok(Some(Ok(chunk))) => bytes.extend_from_slice(&chunk),
            Ok(Some(Err(_))) => return (bytes, true),
            Ok(None) | Err(_) => return (bytes, false),
        }
    }
}

#[tokio::test]
async fn streams_cut_short_malformed_or_endless() {
    let mock = Mock::start(Config::default()).await;
    let send =
        |fault: &'static str| mock.post("/v1/chat/completions", &stream_body(40)).header("x-mock-fault", fault).send();

    let (bytes, failed) = drain(send("truncate").await.unwrap(), Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(failed, "a truncated stream ends in an error");
    assert!(text.contains("data: {") && !text.contains("[DONE]"), "{text}");
    assert!(!text.ends_with("\n\n"), "cut inside a frame");

    let (bytes, failed) = drain(send("malformed-json").await.unwrap(), Duration::from_secs(5)).await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(!failed && text.ends_with("data: [DONE]\n\n"));
    let bad = text.split("\n\n").filter_map(|f| f.strip_prefix("data: ")).filter(|d| *d != "[DONE]");
    assert_eq!(bad.filter(|d| serde_json::from_str::<Value>(d).is_err()).count(), 1);

    let (bytes, _) = drain(send("malformed-sse").await.unwrap(), Duration::from_secs(5)).await;
    let longest = bytes.split(|b| *b == b'\n').map(<[u8]>::len).max().unwrap();
    assert!(longest > 2 << 20, "a line of {longest} bytes");

    let (bytes, failed) = drain(send("never-ending").await.unwrap(), Duration::from_millis(700)).await;
    let text = String::from_utf8_lossy(&bytes);
    assert!(!failed && !text.contains("[DONE]") && text.matches(": keep-alive").count() >= 3, "{text}");
}

#[tokio::test]
async fn a_scripted_sequence_then_probabilities() {
    let mock = Mock::start(Config::default()).await;
    let script = json!({"sequence": ["503", null, "429"], "probabilities": [["502", 1.0]]});
    let r = mock.http.post(format!("{}/__mock/faults", mock.url)).json(&script).send().await.unwrap();
    assert_eq!(r.status(), 204);
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap().status().as_u16());
    }
    assert_eq!(statuses, [503, 200, 429, 502]);
    mock.http.delete(format!("{}/__mock/faults", mock.url)).send().await.unwrap();
    assert_eq!(mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap().status(), 200);
    let bad = json!({"sequence": ["418"]});
    let r = mock.http.post(format!("{}/__mock/faults", mock.url)).json(&bad).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let stats = mock.stats().await;
    assert_eq!(stats["by_route"]["POST /v1/chat/completions"]["503"], 1);
    assert_eq!(stats["by_route"]["POST /v1/chat/completions"]["200"], 2);
}

#[tokio::test]
async fn capacity_and_final_error_forms_on_demand_counted_in_no_limit() {
    let mock = Mock::start(Config { rps: 1, ..Config::default() }).await;
    let error = |status: u16, message: &str, kind: &str, code: &str| json!({"object": "error", "message": message, "type": kind, "param": null, "code": code, "raw_status_code": status});
    let forms = [
        (
            "capacity",
            429,
            error(429, "Service tier capacity exceeded for this model.", "service_tier_capacity_exceeded", "3505"),
        ),
        (
            "capacity-503",
            503,
            error(503, "Service tier capacity exceeded for this model.", "service_tier_capacity_exceeded", "3505"),
        ),
        (
            "out-of-capacity",
            503,
            error(
                503,
                "Not enough capacity available for this model. Please try again later.",
                "backend_out_of_capacity",
                "3505",
            ),
        ),
        ("429-legacy", 429, json!({"message": "Requests rate limit exceeded"})),
        ("invalid-model", 400, error(400, "Invalid model: mistral-small-2506", "invalid_model", "1500")),
        (
            "model-not-in-use",
            400,
            error(400, "Model mistral-small-2506 is not in use for this workspace.", "invalid_request_error", "3003"),
        ),
    ];
    for (fault, status, body) in &forms {
        let r = mock.post("/v1/chat/completions", &chat(1)).header("x-mock-fault", *fault).send().await.unwrap();
        assert_eq!(r.status().as_u16(), *status, "{fault}");
        assert!(r.headers().keys().all(|k| !k.as_str().starts_with("x-ratelimit")), "{fault}");
        assert_eq!(&r.json::<Value>().await.unwrap(), body, "{fault}");
    }
    // The model the final errors name is the one the request was for.
    let mut large = chat(1);
    large["model"] = json!("mistral-large-latest");
    let r = mock.post("/v1/chat/completions", &large).header("x-mock-fault", "invalid-model").send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["message"], "Invalid model: mistral-large-2411");
    // None of them took the one request a second allows.
    assert_eq!(mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap().status(), 200);
    assert_eq!(mock.stats().await["busiest_1s_admitted"], 1);

    // Scripted, the same.
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let script = json!({"sequence": forms.iter().map(|(f, _, _)| f).collect::<Vec<_>>()});
    let r = mock.http.post(format!("{}/__mock/faults", mock.url)).json(&script).send().await.unwrap();
    assert_eq!(r.status(), 204);
    for (fault, status, _) in &forms {
        let r = mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), *status, "scripted {fault}");
    }
    assert_eq!(mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn an_unknown_fault_is_told_every_known_one() {
    let mock = Mock::start(Config::default()).await;
    let r = mock.post("/v1/chat/completions", &chat(1)).header("x-mock-fault", "teapot").send().await.unwrap();
    let message = r.json::<Value>().await.unwrap()["message"].as_str().unwrap().to_owned();
    for fault in ["capacity", "capacity-503", "out-of-capacity", "429-legacy", "invalid-model", "model-not-in-use"] {
        assert!(message.contains(&format!(" {fault},")), "{fault} missing from: {message}");
    }
}
