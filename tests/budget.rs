#![cfg(not(target_arch = "wasm32"))] // proptest is native only
//! The lease protocol (`mistral_ratelimit::budget`) held to its invariant: holders
//! with real limiters applying the shares a coordinator grants, with random
//! demand, message delays and losses, holders that die holding a lease and a
//! coordinator that restarts from its stored state. What reaches the server, in
//! any window of a lane's length, never exceeds the limit, as long as no holder
//! fell back: a holder whose lease expired while the coordinator could not be
//! reached spends its last share alone, trading the guarantee for going on
//! (`HolderState::Fallback`, reported in `status()`). The month's tokens hold
//! even then: a holder spends what it was allowed of them and no more.
//!
//! With a cap on requests in flight shared too, calls last a while (longer than
//! a lease, at times), and at no instant does the server have more in flight
//! than the cap: not when a holder's share is lowered under what it has in
//! flight, not when one dies with calls open (its connections close with it),
//! not when one falls idle past its lease and comes back.
//!
//! A second property: with every holder busy and no message lost, the budget is
//! used: over a long run the server sees at least 90% of the request limit.

use std::collections::VecDeque;
use std::time::Duration;

use mistral_ratelimit::budget::{Coordinator, CoordinatorPolicy, Grant, Holder, HolderState};
use mistral_ratelimit::{
    Demand, InFlightPolicy, Instant, LaneSpec, Limiter, LimiterConfig, MarginPolicy, Reservation, Ticket, Unit,
    WaitState,
};
use proptest::prelude::*;

const STEP: Duration = Duration::from_millis(5);
/// A holder's queued burst comes within this many steps of the start: processes
/// started together do not reach their first call at the same instant.
const START_SPREAD: u32 = 10;
const TOKEN_WINDOW: Duration = Duration::from_secs(10);

/// A small deterministic generator (xorshift), seeded by proptest.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Clone, Copy, Debug)]
struct World {
    seed: u64,
    holders: usize,
    rps: u64,
    tpw: u64,
    /// Tokens in the month (the run is shorter than a month).
    month: u64,
    /// The most tokens a call costs.
    call_tokens: u64,
    /// Calls per second per holder.
    load: f64,
    /// Calls each holder has queued at the start.
    burst: u64,
    loss: f64,
    /// One-way message delay, at most.
    delay_ms: u64,
    deaths: bool,
    /// Holders with nothing to do fall idle at times, past their leases: no
    /// calls, no asks (a Worker with no requests runs nothing).
    idles: bool,
    restarts: bool,
    /// The coordinator loses its state (a store without persistence restarts)
    /// this far into the run.
    lost_at: Option<Duration>,
    /// The cap on requests in flight, if one is shared.
    in_flight: Option<u64>,
    /// How long a call lasts at most, in ms, once it reaches the server.
    call_ms: u64,
    policy: CoordinatorPolicy,
}

/// Shorter leases than the default, so that a run of half a minute sees many
/// renewals, expiries and hand-overs.
const QUICK: CoordinatorPolicy =
    CoordinatorPolicy { lease_ms: 6000, renew_ms: 2000, soon_renew_ms: 500, busy_renew_ms: 200, margin_ms: 500 };

impl World {
    /// `holders` on a 5 rps budget with tokens to spare, no losses, deaths or
    /// restarts, 20 ms of delay: the worlds where the budget should be used.
    fn busy(holders: usize) -> World {
        World {
            seed: 1,
            holders,
            rps: 5,
            tpw: 1_000_000,
            month: 1_000_000_000,
            call_tokens: 100,
            load: 0.0,
            burst: 0,
            loss: 0.0,
            delay_ms: 20,
            deaths: false,
            idles: false,
            restarts: false,
            lost_at: None,
            in_flight: None,
            call_ms: 0,
            policy: QUICK,
        }
    }
}

struct Sim {
    holder: Holder,
    limiter: Limiter,
    waiting: Vec<mistral_ratelimit::Waiter>,
    /// A grant on its way back: when it lands, and the grant (`None`: lost).
    inbox: VecDeque<(Instant, Option<Grant>)>,
    /// Calls the server has not finished: when they end, their tickets and
    /// costs, and their places in the arrivals.
    open: Vec<(Instant, Ticket, u64, usize)>,
    dead: bool,
    idle_until: Instant,
}

