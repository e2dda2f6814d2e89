//! One call's lifetime as JS sees it: the caller's signal, and the timer of the
//! attempt in progress. Each attempt gets its own `AbortController`, which the
//! caller's signal and the attempt's timer both trip, so a timed-out attempt can be
//! followed by a fresh one while an abort stops everything.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use gloo_timers::callback::Timeout;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AbortController, AbortSignal};

use crate::client::Input;

/// Why a call stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The caller's signal fired.
    Aborted,
    /// The attempt (or a stream's silence) outlasted its timeout.
    TimedOut,
}

impl Stop {
    /// What the call machine is told.
    pub fn input(self) -> Input<'static> {
        match self {
            Stop::Aborted => Input::Aborted,
            Stop::TimedOut => Input::TimedOut,
        }
    }
}

struct Flags {
    aborted: Cell<bool>,
    timed_out: Cell<bool>,
    /// The attempt's controller; none before the first attempt.
    controller: RefCell<Option<AbortController>>,
    waker: RefCell<Option<Waker>>,
}

impl Flags {
    fn trip(&self, why: Stop) {
        match why {
            Stop::Aborted => self.aborted.set(true),
            Stop::TimedOut => self.timed_out.set(true),
        }
        if let Some(c) = self.controller.borrow().as_ref() {
            c.abort();
        }
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    fn stop(&self) -> Option<Stop> {
        if self.aborted.get() {
            Some(Stop::Aborted)
        } else if self.timed_out.get() {
            Some(Stop::TimedOut)
        } else {
            None
        }
    }
}

pub struct Scope {
    flags: Rc<Flags>,
    /// The caller's signal, kept after the call is over: a stream still hands out
    /// what it read, and stops when the signal fires.
    signal: Option<AbortSignal>,
    listener: Option<Closure<dyn FnMut()>>,
    timer: Option<Timeout>,
}

impl Scope {
    /// A scope that stops when `user` fires.
    pub fn new(user: Option<AbortSignal>) -> Result<Scope, JsValue> {
        let flags = Rc::new(Flags {
            aborted: Cell::new(false),
            timed_out: Cell::new(false),
            controller: RefCell::new(None),
            waker: RefCell::new(None),
        });
        let listener = match &user {
            Some(signal) if signal.aborted() => {
                flags.trip(Stop::Aborted);
                None
            }
            Some(signal) => {
                let f = flags.clone();
                let listener = Closure::<dyn FnMut()>::new(move || f.trip(Stop::Aborted));
                signal.add_event_listener_with_callback("abort", listener.as_ref().unchecked_ref())?;
                Some(listener)
            }
            None => None,
        };
        Ok(Scope { flags, signal: user, listener, timer: None })
    }

    /// A new attempt, with `timeout` to finish in: the signal to hand to `fetch`.
    pub fn begin_attempt(&mut self, timeout: Duration) -> Result<AbortSignal, JsValue> {
        let controller = AbortController::new()?;
        if self.flags.aborted.get() {
            controller.abort();
        }
        let signal = controller.signal();
        *self.flags.controller.borrow_mut() = Some(controller);
        self.arm(timeout);
        Ok(signal)
    }

    /// (Re)starts the timer: the attempt, or the next read of a stream, must be done
    /// within `timeout`.
    pub fn arm(&mut self, timeout: Duration) {
        self.flags.timed_out.set(false);
        let flags = self.flags.clone();
        // Options are checked to fit a JS timer (2^31 - 1 ms).
        let ms = u32::try_from(timeout.as_millis()).unwrap_or(i32::MAX as u32).min(i32::MAX as u32);
        self.timer = Some(Timeout::new(ms, move || flags.trip(Stop::TimedOut)));
    }

    /// No timer: the call waits on the limiter or sleeps, which the caller's signal
    /// alone may cut short.
    pub fn disarm(&mut self) {
        self.timer = None;
    }

    /// Why the scope stopped, if it has.
    pub fn stop(&self) -> Option<Stop> {
        self.flags.stop()
    }

    /// Stops the attempt now (a stream its reader closed).
    pub fn abort(&self) {
        self.flags.trip(Stop::Aborted);
    }

    /// The call is over: clear its timer and stop listening to the caller's signal
    /// now, rather than when JS collects the object that holds the scope (a pending
    /// timer keeps a runtime's loop alive; a listener keeps the scope alive).
    pub fn release(&mut self) {
        self.timer = None;
        if let (Some(signal), Some(listener)) = (&self.signal, self.listener.take()) {
            let _ = signal.remove_event_listener_with_callback("abort", listener.as_ref().unchecked_ref());
        }
    }

    /// Whether the caller's signal has fired, before or after the call ended.
    pub fn caller_aborted(&self) -> bool {
        self.signal.as_ref().is_some_and(AbortSignal::aborted)
    }

    /// Completes when the scope stops. Only one caller may wait at a time.
    pub fn stopped(&self) -> Stopped {
        Stopped { flags: self.flags.clone() }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        self.release();
    }
}

/// See [`Scope::stopped`].
pub struct Stopped {
    flags: Rc<Flags>,
}

impl Future for Stopped {
    type Output = Stop;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Stop> {
        match self.flags.stop() {
            Some(why) => Poll::Ready(why),
            None => {
                *self.flags.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}
