//! The client's running counters for `status()`, and the recent samples their
//! percentiles come from.

use std::collections::VecDeque;

/// How many samples of a timing are kept for its percentiles.
pub const TTFT_SAMPLES: usize = 256;

/// The last [`TTFT_SAMPLES`] values of a timing, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Samples(VecDeque<f64>);

impl Samples {
    /// Keeps `ms`, forgetting the oldest beyond [`TTFT_SAMPLES`].
    pub fn push(&mut self, ms: f64) {
        if self.0.len() == TTFT_SAMPLES {
            self.0.pop_front();
        }
        self.0.push_back(ms);
    }

    /// The `p`th percentile (0 to 100) of the samples of every one of `all`, nearest rank.
    pub fn percentile<'a>(all: impl IntoIterator<Item = &'a Samples>, p: f64) -> Option<f64> {
        let mut v: Vec<f64> = all.into_iter().flat_map(|s| s.0.iter().copied()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
        Some(v[rank.min(v.len()) - 1])
    }
}

/// Counters since the client was made.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// HTTP requests sent (each attempt counts).
    pub requests: u64,
    /// Retries made.
    pub retries: u64,
    /// 429 responses received.
    pub rate_limited: u64,
    /// Prompt tokens the server reported.
    pub tokens_in: u64,
    /// Completion tokens the server reported (or counted from a stream that lost its usage).
    pub tokens_out: u64,
    ttft_ms: Samples,
}

impl Stats {
    /// Records a stream's time to first event, in milliseconds.
    pub fn first_token(&mut self, ms: f64) {
        self.ttft_ms.push(ms);
    }

    /// The `p`th percentile (0 to 100) of recent times to first token, nearest rank.
    pub fn ttft_percentile(&self, p: f64) -> Option<f64> {
        Samples::percentile([&self.ttft_ms], p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut s = Stats::default();
        assert_eq!(s.ttft_percentile(50.0), None);
        for ms in 1..=100 {
            s.first_token(f64::from(ms));
        }
        assert_eq!(s.ttft_percentile(50.0), Some(50.0));
        assert_eq!(s.ttft_percentile(95.0), Some(95.0));
        for _ in 0..TTFT_SAMPLES {
            s.first_token(7.0);
        }
        assert_eq!(s.ttft_percentile(95.0), Some(7.0));
    }
}
