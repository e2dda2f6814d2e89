//! Faults on demand: per request with the `x-mock-fault` header, or scripted through
//! `POST /__mock/faults` as a sequence (one per request) and probabilities.

use std::collections::VecDeque;

use serde::Deserialize;

use crate::text::Rng;

/// What can go wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this 5xx status.
    Status(u16),
    /// A 429 without `Retry-After`.
    RateLimited,
    /// A 429 with `Retry-After: 1`.
    RateLimitedRetryAfter,
    /// A 429 saying the model's service tier is saturated.
    Capacity,
    /// The same as a 503, as it is also reported.
    Capacity503,
    /// A 503 saying the backend has no capacity for the model.
    OutOfCapacity,
    /// A 429 with the older bare body, `{"message":"Requests rate limit exceeded"}`.
    RateLimitedLegacy,
    /// A 400 refusing the request's model as unknown (the 2026 form), acted out where
    /// the request is admitted for its model.
    InvalidModel,
    /// A 400 saying the workspace may not use the model, acted out likewise.
    ModelNotInUse,
    /// Close the connection before any header.
    Reset,
    /// Never answer.
    Hang,
    /// Cut the body off halfway (a stream mid-event).
    Truncate,
    /// A JSON body that does not parse (in a stream, one bad frame).
    MalformedJson,
    /// An event stream with a line far longer than any client allows.
    MalformedSse,
    /// Answer after a long pause (`--slow-ms`, 3 s by default).
    Slow,
    /// A stream that never ends: keep-alive comments forever.
    NeverEnding,
}

impl std::str::FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Fault, String> {
        Ok(match s.trim() {
            "500" => Fault::Status(500),
            "502" => Fault::Status(502),
            "503" => Fault::Status(503),
            "504" => Fault::Status(504),
            "429" => Fault::RateLimited,
            "429-retry-after" => Fault::RateLimitedRetryAfter,
            "429-legacy" => Fault::RateLimitedLegacy,
            "capacity" => Fault::Capacity,
            "capacity-503" => Fault::Capacity503,
            "out-of-capacity" => Fault::OutOfCapacity,
            "invalid-model" => Fault::InvalidModel,
            "model-not-in-use" => Fault::ModelNotInUse,
            "reset" => Fault::Reset,
            "hang" => Fault::Hang,
            "truncate" => Fault::Truncate,
            "malformed-json" => Fault::MalformedJson,
            "malformed-sse" => Fault::MalformedSse,
            "slow" => Fault::Slow,
            "never-ending" => Fault::NeverEnding,
            other => {
                return Err(format!(
                    "unknown fault '{other}': use 500, 502, 503, 504, 429, 429-retry-after, 429-legacy, \
                     capacity, capacity-503, out-of-capacity, invalid-model, model-not-in-use, reset, hang, \
                     truncate, malformed-json, malformed-sse, slow or never-ending"
                ))
            }
        })
    }
}

/// The body of `POST /__mock/faults`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// One entry per coming request, in order; `null` lets a request through.
    #[serde(default)]
    pub sequence: Vec<Option<String>>,
    /// Once the sequence is used up, each fault strikes with its probability.
    #[serde(default)]
    pub probabilities: Vec<(String, f64)>,
}

#[derive(Debug)]
pub struct Faults {
    sequence: VecDeque<Option<Fault>>,
    probabilities: Vec<(Fault, f64)>,
    rng: Rng,
}

impl Faults {
    pub fn new(seed: u64) -> Faults {
        Faults { sequence: VecDeque::new(), probabilities: Vec::new(), rng: Rng::for_request(seed, b"faults") }
    }

    /// Replaces the script, or says what is wrong with it.
    pub fn set(&mut self, script: Script) -> Result<(), String> {
        let sequence = script
            .sequence
            .iter()
            .map(|f| f.as_deref().map(str::parse).transpose())
            .collect::<Result<VecDeque<_>, _>>()?;
        let mut probabilities = Vec::new();
        for (name, p) in script.probabilities {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("probability {p} for '{name}' is not between 0 and 1"));
            }
            probabilities.push((name.parse()?, p));
        }
        (self.sequence, self.probabilities) = (sequence, probabilities);
        Ok(())
    }

    /// The fault for the next request, if any.
    pub fn draw(&mut self) -> Option<Fault> {
        if let Some(f) = self.sequence.pop_front() {
            return f;
        }
        self.probabilities.iter().find(|(_, p)| self.rng.unit() < *p).map(|(f, _)| *f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_runs_in_order_then_by_chance() {
        let mut f = Faults::new(1);
        let script: Script =
            serde_json::from_str(r#"{"sequence":["503",null,"reset"],"probabilities":[["429",1.0]]}"#).unwrap();
        f.set(script).unwrap();
        assert_eq!(f.draw(), Some(Fault::Status(503)));
        assert_eq!(f.draw(), None);
        assert_eq!(f.draw(), Some(Fault::Reset));
        assert_eq!(f.draw(), Some(Fault::RateLimited));
        let bad: Script = serde_json::from_str(r#"{"sequence":["418"]}"#).unwrap();
        assert!(f.set(bad).unwrap_err().contains("unknown fault '418'"));
    }
}
