//! The route table.

mod admin;
mod agents;
mod chat;
mod classify;
mod conversations;
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
        .route("/conversations", post(conversations::start).get(conversations::list))
        .route(
            "/conversations/{conversation_id}",
            post(conversations::append).get(conversations::get).delete(conversations::delete),
        )
        .route("/conversations/{conversation_id}/restart", post(conversations::restart))
        .route("/conversations/{conversation_id}/history", get(conversations::history))
        .route("/conversations/{conversation_id}/messages", get(conversations::messages))
        .route("/agents", post(agents::create).get(agents::list))
        .route("/agents/pages", get(agents::pages))
        .route("/agents/completions", post(agents::completions))
        .route("/agents/{agent_id}", get(agents::get).patch(agents::update).delete(agents::delete))
        .route("/agents/{agent_id}/version", axum::routing::patch(agents::switch_version))
        .route("/agents/{agent_id}/versions", get(agents::versions))
        .route("/agents/{agent_id}/versions/{version}", get(agents::version))
        .route("/agents/{agent_id}/aliases", get(agents::aliases).put(agents::set_alias).delete(agents::delete_alias))
}

/// Everything under `/__mock`.
pub fn admin() -> Router<Shared> {
    Router::new()
        .route("/stats", get(admin::stats))
        .route("/reset", post(admin::reset))
        .route("/faults", post(admin::set_faults).delete(admin::clear_faults))
}
