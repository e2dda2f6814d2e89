//! Runs the pure limiter on the JS event loop, with no timer of its own: each
//! waiting call sleeps on its own timer until the limiter's next change, and
//! whoever frees room (a settle, a refund, a tick) resolves the woken calls' own
//! promises.
//!
//! Why nothing is shared: in Cloudflare Workers, I/O belongs to the request whose
//! code started it and a timer to the request that set it. A shared timer dies
//! with the request that armed it, and a task woken from another request's
//! callback sends its `fetch` on that request's behalf, which workerd drops when
//! that request ends. A call's own timer, and a promise it created, bring its
//! continuation back in its own request: workerd runs a promise's reactions in
//! the request that created it, whoever resolves it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::js;
use crate::limiter::{Arrival, Demand, Limiter, Rejection, Reservation, Ticket, WaitState, Waiter, WaiterId};
use crate::time::Instant;

/// The longest a waiting call sleeps without looking: the limiter may have no
/// next change to name (everything it waits for is a settle).
const LONGEST_SLEEP: Duration = Duration::from_secs(10);

/// A ticket handed to a call that has not collected it this long later belongs
/// to a call that will never run again (in Workers: its request ended). It is
/// refunded, and the call, if it ever runs, queues again in its old place.
const UNCOLLECTED: Duration = Duration::from_secs(2);

/// How long a woken call's request is kept alive for its wake-up to reach it.
const KEEP_ALIVE_MS: f64 = 1000.0;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

#[derive(Default)]
struct Slot {
    waiter: Option<Waiter>,
    outcome: Option<Result<Ticket, Rejection>>,
    /// When the outcome was handed out, for [`UNCOLLECTED`].
    handed_at: Option<Instant>,
    /// A handed ticket was refunded unused: queue again, keeping this place.
    reclaimed: Option<Arrival>,
    /// Resolves the promise the waiting call sleeps on.
    wake: Option<js_sys::Function>,
    /// When that sleep ends.
    until: Option<Instant>,
}

pub struct Driver {
    pub limiter: Limiter,
    waiting: RefCell<HashMap<WaiterId, Rc<RefCell<Slot>>>>,
    /// Slots whose outcome was handed out, until it is collected.
    handed: RefCell<Vec<Weak<RefCell<Slot>>>>,
    /// The earliest end of a waiting call's sleep, if one sleeps.
    armed: Cell<Option<Instant>>,
    me: Weak<Driver>,
}

impl Driver {
    pub fn new(limiter: Limiter) -> Rc<Driver> {
        Rc::new_cyclic(|me| Driver {
            limiter,
            waiting: RefCell::new(HashMap::new()),
            handed: RefCell::new(Vec::new()),
            armed: Cell::new(None),
            me: me.clone(),
        })
    }

    /// Asks for admission; completes with a ticket or a refusal.
    pub fn admit(&self, demand: Demand) -> Admission {
        let slot = Rc::new(RefCell::new(Slot::default()));
        self.reserve(&slot, demand.clone());
        Admission { slot, driver: self.me.clone(), demand, sleep: None }
    }

    fn reserve(&self, slot: &Rc<RefCell<Slot>>, demand: Demand) {
        match self.limiter.reserve(demand, js::now()) {
            Ok(Reservation::Ready(t)) => slot.borrow_mut().outcome = Some(Ok(t)),
            Ok(Reservation::Queued(w)) => {
                let id = w.id();
                slot.borrow_mut().waiter = Some(w);
                self.waiting.borrow_mut().insert(id, slot.clone());
            }
            Err(r) => slot.borrow_mut().outcome = Some(Err(r)),
        }
        self.serve();
    }

    /// Hands out what the limiter decided. Call after anything that may change
    /// its mind.
    pub fn serve(&self) {
        let now = js::now();
        if self.limiter.next_wake().is_some_and(|at| at <= now) {
            self.limiter.tick(now);
        }
        self.reclaim(now);
        self.rearm();
        // Polling a waiter can admit others (a refusal frees the head): drain until
        // nothing new is woken.
        loop {
            let woken = self.limiter.drain_woken();
            if woken.is_empty() {
                break;
            }
            self.hand_out(woken, now);
        }
    }

    fn hand_out(&self, woken: Vec<WaiterId>, now: Instant) {
        for id in woken {
            let Some(slot) = self.waiting.borrow_mut().remove(&id) else { continue };
            let mut s = slot.borrow_mut();
            let Some(waiter) = s.waiter.take() else { continue };
            match waiter.poll(now) {
                WaitState::Ready(t) => s.outcome = Some(Ok(t)),
                WaitState::Rejected(r) => s.outcome = Some(Err(r)),
                WaitState::Waiting { waiter, .. } => {
                    s.waiter = Some(waiter);
                    drop(s);
                    self.waiting.borrow_mut().insert(id, slot.clone());
                    continue;
                }
            }
            s.handed_at = Some(now);
            if let Some(wake) = s.wake.take() {
                let _ = wake.call0(&JsValue::NULL);
            }
            drop(s);
            self.handed.borrow_mut().push(Rc::downgrade(&slot));
        }
    }

