//! The prompt tokens of a chat or conversation request, counted as mistral-common
//! 1.13.1's `encode_chat_completion` encodes them: BOS, the control tokens of the
//! instruct template (one token each) and the Tekken count of each text piece, each
//! piece encoded on its own as mistral-common does.
//!
//! Five template versions are implemented ([`ChatTemplate`]): v3, v7, v11, v13 and
//! v15. From v7 on they share a normaliser (consecutive user or assistant messages
//! merge with `"\n\n"`, each system message stays in place between `[SYSTEM_PROMPT]`
//! and `[/SYSTEM_PROMPT]`) and differ in where the tools go, how tool calls and
//! results are written and, in v15, the model settings. v3 keeps mistral-common's
//! first normaliser: the system messages are joined and put in front of the last
//! user message, and tool calls and results are written as JSON.
//!
//! JSON that the template re-serialises (the tools, a tool call's arguments, v3's
//! tool results) is written as Python's `json.dumps(..., ensure_ascii=False)` would:
//! `", "` and `": "` separators, keys in their order, floats as Python's `repr`. Key
//! order is only known from text, so [`count_chat_str`] and
//! [`count_conversation_str`] are the exact entry points; the `serde_json::Value`
//! ones see the order the `Value` keeps (sorted, unless serde_json's
//! `preserve_order` feature is on).
//!
//! What mistral-common (in serving or test mode) refuses is refused with
//! [`ChatError::Invalid`]. What is not counted exactly is refused with
//! [`ChatError::Unsupported`]: images, documents, audio and thinking chunks,
//! built-in (non-function) tools, agents, conversation entries other than messages
//! and function calls and results, `safe_prompt` and `prompt_mode` (the server adds
//! a prompt of its own), and in v15 a JSON response format (which may go into the
//! model settings).

use std::fmt;

use serde_json::Value;

use super::Tekken;

mod json;

use self::json::{parse, Json};

/// The instruct template version, as in mistral-common's `TokenizerVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChatTemplate {
    /// v3 (Tekken): system messages joined and put before the last user message;
    /// tools before the last user message; tool calls as one JSON list after
    /// `[TOOL_CALLS]`; results `[TOOL_RESULTS] {"content": ..., "call_id": ...}
    /// [/TOOL_RESULTS]`; an assistant message has content or tool calls, not both.
    V3,
    /// v7: system messages in place; tools before the last user message; tool calls
    /// as in v3; results `[TOOL_RESULTS] id [TOOL_CONTENT] content [/TOOL_RESULTS]`.
    V7,
    /// v11: as v7, but each call is `[TOOL_CALLS] name [CALL_ID] id [ARGS] arguments`.
    V11,
    /// v13: tools before the first user message; calls `[TOOL_CALLS] name [ARGS]
    /// arguments`; results `[TOOL_RESULTS] content [/TOOL_RESULTS]` (no ids).
    V13,
    /// v15: as v13, with `[MODEL_SETTINGS] {"reasoning_effort": ...}
    /// [/MODEL_SETTINGS]` after the tools, and a message's text chunks joined with
    /// nothing between them. The settings are Mistral Small 4's, the one v15 model:
    /// `reasoning_effort` "none" or "high", "none" when the request has none.
    V15,
}

