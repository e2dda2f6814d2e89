//! The coordinator: one per organization's budget. It answers each [`Ask`] with a
//! [`Grant`], and its whole state serializes (a Durable Object stores it after
//! every answer, so a restarted object forgets nothing it counted).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Ask, Grant, SharedLane};
use crate::units::Unit;

/// The most lanes a coordinator tracks; asks naming more get no share of them.
const MOST_LANES: usize = 8;

/// The most holders a coordinator tracks; a newcomer beyond them gets no share
/// until a lease expires.
const MOST_HOLDERS: usize = 1024;

/// The most steps of an ask's clearing a coordinator reads per lane.
const MOST_STEPS: usize = 8;

/// Lease lengths and renewal pace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoordinatorPolicy {
    /// How long a lease lasts unless renewed: also how long a dead holder's share
    /// stays counted (plus a window).
    pub lease_ms: u64,
    /// How often a holder renews when nothing needs to move (half a lease by
    /// default: a lost renewal leaves time for another).
    pub renew_ms: u64,
    /// How often a holder short of what it wants renews while capacity is free,
    /// cooling, or about to be given back by a holder whose queue runs dry.
    pub soon_renew_ms: u64,
    /// How often holders renew while one of them holds less than its fair part.
    pub busy_renew_ms: u64,
    /// Added to a window before the share of a lease that ended is handed on:
    /// the holder's own arrival margin (its limiter holds each cost that much
    /// longer than the window, up to half a second).
    pub margin_ms: u64,
}

/// Added to the time a holder says its window clears before what it gave back is
/// handed on: that time already counts its arrival margin, and is measured from
/// before its ask left; this covers clocks that read a little stale (workerd's
/// stands still while code runs).
const CLEAR_SLACK_MS: u64 = 50;

/// How soon a newcomer granted its first part (a quarter of what was free) comes
/// back for the rest: by then the holders that joined at the same moment have
/// asked too, and the split counts them all. On a cold start of 3 holders with
/// 20 calls each, 0.91 of the limit at worst, where taking the whole lane at
/// once gave 0.86; one alone loses 0.01 (`cold_bursts_start_at_once` in
/// tests/budget.rs).
const FIRST_PART_RENEW_MS: u64 = 50;

/// How long after its first ask a holder counts as just joined: one that holds
/// more than it would beside one more holder renews at the busy pace meanwhile.
/// Processes of a fleet start tens of ms apart; the first to come back for the
/// rest of its first part took the whole lane, and those that asked a few ms
/// later waited for its steady renewal, seconds later (a third of the 3 x 20
/// bursts on Redis ran at 0.87-0.89 of the limit so).
const JOINING_MS: u64 = 2000;

/// How long a lease may be made to last, in ms: at least a second (shorter, it
/// would lapse between a holder's asks), at most an hour.
pub const LEASE_MS: std::ops::RangeInclusive<u64> = 1000..=3_600_000;

impl CoordinatorPolicy {
    /// The default policy with leases of `lease_ms` (renewed at least every half
    /// lease), or what is wrong with it.
    pub fn with_lease_ms(lease_ms: f64) -> Result<CoordinatorPolicy, String> {
        let policy = CoordinatorPolicy::default();
        if !(lease_ms.is_finite() && (*LEASE_MS.start() as f64..=*LEASE_MS.end() as f64).contains(&lease_ms)) {
            return Err(format!(
                "leaseMs must be a number of milliseconds from {} to {} (default {}), got {lease_ms}",
                LEASE_MS.start(),
                LEASE_MS.end(),
                policy.lease_ms
            ));
        }
        let lease_ms = lease_ms as u64;
        Ok(CoordinatorPolicy { lease_ms, renew_ms: policy.renew_ms.min(lease_ms / 2), ..policy })
    }
}