struct Arrival {
    at: Instant,
    tokens: u64,
    /// When the server has finished with it.
    ends: Instant,
}

/// What reached the server, and whether some holder fell back.
fn run(w: World, seconds: u64) -> (Vec<Arrival>, bool) {
    let mut rng = Rng(w.seed | 1);
    let policy = w.policy;
    let mut fell_back = false;
    let mut coordinator = Coordinator::new(policy);
    // Asks on their way to the coordinator: (lands, holder, ask).
    let mut outbox: VecDeque<(Instant, usize, mistral_ratelimit::budget::Ask)> = VecDeque::new();
    let mut sims: Vec<Sim> = (0..w.holders)
        .map(|i| Sim {
            holder: Holder::new(format!("h{i}")),
            limiter: Limiter::new(LimiterConfig {
                lanes: vec![
                    LaneSpec::requests_per_second(w.rps),
                    LaneSpec { unit: Unit::Tokens, capacity: w.tpw, window: TOKEN_WINDOW },
                    LaneSpec::tokens_per_month(w.month),
                ],
                margin: MarginPolicy::fixed(Duration::from_millis(60)),
                in_flight: InFlightPolicy { cap: w.in_flight, learn: false },
                ..LimiterConfig::default()
            }),
            waiting: Vec::new(),
            inbox: VecDeque::new(),
            open: Vec::new(),
            dead: false,
            idle_until: Instant::ZERO,
        })
        .collect();
    let mut arrivals: Vec<Arrival> = Vec::new();
    let mut now = Instant::ZERO;
    let end = Instant::ZERO + Duration::from_secs(seconds);
    while now < end {
        now = now + STEP;
        if w.restarts && rng.chance(0.0005) {
            let saved = serde_json::to_string(&coordinator).unwrap();
            coordinator = serde_json::from_str(&saved).unwrap();
        }
        if w.lost_at.is_some_and(|at| now == Instant::ZERO + at) {
            coordinator = Coordinator::new(policy);
        }
        // Asks land in order; the answer goes back (or is lost).
        while outbox.front().is_some_and(|(at, _, _)| *at <= now) {
            let (_, i, ask) = outbox.pop_front().unwrap();
            let grant = coordinator.lease(&ask, now.saturating_since(Instant::ZERO).as_millis() as u64);
            let back = now + Duration::from_millis(rng.below(w.delay_ms + 1));
            let lost = rng.chance(w.loss);
            sims[i].inbox.push_back((back, (!lost).then_some(grant)));
        }
        for (i, s) in sims.iter_mut().enumerate() {
            if s.dead {
                continue;
            }
            if w.deaths && rng.chance(0.0002) {
                s.dead = true;
                // Its connections close with it: the server ends its calls.
                for (_, _, _, k) in std::mem::take(&mut s.open) {
                    arrivals[k].ends = arrivals[k].ends.min(now);
                }
                continue;
            }
            if w.idles && s.open.is_empty() && s.waiting.is_empty() && !s.holder.asking() && rng.chance(0.0005) {
                s.idle_until = now + Duration::from_millis(rng.below(20_000));
            }
            if now < s.idle_until {
                continue;
            }
            while s.inbox.front().is_some_and(|(at, _)| *at <= now) {
                match s.inbox.pop_front().unwrap().1 {
                    Some(grant) => s.holder.granted(&grant, now),
                    None => s.holder.failed(now),
                }
            }
            let (ended, open) = std::mem::take(&mut s.open).into_iter().partition(|(ends, ..)| *ends <= now);
            s.open = open;
            for (_, ticket, tokens, _) in ended {
                ticket.settle(tokens, now);
            }
            s.holder.apply(&s.limiter, now);
            fell_back |= s.holder.state() == HolderState::Fallback;
            let burst = if now == Instant::ZERO + STEP * (1 + (i as u32 * 7 + w.seed as u32) % START_SPREAD) {
                w.burst
            } else {
                0
            };
            for _ in 0..burst {
                match s.limiter.reserve(Demand::tokens(1 + rng.below(w.call_tokens)), now) {
                    Ok(Reservation::Ready(t)) => send(s, &mut arrivals, &mut rng, w.call_ms, t, now),
                    Ok(Reservation::Queued(q)) => s.waiting.push(q),
                    Err(_) => {}
                }
            }
            if rng.chance(w.load * STEP.as_secs_f64()) {
                let tokens = 1 + rng.below(w.call_tokens);
                match s.limiter.reserve(Demand::tokens(tokens), now) {
                    Ok(Reservation::Ready(t)) => send(s, &mut arrivals, &mut rng, w.call_ms, t, now),
                    Ok(Reservation::Queued(q)) => s.waiting.push(q),
                    Err(_) => {}
                }
            }
            s.limiter.tick(now);
            let woken = s.limiter.drain_woken();
            if !woken.is_empty() {
                for q in std::mem::take(&mut s.waiting) {
                    match q.poll(now) {
                        WaitState::Ready(t) => send(s, &mut arrivals, &mut rng, w.call_ms, t, now),
                        WaitState::Waiting { waiter, .. } => s.waiting.push(waiter),
                        WaitState::Rejected(_) => {}
                    }
                }
            }
            if let Some(ask) = s.holder.ask_if_due(&s.limiter, now) {
                let lands = now + Duration::from_millis(rng.below(w.delay_ms + 1));
                if rng.chance(w.loss) {
                    s.inbox.push_back((lands + Duration::from_millis(w.delay_ms), None));
                } else {
                    outbox.push_back((lands, i, ask));
                }
            }
        }
        outbox.make_contiguous().sort_by_key(|(at, _, _)| *at);
    }
    arrivals.sort_by_key(|a| a.at);
    (arrivals, fell_back)
}