impl ChatTemplate {
    /// The template of a Mistral API model name, where a source says which it is.
    ///
    /// A name maps to the `config.version` of the `tekken.json` shipped with its open
    /// weights; the weights of each API name are those its page in
    /// `mistralai/platform-docs-public` (`src/schema/models/models/*.ts`) links to.
    /// - v3: `open-mistral-nemo(-2407)`, `ministral-8b-2410`, `pixtral-12b-2409`:
    ///   mistral-common 1.13.1's `MODEL_NAME_TO_TOKENIZER_CLS` (`tokens/tokenizers/
    ///   mistral.py`, v3 Tekken), and the V3-Tekken table of `mistralai/cookbook`
    ///   `concept-deep-dive/tokenization/templates.md`.
    /// - v7: `mistral-small-2501`, `mistral-small-2503`, `devstral-small-2505`:
    ///   `docs/models.md` of mistral-common ("v7-tekken"); `mistral-small-2503` and
    ///   `voxtral-mini-2507` (Voxtral-Mini-3B-2507): mistral-common's
    ///   `scripts/provision_test_tokenizers.py`, which pins each released Tekken
    ///   version to a model (v7-image, v7-audio).
    /// - v11: `mistral-small-2506` (Mistral-Small-3.2-24B-Instruct-2506), same script.
    /// - v13: `ministral-3b-2512` (Ministral-3-3B-Instruct-2512), same script, and
    ///   `ministral-3b-latest`, which points to it (docs, Ministral 3 3B, 2025-12-02).
    /// - v15: `mistral-small-2603` (Mistral-Small-4-119B-2603), same script, and
    ///   `mistral-small-latest`, which points to it since Mistral Small 4's release
    ///   (docs, 2026-03-16; before that it was `mistral-small-2506`).
    ///
    /// Every other name is `None`, among them: `mistral-small-2409` (mistral-common's
    /// table says v3 Tekken, but its model card says a 32768 vocabulary and the
    /// cookbook lists the 22B Mistral Small under SentencePiece v3);
    /// `mistral-large-2411` and `pixtral-large-2411` (v7, but SentencePiece);
    /// `ministral-3b-2410`, Mistral Medium 3 and 3.1, Codestral and Magistral Medium
    /// (no open weights); Ministral 3 8B and 14B, Devstral Small 1.1 and 2, Devstral
    /// 2, Mistral Large 3 (`mistral-large-latest` since 2025-12-02) and Mistral
    /// Medium 3.5, whose tokenizer versions no source found here states; and the
    /// Magistral models: Magistral Small 2507 is v13 (same script), but the API puts
    /// its own reasoning system prompt in by default (`prompt_mode`), not counted here.
    pub fn for_model(model: &str) -> Option<Self> {
        let m = model.strip_prefix("mistralai/").unwrap_or(model);
        Some(match m {
            "open-mistral-nemo" | "open-mistral-nemo-2407" | "ministral-8b-2410" | "pixtral-12b-2409" => Self::V3,
            "mistral-small-2501" | "mistral-small-2503" | "devstral-small-2505" | "voxtral-mini-2507" => Self::V7,
            "mistral-small-2506" => Self::V11,
            "ministral-3b-2512" | "ministral-3b-latest" => Self::V13,
            "mistral-small-2603" | "mistral-small-latest" => Self::V15,
            _ => return None,
        })
    }
}

impl fmt::Display for ChatTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V3 => "v3",
            Self::V7 => "v7",
            Self::V11 => "v11",
            Self::V13 => "v13",
            Self::V15 => "v15",
        })
    }
}

/// Why a request was not counted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChatError {
    /// The request uses something this counter does not count exactly; fall back.
    Unsupported(String),
    /// The request is malformed (mistral-common would refuse it too).
    Invalid(String),
}

impl fmt::Display for ChatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported(what) => write!(f, "not counted exactly: {what}"),
            Self::Invalid(what) => write!(f, "invalid request: {what}"),
        }
    }
}

impl std::error::Error for ChatError {}

fn unsupported<T>(what: impl Into<String>) -> Result<T, ChatError> {
    Err(ChatError::Unsupported(what.into()))
}

fn invalid<T>(what: impl Into<String>) -> Result<T, ChatError> {
    Err(ChatError::Invalid(what.into()))
}

/// Counts a chat-completions body (`messages`, `tools`, and for v15 `reasoning_effort`)
/// from its JSON text; exact.
pub fn count_chat_str(tekken: &Tekken, body: &str, template: ChatTemplate) -> Result<usize, ChatError> {
    let json = parse(body).map_err(|e| ChatError::Invalid(format!("body is not JSON: {e}")))?;
    count_chat_json(tekken, &json, template)
}

