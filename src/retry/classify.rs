//! What an error response means: Mistral's error bodies come in several shapes
//! (a gateway's, FastAPI's, the inference service's), and a 429 can mean three
//! different things that call for three different reactions.

use serde_json::Value;

use crate::feedback::parse_headers;
use crate::headers::Headers;

/// Mistral's own fields of an error body, whichever shape it came in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiError {
    /// `message`, or a string form of `detail`.
    pub message: Option<String>,
    /// `type`, e.g. `rate_limited`, `invalid_model`.
    pub kind: Option<String>,
    /// `code`, which the API sends as a string or a number, e.g. `1300`.
    pub code: Option<String>,
}

impl ApiError {
    /// Reads an error body. Bodies that are not JSON keep their text as the message.
    pub fn parse(body: &str) -> ApiError {
        let Ok(Value::Object(map)) = serde_json::from_str::<Value>(body) else {
            let text = body.trim();
            return ApiError { message: (!text.is_empty()).then(|| text.to_owned()), ..ApiError::default() };
        };
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => Some(other.to_string()),
        };
        ApiError {
            message: map.get("message").and_then(text).or_else(|| map.get("detail").and_then(text)),
            kind: map.get("type").and_then(text),
            code: map.get("code").and_then(text),
        }
    }
}

/// The three kinds of 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimitKind {
    /// Too fast (`rate_limited`, code 1300): wait and retry.
    RateLimited,
    /// "Service tier capacity exceeded for this model": the model is saturated for
    /// this tier; retrying soon rarely helps, another model might.
    CapacityExceeded,
    /// The monthly allowance is spent (or the key has none): retrying will not help.
    QuotaExhausted,
}

impl RateLimitKind {
    /// Its stable name: `rate_limited`, `capacity_exceeded` or `quota_exhausted`.
    pub fn as_str(self) -> &'static str {
        match self {
            RateLimitKind::RateLimited => "rate_limited",
            RateLimitKind::CapacityExceeded => "capacity_exceeded",
            RateLimitKind::QuotaExhausted => "quota_exhausted",
        }
    }
}

/// Tells a 429 apart by its headers and body.
pub fn classify_429(headers: &(impl Headers + ?Sized), body: &ApiError) -> RateLimitKind {
    let message = body.message.as_deref().unwrap_or("").to_ascii_lowercase();
    let report = parse_headers(
        ["x-ratelimit-limit-req-minute", "x-ratelimit-remaining-tokens-month", "x-ratelimit-limit-tokens-month"]
            .into_iter()
            .filter_map(|name| headers.header(name).map(|v| (name, v))),
    );
    if message.contains("capacity exceeded") {
        RateLimitKind::CapacityExceeded
    } else if report.is_exhausted_for_long() || message.contains("quota") || message.contains("monthly") {
        RateLimitKind::QuotaExhausted
    } else {
        RateLimitKind::RateLimited
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: [(&str, &str); 0] = [];

    #[test]
    fn every_body_shape_on_record() {
        let e = ApiError::parse(
            r#"{"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300","raw_status_code":429}"#,
        );
        assert_eq!(e.kind.as_deref(), Some("rate_limited"));
        assert_eq!(e.code.as_deref(), Some("1300"));
        let e = ApiError::parse(
            r#"{"object":"Error","detail":[],"message":[{"x":1}],"type":"invalid_request_error","code":3001}"#,
        );
        assert_eq!(e.code.as_deref(), Some("3001"));
        assert_eq!(e.message.as_deref(), Some(r#"[{"x":1}]"#));
        let e = ApiError::parse(r#"{"detail":"Unauthorized"}"#);
        assert_eq!(e.message.as_deref(), Some("Unauthorized"));
        assert_eq!(ApiError::parse("<html>bad gateway</html>").message.as_deref(), Some("<html>bad gateway</html>"));
        assert_eq!(ApiError::parse(""), ApiError::default());
    }

    #[test]
    fn the_three_kinds_of_429() {
        let rate = ApiError::parse(r#"{"message":"Rate limit exceeded","type":"rate_limited","code":"1300"}"#);
        assert_eq!(classify_429(&NONE, &rate), RateLimitKind::RateLimited);
        let tier = ApiError::parse(
            r#"{"message":"Service tier capacity exceeded for this model.","type":"service_tier_capacity_exceeded","code":"3505"}"#,
        );
        assert_eq!(classify_429(&NONE, &tier), RateLimitKind::CapacityExceeded);
        let month = [("x-ratelimit-remaining-tokens-month", "0")];
        assert_eq!(classify_429(&month, &rate), RateLimitKind::QuotaExhausted);
        let no_allowance = [("x-ratelimit-limit-req-minute", "0")];
        assert_eq!(classify_429(&no_allowance, &rate), RateLimitKind::QuotaExhausted);
        let quota = ApiError::parse(r#"{"message":"You have exceeded your monthly quota"}"#);
        assert_eq!(classify_429(&NONE, &quota), RateLimitKind::QuotaExhausted);
    }
}
