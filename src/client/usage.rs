//! What a request really cost, read from what the server sent back.

use serde_json::Value;

use super::estimate::text_tokens;

/// The most tokens one reply may report (about a trillion): beyond it a count is
/// not believed, so absurd numbers cannot overflow the books.
pub const MOST_TOKENS: u64 = 1 << 40;

/// Token counts as the API reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Input tokens, cached ones included.
    pub prompt: u64,
    /// Output tokens.
    pub completion: u64,
    /// Of the input, the tokens served from the prompt cache
    /// (`prompt_tokens_details.cached_tokens`): charged far less.
    pub cached: u64,
    /// The tier that served it (`service_tier`), when the reply says.
    pub tier: Option<Tier>,
}

/// The service tier a reply says served it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tier {
    /// The priority tier (`service_tier: "auto"` within its limits).
    Priority,
    /// The standard tier.
    Standard,
}

impl Tier {
    /// The name the API and `metrics()` use.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Priority => "priority",
            Tier::Standard => "standard",
        }
    }
}

impl Usage {
    /// Input plus output.
    pub fn total(&self) -> u64 {
        self.prompt.saturating_add(self.completion)
    }

    /// The `usage` object of a response, a chat chunk or a `conversation.response.done`
    /// event, if it has one. `total_tokens` wins over the sum when larger (it includes
    /// connector tokens).
    /// Counts beyond [`MOST_TOKENS`] are not usage but nonsense: the whole object is
    /// then ignored, and the call settles as if it had none.
    pub fn from_json(v: &Value) -> Option<Usage> {
        let u = v.get("usage").filter(|u| u.is_object())?;
        let n = |k: &str| match u.get(k) {
            None | Some(Value::Null) => Some(0),
            Some(x) => x.as_u64().filter(|&n| n <= MOST_TOKENS),
        };
        let (prompt, completion, total) = (n("prompt_tokens")?, n("completion_tokens")?, n("total_tokens")?);
        let extra = total.saturating_sub(prompt + completion);
        // The API has spelled the details three ways; a count past the prompt is nonsense.
        let cached =
            ["/prompt_tokens_details/cached_tokens", "/prompt_token_details/cached_tokens", "/num_cached_tokens"]
                .iter()
                .find_map(|path| u.pointer(path).and_then(Value::as_u64))
                .filter(|&c| c <= prompt)
                .unwrap_or(0);
        let tier = match u.get("service_tier").and_then(Value::as_str) {
            Some("priority") => Some(Tier::Priority),
            Some("standard") => Some(Tier::Standard),
            _ => None,
        };
        Some(Usage { prompt, completion: completion + extra, cached, tier })
    }
}

/// The generated text an event carries (a chat delta's content, a conversation
/// `message.output.delta`'s content, a function call's arguments), to count what was
/// streamed when a stream dies before its usage arrives.
pub fn streamed_text(event: &Value) -> Option<&str> {
    if let Some(delta) = event.pointer("/choices/0/delta") {
        return delta.get("content").and_then(Value::as_str);
    }
    match event.get("type").and_then(Value::as_str)? {
        "message.output.delta" => event.get("content").and_then(Value::as_str),
        "function.call.delta" => event.get("arguments").and_then(Value::as_str),
        _ => None,
    }
}

/// Tokens in streamed text, by the same heuristic as estimates.
pub fn streamed_tokens(event: &Value) -> u64 {
    streamed_text(event).map_or(0, text_tokens)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn usage_from_every_shape() {
        let chat = json!({"usage": {"prompt_tokens": 11, "total_tokens": 14, "completion_tokens": 3}});
        assert_eq!(Usage::from_json(&chat), Some(Usage { prompt: 11, completion: 3, ..Usage::default() }));
        let web = json!({"usage": {"prompt_tokens": 188, "completion_tokens": 55, "total_tokens": 7355, "connector_tokens": 7112}});
        assert_eq!(Usage::from_json(&web).unwrap().total(), 7355);
        assert_eq!(Usage::from_json(&json!({"usage": null})), None);
        assert_eq!(Usage::from_json(&json!({})), None);
        assert_eq!(
            Usage::from_json(&json!({"usage": {"prompt_tokens": 5}})),
            Some(Usage { prompt: 5, ..Usage::default() })
        );
        let cached = json!({"usage": {"prompt_tokens": 900, "completion_tokens": 9, "total_tokens": 909,
            "prompt_tokens_details": {"cached_tokens": 800}, "service_tier": "priority"}});
        assert_eq!(
            Usage::from_json(&cached),
            Some(Usage { prompt: 900, completion: 9, cached: 800, tier: Some(Tier::Priority) })
        );
        let absurd = json!({"usage": {"prompt_tokens": 9, "prompt_tokens_details": {"cached_tokens": 10}}});
        assert_eq!(Usage::from_json(&absurd).unwrap().cached, 0, "more cached than the prompt: not believed");
        for absurd in [json!(u64::MAX), json!(-3), json!(1.5e30), json!("12")] {
            assert_eq!(Usage::from_json(&json!({"usage": {"prompt_tokens": absurd}})), None, "{absurd}");
        }
    }

    #[test]
    fn text_of_stream_events() {
        let chunk = json!({"choices": [{"delta": {"content": "Bonjour"}}]});
        assert_eq!(streamed_text(&chunk), Some("Bonjour"));
        let delta = json!({"type": "message.output.delta", "content": "abcd"});
        assert_eq!(streamed_tokens(&delta), 1);
        assert_eq!(streamed_text(&json!({"type": "conversation.response.started"})), None);
    }
}
