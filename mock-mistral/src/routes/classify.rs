//! Moderations and classifications, on raw text and on chats. Scores are
//! deterministic; a category is flagged when the text names it plainly.

use axum::body::Bytes;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::chat::model;
use crate::call::Call;
use crate::gateway::Ask;
use crate::text::{self, Rng};
use crate::wire::ids;
use crate::wire::validate::{self, Schema};

const INPUT: Schema = Schema { required: &["model", "input"], optional: &["metadata"] };

/// Moderation categories, and a word that flags each.
const CATEGORIES: &[(&str, &str)] = &[
    ("sexual", "explicit"),
    ("hate_and_discrimination", "hate"),
    ("violence_and_threats", "kill"),
    ("dangerous_and_criminal_content", "weapon"),
    ("selfharm", "self-harm"),
    ("health", "diagnosis"),
    ("financial", "invest"),
    ("law", "lawsuit"),
    ("pii", "passport"),
];

fn moderate(text: &str, seed: u64) -> Value {
    let lower = text.to_lowercase();
    let mut rng = Rng::for_request(seed, text.as_bytes());
    let (mut categories, mut scores) = (Map::new(), Map::new());
    for (name, trigger) in CATEGORIES {
        let hit = lower.contains(trigger);
        let score = if hit { 0.9 + rng.unit() * 0.09 } else { rng.unit() * 0.05 };
        categories.insert((*name).into(), json!(hit));
        scores.insert((*name).into(), json!((score * 1e4).round() / 1e4));
    }
    json!({"categories": categories, "category_scores": scores})
}

fn classify(text: &str, seed: u64) -> Value {
    let mut rng = Rng::for_request(seed, text.as_bytes());
    let raw = [rng.unit(), rng.unit(), rng.unit()];
    let sum: f64 = raw.iter().sum();
    let labels = ["positive", "negative", "neutral"];
    let scores: Map<String, Value> = labels.iter().zip(raw).map(|(l, r)| ((*l).into(), json!(r / sum))).collect();
    json!({"sentiment": {"scores": scores}})
}

/// The texts of a raw input: a string or a list of strings.
fn texts(input: &Value) -> Result<Vec<String>, Response> {
    match input {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_string) => {
            Ok(a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        }
        other => Err(validate::invalid("input", "Input should be a string or a non-empty list of strings", other)),
    }
}

/// The conversations of a chat input: one list of messages, or a list of them
/// (moderations), or `{messages}` / `[{messages}]` (classifications). Each becomes
/// the text of its messages.
fn chats(input: &Value) -> Result<Vec<String>, Response> {
    let one = |messages: &Value| -> Option<String> {
        let list = messages.as_array().filter(|l| !l.is_empty())?;
        list.iter().all(|m| m.get("role").is_some()).then(|| {
            list.iter().map(|m| m.get("content").and_then(Value::as_str).unwrap_or("")).collect::<Vec<_>>().join("\n")
        })
    };
    let parsed = match input {
        Value::Object(o) => o.get("messages").and_then(one).map(|t| vec![t]),
        Value::Array(a) if a.first().is_some_and(Value::is_array) => a.iter().map(one).collect(),
        Value::Array(a) if a.first().is_some_and(|x| x.get("messages").is_some()) => {
            a.iter().map(|x| x.get("messages").and_then(one)).collect()
        }
        Value::Array(_) => one(input).map(|t| vec![t]),
        _ => None,
    };
    parsed.ok_or_else(|| validate::invalid("input", "Input should be a list of messages or of conversations", input))
}

async fn answer(
    call: Call,
    body: &Map<String, Value>,
    texts: Vec<String>,
    score: fn(&str, u64) -> Value,
) -> Result<Response, Response> {
    let model = model(body, |m| m.moderation)?;
    let prompt: u64 = texts.iter().map(|t| text::count(t)).sum();
    let prompt = call.admit(Ask::new(model.id, prompt)).await?.prompt;
    let results: Vec<Value> = texts.iter().map(|t| score(t, call.state.config.seed)).collect();
    let body = json!({"id": ids::completion_id(), "model": model.id, "results": results});
    Ok(call.json(&body, prompt))
}

pub async fn moderations(call: Call, bytes: Bytes) -> Result<Response, Response> {
    let body = validate::body(&bytes, &INPUT)?;
    let texts = texts(&body["input"])?;
    answer(call, &body, texts, moderate).await
}

pub async fn chat_moderations(call: Call, bytes: Bytes) -> Result<Response, Response> {
    let body = validate::body(&bytes, &INPUT)?;
    let texts = chats(&body["input"])?;
    answer(call, &body, texts, moderate).await
}

pub async fn classifications(call: Call, bytes: Bytes) -> Result<Response, Response> {
    let body = validate::body(&bytes, &INPUT)?;
    let texts = texts(&body["input"])?;
    answer(call, &body, texts, classify).await
}

pub async fn chat_classifications(call: Call, bytes: Bytes) -> Result<Response, Response> {
    let body = validate::body(&bytes, &INPUT)?;
    let texts = chats(&body["input"])?;
    answer(call, &body, texts, classify).await
}
