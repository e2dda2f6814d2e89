//! The limiter's policies, one scenario each, on a hand-driven clock.

use std::time::Duration;

use super::*;
use crate::feedback::parse_headers;

const MARGIN: Duration = Duration::from_millis(25);

pub(super) fn secs(s: f64) -> Instant {
    Instant::from_micros((s * 1e6) as u64)
}

fn limiter(lanes: Vec<LaneSpec>) -> Limiter {
    Limiter::new(LimiterConfig { lanes, margin: MarginPolicy::fixed(MARGIN), ..LimiterConfig::default() })
}

fn tokens(n: u64) -> LaneSpec {
    LaneSpec::tokens_per_minute(n)
}

fn ready(r: Result<Reservation, Rejection>) -> Ticket {
    match r {
        Ok(Reservation::Ready(t)) => t,
        other => panic!("expected admission, got {other:?}"),
    }
}

fn queued(r: Result<Reservation, Rejection>) -> Waiter {
    match r {
        Ok(Reservation::Queued(w)) => w,
        other => panic!("expected to wait, got {other:?}"),
    }
}

/// Ticks at every wake-up until `waiter` is served or `limit` passes.
pub(super) fn wait_for(limiter: &Limiter, mut waiter: Waiter, limit: Instant) -> (Ticket, Instant) {
    let mut now = limiter.next_wake().expect("a waiter means a wake-up");
    loop {
        assert!(now <= limit, "not served by {limit:?}");
        match waiter.poll(now) {
            WaitState::Ready(t) => return (t, now),
            WaitState::Waiting { waiter: w, until } => {
                waiter = w;
                now = until.expect("still waiting means a wake-up");
            }
            WaitState::Rejected(r) => panic!("rejected: {r}"),
        }
    }
}

#[test]
fn a_second_request_waits_one_window_plus_margin() {
    let l = limiter(vec![LaneSpec::requests_per_second(1)]);
    let _a = ready(l.reserve(Demand::tokens(1), secs(0.0)));
    let b = queued(l.reserve(Demand::tokens(1), secs(0.1)));
    let due = secs(1.0) + MARGIN;
    assert_eq!(b.predicted(), due.next_tick());
    let (_b, at) = wait_for(&l, b, secs(2.0));
    assert_eq!(at, due.next_tick());
}

#[test]
fn a_refund_lets_a_waiter_in_at_once() {
    let l = limiter(vec![tokens(1000)]);
    let a = ready(l.reserve(Demand::tokens(900), secs(0.0)));
    let b = queued(l.reserve(Demand::tokens(500), secs(1.0)));
    let settled = a.settle(300, secs(2.0));
    assert_eq!(settled, Settlement { refunded: 600, debt: 0 });
    assert_eq!(l.drain_woken(), vec![b.id()]);
    assert!(matches!(b.poll(secs(2.0)), WaitState::Ready(_)));
}

#[test]
fn debt_is_paid_back_by_later_admissions() {
    let l = limiter(vec![tokens(1000)]);
    let a = ready(l.reserve(Demand::tokens(400), secs(0.0)));
    assert_eq!(a.settle(1000, secs(10.0)), Settlement { refunded: 0, debt: 600 });
    // 1000 now held: the 400 until 60 s, the 600 of debt until 70 s.
    let b = queued(l.reserve(Demand::tokens(500), secs(11.0)));
    assert_eq!(b.predicted(), (secs(70.0) + MARGIN).next_tick());
    assert_eq!(l.status(secs(11.0)).counters.debt_tokens, 600);
}

#[test]
fn cancelling_gives_back_the_request_too() {
    let l = limiter(vec![LaneSpec::requests_per_second(1), tokens(1000)]);
    ready(l.reserve(Demand::tokens(800), secs(0.0))).cancel();
    let status = l.status(secs(0.0));
    assert!(status.lanes.iter().all(|lane| lane.used == 0), "{status:?}");
    let _again = ready(l.reserve(Demand::tokens(800), secs(0.0)));
}

#[test]
fn a_dropped_ticket_keeps_its_estimate() {
    let l = limiter(vec![tokens(1000)]);
    drop(ready(l.reserve(Demand::tokens(700), secs(0.0))));
    let status = l.status(secs(1.0));
    assert_eq!((status.lanes[0].used, status.in_flight, status.counters.abandoned), (700, 0, 1));
}

