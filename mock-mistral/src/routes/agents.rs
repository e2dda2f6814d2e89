//! `/v1/agents`: agents with versions (every update makes one) and aliases that
//! name versions; and the legacy `POST /v1/agents/completions`, which answers as
//! chat completions do.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::chat;
use crate::call::Call;
use crate::models;
use crate::store::agents::{Agent, Alias};
use crate::store::conversations::Setup;
use crate::store::has_metadata;
use crate::wire::query::{metadata_filter, page, query, query_invalid};
use crate::wire::validate::{self, given, typed, Kind, Schema};
use crate::wire::{errors, ids};

const CREATE: Schema = Schema {
    required: &["model", "name"],
    optional: &[
        "instructions",
        "tools",
        "completion_args",
        "guardrails",
        "description",
        "handoffs",
        "metadata",
        "version_message",
    ],
};

/// An update may change any setting of a version, and nothing is required.
const UPDATE: Schema = Schema { required: &[], optional: crate::store::agents::SETTINGS };

const COMPLETION: Schema = Schema {
    required: &["messages", "agent_id"],
    optional: &[
        "max_tokens",
        "stream",
        "stop",
        "random_seed",
        "metadata",
        "response_format",
        "tools",
        "tool_choice",
        "presence_penalty",
        "frequency_penalty",
        "n",
        "prediction",
        "parallel_tool_calls",
        "prompt_mode",
        "reasoning_effort",
        "guardrails",
        "prompt_cache_key",
        "service_tier",
    ],
};

/// The types of an agent's settings (`model` is checked against the known models).
const SETTINGS: &[(&str, Kind)] = &[
    ("name", Kind::Text),
    ("instructions", Kind::Text),
    ("tools", Kind::List),
    ("completion_args", Kind::Object),
    ("guardrails", Kind::List),
    ("description", Kind::Text),
    ("handoffs", Kind::List),
    ("metadata", Kind::Object),
    ("version_message", Kind::Text),
    ("deployment_chat", Kind::Flag),
];

/// Checks a creation (`new`) or update body: a new agent needs a chat model and a
/// name; an update's model, when given, must be a chat model too.
fn check(body: &Map<String, Value>, new: bool) -> Result<(), Response> {
    typed(body, SETTINGS)?;
    if new || given(body, "model").is_some() {
        chat::model(body, |m| m.chat)?;
    }
    if new && !body["name"].is_string() {
        return Err(validate::invalid("name", "Input should be a valid string", &body["name"]));
    }
    match given(body, "version_message") {
        Some(m) if m.as_str().is_some_and(|m| m.chars().count() > 500) => {
            Err(validate::invalid("version_message", "String should have at most 500 characters", m))
        }
        _ => Ok(()),
    }
}

/// Whether `alias` matches `^[a-z]([a-z0-9_-]*[a-z0-9])?$` and has 1 to 64 characters.
fn valid_alias(alias: &str) -> bool {
    let b = alias.as_bytes();
    let plain = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    (1..=64).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && plain(&b[b.len() - 1])
        && b.iter().all(|c| plain(c) || *c == b'_' || *c == b'-')
}

/// Runs `f` on agent `id` under the store's lock; 404 when there is no such agent.
fn with_agent<T>(call: &Call, id: &str, f: impl FnOnce(&mut Agent) -> Result<T, Response>) -> Result<T, Response> {
    let mut stores = call.state.stores.lock().unwrap();
    let agent = stores.agents.get_mut(id).ok_or_else(|| errors::not_found(&format!("Agent {id}")))?;
    f(agent)
}

/// `version` of `agent`, a number or an alias; 404 when it has none such.
fn version_of(agent: &Agent, version: &str) -> Result<u64, Response> {
    agent.resolve(version).ok_or_else(|| errors::not_found(&format!("Agent version {version}")))
}

/// The version of agent `id` that answers in a conversation (`version`, a number or
/// an alias, else the current one) and what its replies are made with.
pub(super) fn setup(call: &Call, id: &str, version: Option<&Value>) -> Result<(u64, Setup), Response> {
    with_agent(call, id, |agent| {
        let v = match version {
            None | Some(Value::Null) => agent.current,
            Some(Value::String(s)) => version_of(agent, s)?,
            Some(n @ Value::Number(_)) => version_of(agent, &n.to_string())?,
            Some(other) => {
                return Err(validate::invalid("agent_version", "Input should be a valid string or integer", other))
            }
        };
        let s = agent.settings(v);
        let name = s["model"].as_str().unwrap_or_default();
        let model = models::find(name).ok_or_else(|| errors::invalid_model(name))?;
        let setup = Setup {
            model: model.id,
            instructions: s["instructions"].clone(),
            tools: s["tools"].clone(),
            completion_args: s["completion_args"].clone(),
            guardrails: s["guardrails"].clone(),
        };
        Ok((v, setup))
    })
}

