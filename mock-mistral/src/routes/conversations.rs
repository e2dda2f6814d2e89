//! `/v1/conversations`: start, append to and restart a conversation (each turn gets
//! one reply, as JSON or as an `event:` stream that ends when the connection
//! closes), and read conversations back.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{agents, chat};
use crate::call::Call;
use crate::gateway::Ask;
use crate::store::conversations::{Conversation, Setup};
use crate::store::has_metadata;
use crate::text;
use crate::wire::query::{metadata_filter, page, query};
use crate::wire::sse::{End, Frame};
use crate::wire::validate::{self, given, typed, Kind, Schema};
use crate::wire::{errors, ids};

const START: Schema = Schema {
    required: &["inputs"],
    optional: &[
        "stream",
        "store",
        "handoff_execution",
        "instructions",
        "tools",
        "completion_args",
        "guardrails",
        "name",
        "description",
        "metadata",
        "agent_id",
        "agent_version",
        "model",
    ],
};

const APPEND: Schema = Schema {
    required: &[],
    optional: &["inputs", "stream", "store", "handoff_execution", "completion_args", "tool_confirmations"],
};

const RESTART: Schema = Schema {
    required: &["from_entry_id"],
    optional: &[
        "inputs",
        "stream",
        "store",
        "handoff_execution",
        "completion_args",
        "agent_version",
        "metadata",
        "guardrails",
    ],
};

/// The entry types a client may send: the id prefix each gets, and its required fields.
const ENTRY_TYPES: &[(&str, &str, &[&str])] = &[
    ("message.input", "msg_", &["role", "content"]),
    ("message.output", "msg_", &["content"]),
    ("function.call", "fc_", &["tool_call_id", "name", "arguments"]),
    ("function.result", "fr_", &["tool_call_id", "result"]),
    ("tool.execution", "tool_exec_", &["name", "arguments"]),
    ("agent.handoff", "handoff_", &["previous_agent_id", "previous_agent_name", "next_agent_id", "next_agent_name"]),
];

// ===== Entries =====

/// `inputs` as history entries: a string is one user message.
fn inputs(value: Option<&Value>) -> Result<Vec<Value>, Response> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![entry(&json!({"role": "user", "content": s, "prefix": false}))?]),
        Some(Value::Array(items)) => items.iter().map(entry).collect(),
        Some(other) => Err(validate::invalid("inputs", "Input should be a valid string or a list of entries", other)),
    }
}

/// A client's entry as the history keeps it, with the id and time the server gives
/// it when the client did not.
fn entry(item: &Value) -> Result<Value, Response> {
    let invalid = |msg: &str| validate::invalid("inputs", msg, item);
    let Value::Object(fields) = item else { return Err(invalid("Input should be a valid dictionary")) };
    let kind = fields.get("type").map_or(Some("message.input"), Value::as_str);
    let Some(&(kind, prefix, required)) = ENTRY_TYPES.iter().find(|(t, ..)| Some(*t) == kind) else {
        return Err(invalid("Input tag does not match any of the expected entry types"));
    };
    if let Some(missing) = required.iter().find(|f| !fields.contains_key(**f)) {
        return Err(invalid(&format!("Field required: {missing}")));
    }
    if kind == "message.input" && !matches!(fields["role"].as_str(), Some("user" | "assistant")) {
        return Err(invalid("Input should be 'user' or 'assistant'"));
    }
    let mut e = fields.clone();
    e.insert("object".into(), json!("entry"));
    e.insert("type".into(), json!(kind));
    e.entry("id").or_insert_with(|| json!(ids::new_id(prefix)));
    e.entry("created_at").or_insert_with(|| json!(ids::now_rfc3339()));
    Ok(Value::Object(e))
}

/// Prompt tokens of an entry: its text, and a few for its framing, as chat counts
/// messages.
fn tokens(entry: &Value) -> u64 {
    ["content", "arguments", "result"].iter().filter_map(|k| entry.get(*k)).map(text::count_value).sum::<u64>() + 3
}

fn usage(prompt: u64, completion: u64) -> Value {
    json!({
        "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
        "connector_tokens": null, "connectors": null
    })
}

// ===== Turns =====

/// One turn: the client's inputs join a conversation and the model replies.
struct Turn {
    /// The conversation before this turn.
    conversation: Conversation,
    /// A new conversation (start, restart), rather than an append to a stored one.
    fresh: bool,
    inputs: Vec<Value>,
    stream: bool,
    store: bool,
    max_tokens: Option<u64>,
    /// The function the reply must call, when the turn's `tool_choice` forces one.
    tool: Option<String>,
}

