//! The server's rate-limit headers, as hostile as a reply can make them, read by
//! `parse_headers` and applied to a limiter between reservations and settlements.
//!
//! Invariants, checked after every step:
//! - a report accounts for no more headers than the rate-limit headers it was given
//!   (each is ignored, sets one field, or sets the query cost);
//! - `observe_server` ignores no more limits than the report holds;
//! - the status shows at most the two configured lanes plus `MAX_LEARNED`;
//! - the configured lanes are always shown, never above what was configured, and
//!   never at 0 (a zero from a header pauses a lane, it is never learned);
//! - a header number past `feedback::MOST` is never believed, and a learned lane
//!   shows a limit a reply named;
//! - no lane shows a limit of 0, an `available` above its limit, or a window
//!   outside 1 s ..= 31 days.
//!
//! The input is a script: each byte picks a step (a report built from a dictionary of
//! header names, a report read from raw `name: value` lines, a reservation, a
//! settlement, a poll, a tick), and the bytes after it fill the step in.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use mistral_ratelimit::feedback::MOST;
use mistral_ratelimit::{
    parse_headers, Demand, Instant, LaneSpec, Limiter, LimiterConfig, Reservation, ServerReport, Ticket, WaitState,
    Waiter, MAX_LEARNED, MONTH,
};

const PREFIXES: &[&str] = &[
    "x-ratelimit-limit-",
    "x-ratelimit-remaining-",
    "X-RateLimit-Limit-",
    "x-ratelimitbysize-limit-",
    "x-ratelimitbysize-remaining-",
    "x-ratelimit-",
    "x-ratelimit",
    "",
];
const UNITS: &[&str] = &["req-", "tokens-", "Req-", "TOKENS-", "", "widgets-", "req", "tokens"];
const WINDOWS: &[&str] = &[
    "second",
    "minute",
    "60-second",
    "5-minute",
    "month",
    "4294967295-month",
    "0-second",
    "1-second",
    "10-second",
    "31-day",
    "32-day",
    "2-month",
    "744-hour",
    "745-hour",
    "2678400s",
    "2678401s",
    "18446744073709551615-second",
    "99999999999999999999-second",
    "1s",
    "5minutes",
    " minute ",
    "hours",
    "d",
    "fortnight",
    "",
    "-second",
    "--second",
];
const VALUES: &[&str] = &[
    "0",
    "1",
    "5",
    "10000",
    "9999",
    "1000000",
    "18446744073709551615",
    "18446744073709551616",
    "-1",
    "-0",
    "+5",
    " 7 ",
    "1e5",
    "NaN",
    "",
    "abc",
    "00000000000000000000000000003",
    "4294967296",
];
const WHOLE: &[&str] =
    &["x-ratelimit-tokens-query-cost", "ratelimitbysize-query-cost", "content-type", "retry-after", "x-request-id"];
const MODELS: &[Option<&str>] = &[None, Some("mistral-small-latest"), Some("mistral-large-latest"), Some("")];

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> Option<T> {
        Some(from[self.byte()? as usize % from.len()])
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }

    /// Up to `max` raw bytes, as (lossy) text.
    fn text(&mut self, max: usize) -> Option<String> {
        let n = (self.byte()? as usize % (max + 1)).min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(String::from_utf8_lossy(head).into_owned())
    }
}

/// A header name: mostly from the dictionary, sometimes with raw bytes spliced in.
fn name(b: &mut Bytes) -> Option<String> {
    let shape = b.byte()?;
    Some(match shape % 8 {
        0 => b.pick(WHOLE)?.to_owned(),
        1 => format!("{}{}{}", b.pick(PREFIXES)?, b.pick(UNITS)?, b.text(12)?),
        2 => format!("{}{}", b.pick(PREFIXES)?, b.text(24)?),
        3 => b.text(40)?,
        _ => format!("{}{}{}", b.pick(PREFIXES)?, b.pick(UNITS)?, b.pick(WINDOWS)?),
    })
}

fn value(b: &mut Bytes) -> Option<String> {
    let shape = b.byte()?;
    Some(match shape % 4 {
        0 => b.text(24)?,
        1 => u64::from(b.u16()?).to_string(),
        _ => b.pick(VALUES)?.to_owned(),
    })
}

/// Whether `parse_headers` may count this header (ignored, a limit field, or a cost).
fn is_rate_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("x-ratelimit") || name == "ratelimitbysize-query-cost"
}

fn check_report(pairs: &[(String, String)], report: &ServerReport) {
    let given = pairs.iter().filter(|(n, _)| is_rate_header(n)).count();
    let fields: usize = report.limits.iter().map(|l| l.limit.is_some() as usize + l.remaining.is_some() as usize).sum();
    let accounted = report.ignored as usize + fields + report.query_cost.is_some() as usize;
    assert!(
        accounted <= given,
        "report accounts for {accounted} headers ({} ignored, {fields} fields, cost {:?}) of {given} given: {pairs:?} -> {report:?}",
        report.ignored,
        report.query_cost
    );
    assert!(report.limits.len() <= given);
    assert!(report.query_cost.is_none_or(|c| c <= MOST), "{report:?}");
    for l in &report.limits {
        assert!(l.limit.is_some() || l.remaining.is_some(), "an empty limit: {report:?}");
        assert!(l.limit.max(l.remaining).unwrap() <= MOST, "a number past 10^15 believed: {report:?}");
        assert!(
            (Duration::from_secs(1)..=MONTH).contains(&l.window),
            "window {:?} parsed from {pairs:?}",
            l.window
        );
    }
}

