//! The limits, enforced like a gateway: by arrival, per workspace or key.

mod support;

use std::time::Duration;

use futures_util::future::join_all;
use mock_mistral::config::{Algorithm, Config, RequestHeaders, Scope};
use serde_json::{json, Value};
use support::{chat, Mock};

async fn statuses(mock: &Mock, n: usize, key: &str) -> Vec<u16> {
    let sends = (0..n)
        .map(|_| mock.http.post(format!("{}/v1/chat/completions", mock.url)).bearer_auth(key).json(&chat(1)).send());
    join_all(sends).await.into_iter().map(|r| r.unwrap().status().as_u16()).collect()
}

fn count(statuses: &[u16], code: u16) -> usize {
    statuses.iter().filter(|s| **s == code).count()
}

#[tokio::test]
async fn concurrent_requests_get_exactly_what_a_sliding_window_allows() {
    let mock = Mock::start(Config { rps: 5, ..Config::default() }).await;
    let first = statuses(&mock, 20, "k").await;
    assert_eq!((count(&first, 200), count(&first, 429)), (5, 15));
    let stats = mock.stats().await;
    assert_eq!(stats["busiest_1s_admitted"], 5);
    assert_eq!(stats["busiest_1s_requests"], 20);
    assert_eq!(stats["rate_limited"], 15);
    // A second later the window has moved on: five more, no more.
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let second = statuses(&mock, 8, "k").await;
    assert_eq!(count(&second, 200), 5);
    assert_eq!(mock.stats().await["busiest_1s_admitted"], 5);
}

#[tokio::test]
async fn the_request_limit_may_be_stated_per_minute_only_as_the_real_api_does() {
    let mock =
        Mock::start(Config { rps: 5, tpm: 60_000, request_headers: RequestHeaders::Minute, ..Config::default() }).await;
    let r = mock.http.post(format!("{}/v1/chat/completions", mock.url)).bearer_auth("k").json(&chat(1)).send().await;
    let headers = r.unwrap().headers().clone();
    assert_eq!(headers["x-ratelimit-limit-req-minute"], "300");
    assert!(headers.get("x-ratelimit-limit-req-second").is_none());
    assert!(headers.get("x-ratelimit-remaining-req-second").is_none());
    assert_eq!(headers["x-ratelimit-limit-tokens-minute"], "60000");
    // Still enforced per second.
    let burst = statuses(&mock, 10, "k").await;
    assert_eq!(count(&burst, 429), 6);
}

#[tokio::test]
async fn tokens_per_minute_count_prompts_on_arrival_and_replies_as_produced() {
    let probe = Mock::start(Config::default()).await;
    let usage = probe.post("/v1/chat/completions", &chat(1)).send().await.unwrap().json::<Value>().await.unwrap()
        ["usage"]
        .clone();
    let (prompt, total) = (usage["prompt_tokens"].as_u64().unwrap(), usage["total_tokens"].as_u64().unwrap());

    let tpm = 10 * total + prompt - 1;
    let mock = Mock::start(Config { tpm, ..Config::default() }).await;
    let mut admitted = 0;
    for _ in 0..20 {
        match mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap().status().as_u16() {
            200 => admitted += 1,
            429 => break,
            other => panic!("status {other}"),
        }
    }
    // k requests fit while (k - 1) * total + prompt <= tpm.
    assert_eq!(admitted, (tpm - prompt) / total + 1);
    assert!(mock.stats().await["busiest_60s_tokens"].as_u64().unwrap() <= tpm);
}

#[tokio::test]
async fn a_stream_charges_its_tokens_as_they_are_produced() {
    let mock = Mock::start(Config::default()).await;
    let mut body = chat(30);
    body["stream"] = json!(true);
    let text = mock.post("/v1/chat/completions", &body).send().await.unwrap().text().await.unwrap();
    let last = text
        .split("\n\n")
        .filter_map(|f| f.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|c| c.get("usage").is_some())
        .expect("usage rides on the last content chunk");
    assert_eq!(mock.stats().await["tokens_charged"], last["usage"]["total_tokens"]);
}