impl Turn {
    /// Reads `stream`, `store` and `completion_args.max_tokens` and `tool_choice`
    /// (which override the conversation's for this turn) from `body`.
    fn new(
        conversation: Conversation,
        fresh: bool,
        body: &Map<String, Value>,
        inputs: Vec<Value>,
    ) -> Result<Turn, Response> {
        let asked = match body.get("completion_args") {
            Some(Value::Object(args)) => validate::opt_u64(args, "max_tokens")?,
            _ => None,
        };
        let max_tokens = asked.or_else(|| conversation.setup.completion_args.get("max_tokens").and_then(Value::as_u64));
        let choice = body.get("completion_args").and_then(|a| a.get("tool_choice"));
        let choice = choice.or_else(|| conversation.setup.completion_args.get("tool_choice"));
        // Once the client has answered a call, the model answers in words.
        let answered = inputs.last().is_some_and(|e| e["type"] == "function.result");
        let tool = chat::forced_tool(choice, Some(&conversation.setup.tools)).filter(|_| !answered);
        Ok(Turn {
            tool,
            stream: validate::opt_bool(body, "stream")?.unwrap_or(false),
            store: validate::opt_bool(body, "store")?.unwrap_or(true),
            max_tokens,
            conversation,
            fresh,
            inputs,
        })
    }
}

/// Generates the reply and answers with a `ConversationResponse` or its stream.
async fn reply(call: &Call, bytes: &[u8], turn: Turn) -> Result<Response, Response> {
    let c = &turn.conversation;
    let prompt = text::count_value(&c.setup.instructions)
        + text::count_value(&c.setup.tools)
        + c.entries.iter().chain(&turn.inputs).map(tokens).sum::<u64>();
    let prompt = call.admit(Ask::new(c.setup.model, prompt)).await?.prompt;
    // The history's length joins the seed, so appending the same words twice gets two replies.
    let mut rng = call.rng(&[bytes, &(c.entries.len() as u64).to_le_bytes()].concat());
    let (mut n, _) = text::reply_length(turn.max_tokens, &mut rng);
    let words = text::words(n, &mut rng);
    let (agent_id, model) = (c.agent.as_ref().map(|(id, _)| id), c.setup.model);
    let mut output = match &turn.tool {
        // A forced tool choice: the reply is a call the client must answer.
        Some(name) => {
            let arguments = "{}";
            n = text::count(name) + text::count(arguments);
            json!({
                "object": "entry", "type": "function.call", "created_at": ids::now_rfc3339(), "completed_at": null,
                "id": ids::new_id("fc_"), "agent_id": agent_id, "model": model,
                "tool_call_id": chat::tool_call_id(&mut rng), "name": name, "arguments": arguments
            })
        }
        None => json!({
            "object": "entry", "type": "message.output", "created_at": ids::now_rfc3339(), "completed_at": null,
            "id": ids::new_id("msg_"), "agent_id": agent_id, "model": model,
            "role": "assistant", "content": words.concat()
        }),
    };
    let (id, usage) = (c.id.clone(), usage(prompt, n));
    if turn.stream {
        let frames = frames(&id, &output, &words, n, usage);
        keep(call, turn, output);
        return Ok(call.stream(frames, End::Eof));
    }
    call.generate(n).await;
    output["completed_at"] = json!(ids::now_rfc3339());
    keep(call, turn, output.clone());
    let body = json!({
        "object": "conversation.response", "conversation_id": id, "outputs": [output],
        "usage": usage, "guardrails": null
    });
    Ok(call.json(&body, prompt + n))
}

/// The turn as conversation events: started, the reply a couple of words per
/// delta, then done with the usage. Each payload's `type` repeats its event name.
fn frames(conversation_id: &str, output: &Value, words: &[String], tokens: u64, usage: Value) -> Vec<Frame> {
    let event = |kind: &str, mut data: Value, tokens: u64| {
        data["type"] = json!(kind);
        data["created_at"] = json!(ids::now_rfc3339());
        Frame { event: Some(kind.to_owned()), data: data.to_string(), tokens }
    };
    let mut frames = vec![event("conversation.response.started", json!({"conversation_id": conversation_id}), 0)];
    if output["type"] == "function.call" {
        let delta = json!({
            "output_index": 0, "id": output["id"], "name": output["name"], "tool_call_id": output["tool_call_id"],
            "arguments": output["arguments"], "model": output["model"], "agent_id": output["agent_id"]
        });
        frames.push(event("function.call.delta", delta, tokens));
    }
    for group in words.chunks(2).filter(|_| output["type"] == "message.output") {
        let delta = json!({
            "output_index": 0, "id": output["id"], "content_index": 0, "model": output["model"],
            "agent_id": output["agent_id"], "role": "assistant", "content": group.concat()
        });
        frames.push(event("message.output.delta", delta, group.len() as u64));
    }
    frames.push(event("conversation.response.done", json!({ "usage": usage }), 0));
    frames
}

