//! One limit: at most `capacity` units in any sliding window of length `window`.
//!
//! # Why a log, and why merged entries
//!
//! A token bucket whose capacity equals its rate lets a full bucket through at the end
//! of one window and a refill's worth right after, so an idle spell can buy almost
//! twice the limit inside one window. The server's limit is the strict one, so a lane
//! keeps a log instead: every admitted cost is an entry that stays *held* until
//! `admitted + hold`, where `hold` is the window plus the arrival margin. A cost counts while
//! `now <= expires`. A new cost is admitted only if the held total plus the cost is
//! within capacity. Take any window of length W and the last admission inside it, at
//! time `a`. Every earlier admission inside the window happened after `a - W` and is
//! still held at `a`, so it was counted when `a` was admitted. The window's total is
//! therefore at most the capacity.
//!
//! An exact log grows with traffic (a month lane would hold millions of entries).
//! When a new entry would expire within `granularity` of the last one, it merges into
//! it and the merged entry takes the *later* expiry. Holding a cost longer only makes
//! the lane more cautious, so the guarantee stands. The log then holds at most about
//! `window / granularity` entries, and a cost waits at most one granularity longer
//! than it would with an exact log. The default granularity is 1/1024 of the window:
//! about 1 ms on a 1 s lane, 59 ms on a minute lane, 44 min on a 31-day lane.

use std::collections::VecDeque;
use std::time::Duration;

use super::start::Start;
use crate::time::{micros, Instant};
pub use crate::units::{Unit, MONTH};

/// A limit: `capacity` of `unit` in any window of length `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaneSpec {
    /// What is counted.
    pub unit: Unit,
    /// The most that may be admitted in any one window.
    pub capacity: u64,
    /// The window length.
    pub window: Duration,
}

impl LaneSpec {
    /// `n` requests per second.
    pub const fn requests_per_second(n: u64) -> LaneSpec {
        LaneSpec { unit: Unit::Requests, capacity: n, window: Duration::from_secs(1) }
    }

    /// `n` tokens per minute.
    pub const fn tokens_per_minute(n: u64) -> LaneSpec {
        LaneSpec { unit: Unit::Tokens, capacity: n, window: Duration::from_secs(60) }
    }

    /// `n` tokens per month (a 31-day window, see [`MONTH`]).
    pub const fn tokens_per_month(n: u64) -> LaneSpec {
        LaneSpec { unit: Unit::Tokens, capacity: n, window: MONTH }
    }

    /// `n` requests in flight: a window of zero, since each is held until it
    /// ends, not for a window. Only a shared budget names such a lane (the cap
    /// itself is [`InFlightPolicy`](super::InFlightPolicy), not a lane).
    pub const fn requests_in_flight(n: u64) -> LaneSpec {
        LaneSpec { unit: Unit::Requests, capacity: n, window: Duration::ZERO }
    }

    /// Whether it counts requests in flight (see [`LaneSpec::requests_in_flight`]).
    pub fn is_in_flight(&self) -> bool {
        self.unit == Unit::Requests && self.window.is_zero()
    }

    /// A request rate that may be fractional (`0.2` is one request every 5 s).
    /// Rates of one or more per second count whole requests per second; slower rates
    /// become one request per `1/rate` seconds. `None` for rates that are not finite
    /// and positive.
    pub fn request_rate(per_second: f64) -> Option<LaneSpec> {
        if !(per_second.is_finite() && per_second > 0.0) {
            return None;
        }
        Some(if per_second >= 1.0 {
            LaneSpec::requests_per_second(per_second.floor() as u64)
        } else {
            LaneSpec { unit: Unit::Requests, capacity: 1, window: Duration::from_secs_f64(1.0 / per_second) }
        })
    }

    /// The cost of a request of `tokens` tokens on this lane.
    pub fn cost_of(&self, tokens: u64) -> u64 {
        match self.unit {
            Unit::Requests => 1,
            Unit::Tokens => tokens,
        }
    }

    /// A short name for messages and status: `requests/1s`, `tokens/60s`, `tokens/31d`.
    pub fn name(&self) -> String {
        let unit = self.unit.as_str();
        let secs = self.window.as_secs_f64();
        if secs >= 86_400.0 && secs % 86_400.0 == 0.0 {
            format!("{unit}/{}d", secs / 86_400.0)
        } else {
            format!("{unit}/{secs}s")
        }
    }
}

