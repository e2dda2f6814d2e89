//! Admission control: reserve a request's estimated cost before it is sent, settle it
//! with the real cost after.
//!
//! It imports `units`, `feedback` (the server's report) and `time`, nothing of
//! calls, budgets or the edge. Inside, imports run one way: admission (`core`)
//! to learning (`core::learning`, `inference`) to the lanes (`lane`, `start`).
//!
//! A [`Limiter`] enforces a set of lanes ([`LaneSpec`]): workspace lanes that every
//! request is charged to, and per-model lanes beneath them. Each lane guarantees that
//! the cost admitted in *any* window of its length stays within its capacity (see
//! the `lane` module for the argument), and holds each cost a little longer than its
//! window to absorb jitter in network transit (see [`MarginPolicy`]).
//!
//! # Reservations
//!
//! [`Limiter::reserve`] answers with a [`Ticket`] (admitted now), a [`Waiter`] (queued;
//! poll it, or call [`Limiter::tick`] at [`Limiter::next_wake`]), or a [`Rejection`].
//! A ticket ends exactly once, because ending it consumes it:
//! [`Ticket::settle`] with the real token count refunds an overestimate or books the
//! excess as debt; [`Ticket::cancel`] refunds everything (the request never left);
//! a ticket dropped without either keeps its estimate, the safe assumption.
//!
//! # Fairness
//!
//! Waiters are served in order of [`Priority`] class (interactive before batch), then
//! arrival. The first in that order, the *head*, is never overtaken in a way that
//! delays it: the limiter predicts when the head will fit, and admits a later waiter
//! early only if it fits now **and** its cost does not push that prediction back (it
//! leaves the window before then, or there is room for both). So a large request is
//! not starved by a stream of small ones, and small ones that fit before its turn
//! are not held back behind it. Among the later waiters, serving order decides who
//! gets the room first. Across classes the order is strict: batch work yields to
//! interactive work that is waiting.
//!
//! # Feedback from the server
//!
//! [`Limiter::observe_server`] applies a [`ServerReport`]: a limit lower than the
//! configured one is learned, a window the limiter did not know is added as a lane,
//! and when the server reports less remaining than the limiter accounts for, the
//! difference (other clients of the workspace) is held as if just spent.
//! [`Limiter::observe_rate_limited`] closes admission for everyone after a 429, and
//! lowers a limit that the 429 shows to be too high when no header states it.

mod core;
mod in_flight;
mod inference;
mod lane;
mod lane_set;
mod margin;
mod queue;
mod start;
mod status;

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

pub use self::core::Refused;
use self::core::{Core, Decision, Outcome};
pub use self::in_flight::InFlightPolicy;
pub use self::inference::{LimitCause, LimitChange};
pub use self::lane::{LaneSpec, Unit, MONTH};
pub use self::lane_set::MAX_LEARNED;
pub use self::margin::MarginPolicy;
use self::queue::Key;
pub use self::status::{Counters, InFlightStatus, LaneStatus, LimitSource, Status};
use crate::feedback::ServerReport;
use crate::time::Instant;

/// Who goes first when both wait.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// A person is waiting for the answer.
    #[default]
    Interactive,
    /// Background work: served when no interactive request is waiting for the room.
    Batch,
}

/// What a request asks of the limiter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Demand {
    /// Estimated tokens, input plus output.
    pub tokens: u64,
    /// The model, to charge its lanes too.
    pub model: Option<String>,
    /// Its class.
    pub priority: Priority,
    /// Give up if not admitted by then.
    pub deadline: Option<Instant>,
    /// The place in line of an earlier attempt of the same call (see
    /// [`Ticket::arrival`]), so a retry is not sent to the back.
    pub arrival: Option<Arrival>,
    /// Calls that cost alike (a prompt cache key): a reply that shows them to
    /// cost less re-prices those waiting (see [`Limiter::reprice`]).
    pub group: Option<String>,
}

/// A call's place in line: earlier arrivals are served first within a class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Arrival(pub(crate) u64);

impl Demand {
    /// An interactive request of `tokens` estimated tokens, any model, no deadline.
    pub fn tokens(tokens: u64) -> Demand {
        Demand { tokens, ..Demand::default() }
    }