#[test]
fn a_dropped_waiter_leaves_the_queue_and_an_uncollected_ticket_goes_back() {
    let l = limiter(vec![tokens(1000)]);
    let a = ready(l.reserve(Demand::tokens(900), secs(0.0)));
    let b = queued(l.reserve(Demand::tokens(500), secs(0.0)));
    drop(b);
    assert_eq!(l.status(secs(0.0)).queued, 0);
    let c = queued(l.reserve(Demand::tokens(500), secs(0.0)));
    a.cancel(); // admits c, which never collects its ticket
    assert_eq!(l.drain_woken(), vec![c.id()]);
    drop(c);
    let status = l.status(secs(0.0));
    assert_eq!((status.lanes[0].used, status.in_flight), (0, 0));
}

#[test]
fn a_large_request_is_not_starved_by_small_ones() {
    let l = limiter(vec![tokens(1000)]);
    let _a = ready(l.reserve(Demand::tokens(600), secs(0.0)));
    let big = queued(l.reserve(Demand::tokens(800), secs(1.0)));
    let due = big.predicted();
    assert_eq!(due, (secs(60.0) + MARGIN).next_tick());
    // Small requests keep coming. Two fit beside the big one's turn; the rest wait.
    let mut admitted_small = 0;
    let mut waiting = Vec::new();
    for i in 0..10 {
        match l.reserve(Demand::tokens(100), secs(2.0 + i as f64)).unwrap() {
            Reservation::Ready(t) => {
                admitted_small += 1;
                std::mem::forget(t); // keep its cost held; it is checked below
            }
            Reservation::Queued(w) => waiting.push(w),
        }
    }
    assert_eq!(admitted_small, 2);
    let (_big, at) = wait_for(&l, big, secs(61.0));
    assert_eq!(at, due, "the big request went exactly when predicted");
}

#[test]
fn small_requests_pass_a_waiting_large_one_when_they_fit_before_its_turn() {
    let l = limiter(vec![tokens(1000)]);
    let _a = ready(l.reserve(Demand::tokens(900), secs(0.0)));
    let _big = queued(l.reserve(Demand::tokens(1000), secs(1.0)));
    // 100 free now, and the big one needs the whole lane at 60 s. A small one
    // booked now would still be held then, so it must wait...
    let _small = queued(l.reserve(Demand::tokens(50), secs(1.0)));
    // ...but on a lane with room for both at the big one's turn, it goes at once.
    let l = limiter(vec![tokens(1000)]);
    let _a = ready(l.reserve(Demand::tokens(900), secs(0.0)));
    let _big = queued(l.reserve(Demand::tokens(900), secs(1.0)));
    let _small = ready(l.reserve(Demand::tokens(50), secs(1.0)));
}

#[test]
fn interactive_requests_go_before_batch_ones() {
    let l = limiter(vec![LaneSpec::requests_per_second(1)]);
    let _first = ready(l.reserve(Demand::tokens(1), secs(0.0)));
    let batch = queued(l.reserve(Demand::tokens(1).priority(Priority::Batch), secs(0.1)));
    let inter = queued(l.reserve(Demand::tokens(1), secs(0.2)));
    let keys = l.core.borrow().queued_keys();
    assert_eq!(keys.iter().map(|k| WaiterId(k.seq)).collect::<Vec<_>>(), vec![inter.id(), batch.id()]);
    let (_i, at) = wait_for(&l, inter, secs(2.0));
    let WaitState::Waiting { waiter: batch, .. } = batch.poll(at) else { panic!("batch went first") };
    let (_b, later) = wait_for(&l, batch, secs(3.0));
    assert!(later > at + Duration::from_secs(1));
}

#[test]
fn deadlines_refuse_up_front_or_in_the_queue() {
    let l = limiter(vec![LaneSpec::requests_per_second(1)]);
    let _a = ready(l.reserve(Demand::tokens(1), secs(0.0)));
    let err = l.reserve(Demand::tokens(1).deadline(secs(0.5)), secs(0.0)).unwrap_err();
    assert_eq!(err, Rejection::Deadline { predicted_wait: Some(Duration::from_micros(1_025_001)) });
    assert!(err.to_string().contains("1025 ms"));
    // Within reach when queued, but the line ahead takes the slot.
    let _b = queued(l.reserve(Demand::tokens(1), secs(0.0)));
    let c = queued(l.reserve(Demand::tokens(1).deadline(secs(1.5)), secs(0.0)));
    match c.poll(secs(1.6)) {
        WaitState::Rejected(r) => assert_eq!(r, Rejection::Deadline { predicted_wait: None }),
        other => panic!("{other:?}"),
    }
}