/// The `configured` of a lane the user did not configure.
pub(crate) const UNCONFIGURED: u64 = u64::MAX;

/// How long a learned lane lives without a reply naming it, at least (twice its
/// window if that is longer).
pub(crate) const LEARNED_LIFE: Duration = Duration::from_secs(600);

/// Where one admission's cost sits in a lane's log, so it can be refunded later.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot {
    seq: u64,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    expires: Instant,
    cost: u64,
}

/// A lane's live state. See the module docs for the argument.
#[derive(Debug)]
pub(crate) struct Lane {
    pub(crate) spec: LaneSpec,
    /// What the user asked for; `spec.capacity` may be lowered below it by the server.
    /// [`UNCONFIGURED`] for a lane learned from the server.
    pub(crate) configured: u64,
    /// For a lane learned from the server: when a reply last named it.
    pub(crate) confirmed: Option<Instant>,
    /// This client's share of a budget shared with others (`crate::budget`): it
    /// admits no more than this in a window, below the limit.
    pub(crate) share: Option<u64>,
    /// Whether a reply has stated this lane's limit: then 429s do not lower it.
    pub(crate) stated: bool,
    /// How much of its limit a client that has just started spends (see
    /// `super::start::Start`).
    pub(crate) start: Start,
    /// Lowered by 429s, and probing back up (see `super::inference`).
    pub(crate) probe: Option<Probe>,
    /// When 429s or a probe last changed the limit: a request sent before says
    /// nothing of the limit since.
    pub(crate) changed: Instant,
    /// When a 429 last found it full and only widened the margin.
    pub(crate) strike: Option<Instant>,
    /// Only a guard, at twice its limit: the figure it was configured from is
    /// read as a cap on requests in flight instead (see `super::in_flight`).
    /// Twice, not nothing: should that reading be wrong, what goes out before a
    /// 429 refutes it is at most one window's excess.
    pub(crate) guard: bool,
    granularity: u64,
    log: VecDeque<Entry>,
    /// Sequence number of `log[0]`; entry `i` has sequence `first_seq + i`.
    first_seq: u64,
    held: u64,
}

impl Lane {
    pub(crate) fn new(spec: LaneSpec) -> Lane {
        Lane {
            spec,
            configured: spec.capacity,
            confirmed: None,
            share: None,
            stated: false,
            start: Start::Full,
            probe: None,
            changed: Instant::ZERO,
            strike: None,
            guard: false,
            granularity: (micros(spec.window) / 1024).max(1),
            log: VecDeque::new(),
            first_seq: 0,
            held: 0,
        }
    }

    /// Drops entries that no longer count at `now`.
    pub(crate) fn expire(&mut self, now: Instant) {
        while let Some(front) = self.log.front() {
            if front.expires >= now {
                break;
            }
            self.held -= front.cost;
            self.log.pop_front();
            self.first_seq += 1;
        }
    }

    /// The cost held at `now` (call [`Lane::expire`] first).
    pub(crate) fn held(&self) -> u64 {
        self.held
    }

    /// The limit it enforces once started: twice the capacity while only a guard.
    pub(crate) fn enforced(&self) -> u64 {
        if self.guard {
            self.spec.capacity.saturating_mul(2)
        } else {
            self.spec.capacity
        }
    }

    /// What this client may hold in a window: the limit, or its share of it.
    pub(crate) fn cap(&self) -> u64 {
        let limit = self.start.limit(self.spec.capacity);
        let limit = if self.guard { limit.saturating_mul(2) } else { limit };
        self.share.map_or(limit, |s| s.min(limit))
    }

    /// What could be admitted at `now` (after [`Lane::expire`]).
    pub(crate) fn free(&self) -> u64 {
        self.cap().saturating_sub(self.held)
    }

    /// The cost still held at a later instant `t`, given no new entries.
    pub(crate) fn held_at(&self, t: Instant) -> u64 {
        let gone: u64 = self.log.iter().take_while(|e| e.expires < t).map(|e| e.cost).sum();
        self.held - gone
    }

    /// The earliest instant at or after `now` when `cost` fits, given no new entries;
    /// `None` when it never fits (larger than the capacity). A cost beyond a share
    /// but within the limit waits for a larger share: a window, as a guess.
    pub(crate) fn earliest_fit(&self, now: Instant, cost: u64) -> Option<Instant> {
        if cost > self.spec.capacity {
            return None;
        }
        let cap = self.cap();
        if cost > cap {
            return Some(now + self.spec.window);
        }
        let mut excess = self.held.saturating_add(cost).saturating_sub(cap);
        if excess == 0 {
            return Some(now);
        }
        for e in &self.log {
            excess = excess.saturating_sub(e.cost);
            if excess == 0 {
                return Some(e.expires.next_tick().max(now));
            }
        }
        // Unreachable while `held` equals the sum of the log, kept for robustness.
        None
    }

