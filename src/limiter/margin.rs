//! The arrival margin: how much longer than its window a lane holds each cost.
//!
//! The server counts requests when they *arrive*; the client can only space out when
//! they are *admitted*. If the delay from admission to arrival varies by `s`, two
//! requests admitted `d` apart can arrive as little as `d - s` apart. Holding every
//! cost for `window + s` therefore keeps every *arrival* window within the limit.
//!
//! The delay has two parts, learned apart:
//! - our own, from admission to sending (a busy event loop), measured exactly on
//!   every attempt ([`Margin::observe_departure`]): its spread over the last
//!   [`SAMPLES`] attempts that left within [`LOOP_MEMORY`]. A stall (a storm
//!   setting up hundreds of calls at once) delays what leaves during it; a
//!   second later the loop has caught up, and what it delayed was held by the
//!   margin of its own time;
//! - the network's, one way. A round trip alone cannot tell it from the server's
//!   time, which varies with the work; when the reply says how long the server
//!   took (`x-envoy-upstream-service-time`), the spread of the rest bounds the
//!   one-way spread ([`Margin::observe_round_trip`]): the way there may vary as
//!   much as both ways together. Without that header no reply says anything about
//!   it, and the learned floor stands for it. A request that may have opened a
//!   connection tells of its set-up, not of the transit every later request
//!   pays: it bounds the warm-up margin (below) and stays out of this spread,
//!   where a cold start's set-up (30-50 ms in a fresh Node process on a local
//!   server, beside 1-2 ms of transit) held every window of the run that long.
//!
//! The floor is the margin's least value. It starts at the policy's floor, doubles
//! after a 429 that the books did not predict ([`Margin::widen`], the evidence that
//! arrivals bunched more than allowed for; once for the 429s of one bunching),
//! and halves back towards the policy's
//! floor after [`CALM`] replies in a row without one: it shrinks as well as widens.
//!
//! At start-up the first requests pay for new connections (TCP and TLS set-up) that
//! later ones reuse, so the first arrive later after sending than the next. Until
//! [`WARM_UP`] replies are in, a request sent while as many are on the wire as
//! replies have come (so it may need a connection no reply has come through yet)
//! is held at least `initial`; every reply counts, with or without timing headers.
//! Once a burst's replies are in, the next burst reuses their connections and
//! pays nothing more: a cold start costs one window's set-up, not two. Our own delay before sending is
//! measured, not guessed, so `initial` need only cover the set-up. A reply that
//! says how long the server took shows what the network added to its round trip,
//! set-up included: twice the most any such reply showed bounds the warm-up
//! margin from then on, so a slow model does not pass for a slow network. After
//! [`IDLE`] without a reply the connections may have closed, and the warm-up
//! begins anew: a burst after a pause sets them up again.

use std::collections::VecDeque;
use std::time::Duration;

use crate::time::Instant;

/// How many recent samples each spread is learned from.
pub(crate) const SAMPLES: usize = 32;
/// Replies needed before the learned margin alone is trusted.
pub(crate) const WARM_UP: usize = 8;
/// Replies in a row without a surprise 429 after which the floor halves.
pub(crate) const CALM: usize = 128;
/// How long a departure's delay speaks for the event loop.
pub(crate) const LOOP_MEMORY: Duration = Duration::from_secs(1);
/// How long after one surprise 429 others are of the same bunching.
pub(crate) const BUNCHING: Duration = Duration::from_secs(1);
/// How long without a reply before the connections may have closed (Node's
/// `fetch` closes one idle for 4 s): the next requests may each set one up
/// again, as at the start, so the warm-up begins anew.
pub(crate) const IDLE: Duration = Duration::from_secs(4);

/// How the arrival margin is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarginPolicy {
    /// Never undercut.
    pub floor: Duration,
    /// The least margin until [`WARM_UP`] replies have been observed.
    pub initial: Duration,
    /// Never exceeded, however wild the observations.
    pub ceiling: Duration,
}

impl MarginPolicy {
    /// The same margin always, whatever is observed.
    pub const fn fixed(margin: Duration) -> MarginPolicy {
        MarginPolicy { floor: margin, initial: margin, ceiling: margin }
    }
}