#[test]
fn too_large_says_which_lane_and_what_to_change() {
    let l = limiter(vec![tokens(1000)]);
    let err = l.reserve(Demand::tokens(1001), secs(0.0)).unwrap_err();
    assert_eq!(err, Rejection::TooLarge { lane: "tokens/60s".into(), cost: 1001, capacity: 1000 });
    assert!(err.to_string().contains("lower max_tokens"));
}

#[test]
fn a_429_closes_admission_for_everyone() {
    let l = limiter(vec![tokens(1000)]);
    l.observe_rate_limited(Duration::from_secs(2), None, secs(0.0));
    let w = queued(l.reserve(Demand::tokens(1), secs(0.5)));
    assert_eq!(w.predicted(), secs(2.0));
    assert_eq!(l.next_wake(), Some(secs(2.0)));
    assert_eq!(l.status(secs(0.5)).closed_for, Duration::from_millis(1500));
    let (_t, at) = wait_for(&l, w, secs(3.0));
    assert_eq!(at, secs(2.0));
}

#[test]
fn the_server_teaches_lower_limits_new_windows_and_other_clients_use() {
    let l = limiter(vec![LaneSpec::requests_per_second(10), tokens(500_000)]);
    let report = parse_headers([
        ("x-ratelimit-limit-tokens-minute", "200000"),
        ("x-ratelimit-remaining-tokens-minute", "150000"),
        ("x-ratelimit-limit-req-minute", "60"),
        ("x-ratelimit-remaining-req-minute", "59"),
    ]);
    l.observe_server(&report, None, secs(0.0));
    let s = l.status(secs(0.0));
    let tok = s.lanes.iter().find(|x| x.name == "tokens/60s").unwrap();
    assert_eq!((tok.limit, tok.configured, tok.used), (200_000, Some(500_000), 50_000));
    let req = s.lanes.iter().find(|x| x.name == "requests/60s").unwrap();
    assert_eq!((req.limit, req.used), (60, 1));
    assert_eq!(s.counters.tightened, 50_001);
    // A limit above the configured one is not adopted.
    l.observe_server(&parse_headers([("x-ratelimit-limit-tokens-minute", "900000")]), None, secs(1.0));
    let s = l.status(secs(1.0));
    assert_eq!(s.lanes.iter().find(|x| x.name == "tokens/60s").unwrap().limit, 500_000);
}

#[test]
fn model_lanes_bind_only_their_model() {
    let l = limiter(vec![tokens(10_000)]);
    l.add_lane(Some("mistral-large"), tokens(1000), secs(0.0));
    let _a = ready(l.reserve(Demand::tokens(1000).model("mistral-large"), secs(0.0)));
    let _b = queued(l.reserve(Demand::tokens(10).model("mistral-large"), secs(0.0)));
    let _c = ready(l.reserve(Demand::tokens(5000).model("mistral-small"), secs(0.0)));
    let _d = ready(l.reserve(Demand::tokens(10), secs(0.0)));
}

#[test]
fn time_never_runs_backwards_inside() {
    let l = limiter(vec![LaneSpec::requests_per_second(1)]);
    let _a = ready(l.reserve(Demand::tokens(1), secs(100.0)));
    // A clock that jumps back does not make the lane forget what it holds.
    let b = queued(l.reserve(Demand::tokens(1), secs(0.0)));
    assert!(b.predicted() > secs(101.0));
}

/// One request a second, with a margin of `floor`, `initial` and `ceiling` ms.
fn one_a_second_with_margin(floor: u64, initial: u64, ceiling: u64) -> Limiter {
    let ms = Duration::from_millis;
    let margin = MarginPolicy { floor: ms(floor), initial: ms(initial), ceiling: ms(ceiling) };
    Limiter::new(LimiterConfig { lanes: vec![LaneSpec::requests_per_second(1)], margin, ..LimiterConfig::default() })
}

