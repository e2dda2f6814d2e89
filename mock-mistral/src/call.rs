//! One `/v1` call as a handler sees it: who is calling, which fault to act out, and
//! the ways to answer (JSON with rate-limit headers, or a paced event stream).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::config::Scope;
use crate::faults::Fault;
use crate::gateway::{Ask, Bill, Refusal};
use crate::slot::{Pending, Slot};
use crate::state::Shared;
use crate::text::Rng;
use crate::wire::errors;
use crate::wire::sse::{self, End, Frame};

type Chunks = mpsc::Sender<Result<Bytes, std::io::Error>>;

/// Sends `part`, gives the server time to flush it, then fails the body so the
/// connection is cut mid-message (an error right away would drop `part` unsent).
async fn cut_off(tx: Chunks, part: Bytes) {
    if tx.send(Ok(part)).await.is_ok() {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = tx.send(Err(std::io::Error::other("truncated by x-mock-fault"))).await;
    }
}

/// Set by the gate middleware on every authenticated `/v1` request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub key: String,
    pub fault: Option<Fault>,
    /// Where `admit` leaves the request's place in flight for the gate.
    pub slot: Pending,
}

/// The context handlers take as an extractor.
#[derive(Debug)]
pub struct Call {
    pub state: Shared,
    pub key: String,
    pub fault: Option<Fault>,
    slot: Pending,
}

impl FromRequestParts<Shared> for Call {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Call, Infallible> {
        let caller = parts.extensions.get::<Caller>().cloned().expect("the gate runs before every /v1 handler");
        Ok(Call { state: state.clone(), key: caller.key, fault: caller.fault, slot: caller.slot })
    }
}

impl Call {
    /// A random stream for this request's generated content.
    pub fn rng(&self, body: &[u8]) -> Rng {
        Rng::for_request(self.state.config.seed, body)
    }

    /// Passes the request through the limits (429 when over, 402 past the spending
    /// limit), then waits the configured latency. From here the request is in flight
    /// until its reply is wholly sent. Returns what its prompt counts for: the usage
    /// and query cost its reply must report. The faults that name the request's
    /// model are acted out here, before the limits.
    pub async fn admit(&self, ask: Ask<'_>) -> Result<Bill, Response> {
        match self.fault {
            Some(Fault::InvalidModel) => return Err(errors::invalid_model_coded(ask.model)),
            Some(Fault::ModelNotInUse) => return Err(errors::model_not_in_use(ask.model)),
            _ => {}
        }
        let verdict = {
            let now = self.state.now();
            self.state.gateway.lock().unwrap().admit(&self.key, ask, now)
        };
        let config = &self.state.config;
        let bill = match verdict {
            Ok((admission, bill)) => {
                self.slot.put(Slot::new(self.state.clone(), admission));
                bill
            }
            Err(Refusal::Capacity) => return Err(errors::capacity_exceeded(StatusCode::TOO_MANY_REQUESTS)),
            // What a key with no allowance for the model gets: a limit of nothing.
            Err(Refusal::NotOnPlan) => {
                let headers = [("x-ratelimit-limit-req-minute".to_owned(), "0".to_owned())];
                return Err(errors::rate_limited("Rate limit exceeded", None, &headers));
            }
            Err(Refusal::SpendingLimit) => {
                let whose = match config.scope {
                    Scope::Workspace => "workspace",
                    Scope::Key => "key",
                };
                let limit = config.spending_limit.unwrap_or_default();
                return Err(errors::spending_limit(whose, limit, &config.spending_reset_at));
            }
            Err(refusal @ (Refusal::RateLimited | Refusal::MonthlyQuota)) => {
                let message = if refusal == Refusal::MonthlyQuota {
                    "Monthly token quota exceeded"
                } else {
                    "Rate limit exceeded"
                };
                let headers = {
                    let now = self.state.now();
                    self.state.gateway.lock().unwrap().headers(&self.key, now, None)
                };
                return Err(errors::rate_limited(message, config.retry_after, &headers));
            }
        };
        let (lo, hi) = config.latency;
        if !hi.is_zero() {
            let jitter = self.state.jitter.lock().unwrap().unit() * (hi - lo).as_secs_f64();
            tokio::time::sleep(lo + Duration::from_secs_f64(jitter)).await;
        }
        Ok(bill)
    }

    /// How long generating `tokens` takes at the configured speed.
    pub fn generation_time(&self, tokens: u64) -> Duration {
        Duration::from_secs_f64(tokens as f64 / self.state.config.tokens_per_second as f64)
    }

