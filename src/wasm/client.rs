//! The client JS constructs: options checked, one limiter for all its calls, and
//! the two entry points the JS layer builds every method on: `call` (a JSON reply)
//! and `stream` (an event stream).

use std::rc::Rc;

use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;

use super::budget::Budget;
use super::call::{self, Done, LastReply, Wire};
use super::inner::Inner;
use super::js;
use super::scope::Scope;
use super::stream::EventStream;
use crate::client::call_options::{call_option_type, check_call_keys};
use crate::client::options::{check_keys, check_model_limit_keys, option_type};
use crate::client::{
    barred, Call, CallError, CallOptions, CallSettings, ClientConfig, ClientOptions, ErrorKind, Estimator, Heuristic,
    Kind, Plan,
};
use crate::limiter::Priority;

/// A prompt counter in JS: `count(bodyText) -> number`.
struct JsCounter(js_sys::Function);

impl Estimator for JsCounter {
    fn prompt_tokens(&self, body: &Value) -> u64 {
        self.prompt_tokens_of_text(&body.to_string(), body)
    }

    fn prompt_tokens_of_text(&self, text: &str, body: &Value) -> u64 {
        match self.0.call1(&JsValue::NULL, &JsValue::from_str(text)).ok().and_then(|n| n.as_f64()) {
            Some(n) if n.is_finite() && n >= 0.0 => n as u64,
            _ => Heuristic.prompt_tokens(body),
        }
    }
}

/// A rate-limited Mistral client. The JS layer wraps it in `MistralRatelimitClient`.
#[wasm_bindgen]
pub struct Client {
    inner: Rc<Inner>,
}

/// A call's options from JS: its signal, and the rest laid over the client's.
fn call_options(
    options: &JsValue,
    config: &ClientConfig,
) -> Result<(Option<web_sys::AbortSignal>, CallSettings), String> {
    if options.is_undefined() || options.is_null() {
        return CallOptions::default().resolve(config.retry, config.timeouts).map(|s| (None, s));
    }
    let keys: Vec<String> =
        js_sys::Object::keys(options.unchecked_ref::<js_sys::Object>()).iter().filter_map(|k| k.as_string()).collect();
    check_call_keys(keys.iter().map(String::as_str))?;
    for key in &keys {
        let (value, want) = (js::get(options, key), call_option_type(key));
        let got = value.js_typeof().as_string().unwrap_or_default();
        if !value.is_undefined() && !value.is_null() && got != want {
            return Err(format!("{key} must be a {want}, got a {got}"));
        }
    }
    let signal = match js::get(options, "signal") {
        v if v.is_undefined() || v.is_null() => None,
        v => Some(v.dyn_into::<web_sys::AbortSignal>().map_err(|_| "signal must be an AbortSignal".to_owned())?),
    };
    let given: CallOptions = serde_wasm_bindgen::from_value(options.clone()).map_err(|e| e.to_string())?;
    Ok((signal, given.resolve(config.retry, config.timeouts)?))
}

/// The one way through a call for `call`, `stream` and `fetchCall`: the caller's
/// signal scoped to it, the run, and, unless a stream goes on (its end comes
/// with its last event), the scope released and the end told to a shared budget.
/// Resolves with the outcome, the scope (a stream's to keep), and the last reply.
async fn enter(
    inner: &Rc<Inner>,
    call: &mut Call,
    wire: &Wire,
    signal: Option<web_sys::AbortSignal>,
) -> Result<(Result<Done, CallError>, Scope, Option<LastReply>), JsValue> {
    let mut scope = Scope::new(signal)?;
    let mut last = None;
    let result = call::run(inner, call, wire, &mut scope, &mut last).await;
    if !matches!(result, Ok(Done::Stream(_))) {
        scope.release();
        inner.call_ended().await;
    }
    Ok((result, scope, last))
}

#[wasm_bindgen]
impl Client {
    /// `options` as documented for `MistralRatelimitClient`; `make_error(name,
    /// message, fields)` builds the package's error instances; `on_event` receives
    /// every client event.
    #[wasm_bindgen(constructor)]
    pub fn new(
        options: JsValue,
        make_error: js_sys::Function,
        on_event: Option<js_sys::Function>,
    ) -> Result<Client, JsValue> {
        let config_error = |m: String| super::error::to_js(&CallError::new(ErrorKind::Config, m), &make_error);
        let parsed: ClientOptions = if options.is_undefined() || options.is_null() {
            ClientOptions::default()
        } else {
            let keys: Vec<String> = js_sys::Object::keys(options.unchecked_ref::<js_sys::Object>())
                .iter()
                .filter_map(|k| k.as_string())
                .collect();
            check_keys(keys.iter().map(String::as_str)).map_err(config_error)?;
            for key in &keys {
                let (value, want) = (js::get(&options, key), option_type(key));
                let got = value.js_typeof().as_string().unwrap_or_default();
                if !value.is_undefined() && got != want {
                    return Err(config_error(format!("{key} must be a {want}, got a {got}")));
                }
            }
            // Each model's limits name only what a model's lanes take.
            let limits = js::get(&options, "modelLimits");
            if limits.is_object() {
                for entry in js_sys::Object::values(limits.unchecked_ref::<js_sys::Object>()).iter() {
                    if entry.is_object() {
                        let keys = js_sys::Object::keys(entry.unchecked_ref::<js_sys::Object>());
                        check_model_limit_keys(keys.iter().filter_map(|k| k.as_string())).map_err(config_error)?;
                    }
                }
            }
            serde_wasm_bindgen::from_value(options).map_err(|e| config_error(e.to_string()))?
        };
        let config = parsed.resolve().map_err(config_error)?;
        // A URL fetch cannot parse would fail every call as a dropped connection.
        if web_sys::Url::new(&config.server_url).is_err() {
            return Err(config_error("serverURL is not a URL fetch can use; check its host and characters".into()));
        }
        Ok(Client { inner: Rc::new(Inner::new(config, make_error, on_event)) })
    }