/// `POST /v1/agents`: version 0.
pub async fn create(call: Call, bytes: Bytes) -> Result<Response, Response> {
    let body = validate::body(&bytes, &CREATE)?;
    check(&body, true)?;
    let agent = Agent::new(ids::new_id("ag_"), &body);
    let shown = agent.to_json(agent.current);
    call.state.stores.lock().unwrap().agents.insert(agent);
    Ok(call.json(&shown, 0))
}

/// The list endpoints' query: paging (by page number, or by token for `/pages`) and filters.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    page: Option<u64>,
    page_size: Option<u64>,
    page_token: Option<String>,
    name: Option<String>,
    search: Option<String>,
    id: Option<String>,
    deployment_chat: Option<bool>,
    metadata: Option<String>,
}

/// The current versions of the agents that pass the filters, newest first.
fn matching(call: &Call, q: &ListQuery) -> Result<Vec<Value>, Response> {
    let filter = metadata_filter(q.metadata.as_deref())?;
    let search = q.search.as_deref().map(str::to_lowercase);
    let found = |a: &Value, field: &str, term: &str| a[field].as_str().is_some_and(|s| s.to_lowercase().contains(term));
    let stores = call.state.stores.lock().unwrap();
    let agents = stores.agents.newest().map(|a| a.to_json(a.current)).filter(|a| {
        q.name.as_ref().is_none_or(|n| a["name"] == n.as_str())
            && q.id.as_ref().is_none_or(|id| a["id"] == id.as_str())
            && q.deployment_chat.is_none_or(|d| a["deployment_chat"] == d)
            && search.as_ref().is_none_or(|t| found(a, "name", t) || found(a, "description", t))
            && has_metadata(&a["metadata"], &filter)
    });
    Ok(agents.collect())
}

/// `GET /v1/agents`: a bare array.
pub async fn list(call: Call, q: Result<Query<ListQuery>, QueryRejection>) -> Result<Response, Response> {
    let q = query(q)?;
    let agents = matching(&call, &q)?;
    Ok(call.json(&json!(page(agents.into_iter(), q.page, q.page_size.unwrap_or(20))), 0))
}

/// `GET /v1/agents/pages`: `{object:"list", data, next_page_token}`. A token is the
/// offset of the page it starts.
pub async fn pages(call: Call, q: Result<Query<ListQuery>, QueryRejection>) -> Result<Response, Response> {
    let q = query(q)?;
    let offset = match q.page_token.as_deref().map(str::parse::<usize>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return Err(query_invalid("page_token", "Invalid page token", &json!(q.page_token))),
    };
    let size = q.page_size.unwrap_or(20) as usize;
    let agents = matching(&call, &q)?;
    let next = (offset.saturating_add(size) < agents.len()).then(|| (offset + size).to_string());
    let data: Vec<Value> = agents.into_iter().skip(offset).take(size).collect();
    Ok(call.json(&json!({"object": "list", "data": data, "next_page_token": next}), 0))
}

#[derive(Debug, Deserialize)]
pub struct GetQuery {
    agent_version: Option<String>,
}

/// `GET /v1/agents/{id}?agent_version=`: the current version unless one is named.
pub async fn get(
    call: Call,
    Path(id): Path<String>,
    q: Result<Query<GetQuery>, QueryRejection>,
) -> Result<Response, Response> {
    let q = query(q)?;
    let shown = with_agent(&call, &id, |a| {
        let v = match &q.agent_version {
            Some(v) => version_of(a, v)?,
            None => a.current,
        };
        Ok(a.to_json(v))
    })?;
    Ok(call.json(&shown, 0))
}

/// `PATCH /v1/agents/{id}`: a new version, made current.
pub async fn update(call: Call, Path(id): Path<String>, bytes: Bytes) -> Result<Response, Response> {
    let body = validate::body(&bytes, &UPDATE)?;
    check(&body, false)?;
    let shown = with_agent(&call, &id, |a| {
        let v = a.update(&body);
        Ok(a.to_json(v))
    })?;
    Ok(call.json(&shown, 0))
}

/// `DELETE /v1/agents/{id}`: 204.
pub async fn delete(call: Call, Path(id): Path<String>) -> Result<Response, Response> {
    let removed = call.state.stores.lock().unwrap().agents.remove(&id);
    if removed {
        Ok(call.no_content())
    } else {
        Err(errors::not_found(&format!("Agent {id}")))
    }
}

#[derive(Debug, Deserialize)]
pub struct SwitchQuery {
    version: u64,
}

