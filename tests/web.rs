//! The crate in a real wasm host: Node, headless Chromium and Firefox, Deno.
//! `scripts/run/wasm-tests.sh` runs it against a mock-mistral whose URL it passes at
//! compile time as `MISTRAL_MOCK_URL`.
//!
//! Every JS global is reached through `globalThis`, never `window`: Node, Deno and
//! Workers have none.
#![cfg(target_arch = "wasm32")]

use std::time::Duration;

use js_sys::{global, Function, Promise, Reflect, Uint8Array};
use mistral_ratelimit::sse::{SseDecoder, SseEvent, StreamEnd};
use mistral_ratelimit::{Demand, Instant, LaneSpec, Limiter, LimiterConfig, MarginPolicy, Reservation};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{Headers, ReadableStreamDefaultReader, ReadableStreamReadResult, Request, RequestInit, Response};

/// The mock's base URL, fixed when the tests were compiled.
fn mock_url() -> &'static str {
    let Some(url) = option_env!("MISTRAL_MOCK_URL") else {
        panic!("build the wasm tests with MISTRAL_MOCK_URL set: run scripts/run/wasm-tests.sh")
    };
    url
}

#[wasm_bindgen_test]
fn limiter_admits_one_per_second_and_predicts_the_next() {
    let margin = Duration::from_millis(25);
    let limiter = Limiter::new(LimiterConfig {
        lanes: vec![LaneSpec::requests_per_second(1)],
        margin: MarginPolicy::fixed(margin),
        ..LimiterConfig::default()
    });
    let t0 = Instant::from_millis_f64(1_000.0);
    let Ok(Reservation::Ready(first)) = limiter.reserve(Demand::tokens(10), t0) else { panic!("first not admitted") };
    let Ok(Reservation::Queued(second)) = limiter.reserve(Demand::tokens(10), t0) else { panic!("second not queued") };
    // One window, the arrival margin, and one tick past the expiry.
    let due = t0 + Duration::from_secs(1) + margin + Duration::from_micros(1);
    assert_eq!(second.predicted(), due);
    assert_eq!(limiter.next_wake(), Some(due));
    assert_eq!(first.settle(8, t0 + Duration::from_millis(300)).refunded, 2);
}

