//! One call, start to finish, as a pure state machine: reserve its estimate, send
//! it, settle what it really cost, learn from the reply, and retry (back through the
//! limiter), or give up. A stream is read through the same machine once its head
//! has arrived; it is never retried after that.
//!
//! The machine does no I/O and reads no clock. Its driver (the wasm edge with
//! `fetch` and timers, or the simulator on a virtual clock) feeds it an [`Input`]
//! with the time, does the [`Action`] it answers, and feeds it what came of it:
//!
//! | action | the driver answers with |
//! |---|---|
//! | [`Action::Reserve`] | [`Input::Admitted`] or [`Input::Refused`] |
//! | [`Action::Send`] | [`Input::Head`], [`Input::Lost`] or [`Input::TimedOut`] |
//! | [`Action::ReadBody`] | [`Input::Body`], [`Input::Lost`] or [`Input::TimedOut`] |
//! | [`Action::Sleep`] | [`Input::Woke`] |
//! | [`Action::Open`], [`Action::Deliver`] | [`Input::Chunk`], [`Input::Eof`], [`Input::Lost`], [`Input::TimedOut`] or [`Input::Closed`] |
//! | [`Action::Finish`] | nothing: the call is over |
//!
//! [`Input::Aborted`] may come instead of any answer. Every path settles or
//! cancels the call's reservation exactly once.

mod plan;
mod stream;
#[cfg(test)]
mod tests;

use std::time::{Duration, SystemTime};

use serde_json::Value;

pub use self::plan::Plan;
use self::stream::Tally;
use super::event::Event;
use super::state::ClientState;
use super::{CallError, ErrorKind, Usage};
use crate::feedback::parse_headers;
use crate::headers::Headers;
use crate::limiter::{Arrival, Demand, Rejection, Ticket};
use crate::retry::{self, ApiError, Attempt, Failure, GiveUp, Random, RateLimitKind, RetryReason, Verdict};
use crate::sse::StreamEnd;
use crate::time::Instant;

/// The longest a 429 the call gives up on closes admission for every call.
const MOST_CLOSED: Duration = Duration::from_secs(60);

/// What happened, fed to [`Call::step`].
#[derive(Debug)]
pub enum Input<'a> {
    /// The call begins.
    Start,
    /// The limiter admitted the attempt.
    Admitted(Ticket),
    /// The limiter refused it.
    Refused(Rejection),
    /// The response's head arrived.
    Head {
        /// Its status.
        status: u16,
        /// Its headers, names in any case.
        headers: Vec<(String, String)>,
    },
    /// The whole body, as text.
    Body(&'a str),
    /// The next bytes of a stream.
    Chunk(&'a [u8]),
    /// The stream's body ended.
    Eof,
    /// No response, or the body broke off.
    Lost(Lost),
    /// The attempt (or a stream's silence) outlasted its timeout.
    TimedOut,
    /// The caller's signal fired.
    Aborted,
    /// The caller stopped reading a stream.
    Closed,
    /// A [`Action::Sleep`] is over.
    Woke,
}

/// How a connection failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lost {
    /// It never opened (refused, unresolvable): the server never saw the request.
    Unreachable(String),
    /// It broke after the request left: the server may have seen it.
    Interrupted(String),
}

/// What the driver should do next.
#[derive(Debug)]
pub enum Action {
    /// Wait for the limiter to admit this demand.
    Reserve(Demand),
    /// Send the request, with the attempt's timeout ([`Timeouts::attempt`](crate::client::options::Timeouts)).
    Send,
    /// Read the whole body.
    ReadBody,
    /// Wait until this instant.
    Sleep(Instant),
    /// The stream's head arrived: read its body (each read within the idle timeout).
    Open,
    /// Hand these events (JSON texts) to the caller, then read on.
    Deliver(Vec<String>),
    /// The call is over.
    Finish(Result<Reply, CallError>),
}

/// How a call ended well.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// A JSON body: the one the driver read last (it holds it; the machine does not
    /// copy it).
    Json,
    /// No body (204).
    Empty,
    /// A stream ended well, with its last events.
    Ended(Vec<String>),
}

/// The world as the driver sees it when it feeds an input.
pub struct Now<'r> {
    /// The monotonic time.
    pub at: Instant,
    /// The wall clock, to read `Retry-After` dates; `None` where there is none.
    pub wall: Option<SystemTime>,
    /// Jitter for backoff.
    pub rng: &'r mut dyn Random,
}

