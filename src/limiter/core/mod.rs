//! The limiter's state and its scheduler. [`super::Limiter`] is a handle around it.
//!
//! Invariant kept by [`Core::pump`]: when it returns, no waiter could be admitted at
//! that instant. It serves the head when it fits, otherwise works out when the head
//! will fit (`head_at`) and admits, in serving order, every later waiter that fits
//! now and does not push `head_at` back. It stops early once nothing can fit: when a
//! workspace lane has less free than the cheapest waiter needs.
//!
//! Here: admission (reserve, serve, settle). What replies and 429s teach the
//! lanes is in [`learning`]; what the limiter shows and shares, in [`views`].

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use super::in_flight::InFlight;
use super::inference::{Departures, LimitCause, LimitChange};
use super::lane::{LaneSpec, Unit};
use super::lane_set::{Booked, Fit, LaneSet, Load};
use super::margin::Margin;
use super::queue::{Key, Queue, Waiting};
use super::start::Start;
use super::status::Counters;
use super::{Arrival, Demand, LimiterConfig, Rejection, Settlement, WaiterId};

use crate::time::Instant;

mod learning;
mod views;

/// An admitted request's cost on each lane, until it is settled.
#[derive(Debug)]
pub(crate) struct Booking {
    pub(crate) tokens: u64,
    at: Instant,
    /// The place in line it was admitted from.
    arrival: u64,
    model: Option<Rc<str>>,
    slots: Vec<Booked>,
    /// The latest arrival its slots allow for: when they count from, plus the
    /// margin they are held for beyond the window.
    covers: Instant,
    /// When it left, once it has (see [`Core::answered`]).
    left: Option<Instant>,
    /// It left during the margin's warm-up: it may have waited for a connection.
    left_warming: bool,
}

impl Booking {
    /// Moves its costs to entries booked at `now` that cover an arrival as late
    /// as `covers`: each is held until a window of its lane after that.
    fn rebook(&mut self, lanes: &mut LaneSet, now: Instant, covers: Instant) {
        self.covers = covers;
        for b in &mut self.slots {
            let lane = &mut lanes.lanes[b.lane];
            let cost = lane.spec.cost_of(self.tokens);
            lane.refund(b.slot, cost);
            b.slot = lane.book(now, cost, (covers + lane.spec.window).saturating_since(now));
        }
    }
}

/// What a request refused with a 429 tells about the lanes it was charged to.
#[derive(Debug)]
pub struct Refused {
    booking: u64,
    left: Instant,
    /// When its 429 came.
    at: Instant,
    tokens: u64,
    model: Option<Rc<str>>,
    lanes: Vec<usize>,
}

/// What became of a waiter that left the queue but has not been told yet.
#[derive(Debug)]
pub(crate) enum Outcome {
    Admitted(u64),
    Rejected(Rejection),
}

/// What [`Core::reserve`] decided.
pub(crate) enum Decision {
    Admitted(u64),
    Queued { key: Key, predicted: Instant },
}

#[derive(Debug)]
pub(crate) struct Core {
    lanes: LaneSet,
    queue: Queue,
    bookings: HashMap<u64, Booking>,
    outcomes: HashMap<Key, Outcome>,
    woken: Vec<WaiterId>,
    next_id: u64,
    /// The latest instant seen: time inside the core never goes back.
    now: Instant,
    /// After a 429, nothing is admitted before this.
    closed_until: Instant,
    /// When the current head is predicted to fit (valid after a pump).
    head_at: Option<Instant>,
    /// Nothing can be admitted or refused before this without an event (see
    /// [`Core::compute_wake`]); `None` when nothing waits.
    wake: Option<Instant>,
    pub(crate) margin: Margin,
    counters: Counters,
    /// Requests sent lately: a 429's evidence.
    sent: Departures,
    /// 429s waiting for the requests around them to be answered, each with how
    /// long an unanswered one may take before it counts as accepted.
    verdicts: Vec<(Refused, Duration)>,
    /// Limits changed by 429s and probes, until the client reports them.
    changes: Vec<LimitChange>,
    /// The cap on live bookings (requests in flight).
    in_flight: InFlight,
}

