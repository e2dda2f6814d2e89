use super::*;

const RPS5: SharedLane = SharedLane { unit: Unit::Requests, window_ms: 1000, limit: 5 };

fn ask(holder: &str, held: u64, applied: u64, want: u64) -> Ask {
    Ask {
        holder: holder.into(),
        seq: 0,
        lanes: vec![RPS5],
        held: vec![held],
        applied: vec![applied],
        clear_ms: vec![1000],
        clear_steps: vec![],
        want: vec![want],
        epoch: None,
    }
}

#[test]
fn a_newcomer_takes_a_quarter_then_comes_back_at_once_for_the_rest() {
    let mut c = Coordinator::new(CoordinatorPolicy::default());
    let first = c.lease(&ask("a", 0, 0, 3), 0);
    assert_eq!((first.shares[0], first.renew_ms), (2, FIRST_PART_RENEW_MS), "a quarter of 5, rounded up");
    let next = c.lease(&ask("a", 0, 2, 3), FIRST_PART_RENEW_MS);
    assert_eq!(next.shares, vec![5], "alone: all it wants, twice over");
    assert_eq!(c.lease(&ask("b", 0, 0, 3), 60).shares, vec![0], "nothing free: in line for its part");
}

#[test]
fn a_holder_that_just_joined_and_took_the_lane_comes_back_soon() {
    let policy = CoordinatorPolicy::default();
    let mut c = Coordinator::new(policy);
    c.lease(&ask("a", 0, 0, 20), 0);
    let whole = c.lease(&ask("a", 0, 2, 20), FIRST_PART_RENEW_MS);
    assert_eq!((whole.shares[0], whole.renew_ms), (5, policy.busy_renew_ms), "others starting with it may be asking");
    // Those others came a few ms late: its next ask hears of them.
    c.lease(&ask("b", 0, 0, 20), 60);
    let lowered = c.lease(&ask("a", 5, 5, 20), FIRST_PART_RENEW_MS + policy.busy_renew_ms);
    assert!(lowered.shares[0] < 5, "lowered to its part: {:?}", lowered.shares);
    // Long after it joined, alone with the lane, it renews at the steady pace.
    let mut c = Coordinator::new(policy);
    c.lease(&ask("a", 0, 0, 20), 0);
    c.lease(&ask("a", 0, 2, 20), FIRST_PART_RENEW_MS);
    let steady = c.lease(&ask("a", 5, 5, 20), JOINING_MS);
    assert!(steady.renew_ms > policy.soon_renew_ms, "renews in {} ms", steady.renew_ms);
}

#[test]
fn newcomers_at_the_same_moment_all_get_a_first_part() {
    let mut c = Coordinator::new(CoordinatorPolicy::default());
    let firsts: Vec<u64> = ["a", "b", "c"].iter().map(|h| c.lease(&ask(h, 0, 0, 20), 0).shares[0]).collect();
    assert_eq!(firsts, vec![2, 1, 1]);
}

#[test]
fn a_newcomer_waits_for_a_lowering_to_be_confirmed_and_cooled() {
    let mut c = Coordinator::new(CoordinatorPolicy::default());
    c.lease(&ask("a", 0, 0, 50), 0);
    assert_eq!(c.lease(&ask("a", 0, 2, 50), 50).shares, vec![5]);
    let b = c.lease(&ask("b", 0, 0, 50), 100);
    assert_eq!(b.shares, vec![0], "nothing is free yet");
    assert_eq!(b.renew_ms, 250, "b comes back soon");
    // a's next ask lowers it to its fair part (3 of 5: it holds the most, so
    // the odd one stays with it); still counted until confirmed.
    assert_eq!(c.lease(&ask("a", 5, 5, 50), 200).shares, vec![3]);
    assert_eq!(c.lease(&ask("b", 0, 0, 50), 300).shares, vec![0]);
    // a confirms at 1200 with 5 still in its window for 1 s: 2 cool until
    // 1200 + 1000 and a little slack.
    assert_eq!(c.lease(&ask("a", 5, 3, 50), 1200).shares, vec![3]);
    assert_eq!(c.lease(&ask("b", 0, 0, 50), 2249).shares, vec![0]);
    assert_eq!(c.lease(&ask("b", 0, 0, 50), 2250).shares, vec![1], "a quarter of the 2 free, as a newcomer");
    assert_eq!(c.lease(&ask("b", 1, 1, 50), 2300).shares, vec![2], "then its fair part");
}