    /// The same demand for `model`.
    pub fn model(mut self, model: impl Into<String>) -> Demand {
        self.model = Some(model.into());
        self
    }

    /// The same demand in class `priority`.
    pub fn priority(mut self, priority: Priority) -> Demand {
        self.priority = priority;
        self
    }

    /// The same demand with a deadline.
    pub fn deadline(mut self, deadline: Instant) -> Demand {
        self.deadline = Some(deadline);
        self
    }

    /// The same demand, keeping the place in line of an earlier attempt.
    pub fn keeping_place(mut self, arrival: Arrival) -> Demand {
        self.arrival = Some(arrival);
        self
    }
}

/// Why a reservation was refused. The messages say what to change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The cost exceeds what the lane allows in a whole window: it could never be admitted.
    TooLarge {
        /// The lane's name, e.g. `tokens/60s`.
        lane: String,
        /// The request's cost on that lane.
        cost: u64,
        /// The lane's capacity.
        capacity: u64,
    },
    /// It could not be admitted before its deadline.
    Deadline {
        /// The predicted wait when refused up front; `None` when the deadline passed
        /// in the queue.
        predicted_wait: Option<Duration>,
    },
    /// The server barred what it waited for (a spending limit reached): see
    /// [`Limiter::refuse_waiting`].
    Barred,
    /// It costs less than it asked for: ask again, keeping the place in line
    /// (see [`Limiter::reprice`]).
    Repriced {
        /// Its place in line.
        arrival: Arrival,
    },
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::TooLarge { lane, cost, capacity } if *capacity == 0 => write!(
                f,
                "the {lane} limit is 0, so no request of cost {cost} can be sent; \
                 check the workspace's plan or the configured limits"
            ),
            Rejection::TooLarge { lane, cost, capacity } => write!(
                f,
                "this request costs {cost} on the {lane} lane, more than its capacity of {capacity}; \
                 lower max_tokens or shorten the input, or raise the configured limit if the workspace allows more"
            ),
            Rejection::Deadline { predicted_wait: Some(w) } => write!(
                f,
                "the request could not be admitted before its deadline (predicted wait {} ms); \
                 raise queueTimeoutMs or lower the load",
                w.as_millis()
            ),
            Rejection::Deadline { predicted_wait: None } => write!(
                f,
                "the request waited in the queue until its deadline passed; raise queueTimeoutMs or lower the load"
            ),
            Rejection::Barred => write!(f, "the server refuses every request for now"),
            Rejection::Repriced { .. } => write!(f, "the request costs less than it asked for"),
        }
    }
}

impl std::error::Error for Rejection {}

/// A limiter's lanes and how it learns its arrival margin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimiterConfig {
    /// Workspace lanes, charged to every request.
    pub lanes: Vec<LaneSpec>,
    /// Lanes of one model each, charged to its requests besides the workspace's.
    pub model_lanes: Vec<(String, LaneSpec)>,
    /// The arrival margin.
    pub margin: MarginPolicy,
    /// The limit on requests in flight.
    pub in_flight: InFlightPolicy,
}

impl Default for LimiterConfig {
    /// Mistral's entry-level workspace limits: 1 request per second and 500,000 tokens
    /// per minute.
    fn default() -> Self {
        LimiterConfig {
            lanes: vec![LaneSpec::requests_per_second(1), LaneSpec::tokens_per_minute(500_000)],
            model_lanes: Vec::new(),
            margin: MarginPolicy::default(),
            in_flight: InFlightPolicy::default(),
        }
    }
}

/// Identifies a [`Waiter`] among those [`Limiter::drain_woken`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WaiterId(pub(crate) u64);

/// How a ticket ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settlement {
    /// Tokens given back (the estimate was high).
    pub refunded: u64,
    /// Tokens booked beyond the estimate (the request ran over).
    pub debt: u64,
}

/// The answer to [`Limiter::reserve`].
#[derive(Debug)]
#[must_use = "a reservation holds budget until it is settled, cancelled or dropped"]
pub enum Reservation {
    /// Admitted now: send the request.
    Ready(Ticket),
    /// Queued: wait, then poll the waiter.
    Queued(Waiter),
}

