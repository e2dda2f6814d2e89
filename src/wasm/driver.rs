//! Runs the pure limiter on the JS event loop: one timer at the limiter's next
//! wake-up, and a future per waiting call that completes when its turn comes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use gloo_timers::callback::Timeout;

use super::js;
use crate::limiter::{Demand, Limiter, Rejection, Reservation, Ticket, WaitState, Waiter, WaiterId};
use crate::time::Instant;

#[derive(Default)]
struct Slot {
    waiter: Option<Waiter>,
    outcome: Option<Result<Ticket, Rejection>>,
    waker: Option<Waker>,
}

pub struct Driver {
    pub limiter: Limiter,
    slots: RefCell<HashMap<WaiterId, Rc<RefCell<Slot>>>>,
    timer: RefCell<Option<(Instant, Timeout)>>,
    me: Weak<Driver>,
}

impl Driver {
    pub fn new(limiter: Limiter) -> Rc<Driver> {
        Rc::new_cyclic(|me| Driver {
            limiter,
            slots: RefCell::new(HashMap::new()),
            timer: RefCell::new(None),
            me: me.clone(),
        })
    }

    /// Asks for admission; completes with a ticket or a refusal.
    pub fn admit(&self, demand: Demand) -> Admission {
        let slot = Rc::new(RefCell::new(Slot::default()));
        match self.limiter.reserve(demand, js::now()) {
            Ok(Reservation::Ready(t)) => slot.borrow_mut().outcome = Some(Ok(t)),
            Ok(Reservation::Queued(w)) => {
                let id = w.id();
                slot.borrow_mut().waiter = Some(w);
                self.slots.borrow_mut().insert(id, slot.clone());
            }
            Err(r) => slot.borrow_mut().outcome = Some(Err(r)),
        }
        self.serve();
        Admission { slot, driver: self.me.clone() }
    }

    /// Hands out what the limiter decided and sets the timer for its next wake-up.
    /// Call after anything that may change the limiter's mind.
    pub fn serve(&self) {
        let now = js::now();
        // Polling a waiter can admit others (a refusal frees the head): drain until
        // nothing new is woken.
        loop {
            let woken = self.limiter.drain_woken();
            if woken.is_empty() {
                break;
            }
            self.hand_out(woken, now);
        }
        self.arm(now);
    }

    fn hand_out(&self, woken: Vec<WaiterId>, now: Instant) {
        for id in woken {
            let Some(slot) = self.slots.borrow_mut().remove(&id) else { continue };
            let mut s = slot.borrow_mut();
            let Some(waiter) = s.waiter.take() else { continue };
            match waiter.poll(now) {
                WaitState::Ready(t) => s.outcome = Some(Ok(t)),
                WaitState::Rejected(r) => s.outcome = Some(Err(r)),
                WaitState::Waiting { waiter, .. } => {
                    s.waiter = Some(waiter);
                    drop(s);
                    self.slots.borrow_mut().insert(id, slot.clone());
                    continue;
                }
            }
            if let Some(w) = s.waker.take() {
                w.wake();
            }
        }
    }

    fn arm(&self, now: Instant) {
        let Some(wake) = self.limiter.next_wake() else {
            *self.timer.borrow_mut() = None;
            return;
        };
        if self.timer.borrow().as_ref().is_some_and(|(at, _)| *at <= wake) {
            return;
        }
        let ms = (wake - now).as_secs_f64() * 1000.0;
        let me = self.me.clone();
        let timeout = Timeout::new(ms.ceil() as u32, move || {
            if let Some(d) = me.upgrade() {
                *d.timer.borrow_mut() = None;
                d.limiter.tick(js::now());
                d.serve();
            }
        });
        *self.timer.borrow_mut() = Some((wake, timeout));
    }
}

/// A call's wait for admission. Dropping it (an abort) leaves the queue, and hands
/// back a ticket granted but not yet collected.
pub struct Admission {
    slot: Rc<RefCell<Slot>>,
    driver: Weak<Driver>,
}

impl Future for Admission {
    type Output = Result<Ticket, Rejection>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.slot.borrow_mut();
        match s.outcome.take() {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let (waiter, outcome) = {
            let mut s = self.slot.borrow_mut();
            (s.waiter.take(), s.outcome.take())
        };
        if let Some(w) = &waiter {
            if let Some(d) = self.driver.upgrade() {
                d.slots.borrow_mut().remove(&w.id());
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
