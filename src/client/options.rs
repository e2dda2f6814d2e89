//! The client's options as JS passes them, checked: unknown keys and impossible
//! numbers are refused with a message that says what to change.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::alerts::AlertPolicy;
use crate::limiter::{InFlightPolicy, LaneSpec, LimiterConfig};
use crate::retry::RetryPolicy;

/// `new MistralRatelimitClient(options)`, as given (camelCase, every key optional).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientOptions {
    /// The API key (the JS layer fills it from `MISTRAL_API_KEY` when absent).
    pub api_key: Option<String>,
    /// The API's base URL.
    #[serde(rename = "serverURL")]
    pub server_url: Option<String>,
    /// Requests per second; fractions allowed (`0.2` is one every 5 s).
    pub requests_per_second: Option<f64>,
    /// How `requests_per_second` is read: `"rate"` (arrivals in any second),
    /// `"concurrency"` (requests in flight), `"both"`, or `"auto"` (a rate, and a
    /// cap on requests in flight once 429s line up with it).
    pub request_limit: Option<String>,
    /// The most requests in flight at once, whatever `request_limit` says.
    pub max_concurrent_requests: Option<f64>,
    /// Tokens per minute, input plus output.
    pub tokens_per_minute: Option<f64>,
    /// Tokens per month.
    pub tokens_per_month: Option<f64>,
    /// Retries after the first attempt.
    pub max_retries: Option<f64>,
    /// The first backoff step.
    pub base_delay_ms: Option<f64>,
    /// The largest backoff step.
    pub max_delay_ms: Option<f64>,
    /// Each HTTP attempt's budget, head and body (a stream's body has its idle
    /// timeout instead).
    pub timeout_ms: Option<f64>,
    /// The longest a stream may go without an event.
    pub stream_idle_timeout_ms: Option<f64>,
    /// The longest a call may wait for budget; `None` waits as long as it takes.
    pub queue_timeout_ms: Option<f64>,
    /// Allows a key in a browser page (read by the JS layer).
    pub dangerously_allow_browser: Option<bool>,
    /// The share of five minutes' requests refused with a 429 that raises an alert.
    pub alert_rate_limited_share: Option<f64>,
    /// The queue wait p95 (ms) that raises an alert.
    pub alert_queue_wait_ms: Option<f64>,
    /// Per model: its own limits, besides the workspace's.
    pub model_limits: Option<BTreeMap<String, ModelLimits>>,
    /// Per model: the models to move to, in order, when it cannot serve a call.
    pub fallback: Option<BTreeMap<String, Vec<String>>>,
    /// The predicted wait for a model's lanes past which a call moves on.
    pub fallback_after_ms: Option<f64>,
}

/// One model's own limits (`modelLimits`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelLimits {
    /// Its requests per second.
    pub requests_per_second: Option<f64>,
    /// Its tokens per minute.
    pub tokens_per_minute: Option<f64>,
}

/// Every key `ClientOptions` takes, for runtimes whose deserialiser reads only the
/// keys it knows (so an unknown one must be looked for explicitly).
pub const OPTION_KEYS: &[&str] = &[
    "apiKey",
    "serverURL",
    "requestsPerSecond",
    "requestLimit",
    "maxConcurrentRequests",
    "tokensPerMinute",
    "tokensPerMonth",
    "maxRetries",
    "baseDelayMs",
    "maxDelayMs",
    "timeoutMs",
    "streamIdleTimeoutMs",
    "queueTimeoutMs",
    "dangerouslyAllowBrowser",
    "alertRateLimitedShare",
    "alertQueueWaitMs",
    "modelLimits",
    "fallback",
    "fallbackAfterMs",
];

/// The JS type each option takes (`typeof`).
pub fn option_type(key: &str) -> &'static str {
    match key {
        "apiKey" | "serverURL" | "requestLimit" => "string",
        "dangerouslyAllowBrowser" => "boolean",
        "modelLimits" | "fallback" => "object",
        _ => "number",
    }
}

