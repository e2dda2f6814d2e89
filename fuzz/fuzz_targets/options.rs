//! The client's options: arbitrary JSON, and objects of fuzz-chosen numbers (NaN,
//! infinities, huge, tiny, negative, fractional) for every numeric option.
//!
//! Invariants: no panic; when `resolve()` succeeds every lane's window is within
//! 1 s ..= 31 days and its capacity at least 1, and every timer (the timeouts, the
//! retry's base and max delay and its max wait) fits in 2^31 - 1 ms; when it fails,
//! the message names an option that was given.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use mistral_ratelimit::client::options::{option_type, ClientOptions, MAX_MS, OPTION_KEYS};
use mistral_ratelimit::MONTH;
use serde_json::{Map, Number, Value};

/// Numbers the boundaries live at.
const SPECIAL: &[f64] = &[
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    1.5,
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::MAX,
    f64::MIN,
    f64::MIN_POSITIVE,
    f64::EPSILON,
    5e-324,
    1e15,
    1e15 + 1.0,
    1e16,
    1e19,
    1e300,
    2_147_483_647.0,
    2_147_483_648.0,
    2_147_483_646.5,
    1.0 / (31.0 * 86_400.0),
    1.0 / (31.0 * 86_400.0) * 0.999_999,
    1.0 / (31.0 * 86_400.0) * 1.000_001,
    1e-7,
    100.0,
    101.0,
    4_294_967_296.0,
    18_446_744_073_709_551_616.0,
    9_007_199_254_740_993.0,
    0.001,
    0.0005,
    1e-3,
    999.999_999,
];

fn number(bytes: &[u8]) -> f64 {
    match bytes.first().map(|b| b % 4) {
        Some(0) | Some(1) => SPECIAL[bytes.get(1).copied().unwrap_or(0) as usize % SPECIAL.len()],
        Some(2) => {
            let mut raw = [0u8; 8];
            for (i, b) in bytes.iter().skip(1).take(8).enumerate() {
                raw[i] = *b;
            }
            f64::from_le_bytes(raw)
        }
        _ => {
            let mut raw = [0u8; 4];
            for (i, b) in bytes.iter().skip(1).take(4).enumerate() {
                raw[i] = *b;
            }
            // Small integers and simple fractions, signed.
            let n = i32::from_le_bytes(raw);
            if raw[0] & 1 == 0 {
                n as f64
            } else {
                n as f64 / 1000.0
            }
        }
    }
}

/// The keys whose value `opts` holds.
fn given(opts: &ClientOptions) -> Vec<&'static str> {
    let set = [
        ("apiKey", opts.api_key.is_some()),
        ("serverURL", opts.server_url.is_some()),
        ("requestsPerSecond", opts.requests_per_second.is_some()),
        ("tokensPerMinute", opts.tokens_per_minute.is_some()),
        ("tokensPerMonth", opts.tokens_per_month.is_some()),
        ("maxRetries", opts.max_retries.is_some()),
        ("baseDelayMs", opts.base_delay_ms.is_some()),
        ("maxDelayMs", opts.max_delay_ms.is_some()),
        ("timeoutMs", opts.timeout_ms.is_some()),
        ("streamIdleTimeoutMs", opts.stream_idle_timeout_ms.is_some()),
        ("queueTimeoutMs", opts.queue_timeout_ms.is_some()),
        ("dangerouslyAllowBrowser", opts.dangerously_allow_browser.is_some()),
    ];
    for (k, _) in set {
        assert!(OPTION_KEYS.contains(&k), "{k} is no longer an option key");
    }
    set.into_iter().filter(|(_, v)| *v).map(|(k, _)| k).collect()
}

fn check(opts: ClientOptions) {
    let named = given(&opts);
    let max = Duration::from_millis(MAX_MS as u64);
    match opts.clone().resolve() {
        Ok(c) => {
            assert!(!c.limiter.lanes.is_empty());
            for lane in &c.limiter.lanes {
                assert!(
                    (Duration::from_secs(1)..=MONTH).contains(&lane.window),
                    "lane window {:?} from {opts:?}",
                    lane.window
                );
                assert!(lane.capacity >= 1, "lane capacity {} from {opts:?}", lane.capacity);
            }
            let t = c.timeouts;
            let r = c.retry;
            for (what, d) in [
                ("attempt", Some(t.attempt)),
                ("stream_idle", Some(t.stream_idle)),
                ("queue", t.queue),
                ("base_delay", Some(r.base_delay)),
                ("max_delay", Some(r.max_delay)),
                ("max_wait", Some(r.max_wait)),
            ] {
                if let Some(d) = d {
                    assert!(d <= max, "{what} = {d:?} > 2^31-1 ms from {opts:?}");
                }
            }
            assert!(r.base_delay <= r.max_delay, "{r:?} from {opts:?}");
            assert!(!c.server_url.ends_with('/'), "{:?}", c.server_url);
        }
        Err(msg) => {
            assert!(
                named.iter().any(|k| msg.contains(k)),
                "error {msg:?} names none of the given options {named:?}: {opts:?}"
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 0 {
        // Arbitrary JSON text.
        if let Ok(text) = std::str::from_utf8(rest) {
            if let Ok(opts) = serde_json::from_str::<ClientOptions>(text) {
                check(opts);
            }
        }
        return;
    }
    // An object of fuzz-chosen numbers: each numeric key is present or not, and its
    // number comes from the next bytes.
    let numeric: Vec<&str> = OPTION_KEYS.iter().copied().filter(|k| option_type(k) == "number").collect();
    let mut map = Map::new();
    let mut direct = ClientOptions::default();
    let mut chunks = rest.chunks(9);
    for key in numeric {
        let Some(chunk) = chunks.next() else { break };
        if chunk[0] & 0x80 != 0 {
            continue;
        }
        let x = number(chunk);
        // JSON has no NaN or infinity: those go straight into the struct (as a JS
        // caller's object would reach it), finite values through JSON as well.
        if let Some(n) = Number::from_f64(x) {
            map.insert(key.to_owned(), Value::Number(n));
        }
        let slot = match key {
            "requestsPerSecond" => &mut direct.requests_per_second,
            "tokensPerMinute" => &mut direct.tokens_per_minute,
            "tokensPerMonth" => &mut direct.tokens_per_month,
            "maxRetries" => &mut direct.max_retries,
            "baseDelayMs" => &mut direct.base_delay_ms,
            "maxDelayMs" => &mut direct.max_delay_ms,
            "timeoutMs" => &mut direct.timeout_ms,
            "streamIdleTimeoutMs" => &mut direct.stream_idle_timeout_ms,
            "queueTimeoutMs" => &mut direct.queue_timeout_ms,
            other => panic!("numeric option {other} unknown to this target"),
        };
        *slot = Some(x);
    }
    if mode & 2 != 0 {
        direct.server_url = Some(String::from_utf8_lossy(chunks.next().unwrap_or(b"http://h/")).into_owned());
        map.insert("serverURL".into(), Value::String(direct.server_url.clone().unwrap()));
    }
    let json = Value::Object(map).to_string();
    let parsed = serde_json::from_str::<ClientOptions>(&json).expect("an object of known keys and numbers parses");
    check(parsed);
    check(direct);
});
