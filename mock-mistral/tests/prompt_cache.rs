//! Prompt caching: under a `prompt_cache_key`, the leading whole messages a prompt
//! shares with the key's last one are cached, reported in usage, and charged at
//! `--prompt-cache-charge` in the limits and the query cost.

mod support;

use mock_mistral::config::{Config, Scope};
use serde_json::{json, Value};
use support::Mock;

fn parse(args: &[&str]) -> Config {
    Config::parse(args.iter().map(|s| s.to_string())).unwrap()
}

fn ask(key: Option<&str>, turns: &[&str]) -> Value {
    let mut messages = vec![json!({"role": "system", "content": "You answer in one word. ".repeat(20)})];
    for (i, t) in turns.iter().enumerate() {
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        messages.push(json!({"role": role, "content": t}));
    }
    let mut body = json!({"model": "mistral-small-latest", "messages": messages, "max_tokens": 3});
    if let Some(key) = key {
        body["prompt_cache_key"] = json!(key);
    }
    body
}

/// A reply's usage and its `x-ratelimit-tokens-query-cost`.
async fn send(mock: &Mock, key: &str, body: &Value) -> (Value, u64) {
    let r = mock.http.post(format!("{}/v1/chat/completions", mock.url)).bearer_auth(key).json(body).send().await;
    let r = r.unwrap();
    assert_eq!(r.status(), 200);
    let cost = r.headers()["x-ratelimit-tokens-query-cost"].to_str().unwrap().parse().unwrap();
    (r.json::<Value>().await.unwrap()["usage"].clone(), cost)
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

#[tokio::test]
async fn the_leading_messages_a_key_saw_last_are_cached_and_charged_a_tenth() {
    let tpm = 1_000_000;
    let mock = Mock::start(Config { tpm, ..Config::default() }).await;
    let (first, cost) = send(&mock, "k", &ask(Some("chat-1"), &["Capital of France?"])).await;
    assert_eq!(first["prompt_tokens_details"], json!({"cached_tokens": 0}), "nothing under the key yet");
    assert_eq!(cost, n(&first["total_tokens"]));

    let body = ask(Some("chat-1"), &["Capital of France?", "Paris", "And of Spain?"]);
    let r = mock.post("/v1/chat/completions", &body).send().await.unwrap();
    let (cost, remaining) = (
        r.headers()["x-ratelimit-tokens-query-cost"].clone(),
        r.headers()["x-ratelimit-remaining-tokens-minute"].clone(),
    );
    let second = r.json::<Value>().await.unwrap()["usage"].clone();
    let (prompt, cached, completion) = (
        n(&second["prompt_tokens"]),
        n(&second["prompt_tokens_details"]["cached_tokens"]),
        n(&second["completion_tokens"]),
    );
    assert_eq!(cached, n(&first["prompt_tokens"]), "the first prompt's messages, whole");
    assert_eq!(n(&second["total_tokens"]), prompt + completion, "usage counts the whole prompt");
    let charge = prompt - cached + cached.div_ceil(10) + completion;
    assert_eq!(cost.to_str().unwrap(), charge.to_string());
    let charged = n(&first["total_tokens"]) + charge;
    assert_eq!(remaining.to_str().unwrap(), (tpm - charged).to_string(), "the minute's meter counts the charge");
    assert_eq!(mock.stats().await["tokens_charged"], charged);

    // The same prompt again is wholly cached; a changed first message shares nothing.
    let (again, _) = send(&mock, "k", &body).await;
    assert_eq!(again["prompt_tokens_details"]["cached_tokens"], again["prompt_tokens"]);
    let mut changed = body.clone();
    changed["messages"][0]["content"] = json!("You answer at length.");
    let (fresh, _) = send(&mock, "k", &changed).await;
    assert_eq!(fresh["prompt_tokens_details"]["cached_tokens"], 0);
    // Another key shares nothing; no key, no cache and no details.
    let (other, _) = send(&mock, "k", &ask(Some("chat-2"), &["Capital of France?"])).await;
    assert_eq!(other["prompt_tokens_details"]["cached_tokens"], 0);
    let (none, cost) = send(&mock, "k", &ask(None, &["Capital of France?"])).await;
    assert!(none.get("prompt_tokens_details").is_none(), "{none}");
    assert_eq!(cost, n(&none["total_tokens"]));
}

#[tokio::test]
async fn streams_report_the_cache_on_the_final_chunk_and_are_charged_the_same() {
    let mock = Mock::start(Config::default()).await;
    send(&mock, "k", &ask(Some("s"), &["Hello"])).await;
    let before = n(&mock.stats().await["tokens_charged"]);
    let mut body = ask(Some("s"), &["Hello", "Hi", "How are you?"]);
    body["stream"] = json!(true);
    let r = mock.post("/v1/chat/completions", &body).send().await.unwrap();
    assert!(r.headers().keys().all(|k| !k.as_str().starts_with("x-ratelimit")), "streams carry no limit headers");
    let text = r.text().await.unwrap();
    let usage = text
        .split("\n\n")
        .filter_map(|f| f.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find_map(|c| c.get("usage").cloned())
        .unwrap();
    let cached = n(&usage["prompt_tokens_details"]["cached_tokens"]);
    assert!(cached > 0);
    let charge = n(&usage["prompt_tokens"]) - cached + cached.div_ceil(10) + n(&usage["completion_tokens"]);
    assert_eq!(n(&mock.stats().await["tokens_charged"]) - before, charge);
}

#[tokio::test]
async fn the_charge_and_the_cache_itself_are_options() {
    let body = ask(Some("k"), &["Hello"]);
    let half = Mock::start(parse(&["--prompt-cache-charge", "0.5"])).await;
    send(&half, "k", &body).await;
    let (usage, cost) = send(&half, "k", &body).await;
    let cached = n(&usage["prompt_tokens"]);
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], cached);
    assert_eq!(cost, cached.div_ceil(2) + n(&usage["completion_tokens"]));

    let off = Mock::start(parse(&["--prompt-cache", "off"])).await;
    send(&off, "k", &body).await;
    let (usage, cost) = send(&off, "k", &body).await;
    assert_eq!(usage["prompt_tokens_details"], json!({"cached_tokens": 0}));
    assert_eq!(cost, n(&usage["total_tokens"]));

    // A server that counts prompts differently counts their cached part alike.
    let scaled = Mock::start(parse(&["--prompt-count-factor", "1.3"])).await;
    send(&scaled, "k", &body).await;
    let (usage, _) = send(&scaled, "k", &body).await;
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], usage["prompt_tokens"]);

    for bad in ["1.5", "-0.1", "x"] {
        assert!(Config::parse(["--prompt-cache-charge", bad].map(String::from).into_iter()).is_err(), "{bad}");
    }
    assert!(Config::parse(["--prompt-cache", "maybe"].map(String::from).into_iter()).is_err());
}