#[test]
fn the_margin_follows_departure_jitter() {
    let l = one_a_second_with_margin(5, 5, 1000);
    l.observe_departure(Duration::from_millis(40), secs(0.0));
    l.observe_departure(Duration::from_millis(240), secs(0.0));
    assert_eq!(l.status(secs(0.0)).margin, Duration::from_millis(200));
    let _a = ready(l.reserve(Demand::tokens(1), secs(0.0)));
    let b = queued(l.reserve(Demand::tokens(1), secs(0.0)));
    assert_eq!(b.predicted(), secs(1.2).next_tick());
}

#[test]
fn a_request_that_leaves_late_is_held_from_when_it_leaves() {
    let l = limiter(vec![LaneSpec::requests_per_second(1), tokens(1000)]);
    let a = ready(l.reserve(Demand::tokens(100), secs(0.0)));
    // Its request goes out 0.7 s after its admission: the server counts it until
    // 1.7 s, so the next may not go before then.
    a.depart(secs(0.7));
    let b = queued(l.reserve(Demand::tokens(100), secs(0.8)));
    assert_eq!(b.predicted(), (secs(1.7) + MARGIN).next_tick());
    assert_eq!(l.status(secs(0.8)).lanes[1].used, 100, "its tokens are held once");
}

#[test]
fn a_request_that_may_have_arrived_after_its_margin_is_held_from_its_latest_arrival() {
    let l = one_a_second_with_margin(10, 100, 500);
    // Its reply comes 300 ms after it left (a new connection, a busy event loop):
    // the server may have counted it as late as 0.3 s, so until 1.3 s, not 1.1 s.
    let a = ready(l.reserve(Demand::tokens(1), secs(0.0)));
    a.depart(secs(0.0));
    a.answered(None, secs(0.3));
    let b = queued(l.reserve(Demand::tokens(1), secs(0.4)));
    assert_eq!(b.predicted(), secs(1.3).next_tick());
    // The server said it took 250 ms of the 300: it arrived by 0.05 s, within the margin.
    let (b, at) = wait_for(&l, b, secs(2.0));
    b.depart(at);
    b.answered(Some(Duration::from_millis(250)), at + Duration::from_millis(300));
    let c = queued(l.reserve(Demand::tokens(1), at));
    assert_eq!(c.predicted(), (at + Duration::from_millis(1100)).next_tick());
    // Once the warm-up is over, a slow reply without the server's time is the
    // server's work: the margin stands. (The replies that end the warm-up are
    // told through `a`, answered long ago.)
    for _ in 0..margin::WARM_UP {
        a.round_trip(Duration::from_millis(20), None, secs(0.0));
    }
    let (c, at) = wait_for(&l, c, secs(4.0));
    c.depart(at);
    c.answered(None, at + Duration::from_millis(400));
    let d = queued(l.reserve(Demand::tokens(1), at));
    assert_eq!(d.predicted(), (at + Duration::from_millis(1010)).next_tick());
    // With it, a request whose network time was 38 ms above the quickest (a
    // browser that sent it once its main thread was free) may have arrived that
    // much later than the others: it is held from then.
    for _ in 0..3 {
        c.round_trip(Duration::from_millis(12), Some(Duration::from_millis(10)), secs(0.0));
    }
    let (d, at) = wait_for(&l, d, secs(6.0));
    d.depart(at);
    let head = at + Duration::from_millis(60);
    d.round_trip(Duration::from_millis(60), Some(Duration::from_millis(20)), head);
    d.answered(Some(Duration::from_millis(20)), head);
    let e = queued(l.reserve(Demand::tokens(1), head));
    assert_eq!(e.predicted(), (at + Duration::from_millis(1038)).next_tick());
}

#[test]
fn status_reports_levels_and_next_availability() {
    let l = limiter(vec![LaneSpec::requests_per_second(2), tokens(1000)]);
    let _a = ready(l.reserve(Demand::tokens(250), secs(0.0)));
    let _b = ready(l.reserve(Demand::tokens(250), secs(0.5)));
    let s = l.status(secs(0.6));
    assert_eq!((s.in_flight, s.queued), (2, 0));
    assert_eq!(s.lanes[0].available, 0);
    assert_eq!(s.lanes[0].next_available, (secs(1.0) + MARGIN).next_tick() - secs(0.6));
    assert_eq!((s.lanes[1].used, s.lanes[1].available, s.lanes[1].percent()), (500, 500, 50.0));
}