#[test]
fn a_queue_that_ran_dry_frees_its_window_call_by_call() {
    let mut c = Coordinator::new(CoordinatorPolicy::default());
    c.lease(&ask("a", 0, 0, 50), 0);
    c.lease(&ask("a", 0, 2, 50), 50);
    c.lease(&ask("b", 0, 0, 50), 100);
    c.lease(&ask("a", 5, 5, 50), 200);
    c.lease(&ask("a", 5, 3, 50), 1200);
    c.lease(&ask("b", 0, 0, 50), 2250);
    assert_eq!(c.lease(&ask("b", 1, 1, 50), 2300).shares, vec![2], "a holds 3, b 2");
    // At its part and short, b comes back when the next amount cools, if that
    // is sooner than a second.
    let mut cooling = c.clone();
    cooling.cool(0, 1, 2700);
    assert_eq!(cooling.lease(&ask("b", 2, 2, 50), 2400).renew_ms, 300);
    // a's queue ran dry: it gives its 3 back; its window holds them for 300,
    // 600 and 900 ms more, and each frees then (and a little slack).
    let dry = Ask { clear_ms: vec![900], clear_steps: vec![vec![[300, 2], [600, 1]]], ..ask("a", 3, 0, 3) };
    assert_eq!(c.lease(&dry, 3000).shares, vec![0]);
    let mut b = 2;
    for (t, share) in [(3349, 2), (3350, 3), (3650, 4), (3950, 5)] {
        b = c.lease(&ask("b", 2, b, 50), t).shares[0];
        assert_eq!(b, share, "at {t}");
    }
    // Steps out of order or above what it holds are skipped: the rest cools
    // until the window clears.
    let mut c = Coordinator::new(CoordinatorPolicy::default());
    c.lease(&ask("a", 0, 0, 50), 0);
    c.lease(&ask("a", 0, 2, 50), 50);
    let odd = Ask { clear_ms: vec![900], clear_steps: vec![vec![[100, 9], [300, 1], [200, 3]]], ..ask("a", 5, 0, 5) };
    c.lease(&odd, 1000);
    assert_eq!(c.lease(&ask("b", 0, 0, 50), 1400).shares, vec![1], "the 4 above level 1 are free at 1350");
}

#[test]
fn what_an_equal_split_leaves_over_stays_with_those_holding_most() {
    let mut c = Coordinator::new(CoordinatorPolicy::default());
    c.lease(&ask("a", 0, 0, 50), 0);
    c.lease(&ask("a", 0, 2, 50), 10);
    c.lease(&ask("b", 0, 0, 50), 20);
    c.lease(&ask("c", 0, 0, 50), 30);
    // a holds 5, b and c none: a comes down to 2, not 1, and b and c rise
    // to 2 and 1 as a's capacity cools.
    assert_eq!(c.lease(&ask("a", 5, 5, 50), 40).shares, vec![2]);
    c.lease(&ask("a", 5, 2, 50), 50);
    let (mut b, mut c_share) = (0, 0);
    for t in [2000, 2100, 2200] {
        b = c.lease(&ask("b", 0, b, 50), t).shares[0];
        c_share = c.lease(&ask("c", 0, c_share, 50), t + 50).shares[0];
    }
    assert_eq!((b, c_share), (2, 1));
}

#[test]
fn a_holder_that_lowers_itself_frees_what_its_window_does_not_hold() {
    let mut c = Coordinator::new(CoordinatorPolicy::default());
    c.lease(&ask("a", 0, 0, 50), 0);
    c.lease(&ask("a", 0, 2, 50), 50);
    assert_eq!(c.lease(&ask("b", 0, 0, 50), 100).shares, vec![0]);
    assert_eq!(c.lease(&ask("a", 1, 1, 1), 500).shares, vec![0], "nothing waits: its claim goes");
    // 4 are free at once (a's window holds 1); b, new, takes a quarter.
    assert_eq!(c.lease(&ask("b", 0, 0, 50), 600).shares, vec![1]);
    assert_eq!(c.lease(&ask("b", 1, 1, 50), 700).shares, vec![4]);
}

#[test]
fn a_dead_holders_share_returns_after_its_lease_and_a_window_slots_after_its_lease() {
    let policy = CoordinatorPolicy::default();
    let ends = [(ask as fn(&str, u64, u64, u64) -> Ask, 1000), (slots, 0)];
    for (lane, window) in ends {
        let mut c = Coordinator::new(policy);
        c.lease(&lane("a", 0, 0, 50), 0);
        c.lease(&lane("a", 0, 2, 50), 0);
        let end = policy.lease_ms + window + policy.margin_ms;
        assert_eq!(c.lease(&lane("b", 0, 0, 50), end - 1).shares, vec![0]);
        assert_eq!(c.lease(&lane("b", 0, 0, 50), end).shares, vec![2], "free again: a first part");
        assert_eq!(c.lease(&lane("b", 0, 2, 50), end).shares, vec![5], "then all of it, alone");
    }
}

const IN_FLIGHT5: SharedLane = SharedLane { unit: Unit::Requests, window_ms: 0, limit: 5 };