/// The state of a queued request.
#[derive(Debug)]
pub enum WaitState {
    /// Admitted: send the request.
    Ready(Ticket),
    /// Still waiting; poll again at `until` (or when [`Limiter::drain_woken`] names it).
    Waiting {
        /// The waiter, handed back.
        waiter: Waiter,
        /// The next instant anything can change, if any.
        until: Option<Instant>,
    },
    /// Refused while waiting.
    Rejected(Rejection),
}

/// A single-threaded limiter. Clones are handles to the same limiter.
///
/// ```
/// use mistral_ratelimit::{Demand, Instant, LaneSpec, Limiter, LimiterConfig, Reservation};
/// use std::time::Duration;
///
/// let limiter = Limiter::new(LimiterConfig {
///     lanes: vec![LaneSpec::requests_per_second(1)],
///     ..LimiterConfig::default()
/// });
/// let t0 = Instant::ZERO;
/// let Reservation::Ready(first) = limiter.reserve(Demand::tokens(10), t0)? else { panic!() };
/// // The second request of the same second must wait a full window (plus margin).
/// let Reservation::Queued(mut second) = limiter.reserve(Demand::tokens(10), t0)? else { panic!() };
/// assert!(second.predicted() > t0 + Duration::from_secs(1));
/// first.settle(8, t0 + Duration::from_millis(300));
/// # Ok::<(), mistral_ratelimit::Rejection>(())
/// ```
#[derive(Clone, Debug)]
pub struct Limiter {
    core: Rc<RefCell<Core>>,
}

impl Limiter {
    /// A limiter with `config`'s lanes.
    pub fn new(config: LimiterConfig) -> Limiter {
        Limiter { core: Rc::new(RefCell::new(Core::new(&config))) }
    }

    /// Adds a lane: for every request when `model` is `None`, else for that model's.
    pub fn add_lane(&self, model: Option<&str>, spec: LaneSpec, now: Instant) {
        self.core.borrow_mut().add_lane(model, spec, now);
    }

    /// Asks to send a request costing `demand`. See the module docs.
    pub fn reserve(&self, demand: Demand, now: Instant) -> Result<Reservation, Rejection> {
        let mut core = self.core.borrow_mut();
        Ok(match core.reserve(&demand, now)? {
            Decision::Admitted(id) => Reservation::Ready(self.ticket(id, demand.tokens)),
            Decision::Queued { key, predicted } => Reservation::Queued(Waiter {
                core: Rc::clone(&self.core),
                key,
                predicted,
                tokens: demand.tokens,
                done: false,
            }),
        })
    }

    fn ticket(&self, id: u64, estimate: u64) -> Ticket {
        Ticket { core: Rc::clone(&self.core), id, estimate, done: false }
    }

    /// Serves the queue at `now`. Call it at [`Limiter::next_wake`].
    pub fn tick(&self, now: Instant) {
        self.core.borrow_mut().catch_up(now);
    }

    /// When to call [`Limiter::tick`] next; `None` when nothing waits.
    pub fn next_wake(&self) -> Option<Instant> {
        self.core.borrow().next_wake()
    }

    /// The waiters admitted or refused since the last call: poll those.
    pub fn drain_woken(&self) -> Vec<WaiterId> {
        self.core.borrow_mut().drain_woken()
    }

    /// Applies what a response's headers said. Settle the request's ticket first, so
    /// its real cost is already accounted. Returns how many of the report's limits
    /// were ignored: a window beyond the [`MAX_LEARNED`] lanes replies may add, or a
    /// limit of 0 for a window the limiter does not know. A limit of 0 for a lane it
    /// knows pauses that lane for one window; it is never a permanent refusal.
    pub fn observe_server(&self, report: &ServerReport, model: Option<&str>, now: Instant) -> u32 {
        self.core.borrow_mut().observe_server(report, model, now)
    }

    /// A client starts: until [`Limiter::heard`], each configured limit no reply
    /// has stated admits half, then it rises to the whole over a quarter of a window. A
    /// limit configured too high then meets a 429 a step past the real one, not
    /// a window's excess at once.
    pub fn start_cautious(&self) {
        self.core.borrow_mut().start_cautious();
    }