impl std::fmt::Debug for Now<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Now").field("at", &self.at).field("wall", &self.wall).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    New,
    Queued,
    Sending,
    Reading,
    Sleeping,
    Streaming,
    Done,
}

/// One call's state. See the module docs.
#[derive(Debug)]
pub struct Call {
    plan: Plan,
    phase: Phase,
    retries: u32,
    /// A retry keeps the place in line of the first attempt.
    arrival: Option<Arrival>,
    ticket: Option<Ticket>,
    /// What the current attempt reserved: its prompt, and in all.
    reserved: (u64, u64),
    started: Instant,
    /// When the current attempt asked the limiter.
    queued_at: Instant,
    sent_at: Instant,
    /// The time of the input being taken.
    now: Instant,
    head: Option<(u16, Vec<(String, String)>)>,
    stream: Option<Tally>,
}

impl Call {
    /// A call of `plan`, not yet started.
    pub fn new(plan: Plan) -> Call {
        Call {
            plan,
            phase: Phase::New,
            retries: 0,
            arrival: None,
            ticket: None,
            reserved: (0, 0),
            started: Instant::ZERO,
            queued_at: Instant::ZERO,
            sent_at: Instant::ZERO,
            now: Instant::ZERO,
            head: None,
            stream: None,
        }
    }

    /// What the call is.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Whether it is over.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Takes `input` at `now`; answers what to do next.
    pub fn step(&mut self, input: Input<'_>, state: &mut ClientState, now: Now<'_>) -> Action {
        let at = now.at;
        self.now = at;
        match (self.phase, input) {
            (Phase::Done, _) => Action::Finish(Err(CallError::new(ErrorKind::Config, "the call is already over"))),
            (_, Input::Aborted) => {
                self.release(state, at);
                self.fail(state, CallError::aborted())
            }
            (Phase::New, Input::Start) => {
                self.started = at;
                self.reserve(state, at)
            }
            (Phase::Sleeping, Input::Woke) => self.reserve(state, at),
            (Phase::Queued, Input::Admitted(ticket)) if state.reservation(&self.plan).1 > self.reserved.1 => {
                // Replies taught while it waited that it costs more: ask again for
                // what it will cost, keeping its place in line.
                self.arrival = Some(ticket.arrival());
                ticket.cancel();
                self.reserve(state, at)
            }
            (Phase::Queued, Input::Admitted(ticket)) => {
                // Our own delay between admission and sending bunches arrivals:
                // the margin learns its spread, and this request's costs are held
                // from when it leaves.
                state.limiter().observe_departure(at - ticket.admitted_at(), at);
                ticket.depart(at);
                self.arrival = Some(ticket.arrival());
                self.ticket = Some(ticket);
                self.sent_at = at;
                self.phase = Phase::Sending;
                state.stats_mut().requests += 1;
                let model = self.plan.model.as_deref();
                let metrics = state.metrics_mut();
                metrics.sent(model, at);
                metrics.of(model).queue_wait_ms.push(at.saturating_since(self.queued_at).as_secs_f64() * 1000.0);
                state.emit(Event::Sent { attempt: self.retries + 1 });
                Action::Send
            }
            (Phase::Queued, Input::Refused(Rejection::Deadline { .. })) if self.waits_for_fallback() => {
                self.fall_back(state, at, "wait")
            }
            (Phase::Queued, Input::Refused(r)) => {
                let e = match r {
                    // The server barred what it waited for: it meets the bar there.
                    Rejection::Barred => return self.reserve(state, at),
                    // It costs less than it waits for: ask for that, in its place.
                    Rejection::Repriced { arrival } => {
                        self.arrival = Some(arrival);
                        return self.reserve(state, at);
                    }
                    Rejection::TooLarge { .. } => CallError::new(ErrorKind::Config, r.to_string()),
                    Rejection::Deadline { predicted_wait } => {
                        let mut e = CallError::new(ErrorKind::QueueTimeout, r.to_string());
                        e.predicted_wait = predicted_wait;
                        e
                    }
                };
                self.fail(state, e)
            }
            (Phase::Sending, Input::Head { status, headers }) => self.head(state, now, status, headers),
            (Phase::Sending, Input::Lost(Lost::Unreachable(m))) => {
                // It never left: everything goes back.
                if let Some(t) = self.ticket.take() {
                    t.cancel();
                }
                self.retry_or(state, now, Failure::Unreachable, ErrorKind::Connection, m)
            }
            (Phase::Sending | Phase::Reading, Input::Lost(Lost::Interrupted(m) | Lost::Unreachable(m))) => {
                self.release(state, at);
                self.retry_or(state, now, Failure::Interrupted, ErrorKind::Connection, m)
            }
            (Phase::Sending | Phase::Reading, Input::TimedOut) => {
                self.release(state, at);
                let ms = self.plan.timeouts.attempt.as_millis();
                let m = format!("an attempt took longer than its timeout of {ms} ms; raise timeoutMs");
                self.retry_or(state, now, Failure::Interrupted, ErrorKind::Timeout, m)
            }
            (Phase::Reading, Input::Body(text)) => self.body(state, now, text),
            (Phase::Streaming, Input::Chunk(bytes)) => {
                let tally = self.stream.as_mut().expect("a streaming call has a tally");
                let before = tally.events;
                let fed = tally.feed(bytes);
                if before == 0 && tally.events > 0 {
                    let ms = (at - self.started).as_secs_f64() * 1000.0;
                    state.stats_mut().first_token(ms);
                    state.metrics_mut().of(self.plan.model.as_deref()).ttft_ms.push(ms);
                }
                match fed {
                    Err((kind, m)) => self.end_stream(state, at, Err(CallError::new(kind, m))),
                    Ok(events) if tally.is_done() => self.end_stream(state, at, Ok(events)),
                    Ok(events) => Action::Deliver(events),
                }
            }
            (Phase::Streaming, Input::Eof) => {
                let events = self.stream.as_mut().expect("a streaming call has a tally").finish();
                self.end_stream(state, at, events.map_err(|(kind, m)| CallError::new(kind, m)))
            }
            (Phase::Streaming, Input::Lost(Lost::Interrupted(m) | Lost::Unreachable(m))) => {
                self.end_stream(state, at, Err(CallError::new(ErrorKind::Connection, m)))
            }
            (Phase::Streaming, Input::TimedOut) => {
                let ms = self.plan.timeouts.stream_idle.as_millis();
                let m = format!("the stream sent nothing for {ms} ms; raise streamIdleTimeoutMs");
                self.end_stream(state, at, Err(CallError::new(ErrorKind::Timeout, m)))
            }
            (Phase::Streaming, Input::Closed) => {
                self.end_stream(state, at, Err(CallError::new(ErrorKind::Abort, "the stream was closed by its reader")))
            }
            (phase, input) => {
                let m = format!("internal: {input:?} does not fit a call that is {phase:?}");
                self.release(state, at);
                self.fail(state, CallError::new(ErrorKind::Config, m))
            }
        }
    }