fn slots(holder: &str, held: u64, applied: u64, want: u64) -> Ask {
    Ask { lanes: vec![IN_FLIGHT5], clear_ms: vec![0], ..ask(holder, held, applied, want) }
}

#[test]
fn slots_above_a_share_stay_counted_until_the_holder_says_they_ended() {
    let mut c = Coordinator::new(CoordinatorPolicy::default());
    c.lease(&slots("a", 0, 0, 50), 0);
    assert_eq!(c.lease(&slots("a", 2, 2, 50), 10).shares, vec![5]);
    assert_eq!(c.lease(&slots("b", 0, 0, 50), 20).shares, vec![0]);
    assert_eq!(c.lease(&slots("a", 5, 5, 50), 30).shares, vec![3], "its fair part");
    // a applies 3 with 5 still in flight: they stay counted, however long
    // their calls last (a renews meanwhile), until a says they ended.
    c.lease(&slots("a", 5, 3, 50), 40);
    c.lease(&slots("a", 5, 3, 50), 10_000);
    assert_eq!(c.lease(&slots("b", 0, 0, 50), 20_000).shares, vec![0]);
    c.lease(&slots("a", 4, 3, 50), 20_010);
    assert_eq!(c.lease(&slots("b", 0, 0, 50), 20_020).shares, vec![1]);
    c.lease(&slots("a", 3, 3, 50), 20_030);
    assert_eq!(c.lease(&slots("b", 1, 1, 50), 20_040).shares, vec![2]);
}

#[test]
fn an_ask_older_than_one_answered_is_not_counted() {
    let mut c = Coordinator::new(CoordinatorPolicy::default());
    let numbered = |seq, held, applied| Ask { seq, ..slots("a", held, applied, 50) };
    c.lease(&numbered(1, 0, 0), 0);
    c.lease(&numbered(2, 2, 2), 10);
    c.lease(&numbered(4, 5, 5), 20);
    // Ask 3 (2 held, 2 applied), written again by a store after ask 4 landed.
    assert_eq!(c.lease(&numbered(3, 2, 2), 30).shares, vec![0]);
    assert_eq!(c.lease(&slots("b", 0, 0, 50), 40).shares, vec![0], "a's 5 stay counted");
}

const TPM: SharedLane = SharedLane { unit: Unit::Tokens, window_ms: 60_000, limit: 6_000 };
const MONTH: SharedLane = SharedLane { unit: Unit::Tokens, window_ms: 31 * 86_400_000, limit: 1_000_000 };

/// An ask on a minute's and a month's tokens: the month's window holds
/// `spent`, and `queued` waits on both.
fn month_ask(holder: &str, spent: u64, applied: [u64; 2], queued: u64) -> Ask {
    Ask {
        holder: holder.into(),
        seq: 0,
        lanes: vec![TPM, MONTH],
        held: vec![0, spent],
        applied: applied.to_vec(),
        clear_ms: vec![0, 0],
        clear_steps: vec![],
        want: vec![queued, spent + queued],
        epoch: None,
    }
}

#[test]
fn a_month_is_what_was_spent_plus_what_a_lease_can_spend() {
    let mut c = Coordinator::new(CoordinatorPolicy::default());
    assert_eq!(c.lease(&month_ask("a", 0, [0, 0], 100), 0).shares, vec![200, 200], "a minute's share");
    assert_eq!(c.lease(&month_ask("a", 2_500, [200, 200], 100), 10).shares, vec![200, 2_700]);
    let many = month_ask("a", 2_500, [200, 2_700], 20_000);
    assert_eq!(c.lease(&many, 20).shares, vec![6_000, 22_500], "what waits, when it is more");
    // A new calendar month: the server says nothing is spent, and the share
    // comes down (once the holder confirms it, the rest is free).
    assert_eq!(c.lease(&month_ask("a", 0, [6_000, 22_500], 100), 30).shares, vec![200, 6_000]);
    c.lease(&month_ask("a", 0, [200, 6_000], 100), 40);
    assert_eq!(c.lanes(50)[1], (MONTH, 6_000, 0));
}

#[test]
fn a_dead_holder_strands_only_what_it_spent_and_could_spend_for_the_month() {
    let policy = CoordinatorPolicy::default();
    let mut c = Coordinator::new(policy);
    c.lease(&month_ask("a", 0, [0, 0], 100), 0);
    c.lease(&month_ask("a", 2_500, [200, 200], 100), 10);
    let after = policy.lease_ms + 60_000 + policy.margin_ms + 10;
    let b = c.lease(&month_ask("b", 0, [0, 0], 100), after);
    assert_eq!(b.shares, vec![200, 200], "the minute's tokens are free again");
    assert_eq!(c.lanes(after)[1], (MONTH, 200, 2_700), "a's month stays counted");
}

