//! A limit no header states, learned from 429s.
//!
//! A 429 the books did not predict means the server counted more than its limit
//! in some window. The evidence is what this client sent in that window: the
//! server accepted those, then refused. The verdict waits until the requests sent
//! around the refused one are answered (a 429 comes back at once, so one still
//! unanswered after twice the refusal's round trip was accepted): in a burst, the
//! first 429 back cannot yet know how many others were refused.
//!
//! For each lane the refused request was charged to, its *load* is the requests
//! the server may have counted when it refused (see [`Around`]; for tokens, what
//! the books hold), plus its own cost. A limit a reply stated is known, so it
//! explains the 429 only when the books hold more than it. Of the others, the
//! lane with the highest load for its capacity is the one that bit, unless that
//! load is under [`NEGLIGIBLE`] of it:
//! - under its capacity: the configured limit is too high, and what was accepted
//!   bounds the real one. The lane drops to it at once, never below one request's
//!   cost. The bound comes from above (some of what was counted may have arrived
//!   after the refusal), so later 429s lower it further, never too far;
//! - at its capacity: either arrivals bunched in transit, or the limit is lower.
//!   Such 429s within one window widen the margin once (one stall bunches many
//!   arrivals), as bunching is the likelier;
//!   one in a later window, within a few, drops the lane by what was refused in
//!   the last window under the limit it has now (a tenth, on a token lane), by
//!   half at most. A probe puts it back if that was wrong.
//!
//! A refusal of a request sent before the lane's limit last changed says nothing
//! of the limit since, and is not judged.
//!
//! Only lanes whose limit no reply has stated are inferred (a stated limit is the
//! server's word), and not month lanes, whose 429s are a quota.
//!
//! A lowered lane probes back up: after [`FIRST_QUIET`] windows (twice that when
//! the start's rise found the limit: it tried the level above a moment ago) with
//! no 429 in which it filled at least once (a raise no demand tests proves nothing), it
//! rises one step (a tenth, at least one unit) towards the configured limit. A
//! 429 at the raised level drops it back at once (no need to wait for the others
//! to be answered) and doubles the quiet time, so a failed step costs what it
//! let through (one 429 for a step of one), ever more rarely; a drop below a
//! level that held waits only the first quiet time to step back to it. A step that holds
//! makes the next come after the first quiet time again, so a raise of the
//! server's own is climbed step by step. It stops at the configured limit.
//!
//! A client that has just started spends half of each configured limit that no
//! reply has stated, then rises to the whole ([`Start`]): from its first request
//! on, one unit at a time, each twice the arrival margin after the last (there
//! and back, each a connection set-up's time, or more while the event loop lags:
//! the only round trip known before a reply, so that a 429 for a unit too many
//! comes back before the next unit goes); from the first reply on,
//! over a quarter of a window, or in steps paced by that reply's round trip when
//! replies are slow. The first 429 stops the rise at what the server counted
//! ahead of the refused request (those that left in the window before it and
//! were not refused); 429s read after it, of requests that left while it rose,
//! lower it to what they show, as a busy event loop reads refusals late and out
//! of order. A limit twice too high then costs the few units that left before
//! the first 429 was read, not a window's excess at once; one that is right
//! costs a few units of the first window's budget, not the half of it that a
//! slow first reply would hold back.

use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Duration;

use super::lane::{Lane, Probe};
use super::start::Start;
use crate::time::Instant;

/// Windows of quiet before the first step up.
const FIRST_QUIET: u32 = 8;
/// The longest quiet, in windows, after steps that failed.
const MOST_QUIET: u32 = 32;
/// Windows within which 429s with the lane full in a second window say its limit
/// is lower.
const STRIKE_WINDOWS: u32 = 4;
/// A lane that held less than this share of its limit did not cause a 429.
pub(crate) const NEGLIGIBLE: f64 = 1.0 / 16.0;
/// How far back departures are kept: request lanes with longer windows are not
/// inferred (their limits come in headers, `x-ratelimit-limit-req-minute`).
pub(crate) const EVIDENCE: Duration = Duration::from_secs(10);

/// Why a lane's limit changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitCause {
    /// A 429 with the lane under its limit by the books: lowered to what it held.
    RateLimited,
    /// Quiet for long enough: raised a step towards the configured limit.
    Probe,
    /// A 429 at a level it had just stepped up to: back to the last good one.
    ProbeFailed,
}

