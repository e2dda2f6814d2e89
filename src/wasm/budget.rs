//! The edge of a shared budget (`crate::budget`): a client's holder, which asks
//! through a JS function (a Durable Object stub, Redis, the leader tab), and the
//! coordinator class a Durable Object runs.
//!
//! Asks go out from inside the call that needs them, so in Workers their I/O
//! belongs to that call's request; there is no background timer.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::pin_mut;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::inner::Inner;
use super::js;
use crate::budget::{Ask, BudgetView, Coordinator, CoordinatorPolicy, CoordinatorView, Grant, Holder, ASK_TIMEOUT};
use crate::client::Event;
use crate::time::Instant;

/// How often calls that wait look for an answer that has arrived.
const ANSWER_LOOK: Duration = Duration::from_millis(25);

/// The longest a call that ends waits for an ask on its way (see
/// [`Budget::tell_ends`]): a slow or absent coordinator must not slow every
/// call's end, and an end it does not hear of costs capacity, never correctness.
const TELL_WAIT: Duration = Duration::from_millis(500);

/// One client's lease, and how it asks.
pub struct Budget {
    name: String,
    holder: RefCell<Holder>,
    /// `lease(ask) -> Promise<grant>`.
    lease: js_sys::Function,
}

impl Budget {
    pub fn new(name: String, holder: String, lease: js_sys::Function) -> Budget {
        Budget { name, holder: RefCell::new(Holder::new(holder)), lease }
    }

    /// When to look again whether an ask is due. While one is on its way, soon:
    /// its answer may make the next one due long before the ask's timeout (a
    /// holder left short comes back within a quarter second), and nothing else
    /// wakes the calls that wait.
    pub fn next_look(&self, now: Instant) -> Instant {
        let holder = self.holder.borrow();
        if holder.asking() {
            holder.next_due().min(now + ANSWER_LOOK)
        } else {
            holder.next_due()
        }
    }

    /// Whether no ask has gone yet.
    pub fn never_asked(&self) -> bool {
        self.holder.borrow().counts().0 == 0
    }

    /// Tells the coordinator of requests in flight above the share that have
    /// ended, and waits (up to [`TELL_WAIT`]) for the ask on its way, this one or
    /// one sent before (it may have left before they ended, or from this call's
    /// last step). A call that ends does this before it resolves: the last call
    /// of a Worker's request, or of a process about to exit, has no later moment,
    /// and an ask left behind would be lost with it.
    pub async fn tell_ends(self: &Rc<Self>, inner: &Rc<Inner>) {
        let until = js::now() + TELL_WAIT;
        loop {
            if self.holder.borrow().owes_ends(inner.limiter(), js::now()) {
                inner.ask_beside(self);
            }
            if !self.holder.borrow().asking() || js::now() >= until {
                return;
            }
            gloo_timers::future::sleep(ANSWER_LOOK).await;
        }
    }

    /// The ask to send now, if one is due: on its way from here on.
    pub fn start(&self, inner: &Inner) -> Option<Ask> {
        let now = js::now();
        self.apply(inner, now);
        let ask = self.holder.borrow_mut().ask_if_due(inner.limiter(), now)?;
        // A self-lowered share applies before the answer.
        self.apply(inner, now);
        Some(ask)
    }

    /// Sends `ask` and applies the answer.
    pub async fn finish(&self, inner: &Inner, ask: Ask) {
        let before = self.holder.borrow().state();
        match self.send(&ask).await {
            Some(grant) => self.holder.borrow_mut().granted(&grant, js::now()),
            // Unless the wait for it already gave up on it (and another may be on its way).
            None if self.holder.borrow().awaits(ask.seq) => self.holder.borrow_mut().failed(js::now()),
            None => {}
        }
        self.apply(inner, js::now());
        let holder = self.holder.borrow();
        if holder.state() != before {
            inner.emit(&Event::Budget { state: holder.state().name(), holders: holder.holders() });
        }
    }