/// `PATCH /v1/agents/{id}/version?version=N`: makes an existing version current.
pub async fn switch_version(
    call: Call,
    Path(id): Path<String>,
    q: Result<Query<SwitchQuery>, QueryRejection>,
) -> Result<Response, Response> {
    let v = query(q)?.version;
    let shown = with_agent(&call, &id, |a| {
        if a.switch_to(v) {
            Ok(a.to_json(v))
        } else {
            Err(errors::not_found(&format!("Agent version {v}")))
        }
    })?;
    Ok(call.json(&shown, 0))
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<u64>,
    page_size: Option<u64>,
}

/// `GET /v1/agents/{id}/versions`: each version as an agent, newest first.
pub async fn versions(
    call: Call,
    Path(id): Path<String>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, Response> {
    let q = query(q)?;
    let shown =
        with_agent(&call, &id, |a| Ok(page(a.versions().map(|v| a.to_json(v)), q.page, q.page_size.unwrap_or(20))))?;
    Ok(call.json(&json!(shown), 0))
}

/// `GET /v1/agents/{id}/versions/{version}`, by number or alias.
pub async fn version(call: Call, Path((id, version)): Path<(String, String)>) -> Result<Response, Response> {
    let shown = with_agent(&call, &id, |a| Ok(a.to_json(version_of(a, &version)?)))?;
    Ok(call.json(&shown, 0))
}

#[derive(Debug, Deserialize)]
pub struct SetAliasQuery {
    alias: String,
    version: u64,
}

/// `PUT /v1/agents/{id}/aliases?alias=&version=`: makes or moves an alias.
pub async fn set_alias(
    call: Call,
    Path(id): Path<String>,
    q: Result<Query<SetAliasQuery>, QueryRejection>,
) -> Result<Response, Response> {
    let q = query(q)?;
    if !valid_alias(&q.alias) {
        let msg = "String should match pattern '^[a-z]([a-z0-9_-]*[a-z0-9])?$' and have at most 64 characters";
        return Err(query_invalid("alias", msg, &json!(q.alias)));
    }
    let shown = with_agent(&call, &id, |a| {
        let v = version_of(a, &q.version.to_string())?;
        Ok(a.set_alias(&q.alias, v).to_json())
    })?;
    Ok(call.json(&shown, 0))
}

/// `GET /v1/agents/{id}/aliases`.
pub async fn aliases(call: Call, Path(id): Path<String>) -> Result<Response, Response> {
    let shown: Vec<Value> = with_agent(&call, &id, |a| Ok(a.aliases().iter().map(Alias::to_json).collect()))?;
    Ok(call.json(&json!(shown), 0))
}

#[derive(Debug, Deserialize)]
pub struct AliasQuery {
    alias: String,
}

/// `DELETE /v1/agents/{id}/aliases?alias=`: 204.
pub async fn delete_alias(
    call: Call,
    Path(id): Path<String>,
    q: Result<Query<AliasQuery>, QueryRejection>,
) -> Result<Response, Response> {
    let alias = query(q)?.alias;
    with_agent(&call, &id, |a| {
        if a.remove_alias(&alias) {
            Ok(())
        } else {
            Err(errors::not_found(&format!("Alias {alias}")))
        }
    })?;
    Ok(call.no_content())
}

/// `POST /v1/agents/completions`: the request becomes a chat request to the agent's
/// current version (its model, its instructions as a system message, its function
/// tools and `max_tokens` unless the request sets them), which chat answers.
pub async fn completions(call: Call, bytes: Bytes) -> Result<Response, Response> {
    let mut body = validate::body(&bytes, &COMPLETION)?;
    let agent_id = match body.remove("agent_id") {
        Some(Value::String(id)) => id,
        other => {
            return Err(validate::invalid("agent_id", "Input should be a valid string", &other.unwrap_or_default()))
        }
    };
    let (_, setup) = setup(&call, &agent_id, None)?;
    body.insert("model".into(), json!(setup.model));
    if let (Some(instructions), Some(Value::Array(messages))) = (setup.instructions.as_str(), body.get_mut("messages"))
    {
        if !messages.is_empty() {
            messages.insert(0, json!({"role": "system", "content": instructions}));
        }
    }
    let functions: Vec<&Value> =
        setup.tools.as_array().into_iter().flatten().filter(|t| t["type"] == "function").collect();
    if given(&body, "tools").is_none() && !functions.is_empty() {
        body.insert("tools".into(), json!(functions));
    }
    if let Some(max) = setup.completion_args.get("max_tokens").filter(|m| !m.is_null()) {
        body.entry("max_tokens").or_insert_with(|| max.clone());
    }
    chat::chat(call, Bytes::from(Value::Object(body).to_string())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_follow_the_pattern() {
        for ok in ["a", "prod", "v2", "blue-green_2", &"a".repeat(64)] {
            assert!(valid_alias(ok), "{ok}");
        }
        for bad in ["", "2a", "Prod", "a-", "a_", "a b", "é", &"a".repeat(65)] {
            assert!(!valid_alias(bad), "{bad}");
        }
    }
}
