//! One call from start to finish: reserve its estimate, send it, settle what it
//! really cost, learn from the headers, and retry (back through the limiter) when
//! the policy says so. A stream is handed over once its head arrives; it is never
//! retried after that.

use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::pin_mut;
use serde_json::Value;

use super::client::Inner;
use super::error::CallError;
use super::http::{self, HttpRequest, HttpResponse, NoResponse};
use super::js;
use super::scope::{Scope, Stop};
use crate::client::{ErrorKind, Kind, Usage};
use crate::feedback::parse_headers;
use crate::limiter::{Demand, Priority, Rejection, Ticket};
use crate::retry::{self, ApiError, Attempt, Failure, GiveUp, RateLimitKind, RetryPolicy, Verdict};
use crate::time::Instant;

/// A call ready to run.
pub struct Plan {
    pub kind: Kind,
    pub url: String,
    pub body: Option<String>,
    pub model: Option<String>,
    /// Tokens reserved: prompt plus output allowance (0 for calls that generate nothing).
    pub estimate: u64,
    /// The prompt part of the estimate.
    pub prompt: u64,
    pub stream: bool,
    pub priority: Priority,
    pub policy: RetryPolicy,
}

/// How a call ended well.
pub enum Done {
    /// A JSON reply (its text; `None` for 204).
    Json(Option<String>),
    /// A stream whose head arrived, with its ticket still open.
    Stream(HttpResponse, Ticket),
}

fn stopped(why: Stop, plan: &Plan) -> CallError {
    match why {
        Stop::Aborted => CallError::new(ErrorKind::Abort, "the call was aborted by its signal"),
        Stop::TimedOut => CallError::new(
            ErrorKind::Timeout,
            format!("the call took longer than its timeout of {} ms; raise timeoutMs", plan.policy.timeout.as_millis()),
        ),
    }
}

/// Waits for `fut` unless the scope stops first.
async fn or_stop<F: std::future::Future>(scope: &mut Scope, fut: F) -> Result<F::Output, Stop> {
    if let Some(why) = scope.stop() {
        return Err(why);
    }
    let finished = {
        let stop = scope.stopped();
        pin_mut!(fut, stop);
        match select(fut, stop).await {
            Either::Left((v, _)) => Some(v),
            Either::Right(_) => None,
        }
    };
    finished.ok_or_else(|| scope.stop().unwrap_or(Stop::Aborted))
}

/// The processing time the server reports, to subtract from the round trip.
fn upstream_time(headers: &[(String, String)]) -> Option<Duration> {
    ["x-envoy-upstream-service-time", "x-kong-upstream-latency"].iter().find_map(|name| {
        let v = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))?.1.parse::<f64>().ok()?;
        (v.is_finite() && v >= 0.0).then(|| Duration::from_secs_f64(v / 1000.0))
    })
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

