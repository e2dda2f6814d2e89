//! What an error response means: Mistral's error bodies come in several shapes
//! (a gateway's, FastAPI's, the inference service's), and a 429 can mean three
//! different things that call for three different reactions.

use serde_json::Value;

use crate::feedback::parse_headers;
use crate::headers::Headers;
use crate::units::Unit;

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

/// The four kinds of 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimitKind {
    /// Too fast (`rate_limited`, code 1300): wait and retry.
    RateLimited,
    /// "Service tier capacity exceeded for this model": the model is saturated for
    /// this tier; retrying soon rarely helps, another model might.
    CapacityExceeded,
    /// The monthly allowance is spent: retrying will not help.
    QuotaExhausted,
    /// A limit of 0 requests for the model: it is not on the plan (or the key has
    /// no allowance). No wait helps; another model might.
    NotOnPlan,
}

impl RateLimitKind {
    /// Its stable name: `rate_limited`, `capacity_exceeded`, `quota_exhausted` or `not_on_plan`.
    pub fn as_str(self) -> &'static str {
        match self {
            RateLimitKind::RateLimited => "rate_limited",
            RateLimitKind::CapacityExceeded => "capacity_exceeded",
            RateLimitKind::QuotaExhausted => "quota_exhausted",
            RateLimitKind::NotOnPlan => "not_on_plan",
        }
    }
}

/// Whether an error body says the model has no capacity for now (code 3505, as a
/// 429 or a 503, in either of its wordings).
pub fn is_capacity(body: &ApiError) -> bool {
    let message = body.message.as_deref().unwrap_or("").to_ascii_lowercase();
    matches!(body.kind.as_deref(), Some("service_tier_capacity_exceeded" | "backend_out_of_capacity"))
        || body.code.as_deref() == Some("3505")
        || message.contains("capacity exceeded")
        || message.contains("not enough capacity")
}

/// Whether an error body says the model itself cannot serve (`invalid_model`,
/// code 1500; a model not in use, code 3003): final, though another model may.
pub fn is_model_refused(body: &ApiError) -> bool {
    body.kind.as_deref() == Some("invalid_model") || matches!(body.code.as_deref(), Some("1500" | "3003"))
}

/// Tells a 429 apart by its headers and body.
pub fn classify_429(headers: &(impl Headers + ?Sized), body: &ApiError) -> RateLimitKind {
    let message = body.message.as_deref().unwrap_or("").to_ascii_lowercase();
    let report = parse_headers(
        headers.pairs().filter(|(name, _)| name.to_ascii_lowercase().starts_with("x-ratelimit-limit-req-")).chain(
            ["x-ratelimit-remaining-tokens-month", "x-ratelimit-limit-tokens-month"]
                .into_iter()
                .filter_map(|name| headers.header(name).map(|v| (name, v))),
        ),
    );
    if is_capacity(body) {
        RateLimitKind::CapacityExceeded
    } else if report.limits.iter().any(|l| l.unit == Unit::Requests && l.limit == Some(0)) {
        RateLimitKind::NotOnPlan
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
        let not_on_plan = [("x-ratelimit-limit-req-minute", "0")];
        assert_eq!(classify_429(&not_on_plan, &rate), RateLimitKind::NotOnPlan);
        let per_10s = [("X-RateLimit-Limit-Req-10-Second", "0")];
        assert_eq!(classify_429(&per_10s, &rate), RateLimitKind::NotOnPlan, "whatever the window");
        let legacy = ApiError::parse(r#"{"message":"Requests rate limit exceeded"}"#);
        assert_eq!(classify_429(&NONE, &legacy), RateLimitKind::RateLimited);
        let backend = ApiError::parse(
            r#"{"message":"Not enough capacity available for this model.","type":"backend_out_of_capacity","code":"3505"}"#,
        );
        assert_eq!(classify_429(&NONE, &backend), RateLimitKind::CapacityExceeded);
        let quota = ApiError::parse(r#"{"message":"You have exceeded your monthly quota"}"#);
        assert_eq!(classify_429(&NONE, &quota), RateLimitKind::QuotaExhausted);
    }
}
