//! The simulated Mistral endpoint: the mock's own gateway (`mock_mistral::gateway`,
//! the same rules the mock serves over HTTP) on the simulator's virtual clock. It
//! counts requests and tokens by arrival in exact sliding windows, refuses with a
//! 429 what would exceed its limits, and states them in `x-ratelimit-*` headers
//! as the mock does: per second, per minute only (as captures of the real API
//! show), or not at all. Its limits may change mid-run.

use std::time::Duration;

use mistral_ratelimit::Instant;
use mock_mistral::config::Config;
pub use mock_mistral::config::RequestHeaders;
use mock_mistral::gateway::{Admission, Ask, Gateway};

/// The one key, and model, every simulated request uses.
const KEY: &str = "simulated";
const MODEL: &str = "mistral-small-latest";

/// What arriving gets a request.
pub enum Arrival {
    /// Admitted: its reply is ready after `processing`, when [`Server::complete`]
    /// charges its completion and writes its headers.
    Admitted { processing: Duration, admission: Admission },
    /// Refused with a 429 body like Mistral's.
    RateLimited { headers: Vec<(String, String)>, body: String },
}

/// From `at` on, the server enforces `rps` and `tpm`.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub at: Duration,
    pub rps: u64,
    pub tpm: u64,
}

pub struct Server {
    gateway: Gateway,
    /// Changes still to come, latest first.
    changes: Vec<Limits>,
    retry_after: bool,
    tokens_per_second: u64,
}

impl Server {
    /// `limits` in order of `at`, the first from 0.
    pub fn new(
        limits: Vec<Limits>,
        request_headers: RequestHeaders,
        retry_after: bool,
        tokens_per_second: u64,
    ) -> Server {
        let first = limits[0];
        let config = Config { rps: first.rps, tpm: first.tpm, request_headers, ..Config::default() };
        let changes = limits[1..].iter().rev().copied().collect();
        Server { gateway: Gateway::new(config, Instant::ZERO), changes, retry_after, tokens_per_second }
    }

    fn catch_up(&mut self, now: Instant) {
        while self.changes.last().is_some_and(|l| Instant::ZERO + l.at <= now) {
            let l = self.changes.pop().expect("checked");
            self.gateway.set_limits(l.rps, l.tpm);
        }
    }

    /// A request arrives with `prompt` tokens and will produce `completion` tokens.
    pub fn arrive(&mut self, now: Instant, prompt: u64, completion: u64) -> Arrival {
        self.catch_up(now);
        self.gateway.stats.arrived(now);
        match self.gateway.admit(KEY, Ask::new(MODEL, prompt), now) {
            Ok((admission, _)) => {
                let generating = Duration::from_secs_f64(completion as f64 / self.tokens_per_second as f64);
                Arrival::Admitted { processing: Duration::from_millis(150) + generating, admission }
            }
            Err(_) => {
                let mut headers = Vec::new();
                if self.retry_after {
                    headers.push(("retry-after".to_owned(), "1".to_owned()));
                }
                let body = r#"{"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300"}"#;
                Arrival::RateLimited { headers, body: body.to_owned() }
            }
        }
    }

    /// An admitted request's reply is ready at `now`, after `processing`: its
    /// completion is charged, and the reply's headers and body written.
    pub fn complete(
        &mut self,
        now: Instant,
        admission: &Admission,
        processing: Duration,
        prompt: u64,
        completion: u64,
    ) -> (Vec<(String, String)>, String) {
        self.catch_up(now);
        self.gateway.charge(KEY, completion, now);
        self.gateway.release(admission, now);
        let mut headers = self.gateway.headers(KEY, now, None);
        // As the real API's envoy does: the time spent inside, in milliseconds.
        headers.push(("x-envoy-upstream-service-time".into(), processing.as_millis().to_string()));
        let total = prompt + completion;
        let body = format!(
            r#"{{"object":"chat.completion","usage":{{"prompt_tokens":{prompt},"completion_tokens":{completion},"total_tokens":{total}}}}}"#
        );
        (headers, body)
    }

    /// Requests refused by a limit.
    pub fn rejected(&self) -> u64 {
        self.gateway.stats.refused()
    }

    /// The most requests in any 1 s window and tokens in any 60 s window, as charged.
    pub fn busiest_windows(&self) -> (u64, u64) {
        self.busiest_windows_from(Instant::ZERO)
    }

    /// The same, counting only what was charged from `start` on.
    pub fn busiest_windows_from(&self, start: Instant) -> (u64, u64) {
        self.gateway.stats.busiest_from(start)
    }
}
