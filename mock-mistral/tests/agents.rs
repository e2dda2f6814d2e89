//! The Agents API over real HTTP: versions, aliases, conversations with an agent,
//! and the legacy `POST /v1/agents/completions`.

mod support;

use mock_mistral::config::Config;
use reqwest::Method;
use serde_json::{json, Value};
use support::Mock;

/// Sends `method path` with an optional JSON body and checks the status.
async fn send(mock: &Mock, method: Method, path: &str, body: Option<Value>, status: u16) -> Value {
    let mut req = mock.http.request(method, format!("{}{path}", mock.url)).bearer_auth("test-key");
    if let Some(body) = body {
        req = req.json(&body);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), status, "{path}");
    let bytes = r.bytes().await.unwrap();
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    }
}

#[tokio::test]
async fn versions_aliases_and_conversations_with_an_agent() {
    let mock = Mock::start(Config::default()).await;
    let create = json!({
        "model": "mistral-medium-latest", "name": "Helper", "instructions": "Answer in French.",
        "completion_args": {"max_tokens": 6}, "version_message": "first"
    });
    let a = send(&mock, Method::POST, "/v1/agents", Some(create), 200).await;
    let id = a["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ag_"));
    assert_eq!((&a["object"], &a["version"], &a["versions"]), (&json!("agent"), &json!(0), &json!([0])));
    assert_eq!(
        (&a["model"], &a["name"], &a["source"]),
        (&json!("mistral-medium-latest"), &json!("Helper"), &json!("api"))
    );
    assert_eq!((&a["tools"], &a["deployment_chat"], &a["handoffs"]), (&json!([]), &json!(false), &Value::Null));
    assert_eq!(a["version_message"], "first");
    assert!(a["created_at"].as_str().unwrap().ends_with('Z'));

    // An update is a new, current version; the old one is still there.
    let update = json!({"instructions": "Answer in English.", "description": "second"});
    let b = send(&mock, Method::PATCH, &format!("/v1/agents/{id}"), Some(update), 200).await;
    assert_eq!((&b["version"], &b["versions"]), (&json!(1), &json!([0, 1])));
    assert_eq!(
        (&b["name"], &b["description"], &b["version_message"]),
        (&json!("Helper"), &json!("second"), &Value::Null)
    );
    let current = send(&mock, Method::GET, &format!("/v1/agents/{id}"), None, 200).await;
    assert_eq!((&current["version"], &current["instructions"]), (&json!(1), &json!("Answer in English.")));
    let old = send(&mock, Method::GET, &format!("/v1/agents/{id}?agent_version=0"), None, 200).await;
    assert_eq!(old["instructions"], "Answer in French.");
    let versions = send(&mock, Method::GET, &format!("/v1/agents/{id}/versions"), None, 200).await;
    let numbers: Vec<&Value> = versions.as_array().unwrap().iter().map(|v| &v["version"]).collect();
    assert_eq!(numbers, [1, 0]);
    assert_eq!(send(&mock, Method::GET, &format!("/v1/agents/{id}/versions/0"), None, 200).await["version"], 0);

    // Aliases name versions and resolve wherever a version is asked for.
    let alias = send(&mock, Method::PUT, &format!("/v1/agents/{id}/aliases?alias=stable&version=0"), None, 200).await;
    assert_eq!((&alias["alias"], &alias["version"]), (&json!("stable"), &json!(0)));
    assert!(alias["updated_at"].as_str().unwrap().ends_with('Z'));
    let bad = send(&mock, Method::PUT, &format!("/v1/agents/{id}/aliases?alias=Stable!&version=0"), None, 422).await;
    assert_eq!(bad["detail"][0]["loc"], json!(["query", "alias"]));
    send(&mock, Method::PUT, &format!("/v1/agents/{id}/aliases?alias=later&version=9"), None, 404).await;
    let aliases = send(&mock, Method::GET, &format!("/v1/agents/{id}/aliases"), None, 200).await;
    assert_eq!(aliases.as_array().unwrap().len(), 1);
    assert_eq!(aliases[0]["alias"], "stable");
    let by_alias = send(&mock, Method::GET, &format!("/v1/agents/{id}?agent_version=stable"), None, 200).await;
    assert_eq!((&by_alias["version"], &by_alias["instructions"]), (&json!(0), &json!("Answer in French.")));
    assert_eq!(send(&mock, Method::GET, &format!("/v1/agents/{id}/versions/stable"), None, 200).await["version"], 0);
    send(&mock, Method::GET, &format!("/v1/agents/{id}?agent_version=nope"), None, 404).await;

    let switched = send(&mock, Method::PATCH, &format!("/v1/agents/{id}/version?version=0"), None, 200).await;
    assert_eq!(switched["version"], 0);
    assert_eq!(send(&mock, Method::GET, &format!("/v1/agents/{id}"), None, 200).await["version"], 0);
    send(&mock, Method::PATCH, &format!("/v1/agents/{id}/version?version=5"), None, 404).await;
    send(&mock, Method::PATCH, &format!("/v1/agents/{id}/version?version=1"), None, 200).await;

    // A conversation with the agent at the aliased version uses that version's settings.
    let start = json!({"agent_id": id, "agent_version": "stable", "inputs": "Bonjour"});
    let r = send(&mock, Method::POST, "/v1/conversations", Some(start), 200).await;
    let out = &r["outputs"][0];
    assert_eq!((&out["agent_id"], &out["model"]), (&json!(id), &json!("mistral-medium-2508")));
    // "Answer in French." is 17 bytes (5 tokens); "Bonjour" is 2 tokens plus 3 for the entry.
    assert_eq!(r["usage"]["prompt_tokens"], 5 + 2 + 3);
    assert!((3..=6).contains(&r["usage"]["completion_tokens"].as_u64().unwrap()), "{}", r["usage"]);
    let conversation_id = r["conversation_id"].as_str().unwrap();
    let c = send(&mock, Method::GET, &format!("/v1/conversations/{conversation_id}"), None, 200).await;
    assert_eq!((&c["agent_id"], &c["agent_version"]), (&json!(id), &json!(0)));
    assert!(c.get("model").is_none());

    send(&mock, Method::DELETE, &format!("/v1/agents/{id}/aliases?alias=stable"), None, 204).await;
    assert_eq!(send(&mock, Method::GET, &format!("/v1/agents/{id}/aliases"), None, 200).await, json!([]));
    send(&mock, Method::DELETE, &format!("/v1/agents/{id}/aliases?alias=stable"), None, 404).await;

    assert_eq!(send(&mock, Method::DELETE, &format!("/v1/agents/{id}"), None, 204).await, Value::Null);
    send(&mock, Method::GET, &format!("/v1/agents/{id}"), None, 404).await;
    let again = json!({"agent_id": id, "inputs": "Encore"});
    send(&mock, Method::POST, "/v1/conversations", Some(again), 404).await;
}

