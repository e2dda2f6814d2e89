//! How many admitted requests were in flight at once, and for how long each count
//! held: the evidence for a client that keeps to `--max-in-flight`.

use std::time::Duration;

use mistral_ratelimit::Instant;

#[derive(Debug, Default)]
pub struct InFlight {
    count: usize,
    busiest: usize,
    /// Time at each count (`busiest + 1` of them), up to the last change.
    at: Vec<Duration>,
    /// The last change; `None` before the first admission.
    since: Option<Instant>,
}

impl InFlight {
    pub fn enter(&mut self, now: Instant) {
        self.settle(now);
        self.count += 1;
        self.busiest = self.busiest.max(self.count);
        self.at.resize(self.busiest + 1, Duration::ZERO);
    }

    pub fn leave(&mut self, now: Instant) {
        self.settle(now);
        self.count = self.count.saturating_sub(1);
    }

    pub fn busiest(&self) -> usize {
        self.busiest
    }

    /// Milliseconds at each count (element k: exactly k in flight), from the first
    /// admission up to `now` while any is in flight, else up to the last release:
    /// idle time after the last reply would only dilute the shares.
    pub fn millis(&self, now: Instant) -> Vec<f64> {
        let mut at = self.at.clone();
        at.resize(self.busiest + 1, Duration::ZERO);
        if let Some(since) = self.since.filter(|_| self.count > 0) {
            at[self.count] += now.saturating_since(since);
        }
        // Microseconds kept: a fast mock's requests last well under a millisecond.
        at.iter().map(|d| d.as_micros() as f64 / 1000.0).collect()
    }

    fn settle(&mut self, now: Instant) {
        if let (Some(since), Some(at)) = (self.since, self.at.get_mut(self.count)) {
            *at += now.saturating_since(since);
        }
        self.since = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_is_counted_at_each_level_from_first_admission_to_last_release() {
        let t0 = Instant::ZERO;
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut f = InFlight::default();
        assert_eq!(f.millis(at(0)), [0.0]);
        f.enter(at(100));
        f.enter(at(300));
        f.leave(at(400));
        assert_eq!(f.millis(at(450)), [0.0, 250.0, 100.0], "the open stretch counts up to now");
        f.leave(at(500));
        f.enter(at(700));
        f.leave(at(750));
        assert_eq!(f.millis(at(5000)), [200.0, 350.0, 100.0], "idle time after the last release does not");
        assert_eq!(f.busiest(), 2);
    }
}
