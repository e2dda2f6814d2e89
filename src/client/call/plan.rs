//! What a call is, decided before it starts: its operation, what it will cost, and
//! the bounds it runs within.

use std::time::Duration;

use crate::client::calibration::Counting;
use crate::client::options::Timeouts;
use crate::client::Kind;
use crate::limiter::Priority;
use crate::retry::RetryPolicy;

/// A call ready to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The operation.
    pub kind: Kind,
    /// The body's `model`, to charge its lanes and learn per model.
    pub model: Option<String>,
    /// The prompt the body carries, as estimated (before calibration).
    pub prompt: u64,
    /// The body's `prompt_cache_key`: a prompt the server may have cached.
    pub cache_key: Option<String>,
    /// Tokens of stored conversation the server adds to the prompt (appends).
    pub history: u64,
    /// The most the reply may write: `max_tokens`, or the model's typical reply.
    pub output: u64,
    /// How `prompt` was counted.
    pub counting: Counting,
    /// Whether the reply is an event stream.
    pub stream: bool,
    /// Its class in the queue.
    pub priority: Priority,
    /// When to retry.
    pub retry: RetryPolicy,
    /// How long each part may take.
    pub timeouts: Timeouts,
    /// The models to move to, in order, when `model` cannot serve the call.
    pub fallbacks: Vec<String>,
    /// Move on when the limiter predicts a longer wait than this for `model`.
    pub fallback_after: Option<Duration>,
}

impl Plan {
    /// A call that generates nothing (reads, lists, deletes).
    pub fn free(kind: Kind, priority: Priority, retry: RetryPolicy, timeouts: Timeouts) -> Plan {
        Plan {
            kind,
            model: None,
            prompt: 0,
            cache_key: None,
            history: 0,
            output: 0,
            counting: Counting::Heuristic,
            stream: false,
            priority,
            retry,
            timeouts,
            fallbacks: Vec::new(),
            fallback_after: None,
        }
    }
}
