//! `POST /v1/chat/completions` and `POST /v1/fim/completions`: one reply, or a
//! stream of `data:` chunks with usage on the last content chunk, the undocumented
//! `"p"` padding field, and `data: [DONE]`. Chat's usage also says the service tier
//! that served it and, under a `prompt_cache_key`, how much of the prompt was cached.

use axum::body::Bytes;
use axum::response::Response;
use serde_json::{json, Map, Value};

use crate::call::Call;
use crate::gateway::{Ask, Bill, Cacheable, Message, Tier};
use crate::models::{self, Model};
use crate::text::{self, Rng};
use crate::wire::sse::{End, Frame};
use crate::wire::validate::{self, Schema};
use crate::wire::{errors, ids};

const CHAT: Schema = Schema {
    required: &["model", "messages"],
    optional: &[
        "temperature",
        "top_p",
        "max_tokens",
        "stream",
        "stop",
        "random_seed",
        "metadata",
        "response_format",
        "tools",
        "tool_choice",
        "presence_penalty",
        "frequency_penalty",
        "n",
        "prediction",
        "parallel_tool_calls",
        "prompt_mode",
        "reasoning_effort",
        "guardrails",
        "prompt_cache_key",
        "safe_prompt",
        "service_tier",
    ],
};

const FIM: Schema = Schema {
    required: &["model", "prompt"],
    optional: &[
        "suffix",
        "temperature",
        "top_p",
        "max_tokens",
        "min_tokens",
        "stream",
        "stop",
        "random_seed",
        "metadata",
        "prompt_cache_key",
    ],
};

/// The model a request names, if it exists and can do what is asked.
pub fn model(body: &Map<String, Value>, can: impl Fn(&Model) -> bool) -> Result<&'static Model, Response> {
    let name = match body.get("model") {
        Some(Value::String(s)) => s.as_str(),
        other => {
            return Err(validate::invalid("model", "Input should be a valid string", other.unwrap_or(&Value::Null)))
        }
    };
    models::find(name).filter(|m| can(m)).ok_or_else(|| errors::invalid_model(name))
}

pub async fn chat(call: Call, bytes: Bytes) -> Result<Response, Response> {
    let body = validate::body(&bytes, &CHAT)?;
    let model = model(&body, |m| m.chat)?;
    let messages = match body.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        other => {
            return Err(validate::invalid(
                "messages",
                "List should have at least 1 item",
                other.unwrap_or(&Value::Null),
            ))
        }
    };
    let tier = match body.get("service_tier") {
        None | Some(Value::Null) => Tier::StandardOnly,
        Some(Value::String(s)) if s == "standard_only" => Tier::StandardOnly,
        Some(Value::String(s)) if s == "auto" => Tier::Auto,
        Some(other) => {
            return Err(validate::invalid("service_tier", "Input should be 'auto' or 'standard_only'", other))
        }
    };
    // Each message counts its text and a few tokens of framing.
    let messages: Vec<Message> = messages
        .iter()
        .map(|m| Message {
            seen: json!([m.get("role"), m.get("content")]).to_string(),
            tokens: text::count_value(m) + 3,
        })
        .collect();
    let tools = body.get("tools").filter(|t| !t.is_null());
    let prompt = messages.iter().map(|m| m.tokens).sum::<u64>() + tools.map_or(0, text::count_value);
    let cache = body.get("prompt_cache_key").and_then(Value::as_str).map(|key| Cacheable { key: key.into(), messages });
    let reply = Reply {
        ask: Ask { model: model.id, prompt, tier, cache },
        max_tokens: validate::opt_u64(&body, "max_tokens")?,
        stream: validate::opt_bool(&body, "stream")?.unwrap_or(false),
        tool: forced_tool(body.get("tool_choice"), tools),
        reports_tier: true,
    };
    complete(&call, &bytes, reply).await
}

pub async fn fim(call: Call, bytes: Bytes) -> Result<Response, Response> {
    let body = validate::body(&bytes, &FIM)?;
    let model = model(&body, |m| m.fim)?;
    let prompt = text::count_value(body.get("prompt").unwrap_or(&Value::Null))
        + text::count_value(body.get("suffix").unwrap_or(&Value::Null))
        + 3;
    let reply = Reply {
        ask: Ask::new(model.id, prompt),
        max_tokens: validate::opt_u64(&body, "max_tokens")?,
        stream: validate::opt_bool(&body, "stream")?.unwrap_or(false),
        tool: None,
        reports_tier: false,
    };
    complete(&call, &bytes, reply).await
}

