//! The arrival margin: how much longer than its window a lane holds each cost.
//!
//! The server counts requests when they *arrive*; the client can only space out when
//! they *leave*. If transit time varies between `lo` and `hi`, two requests sent `d`
//! apart can arrive as little as `d - (hi - lo)` apart. Holding every cost for
//! `window + (hi - lo)` therefore keeps every *arrival* window within the limit.
//!
//! The spread is learned from transit times the edge observes (round trip minus the
//! processing time the server reports, see [`crate::Limiter::observe_transit`]): the
//! range of the last [`SAMPLES`] observations, never less than the configured floor
//! and never more than the configured ceiling.

use std::collections::VecDeque;
use std::time::Duration;

/// How many recent transit times the margin is learned from.
pub(crate) const SAMPLES: usize = 32;

/// How the arrival margin is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarginPolicy {
    /// Used until there are two observations, and never undercut.
    pub floor: Duration,
    /// Never exceeded, however wild the observed transit times.
    pub ceiling: Duration,
}

impl Default for MarginPolicy {
    /// 25 ms floor (typical jitter between a client and a CDN edge), 500 ms ceiling.
    fn default() -> Self {
        MarginPolicy { floor: Duration::from_millis(25), ceiling: Duration::from_millis(500) }
    }
}

#[derive(Debug)]
pub(crate) struct Margin {
    policy: MarginPolicy,
    recent: VecDeque<Duration>,
    current: Duration,
}

impl Margin {
    pub(crate) fn new(policy: MarginPolicy) -> Margin {
        Margin { policy, recent: VecDeque::with_capacity(SAMPLES), current: policy.floor }
    }

    pub(crate) fn current(&self) -> Duration {
        self.current
    }

    pub(crate) fn observe(&mut self, transit: Duration) {
        if self.recent.len() == SAMPLES {
            self.recent.pop_front();
        }
        self.recent.push_back(transit);
        let lo = self.recent.iter().min().copied().unwrap_or_default();
        let hi = self.recent.iter().max().copied().unwrap_or_default();
        self.current = (hi - lo).clamp(self.policy.floor, self.policy.ceiling.max(self.policy.floor));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn margin_is_the_recent_spread_within_bounds() {
        let mut m = Margin::new(MarginPolicy { floor: ms(10), ceiling: ms(200) });
        assert_eq!(m.current(), ms(10));
        m.observe(ms(40));
        m.observe(ms(120));
        assert_eq!(m.current(), ms(80));
        m.observe(ms(900));
        assert_eq!(m.current(), ms(200));
    }

    #[test]
    fn old_outliers_are_forgotten() {
        let mut m = Margin::new(MarginPolicy { floor: ms(5), ceiling: ms(1000) });
        m.observe(ms(700));
        for _ in 0..SAMPLES {
            m.observe(ms(50));
        }
        assert_eq!(m.current(), ms(5));
    }
}