impl LimitCause {
    /// The name JS sees.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitCause::RateLimited => "429",
            LimitCause::Probe => "probe",
            LimitCause::ProbeFailed => "probe-failed",
        }
    }
}

/// A lane's limit changed without a header saying so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitChange {
    /// The lane's name, e.g. `requests/1s`.
    pub lane: String,
    /// Its model; `None` for a workspace lane.
    pub model: Option<String>,
    /// The limit now enforced.
    pub limit: u64,
    /// The limit configured.
    pub configured: u64,
    /// Why.
    pub cause: LimitCause,
}

impl Lane {
    /// Whether a 429 may lower this lane: configured, not stated by the server,
    /// not a quota.
    pub(crate) fn inferable(&self) -> bool {
        self.configured != super::lane::UNCONFIGURED && !self.stated && self.spec.window < crate::units::LONG
    }

    /// A 429 showed the limit to be at most `limit`. At a level a step had just
    /// raised it to, the step failed: back to the last good level (or `limit`,
    /// if lower), and twice the quiet before the next. Otherwise it drops to
    /// `limit`. Returns what changed it, if anything did.
    pub(crate) fn after_429(&mut self, limit: u64, now: Instant) -> Option<LimitCause> {
        let (target, quiet, cause) = match self.probe {
            Some(p) if p.stepped => (p.good.min(limit), (p.quiet * 2).min(MOST_QUIET), LimitCause::ProbeFailed),
            // Below a level that held, the step back up is to a level known to
            // pass: it need not wait out the quiet that failed steps above it
            // earned.
            Some(p) if limit < p.good => (limit, FIRST_QUIET, LimitCause::RateLimited),
            Some(p) => (limit, p.quiet, LimitCause::RateLimited),
            None => (limit, FIRST_QUIET, LimitCause::RateLimited),
        };
        if target >= self.spec.capacity {
            return None;
        }
        self.spec.capacity = target;
        self.changed = now;
        self.start = Start::Full;
        self.probe = Some(Probe { good: target, quiet, since: now, filled: false, stepped: false });
        Some(cause)
    }

    /// A 429 for a request that left as the start rose past the limit: as
    /// [`Lane::after_429`], but the level above was tried a moment ago, so the
    /// first probe waits twice the quiet (in a short run, a probe that fails is
    /// most of what learning costs).
    pub(crate) fn after_rise_429(&mut self, limit: u64, now: Instant) -> Option<LimitCause> {
        let at = match self.start {
            Start::Found { at } => at,
            _ => now,
        };
        let cause = self.after_429(limit, now)?;
        self.start = Start::Found { at };
        if let Some(p) = self.probe.as_mut().filter(|p| !p.stepped) {
            p.quiet = p.quiet.max(FIRST_QUIET * 2);
        }
        Some(cause)
    }

    /// Notes that the lane is (nearly) full: demand tests its limit.
    pub(crate) fn note_fill(&mut self) {
        let (held, capacity) = (self.held(), self.spec.capacity);
        if let Some(p) = &mut self.probe {
            p.filled |= held.saturating_mul(10) >= capacity.saturating_mul(9);
        }
    }

    /// Steps up if it has been quiet and full long enough; returns whether it did.
    pub(crate) fn probe_due(&mut self, now: Instant) -> bool {
        let Some(p) = &mut self.probe else { return false };
        if !p.filled || now - p.since < self.spec.window * p.quiet {
            return false;
        }
        if self.spec.capacity >= self.configured {
            // The configured limit held for a quiet spell: probing is over.
            self.probe = None;
            return false;
        }
        if p.stepped {
            // The last step held: the server's limit may have risen, so climb on.
            p.quiet = FIRST_QUIET;
        }
        p.good = self.spec.capacity;
        p.since = now;
        p.filled = false;
        p.stepped = true;
        self.spec.capacity = self.spec.capacity.saturating_add(step(self.spec.capacity)).min(self.configured);
        self.changed = now;
        true
    }

    /// A 429 found the lane full: whether it is of the first window of such 429s
    /// in a few (arrivals bunched, most likely: a late batch, a busy event loop)
    /// rather than of a later one (the limit is lower).
    pub(crate) fn first_strike(&mut self, now: Instant) -> bool {
        match self.strike {
            Some(t) if now - t <= self.spec.window => true,
            Some(t) if now - t <= self.spec.window * STRIKE_WINDOWS => {
                self.strike = None;
                false
            }
            _ => {
                self.strike = Some(now);
                true
            }
        }
    }

