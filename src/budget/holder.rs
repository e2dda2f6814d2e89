//! A client's side of the lease protocol: when to ask, what to ask, which shares
//! to apply, and what to do when the coordinator cannot be reached.

use std::time::Duration;

use super::{Ask, Grant, SharedLane};
use crate::limiter::{LaneSpec, Limiter};
use crate::time::Instant;

/// The least time between two asks prompted by demand (a lease that is due is
/// renewed at once): short while there may be room to take, longer while every
/// holder wants more than the limit (room appears only when one drains).
const LEAST_GAP: Duration = Duration::from_millis(250);

/// How long after a failed ask the next may go.
const RETRY: Duration = Duration::from_secs(1);

/// In how many parts an ask says its window clears above its share (see
/// [`Ask::clear_steps`]): a lane of a few requests frees call by call.
const CLEAR_STEPS: u64 = 4;

/// An ask unanswered this long has failed (in Workers, the request that sent it
/// may have ended, and its answer with it).
pub const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a holder stands, as `status()` and events report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HolderState {
    /// No lease yet.
    Joining,
    /// Holding a lease the coordinator granted.
    Shared,
    /// The coordinator cannot be reached; spending the lease until it expires.
    Holding,
    /// The coordinator cannot be reached and the lease has expired: spending the
    /// last share it granted, alone (with none ever granted, nothing).
    Fallback,
}

impl HolderState {
    /// The name JS sees.
    pub fn name(self) -> &'static str {
        match self {
            HolderState::Joining => "joining",
            HolderState::Shared => "shared",
            HolderState::Holding => "holding",
            HolderState::Fallback => "fallback",
        }
    }
}

/// One client's lease on a shared budget.
#[derive(Clone, Debug)]
pub struct Holder {
    name: String,
    lanes: Vec<SharedLane>,
    applied: Vec<u64>,
    /// Per lane of the last ask, what it said the holder held.
    reported: Vec<u64>,
    /// An ask for demand that the least gap held back: due once the gap is over.
    deferred: bool,
    /// An ask on its way since.
    sent_at: Option<Instant>,
    seq: u64,
    last_sent: Option<Instant>,
    expires_at: Option<Instant>,
    renew_at: Instant,
    /// Per lane of the last ask, as of the last answer.
    contended: Vec<bool>,
    holders: u32,
    /// The coordinator's epoch as of the last answer.
    epoch: Option<u64>,
    state: HolderState,
    asks: u64,
    failures: u64,
}

impl Holder {
    /// A holder named `name` (unique to it), with no lease yet.
    pub fn new(name: impl Into<String>) -> Holder {
        Holder {
            name: name.into(),
            lanes: Vec::new(),
            applied: Vec::new(),
            reported: Vec::new(),
            deferred: false,
            sent_at: None,
            seq: 0,
            last_sent: None,
            expires_at: None,
            renew_at: Instant::ZERO,
            contended: Vec::new(),
            holders: 0,
            epoch: None,
            state: HolderState::Joining,
            asks: 0,
            failures: 0,
        }
    }

    /// Whether to ask at `now`, given per lane of the last ask what the window
    /// holds and what the client would like (held plus queued): the lease is due;
    /// or demand exceeds the shares of an uncontended lane not yet at its limit,
    /// or requests in flight above the share have ended since the last ask (the
    /// coordinator counts them until told), and the last ask is not too recent;
    /// or the last of those has ended; or the queue ran dry and a share of a
    /// contended lane can go back.
    pub fn due(&mut self, now: Instant, held: &[u64], want: &[u64]) -> bool {
        match self.sent_at {
            Some(t) if now - t >= ASK_TIMEOUT => self.failed(now),
            Some(_) => return false,
            None => {}
        }
        if now >= self.renew_at {
            return true;
        }
        if self.state != HolderState::Shared {
            return false;
        }
        if held == want && self.spare().next().is_some() {
            return true;
        }
        let short = (0..self.applied.len()).any(|i| {
            let (applied, limit) = (self.applied[i], self.lanes.get(i).map_or(0, |l| l.limit));
            want.get(i).is_some_and(|w| *w > applied)
                && applied < limit
                && !self.contended.get(i).copied().unwrap_or(false)
        });
        // Requests in flight above the share ended since the last ask: the
        // coordinator counts them until told. The last of them is told at once,
        // since no later end may come to tell it.
        let (ended, cleared) = self.ended_above_share(held);
        let gap_over = self.last_sent.is_none_or(|t| now - t >= LEAST_GAP);
        self.deferred = (short || ended) && !gap_over;
        cleared || ((short || ended) && gap_over)
    }