/// Counts a chat-completions body held as a `Value` (see the module's note on key order).
pub fn count_chat(tekken: &Tekken, body: &Value, template: ChatTemplate) -> Result<usize, ChatError> {
    count_chat_json(tekken, &Json::from_value(body).map_err(ChatError::Invalid)?, template)
}

/// Counts a conversation body (`inputs`, `instructions`, `tools`) from its JSON text.
///
/// It is counted as the chat it is equivalent to: `instructions` (when not empty) is
/// a first system message; `inputs` as a string is one user message; as entries,
/// `message.input` and `message.output` (or an entry without `type`) are messages of
/// their `role`, `function.call` is an assistant message with that one tool call
/// (`tool_call_id`, `name`, `arguments`; consecutive ones merge into one assistant
/// turn), and `function.result` is a tool message (`tool_call_id`, `result`);
/// `completion_args` gives the `reasoning_effort` and `response_format`. Only the
/// body's own entries are counted: an append's history is the server's.
pub fn count_conversation_str(tekken: &Tekken, body: &str, template: ChatTemplate) -> Result<usize, ChatError> {
    let json = parse(body).map_err(|e| ChatError::Invalid(format!("body is not JSON: {e}")))?;
    count_chat_json(tekken, &conversation_to_chat(&json)?, template)
}

/// [`count_conversation_str`] for a body held as a `Value`.
pub fn count_conversation(tekken: &Tekken, body: &Value, template: ChatTemplate) -> Result<usize, ChatError> {
    count_chat_json(tekken, &conversation_to_chat(&Json::from_value(body).map_err(ChatError::Invalid)?)?, template)
}

/// A message after mistral-common's normalisation.
enum Turn {
    User(String),
    System(String),
    Assistant { content: String, calls: Vec<Call>, prefix: bool },
    Tool { call_id: String, content: String },
}

struct Call {
    id: String,
    name: String,
    arguments: Json,
}

/// The text of a message's `content`, its text chunks joined with `chunk_sep`.
fn content_text(content: Option<&Json>, chunk_sep: &str) -> Result<String, ChatError> {
    match content {
        None => Ok(String::new()),
        Some(Json::Str(s)) => Ok(s.clone()),
        Some(Json::Arr(chunks)) => {
            let mut parts = Vec::new();
            for chunk in chunks {
                match chunk.field("type").and_then(Json::as_str) {
                    Some("text") => match chunk.field("text") {
                        Some(Json::Str(t)) => {
                            if !t.is_empty() {
                                parts.push(t.as_str())
                            }
                        }
                        _ => return invalid("a text chunk without text"),
                    },
                    Some(other) => return unsupported(format!("{other} content chunks")),
                    None => return invalid("a content chunk without a type"),
                }
            }
            Ok(parts.join(chunk_sep))
        }
        Some(_) => invalid("content is neither a string nor a list of chunks"),
    }
}

/// Joins the texts of merged messages as mistral-common does: empty ones are skipped.
fn join_texts(texts: impl IntoIterator<Item = String>) -> String {
    texts.into_iter().filter(|t| !t.is_empty()).collect::<Vec<_>>().join("\n\n")
}

/// Checks a tool call id or a tool result's `tool_call_id` as mistral-common's
/// validator does: nine letters or digits up to v11, anything but "" or "null" after.
fn check_call_id(id: Option<&str>, template: ChatTemplate) -> Result<String, ChatError> {
    let valid = match (id, template) {
        (None, _) => false,
        (Some(id), ChatTemplate::V3 | ChatTemplate::V7 | ChatTemplate::V11) => {
            id.len() == 9 && id.bytes().all(|b| b.is_ascii_alphanumeric())
        }
        (Some(id), ChatTemplate::V13 | ChatTemplate::V15) => !id.is_empty() && id != "null",
    };
    match id {
        Some(id) if valid => Ok(id.to_owned()),
        _ => invalid(format!("tool call id {id:?} is not valid for {template}")),
    }
}

