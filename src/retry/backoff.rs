//! Jittered delays. The randomness is injected so tests and the simulator replay
//! exactly, and so Workers never draw random numbers at module scope.

use std::time::Duration;

/// A source of uniform numbers in `[0, 1)`.
pub trait Random {
    /// The next number in `[0, 1)`.
    fn unit(&mut self) -> f64;
}

/// Any closure returning numbers in `[0, 1)` (such as `Math.random`) is a source.
impl<F: FnMut() -> f64> Random for F {
    fn unit(&mut self) -> f64 {
        self().clamp(0.0, 1.0 - f64::EPSILON)
    }
}

/// A small deterministic generator (SplitMix64) for tests and simulations.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Random for SplitMix64 {
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The delay before retry number `retry` (1 for the first): the exponential step
/// `base * 2^(retry-1)`, capped at `max`, then drawn uniformly from its upper half.
/// Half the step is guaranteed, so delays still grow; the other half spreads clients
/// that failed together so they do not come back together.
pub fn backoff(retry: u32, base: Duration, max: Duration, rng: &mut dyn Random) -> Duration {
    let factor = 2f64.powi(retry.saturating_sub(1).min(62) as i32);
    let step = base.as_secs_f64() * factor;
    let step = step.min(max.as_secs_f64());
    Duration::from_secs_f64(step / 2.0 + rng.unit() * step / 2.0)
}

/// Spread added to a server-given wait: a tenth of it, between 100 ms and 1 s. Always
/// positive, so nobody comes back *before* the server said.
pub fn spread_after(server_wait: Duration, rng: &mut dyn Random) -> Duration {
    let spread = (server_wait / 10).clamp(Duration::from_millis(100), Duration::from_secs(1));
    server_wait + spread.mul_f64(rng.unit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_uniform_enough_and_replays() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let xs: Vec<f64> = (0..10_000).map(|_| a.unit()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
        assert_eq!(xs[0], b.unit());
    }

    #[test]
    fn backoff_doubles_within_its_band_and_caps() {
        let s = Duration::from_secs;
        let lo = &mut || 0.0;
        let hi = &mut || 0.999_999;
        assert_eq!(backoff(1, s(1), s(32), lo), Duration::from_millis(500));
        assert_eq!(backoff(3, s(1), s(32), lo), s(2));
        assert!(backoff(3, s(1), s(32), hi) < s(4));
        assert_eq!(backoff(30, s(1), s(32), lo), s(16));
        assert_eq!(backoff(u32::MAX, s(1), s(32), lo), s(16));
    }

    #[test]
    fn server_waits_are_never_shortened() {
        let s = Duration::from_secs;
        assert_eq!(spread_after(s(5), &mut || 0.0), s(5));
        assert_eq!(spread_after(s(5), &mut || 1.5), s(5) + Duration::from_millis(500).mul_f64(1.0 - f64::EPSILON));
        assert!(spread_after(Duration::ZERO, &mut || 0.5) == Duration::from_millis(50));
    }
}