    /// A reply arrived `round_trip` after its request left (less the time the
    /// server says it took) and its headers were applied: limits at half start
    /// rising, in steps paced by that round trip.
    pub fn heard(&self, round_trip: Duration, now: Instant) {
        self.core.borrow_mut().heard(round_trip, now);
    }

    /// A 429 arrived: admit nothing for `pause`. With the refused request's
    /// evidence ([`Ticket::refused`]), a lane it shows to be configured too high is
    /// lowered (see [`LimitChange`]).
    pub fn observe_rate_limited(&self, pause: Duration, refused: Option<Refused>, now: Instant) {
        self.core.borrow_mut().observe_rate_limited(pause, refused, now);
    }

    /// Ends every waiting reservation with [`Rejection::Barred`]: the server said
    /// no request will pass for a while, and no waiter should learn it by waiting.
    pub fn refuse_waiting(&self) {
        self.core.borrow_mut().refuse_waiting();
    }

    /// Ends the waiting reservations of `model` in `group` with
    /// [`Rejection::Repriced`]: a reply showed their calls to cost less, and a
    /// waiter asking for the old price could wait a window for room it never needs.
    pub fn reprice(&self, model: Option<&str>, group: &str) {
        self.core.borrow_mut().reprice(model, group);
    }

    /// From now on 429s do not change how the request limit is read (see
    /// [`InFlightPolicy::learn`]): a shared budget divides the rate among its
    /// holders, and a cap on requests in flight one of them learned would bound
    /// only that one.
    pub fn keep_request_reading(&self) {
        self.core.borrow_mut().keep_request_reading();
    }

    /// The limits 429s and probes changed since the last call, oldest first.
    pub fn drain_limit_changes(&self) -> Vec<LimitChange> {
        self.core.borrow_mut().drain_changes()
    }

    /// An attempt left at `now`, `delay` after it was admitted (a busy event loop, say).
    pub fn observe_departure(&self, delay: Duration, now: Instant) {
        self.core.borrow_mut().margin.observe_departure(delay, now);
    }

    /// The workspace lanes a shared budget may divide (configured, with windows up
    /// to an hour), and the cap on requests in flight as a lane with no window
    /// ([`LaneSpec::requests_in_flight`]): each with what it holds now and the
    /// cost waiting for it.
    pub fn shareable(&self, now: Instant) -> Vec<(LaneSpec, u64, u64)> {
        self.core.borrow_mut().shareable(now)
    }

    /// When the workspace lane of `unit` and `window` will hold no more than
    /// `level`, if nothing more is admitted: when a share lowered to `level` is
    /// clear of what the window holds.
    pub fn clears_at(&self, unit: Unit, window: Duration, level: u64, now: Instant) -> Instant {
        self.core.borrow_mut().clears_at(unit, window, level, now)
    }

    /// Limits this client to `share` of the workspace lane of `unit` and `window`,
    /// or of the cap on requests in flight for a window of zero (see
    /// `crate::budget`); `None` lifts it.
    pub fn set_share(&self, unit: Unit, window: Duration, share: Option<u64>, now: Instant) {
        self.core.borrow_mut().set_share(unit, window, share, now);
    }

    /// A snapshot of every lane, the queue and the counters.
    pub fn status(&self, now: Instant) -> Status {
        self.core.borrow_mut().status(now)
    }

    /// The month's token lane, if the workspace has one: what it holds, and its limit.
    pub fn month_usage(&self, now: Instant) -> Option<(u64, u64)> {
        self.core.borrow_mut().month_usage(now)
    }
}

/// An admitted request's hold on the budget. It ends exactly once: settled, cancelled,
/// or, if dropped, kept at its estimate.
#[derive(Debug)]
#[must_use = "settle the ticket with the real cost, or cancel it if the request never left"]
pub struct Ticket {
    core: Rc<RefCell<Core>>,
    id: u64,
    estimate: u64,
    done: bool,
}

impl Ticket {
    /// The tokens reserved.
    pub fn estimate(&self) -> u64 {
        self.estimate
    }