    /// Generates `tokens` tokens (waiting as long as that takes) and charges them.
    pub async fn generate(&self, tokens: u64) {
        tokio::time::sleep(self.generation_time(tokens)).await;
        let now = self.state.now();
        self.state.gateway.lock().unwrap().charge(&self.key, tokens, now);
    }

    /// A 200 JSON reply with the `x-ratelimit-*` headers; `query_cost` is the tokens
    /// the request was charged. Acts out the body faults.
    pub fn json(&self, body: &Value, query_cost: u64) -> Response {
        self.json_status(StatusCode::OK, body, query_cost)
    }

    pub fn json_status(&self, status: StatusCode, body: &Value, query_cost: u64) -> Response {
        let text = body.to_string();
        let bytes = match self.fault {
            Some(Fault::MalformedJson) => Bytes::from(text[..text.len() / 2].to_owned()),
            _ => Bytes::from(text),
        };
        let body = match self.fault {
            Some(Fault::Truncate) => {
                // Promise the whole length, send half, then fail the connection.
                let (tx, rx) = mpsc::channel(2);
                tokio::spawn(cut_off(tx, bytes.slice(..bytes.len() / 2)));
                let mut r = Response::new(Body::from_stream(ReceiverStream::new(rx)));
                r.headers_mut().insert("content-length", HeaderValue::from(bytes.len()));
                return self.with_headers(r, status, query_cost);
            }
            _ => Body::from(bytes),
        };
        self.with_headers(Response::new(body), status, query_cost)
    }

    fn with_headers(&self, mut r: Response, status: StatusCode, query_cost: u64) -> Response {
        *r.status_mut() = status;
        let h = r.headers_mut();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        let rate = {
            let now = self.state.now();
            self.state.gateway.lock().unwrap().headers(&self.key, now, Some(query_cost))
        };
        for (k, v) in rate {
            if let (Ok(k), Ok(v)) = (k.parse::<axum::http::HeaderName>(), HeaderValue::from_str(&v)) {
                h.insert(k, v);
            }
        }
        r
    }

    /// A reply with no body (204 on deletes).
    pub fn no_content(&self) -> Response {
        StatusCode::NO_CONTENT.into_response()
    }

    /// An event stream of `frames`, paced at the configured token speed, charging
    /// each frame's tokens as it goes out. Streams carry no rate-limit headers, as
    /// with the real API. Acts out the stream faults.
    pub fn stream(&self, frames: Vec<Frame>, end: End) -> Response {
        let (tx, rx): (Chunks, _) = mpsc::channel(16);
        let (state, key, fault) = (self.state.clone(), self.key.clone(), self.fault);
        let tps = state.config.tokens_per_second as f64;
        tokio::spawn(async move {
            let cut = frames.len() / 2;
            for (i, frame) in frames.iter().enumerate() {
                if frame.tokens > 0 {
                    tokio::time::sleep(Duration::from_secs_f64(frame.tokens as f64 / tps)).await;
                    let now = state.now();
                    state.gateway.lock().unwrap().charge(&key, frame.tokens, now);
                }
                let bytes = match fault {
                    Some(Fault::Truncate) if i == cut => {
                        let whole = sse::encode(frame);
                        return cut_off(tx, whole.slice(..whole.len() / 2)).await;
                    }
                    Some(Fault::MalformedJson) if i == cut => {
                        Bytes::from(format!("data: {}\n\n", &frame.data[..frame.data.len() / 2]))
                    }
                    Some(Fault::MalformedSse) if i == cut => {
                        // A 2 MiB line with no end: past any sane client's line cap.
                        let _ = tx.send(Ok(Bytes::from(format!("data: {}", "x".repeat(2 << 20))))).await;
                        return;
                    }
                    _ => sse::encode(frame),
                };
                if tx.send(Ok(bytes)).await.is_err() {
                    return; // the client went away
                }
            }
            if fault == Some(Fault::NeverEnding) {
                loop {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if tx.send(Ok(Bytes::from_static(sse::KEEP_ALIVE))).await.is_err() {
                        return;
                    }
                }
            }
            if end == End::Done {
                let _ = tx.send(Ok(Bytes::from_static(sse::DONE))).await;
            }
        });
        let mut r = Response::new(Body::from_stream(ReceiverStream::new(rx)));
        let h = r.headers_mut();
        h.insert("content-type", HeaderValue::from_static("text/event-stream; charset=utf-8"));
        h.insert("cache-control", HeaderValue::from_static("no-cache"));
        r
    }
}
