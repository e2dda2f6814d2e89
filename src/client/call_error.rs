//! How a call failed, with everything its JS error will carry. Never the API key,
//! a request header or the URL.

use std::time::{Duration, SystemTime};

use super::error_kind::ErrorKind;
use crate::headers::Headers;
use crate::retry::{self, ApiError, GiveUp, RateLimitKind};

/// The longest part of a server's error message an error repeats.
pub const MOST_SAID: usize = 1000;

/// `text` cut to [`MOST_SAID`] characters: a server's error page is no message.
fn shortened(text: &str) -> String {
    match text.char_indices().nth(MOST_SAID) {
        Some((end, _)) => format!("{}... ({} bytes in all)", &text[..end], text.len()),
        None => text.to_owned(),
    }
}

/// A failed call.
#[derive(Clone, Debug, PartialEq)]
pub struct CallError {
    /// Which typed error.
    pub kind: ErrorKind,
    /// What happened and what to change.
    pub message: String,
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
    /// Mistral's fields of the error body.
    pub api: Option<ApiError>,
    /// `mistral-correlation-id`, to quote to Mistral's support.
    pub correlation_id: Option<String>,
    /// The wait a 429 asked for.
    pub retry_after: Option<Duration>,
    /// Which kind of 429.
    pub rate_limit: Option<RateLimitKind>,
    /// The 422 `detail` list, as JSON text.
    pub detail: Option<String>,
    /// For a queue timeout refused up front: how long the wait would have been.
    pub predicted_wait: Option<Duration>,
    /// For a spending limit: when it resets, as the server wrote it (RFC 3339).
    pub reset_at: Option<String>,
    /// For a model not on the plan: the model.
    pub model: Option<String>,
}

impl CallError {
    /// An error of `kind` saying `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> CallError {
        CallError {
            kind,
            message: message.into(),
            status: None,
            api: None,
            correlation_id: None,
            retry_after: None,
            rate_limit: None,
            detail: None,
            predicted_wait: None,
            reset_at: None,
            model: None,
        }
    }

    /// The caller's signal fired.
    pub fn aborted() -> CallError {
        CallError::new(ErrorKind::Abort, "the call was aborted by its signal")
    }

    /// The typed error for a status the policy will not retry.
    pub fn from_status(
        status: u16,
        headers: &[(String, String)],
        text: &str,
        why: GiveUp,
        wall_clock: Option<SystemTime>,
    ) -> CallError {
        let api = ApiError::parse(text);
        let said = api.message.as_deref().map_or_else(|| format!("HTTP {status}"), shortened);
        let mut err = CallError::new(ErrorKind::for_status(status), format!("{said} ({why})"));
        err.status = Some(status);
        err.correlation_id = headers.header("mistral-correlation-id").map(str::to_owned);
        if status == 429 {
            err.rate_limit = Some(retry::classify_429(headers, &api));
            err.retry_after = retry::retry_after(headers, wall_clock);
        }
        if status == 422 {
            err.detail = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v.get("detail").map(serde_json::Value::to_string));
        }
        err.api = Some(api);
        err
    }
    /// The error as the caller of a client with `key` (its API key, if any) reads
    /// it: a 401 says which option to change, and no message repeats the key (a
    /// server or proxy may echo what it was sent).
    pub fn about_key(mut self, key: Option<&str>) -> CallError {
        if let Some(key) = key.filter(|k| !k.is_empty()) {
            self.message = self.message.replace(key, "[the API key]");
        }
        if self.kind == ErrorKind::Authentication && self.status == Some(401) {
            self.message.push_str(match key {
                Some(_) => {
                    "; the server refused the API key: check the `apiKey` option (or MISTRAL_API_KEY in Node and Deno)"
                }
                None => "; no API key was sent: pass the `apiKey` option (or set MISTRAL_API_KEY in Node and Deno)",
            });
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unauthorized(text: &str) -> CallError {
        CallError::from_status(401, &[], text, GiveUp::Final(401), None)
    }

    #[test]
    fn a_401_names_the_options_that_hold_the_key_and_never_the_key() {
        let body = r#"{"message":"Unauthorized","request_id":"x"}"#;
        let sent = unauthorized(body).about_key(Some("sk-secret"));
        assert_eq!(sent.kind, ErrorKind::Authentication);
        assert!(sent.message.starts_with("Unauthorized ("), "{}", sent.message);
        assert!(sent.message.contains("refused the API key: check the `apiKey` option"), "{}", sent.message);
        assert!(sent.message.contains("MISTRAL_API_KEY"), "{}", sent.message);
        let none = unauthorized(body).about_key(None);
        assert!(none.message.contains("no API key was sent: pass the `apiKey` option"), "{}", none.message);
        // A proxy that echoes what it was sent.
        let echoed = unauthorized(r#"{"message":"bad token sk-secret"}"#).about_key(Some("sk-secret"));
        assert!(!echoed.message.contains("sk-secret"), "{}", echoed.message);
        // Other errors keep their message.
        let other = CallError::new(ErrorKind::Server, "HTTP 500").about_key(Some("k"));
        assert_eq!(other.message, "HTTP 500");
    }
}