pub async fn run(inner: &Rc<Inner>, plan: &Plan, scope: &mut Scope) -> Result<Done, CallError> {
    let started = js::now();
    let deadline: Instant = started + plan.policy.timeout;
    let mut retries = 0u32;
    // A retry keeps the place in line of the call's first attempt.
    let mut arrival = None;
    loop {
        inner.emit("queued", &[("estimate", (plan.estimate as f64).into()), ("attempt", (retries + 1).into())]);
        let demand = Demand {
            tokens: plan.estimate,
            model: plan.model.clone(),
            priority: plan.priority,
            deadline: Some(deadline),
            arrival,
        };
        let admission = inner.driver.admit(demand);
        let ticket = match or_stop(scope, admission).await {
            Err(why) => return Err(stopped(why, plan)),
            Ok(Err(r @ Rejection::TooLarge { .. })) => return Err(CallError::new(ErrorKind::Config, r.to_string())),
            Ok(Err(r)) => return Err(CallError::new(ErrorKind::QueueTimeout, r.to_string())),
            Ok(Ok(t)) => t,
        };
        let admitted_at = ticket.admitted_at();
        arrival = Some(ticket.arrival());
        inner.emit("sent", &[("attempt", (retries + 1).into())]);
        inner.stats.borrow_mut().requests += 1;
        let sent_at = js::now();
        let request = HttpRequest {
            method: plan.kind.method(),
            url: plan.url.clone(),
            api_key: inner.config.api_key.as_deref(),
            body: plan.body.as_deref(),
            stream: plan.stream,
        };
        let failure = match http::send(&request, &scope.signal()).await {
            Err(NoResponse::Stopped) => {
                // It may have reached the server: keep the prompt's cost.
                inner.settle(ticket, plan.prompt, 0);
                return Err(stopped(scope.stop().unwrap_or(Stop::Aborted), plan));
            }
            Err(NoResponse::Unreachable(m)) => {
                ticket.cancel();
                inner.driver.serve();
                (Failure::Unreachable, m)
            }
            Err(NoResponse::Interrupted(m)) => {
                inner.settle(ticket, plan.prompt, 0);
                (Failure::Interrupted, m)
            }
            Ok(res) if (200..300).contains(&res.status) => {
                // What can bunch arrivals: our own delay between admission and
                // sending (a busy event loop, a new connection), plus the transit.
                let rtt = js::now() - sent_at;
                let delay = sent_at - admitted_at;
                match upstream_time(&res.headers) {
                    Some(up) => inner.driver.limiter.observe_transit(delay + rtt.saturating_sub(up)),
                    // A stream's head comes before generation: its round trip is transit.
                    None if plan.stream => inner.driver.limiter.observe_transit(delay + rtt),
                    None => {}
                }
                if plan.stream {
                    return Ok(Done::Stream(res, ticket));
                }
                return finish_json(inner, plan, res, ticket, scope).await;
            }
            Ok(res) => {
                let text = http::text(&res.raw).await.unwrap_or_default();
                let api = ApiError::parse(&text);
                // Refused: a 4xx did no work; a 5xx may have read the prompt.
                inner.settle(ticket, if res.status >= 500 { plan.prompt } else { 0 }, 0);
                let report = parse_headers(res.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                inner.observe(&report, plan.model.as_deref());
                let attempt = Attempt {
                    retries,
                    elapsed: js::now() - started,
                    idempotent: plan.kind.idempotent(),
                    wall_clock: Some(js::wall_clock()),
                };
                let failure = Failure::Status { status: res.status, headers: res.headers.as_slice(), body: &api };
                let verdict = retry::decide(&plan.policy, &failure, &attempt, &mut js::math_random);
                if res.status == 429 {
                    inner.stats.borrow_mut().rate_limited += 1;
                    if let Verdict::Retry { after, .. } = verdict {
                        inner.driver.limiter.observe_rate_limited(after, js::now());
                        inner.driver.serve();
                    }
                    let kind = retry::classify_429(res.headers.as_slice(), &api);
                    inner.emit("rate-limited", &[("kind", kind_name(kind).into())]);
                }
                match verdict {
                    Verdict::Retry { after, .. } => {
                        retries += 1;
                        inner.stats.borrow_mut().retries += 1;
                        inner.emit(
                            "retry",
                            &[("afterMs", (after.as_millis() as f64).into()), ("status", res.status.into())],
                        );
                        if let Err(why) = or_stop(scope, gloo_timers::future::sleep(after)).await {
                            return Err(stopped(why, plan));
                        }
                        continue;
                    }
                    Verdict::GiveUp(why) => return Err(status_error(&res, api, text, why)),
                }
            }
        };
        let (failure, message) = failure;
        let attempt =
            Attempt { retries, elapsed: js::now() - started, idempotent: plan.kind.idempotent(), wall_clock: None };
        match retry::decide::<[(String, String)]>(&plan.policy, &failure, &attempt, &mut js::math_random) {
            Verdict::Retry { after, .. } => {
                retries += 1;
                inner.stats.borrow_mut().retries += 1;
                inner.emit("retry", &[("afterMs", (after.as_millis() as f64).into())]);
                if let Err(why) = or_stop(scope, gloo_timers::future::sleep(after)).await {
                    return Err(stopped(why, plan));
                }
            }
            Verdict::GiveUp(why) => {
                return Err(CallError::new(ErrorKind::Connection, format!("{message}; {why}")));
            }
        }
    }
}

fn kind_name(kind: RateLimitKind) -> &'static str {
    match kind {
        RateLimitKind::RateLimited => "rate_limited",
        RateLimitKind::CapacityExceeded => "capacity_exceeded",
        RateLimitKind::QuotaExhausted => "quota_exhausted",
    }
}

