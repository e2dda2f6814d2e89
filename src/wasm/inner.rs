//! What every call of one client shares at the edge: the pure books
//! ([`ClientState`]), the driver that runs the limiter on the event loop, how
//! prompts are counted, and the JS functions that build errors and hear events.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use wasm_bindgen::prelude::*;

use super::budget::Budget;
use super::driver::Driver;
use super::error;
use super::js;
use crate::client::event::Field;
use crate::client::metrics::Samples;
use crate::client::model_metrics::ModelMetrics;
use crate::client::{Action, Call, CallError, ClientConfig, ClientState, Estimator, Event, Heuristic, Input, Now};
use crate::limiter::{Demand, Limiter, Rejection, Ticket};

pub struct Inner {
    config: ClientConfig,
    driver: Rc<Driver>,
    state: RefCell<ClientState>,
    /// Counts prompts: the heuristic until an exact tokenizer is loaded.
    estimator: RefCell<Rc<dyn Estimator>>,
    make_error: js_sys::Function,
    listener: Option<js_sys::Function>,
    /// The shared budget this client holds a lease on, if any.
    budget: RefCell<Option<Rc<Budget>>>,
}

impl Inner {
    pub fn new(config: ClientConfig, make_error: js_sys::Function, listener: Option<js_sys::Function>) -> Inner {
        let limiter = Limiter::new(config.limiter.clone());
        Inner {
            driver: Driver::new(limiter.clone()),
            state: RefCell::new(ClientState::new(limiter).with_alerts(config.alerts)),
            estimator: RefCell::new(Rc::new(Heuristic)),
            config,
            make_error,
            listener,
            budget: RefCell::new(None),
        }
    }

    pub fn limiter(&self) -> &Limiter {
        &self.driver.limiter
    }

    /// From now on the client spends its share of a shared budget (429s no
    /// longer turn the rate into a cap of this client's: a cap one holder learned
    /// would bound it alone).
    pub fn share_budget(&self, budget: Budget) {
        self.limiter().keep_request_reading();
        // Nothing goes before the first answer.
        budget.apply(self, js::now());
        *self.budget.borrow_mut() = Some(Rc::new(budget));
    }

    /// Waits for admission. The demand is queued before any ask goes, so that
    /// the ask carries it: a burst's first ask would otherwise say it wants
    /// nothing, and wait for the next to get anything.
    pub async fn admit(self: &Rc<Self>, demand: Demand) -> Result<Ticket, Rejection> {
        self.beside_lease(self.driver.admit(demand)).await
    }

    /// Runs `work` (a wait, a request, a body); with a shared budget, the asks
    /// that come due meanwhile (renewals, the give-back of a queue that ran dry)
    /// go out beside it, from this call. Work must never wait on a round trip: a
    /// ticket would leave later than its window assumes. And a call that holds
    /// a slot in flight keeps the lease that counts it alive.
    pub async fn beside_lease<F: std::future::Future>(self: &Rc<Self>, work: F) -> F::Output {
        let budget = self.budget.borrow().clone();
        let Some(budget) = budget else { return work.await };
        futures_util::pin_mut!(work);
        // A call queued for admission is demand an ask should follow at once, not
        // at the next renewal (the wait below looks again only when one is due).
        self.ask_beside(&budget);
        loop {
            let now = js::now();
            let wait = budget.next_look(now).saturating_since(now).max(Duration::from_millis(10));
            let renewal = gloo_timers::future::sleep(wait);
            futures_util::pin_mut!(renewal);
            let woke = futures_util::future::select(work.as_mut(), renewal).await;
            self.ask_beside(&budget);
            if let futures_util::future::Either::Left((outcome, _)) = woke {
                return outcome;
            }
        }
    }

    /// A call ended: with a shared budget, the slots in flight it held above the
    /// share are reported before it resolves (see [`Budget::tell_ends`]).
    pub async fn call_ended(self: &Rc<Self>) {
        let budget = self.budget.borrow().clone();
        if let Some(budget) = budget {
            budget.tell_ends(self).await;
        }
    }