#[test]
fn output_is_held_from_the_settle_not_the_admission() {
    let l = limiter(vec![tokens(1000)]);
    let a = ready(l.reserve(Demand::tokens(600), secs(0.0)));
    // 100 prompt tokens at admission, 300 output tokens produced over 20 s.
    assert_eq!(a.settle_usage(100, 300, secs(20.0)), Settlement { refunded: 200, debt: 0 });
    // At 61 s the prompt has left the window but the output has not.
    let b = queued(l.reserve(Demand::tokens(800), secs(61.0)));
    assert_eq!(b.predicted(), (secs(80.0) + MARGIN).next_tick());
}

#[test]
fn a_retry_keeps_its_place_in_line() {
    let l = limiter(vec![LaneSpec::requests_per_second(1)]);
    let first = ready(l.reserve(Demand::tokens(1), secs(0.0)));
    let place = first.arrival();
    let later = queued(l.reserve(Demand::tokens(1), secs(0.1)));
    first.settle(0, secs(0.2)); // the attempt failed; the call will retry
    let retry = queued(l.reserve(Demand::tokens(1).keeping_place(place), secs(0.3)));
    let keys = l.core.borrow().queued_keys();
    assert_eq!(keys.iter().map(|k| WaiterId(k.seq)).collect::<Vec<_>>(), vec![retry.id(), later.id()]);
}

#[test]
fn a_newcomer_behind_a_long_queue_is_refused_at_once_when_its_deadline_cannot_be_met() {
    let l = limiter(vec![LaneSpec::requests_per_second(2), tokens(10_000)]);
    let _first = ready(l.reserve(Demand::tokens(10), secs(0.0)));
    let _second = ready(l.reserve(Demand::tokens(10), secs(0.0)));
    let _line: Vec<Waiter> = (0..20).map(|_| queued(l.reserve(Demand::tokens(10), secs(0.0)))).collect();
    // Alone it would fit after one window; behind 20 others it needs ten.
    let late = l.reserve(Demand::tokens(10).deadline(secs(5.0)), secs(0.0)).unwrap_err();
    match late {
        Rejection::Deadline { predicted_wait: Some(w) } => assert!(w >= Duration::from_secs(10), "{w:?}"),
        other => panic!("{other:?}"),
    }
    // Batch work waits behind interactive work too; interactive work does not wait behind batch.
    let _batch: Vec<Waiter> =
        (0..20).map(|_| queued(l.reserve(Demand::tokens(10).priority(Priority::Batch), secs(0.0)))).collect();
    let urgent = queued(l.reserve(Demand::tokens(10).deadline(secs(12.0)), secs(0.0)));
    assert!(urgent.predicted() < secs(12.0));
    // On a token lane: three minutes of work ahead.
    let t = limiter(vec![tokens(10_000)]);
    let _big = ready(t.reserve(Demand::tokens(9_000), secs(0.0)));
    let _ahead: Vec<Waiter> = (0..3).map(|_| queued(t.reserve(Demand::tokens(9_000), secs(0.0)))).collect();
    let late = t.reserve(Demand::tokens(9_000).deadline(secs(100.0)), secs(0.0)).unwrap_err();
    assert_eq!(late, Rejection::Deadline { predicted_wait: Some(Duration::from_secs(180)) });
}

#[test]
fn a_limit_of_zero_pauses_the_lane_for_a_window_and_never_disables_it() {
    let l = limiter(vec![LaneSpec::requests_per_second(5), tokens(10_000)]);
    let report = parse_headers([("x-ratelimit-limit-tokens-minute", "0"), ("x-ratelimit-limit-req-second", "0")]);
    assert_eq!(l.observe_server(&report, Some("a"), secs(0.0)), 0);
    // Paused: another model's call waits, it is not refused.
    let w = queued(l.reserve(Demand::tokens(10).model("b"), secs(0.1)));
    assert!(w.predicted() >= secs(60.0) && w.predicted() <= secs(61.0), "{:?}", w.predicted());
    let s = l.status(secs(0.1));
    assert_eq!((s.lanes[0].limit, s.lanes[1].limit), (5, 10_000), "the limits stand");
    // After the window, calls flow again.
    let WaitState::Ready(t) = w.poll(secs(61.0)) else { panic!("admitted once the pause passed") };
    t.cancel();
}

