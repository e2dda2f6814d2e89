//! Requests in flight: a cap on how many admitted requests are unsettled at once.
//!
//! Mistral's documentation defines its per-second request limit as "the maximum
//! number of concurrent API requests", and no header says whether the gateway
//! counts arrivals per second, requests in flight, or both. A slot is held from
//! admission until the ticket ends (settled after its stream, refused, cancelled
//! or dropped), so every path returns it exactly once.
//!
//! The cap is configured (`maxConcurrentRequests`, or the per-second figure read
//! as a concurrency), or learned: a 429 that the number in flight explains
//! ([`Departures::in_flight_seen`]) turns it on at the lowest level that
//! explains it, and the per-second figure, now read as that cap, only guards
//! arrivals at twice its rate. A first 429 cannot always tell the two readings
//! apart: requests that last about a second at a limit of N a second keep about
//! N in flight. So a later 429 under the cap, which only arrivals explain, drops
//! the cap and brings the rate back for good.

use std::time::Duration;

use super::inference::{Answer, Departure, Departures};
use super::status::LimitSource;
use crate::time::Instant;

/// How the limit on requests in flight is set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InFlightPolicy {
    /// The cap from the start, if any.
    pub cap: Option<u64>,
    /// Whether a 429 that lines up with the number in flight may set it.
    pub learn: bool,
}

/// The cap in force and where it comes from.
#[derive(Debug)]
pub(crate) struct InFlight {
    pub(crate) cap: Option<u64>,
    pub(crate) configured: Option<u64>,
    pub(crate) learn: bool,
    pub(crate) source: LimitSource,
    /// This client's share of the cap, when a budget shares it (`crate::budget`).
    pub(crate) share: Option<u64>,
}

impl InFlight {
    pub(crate) fn new(policy: InFlightPolicy) -> InFlight {
        InFlight {
            cap: policy.cap,
            configured: policy.cap,
            learn: policy.learn,
            source: LimitSource::Configured,
            share: None,
        }
    }

    /// Slots free when `held` are taken (`u64::MAX` without a cap): under the
    /// cap, and under this client's share of it.
    pub(crate) fn free(&self, held: usize) -> u64 {
        self.cap.map_or(u64::MAX, |c| self.share.map_or(c, |s| s.min(c)).saturating_sub(held as u64))
    }

    /// What a 429 says of the cap, given what was `seen` around it (see the
    /// module docs). A cap in force explains a refusal that may have come at it,
    /// and is not lowered by one: a rate refuses requests at every level in
    /// flight, and lowering on each would ratchet a cap down to one.
    ///
    /// No cap below `rate` (the request rate's limit as now believed) is learned.
    /// A burst past a rate looks like a cap at first: each request of it saw one
    /// more in flight than the one before, and was accepted, up to the first
    /// refused. Such false caps came out well under the rate (5 to 13 at 20 a
    /// second, for calls of a few ms); a cap the documentation's reading
    /// predicts is the figure itself. A figure set too high comes down by the
    /// rate's own inference first, and the cap can follow.
    pub(crate) fn judge(&mut self, seen: Seen, rate: u64) -> Verdict {
        match self.cap {
            Some(c) if seen.most >= c => Verdict::Explained,
            // Refused under a cap 429s taught: arrivals count, not (only) the
            // number in flight. The rate is read as configured from now on.
            Some(_) if self.source == LimitSource::RateLimits => {
                self.cap = self.configured;
                self.source = LimitSource::Configured;
                self.learn = false;
                Verdict::Refuted
            }
            Some(_) => Verdict::Unexplained,
            None => match seen.cap() {
                Some(c) if c >= rate => {
                    self.cap = Some(c);
                    self.source = LimitSource::RateLimits;
                    Verdict::Learned(c)
                }
                _ => Verdict::Unexplained,
            },
        }
    }
}

