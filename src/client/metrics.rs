//! The client's running counters for `status()`.

use std::collections::VecDeque;

/// How many times to first token are kept for the percentiles.
pub const TTFT_SAMPLES: usize = 256;

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
    ttft_ms: VecDeque<f64>,
}

impl Stats {
    /// Records a stream's time to first event, in milliseconds.
    pub fn first_token(&mut self, ms: f64) {
        if self.ttft_ms.len() == TTFT_SAMPLES {
            self.ttft_ms.pop_front();
        }
        self.ttft_ms.push_back(ms);
    }

    /// The `p`th percentile (0 to 100) of recent times to first token, nearest rank.
    pub fn ttft_percentile(&self, p: f64) -> Option<f64> {
        let mut v: Vec<f64> = self.ttft_ms.iter().copied().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let rank = ((p / 100.0) * v.len() as f64).ceil().max(1.0) as usize;
        Some(v[rank.min(v.len()) - 1])
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
