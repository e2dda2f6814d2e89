//! Error replies in the shapes the real API sends (see the protocol reference §6).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// `{object:"error", message, type, param:null, code}`: the inference service's shape.
pub fn api_error(status: StatusCode, message: &str, kind: &str, code: Option<&str>) -> Response {
    let body = json!({"object": "error", "message": message, "type": kind, "param": null, "code": code});
    (status, Json(body)).into_response()
}

/// The same shape as the 2026 API sends it, with the status repeated in
/// `raw_status_code`.
pub fn coded_error(status: StatusCode, message: &str, kind: &str, code: Option<&str>) -> Response {
    let body = json!({
        "object": "error", "message": message, "type": kind,
        "param": null, "code": code, "raw_status_code": status.as_u16()
    });
    (status, Json(body)).into_response()
}

/// The gateway's 401: `{"detail":"Unauthorized"}`.
pub fn unauthorized() -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"detail": "Unauthorized"}))).into_response()
}

/// FastAPI's 422: `{"detail":[{type, loc, msg, input}]}`.
pub fn validation(details: Vec<Value>) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({ "detail": details }))).into_response()
}

/// An unknown model: 400 `invalid_model`, code 1500.
pub fn invalid_model(model: &str) -> Response {
    api_error(StatusCode::BAD_REQUEST, &format!("Invalid model: {model}"), "invalid_model", Some("1500"))
}

/// The unknown model of the 2026 form (a fault): with `raw_status_code`.
pub fn invalid_model_coded(model: &str) -> Response {
    coded_error(StatusCode::BAD_REQUEST, &format!("Invalid model: {model}"), "invalid_model", Some("1500"))
}

/// A model the workspace may not use: 400, code 3003.
pub fn model_not_in_use(model: &str) -> Response {
    let message = format!("Model {model} is not in use for this workspace.");
    coded_error(StatusCode::BAD_REQUEST, &message, "invalid_request_error", Some("3003"))
}

/// A model's service tier is saturated: Mistral's 429 (or, as also reported, 503)
/// that no wait of the workspace's cures (`type` service_tier_capacity_exceeded,
/// code 3505).
pub fn capacity_exceeded(status: StatusCode) -> Response {
    let message = "Service tier capacity exceeded for this model.";
    coded_error(status, message, "service_tier_capacity_exceeded", Some("3505"))
}

/// The backend has no capacity for the model: 503, code 3505.
pub fn out_of_capacity() -> Response {
    let message = "Not enough capacity available for this model. Please try again later.";
    coded_error(StatusCode::SERVICE_UNAVAILABLE, message, "backend_out_of_capacity", Some("3505"))
}

/// The spending limit of a workspace (or key, `whose`) is reached: 402 until it
/// resets at `resets_at`.
pub fn spending_limit(whose: &str, limit: u64, resets_at: &str) -> Response {
    let message =
        format!("Spending limit reached: this {whose}'s limit of {limit} tokens is spent; it resets at {resets_at}.");
    coded_error(StatusCode::PAYMENT_REQUIRED, &message, "spending_limit_reached", None)
}

/// The 429 of older captures: a bare message.
pub fn rate_limited_legacy() -> Response {
    (StatusCode::TOO_MANY_REQUESTS, Json(json!({"message": "Requests rate limit exceeded"}))).into_response()
}

/// A 429 as the 2026 API sends it. `Retry-After` only when configured.
pub fn rate_limited(message: &str, retry_after: Option<u64>, headers: &[(String, String)]) -> Response {
    let mut r = coded_error(StatusCode::TOO_MANY_REQUESTS, message, "rate_limited", Some("1300"));
    let h = r.headers_mut();
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (k.parse::<axum::http::HeaderName>(), HeaderValue::from_str(v)) {
            h.insert(k, v);
        }
    }
    if let Some(secs) = retry_after {
        h.insert("retry-after", HeaderValue::from(secs));
    }
    r
}

/// A missing resource.
pub fn not_found(what: &str) -> Response {
    api_error(StatusCode::NOT_FOUND, &format!("{what} not found"), "not_found_error", None)
}

/// A 5xx as an upstream failure would send it.
pub fn server_error(status: StatusCode) -> Response {
    let message = status.canonical_reason().unwrap_or("Server error");
    api_error(status, message, "server_error", None)
}
