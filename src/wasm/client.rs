//! The client JS constructs: options checked, one limiter for all its calls, and
//! the two entry points the JS layer builds every method on: `call` (a JSON reply)
//! and `stream` (an event stream).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::future_to_promise;

use super::call::{self, Done, Plan};
use super::driver::Driver;
use super::error::CallError;
use super::js;
use super::scope::Scope;
use super::stream::EventStream;
use crate::client::estimate::request_tokens;
use crate::client::options::{check_keys, option_type};
use crate::client::{
    ClientConfig, ClientOptions, ConversationContext, ErrorKind, Estimator, Heuristic, Kind, OutputHistory, Stats,
};
use crate::feedback::ServerReport;
use crate::limiter::{Limiter, Priority, Ticket};
use crate::retry::RetryPolicy;

/// What every call of one client shares.
pub struct Inner {
    pub config: ClientConfig,
    pub driver: Rc<Driver>,
    pub make_error: js_sys::Function,
    listener: Option<js_sys::Function>,
    pub history: RefCell<OutputHistory>,
    /// Each conversation's context size, added to its appends' estimates.
    pub context: RefCell<ConversationContext>,
    /// Counts prompts: the heuristic until an exact tokenizer is loaded.
    estimator: RefCell<Rc<dyn Estimator>>,
    pub stats: RefCell<Stats>,
    last_report: RefCell<ServerReport>,
}

impl Inner {
    /// Sends an event to the listener, if there is one. A listener that throws is
    /// the caller's problem, not the call's.
    pub fn emit(&self, kind: &str, fields: &[(&str, JsValue)]) {
        if let Some(f) = &self.listener {
            let mut pairs = vec![("type", JsValue::from_str(kind))];
            pairs.extend(fields.iter().cloned());
            let _ = f.call1(&JsValue::NULL, &js::object(&pairs));
        }
    }

    /// Settles a ticket (`early` tokens spent on arrival, `late` ones produced since;
    /// see `Ticket::settle_usage`) and lets the limiter hand out what it freed.
    pub fn settle(&self, ticket: Ticket, early: u64, late: u64) {
        let s = ticket.settle_usage(early, late, js::now());
        let tokens = early + late;
        // Numbers, not BigInts: u64 would cross into JS as BigInt.
        let n = |v: u64| JsValue::from(v as f64);
        self.emit("settled", &[("tokens", n(tokens)), ("refunded", n(s.refunded)), ("debt", n(s.debt))]);
        self.driver.serve();
    }

    /// Learns from a response's rate-limit headers.
    pub fn observe(&self, report: &ServerReport, model: Option<&str>) {
        if report.is_empty() {
            return;
        }
        self.driver.limiter.observe_server(report, model, js::now());
        *self.last_report.borrow_mut() = report.clone();
        self.driver.serve();
    }
}

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

fn config_error(make_error: &js_sys::Function, message: impl Into<String>) -> JsValue {
    CallError::new(ErrorKind::Config, message).to_js(make_error)
}

/// Per-call options: `{signal, timeoutMs, priority, maxRetries}`.
struct CallOptions {
    signal: Option<web_sys::AbortSignal>,
    policy: RetryPolicy,
    priority: Priority,
}

fn call_options(options: &JsValue, base: RetryPolicy) -> Result<CallOptions, String> {
    if options.is_undefined() || options.is_null() {
        return Ok(CallOptions { signal: None, policy: base, priority: Priority::Interactive });
    }
    for key in js_sys::Object::keys(options.unchecked_ref::<js_sys::Object>()).iter() {
        let key = key.as_string().unwrap_or_default();
        if !["signal", "timeoutMs", "priority", "maxRetries"].contains(&key.as_str()) {
            return Err(format!("unknown call option '{key}': use signal, timeoutMs, priority or maxRetries"));
        }
    }
    let signal = match js::get(options, "signal") {
        v if v.is_undefined() || v.is_null() => None,
        v => Some(v.dyn_into::<web_sys::AbortSignal>().map_err(|_| "signal must be an AbortSignal".to_owned())?),
    };
    let mut policy = base;
    let timeout = js::get(options, "timeoutMs");
    if !timeout.is_undefined() {
        match timeout.as_f64() {
            Some(ms) if ms.is_finite() && ms > 0.0 => policy.timeout = Duration::from_secs_f64(ms / 1000.0),
            _ => return Err("timeoutMs must be a positive number of milliseconds".into()),
        }
    }
    let retries = js::get(options, "maxRetries");
    if !retries.is_undefined() {
        match retries.as_f64() {
            Some(n) if n.is_finite() && n >= 0.0 && n.fract() == 0.0 => policy.max_retries = n.min(100.0) as u32,
            _ => return Err("maxRetries must be a whole number of 0 or more".into()),
        }
    }
    let priority = match js::get(options, "priority").as_string().as_deref() {
        None => Priority::Interactive,
        Some("interactive") => Priority::Interactive,
        Some("batch") => Priority::Batch,
        Some(other) => return Err(format!("priority must be \"interactive\" or \"batch\", got \"{other}\"")),
    };
    Ok(CallOptions { signal, policy, priority })
}

