//! The options that make the mock less like a well-behaved twin of the client:
//! no timing header, a server that counts prompts differently, latency everywhere.

mod support;

use std::time::{Duration, Instant};

use mock_mistral::config::Config;
use reqwest::Response;
use serde_json::{json, Value};
use support::{chat, Mock};

const TIMING: &str = "x-envoy-upstream-service-time";

fn streamed(body: &Value) -> Value {
    let mut b = body.clone();
    b["stream"] = json!(true);
    b
}

/// The `usage` on a stream's events (chat chunks or conversation events).
fn stream_usage(text: &str) -> Value {
    text.split("\n\n")
        .filter_map(|f| f.lines().find_map(|l| l.strip_prefix("data: ")))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find_map(|c| c.get("usage").cloned())
        .expect("a stream reports its usage")
}

fn header(r: &Response, name: &str) -> Option<u64> {
    r.headers().get(name).map(|v| v.to_str().unwrap().parse().unwrap())
}

fn parse(args: &[&str]) -> Config {
    Config::parse(args.iter().map(|s| s.to_string())).unwrap()
}

#[tokio::test]
async fn the_timing_header_is_sent_unless_turned_off() {
    for on in [true, false] {
        let mock = Mock::start(Config { rps: 1, timing_header: on, ..Config::default() }).await;
        let plain = mock.post("/v1/chat/completions", &chat(3)).send().await.unwrap();
        assert_eq!(plain.status(), 200);
        assert_eq!(header(&plain, TIMING).is_some(), on, "a JSON reply");
        let limited = mock.post("/v1/chat/completions", &chat(3)).send().await.unwrap();
        assert_eq!(limited.status(), 429);
        assert_eq!(header(&limited, TIMING).is_some(), on, "a 429");
        tokio::time::sleep(Duration::from_millis(1050)).await;
        let stream = mock.post("/v1/chat/completions", &streamed(&chat(3))).send().await.unwrap();
        assert_eq!(stream.status(), 200);
        assert_eq!(header(&stream, TIMING).is_some(), on, "a stream");
        let anonymous = mock.http.post(format!("{}/v1/chat/completions", mock.url)).json(&chat(3)).send().await;
        assert_eq!(header(&anonymous.unwrap(), TIMING).is_some(), on, "a 401");
    }
}

#[tokio::test]
async fn a_prompt_count_factor_scales_usage_cost_and_charges() {
    // 400 bytes of text: 100 tokens, plus the framing chat adds.
    let body = json!({"model": "mistral-small-latest", "messages": [{"role": "user", "content": "abcd".repeat(100)}], "max_tokens": 5});
    let probe = Mock::start(Config::default()).await;
    let base = probe.post("/v1/chat/completions", &body).send().await.unwrap().json::<Value>().await.unwrap();
    let p = base["usage"]["prompt_tokens"].as_u64().unwrap();
    let want = (p * 13).div_ceil(10);
    assert!(want > p);

    let mock = Mock::start(parse(&["--prompt-count-factor", "1.3"])).await;
    let r = mock.post("/v1/chat/completions", &body).send().await.unwrap();
    let cost = header(&r, "x-ratelimit-tokens-query-cost").unwrap();
    let usage = r.json::<Value>().await.unwrap()["usage"].clone();
    let completion = usage["completion_tokens"].as_u64().unwrap();
    assert_eq!(usage["prompt_tokens"], want);
    assert_eq!(usage["total_tokens"], want + completion);
    assert_eq!(cost, want + completion, "the query cost is the scaled prompt plus the reply");

    let text = mock.post("/v1/chat/completions", &streamed(&body)).send().await.unwrap().text().await.unwrap();
    let su = stream_usage(&text);
    assert_eq!(su["prompt_tokens"], want);
    assert_eq!(su["total_tokens"], want + su["completion_tokens"].as_u64().unwrap());

    let charged = mock.stats().await["tokens_charged"].as_u64().unwrap();
    assert_eq!(charged, usage["total_tokens"].as_u64().unwrap() + su["total_tokens"].as_u64().unwrap());

    // Every route that counts a prompt counts it the same way.
    let embed = json!({"model": "mistral-embed", "input": "abcd".repeat(100)});
    let e = probe.post("/v1/embeddings", &embed).send().await.unwrap().json::<Value>().await.unwrap();
    let scaled = mock.post("/v1/embeddings", &embed).send().await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(scaled["usage"]["prompt_tokens"], (e["usage"]["prompt_tokens"].as_u64().unwrap() * 13).div_ceil(10));
    let start =
        json!({"model": "mistral-small-latest", "inputs": "abcd".repeat(100), "completion_args": {"max_tokens": 3}});
    let c = probe.post("/v1/conversations", &start).send().await.unwrap().json::<Value>().await.unwrap();
    let text = mock.post("/v1/conversations", &streamed(&start)).send().await.unwrap().text().await.unwrap();
    assert_eq!(stream_usage(&text)["prompt_tokens"], (c["usage"]["prompt_tokens"].as_u64().unwrap() * 13).div_ceil(10));
}

