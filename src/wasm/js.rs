//! The few JS globals the edge uses, reached through the global scope (never
//! `window`, which Workers, Deno and Node do not have).

use wasm_bindgen::prelude::*;

use crate::time::Instant;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`, given a URL and options: building a `Request` first
    /// costs Node's fetch about 130 µs more per call.
    #[wasm_bindgen(catch, js_name = fetch)]
    pub fn fetch(url: &str, init: &web_sys::RequestInit) -> Result<js_sys::Promise, JsValue>;

    type Performance;
    #[wasm_bindgen(thread_local_v2, js_name = performance)]
    static PERFORMANCE: Option<Performance>;
    #[wasm_bindgen(method, js_name = now)]
    fn now(this: &Performance) -> f64;

    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;

    /// `JSON.parse` of a string JS already holds, with no copy through wasm.
    #[wasm_bindgen(catch, js_namespace = JSON, js_name = parse)]
    pub fn parse_json(text: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(js_namespace = Math, js_name = random)]
    pub fn math_random() -> f64;
}

/// Now, from `performance.now()` (monotonic) where there is one, else `Date.now()`.
/// On Workers both stand still between I/O; the core takes time as it comes.
pub fn now() -> Instant {
    let ms = PERFORMANCE.with(|p| p.as_ref().map(Performance::now)).unwrap_or_else(date_now);
    Instant::from_millis_f64(ms)
}

/// The wall clock, for `Retry-After` dates when a response has no `Date`.
pub fn wall_clock() -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(date_now() / 1000.0)
}

/// Reads property `key` of `obj` (undefined when absent or unreadable).
pub fn get(obj: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// Builds a plain object from key/value pairs, skipping undefined values.
pub fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in pairs {
        if !v.is_undefined() {
            // Setting a property on a fresh plain object cannot fail.
            let _ = js_sys::Reflect::set(&o, &JsValue::from_str(k), v);
        }
    }
    o.into()
}

/// `value` as JS reads the core's views: maps as plain objects, what is not known
/// as `null`.
pub fn to_js<T: serde::Serialize>(value: &T) -> JsValue {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::NULL)
}

/// A client event as its listeners receive it: `{type, ...fields}`.
pub fn event(event: &crate::client::Event) -> JsValue {
    use crate::client::event::Field;
    let mut pairs = vec![("type", JsValue::from_str(event.name()))];
    pairs.extend(event.fields().into_iter().map(|(k, v)| {
        let v = match v {
            Field::Number(n) => JsValue::from(n),
            Field::Text(t) => JsValue::from_str(t),
            Field::Owned(t) => JsValue::from_str(&t),
        };
        (k, v)
    }));
    object(&pairs)
}
