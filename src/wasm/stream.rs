//! A streamed reply as JS iterates it: events decoded from the body as they come,
//! the ticket settled once the stream ends (with the final usage, or with what was
//! counted when the stream died without one), and failures as typed errors.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::ReadableStreamDefaultReader;

use super::call::Plan;
use super::client::Inner;
use super::error::CallError;
use super::http::{self, HttpResponse, NoResponse};
use super::js;
use super::scope::{Scope, Stop};
use crate::client::usage::streamed_tokens;
use crate::client::{ErrorKind, Usage};
use crate::limiter::Ticket;
use crate::sse::{SseDecoder, SseEvent, StreamEnd};
use crate::time::Instant;

struct State {
    inner: Rc<Inner>,
    reader: Option<ReadableStreamDefaultReader>,
    decoder: SseDecoder,
    pending: VecDeque<SseEvent>,
    ticket: Option<Ticket>,
    scope: Scope,
    /// How this kind of stream ends when it ends well.
    end: StreamEnd,
    prompt: u64,
    model: Option<String>,
    /// The conversation this stream continues, from its `started` event.
    conversation: Option<String>,
    timeout_ms: u128,
    streamed: u64,
    usage: Option<Usage>,
    started: Instant,
    first_event: bool,
    busy: bool,
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
    pub(crate) fn open(inner: &Rc<Inner>, plan: &Plan, res: HttpResponse, ticket: Ticket, scope: Scope) -> EventStream {
        let reader = res.raw.body().and_then(|b| b.get_reader().dyn_into::<ReadableStreamDefaultReader>().ok());
        EventStream {
            state: Rc::new(RefCell::new(State {
                inner: inner.clone(),
                reader,
                decoder: SseDecoder::default(),
                pending: VecDeque::new(),
                ticket: Some(ticket),
                scope,
                end: plan.kind.stream_end().unwrap_or(StreamEnd::Eof),
                prompt: plan.prompt,
                model: plan.model.clone(),
                conversation: None,
                timeout_ms: plan.policy.timeout.as_millis(),
                streamed: 0,
                usage: None,
                started: js::now(),
                first_event: true,
                busy: false,
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
            if std::mem::replace(&mut state.borrow_mut().busy, true) {
                let s = state.borrow();
                let err = CallError::new(ErrorKind::Config, "next() was called again before the last call settled");
                return Err(err.to_js(&s.inner.make_error));
            }
            let step = advance(&state).await;
            state.borrow_mut().busy = false;
            match step {
                Ok(Step::Event(v)) => Ok(js::object(&[("done", false.into()), ("value", v)])),
                Ok(Step::End) => Ok(js::object(&[("done", true.into())])),
                Err(e) => Err(e.to_js(&state.borrow().inner.make_error)),
            }
        })
    }

    /// Stops the stream early: the fetch is aborted and the ticket settled with what
    /// was used so far.
    pub fn cancel(&self) -> js_sys::Promise {
        let state = self.state.clone();
        future_to_promise(async move {
            let reader = {
                let mut s = state.borrow_mut();
                s.scope.abort();
                s.reader.take()
            };
            if let Some(r) = reader {
                let _ = JsFuture::from(r.cancel()).await;
            }
            settle(&mut state.borrow_mut());
            Ok(JsValue::UNDEFINED)
        })
    }
}

/// Settles the ticket once: the final usage, or the prompt and what was streamed.
fn settle(s: &mut State) {
    let Some(ticket) = s.ticket.take() else { return };
    s.scope.release();
    let (early, late) = match s.usage {
        Some(u) => {
            let mut stats = s.inner.stats.borrow_mut();
            stats.tokens_in += u.prompt;
            stats.tokens_out += u.completion;
            drop(stats);
            if let Some(m) = &s.model {
                s.inner.history.borrow_mut().record(m, u.completion);
            }
            if let Some(id) = &s.conversation {
                s.inner.context.borrow_mut().record(id, u.total());
            }
            (u.prompt, u.completion)
        }
        None => {
            s.inner.stats.borrow_mut().tokens_out += s.streamed;
            (s.prompt, s.streamed)
        }
    };
    s.inner.settle(ticket, early, late);
}

/// Reads until an event is ready, the stream ends, or it fails.
async fn advance(state: &Rc<RefCell<State>>) -> Result<Step, CallError> {
    loop {
        let ready = state.borrow_mut().pending.pop_front();
        if let Some(ev) = ready {
            return event(&mut state.borrow_mut(), ev).map(Step::Event);
        }
        let reader = {
            let s = state.borrow();
            match &s.reader {
                Some(r) => r.clone(),
                None => return Ok(Step::End),
            }
        };
        let chunk = JsFuture::from(reader.read()).await;
        let mut s = state.borrow_mut();
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => return Err(fail(&mut s, Some(&e))),
        };
        if js::get(&chunk, "done").as_bool().unwrap_or(true) {
            let mut out = Vec::new();
            let end = s.decoder.finish(&mut out);
            s.pending.extend(out);
            s.reader = None;
            if end != s.end {
                // A chat stream closed without [DONE], or any stream cut mid-event.
                let mut e = fail(&mut s, None);
                e.message = format!("the stream ended early ({end:?} where {:?} was due); {}", s.end, e.message);
                return Err(e);
            }
            if s.pending.is_empty() {
                settle(&mut s);
                return Ok(Step::End);
            }
            continue;
        }
        let bytes = js_sys::Uint8Array::new(&js::get(&chunk, "value")).to_vec();
        let mut out = Vec::new();
        if let Err(e) = s.decoder.feed(&bytes, &mut out) {
            s.scope.abort();
            s.reader = None;
            settle(&mut s);
            return Err(CallError::new(ErrorKind::Server, format!("the event stream is malformed: {e}")));
        }
        s.pending.extend(out);
        if s.decoder.is_done() && s.pending.is_empty() {
            s.reader = None;
            s.scope.abort();
            settle(&mut s);
            return Ok(Step::End);
        }
    }
}

/// One decoded event: its usage and text are noted, and JS gets its JSON.
fn event(s: &mut State, ev: SseEvent) -> Result<JsValue, CallError> {
    if std::mem::replace(&mut s.first_event, false) {
        let ms = (js::now() - s.started).as_secs_f64() * 1000.0;
        s.inner.stats.borrow_mut().first_token(ms);
    }
    let parsed: Value = serde_json::from_str(&ev.data).map_err(|e| {
        s.scope.abort();
        s.reader = None;
        settle(s);
        CallError::new(ErrorKind::Server, format!("the server sent an event that is not JSON ({e})"))
    })?;
    s.streamed += streamed_tokens(&parsed);
    if parsed.get("type").and_then(Value::as_str) == Some("conversation.response.started") {
        s.conversation = parsed.get("conversation_id").and_then(Value::as_str).map(str::to_owned);
    }
    if let Some(u) = Usage::from_json(&parsed) {
        s.usage = Some(u);
    }
    if s.reader.is_none() && s.pending.is_empty() {
        settle(s);
    }
    js_sys::JSON::parse(&ev.data).map_err(|_| CallError::new(ErrorKind::Server, "the event's JSON did not parse in JS"))
}

/// The stream broke: settle with what was used, and say why.
fn fail(s: &mut State, e: Option<&JsValue>) -> CallError {
    s.reader = None;
    settle(s);
    match s.scope.stop() {
        Some(Stop::Aborted) => CallError::new(ErrorKind::Abort, "the stream was aborted by its signal"),
        Some(Stop::TimedOut) => CallError::new(
            ErrorKind::Timeout,
            format!("the stream outlasted its timeout of {} ms; raise timeoutMs", s.timeout_ms),
        ),
        None => {
            let why = e.map(|e| match http::classify(e) {
                NoResponse::Unreachable(m) | NoResponse::Interrupted(m) => m,
                NoResponse::Stopped => "stopped".into(),
            });
            CallError::new(ErrorKind::Connection, why.unwrap_or_else(|| "the connection closed".into()))
        }
    }
}