/// Refuses a key that is not an option, listing the ones there are.
pub fn check_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    for key in keys {
        if !OPTION_KEYS.contains(&key) {
            return Err(format!("unknown option '{key}'; the options are {}", OPTION_KEYS.join(", ")));
        }
    }
    Ok(())
}

/// Refuses a key of `modelLimits[model]` that is not a model's limit.
pub fn check_model_limit_keys(keys: impl IntoIterator<Item = String>) -> Result<(), String> {
    for key in keys {
        if key != "requestsPerSecond" && key != "tokensPerMinute" {
            return Err(format!(
                "unknown model limit '{key}'; a model's limits are requestsPerSecond and tokensPerMinute"
            ));
        }
    }
    Ok(())
}

/// The options resolved into what the core needs.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientConfig {
    /// The key; `None` is allowed (a proxy may add it).
    pub api_key: Option<String>,
    /// The base URL without a trailing slash.
    pub server_url: String,
    /// The workspace lanes.
    pub limiter: LimiterConfig,
    /// The retry policy.
    pub retry: RetryPolicy,
    /// How long each part of a call may take.
    pub timeouts: Timeouts,
    /// When to raise alerts.
    pub alerts: AlertPolicy,
    /// Per model: the models to move to, in order.
    pub fallback: BTreeMap<String, Vec<String>>,
    /// The predicted wait past which a call moves to its next model.
    pub fallback_after: Option<Duration>,
}

/// How long each part of a call may take. Waiting for budget and waiting for the
/// server are bounded apart: a call queued behind a minute of work is not late.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// One HTTP attempt, from sending to the end of its body (or a stream's head).
    pub attempt: Duration,
    /// A stream's longest silence.
    pub stream_idle: Duration,
    /// Waiting for the limiter to admit an attempt, and for a retry; `None` for
    /// no bound.
    pub queue: Option<Duration>,
}

impl Default for Timeouts {
    /// 60 s per attempt, 30 s of stream silence, no bound on queueing.
    fn default() -> Self {
        Timeouts { attempt: Duration::from_secs(60), stream_idle: Duration::from_secs(30), queue: None }
    }
}

/// The longest any timer may be set for: JS timers overflow past 2^31 - 1 ms.
pub const MAX_MS: f64 = 2_147_483_647.0;

/// Where calls go by default.
pub const DEFAULT_SERVER: &str = "https://api.mistral.ai";

/// `x` as JS's `String(x)` writes it, which is how the caller wrote it: plain
/// digits (`1`, `0.5`, `1000000000000000`) from a millionth up to 10^21, an
/// exponent beyond (`1e-20`, `1e+300`), and `NaN`, `Infinity`.
pub fn js_number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x == 0.0 {
        return "0".into();
    }
    if (1e-6..1e21).contains(&x.abs()) {
        // Rust's shortest round-trip digits, never in exponent form.
        return format!("{x}");
    }
    let sci = format!("{x:e}");
    match sci.split_once('e') {
        Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
        _ => sci,
    }
}

/// A bound of a range, as a reader takes it in.
fn bound(x: f64) -> String {
    if x == LEAST_RATE {
        "1/2678400 (one request a month)".into()
    } else {
        js_number(x)
    }
}

fn positive(name: &str, v: Option<f64>) -> Result<Option<f64>, String> {
    match v {
        Some(x) if !(x.is_finite() && x > 0.0) => Err(format!(
            "{name} must be a positive finite number, got {}; leave it out to use the default",
            js_number(x)
        )),
        other => Ok(other),
    }
}

/// A positive number no smaller than `least` and no larger than `most`.
fn within(name: &str, v: Option<f64>, least: f64, most: f64) -> Result<Option<f64>, String> {
    match positive(name, v)? {
        Some(x) if !(least..=most).contains(&x) => {
            Err(format!("{name} must be between {} and {}, got {}", bound(least), bound(most), js_number(x)))
        }
        other => Ok(other),
    }
}