/// The call reaches the server after a little network jitter, using up to its
/// estimate, and lasts up to `call_ms`; the holder settles it when it ends.
fn send(s: &mut Sim, arrivals: &mut Vec<Arrival>, rng: &mut Rng, call_ms: u64, ticket: Ticket, now: Instant) {
    let at = now + Duration::from_millis(rng.below(40));
    let tokens = 1 + rng.below(ticket.estimate());
    let ends = if call_ms == 0 { at } else { at + Duration::from_millis(1 + rng.below(call_ms)) };
    arrivals.push(Arrival { at, tokens, ends });
    if call_ms == 0 {
        ticket.settle(tokens, at);
    } else {
        s.open.push((ends, ticket, tokens, arrivals.len() - 1));
    }
}

/// The most calls the server had in flight at once.
fn most_in_flight(arrivals: &[Arrival]) -> u64 {
    let mut edges: Vec<(Instant, i64)> = arrivals.iter().flat_map(|a| [(a.at, 1), (a.ends, -1)]).collect();
    // An end and an arrival at the same instant: the end first.
    edges.sort();
    let (mut now, mut most) = (0i64, 0i64);
    for (_, step) in edges {
        now += step;
        most = most.max(now);
    }
    most as u64
}

/// The largest total in any window `(t - w, t]`, each arrival costing `cost`.
fn busiest(arrivals: &[Arrival], w: Duration, cost: impl Fn(&Arrival) -> u64) -> u64 {
    let log: Vec<(Instant, u64)> = arrivals.iter().map(|a| (a.at, cost(a))).collect();
    mistral_ratelimit::busiest(&log, w)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn holders_together_never_exceed_a_limit_in_any_window(
        seed in any::<u64>(),
        holders in 1usize..6,
        rps in 1u64..12,
        tpw in 200u64..5000,
        months in 1u64..6,
        load in 0.5f64..20.0,
        loss in prop_oneof![Just(0.0), 0.0f64..0.3],
        delay_ms in 0u64..200,
        deaths in any::<bool>(),
        idles in any::<bool>(),
        restarts in any::<bool>(),
        in_flight in proptest::option::of(1u64..8),
        call_ms in 0u64..10_000,
    ) {
        // A month of a few windows' tokens: it runs out within the run.
        let month = tpw * months;
        let call_ms = if in_flight.is_some() { call_ms } else { 0 };
        let w = World { seed, holders, rps, tpw, month, call_tokens: tpw / 4, load, burst: 0, loss, delay_ms, deaths, idles, restarts, lost_at: None, in_flight, call_ms, policy: QUICK };
        let (arrivals, fell_back) = run(w, 30);
        let spent: u64 = arrivals.iter().map(|a| a.tokens).sum();
        prop_assert!(spent <= month, "{spent} tokens in the month, limit {month}: {w:?}");
        prop_assume!(!fell_back);
        let requests = busiest(&arrivals, Duration::from_secs(1), |_| 1);
        prop_assert!(requests <= rps, "{requests} requests in a second, limit {rps}: {w:?}");
        let tokens = busiest(&arrivals, TOKEN_WINDOW, |a| a.tokens);
        prop_assert!(tokens <= tpw, "{tokens} tokens in a window, limit {tpw}: {w:?}");
        if let Some(cap) = in_flight {
            let most = most_in_flight(&arrivals);
            prop_assert!(most <= cap, "{most} requests in flight, limit {cap}: {w:?}");
        }
    }
}

