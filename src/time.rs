//! Time as the core sees it: an [`Instant`] handed in by the caller.
//!
//! The core never reads a clock. Every operation that depends on time takes `now`
//! as an argument, so native tests drive it with a [`ManualClock`] and the wasm edge
//! with `performance.now()`. `std::time::Instant` is not used because it panics on
//! `wasm32-unknown-unknown`.

use std::cell::Cell;
use std::fmt;
use std::ops::{Add, Sub};
use std::rc::Rc;
use std::time::Duration;

/// A point in time: microseconds since an arbitrary origin chosen by the clock.
///
/// Only differences between instants from the same clock mean anything.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The clock's origin.
    pub const ZERO: Instant = Instant(0);

    /// An instant `micros` microseconds after the origin.
    pub const fn from_micros(micros: u64) -> Instant {
        Instant(micros)
    }

    /// An instant `millis` milliseconds after the origin (as `performance.now()` reports).
    /// Negative and non-finite values clamp to the origin.
    pub fn from_millis_f64(millis: f64) -> Instant {
        if millis.is_finite() && millis > 0.0 {
            Instant((millis * 1000.0) as u64)
        } else {
            Instant(0)
        }
    }

    /// Microseconds since the origin.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// The time from `earlier` to `self`, or zero when `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }

    /// `d` earlier, or the origin.
    pub(crate) fn saturating_sub(self, d: Duration) -> Instant {
        Instant(self.0.saturating_sub(micros(d)))
    }

    /// The smallest step the core distinguishes: one microsecond later.
    pub(crate) fn next_tick(self) -> Instant {
        Instant(self.0.saturating_add(1))
    }
}

/// Durations are stored in whole microseconds; anything beyond `u64` saturates.
pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(micros(d)))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturating: an earlier minus a later instant is zero.
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t+{:.3}s", self.0 as f64 / 1e6)
    }
}

/// A source of [`Instant`]s. The core takes instants, not clocks; this trait is for
/// the layers above it (the wasm edge, the simulator, tests).
pub trait Clock {
    /// The current instant. Successive calls should not go backwards, but the core
    /// tolerates it: it clamps time to the latest instant it has seen.
    fn now(&self) -> Instant;
}

/// A clock that moves only when told to. Clones share the same time.
#[derive(Clone, Debug, Default)]
pub struct ManualClock(Rc<Cell<Instant>>);

impl ManualClock {
    /// A clock at the origin.
    pub fn new() -> ManualClock {
        ManualClock::default()
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.0.set(self.0.get() + d);
    }

    /// Sets the clock to `t`, which may be earlier than now (to test clock jumps).
    pub fn set(&self, t: Instant) {
        self.0.set(t);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.0.get()
    }
}

/// The largest total in any window `(t - w, t]` of `log`, a log of `(time, amount)`
/// in time order: what a server counting by sliding window saw at its busiest.
/// The limiter promises it never exceeds a lane's capacity; the mock, the
/// simulator and the tests check that promise with this.
pub fn busiest<T: Copy + PartialOrd + Add<Duration, Output = T>>(log: &[(T, u64)], w: Duration) -> u64 {
    let (mut best, mut sum, mut start) = (0, 0, 0);
    for &(t, n) in log {
        sum += n;
        while log[start].0 + w <= t {
            sum -= log[start].1;
            start += 1;
        }
        best = best.max(sum);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busiest_window_is_half_open() {
        let at = |ms| (Instant::ZERO + Duration::from_millis(ms), 1);
        // Three within 999 ms, the fourth exactly 1 s after the first.
        assert_eq!(busiest(&[at(0), at(500), at(999), at(1000)], Duration::from_secs(1)), 3);
        assert_eq!(busiest::<Instant>(&[], Duration::from_secs(1)), 0);
    }

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        let t = Instant::from_micros(10);
        assert_eq!(Instant::ZERO - t, Duration::ZERO);
        assert_eq!(t - Instant::ZERO, Duration::from_micros(10));
        assert_eq!(Instant::from_micros(u64::MAX) + Duration::from_secs(1), Instant::from_micros(u64::MAX));
    }

    #[test]
    fn millis_from_js_clamp_bad_values() {
        assert_eq!(Instant::from_millis_f64(1.5), Instant::from_micros(1500));
        assert_eq!(Instant::from_millis_f64(-3.0), Instant::ZERO);
        assert_eq!(Instant::from_millis_f64(f64::NAN), Instant::ZERO);
    }

    #[test]
    fn manual_clock_clones_share_time() {
        let a = ManualClock::new();
        let b = a.clone();
        a.advance(Duration::from_millis(250));
        assert_eq!(b.now(), Instant::from_micros(250_000));
        b.set(Instant::ZERO);
        assert_eq!(a.now(), Instant::ZERO);
    }
}
