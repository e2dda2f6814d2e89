//! Estimates that correct themselves. The server reports how many prompt tokens it
//! counted; per model (and per way of estimating), the ratio of that to our estimate
//! is remembered, and later prompts are reserved at the estimate times the largest
//! recent ratio. Reserving high costs a little budget until the refund; reserving
//! low lets a burst through and earns 429s, so the largest ratio is the one used.

use std::collections::{HashMap, VecDeque};

/// Ratios remembered per model.
pub const REMEMBERED: usize = 32;
/// No correction beyond this: an estimate that far off is a bug, not a bias.
pub const MOST: f64 = 4.0;
/// Estimates below this many tokens say too little to learn from.
const LEAST_EVIDENCE: u64 = 16;

/// How a prompt was counted: the heuristic leans high by design and is never
/// corrected downwards; an exact or bounded count may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Counting {
    /// The built-in heuristic.
    Heuristic,
    /// A tokenizer (Tekken, or Tekken with a measured correction).
    Tokenizer,
}

impl Counting {
    fn index(self) -> usize {
        match self {
            Counting::Heuristic => 0,
            Counting::Tokenizer => 1,
        }
    }

    fn least(self) -> f64 {
        match self {
            Counting::Heuristic => 1.0,
            Counting::Tokenizer => 0.5,
        }
    }
}

/// The learned ratios.
#[derive(Clone, Debug, Default)]
pub struct Calibration {
    /// Per way of counting, per model: looked up by `&str` on every reservation,
    /// so without building a key.
    ratios: [HashMap<String, VecDeque<f64>>; 2],
}

impl Calibration {
    /// The multiplier for prompts of `model` counted by `counting` (1 before any
    /// evidence).
    pub fn ratio(&self, model: Option<&str>, counting: Counting) -> f64 {
        let learned =
            model.and_then(|m| self.ratios[counting.index()].get(m)).and_then(|r| r.iter().copied().reduce(f64::max));
        learned.unwrap_or(1.0).clamp(counting.least(), MOST)
    }

    /// The prompt `estimated` for `model` was `reported` by the server. Returns the
    /// new ratio when it rose (worth an event).
    pub fn learn(&mut self, model: &str, counting: Counting, estimated: u64, reported: u64) -> Option<f64> {
        if estimated < LEAST_EVIDENCE {
            return None;
        }
        let before = self.ratio(Some(model), counting);
        let seen = self.ratios[counting.index()].entry(model.to_owned()).or_default();
        if seen.len() == REMEMBERED {
            seen.pop_front();
        }
        seen.push_back(reported as f64 / estimated as f64);
        let after = self.ratio(Some(model), counting);
        (after > before).then_some(after)
    }

    /// The prompt to reserve for an estimate of `prompt` tokens.
    pub fn reserve(&self, model: Option<&str>, counting: Counting, prompt: u64) -> u64 {
        (prompt as f64 * self.ratio(model, counting)).ceil() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_that_counts_more_raises_the_reservation() {
        let mut c = Calibration::default();
        assert_eq!(c.reserve(Some("m"), Counting::Heuristic, 1000), 1000);
        assert_eq!(c.learn("m", Counting::Heuristic, 1000, 1100), Some(1.1));
        assert_eq!(c.reserve(Some("m"), Counting::Heuristic, 1000), 1100);
        assert_eq!(c.learn("m", Counting::Heuristic, 1000, 1050), None, "the largest recent ratio stays");
        assert_eq!(c.reserve(Some("other"), Counting::Heuristic, 1000), 1000, "per model");
        assert_eq!(c.reserve(Some("m"), Counting::Tokenizer, 1000), 1000, "per way of counting");
    }

    #[test]
    fn the_heuristic_is_never_corrected_down_and_nothing_beyond_the_bounds() {
        let mut c = Calibration::default();
        c.learn("m", Counting::Heuristic, 1000, 600);
        assert_eq!(c.ratio(Some("m"), Counting::Heuristic), 1.0);
        c.learn("m", Counting::Tokenizer, 1000, 700);
        assert_eq!(c.ratio(Some("m"), Counting::Tokenizer), 0.7);
        c.learn("m", Counting::Tokenizer, 1000, 90_000);
        assert_eq!(c.ratio(Some("m"), Counting::Tokenizer), MOST);
        assert_eq!(c.learn("tiny", Counting::Heuristic, 3, 30), None, "too small to say anything");
    }

    #[test]
    fn old_ratios_are_forgotten() {
        let mut c = Calibration::default();
        c.learn("m", Counting::Heuristic, 1000, 1300);
        for _ in 0..REMEMBERED {
            c.learn("m", Counting::Heuristic, 1000, 1000);
        }
        assert_eq!(c.ratio(Some("m"), Counting::Heuristic), 1.0);
    }
}
