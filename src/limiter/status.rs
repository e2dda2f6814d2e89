//! A snapshot of the limiter for `client.status()`, logs and the simulator.

use std::time::Duration;

use super::lane::Unit;

/// Running totals since the limiter was made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Reservations admitted, at once or after waiting.
    pub admitted: u64,
    /// Reservations that had to wait.
    pub queued: u64,
    /// Reservations refused (too large, deadline) or dropped when their deadline passed.
    pub rejected: u64,
    /// Tickets settled with a real cost.
    pub settled: u64,
    /// Tickets and waiters cancelled before the request left.
    pub cancelled: u64,
    /// Tickets dropped without a settlement (their estimate was kept).
    pub abandoned: u64,
    /// Tokens given back because a request used less than its estimate.
    pub refunded_tokens: u64,
    /// Tokens a request used beyond its estimate.
    pub debt_tokens: u64,
    /// Tokens held because the server reported less remaining than the limiter knew of.
    pub tightened: u64,
    /// 429 responses reported to the limiter.
    pub rate_limited: u64,
}

/// Where a lane's limit comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitSource {
    /// The configuration: no reply has said otherwise.
    Configured,
    /// A reply's `x-ratelimit-limit-*` header.
    Header,
    /// Inferred from 429s, with no header stating it (and probing back up).
    RateLimits,
}

impl LimitSource {
    /// The name JS sees.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitSource::Configured => "configured",
            LimitSource::Header => "header",
            LimitSource::RateLimits => "429",
        }
    }
}

/// One lane as it stands.
#[derive(Clone, Debug, PartialEq)]
pub struct LaneStatus {
    /// `requests/1s`, `tokens/60s`, ...
    pub name: String,
    /// The model the lane belongs to; `None` for workspace lanes.
    pub model: Option<String>,
    /// What it counts.
    pub unit: Unit,
    /// Its window.
    pub window: Duration,
    /// The capacity enforced now (the configured one, or lower if the server said so).
    pub limit: u64,
    /// The capacity configured; `None` for a lane the server named.
    pub configured: Option<u64>,
    /// Where `limit` comes from.
    pub source: LimitSource,
    /// This client's share of a budget shared with others, when it has one.
    pub share: Option<u64>,
    /// Held in the current window, in flight or settled.
    pub used: u64,
    /// What could be admitted now.
    pub available: u64,
    /// How long until at least one unit is free (zero when some is free now).
    pub next_available: Duration,
}

impl LaneStatus {
    /// `used` as a percentage of `limit`.
    pub fn percent(&self) -> f64 {
        if self.limit == 0 {
            100.0
        } else {
            self.used as f64 * 100.0 / self.limit as f64
        }
    }
}

/// The limit on requests in flight as it stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InFlightStatus {
    /// The cap enforced now.
    pub limit: u64,
    /// The cap configured; `None` for one learned from 429s alone.
    pub configured: Option<u64>,
    /// Where `limit` comes from.
    pub source: LimitSource,
    /// This client's share of it, when a budget shares it among clients.
    pub share: Option<u64>,
}

/// The whole limiter at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Status {
    /// Workspace lanes first, then per-model lanes.
    pub lanes: Vec<LaneStatus>,
    /// Admitted and not yet settled.
    pub in_flight: usize,
    /// The limit on `in_flight`, if there is one.
    pub in_flight_limit: Option<InFlightStatus>,
    /// Waiting for admission.
    pub queued: usize,
    /// How long admissions stay closed after a 429 (zero when open).
    pub closed_for: Duration,
    /// The arrival margin each cost is held for beyond its window.
    pub margin: Duration,
    /// Running totals.
    pub counters: Counters,
}
