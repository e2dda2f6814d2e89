//! A streamed reply as JS iterates it: the body's chunks fed to the call machine,
//! which decodes them, counts what they cost, and settles the call when the stream
//! ends, breaks, falls silent or is closed.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::ReadableStreamDefaultReader;

use super::call::lost;
use super::http::{self, HttpResponse};
use super::inner::Inner;
use super::js;
use super::scope::Scope;
use crate::client::{Action, Call, CallError, ErrorKind, Input, Reply};

struct State {
    inner: Rc<Inner>,
    call: Call,
    reader: Option<ReadableStreamDefaultReader>,
    scope: Scope,
    /// Events decoded and not yet handed out, as JSON text.
    pending: VecDeque<String>,
    /// How the stream ended, once it has; an error is reported once, then `done`.
    end: Option<Result<(), CallError>>,
    /// The caller's abort has been acted on.
    abort_seen: bool,
    busy: bool,
    /// Dropped when the stream ends: until then a shared budget's lease is kept
    /// renewed (see [`Inner::keep_lease_until`]).
    lease_kept: Option<futures_channel::oneshot::Sender<()>>,
}

/// A stream of events; JS wraps it in an async iterator.
#[wasm_bindgen]
pub struct EventStream {
    state: Rc<RefCell<State>>,
}

enum Step {
    Event(JsValue),
    End,
}

impl EventStream {
    pub(crate) fn open(inner: &Rc<Inner>, call: Call, res: HttpResponse, scope: Scope) -> EventStream {
        let reader = res.raw.body().and_then(|b| b.get_reader().dyn_into::<ReadableStreamDefaultReader>().ok());
        let (lease_kept, stream_ended) = futures_channel::oneshot::channel();
        inner.keep_lease_until(stream_ended);
        EventStream {
            state: Rc::new(RefCell::new(State {
                inner: inner.clone(),
                call,
                reader,
                scope,
                pending: VecDeque::new(),
                end: None,
                abort_seen: false,
                busy: false,
                lease_kept: Some(lease_kept),
            })),
        }
    }
}

#[wasm_bindgen]
impl EventStream {
    /// The next event as `{done, value}`, like an iterator result.
    pub fn next(&self) -> js_sys::Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            claim(&state, "next")?;
            let step = advance(&state).await;
            if !matches!(step, Ok(Step::Event(_))) {
                ended(&state).await;
            }
            state.borrow_mut().busy = false;
            match step {
                Ok(Step::Event(v)) => Ok(js::object(&[("done", false.into()), ("value", v)])),
                Ok(Step::End) => Ok(js::object(&[("done", true.into())])),
                Err(e) => Err(state.borrow().inner.error(&e)),
            }
        })
    }

    /// The body's next bytes as a `Uint8Array`, or `undefined` at its end
    /// (`client.fetch` hands them on as they come).
    pub fn pull(&self) -> js_sys::Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            claim(&state, "pull")?;
            let step = advance_bytes(&state).await;
            if !matches!(step, Ok(Some(_))) {
                ended(&state).await;
            }
            state.borrow_mut().busy = false;
            match step {
                Ok(Some(bytes)) => Ok(js_sys::Uint8Array::from(&bytes[..]).into()),
                Ok(None) => Ok(JsValue::UNDEFINED),
                Err(e) => Err(state.borrow().inner.error(&e)),
            }
        })
    }

    /// Stops the stream early: the fetch is aborted and the call settled with what
    /// was used so far.
    pub fn cancel(&self) -> js_sys::Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let reader = {
                let mut s = state.borrow_mut();
                if !s.call.is_done() {
                    let inner = s.inner.clone();
                    inner.step(&mut s.call, Input::Closed);
                    s.end.get_or_insert(Ok(()));
                }
                close(&mut s)
            };
            if let Some(r) = reader {
                let _ = JsFuture::from(r.cancel()).await;
            }
            ended(&state).await;
            Ok(JsValue::UNDEFINED)
        })
    }
}

/// The stream's call is over: its end is told before the caller hears of it.
async fn ended(state: &Rc<RefCell<State>>) {
    let inner = {
        let mut s = state.borrow_mut();
        s.lease_kept.take();
        s.inner.clone()
    };
    inner.call_ended().await;
}

/// Marks the stream busy; an error if a read is already under way.
fn claim(state: &Rc<RefCell<State>>, what: &str) -> Result<(), JsValue> {
    if std::mem::replace(&mut state.borrow_mut().busy, true) {
        let s = state.borrow();
        let err = CallError::new(ErrorKind::Config, format!("{what}() was called again before the last call settled"));
        return Err(s.inner.error(&err));
    }
    Ok(())
}

/// The call is over: stop the fetch and the timers; the reader to cancel, if any.
fn close(s: &mut State) -> Option<ReadableStreamDefaultReader> {
    s.scope.abort();
    s.scope.release();
    s.reader.take()
}

