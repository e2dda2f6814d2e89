//! The limiter's state and its scheduler. [`super::Limiter`] is a handle around it.
//!
//! Invariant kept by [`Core::pump`]: when it returns, no waiter could be admitted at
//! that instant. It serves the head when it fits, otherwise works out when the head
//! will fit (`head_at`) and admits, in serving order, every later waiter that fits
//! now and does not push `head_at` back. It stops early once nothing can fit: when a
//! workspace lane has less free than the cheapest waiter needs.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use super::in_flight::{InFlight, Verdict};
use super::inference::{step, Around, Departures, LimitCause, LimitChange, Start, EVIDENCE, NEGLIGIBLE};
use super::lane::{Lane, LaneSpec, Unit, UNCONFIGURED};
use super::lane_set::{Booked, Fit, LaneSet, Load};
use super::margin::Margin;
use super::queue::{Key, Queue, Waiting};
use super::status::{Counters, InFlightStatus, LaneStatus, LimitSource, Status};
use super::{Arrival, Demand, LimiterConfig, Rejection, Settlement, WaiterId};
use crate::feedback::ServerReport;

use crate::time::Instant;

/// Windows this long reset with the calendar on the server (a monthly quota).
pub(crate) const LONG: Duration = Duration::from_secs(86_400);

/// An admitted request's cost on each lane, until it is settled.
#[derive(Debug)]
pub(crate) struct Booking {
    pub(crate) tokens: u64,
    at: Instant,
    /// The place in line it was admitted from.
    arrival: u64,
    model: Option<Rc<str>>,
    slots: Vec<Booked>,
    /// When it left, if that was during the margin's warm-up (see [`Core::answered`]).
    left_warming: Option<Instant>,
}