#[tokio::test]
async fn the_cache_is_the_scopes() {
    let body = ask(Some("shared"), &["Hello"]);
    let workspace = Mock::start(Config::default()).await;
    send(&workspace, "a", &body).await;
    let (usage, _) = send(&workspace, "b", &body).await;
    assert_eq!(
        usage["prompt_tokens_details"]["cached_tokens"], usage["prompt_tokens"],
        "the workspace's keys share it"
    );

    let keys = Mock::start(Config { scope: Scope::Key, ..Config::default() }).await;
    send(&keys, "a", &body).await;
    let (usage, _) = send(&keys, "b", &body).await;
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 0, "each key has its own");
    let (usage, _) = send(&keys, "a", &body).await;
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], usage["prompt_tokens"]);
}

#[tokio::test]
async fn agents_completions_are_cached_like_chat() {
    let mock = Mock::start(Config::default()).await;
    let agent = json!({"model": "mistral-small-latest", "name": "Terse", "instructions": "Be terse. ".repeat(30)});
    let agent = mock.post("/v1/agents", &agent).send().await.unwrap().json::<Value>().await.unwrap()["id"].clone();
    let body = |turns: &[&str]| {
        let messages: Vec<Value> = turns.iter().map(|t| json!({"role": "user", "content": t})).collect();
        json!({"agent_id": agent, "messages": messages, "max_tokens": 2, "prompt_cache_key": "agent"})
    };
    let first =
        mock.post("/v1/agents/completions", &body(&["Hi"])).send().await.unwrap().json::<Value>().await.unwrap();
    let r = mock.post("/v1/agents/completions", &body(&["Hi", "Again"])).send().await.unwrap();
    let second = r.json::<Value>().await.unwrap();
    assert_eq!(second["usage"]["prompt_tokens_details"]["cached_tokens"], first["usage"]["prompt_tokens"]);
    assert_eq!(second["usage"]["service_tier"], "standard");
}
