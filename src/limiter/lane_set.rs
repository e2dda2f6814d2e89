//! The lanes a limiter enforces, and which of them a request is charged to: every
//! workspace lane, plus the lanes of the request's model, if it has any.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use super::lane::{Lane, LaneSpec, Slot, Unit, UNCONFIGURED};

/// The most lanes replies may add: windows the user did not configure, for the
/// workspace or a model. Further ones are ignored.
pub const MAX_LEARNED: usize = 16;
use super::Rejection;
use crate::time::Instant;

/// When a demand fits, given the lanes as they are.
#[derive(Debug)]
pub(crate) enum Fit {
    Now,
    At(Instant),
    Never(Rejection),
}

/// One admission's cost on one lane, kept so it can be settled.
#[derive(Debug)]
pub(crate) struct Booked {
    pub(crate) lane: usize,
    pub(crate) slot: Slot,
}

/// A request as the lanes see it: its token count and its model's scope.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Load<'a> {
    pub(crate) tokens: u64,
    pub(crate) model: Option<&'a str>,
}

#[derive(Debug, Default)]
pub(crate) struct LaneSet {
    pub(crate) lanes: Vec<Lane>,
    pub(crate) workspace: Vec<usize>,
    pub(crate) models: HashMap<Rc<str>, Vec<usize>>,
}

impl LaneSet {
    pub(crate) fn add(&mut self, model: Option<&str>, spec: LaneSpec) -> usize {
        self.push(model, Lane::new(spec))
    }

    /// Adds a lane a reply named, unless [`MAX_LEARNED`] are already learned.
    pub(crate) fn learn(&mut self, model: Option<&str>, spec: LaneSpec, now: Instant) -> Option<usize> {
        let learned = self.lanes.iter().filter(|l| l.confirmed.is_some()).count();
        (learned < MAX_LEARNED).then(|| self.push(model, Lane::learned(spec, now)))
    }

    fn push(&mut self, model: Option<&str>, lane: Lane) -> usize {
        let id = self.lanes.len();
        self.lanes.push(lane);
        match model {
            None => self.workspace.push(id),
            Some(m) => self.models.entry(Rc::from(m)).or_default().push(id),
        }
        id
    }