    /// Whether requests in flight above the share have ended unreported (see
    /// [`Holder::due`]): the coordinator counts their slots until told.
    pub fn owes_ends(&self, limiter: &Limiter, now: Instant) -> bool {
        self.ended_above_share(&self.aligned(&limiter.shareable(now)).0).0
    }

    /// Per lane of the last ask, `held` now: whether requests in flight above the
    /// share have ended since that ask, and whether the last of them has.
    fn ended_above_share(&self, held: &[u64]) -> (bool, bool) {
        let (mut ended, mut cleared) = (false, false);
        for i in (0..self.applied.len()).filter(|&i| self.lanes.get(i).is_some_and(SharedLane::is_in_flight)) {
            let (reported, now_held) = (self.reported.get(i).copied().unwrap_or(0), held.get(i).copied().unwrap_or(0));
            if reported > self.applied[i] && now_held < reported {
                ended = true;
                cleared |= now_held <= self.applied[i];
            }
        }
        (ended, cleared)
    }

    /// When [`Holder::due`] may turn true with no new demand.
    pub fn next_due(&self) -> Instant {
        if let Some(t) = self.sent_at {
            return t + ASK_TIMEOUT;
        }
        match self.last_sent {
            Some(t) if self.state == HolderState::Shared && self.deferred => self.renew_at.min(t + LEAST_GAP),
            _ => self.renew_at,
        }
    }

    /// Per lane of the last ask, what `view` (a limiter's shareable lanes) holds
    /// and would like: lanes match by unit and window, since a lane whose limit
    /// became known since then shifts the others (it is asked for next time).
    fn aligned(&self, view: &[(LaneSpec, u64, u64)]) -> (Vec<u64>, Vec<u64>) {
        self.lanes
            .iter()
            .map(|lane| {
                view.iter()
                    .find(|(spec, ..)| SharedLane::of(spec).same_lane(lane))
                    .map_or((0, 0), |(_, held, queued)| (*held, held.saturating_add(*queued)))
            })
            .unzip()
    }

    /// Whether the ask numbered `seq` is the one on its way.
    pub fn awaits(&self, seq: u64) -> bool {
        self.sent_at.is_some() && self.seq == seq
    }

