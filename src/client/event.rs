//! What a client tells its listeners, one list for the core, the JS layer and the
//! declarations (a test holds `index.d.ts` to it).

use std::time::Duration;

use super::error_kind::ErrorKind;
use crate::limiter::LimitChange;
use crate::retry::RateLimitKind;

/// One thing that happened to a call or to the client's books.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// An attempt asks the limiter for `estimate` tokens.
    Queued {
        /// Tokens reserved (prompt, calibrated, plus the output allowance).
        estimate: u64,
        /// 1 for the first attempt.
        attempt: u32,
    },
    /// An attempt was admitted and is being sent.
    Sent {
        /// 1 for the first attempt.
        attempt: u32,
    },
    /// A reservation ended with the real cost.
    Settled {
        /// Tokens booked in the end.
        tokens: u64,
        /// Given back: the estimate was high.
        refunded: u64,
        /// Booked beyond the estimate.
        debt: u64,
    },
    /// The server answered 429.
    RateLimited {
        /// Which of the three kinds.
        kind: RateLimitKind,
    },
    /// The call will try again after `after`.
    Retry {
        /// The wait before the retry queues again.
        after: Duration,
        /// The status that caused it, if there was a response.
        status: Option<u16>,
    },
    /// The call failed.
    Error {
        /// Its kind.
        kind: ErrorKind,
    },
    /// The server counted a model's prompts higher than estimated: later estimates
    /// for it are multiplied by `ratio`.
    Calibrated {
        /// The model.
        model: String,
        /// The multiplier now applied.
        ratio: f64,
    },
    /// A call moved to the next model of its fallback chain.
    Fallback {
        /// The model that could not serve it.
        from: String,
        /// The model it goes to.
        to: String,
        /// `capacity` (its tier is saturated), `unavailable` (5xx after retries, a
        /// model refused or not on the plan) or `wait` (its lane's predicted wait
        /// exceeds `fallbackAfterMs`).
        reason: &'static str,
    },
    /// A threshold was crossed (`crate::client::alerts`).
    Alert {
        /// `rate-limited`, `queue-wait` or `month-budget`.
        kind: &'static str,
        /// What was seen: a share, or milliseconds.
        value: f64,
        /// The threshold it crossed.
        threshold: f64,
    },
    /// A lane's limit changed with no header stating it: lowered after a 429 that
    /// showed it too high, or raised a step back towards the configured one
    /// (`crate::limiter`, module `inference`).
    Limit(LimitChange),
    /// The client's standing in a shared budget changed (`crate::budget`).
    Budget {
        /// `shared`, `holding` (the coordinator cannot be reached; spending the
        /// lease) or `fallback` (the lease expired too; spending the last share).
        state: &'static str,
        /// Holders sharing the budget, as of the coordinator's last answer.
        holders: u32,
    },
    /// A spending limit is reached (a 402): every call fails with it until it
    /// resets. Its own type: a `budget` event's listeners read `holders`.
    SpendingLimit {
        /// The server's message, which names the limit.
        message: String,
        /// When it resets, as the message says (RFC 3339).
        reset_at: Option<String>,
    },
}

/// A field's value as JS will see it.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// A number.
    Number(f64),
    /// A string.
    Text(&'static str),
    /// An owned string.
    Owned(String),
}

impl Event {
    /// Every event's `type`, in declaration order.
    pub const NAMES: &'static [&'static str] = &[
        "queued",
        "sent",
        "settled",
        "rate-limited",
        "retry",
        "error",
        "calibrated",
        "fallback",
        "alert",
        "limit",
        "budget",
        "spending-limit",
    ];

    /// Its `type` in JS.
    pub fn name(&self) -> &'static str {
        match self {
            Event::Queued { .. } => "queued",
            Event::Sent { .. } => "sent",
            Event::Settled { .. } => "settled",
            Event::RateLimited { .. } => "rate-limited",
            Event::Retry { .. } => "retry",
            Event::Error { .. } => "error",
            Event::Calibrated { .. } => "calibrated",
            Event::Fallback { .. } => "fallback",
            Event::Alert { .. } => "alert",
            Event::Limit(_) => "limit",
            Event::Budget { .. } => "budget",
            Event::SpendingLimit { .. } => "spending-limit",
        }
    }

    /// Its fields besides `type`, named as in JS. Counts become numbers, not
    /// BigInts.
    pub fn fields(&self) -> Vec<(&'static str, Field)> {
        let n = |v: u64| Field::Number(v as f64);
        match self {
            Event::Queued { estimate, attempt } => vec![("estimate", n(*estimate)), ("attempt", n((*attempt).into()))],
            Event::Sent { attempt } => vec![("attempt", n((*attempt).into()))],
            Event::Settled { tokens, refunded, debt } => {
                vec![("tokens", n(*tokens)), ("refunded", n(*refunded)), ("debt", n(*debt))]
            }
            Event::RateLimited { kind } => vec![("kind", Field::Text(kind.as_str()))],
            Event::Retry { after, status } => {
                let mut f = vec![("afterMs", Field::Number(after.as_secs_f64() * 1000.0))];
                if let Some(s) = status {
                    f.push(("status", n((*s).into())));
                }
                f
            }
            Event::Error { kind } => vec![("name", Field::Text(kind.name()))],
            Event::Calibrated { model, ratio } => {
                vec![("model", Field::Owned(model.clone())), ("ratio", Field::Number(*ratio))]
            }
            Event::Fallback { from, to, reason } => vec![
                ("from", Field::Owned(from.clone())),
                ("to", Field::Owned(to.clone())),
                ("reason", Field::Text(reason)),
            ],
            Event::Alert { kind, value, threshold } => vec![
                ("kind", Field::Text(kind)),
                ("value", Field::Number(*value)),
                ("threshold", Field::Number(*threshold)),
            ],
            Event::Limit(c) => {
                let mut f = vec![("lane", Field::Owned(c.lane.clone()))];
                if let Some(m) = &c.model {
                    f.push(("model", Field::Owned(m.clone())));
                }
                f.extend([
                    ("limit", n(c.limit)),
                    ("configured", n(c.configured)),
                    ("cause", Field::Text(c.cause.as_str())),
                ]);
                f
            }
            Event::Budget { state, holders } => {
                vec![("state", Field::Text(state)), ("holders", n((*holders).into()))]
            }
            Event::SpendingLimit { message, reset_at } => {
                let mut f = vec![("message", Field::Owned(message.clone()))];
                if let Some(at) = reset_at {
                    f.push(("resetAt", Field::Owned(at.clone())));
                }
                f
            }
        }
    }
}