    /// The lanes a request for `model` is charged to.
    pub(crate) fn scope<'a>(&'a self, model: Option<&str>) -> impl Iterator<Item = usize> + 'a {
        let own = model.and_then(|m| self.models.get(m)).map(Vec::as_slice).unwrap_or(&[]);
        self.workspace.iter().chain(own).copied()
    }

    /// The model lane `i` belongs to; `None` for a workspace lane.
    pub(crate) fn model_of(&self, i: usize) -> Option<&str> {
        self.models.iter().find(|(_, ids)| ids.contains(&i)).map(|(m, _)| &**m)
    }

    /// Whether lane `i` is shown and binds: every configured lane, and learned ones
    /// a reply has named lately.
    pub(crate) fn is_live(&self, i: usize, now: Instant) -> bool {
        !self.lanes[i].is_idle(now)
    }

    /// The lane of `unit` and `window` a report about `model` speaks of: the model's
    /// own first, then the workspace's.
    pub(crate) fn find(&self, model: Option<&str>, unit: Unit, window: Duration) -> Option<usize> {
        let own = model.and_then(|m| self.models.get(m)).map(Vec::as_slice).unwrap_or(&[]);
        own.iter()
            .chain(&self.workspace)
            .copied()
            .find(|&i| self.lanes[i].spec.unit == unit && self.lanes[i].spec.window == window)
    }

    pub(crate) fn expire(&mut self, now: Instant) {
        for lane in &mut self.lanes {
            lane.expire(now);
            lane.start = lane.start.rise(now);
            if lane.is_idle(now) {
                // Binds no more until a reply names it again (see Lane::is_idle).
                lane.spec.capacity = UNCONFIGURED;
            }
        }
    }

    pub(crate) fn fit(&self, now: Instant, load: Load<'_>) -> Fit {
        let mut at = now;
        for i in self.scope(load.model) {
            let lane = &self.lanes[i];
            let cost = lane.spec.cost_of(load.tokens);
            match lane.earliest_fit(now, cost) {
                Some(t) => at = at.max(t),
                None => {
                    return Fit::Never(Rejection::TooLarge {
                        lane: lane.spec.name(),
                        cost,
                        capacity: lane.spec.capacity,
                    })
                }
            }
        }
        if at == now {
            Fit::Now
        } else {
            Fit::At(at)
        }
    }

    /// Whether `cand` fits now without making the head, due at `head_at`, wait longer.
    pub(crate) fn admissible_beside(
        &self,
        now: Instant,
        margin: Duration,
        cand: Load<'_>,
        head: Load<'_>,
        head_at: Instant,
    ) -> bool {
        let own = cand.model.and_then(|m| self.models.get(m)).map(Vec::as_slice).unwrap_or(&[]);
        let shares_model = cand.model == head.model;
        let lanes = self.workspace.iter().map(|&i| (i, true)).chain(own.iter().map(|&i| (i, shares_model)));
        for (i, shared) in lanes {
            let lane = &self.lanes[i];
            let cost = lane.spec.cost_of(cand.tokens);
            if cost > lane.free() {
                return false;
            }
            if shared {
                let hold = lane.spec.window + margin;
                let at_head = lane.held_at_after_booking(now, cost, hold, head_at);
                if at_head + lane.spec.cost_of(head.tokens) > lane.cap() {
                    return false;
                }
            }
        }
        true
    }

    pub(crate) fn book(&mut self, now: Instant, margin: Duration, load: Load<'_>) -> Vec<Booked> {
        let scope: Vec<usize> = self.scope(load.model).collect();
        scope
            .into_iter()
            .map(|i| {
                let lane = &mut self.lanes[i];
                let cost = lane.spec.cost_of(load.tokens);
                let slot = lane.book(now, cost, lane.spec.window + margin);
                Booked { lane: i, slot }
            })
            .collect()
    }

    /// The least that is free now on the workspace lanes, per unit. Every request is
    /// charged to these, so nothing costing more can be admitted now.
    pub(crate) fn workspace_free(&self) -> (u64, u64) {
        let mut free = (u64::MAX, u64::MAX);
        for &i in &self.workspace {
            let lane = &self.lanes[i];
            match lane.spec.unit {
                Unit::Requests => free.0 = free.0.min(lane.free()),
                Unit::Tokens => free.1 = free.1.min(lane.free()),
            }
        }
        free
    }

    /// A time before which no waiter costing at least `min_tokens` can fit: the latest
    /// of the workspace lanes' earliest fits for that cost.
    pub(crate) fn earliest_any_fit(&self, now: Instant, min_tokens: u64) -> Option<Instant> {
        self.workspace.iter().try_fold(now, |at, &i| {
            let lane = &self.lanes[i];
            lane.earliest_fit(now, lane.spec.cost_of(min_tokens)).map(|t| at.max(t))
        })
    }

    /// A time before which a newcomer costing `tokens` cannot be admitted when
    /// `ahead` (requests, tokens) are served first: on each workspace lane all of
    /// them must fit, and no lane admits more than its capacity in a window.
    pub(crate) fn bound_behind(&self, now: Instant, ahead: (u64, u64), tokens: u64) -> Option<Instant> {
        self.workspace.iter().try_fold(now, |at, &i| {
            let lane = &self.lanes[i];
            let cap = lane.cap();
            let need = match lane.spec.unit {
                Unit::Requests => ahead.0 + 1,
                Unit::Tokens => ahead.1 + tokens,
            };
            let t = if need <= cap {
                lane.earliest_fit(now, need)?
            } else {
                // Admissions within one window are all held together: at most `cap`.
                let windows = u32::try_from(need.div_ceil(cap.max(1)) - 1).unwrap_or(u32::MAX);
                now + lane.spec.window.saturating_mul(windows)
            };
            Some(at.max(t))
        })
    }

    /// The next step of a starting lane's rise, if one is rising.
    pub(crate) fn next_rise(&self) -> Option<Instant> {
        self.lanes.iter().filter_map(|l| l.start.next_step()).min()
    }

    /// The next instant at which some held cost stops counting.
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        self.lanes.iter().filter_map(Lane::next_expiry).min()
    }
}
