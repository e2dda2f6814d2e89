//! The spending limit: once a workspace (or key) has been charged its limit, every
//! request gets a 402 at once, until `/__mock/reset`; one already admitted finishes.

mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mock_mistral::config::{Config, Scope};
use serde_json::{json, Value};
use support::{chat, Mock};

fn parse(args: &[&str]) -> Config {
    Config::parse(args.iter().map(|s| s.to_string())).unwrap()
}

fn spent(whose: &str, limit: u64) -> Value {
    let message = format!(
        "Spending limit reached: this {whose}'s limit of {limit} tokens is spent; it resets at 2031-02-01T00:00:00Z."
    );
    json!({"object": "error", "message": message, "type": "spending_limit_reached", "param": null, "code": null, "raw_status_code": 402})
}

#[tokio::test]
async fn past_the_limit_every_route_gets_a_402_at_once_counted_in_no_limit() {
    let probe = Mock::start(Config::default()).await;
    let r = probe.post("/v1/chat/completions", &chat(1)).send().await.unwrap();
    let total = r.json::<Value>().await.unwrap()["usage"]["total_tokens"].as_u64().unwrap();

    // Two requests leave one token short of the limit; the third is let in and overruns it.
    let limit = 2 * total + 1;
    let latency = Duration::from_millis(200);
    let config = parse(&["--spending-limit", &limit.to_string(), "--spending-reset-at", "2031-02-01T00:00:00Z"]);
    let mock = Mock::start(Config { rps: 4, latency: (latency, latency), ..config }).await;
    for _ in 0..3 {
        assert_eq!(mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap().status(), 200);
    }
    let t = Instant::now();
    let r = mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap();
    assert!(t.elapsed() < latency, "refused before the latency: {:?}", t.elapsed());
    assert_eq!(r.status(), 402);
    assert!(r.headers().keys().all(|k| !k.as_str().starts_with("x-ratelimit")));
    assert_eq!(r.json::<Value>().await.unwrap(), spent("workspace", limit));
    let embed = json!({"model": "mistral-embed", "input": "x"});
    assert_eq!(mock.post("/v1/embeddings", &embed).send().await.unwrap().status(), 402);
    let start = json!({"model": "mistral-small-latest", "inputs": "Hi"});
    assert_eq!(mock.post("/v1/conversations", &start).send().await.unwrap().status(), 402);
    // Routes the limits do not charge are still served.
    assert_eq!(mock.get("/v1/models").send().await.unwrap().status(), 200);
    let stats = mock.stats().await;
    assert_eq!((stats["tokens_charged"].as_u64(), stats["rate_limited"].as_u64()), (Some(3 * total), Some(0)));
    assert_eq!(stats["busiest_1s_admitted"], 3, "the 402s took no request from the rate");

    let r = mock.http.post(format!("{}/__mock/reset", mock.url)).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap().status(), 200, "reset clears it");
}

#[tokio::test]
async fn a_request_admitted_before_the_limit_finishes_normally() {
    let config = parse(&["--spending-limit", "1", "--stream-tokens-per-second", "100"]);
    let mock = Mock::start_paced(config).await;
    let mut body = chat(30);
    body["stream"] = json!(true);
    let r = mock.post("/v1/chat/completions", &body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let mut frames = r.bytes_stream();
    let first = frames.next().await.unwrap().unwrap();
    // Its prompt alone spent the limit: the next request is refused while it streams on.
    let refused = mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap();
    assert_eq!(refused.status(), 402);
    let mut text = String::from_utf8_lossy(&first).into_owned();
    while let Some(chunk) = frames.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
}

#[tokio::test]
async fn each_key_spends_its_own_limit_under_key_scope() {
    let config = parse(&["--spending-limit", "0", "--spending-reset-at", "2031-02-01T00:00:00Z"]);
    let mock = Mock::start(Config { scope: Scope::Key, ..config }).await;
    let r = mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap();
    assert_eq!(r.status(), 402, "a limit of nothing is spent from the start");
    assert_eq!(r.json::<Value>().await.unwrap(), spent("key", 0));

    let mock = Mock::start(Config { scope: Scope::Key, ..parse(&["--spending-limit", "1"]) }).await;
    let send = |key: &'static str| {
        mock.http.post(format!("{}/v1/chat/completions", mock.url)).bearer_auth(key).json(&chat(1)).send()
    };
    assert_eq!(send("a").await.unwrap().status(), 200);
    assert_eq!(send("a").await.unwrap().status(), 402);
    assert_eq!(send("b").await.unwrap().status(), 200, "b's limit is its own");
}

#[tokio::test]
async fn the_limit_is_off_and_resets_next_month_unless_told() {
    let c = Config::default();
    assert_eq!(c.spending_limit, None);
    assert!(c.spending_reset_at.ends_with("-01T00:00:00Z"), "{}", c.spending_reset_at);
    assert!(Config::parse(["--spending-reset-at", "next month"].map(String::from).into_iter()).is_err());
    assert!(Config::parse(["--spending-limit", "-5"].map(String::from).into_iter()).is_err());
}