/// Reads until an event is ready, the stream ends, or it fails.
async fn advance(state: &Rc<RefCell<State>>) -> Result<Step, CallError> {
    loop {
        stop_if_aborted(state);
        {
            let mut s = state.borrow_mut();
            if let Some(ev) = s.pending.pop_front() {
                return js_sys::JSON::parse(&ev)
                    .map(Step::Event)
                    .map_err(|_| CallError::new(ErrorKind::Protocol, "an event's JSON did not parse in JS"));
            }
            // An error is reported once; after it, and after a good end, `done`.
            if let Some(end) = s.end.as_mut() {
                return std::mem::replace(end, Ok(())).map(|()| Step::End);
            }
        }
        match read(state).await {
            Read::Chunk(bytes) => feed(state, Input::Chunk(&bytes)),
            Read::Other(input) => feed(state, input),
        }
    }
}

/// The same stream as bytes, for `client.fetch`: each chunk goes to the machine,
/// which counts what it costs, and on to the caller as it came; `None` at the end.
async fn advance_bytes(state: &Rc<RefCell<State>>) -> Result<Option<Vec<u8>>, CallError> {
    loop {
        stop_if_aborted(state);
        if let Some(end) = state.borrow_mut().end.as_mut() {
            return std::mem::replace(end, Ok(())).map(|()| None);
        }
        match read(state).await {
            Read::Chunk(bytes) => {
                feed(state, Input::Chunk(&bytes));
                // The caller decodes the events itself.
                state.borrow_mut().pending.clear();
                return Ok(Some(bytes));
            }
            Read::Other(input) => feed(state, input),
        }
    }
}

/// What one read of the body gave.
enum Read {
    Chunk(Vec<u8>),
    /// Its end, its failure, or the scope's stop, as the machine hears it.
    Other(Input<'static>),
}

/// Reads the body's next chunk, within the stream's idle timeout.
async fn read(state: &Rc<RefCell<State>>) -> Read {
    let reader = {
        let mut s = state.borrow_mut();
        let idle = s.call.plan().timeouts.stream_idle;
        s.scope.arm(idle);
        s.reader.clone()
    };
    // A 200 with no body: nothing will come.
    let Some(reader) = reader else { return Read::Other(Input::Eof) };
    let scope_stop = { state.borrow().scope.stopped() };
    let pending = JsFuture::from(reader.read());
    futures_util::pin_mut!(pending, scope_stop);
    match futures_util::future::select(pending, scope_stop).await {
        futures_util::future::Either::Right((why, _)) => Read::Other(why.input()),
        futures_util::future::Either::Left((Err(e), _)) => Read::Other(lost(http::classify(&e), &state.borrow().scope)),
        futures_util::future::Either::Left((Ok(chunk), _)) if js::get(&chunk, "done").as_bool().unwrap_or(true) => {
            Read::Other(Input::Eof)
        }
        futures_util::future::Either::Left((Ok(chunk), _)) => {
            Read::Chunk(js_sys::Uint8Array::new(&js::get(&chunk, "value")).to_vec())
        }
    }
}

/// Once the caller's signal fires, the stream ends in an AbortError at the next
/// read, whatever it had read and not handed out: events already buffered, or a
/// reply already over (its books are settled either way). Stop means stop, however
/// fast the reply came.
fn stop_if_aborted(state: &Rc<RefCell<State>>) {
    {
        let mut s = state.borrow_mut();
        if s.abort_seen || !s.scope.caller_aborted() {
            return;
        }
        s.abort_seen = true;
    }
    feed(state, Input::Aborted);
    let mut s = state.borrow_mut();
    s.pending.clear();
    if !matches!(s.end, Some(Err(_))) {
        s.end = Some(Err(CallError::aborted()));
    }
}

/// Feeds the machine one input and files what it answers.
fn feed(state: &Rc<RefCell<State>>, input: Input<'_>) {
    let mut s = state.borrow_mut();
    if s.call.is_done() {
        // Closed while this read was pending: the call already ended there.
        return;
    }
    let inner = s.inner.clone();
    match inner.step(&mut s.call, input) {
        Action::Deliver(events) => s.pending.extend(events),
        Action::Finish(result) => {
            s.end = Some(match result {
                Ok(Reply::Ended(events)) => {
                    s.pending.extend(events);
                    Ok(())
                }
                Ok(other) => Err(CallError::new(ErrorKind::Config, format!("internal: a stream ended in {other:?}"))),
                Err(e) => Err(e),
            });
            if let Some(r) = close(&mut s) {
                // The body is done with; its cancellation may reject, which says nothing.
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = JsFuture::from(r.cancel()).await;
                });
            }
        }
        other => {
            let e = CallError::new(ErrorKind::Config, format!("internal: a stream cannot {other:?}"));
            s.end = Some(Err(e));
        }
    }
}
