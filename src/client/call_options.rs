//! A call's own options (`client.chat.complete(body, options)`), each over the
//! client's for that one call. The edge takes `signal` (a JS object) and checks
//! what JS passed; the rest is read and checked here.

use serde::Deserialize;

use super::options::{millis, retries, Timeouts};
use crate::limiter::Priority;
use crate::retry::RetryPolicy;

/// Every key a call's options take.
pub const CALL_OPTION_KEYS: &[&str] =
    &["signal", "timeoutMs", "streamIdleTimeoutMs", "queueTimeoutMs", "priority", "maxRetries"];

/// The JS type each call option takes (`typeof`).
pub fn call_option_type(key: &str) -> &'static str {
    match key {
        "signal" => "object",
        "priority" => "string",
        _ => "number",
    }
}

/// Refuses a key that is not a call option, listing the ones there are.
pub fn check_call_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    match keys.into_iter().find(|key| !CALL_OPTION_KEYS.contains(key)) {
        Some(key) => Err(format!("unknown call option '{key}': use {}", CALL_OPTION_KEYS.join(", "))),
        None => Ok(()),
    }
}

/// A call's options as given, but for `signal`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallOptions {
    /// Each attempt's timeout, in ms.
    pub timeout_ms: Option<f64>,
    /// The longest a stream may fall silent, in ms.
    pub stream_idle_timeout_ms: Option<f64>,
    /// The longest the call may wait for admission, retries' waits included, in ms.
    pub queue_timeout_ms: Option<f64>,
    /// Retries after the first attempt.
    pub max_retries: Option<f64>,
    /// `"interactive"` (the default) or `"batch"`.
    pub priority: Option<String>,
}

/// What a call runs with: the client's settings, with its own options over them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallSettings {
    /// The queue's class the call waits in.
    pub priority: Priority,
    /// How it retries.
    pub retry: RetryPolicy,
    /// How long it waits for what.
    pub timeouts: Timeouts,
}

impl CallOptions {
    /// Checks the options and lays them over the client's `retry` and `timeouts`.
    /// A queue timeout bounds the whole wait, retries' included.
    pub fn resolve(self, retry: RetryPolicy, timeouts: Timeouts) -> Result<CallSettings, String> {
        let mut s = CallSettings { priority: Priority::Interactive, retry, timeouts };
        if let Some(t) = millis("timeoutMs", self.timeout_ms)? {
            s.timeouts.attempt = t;
        }
        if let Some(t) = millis("streamIdleTimeoutMs", self.stream_idle_timeout_ms)? {
            s.timeouts.stream_idle = t;
        }
        if let Some(t) = millis("queueTimeoutMs", self.queue_timeout_ms)? {
            s.timeouts.queue = Some(t);
            s.retry.max_wait = t;
        }
        if let Some(n) = retries(self.max_retries)? {
            s.retry.max_retries = n;
        }
        s.priority = match self.priority.as_deref() {
            None | Some("interactive") => Priority::Interactive,
            Some("batch") => Priority::Batch,
            Some(other) => return Err(format!("priority must be \"interactive\" or \"batch\", got {other:?}")),
        };
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn resolve(options: serde_json::Value) -> Result<CallSettings, String> {
        serde_json::from_value::<CallOptions>(options).unwrap().resolve(RetryPolicy::default(), Timeouts::default())
    }

    #[test]
    fn a_calls_options_lie_over_the_clients() {
        let s = resolve(
            serde_json::json!({"timeoutMs": 500, "queueTimeoutMs": 2000, "maxRetries": 0, "priority": "batch"}),
        )
        .unwrap();
        assert_eq!(s.timeouts.attempt, Duration::from_millis(500));
        assert_eq!((s.timeouts.queue, s.retry.max_wait), (Some(Duration::from_secs(2)), Duration::from_secs(2)));
        assert_eq!((s.retry.max_retries, s.priority), (0, Priority::Batch));
        assert_eq!(resolve(serde_json::json!({})).unwrap().retry, RetryPolicy::default());
    }

    #[test]
    fn a_wrong_option_says_what_to_change() {
        let e = resolve(serde_json::json!({"maxRetries": 1.5})).unwrap_err();
        assert_eq!(e, "maxRetries must be a whole number from 0 to 100, got 1.5");
        assert!(resolve(serde_json::json!({"maxRetries": 101})).unwrap_err().contains("from 0 to 100"));
        assert!(resolve(serde_json::json!({"priority": "urgent"}))
            .unwrap_err()
            .contains("\"interactive\" or \"batch\""));
        assert!(resolve(serde_json::json!({"timeoutMs": -1})).unwrap_err().starts_with("timeoutMs must be"));
        assert!(check_call_keys(["signal", "retries"]).unwrap_err().contains("unknown call option 'retries'"));
    }
}