    async fn send(&self, ask: &Ask) -> Option<Grant> {
        let ask = serde_wasm_bindgen::to_value(ask).ok()?;
        // Durable Object RPC answers with a thenable, not a Promise.
        let answer = JsFuture::from(js_sys::Promise::resolve(&self.lease.call1(&JsValue::NULL, &ask).ok()?));
        let timeout = gloo_timers::future::sleep(ASK_TIMEOUT);
        pin_mut!(answer, timeout);
        match select(answer, timeout).await {
            Either::Left((Ok(grant), _)) => serde_wasm_bindgen::from_value(grant).ok(),
            _ => None,
        }
    }

    /// Puts the holder's shares on the limiter (none before the first answer),
    /// and hands out what now fits.
    pub fn apply(&self, inner: &Inner, now: Instant) {
        self.holder.borrow_mut().apply(inner.limiter(), now);
        inner.driver().serve();
    }

    /// The lease as `status().budget` shows it.
    pub fn view(&self, now: Instant) -> BudgetView {
        BudgetView::of(&self.name, &mut self.holder.borrow_mut(), now)
    }
}

/// What is wrong with `leaseMs` (out of bounds, not a number), if anything: the
/// JS layer checks a budget's options with it before any ask.
#[wasm_bindgen(js_name = leaseMsProblem)]
pub fn lease_ms_problem(lease_ms: f64) -> Option<String> {
    CoordinatorPolicy::with_lease_ms(lease_ms).err()
}

/// How long a holder waits for an answer before it gives up on an ask, in ms:
/// a transport keeps what it needs for an ask at least that long.
#[wasm_bindgen(js_name = askTimeoutMs)]
pub fn ask_timeout_ms() -> f64 {
    ASK_TIMEOUT.as_millis() as f64
}

/// The budget of one organization, as a Durable Object (or the leader tab) holds
/// it: answers asks, and saves to a string after each.
#[wasm_bindgen]
pub struct BudgetCoordinator {
    inner: Coordinator,
}

#[wasm_bindgen]
impl BudgetCoordinator {
    /// From the string `save()` returned, or anew (`saved` absent or unreadable),
    /// with `leaseMs` (how long a lease lasts, also how long a dead holder's share
    /// stays counted) if given: one out of bounds throws, naming them.
    #[wasm_bindgen(constructor)]
    pub fn new(saved: Option<String>, lease_ms: Option<f64>) -> Result<BudgetCoordinator, JsError> {
        let policy = lease_ms.map_or(Ok(CoordinatorPolicy::default()), CoordinatorPolicy::with_lease_ms);
        let policy = policy.map_err(|e| JsError::new(&e))?;
        let inner = saved
            .and_then(|s| serde_json::from_str::<Coordinator>(&s).ok())
            .map_or_else(|| Coordinator::new(policy), Coordinator::repaired);
        Ok(BudgetCoordinator { inner })
    }

    /// Answers an ask at `now_ms` (this coordinator's clock, in ms).
    pub fn lease(&mut self, ask: JsValue, now_ms: f64) -> Result<JsValue, JsValue> {
        let ask: Ask = serde_wasm_bindgen::from_value(ask).map_err(|e| JsValue::from_str(&format!("bad ask: {e}")))?;
        let grant = self.inner.lease(&ask, now_ms.max(0.0) as u64);
        serde_wasm_bindgen::to_value(&grant).map_err(|e| JsValue::from_str(&e.to_string()))
    }

    /// The whole state, to store.
    pub fn save(&self) -> String {
        serde_json::to_string(&self.inner).unwrap_or_default()
    }

    /// `{holders, lanes: [{unit, windowMs, limit, counted, cooling}]}` at `now_ms`.
    pub fn status(&mut self, now_ms: f64) -> JsValue {
        js::to_js(&CoordinatorView::of(&mut self.inner, now_ms.max(0.0) as u64))
    }
}