impl Booking {
    /// Moves its costs to entries booked at `now`, each held for `hold(window)`
    /// of its lane: they count from a later instant than they were admitted at.
    fn rebook(&mut self, lanes: &mut LaneSet, now: Instant, hold: impl Fn(Duration) -> Duration) {
        for b in &mut self.slots {
            let lane = &mut lanes.lanes[b.lane];
            let cost = lane.spec.cost_of(self.tokens);
            lane.refund(b.slot, cost);
            b.slot = lane.book(now, cost, hold(lane.spec.window));
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
        let slots = self.lanes.book(now, self.margin.current(self.sent.open()), load);
        for b in &slots {
            self.lanes.lanes[b.lane].note_fill();
        }
        let id = self.id();
        let model = load.model.map(Rc::from);
        self.bookings.insert(id, Booking { tokens: load.tokens, at: now, arrival, model, slots, left_warming: None });
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

    /// The server answered the request with something other than a 429.
    /// Its reply's head came at `now`, so it reached the server by then, less the
    /// time the server says it took (`upstream`). A request that left while the
    /// first connections were being set up (and the event loop was busy starting
    /// every other call) can arrive much later than it left, later than the
    /// warm-up margin allows: its costs are then held from that latest arrival
    /// instead, but never from more than the margin's ceiling after it left. Later
    /// requests are left to the margin: a round trip is mostly the server's work.
    pub(crate) fn answered(&mut self, id: u64, upstream: Option<Duration>, now: Instant) {
        let now = self.advance(now);
        self.sent.accept(id, now);
        let margin = self.margin.current(self.sent.open());
        let ceiling = self.margin.ceiling();
        let Some(booking) = self.bookings.get_mut(&id) else { return };
        let Some(left) = booking.left_warming.take() else { return };
        let late = now.saturating_since(left).saturating_sub(upstream.unwrap_or_default()).min(ceiling);
        if late <= margin {
            return;
        }
        booking.rebook(&mut self.lanes, now, |window| (left + late + window).saturating_since(now));
    }

    /// A client starts: each configured limit no reply has stated spends half,
    /// then rises to the whole (see `inference::Start`).
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
        booking.left_warming = warming.then_some(now);
        if now <= booking.at {
            return;
        }
        booking.rebook(&mut self.lanes, now, |window| window + margin);
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
    fn judge(&mut self, now: Instant) {
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

    /// Of the lanes still rising from the start (see `inference::Start`) that the
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

    pub(crate) fn status(&mut self, now: Instant) -> Status {
        let now = self.advance(now);
        let mut lanes = Vec::new();
        let scopes = std::iter::once((None, &self.lanes.workspace))
            .chain(self.lanes.models.iter().map(|(m, ids)| (Some(m.to_string()), ids)));
        for (model, ids) in scopes {
            for &i in ids {
                if !self.lanes.is_live(i, now) {
                    continue;
                }
                let lane = &self.lanes.lanes[i];
                let free = lane.free();
                lanes.push(LaneStatus {
                    name: lane.spec.name(),
                    model: model.clone(),
                    unit: lane.spec.unit,
                    window: lane.spec.window,
                    limit: lane.enforced(),
                    configured: (lane.configured != UNCONFIGURED).then_some(lane.configured),
                    source: if lane.is_inferred() {
                        LimitSource::RateLimits
                    } else if lane.stated {
                        LimitSource::Header
                    } else {
                        LimitSource::Configured
                    },
                    share: lane.share,
                    used: lane.held(),
                    available: free,
                    next_available: if free > 0 {
                        Duration::ZERO
                    } else {
                        lane.earliest_fit(now, 1).map_or(Duration::MAX, |t| t - now)
                    },
                });
            }
        }
        Status {
            lanes,
            in_flight: self.bookings.len(),
            in_flight_limit: self.in_flight.cap.map(|limit| InFlightStatus {
                limit,
                configured: self.in_flight.configured,
                source: self.in_flight.source,
                share: self.in_flight.share,
            }),
            queued: self.queue.len(),
            closed_for: self.closed_until - now,
            margin: self.margin.current(self.sent.open()),
            counters: self.counters.clone(),
        }
    }

    /// The month's token lane, if the workspace has one: what its window holds, and its limit.
    pub(crate) fn month_usage(&mut self, now: Instant) -> Option<(u64, u64)> {
        let now = self.advance(now);
        self.lanes
            .workspace
            .iter()
            .filter(|&&i| self.lanes.is_live(i, now))
            .map(|&i| &self.lanes.lanes[i])
            .filter(|lane| lane.spec.unit == Unit::Tokens && lane.spec.window >= Duration::from_secs(86_400))
            .max_by_key(|lane| lane.spec.window)
            .map(|lane| (lane.held(), lane.spec.capacity))
    }

    /// The workspace lanes a budget shares (those with a known limit, configured
    /// or learned, and the cap on requests in flight): each with what it holds
    /// and what waits for it.
    pub(crate) fn shareable(&mut self, now: Instant) -> Vec<(LaneSpec, u64, u64)> {
        self.advance(now);
        let (requests, tokens) = self.queue.totals();
        let lanes =
            self.lanes.workspace.iter().map(|&i| &self.lanes.lanes[i]).filter(|l| l.spec.capacity != UNCONFIGURED).map(
                |l| {
                    let queued = match l.spec.unit {
                        Unit::Requests => requests,
                        Unit::Tokens => tokens,
                    };
                    (l.spec, l.held(), queued)
                },
            );
        let in_flight =
            self.in_flight.cap.map(|c| (LaneSpec::requests_in_flight(c), self.bookings.len() as u64, requests));
        lanes.chain(in_flight).collect()
    }

    /// When the workspace lane of `unit` and `window` holds no more than `level`.
    /// Requests in flight end when their calls do, which no one can tell: `now`,
    /// and a budget counts what they hold instead (see `crate::budget`).
    pub(crate) fn clears_at(&mut self, unit: Unit, window: Duration, level: u64, now: Instant) -> Instant {
        let now = self.advance(now);
        self.lanes
            .workspace
            .iter()
            .map(|&i| &self.lanes.lanes[i])
            .filter(|l| l.spec.unit == unit && l.spec.window == window)
            .map(|l| l.clears_at(now, level))
            .max()
            .unwrap_or(now)
    }

    /// Sets this client's share on the workspace lane of `unit` and `window`, or
    /// of the cap on requests in flight (`None`: the whole limit), then serves
    /// whoever now fits.
    pub(crate) fn set_share(&mut self, unit: Unit, window: Duration, share: Option<u64>, now: Instant) {
        if (LaneSpec { unit, window, capacity: 0 }).is_in_flight() {
            self.in_flight.share = share;
        }
        let ids = self.lanes.workspace.clone();
        for i in ids {
            let lane = &mut self.lanes.lanes[i];
            if lane.spec.unit == unit && lane.spec.window == window {
                lane.share = share;
            }
        }
        self.pump(now);
    }

    /// The waiters in serving order (for tests and status).
    #[cfg(test)]
    pub(crate) fn queued_keys(&self) -> Vec<Key> {
        self.queue.iter().map(|(k, _)| *k).collect()
    }
}

/// Whether what a 429 shows of `lane` is the requests that left ahead of the
/// refused one: a request lane whose departures are kept, not a share.
fn counts_ahead(lane: &Lane) -> bool {
    lane.spec.unit == Unit::Requests && lane.spec.window <= EVIDENCE && lane.share.is_none()
}