    /// The limiter may now wake sooner than any waiting call sleeps (a limit rose
    /// with time, not with an event): one sleeper wakes early to sleep again
    /// until then.
    fn rearm(&self) {
        let Some(next) = self.limiter.next_wake() else { return };
        if self.armed.get().is_some_and(|armed| armed <= next) {
            return;
        }
        let sleeper = self.waiting.borrow().values().find_map(|slot| slot.borrow_mut().wake.take());
        if let Some(wake) = sleeper {
            self.armed.set(None);
            let _ = wake.call0(&JsValue::NULL);
        }
    }

    /// Refunds tickets handed out but never collected.
    fn reclaim(&self, now: Instant) {
        self.handed.borrow_mut().retain(|slot| {
            let Some(slot) = slot.upgrade() else { return false };
            let mut s = slot.borrow_mut();
            if !matches!(s.outcome, Some(Ok(_))) {
                return false;
            }
            if s.handed_at.is_some_and(|at| now - at < UNCOLLECTED) {
                return true;
            }
            if let Some(Ok(ticket)) = s.outcome.take() {
                s.reclaimed = Some(ticket.arrival());
                ticket.cancel();
            }
            false
        });
    }
}

/// A call's wait for admission. Dropping it (an abort) leaves the queue, and hands
/// back a ticket granted but not yet collected.
pub struct Admission {
    slot: Rc<RefCell<Slot>>,
    driver: Weak<Driver>,
    demand: Demand,
    sleep: Option<Sleep>,
}

/// A promise this call created, resolved by its own timer or by whoever admits it.
struct Sleep {
    woke: JsFuture,
    timers: [JsValue; 2],
}

impl Sleep {
    fn until(at: Instant, slot: &mut Slot) -> Sleep {
        let mut wake = None;
        let promise = js_sys::Promise::new(&mut |resolve, _| wake = Some(resolve));
        let wake = wake.unwrap_or_else(|| unreachable!("a Promise runs its executor at once"));
        let ms = ((at - js::now()).min(LONGEST_SLEEP).as_secs_f64() * 1000.0).ceil();
        // The second timer keeps this call's request alive while workerd delays the
        // promise's reaction to it, when another request resolved it.
        let timers = [set_timeout(&wake, ms), set_timeout(&wake, ms + KEEP_ALIVE_MS)];
        slot.wake = Some(wake);
        slot.until = Some(at);
        Sleep { woke: JsFuture::from(promise), timers }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        for timer in &self.timers {
            clear_timeout(timer);
        }
    }
}

impl Future for Admission {
    type Output = Result<Ticket, Rejection>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(driver) = self.driver.upgrade() else { return Poll::Pending };
        loop {
            if let Some(outcome) = self.slot.borrow_mut().outcome.take() {
                return Poll::Ready(outcome);
            }
            let reclaimed = self.slot.borrow_mut().reclaimed.take();
            if let Some(arrival) = reclaimed {
                let demand = self.demand.clone().keeping_place(arrival);
                driver.reserve(&self.slot, demand);
                continue;
            }
            if let Some(sleep) = &mut self.sleep {
                if Pin::new(&mut sleep.woke).poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.sleep = None;
                self.slot.borrow_mut().wake = None;
                driver.serve();
                let slept = self.slot.borrow_mut().until.take();
                if driver.armed.get() == slept {
                    driver.armed.set(None);
                }
                continue;
            }
            let until = driver.limiter.next_wake().unwrap_or_else(|| js::now() + LONGEST_SLEEP);
            let sleep = Sleep::until(until, &mut self.slot.borrow_mut());
            driver.armed.set(Some(driver.armed.get().map_or(until, |a| a.min(until))));
            self.sleep = Some(sleep);
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let (waiter, outcome) = {
            let mut s = self.slot.borrow_mut();
            s.wake = None;
            (s.waiter.take(), s.outcome.take())
        };
        if let Some(w) = &waiter {
            if let Some(d) = self.driver.upgrade() {
                d.waiting.borrow_mut().remove(&w.id());
            }
        }
        drop(waiter);
        if let Some(Ok(ticket)) = outcome {
            ticket.cancel();
        }
        if let Some(d) = self.driver.upgrade() {
            d.serve();
        }
    }
}
