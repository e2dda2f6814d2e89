//! The models the mock knows, with the capabilities the real cards list.

use serde_json::{json, Value};

pub struct Model {
    pub id: &'static str,
    pub chat: bool,
    pub fim: bool,
    pub embed: bool,
    pub moderation: bool,
    pub vision: bool,
    pub context: u64,
    pub aliases: &'static [&'static str],
}

const fn chat(id: &'static str, vision: bool, context: u64, aliases: &'static [&'static str]) -> Model {
    Model { id, chat: true, fim: false, embed: false, moderation: false, vision, context, aliases }
}

pub const MODELS: &[Model] = &[
    chat("mistral-small-2506", true, 131_072, &["mistral-small-latest"]),
    chat("mistral-medium-2508", true, 131_072, &["mistral-medium-latest", "mistral-medium"]),
    chat("mistral-large-2411", false, 131_072, &["mistral-large-latest"]),
    chat("ministral-8b-2410", false, 131_072, &["ministral-8b-latest"]),
    chat("ministral-14b-2512", true, 262_144, &["ministral-14b-latest"]),
    chat("open-mistral-nemo", false, 131_072, &["open-mistral-nemo-2407"]),
    Model {
        id: "codestral-2508",
        chat: true,
        fim: true,
        embed: false,
        moderation: false,
        vision: false,
        context: 256_000,
        aliases: &["codestral-latest"],
    },
    Model {
        id: "mistral-embed",
        chat: false,
        fim: false,
        embed: true,
        moderation: false,
        vision: false,
        context: 8192,
        aliases: &[],
    },
    Model {
        id: "codestral-embed",
        chat: false,
        fim: false,
        embed: true,
        moderation: false,
        vision: false,
        context: 8192,
        aliases: &[],
    },
    Model {
        id: "mistral-moderation-2411",
        chat: false,
        fim: false,
        embed: false,
        moderation: true,
        vision: false,
        context: 8192,
        aliases: &["mistral-moderation-latest"],
    },
];

/// The model named `name`, by id or alias.
pub fn find(name: &str) -> Option<&'static Model> {
    MODELS.iter().find(|m| m.id == name || m.aliases.contains(&name))
}

/// The model card as `GET /v1/models` returns it.
pub fn card(m: &Model) -> Value {
    json!({
        "id": m.id, "object": "model", "created": 1_750_000_000u64, "owned_by": "mistralai",
        "capabilities": {
            "completion_chat": m.chat, "function_calling": m.chat, "completion_fim": m.fim,
            "fine_tuning": false, "vision": m.vision, "ocr": false, "classification": m.moderation,
            "moderation": m.moderation, "audio": false, "audio_transcription": false
        },
        "name": m.id, "description": format!("{} (mock)", m.id), "max_context_length": m.context,
        "aliases": m.aliases, "deprecation": null, "deprecation_replacement_model": null,
        "default_model_temperature": 0.3, "type": "base"
    })
}
