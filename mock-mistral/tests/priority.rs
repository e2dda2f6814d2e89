//! The priority tier: `service_tier: "auto"` is served at priority while the model's
//! priority rate allows, outside the standard request rate, and falls back to
//! standard after; usage says which.

mod support;

use std::time::Duration;

use mock_mistral::config::Config;
use serde_json::{json, Value};
use support::{chat, Mock};

fn parse(args: &[&str]) -> Config {
    Config::parse(args.iter().map(|s| s.to_string())).unwrap()
}

fn asking(model: &str, tier: Option<&str>) -> Value {
    let mut body = chat(1);
    body["model"] = json!(model);
    if let Some(tier) = tier {
        body["service_tier"] = json!(tier);
    }
    body
}

/// The status, the served tier and what remains of the standard request rate.
async fn send(mock: &Mock, body: &Value) -> (u16, Option<String>, Option<String>) {
    let r = mock.post("/v1/chat/completions", body).send().await.unwrap();
    let status = r.status().as_u16();
    let remaining = r.headers().get("x-ratelimit-remaining-req-second").map(|v| v.to_str().unwrap().to_owned());
    let body: Value = r.json().await.unwrap();
    (status, body["usage"]["service_tier"].as_str().map(str::to_owned), remaining)
}

#[tokio::test]
async fn auto_is_served_at_priority_under_the_models_rate_then_at_standard() {
    let mock = Mock::start(Config { rps: 1, ..parse(&["--priority-rps", "mistral-large-latest=2"]) }).await;
    let auto = asking("mistral-large-latest", Some("auto"));
    let priority = (200, Some("priority".to_owned()), Some("1".to_owned()));
    assert_eq!(send(&mock, &auto).await, priority, "outside the standard rate");
    assert_eq!(send(&mock, &auto).await, priority);
    assert_eq!(send(&mock, &auto).await, (200, Some("standard".into()), Some("0".into())), "overflow falls back");
    assert_eq!(send(&mock, &auto).await.0, 429, "and standard limits apply to it");

    tokio::time::sleep(Duration::from_millis(1050)).await;
    let standard = (200, Some("standard".to_owned()), Some("0".to_owned()));
    assert_eq!(send(&mock, &asking("mistral-large-latest", Some("standard_only"))).await, standard);
    assert_eq!(send(&mock, &auto).await.1.as_deref(), Some("priority"), "priority is there with standard spent");
    assert_eq!(send(&mock, &asking("mistral-large-latest", None)).await.0, 429, "absent is standard_only");
}

#[tokio::test]
async fn usage_always_says_the_tier_in_replies_and_streams() {
    let mock = Mock::start(parse(&["--priority-rps", "mistral-large-latest=5"])).await;
    assert_eq!(send(&mock, &asking("mistral-large-latest", None)).await.1.as_deref(), Some("standard"));
    assert_eq!(
        send(&mock, &asking("mistral-small-latest", Some("auto"))).await.1.as_deref(),
        Some("standard"),
        "no priority rate"
    );
    let mut stream = asking("mistral-large-latest", Some("auto"));
    stream["stream"] = json!(true);
    let text = mock.post("/v1/chat/completions", &stream).send().await.unwrap().text().await.unwrap();
    let usages: Vec<Value> = text
        .split("\n\n")
        .filter_map(|f| f.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|c| c.get("usage").cloned())
        .collect();
    assert_eq!(usages.len(), 1, "usage only on the final chunk");
    assert_eq!(usages[0]["service_tier"], "priority");
    // FIM takes no service tier and reports none.
    let fim = json!({"model": "codestral-latest", "prompt": "def f(", "max_tokens": 2});
    let r = mock.post("/v1/fim/completions", &fim).send().await.unwrap().json::<Value>().await.unwrap();
    assert!(r["usage"].get("service_tier").is_none(), "{r}");
}

#[tokio::test]
async fn priority_is_not_held_to_the_standard_tiers_capacity() {
    let config = parse(&["--priority-rps", "mistral-large-latest=2", "--model-rps", "mistral-large-latest=1"]);
    let mock = Mock::start(config).await;
    assert_eq!(send(&mock, &asking("mistral-large-latest", None)).await.0, 200);
    assert_eq!(send(&mock, &asking("mistral-large-latest", Some("auto"))).await.0, 200);
    let r = mock.post("/v1/chat/completions", &asking("mistral-large-latest", None)).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["type"], "service_tier_capacity_exceeded");
}

#[tokio::test]
async fn any_other_tier_is_a_422() {
    let mock = Mock::start(Config::default()).await;
    for bad in [json!("priority"), json!(1)] {
        let mut body = chat(1);
        body["service_tier"] = bad.clone();
        let r = mock.post("/v1/chat/completions", &body).send().await.unwrap();
        assert_eq!(r.status(), 422);
        let detail = r.json::<Value>().await.unwrap()["detail"][0].clone();
        assert_eq!((&detail["loc"], &detail["input"]), (&json!(["body", "service_tier"]), &bad));
    }
    assert!(Config::parse(["--priority-rps", "mistral-large-latest"].map(String::from).into_iter()).is_err());
}