#[test]
fn busy_holders_use_the_budget() {
    for holders in [1, 3, 8] {
        let w = World { seed: 7, load: 50.0, ..World::busy(holders) };
        let (arrivals, _) = run(w, 60);
        let late: Vec<&Arrival> = arrivals.iter().filter(|a| a.at > Instant::ZERO + Duration::from_secs(10)).collect();
        let rate = late.len() as f64 / 50.0;
        assert!(rate >= 0.9 * 5.0, "{holders} holders: {rate:.2} requests/s of 5");
    }
}

/// Holders with calls of up to a second waiting keep the shared slots in flight
/// busy (only the cap binds: the rate is far above it).
#[test]
fn busy_holders_keep_the_slots_in_flight_full() {
    for holders in [1, 3, 8] {
        let w = World { seed: 5, load: 50.0, rps: 1000, in_flight: Some(5), call_ms: 1000, ..World::busy(holders) };
        let (arrivals, _) = run(w, 60);
        assert!(most_in_flight(&arrivals) <= 5);
        let from = Instant::ZERO + Duration::from_secs(10);
        let to = Instant::ZERO + Duration::from_secs(60);
        let busy: f64 =
            arrivals.iter().map(|a| a.ends.min(to).saturating_since(a.at.max(from)).as_secs_f64()).sum::<f64>() / 50.0;
        eprintln!("{holders} holders: {busy:.2} in flight on average, of 5");
        assert!(busy >= 0.8 * 5.0, "{holders} holders: {busy:.2} in flight on average, of 5");
    }
}

/// Every holder starts with a long queue: the whole drains about as fast as it
/// would through one limiter alone (the baseline, run the same way).
#[test]
fn queued_bursts_drain_at_the_limit() {
    let mut alone = None;
    for holders in [1, 3, 8] {
        let w = World { seed: 11, burst: 300 / holders as u64, ..World::busy(holders) };
        let (arrivals, _) = run(w, 120);
        let makespan = arrivals.last().unwrap().at.saturating_since(Instant::ZERO).as_secs_f64();
        let per_call = makespan / arrivals.len() as f64;
        let baseline = *alone.get_or_insert(per_call);
        eprintln!(
            "{holders} holders: {} calls in {makespan:.1} s, {:.3} of one limiter's pace",
            arrivals.len(),
            baseline / per_call
        );
        assert!(baseline / per_call >= 0.92, "{holders} holders: {:.3} of one limiter's pace", baseline / per_call);
    }
}