fn tool_call(call: &Json, template: ChatTemplate) -> Result<Call, ChatError> {
    let function = call.field("function").ok_or(ChatError::Invalid("a tool call without a function".into()))?;
    let name =
        function.field("name").and_then(Json::as_str).ok_or(ChatError::Invalid("a tool call without a name".into()))?;
    // `FunctionCall` turns an object into its JSON text and None into "{}"; the
    // normaliser then reads the text back: JSON is re-dumped, anything else stays a string.
    let arguments = match function.field("arguments") {
        None => Json::Obj(Vec::new()),
        Some(Json::Str(s)) if s.is_empty() => Json::Obj(Vec::new()),
        Some(Json::Str(s)) => parse(s).unwrap_or_else(|_| Json::Str(s.clone())),
        Some(v @ Json::Obj(_)) => v.clone(),
        Some(_) => return invalid("tool call arguments are neither a string nor an object"),
    };
    let id = match call.field("id") {
        None => None,
        Some(Json::Str(id)) => Some(id.as_str()),
        Some(_) => return invalid("a tool call id that is not a string"),
    };
    Ok(Call { id: check_call_id(id, template)?, name: name.to_owned(), arguments })
}

fn role(message: &Json) -> &str {
    message.field("role").and_then(Json::as_str).unwrap_or("")
}

/// The checks mistral-common's validator makes on the message list as a whole.
fn check_structure(messages: &[Json]) -> Result<(), ChatError> {
    let Some(last) = messages.last() else { return invalid("no messages") };
    if messages.len() == 1 && !matches!(role(last), "user" | "system") {
        return invalid("a single message must be a user or system message");
    }
    let prefix = |m: &Json| m.field("prefix").is_some_and(Json::truthy);
    if messages.len() > 1 && role(last) == "assistant" && !prefix(last) {
        return invalid("the last message is an assistant message without prefix");
    }
    if messages[..messages.len() - 1].iter().any(prefix) {
        return invalid("only the last message can be a prefix");
    }
    Ok(())
}

/// The messages as mistral-common's normaliser for `template` leaves them: runs of
/// user or assistant messages merged; from v7 on, system messages kept in place;
/// in v3, their texts joined with `"\n\n"` and put in front of the last user message.
fn turns(messages: &[Json], template: ChatTemplate) -> Result<Vec<Turn>, ChatError> {
    check_structure(messages)?;
    let legacy = template == ChatTemplate::V3;
    let chunk_sep = if template == ChatTemplate::V15 { "" } else { "\n\n" };
    let text = |m: &Json| content_text(m.field("content"), chunk_sep);
    let mut out: Vec<Turn> = Vec::new();
    let mut system_prompt = Vec::new();
    for group in messages.chunk_by(|a, b| role(a) == role(b)) {
        match role(&group[0]) {
            "user" => {
                let texts = group.iter().map(text).collect::<Result<Vec<_>, _>>()?;
                out.push(Turn::User(join_texts(texts)));
            }
            "system" => {
                for m in group {
                    match m.field("content") {
                        None => return invalid("a system message without content"),
                        // v3 keeps any system message whose content is not empty,
                        // even one of empty chunks (it adds an empty paragraph).
                        Some(content) if legacy => {
                            if content.truthy() {
                                system_prompt.push(text(m)?);
                            }
                        }
                        Some(_) => out.push(Turn::System(text(m)?)),
                    }
                }
            }
            "tool" => {
                for m in group {
                    let call_id = check_call_id(m.field("tool_call_id").and_then(Json::as_str), template)?;
                    out.push(Turn::Tool { call_id, content: text(m)? });
                }
            }
            "assistant" => {
                let mut texts = Vec::new();
                let mut calls = Vec::new();
                let mut prefix = false;
                for m in group {
                    let has_calls = m.field("tool_calls").is_some_and(Json::truthy);
                    if legacy && m.field("content").is_some_and(Json::truthy) == has_calls {
                        return invalid("a v3 assistant message needs either content or tool calls");
                    }
                    texts.push(text(m)?);
                    if let Some(list) = m.field("tool_calls") {
                        let Json::Arr(list) = list else { return invalid("tool_calls is not a list") };
                        for call in list {
                            calls.push(tool_call(call, template)?);
                        }
                    }
                    prefix |= m.field("prefix").is_some_and(Json::truthy);
                }
                out.push(Turn::Assistant { content: join_texts(texts), calls, prefix });
            }
            other => return invalid(format!("unknown role {other:?}")),
        }
    }
    // v3 starts with a user message, an empty one if need be.
    if legacy && !matches!(out.first(), Some(Turn::User(_))) {
        out.insert(0, Turn::User(String::new()));
    }
    let system_prompt = system_prompt.join("\n\n");
    if !system_prompt.is_empty() {
        if let Some(Turn::User(last)) = out.iter_mut().rfind(|t| matches!(t, Turn::User(_))) {
            *last = format!("{system_prompt}\n\n{last}");
        }
    }
    Ok(out)
}