/// Reads a JSON reply to the end, settles its ticket with the real usage and
/// learns from its headers.
async fn finish_json(
    inner: &Rc<Inner>,
    plan: &Plan,
    res: HttpResponse,
    ticket: Ticket,
    scope: &mut Scope,
) -> Result<Done, CallError> {
    if res.status == 204 {
        inner.settle(ticket, 0, 0);
        return Ok(Done::Json(None));
    }
    let text = match or_stop(scope, http::text(&res.raw)).await {
        Err(why) => {
            inner.settle(ticket, plan.estimate, 0);
            return Err(stopped(why, plan));
        }
        Ok(Err(e)) => {
            inner.settle(ticket, plan.estimate, 0);
            let message = match e {
                NoResponse::Unreachable(m) | NoResponse::Interrupted(m) => m,
                NoResponse::Stopped => "stopped".into(),
            };
            return Err(CallError::new(ErrorKind::Connection, format!("the reply was cut off: {message}")));
        }
        Ok(Ok(t)) => t,
    };
    let json: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            inner.settle(ticket, plan.estimate, 0);
            let mut err = CallError::new(ErrorKind::Server, format!("the server's reply is not valid JSON ({e})"));
            err.status = Some(res.status);
            err.correlation_id = header(&res.headers, "mistral-correlation-id").map(str::to_owned);
            return Err(err);
        }
    };
    let report = parse_headers(res.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let (early, late) = match Usage::from_json(&json) {
        Some(u) => {
            let mut stats = inner.stats.borrow_mut();
            stats.tokens_in += u.prompt;
            stats.tokens_out += u.completion;
            drop(stats);
            if let Some(m) = &plan.model {
                inner.history.borrow_mut().record(m, u.completion);
            }
            if let Some(id) = json.get("conversation_id").and_then(Value::as_str) {
                inner.context.borrow_mut().record(id, u.total());
            }
            (u.prompt, u.completion)
        }
        // No usage: the charged cost if the server said it, else the estimate.
        None => (report.query_cost.unwrap_or(if plan.kind.generates() { plan.estimate } else { 0 }), 0),
    };
    inner.settle(ticket, early, late);
    inner.observe(&report, plan.model.as_deref());
    Ok(Done::Json(Some(text)))
}

/// The typed error for a status the policy will not retry.
fn status_error(res: &HttpResponse, api: ApiError, text: String, why: GiveUp) -> CallError {
    let kind = ErrorKind::for_status(res.status);
    let said = api.message.clone().unwrap_or_else(|| format!("HTTP {}", res.status));
    let mut err = CallError::new(kind, format!("{said} ({why})"));
    err.status = Some(res.status);
    err.correlation_id = header(&res.headers, "mistral-correlation-id").map(str::to_owned);
    if res.status == 429 {
        err.rate_limit = Some(retry::classify_429(res.headers.as_slice(), &api));
        err.retry_after_ms =
            retry::retry_after(res.headers.as_slice(), Some(js::wall_clock())).map(|d| d.as_secs_f64() * 1000.0);
    }
    if res.status == 422 {
        err.detail = serde_json::from_str::<Value>(&text).ok().and_then(|v| v.get("detail").map(Value::to_string));
    }
    err.api = Some(api);
    err
}
