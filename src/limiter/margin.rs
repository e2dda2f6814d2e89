//! The arrival margin: how much longer than its window a lane holds each cost.
//!
//! The server counts requests when they *arrive*; the client can only space out when
//! they *leave*. If transit time varies between `lo` and `hi`, two requests sent `d`
//! apart can arrive as little as `d - (hi - lo)` apart. Holding every cost for
//! `window + (hi - lo)` therefore keeps every *arrival* window within the limit.
//!
//! The spread is learned from transit times the edge observes (its own delay before
//! sending, plus round trip minus the processing time the server reports, see
//! [`crate::Limiter::observe_transit`]): the range of the last [`SAMPLES`]
//! observations, kept between a floor and a ceiling.
//!
//! Two cases need more than the observed range. At start-up the first requests
//! often all leave late (a busy event loop, new connections), so their range is
//! small while the delay itself is not. Until [`WARM_UP`] samples are in, the
//! margin is therefore at least `initial`. And a 429 that the books did not predict
//! proves the margin too small: [`Margin::widen`] doubles the floor, up to the
//! ceiling, for the rest of the client's life.

use std::collections::VecDeque;
use std::time::Duration;

/// How many recent transit times the margin is learned from.
pub(crate) const SAMPLES: usize = 32;
/// Samples needed before the observed range alone is trusted.
pub(crate) const WARM_UP: usize = 8;

/// How the arrival margin is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarginPolicy {
    /// Never undercut.
    pub floor: Duration,
    /// The least margin until [`WARM_UP`] transit times have been observed.
    pub initial: Duration,
    /// Never exceeded, however wild the observed transit times.
    pub ceiling: Duration,
}

impl MarginPolicy {
    /// The same margin always, whatever is observed.
    pub const fn fixed(margin: Duration) -> MarginPolicy {
        MarginPolicy { floor: margin, initial: margin, ceiling: margin }
    }
}

impl Default for MarginPolicy {
    /// 25 ms floor (typical jitter between a client and a CDN edge), 250 ms while
    /// warming up, 500 ms ceiling.
    fn default() -> Self {
        MarginPolicy {
            floor: Duration::from_millis(25),
            initial: Duration::from_millis(250),
            ceiling: Duration::from_millis(500),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Margin {
    policy: MarginPolicy,
    /// The floor as learned: the configured one, doubled after each surprise 429.
    floor: Duration,
    recent: VecDeque<Duration>,
    observed: usize,
}

impl Margin {
    pub(crate) fn new(policy: MarginPolicy) -> Margin {
        Margin { policy, floor: policy.floor, recent: VecDeque::with_capacity(SAMPLES), observed: 0 }
    }

    pub(crate) fn current(&self) -> Duration {
        let lo = self.recent.iter().min().copied().unwrap_or_default();
        let hi = self.recent.iter().max().copied().unwrap_or_default();
        let mut least = self.floor;
        if self.observed < WARM_UP {
            least = least.max(self.policy.initial);
        }
        let ceiling = self.policy.ceiling.max(self.policy.floor);
        (hi - lo).max(least).min(ceiling)
    }

    pub(crate) fn observe(&mut self, transit: Duration) {
        if self.recent.len() == SAMPLES {
            self.recent.pop_front();
        }
        self.recent.push_back(transit);
        self.observed += 1;
    }

    /// A 429 the books did not predict: the margin was too small. The learned floor
    /// doubles (the warm-up margin is temporary and does not count).
    pub(crate) fn widen(&mut self) {
        self.floor = (self.floor * 2).min(self.policy.ceiling.max(self.policy.floor));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn policy(floor: u64, initial: u64, ceiling: u64) -> MarginPolicy {
        MarginPolicy { floor: ms(floor), initial: ms(initial), ceiling: ms(ceiling) }
    }

    #[test]
    fn margin_is_the_recent_spread_within_bounds() {
        let mut m = Margin::new(policy(10, 10, 200));
        assert_eq!(m.current(), ms(10));
        m.observe(ms(40));
        m.observe(ms(120));
        assert_eq!(m.current(), ms(80));
        m.observe(ms(900));
        assert_eq!(m.current(), ms(200));
    }

    #[test]
    fn old_outliers_are_forgotten() {
        let mut m = Margin::new(policy(5, 5, 1000));
        m.observe(ms(700));
        for _ in 0..SAMPLES {
            m.observe(ms(50));
        }
        assert_eq!(m.current(), ms(5));
    }

    #[test]
    fn the_warm_up_margin_holds_until_enough_samples() {
        let mut m = Margin::new(policy(25, 250, 500));
        assert_eq!(m.current(), ms(250));
        for _ in 0..WARM_UP - 1 {
            m.observe(ms(80)); // all late alike: no spread, but not to be trusted yet
        }
        assert_eq!(m.current(), ms(250));
        m.observe(ms(80));
        assert_eq!(m.current(), ms(25));
    }

    #[test]
    fn a_surprise_429_doubles_the_floor_up_to_the_ceiling() {
        let mut m = Margin::new(policy(25, 250, 150));
        m.widen();
        for _ in 0..WARM_UP {
            m.observe(ms(10));
        }
        assert_eq!(m.current(), ms(50), "the floor doubled, not the warm-up margin");
        m.widen();
        m.widen();
        assert_eq!(m.current(), ms(150));
    }
}