impl Core {
    pub(crate) fn new(config: &LimiterConfig) -> Core {
        let mut lanes = LaneSet::default();
        for spec in &config.lanes {
            lanes.add(None, *spec);
        }
        for (model, spec) in &config.model_lanes {
            lanes.add(Some(model), *spec);
        }
        Core {
            lanes,
            queue: Queue::default(),
            bookings: HashMap::new(),
            outcomes: HashMap::new(),
            woken: Vec::new(),
            next_id: 0,
            now: Instant::ZERO,
            closed_until: Instant::ZERO,
            head_at: None,
            wake: None,
            margin: Margin::new(config.margin),
            counters: Counters::default(),
            sent: Departures::default(),
            verdicts: Vec::new(),
            changes: Vec::new(),
            in_flight: InFlight::new(config.in_flight),
        }
    }

    /// Moves time forward to `now` (never back) and returns the instant to use.
    fn advance(&mut self, now: Instant) -> Instant {
        self.now = self.now.max(now);
        self.margin.pass(self.now);
        self.lanes.expire(self.now);
        for i in 0..self.lanes.lanes.len() {
            if self.lanes.lanes[i].probe_due(self.now) {
                self.record_change(i, LimitCause::Probe);
            }
        }
        if !self.verdicts.is_empty() {
            self.judge(self.now);
        }
        self.now
    }

    fn record_change(&mut self, i: usize, cause: LimitCause) {
        let lane = &self.lanes.lanes[i];
        self.changes.push(LimitChange {
            lane: lane.spec.name(),
            model: self.lanes.model_of(i).map(str::to_owned),
            limit: lane.spec.capacity,
            configured: lane.configured,
            cause,
        });
    }

    /// The limits 429s and probes changed since the last call.
    pub(crate) fn drain_changes(&mut self) -> Vec<LimitChange> {
        std::mem::take(&mut self.changes)
    }

