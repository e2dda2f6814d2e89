//! What the mock saw, for `GET /__mock/stats`: the evidence a client test checks.

use std::collections::BTreeMap;
use std::time::Duration;

use mistral_ratelimit::busiest;
use mistral_ratelimit::Instant;
use serde_json::{json, Value};

use super::in_flight::InFlight;

#[derive(Debug, Default)]
pub struct Stats {
    /// "METHOD /path" → status → count.
    by_route: BTreeMap<String, BTreeMap<u16, u64>>,
    /// Every /v1 arrival, and those the limits admitted.
    arrivals: Vec<Instant>,
    admitted: Vec<Instant>,
    /// Tokens charged, prompt on admission and completion as produced.
    tokens: Vec<(Instant, u64)>,
    rate_limited: u64,
    /// Admitted requests whose replies are not yet wholly sent.
    in_flight: InFlight,
}

impl Stats {
    pub fn arrived(&mut self, now: Instant) {
        self.arrivals.push(now);
    }

    pub fn admitted(&mut self, now: Instant) {
        self.admitted.push(now);
        self.in_flight.enter(now);
    }

    /// An admitted request's reply was wholly sent, or abandoned.
    pub fn released(&mut self, now: Instant) {
        self.in_flight.leave(now);
    }

    pub fn charged(&mut self, now: Instant, tokens: u64) {
        self.tokens.push((now, tokens));
    }

    pub fn rate_limited(&mut self) {
        self.rate_limited += 1;
    }

    pub fn answered(&mut self, route: String, status: u16) {
        *self.by_route.entry(route).or_default().entry(status).or_default() += 1;
    }

    /// Requests refused by a limit.
    pub fn refused(&self) -> u64 {
        self.rate_limited
    }

    /// The most requests admitted in any second and tokens charged in any minute,
    /// counting only what came from `start` on.
    pub fn busiest_from(&self, start: Instant) -> (u64, u64) {
        let admitted: Vec<_> = self.admitted.iter().filter(|t| **t >= start).map(|t| (*t, 1)).collect();
        let tokens: Vec<_> = self.tokens.iter().filter(|(t, _)| *t >= start).copied().collect();
        (busiest(&admitted, Duration::from_secs(1)), busiest(&tokens, Duration::from_secs(60)))
    }

    pub fn to_json(&self, now: Instant) -> Value {
        let ones = |v: &[Instant]| v.iter().map(|t| (*t, 1)).collect::<Vec<_>>();
        let second = Duration::from_secs(1);
        let minute = Duration::from_secs(60);
        json!({
            "requests": self.arrivals.len(),
            "by_route": self.by_route,
            "rate_limited": self.rate_limited,
            "tokens_charged": self.tokens.iter().map(|(_, n)| n).sum::<u64>(),
            "busiest_1s_requests": busiest(&ones(&self.arrivals), second),
            "busiest_1s_admitted": busiest(&ones(&self.admitted), second),
            "busiest_60s_tokens": busiest(&self.tokens, minute),
            "busiest_in_flight": self.in_flight.busiest(),
            "in_flight_ms": self.in_flight.millis(now),
        })
    }
}
