//! The timeline and the summary the simulator prints.

use std::time::Duration;

use mistral_ratelimit::{Instant, LaneSpec, LaneStatus, LimitSource, Unit};

use crate::sim::Sim;

fn bar(fraction: f64, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

fn lane(lanes: &[LaneStatus], unit: Unit, window: Duration) -> Option<&LaneStatus> {
    lanes.iter().find(|l| l.unit == unit && l.window == window && l.model.is_none())
}

pub fn timeline(sim: &Sim) {
    let rows = sim.samples.len();
    let every = rows.div_ceil(60).max(1);
    println!("\n  time  sent  429  queue  flight  requests/1s          tokens/60s");
    let (mut sent, mut limited) = (0, 0);
    for (n, s) in sim.samples.iter().enumerate() {
        // Rows stand for `every` seconds: counts are summed, levels are as at the end.
        sent += s.sent;
        limited += s.rate_limited;
        if n % every != every - 1 && n != rows - 1 {
            continue;
        }
        let lanes = &s.status.lanes;
        let req = lane(lanes, Unit::Requests, Duration::from_secs(1))
            .or_else(|| lanes.iter().find(|l| l.unit == Unit::Requests));
        let tok = lane(lanes, Unit::Tokens, Duration::from_secs(60));
        let req = req.map_or(String::new(), |l| format!("{} {}/{}", bar(l.percent() / 100.0, 8), l.used, l.limit));
        let tok = tok.map_or(String::new(), |l| format!("{} {:>3.0}%", bar(l.percent() / 100.0, 10), l.percent()));
        println!(
            "{:>5.0}s {:>5} {:>4} {:>6} {:>7}  {:<20} {}",
            s.at.as_micros() as f64 / 1e6,
            std::mem::take(&mut sent),
            std::mem::take(&mut limited),
            s.status.queued,
            s.status.in_flight,
            req,
            tok
        );
    }
}

/// The limits 429s lowered and probes raised, when.
pub fn limit_changes(sim: &Sim) {
    if sim.limits.is_empty() {
        return;
    }
    println!("\n  limits no header stated");
    for (at, c) in &sim.limits {
        let secs = at.as_micros() as f64 / 1e6;
        println!("{secs:>7.1}s  {:<13} {:>8} of {} configured  ({})", c.lane, c.limit, c.configured, c.cause.as_str());
    }
}

/// The makespan of an oracle that knows every request's true cost and latency and
/// sends each, in arrival order, at the earliest instant the limits allow (both
/// windows counted by dispatch, no margin). What the limiter achieves is measured
/// against this.
fn ideal(sim: &Sim) -> Duration {
    let o = &sim.opts;
    let req = LaneSpec::request_rate(o.rps.min(o.server_rps as f64)).expect("validated rates are positive");
    let tok = LaneSpec::tokens_per_minute(o.tpm.min(o.server_tpm));
    let mut sent: Vec<(Instant, u64)> = Vec::new();
    let mut end = Instant::ZERO;
    let transit = o.latency.0 + o.latency.1;
    for r in sim.requests.iter().filter(|r| r.done.is_some()) {
        let cost = r.prompt + r.completion;
        let mut t = r.arrives;
        // Move t past whichever window is full until both have room.
        loop {
            let in_window = |w: Duration| sent.iter().filter(move |(s, _)| *s + w > t);
            let reqs = in_window(req.window).count() as u64;
            let toks: u64 = in_window(tok.window).map(|(_, c)| c).sum();
            if reqs < req.capacity && toks + cost <= tok.capacity {
                break;
            }
            let blocked = if reqs >= req.capacity { req.window } else { tok.window };
            t = in_window(blocked).map(|(s, _)| *s + blocked).min().expect("a full window has entries");
        }
        sent.push((t, cost));
        let service =
            Duration::from_millis(150) + Duration::from_secs_f64(r.completion as f64 / o.tokens_per_second as f64);
        end = end.max(t + transit + service);
    }
    end - Instant::ZERO
}

fn makespan(sim: &Sim) -> Duration {
    sim.requests.iter().filter_map(|r| r.done).max().unwrap_or_default() - Instant::ZERO
}

/// The oracle's makespan over ours: 1 when the limits were used to the full.
pub fn budget_use(sim: &Sim) -> f64 {
    let makespan = makespan(sim);
    if makespan.is_zero() {
        1.0
    } else {
        ideal(sim).as_secs_f64() / makespan.as_secs_f64()
    }
}

pub fn summary(sim: &Sim) {
    let o = &sim.opts;
    let done = sim.requests.iter().filter(|r| r.done.is_some()).count();
    let failed: Vec<_> = sim.requests.iter().filter_map(|r| r.failed.as_deref()).collect();
    let end = Instant::ZERO + makespan(sim);
    let makespan = makespan(sim);
    let ideal = ideal(sim);
    let (busiest_req, busiest_tok) = sim.server.busiest_windows();
    let status = sim.state.limiter().status(end);
    let c = &status.counters;
    println!("\nsummary");
    println!("  completed          {done} of {} ({} failed)", sim.requests.len(), failed.len());
    for f in failed.iter().take(3) {
        println!("    failure: {f}");
    }
    if o.server_changes.is_empty() {
        println!(
            "  makespan           {:.1} s   (an oracle that knows every cost: {:.1} s; budget use {:.0}%)",
            makespan.as_secs_f64(),
            ideal.as_secs_f64(),
            budget_use(sim) * 100.0
        );
    } else {
        println!("  makespan           {:.1} s   (the server's limits changed: no oracle)", makespan.as_secs_f64());
    }
    println!("  429s               {}   (retries {})", sim.server.rejected(), sim.retries());
    println!("  busiest 1 s        {busiest_req} requests   (server limit {})", o.server_rps);
    println!("  busiest 60 s       {busiest_tok} tokens   (server limit {})", o.server_tpm);
    for l in &status.lanes {
        let learned = match (l.configured, l.source) {
            (Some(c), _) if c == l.limit => String::new(),
            (Some(c), LimitSource::RateLimits) => format!(" (configured {c}, lowered by 429s)"),
            (Some(c), _) => format!(" (configured {c}, learned from the server)"),
            (None, _) => " (a window the server named)".to_owned(),
        };
        println!("  lane {:<13} limit {}{learned}", l.name, l.limit);
    }
    println!(
        "  tokens             refunded {}, debt {}, held for other clients {}",
        c.refunded_tokens, c.debt_tokens, c.tightened
    );
    println!("  arrival margin     {} ms", status.margin.as_millis());
}