    fn reserve(&mut self, state: &mut ClientState, at: Instant) -> Action {
        // What the server barred is not asked again.
        if let Some(e) = state.barred().spending(at) {
            let mut e = e.clone();
            e.message.push_str(" (not sent: an earlier call met this limit)");
            return self.fail(state, e);
        }
        if state.barred().model(self.plan.model.as_deref(), at) {
            return self.not_on_plan(state, at, None);
        }
        self.reserved = state.reservation(&self.plan);
        self.queued_at = at;
        self.phase = Phase::Queued;
        state.emit(Event::Queued { estimate: self.reserved.1, attempt: self.retries + 1 });
        Action::Reserve(Demand {
            tokens: self.reserved.1,
            model: self.plan.model.clone(),
            priority: self.plan.priority,
            deadline: self.deadline(at),
            arrival: self.arrival,
            group: self.plan.cache_key.clone(),
        })
    }

    fn head(&mut self, state: &mut ClientState, now: Now<'_>, status: u16, headers: Vec<(String, String)>) -> Action {
        let at = now.at;
        let rtt = at - self.sent_at;
        let upstream = upstream_time(&headers);
        if let Some(t) = &self.ticket {
            t.round_trip(rtt, upstream, at);
            if status != 429 {
                t.answered(upstream, at);
            }
        }
        if !(200..300).contains(&status) {
            self.head = Some((status, headers));
            self.phase = Phase::Reading;
            return Action::ReadBody;
        }
        if status == 204 && !self.plan.kind.costs_tokens() {
            self.settle(state, 0, 0, at);
            return self.finish(state, Ok(Reply::Empty));
        }
        let content_type = headers.header("content-type").unwrap_or("").to_ascii_lowercase();
        let wrong = if status == 204 {
            Some("no content where a reply was due")
        } else if self.plan.stream && !content_type.is_empty() && !content_type.contains("text/event-stream") {
            Some("something other than an event stream to a stream request")
        } else {
            None
        };
        if let Some(what) = wrong {
            // It may have done the work: keep the whole reservation.
            self.settle(state, self.reserved.1, 0, at);
            let mut e = CallError::new(ErrorKind::Protocol, format!("the server answered {what} (HTTP {status})"));
            e.status = Some(status);
            e.correlation_id = headers.header("mistral-correlation-id").map(str::to_owned);
            return self.fail(state, e);
        }
        if self.plan.stream {
            state.limiter().heard(rtt.saturating_sub(upstream.unwrap_or_default()), at);
            let end = self.plan.kind.stream_end().unwrap_or(StreamEnd::Eof);
            self.stream = Some(Tally::new(end));
            self.phase = Phase::Streaming;
            return Action::Open;
        }
        self.head = Some((status, headers));
        self.phase = Phase::Reading;
        Action::ReadBody
    }

