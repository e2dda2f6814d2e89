//! `GET /v1/models`, `GET /v1/models/{id}`, `DELETE /v1/models/{id}`.

use axum::extract::Path;
use axum::response::Response;
use serde_json::json;

use crate::call::Call;
use crate::models::{self, MODELS};
use crate::wire::errors;

pub async fn list(call: Call) -> Response {
    let data: Vec<_> = MODELS.iter().map(models::card).collect();
    call.json(&json!({"object": "list", "data": data}), 0)
}

pub async fn get(call: Call, Path(id): Path<String>) -> Response {
    match models::find(&id) {
        Some(m) => call.json(&models::card(m), 0),
        None => errors::not_found(&format!("Model {id}")),
    }
}

/// Only fine-tuned models (`ft:...`) can be deleted; the mock keeps none, so it
/// acknowledges any `ft:` id and refuses base models.
pub async fn delete(call: Call, Path(id): Path<String>) -> Response {
    if id.starts_with("ft:") {
        call.json(&json!({"id": id, "object": "model", "deleted": true}), 0)
    } else if models::find(&id).is_some() {
        errors::api_error(
            axum::http::StatusCode::FORBIDDEN,
            "Base models cannot be deleted",
            "invalid_request_error",
            None,
        )
    } else {
        errors::not_found(&format!("Model {id}"))
    }
}
