//! Models on the plan: a model the plan lacks is refused with a limit of nothing,
//! at once, and no wait cures it.

mod support;

use std::time::{Duration, Instant};

use mock_mistral::config::Config;
use serde_json::{json, Value};
use support::{chat, Mock};

fn parse(args: &[&str]) -> Config {
    Config::parse(args.iter().map(|s| s.to_string())).unwrap()
}

fn for_model(model: &str) -> Value {
    let mut body = chat(1);
    body["model"] = json!(model);
    body
}

#[tokio::test]
async fn a_model_off_the_plan_gets_a_429_with_a_limit_of_nothing_at_once() {
    let latency = Duration::from_millis(300);
    let mock = Mock::start(Config {
        rps: 1,
        latency: (latency, latency),
        ..parse(&["--plan-models", "mistral-small-latest"])
    })
    .await;
    let t = Instant::now();
    let r = mock.post("/v1/chat/completions", &for_model("mistral-large-latest")).send().await.unwrap();
    assert!(t.elapsed() < latency, "refused before the latency: {:?}", t.elapsed());
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-ratelimit-limit-req-minute"], "0");
    assert!(r.headers().get("retry-after").is_none(), "no wait would help");
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"object": "error", "message": "Rate limit exceeded", "type": "rate_limited", "param": null, "code": "1300", "raw_status_code": 429})
    );
    // It took nothing from the one request a second: the plan's model still gets in.
    let r = mock.post("/v1/chat/completions", &for_model("mistral-small-2506")).send().await.unwrap();
    assert_eq!(r.status(), 200, "listed by alias, asked for by id");
    assert_eq!(mock.stats().await["tokens_charged"], r.json::<Value>().await.unwrap()["usage"]["total_tokens"]);

    // Waiting changes nothing.
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let r = mock.post("/v1/chat/completions", &for_model("mistral-large-2411")).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["x-ratelimit-limit-req-minute"].to_str().unwrap()), (429, "0"));
    // Every route the limits charge is held to the plan.
    let r = mock.post("/v1/embeddings", &json!({"model": "mistral-embed", "input": "x"})).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let start = json!({"model": "mistral-medium-latest", "inputs": "Hi"});
    assert_eq!(mock.post("/v1/conversations", &start).send().await.unwrap().status(), 429);
}

#[tokio::test]
async fn every_model_is_on_the_plan_unless_told_and_unknown_names_are_refused() {
    assert_eq!(Config::default().plan_models, None);
    let mock = Mock::start(Config::default()).await;
    let r = mock.post("/v1/chat/completions", &for_model("mistral-large-latest")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        parse(&["--plan-models", "codestral-latest, mistral-embed"]).plan_models.unwrap(),
        ["codestral-2508", "mistral-embed"]
    );
    assert!(Config::parse(["--plan-models", "gpt-4"].map(String::from).into_iter()).is_err());
    // An unknown model is still an invalid one, not one off the plan.
    let mock = Mock::start(parse(&["--plan-models", "mistral-small-latest"])).await;
    assert_eq!(mock.post("/v1/chat/completions", &for_model("gpt-4")).send().await.unwrap().status(), 400);
}