impl Default for MarginPolicy {
    /// 15 ms floor (one-way jitter to a nearby edge is a few ms, a busy server's
    /// own scheduling adds some; a surprise 429 doubles it), 100 ms while warming up
    /// (a TLS set-up to a nearby edge), 500 ms ceiling.
    fn default() -> Self {
        MarginPolicy {
            floor: Duration::from_millis(15),
            initial: Duration::from_millis(100),
            ceiling: Duration::from_millis(500),
        }
    }
}

/// The last [`SAMPLES`] durations, each with when it was observed, for their spread.
#[derive(Debug, Default)]
struct Recent(VecDeque<(Instant, Duration)>);

impl Recent {
    fn push(&mut self, at: Instant, d: Duration) {
        if self.0.len() == SAMPLES {
            self.0.pop_front();
        }
        self.0.push_back((at, d));
    }

    /// Drops the samples observed before `t`.
    fn forget_before(&mut self, t: Instant) {
        while self.0.front().is_some_and(|(at, _)| *at < t) {
            self.0.pop_front();
        }
    }

    fn spread(&self) -> Duration {
        let lo = self.0.iter().map(|s| s.1).min().unwrap_or_default();
        let hi = self.0.iter().map(|s| s.1).max().unwrap_or_default();
        hi - lo
    }
}

#[derive(Debug)]
pub(crate) struct Margin {
    policy: MarginPolicy,
    /// The floor as learned (see the module docs).
    floor: Duration,
    departures: Recent,
    /// Round trips less the server's reported time.
    network: Recent,
    /// The most a reply's network time was while warming up, if one said.
    set_up: Option<Duration>,
    /// Replies since the warm-up began (at the start, or after [`IDLE`]).
    replies: usize,
    /// When the last reply came: a pause after it may have closed connections.
    last_reply: Option<Instant>,
    calm: usize,
    /// When the floor last doubled.
    widened: Option<Instant>,
}

impl Margin {
    pub(crate) fn new(policy: MarginPolicy) -> Margin {
        Margin {
            policy,
            floor: policy.floor,
            departures: Recent::default(),
            network: Recent::default(),
            set_up: None,
            replies: 0,
            last_reply: None,
            calm: 0,
            widened: None,
        }
    }

    pub(crate) fn ceiling(&self) -> Duration {
        self.policy.ceiling.max(self.policy.floor)
    }

    /// The margin of a request sent now, with `open` others on the wire.
    pub(crate) fn current(&self, open: usize) -> Duration {
        let mut least = self.floor;
        if self.warming(open) {
            let set_up = self.set_up.map_or(self.policy.initial, |d| (d * 2).min(self.policy.initial));
            least = least.max(set_up);
        }
        let learned = self.departures.spread() + self.network.spread();
        learned.max(least).min(self.ceiling())
    }

    /// The least network time (round trip less the server's time) of the
    /// recent replies that said the server's time, if any did.
    pub(crate) fn least_network(&self) -> Option<Duration> {
        self.network.0.iter().map(|s| s.1).min()
    }

    /// Fewer than [`WARM_UP`] replies are in, and a request sent now, with `open`
    /// others on the wire, may need a connection of its own: no more replies have
    /// come than requests are open, so every connection a reply came through
    /// may be busy.
    pub(crate) fn warming(&self, open: usize) -> bool {
        self.replies < WARM_UP && open >= self.replies
    }

    /// Time passed to `now`: after [`IDLE`] without a reply, the warm-up begins
    /// anew.
    pub(crate) fn pass(&mut self, now: Instant) {
        if self.last_reply.is_some_and(|t| now.saturating_since(t) >= IDLE) {
            self.replies = 0;
            self.last_reply = None;
        }
    }

    /// An attempt left at `now`, `delay` after the limiter admitted it.
    pub(crate) fn observe_departure(&mut self, delay: Duration, now: Instant) {
        self.departures.forget_before(now.saturating_sub(LOOP_MEMORY));
        self.departures.push(now, delay);
    }