    /// With a shared budget, asks beside an open stream until `ended` resolves (its
    /// sender sent or dropped). A stream reads only as its consumer asks, and
    /// may fall silent: the lease that counts its slot in flight must not lapse
    /// meanwhile, or the coordinator would hand the slot on.
    pub fn keep_lease_until(self: &Rc<Self>, ended: futures_channel::oneshot::Receiver<()>) {
        if self.budget.borrow().is_none() {
            return;
        }
        let inner = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let _ = inner.beside_lease(ended).await;
        });
    }

    /// Asks the budget's coordinator beside the running call, if an ask is due.
    /// It is on its way when this returns.
    pub fn ask_beside(self: &Rc<Self>, budget: &Rc<Budget>) {
        let Some(ask) = budget.start(self) else { return };
        let (inner, beside) = (self.clone(), budget.clone());
        wasm_bindgen_futures::spawn_local(async move { beside.finish(&inner, ask).await });
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub fn driver(&self) -> &Driver {
        &self.driver
    }

    pub fn state(&self) -> std::cell::Ref<'_, ClientState> {
        self.state.borrow()
    }

    pub fn estimator(&self) -> Rc<dyn Estimator> {
        self.estimator.borrow().clone()
    }

    pub fn use_estimator(&self, estimator: Rc<dyn Estimator>) {
        *self.estimator.borrow_mut() = estimator;
    }

    /// Feeds `call` one input now, then tells listeners what happened and lets the
    /// limiter hand out whatever the step freed.
    /// With a shared budget, an ask that came due (a call's end freed a slot
    /// above the share) goes out beside it.
    pub fn step(self: &Rc<Self>, call: &mut Call, input: Input<'_>) -> Action {
        let (action, events) = {
            let mut state = self.state.borrow_mut();
            let now = Now { at: js::now(), wall: Some(js::wall_clock()), rng: &mut js::math_random };
            (call.step(input, &mut state, now), state.drain_events())
        };
        // Listeners run with nothing borrowed: they may call back into the client.
        for event in &events {
            self.emit(event);
        }
        self.driver.serve();
        // A call about to be admitted asks once its demand is queued (see `admit`).
        let budget = self.budget.borrow().clone();
        if let Some(budget) = budget.filter(|_| !matches!(action, Action::Reserve(_))) {
            self.ask_beside(&budget);
        }
        action
    }

    /// The JS error for `e`, as this client's caller reads it (a 401 names the key's
    /// options; no message repeats the key).
    pub fn error(&self, e: &CallError) -> JsValue {
        error::to_js(&e.clone().about_key(self.config().api_key.as_deref()), &self.make_error)
    }

    pub fn config_error(&self, message: impl Into<String>) -> JsValue {
        self.error(&CallError::new(crate::client::ErrorKind::Config, message))
    }

    /// Sends an event to the listener, if there is one. A listener that throws is
    /// the caller's problem, not the call's.
    pub fn emit(&self, event: &Event) {
        let Some(f) = &self.listener else { return };
        let mut pairs = vec![("type", JsValue::from_str(event.name()))];
        pairs.extend(event.fields().into_iter().map(|(k, v)| {
            let v = match v {
                Field::Number(n) => JsValue::from(n),
                Field::Text(t) => JsValue::from_str(t),
                Field::Owned(t) => JsValue::from_str(&t),
            };
            (k, v)
        }));
        let _ = f.call1(&JsValue::NULL, &js::object(&pairs));
    }

    /// Per model and overall: calls, errors by class, requests and 429s, retries,
    /// tokens, and latency, time to first token and queue wait (p50, p95).
    pub fn metrics(&self) -> JsValue {
        let state = self.state.borrow();
        let by_model = state.metrics().by_model();
        let models = js_sys::Object::new();
        for (model, m) in by_model {
            let _ = js_sys::Reflect::set(&models, &JsValue::from_str(model), &figures(&[m]));
        }
        let all: Vec<&ModelMetrics> = by_model.values().collect();
        js::object(&[("overall", figures(&all)), ("models", models.into())])
    }

    /// Lanes, queue, the server's last word, and counters.
    pub fn status(&self) -> JsValue {
        // As of now: what came due since the last event is handed out (or reclaimed).
        self.driver.serve();
        let state = self.state.borrow();
        let s = state.limiter().status(js::now());
        let ms = |d: Duration| if d == Duration::MAX { f64::INFINITY } else { d.as_secs_f64() * 1000.0 };
        let n = |v: u64| JsValue::from(v as f64);
        let lanes = js_sys::Array::new();
        for l in &s.lanes {
            lanes.push(&js::object(&[
                ("name", l.name.as_str().into()),
                ("model", l.model.as_deref().map_or(JsValue::NULL, JsValue::from_str)),
                ("unit", l.unit.as_str().into()),
                ("windowMs", ms(l.window).into()),
                ("limit", n(l.limit)),
                ("configured", l.configured.map_or(JsValue::NULL, n)),
                ("source", l.source.as_str().into()),
                ("share", l.share.map_or(JsValue::NULL, n)),
                ("used", n(l.used)),
                ("percent", l.percent().into()),
                ("available", n(l.available)),
                ("nextAvailableMs", ms(l.next_available).into()),
            ]));
        }
        let limits = js_sys::Array::new();
        for l in &state.last_report().limits {
            limits.push(&js::object(&[
                ("unit", l.unit.as_str().into()),
                ("windowMs", ms(l.window).into()),
                ("limit", l.limit.map_or(JsValue::NULL, n)),
                ("remaining", l.remaining.map_or(JsValue::NULL, n)),
            ]));
        }
        let server = js::object(&[("limits", limits.into()), ("ignored", n(state.ignored()))]);
        let st = state.stats();
        let c = &s.counters;
        let p = |v: Option<f64>| v.map_or(JsValue::NULL, JsValue::from);
        js::object(&[
            ("lanes", lanes.into()),
            ("inFlight", (s.in_flight as f64).into()),
            (
                "inFlightLimit",
                s.in_flight_limit.map_or(JsValue::NULL, |c| {
                    js::object(&[
                        ("limit", n(c.limit)),
                        ("configured", c.configured.map_or(JsValue::NULL, n)),
                        ("source", c.source.as_str().into()),
                        ("share", c.share.map_or(JsValue::NULL, n)),
                    ])
                }),
            ),
            ("queued", (s.queued as f64).into()),
            ("closedForMs", ms(s.closed_for).into()),
            ("marginMs", ms(s.margin).into()),
            ("server", server),
            ("budget", self.budget.borrow().as_ref().map_or(JsValue::NULL, |b| b.status(js::now()))),
            (
                "counters",
                js::object(&[
                    ("requests", n(st.requests)),
                    ("retries", n(st.retries)),
                    ("rateLimited", n(st.rate_limited)),
                    ("tokensIn", n(st.tokens_in)),
                    ("tokensOut", n(st.tokens_out)),
                    ("refunded", n(c.refunded_tokens)),
                    ("debt", n(c.debt_tokens)),
                    ("ttftP50Ms", p(st.ttft_percentile(50.0))),
                    ("ttftP95Ms", p(st.ttft_percentile(95.0))),
                ]),
            ),
        ])
    }
}