#[wasm_bindgen_test]
fn sse_decoder_joins_a_stream_split_in_two() {
    let mut decoder = SseDecoder::default();
    let mut events = Vec::new();
    decoder.feed(b"data: {\"n\":1}\r\n\r\ndata: {\"n\"", &mut events).unwrap();
    assert_eq!(events.len(), 1);
    decoder.feed(b":2}\n\ndata: [DONE]\n\n", &mut events).unwrap();
    let data: Vec<&str> = events.iter().map(|e: &SseEvent| e.data.as_str()).collect();
    assert_eq!(data, [r#"{"n":1}"#, r#"{"n":2}"#]);
    assert_eq!(decoder.finish(&mut events), StreamEnd::Done);
}

/// `globalThis.fetch(request)`, awaited.
async fn fetch(request: &Request) -> Response {
    let scope = global();
    let fetch: Function = Reflect::get(&scope, &"fetch".into()).unwrap().dyn_into().expect("no global fetch");
    let promise: Promise = fetch.call1(&scope, request).unwrap().unchecked_into();
    JsFuture::from(promise).await.expect("fetch failed").unchecked_into()
}

/// A chat completion request to the mock, streamed or not.
fn chat_request(stream: bool) -> Request {
    let headers = Headers::new().unwrap();
    headers.set("authorization", "Bearer test-key").unwrap();
    headers.set("content-type", "application/json").unwrap();
    let body = serde_json::json!({
        "model": "mistral-small-latest",
        "messages": [{ "role": "user", "content": "hi" }],
        "max_tokens": 3,
        "stream": stream,
    });
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str(&body.to_string()));
    Request::new_with_str_and_init(&format!("{}/v1/chat/completions", mock_url()), &init).unwrap()
}

#[wasm_bindgen_test]
async fn fetch_reaches_the_mock_and_reads_its_headers() {
    let response = fetch(&chat_request(false)).await;
    assert_eq!(response.status(), 200);
    // Readable from JS: in a browser this proves CORS exposes it.
    let cost = response.headers().get("x-ratelimit-tokens-query-cost").unwrap().expect("query cost header hidden");
    let text = JsFuture::from(response.text().unwrap()).await.unwrap().as_string().unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let total = json["usage"]["total_tokens"].as_u64().expect("usage.total_tokens");
    assert!(total > 0);
    assert_eq!(cost.parse::<u64>().unwrap(), total);
}

#[wasm_bindgen_test]
async fn a_streamed_reply_decodes_to_done() {
    let response = fetch(&chat_request(true)).await;
    assert_eq!(response.status(), 200);
    let reader: ReadableStreamDefaultReader = response.body().expect("no body").get_reader().unchecked_into();
    let mut decoder = SseDecoder::default();
    let mut events = Vec::new();
    let mut chunks = 0;
    loop {
        let result: ReadableStreamReadResult = JsFuture::from(reader.read()).await.unwrap().unchecked_into();
        if result.get_done() == Some(true) {
            break;
        }
        let bytes = Uint8Array::new(&result.get_value()).to_vec();
        decoder.feed(&bytes, &mut events).unwrap();
        chunks += 1;
    }
    assert!(chunks > 0);
    assert_eq!(decoder.finish(&mut events), StreamEnd::Done);
    // The role chunk, then content chunks, the last with the finish reason and usage.
    assert!(events.len() >= 2, "{events:?}");
    let last: serde_json::Value = serde_json::from_str(&events.last().unwrap().data).unwrap();
    assert!(last["choices"][0]["finish_reason"].is_string(), "{last}");
    let completion = last["usage"]["completion_tokens"].as_u64().unwrap();
    assert!((1..=3).contains(&completion), "max_tokens is 3: {last}");
    assert!(last["usage"]["total_tokens"].as_u64().unwrap() > completion);
}

// ===== The client edge, driven as the JS layer drives it =====

/// Builds plain `Error`s carrying the fields, as the package's factory does.
fn error_factory() -> js_sys::Function {
    js_sys::Function::new_with_args(
        "name, message, fields",
        "const e = new Error(message); e.name = name; Object.assign(e, fields); return e;",
    )
}

fn client(requests_per_second: f64) -> mistral_ratelimit::Client {
    let options = js_sys::Object::new();
    for (k, v) in [
        ("apiKey", JsValue::from_str("test-key")),
        ("serverURL", JsValue::from_str(mock_url())),
        ("requestsPerSecond", JsValue::from(requests_per_second)),
    ] {
        js_sys::Reflect::set(&options, &JsValue::from_str(k), &v).unwrap();
    }
    mistral_ratelimit::Client::new(options.into(), error_factory(), None).expect("valid options")
}

fn get(v: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(v, &JsValue::from_str(key)).unwrap()
}

fn json(text: &str) -> JsValue {
    js_sys::JSON::parse(text).unwrap()
}

const CHAT: &str = r#"{"model":"mistral-small-latest","messages":[{"role":"user","content":"hi"}],"max_tokens":4}"#;

#[wasm_bindgen_test]
async fn the_client_completes_a_chat_call_and_settles_it() {
    let c = client(50.0);
    let reply = JsFuture::from(c.call("chat.complete", vec![], json(CHAT), None, JsValue::UNDEFINED)).await.unwrap();
    let total = get(&get(&reply, "usage"), "total_tokens").as_f64().unwrap();
    assert!(total > 0.0);
    let status = c.status();
    assert_eq!(get(&status, "inFlight").as_f64(), Some(0.0));
    assert_eq!(
        get(&get(&status, "counters"), "tokensIn").as_f64().unwrap()
            + get(&get(&status, "counters"), "tokensOut").as_f64().unwrap(),
        total
    );
}

#[wasm_bindgen_test]
async fn the_client_streams_a_conversation_to_its_end() {
    let c = client(50.0);
    let body =
        json(r#"{"model":"mistral-small-latest","inputs":"Bonjour","completion_args":{"max_tokens":6},"stream":true}"#);
    let stream = JsFuture::from(c.stream("conversations.start", vec![], body, JsValue::UNDEFINED)).await.unwrap();
    let next: js_sys::Function = get(&stream, "next").dyn_into().unwrap();
    let mut types = Vec::new();
    loop {
        let step = JsFuture::from(js_sys::Promise::from(next.call0(&stream).unwrap())).await.unwrap();
        if get(&step, "done").as_bool() == Some(true) {
            break;
        }
        types.push(get(&get(&step, "value"), "type").as_string().unwrap());
    }
    assert_eq!(types.first().map(String::as_str), Some("conversation.response.started"));
    assert_eq!(types.last().map(String::as_str), Some("conversation.response.done"));
    assert_eq!(get(&c.status(), "inFlight").as_f64(), Some(0.0));
}

#[wasm_bindgen_test]
async fn an_abort_while_queued_leaves_the_queue_with_a_typed_error() {
    let c = client(1.0);
    JsFuture::from(c.call("chat.complete", vec![], json(CHAT), None, JsValue::UNDEFINED)).await.unwrap();
    let controller = web_sys::AbortController::new().unwrap();
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &JsValue::from_str("signal"), &controller.signal()).unwrap();
    let waiting = JsFuture::from(c.call("chat.complete", vec![], json(CHAT), None, options.into()));
    controller.abort();
    let err = waiting.await.unwrap_err();
    assert_eq!(get(&err, "name").as_string().as_deref(), Some("AbortError"));
    assert_eq!(get(&err, "code").as_string().as_deref(), Some("aborted"));
    let status = c.status();
    assert_eq!((get(&status, "queued").as_f64(), get(&status, "inFlight").as_f64()), (Some(0.0), Some(0.0)));
}