fn parse_kind(kind: &str) -> Option<Kind> {
    Some(match kind {
        "chat.complete" => Kind::ChatComplete,
        "conversations.start" => Kind::ConversationStart,
        "conversations.append" => Kind::ConversationAppend,
        "conversations.restart" => Kind::ConversationRestart,
        "conversations.get" => Kind::ConversationGet,
        "conversations.getHistory" => Kind::ConversationHistory,
        "conversations.getMessages" => Kind::ConversationMessages,
        "conversations.list" => Kind::ConversationList,
        "conversations.delete" => Kind::ConversationDelete,
        _ => return None,
    })
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
        let parsed: ClientOptions = if options.is_undefined() || options.is_null() {
            ClientOptions::default()
        } else {
            let keys: Vec<String> = js_sys::Object::keys(options.unchecked_ref::<js_sys::Object>())
                .iter()
                .filter_map(|k| k.as_string())
                .collect();
            check_keys(keys.iter().map(String::as_str)).map_err(|e| config_error(&make_error, e))?;
            for key in &keys {
                let (value, want) = (js::get(&options, key), option_type(key));
                let got = value.js_typeof().as_string().unwrap_or_default();
                if !value.is_undefined() && got != want {
                    return Err(config_error(&make_error, format!("{key} must be a {want}, got a {got}")));
                }
            }
            serde_wasm_bindgen::from_value(options).map_err(|e| config_error(&make_error, e.to_string()))?
        };
        let config = parsed.resolve().map_err(|e| config_error(&make_error, e))?;
        let limiter = Limiter::new(config.limiter.clone());
        Ok(Client {
            inner: Rc::new(Inner {
                driver: Driver::new(limiter),
                config,
                make_error,
                listener: on_event,
                history: RefCell::new(OutputHistory::default()),
                context: RefCell::new(ConversationContext::default()),
                estimator: RefCell::new(Rc::new(Heuristic)),
                stats: RefCell::new(Stats::default()),
                last_report: RefCell::new(ServerReport::default()),
            }),
        })
    }

    fn plan(
        &self,
        kind: &str,
        id: Option<String>,
        body: &JsValue,
        query: Option<String>,
        options: &JsValue,
        stream: bool,
    ) -> Result<(Plan, Option<web_sys::AbortSignal>), JsValue> {
        let err = |m: String| config_error(&self.inner.make_error, m);
        let kind = parse_kind(kind).ok_or_else(|| err(format!("unknown operation '{kind}'")))?;
        let id = id.unwrap_or_default();
        if kind.needs_id() && id.is_empty() {
            return Err(err("a conversation id is required".into()));
        }
        let opts = call_options(options, self.inner.config.retry).map_err(err)?;
        let (text, json) = if body.is_undefined() || body.is_null() {
            (None, Value::Null)
        } else {
            let text: String = js_sys::JSON::stringify(body)
                .map(String::from)
                .map_err(|_| err("the request body must be JSON-serialisable".into()))?;
            let json: Value =
                serde_json::from_str(&text).map_err(|e| err(format!("the request body is not JSON: {e}")))?;
            (Some(text), json)
        };
        let (estimate, prompt) = if kind.generates() {
            let estimator = self.inner.estimator.borrow().clone();
            let sent = text.as_deref().unwrap_or("{}");
            let est = request_tokens(estimator.as_ref(), &self.inner.history.borrow(), sent, &json);
            // The server's prompt for a turn includes the stored history.
            let history = match kind {
                Kind::ConversationAppend | Kind::ConversationRestart => self.inner.context.borrow().history(&id),
                _ => 0,
            };
            (est.total() + history, est.prompt + history)
        } else {
            (0, 0)
        };
        let mut url = format!("{}{}", self.inner.config.server_url, kind.path(&id));
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            url.push('?');
            url.push_str(&q);
        }
        let plan = Plan {
            kind,
            url,
            body: text,
            model: json.get("model").and_then(Value::as_str).map(str::to_owned),
            estimate,
            prompt,
            stream,
            priority: opts.priority,
            policy: opts.policy,
        };
        Ok((plan, opts.signal))
    }

    /// Runs a call that answers with JSON (or nothing, for 204). `kind` is e.g.
    /// `"conversations.append"`; `query` is an already-encoded query string.
    pub fn call(
        &self,
        kind: &str,
        id: Option<String>,
        body: JsValue,
        query: Option<String>,
        options: JsValue,
    ) -> js_sys::Promise {
        let planned = self.plan(kind, id, &body, query, &options, false);
        let inner = self.inner.clone();
        future_to_promise(async move {
            let (plan, signal) = planned?;
            let mut scope = Scope::new(signal, plan.policy.timeout)?;
            match call::run(&inner, &plan, &mut scope).await {
                Ok(Done::Json(Some(text))) => js_sys::JSON::parse(&text),
                Ok(Done::Json(None)) => Ok(JsValue::UNDEFINED),
                Ok(Done::Stream(..)) => unreachable!("a call without stream gets no stream"),
                Err(e) => {
                    inner.emit("error", &[("name", e.kind.name().into())]);
                    Err(e.to_js(&inner.make_error))
                }
            }
        })
    }

    /// Runs a streaming call; resolves with an `EventStream` once the reply's head
    /// has arrived (retries happen before that, never after).
    pub fn stream(&self, kind: &str, id: Option<String>, body: JsValue, options: JsValue) -> js_sys::Promise {
        let planned = self.plan(kind, id, &body, None, &options, true);
        let inner = self.inner.clone();
        future_to_promise(async move {
            let (plan, signal) = planned?;
            let mut scope = Scope::new(signal, plan.policy.timeout)?;
            match call::run(&inner, &plan, &mut scope).await {
                Ok(Done::Stream(res, ticket)) => Ok(EventStream::open(&inner, &plan, res, ticket, scope).into()),
                Ok(Done::Json(_)) => {
                    Err(config_error(&inner.make_error, "the server answered a stream request with JSON"))
                }
                Err(e) => {
                    inner.emit("error", &[("name", e.kind.name().into())]);
                    Err(e.to_js(&inner.make_error))
                }
            }
        })
    }

    /// Estimates prompts with `count(bodyText) -> number` from now on (the heuristic
    /// answered until then, and still answers if `count` throws). The exact counter
    /// lives in a separate wasm module, so it reaches this one through JS.
    #[wasm_bindgen(js_name = useCounter)]
    pub fn use_counter(&self, count: js_sys::Function) {
        *self.inner.estimator.borrow_mut() = Rc::new(JsCounter(count));
    }

    /// Lanes, queue, the server's last word, and counters.
    pub fn status(&self) -> JsValue {
        let now = js::now();
        let s = self.inner.driver.limiter.status(now);
        let lanes = js_sys::Array::new();
        for l in &s.lanes {
            let next =
                if l.next_available == Duration::MAX { f64::INFINITY } else { l.next_available.as_secs_f64() * 1000.0 };
            lanes.push(&js::object(&[
                ("name", l.name.as_str().into()),
                ("model", l.model.as_deref().map_or(JsValue::NULL, JsValue::from_str)),
                ("unit", l.unit.as_str().into()),
                ("windowMs", (l.window.as_secs_f64() * 1000.0).into()),
                ("limit", (l.limit as f64).into()),
                ("configured", (l.configured as f64).into()),
                ("used", (l.used as f64).into()),
                ("percent", l.percent().into()),
                ("available", (l.available as f64).into()),
                ("nextAvailableMs", next.into()),
            ]));
        }
        let server = js_sys::Array::new();
        for l in &self.inner.last_report.borrow().limits {
            server.push(&js::object(&[
                ("unit", l.unit.as_str().into()),
                ("windowMs", (l.window.as_secs_f64() * 1000.0).into()),
                ("limit", l.limit.map_or(JsValue::NULL, |v| (v as f64).into())),
                ("remaining", l.remaining.map_or(JsValue::NULL, |v| (v as f64).into())),
            ]));
        }
        let st = self.inner.stats.borrow();
        let c = &s.counters;
        let ms = |v: Option<f64>| v.map_or(JsValue::NULL, JsValue::from);
        js::object(&[
            ("lanes", lanes.into()),
            ("inFlight", (s.in_flight as f64).into()),
            ("queued", (s.queued as f64).into()),
            ("closedForMs", (s.closed_for.as_secs_f64() * 1000.0).into()),
            ("marginMs", (s.margin.as_secs_f64() * 1000.0).into()),
            ("server", server.into()),
            (
                "counters",
                js::object(&[
                    ("requests", (st.requests as f64).into()),
                    ("retries", (st.retries as f64).into()),
                    ("rateLimited", (st.rate_limited as f64).into()),
                    ("tokensIn", (st.tokens_in as f64).into()),
                    ("tokensOut", (st.tokens_out as f64).into()),
                    ("refunded", (c.refunded_tokens as f64).into()),
                    ("debt", (c.debt_tokens as f64).into()),
                    ("ttftP50Ms", ms(st.ttft_percentile(50.0))),
                    ("ttftP95Ms", ms(st.ttft_percentile(95.0))),
                ]),
            ),
        ])
    }
}
