//! Whether to try a failed request again, and when: a pure function of the failure,
//! the attempt so far, and a random source.
//!
//! The rules, in order:
//! - a reply saying the model cannot serve (`invalid_model`, 1500; not in use, 3003)
//!   is final, whatever its status;
//! - a 429 that says the month's allowance is spent, that the model is not on the
//!   plan (a limit of 0 requests), or that the model has no capacity (3505, also as
//!   a 503) is final (the last two are a cue to fall back to another model);
//! - a plain 429 was not processed, so it is retried whatever the operation;
//! - 408, 500, 502, 503, 504, a timeout or a connection cut after sending are retried
//!   only when the operation is idempotent: the server may have done the work;
//! - a connection that never opened is retried: nothing reached the server;
//! - every other status is final;
//! - no more than `max_retries` retries, and none whose wait exceeds `max_wait`.
//!
//! The wait is what the server asked for (`retry-after-ms`, `Retry-After`) plus a
//! small positive spread, else a jittered exponential backoff. A retry is not sent at
//! once: it goes back through the limiter like any request.

mod backoff;
mod classify;
mod retry_after;

use std::fmt;
use std::time::{Duration, SystemTime};

pub use self::backoff::{backoff, spread_after, Random, SplitMix64};
pub use self::classify::{classify_429, is_capacity, is_model_refused, ApiError, RateLimitKind};
pub use self::retry_after::retry_after;
use crate::headers::Headers;

/// Limits on retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff step.
    pub base_delay: Duration,
    /// The largest backoff step (a server-given wait may be longer).
    pub max_delay: Duration,
    /// The longest wait a retry may ask for; a server asking more ends the call.
    pub max_wait: Duration,
}

/// The longest a retry waits by default: a server asking for longer (ten years,
/// say) is answered with an error, not a call that never ends.
pub const MOST_WAIT: Duration = Duration::from_secs(600);

impl Default for RetryPolicy {
    /// 3 retries, 1 s doubling to 32 s, a server-given wait of up to [`MOST_WAIT`].
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(32),
            max_wait: MOST_WAIT,
        }
    }
}

/// How an attempt failed.
#[derive(Clone, Copy, Debug)]
pub enum Failure<'a, H: Headers + ?Sized> {
    /// The server answered with an error status.
    Status {
        /// The HTTP status.
        status: u16,
        /// The response headers.
        headers: &'a H,
        /// The response body, parsed.
        body: &'a ApiError,
    },
    /// The connection never opened (refused, DNS): the request never arrived.
    Unreachable,
    /// The connection broke after the request was sent, or the attempt timed out:
    /// the server may have processed it.
    Interrupted,
}

/// Where the call stands.
#[derive(Clone, Copy, Debug)]
pub struct Attempt {
    /// Retries already made (0 after the first attempt fails).
    pub retries: u32,
    /// Whether repeating the operation is harmless.
    pub idempotent: bool,
    /// The wall clock, to read a `Retry-After` date when the response has no `Date`.
    pub wall_clock: Option<SystemTime>,
}

/// Why a retry is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryReason {
    /// A 429 rate limit; `server_wait` is what the server asked for, if it did.
    RateLimited {
        /// The server's requested wait.
        server_wait: Option<Duration>,
    },
    /// A retryable status on an idempotent operation.
    Status(u16),
    /// The request never reached the server.
    Unreachable,
    /// The connection broke or timed out on an idempotent operation.
    Interrupted,
}

/// Why no retry is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiveUp {
    /// This status is final.
    Final(u16),
    /// The monthly allowance is spent, or the key has none.
    QuotaExhausted,
    /// The model's service tier is saturated: use another model.
    CapacityExceeded,
    /// The model is not on the plan (a limit of 0 requests for it): use another.
    NotOnPlan,
    /// The server may have processed a non-idempotent request; repeating it could
    /// do it twice.
    NotIdempotent,
    /// `max_retries` retries were made.
    RetriesExhausted,
    /// The next retry would wait longer than the call may.
    OutOfTime {
        /// The wait that would have been needed.
        wait: Duration,
    },
}

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GiveUp::Final(s) => write!(f, "status {s} is not retryable"),
            GiveUp::QuotaExhausted => {
                f.write_str("the workspace's monthly token allowance is spent (or the key has none)")
            }
            GiveUp::CapacityExceeded => {
                f.write_str("the model's service tier is at capacity; retry later or fall back to another model")
            }
            GiveUp::NotOnPlan => f.write_str(
                "the server states a limit of 0 requests for this model, and no wait changes that; \
                 use a model on the plan (or a fallback chain), or change the plan",
            ),
            GiveUp::NotIdempotent => f.write_str(
                "the request may have been processed and repeating it could apply it twice, so it was not retried",
            ),
            GiveUp::RetriesExhausted => f.write_str("no retries left; raise maxRetries to try longer"),
            GiveUp::OutOfTime { wait } => write!(
                f,
                "the next retry would need a {} ms wait, longer than the call may wait (10 minutes, or queueTimeoutMs); raise queueTimeoutMs to wait it out",
                wait.as_millis()
            ),
        }
    }
}