    /// Whether its limit now is a step up that no 429 has yet answered.
    pub(crate) fn is_stepped(&self) -> bool {
        self.probe.is_some_and(|p| p.stepped)
    }

    /// Whether the limit is lowered by 429s (and probing back up).
    pub(crate) fn is_inferred(&self) -> bool {
        self.probe.is_some()
    }
}

/// How far a limit moves when a probe steps it up, or a 429 at it steps it
/// down: a tenth, at least one unit.
pub(crate) fn step(limit: u64) -> u64 {
    (limit / 10).max(1)
}

/// What became of a request sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Answer {
    Pending,
    Accepted,
    Refused,
}

/// One request as it left: when, for which model, what the server said and when
/// the answer came (it arrived at the server between the two), and when it ended
/// (its reply read, its stream done).
#[derive(Debug)]
pub(super) struct Departure {
    pub(super) at: Instant,
    pub(super) booking: u64,
    model: Option<Rc<str>>,
    pub(super) answer: Answer,
    pub(super) answered: Option<Instant>,
    pub(super) ended: Option<Instant>,
}

/// The requests sent lately, oldest first, for a 429's evidence.
#[derive(Debug, Default)]
pub(crate) struct Departures {
    pub(super) list: VecDeque<Departure>,
    /// How many of them have not ended: on the wire, each on a connection.
    open: usize,
}

impl Departures {
    pub(crate) fn record(&mut self, at: Instant, booking: u64, model: Option<Rc<str>>) {
        // One still open (a long stream) is kept: it is in flight. Every ticket's
        // end ends its departure, so none stays open for longer than its call.
        while self.list.front().is_some_and(|d| at - d.at > EVIDENCE * 2 && d.ended.is_some()) {
            self.list.pop_front();
        }
        self.list.push_back(Departure { at, booking, model, answer: Answer::Pending, answered: None, ended: None });
        self.open += 1;
    }

    fn answer(&mut self, booking: u64, answer: Answer, now: Instant) -> Option<Instant> {
        let d = self.list.iter_mut().rev().find(|d| d.booking == booking)?;
        if d.answer == Answer::Pending {
            d.answer = answer;
            d.answered = Some(now);
        }
        Some(d.at)
    }

    /// The server answered the request of `booking` with anything but a 429.
    pub(crate) fn accept(&mut self, booking: u64, now: Instant) {
        self.answer(booking, Answer::Accepted, now);
    }

    /// The request of `booking` ended: its slot in flight is free.
    pub(crate) fn end(&mut self, booking: u64, now: Instant) {
        if let Some(d) = self.list.iter_mut().rev().find(|d| d.booking == booking).filter(|d| d.ended.is_none()) {
            d.ended = Some(now);
            self.open -= 1;
        }
    }

    /// How many requests are on the wire (sent, not ended).
    pub(crate) fn open(&self) -> usize {
        self.open
    }

    /// Requests (of `model`, or all) sent in the `window` before `now`, and not
    /// before `since` (under another limit), and refused.
    pub(crate) fn refused_within(&self, model: Option<&str>, now: Instant, window: Duration, since: Instant) -> u64 {
        let recent = self.list.iter().rev().take_while(|d| d.at + window >= now && d.at >= since);
        recent.filter(|d| d.answer == Answer::Refused && model.is_none_or(|m| d.model.as_deref() == Some(m))).count()
            as u64
    }

    /// Requests (of `model`, or all) that left in the `window` before `left`, other
    /// than the one of `booking`, and were not refused.
    pub(crate) fn ahead_of(&self, booking: u64, left: Instant, window: Duration, model: Option<&str>) -> u64 {
        let ahead = self.list.iter().filter(|d| d.at <= left && d.at + window > left && d.booking != booking);
        ahead.filter(|d| d.answer != Answer::Refused && model.is_none_or(|m| d.model.as_deref() == Some(m))).count()
            as u64
    }

    /// Marks the request of `booking` refused; returns when it left, if still kept.
    pub(crate) fn refuse(&mut self, booking: u64, now: Instant) -> Option<Instant> {
        self.answer(booking, Answer::Refused, now)
    }
}