/// `[tool.model_dump(exclude strict) for tool in tools]`, dumped.
fn tools_json(tools: &[Json]) -> Result<String, ChatError> {
    let mut dumped = Vec::new();
    for tool in tools {
        match tool.field("type").and_then(Json::as_str) {
            None | Some("function") => {}
            Some(other) => return unsupported(format!("the built-in tool {other}")),
        }
        let function = tool.field("function").ok_or(ChatError::Invalid("a tool without a function".into()))?;
        let name =
            function.field("name").and_then(Json::as_str).ok_or(ChatError::Invalid("a tool without a name".into()))?;
        let description = match function.field("description") {
            None => String::new(),
            Some(Json::Str(d)) => d.clone(),
            Some(_) => return invalid("a tool description that is not a string"),
        };
        let parameters = match function.get("parameters") {
            Some(p @ Json::Obj(_)) => p.clone(),
            _ => return invalid("a tool without a parameters object"),
        };
        dumped.push(Json::Obj(vec![
            ("type".into(), Json::Str("function".into())),
            (
                "function".into(),
                Json::Obj(vec![
                    ("name".into(), Json::Str(name.into())),
                    ("description".into(), Json::Str(description)),
                    ("parameters".into(), parameters),
                ]),
            ),
        ]));
    }
    Ok(Json::Arr(dumped).dumps())
}

/// The reasoning efforts Mistral Small 4 takes; the first is its default.
const REASONING_EFFORTS: [&str; 2] = ["none", "high"];

/// The JSON between `[MODEL_SETTINGS]` and `[/MODEL_SETTINGS]`, for v15; `None` for
/// the templates without settings, which refuse a `reasoning_effort`.
fn model_settings(body: &Json, template: ChatTemplate) -> Result<Option<String>, ChatError> {
    let effort = body.field("reasoning_effort");
    if template != ChatTemplate::V15 {
        return match effort {
            None => Ok(None),
            Some(_) => invalid(format!("reasoning_effort is not supported by {template}")),
        };
    }
    match body.field("response_format").map(|f| f.field("type").and_then(Json::as_str)) {
        None | Some(None | Some("text")) => {}
        Some(Some(other)) => {
            return unsupported(format!("a {other} response format: its schema may be a model setting"))
        }
    }
    let effort = match effort {
        None => REASONING_EFFORTS[0],
        Some(Json::Str(e)) if REASONING_EFFORTS.contains(&e.as_str()) => e,
        Some(_) => return invalid(format!("reasoning_effort must be one of {REASONING_EFFORTS:?}")),
    };
    Ok(Some(Json::Obj(vec![("reasoning_effort".into(), Json::Str(effort.into()))]).dumps()))
}

