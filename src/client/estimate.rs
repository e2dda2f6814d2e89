//! How many tokens a request will cost before it is sent: its prompt, plus the most
//! it may write (`max_tokens`), or what replies from that model usually run to.
//!
//! The prompt is counted by an [`Estimator`]: exactly by Tekken (with the `tekken`
//! feature, for the models whose tokenizer and template it knows), bounded from
//! above by Tekken and a measured multiplier for the older SentencePiece models,
//! or by the [`Heuristic`]. The heuristic leans high on purpose, because an
//! estimate that is too low lets a burst through and earns 429s. ASCII text counts
//! one token per four bytes (close for English, code and JSON). Every other
//! character counts as a whole token: about right for Chinese and Japanese, where
//! four bytes per token would undercount threefold, and high for accented and
//! Cyrillic text.

use std::collections::HashMap;

use serde_json::Value;

use super::calibration::Counting;

/// Counts the prompt tokens of a request body.
pub trait Estimator {
    /// Tokens the server will count as the prompt of `body`.
    fn prompt_tokens(&self, body: &Value) -> u64;

    /// The same, given the body's text too (whose key order a parsed `Value`
    /// loses, and exact counts of tool schemas depend on it).
    fn prompt_tokens_of_text(&self, _text: &str, body: &Value) -> u64 {
        self.prompt_tokens(body)
    }

    /// How it counts, for calibration: a tokenizer unless said otherwise.
    fn counting(&self) -> Counting {
        Counting::Tokenizer
    }
}

/// The heuristic described in the module docs.
#[derive(Clone, Copy, Debug, Default)]
pub struct Heuristic;

/// Framing tokens per message or entry (role markers and the like).
const PER_MESSAGE: u64 = 4;

/// Tokens in `text` by the heuristic.
pub fn text_tokens(text: &str) -> u64 {
    // One pass over the bytes: a character beyond ASCII is counted at its lead
    // byte (0xC0 and up). Decoding `chars()` took 2.7 times as long natively, more
    // in the size-optimised wasm, and a long prompt paid it on every call.
    let (mut ascii, mut other) = (0u64, 0u64);
    for &b in text.as_bytes() {
        ascii += u64::from(b < 0x80);
        other += u64::from(b >= 0xC0);
    }
    ascii.div_ceil(4) + other
}

impl Estimator for Heuristic {
    fn prompt_tokens(&self, body: &Value) -> u64 {
        prompt_with(body, &text_tokens)
    }

    fn counting(&self) -> Counting {
        Counting::Heuristic
    }
}

/// Tekken counts the text exactly, and the whole prompt exactly when the model's
/// chat template is known; otherwise the framing is estimated. For a model on a
/// SentencePiece vocabulary, the count is multiplied by its measured correction
/// (tighter when all the text is in Latin script).
#[cfg(feature = "tekken")]
impl Estimator for crate::tokenizer::Tekken {
    fn prompt_tokens(&self, body: &Value) -> u64 {
        use crate::tokenizer::{correction, is_latin};
        let model = body.get("model").and_then(Value::as_str).unwrap_or_default();
        // Only a SentencePiece model's correction depends on the script, so only
        // then is the text read for it.
        let corrected = correction(model, false).is_some();
        let latin = std::cell::Cell::new(true);
        let tekken = prompt_with(body, &|text| {
            if corrected && latin.get() {
                latin.set(is_latin(text));
            }
            self.count(text) as u64
        });
        match correction(model, latin.get()) {
            Some(multiplier) => (tekken as f64 * multiplier).ceil() as u64,
            None => tekken,
        }
    }

    fn prompt_tokens_of_text(&self, text: &str, body: &Value) -> u64 {
        use crate::tokenizer::{count_chat_str, count_conversation_str, ChatTemplate};
        let template = body.get("model").and_then(Value::as_str).and_then(ChatTemplate::for_model);
        let exact = template.and_then(|t| {
            let counted = if body.get("messages").is_some() {
                count_chat_str(self, text, t)
            } else {
                count_conversation_str(self, text, t)
            };
            counted.ok()
        });
        exact.map_or_else(|| self.prompt_tokens(body), |n| n as u64)
    }
}

/// The prompt of `body`, its text counted by `count`: the text of messages,
/// inputs (and embeddings' and classifiers' `input`), instructions, tools, FIM's
/// prompt and suffix, plus framing per message or input.
/// Any counter of text (the heuristic, or an exact tokenizer) estimates this way.
pub fn prompt_with(body: &Value, count: &dyn Fn(&str) -> u64) -> u64 {
    let messages = body.get("messages").or_else(|| body.get("inputs")).or_else(|| body.get("input"));
    let framing = messages.and_then(Value::as_array).map_or(1, |m| m.len() as u64) * PER_MESSAGE;
    let text: u64 = ["messages", "inputs", "input", "instructions", "tools", "prompt", "suffix"]
        .iter()
        .filter_map(|k| body.get(*k))
        .map(|v| value_tokens(v, count))
        .sum();
    text + framing
}