struct Reply<'a> {
    ask: Ask<'a>,
    max_tokens: Option<u64>,
    stream: bool,
    tool: Option<String>,
    /// Whether usage says the service tier (chat's does; FIM takes no `service_tier`).
    reports_tier: bool,
}

/// The usage of a reply of `completion` tokens to a prompt billed as `bill`.
fn usage(bill: &Bill, reports_tier: bool, completion: u64) -> Value {
    let prompt = bill.prompt;
    let mut u = json!({"prompt_tokens": prompt, "total_tokens": prompt + completion, "completion_tokens": completion});
    if let Some(cached) = bill.cached {
        u["prompt_tokens_details"] = json!({ "cached_tokens": cached });
    }
    if reports_tier {
        u["service_tier"] = json!(if bill.priority { "priority" } else { "standard" });
    }
    u
}

/// Letters of random length, like the padding real chunks carry.
fn padding(rng: &mut Rng) -> String {
    (0..rng.between(1, 24)).map(|i| char::from(b'a' + (i % 26) as u8)).collect()
}

/// The function a reply must call: when `tool_choice` forces a call (`any`,
/// `required`, or a named function), the named function or else the first one.
pub(super) fn forced_tool(tool_choice: Option<&Value>, tools: Option<&Value>) -> Option<String> {
    let functions = || tools?.as_array().map(|t| t.iter().filter_map(|t| t.pointer("/function/name")?.as_str()));
    match tool_choice? {
        Value::String(s) if s == "any" || s == "required" => functions()?.next().map(str::to_owned),
        Value::Object(o) => o.get("function")?.get("name")?.as_str().map(str::to_owned),
        _ => None,
    }
}

/// A tool call id as Mistral makes them: nine letters and digits.
pub(super) fn tool_call_id(rng: &mut Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..9).map(|_| char::from(ALPHABET[(rng.next_u64() % ALPHABET.len() as u64) as usize])).collect()
}

async fn complete(call: &Call, bytes: &[u8], reply: Reply<'_>) -> Result<Response, Response> {
    let model = reply.ask.model;
    let bill = call.admit(reply.ask).await?;
    let usage = |completion| usage(&bill, reply.reports_tier, completion);
    let mut rng = call.rng(bytes);
    let (n, mut finish) = text::reply_length(reply.max_tokens, &mut rng);
    let words = text::words(n, &mut rng);
    let tool_calls = reply.tool.as_ref().map(|name| {
        finish = "tool_calls";
        json!([{"id": tool_call_id(&mut rng), "function": {"name": name, "arguments": "{}"}, "index": 0}])
    });
    let content = if tool_calls.is_some() { String::new() } else { words.concat() };
    let (id, created) = (ids::completion_id(), ids::unix_seconds());
    if !reply.stream {
        call.generate(n).await;
        let body = json!({
            "id": id, "object": "chat.completion", "created": created, "model": model,
            "usage": usage(n),
            "choices": [{"index": 0, "finish_reason": finish,
                "message": {"role": "assistant", "tool_calls": tool_calls, "content": content}}]
        });
        return Ok(call.json(&body, bill.charged + n));
    }
    let chunk = |delta: Value, finish: Option<&str>, usage: Option<Value>, rng: &mut Rng| {
        let mut c = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
        });
        if let Some(u) = usage {
            c["usage"] = u;
        }
        if rng.unit() < 0.6 {
            c["p"] = json!(padding(rng));
        }
        c.to_string()
    };
    let mut frames = vec![Frame {
        event: None,
        data: chunk(json!({"role": "assistant", "content": ""}), None, None, &mut rng),
        tokens: 0,
    }];
    if let Some(calls) = tool_calls {
        // Tool calls arrive whole, in one chunk that also ends the reply.
        let delta = json!({"tool_calls": calls, "content": ""});
        let data = chunk(delta, Some(finish), Some(usage(n)), &mut rng);
        frames.push(Frame { event: None, data, tokens: n });
    } else {
        let groups: Vec<&[String]> = words.chunks(2).collect();
        for (i, group) in groups.iter().enumerate() {
            let last = i + 1 == groups.len();
            let data =
                chunk(json!({"content": group.concat()}), last.then_some(finish), last.then(|| usage(n)), &mut rng);
            frames.push(Frame { event: None, data, tokens: group.len() as u64 });
        }
        if groups.is_empty() {
            let data = chunk(json!({"content": ""}), Some(finish), Some(usage(0)), &mut rng);
            frames.push(Frame { event: None, data, tokens: 0 });
        }
    }
    Ok(call.stream(frames, End::Done))
}
