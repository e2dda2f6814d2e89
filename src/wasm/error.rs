//! A call's failure, turned into an instance of the package's JS error classes.

use wasm_bindgen::prelude::*;

use super::js;
use crate::client::CallError;

/// Builds the JS error for `e` with `factory(name, message, fields)`, which the JS
/// layer supplies so that the classes live in one place.
pub fn to_js(e: &CallError, factory: &js_sys::Function) -> JsValue {
    let api = e.api.as_ref();
    let opt = |s: Option<&str>| s.map_or(JsValue::UNDEFINED, JsValue::from_str);
    let ms = |d: Option<std::time::Duration>| d.map_or(JsValue::UNDEFINED, |d| (d.as_secs_f64() * 1000.0).into());
    let detail = e.detail.as_deref().and_then(|d| js_sys::JSON::parse(d).ok()).unwrap_or(JsValue::UNDEFINED);
    let fields = js::object(&[
        ("code", JsValue::from_str(e.kind.code())),
        ("status", e.status.map_or(JsValue::UNDEFINED, JsValue::from)),
        ("type", opt(api.and_then(|a| a.kind.as_deref()))),
        ("mistralCode", opt(api.and_then(|a| a.code.as_deref()))),
        ("correlationId", opt(e.correlation_id.as_deref())),
        ("retryAfterMs", ms(e.retry_after)),
        ("rateLimitKind", opt(e.rate_limit.map(|k| k.as_str()))),
        ("predictedWaitMs", ms(e.predicted_wait)),
        ("resetAt", opt(e.reset_at.as_deref())),
        ("model", opt(e.model.as_deref())),
        ("detail", detail),
    ]);
    factory
        .call3(&JsValue::NULL, &JsValue::from_str(e.kind.name()), &JsValue::from_str(&e.message), &fields)
        .unwrap_or_else(|e| e)
}