fn count_chat_json(tekken: &Tekken, body: &Json, template: ChatTemplate) -> Result<usize, ChatError> {
    if body.field("safe_prompt").is_some_and(Json::truthy) {
        return unsupported("safe_prompt: the server prepends its own safety prompt");
    }
    if body.field("prompt_mode").is_some() {
        return unsupported("prompt_mode: the server adds its own system prompt");
    }
    let Some(Json::Arr(messages)) = body.field("messages") else { return invalid("messages is not a list") };
    let tools: &[Json] = match body.field("tools") {
        None => &[],
        Some(Json::Arr(tools)) => tools,
        Some(_) => return invalid("tools is not a list"),
    };
    let settings = model_settings(body, template)?;
    let turns = turns(messages, template)?;
    let users: Vec<usize> =
        turns.iter().enumerate().filter(|(_, t)| matches!(t, Turn::User(_))).map(|(i, _)| i).collect();
    let tools_at = match template {
        ChatTemplate::V13 | ChatTemplate::V15 => users.first(),
        ChatTemplate::V3 | ChatTemplate::V7 | ChatTemplate::V11 => users.last(),
    };
    // [AVAILABLE_TOOLS] json [/AVAILABLE_TOOLS] [MODEL_SETTINGS] json [/MODEL_SETTINGS]
    let mut tools_tokens = settings.map_or(0, |s| 2 + tekken.count(&s));
    if !tools.is_empty() {
        tools_tokens += 2 + tekken.count(&tools_json(tools)?);
    }

    let mut n = 1; // BOS
    for (i, turn) in turns.iter().enumerate() {
        n += match turn {
            // (the tools and settings) [INST] text [/INST]
            Turn::User(text) => 2 + tekken.count(text) + if tools_at == Some(&i) { tools_tokens } else { 0 },
            // [SYSTEM_PROMPT] text [/SYSTEM_PROMPT]
            Turn::System(text) => 2 + tekken.count(text),
            Turn::Tool { call_id, content } => match template {
                // [TOOL_RESULTS] {"content": ..., "call_id": ...} [/TOOL_RESULTS], the
                // content read as JSON where it is JSON, and "" as {}.
                ChatTemplate::V3 => {
                    let value = if content.is_empty() {
                        Json::Obj(Vec::new())
                    } else {
                        parse(content).unwrap_or_else(|_| Json::Str(content.clone()))
                    };
                    let result =
                        Json::Obj(vec![("content".into(), value), ("call_id".into(), Json::Str(call_id.clone()))]);
                    2 + tekken.count(&result.dumps())
                }
                // [TOOL_RESULTS] id [TOOL_CONTENT] content [/TOOL_RESULTS]
                ChatTemplate::V7 | ChatTemplate::V11 => 3 + tekken.count(call_id) + tekken.count(content),
                // [TOOL_RESULTS] content [/TOOL_RESULTS]
                ChatTemplate::V13 | ChatTemplate::V15 => 2 + tekken.count(content),
            },
            Turn::Assistant { content, calls, prefix } => {
                if content.is_empty() && calls.is_empty() {
                    return invalid("an assistant message with neither content nor tool calls");
                }
                if template == ChatTemplate::V3 && !content.is_empty() && !calls.is_empty() {
                    return invalid("a v3 assistant turn with both content and tool calls");
                }
                let mut m = tekken.count(content.trim_end_matches(' '));
                match template {
                    _ if calls.is_empty() => {}
                    // [TOOL_CALLS] [{"name": ..., "arguments": ..., "id": ...}, ...]
                    ChatTemplate::V3 | ChatTemplate::V7 => {
                        let list = calls.iter().map(|c| {
                            Json::Obj(vec![
                                ("name".into(), Json::Str(c.name.clone())),
                                ("arguments".into(), c.arguments.clone()),
                                ("id".into(), Json::Str(c.id.clone())),
                            ])
                        });
                        m += 1 + tekken.count(&Json::Arr(list.collect()).dumps());
                    }
                    // [TOOL_CALLS] name [CALL_ID] id [ARGS] arguments, for each call
                    ChatTemplate::V11 => {
                        for c in calls {
                            m += 3 + tekken.count(&c.name) + tekken.count(&c.id) + tekken.count(&c.arguments.dumps());
                        }
                    }
                    // [TOOL_CALLS] name [ARGS] arguments, for each call
                    ChatTemplate::V13 | ChatTemplate::V15 => {
                        for c in calls {
                            m += 2 + tekken.count(&c.name) + tekken.count(&c.arguments.dumps());
                        }
                    }
                }
                m + usize::from(!prefix) // EOS
            }
        };
    }
    Ok(n)
}

