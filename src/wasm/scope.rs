//! One call's lifetime: an `AbortController` that the caller's signal and the call's
//! timeout both trip, and that every wait and fetch of the call listens to.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use futures_channel::oneshot;
use gloo_timers::callback::Timeout;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{AbortController, AbortSignal};

/// Why a call stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The caller's signal fired.
    Aborted,
    /// The call's budget ran out.
    TimedOut,
}

pub struct Scope {
    controller: AbortController,
    stop: Rc<Cell<Option<Stop>>>,
    stopped: Option<oneshot::Receiver<()>>,
    user: Option<(AbortSignal, Closure<dyn FnMut()>)>,
    timer: Option<Timeout>,
    _on_abort: Closure<dyn FnMut()>,
}

impl Scope {
    /// A scope that stops when `user` fires or after `timeout`.
    pub fn new(user: Option<AbortSignal>, timeout: Duration) -> Result<Scope, JsValue> {
        let controller = AbortController::new()?;
        let stop = Rc::new(Cell::new(None));
        let trip = {
            let (controller, stop) = (controller.clone(), stop.clone());
            move |why: Stop| {
                if stop.get().is_none() {
                    stop.set(Some(why));
                    controller.abort();
                }
            }
        };
        let timer = {
            let trip = trip.clone();
            let ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
            Timeout::new(ms, move || trip(Stop::TimedOut))
        };
        let user = match user {
            Some(signal) if signal.aborted() => {
                trip(Stop::Aborted);
                None
            }
            Some(signal) => {
                let trip = trip.clone();
                let listener = Closure::<dyn FnMut()>::new(move || trip(Stop::Aborted));
                signal.add_event_listener_with_callback("abort", listener.as_ref().unchecked_ref())?;
                Some((signal, listener))
            }
            None => None,
        };
        // A oneshot that completes when our own signal fires, whatever tripped it.
        let (tx, rx) = oneshot::channel();
        let mut tx = Some(tx);
        let on_abort = Closure::<dyn FnMut()>::new(move || {
            if let Some(tx) = tx.take() {
                let _ = tx.send(());
            }
        });
        let signal = controller.signal();
        if signal.aborted() {
            on_abort.as_ref().unchecked_ref::<js_sys::Function>().call0(&JsValue::NULL)?;
        } else {
            signal.add_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref())?;
        }
        Ok(Scope { controller, stop, stopped: Some(rx), user, timer: Some(timer), _on_abort: on_abort })
    }

    /// The signal to hand to `fetch`.
    pub fn signal(&self) -> AbortSignal {
        self.controller.signal()
    }

    /// Why the scope stopped, if it has.
    pub fn stop(&self) -> Option<Stop> {
        self.stop.get()
    }

    /// Stops the scope now (a stream the caller closed early).
    pub fn abort(&self) {
        if self.stop.get().is_none() {
            self.stop.set(Some(Stop::Aborted));
            self.controller.abort();
        }
    }

    /// The call is over: clear its timeout now rather than when JS collects the
    /// object that holds the scope (a pending timer keeps a runtime's loop alive).
    pub fn release(&mut self) {
        self.timer = None;
    }

    /// Completes when the scope stops. Only one caller may wait at a time.
    pub fn stopped(&mut self) -> impl std::future::Future<Output = ()> + '_ {
        let rx = self.stopped.as_mut();
        async move {
            match rx {
                Some(rx) => {
                    let _ = rx.await;
                }
                None => std::future::pending().await,
            }
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        if let Some((signal, listener)) = &self.user {
            let _ = signal.remove_event_listener_with_callback("abort", listener.as_ref().unchecked_ref());
        }
    }
}