    /// Slots in flight free now.
    fn slots_free(&self) -> u64 {
        self.in_flight.free(self.bookings.len())
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(crate) fn add_lane(&mut self, model: Option<&str>, spec: LaneSpec, now: Instant) {
        self.lanes.add(model, spec);
        self.pump(now);
    }

    pub(crate) fn reserve(&mut self, demand: &Demand, now: Instant) -> Result<Decision, Rejection> {
        self.catch_up(now);
        let now = self.now;
        let load = Load { tokens: demand.tokens, model: demand.model.as_deref() };
        let alone = match self.lanes.fit(now, load) {
            Fit::Never(r) => return Err(self.reject(r)),
            Fit::Now => now,
            Fit::At(t) => t,
        }
        .max(self.closed_until);
        // A newcomer is served after everyone of its class and above: their costs
        // must pass first. (A retry keeps an earlier place; it is not bounded so.)
        let predicted = match demand.arrival {
            None if !self.queue.is_empty() => {
                let ahead = self.queue.ahead_of(demand.priority);
                self.lanes.bound_behind(now, ahead, demand.tokens).map_or(alone, |b| alone.max(b))
            }
            _ => alone,
        };
        // Arrival numbers only grow, so an earlier attempt's sorts before later calls.
        let seq = match demand.arrival {
            Some(a) => a.0,
            None => self.id(),
        };
        let key = Key { priority: demand.priority, seq };
        if alone == now && self.slots_free() > 0 {
            // Nothing waiting could be admitted now (the pump's invariant), so the only
            // question is whether this one may pass the head, if there is one (and
            // leave it a slot in flight).
            let passes = match self.queue.head() {
                None => true,
                Some((head_key, _)) if key < head_key => true,
                Some(_) if self.slots_free() < 2 => false,
                Some((_, head)) => {
                    let head_load = Load { tokens: head.tokens, model: head.model.as_deref() };
                    let head_at = self.head_at.expect("a queue with a head has a head time after a pump");
                    self.lanes.admissible_beside(now, self.margin.current(self.sent.open()), load, head_load, head_at)
                }
            };
            if passes {
                return Ok(Decision::Admitted(self.admit(now, load, key.seq)));
            }
        }
        if demand.deadline.is_some_and(|d| predicted > d) {
            return Err(self.reject(Rejection::Deadline { predicted_wait: Some(predicted - now) }));
        }
        self.queue.push(
            key,
            Waiting {
                tokens: demand.tokens,
                model: demand.model.as_deref().map(Rc::from),
                deadline: demand.deadline,
                group: demand.group.as_deref().map(Rc::from),
            },
        );
        self.counters.queued += 1;
        // Behind the head nothing changed for anyone else. A new head changes what
        // the waiters behind it may pass.
        if self.queue.head().is_some_and(|(k, _)| k == key) {
            self.pump(now);
        } else {
            self.wake = self.compute_wake();
        }
        Ok(Decision::Queued { key, predicted })
    }

    fn reject(&mut self, r: Rejection) -> Rejection {
        self.counters.rejected += 1;
        r
    }

    fn admit(&mut self, now: Instant, load: Load<'_>, arrival: u64) -> u64 {
        let margin = self.margin.current(self.sent.open());
        let slots = self.lanes.book(now, margin, load);
        for b in &slots {
            self.lanes.lanes[b.lane].note_fill();
        }
        let id = self.id();
        let model = load.model.map(Rc::from);
        let covers = now + margin;
        self.bookings.insert(
            id,
            Booking { tokens: load.tokens, at: now, arrival, model, slots, covers, left: None, left_warming: false },
        );
        self.counters.admitted += 1;
        id
    }

    /// Pumps only if something may have become possible since the last pump.
    pub(crate) fn catch_up(&mut self, now: Instant) {
        let now = self.advance(now);
        if self.wake.is_some_and(|w| now >= w) {
            self.pump(now);
        }
    }

    /// Serves the queue at `now` (see the module docs) and works out the next wake-up.
    pub(crate) fn pump(&mut self, now: Instant) {
        self.serve(now);
        self.wake = self.compute_wake();
    }

    fn serve(&mut self, now: Instant) {
        let now = self.advance(now);
        self.drop_missed_deadlines(now);
        self.head_at = None;
        if now < self.closed_until {
            self.head_at = self.queue.head().map(|_| self.closed_until);
            return;
        }
        let margin = self.margin.current(self.sent.open());
        // Serve heads while they fit.
        let (head_key, head_at) = loop {
            let Some((key, head)) = self.queue.head() else { return };
            let load = Load { tokens: head.tokens, model: head.model.as_deref() };
            match self.lanes.fit(now, load) {
                Fit::Now if self.slots_free() > 0 => self.release(key, now),
                Fit::Never(r) => self.finish(key, Outcome::Rejected(r)),
                Fit::Now => break (key, now),
                Fit::At(t) => break (key, t),
            }
        };
        self.head_at = Some(head_at);
        // Every slot in flight is taken, or the last is kept for the head.
        if self.slots_free() < 2 {
            return;
        }
        // Backfill behind the head. Admissions only shrink the room, so once a cost
        // fails for a model's scope, no larger cost of that scope can pass: remember
        // the smallest failure per scope and skip the lane checks above it.
        let mut failed: Vec<(Option<Rc<str>>, u64)> = Vec::new();
        let mut cursor = head_key;
        while let Some((key, w)) = self.queue.after(cursor) {
            cursor = key;
            if self.slots_free() < 2 {
                break;
            }
            let (req_free, tok_free) = self.lanes.workspace_free();
            if req_free == 0 || self.queue.min_tokens().is_some_and(|m| m > tok_free) {
                break;
            }
            if failed.iter().any(|(m, c)| *m == w.model && w.tokens >= *c) {
                continue;
            }
            let head = self.queue.head().map(|(_, h)| h).expect("the head is still queued");
            let head_load = Load { tokens: head.tokens, model: head.model.as_deref() };
            let load = Load { tokens: w.tokens, model: w.model.as_deref() };
            if self.lanes.admissible_beside(now, margin, load, head_load, head_at) {
                self.release(key, now);
            } else {
                match failed.iter_mut().find(|(m, _)| *m == w.model) {
                    Some((_, c)) => *c = (*c).min(w.tokens),
                    None => failed.push((w.model.clone(), w.tokens)),
                }
            }
        }
    }

    /// Admits a queued waiter and keeps its ticket until the waiter asks.
    fn release(&mut self, key: Key, now: Instant) {
        let w = self.queue.remove(key).expect("released waiters are queued");
        let id = self.admit(now, Load { tokens: w.tokens, model: w.model.as_deref() }, key.seq);
        self.outcomes.insert(key, Outcome::Admitted(id));
        self.woken.push(WaiterId(key.seq));
    }

    fn finish(&mut self, key: Key, outcome: Outcome) {
        self.queue.remove(key);
        self.counters.rejected += 1;
        self.outcomes.insert(key, outcome);
        self.woken.push(WaiterId(key.seq));
    }

    pub(crate) fn refuse_waiting(&mut self) {
        self.end_waiting(|_| true, |_| Rejection::Barred);
    }

    pub(crate) fn reprice(&mut self, model: Option<&str>, group: &str) {
        let alike = |w: &Waiting| w.model.as_deref() == model && w.group.as_deref() == Some(group);
        self.end_waiting(alike, |key| Rejection::Repriced { arrival: Arrival(key.seq) });
    }

    /// Ends the waiters `which` picks, each with `why(its key)`, and serves what is left.
    fn end_waiting(&mut self, which: impl Fn(&Waiting) -> bool, why: impl Fn(Key) -> Rejection) {
        let keys: Vec<Key> = self.queue.iter().filter(|(_, w)| which(w)).map(|(k, _)| *k).collect();
        for key in keys {
            self.finish(key, Outcome::Rejected(why(key)));
        }
        let now = self.now;
        self.pump(now);
    }

    fn drop_missed_deadlines(&mut self, now: Instant) {
        while let Some((deadline, key)) = self.queue.next_deadline() {
            if deadline >= now {
                break;
            }
            self.finish(key, Outcome::Rejected(Rejection::Deadline { predicted_wait: None }));
        }
    }

    /// The outcome for a waiter, once it has one.
    pub(crate) fn take_outcome(&mut self, key: Key, now: Instant) -> Option<Outcome> {
        self.catch_up(now);
        self.outcomes.remove(&key)
    }

    /// A waiter gave up: leave the queue, or hand back a ticket it never collected.
    pub(crate) fn abandon_waiter(&mut self, key: Key) {
        if self.queue.remove(key).is_some() {
            self.counters.cancelled += 1;
        } else if let Some(Outcome::Admitted(id)) = self.outcomes.remove(&key) {
            self.cancel(id);
        }
        let now = self.now;
        self.pump(now);
    }

    /// Ends a booking: `early` tokens were spent when the request arrived (its
    /// prompt), `late` tokens since (its output, counted by the server as produced).
    /// The early part stays where it was booked, refunded down to what was spent;
    /// the late part, and whatever the early part ran over the estimate, is held from
    /// `now`, which is after it was produced. Later admissions wait for it.
    pub(crate) fn settle(&mut self, id: u64, early: u64, late: u64, now: Instant) -> Settlement {
        let now = self.advance(now);
        self.sent.accept(id, now);
        self.close(id, early, late, now)
    }

    fn close(&mut self, id: u64, early: u64, late: u64, now: Instant) -> Settlement {
        let booking = self.bookings.remove(&id).expect("a ticket's booking lives until the ticket ends");
        self.sent.end(id, now);
        let kept = early.min(booking.tokens);
        let from_now = late + early.saturating_sub(booking.tokens);
        for b in booking.slots {
            let lane = &mut self.lanes.lanes[b.lane];
            if lane.spec.unit != Unit::Tokens {
                continue;
            }
            lane.refund(b.slot, booking.tokens - kept);
            if from_now > 0 {
                let hold = lane.spec.window + self.margin.current(self.sent.open());
                lane.book(now, from_now, hold);
            }
        }
        let actual = early + late;
        let settlement =
            Settlement { refunded: booking.tokens.saturating_sub(actual), debt: actual.saturating_sub(booking.tokens) };
        self.counters.settled += 1;
        self.counters.refunded_tokens += settlement.refunded;
        self.counters.debt_tokens += settlement.debt;
        self.pump(now);
        settlement
    }

    /// The server refused the request with a 429: nothing was spent on tokens, and
    /// what the lanes held around it is evidence for [`Core::observe_rate_limited`].
    pub(crate) fn refuse(&mut self, id: u64, now: Instant) -> (Settlement, Refused) {
        let now = self.advance(now);
        let booking = &self.bookings[&id];
        let left = self.sent.refuse(id, now).unwrap_or(booking.at);
        let refused = Refused {
            booking: id,
            left,
            at: now,
            tokens: booking.tokens,
            model: booking.model.clone(),
            lanes: booking.slots.iter().map(|b| b.lane).collect(),
        };
        (self.close(id, 0, 0, now), refused)
    }

    /// A reply's head (a 429's too) came at `now`, `rtt` after the request left:
    /// the margin learns from it, knowing whether the request left while warming.
    pub(crate) fn round_trip(&mut self, id: u64, rtt: Duration, upstream: Option<Duration>, now: Instant) {
        let connecting = self.bookings.get(&id).is_some_and(|b| b.left_warming);
        self.margin.observe_round_trip(rtt, upstream, connecting, now);
    }

    /// The server answered the request with something other than a 429.
    /// Its reply's head came at `now`, so it reached the server by then, less the
    /// time the server says it took (`upstream`). A request can reach the server
    /// later after leaving than the margin allows: one that left while the first
    /// connections were being set up, or one a browser sent only once its main
    /// thread was free again (tens of ms in Firefox while another tab of the same
    /// site renders). Its costs are then held from that latest arrival instead,
    /// never more than the margin's ceiling after it left, so that the requests
    /// after it wait for it to leave the server's window.
    ///
    /// Once warm, what counts is how much later than the others it may have
    /// arrived: its network time (round trip less `upstream`) above the least
    /// of the recent replies (the fastest round trip went fast both ways, as the
    /// margin assumes). Without `upstream` a round trip is mostly the server's work, and
    /// only a request that left while warming is held so, by its whole round trip.
    pub(crate) fn answered(&mut self, id: u64, upstream: Option<Duration>, now: Instant) {
        let now = self.advance(now);
        self.sent.accept(id, now);
        let ceiling = self.margin.ceiling();
        let quickest = self.margin.least_network();
        let Some(booking) = self.bookings.get_mut(&id) else { return };
        let Some(left) = booking.left else { return };
        let network = now.saturating_since(left).saturating_sub(upstream.unwrap_or_default());
        let late = match upstream {
            _ if booking.left_warming => network,
            Some(_) => network.saturating_sub(quickest.unwrap_or(network)),
            None => return,
        };
        let latest = left + late.min(ceiling);
        if latest <= booking.covers {
            return;
        }
        booking.rebook(&mut self.lanes, now, latest);
    }

    /// A client starts: each configured limit no reply has stated spends half,
    /// then rises to the whole (see `start::Start`).
    pub(crate) fn start_cautious(&mut self) {
        for lane in &mut self.lanes.lanes {
            if lane.inferable() {
                lane.start = Start::Half;
            }
        }
    }

    /// A reply came `round_trip` after its request left, and what its headers
    /// state is learned: the limits still at half start rising, to the whole a
    /// quarter of a window later or, on slow round trips, later.
    pub(crate) fn heard(&mut self, round_trip: Duration, now: Instant) {
        let now = self.advance(now);
        if self.lanes.lanes.iter().any(|l| l.start.unheard()) {
            for lane in &mut self.lanes.lanes {
                lane.start = lane.start.heard(now, lane.spec.window, round_trip);
            }
            self.pump(now);
        }
    }

    /// Full refund: the request never left.
    pub(crate) fn cancel(&mut self, id: u64) {
        let booking = self.bookings.remove(&id).expect("a ticket's booking lives until the ticket ends");
        self.sent.end(id, self.now);
        for b in booking.slots {
            let lane = &mut self.lanes.lanes[b.lane];
            lane.refund(b.slot, lane.spec.cost_of(booking.tokens));
        }
        self.counters.cancelled += 1;
        let now = self.now;
        self.pump(now);
    }

    /// The request leaves at `now`, after its admission: its costs are held from
    /// now. The server counts it when it arrives, so a request that left late
    /// (a busy event loop; in workerd, a ticket collected on its request's next
    /// turn) would otherwise stay in the server's window after it left ours.
    pub(crate) fn depart(&mut self, id: u64, now: Instant) {
        let now = self.advance(now);
        let margin = self.margin.current(self.sent.open());
        let warming = self.margin.warming(self.sent.open());
        // Before any reply, the start rises a unit per round trip a 429 may take:
        // there and back, each up to a margin late (see `Start::sent`).
        if self.lanes.lanes.iter().any(|l| l.start.unheard()) {
            for lane in &mut self.lanes.lanes {
                lane.start = lane.start.sent(now, lane.spec.window, lane.spec.capacity, margin * 2);
            }
            self.wake = self.compute_wake();
        }
        let Some(booking) = self.bookings.get_mut(&id) else { return };
        self.sent.record(now, id, booking.model.clone());
        booking.left = Some(now);
        booking.left_warming = warming;
        if now <= booking.at {
            return;
        }
        booking.rebook(&mut self.lanes, now, now + margin);
    }

    pub(crate) fn admitted_at(&self, id: u64) -> Instant {
        self.bookings[&id].at
    }

    pub(crate) fn arrival(&self, id: u64) -> Arrival {
        Arrival(self.bookings[&id].arrival)
    }

    /// A ticket dropped without a word: assume its estimate was spent.
    pub(crate) fn abandon_ticket(&mut self, id: u64) {
        self.bookings.remove(&id);
        self.sent.end(id, self.now);
        self.counters.abandoned += 1;
        // Its slot in flight is free.
        if self.in_flight.cap.is_some() {
            let now = self.now;
            self.pump(now);
        }
    }

    pub(crate) fn drain_woken(&mut self) -> Vec<WaiterId> {
        std::mem::take(&mut self.woken)
    }

    /// When the edge should call [`Core::catch_up`] next, if anything is waiting.
    pub(crate) fn next_wake(&self) -> Option<Instant> {
        self.wake
    }

    /// A lower bound on when anything waiting can be admitted or refused, absent
    /// events: the head's predicted fit, the nearest deadline, and the earliest
    /// instant the cheapest waiter could fit the workspace lanes (or, when that is
    /// now but something else blocks it, the next expiry).
    fn compute_wake(&self) -> Option<Instant> {
        let now = self.now;
        let deadline = self.queue.next_deadline().map(|(d, _)| d.next_tick());
        if self.queue.is_empty() {
            return None;
        }
        if now < self.closed_until {
            return Some(deadline.map_or(self.closed_until, |d| d.min(self.closed_until)));
        }
        // With every slot in flight taken, only a ticket's end admits anyone.
        if self.slots_free() == 0 {
            return deadline;
        }
        // Someone cheaper than the head may fit before it: not before the cheapest
        // waiter fits the workspace lanes, and not before something expires.
        let cheapest = self.queue.min_tokens().and_then(|m| self.lanes.earliest_any_fit(now, m));
        let backfill = match cheapest {
            Some(t) if t > now => Some(t),
            _ => self.lanes.next_expiry().filter(|&t| t > now),
        };
        // A rising lane admits more at its next step.
        let rise = self.lanes.next_rise().filter(|&t| t > now);
        [self.head_at, deadline, backfill, rise].into_iter().flatten().min()
    }

    /// The waiters in serving order (for tests and status).
    #[cfg(test)]
    pub(crate) fn queued_keys(&self) -> Vec<Key> {
        self.queue.iter().map(|(k, _)| *k).collect()
    }
}