/// Strings count as text; structure (tool schemas, arguments) counts as its JSON.
fn value_tokens(v: &Value, count: &dyn Fn(&str) -> u64) -> u64 {
    match v {
        Value::Null => 0,
        Value::String(s) => count(s),
        Value::Array(items) => items.iter().map(|i| value_tokens(i, count)).sum(),
        Value::Object(map) => map.iter().map(|(k, v)| count(k) + value_tokens(v, count)).sum(),
        other => count(&other.to_string()),
    }
}

/// The `max_tokens` a body asks for: top-level for chat, in `completion_args` for
/// conversations.
pub fn max_tokens(body: &Value) -> Option<u64> {
    body.get("max_tokens")
        .or_else(|| body.get("completion_args").and_then(|a| a.get("max_tokens")))
        .and_then(Value::as_u64)
}

/// How long replies from each model run, to reserve for requests without
/// `max_tokens`: the longest of the last [`REMEMBERED`] replies, or
/// [`DEFAULT_OUTPUT`] before any.
#[derive(Clone, Debug, Default)]
pub struct OutputHistory {
    by_model: HashMap<String, Vec<u64>>,
}

/// Replies remembered per model.
pub const REMEMBERED: usize = 32;
/// The output reserved for a model never seen (Mistral's replies rarely run longer
/// without `max_tokens`; a longer one is booked as debt).
pub const DEFAULT_OUTPUT: u64 = 1024;

impl OutputHistory {
    /// Remembers a reply of `tokens` from `model`.
    pub fn record(&mut self, model: &str, tokens: u64) {
        let seen = self.by_model.entry(model.to_owned()).or_default();
        if seen.len() == REMEMBERED {
            seen.remove(0);
        }
        seen.push(tokens);
    }

    /// What to reserve for a reply from `model` without `max_tokens`.
    pub fn typical(&self, model: Option<&str>) -> u64 {
        model.and_then(|m| self.by_model.get(m)).and_then(|s| s.iter().max().copied()).unwrap_or(DEFAULT_OUTPUT)
    }
}

/// What a request that generates will reserve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Estimate {
    /// Its prompt.
    pub prompt: u64,
    /// The most it may write: `max_tokens`, or the model's typical reply.
    pub output: u64,
}

impl Estimate {
    /// Prompt plus output allowance.
    pub fn total(&self) -> u64 {
        self.prompt + self.output
    }
}

/// The reservation for a request that generates; `text` is the body as sent.
pub fn request_tokens(estimator: &dyn Estimator, history: &OutputHistory, text: &str, body: &Value) -> Estimate {
    let model = body.get("model").and_then(Value::as_str);
    let output = max_tokens(body).unwrap_or_else(|| history.typical(model));
    Estimate { prompt: estimator.prompt_tokens_of_text(text, body), output }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ascii_by_four_other_scripts_by_character() {
        assert_eq!(text_tokens("hello world!"), 3);
        assert_eq!(text_tokens("日本語"), 3);
        assert_eq!(text_tokens("café"), 2);
        assert_eq!(text_tokens(""), 0);
    }

    #[test]
    fn chat_and_conversation_bodies() {
        let chat = json!({"model": "m", "messages": [{"role": "user", "content": "abcdefgh"}], "max_tokens": 100});
        // "user" 1 + "abcdefgh" 2 + keys role/content 1+2, + 4 framing
        assert_eq!(Heuristic.prompt_tokens(&chat), 10);
        let text = chat.to_string();
        assert_eq!(
            request_tokens(&Heuristic, &OutputHistory::default(), &text, &chat),
            Estimate { prompt: 10, output: 100 }
        );
        let conv =
            json!({"model": "m", "inputs": "abcd", "instructions": "be brief", "completion_args": {"max_tokens": 7}});
        assert_eq!(max_tokens(&conv), Some(7));
        assert_eq!(Heuristic.prompt_tokens(&conv), 1 + 2 + 4);
    }

    #[test]
    fn outputs_are_learned_per_model() {
        let mut h = OutputHistory::default();
        assert_eq!(h.typical(Some("m")), DEFAULT_OUTPUT);
        for n in [120, 300, 80] {
            h.record("m", n);
        }
        assert_eq!(h.typical(Some("m")), 300);
        for _ in 0..REMEMBERED {
            h.record("m", 50);
        }
        assert_eq!(h.typical(Some("m")), 50, "old replies are forgotten");
        assert_eq!(h.typical(None), DEFAULT_OUTPUT);
    }
}