/// The policy's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Try again after `after` (then through the limiter).
    Retry {
        /// The wait before the retry is queued.
        after: Duration,
        /// Why.
        why: RetryReason,
    },
    /// Stop.
    GiveUp(GiveUp),
}

/// Decides what to do about `failure`. See the module docs for the rules.
pub fn decide<H: Headers + ?Sized>(
    policy: &RetryPolicy,
    failure: &Failure<'_, H>,
    attempt: &Attempt,
    rng: &mut dyn Random,
) -> Verdict {
    let (why, server_wait) = match *failure {
        Failure::Unreachable => (RetryReason::Unreachable, None),
        Failure::Interrupted if attempt.idempotent => (RetryReason::Interrupted, None),
        Failure::Interrupted => return Verdict::GiveUp(GiveUp::NotIdempotent),
        // The model cannot serve, whatever the status: final, though another may.
        Failure::Status { status, body, .. } if is_model_refused(body) => {
            return Verdict::GiveUp(GiveUp::Final(status))
        }
        Failure::Status { status: 429, headers, body } => match classify_429(headers, body) {
            RateLimitKind::QuotaExhausted => return Verdict::GiveUp(GiveUp::QuotaExhausted),
            RateLimitKind::CapacityExceeded => return Verdict::GiveUp(GiveUp::CapacityExceeded),
            RateLimitKind::NotOnPlan => return Verdict::GiveUp(GiveUp::NotOnPlan),
            RateLimitKind::RateLimited => {
                let wait = retry_after(headers, attempt.wall_clock);
                (RetryReason::RateLimited { server_wait: wait }, wait)
            }
        },
        // Capacity as a 503 (code 3505): the request was not run, and another
        // model may serve it now, where a retry soon rarely helps.
        Failure::Status { status: 503, body, .. } if is_capacity(body) => {
            return Verdict::GiveUp(GiveUp::CapacityExceeded)
        }
        Failure::Status { status: status @ (408 | 500 | 502 | 503 | 504), headers, .. } => {
            if !attempt.idempotent {
                return Verdict::GiveUp(GiveUp::NotIdempotent);
            }
            (RetryReason::Status(status), retry_after(headers, attempt.wall_clock))
        }
        Failure::Status { status, .. } => return Verdict::GiveUp(GiveUp::Final(status)),
    };
    if attempt.retries >= policy.max_retries {
        return Verdict::GiveUp(GiveUp::RetriesExhausted);
    }
    let after = match server_wait {
        Some(wait) => spread_after(wait, rng),
        None => backoff(attempt.retries + 1, policy.base_delay, policy.max_delay, rng),
    };
    if after > policy.max_wait {
        return Verdict::GiveUp(GiveUp::OutOfTime { wait: after });
    }
    Verdict::Retry { after, why }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: [(&str, &str); 0] = [];

    fn attempt(retries: u32, idempotent: bool) -> Attempt {
        Attempt { retries, idempotent, wall_clock: None }
    }

    fn status<'a>(
        status: u16,
        headers: &'a [(&'a str, &'a str)],
        body: &'a ApiError,
    ) -> Failure<'a, [(&'a str, &'a str)]> {
        Failure::Status { status, headers, body }
    }

    fn verdict(f: &Failure<'_, [(&str, &str)]>, a: Attempt) -> Verdict {
        decide(&RetryPolicy::default(), f, &a, &mut || 0.0)
    }

    #[test]
    fn plain_429_waits_what_the_server_said_even_for_writes() {
        let body = ApiError::parse(r#"{"type":"rate_limited","code":"1300"}"#);
        let v = verdict(&status(429, &[("retry-after", "2")], &body), attempt(0, false));
        assert_eq!(
            v,
            Verdict::Retry {
                after: Duration::from_secs(2),
                why: RetryReason::RateLimited { server_wait: Some(Duration::from_secs(2)) }
            }
        );
        let v = verdict(&status(429, &NONE, &body), attempt(2, false));
        assert_eq!(
            v,
            Verdict::Retry { after: Duration::from_secs(2), why: RetryReason::RateLimited { server_wait: None } }
        );
    }

    #[test]
    fn final_429s_are_not_retried() {
        let tier = ApiError::parse(r#"{"message":"Service tier capacity exceeded for this model."}"#);
        assert_eq!(verdict(&status(429, &NONE, &tier), attempt(0, true)), Verdict::GiveUp(GiveUp::CapacityExceeded));
        let body = ApiError::default();
        let month = [("x-ratelimit-remaining-tokens-month", "0")];
        assert_eq!(verdict(&status(429, &month, &body), attempt(0, true)), Verdict::GiveUp(GiveUp::QuotaExhausted));
    }

    #[test]
    fn a_model_that_cannot_serve_or_has_no_capacity_is_never_retried() {
        let invalid = ApiError::parse(r#"{"message":"Invalid model","type":"invalid_model","code":"1500"}"#);
        let not_in_use = ApiError::parse(r#"{"message":"Model not in use","code":3003}"#);
        for (code, body) in [(400, &invalid), (503, &invalid), (400, &not_in_use), (500, &not_in_use)] {
            assert_eq!(verdict(&status(code, &NONE, body), attempt(0, true)), Verdict::GiveUp(GiveUp::Final(code)));
        }
        let capacity = ApiError::parse(r#"{"message":"Service tier capacity exceeded for this model.","code":"3505"}"#);
        assert_eq!(
            verdict(&status(503, &NONE, &capacity), attempt(0, true)),
            Verdict::GiveUp(GiveUp::CapacityExceeded)
        );
        let not_on_plan = [("x-ratelimit-limit-req-minute", "0")];
        let rate = ApiError::parse(r#"{"type":"rate_limited","code":"1300"}"#);
        assert_eq!(verdict(&status(429, &not_on_plan, &rate), attempt(0, true)), Verdict::GiveUp(GiveUp::NotOnPlan));
    }

    #[test]
    fn server_errors_repeat_only_harmless_operations() {
        let body = ApiError::default();
        for code in [500, 502, 503, 504, 408] {
            assert_eq!(verdict(&status(code, &NONE, &body), attempt(0, false)), Verdict::GiveUp(GiveUp::NotIdempotent));
            assert!(matches!(verdict(&status(code, &NONE, &body), attempt(0, true)), Verdict::Retry { .. }));
        }
        assert_eq!(verdict(&Failure::Interrupted, attempt(0, false)), Verdict::GiveUp(GiveUp::NotIdempotent));
        assert!(matches!(verdict(&Failure::Interrupted, attempt(0, true)), Verdict::Retry { .. }));
        assert!(matches!(verdict(&Failure::Unreachable, attempt(0, false)), Verdict::Retry { .. }));
    }

    #[test]
    fn client_errors_are_final() {
        let body = ApiError::default();
        for code in [400, 401, 403, 404, 409, 422] {
            assert_eq!(verdict(&status(code, &NONE, &body), attempt(0, true)), Verdict::GiveUp(GiveUp::Final(code)));
        }
    }

    #[test]
    fn a_server_asking_for_ten_years_ends_the_call() {
        let body = ApiError::default();
        let v = verdict(&status(429, &[("retry-after", "315360000")], &body), attempt(0, true));
        assert!(matches!(v, Verdict::GiveUp(GiveUp::OutOfTime { .. })), "{v:?}");
    }

    #[test]
    fn budgets_end_the_retries() {
        assert_eq!(verdict(&Failure::Unreachable, attempt(3, true)), Verdict::GiveUp(GiveUp::RetriesExhausted));
        let patient = RetryPolicy { max_wait: Duration::from_secs(4), ..RetryPolicy::default() };
        let body = ApiError::default();
        assert_eq!(
            decide(&patient, &status(503, &[("retry-after", "5")], &body), &attempt(0, true), &mut || 0.0),
            Verdict::GiveUp(GiveUp::OutOfTime { wait: Duration::from_secs(5) })
        );
    }

    #[test]
    fn backoff_grows_with_retries() {
        let waits: Vec<Duration> = (0..3)
            .map(|r| match verdict(&Failure::Unreachable, attempt(r, true)) {
                Verdict::Retry { after, .. } => after,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(waits, [Duration::from_millis(500), Duration::from_secs(1), Duration::from_secs(2)]);
    }
}
