//! What the server teaches the lanes: the limits and counts its replies state,
//! and its 429s, judged against what left around them (see `inference`).

use std::time::Duration;

use super::super::in_flight::Verdict;
use super::super::inference::{step, Around, LimitCause, LimitChange, EVIDENCE, NEGLIGIBLE};
use super::super::lane::{Lane, LaneSpec, Unit, UNCONFIGURED};
use super::super::start::Start;
use super::{Core, Refused};
use crate::feedback::ServerReport;
use crate::time::Instant;
use crate::units::LONG;

impl Core {
    /// Applies a report; returns how many of its limits were ignored (a new window
    /// when `MAX_LEARNED` lanes are learned already, a 0 for a window not known).
    pub(crate) fn observe_server(&mut self, report: &ServerReport, model: Option<&str>, now: Instant) -> u32 {
        let now = self.advance(now);
        let mut ignored = 0;
        for limit in &report.limits {
            let lane = match self.lanes.find(model, limit.unit, limit.window) {
                Some(i) => i,
                None => match limit.limit {
                    Some(l) if l > 0 => {
                        let spec = LaneSpec { unit: limit.unit, capacity: l, window: limit.window };
                        match self.lanes.learn(model, spec, now) {
                            Some(i) => i,
                            None => {
                                ignored += 1;
                                continue;
                            }
                        }
                    }
                    Some(_) => {
                        ignored += 1;
                        continue;
                    }
                    None => continue,
                },
            };
            let margin = self.margin.current(self.sent.open());
            let lane = &mut self.lanes.lanes[lane];
            // A learned lane lives on while replies name it with a limit.
            if lane.confirmed.is_some() && limit.limit.is_some_and(|l| l > 0) {
                lane.confirmed = Some(now);
            }
            let hold = lane.spec.window + margin;
            match limit.limit {
                // Evidence, not command: a zero pauses the lane for a window; a later
                // reply says what the limit is.
                Some(0) => lane.pause(now, hold),
                Some(l) => lane.learn_capacity(l),
                None => {}
            }
            let Some(remaining) = limit.remaining else { continue };
            if lane.spec.capacity == UNCONFIGURED {
                continue;
            }
            // The server's count includes other clients of the workspace. Hold
            // the difference from now, as if it had just been spent; with a share
            // of a shared budget, the rest of the limit is the others' to spend.
            // What it has used is its own limit less what remains: a lane
            // configured below the server's limit would otherwise read a large
            // remainder as nothing used.
            let server_limit = limit.limit.filter(|l| *l > 0).unwrap_or(lane.spec.capacity);
            let server_used = server_limit.saturating_sub(remaining);
            let others = lane.spec.capacity.saturating_sub(lane.cap());
            let unseen = server_used.saturating_sub(lane.held().saturating_add(others));
            if unseen > 0 {
                lane.book(now, unseen, hold);
                self.counters.tightened += unseen;
            } else if lane.spec.window >= LONG && lane.spec.unit == Unit::Tokens {
                // A month's quota resets with the calendar while a 31-day lane still
                // holds last month: believe the server, beside what is in flight.
                let in_flight: u64 = self.bookings.values().map(|b| b.tokens).sum();
                let believed = server_used.saturating_add(in_flight);
                lane.release_oldest(lane.held().saturating_sub(believed));
            }
        }
        self.pump(now);
        ignored
    }

    pub(crate) fn observe_rate_limited(&mut self, pause: Duration, refused: Option<Refused>, now: Instant) {
        let now = self.advance(now);
        self.counters.rate_limited += 1;
        match refused {
            // A refusal at a level a step had just raised a lane to needs no other
            // answers: the step was one too many. The lane is back under the
            // limit at once, and its books hold what the window still counts, so
            // nothing else need pause (a pause at each failed probe cost the
            // learned-limits run up to a second of the whole client's calls).
            Some(r) if self.lane_that_bit(&r).is_some_and(|(i, ..)| self.lanes.lanes[i].is_stepped()) => {
                self.judge_one(&r, now);
                self.pump(now);
                return;
            }
            // Rising after the start, a lane has just passed the limit: it stops
            // at what the server counted ahead of the refused request, before
            // more go out while the others are answered. On a busy event loop
            // the 429 comes back many steps later, and those read after it, of
            // requests that left before, lower it to what they show (see
            // `rise_found`).
            Some(r) if let Some((i, cost)) = self.rising_lane(&r) => {
                let limit = self.rise_found(i, &r, cost);
                if let Some(cause) = self.lanes.lanes[i].after_rise_429(limit, now) {
                    self.record_change(i, cause);
                }
            }
            // The number in flight explains it, arrivals need not.
            Some(r) if self.explained_in_flight(&r, now) => {}
            Some(r) => {
                let patience = (now - r.left) * 2 + Duration::from_millis(50);
                self.verdicts.push((r, patience));
                self.judge(now);
            }
            None => self.widen_if_within(),
        }
        self.closed_until = self.closed_until.max(now + pause);
        self.pump(now);
    }