    /// The instant after which the next entry stops counting, if any.
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        self.log.front().map(|e| e.expires.next_tick())
    }

    /// Where a cost booked at `now` for `hold` goes: its expiry, and whether it merges
    /// into the last entry. The expiry never falls before the last entry's (a shrinking
    /// margin would otherwise unsort the log); holding longer is always safe.
    fn placement(&self, now: Instant, hold: Duration) -> (Instant, Option<&Entry>) {
        let mut expires = now + hold;
        let last = self.log.back();
        if let Some(last) = last {
            expires = expires.max(last.expires);
        }
        let merge = last.filter(|l| expires.as_micros() - l.expires.as_micros() <= self.granularity);
        (expires, merge)
    }

    /// The instant from which this lane holds no more than `level`, given no new
    /// entries.
    pub(crate) fn clears_at(&self, now: Instant, level: u64) -> Instant {
        let mut held = self.held;
        for e in &self.log {
            if held <= level {
                break;
            }
            held -= e.cost;
            if held <= level {
                return e.expires.next_tick().max(now);
            }
        }
        now
    }

    /// The cost that would be held at `t` if `cost` were booked at `now`.
    pub(crate) fn held_at_after_booking(&self, now: Instant, cost: u64, hold: Duration, t: Instant) -> u64 {
        let base = self.held_at(t);
        match self.placement(now, hold) {
            (expires, _) if expires < t => base,
            // The merged entry takes the new expiry, so its old cost counts at `t` too.
            (_, Some(last)) if last.expires < t => base + last.cost + cost,
            _ => base + cost,
        }
    }

    /// Records `cost` admitted at `now`, held for `hold`. Returns where it sits.
    pub(crate) fn book(&mut self, now: Instant, cost: u64, hold: Duration) -> Slot {
        let (expires, merge) = self.placement(now, hold);
        let merge = merge.is_some();
        self.held += cost;
        if merge {
            let last = self.log.back_mut().expect("a merge has a last entry");
            last.cost += cost;
            last.expires = expires;
        } else {
            self.log.push_back(Entry { expires, cost });
        }
        Slot { seq: self.first_seq + self.log.len() as u64 - 1 }
    }

    /// Takes `amount` back from the entry at `slot`, if it still counts. An entry that
    /// has expired needs no refund: its cost already left every window.
    pub(crate) fn refund(&mut self, slot: Slot, amount: u64) {
        if slot.seq < self.first_seq {
            return;
        }
        if let Some(e) = self.log.get_mut((slot.seq - self.first_seq) as usize) {
            let taken = amount.min(e.cost);
            e.cost -= taken;
            self.held -= taken;
        }
    }

    /// Sets the capacity the server enforces, never above what the user configured.
    /// The server's word replaces whatever 429s suggested.
    pub(crate) fn learn_capacity(&mut self, server_limit: u64) {
        self.spec.capacity = server_limit.min(self.configured);
        self.stated = true;
        // A stated window counts arrivals in it: the rate is a rate again.
        self.guard = false;
        self.start = Start::Full;
        self.probe = None;
    }

    /// A lane the server named, not the user.
    pub(crate) fn learned(spec: LaneSpec, now: Instant) -> Lane {
        Lane { configured: UNCONFIGURED, confirmed: Some(now), ..Lane::new(spec) }
    }

    /// Whether it is a learned lane that no reply has named for long: it no longer
    /// binds, until a reply names it again.
    pub(crate) fn is_idle(&self, now: Instant) -> bool {
        self.confirmed.is_some_and(|t| now - t > (self.spec.window * 2).max(LEARNED_LIFE))
    }

    /// Admits nothing more until `hold` from `now` has passed: the server said the
    /// limit is 0, which is a pause, not a permanent refusal.
    pub(crate) fn pause(&mut self, now: Instant, hold: Duration) {
        let room = self.cap().saturating_sub(self.held);
        // A lane that no longer binds has nothing to pause.
        if room > 0 && self.spec.capacity != UNCONFIGURED {
            self.book(now, room, hold);
        }
    }

    /// Lets go of `amount` of what is held, oldest first: the server says less was
    /// spent than the books hold (a new calendar month).
    pub(crate) fn release_oldest(&mut self, mut amount: u64) {
        for e in self.log.iter_mut() {
            if amount == 0 {
                break;
            }
            let taken = amount.min(e.cost);
            e.cost -= taken;
            self.held -= taken;
            amount -= taken;
        }
    }

    /// Number of log entries (for tests of the memory bound).
    #[cfg(test)]
    pub(crate) fn entries(&self) -> usize {
        self.log.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn at(ms: u64) -> Instant {
        Instant::from_micros(ms * 1000)
    }

    #[test]
    fn a_full_lane_frees_exactly_one_window_after_admission() {
        let mut lane = Lane::new(LaneSpec::requests_per_second(2));
        lane.book(at(0), 1, SEC);
        lane.book(at(500), 1, SEC);
        assert_eq!(lane.free(), 0);
        // The first entry still counts at exactly t = 1 s (closed window), not after.
        assert_eq!(lane.earliest_fit(at(600), 1), Some(at(1000).next_tick()));
        lane.expire(at(1000));
        assert_eq!(lane.free(), 0);
        lane.expire(at(1000).next_tick());
        assert_eq!(lane.free(), 1);
    }

    #[test]
    fn too_large_never_fits() {
        let lane = Lane::new(LaneSpec::tokens_per_minute(100));
        assert_eq!(lane.earliest_fit(at(0), 101), None);
        assert_eq!(lane.earliest_fit(at(0), 100), Some(at(0)));
    }

    #[test]
    fn refunds_reach_merged_entries_and_skip_expired_ones() {
        let mut lane = Lane::new(LaneSpec::tokens_per_minute(1000));
        let a = lane.book(at(0), 300, 60 * SEC);
        let b = lane.book(at(0), 200, 60 * SEC); // merges with `a`
        assert_eq!(lane.entries(), 1);
        lane.refund(b, 150);
        assert_eq!(lane.held(), 350);
        lane.refund(a, 1000); // clamps to what the entry holds
        assert_eq!(lane.held(), 0);
        let c = lane.book(at(1), 10, 60 * SEC);
        lane.expire(at(61_002));
        lane.refund(c, 10); // expired: nothing to do, nothing panics
        assert_eq!(lane.held(), 0);
    }

    #[test]
    fn the_log_stays_bounded_under_constant_traffic() {
        let mut lane = Lane::new(LaneSpec::tokens_per_minute(u64::MAX / 2));
        for ms in 0..600_000 {
            let now = at(ms);
            lane.expire(now);
            lane.book(now, 1, 60 * SEC);
        }
        assert!(lane.entries() <= 1025, "{} entries", lane.entries());
    }

    #[test]
    fn booking_preview_counts_a_merged_entry_pulled_past_t() {
        let mut lane = Lane::new(LaneSpec::requests_per_second(10));
        lane.book(at(0), 1, SEC);
        // Booking 0.5 ms later merges (granularity ~1 ms) and drags the first entry's
        // expiry to 1.0005 s, so at t = 1.0002 s both count.
        let t = Instant::from_micros(1_000_200);
        assert_eq!(lane.held_at(t), 0);
        assert_eq!(lane.held_at_after_booking(Instant::from_micros(500), 1, SEC, t), 2);
    }

    #[test]
    fn fractional_rates_become_longer_windows() {
        let slow = LaneSpec::request_rate(0.2).unwrap();
        assert_eq!((slow.capacity, slow.window), (1, Duration::from_secs(5)));
        assert_eq!(LaneSpec::request_rate(5.7).unwrap().capacity, 5);
        assert_eq!(LaneSpec::request_rate(-1.0), None);
        assert_eq!(LaneSpec::request_rate(f64::NAN), None);
        assert_eq!(LaneSpec::tokens_per_month(1).name(), "tokens/31d");
        assert_eq!(LaneSpec::tokens_per_minute(1).name(), "tokens/60s");
    }
}

/// A lane lowered by 429s, on its way back up.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Probe {
    /// The highest limit known to pass: dropped back to when a step fails.
    pub(super) good: u64,
    /// Windows of quiet before the next step.
    pub(super) quiet: u32,
    /// The last 429 or step.
    pub(super) since: Instant,
    /// Whether the lane filled up since then.
    pub(super) filled: bool,
    /// Whether the limit now is a step up from `good`.
    pub(super) stepped: bool,
}