#[tokio::test]
async fn a_prompt_count_factor_decides_admission() {
    let body = json!({"model": "mistral-small-latest", "messages": [{"role": "user", "content": "abcd".repeat(100)}], "max_tokens": 0});
    let probe = Mock::start(Config::default()).await;
    let p = probe.post("/v1/chat/completions", &body).send().await.unwrap().json::<Value>().await.unwrap()["usage"]
        ["prompt_tokens"]
        .as_u64()
        .unwrap();
    // A minute's budget of exactly one prompt as the text counts it.
    let exact = Mock::start(Config { tpm: p, ..Config::default() }).await;
    assert_eq!(exact.post("/v1/chat/completions", &body).send().await.unwrap().status(), 200);
    let over = Mock::start(Config { tpm: p, ..parse(&["--prompt-count-factor", "1.1"]) }).await;
    assert_eq!(over.post("/v1/chat/completions", &body).send().await.unwrap().status(), 429);
    let under = Mock::start(Config { tpm: p, ..parse(&["--prompt-count-factor", "0.9"]) }).await;
    assert_eq!(under.post("/v1/chat/completions", &body).send().await.unwrap().status(), 200);
    assert_eq!(under.stats().await["tokens_charged"], (p * 9).div_ceil(10));
}

#[tokio::test]
async fn latency_delays_the_headers_of_every_generation_route() {
    let delay = Duration::from_millis(150);
    let mock = Mock::start(Config { latency: (delay, delay), ..Config::default() }).await;
    let agent = json!({"model": "mistral-small-latest", "name": "Slow"});
    let agent = mock.post("/v1/agents", &agent).send().await.unwrap().json::<Value>().await.unwrap()["id"].clone();
    let calls = [
        ("/v1/chat/completions", chat(3)),
        ("/v1/fim/completions", json!({"model": "codestral-latest", "prompt": "def f(", "max_tokens": 3})),
        (
            "/v1/conversations",
            json!({"model": "mistral-small-latest", "inputs": "Hi", "completion_args": {"max_tokens": 3}}),
        ),
        (
            "/v1/agents/completions",
            json!({"agent_id": agent, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3}),
        ),
    ];
    for (path, body) in calls {
        for body in [body.clone(), streamed(&body)] {
            let t = Instant::now();
            let r = mock.post(path, &body).send().await.unwrap();
            let took = t.elapsed();
            assert_eq!(r.status(), 200, "{path} {body}");
            assert!(took >= delay, "{path} stream={}: headers after {took:?}", body["stream"]);
        }
    }
    let t = Instant::now();
    let r = mock.post("/v1/embeddings", &json!({"model": "mistral-embed", "input": "Hi"})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(t.elapsed() >= delay, "embeddings: {:?}", t.elapsed());
}
