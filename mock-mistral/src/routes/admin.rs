//! `/__mock`: what tests read and steer.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::faults::Script;
use crate::state::Shared;
use crate::store::Stores;

/// `GET /__mock/stats`.
pub async fn stats(State(state): State<Shared>) -> Json<Value> {
    let now = state.now();
    Json(state.gateway.lock().unwrap().stats.to_json(now))
}

/// `POST /__mock/reset`: budgets, statistics, faults and stored state start afresh.
pub async fn reset(State(state): State<Shared>) -> StatusCode {
    let now = state.now();
    state.gateway.lock().unwrap().reset(now);
    *state.faults.lock().unwrap() = crate::faults::Faults::new(state.config.seed);
    *state.stores.lock().unwrap() = Stores::default();
    StatusCode::NO_CONTENT
}

/// `POST /__mock/faults` with `{"sequence": [...], "probabilities": [["503", 0.1]]}`.
pub async fn set_faults(State(state): State<Shared>, Json(script): Json<Script>) -> Response {
    match state.faults.lock().unwrap().set(script) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(message) => (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response(),
    }
}

/// `DELETE /__mock/faults`.
pub async fn clear_faults(State(state): State<Shared>) -> StatusCode {
    *state.faults.lock().unwrap() = crate::faults::Faults::new(state.config.seed);
    StatusCode::NO_CONTENT
}