#[tokio::test]
async fn lists_and_pages() {
    let mock = Mock::start(Config::default()).await;
    let mut ids = Vec::new();
    for name in ["One", "Two", "Three"] {
        let body = json!({"model": "mistral-small-latest", "name": name, "metadata": {"n": name.len()}});
        ids.push(send(&mock, Method::POST, "/v1/agents", Some(body), 200).await["id"].clone());
    }
    let all = send(&mock, Method::GET, "/v1/agents?page=0&page_size=20", None, 200).await;
    let listed: Vec<&Value> = all.as_array().unwrap().iter().map(|a| &a["id"]).collect();
    assert_eq!(listed, [&ids[2], &ids[1], &ids[0]]);
    // The SDK repeats `sources` once per value; the mock's agents all come from the API.
    let named = send(&mock, Method::GET, "/v1/agents?name=Two&sources=api&sources=playground", None, 200).await;
    assert_eq!(named.as_array().unwrap().len(), 1);
    assert_eq!(named[0]["id"], ids[1]);
    let three_letters = send(&mock, Method::GET, "/v1/agents?metadata=%7B%22n%22%3A3%7D", None, 200).await;
    assert_eq!(three_letters.as_array().unwrap().len(), 2);

    let first = send(&mock, Method::GET, "/v1/agents/pages?page_size=2", None, 200).await;
    assert_eq!((&first["object"], first["data"].as_array().unwrap().len()), (&json!("list"), 2));
    let token = first["next_page_token"].as_str().unwrap();
    let rest = send(&mock, Method::GET, &format!("/v1/agents/pages?page_size=2&page_token={token}"), None, 200).await;
    assert_eq!(rest["data"][0]["id"], ids[0]);
    assert_eq!(rest["next_page_token"], Value::Null);

    let extra = json!({"model": "mistral-small-latest", "name": "X", "temperature": 1});
    let d = send(&mock, Method::POST, "/v1/agents", Some(extra), 422).await;
    assert_eq!(
        (&d["detail"][0]["type"], &d["detail"][0]["loc"]),
        (&json!("extra_forbidden"), &json!(["body", "temperature"]))
    );
    let unknown = json!({"model": "gpt-4o", "name": "X"});
    assert_eq!(send(&mock, Method::POST, "/v1/agents", Some(unknown), 400).await["code"], "1500");
}

#[tokio::test]
async fn legacy_completions_answer_as_chat_does() {
    let mock = Mock::start(Config::default()).await;
    let create = json!({"model": "mistral-small-latest", "name": "Legacy", "instructions": "Be kind.", "completion_args": {"max_tokens": 4}});
    let id = send(&mock, Method::POST, "/v1/agents", Some(create), 200).await["id"].clone();

    let body = json!({"agent_id": id, "messages": [{"role": "user", "content": "Hi"}]});
    let r = send(&mock, Method::POST, "/v1/agents/completions", Some(body.clone()), 200).await;
    assert_eq!((&r["object"], &r["model"]), (&json!("chat.completion"), &json!("mistral-small-2506")));
    assert_eq!(r["choices"][0]["message"]["role"], "assistant");
    assert!(r["usage"]["completion_tokens"].as_u64().unwrap() <= 4);

    let mut stream = body;
    stream["stream"] = json!(true);
    let r = mock.post("/v1/agents/completions", &stream).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.starts_with("data: {") && text.ends_with("data: [DONE]\n\n"), "{text}");

    let unknown = json!({"agent_id": "ag_nope", "messages": [{"role": "user", "content": "Hi"}]});
    send(&mock, Method::POST, "/v1/agents/completions", Some(unknown), 404).await;
}