/// The slowest request rate: one a month (a longer window would never free).
pub const LEAST_RATE: f64 = 1.0 / (31.0 * 86_400.0);
/// The largest rate or token count an option may give: far above any plan, and
/// exact in both `f64` and `u64`.
pub const MOST: f64 = 1e15;
/// The most retries a call may make.
pub const MOST_RETRIES: u64 = 100;

/// `maxRetries`, for the client and for a call alike.
pub(crate) fn retries(v: Option<f64>) -> Result<Option<u32>, String> {
    match v {
        Some(n) if !(n.fract() == 0.0 && (0.0..=MOST_RETRIES as f64).contains(&n)) => {
            Err(format!("maxRetries must be a whole number from 0 to {MOST_RETRIES}, got {}", js_number(n)))
        }
        other => Ok(other.map(|n| n as u32)),
    }
}

fn whole(name: &str, v: Option<f64>) -> Result<Option<u64>, String> {
    match v {
        Some(x) if !(x.is_finite() && x >= 0.0 && x.fract() == 0.0) => {
            Err(format!("{name} must be a whole number of 0 or more, got {}", js_number(x)))
        }
        other => Ok(other.map(|x| x as u64)),
    }
}

/// A positive number of milliseconds a timer can be set for.
pub fn millis(name: &str, v: Option<f64>) -> Result<Option<Duration>, String> {
    match positive(name, v)? {
        Some(ms) if ms > MAX_MS => {
            Err(format!("{name} must be at most {} ms (about 24.8 days), got {}", js_number(MAX_MS), js_number(ms)))
        }
        other => Ok(other.map(|ms| Duration::from_secs_f64(ms / 1000.0))),
    }
}