    pub(crate) fn keep_request_reading(&mut self) {
        self.in_flight.learn = false;
    }

    /// Whether a cap on requests in flight (learned now, or in force) explains the
    /// refusal of `r` and the acceptances around it (see `in_flight`). Learning
    /// one makes the workspace's configured request rate a guard at twice its
    /// figure; a refusal that refutes it takes the rate up again.
    fn explained_in_flight(&mut self, r: &Refused, now: Instant) -> bool {
        if !self.in_flight.learn {
            return false;
        }
        let rate = self.lanes.workspace.iter().copied().find(|&i| {
            let l = &self.lanes.lanes[i];
            l.spec.unit == Unit::Requests && l.configured != UNCONFIGURED
        });
        // A 429 another lane (tokens, a model's) explains by its books is its own.
        if self.lane_that_bit(r).is_some_and(|(i, ..)| Some(i) != rate) {
            return false;
        }
        let window = rate.map_or(Duration::from_secs(1), |i| self.lanes.lanes[i].spec.window);
        let Some(seen) = self.sent.in_flight_seen(r.booking, window, r.at) else { return false };
        let verdict = self.in_flight.judge(seen, rate.map_or(1, |i| self.lanes.lanes[i].spec.capacity));
        let Some(i) = rate else { return matches!(verdict, Verdict::Explained | Verdict::Learned(_)) };
        let lane = &mut self.lanes.lanes[i];
        match verdict {
            Verdict::Explained => true,
            Verdict::Learned(cap) => {
                lane.guard = true;
                self.changes.push(LimitChange {
                    lane: "requests/in-flight".into(),
                    model: None,
                    limit: cap,
                    configured: lane.configured,
                    cause: LimitCause::RateLimited,
                });
                true
            }
            // What was sent without the rate says nothing of its limit.
            Verdict::Refuted => {
                lane.guard = false;
                lane.changed = now;
                true
            }
            Verdict::Unexplained => false,
        }
    }

    /// Every lane had room by our books, yet the server refused: arrivals bunched
    /// more than the margin allowed for.
    fn widen_if_within(&mut self) {
        if self.lanes.lanes.iter().all(|l| l.held() <= l.cap()) {
            self.margin.widen(self.now);
        }
    }

    /// Judges the 429s whose neighbours are all answered (see `inference`).
    pub(super) fn judge(&mut self, now: Instant) {
        let mut waiting = Vec::new();
        for (r, patience) in std::mem::take(&mut self.verdicts) {
            let window = r.lanes.iter().map(|&i| self.lanes.lanes[i].spec).filter(|s| s.unit == Unit::Requests);
            let window = window.map(|s| s.window).filter(|w| *w <= EVIDENCE).max().unwrap_or_default();
            let around = Around::new(r.left, r.at, window);
            if around.settled(&self.sent, now, patience) {
                self.judge_one(&r, now);
            } else {
                waiting.push((r, patience));
            }
        }
        self.verdicts.extend(waiting);
    }

    fn judge_one(&mut self, r: &Refused, now: Instant) {
        let Some((i, load, cost)) = self.lane_that_bit(r) else { return self.widen_if_within() };
        let lane = &mut self.lanes.lanes[i];
        if r.left < lane.changed {
            return;
        }
        // Under its limit by the books, the limit is what was accepted. At it,
        // arrivals bunched or the limit is lower: the first time the margin
        // widens; again within a few windows, the lane drops by what was refused
        // in the last window (see `inference`). A step up that fails drops back.
        let full = load >= lane.spec.capacity;
        if full && !lane.is_stepped() && lane.first_strike(now) {
            self.margin.widen(now);
            return;
        }
        let lower = if full {
            let scope = if self.lanes.workspace.contains(&i) { None } else { r.model.as_deref() };
            let refused = match lane.spec.unit {
                Unit::Requests => self.sent.refused_within(scope, now, lane.spec.window, lane.changed),
                Unit::Tokens => step(lane.spec.capacity),
            };
            // Never more than half at once: a whole batch that met a late one
            // is refused together.
            lane.spec.capacity - refused.max(cost).min(lane.spec.capacity / 2)
        } else {
            load - cost
        };
        if let Some(cause) = lane.after_429(lower.max(cost), now) {
            self.record_change(i, cause);
        }
    }

