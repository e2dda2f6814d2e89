//! `make demo` for now: visualise the limiter with no API key and no network.
//!
//! A workload of requests is pushed through the real core on a virtual clock against
//! a simulated server whose real limits may differ from the client's configuration.
//! It prints a per-second timeline and a summary: makespan against the ideal the
//! limits allow, 429s, and the busiest window the server saw against each limit.

mod options;
mod report;
mod server;
mod sim;

fn main() {
    let opts = match options::Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(if message.starts_with("simulate:") { 0 } else { 2 });
        }
    };
    println!(
        "mistral-ratelimit simulator: {} requests, prompts {}-{} tokens, max_tokens {}",
        opts.requests, opts.prompt_tokens.0, opts.prompt_tokens.1, opts.max_tokens
    );
    println!(
        "client configured: {} req/s, {} tokens/min; server enforces {} req/s, {} tokens/min{}",
        opts.rps,
        opts.tpm,
        opts.server_rps,
        opts.server_tpm,
        if opts.retry_after { ", with Retry-After" } else { ", no Retry-After" }
    );
    let quiet = opts.quiet;
    let mut sim = sim::Sim::new(opts);
    sim.run();
    if !quiet {
        report::timeline(&sim);
        report::limit_changes(&sim);
    }
    report::summary(&sim);
}