#[test]
fn a_coordinator_that_lost_its_state_hands_out_nothing_until_the_old_leases_are_over() {
    let policy = CoordinatorPolicy::default();
    let mut old = Coordinator::new(policy);
    let epoch = old.lease(&ask("a", 0, 0, 50), 0).epoch;
    old.lease(&ask("a", 0, 3, 50), 10);
    // The state is lost; a asks the new coordinator, applying 3: the other 2
    // may be out with holders that have not asked yet.
    let mut c = Coordinator::new(policy);
    let born = 1_000;
    let a = c.lease(&Ask { epoch: Some(epoch), ..ask("a", 3, 3, 50) }, born);
    assert_eq!(a.shares, vec![3], "a keeps what it applies");
    assert_ne!(a.epoch, epoch);
    let end = born + policy.lease_ms + 1000 + policy.margin_ms;
    assert_eq!(c.lease(&ask("b", 0, 0, 50), born + 100).shares, vec![0]);
    c.lease(&ask("a", 3, 3, 50), born + 7_500);
    assert_eq!(c.lease(&ask("b", 0, 0, 50), end - 1).shares, vec![0]);
    assert_eq!(c.lease(&ask("b", 0, 0, 50), end).shares, vec![1], "a quarter of the 2 free, as a newcomer");
}

proptest::proptest! {
    /// Whatever holders say, in whatever order and at whatever times, with
    /// whatever policy a stored state carries, an answer never panics.
    #[test]
    fn no_ask_makes_an_answer_panic(
        lease_ms in proptest::prop_oneof![proptest::strategy::Just(0u64), 0u64..100_000, proptest::strategy::Just(u64::MAX)],
        renew_ms in 0u64..20_000,
        asks in proptest::collection::vec((0u8..4, 0u64..u64::MAX, proptest::collection::vec((0u64..u64::MAX, 0u64..u64::MAX, 0u64..10, 0u64..10, 0u64..10, 0u64..10), 0..4), proptest::option::of(0u64..3)), 1..40),
    ) {
        let policy = CoordinatorPolicy { lease_ms, renew_ms, soon_renew_ms: 1000, busy_renew_ms: 250, margin_ms: 500 };
        let mut c = Coordinator::new(policy);
        for (i, (holder, now, lanes, epoch)) in asks.iter().enumerate() {
            let small = |x: u64| if x % 3 == 0 { x } else { x % 2000 };
            let ask = Ask {
                holder: format!("h{holder}"),
                seq: i as u64,
                lanes: lanes.iter().map(|(w, limit, ..)| SharedLane {
                    unit: if w % 2 == 0 { Unit::Requests } else { Unit::Tokens },
                    window_ms: small(*w),
                    limit: small(*limit),
                }).collect(),
                held: lanes.iter().map(|l| l.2).collect(),
                applied: lanes.iter().map(|l| l.3).collect(),
                clear_ms: lanes.iter().map(|l| l.4).collect(),
                clear_steps: vec![],
                want: lanes.iter().map(|l| l.5).collect(),
                epoch: *epoch,
            };
            c.lease(&ask, small(*now));
            if i % 7 == 3 {
                c = serde_json::from_str::<Coordinator>(&serde_json::to_string(&c).unwrap()).unwrap().repaired();
            }
        }
    }
}

#[test]
fn a_state_cut_short_is_repaired_before_it_answers() {
    let mut c = Coordinator::new(CoordinatorPolicy::default());
    c.lease(&ask("a", 0, 0, 3), 0);
    c.lease(&ask("a", 0, 2, 3), 0);
    let cut = serde_json::to_string(&c).unwrap().replace("\"counted\":[5]", "\"counted\":[]");
    let mut back = serde_json::from_str::<Coordinator>(&cut).unwrap().repaired();
    assert_eq!(back.lease(&ask("b", 0, 0, 3), 10).shares, vec![2]);
}

#[test]
fn a_lease_length_out_of_bounds_is_refused_with_the_bounds() {
    assert_eq!(CoordinatorPolicy::with_lease_ms(4000.0).map(|p| (p.lease_ms, p.renew_ms)), Ok((4000, 2000)));
    assert_eq!(CoordinatorPolicy::with_lease_ms(60_000.0).map(|p| p.renew_ms), Ok(7500));
    for wrong in [999.0, 3_600_001.0, f64::NAN, f64::INFINITY, -1.0] {
        let e = CoordinatorPolicy::with_lease_ms(wrong).unwrap_err();
        assert!(e.contains("from 1000 to 3600000 (default 15000)"), "{e}");
    }
}

#[test]
fn state_survives_a_round_trip_through_json() {
    let mut c = Coordinator::new(CoordinatorPolicy::default());
    c.lease(&ask("a", 0, 0, 50), 0);
    c.lease(&ask("a", 0, 3, 50), 0);
    let mut back: Coordinator = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    assert_eq!(back.lease(&ask("b", 0, 0, 50), 10).shares, vec![0]);
}