/// The requests a refusal is judged by: those the server may have counted in the
/// window that ended when the refused one arrived. A request arrives between
/// leaving and its answer, so one that left before the refused one was answered
/// and was answered (or is not yet) later than a window before the refused one
/// left may have been counted. Departure times alone would miss requests that
/// arrived late (on a new connection, from a busy event loop), and find the
/// limit far lower than it is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Around {
    /// When the refused request left, and when its 429 came.
    left: Instant,
    refused: Instant,
    window: Duration,
}

impl Around {
    pub(crate) fn new(left: Instant, refused: Instant, window: Duration) -> Around {
        Around { left, refused, window }
    }

    /// The requests (of `model`, or all) that may have been counted.
    fn counted<'a>(&'a self, sent: &'a Departures, model: Option<&'a str>) -> impl Iterator<Item = &'a Departure> + 'a {
        sent.list
            .iter()
            .take_while(move |d| d.at <= self.refused)
            .filter(move |d| d.answered.is_none_or(|a| a + self.window > self.left))
            .filter(move |d| model.is_none_or(|m| d.model.as_deref() == Some(m)))
    }

    /// Whether every request that may have been counted is answered, or has
    /// waited longer than `patience` (a 429 comes back at once; one this late
    /// was accepted).
    pub(crate) fn settled(&self, sent: &Departures, now: Instant, patience: Duration) -> bool {
        self.counted(sent, None).all(|d| d.answer != Answer::Pending || now - d.at > patience)
    }

    /// The load the refusal shows: the requests (of `model`, or all) the server
    /// may have counted and did not refuse, plus itself.
    pub(crate) fn load(&self, sent: &Departures, model: Option<&str>) -> u64 {
        self.counted(sent, model).filter(|d| d.answer != Answer::Refused).count() as u64 + 1
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{secs, wait_for};
    use super::super::{Demand, LaneSpec, Limiter, LimiterConfig, MarginPolicy, Reservation, Ticket};
    use super::*;
    use crate::feedback::parse_headers;
    use crate::limiter::LimitSource;

    const PAUSE: Duration = Duration::from_millis(500);

    fn limiter(rps: u64) -> Limiter {
        let lanes = vec![LaneSpec::requests_per_second(rps), LaneSpec::tokens_per_minute(1_000_000)];
        let margin = MarginPolicy::fixed(Duration::from_millis(25));
        Limiter::new(LimiterConfig { lanes, margin, ..LimiterConfig::default() })
    }

    /// `n` requests admitted and sent at `at`.
    fn send(l: &Limiter, n: usize, at: Instant) -> Vec<Ticket> {
        (0..n)
            .map(|_| match l.reserve(Demand::tokens(10), at) {
                Ok(Reservation::Ready(t)) => {
                    t.depart(at);
                    t
                }
                other => panic!("expected admission, got {other:?}"),
            })
            .collect()
    }

    /// The server accepts the first `accepted` of `tickets` and refuses the rest.
    fn answer(l: &Limiter, tickets: Vec<Ticket>, accepted: usize, at: Instant) {
        let mut refused = Vec::new();
        for (i, t) in tickets.into_iter().enumerate() {
            if i < accepted {
                t.answered(None, at);
                t.settle(10, at);
            } else {
                refused.push(t);
            }
        }
        for t in refused {
            let (_, evidence) = t.refused(at);
            l.observe_rate_limited(PAUSE, Some(evidence), at);
        }
    }

    fn request_lane(l: &Limiter, at: Instant) -> (u64, LimitSource) {
        let s = l.status(at);
        (s.lanes[0].limit, s.lanes[0].source)
    }

    #[test]
    fn a_429_under_the_limit_lowers_it_to_what_was_accepted_once_the_others_answer() {
        let l = limiter(10);
        let mut burst = send(&l, 10, secs(0.0));
        // 429s come back first: those accepted are still being served, so the
        // refusals cannot tell yet how many of the burst were refused.
        for (n, t) in burst.drain(5..).enumerate() {
            let at = secs(0.05 + 0.001 * n as f64);
            let (_, evidence) = t.refused(at);
            l.observe_rate_limited(PAUSE, Some(evidence), at);
            assert_eq!(request_lane(&l, at), (10, LimitSource::Configured));
        }
        // The others are accepted (no 429 twice as long after): five passed.
        assert_eq!(request_lane(&l, secs(0.2)), (5, LimitSource::RateLimits));
        answer(&l, burst, 5, secs(0.3));
        let changes = l.drain_limit_changes();
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!((changes[0].limit, changes[0].configured, changes[0].cause), (5, 10, LimitCause::RateLimited));
    }

    #[test]
    fn a_limit_a_reply_states_is_not_lowered_by_429s() {
        let l = limiter(10);
        l.observe_server(&parse_headers([("x-ratelimit-limit-req-second", "10")]), None, secs(0.0));
        answer(&l, send(&l, 10, secs(0.0)), 5, secs(0.3));
        assert_eq!(request_lane(&l, secs(0.3)), (10, LimitSource::Header));
        assert!(l.drain_limit_changes().is_empty());
    }

    #[test]
    fn a_lowered_lane_steps_up_when_full_and_quiet_and_drops_back_on_a_429() {
        let l = limiter(10);
        answer(&l, send(&l, 10, secs(0.0)), 5, secs(0.3));
        l.drain_limit_changes();
        // Full every second, no 429: after FIRST_QUIET windows, a step up.
        let mut t = 1.1;
        while request_lane(&l, secs(t)).0 == 5 {
            assert!(t < f64::from(FIRST_QUIET) + 3.0, "no step up by {t} s");
            answer(&l, send(&l, 5, secs(t)), 5, secs(t + 0.1));
            t += 1.1;
        }
        assert!(t > f64::from(FIRST_QUIET), "a step before {FIRST_QUIET} quiet windows: {t} s");
        assert_eq!(request_lane(&l, secs(t)), (6, LimitSource::RateLimits));
        // Six is one too many: back to five, and a longer wait before the next.
        answer(&l, send(&l, 6, secs(t)), 5, secs(t + 0.1));
        assert_eq!(request_lane(&l, secs(t + 0.1)).0, 5);
        let causes: Vec<LimitCause> = l.drain_limit_changes().iter().map(|c| c.cause).collect();
        assert_eq!(causes, [LimitCause::Probe, LimitCause::ProbeFailed]);
    }

    #[test]
    fn a_drop_below_a_level_that_held_steps_back_after_the_first_quiet() {
        let l = limiter(10);
        answer(&l, send(&l, 10, secs(0.0)), 5, secs(0.3));
        // Full and quiet at 5 until a step to 6 fails: the next waits twice as long.
        let mut t = 1.1;
        while request_lane(&l, secs(t)).0 == 5 {
            answer(&l, send(&l, 5, secs(t)), 5, secs(t + 0.1));
            t += 1.1;
        }
        answer(&l, send(&l, 6, secs(t)), 5, secs(t + 0.1));
        // Then a 429 with three of five accepted: down to 3, below 5, which held.
        t += 1.1;
        answer(&l, send(&l, 5, secs(t)), 3, secs(t + 0.1));
        assert_eq!(request_lane(&l, secs(t + 0.1)).0, 3);
        let dropped = t;
        t += 1.1;
        while request_lane(&l, secs(t)).0 == 3 {
            assert!(t - dropped < f64::from(FIRST_QUIET) + 3.0, "no step back by {t} s");
            answer(&l, send(&l, 3, secs(t)), 3, secs(t + 0.1));
            t += 1.1;
        }
        let causes: Vec<LimitCause> = l.drain_limit_changes().iter().map(|c| c.cause).collect();
        assert_eq!(causes[causes.len() - 2..], [LimitCause::RateLimited, LimitCause::Probe]);
    }

    #[test]
    fn a_client_spends_half_a_limit_then_rises_a_unit_per_set_up_round_trip_until_a_reply_paces_it() {
        let l = limiter(10);
        l.start_cautious();
        // Half of 10 requests a second; the rise starts as the first leaves.
        let first = send(&l, 5, secs(0.0));
        let Ok(Reservation::Queued(sixth)) = l.reserve(Demand::tokens(10), secs(0.0)) else { panic!("half is spent") };
        // A unit every 50 ms (twice the margin), in sixteenths of the five
        // units to go, each unit at the first of its steps: the sixth request
        // goes after one step of 15.625 ms, the seventh 50 ms after it.
        let (sixth, at) = wait_for(&l, sixth, secs(1.0));
        assert_eq!(at, secs(0.015625));
        sixth.depart(at);
        // Half of 1,000,000 tokens a minute rises in sixteenths, a sixty-fourth
        // of the minute (0.9375 s) apart: 600,000 fits after 4 of them...
        let Ok(Reservation::Queued(big)) = l.reserve(Demand::tokens(600_000), secs(1.5)) else { panic!("not yet") };
        // ...and a reply with a short round trip keeps that pace, from where the
        // rise stood (2 steps) when it came.
        l.heard(Duration::from_millis(100), secs(2.0));
        let (_big, at) = wait_for(&l, big, secs(10.0));
        assert_eq!(at, secs(3.875));
        drop(first);
    }

    #[test]
    fn a_limit_the_starts_rise_found_is_probed_after_twice_the_quiet() {
        let l = limiter(10);
        l.start_cautious();
        let first = send(&l, 5, secs(0.0));
        l.heard(Duration::ZERO, secs(0.0));
        let Ok(Reservation::Queued(sixth)) = l.reserve(Demand::tokens(10), secs(0.0)) else { panic!("half is spent") };
        let (sixth, at) = wait_for(&l, sixth, secs(1.0));
        sixth.depart(at);
        let (_, evidence) = sixth.refused(at + Duration::from_millis(5));
        l.observe_rate_limited(PAUSE, Some(evidence), at + Duration::from_millis(5));
        assert_eq!(request_lane(&l, secs(0.1)), (5, LimitSource::RateLimits));
        answer(&l, first, 5, secs(0.1));
        let mut t = 1.1;
        while request_lane(&l, secs(t)).0 == 5 {
            assert!(t < f64::from(2 * FIRST_QUIET) + 3.0, "no step up by {t} s");
            answer(&l, send(&l, 5, secs(t)), 5, secs(t + 0.1));
            t += 1.1;
        }
        assert!(t > f64::from(2 * FIRST_QUIET), "a step before {} quiet windows: {t} s", 2 * FIRST_QUIET);
    }

    #[test]
    fn refusals_of_the_rise_read_late_and_out_of_order_stop_it_at_what_the_server_counted() {
        let l = limiter(20);
        l.start_cautious();
        // Half of 20 is the server's limit; a reply paces the rise at a step
        // every 62.5 ms (a quarter of a window in sixteenths).
        let first = send(&l, 10, secs(0.0));
        l.heard(Duration::ZERO, secs(0.0));
        let mut over = Vec::new();
        for _ in 0..4 {
            let Ok(Reservation::Queued(w)) = l.reserve(Demand::tokens(10), secs(0.0)) else { panic!("half is spent") };
            let (t, at) = wait_for(&l, w, secs(1.0));
            t.depart(at);
            over.push((t, at));
        }
        // A busy event loop reads the four 429s after all four left, the last
        // sent first: when it is read, the three before it seem accepted.
        answer(&l, first, 10, secs(0.1));
        let late = over.last().unwrap().1 + Duration::from_millis(100);
        for (t, _) in over.into_iter().rev() {
            let (_, evidence) = t.refused(late);
            l.observe_rate_limited(PAUSE, Some(evidence), late);
        }
        assert_eq!(request_lane(&l, late), (10, LimitSource::RateLimits));
        let causes: Vec<(u64, LimitCause)> = l.drain_limit_changes().iter().map(|c| (c.limit, c.cause)).collect();
        assert_eq!(
            causes,
            [
                (13, LimitCause::RateLimited),
                (12, LimitCause::RateLimited),
                (11, LimitCause::RateLimited),
                (10, LimitCause::RateLimited)
            ]
        );
    }

    #[test]
    fn before_any_reply_an_event_loop_that_lags_slows_the_rise() {
        let lanes = vec![LaneSpec::requests_per_second(10)];
        let margin = MarginPolicy {
            floor: Duration::from_millis(25),
            initial: Duration::from_millis(25),
            ceiling: Duration::from_secs(1),
        };
        let l = Limiter::new(LimiterConfig { lanes, margin, ..LimiterConfig::default() });
        l.start_cautious();
        // Calls left 0 and 200 ms after their admission: a 429 may come back
        // that much later each way, and the rise waits for it, a unit per 400 ms
        // (in steps of 125 ms, each unit at the first of its steps).
        l.observe_departure(Duration::ZERO, secs(0.0));
        l.observe_departure(Duration::from_millis(200), secs(0.0));
        let first = send(&l, 5, secs(0.0));
        let Ok(Reservation::Queued(sixth)) = l.reserve(Demand::tokens(10), secs(0.0)) else { panic!("half is spent") };
        let (_sixth, at) = wait_for(&l, sixth, secs(1.0));
        assert_eq!(at, secs(0.125));
        drop(first);
    }
}