#[tokio::test]
async fn each_key_can_have_its_own_budget() {
    let mock = Mock::start(Config { rps: 2, scope: Scope::Key, ..Config::default() }).await;
    assert_eq!(count(&statuses(&mock, 4, "a").await, 200), 2);
    assert_eq!(count(&statuses(&mock, 4, "b").await, 200), 2);
    let shared = Mock::start(Config { rps: 2, ..Config::default() }).await;
    assert_eq!(count(&statuses(&shared, 2, "a").await, 200), 2);
    assert_eq!(count(&statuses(&shared, 2, "b").await, 200), 0, "the workspace's keys share one budget");
}

#[tokio::test]
async fn a_spent_month_says_so() {
    let mock = Mock::start(Config { tokens_per_month: 20, ..Config::default() }).await;
    let mut last = None;
    for _ in 0..10 {
        let r = mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap();
        if r.status() == 429 {
            last = Some(r);
            break;
        }
    }
    let r = last.expect("the month runs out");
    let remaining: u64 = r.headers()["x-ratelimit-remaining-tokens-month"].to_str().unwrap().parse().unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["message"], "Monthly token quota exceeded");
    let charged = mock.stats().await["tokens_charged"].as_u64().unwrap();
    assert_eq!(remaining + charged, 20, "what is left plus what was spent is the month's cap");
}

#[tokio::test]
async fn a_bucket_allows_a_burst_then_refills_at_the_rate() {
    let mock = Mock::start(Config { rps: 5, algorithm: Algorithm::Bucket, ..Config::default() }).await;
    assert_eq!(count(&statuses(&mock, 8, "k").await, 200), 5);
    tokio::time::sleep(Duration::from_millis(450)).await; // refills 2.25 requests
    assert_eq!(count(&statuses(&mock, 4, "k").await, 200), 2);
}

#[tokio::test]
async fn a_fixed_window_resets_at_its_boundary() {
    let mock = Mock::start(Config { rps: 3, algorithm: Algorithm::Fixed, ..Config::default() }).await;
    assert_eq!(count(&statuses(&mock, 5, "k").await, 200), 3);
    tokio::time::sleep(Duration::from_millis(1050)).await;
    assert_eq!(count(&statuses(&mock, 5, "k").await, 200), 3);
}

#[tokio::test]
async fn reset_forgets_budgets_and_statistics() {
    let mock = Mock::start(Config { rps: 1, ..Config::default() }).await;
    assert_eq!(count(&statuses(&mock, 3, "k").await, 200), 1);
    let r = mock.http.post(format!("{}/__mock/reset", mock.url)).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(mock.stats().await["requests"], 0);
    assert_eq!(count(&statuses(&mock, 3, "k").await, 200), 1);
}

#[tokio::test]
async fn latency_varies_from_request_to_request_within_its_range() {
    let lo = Duration::from_millis(20);
    let hi = Duration::from_millis(120);
    let mock = Mock::start(Config { latency: (lo, hi), ..Config::default() }).await;
    let mut took = Vec::new();
    for _ in 0..12 {
        let t = std::time::Instant::now();
        mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap();
        took.push(t.elapsed());
    }
    assert!(took.iter().all(|d| *d >= lo), "{took:?}");
    let spread = *took.iter().max().unwrap() - *took.iter().min().unwrap();
    assert!(spread > Duration::from_millis(30), "one key's requests all took about the same time: {took:?}");
}

#[tokio::test]
async fn a_model_over_its_own_rate_gets_the_429_of_a_saturated_tier() {
    let config = Config::parse(["--model-rps", "mistral-large-latest=2"].map(String::from).into_iter()).unwrap();
    let mock = Mock::start(config).await;
    let send = |model: &'static str| {
        let mut body = chat(1);
        body["model"] = json!(model);
        mock.http.post(format!("{}/v1/chat/completions", mock.url)).bearer_auth("k").json(&body).send()
    };
    let large: Vec<u16> = join_all((0..5).map(|_| send("mistral-large-2411")))
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!((count(&large, 200), count(&large, 429)), (2, 3), "the alias names the same model");
    let refused = send("mistral-large-latest").await.unwrap().json::<Value>().await.unwrap();
    assert_eq!(refused["type"], "service_tier_capacity_exceeded");
    assert_eq!(refused["code"], "3505");
    let small: Vec<u16> = join_all((0..5).map(|_| send("mistral-small-latest")))
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(count(&small, 200), 5, "other models are not held to it");
    assert!(Config::parse(["--model-rps", "no-such-model=1"].map(String::from).into_iter()).is_err());
}
