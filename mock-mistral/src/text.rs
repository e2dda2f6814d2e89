//! Deterministic text: the same seed and request give the same reply, so tests can
//! compare runs. A "token" here is one generated word; prompt tokens are counted as
//! one per four bytes of text, close enough to a BPE for limit testing.

use mistral_ratelimit::retry::{Random, SplitMix64};
use serde_json::Value;

const WORDS: &[&str] = &[
    "the",
    "limit",
    "window",
    "token",
    "request",
    "Mistral",
    "model",
    "reply",
    "stream",
    "budget",
    "café",
    "déjà",
    "vu",
    "a",
    "of",
    "and",
    "minute",
    "second",
    "bucket",
    "queue",
    "fair",
    "retry",
    "after",
    "header",
    "workspace",
    "worker",
    "isolate",
    "edge",
    "wasm",
    "Rust",
    "fast",
    "never",
    "trips",
    "429",
    "λ",
    "日本",
    "🦀",
    "is",
    "to",
    "in",
    "for",
    "with",
    "every",
    "chunk",
    "delta",
    "usage",
    "prompt",
    "completion",
];

/// The random stream behind generated content (the core crate's SplitMix64).
#[derive(Clone, Debug)]
pub struct Rng(SplitMix64);

impl Rng {
    /// A stream seeded by `seed` and the bytes of a request.
    pub fn for_request(seed: u64, request: &[u8]) -> Rng {
        // FNV-1a over the request, folded into the seed.
        let h = request.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3));
        Rng(SplitMix64::new(seed ^ h))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        self.0.unit()
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + (self.unit() * (hi - lo + 1) as f64) as u64
    }
}

/// How many tokens to produce for `max_tokens`, and why generation stopped: between
/// half and all of `max_tokens` (or 20 to 120 without it); `length` when it hit the cap.
pub fn reply_length(max_tokens: Option<u64>, rng: &mut Rng) -> (u64, &'static str) {
    match max_tokens {
        Some(0) => (0, "length"),
        Some(max) => {
            let n = rng.between(max.div_ceil(2), max);
            (n, if n == max { "length" } else { "stop" })
        }
        None => (rng.between(20, 120), "stop"),
    }
}

/// `n` words, each a token.
pub fn words(n: u64, rng: &mut Rng) -> Vec<String> {
    (0..n)
        .map(|i| {
            let w = WORDS[(rng.next_u64() % WORDS.len() as u64) as usize];
            if i == 0 {
                w.to_owned()
            } else {
                format!(" {w}")
            }
        })
        .collect()
}

/// Tokens in a piece of text: one per four bytes, at least one if not empty.
pub fn count(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// Tokens in any JSON value: the text of its strings, plus the serialised form of
/// everything else (tool schemas, arguments).
pub fn count_value(v: &Value) -> u64 {
    match v {
        Value::Null => 0,
        Value::String(s) => count(s),
        Value::Array(a) => a.iter().map(count_value).sum(),
        Value::Object(o) => o.iter().map(|(k, v)| if k == "role" || k == "type" { 1 } else { count_value(v) }).sum(),
        other => count(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_request_same_words() {
        let a = words(10, &mut Rng::for_request(1, b"{}"));
        assert_eq!(a, words(10, &mut Rng::for_request(1, b"{}")));
        assert_ne!(a, words(10, &mut Rng::for_request(2, b"{}")));
    }

    #[test]
    fn lengths_respect_max_tokens() {
        let mut rng = Rng::for_request(3, b"");
        for _ in 0..100 {
            let (n, why) = reply_length(Some(10), &mut rng);
            assert!((5..=10).contains(&n));
            assert_eq!(why == "length", n == 10);
        }
        assert_eq!(count(""), 0);
        assert_eq!(count("abcde"), 2);
    }
}
