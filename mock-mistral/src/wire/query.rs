//! Query strings checked the way the API's FastAPI layer does, and the list
//! endpoints' paging and metadata filters.

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::errors;

/// The query parameters, or FastAPI's 422 when they do not parse.
pub fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, Response> {
    q.map(|Query(t)| t).map_err(|e| {
        errors::validation(vec![json!({"type": "value_error", "loc": ["query"], "msg": e.body_text(), "input": null})])
    })
}

/// A 422 for one query parameter.
pub fn query_invalid(name: &str, msg: &str, input: &Value) -> Response {
    errors::validation(vec![json!({"type": "value_error", "loc": ["query", name], "msg": msg, "input": input})])
}

/// The list endpoints' `metadata` query: a JSON object the results' metadata must hold.
pub fn metadata_filter(raw: Option<&str>) -> Result<Map<String, Value>, Response> {
    match raw.map(serde_json::from_str::<Value>) {
        None => Ok(Map::new()),
        Some(Ok(Value::Object(filter))) => Ok(filter),
        Some(_) => Err(query_invalid("metadata", "Input should be a JSON object", &json!(raw))),
    }
}

/// Page `page` (from 0) of `size` items.
pub fn page<T>(items: impl Iterator<Item = T>, page: Option<u64>, size: u64) -> Vec<T> {
    let skip = page.unwrap_or(0).saturating_mul(size);
    items.skip(usize::try_from(skip).unwrap_or(usize::MAX)).take(size as usize).collect()
}