    fn body(&mut self, state: &mut ClientState, now: Now<'_>, text: &str) -> Action {
        let at = now.at;
        let (status, headers) = self.head.take().expect("a body follows a head");
        let report = parse_headers(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if (200..300).contains(&status) {
            let parsed = serde_json::from_str::<Value>(text).map_err(|e| format!("not valid JSON ({e})"));
            // A reply that generated is an object (usage and all); a list may be an array.
            let generated = self.plan.kind.costs_tokens();
            let json =
                match parsed.and_then(
                    |v| {
                        if v.is_object() || !generated {
                            Ok(v)
                        } else {
                            Err("not a JSON object".into())
                        }
                    },
                ) {
                    Ok(v) => v,
                    Err(why) => {
                        let (_, all) = self.reserved;
                        self.settle(state, all, 0, at);
                        let mut err = CallError::new(ErrorKind::Protocol, format!("the server's reply is {why}"));
                        err.status = Some(status);
                        err.correlation_id = headers.header("mistral-correlation-id").map(str::to_owned);
                        return self.fail(state, err);
                    }
                };
            let (early, late) = match Usage::from_json(&json) {
                Some(u) => {
                    state.record_usage(&self.plan, u, json.get("conversation_id").and_then(Value::as_str));
                    state.charged(&self.plan, u, report.query_cost)
                }
                // No usage: the charged cost if the server said it, else the estimate.
                None if self.plan.kind.costs_tokens() => (report.query_cost.unwrap_or(self.reserved.1), 0),
                None => (0, 0),
            };
            self.settle(state, early, late, at);
            // A reply that served us says the limit is not 0, whatever a header says.
            let mut report = report;
            report.drop_zero_limits();
            state.observe(&report, self.plan.model.as_deref(), at);
            let round_trip = (at - self.sent_at).saturating_sub(upstream_time(&headers).unwrap_or_default());
            state.limiter().heard(round_trip, at);
            return self.finish(state, Ok(Reply::Json));
        }
        let api = ApiError::parse(text);
        let kind_429 = (status == 429).then(|| retry::classify_429(headers.as_slice(), &api));
        // Refused: a 4xx did no work; a 5xx may have read the prompt. A plain 429
        // is evidence of the limit it hit (a saturated tier or a spent quota says
        // nothing of the workspace's rate).
        let refused = match (kind_429, self.ticket.take()) {
            (Some(RateLimitKind::RateLimited), Some(t)) => Some(state.refused(t, at)),
            (_, ticket) => {
                self.ticket = ticket;
                let spent = if status >= 500 { self.reserved.0 } else { 0 };
                self.settle(state, spent, 0, at);
                None
            }
        };
        // A limit of 0 is the model's, not the workspace's: other models go on.
        let mut report = report;
        if kind_429 == Some(RateLimitKind::NotOnPlan) {
            report.drop_zero_limits();
        }
        state.observe(&report, self.plan.model.as_deref(), at);
        let failure = Failure::Status { status, headers: headers.as_slice(), body: &api };
        let verdict = self.decide(&failure, now.wall, now.rng);
        if let Some(kind) = kind_429 {
            state.stats_mut().rate_limited += 1;
            state.metrics_mut().refused(self.plan.model.as_deref(), at);
            let pause = match verdict {
                // What the server asks, everyone waits. Without its word, this call
                // backs off as its own retries say; the others wait a first
                // retry's delay at most, then go as the limiter (which learns
                // from this 429) lets them: one unlucky call's long backoff must
                // not stall every call.
                Verdict::Retry { why: RetryReason::RateLimited { server_wait: Some(wait) }, .. } => Some(wait),
                Verdict::Retry { after, .. } => Some(after.min(self.plan.retry.base_delay)),
                // Asked to wait longer than this call may: the others wait a while too.
                Verdict::GiveUp(GiveUp::OutOfTime { wait }) => Some(wait.min(MOST_CLOSED)),
                Verdict::GiveUp(_) => None,
            };
            if pause.is_some() || refused.is_some() {
                state.limiter().observe_rate_limited(pause.unwrap_or_default(), refused, at);
            }
            state.emit(Event::RateLimited { kind });
        }
        match verdict {
            Verdict::Retry { after, .. } => self.sleep(state, at, after, Some(status)),
            // Another model may serve it: not for a 4xx, which another would refuse
            // too, nor for a write a 5xx may have done.
            Verdict::GiveUp(GiveUp::CapacityExceeded) if !self.plan.fallbacks.is_empty() => {
                self.fall_back(state, at, "capacity")
            }
            Verdict::GiveUp(GiveUp::NotOnPlan) => {
                if let Some(model) = &self.plan.model {
                    state.barred_mut().not_on_plan(model, at);
                }
                let err = CallError::from_status(status, &headers, text, GiveUp::NotOnPlan, now.wall);
                self.not_on_plan(state, at, Some(err))
            }
            Verdict::GiveUp(_) if retry::is_model_refused(&api) && !self.plan.fallbacks.is_empty() => {
                self.fall_back(state, at, "unavailable")
            }
            Verdict::GiveUp(_) if status >= 500 && self.plan.kind.idempotent() && !self.plan.fallbacks.is_empty() => {
                self.fall_back(state, at, "unavailable")
            }
            Verdict::GiveUp(why) => {
                let mut err = CallError::from_status(status, &headers, text, why, now.wall);
                if err.kind == ErrorKind::SpendingLimit {
                    err = state.spending_limit(err, at, now.wall);
                }
                self.fail(state, err)
            }
        }
    }

    /// The call's model is not on the plan: the next model of its chain, or the
    /// typed error (`from` is the server's reply, when this call met it).
    fn not_on_plan(&mut self, state: &mut ClientState, at: Instant, from: Option<CallError>) -> Action {
        if !self.plan.fallbacks.is_empty() {
            return self.fall_back(state, at, "unavailable");
        }
        let model = self.plan.model.clone().unwrap_or_default();
        let said = if from.is_some() { "" } else { " (not sent: an earlier call met this)" };
        let mut err = from.unwrap_or_else(|| CallError::new(ErrorKind::ModelNotOnPlan, ""));
        err.kind = ErrorKind::ModelNotOnPlan;
        err.message = format!("model '{model}' is not on this workspace's plan: {}{said}", GiveUp::NotOnPlan);
        err.model = Some(model);
        self.fail(state, err)
    }

    fn decide<H: Headers + ?Sized>(
        &self,
        failure: &Failure<'_, H>,
        wall: Option<SystemTime>,
        rng: &mut dyn Random,
    ) -> Verdict {
        let attempt = Attempt { retries: self.retries, idempotent: self.plan.kind.idempotent(), wall_clock: wall };
        retry::decide(&self.plan.retry, failure, &attempt, rng)
    }

    /// A connection failure: retry when the policy says so, else fail with `kind`.
    fn retry_or(
        &mut self,
        state: &mut ClientState,
        now: Now<'_>,
        failure: Failure<'_, [(String, String)]>,
        kind: ErrorKind,
        message: String,
    ) -> Action {
        match self.decide(&failure, now.wall, now.rng) {
            Verdict::Retry { after, .. } => self.sleep(state, now.at, after, None),
            Verdict::GiveUp(why) => self.fail(state, CallError::new(kind, format!("{message}; {why}"))),
        }
    }

    /// When the limiter must have admitted the attempt: the queue's bound, or sooner
    /// the wait after which the call moves to its next model.
    fn deadline(&self, at: Instant) -> Option<Instant> {
        let queue = self.plan.timeouts.queue.map(|q| at + q);
        let fallback = self.plan.fallback_after.filter(|_| !self.plan.fallbacks.is_empty()).map(|w| at + w);
        queue.into_iter().chain(fallback).min()
    }

    /// Whether the deadline the limiter could not meet was the fallback's.
    fn waits_for_fallback(&self) -> bool {
        let fallback = self.plan.fallback_after.filter(|_| !self.plan.fallbacks.is_empty());
        fallback.is_some_and(|w| self.plan.timeouts.queue.is_none_or(|q| w < q))
    }

    /// Moves the call to the next model of its chain, with a fresh count of
    /// retries, back through the limiter for that model's lanes.
    fn fall_back(&mut self, state: &mut ClientState, at: Instant, reason: &'static str) -> Action {
        let to = self.plan.fallbacks.remove(0);
        let from = self.plan.model.replace(to.clone()).unwrap_or_default();
        state.metrics_mut().of(Some(&from)).fallbacks += 1;
        state.emit(Event::Fallback { from, to, reason });
        self.retries = 0;
        self.arrival = None;
        self.reserve(state, at)
    }

    fn sleep(&mut self, state: &mut ClientState, at: Instant, after: Duration, status: Option<u16>) -> Action {
        self.retries += 1;
        state.stats_mut().retries += 1;
        state.metrics_mut().of(self.plan.model.as_deref()).retries += 1;
        state.emit(Event::Retry { after, status });
        self.phase = Phase::Sleeping;
        Action::Sleep(at + after)
    }

    /// A stream is over, well or not: settle with its usage, or with the prompt and
    /// what was streamed.
    fn end_stream(&mut self, state: &mut ClientState, at: Instant, result: Result<Vec<String>, CallError>) -> Action {
        self.settle_stream(state, at);
        match result {
            Ok(events) => self.finish(state, Ok(Reply::Ended(events))),
            Err(e) => self.fail(state, e),
        }
    }

    /// Whatever the attempt holds, given up as spent so far: nothing while queued
    /// or sleeping (the driver drops the wait), the whole reservation once sent (it
    /// may have arrived, and a server that got it writes the reply whoever reads
    /// it: booking less lets the next calls overshoot), and for a stream what it
    /// reported or streamed.
    fn release(&mut self, state: &mut ClientState, at: Instant) {
        match self.phase {
            Phase::Sending | Phase::Reading => self.settle(state, self.reserved.1, 0, at),
            Phase::Streaming => self.settle_stream(state, at),
            _ => {}
        }
        self.head = None;
    }

    /// Settles a stream with its usage if it reported one, else with the prompt and
    /// what was streamed.
    fn settle_stream(&mut self, state: &mut ClientState, at: Instant) {
        let Some(tally) = self.stream.take() else { return };
        match tally.usage {
            Some(u) => {
                state.record_usage(&self.plan, u, tally.conversation.as_deref());
                let (early, late) = state.charged(&self.plan, u, None);
                self.settle(state, early, late, at);
            }
            None => {
                state.stats_mut().tokens_out += tally.streamed;
                state.metrics_mut().of(self.plan.model.as_deref()).tokens_out += tally.streamed;
                self.settle(state, self.reserved.0, tally.streamed, at);
            }
        }
    }

    fn settle(&mut self, state: &mut ClientState, early: u64, late: u64, at: Instant) {
        if let Some(t) = self.ticket.take() {
            state.settle(t, early, late, at);
        }
    }

    fn fail(&mut self, state: &mut ClientState, error: CallError) -> Action {
        state.emit(Event::Error { kind: error.kind });
        self.finish(state, Err(error))
    }

    /// The call is over: its figures go to the metrics, which may raise alerts.
    fn finish(&mut self, state: &mut ClientState, result: Result<Reply, CallError>) -> Action {
        self.phase = Phase::Done;
        let latency = self.now.saturating_since(self.started);
        let error = result.as_ref().err().map(|e| e.kind);
        state.metrics_mut().finished(self.plan.model.as_deref(), error, latency);
        state.check_alerts(self.now);
        Action::Finish(result)
    }
}

/// The processing time the server reports (milliseconds), to tell the network's
/// part of a round trip from the server's. Absurd values are ignored.
fn upstream_time(headers: &[(String, String)]) -> Option<Duration> {
    ["x-envoy-upstream-service-time", "x-kong-upstream-latency"].iter().find_map(|name| {
        let ms = headers.header(name)?.trim().parse::<f64>().ok()?;
        (ms.is_finite() && (0.0..=3_600_000.0).contains(&ms)).then(|| Duration::from_secs_f64(ms / 1000.0))
    })
}
