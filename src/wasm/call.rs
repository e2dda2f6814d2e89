//! Drives a call machine (`crate::client::Call`) with the platform's I/O: the
//! limiter's admissions, `fetch`, body reads and timers. Every decision is the
//! machine's; this file only does what it asks and reports what came of it.

use std::rc::Rc;

use futures_util::future::{select, Either};
use futures_util::pin_mut;
use wasm_bindgen::JsValue;

use super::http::{self, HttpRequest, HttpResponse, NoResponse};
use super::inner::Inner;
use super::js;
use super::scope::{Scope, Stop};
use crate::client::{Action, Call, CallError, Input, Lost, Reply};

/// What goes on the wire, besides what the machine knows.
pub struct Wire {
    pub url: String,
    /// The body as JS made it, handed to `fetch` without a copy through wasm.
    pub body: Option<JsValue>,
    /// `client.fetch`: the caller's method and headers, sent as they are.
    pub passed: Option<(&'static str, JsValue)>,
    /// A call that may move to another model: the body as JSON and its model, to
    /// send with the model the call has moved to.
    pub refit: Option<(serde_json::Value, String)>,
}

impl Wire {
    /// The body to send for a call now of `model`: as JS made it, unless the call
    /// moved to another model.
    fn body_for(&self, model: Option<&str>) -> Option<JsValue> {
        match (&self.refit, model) {
            (Some((json, original)), Some(model)) if model != original => {
                let mut json = json.clone();
                json["model"] = model.into();
                Some(JsValue::from_str(&json.to_string()))
            }
            _ => self.body.clone(),
        }
    }
}

/// The last reply the server sent a call: for `client.fetch`, which hands a caller
/// the server's own answer, a refusal included.
pub struct LastReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// Its body once read (an error's, up to `http::ERROR_BODY_CAP`).
    pub body: Option<JsValue>,
}

/// How a call ended well.
pub enum Done {
    /// A JSON reply (its text as JS read it; `None` for 204).
    Json(Option<JsValue>),
    /// A stream whose head arrived; the machine reads its body next.
    Stream(HttpResponse),
}

/// Waits for `fut` unless the scope stops first.
pub async fn or_stop<F: std::future::Future>(scope: &Scope, fut: F) -> Result<F::Output, Stop> {
    if let Some(why) = scope.stop() {
        return Err(why);
    }
    let stopped = scope.stopped();
    pin_mut!(fut, stopped);
    match select(fut, stopped).await {
        Either::Left((v, _)) => Ok(v),
        Either::Right((why, _)) => Err(why),
    }
}

/// A connection failure as the machine sees it; the scope's reason when it stopped
/// (an aborted fetch fails like a broken one).
pub fn lost(e: NoResponse, scope: &Scope) -> Input<'static> {
    if let Some(why) = scope.stop() {
        return why.input();
    }
    match e {
        NoResponse::Unreachable(m) => Input::Lost(Lost::Unreachable(m)),
        NoResponse::Interrupted(m) => Input::Lost(Lost::Interrupted(m)),
        NoResponse::Stopped => Input::Aborted,
    }
}

/// Runs `call` until it ends, or until a stream's head arrives; `last` holds the
/// reply of the last attempt that got one.
pub async fn run(
    inner: &Rc<Inner>,
    call: &mut Call,
    wire: &Wire,
    scope: &mut Scope,
    last: &mut Option<LastReply>,
) -> Result<Done, CallError> {
    let mut input = Input::Start;
    let mut response: Option<HttpResponse> = None;
    let mut body: String;
    let mut body_js = JsValue::UNDEFINED;
    loop {
        let action = inner.step(call, input);
        if !matches!(action, Action::ReadBody) {
            scope.disarm();
        }
        input = match action {
            Action::Reserve(demand) => match or_stop(scope, inner.admit(demand)).await {
                Err(why) => why.input(),
                Ok(Ok(ticket)) => Input::Admitted(ticket),
                Ok(Err(refusal)) => Input::Refused(refusal),
            },
            Action::Send => {
                let signal = scope.begin_attempt(call.plan().timeouts.attempt).map_err(|e| internal(&e))?;
                let body = wire.body_for(call.plan().model.as_deref());
                let request = HttpRequest {
                    method: wire.passed.as_ref().map_or(call.plan().kind.method(), |(m, _)| m),
                    url: &wire.url,
                    api_key: inner.config().api_key.as_deref(),
                    headers: wire.passed.as_ref().map(|(_, h)| h),
                    body: body.as_ref(),
                    stream: call.plan().stream,
                };
                *last = None;
                match inner.beside_lease(http::send(&request, &signal)).await {
                    Ok(mut res) => {
                        let (status, headers) = (res.status, std::mem::take(&mut res.headers));
                        *last = Some(LastReply { status, headers: headers.clone(), body: None });
                        response = Some(res);
                        Input::Head { status, headers }
                    }
                    Err(e) => lost(e, scope),
                }
            }
            Action::ReadBody => {
                let res = response.take().expect("a body follows a head");
                let read = async {
                    if (200..300).contains(&res.status) {
                        http::text(&res.raw).await
                    } else {
                        http::text_capped(&res.raw, http::ERROR_BODY_CAP).await
                    }
                };
                match or_stop(scope, inner.beside_lease(read)).await {
                    Ok(Ok(text)) => {
                        body = text.as_string().unwrap_or_default();
                        if let Some(reply) = last.as_mut() {
                            reply.body = Some(text.clone());
                        }
                        body_js = text;
                        Input::Body(&body)
                    }
                    Ok(Err(e)) => lost(e, scope),
                    Err(why) => why.input(),
                }
            }
            Action::Sleep(until) => {
                let wait = until - js::now();
                match or_stop(scope, gloo_timers::future::sleep(wait)).await {
                    Ok(()) => Input::Woke,
                    Err(why) => why.input(),
                }
            }
            Action::Open => return Ok(Done::Stream(response.take().expect("a stream opens on its head"))),
            Action::Finish(Ok(Reply::Json)) => return Ok(Done::Json(Some(body_js))),
            Action::Finish(Ok(Reply::Empty)) => return Ok(Done::Json(None)),
            Action::Finish(Err(e)) => return Err(e),
            Action::Deliver(_) | Action::Finish(Ok(Reply::Ended(_))) => {
                unreachable!("events come only after Open, through the stream")
            }
        };
    }
}

fn internal(e: &wasm_bindgen::JsValue) -> CallError {
    CallError::new(
        crate::client::ErrorKind::Connection,
        format!("the request could not be made: {}", http::describe(e)),
    )
}