fn check_status(limiter: &Limiter, now: Instant, configured: &[LaneSpec]) {
    let status = limiter.status(now);
    assert!(
        status.lanes.len() <= configured.len() + MAX_LEARNED,
        "{} lanes shown: {:#?}",
        status.lanes.len(),
        status.lanes
    );
    for lane in &status.lanes {
        assert!(
            (Duration::from_secs(1)..=MONTH).contains(&lane.window),
            "lane window out of range: {lane:?}"
        );
        assert!(lane.limit > 0, "a lane learned or left at 0: {lane:?}");
        assert!(lane.available <= lane.limit, "more available than the limit: {lane:?}");
        match lane.configured {
            Some(c) => assert!(lane.limit <= c, "limit above configured: {lane:?}"),
            // A learned lane shows a limit a reply named, never the "unbound" marker.
            None => assert!(lane.limit <= MOST, "a learned lane without a named limit: {lane:?}"),
        }
    }
    for spec in configured {
        let shown = status
            .lanes
            .iter()
            .find(|l| l.model.is_none() && l.configured.is_some() && l.unit == spec.unit && l.window == spec.window);
        let lane = shown.unwrap_or_else(|| panic!("configured lane {spec:?} missing from {:#?}", status.lanes));
        assert_eq!(lane.configured, Some(spec.capacity), "{lane:?}");
    }
}

/// `FUZZ_TRACE=1 cargo fuzz run headers <file>` prints each step, to read a finding.
fn trace() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

fn run(data: &[u8]) -> Option<()> {
    let configured = [LaneSpec::requests_per_second(5), LaneSpec::tokens_per_minute(10_000)];
    let limiter = Limiter::new(LimiterConfig { lanes: configured.to_vec(), ..Default::default() });
    let mut now = Instant::ZERO;
    let mut tickets: Vec<Ticket> = Vec::new();
    let mut waiters: Vec<Waiter> = Vec::new();
    let mut b = Bytes(data);
    let mut steps = 0;
    while steps < 64 {
        steps += 1;
        let op = b.byte()?;
        // Time moves on by an amount on one of several scales.
        let step = u64::from(op >> 4);
        now = now
            + match op & 0x3 {
                0 => Duration::ZERO,
                1 => Duration::from_millis(step * 37),
                2 => Duration::from_secs(step * 7),
                _ => Duration::from_secs(step * 3600 * 13),
            };
        match (op >> 2) & 0x3 {
            // A reply's headers.
            0 | 1 => {
                let count = b.byte()? % 12;
                let mut pairs = Vec::new();
                if op & 0x4 == 0 {
                    for _ in 0..count {
                        pairs.push((name(&mut b)?, value(&mut b)?));
                    }
                } else {
                    // Raw lines, split the way a careless proxy might: `name: value`.
                    let raw = b.text(200)?;
                    for line in raw.split('\n') {
                        let (n, v) = line.split_once(':').unwrap_or((line, ""));
                        pairs.push((n.to_owned(), v.to_owned()));
                    }
                }
                let report = parse_headers(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
                check_report(&pairs, &report);
                let model = b.pick(MODELS)?;
                if trace() {
                    eprintln!("{now:?} observe {model:?} {pairs:?}\n  -> {report:?}");
                }
                let ignored = limiter.observe_server(&report, model, now);
                assert!(ignored as usize <= report.limits.len(), "{ignored} ignored of {report:?}");
            }
            // A reservation.
            2 => {
                let tokens = u64::from(b.u16()?) % 4096;
                let mut demand = Demand::tokens(tokens);
                if let Some(m) = b.pick(MODELS)? {
                    demand = demand.model(m);
                }
                if trace() {
                    eprintln!("{now:?} reserve {demand:?}");
                }
                match limiter.reserve(demand, now) {
                    Ok(Reservation::Ready(t)) => tickets.push(t),
                    Ok(Reservation::Queued(w)) => {
                        assert!(w.predicted() >= now, "predicted in the past");
                        waiters.push(w)
                    }
                    Err(_) => {}
                }
            }
            // Settle, cancel or drop a ticket; poll the waiters; tick.
            _ => {
                let what = b.byte()?;
                if !tickets.is_empty() {
                    let t = tickets.remove(what as usize % tickets.len());
                    if trace() {
                        eprintln!("{now:?} end ticket {} ({})", t.estimate(), ["settle", "settle_usage", "cancel", "drop"][what as usize % 4]);
                    }
                    match what % 4 {
                        0 => drop(t.settle(u64::from(b.u16()?), now)),
                        1 => drop(t.settle_usage(u64::from(b.byte()?) * 8, u64::from(b.byte()?) * 8, now)),
                        2 => t.cancel(),
                        _ => drop(t),
                    }
                }
                if let Some(wake) = limiter.next_wake() {
                    if what & 0x10 != 0 && wake > now {
                        now = wake;
                    }
                }
                limiter.tick(now);
                for w in std::mem::take(&mut waiters) {
                    match w.poll(now) {
                        WaitState::Ready(t) => tickets.push(t),
                        WaitState::Waiting { waiter, until } => {
                            if let Some(u) = until {
                                assert!(u >= now, "a wake in the past");
                            }
                            waiters.push(waiter)
                        }
                        WaitState::Rejected(_) => {}
                    }
                }
            }
        }
        if trace() {
            eprintln!("  status {:?}", limiter.status(now).lanes);
        }
        check_status(&limiter, now, &configured);
    }
    Some(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(data);
});