impl ClientOptions {
    /// Checks the options and fills in the defaults: 1 request per second,
    /// 500,000 tokens per minute, no monthly cap, 3 retries from 1 s to 32 s, and
    /// the [`Timeouts`] defaults.
    pub fn resolve(self) -> Result<ClientConfig, String> {
        let rps = within("requestsPerSecond", self.requests_per_second, LEAST_RATE, MOST)?.unwrap_or(1.0);
        let tpm = within("tokensPerMinute", self.tokens_per_minute, 1.0, MOST)?.unwrap_or(500_000.0);
        let month = within("tokensPerMonth", self.tokens_per_month, 1.0, MOST)?;
        let max_in_flight = whole("maxConcurrentRequests", self.max_concurrent_requests)?;
        if max_in_flight == Some(0) {
            return Err("maxConcurrentRequests must be at least 1; leave it out for no cap".into());
        }
        // The per-second figure read as requests in flight: at least one.
        let rps_in_flight = Some(max_in_flight.unwrap_or(rps.floor().max(1.0) as u64));
        let (rate, in_flight) = match self.request_limit.as_deref().unwrap_or("auto") {
            "auto" => (true, InFlightPolicy { cap: max_in_flight, learn: true }),
            "rate" => (true, InFlightPolicy { cap: max_in_flight, learn: false }),
            "concurrency" => (false, InFlightPolicy { cap: rps_in_flight, learn: false }),
            "both" => (true, InFlightPolicy { cap: rps_in_flight, learn: false }),
            other => {
                return Err(format!(
                    "requestLimit must be \"rate\", \"concurrency\", \"both\" or \"auto\", got {other:?}"
                ))
            }
        };
        let mut lanes = vec![LaneSpec::tokens_per_minute(tpm.floor().max(1.0) as u64)];
        if rate {
            lanes.insert(0, LaneSpec::request_rate(rps).expect("checked positive"));
        }
        let mut model_lanes = Vec::new();
        for (model, limits) in self.model_limits.unwrap_or_default() {
            let name = |what: &str| format!("modelLimits[\"{model}\"].{what}");
            if let Some(r) = within(&name("requestsPerSecond"), limits.requests_per_second, LEAST_RATE, MOST)? {
                model_lanes.push((model.clone(), LaneSpec::request_rate(r).expect("checked positive")));
            }
            if let Some(t) = within(&name("tokensPerMinute"), limits.tokens_per_minute, 1.0, MOST)? {
                model_lanes.push((model.clone(), LaneSpec::tokens_per_minute(t.floor().max(1.0) as u64)));
            }
        }
        let fallback = self.fallback.unwrap_or_default();
        if let Some((model, _)) = fallback.iter().find(|(model, chain)| chain.is_empty() || chain.contains(model)) {
            return Err(format!("fallback[\"{model}\"] must list other models, at least one"));
        }
        if let Some(m) = month {
            lanes.push(LaneSpec::tokens_per_month(m.floor().max(1.0) as u64));
        }
        let (defaults, waits) = (RetryPolicy::default(), Timeouts::default());
        let timeouts = Timeouts {
            attempt: millis("timeoutMs", self.timeout_ms)?.unwrap_or(waits.attempt),
            stream_idle: millis("streamIdleTimeoutMs", self.stream_idle_timeout_ms)?.unwrap_or(waits.stream_idle),
            queue: millis("queueTimeoutMs", self.queue_timeout_ms)?,
        };
        let retry = RetryPolicy {
            max_retries: retries(self.max_retries)?.unwrap_or(defaults.max_retries),
            base_delay: millis("baseDelayMs", self.base_delay_ms)?.unwrap_or(defaults.base_delay),
            max_delay: millis("maxDelayMs", self.max_delay_ms)?.unwrap_or(defaults.max_delay),
            max_wait: timeouts.queue.unwrap_or(defaults.max_wait),
        };
        if retry.base_delay > retry.max_delay {
            return Err("baseDelayMs must not exceed maxDelayMs".into());
        }
        let server_url = self.server_url.unwrap_or_else(|| DEFAULT_SERVER.into());
        let Some(rest) = server_url.strip_prefix("https://").or_else(|| server_url.strip_prefix("http://")) else {
            // Echo it only when it cannot hold a credential.
            let shown =
                if server_url.contains('@') { "a URL with credentials".into() } else { format!("'{server_url}'") };
            return Err(format!("serverURL must start with https:// or http://, got {shown}"));
        };
        // Credentials in the URL would go to every request and into error messages;
        // the key goes in apiKey, a proxy's in its own headers.
        if rest.split(['/', '?', '#']).next().is_some_and(|authority| authority.contains('@')) {
            return Err("serverURL must not hold credentials (user:password@host); pass the key as apiKey".into());
        }
        Ok(ClientConfig {
            api_key: self.api_key.filter(|k| !k.is_empty()),
            server_url: server_url.trim_end_matches('/').to_owned(),
            limiter: LimiterConfig { lanes, model_lanes, in_flight, ..LimiterConfig::default() },
            retry,
            timeouts,
            alerts: AlertPolicy {
                rate_limited_share: within("alertRateLimitedShare", self.alert_rate_limited_share, 1e-6, 1.0)?
                    .unwrap_or(AlertPolicy::default().rate_limited_share),
                queue_wait_ms: within("alertQueueWaitMs", self.alert_queue_wait_ms, 1.0, MAX_MS)?,
            },
            fallback,
            fallback_after: millis("fallbackAfterMs", self.fallback_after_ms)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(v: serde_json::Value) -> Result<ClientConfig, String> {
        serde_json::from_value::<ClientOptions>(v).map_err(|e| e.to_string())?.resolve()
    }

    #[test]
    fn defaults_are_the_seeds() {
        let c = parse(json!({})).unwrap();
        assert_eq!(c.server_url, DEFAULT_SERVER);
        assert_eq!(c.limiter.lanes, vec![LaneSpec::requests_per_second(1), LaneSpec::tokens_per_minute(500_000)]);
        assert_eq!(c.retry, RetryPolicy::default());
    }

    #[test]
    fn the_request_limit_is_read_as_a_rate_a_concurrency_both_or_learned() {
        let rate = LaneSpec::requests_per_second(5);
        let read = |v| {
            let c = parse(v).unwrap();
            (c.limiter.lanes.contains(&rate), c.limiter.in_flight)
        };
        let policy = |cap, learn| InFlightPolicy { cap, learn };
        assert_eq!(read(json!({"requestsPerSecond": 5})), (true, policy(None, true)));
        assert_eq!(read(json!({"requestsPerSecond": 5, "requestLimit": "rate"})), (true, policy(None, false)));
        assert_eq!(
            read(json!({"requestsPerSecond": 5, "requestLimit": "concurrency"})),
            (false, policy(Some(5), false))
        );
        assert_eq!(read(json!({"requestsPerSecond": 5, "requestLimit": "both"})), (true, policy(Some(5), false)));
        let given = json!({"requestsPerSecond": 5, "requestLimit": "both", "maxConcurrentRequests": 8});
        assert_eq!(read(given), (true, policy(Some(8), false)));
        let slow = parse(json!({"requestsPerSecond": 0.2, "requestLimit": "concurrency"})).unwrap();
        assert_eq!(slow.limiter.in_flight.cap, Some(1), "a fraction still lets one through");
        let err = parse(json!({"requestLimit": "concurrent"})).unwrap_err();
        assert!(
            err.contains(r#"requestLimit must be "rate", "concurrency", "both" or "auto", got "concurrent""#),
            "{err}"
        );
        let err = parse(json!({"maxConcurrentRequests": 0})).unwrap_err();
        assert!(err.contains("maxConcurrentRequests must be at least 1"), "{err}");
    }

    #[test]
    fn bad_options_say_what_to_change() {
        let err = parse(json!({"requestsPerSecond": -1})).unwrap_err();
        assert!(err.contains("requestsPerSecond must be a positive"), "{err}");
        assert!(parse(json!({"maxRetries": 1.5})).unwrap_err().contains("whole number"));
        let err = parse(json!({"tokensPerMinit": 5})).unwrap_err();
        assert!(err.contains("unknown field `tokensPerMinit`"), "{err}");
        assert!(parse(json!({"serverURL": "api.mistral.ai"})).unwrap_err().contains("https://"));
        let err = parse(json!({"serverURL": "http://user:s3cret@host/proxy"})).unwrap_err();
        assert!(err.contains("credentials") && !err.contains("s3cret"), "{err}");
        let err = parse(json!({"serverURL": "ftp://user:s3cret@host"})).unwrap_err();
        assert!(!err.contains("s3cret"), "{err}");
        assert!(
            parse(json!({"serverURL": "http://host/proxy?to=a@b"})).is_ok(),
            "an @ past the host is not a credential"
        );
        assert!(parse(json!({"baseDelayMs": 5000, "maxDelayMs": 100})).is_err());
        let err = parse(json!({"timeoutMs": 2e22})).unwrap_err();
        assert!(err.contains("timeoutMs must be at most"), "{err}");
        for (key, bad) in [
            ("requestsPerSecond", 1e-20),
            ("requestsPerSecond", 1e300),
            ("tokensPerMinute", 0.5),
            ("tokensPerMonth", 1e19),
            ("maxRetries", 1e6),
            ("baseDelayMs", 1e30),
        ] {
            let err = parse(json!({ key: bad })).unwrap_err();
            assert!(err.starts_with(key) && err.contains("must be"), "{key} {bad}: {err}");
        }
        assert!(parse(json!({"requestsPerSecond": LEAST_RATE, "tokensPerMinute": MOST})).is_ok());
    }

    #[test]
    fn numbers_print_as_people_write_them() {
        for (x, shown) in [
            (1.0, "1"),
            (0.5, "0.5"),
            (1e15, "1000000000000000"),
            (2_147_483_647.0, "2147483647"),
            (1e-6, "0.000001"),
            (0.1 + 0.2, "0.30000000000000004"),
            (-3.0, "-3"),
            (-0.0, "0"),
            (1e21, "1e+21"),
            (1e300, "1e+300"),
            (1.5e-7, "1.5e-7"),
            (1e-20, "1e-20"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(js_number(x), shown);
        }
        let err = parse(json!({"tokensPerMinute": 1e300})).unwrap_err();
        assert_eq!(err, "tokensPerMinute must be between 1 and 1000000000000000, got 1e+300");
        let err = parse(json!({"requestsPerSecond": 1e-20})).unwrap_err();
        assert_eq!(
            err,
            "requestsPerSecond must be between 1/2678400 (one request a month) and 1000000000000000, got 1e-20"
        );
        let err = parse(json!({"alertRateLimitedShare": 2})).unwrap_err();
        assert_eq!(err, "alertRateLimitedShare must be between 0.000001 and 1, got 2");
        let err = parse(json!({"timeoutMs": 2_147_483_648_u64})).unwrap_err();
        assert_eq!(err, "timeoutMs must be at most 2147483647 ms (about 24.8 days), got 2147483648");
        assert!(parse(json!({"maxRetries": 1.5})).unwrap_err().ends_with("got 1.5"));
        assert_eq!(LEAST_RATE, 1.0 / 2_678_400.0, "the bound's text says so");
    }

    #[test]
    fn model_limits_and_fallback_chains() {
        let c = parse(json!({
            "modelLimits": {"mistral-large-latest": {"requestsPerSecond": 2, "tokensPerMinute": 1000}},
            "fallback": {"mistral-large-latest": ["mistral-medium-latest", "mistral-small-latest"]},
            "fallbackAfterMs": 500
        }))
        .unwrap();
        assert_eq!(c.limiter.model_lanes.len(), 2);
        assert_eq!(c.fallback["mistral-large-latest"].len(), 2);
        assert_eq!(c.fallback_after, Some(Duration::from_millis(500)));
        for bad in [
            json!({"fallback": {"m": []}}),
            json!({"fallback": {"m": ["m"]}}),
            json!({"modelLimits": {"m": {"requestsPerSecond": -1}}}),
            json!({"modelLimits": {"m": {"rps": 1}}}),
        ] {
            assert!(parse(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_key_list_matches_the_struct() {
        for key in OPTION_KEYS {
            let value = match option_type(key) {
                "boolean" => json!(true),
                "string" => json!("http://x"),
                "object" => json!({}),
                _ => json!(1),
            };
            let parsed = serde_json::from_value::<ClientOptions>(json!({ *key: value }));
            assert!(parsed.is_ok(), "{key}: {parsed:?}");
        }
        assert!(check_keys(["apiKey", "timeoutMs"]).is_ok());
        assert_eq!((option_type("serverURL"), option_type("timeoutMs")), ("string", "number"));
        assert!(check_keys(["tokensPerMinit"]).unwrap_err().contains("unknown option 'tokensPerMinit'"));
    }

    #[test]
    fn values_become_lanes_and_policy() {
        let c = parse(json!({"requestsPerSecond": 0.5, "tokensPerMonth": 1e9, "serverURL": "http://127.0.0.1:9/", "timeoutMs": 1500})).unwrap();
        assert_eq!(c.limiter.lanes[0].window, Duration::from_secs(2));
        assert_eq!(c.limiter.lanes.len(), 3);
        assert_eq!(c.server_url, "http://127.0.0.1:9");
        assert_eq!(c.timeouts.attempt, Duration::from_millis(1500));
        assert_eq!(c.timeouts.queue, None, "queueing is unbounded unless asked");
        let c = parse(json!({"queueTimeoutMs": 2000, "streamIdleTimeoutMs": 500})).unwrap();
        assert_eq!(c.timeouts.queue, Some(Duration::from_secs(2)));
        assert_eq!(c.retry.max_wait, Duration::from_secs(2), "a retry waits no longer than a queue");
        assert_eq!(c.timeouts.stream_idle, Duration::from_millis(500));
    }
}
