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

/// What a model can do, for the catalogue below.
#[derive(Clone, Copy)]
enum Kind {
    Chat { vision: bool },
    Code,
    Embed,
    Moderation,
}

const fn model(id: &'static str, kind: Kind, context: u64, aliases: &'static [&'static str]) -> Model {
    let (chat, fim, embed, moderation, vision) = match kind {
        Kind::Chat { vision } => (true, false, false, false, vision),
        Kind::Code => (true, true, false, false, false),
        Kind::Embed => (false, false, true, false, false),
        Kind::Moderation => (false, false, false, true, false),
    };
    Model { id, chat, fim, embed, moderation, vision, context, aliases }
}

pub const MODELS: &[Model] = &[
    model("mistral-small-2506", Kind::Chat { vision: true }, 131_072, &["mistral-small-latest"]),
    model("mistral-medium-2508", Kind::Chat { vision: true }, 131_072, &["mistral-medium-latest", "mistral-medium"]),
    model("mistral-large-2411", Kind::Chat { vision: false }, 131_072, &["mistral-large-latest"]),
    model("ministral-8b-2410", Kind::Chat { vision: false }, 131_072, &["ministral-8b-latest"]),
    model("ministral-14b-2512", Kind::Chat { vision: true }, 262_144, &["ministral-14b-latest"]),
    model("open-mistral-nemo", Kind::Chat { vision: false }, 131_072, &["open-mistral-nemo-2407"]),
    model("codestral-2508", Kind::Code, 256_000, &["codestral-latest"]),
    model("mistral-embed", Kind::Embed, 8192, &[]),
    model("codestral-embed", Kind::Embed, 8192, &[]),
    model("mistral-moderation-2411", Kind::Moderation, 8192, &["mistral-moderation-latest"]),
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
            "moderation": m.moderation, "audio": false, "audio_transcription": false,
            "audio_transcription_realtime": false, "audio_speech": false, "reasoning": false,
            "unified_resources": false
        },
        "name": m.id, "description": format!("{} (mock)", m.id), "max_context_length": m.context,
        "aliases": m.aliases, "deprecation": null, "deprecation_replacement_model": null,
        "default_model_temperature": 0.3, "type": "base"
    })
}