/// The chat a conversation body is counted as (see [`count_conversation_str`]).
fn conversation_to_chat(body: &Json) -> Result<Json, ChatError> {
    if body.field("agent_id").is_some() {
        return unsupported("an agent's instructions and tools are held by the server");
    }
    let msg = |role: &str, content: Json| {
        Json::Obj(vec![("role".into(), Json::Str(role.into())), ("content".into(), content)])
    };
    let mut messages = Vec::new();
    match body.field("instructions") {
        None => {}
        Some(Json::Str(s)) if s.is_empty() => {}
        Some(s @ Json::Str(_)) => messages.push(msg("system", s.clone())),
        Some(_) => return invalid("instructions is not a string"),
    }
    match body.field("inputs") {
        Some(s @ Json::Str(_)) => messages.push(msg("user", s.clone())),
        Some(Json::Arr(entries)) => {
            for entry in entries {
                let kind = entry.field("type").and_then(Json::as_str).unwrap_or("message.input");
                let get = |k: &str| entry.field(k).cloned().unwrap_or(Json::Null);
                messages.push(match kind {
                    "message.input" | "message.output" => {
                        let default = if kind == "message.input" { "user" } else { "assistant" };
                        let role = entry.field("role").and_then(Json::as_str).unwrap_or(default);
                        msg(role, get("content"))
                    }
                    "function.call" => {
                        let function =
                            Json::Obj(vec![("name".into(), get("name")), ("arguments".into(), get("arguments"))]);
                        let call = Json::Obj(vec![("id".into(), get("tool_call_id")), ("function".into(), function)]);
                        Json::Obj(vec![
                            ("role".into(), Json::Str("assistant".into())),
                            ("tool_calls".into(), Json::Arr(vec![call])),
                        ])
                    }
                    "function.result" => Json::Obj(vec![
                        ("role".into(), Json::Str("tool".into())),
                        ("tool_call_id".into(), get("tool_call_id")),
                        ("content".into(), get("result")),
                    ]),
                    other => return unsupported(format!("{other} conversation entries")),
                });
            }
        }
        _ => return invalid("inputs is neither a string nor a list of entries"),
    }
    let mut chat = vec![("messages".into(), Json::Arr(messages))];
    if let Some(tools) = body.field("tools") {
        chat.push(("tools".into(), tools.clone()));
    }
    if let Some(args) = body.field("completion_args") {
        for key in ["reasoning_effort", "response_format"] {
            if let Some(value) = args.field(key) {
                chat.push((key.into(), value.clone()));
            }
        }
    }
    Ok(Json::Obj(chat))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn maps_models_to_templates() {
        assert_eq!(ChatTemplate::for_model("open-mistral-nemo"), Some(ChatTemplate::V3));
        assert_eq!(ChatTemplate::for_model("mistral-small-2503"), Some(ChatTemplate::V7));
        assert_eq!(ChatTemplate::for_model("mistral-small-2506"), Some(ChatTemplate::V11));
        assert_eq!(ChatTemplate::for_model("mistralai/ministral-3b-2512"), Some(ChatTemplate::V13));
        assert_eq!(ChatTemplate::for_model("mistral-small-latest"), Some(ChatTemplate::V15));
        for unverified in
            ["mistral-small-2409", "mistral-large-latest", "magistral-medium-2509", "mistral-medium-latest"]
        {
            assert_eq!(ChatTemplate::for_model(unverified), None, "{unverified}");
        }
        assert_eq!(ChatTemplate::V15.to_string(), "v15");
    }
}
