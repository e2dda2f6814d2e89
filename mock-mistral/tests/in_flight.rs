//! The cap on requests in flight: Mistral's "requests per second" read as "the
//! maximum number of concurrent API requests".

mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use mock_mistral::config::Config;
use serde_json::{json, Value};
use support::{chat, Mock};

fn stream(max_tokens: u64) -> Value {
    let mut b = chat(max_tokens);
    b["stream"] = json!(true);
    b
}

/// At 100 tokens a second a stream of `max_tokens` n lasts between n/200 and n/100 s.
async fn paced(config: Config) -> Mock {
    Mock::start_paced(Config { tokens_per_second: 100, ..config }).await
}

/// Whether a request is admitted within `wait`, asking every 20 ms.
async fn admitted_within(mock: &Mock, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap().status() == 200 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn a_request_over_the_cap_gets_the_rate_limit_429_until_a_reply_is_sent() {
    let mock = paced(Config { max_in_flight: 2, rps: 3, retry_after: Some(1), ..Config::default() }).await;
    let a = mock.post("/v1/chat/completions", &stream(60)).send().await.unwrap();
    let b = mock.post("/v1/chat/completions", &stream(60)).send().await.unwrap();
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    for _ in 0..3 {
        let r = mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "1");
        // Refusals are not charged: the two streams are all the second's requests.
        assert_eq!(r.headers()["x-ratelimit-remaining-req-second"], "1");
        let body: Value = r.json().await.unwrap();
        assert_eq!((body["type"].as_str(), body["code"].as_str()), (Some("rate_limited"), Some("1300")));
    }
    let (a, b) = (a.text().await.unwrap(), b.text().await.unwrap());
    assert!(a.ends_with("data: [DONE]\n\n") && b.ends_with("data: [DONE]\n\n"));
    // Both replies are sent: a place is free, and the second still has one request.
    assert_eq!(mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap().status(), 200);
    let stats = mock.stats().await;
    assert_eq!((stats["busiest_in_flight"].as_u64(), stats["rate_limited"].as_u64()), (Some(2), Some(3)));
}

#[tokio::test]
async fn an_abandoned_stream_or_a_cut_reply_gives_its_place_back() {
    let mock = Mock::start(Config { max_in_flight: 1, ..Config::default() }).await;
    let r = mock.post("/v1/chat/completions", &stream(5)).header("x-mock-fault", "never-ending").send().await.unwrap();
    let mut body = r.bytes_stream();
    body.next().await.unwrap().unwrap();
    assert_eq!(mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap().status(), 429);
    assert_eq!(mock.stats().await["busiest_in_flight"], 1, "the control endpoints are never capped");
    drop(body);
    assert!(admitted_within(&mock, Duration::from_secs(2)).await, "the abandoned stream still holds its place");

    let cut = mock.post("/v1/chat/completions", &chat(5)).header("x-mock-fault", "truncate").send().await.unwrap();
    assert!(cut.bytes().await.is_err());
    assert_eq!(mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap().status(), 200);
    assert_eq!(mock.stats().await["busiest_in_flight"], 1);
}

#[tokio::test]
async fn stats_say_how_many_were_in_flight_and_for_how_long() {
    let mock = paced(Config { max_in_flight: 2, ..Config::default() }).await;
    let t0 = Instant::now();
    let a = mock.post("/v1/chat/completions", &stream(40)).send().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let b = mock.post("/v1/chat/completions", &stream(40)).send().await.unwrap();
    a.text().await.unwrap();
    b.text().await.unwrap();
    let elapsed = t0.elapsed().as_secs_f64() * 1000.0;

    let stats = mock.stats().await;
    assert_eq!(stats["busiest_in_flight"], 2);
    let ms: Vec<f64> = serde_json::from_value(stats["in_flight_ms"].clone()).unwrap();
    assert_eq!(ms.len(), 3, "{ms:?}");
    let total: f64 = ms.iter().sum();
    // From the first admission to the last release: inside what the client saw.
    assert!(total <= elapsed && total > elapsed - 150.0, "{ms:?} in {elapsed} ms");
    assert!(ms[1] >= 90.0 && ms[2] > 0.0, "{ms:?}");

    mock.http.post(format!("{}/__mock/reset", mock.url)).send().await.unwrap();
    let stats = mock.stats().await;
    assert_eq!((&stats["busiest_in_flight"], &stats["in_flight_ms"]), (&json!(0), &json!([0.0])));
}

#[tokio::test]
async fn reset_forgets_the_requests_in_flight() {
    let mock = Mock::start(Config { max_in_flight: 1, ..Config::default() }).await;
    let endless = || mock.post("/v1/chat/completions", &stream(5)).header("x-mock-fault", "never-ending").send();
    let mut old = endless().await.unwrap().bytes_stream();
    old.next().await.unwrap().unwrap();
    mock.http.post(format!("{}/__mock/reset", mock.url)).send().await.unwrap();
    let mut new = endless().await.unwrap().bytes_stream();
    new.next().await.unwrap().unwrap();
    // The forgotten stream's end frees nothing: the new one still holds the place.
    drop(old);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(mock.post("/v1/chat/completions", &chat(1)).send().await.unwrap().status(), 429);
    assert_eq!(mock.stats().await["busiest_in_flight"], 1);
}