/// Keeps the turn unless the client sent `store: false`: a new conversation for
/// start and restart, new entries on the stored one for append.
fn keep(call: &Call, turn: Turn, output: Value) {
    let Turn { mut conversation, fresh, mut inputs, store, .. } = turn;
    if !store {
        return;
    }
    inputs.push(output);
    let now = ids::now_rfc3339();
    let mut stores = call.state.stores.lock().unwrap();
    if fresh {
        conversation.entries.extend(inputs);
        conversation.updated_at = now;
        stores.conversations.insert(conversation);
    } else if let Some(c) = stores.conversations.get_mut(&conversation.id) {
        c.entries.extend(inputs);
        c.updated_at = now;
    }
}

/// A copy of a stored conversation, or 404.
fn find(call: &Call, id: &str) -> Result<Conversation, Response> {
    let stores = call.state.stores.lock().unwrap();
    stores.conversations.get(id).cloned().ok_or_else(|| errors::not_found(&format!("Conversation {id}")))
}

// ===== Handlers =====

/// `POST /v1/conversations`, with a `model` or an `agent_id` (never both).
pub async fn start(call: Call, bytes: Bytes) -> Result<Response, Response> {
    use Kind::*;
    let body = validate::body(&bytes, &START)?;
    typed(
        &body,
        &[
            ("instructions", Text),
            ("tools", List),
            ("completion_args", Object),
            ("guardrails", List),
            ("name", Text),
            ("description", Text),
            ("metadata", Object),
            ("agent_id", Text),
        ],
    )?;
    let inputs = inputs(body.get("inputs"))?;
    let field = |name: &str| body.get(name).cloned().unwrap_or(Value::Null);
    let (agent, setup) = match (given(&body, "model"), given(&body, "agent_id").and_then(Value::as_str)) {
        (Some(_), Some(_)) => {
            return Err(validate::invalid(
                "agent_id",
                "Value error, give either model or agent_id, not both",
                &field("agent_id"),
            ))
        }
        (None, Some(agent_id)) => {
            let (version, setup) = agents::setup(&call, agent_id, body.get("agent_version"))?;
            (Some((agent_id.to_owned(), version)), setup)
        }
        (_, None) => {
            let setup = Setup {
                model: chat::model(&body, |m| m.chat)?.id,
                instructions: field("instructions"),
                tools: given(&body, "tools").cloned().unwrap_or_else(|| json!([])),
                completion_args: given(&body, "completion_args").cloned().unwrap_or_else(|| json!({})),
                guardrails: field("guardrails"),
            };
            (None, setup)
        }
    };
    let now = ids::now_rfc3339();
    let conversation = Conversation {
        id: ids::new_id("conv_"),
        created_at: now.clone(),
        updated_at: now,
        name: field("name"),
        description: field("description"),
        metadata: field("metadata"),
        agent,
        setup,
        entries: Vec::new(),
    };
    reply(&call, &bytes, Turn::new(conversation, true, &body, inputs)?).await
}

/// `POST /v1/conversations/{id}`.
pub async fn append(call: Call, Path(id): Path<String>, bytes: Bytes) -> Result<Response, Response> {
    let body = validate::body(&bytes, &APPEND)?;
    typed(&body, &[("completion_args", Kind::Object), ("tool_confirmations", Kind::List)])?;
    let inputs = inputs(body.get("inputs"))?;
    let conversation = find(&call, &id)?;
    reply(&call, &bytes, Turn::new(conversation, false, &body, inputs)?).await
}

