//! What the calls of each model came to, for `client.metrics()` and the alerts:
//! calls, errors by class, requests and 429s, retries, tokens, and the recent
//! latency, time to first token and queue wait; plus the last five minutes'
//! requests and 429s, in ten-second buckets.

use std::collections::BTreeMap;
use std::time::Duration;

use super::metrics::Samples;
use super::ErrorKind;
use crate::time::Instant;

/// The span the recent 429 share is taken over.
pub const RECENT: Duration = Duration::from_secs(300);
const BUCKET: Duration = Duration::from_secs(10);
const BUCKETS: usize = 30;

/// The figures of the calls of one model (or of those that name none).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelMetrics {
    /// Calls finished.
    pub calls: u64,
    /// Calls that failed, by error name (`RateLimitError`, ...).
    pub errors: BTreeMap<&'static str, u64>,
    /// HTTP requests sent (each attempt).
    pub requests: u64,
    /// 429 replies.
    pub rate_limited: u64,
    /// Retries.
    pub retries: u64,
    /// Calls that moved on from this model to a fallback.
    pub fallbacks: u64,
    /// Prompt tokens the server reported.
    pub tokens_in: u64,
    /// Of those, the tokens served from the prompt cache.
    pub tokens_cached: u64,
    /// Calls whose replies said the priority tier served them.
    pub priority_calls: u64,
    /// Calls whose replies said the standard tier served them.
    pub standard_calls: u64,
    /// Output tokens reported (or streamed).
    pub tokens_out: u64,
    /// From the call's start to its end (a stream: to its last event).
    pub latency_ms: Samples,
    /// From the call's start to a stream's first event.
    pub ttft_ms: Samples,
    /// An attempt's wait for the limiter.
    pub queue_wait_ms: Samples,
}

/// Every model's figures, and the recent requests and 429s of them all.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    by_model: BTreeMap<String, ModelMetrics>,
    /// Per bucket: its start, requests, 429s.
    recent: Vec<(Instant, u64, u64)>,
}

impl Metrics {
    /// The figures of `model` (`None`: calls that name no model).
    pub fn of(&mut self, model: Option<&str>) -> &mut ModelMetrics {
        let key = model.unwrap_or_default();
        // Called several times a call: a key is made only for a model not seen yet.
        if !self.by_model.contains_key(key) {
            self.by_model.insert(key.to_owned(), ModelMetrics::default());
        }
        self.by_model.get_mut(key).expect("just made if missing")
    }

    /// Every model's figures; the key `""` holds calls that name none.
    pub fn by_model(&self) -> &BTreeMap<String, ModelMetrics> {
        &self.by_model
    }

    /// An attempt was sent at `at`.
    pub fn sent(&mut self, model: Option<&str>, at: Instant) {
        self.of(model).requests += 1;
        self.bucket(at).1 += 1;
    }

    /// A 429 came back at `at`.
    pub fn refused(&mut self, model: Option<&str>, at: Instant) {
        self.of(model).rate_limited += 1;
        self.bucket(at).2 += 1;
    }

    /// A call ended after `latency`, failed with `error` if it did.
    pub fn finished(&mut self, model: Option<&str>, error: Option<ErrorKind>, latency: Duration) {
        let m = self.of(model);
        m.calls += 1;
        m.latency_ms.push(latency.as_secs_f64() * 1000.0);
        if let Some(kind) = error {
            *m.errors.entry(kind.name()).or_default() += 1;
        }
    }

    /// Requests sent and 429s received in the [`RECENT`] span before `at`.
    pub fn recent(&self, at: Instant) -> (u64, u64) {
        self.recent
            .iter()
            .filter(|(start, ..)| at.saturating_since(*start) < RECENT)
            .fold((0, 0), |(r, x), (_, requests, refused)| (r + requests, x + refused))
    }

    fn bucket(&mut self, at: Instant) -> &mut (Instant, u64, u64) {
        let fresh = self.recent.last().is_none_or(|(start, ..)| at.saturating_since(*start) >= BUCKET);
        if fresh {
            if self.recent.len() == BUCKETS {
                self.recent.remove(0);
            }
            self.recent.push((at, 0, 0));
        }
        self.recent.last_mut().expect("a bucket was just made if none was")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recent_share_forgets_what_is_older_than_five_minutes() {
        let mut m = Metrics::default();
        let t0 = Instant::ZERO + Duration::from_secs(1);
        for i in 0..10 {
            m.sent(Some("a"), t0 + Duration::from_secs(i));
        }
        m.refused(Some("a"), t0 + Duration::from_secs(5));
        assert_eq!(m.recent(t0 + Duration::from_secs(20)), (10, 1));
        m.sent(Some("b"), t0 + Duration::from_secs(200));
        assert_eq!(m.recent(t0 + Duration::from_secs(250)), (11, 1));
        assert_eq!(m.recent(t0 + Duration::from_secs(400)), (1, 0), "the first bucket is over five minutes old");
        assert_eq!(m.by_model()["a"].requests, 10);
        assert_eq!(m.by_model()["b"].requests, 1);
    }

    #[test]
    fn calls_and_errors_per_model() {
        let mut m = Metrics::default();
        m.finished(Some("a"), None, Duration::from_millis(100));
        m.finished(Some("a"), Some(ErrorKind::Timeout), Duration::from_millis(300));
        m.finished(None, Some(ErrorKind::Timeout), Duration::from_millis(50));
        let a = &m.by_model()["a"];
        assert_eq!((a.calls, a.errors["TimeoutError"]), (2, 1));
        assert_eq!(Samples::percentile([&a.latency_ms], 95.0), Some(300.0));
        assert_eq!(m.by_model()[""].calls, 1);
    }
}