    /// The lanes whose share could go back: contended, and held.
    fn spare(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.applied.len()).filter(|&i| self.applied[i] > 0 && self.contended.get(i).copied().unwrap_or(false))
    }

    /// Whether an ask is on its way.
    pub fn asking(&self) -> bool {
        self.sent_at.is_some()
    }

    /// The ask to send at `now`: `lanes` as the client believes them, with per lane
    /// what its window holds and what it would like (held plus queued); `clear(i,
    /// level)` says when lane `i`'s window will hold no more than `level`.
    pub fn ask(
        &mut self,
        lanes: Vec<SharedLane>,
        held: Vec<u64>,
        want: Vec<u64>,
        clear: impl Fn(usize, u64) -> Instant,
        now: Instant,
    ) -> Ask {
        // Shares follow the lanes by name: a lane new to this holder starts at 0.
        // A lease that lapsed while the coordinator answered applies nothing, and
        // says so: the coordinator may have handed its shares on.
        let lapsed = self.expires_at.is_none_or(|e| now >= e) && self.state != HolderState::Fallback;
        let applied: Vec<u64> = lanes
            .iter()
            .map(|lane| self.lanes.iter().position(|x| x.same_lane(lane)).map_or(0, |i| self.applied[i]))
            .map(|share| if lapsed { 0 } else { share })
            .collect();
        self.applied = applied;
        self.lanes = lanes;
        // A queue that ran dry gives back its share of contended lanes at once
        // (what its window still holds cools at the coordinator).
        if held == want {
            for i in self.spare().collect::<Vec<_>>() {
                self.applied[i] = 0;
            }
        }
        self.sent_at = Some(now);
        self.last_sent = Some(now);
        self.deferred = false;
        self.asks += 1;
        self.seq += 1;
        let in_ms = |i: usize, level: u64| clear(i, level).saturating_since(now).as_millis() as u64;
        let clear_ms = self.applied.iter().enumerate().map(|(i, a)| in_ms(i, *a)).collect();
        let clear_steps = self
            .applied
            .iter()
            .zip(&held)
            .enumerate()
            .map(|(i, (&applied, &held))| {
                let above = held.saturating_sub(applied);
                let mut levels: Vec<u64> =
                    (1..CLEAR_STEPS).map(|k| applied + above * (CLEAR_STEPS - k) / CLEAR_STEPS).collect();
                levels.dedup();
                levels.into_iter().filter(|&level| level > applied).map(|level| [in_ms(i, level), level]).collect()
            })
            .collect();
        self.reported = held.clone();
        Ask {
            holder: self.name.clone(),
            seq: self.seq,
            lanes: self.lanes.clone(),
            held,
            applied: self.applied.clone(),
            clear_ms,
            clear_steps,
            want,
            epoch: self.epoch,
        }
    }

    /// Whether an ask is due at `now`, from what `limiter` holds and queues on
    /// the lanes a budget shares.
    pub fn is_due(&mut self, limiter: &Limiter, now: Instant) -> bool {
        let (held, want) = self.aligned(&limiter.shareable(now));
        self.due(now, &held, &want)
    }

    /// The ask to send now, if one is due, from what `limiter` holds and queues on
    /// the lanes a budget shares.
    pub fn ask_if_due(&mut self, limiter: &Limiter, now: Instant) -> Option<Ask> {
        let view = limiter.shareable(now);
        let (held, want) = self.aligned(&view);
        if !self.due(now, &held, &want) {
            return None;
        }
        let (held, want) = view.iter().map(|(_, held, queued)| (*held, held.saturating_add(*queued))).unzip();
        let lanes = view.iter().map(|(spec, ..)| SharedLane::of(spec)).collect();
        let clear = |i: usize, level| limiter.clears_at(view[i].0.unit, view[i].0.window, level, now);
        Some(self.ask(lanes, held, want, clear, now))
    }

    /// Puts the shares to apply at `now` on `limiter`; before any answer nothing
    /// is shared, so nothing goes.
    pub fn apply(&mut self, limiter: &Limiter, now: Instant) {
        if self.lanes.is_empty() {
            for (spec, _, _) in limiter.shareable(now) {
                limiter.set_share(spec.unit, spec.window, Some(0), now);
            }
        }
        let shares = self.shares(now);
        for (lane, share) in self.lanes.iter().zip(shares) {
            limiter.set_share(lane.unit, lane.window(), Some(share), now);
        }
    }

    /// The coordinator answered. An answer to an ask given up on, or to an
    /// earlier one, is ignored: the coordinator counts at least what is applied.
    pub fn granted(&mut self, grant: &Grant, now: Instant) {
        let Some(sent) = self.sent_at.filter(|_| grant.seq == self.seq) else { return };
        self.sent_at = None;
        let mut shares = grant.shares.clone();
        shares.resize(self.lanes.len(), 0);
        // A lowering is confirmed by the next ask, at once: until then the
        // coordinator keeps counting the old share, and no one else gets it.
        let lowered = shares.iter().zip(&self.applied).any(|(new, old)| new < old);
        self.applied = shares;
        self.expires_at = Some(sent + Duration::from_millis(grant.expires_ms));
        // Never a panic on an odd grant: a stored state may say anything.
        let renew = if lowered { 0 } else { grant.renew_ms.min(grant.expires_ms / 2).max(50) };
        self.renew_at = now + Duration::from_millis(renew);
        self.contended = grant.contended.clone();
        self.holders = grant.holders;
        self.epoch = Some(grant.epoch);
        self.state = HolderState::Shared;
    }

    /// The ask on its way failed (unreachable, timed out, refused).
    pub fn failed(&mut self, now: Instant) {
        self.sent_at = None;
        self.failures += 1;
        self.renew_at = now + RETRY;
        self.state = match self.expires_at {
            Some(e) if now < e => HolderState::Holding,
            _ => HolderState::Fallback,
        };
    }

    /// The share to apply at `now` on each lane of the last ask. A lease that lapsed
    /// while the coordinator answered gives nothing until renewed; one that lapsed
    /// because it could not be reached falls back to the last share.
    pub fn shares(&mut self, now: Instant) -> Vec<u64> {
        let live = self.expires_at.is_some_and(|e| now < e);
        if self.state == HolderState::Holding && !live {
            self.state = HolderState::Fallback;
        }
        match self.state {
            _ if live => self.applied.clone(),
            HolderState::Fallback => self.applied.clone(),
            _ => vec![0; self.lanes.len()],
        }
    }

    /// Where it stands.
    pub fn state(&self) -> HolderState {
        self.state
    }

    /// The lanes of the last ask.
    pub fn lanes(&self) -> &[SharedLane] {
        &self.lanes
    }

    /// Holders sharing the budget, as of the last answer.
    pub fn holders(&self) -> u32 {
        self.holders
    }

    /// Asks sent and asks failed.
    pub fn counts(&self) -> (u64, u64) {
        (self.asks, self.failures)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::Unit;

    const RPS5: SharedLane = SharedLane { unit: Unit::Requests, window_ms: 1000, limit: 5 };

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    fn grant(share: u64) -> Grant {
        Grant {
            seq: 1,
            shares: vec![share],
            renew_ms: 5000,
            expires_ms: 15_000,
            holders: 2,
            contended: vec![true],
            epoch: 1,
        }
    }

    #[test]
    fn a_lease_is_spent_until_it_expires_then_nothing_until_renewed() {
        let mut h = Holder::new("a");
        assert!(h.due(at(0), &[0], &[3]));
        h.ask(vec![RPS5], vec![0], vec![3], |_, _| Instant::ZERO, at(0));
        assert!(!h.due(at(10), &[0], &[3]), "one ask at a time");
        h.granted(&grant(3), at(20));
        assert_eq!(h.shares(at(20)), vec![3]);
        assert!(!h.due(at(100), &[0], &[3]));
        assert!(!h.due(at(300), &[0], &[4]), "in a contended budget, the coordinator says when");
        assert!(h.due(at(5020), &[0], &[0]), "renewal");
        assert_eq!(h.shares(at(15_000)), vec![0], "expired counting from when the ask left");
    }

    #[test]
    fn a_queue_that_ran_dry_says_when_each_part_of_its_window_clears() {
        let mut h = Holder::new("a");
        h.ask(vec![RPS5], vec![0], vec![3], |_, _| Instant::ZERO, at(0));
        h.granted(&grant(4), at(20));
        // Its window holds 3 calls, sent 100 ms apart; its queue ran dry.
        let clear = |_: usize, level: u64| at(1000 + 100 * (3 - level.min(3)));
        let dry = h.ask(vec![RPS5], vec![3], vec![3], clear, at(500));
        assert_eq!(dry.applied, vec![0], "given back");
        assert_eq!((dry.clear_steps, dry.clear_ms), (vec![vec![[600, 2], [700, 1]]], vec![800]));
        // Far above its share, a token lane says it in four parts at most.
        let tokens = SharedLane { unit: Unit::Tokens, window_ms: 60_000, limit: 10_000 };
        let mut h = Holder::new("b");
        h.ask(vec![tokens], vec![0], vec![9000], |_, _| Instant::ZERO, at(0));
        h.granted(&Grant { contended: vec![false], ..grant(2000) }, at(20));
        let ask = h.ask(vec![tokens], vec![9000], vec![9500], |_, level| at(10_000 - level), at(100));
        assert_eq!(ask.clear_steps, vec![vec![[2650, 7250], [4400, 5500], [6150, 3750]]]);
        assert_eq!(ask.clear_ms, vec![7900]);
    }

    #[test]
    fn an_unreachable_coordinator_spends_the_lease_then_falls_back_to_the_last_share() {
        let mut h = Holder::new("a");
        h.ask(vec![RPS5], vec![0], vec![3], |_, _| Instant::ZERO, at(0));
        h.granted(&grant(2), at(20));
        h.ask(vec![RPS5], vec![2], vec![3], |_, _| Instant::ZERO, at(5020));
        h.failed(at(6000));
        assert_eq!(h.state(), HolderState::Holding);
        assert_eq!(h.shares(at(14_000)), vec![2]);
        assert_eq!(h.shares(at(16_000)), vec![2]);
        assert_eq!(h.state(), HolderState::Fallback);
    }

    #[test]
    fn an_unanswered_ask_fails_after_its_timeout_and_a_late_answer_is_ignored() {
        let mut h = Holder::new("a");
        h.ask(vec![RPS5], vec![0], vec![3], |_, _| Instant::ZERO, at(0));
        assert!(!h.due(at(4000), &[0], &[3]));
        assert_eq!(h.next_due(), at(5000));
        assert!(!h.due(at(6100), &[0], &[3]), "given up; the retry waits a second");
        assert!(h.due(at(7100), &[0], &[3]));
        h.ask(vec![RPS5], vec![0], vec![3], |_, _| Instant::ZERO, at(7100));
        h.granted(&grant(3), at(7200));
        assert!(h.asking(), "the answer to the first ask does not count for the second");
    }

    #[test]
    fn with_no_lease_ever_nothing_is_spent() {
        let mut h = Holder::new("a");
        h.ask(vec![RPS5], vec![0], vec![3], |_, _| Instant::ZERO, at(0));
        assert_eq!(h.shares(at(1)), vec![0], "waiting for the first answer");
        h.failed(at(5000));
        assert_eq!(h.shares(at(5000)), vec![0], "no share was ever known: none is guessed");
    }

    #[test]
    fn requests_in_flight_above_the_share_are_reported_as_they_end() {
        let slots = SharedLane { unit: Unit::Requests, window_ms: 0, limit: 5 };
        let mut h = Holder::new("a");
        h.ask(vec![slots], vec![0], vec![9], |_, _| Instant::ZERO, at(0));
        h.granted(&grant(5), at(10));
        h.ask(vec![slots], vec![5], vec![9], |_, _| Instant::ZERO, at(300));
        h.granted(&Grant { seq: 2, ..grant(3) }, at(310));
        h.ask(vec![slots], vec![5], vec![9], |_, _| Instant::ZERO, at(310));
        h.granted(&Grant { seq: 3, ..grant(3) }, at(320));
        assert!(!h.due(at(600), &[5], &[9]), "none ended");
        assert!(h.due(at(600), &[4], &[8]), "one ended, over the share");
        h.ask(vec![slots], vec![4], vec![8], |_, _| Instant::ZERO, at(600));
        h.granted(&Grant { seq: 4, ..grant(3) }, at(610));
        assert!(h.due(at(620), &[3], &[7]), "the last over the share ended: told at once");
        h.ask(vec![slots], vec![3], vec![7], |_, _| Instant::ZERO, at(620));
        h.granted(&Grant { seq: 5, ..grant(3) }, at(630));
        assert!(!h.due(at(900), &[2], &[7]), "under the share, nothing more is counted");
    }

    #[test]
    fn lanes_match_by_unit_and_window_when_one_appears_between_asks() {
        use crate::limiter::{Demand, InFlightPolicy, LimiterConfig, Reservation};
        let limiter = Limiter::new(LimiterConfig {
            lanes: vec![LaneSpec::tokens_per_minute(1000)],
            in_flight: InFlightPolicy { cap: Some(2), learn: false },
            ..Default::default()
        });
        let admit = || match limiter.reserve(Demand::tokens(10), at(0)) {
            Ok(Reservation::Ready(t)) => t,
            other => panic!("expected admission, got {other:?}"),
        };
        let (a, b) = (admit(), admit());
        let mut h = Holder::new("a");
        let ask = h.ask_if_due(&limiter, at(0)).expect("joining");
        assert_eq!(ask.lanes.iter().map(|l| l.window_ms).collect::<Vec<_>>(), vec![60_000, 0]);
        h.granted(&Grant { shares: vec![1000, 1], contended: vec![false, false], ..grant(0) }, at(10));
        // The slots are lowered to 1 with 2 in flight; then a reply states a
        // per-second limit, a lane that comes before the cap in what is shared.
        let report = crate::feedback::parse_headers([("x-ratelimit-limit-req-second", "5")]);
        limiter.observe_server(&report, None, at(20));
        assert_eq!(limiter.shareable(at(20)).len(), 3);
        assert!(!h.owes_ends(&limiter, at(30)), "both still in flight");
        drop(a);
        assert!(h.owes_ends(&limiter, at(40)), "one ended above the share");
        drop(b);
    }

    #[test]
    fn in_a_contended_budget_a_drained_queue_gives_back_at_once() {
        let mut h = Holder::new("a");
        h.ask(vec![RPS5], vec![0], vec![3], |_, _| Instant::ZERO, at(0));
        h.granted(&grant(3), at(20));
        assert!(h.due(at(400), &[1], &[1]), "the queue ran dry");
        let ask = h.ask(vec![RPS5], vec![1], vec![1], |_, _| Instant::ZERO, at(400));
        assert_eq!(ask.applied, vec![0]);
        assert_eq!(h.shares(at(401)), vec![0], "applied before the answer");
    }
}
