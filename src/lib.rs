//! # mistral-ratelimit
//!
//! Call Mistral AI's API as fast as the workspace's limits allow, and never trip a 429.
//!
//! This crate is the pure core: it decides *when* a request may go, *what* it costs,
//! and *whether* to try again. It does no I/O and reads no clock; time is handed in
//! as an [`Instant`], so the core is tested natively and deterministically. The wasm
//! edge (fetch, streams, timers) and the JS module are built on top of it.
//!
//! - [`Limiter`]: lanes (requests per second, tokens per minute and per month,
//!   per-model lanes) that reserve a request's estimated cost before it is sent and
//!   settle it with the real usage after, never exceeding a limit in any window.
//! - [`feedback`]: reads the server's `x-ratelimit-*` headers into a [`ServerReport`]
//!   the limiter learns from.
//! - [`retry`]: a pure retry policy (`Retry-After`, jittered backoff, 429 kinds,
//!   idempotency).
//! - [`sse`]: an incremental `text/event-stream` decoder.
//!
//! ```
//! use std::time::Duration;
//! use mistral_ratelimit::{Demand, Instant, Limiter, LimiterConfig, Reservation, WaitState};
//!
//! // 1 request per second and 500,000 tokens per minute.
//! let limiter = Limiter::new(LimiterConfig::default());
//! let t0 = Instant::ZERO;
//!
//! // Reserve an estimate (input + max_tokens) before sending.
//! let Reservation::Ready(ticket) = limiter.reserve(Demand::tokens(1_200), t0)? else { unreachable!() };
//! // ... the response reports usage.total_tokens = 700: 500 tokens go back.
//! let settled = ticket.settle(700, t0 + Duration::from_millis(800));
//! assert_eq!(settled.refunded, 500);
//!
//! // A second request in the same second waits its turn.
//! let Reservation::Queued(waiter) = limiter.reserve(Demand::tokens(300), t0 + Duration::from_millis(900))? else {
//!     unreachable!()
//! };
//! let wake = limiter.next_wake().expect("someone is waiting");
//! assert!(wake > t0 + Duration::from_secs(1));
//! let WaitState::Ready(ticket) = waiter.poll(wake) else { unreachable!() };
//! ticket.settle(250, wake + Duration::from_millis(500));
//! # Ok::<(), mistral_ratelimit::Rejection>(())
//! ```

#![deny(missing_docs, missing_debug_implementations)]

pub mod budget;
pub mod client;
pub mod feedback;
mod headers;
mod limiter;
pub mod retry;
pub mod sse;
mod time;
/// Exact token counts with Mistral's own tokenizers (Tekken), behind the `tekken` feature.
#[cfg(feature = "tekken")]
pub mod tokenizer;
mod units;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use crate::feedback::{parse_headers, ServerReport};
pub use crate::headers::Headers;
pub use crate::limiter::{
    Arrival, Counters, Demand, InFlightPolicy, InFlightStatus, LaneSpec, LaneStatus, LimitCause, LimitChange,
    LimitSource, Limiter, LimiterConfig, MarginPolicy, Priority, Refused, Rejection, Reservation, Settlement, Status,
    Ticket, Unit, WaitState, Waiter, WaiterId, MAX_LEARNED, MONTH,
};
pub use crate::time::{busiest, Clock, Instant, ManualClock};
#[cfg(target_arch = "wasm32")]
pub use crate::wasm::{Client, EventStream};
