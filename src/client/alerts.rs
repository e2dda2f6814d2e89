//! Alerts: thresholds on what the client sees, each raised when crossed and not
//! again until it has gone back under. The share of requests refused with a 429
//! in the last five minutes, the queue wait's p95, and the month's token budget
//! past 80% and 95%.

use super::metrics::Samples;
use super::model_metrics::Metrics;
use crate::time::Instant;

/// The month's shares that raise an alert.
pub const MONTH_SHARES: [f64; 2] = [0.8, 0.95];
/// Fewer recent requests than this say nothing about a share.
pub const MIN_REQUESTS: u64 = 20;

/// When to raise each alert.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AlertPolicy {
    /// The share of the last five minutes' requests refused with a 429 (default 0.05).
    pub rate_limited_share: f64,
    /// The p95 of recent queue waits, in ms; `None`: never.
    pub queue_wait_ms: Option<f64>,
}

impl Default for AlertPolicy {
    fn default() -> Self {
        AlertPolicy { rate_limited_share: 0.05, queue_wait_ms: None }
    }
}

/// An alert raised: what crossed, its value and its threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// `rate-limited`, `queue-wait` or `month-budget`.
    pub kind: &'static str,
    /// What was seen.
    pub value: f64,
    /// The threshold it crossed.
    pub threshold: f64,
}

/// The policy and which alerts stand.
#[derive(Clone, Debug, Default)]
pub struct Alerts {
    policy: AlertPolicy,
    refusals_up: bool,
    wait_up: bool,
    /// How many of [`MONTH_SHARES`] the month has passed.
    month_passed: usize,
}

impl Alerts {
    /// Alerts by `policy`, none standing.
    pub fn new(policy: AlertPolicy) -> Alerts {
        Alerts { policy, ..Alerts::default() }
    }

    /// The alerts that `metrics` and the month's `(used, limit)` raise at `at`.
    pub fn check(&mut self, metrics: &Metrics, month: Option<(u64, u64)>, at: Instant) -> Vec<Alert> {
        let mut raised = Vec::new();
        let (requests, refused) = metrics.recent(at);
        let share = if requests >= MIN_REQUESTS { refused as f64 / requests as f64 } else { 0.0 };
        let threshold = self.policy.rate_limited_share;
        if rise(&mut self.refusals_up, share > threshold) {
            raised.push(Alert { kind: "rate-limited", value: share, threshold });
        }
        if let Some(bound) = self.policy.queue_wait_ms {
            let waits = metrics.by_model().values().map(|m| &m.queue_wait_ms);
            let p95 = Samples::percentile(waits, 95.0).unwrap_or(0.0);
            if rise(&mut self.wait_up, p95 > bound) {
                raised.push(Alert { kind: "queue-wait", value: p95, threshold: bound });
            }
        }
        if let Some((used, limit)) = month.filter(|(_, limit)| *limit > 0) {
            let share = used as f64 / limit as f64;
            while let Some(&threshold) = MONTH_SHARES.get(self.month_passed).filter(|t| share >= **t) {
                self.month_passed += 1;
                raised.push(Alert { kind: "month-budget", value: share, threshold });
            }
        }
        raised
    }
}

/// Whether a condition now `over` rises (it was not up); keeps `up` current.
fn rise(up: &mut bool, over: bool) -> bool {
    let rose = over && !*up;
    *up = over;
    rose
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_share_of_429s_rises_once_and_again_only_after_it_fell() {
        let mut alerts = Alerts::new(AlertPolicy::default());
        let mut m = Metrics::default();
        let t = |s: u64| Instant::ZERO + Duration::from_secs(s);
        for i in 0..19 {
            m.sent(None, t(i));
        }
        m.refused(None, t(1));
        m.refused(None, t(2));
        assert!(alerts.check(&m, None, t(20)).is_empty(), "19 requests say nothing");
        m.sent(None, t(20));
        let raised = alerts.check(&m, None, t(21));
        assert_eq!(raised, [Alert { kind: "rate-limited", value: 0.1, threshold: 0.05 }]);
        assert!(alerts.check(&m, None, t(22)).is_empty(), "raised once");
        assert!(alerts.check(&m, None, t(400)).is_empty(), "five minutes later it has fallen");
        for i in 0..20 {
            m.sent(None, t(400 + i));
        }
        m.refused(None, t(401));
        m.refused(None, t(402));
        assert_eq!(alerts.check(&m, None, t(421)).len(), 1, "and rises again");
    }

    #[test]
    fn the_month_passes_each_share_once() {
        let mut alerts = Alerts::new(AlertPolicy::default());
        let m = Metrics::default();
        assert!(alerts.check(&m, Some((79, 100)), Instant::ZERO).is_empty());
        let shares: Vec<f64> = alerts.check(&m, Some((96, 100)), Instant::ZERO).iter().map(|a| a.threshold).collect();
        assert_eq!(shares, [0.8, 0.95]);
        assert!(alerts.check(&m, Some((99, 100)), Instant::ZERO).is_empty());
    }

    #[test]
    fn a_slow_queue_rises_when_a_bound_is_set() {
        let mut alerts = Alerts::new(AlertPolicy { queue_wait_ms: Some(1000.0), ..AlertPolicy::default() });
        let mut m = Metrics::default();
        m.of(Some("a")).queue_wait_ms.push(5000.0);
        assert_eq!(alerts.check(&m, None, Instant::ZERO)[0].kind, "queue-wait");
        assert!(Alerts::default().check(&m, None, Instant::ZERO).is_empty(), "no bound, no alert");
    }
}
