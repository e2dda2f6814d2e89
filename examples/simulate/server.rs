//! A simulated Mistral endpoint: it counts requests and tokens by *arrival* in exact
//! sliding windows, answers 429 when a request would exceed its real limits, and
//! reports its limits and what remains in `x-ratelimit-*` headers, as the API does:
//! per second, or (as captures of the real API show) only a per-minute request
//! limit that says nothing of the per-second one, or no request limit at all. Its
//! limits may change mid-run.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::time::Duration;

use mistral_ratelimit::busiest;
use mistral_ratelimit::Instant;

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

pub enum Answer {
    /// Served: the response leaves after `processing`, with these headers and body.
    Ok { processing: Duration, headers: Vec<(String, String)>, body: String },
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

/// Which request limit the replies state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestHeaders {
    /// `x-ratelimit-{limit,remaining}-req-second`.
    Second,
    /// Only `x-ratelimit-limit-req-minute`, as captures of the real API show.
    Minute,
    /// None.
    None,
}

pub struct Server {
    /// In order of `at`; the first from 0.
    limits: Vec<Limits>,
    request_headers: RequestHeaders,
    retry_after: bool,
    tokens_per_second: u64,
    /// Accepted arrivals (time → count) and tokens charged (time → tokens). Prompt
    /// tokens are charged on arrival, completion tokens when they are produced.
    requests: BTreeMap<Instant, u64>,
    tokens: BTreeMap<Instant, u64>,
    pub rejected: u64,
}

impl Server {
    pub fn new(
        limits: Vec<Limits>,
        request_headers: RequestHeaders,
        retry_after: bool,
        tokens_per_second: u64,
    ) -> Server {
        Server {
            limits,
            request_headers,
            retry_after,
            tokens_per_second,
            requests: BTreeMap::new(),
            tokens: BTreeMap::new(),
            rejected: 0,
        }
    }

    /// Sum of `log` in the window of length `w` that ends at `now`: (now - w, now].
    fn in_window(log: &BTreeMap<Instant, u64>, now: Instant, w: Duration) -> u64 {
        let lower = match now.as_micros().checked_sub(w.as_micros() as u64) {
            Some(start) => Bound::Excluded(Instant::from_micros(start)),
            None => Bound::Unbounded,
        };
        log.range((lower, Bound::Included(now))).map(|(_, n)| n).sum()
    }

    /// The limits in force at `now`.
    pub fn limits(&self, now: Instant) -> Limits {
        let since = now - Instant::ZERO;
        *self.limits.iter().rev().find(|l| l.at <= since).unwrap_or(&self.limits[0])
    }

    fn headers(&self, now: Instant) -> Vec<(String, String)> {
        let Limits { rps, tpm, .. } = self.limits(now);
        let req = Self::in_window(&self.requests, now, SECOND);
        let tok = Self::in_window(&self.tokens, now, MINUTE);
        let mut headers = match self.request_headers {
            RequestHeaders::Second => vec![
                ("x-ratelimit-limit-req-second".into(), rps.to_string()),
                ("x-ratelimit-remaining-req-second".into(), rps.saturating_sub(req).to_string()),
            ],
            RequestHeaders::Minute => vec![("x-ratelimit-limit-req-minute".into(), (rps * 60).to_string())],
            RequestHeaders::None => Vec::new(),
        };
        headers.push(("x-ratelimit-limit-tokens-minute".into(), tpm.to_string()));
        headers.push(("x-ratelimit-remaining-tokens-minute".into(), tpm.saturating_sub(tok).to_string()));
        headers
    }

    /// A request arrives with `prompt` tokens and will produce `completion` tokens.
    pub fn arrive(&mut self, now: Instant, prompt: u64, completion: u64) -> Answer {
        let Limits { rps, tpm, .. } = self.limits(now);
        let req = Self::in_window(&self.requests, now, SECOND);
        let tok = Self::in_window(&self.tokens, now, MINUTE);
        if req + 1 > rps || tok + prompt > tpm {
            self.rejected += 1;
            let mut headers = Vec::new();
            if self.retry_after {
                headers.push(("retry-after".to_owned(), "1".to_owned()));
            }
            let body = r#"{"object":"error","message":"Rate limit exceeded","type":"rate_limited","param":null,"code":"1300"}"#;
            return Answer::RateLimited { headers, body: body.to_owned() };
        }
        *self.requests.entry(now).or_default() += 1;
        *self.tokens.entry(now).or_default() += prompt;
        let processing =
            Duration::from_millis(150) + Duration::from_secs_f64(completion as f64 / self.tokens_per_second as f64);
        *self.tokens.entry(now + processing).or_default() += completion;
        let mut headers = self.headers(now + processing);
        // As the real API's envoy does: the time spent inside, in milliseconds.
        headers.push(("x-envoy-upstream-service-time".into(), processing.as_millis().to_string()));
        let total = prompt + completion;
        let body = format!(
            r#"{{"object":"chat.completion","usage":{{"prompt_tokens":{prompt},"completion_tokens":{completion},"total_tokens":{total}}}}}"#
        );
        Answer::Ok { processing, headers, body }
    }

    /// The most requests in any 1 s window and tokens in any 60 s window, as charged.
    pub fn busiest_windows(&self) -> (u64, u64) {
        self.busiest_windows_from(Instant::ZERO)
    }

    /// The same, counting only what was charged from `start` on.
    pub fn busiest_windows_from(&self, start: Instant) -> (u64, u64) {
        let from = |log: &BTreeMap<Instant, u64>| log.range(start..).map(|(t, n)| (*t, *n)).collect::<Vec<_>>();
        (busiest(&from(&self.requests), SECOND), busiest(&from(&self.tokens), MINUTE))
    }
}
