//! A client's side of the lease protocol: when to ask, what to ask, which shares
//! to apply, and what to do when the coordinator cannot be reached.

use std::time::Duration;

use super::{Ask, Grant, SharedLane};
use crate::time::Instant;

/// The least time between two asks prompted by demand (a lease that is due is
/// renewed at once).
const LEAST_GAP: Duration = Duration::from_millis(250);

/// How long after a failed ask the next may go.
const RETRY: Duration = Duration::from_secs(1);

/// Without any lease yet and no coordinator to ask, a holder spends this part of
/// each limit: a guess that leaves room for others doing the same.
const BLIND_DIVISOR: u64 = 4;

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
    /// last share it granted (or a quarter of each limit, if none), alone.
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
    /// An ask on its way since.
    sent_at: Option<Instant>,
    last_sent: Option<Instant>,
    expires_at: Option<Instant>,
    renew_at: Instant,
    contended: bool,
    holders: u32,
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
            sent_at: None,
            last_sent: None,
            expires_at: None,
            renew_at: Instant::ZERO,
            contended: false,
            holders: 0,
            state: HolderState::Joining,
            asks: 0,
            failures: 0,
        }
    }

    /// Whether to ask at `now`: the lease is due, or `want` (per lane of the last
    /// ask) exceeds the shares and the last ask is not too recent.
    pub fn due(&self, now: Instant, want: &[u64]) -> bool {
        if self.sent_at.is_some() {
            return false;
        }
        if now >= self.renew_at {
            return true;
        }
        let short = want.iter().zip(&self.applied).any(|(w, a)| w > a);
        short && self.state == HolderState::Shared && self.last_sent.is_none_or(|t| now - t >= LEAST_GAP)
    }

    /// When [`Holder::due`] may turn true with no new demand.
    pub fn next_due(&self) -> Instant {
        match self.last_sent {
            Some(t) if self.state == HolderState::Shared => self.renew_at.min(t + LEAST_GAP),
            _ => self.renew_at,
        }
    }

    /// Whether an ask is on its way.
    pub fn asking(&self) -> bool {
        self.sent_at.is_some()
    }

    /// The ask to send at `now`: `lanes` as the client believes them, with per lane
    /// what its window holds and what it would like (held plus queued).
    pub fn ask(&mut self, lanes: Vec<SharedLane>, held: Vec<u64>, want: Vec<u64>, now: Instant) -> Ask {
        // Shares follow the lanes by name: a lane new to this holder starts at 0.
        let applied: Vec<u64> = lanes
            .iter()
            .map(|lane| self.lanes.iter().position(|x| x.same_lane(lane)).map_or(0, |i| self.applied[i]))
            .collect();
        self.applied = applied;
        self.lanes = lanes;
        // In a contended budget, what the queue no longer needs goes back at once.
        if self.contended {
            for (a, w) in self.applied.iter_mut().zip(&want) {
                *a = (*a).min(*w);
            }
        }
        self.sent_at = Some(now);
        self.last_sent = Some(now);
        self.asks += 1;
        Ask { holder: self.name.clone(), lanes: self.lanes.clone(), held, applied: self.applied.clone(), want }
    }

    /// The coordinator answered the ask on its way.
    pub fn granted(&mut self, grant: &Grant, now: Instant) {
        let sent = self.sent_at.take().unwrap_or(now);
        self.applied = grant.shares.clone();
        self.applied.resize(self.lanes.len(), 0);
        self.expires_at = Some(sent + Duration::from_millis(grant.expires_ms));
        self.renew_at = now + Duration::from_millis(grant.renew_ms.clamp(50, grant.expires_ms / 2));
        self.contended = grant.contended;
        self.holders = grant.holders;
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
            HolderState::Fallback if self.expires_at.is_some() => self.applied.clone(),
            HolderState::Fallback => self.lanes.iter().map(|l| (l.limit / BLIND_DIVISOR).max(1)).collect(),
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
        Grant { shares: vec![share], renew_ms: 5000, expires_ms: 15_000, holders: 2, contended: true }
    }

    #[test]
    fn a_lease_is_spent_until_it_expires_then_nothing_until_renewed() {
        let mut h = Holder::new("a");
        assert!(h.due(at(0), &[3]));
        h.ask(vec![RPS5], vec![0], vec![3], at(0));
        assert!(!h.due(at(10), &[3]), "one ask at a time");
        h.granted(&grant(3), at(20));
        assert_eq!(h.shares(at(20)), vec![3]);
        assert!(!h.due(at(100), &[3]));
        assert!(h.due(at(300), &[4]), "demand beyond the share asks early");
        assert!(h.due(at(5020), &[0]), "renewal");
        assert_eq!(h.shares(at(15_000)), vec![0], "expired counting from when the ask left");
    }

    #[test]
    fn an_unreachable_coordinator_spends_the_lease_then_falls_back_to_the_last_share() {
        let mut h = Holder::new("a");
        h.ask(vec![RPS5], vec![0], vec![3], at(0));
        h.granted(&grant(2), at(20));
        h.ask(vec![RPS5], vec![2], vec![3], at(5020));
        h.failed(at(6000));
        assert_eq!(h.state(), HolderState::Holding);
        assert_eq!(h.shares(at(14_000)), vec![2]);
        assert_eq!(h.shares(at(16_000)), vec![2]);
        assert_eq!(h.state(), HolderState::Fallback);
    }

    #[test]
    fn with_no_lease_ever_a_blind_fallback_spends_a_quarter() {
        let mut h = Holder::new("a");
        h.ask(vec![RPS5], vec![0], vec![3], at(0));
        assert_eq!(h.shares(at(1)), vec![0], "waiting for the first answer");
        h.failed(at(5000));
        assert_eq!(h.shares(at(5000)), vec![1]);
    }

    #[test]
    fn in_a_contended_budget_a_drained_queue_gives_back_at_once() {
        let mut h = Holder::new("a");
        h.ask(vec![RPS5], vec![0], vec![3], at(0));
        h.granted(&grant(3), at(20));
        let ask = h.ask(vec![RPS5], vec![1], vec![1], at(400));
        assert_eq!(ask.applied, vec![1]);
        assert_eq!(h.shares(at(401)), vec![1], "applied before the answer");
    }
}
