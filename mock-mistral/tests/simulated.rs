//! The simulator's workloads as tests: the same call machine the wasm client runs,
//! on a virtual clock, against a server that counts by arrival in exact sliding
//! windows. Deterministic, so the figures are asserted exactly where they can be.

#[allow(dead_code)]
#[path = "../examples/simulate/options.rs"]
mod options;
#[allow(dead_code)]
#[path = "../examples/simulate/report.rs"]
mod report;
#[allow(dead_code)]
#[path = "../examples/simulate/server.rs"]
mod server;
#[allow(dead_code)]
#[path = "../examples/simulate/sim.rs"]
mod sim;

use std::time::Duration;

use mistral_ratelimit::Instant;

fn run(args: &str) -> sim::Sim {
    let opts = options::Options::parse(args.split_whitespace().map(str::to_owned)).expect("valid options");
    let mut s = sim::Sim::new(opts);
    s.run();
    s
}

#[test]
fn a_server_that_counts_more_than_estimated_is_learned_after_the_first_replies() {
    for factor in ["1", "1.1", "1.3"] {
        let s = run(&format!(
            "--requests 200 --rps 50 --server-rps 50 --tpm 100000 --server-tpm 100000 --count-factor {factor} \
             --batch-every 0 --latency-ms 20-120"
        ));
        assert!(s.requests.iter().all(|r| r.done.is_some()), "every call completed at {factor}");
        // The calls sent before any reply could say how the server counts are
        // gone from every window that starts after the second minute.
        let (_, tokens) = s.server.busiest_windows_from(Instant::ZERO + Duration::from_secs(120));
        assert!(tokens <= 100_000, "factor {factor}: {tokens} tokens charged in one minute");
        assert!(s.server.rejected() <= 2, "factor {factor}: {} 429s", s.server.rejected());
    }
}

#[test]
fn a_request_bound_workload_uses_the_whole_budget_with_no_429() {
    // One-way network jitter must be paid for in margin (here up to 20 ms a
    // window, the round trip's spread); without it the limits are used to 97%,
    // less the half a window's budget spent before the first reply says the
    // limits are right (see `limiter::inference::Start`).
    for (latency, least) in [("10-10", 0.95), ("20-30", 0.95)] {
        let s = run(&format!(
            "--requests 60 --rps 5 --server-rps 5 --tpm 10000000 --server-tpm 10000000 --prompt-tokens 10-50 \
             --max-tokens 20 --batch-every 0 --latency-ms {latency}"
        ));
        assert_eq!(s.server.rejected(), 0, "{latency}");
        let use_ = report::budget_use(&s);
        assert!(use_ >= least, "{latency}: budget use {use_:.3}");
    }
}

const NO_PER_SECOND_HEADER: &str = "--server-headers minute --batch-every 0 --latency-ms 20-30";

#[test]
fn a_request_limit_configured_too_high_is_learned_from_429s() {
    let args = |rps: u32| {
        format!(
            "--requests 600 --rps {rps} --server-rps 5 --tpm 10000000 --server-tpm 10000000 --prompt-tokens 10-50 \
             --max-tokens 20 {NO_PER_SECOND_HEADER}"
        )
    };
    let right = run(&args(5));
    assert_eq!(right.server.rejected(), 0);
    for (rps, most_429s) in [(10, 12), (50, 60)] {
        let s = run(&args(rps));
        assert!(s.requests.iter().all(|r| r.done.is_some()), "{rps}: every call completed");
        let refused = s.server.rejected();
        // Twice too high: 2% of the calls at most. Ten times: the first burst's
        // excess (what was sent before any 429 came back), then almost nothing.
        assert!(refused <= most_429s, "{rps} configured: {refused} 429s");
        let use_ = report::budget_use(&s);
        assert!(use_ >= 0.9 && use_ >= report::budget_use(&right) - 0.05, "{rps} configured: budget use {use_:.3}");
        let status = s.state.limiter().status(s.requests.iter().filter_map(|r| r.done).max().unwrap());
        let lane = &status.lanes[0];
        assert_eq!((lane.name.as_str(), lane.source), ("requests/1s", mistral_ratelimit::LimitSource::RateLimits));
        assert!((5..=6).contains(&lane.limit), "{rps} configured: learned {}", lane.limit);
    }
}

#[test]
fn a_token_limit_configured_too_high_meets_no_burst_of_429s() {
    for tpm in [20_000, 40_000] {
        let s = run(&format!(
            "--requests 300 --rps 500 --server-rps 500 --tpm {tpm} --server-tpm 20000 --prompt-tokens 100-300 \
             --max-tokens 100 {NO_PER_SECOND_HEADER}"
        ));
        assert!(s.requests.iter().all(|r| r.done.is_some()));
        assert!(s.server.rejected() <= 6, "{tpm} configured: {} 429s", s.server.rejected());
        let use_ = report::budget_use(&s);
        assert!(use_ >= 0.9, "{tpm} configured: budget use {use_:.3}");
    }
}

/// When the lane's limit first reached `level` (or fell to it) at or after `from`.
fn reached(s: &sim::Sim, from: f64, level: impl Fn(u64) -> bool) -> Option<f64> {
    let secs = |t: Instant| t.as_micros() as f64 / 1e6;
    s.limits.iter().find(|(t, c)| secs(*t) >= from && level(c.limit)).map(|(t, _)| secs(*t))
}

#[test]
fn a_limit_cut_mid_run_is_found_within_a_few_windows() {
    // No header at all for requests: a per-minute one would state the cut.
    let s = run("--requests 900 --rps 10 --server-rps 10 --server-change 30:5:10000000 --tpm 10000000 \
         --server-tpm 10000000 --prompt-tokens 10-50 --max-tokens 20 --server-headers none --batch-every 0 \
         --latency-ms 20-30");
    assert!(s.requests.iter().all(|r| r.done.is_some()));
    let found = reached(&s, 30.0, |l| l <= 5).expect("the cut is found");
    assert!(found < 33.0, "found at {found:.1} s");
    assert!(s.server.rejected() <= 20, "{} 429s", s.server.rejected());
}

#[test]
fn a_limit_raised_mid_run_is_climbed_by_probing() {
    let s = run(&format!(
        "--requests 900 --rps 10 --server-rps 5 --server-change 30:10:10000000 --tpm 10000000 \
         --server-tpm 10000000 --prompt-tokens 10-50 --max-tokens 20 {NO_PER_SECOND_HEADER}"
    ));
    assert!(s.requests.iter().all(|r| r.done.is_some()));
    // Failed probes before the raise stretched the quiet time (to 32 s at most);
    // the first step after it that holds starts the climb.
    let first = reached(&s, 30.0, |l| l > 5).expect("a probe after the raise");
    let top = reached(&s, 30.0, |l| l >= 10).expect("the raise is climbed");
    assert!(first < 30.0 + 33.0, "first step at {first:.1} s");
    assert!(top - first < 60.0, "climbed from {first:.1} s to {top:.1} s");
    assert!(s.server.rejected() <= 15, "{} 429s", s.server.rejected());
}
