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
use crate::client::{
    Action, Call, CallError, ClientConfig, ClientState, Estimator, Event, Heuristic, Input, MetricsView, Now,
    StatusView,
};
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
        // A holder's very first ask waits for the rest of the burst to queue: a
        // burst starts its calls in one turn of the event loop, and an ask the
        // first composed said it wanted one, so its holder waited a quarter
        // second to ask again while those that asked after it took the lane.
        if budget.never_asked() {
            let (inner, beside) = (self.clone(), budget.clone());
            wasm_bindgen_futures::spawn_local(async move { inner.ask_beside(&beside) });
        } else {
            self.ask_beside(&budget);
        }
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

    /// Feeds `call` one input now, tells listeners what happened, lets the limiter
    /// hand out what the step freed, and sends an ask that came due beside it.
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
        if let Some(f) = &self.listener {
            let _ = f.call1(&JsValue::NULL, &js::event(event));
        }
    }

    /// `client.metrics()` (see [`MetricsView`]).
    pub fn metrics(&self) -> JsValue {
        js::to_js(&MetricsView::of(&self.state.borrow()))
    }

    /// `client.status()` (see [`StatusView`]).
    pub fn status(&self) -> JsValue {
        // As of now: what came due since the last event is handed out (or reclaimed).
        self.driver.serve();
        let now = js::now();
        let budget = self.budget.borrow().as_ref().map(|b| b.view(now));
        js::to_js(&StatusView::of(&self.state.borrow(), budget, now))
    }
}
