//! Every error the real API gives, in its shape, over real HTTP.

mod support;

use mock_mistral::config::Config;
use serde_json::{json, Value};
use support::{chat, Mock};

#[tokio::test]
async fn missing_or_wrong_keys_get_the_gateways_401() {
    let mock = Mock::start(Config { api_keys: vec!["right".into()], ..Config::default() }).await;
    let url = format!("{}/v1/chat/completions", mock.url);
    for req in [mock.http.post(&url).json(&chat(5)), mock.http.post(&url).bearer_auth("wrong").json(&chat(5))] {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.headers().contains_key("mistral-correlation-id"));
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"detail": "Unauthorized"}));
    }
    let r = mock.http.post(&url).bearer_auth("right").json(&chat(5)).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn unknown_and_missing_fields_are_fastapi_422s() {
    let mock = Mock::start(Config::default()).await;
    let mut body = chat(5);
    body["max_completion_tokens"] = json!(5);
    body.as_object_mut().unwrap().remove("messages");
    let r = mock.post("/v1/chat/completions", &body).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let detail = r.json::<Value>().await.unwrap()["detail"].as_array().unwrap().clone();
    let kinds: Vec<(&str, &Value)> = detail.iter().map(|d| (d["type"].as_str().unwrap(), &d["loc"])).collect();
    assert!(kinds.contains(&("missing", &json!(["body", "messages"]))), "{detail:?}");
    assert!(kinds.contains(&("extra_forbidden", &json!(["body", "max_completion_tokens"]))), "{detail:?}");
    let extra = detail.iter().find(|d| d["type"] == "extra_forbidden").unwrap();
    assert_eq!(extra["msg"], "Extra inputs are not permitted");
    assert_eq!(extra["input"], 5);

    let r =
        mock.http.post(format!("{}/v1/embeddings", mock.url)).bearer_auth("k").body("{not json").send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["detail"][0]["type"], "json_invalid");
}

#[tokio::test]
async fn unknown_models_are_400_invalid_model_1500() {
    let mock = Mock::start(Config::default()).await;
    let mut body = chat(5);
    body["model"] = json!("bad model");
    let r = mock.post("/v1/chat/completions", &body).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"object": "error", "message": "Invalid model: bad model", "type": "invalid_model", "param": null, "code": "1500"})
    );
    // A real model that cannot do the job is just as invalid for it.
    let r = mock
        .post("/v1/fim/completions", &json!({"model": "mistral-small-latest", "prompt": "fn"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn rate_limited_429s_look_like_mistrals_and_carry_retry_after_only_when_asked() {
    for retry_after in [None, Some(2)] {
        let mock = Mock::start(Config { rps: 1, retry_after, ..Config::default() }).await;
        assert_eq!(mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap().status(), 200);
        let r = mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(
            r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned()),
            retry_after.map(|s| s.to_string())
        );
        assert_eq!(r.headers()["x-ratelimit-remaining-req-second"], "0");
        let body: Value = r.json().await.unwrap();
        assert_eq!((body["type"].as_str(), body["code"].as_str()), (Some("rate_limited"), Some("1300")));
    }
}

#[tokio::test]
async fn rate_limit_headers_come_on_json_replies_not_on_streams() {
    let mock = Mock::start(Config { rps: 100, tpm: 100_000, tokens_per_month: 10_000_000, ..Config::default() }).await;
    let r = mock.post("/v1/chat/completions", &chat(4)).send().await.unwrap();
    let h = r.headers().clone();
    let body: Value = r.json().await.unwrap();
    assert_eq!(h["x-ratelimit-limit-req-second"], "100");
    assert_eq!(h["x-ratelimit-remaining-req-second"], "99");
    assert_eq!(h["x-ratelimit-limit-tokens-minute"], "100000");
    assert_eq!(h["x-ratelimit-limit-tokens-month"], "10000000");
    let total = body["usage"]["total_tokens"].as_u64().unwrap();
    assert_eq!(h["x-ratelimit-tokens-query-cost"], total.to_string().as_str());
    assert_eq!(h["x-ratelimit-remaining-tokens-minute"], (100_000 - total).to_string().as_str());
    assert_eq!(h["x-ratelimit-remaining-tokens-month"], (10_000_000 - total).to_string().as_str());

    let mut stream = chat(4);
    stream["stream"] = json!(true);
    let r = mock.post("/v1/chat/completions", &stream).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/event-stream; charset=utf-8");
    assert!(r.headers().keys().all(|k| !k.as_str().starts_with("x-ratelimit")));
    assert!(r.headers().contains_key("mistral-correlation-id"));
}

#[tokio::test]
async fn browsers_may_send_the_key_and_read_the_limit_headers() {
    let mock = Mock::start(Config { rps: 10, ..Config::default() }).await;
    let r = mock
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/v1/chat/completions", mock.url))
        .header("origin", "http://127.0.0.1:9999")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert_eq!(r.headers()["access-control-allow-origin"], "http://127.0.0.1:9999");
    let allowed = r.headers()["access-control-allow-headers"].to_str().unwrap().to_owned();
    assert!(allowed.contains("authorization"), "{allowed}");
    let r = mock.post("/v1/chat/completions", &chat(1)).header("origin", "http://127.0.0.1:9999").send().await.unwrap();
    let exposed = r.headers()["access-control-expose-headers"].to_str().unwrap().to_owned();
    assert!(exposed.contains("x-ratelimit-remaining-req-second") && exposed.contains("mistral-correlation-id"));
    // The per-minute form, and a model off the plan, state the limit only per minute.
    assert!(exposed.contains("x-ratelimit-limit-req-minute"), "{exposed}");
}

#[tokio::test]
async fn static_files_are_served_beside_the_api() {
    let dir = std::env::temp_dir().join(format!("mock-www-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>demo</h1>").unwrap();
    let mock = Mock::start(Config { www: Some(dir.clone()), ..Config::default() }).await;
    let page = mock.http.get(format!("{}/index.html", mock.url)).send().await.unwrap().text().await.unwrap();
    assert_eq!(page, "<h1>demo</h1>");
    assert_eq!(mock.get("/v1/models").send().await.unwrap().status(), 200);
    std::fs::remove_dir_all(dir).unwrap();
}
