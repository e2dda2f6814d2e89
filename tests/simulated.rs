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
        assert!(s.server.rejected <= 2, "factor {factor}: {} 429s", s.server.rejected);
    }
}

#[test]
fn a_request_bound_workload_uses_the_whole_budget_with_no_429() {
    // One-way network jitter must be paid for in margin (here up to 20 ms a
    // window, the round trip's spread); without it the limits are used to 97%.
    for (latency, least) in [("10-10", 0.97), ("20-30", 0.96)] {
        let s = run(&format!(
            "--requests 60 --rps 5 --server-rps 5 --tpm 10000000 --server-tpm 10000000 --prompt-tokens 10-50 \
             --max-tokens 20 --batch-every 0 --latency-ms {latency}"
        ));
        assert_eq!(s.server.rejected, 0, "{latency}");
        let use_ = report::budget_use(&s);
        assert!(use_ >= least, "{latency}: budget use {use_:.3}");
    }
}