/// One set of figures for `metrics()`: the sums and merged percentiles of `of`.
fn figures(of: &[&ModelMetrics]) -> JsValue {
    let sum = |f: fn(&ModelMetrics) -> u64| of.iter().map(|m| f(m)).sum::<u64>();
    let n = |v: u64| JsValue::from(v as f64);
    let errors = js_sys::Object::new();
    let mut by_name = std::collections::BTreeMap::<&str, u64>::new();
    for (name, count) in of.iter().flat_map(|m| m.errors.iter()) {
        *by_name.entry(name).or_default() += count;
    }
    for (name, count) in by_name {
        let _ = js_sys::Reflect::set(&errors, &JsValue::from_str(name), &n(count));
    }
    let timing = |f: fn(&ModelMetrics) -> &Samples| {
        let p = |q: f64| Samples::percentile(of.iter().map(|m| f(m)), q).map_or(JsValue::NULL, JsValue::from);
        js::object(&[("p50", p(50.0)), ("p95", p(95.0))])
    };
    let (requests, refused) = (sum(|m| m.requests), sum(|m| m.rate_limited));
    js::object(&[
        ("calls", n(sum(|m| m.calls))),
        ("errors", errors.into()),
        ("requests", n(requests)),
        ("rateLimited", n(refused)),
        ("rateLimitedShare", if requests == 0 { 0.0 } else { refused as f64 / requests as f64 }.into()),
        ("retries", n(sum(|m| m.retries))),
        ("fallbacks", n(sum(|m| m.fallbacks))),
        ("tokensIn", n(sum(|m| m.tokens_in))),
        ("tokensCached", n(sum(|m| m.tokens_cached))),
        ("tokensOut", n(sum(|m| m.tokens_out))),
        (
            "tiers",
            js::object(&[("priority", n(sum(|m| m.priority_calls))), ("standard", n(sum(|m| m.standard_calls)))]),
        ),
        ("latencyMs", timing(|m| &m.latency_ms)),
        ("ttftMs", timing(|m| &m.ttft_ms)),
        ("queueWaitMs", timing(|m| &m.queue_wait_ms)),
    ])
}
