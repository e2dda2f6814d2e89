//! What `client.status()` and `client.metrics()` show, built from the client's
//! state and shaped as JS reads them: camelCase names, every figure a JS number
//! (a wait with no end `Infinity`), and `null` for what is not known. The edge
//! only converts them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::metrics::Samples;
use super::model_metrics::ModelMetrics;
use super::state::ClientState;
use crate::budget::BudgetView;
use crate::limiter::{InFlightStatus, LaneStatus, Status};
use crate::time::Instant;

/// Milliseconds as JS reads them; no end is `Infinity`.
fn ms(d: Duration) -> f64 {
    if d == Duration::MAX {
        f64::INFINITY
    } else {
        d.as_secs_f64() * 1000.0
    }
}

/// A count as a JS number.
fn n(v: u64) -> f64 {
    v as f64
}

/// `client.status()`: lanes, queue, the server's last word, a shared budget's
/// lease, and counters.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusView {
    lanes: Vec<LaneView>,
    in_flight: f64,
    in_flight_limit: Option<InFlightView>,
    queued: f64,
    closed_for_ms: f64,
    margin_ms: f64,
    server: ServerView,
    budget: Option<BudgetView>,
    counters: CountersView,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LaneView {
    name: String,
    model: Option<String>,
    unit: &'static str,
    window_ms: f64,
    limit: f64,
    configured: Option<f64>,
    source: &'static str,
    share: Option<f64>,
    used: f64,
    percent: f64,
    available: f64,
    next_available_ms: f64,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InFlightView {
    limit: f64,
    configured: Option<f64>,
    source: &'static str,
    share: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ServerView {
    limits: Vec<StatedView>,
    ignored: f64,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StatedView {
    unit: &'static str,
    window_ms: f64,
    limit: Option<f64>,
    remaining: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CountersView {
    requests: f64,
    retries: f64,
    rate_limited: f64,
    tokens_in: f64,
    tokens_out: f64,
    refunded: f64,
    debt: f64,
    ttft_p50_ms: Option<f64>,
    ttft_p95_ms: Option<f64>,
}

impl LaneView {
    fn of(l: &LaneStatus) -> LaneView {
        LaneView {
            name: l.name.clone(),
            model: l.model.clone(),
            unit: l.unit.as_str(),
            window_ms: ms(l.window),
            limit: n(l.limit),
            configured: l.configured.map(n),
            source: l.source.as_str(),
            share: l.share.map(n),
            used: n(l.used),
            percent: l.percent(),
            available: n(l.available),
            next_available_ms: ms(l.next_available),
        }
    }
}

impl InFlightView {
    fn of(c: &InFlightStatus) -> InFlightView {
        InFlightView {
            limit: n(c.limit),
            configured: c.configured.map(n),
            source: c.source.as_str(),
            share: c.share.map(n),
        }
    }
}

impl StatusView {
    /// The client's status at `now`, with its shared budget's lease if it has one.
    pub fn of(state: &ClientState, budget: Option<BudgetView>, now: Instant) -> StatusView {
        let s: Status = state.limiter().status(now);
        let limits = state
            .last_report()
            .limits
            .iter()
            .map(|l| StatedView {
                unit: l.unit.as_str(),
                window_ms: ms(l.window),
                limit: l.limit.map(n),
                remaining: l.remaining.map(n),
            })
            .collect();
        let st = state.stats();
        StatusView {
            lanes: s.lanes.iter().map(LaneView::of).collect(),
            in_flight: s.in_flight as f64,
            in_flight_limit: s.in_flight_limit.as_ref().map(InFlightView::of),
            queued: s.queued as f64,
            closed_for_ms: ms(s.closed_for),
            margin_ms: ms(s.margin),
            server: ServerView { limits, ignored: n(state.ignored()) },
            budget,
            counters: CountersView {
                requests: n(st.requests),
                retries: n(st.retries),
                rate_limited: n(st.rate_limited),
                tokens_in: n(st.tokens_in),
                tokens_out: n(st.tokens_out),
                refunded: n(s.counters.refunded_tokens),
                debt: n(s.counters.debt_tokens),
                ttft_p50_ms: st.ttft_percentile(50.0),
                ttft_p95_ms: st.ttft_percentile(95.0),
            },
        }
    }
}

/// `client.metrics()`: per model and overall, calls, errors by class, requests
/// and 429s, retries, fallbacks, tokens, calls by service tier, and latency, time
/// to first token and queue wait (p50, p95).
#[derive(Clone, Debug, Serialize)]
pub struct MetricsView {
    overall: Figures,
    models: BTreeMap<String, Figures>,
}

/// One set of figures: the sums and merged percentiles of some models' metrics.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Figures {
    calls: f64,
    errors: BTreeMap<&'static str, f64>,
    requests: f64,
    rate_limited: f64,
    rate_limited_share: f64,
    retries: f64,
    fallbacks: f64,
    tokens_in: f64,
    tokens_cached: f64,
    tokens_out: f64,
    tiers: Tiers,
    latency_ms: Timing,
    ttft_ms: Timing,
    queue_wait_ms: Timing,
}

#[derive(Clone, Debug, Serialize)]
struct Tiers {
    priority: f64,
    standard: f64,
}

#[derive(Clone, Debug, Serialize)]
struct Timing {
    p50: Option<f64>,
    p95: Option<f64>,
}

impl Figures {
    fn of(of: &[&ModelMetrics]) -> Figures {
        let sum = |f: fn(&ModelMetrics) -> u64| n(of.iter().map(|m| f(m)).sum::<u64>());
        let mut errors = BTreeMap::<&'static str, f64>::new();
        for (name, count) in of.iter().flat_map(|m| m.errors.iter()) {
            *errors.entry(name).or_default() += n(*count);
        }
        let timing = |f: fn(&ModelMetrics) -> &Samples| {
            let p = |q: f64| Samples::percentile(of.iter().map(|m| f(m)), q);
            Timing { p50: p(50.0), p95: p(95.0) }
        };
        let (requests, refused) = (sum(|m| m.requests), sum(|m| m.rate_limited));
        Figures {
            calls: sum(|m| m.calls),
            errors,
            requests,
            rate_limited: refused,
            rate_limited_share: if requests == 0.0 { 0.0 } else { refused / requests },
            retries: sum(|m| m.retries),
            fallbacks: sum(|m| m.fallbacks),
            tokens_in: sum(|m| m.tokens_in),
            tokens_cached: sum(|m| m.tokens_cached),
            tokens_out: sum(|m| m.tokens_out),
            tiers: Tiers { priority: sum(|m| m.priority_calls), standard: sum(|m| m.standard_calls) },
            latency_ms: timing(|m| &m.latency_ms),
            ttft_ms: timing(|m| &m.ttft_ms),
            queue_wait_ms: timing(|m| &m.queue_wait_ms),
        }
    }
}

impl MetricsView {
    /// The client's metrics as they stand.
    pub fn of(state: &ClientState) -> MetricsView {
        let by_model = state.metrics().by_model();
        let all: Vec<&ModelMetrics> = by_model.values().collect();
        MetricsView {
            overall: Figures::of(&all),
            models: by_model.iter().map(|(model, m)| (model.to_string(), Figures::of(&[m]))).collect(),
        }
    }
}
