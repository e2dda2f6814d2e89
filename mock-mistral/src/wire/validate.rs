//! Request bodies checked the way the API's FastAPI layer does: unknown fields are
//! refused (`extra_forbidden`), required ones must be there (`missing`), and the
//! replies carry pydantic's `detail` list.

use serde_json::{json, Map, Value};

use super::errors;
use axum::response::Response;

/// A body's top-level fields: those that must be present and all that may be.
#[derive(Debug)]
pub struct Schema {
    pub required: &'static [&'static str],
    pub optional: &'static [&'static str],
}

/// Parses `bytes` as a JSON object that fits `schema`.
pub fn body(bytes: &[u8], schema: &Schema) -> Result<Map<String, Value>, Response> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        errors::validation(vec![json!({
            "type": "json_invalid", "loc": ["body", e.column()], "msg": "JSON decode error",
            "input": {}, "ctx": {"error": e.to_string()}
        })])
    })?;
    let Value::Object(map) = value else {
        return Err(errors::validation(vec![json!({
            "type": "model_attributes_type", "loc": ["body"],
            "msg": "Input should be a valid dictionary or object to extract fields from", "input": value
        })]));
    };
    let mut details = Vec::new();
    for field in schema.required {
        if !map.contains_key(*field) {
            details.push(json!({"type": "missing", "loc": ["body", field], "msg": "Field required", "input": map}));
        }
    }
    for (k, v) in &map {
        if !schema.required.contains(&k.as_str()) && !schema.optional.contains(&k.as_str()) {
            details.push(json!({"type": "extra_forbidden", "loc": ["body", k], "msg": "Extra inputs are not permitted", "input": v}));
        }
    }
    if details.is_empty() {
        Ok(map)
    } else {
        Err(errors::validation(details))
    }
}

/// A 422 for one field of the wrong type or value.
pub fn invalid(field: &str, msg: &str, input: &Value) -> Response {
    errors::validation(vec![json!({"type": "value_error", "loc": ["body", field], "msg": msg, "input": input})])
}

/// An optional non-negative integer field.
pub fn opt_u64(map: &Map<String, Value>, field: &str) -> Result<Option<u64>, Response> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| invalid(field, "Input should be a valid integer", v)),
    }
}

/// An optional boolean field.
pub fn opt_bool(map: &Map<String, Value>, field: &str) -> Result<Option<bool>, Response> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_bool().map(Some).ok_or_else(|| invalid(field, "Input should be a valid boolean", v)),
    }
}

/// The JSON type an optional field must have when it is given and not null.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Text,
    List,
    Object,
    Flag,
}

/// Checks the types of optional fields as pydantic would. Null always passes: the
/// API's optional fields are all nullable.
pub fn typed(body: &Map<String, Value>, fields: &[(&str, Kind)]) -> Result<(), Response> {
    for (field, kind) in fields {
        let Some(v) = given(body, field) else { continue };
        let (ok, msg) = match kind {
            Kind::Text => (v.is_string(), "Input should be a valid string"),
            Kind::List => (v.is_array(), "Input should be a valid list"),
            Kind::Object => (v.is_object(), "Input should be a valid dictionary"),
            Kind::Flag => (v.is_boolean(), "Input should be a valid boolean"),
        };
        if !ok {
            return Err(invalid(field, msg, v));
        }
    }
    Ok(())
}

/// A field that is present and not null.
pub fn given<'a>(body: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    body.get(field).filter(|v| !v.is_null())
}
