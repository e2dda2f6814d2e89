//! One limit, read one of three ways. Clients are tested against each: a client that
//! passes a sliding window passes the other two.

use std::collections::VecDeque;
use std::time::Duration;

use mistral_ratelimit::Instant;

use crate::config::Algorithm;

#[derive(Debug)]
enum State {
    /// Charges in the current window, oldest first, and their sum.
    Log(VecDeque<(Instant, u64)>, u64),
    /// What the bucket holds (negative after completion tokens overran it) and when.
    Bucket(f64, Instant),
    /// The window's index since `origin`, and what it has used.
    Fixed(u64, u64),
}

#[derive(Debug)]
pub struct Meter {
    pub capacity: u64,
    pub window: Duration,
    origin: Instant,
    state: State,
}

impl Meter {
    pub fn new(algorithm: Algorithm, capacity: u64, window: Duration, origin: Instant) -> Meter {
        let state = match algorithm {
            Algorithm::Sliding => State::Log(VecDeque::new(), 0),
            Algorithm::Bucket => State::Bucket(capacity as f64, origin),
            Algorithm::Fixed => State::Fixed(0, 0),
        };
        Meter { capacity, window, origin, state }
    }

    /// Brings the state up to `now`.
    fn roll(&mut self, now: Instant) {
        match &mut self.state {
            State::Log(log, sum) => {
                while let Some(&(t, n)) = log.front() {
                    if t + self.window > now {
                        break;
                    }
                    *sum -= n;
                    log.pop_front();
                }
            }
            State::Bucket(level, at) => {
                let rate = self.capacity as f64 / self.window.as_secs_f64();
                *level = (*level + rate * now.saturating_since(*at).as_secs_f64()).min(self.capacity as f64);
                *at = now;
            }
            State::Fixed(index, used) => {
                let i = (now.saturating_since(self.origin).as_nanos() / self.window.as_nanos()) as u64;
                if i != *index {
                    (*index, *used) = (i, 0);
                }
            }
        }
    }

    /// What is used at `now`, as the headers report it.
    pub fn used(&mut self, now: Instant) -> u64 {
        self.roll(now);
        match &self.state {
            State::Log(_, sum) => *sum,
            State::Bucket(level, _) => (self.capacity as f64 - level.max(0.0)).round() as u64,
            State::Fixed(_, used) => *used,
        }
    }

    /// Whether `cost` more fits at `now`.
    pub fn allows(&mut self, now: Instant, cost: u64) -> bool {
        self.roll(now);
        match &self.state {
            State::Bucket(level, _) => *level >= cost as f64,
            _ => self.used(now) + cost <= self.capacity,
        }
    }

    /// Records `cost` at `now`, allowed or not (completion tokens are charged as
    /// they are produced, whatever the meter says).
    pub fn charge(&mut self, now: Instant, cost: u64) {
        self.roll(now);
        match &mut self.state {
            State::Log(log, sum) => {
                log.push_back((now, cost));
                *sum += cost;
            }
            State::Bucket(level, _) => *level -= cost as f64,
            State::Fixed(_, used) => *used += cost,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn the_three_readings_differ_after_an_idle_spell() {
        let t0 = Instant::ZERO;
        let mut sliding = Meter::new(Algorithm::Sliding, 2, S, t0);
        let mut bucket = Meter::new(Algorithm::Bucket, 2, S, t0);
        let mut fixed = Meter::new(Algorithm::Fixed, 2, S, t0);
        let at = |ms| t0 + Duration::from_millis(ms);
        for m in [&mut sliding, &mut bucket, &mut fixed] {
            assert!(m.allows(at(900), 2));
            m.charge(at(900), 2);
            assert!(!m.allows(at(950), 1));
        }
        // Just after the fixed window's boundary: fixed allows a full window again,
        // the bucket has refilled 0.2, the sliding window still holds both.
        assert!(fixed.allows(at(1100), 2));
        assert!(!bucket.allows(at(1100), 1));
        assert!(!sliding.allows(at(1100), 1));
        assert!(sliding.allows(at(1900), 2));
        assert_eq!(sliding.used(at(1900)), 0);
        assert_eq!(bucket.used(at(1400)), 1);
        assert_eq!(bucket.used(at(1900)), 0);
    }
}