    /// Of the lanes still rising from the start (see `start::Start`) that the
    /// refused request was charged to, the fullest for what it may spend now:
    /// its index and the request's cost on it. Before any reply, a refusal of a
    /// request that left at half says the limit is lower still: the evidence
    /// judges it, as it would a refusal at any other level.
    fn rising_lane(&self, r: &Refused) -> Option<(usize, u64)> {
        let rising = |l: &Lane| match l.start {
            Start::Rising { heard: true, .. } => true,
            // A refusal read after the first, of a request that left as it rose:
            // what was answered since tells better what the server counted.
            Start::Found { at } => r.left < at && counts_ahead(l),
            start => matches!(start.rise(r.left), Start::Rising { done: 1.., .. }),
        };
        r.lanes
            .iter()
            .map(|&i| (i, &self.lanes.lanes[i]))
            .filter(|(_, l)| l.inferable() && rising(l))
            .map(|(i, l)| (i, l.spec.cost_of(r.tokens), l.held() as f64 / l.start.limit(l.spec.capacity) as f64))
            .max_by(|a, b| a.2.total_cmp(&b.2))
            .map(|(i, cost, _)| (i, cost))
    }

    /// The limit a 429 during the start's rise shows on lane `i`: a step below
    /// the level it had risen to when the refused request left (or the limit
    /// now, for one read after the rise stopped: on a loaded machine arrivals
    /// reorder, and each late 429 may lower it a step at most) and, on a
    /// request lane, the requests
    /// that left in the window before the refused one and were not refused, if
    /// more: the server counted at most those, and refused the next. On a busy
    /// event loop the first 429 read may be of the fifth unit past the limit,
    /// and a step below its level still lets the next window refuse three; the
    /// level keeps a refusal of a request that arrived ahead of others that
    /// left before it from counting only those.
    fn rise_found(&self, i: usize, r: &Refused, cost: u64) -> u64 {
        let lane = &self.lanes.lanes[i];
        let level = match lane.start {
            Start::Found { .. } => lane.spec.capacity,
            start => start.rise(r.left).limit(lane.spec.capacity),
        };
        let below = level.saturating_sub(step(level).max(cost));
        let found = if counts_ahead(lane) {
            let scope = if self.lanes.workspace.contains(&i) { None } else { r.model.as_deref() };
            self.sent.ahead_of(r.booking, r.left, lane.spec.window, scope).max(below)
        } else {
            below
        };
        found.max(cost)
    }

    /// The lane a 429 hit, if a 429 may lower it (see `inference`): its index,
    /// the load and the refused request's cost on it. A limit a reply stated
    /// explains the 429 only if the books hold more than it; otherwise, of the
    /// lanes whose limit is a guess, the one with the highest load for its
    /// capacity, if that load is not negligible.
    fn lane_that_bit(&self, r: &Refused) -> Option<(usize, u64, u64)> {
        let model = r.model.as_deref();
        let mut best: Option<(usize, u64, u64, f64)> = None;
        for &i in &r.lanes {
            let lane = &self.lanes.lanes[i];
            if lane.spec.capacity == UNCONFIGURED || lane.spec.window >= LONG {
                continue;
            }
            let cost = lane.spec.cost_of(r.tokens);
            let load = match lane.spec.unit {
                Unit::Requests if lane.spec.window <= EVIDENCE => {
                    let scope = if self.lanes.workspace.contains(&i) { None } else { model };
                    Around::new(r.left, r.at, lane.spec.window).load(&self.sent, scope)
                }
                // The books: they still hold the refused request, not its tokens.
                Unit::Requests => lane.held(),
                Unit::Tokens => lane.held().saturating_add(cost),
            };
            // With a share of a shared budget, the rest is the others' to spend.
            let load = load.saturating_add(lane.share.map_or(0, |s| lane.spec.capacity.saturating_sub(s)));
            if !lane.inferable() {
                if load > lane.spec.capacity {
                    return None;
                }
                continue;
            }
            let share = load as f64 / lane.spec.capacity as f64;
            if share >= NEGLIGIBLE && best.is_none_or(|b| share > b.3) {
                best = Some((i, load, cost, share));
            }
        }
        best.map(|(i, load, cost, _)| (i, load, cost))
    }
}

/// Whether what a 429 shows of `lane` is the requests that left ahead of the
/// refused one: a request lane whose departures are kept, not a share.
fn counts_ahead(lane: &Lane) -> bool {
    lane.spec.unit == Unit::Requests && lane.spec.window <= EVIDENCE && lane.share.is_none()
}