    fn plan(
        &self,
        kind: &str,
        ids: &[String],
        body: &JsValue,
        query: Option<String>,
        options: &JsValue,
        stream: bool,
    ) -> Result<(Call, Wire, Option<web_sys::AbortSignal>), JsValue> {
        let inner = &self.inner;
        let err = |m: String| inner.config_error(m);
        let kind = Kind::from_js_name(kind).ok_or_else(|| err(format!("unknown operation '{kind}'")))?;
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let path = kind.path_for(&ids).map_err(err)?;
        let config = inner.config();
        let (signal, opts) = call_options(options, config).map_err(err)?;
        // The JS string goes to fetch as it is; wasm reads a copy to estimate.
        let (wire_body, text, json) = if body.is_undefined() || body.is_null() {
            (None, None, Value::Null)
        } else {
            let js_text =
                js_sys::JSON::stringify(body).map_err(|_| err("the request body must be JSON-serialisable".into()))?;
            let text = String::from(&js_text);
            let json: Value =
                serde_json::from_str(&text).map_err(|e| err(format!("the request body is not JSON: {e}")))?;
            (Some(JsValue::from(js_text)), Some(text), json)
        };
        let base = Plan { stream, ..Plan::free(kind, opts.priority, opts.retry, opts.timeouts) };
        let estimator = inner.estimator();
        let mut plan = inner.state().estimate(
            base,
            ids.first().copied(),
            text.as_deref().unwrap_or("{}"),
            &json,
            estimator.as_ref(),
        );
        // A model with a fallback chain may move on: keep the body to send again.
        let chain = plan.model.as_ref().and_then(|m| config.fallback.get(m)).cloned();
        let refit = chain.map(|chain| {
            plan.fallbacks = chain;
            plan.fallback_after = config.fallback_after;
            (json, plan.model.clone().unwrap_or_default())
        });
        let mut url = format!("{}{path}", config.server_url);
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            url.push('?');
            url.push_str(&q);
        }
        Ok((Call::new(plan), Wire { url, body: wire_body, passed: None, refit }, signal))
    }

    /// Runs a call that answers with JSON (or nothing, for 204). `kind` is e.g.
    /// `"conversations.append"`; `ids` fill its path; `query` is an already-encoded
    /// query string.
    pub fn call(
        &self,
        kind: &str,
        ids: Vec<String>,
        body: JsValue,
        query: Option<String>,
        options: JsValue,
    ) -> js_sys::Promise {
        let planned = self.plan(kind, &ids, &body, query, &options, false);
        let inner = self.inner.clone();
        future_to_promise(async move {
            let (mut call, wire, signal) = planned?;
            let (result, _, _) = enter(&inner, &mut call, &wire, signal).await?;
            match result {
                Ok(Done::Json(Some(text))) => js::parse_json(&text),
                Ok(Done::Json(None)) => Ok(JsValue::UNDEFINED),
                Ok(Done::Stream(_)) => Err(inner.config_error("internal: a call without stream got a stream")),
                Err(e) => Err(inner.error(&e)),
            }
        })
    }

    /// Runs a streaming call; resolves with an `EventStream` once the reply's head
    /// has arrived (retries happen before that, never after).
    pub fn stream(&self, kind: &str, ids: Vec<String>, body: JsValue, options: JsValue) -> js_sys::Promise {
        let planned = self.plan(kind, &ids, &body, None, &options, true);
        let inner = self.inner.clone();
        future_to_promise(async move {
            let (mut call, wire, signal) = planned?;
            let (result, scope, _) = enter(&inner, &mut call, &wire, signal).await?;
            match result {
                Ok(Done::Stream(res)) => Ok(EventStream::open(&inner, call, res, scope).into()),
                Ok(Done::Json(_)) => {
                    Err(inner
                        .error(&CallError::new(ErrorKind::Protocol, "the server answered a stream request with JSON")))
                }
                Err(e) => Err(inner.error(&e)),
            }
        })
    }

    /// `client.fetch`: sends `method` `url` with the caller's `headers` and `body`
    /// (a string is estimated; anything else, such as a form, costs one request)
    /// through the limiter, retrying as a call of its route would. Resolves with
    /// `{status, headers, body}` for the server's last reply, refusals included, or
    /// `{status, headers, stream}` for a stream, whose `pull()` hands out the body's
    /// bytes as they come; rejects only when no reply came (a dropped connection,
    /// a timeout, an abort, a queue timeout).
    #[wasm_bindgen(js_name = fetchCall)]
    pub fn fetch_call(
        &self,
        method: String,
        url: String,
        headers: JsValue,
        body: JsValue,
        signal: Option<web_sys::AbortSignal>,
    ) -> js_sys::Promise {
        let inner = self.inner.clone();
        let planned = self.plan_fetch(&method, url, headers, body);
        future_to_promise(async move {
            let (mut call, wire) = planned?;
            let (result, scope, last) = enter(&inner, &mut call, &wire, signal).await?;
            let reply = |status: u16, headers: &[(String, String)], key: &str, value: JsValue| {
                let pairs: js_sys::Array =
                    headers.iter().map(|(k, v)| js_sys::Array::of2(&k.into(), &v.into())).collect();
                js::object(&[("status", status.into()), ("headers", pairs.into()), (key, value)])
            };
            match (result, last) {
                (Ok(Done::Stream(res)), Some(l)) => {
                    let stream = EventStream::open(&inner, call, res, scope);
                    Ok(reply(l.status, &l.headers, "stream", stream.into()))
                }
                (Ok(Done::Json(body)), Some(l)) => {
                    Ok(reply(l.status, &l.headers, "body", body.unwrap_or(JsValue::NULL)))
                }
                // Refused for good: the server's own answer, for the caller's SDK to read.
                (Err(e), Some(LastReply { status, headers, body: Some(body) })) if e.status == Some(status) => {
                    Ok(reply(status, &headers, "body", body))
                }
                // Barred unsent: the answer the server gave the call that met the bar.
                (Err(e), None) if let Some(answer) = barred::standing_answer(&e) => {
                    Ok(reply(answer.status, &answer.headers, "body", answer.body.into()))
                }
                (Err(e), _) => Err(inner.error(&e)),
                (Ok(_), None) => Err(inner.config_error("internal: a reply without a head")),
            }
        })
    }

    fn plan_fetch(&self, method: &str, url: String, headers: JsValue, body: JsValue) -> Result<(Call, Wire), JsValue> {
        let inner = &self.inner;
        let err = |m: String| inner.config_error(m);
        let method = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
            .into_iter()
            .find(|m| m.eq_ignore_ascii_case(method))
            .ok_or_else(|| err(format!("client.fetch does not send {method} requests")))?;
        let path =
            web_sys::Url::new(&url).map_err(|_| err(format!("client.fetch needs an absolute URL, got {url}")))?;
        let path = path.pathname();
        let (kind, ids) = Kind::for_request(method, path.find("/v1/").map_or(&path[..], |i| &path[i..]));
        let text = body.as_string();
        let json: Value = text.as_deref().and_then(|t| serde_json::from_str(t).ok()).unwrap_or(Value::Null);
        let stream = json.get("stream").and_then(Value::as_bool).unwrap_or(false);
        let config = inner.config();
        let base = Plan { stream, ..Plan::free(kind, Priority::Interactive, config.retry, config.timeouts) };
        let estimator = inner.estimator();
        let id = ids.first().map(String::as_str);
        let plan = inner.state().estimate(base, id, text.as_deref().unwrap_or("{}"), &json, estimator.as_ref());
        let body = (!body.is_undefined() && !body.is_null()).then_some(body);
        Ok((Call::new(plan), Wire { url, body, passed: Some((method, headers)), refit: None }))
    }

    /// Estimates prompts with `count(bodyText) -> number` from now on (the heuristic
    /// answered until then, and still answers if `count` throws). The exact counter
    /// lives in a separate wasm module, so it reaches this one through JS.
    #[wasm_bindgen(js_name = useCounter)]
    pub fn use_counter(&self, count: js_sys::Function) {
        self.inner.use_estimator(Rc::new(JsCounter(count)));
    }

    /// Spends a share of the budget `name` from now on, as holder `holder`
    /// (unique to this client), asking with `lease(ask) -> Promise<grant>`.
    #[wasm_bindgen(js_name = shareBudget)]
    pub fn share_budget(&self, name: String, holder: String, lease: js_sys::Function) {
        self.inner.share_budget(Budget::new(name, holder, lease));
    }

    /// Lanes, queue, the server's last word, and counters.
    pub fn status(&self) -> JsValue {
        self.inner.status()
    }

    /// What the calls came to, per model and overall.
    pub fn metrics(&self) -> JsValue {
        self.inner.metrics()
    }

    /// Fault injection for the recovery test (tests/client/recovery.test.mjs):
    /// panics now, or in the executor's next task, where a trap is an uncaught
    /// exception unless the package catches it.
    #[wasm_bindgen(js_name = panicForTests)]
    pub fn panic_for_tests(&self, later: bool) {
        let fail = || panic!("panicForTests was called");
        if later {
            wasm_bindgen_futures::spawn_local(async move { fail() });
        } else {
            fail();
        }
    }
}
