//! A call's failure, turned into an instance of the package's JS error classes.

use wasm_bindgen::prelude::*;

use super::js;
use crate::client::ErrorKind;
use crate::retry::{ApiError, RateLimitKind};

/// Everything the JS error will carry. Never the API key or request headers.
#[derive(Debug)]
pub struct CallError {
    pub kind: ErrorKind,
    pub message: String,
    pub status: Option<u16>,
    pub api: Option<ApiError>,
    pub correlation_id: Option<String>,
    pub retry_after_ms: Option<f64>,
    pub rate_limit: Option<RateLimitKind>,
    /// The 422 `detail` list, as JSON text.
    pub detail: Option<String>,
}

impl CallError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> CallError {
        CallError {
            kind,
            message: message.into(),
            status: None,
            api: None,
            correlation_id: None,
            retry_after_ms: None,
            rate_limit: None,
            detail: None,
        }
    }

    /// Builds the JS error with `factory(name, message, fields)`, which the JS layer
    /// supplies so that the classes live in one place.
    pub fn to_js(&self, factory: &js_sys::Function) -> JsValue {
        let api = self.api.as_ref();
        let rate_limit = self.rate_limit.map(|k| match k {
            RateLimitKind::RateLimited => "rate_limited",
            RateLimitKind::CapacityExceeded => "capacity_exceeded",
            RateLimitKind::QuotaExhausted => "quota_exhausted",
        });
        let opt = |s: Option<&str>| s.map_or(JsValue::UNDEFINED, JsValue::from_str);
        let detail = self.detail.as_deref().and_then(|d| js_sys::JSON::parse(d).ok()).unwrap_or(JsValue::UNDEFINED);
        let fields = js::object(&[
            ("code", JsValue::from_str(self.kind.code())),
            ("status", self.status.map_or(JsValue::UNDEFINED, JsValue::from)),
            ("type", opt(api.and_then(|a| a.kind.as_deref()))),
            ("mistralCode", opt(api.and_then(|a| a.code.as_deref()))),
            ("correlationId", opt(self.correlation_id.as_deref())),
            ("retryAfterMs", self.retry_after_ms.map_or(JsValue::UNDEFINED, JsValue::from)),
            ("rateLimitKind", opt(rate_limit)),
            ("detail", detail),
        ]);
        factory
            .call3(&JsValue::NULL, &JsValue::from_str(self.kind.name()), &JsValue::from_str(&self.message), &fields)
            .unwrap_or_else(|e| e)
    }
}
