//! `POST /v1/embeddings`: deterministic unit vectors, one per input text.

use axum::body::Bytes;
use axum::response::Response;
use serde_json::{json, Value};

use super::chat::model;
use crate::call::Call;
use crate::gateway::Ask;
use crate::text::{self, Rng};
use crate::wire::ids;
use crate::wire::validate::{self, Schema};

const EMBEDDINGS: Schema = Schema {
    required: &["model", "input"],
    optional: &["output_dimension", "output_dtype", "encoding_format", "metadata"],
};

/// The same text always gives the same vector, of unit length.
fn vector(text: &str, dims: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::for_request(seed, text.as_bytes());
    let v: Vec<f64> = (0..dims).map(|_| rng.unit() * 2.0 - 1.0).collect();
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
    v.into_iter().map(|x| ((x / norm) * 1e6).round() / 1e6).collect()
}

pub async fn embeddings(call: Call, bytes: Bytes) -> Result<Response, Response> {
    let body = validate::body(&bytes, &EMBEDDINGS)?;
    let model = model(&body, |m| m.embed)?;
    let input = body.get("input").expect("required");
    let texts: Vec<&str> = match input {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_string) => {
            items.iter().filter_map(Value::as_str).collect()
        }
        other => {
            return Err(validate::invalid("input", "Input should be a string or a non-empty list of strings", other))
        }
    };
    let dims =
        validate::opt_u64(&body, "output_dimension")?.unwrap_or(if model.id == "mistral-embed" { 1024 } else { 1536 });
    if !(1..=4096).contains(&dims) {
        return Err(validate::invalid("output_dimension", "Input should be between 1 and 4096", &json!(dims)));
    }
    let prompt: u64 = texts.iter().map(|t| text::count(t)).sum();
    let prompt = call.admit(Ask::new(model.id, prompt)).await?.prompt;
    let data: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"object": "embedding", "embedding": vector(t, dims as usize, call.state.config.seed), "index": i}))
        .collect();
    let body = json!({
        "id": ids::completion_id(), "object": "list", "model": model.id,
        "usage": {"prompt_tokens": prompt, "completion_tokens": 0, "total_tokens": prompt},
        "data": data
    });
    Ok(call.json(&body, prompt))
}