#[test]
fn windows_the_server_names_are_learned_within_bounds_and_forgotten_when_idle() {
    let l = limiter(vec![LaneSpec::requests_per_second(5)]);
    let named = parse_headers([("x-ratelimit-limit-req-10-second", "2")]);
    assert_eq!(l.observe_server(&named, None, secs(0.0)), 0);
    let s = l.status(secs(0.0));
    assert_eq!(s.lanes.len(), 2);
    assert_eq!((s.lanes[1].limit, s.lanes[1].configured), (2, None));
    // Unconfirmed for ten minutes, it binds no more and is not shown.
    let later = secs(601.0);
    assert_eq!(l.status(later).lanes.len(), 1);
    for n in 0..5 {
        // Five in ten seconds: a live 2-per-10-s lane would hold the third back.
        let at = later + Duration::from_secs(n * 2);
        ready(l.reserve(Demand::tokens(1), at)).settle(1, at);
    }
    // A reply naming it again brings it back.
    l.observe_server(&named, None, secs(700.0));
    assert_eq!(l.status(secs(700.0)).lanes.len(), 2);
    // No more than MAX_LEARNED windows are ever added.
    for n in 2..100 {
        let h = format!("x-ratelimit-limit-tokens-{n}-minute");
        l.observe_server(&parse_headers([(h.as_str(), "1000")]), Some("m"), secs(700.0));
    }
    assert_eq!(l.status(secs(700.0)).lanes.len(), 1 + MAX_LEARNED);
}

#[test]
fn a_new_calendar_month_the_server_reports_frees_a_month_lane() {
    let l = limiter(vec![LaneSpec::tokens_per_month(1_000_000)]);
    ready(l.reserve(Demand::tokens(900_000), secs(0.0))).settle(900_000, secs(1.0));
    // Days later the month turned: the server's quota is fresh, the 31-day lane
    // still holds the 900,000 of last month.
    let reset = secs(5.0 * 86_400.0);
    let fresh = parse_headers([("x-ratelimit-remaining-tokens-month", "1000000")]);
    l.observe_server(&fresh, None, reset);
    assert_eq!(l.status(reset).lanes[0].used, 0);
    let _in_flight = ready(l.reserve(Demand::tokens(500_000), reset));
    // And the server saying less is left still lowers it.
    let spent = parse_headers([("x-ratelimit-remaining-tokens-month", "100000")]);
    l.observe_server(&spent, None, reset);
    assert_eq!(l.status(reset).lanes[0].used, 900_000);
}

#[test]
fn a_server_limit_above_the_configured_one_does_not_erase_what_was_spent() {
    // The workspace allows a million a month; this client is held to 1,000.
    let l = limiter(vec![LaneSpec::tokens_per_month(1_000)]);
    ready(l.reserve(Demand::tokens(200), secs(0.0))).settle(200, secs(1.0));
    let report = parse_headers([
        ("x-ratelimit-limit-tokens-month", "1000000"),
        ("x-ratelimit-remaining-tokens-month", "999800"),
    ]);
    l.observe_server(&report, None, secs(2.0));
    assert_eq!(l.status(secs(2.0)).lanes[0].used, 200, "the server's 200 used is ours, not none");
    // Others spent 300 more: that is held too.
    let more = parse_headers([
        ("x-ratelimit-limit-tokens-month", "1000000"),
        ("x-ratelimit-remaining-tokens-month", "999500"),
    ]);
    l.observe_server(&more, None, secs(3.0));
    assert_eq!(l.status(secs(3.0)).lanes[0].used, 500);
}

#[test]
fn a_zero_for_a_lane_gone_idle_pauses_nothing_and_overflows_nothing() {
    // Found by the headers fuzz target: the pause booked u64::MAX on a lane that no
    // longer binds, and the next fit overflowed.
    let l = limiter(vec![LaneSpec::requests_per_second(5)]);
    l.observe_server(&parse_headers([("x-ratelimit-limit-req-10-second", "2")]), None, secs(0.0));
    l.observe_server(&parse_headers([("x-ratelimit-limit-req-10-second", "0")]), None, secs(700.0));
    ready(l.reserve(Demand::tokens(1), secs(700.0))).settle(1, secs(700.0));
    assert_eq!(l.status(secs(700.0)).lanes.len(), 1, "a zero does not bring an idle lane back");
    let huge = parse_headers([("x-ratelimit-limit-req-10-second", "18446744073709551615")]);
    assert_eq!(huge.ignored, 1);
}
