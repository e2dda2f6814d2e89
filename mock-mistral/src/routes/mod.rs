//! The route table.

mod admin;
mod chat;
mod classify;
mod embeddings;
mod models;

use axum::routing::{get, post};
use axum::Router;

use crate::state::Shared;

/// Everything under `/v1`.
pub fn v1() -> Router<Shared> {
    Router::new()
        .route("/chat/completions", post(chat::chat))
        .route("/fim/completions", post(chat::fim))
        .route("/embeddings", post(embeddings::embeddings))
        .route("/moderations", post(classify::moderations))
        .route("/chat/moderations", post(classify::chat_moderations))
        .route("/classifications", post(classify::classifications))
        .route("/chat/classifications", post(classify::chat_classifications))
        .route("/models", get(models::list))
        .route("/models/{id}", get(models::get).delete(models::delete))
}

/// Everything under `/__mock`.
pub fn admin() -> Router<Shared> {
    Router::new()
        .route("/stats", get(admin::stats))
        .route("/reset", post(admin::reset))
        .route("/faults", post(admin::set_faults).delete(admin::clear_faults))
}