impl Default for CoordinatorPolicy {
    fn default() -> Self {
        CoordinatorPolicy {
            lease_ms: 15_000,
            renew_ms: 7_500,
            soon_renew_ms: 1_000,
            busy_renew_ms: 250,
            margin_ms: 500,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Holding {
    /// Per coordinator lane: what is counted for this holder (at least what it
    /// may be applying).
    counted: Vec<u64>,
    /// Per coordinator lane: what it would like (what its window holds plus what
    /// waits).
    want: Vec<u64>,
    /// Per coordinator lane: what waits in its queue (a holder whose window holds
    /// much but whose queue is empty is not short of anything).
    queued: Vec<u64>,
    /// When its lease ends on the coordinator's clock, in ms.
    expires: u64,
    /// When it last asked, in ms.
    #[serde(default)]
    asked: u64,
    /// Since when it has been short of what it wants, in ms (its place in line).
    #[serde(default)]
    short_since: Option<u64>,
    /// The `seq` of the latest ask it answered.
    #[serde(default)]
    seq: u64,
    /// When it first asked, in ms (a state stored before this was kept: long ago).
    #[serde(default)]
    joined: u64,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Cooling {
    lane: usize,
    amount: u64,
    /// When it is free again, in ms.
    until: u64,
}

/// One organization's budget. Times are milliseconds on the coordinator's clock.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Coordinator {
    policy: CoordinatorPolicy,
    lanes: Vec<SharedLane>,
    holders: BTreeMap<String, Holding>,
    cooling: Vec<Cooling>,
    /// When it first answered, in ms.
    #[serde(default)]
    born: Option<u64>,
    /// Whether it found that a state before it was lost (see
    /// [`Coordinator::quarantine`]).
    #[serde(default)]
    quarantined: bool,
}

impl Coordinator {
    /// A coordinator with no lanes yet: the first ask names them.
    pub fn new(policy: CoordinatorPolicy) -> Coordinator {
        Coordinator { policy, ..Coordinator::default() }
    }

    /// A coordinator read back from storage, made whole: a stored state may have
    /// been cut short or tampered with, and must never make an answer panic.
    pub fn repaired(mut self) -> Coordinator {
        self.lanes.truncate(MOST_LANES);
        let width = self.lanes.len();
        for h in self.holders.values_mut() {
            h.counted.resize(width, 0);
            h.want.resize(width, 0);
            h.queued.resize(width, 0);
        }
        self.cooling.retain(|c| c.lane < width);
        self
    }

    /// How many holders have a live lease at `now`.
    pub fn holders(&mut self, now: u64) -> usize {
        self.expire(now);
        self.holders.len()
    }

    /// The lanes and, per lane, what is counted for holders and what cools.
    pub fn lanes(&mut self, now: u64) -> Vec<(SharedLane, u64, u64)> {
        self.expire(now);
        (0..self.lanes.len()).map(|l| (self.lanes[l], self.counted(l), self.cooling_on(l))).collect()
    }

    /// Answers `ask` at `now`.
    pub fn lease(&mut self, ask: &Ask, now: u64) -> Grant {
        self.expire(now);
        let lanes: Vec<Option<usize>> = ask.lanes.iter().map(|lane| self.lane_for(lane)).collect();
        if !self.holders.contains_key(&ask.holder) && self.holders.len() >= MOST_HOLDERS {
            let steady = self.policy.renew_ms;
            return self.grant(ask.seq, vec![0; ask.lanes.len()], steady, vec![false; ask.lanes.len()]);
        }
        // An ask older than one answered (a store that retried its write after
        // the holder gave up on it) would undo what the newer one counted; the
        // holder ignores the answer.
        if self.holders.get(&ask.holder).is_some_and(|h| ask.seq < h.seq) {
            let steady = self.policy.renew_ms;
            return self.grant(ask.seq, vec![0; ask.lanes.len()], steady, vec![false; ask.lanes.len()]);
        }
        let born = *self.born.get_or_insert(now);
        // A holder that was granted leases by another coordinator (before this one
        // was born) may still be spending them.
        let lost = ask.epoch.is_some_and(|e| e != born) && now < born.saturating_add(self.policy.lease_ms);
        let width = self.lanes.len();
        let policy = self.policy;
        let mut holding = self.holders.remove(&ask.holder).unwrap_or(Holding {
            counted: Vec::new(),
            want: Vec::new(),
            queued: Vec::new(),
            expires: 0,
            asked: now,
            short_since: None,
            seq: 0,
            joined: now,
        });
        holding.asked = now;
        holding.seq = ask.seq;
        holding.counted.resize(width, 0);
        holding.want.resize(width, 0);
        holding.queued.resize(width, 0);
        holding.expires = now.saturating_add(policy.lease_ms);
        for (i, lane) in lanes.iter().enumerate() {
            let Some(l) = *lane else { continue };
            holding.want[l] = ask.want.get(i).copied().unwrap_or(0);
            holding.queued[l] = holding.want[l].saturating_sub(ask.held.get(i).copied().unwrap_or(0));
            let applied = ask.applied.get(i).copied().unwrap_or(0);
            // Requests in flight end when their calls do: what the holder holds
            // above its share stays counted until its next ask says they ended.
            if self.lanes[l].is_in_flight() {
                holding.counted[l] = applied.max(ask.held.get(i).copied().unwrap_or(u64::MAX));
                continue;
            }
            // The holder applies less than is counted: a lowering it confirms, or
            // one it made itself. What its window still holds above that cools.
            if applied < holding.counted[l] {
                let held = ask.held.get(i).copied().unwrap_or(u64::MAX).min(holding.counted[l]);
                if held > applied {
                    let window = self.lanes[l].window_ms;
                    let clear = ask.clear_ms.get(i).copied().unwrap_or(window).min(window);
                    let at = |ms: u64| now.saturating_add(ms.min(clear)).saturating_add(CLEAR_SLACK_MS);
                    // What is above each step frees at that step; steps out of
                    // order (a holder may say anything) are skipped.
                    let mut above = held;
                    for &[ms, level] in ask.clear_steps.get(i).map_or(&[][..], Vec::as_slice).iter().take(MOST_STEPS) {
                        if (applied..above).contains(&level) {
                            self.cool(l, above - level, at(ms));
                            above = level;
                        }
                    }
                    self.cool(l, above - applied, at(clear));
                }
                holding.counted[l] = applied;
            }
            // A holder that applies more than is counted (a stranger) spends it:
            // it is counted from now on.
            holding.counted[l] = holding.counted[l].max(applied);
        }
        self.holders.insert(ask.holder.clone(), holding);
        if lost {
            self.quarantine(born);
        }

        let mut shares = vec![0; ask.lanes.len()];
        let mut contended = vec![false; ask.lanes.len()];
        let mut renew_ms = self.policy.renew_ms;
        let mut short = false;
        for (i, lane) in lanes.iter().enumerate() {
            let Some(l) = *lane else { continue };
            let (share, lane_renew) = self.divide(&ask.holder, l, now);
            shares[i] = share;
            renew_ms = renew_ms.min(lane_renew);
            contended[i] = self.contended(l);
            short |= share < ask.want.get(i).copied().unwrap_or(0).min(self.lanes[l].limit);
        }
        if let Some(h) = self.holders.get_mut(&ask.holder) {
            h.short_since = if short { h.short_since.or(Some(now)) } else { None };
        }
        // Holders that joined together would renew together, and on Redis every
        // write but one would lose the race: a steady renewal comes up to a
        // quarter early, by a draw fixed by who asks and which ask it is.
        if renew_ms == self.policy.renew_ms {
            renew_ms -= spread(&ask.holder, ask.seq) % (renew_ms / 4).max(1);
        }
        self.grant(ask.seq, shares, renew_ms, contended)
    }

    fn contended(&self, l: usize) -> bool {
        !self.lanes[l].is_allowance() && total(self.holders.values().map(|h| h.want[l])) > self.lanes[l].limit
    }

    fn grant(&self, seq: u64, shares: Vec<u64>, renew_ms: u64, contended: Vec<bool>) -> Grant {
        Grant {
            seq,
            shares,
            renew_ms,
            expires_ms: self.policy.lease_ms,
            epoch: self.born.unwrap_or(0),
            holders: self.holders.len() as u32,
            contended,
        }
    }

    /// The asker's new share on lane `l`, and in how many ms it should come back.
    ///
    /// A holder's fair part is an equal split among those with calls waiting, up
    /// to its want; one with none waiting has no claim. Otherwise a share follows
    /// demand: twice what the holder wants (its window plus its queue), so that
    /// its calls seldom wait for an ask, and no more, so that a holder that dies
    /// strands little (its share stays counted for a lease and a window). Shares
    /// are sticky within a factor of two: a holder keeps what it has until someone
    /// else holds less than its fair part, or its demand falls to under a quarter
    /// of it.
    fn divide(&mut self, asker: &str, l: usize, now: u64) -> (u64, u64) {
        if self.lanes[l].is_allowance() {
            return (self.allow(asker, l), self.policy.renew_ms);
        }
        let limit = self.lanes[l].limit;
        let waiting = |h: &Holding| h.queued[l] > 0;
        // What the equal split leaves over goes one each to the waiting holders
        // that hold the most (by name among equals): 5 among 3 is 2, 2, 1.
        let mut wanting: Vec<(&String, &Holding)> = self.holders.iter().filter(|(_, h)| waiting(h)).collect();
        wanting.sort_by(|a, b| b.1.counted[l].cmp(&a.1.counted[l]).then(a.0.cmp(b.0)));
        let (base, over) = (limit / wanting.len().max(1) as u64, limit % wanting.len().max(1) as u64);
        // Those given one over the split, sorted by name to be found.
        let mut over_split: Vec<String> = wanting.iter().take(over as usize).map(|(name, _)| (*name).clone()).collect();
        over_split.sort();
        let part = |name: &str| base + u64::from(over_split.binary_search_by(|n| n.as_str().cmp(name)).is_ok());
        let fair = |name: &str, h: &Holding| if waiting(h) { h.want[l].min(part(name)) } else { 0 };
        let others = || self.holders.iter().filter(|(name, _)| name.as_str() != asker);
        let starving = others().any(|(name, h)| h.counted[l] < fair(name, h));
        // Another holder's queue runs dry (at its share's pace since it last said)
        // and it gives its share back then: those short of theirs should be there
        // to take it. Slots in flight (no window) may free at any moment.
        let window = self.lanes[l].window_ms;
        let drying: Vec<(u64, u64)> = others()
            .filter(|(_, h)| h.counted[l] > 0)
            .map(|(_, h)| (h.asked.saturating_add(h.queued[l].saturating_mul(window) / h.counted[l]), h.counted[l]))
            .collect();
        let next_dry = drying.iter().map(|&(dry, _)| dry).min();
        let cooling = self.cooling_on(l);
        let next_cooled = self.cooling.iter().filter(|c| c.lane == l).map(|c| c.until).min();
        let free = limit.saturating_sub(self.counted(l)).saturating_sub(cooling);
        // Those short of what they want wait in line (least held first, then
        // longest short): only as many as capacity may soon come free for come
        // back soon; the rest at the steady pace, so that a budget with more
        // holders than room is not asked over and over in vain.
        let in_line = |h: &Holding| waiting(h) && h.counted[l] < h.want[l].min(limit);
        let place = |h: &Holding| (h.counted[l], h.short_since.unwrap_or(u64::MAX));
        let mine = self.holders.get(asker).map(place).unwrap_or_default();
        let ahead = others().filter(|(_, o)| in_line(o) && place(o) < mine).count() as u64;
        let renewal_ends = now.saturating_add(self.policy.renew_ms);
        let soon_free = total(drying.iter().filter(|&&(dry, _)| dry <= renewal_ends).map(|&(_, share)| share));
        let in_reach = ahead < free.saturating_add(cooling).saturating_add(soon_free);
        let contended = self.contended(l);
        let live = self.holders.len() as u64;
        let h = self.holders.get_mut(asker).unwrap_or_else(|| unreachable!("the asker was just inserted"));
        let (counted, fair_share) = (h.counted[l], fair(asker, h));
        let joining = now < h.joined.saturating_add(JOINING_MS);
        // While someone starves, no one grows past its fair part; in a contended
        // lane, one with nothing waiting claims nothing more.
        let target = if starving {
            fair_share
        } else if contended && !waiting(h) {
            0
        } else {
            h.want[l].saturating_mul(2).min(limit)
        };
        let share = if (starving && counted > fair_share) || counted > target.saturating_mul(2) {
            target
        } else {
            // A newcomer takes a quarter of what is free at first, alone or
            // not: more may be arriving at the same moment (a deployment's
            // isolates, a fleet's processes), and what one takes whole cannot be
            // taken back before its window clears. It comes back at once for
            // the rest (see [`FIRST_PART_RENEW_MS`]).
            let take = if counted == 0 { free.div_ceil(4) } else { free };
            counted.max(target.min(counted.saturating_add(take)))
        };
        // A raise is counted now; a lowering once the holder confirms it.
        h.counted[l] = h.counted[l].max(share);
        let short = share < h.want[l].min(limit);
        let policy = self.policy;
        // Back as the next amount cools, if sooner: a queue that ran dry frees
        // its window call by call.
        let cooled_in =
            next_cooled.filter(|_| short && in_reach).map(|until| until.saturating_sub(now).max(FIRST_PART_RENEW_MS));
        let renew_ms = if counted == 0 && share > 0 && short {
            FIRST_PART_RENEW_MS
        } else if starving || share < fair_share || (joining && share > limit.div_ceil(live + 1)) {
            // Shares are moving, or may be about to (see [`JOINING_MS`]).
            policy.busy_renew_ms
        } else if share > limit.div_ceil(live) {
            // More than an equal split: another holder may start wanting at any
            // moment, and can be given its part only once this one hears of it.
            policy.soon_renew_ms
        } else if short && in_reach && free > share.saturating_sub(counted) {
            policy.soon_renew_ms
        } else if let Some(cooled_in) = cooled_in {
            cooled_in.min(policy.soon_renew_ms)
        } else if let Some(dry) = next_dry.filter(|_| short && in_reach) {
            dry.saturating_sub(now).max(policy.soon_renew_ms).min(policy.renew_ms)
        } else {
            policy.renew_ms
        };
        (share, renew_ms)
    }

    /// The asker's new share of allowance lane `l`: what it has spent, plus what
    /// waits or what its rate shares let it spend in a lease (with no token rate
    /// shared, a slice of the limit), whichever is more.
    /// What it spent stays counted, even past the share (a call that ran over);
    /// a share far above the target (a new calendar month, a rate share that
    /// shrank) comes down to it.
    fn allow(&mut self, asker: &str, l: usize) -> u64 {
        let free = self.lanes[l].limit.saturating_sub(self.counted(l)).saturating_sub(self.cooling_on(l));
        let lease_ms = self.policy.lease_ms;
        let lanes = &self.lanes;
        let h = self.holders.get_mut(asker).unwrap_or_else(|| unreachable!("the asker was just inserted"));
        let in_a_lease = (0..lanes.len())
            .filter(|&k| lanes[k].unit == Unit::Tokens && !lanes[k].is_allowance())
            .map(|k| h.counted[k].saturating_mul((lease_ms / lanes[k].window_ms.max(1)).max(1)))
            .min()
            .unwrap_or(lanes[l].limit / MOST_HOLDERS as u64);
        let held = h.want[l].saturating_sub(h.queued[l]);
        let target = held.saturating_add(h.queued[l].max(in_a_lease));
        let counted = h.counted[l];
        let share = if counted > target.saturating_mul(2) {
            target
        } else {
            counted.max(target.min(counted.saturating_add(free)))
        };
        h.counted[l] = counted.max(share).max(held);
        share
    }

    /// The coordinator lane for `lane`, added if new (up to [`MOST_LANES`]); its
    /// limit becomes what the holder believes, the latest word on it.
    fn lane_for(&mut self, lane: &SharedLane) -> Option<usize> {
        if let Some(l) = self.lanes.iter().position(|x| x.same_lane(lane)) {
            self.lanes[l].limit = lane.limit;
            return Some(l);
        }
        if self.lanes.len() >= MOST_LANES {
            return None;
        }
        self.lanes.push(*lane);
        for h in self.holders.values_mut() {
            h.counted.push(0);
            h.want.push(0);
            h.queued.push(0);
        }
        Some(self.lanes.len() - 1)
    }

    fn counted(&self, l: usize) -> u64 {
        total(self.holders.values().map(|h| h.counted[l]))
    }

    fn cooling_on(&self, l: usize) -> u64 {
        total(self.cooling.iter().filter(|c| c.lane == l).map(|c| c.amount))
    }

    /// A holder that knew another coordinator asks within a lease of this one's
    /// birth at `born`: the state was lost (a Redis restarted without persistence,
    /// storage wiped), and the leases the lost state granted may still be spent. Until they have all expired and cooled, what is free
    /// on every rate lane stays unused; those leases' holders are counted as they
    /// ask, and keep what they apply.
    fn quarantine(&mut self, born: u64) {
        if self.quarantined {
            return;
        }
        self.quarantined = true;
        for l in 0..self.lanes.len() {
            let lane = self.lanes[l];
            if lane.is_allowance() {
                continue;
            }
            let free = lane.limit.saturating_sub(self.counted(l)).saturating_sub(self.cooling_on(l));
            let until = born
                .saturating_add(self.policy.lease_ms)
                .saturating_add(lane.window_ms)
                .saturating_add(self.policy.margin_ms);
            self.cool(l, free, until);
        }
    }

    /// Counts `amount` on lane `l` until `until`. Amounts that free within a
    /// thousandth of the window of each other are kept as one (freed at the
    /// later time), so that holders dying through a month keep the list short.
    fn cool(&mut self, l: usize, amount: u64, until: u64) {
        if amount == 0 {
            return;
        }
        let near = self.lanes[l].window_ms / 1000;
        match self.cooling.iter_mut().find(|c| c.lane == l && c.until.abs_diff(until) <= near) {
            Some(c) => {
                c.amount = c.amount.saturating_add(amount);
                c.until = c.until.max(until);
            }
            None => self.cooling.push(Cooling { lane: l, amount, until }),
        }
    }

    /// Leases that ended cool for a window; cooled capacity is free.
    fn expire(&mut self, now: u64) {
        let ended: Vec<String> =
            self.holders.iter().filter(|(_, h)| h.expires <= now).map(|(n, _)| n.clone()).collect();
        for name in ended {
            let Some(h) = self.holders.remove(&name) else { continue };
            for (l, &amount) in h.counted.iter().enumerate() {
                if amount > 0 {
                    self.cool(
                        l,
                        amount,
                        h.expires.saturating_add(self.lanes[l].window_ms).saturating_add(self.policy.margin_ms),
                    );
                }
            }
        }
        self.cooling.retain(|c| c.until > now);
    }
}

/// A number drawn from `holder` and `seq` (FNV-1a): the same ask, the same draw,
/// so that a replay of the asks gives the same grants.
fn spread(holder: &str, seq: u64) -> u64 {
    holder
        .bytes()
        .chain(seq.to_le_bytes())
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// A sum that stops at `u64::MAX` (a holder may say anything).
fn total(amounts: impl Iterator<Item = u64>) -> u64 {
    amounts.fold(0, u64::saturating_add)
}

#[cfg(test)]
mod tests;