/// A short burst from cold, each holder's calls queued at once, with the
/// default policy and a store a millisecond or two away (Redis on the same
/// host): joining, the first shares and the hand-overs as queues run dry leave
/// little of the limit unused (the 60 ms margin alone costs 6%).
#[test]
fn cold_bursts_start_at_once() {
    for holders in [1, 3, 8] {
        let uses: Vec<f64> = (1..=8)
            .map(|seed| {
                let w = World {
                    seed,
                    burst: 20,
                    delay_ms: 2,
                    policy: CoordinatorPolicy::default(),
                    ..World::busy(holders)
                };
                let (arrivals, _) = run(w, 60);
                // The last call may start a window before the whole has gone at the rate.
                let makespan = arrivals.last().unwrap().at.saturating_since(arrivals[0].at).as_secs_f64() + 1.0;
                arrivals.len() as f64 / w.rps as f64 / makespan
            })
            .collect();
        let worst = uses.iter().copied().fold(f64::MAX, f64::min);
        let mean = uses.iter().sum::<f64>() / uses.len() as f64;
        eprintln!("{holders} holders, 20 calls each: {mean:.3} of the limit on average, {worst:.3} at worst");
        // Measured 0.93, 0.91 and 0.90 at worst (0.94, 0.86 and 0.91 when a lone
        // newcomer took the whole lane at once and renewed at the steady pace).
        assert!(worst >= 0.88, "{holders} holders from cold: {worst:.3} of the limit");
    }
}

/// A coordinator whose state is lost mid-run (Redis restarted without
/// persistence): holders that knew the old one come back to the new one, which
/// keeps what was free unused until the old leases are over, and no window goes
/// over a limit.
#[test]
fn a_lost_state_never_lets_a_window_go_over() {
    for holders in [2, 5] {
        for seed in 1..6 {
            let w = World { seed, load: 30.0, lost_at: Some(Duration::from_secs(10)), ..World::busy(holders) };
            let (arrivals, fell_back) = run(w, 40);
            assert!(!fell_back);
            let requests = busiest(&arrivals, Duration::from_secs(1), |_| 1);
            assert!(requests <= w.rps, "{requests} requests in a second: {w:?}");
            let after = arrivals.iter().filter(|a| a.at > Instant::ZERO + Duration::from_secs(30)).count();
            assert!(after as f64 >= 0.8 * 10.0 * w.rps as f64, "{after} requests in the last 10 s: {w:?}");
        }
    }
    // With a cap on requests in flight shared: never over it either.
    for seed in 1..4 {
        let lost_at = Some(Duration::from_secs(10));
        let w = World { seed, load: 30.0, lost_at, in_flight: Some(3), call_ms: 2000, ..World::busy(3) };
        let (arrivals, fell_back) = run(w, 40);
        assert!(!fell_back);
        let most = most_in_flight(&arrivals);
        assert!(most <= 3, "{most} requests in flight: {w:?}");
    }
}

/// A holder idle past its lease (a Worker with no requests runs nothing, so it
/// does not renew) while another takes the whole cap: back, it says it applies
/// nothing, and is granted nothing until the other gives slots back.
#[test]
fn a_holder_back_from_idle_past_its_lease_is_granted_only_what_is_free() {
    use mistral_ratelimit::budget::SharedLane;
    let slots = SharedLane { unit: Unit::Requests, window_ms: 0, limit: 5 };
    let ms = |t: u64| Instant::ZERO + Duration::from_millis(t);
    let mut coordinator = Coordinator::new(CoordinatorPolicy::default());
    let (mut a, mut b) = (Holder::new("a"), Holder::new("b"));
    let mut grant = |h: &mut Holder, held: u64, want: u64, t: u64| {
        let ask = h.ask(vec![slots], vec![held], vec![want], |_, _| ms(t), ms(t));
        let g = coordinator.lease(&ask, t);
        h.granted(&g, ms(t));
        h.shares(ms(t))[0]
    };
    grant(&mut a, 0, 9, 0);
    assert_eq!(grant(&mut a, 0, 9, 10), 5);
    // a falls idle; b comes after a's lease, takes the cap and renews.
    grant(&mut b, 0, 9, 20_000);
    assert_eq!(grant(&mut b, 0, 9, 20_010), 5);
    assert_eq!(grant(&mut b, 5, 9, 30_000), 5);
    assert_eq!(grant(&mut a, 0, 9, 35_000), 0, "b holds all 5");
}