/// `POST /v1/conversations/{id}/restart`: a new conversation with the history up to
/// and including `from_entry_id`, then the new inputs and a reply.
pub async fn restart(call: Call, Path(id): Path<String>, bytes: Bytes) -> Result<Response, Response> {
    let body = validate::body(&bytes, &RESTART)?;
    typed(&body, &[("completion_args", Kind::Object), ("metadata", Kind::Object), ("guardrails", Kind::List)])?;
    let from = match &body["from_entry_id"] {
        Value::String(s) => s.clone(),
        other => return Err(validate::invalid("from_entry_id", "Input should be a valid string", other)),
    };
    let inputs = inputs(body.get("inputs"))?;
    let mut c = find(&call, &id)?;
    let at = c.entries.iter().position(|e| e["id"] == from.as_str());
    let at = at.ok_or_else(|| errors::not_found(&format!("Entry {from} in conversation {id}")))?;
    c.entries.truncate(at + 1);
    if let (Some((agent_id, _)), Some(version)) = (c.agent.clone(), given(&body, "agent_version")) {
        let (version, setup) = agents::setup(&call, &agent_id, Some(version))?;
        c.agent = Some((agent_id, version));
        c.setup = setup;
    }
    if let Some(metadata) = given(&body, "metadata") {
        c.metadata = metadata.clone();
    }
    if let Some(guardrails) = given(&body, "guardrails") {
        c.setup.guardrails = guardrails.clone();
    }
    let now = ids::now_rfc3339();
    c.id = ids::new_id("conv_");
    c.created_at = now.clone();
    c.updated_at = now;
    reply(&call, &bytes, Turn::new(c, true, &body, inputs)?).await
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    page: Option<u64>,
    page_size: Option<u64>,
    metadata: Option<String>,
}

/// `GET /v1/conversations`: a bare array, newest first.
pub async fn list(call: Call, q: Result<Query<ListQuery>, QueryRejection>) -> Result<Response, Response> {
    let q = query(q)?;
    let filter = metadata_filter(q.metadata.as_deref())?;
    let found = {
        let stores = call.state.stores.lock().unwrap();
        let matching = stores.conversations.newest().filter(|c| has_metadata(&c.metadata, &filter));
        page(matching.map(Conversation::to_json), q.page, q.page_size.unwrap_or(100))
    };
    Ok(call.json(&Value::Array(found), 0))
}

/// `GET /v1/conversations/{id}`.
pub async fn get(call: Call, Path(id): Path<String>) -> Result<Response, Response> {
    Ok(call.json(&find(&call, &id)?.to_json(), 0))
}

/// `DELETE /v1/conversations/{id}`: 204.
pub async fn delete(call: Call, Path(id): Path<String>) -> Result<Response, Response> {
    let removed = call.state.stores.lock().unwrap().conversations.remove(&id);
    if removed {
        Ok(call.no_content())
    } else {
        Err(errors::not_found(&format!("Conversation {id}")))
    }
}

/// `GET /v1/conversations/{id}/history`: every entry.
pub async fn history(call: Call, Path(id): Path<String>) -> Result<Response, Response> {
    let c = find(&call, &id)?;
    Ok(call.json(&json!({"object": "conversation.history", "conversation_id": c.id, "entries": c.entries}), 0))
}

/// `GET /v1/conversations/{id}/messages`: the message entries only.
pub async fn messages(call: Call, Path(id): Path<String>) -> Result<Response, Response> {
    let c = find(&call, &id)?;
    let messages: Vec<&Value> =
        c.entries.iter().filter(|e| matches!(e["type"].as_str(), Some("message.input" | "message.output"))).collect();
    Ok(call.json(&json!({"object": "conversation.messages", "conversation_id": c.id, "messages": messages}), 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_inputs_are_one_user_message() {
        let e = inputs(Some(&json!("Hi"))).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(
            (&e[0]["type"], &e[0]["role"], &e[0]["content"]),
            (&json!("message.input"), &json!("user"), &json!("Hi"))
        );
        assert!(e[0]["id"].as_str().unwrap().starts_with("msg_"));
        assert!(e[0]["created_at"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn entries_keep_client_ids_and_need_their_fields() {
        let result = json!({"type": "function.result", "tool_call_id": "abc", "result": "42", "id": "fr_mine"});
        let e = inputs(Some(&json!([result]))).unwrap();
        assert_eq!((&e[0]["id"], &e[0]["object"]), (&json!("fr_mine"), &json!("entry")));
        assert!(inputs(Some(&json!([{"type": "function.result", "result": "42"}]))).is_err());
        assert!(inputs(Some(&json!([{"type": "nonsense"}]))).is_err());
        assert!(inputs(Some(&json!([{"role": "system", "content": "x"}]))).is_err());
        assert!(inputs(Some(&json!(3))).is_err());
    }

    #[test]
    fn pages_count_from_zero() {
        assert_eq!(page(1..=5, None, 2), [1, 2]);
        assert_eq!(page(1..=5, Some(2), 2), [5]);
        assert!(page(1..=5, Some(u64::MAX), 2).is_empty());
    }
}