    /// When the limiter admitted it (for a queued request, when its turn came, which
    /// may be before it was polled).
    pub fn admitted_at(&self) -> Instant {
        self.core.borrow().admitted_at(self.id)
    }

    /// Its reply's head (a 429's too) came at `now`, `rtt` after it left; `upstream`
    /// is the processing time the server reported, if it did. The arrival margin
    /// is learned from these (see [`MarginPolicy`]). Before [`Ticket::answered`].
    pub fn round_trip(&self, rtt: Duration, upstream: Option<Duration>, now: Instant) {
        self.core.borrow_mut().round_trip(self.id, rtt, upstream, now);
    }

    /// The server answered with something other than a 429 (its head, before the
    /// body or stream), saying it took `upstream` if it did: evidence for judging
    /// 429s around it, and a bound on when the request arrived.
    pub fn answered(&self, upstream: Option<Duration>, now: Instant) {
        self.core.borrow_mut().answered(self.id, upstream, now);
    }

    /// The request leaves now: what it costs is held from now, not from its
    /// admission.
    pub fn depart(&self, now: Instant) {
        self.core.borrow_mut().depart(self.id, now);
    }

    /// Its place in line, for a retry to keep with [`Demand::keeping_place`].
    pub fn arrival(&self) -> Arrival {
        self.core.borrow().arrival(self.id)
    }

    /// The request finished having used `actual` tokens (input plus output), all
    /// counted from when it was admitted; any excess over the estimate is debt, held
    /// from `now`.
    pub fn settle(mut self, actual: u64, now: Instant) -> Settlement {
        self.done = true;
        self.core.borrow_mut().settle(self.id, actual, 0, now)
    }

    /// The request finished with this usage. The server counts the prompt when the
    /// request arrives but the output as it is produced, up to the whole generation
    /// time later, so the output is held from `now` (after it was produced), not from
    /// the admission: otherwise it would leave our window before the server's.
    pub fn settle_usage(mut self, prompt: u64, completion: u64, now: Instant) -> Settlement {
        self.done = true;
        self.core.borrow_mut().settle(self.id, prompt, completion, now)
    }

    /// The server refused the request with a 429: no tokens were spent. Pass the
    /// evidence to [`Limiter::observe_rate_limited`].
    pub fn refused(mut self, now: Instant) -> (Settlement, Refused) {
        self.done = true;
        self.core.borrow_mut().refuse(self.id, now)
    }

    /// The request never left: give everything back.
    pub fn cancel(mut self) {
        self.done = true;
        self.core.borrow_mut().cancel(self.id);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.done {
            self.core.borrow_mut().abandon_ticket(self.id);
        }
    }
}

/// A queued request. Dropping it leaves the queue (and hands back a ticket it was
/// granted but never collected).
#[derive(Debug)]
#[must_use = "dropping a waiter leaves the queue"]
pub struct Waiter {
    core: Rc<RefCell<Core>>,
    key: Key,
    predicted: Instant,
    tokens: u64,
    done: bool,
}

impl Waiter {
    /// Its identity in [`Limiter::drain_woken`].
    pub fn id(&self) -> WaiterId {
        WaiterId(self.key.seq)
    }

    /// When it was predicted to fit, on the lanes as they were when it was queued.
    pub fn predicted(&self) -> Instant {
        self.predicted
    }

    /// Its state at `now`. The waiter is handed back while it still waits, so an
    /// outcome can be taken only once.
    pub fn poll(mut self, now: Instant) -> WaitState {
        let outcome = self.core.borrow_mut().take_outcome(self.key, now);
        match outcome {
            Some(Outcome::Admitted(id)) => {
                self.done = true;
                WaitState::Ready(Ticket { core: Rc::clone(&self.core), id, estimate: self.tokens, done: false })
            }
            Some(Outcome::Rejected(r)) => {
                self.done = true;
                WaitState::Rejected(r)
            }
            None => {
                let until = self.core.borrow().next_wake();
                WaitState::Waiting { waiter: self, until }
            }
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if !self.done {
            self.core.borrow_mut().abandon_waiter(self.key);
        }
    }
}

#[cfg(test)]
mod tests;