    /// A reply's head came at `now`, `rtt` after sending; the server says it took
    /// `upstream`. `connecting`: its request left while warming (see
    /// [`Margin::warming`]), so it may have waited for a connection's set-up.
    pub(crate) fn observe_round_trip(
        &mut self,
        rtt: Duration,
        upstream: Option<Duration>,
        connecting: bool,
        now: Instant,
    ) {
        self.pass(now);
        self.replies = self.replies.saturating_add(1);
        self.last_reply = Some(now);
        if let Some(up) = upstream {
            let network = rtt.saturating_sub(up);
            if !connecting {
                self.network.push(now, network);
            }
            if self.replies <= WARM_UP {
                self.set_up = Some(self.set_up.map_or(network, |d| d.max(network)));
            }
        }
        self.calm += 1;
        if self.calm >= CALM {
            self.calm = 0;
            self.floor = (self.floor / 2).max(self.policy.floor);
        }
    }

    /// A 429 the books did not predict at `now`: the margin was too small. The
    /// learned floor doubles (the warm-up margin is temporary and does not count),
    /// once for the 429s of one [`BUNCHING`]: one stall bunches many arrivals, and
    /// doubling for each of their 429s took a 15 ms floor to the ceiling at once
    /// (on a loaded machine, seven 429s in 20 ms, then ten seconds at 500 ms).
    pub(crate) fn widen(&mut self, now: Instant) {
        self.calm = 0;
        if self.widened.is_some_and(|t| now - t < BUNCHING) {
            return;
        }
        self.widened = Some(now);
        self.floor = (self.floor * 2).min(self.ceiling());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn policy(floor: u64, initial: u64, ceiling: u64) -> MarginPolicy {
        MarginPolicy { floor: ms(floor), initial: ms(initial), ceiling: ms(ceiling) }
    }

    fn warm(m: &mut Margin) {
        for _ in 0..WARM_UP {
            m.observe_round_trip(ms(100), None, false, Instant::ZERO);
        }
    }

    /// As many open as could be: every send may need a connection of its own.
    const BURST: usize = usize::MAX;

    #[test]
    fn the_warm_up_ends_with_replies_that_carry_no_timing_header() {
        let mut m = Margin::new(policy(25, 250, 500));
        assert_eq!(m.current(0), ms(250));
        for _ in 0..WARM_UP - 1 {
            m.observe_round_trip(ms(180), None, false, Instant::ZERO);
        }
        assert_eq!(m.current(BURST), ms(250));
        m.observe_round_trip(ms(20), None, false, Instant::ZERO);
        assert_eq!(m.current(BURST), ms(25), "round trips without the header say nothing of the one-way spread");
    }

    #[test]
    fn a_send_that_may_reuse_a_connection_a_reply_came_through_is_not_warming() {
        let mut m = Margin::new(policy(15, 100, 500));
        for _ in 0..5 {
            m.observe_round_trip(ms(150), None, false, Instant::ZERO);
        }
        assert_eq!(m.current(4), ms(15), "the fifth of the next burst: five replies came through five connections");
        assert_eq!(m.current(5), ms(100), "the sixth may need a sixth");
    }

    #[test]
    fn a_reply_that_says_the_servers_time_bounds_the_warm_up_by_what_the_network_added() {
        let mut m = Margin::new(policy(15, 100, 500));
        m.observe_round_trip(ms(1200), Some(ms(1180)), false, Instant::ZERO);
        assert_eq!(m.current(BURST), ms(40), "a slow model is not a slow network");
        m.observe_round_trip(ms(900), None, false, Instant::ZERO);
        assert_eq!(m.current(BURST), ms(40));
        m.observe_round_trip(ms(300), Some(ms(100)), false, Instant::ZERO);
        assert_eq!(m.current(BURST), ms(180), "the spread of what the network added stands");
        let mut m = Margin::new(policy(15, 100, 500));
        m.observe_round_trip(ms(1200), Some(ms(1199)), false, Instant::ZERO);
        assert_eq!(m.current(BURST), ms(15), "never under the floor");
    }

    #[test]
    fn a_request_that_may_have_opened_a_connection_bounds_the_warm_up_not_the_spread() {
        let mut m = Margin::new(policy(15, 100, 500));
        // A burst from cold: five requests each on a new connection (up to 40 ms of
        // set-up), then three that reuse one (2 ms of transit).
        for network in [40, 35, 30, 25, 20] {
            m.observe_round_trip(ms(100 + network), Some(ms(100)), true, Instant::ZERO);
        }
        assert_eq!(m.current(BURST), ms(80), "one that may need a connection: twice the set-up seen");
        for _ in 0..3 {
            m.observe_round_trip(ms(102), Some(ms(100)), false, Instant::ZERO);
        }
        assert_eq!(m.current(0), ms(15), "the set-up is not the transit of a request on a connection made");
        m.observe_round_trip(ms(130), Some(ms(100)), false, Instant::ZERO);
        assert_eq!(m.current(0), ms(28), "the transit's own spread stands");
    }

    #[test]
    fn after_a_pause_without_replies_the_warm_up_begins_anew() {
        let mut m = Margin::new(policy(15, 100, 500));
        let at = |s: f64| Instant::ZERO + Duration::from_secs_f64(s);
        for i in 0..WARM_UP {
            m.observe_round_trip(ms(130), Some(ms(100)), true, at(i as f64 * 0.1));
        }
        m.pass(at(3.0));
        assert!(!m.warming(BURST), "connections a reply came through 2.3 s ago are open");
        m.pass(at(0.7) + IDLE);
        assert!(m.warming(0), "after a pause, a request may set one up again");
        assert_eq!(m.current(0), ms(60), "held for twice the set-up seen");
        m.observe_round_trip(ms(130), Some(ms(100)), true, at(5.0));
        assert!(!m.warming(0) && m.warming(1), "one reply: one connection known open");
    }

    #[test]
    fn our_own_delay_and_the_network_spread_make_the_margin() {
        let mut m = Margin::new(policy(10, 10, 200));
        warm(&mut m);
        m.observe_departure(ms(2), Instant::ZERO);
        m.observe_departure(ms(32), Instant::ZERO);
        assert_eq!(m.current(0), ms(30));
        m.observe_round_trip(ms(140), Some(ms(100)), false, Instant::ZERO);
        m.observe_round_trip(ms(200), Some(ms(80)), false, Instant::ZERO);
        assert_eq!(m.current(0), ms(30 + 80));
        m.observe_departure(ms(900), Instant::ZERO);
        assert_eq!(m.current(0), ms(200), "never past the ceiling");
    }

    #[test]
    fn old_outliers_are_forgotten() {
        let mut m = Margin::new(policy(5, 5, 1000));
        warm(&mut m);
        m.observe_departure(ms(700), Instant::ZERO);
        for _ in 0..SAMPLES {
            m.observe_departure(ms(50), Instant::ZERO);
        }
        assert_eq!(m.current(0), ms(5));
    }

    #[test]
    fn a_stall_a_second_ago_says_nothing_of_the_loop_now() {
        let mut m = Margin::new(policy(5, 5, 1000));
        warm(&mut m);
        m.observe_departure(ms(2), Instant::ZERO);
        m.observe_departure(ms(80), Instant::ZERO + ms(80));
        assert_eq!(m.current(0), ms(78));
        m.observe_departure(ms(1), Instant::ZERO + ms(900));
        assert_eq!(m.current(0), ms(79), "within a second, the stall still counts");
        m.observe_departure(ms(1), Instant::ZERO + ms(1081));
        assert_eq!(m.current(0), ms(5));
    }

    #[test]
    fn a_surprise_429_doubles_the_floor_and_calm_halves_it_back() {
        let mut m = Margin::new(policy(25, 250, 150));
        m.widen(Instant::ZERO);
        warm(&mut m);
        assert_eq!(m.current(0), ms(50), "the floor doubled, not the warm-up margin");
        m.widen(Instant::ZERO + ms(500));
        assert_eq!(m.current(0), ms(50), "429s of one bunching double it once");
        m.widen(Instant::ZERO + ms(1000));
        m.widen(Instant::ZERO + ms(2000));
        assert_eq!(m.current(0), ms(150));
        for _ in 0..CALM {
            m.observe_round_trip(ms(30), None, false, Instant::ZERO);
        }
        assert_eq!(m.current(0), ms(75));
        for _ in 0..4 * CALM {
            m.observe_round_trip(ms(30), None, false, Instant::ZERO);
        }
        assert_eq!(m.current(0), ms(25), "never below the policy's floor");
    }
}