/// What [`InFlight::judge`] made of a 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The cap in force explains it.
    Explained,
    /// No cap was in force; this one explains it, and is now.
    Learned(u64),
    /// The cap 429s taught does not explain it: it is dropped.
    Refuted,
    /// The number in flight does not explain it.
    Unexplained,
}

/// The most recent accepted requests a refusal is compared with.
const COMPARED: usize = 64;

/// What the requests around a refusal say of a cap on requests in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Seen {
    /// The most that may have been in flight, besides it, when the refused one
    /// arrived: a cap that refused it is at most this.
    pub(crate) most: u64,
    /// The fewest that were: those that left before it and were still open when
    /// its 429 came.
    pub(crate) surely: u64,
    /// The lowest cap every acceptance of the window before allows.
    pub(crate) least_cap: u64,
}

impl Seen {
    /// The lowest cap that surely explains the refusal and the acceptances, if
    /// one does. Where the refusal may have met it but need not have, a rate
    /// explains it as well: requests at one a second for about a second keep
    /// about the rate in flight either way.
    pub(crate) fn cap(self) -> Option<u64> {
        (self.least_cap <= self.surely).then_some(self.least_cap)
    }
}

impl Departures {
    /// What the departures say of the refusal of `refused` (answered at `at`)
    /// and of the acceptances in the `window` before it left.
    ///
    /// The server counts a request in flight from its arrival (between leaving and
    /// its answer) until it ends. So when the refused one arrived, in flight were
    /// at most the others that left before its 429 came and had not ended before
    /// it left; when an accepted one arrived, at least those that left before it
    /// and were still open when it was answered. A cap `c` explains both when
    /// every accepted one saw fewer than `c` and the refused one saw `c`: surely,
    /// to learn it, or perhaps, to keep it. Arrivals bunched past a rate refuse
    /// requests whatever the number in flight, and soon contradict every cap.
    pub(crate) fn in_flight_seen(&self, refused: u64, window: Duration, at: Instant) -> Option<Seen> {
        let r = self.list.iter().rev().find(|d| d.booking == refused)?;
        let server_held = |x: &&Departure| x.booking != r.booking && x.answer != Answer::Refused;
        let most =
            self.list.iter().filter(server_held).filter(|x| x.at < at && x.ended.is_none_or(|e| e > r.at)).count();
        let surely =
            self.list.iter().filter(server_held).filter(|x| x.at <= r.at && x.ended.is_none_or(|e| e > at)).count();
        let accepted = self.list.iter().rev().filter(|y| y.answer == Answer::Accepted && y.at + window >= r.at);
        let mut least_cap = None;
        for y in accepted.take(COMPARED) {
            let answered = y.answered.unwrap_or(y.at);
            let open = self.list.iter().take_while(|x| x.at <= y.at);
            let seen = open
                .filter(server_held)
                .filter(|x| x.booking != y.booking && x.ended.is_none_or(|e| e > answered))
                .count();
            least_cap = Some(least_cap.unwrap_or(0).max(seen as u64 + 1));
        }
        // With no acceptance to compare, a cap of one would explain anything.
        Some(Seen { most: most as u64, surely: surely as u64, least_cap: least_cap.unwrap_or(u64::MAX) })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::tests::secs;
    use super::super::*;
    use super::{Departures, InFlight, Seen, Verdict};

    const PAUSE: Duration = Duration::from_millis(1);

    fn limiter(rps: u64, in_flight: InFlightPolicy) -> Limiter {
        let lanes = vec![LaneSpec::requests_per_second(rps), LaneSpec::tokens_per_minute(1_000_000)];
        Limiter::new(LimiterConfig {
            lanes,
            margin: MarginPolicy::fixed(Duration::ZERO),
            in_flight,
            ..Default::default()
        })
    }

    fn sent(l: &Limiter, at: Instant) -> Ticket {
        match l.reserve(Demand::tokens(10), at) {
            Ok(Reservation::Ready(t)) => {
                t.depart(at);
                t
            }
            other => panic!("expected admission, got {other:?}"),
        }
    }

    /// The waiter's ticket, which an end has just freed a slot for.
    fn served(w: Waiter, at: Instant) -> Ticket {
        match w.poll(at) {
            WaitState::Ready(t) => t,
            other => panic!("expected admission, got {other:?}"),
        }
    }

    /// Sends a request at `at` seconds, and reports the 429 it gets 50 ms later.
    fn refuse(l: &Limiter, at: f64) {
        let t = sent(l, secs(at));
        let (_, evidence) = t.refused(secs(at + 0.05));
        l.observe_rate_limited(PAUSE, Some(evidence), secs(at + 0.05));
    }

    fn cap(l: &Limiter, at: Instant) -> Option<InFlightStatus> {
        l.status(at).in_flight_limit
    }

    #[test]
    fn a_slot_is_held_until_the_ticket_ends_on_every_path() {
        let l = limiter(100, InFlightPolicy { cap: Some(2), learn: false });
        let a = sent(&l, secs(0.0));
        let b = sent(&l, secs(0.0));
        let Ok(Reservation::Queued(c)) = l.reserve(Demand::tokens(10), secs(0.0)) else { panic!("two in flight") };
        assert_eq!(l.next_wake(), None, "only an end admits: no timer");
        // Settled (a stream done), refused, dropped: each frees its slot once.
        a.settle(10, secs(1.0));
        let c = served(c, secs(1.0));
        let Ok(Reservation::Queued(d)) = l.reserve(Demand::tokens(10), secs(1.0)) else { panic!("two in flight") };
        let _ = b.refused(secs(2.0));
        let d = served(d, secs(2.0));
        let Ok(Reservation::Queued(e)) = l.reserve(Demand::tokens(10), secs(2.0)) else { panic!("two in flight") };
        drop(c);
        let _e = served(e, secs(2.0));
        drop(d);
        assert_eq!(l.status(secs(3.0)).in_flight, 1);
    }

    #[test]
    fn waiters_behind_the_head_leave_it_the_last_slot() {
        let l = Limiter::new(LimiterConfig {
            lanes: vec![LaneSpec::tokens_per_minute(100)],
            margin: MarginPolicy::fixed(Duration::ZERO),
            in_flight: InFlightPolicy { cap: Some(2), learn: false },
            ..Default::default()
        });
        let _a = ready(l.reserve(Demand::tokens(90), secs(0.0)));
        // The head waits a minute for tokens; a small one behind it would take the
        // last slot, and the head would then wait for its end too.
        let Ok(Reservation::Queued(_head)) = l.reserve(Demand::tokens(50), secs(0.0)) else { panic!("no tokens") };
        assert!(matches!(l.reserve(Demand::tokens(5), secs(0.0)), Ok(Reservation::Queued(_))));
    }

    #[test]
    fn a_budget_shares_the_cap_and_this_client_keeps_to_its_share() {
        let l = limiter(100, InFlightPolicy { cap: Some(4), learn: false });
        let slots = LaneSpec::requests_in_flight(4);
        assert!(l.shareable(secs(0.0)).contains(&(slots, 0, 0)));
        l.set_share(Unit::Requests, Duration::ZERO, Some(1), secs(0.0));
        let a = sent(&l, secs(0.0));
        let Ok(Reservation::Queued(b)) = l.reserve(Demand::tokens(10), secs(0.0)) else { panic!("a share of one") };
        assert!(l.shareable(secs(0.0)).contains(&(slots, 1, 1)), "one in flight, one waiting");
        assert_eq!(cap(&l, secs(0.0)).and_then(|c| c.share), Some(1));
        assert_eq!(l.clears_at(Unit::Requests, Duration::ZERO, 0, secs(0.0)), secs(0.0), "no one can tell");
        l.set_share(Unit::Requests, Duration::ZERO, Some(2), secs(0.1));
        let _b = served(b, secs(0.1));
        drop(a);
    }

    fn ready(r: Result<Reservation, Rejection>) -> Ticket {
        match r {
            Ok(Reservation::Ready(t)) => t,
            other => panic!("expected admission, got {other:?}"),
        }
    }

    #[test]
    fn a_429_that_the_number_in_flight_explains_caps_it() {
        let l = limiter(3, InFlightPolicy { cap: None, learn: true });
        // Two streams open; a third is accepted beside them, a fourth refused,
        // with no more than three arrivals in any second.
        let a = sent(&l, secs(0.0));
        let b = sent(&l, secs(0.0));
        a.answered(None, secs(0.05));
        b.answered(None, secs(0.05));
        let c = sent(&l, secs(0.9));
        c.answered(None, secs(0.95));
        refuse(&l, 1.05);
        let got = cap(&l, secs(1.2)).expect("a cap learned");
        assert_eq!((got.limit, got.configured, got.source), (3, None, LimitSource::RateLimits));
        let change = &l.drain_limit_changes()[0];
        assert_eq!(
            (change.lane.as_str(), change.limit, change.cause),
            ("requests/in-flight", 3, LimitCause::RateLimited)
        );
        let rate = &l.status(secs(1.2)).lanes[0];
        assert_eq!(
            (rate.limit, rate.source),
            (6, LimitSource::Configured),
            "read as the cap now, the rate only guards"
        );
        // The fourth waits for one of the three to end.
        let Ok(Reservation::Queued(e)) = l.reserve(Demand::tokens(10), secs(1.2)) else { panic!("three in flight") };
        a.settle(10, secs(2.0));
        let _e = served(e, secs(2.0));
        // A reply that states the per-second limit, and what remains of it: the
        // server counts arrivals, and the rate is a rate again (beside the cap).
        let report = crate::feedback::parse_headers([
            ("x-ratelimit-limit-req-second", "3"),
            ("x-ratelimit-remaining-req-second", "1"),
        ]);
        l.observe_server(&report, None, secs(2.0));
        let s = l.status(secs(2.0));
        assert_eq!((s.lanes[0].limit, s.in_flight_limit.map(|c| c.limit)), (3, Some(3)));
        drop((b, c));
    }

    #[test]
    fn a_429_of_another_lane_says_nothing_of_the_number_in_flight() {
        let l = Limiter::new(LimiterConfig {
            lanes: vec![LaneSpec::requests_per_second(3), LaneSpec::tokens_per_minute(45)],
            margin: MarginPolicy::fixed(Duration::ZERO),
            in_flight: InFlightPolicy { cap: None, learn: true },
            ..Default::default()
        });
        // What teaches a cap of three at 3 a second, but with the tokens nearly
        // spent: 40 of 45, where the second held 2 of 3 when the fourth left.
        let (a, b) = (sent(&l, secs(0.0)), sent(&l, secs(0.0)));
        a.answered(None, secs(0.0));
        b.answered(None, secs(0.0));
        let c = sent(&l, secs(0.9));
        c.answered(None, secs(0.95));
        refuse(&l, 1.05);
        assert_eq!(cap(&l, secs(1.1)), None, "the token lane explains it better");
        drop((a, b, c));
    }

    /// Two requests in flight at 2 a second, and a third refused beside them: a
    /// cap of two explains that, if the limiter may learn one.
    fn refused_beside_two(learn: bool) -> (Limiter, [Ticket; 2]) {
        let l = limiter(2, InFlightPolicy { cap: None, learn });
        let a = sent(&l, secs(0.0));
        a.answered(None, secs(0.05));
        let b = sent(&l, secs(0.5));
        b.answered(None, secs(0.55));
        refuse(&l, 1.05);
        assert_eq!(cap(&l, secs(1.1)).map(|c| c.limit), learn.then_some(2));
        (l, [a, b])
    }

    #[test]
    fn a_rate_alone_never_learns_a_cap() {
        let _open = refused_beside_two(false);
    }

    #[test]
    fn a_cap_under_the_rate_is_not_learned() {
        // A burst at 100 a second: each saw one more in flight than the last.
        let l = limiter(100, InFlightPolicy { cap: None, learn: true });
        let open: Vec<Ticket> = (0..3).map(|_| sent(&l, secs(0.0))).collect();
        open.iter().for_each(|t| t.answered(None, secs(0.01)));
        refuse(&l, 0.0);
        assert_eq!(cap(&l, secs(0.1)), None);
    }

    #[test]
    fn a_429_under_a_learned_cap_drops_it_and_brings_the_rate_back() {
        let (l, open) = refused_beside_two(true);
        // Refused with none in flight: arrivals, not the number in flight.
        for t in open {
            t.settle(10, secs(1.2));
        }
        refuse(&l, 1.3);
        assert_eq!(cap(&l, secs(1.4)), None);
        assert_eq!(l.status(secs(1.4)).lanes[0].limit, 2);
        // For good: the same evidence teaches no cap again.
        let d = sent(&l, secs(2.5));
        d.answered(None, secs(2.55));
        let f = sent(&l, secs(3.0));
        f.answered(None, secs(3.05));
        refuse(&l, 3.55);
        assert_eq!(cap(&l, secs(3.6)), None);
        drop((d, f));
    }

    #[test]
    fn a_429_at_a_learned_cap_keeps_it_one_under_it_drops_it() {
        let mut f = InFlight::new(InFlightPolicy { cap: None, learn: true });
        assert_eq!(f.judge(Seen { most: 3, surely: 3, least_cap: 4 }, 1), Verdict::Unexplained);
        assert_eq!(
            f.judge(Seen { most: 3, surely: 1, least_cap: 2 }, 1),
            Verdict::Unexplained,
            "it need not have met 2"
        );
        assert_eq!(f.judge(Seen { most: 3, surely: 2, least_cap: 2 }, 3), Verdict::Unexplained, "under the rate");
        assert_eq!(f.judge(Seen { most: 3, surely: 2, least_cap: 2 }, 1), Verdict::Learned(2));
        // At the cap (the server had not yet seen one end): the cap stands.
        assert_eq!(f.judge(Seen { most: 2, surely: 1, least_cap: 1 }, 1), Verdict::Explained);
        assert_eq!(f.cap, Some(2));
        assert_eq!(f.judge(Seen { most: 1, surely: 1, least_cap: 1 }, 1), Verdict::Refuted);
        assert_eq!((f.cap, f.learn), (None, false));
        // A cap the user set is never dropped.
        let mut f = InFlight::new(InFlightPolicy { cap: Some(4), learn: true });
        assert_eq!(f.judge(Seen { most: 1, surely: 1, least_cap: 1 }, 1), Verdict::Unexplained);
        assert_eq!(f.cap, Some(4));
    }

    #[test]
    fn a_429_with_fewer_in_flight_than_an_acceptance_saw_is_not_theirs() {
        let mut d = Departures::default();
        // Three open, and a fourth accepted beside them: a cap would be above three.
        for booking in 0..3 {
            d.record(secs(0.0), booking, None);
            d.accept(booking, secs(0.05));
        }
        d.record(secs(0.1), 3, None);
        d.accept(3, secs(0.15));
        for booking in 0..4 {
            d.end(booking, secs(0.2));
        }
        // Refused with one other in flight: arrivals, not the number in flight.
        d.record(secs(0.3), 4, None);
        d.record(secs(0.3), 5, None);
        d.refuse(5, secs(0.35));
        let seen = d.in_flight_seen(5, Duration::from_secs(1), secs(0.35)).expect("kept");
        assert_eq!(seen, Seen { most: 1, surely: 1, least_cap: 4 });
        assert_eq!(seen.cap(), None);
    }
}
