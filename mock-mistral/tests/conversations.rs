//! The Conversations API over real HTTP: start, append, restart, read back, delete,
//! and the `event:` stream that ends at EOF.

mod support;

use mock_mistral::config::Config;
use serde_json::{json, Value};
use support::Mock;

/// Tokens the mock counts for a text: one per four bytes.
fn count(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

/// Tokens of one message entry in a conversation's prompt.
fn entry_tokens(content: &str) -> u64 {
    count(content) + 3
}

/// A datetime with microseconds and an offset, like `2025-06-16T09:19:56.901953Z`.
fn assert_datetime(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    assert!(s.len() == 27 && &s[10..11] == "T" && s.ends_with('Z'), "{s}");
}

async fn json(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.status(), status);
    r.json().await.unwrap()
}

async fn call(mock: &Mock, method: reqwest::Method, path: &str) -> reqwest::Response {
    mock.http.request(method, format!("{}{path}", mock.url)).bearer_auth("test-key").send().await.unwrap()
}

/// Frames of an event stream read to its end, as `(event, data)`.
fn frames(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let line = |prefix: &str| f.lines().find_map(|l| l.strip_prefix(prefix)).map(str::to_owned);
            let event = line("event: ").unwrap_or_else(|| panic!("no event line in {f:?}"));
            let data = line("data: ").unwrap_or_else(|| panic!("no data line in {f:?}"));
            (event, serde_json::from_str(&data).unwrap())
        })
        .collect()
}

#[tokio::test]
async fn start_append_restart_read_and_delete() {
    let mock = Mock::start(Config::default()).await;
    let start = json!({
        "model": "mistral-small-latest", "inputs": "Hello", "instructions": "Be brief.",
        "completion_args": {"max_tokens": 8}, "name": "greeting", "metadata": {"team": "a"}, "stream": false
    });
    let first = json(mock.post("/v1/conversations", &start).send().await.unwrap(), 200).await;
    assert_eq!(first["object"], "conversation.response");
    assert_eq!(first["guardrails"], Value::Null);
    let id = first["conversation_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("conv_"));
    let out = &first["outputs"][0];
    assert_eq!(
        (&out["object"], &out["type"], &out["role"]),
        (&json!("entry"), &json!("message.output"), &json!("assistant"))
    );
    assert_eq!(out["model"], "mistral-small-2506");
    assert!(out["id"].as_str().unwrap().starts_with("msg_"));
    assert_datetime(&out["created_at"]);
    assert_datetime(&out["completed_at"]);
    let reply = out["content"].as_str().unwrap().to_owned();
    let usage = &first["usage"];
    assert_eq!(usage["prompt_tokens"], count("Be brief.") + entry_tokens("Hello"));
    let completion = usage["completion_tokens"].as_u64().unwrap();
    assert!((4..=8).contains(&completion), "{usage}");
    assert_eq!(completion, reply.split_whitespace().count() as u64);
    assert_eq!(usage["total_tokens"], usage["prompt_tokens"].as_u64().unwrap() + completion);
    assert_eq!((&usage["connector_tokens"], &usage["connectors"]), (&Value::Null, &Value::Null));

    // Append a function result and a message; the prompt is the whole history.
    let append = json!({"inputs": [
        {"object": "entry", "type": "function.result", "tool_call_id": "abc123xyz", "result": "42"},
        {"role": "user", "content": "More please"}
    ], "completion_args": {"max_tokens": 5}});
    let second = json(mock.post(&format!("/v1/conversations/{id}"), &append).send().await.unwrap(), 200).await;
    assert_eq!(second["conversation_id"], id.as_str());
    let history_tokens = count("Be brief.")
        + entry_tokens("Hello")
        + entry_tokens(&reply)
        + entry_tokens("42")
        + entry_tokens("More please");
    assert_eq!(second["usage"]["prompt_tokens"], history_tokens);
    assert!(second["usage"]["completion_tokens"].as_u64().unwrap() <= 5);

    let history = json(mock.get(&format!("/v1/conversations/{id}/history")).send().await.unwrap(), 200).await;
    assert_eq!((&history["object"], &history["conversation_id"]), (&json!("conversation.history"), &json!(id)));
    let entries = history["entries"].as_array().unwrap();
    let types: Vec<&str> = entries.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["message.input", "message.output", "function.result", "message.input", "message.output"]);
    assert_eq!(entries[0]["content"], "Hello");
    assert_eq!(entries[0]["role"], "user");
    assert_eq!(entries[1]["id"], out["id"]);
    assert!(entries[2]["id"].as_str().unwrap().starts_with("fr_"));
    assert_eq!(entries[4]["id"], second["outputs"][0]["id"]);
    entries.iter().for_each(|e| assert_datetime(&e["created_at"]));

    let messages = json(mock.get(&format!("/v1/conversations/{id}/messages")).send().await.unwrap(), 200).await;
    assert_eq!(messages["object"], "conversation.messages");
    let kept: Vec<&Value> = messages["messages"].as_array().unwrap().iter().map(|m| &m["id"]).collect();
    let expected: Vec<&Value> = [0, 1, 3, 4].iter().map(|&i| &entries[i]["id"]).collect();
    assert_eq!(kept, expected);

    // Restart from the first reply: a new conversation with that history and a new turn.
    let restart = json!({"from_entry_id": out["id"], "inputs": "Try again"});
    let third = json(mock.post(&format!("/v1/conversations/{id}/restart"), &restart).send().await.unwrap(), 200).await;
    let restarted = third["conversation_id"].as_str().unwrap().to_owned();
    assert_ne!(restarted, id);
    assert_eq!(
        third["usage"]["prompt_tokens"],
        count("Be brief.") + entry_tokens("Hello") + entry_tokens(&reply) + entry_tokens("Try again")
    );
    let h = json(mock.get(&format!("/v1/conversations/{restarted}/history")).send().await.unwrap(), 200).await;
    let ids: Vec<&Value> = h["entries"].as_array().unwrap().iter().map(|e| &e["id"]).collect();
    assert_eq!(ids[..2], [&entries[0]["id"], &entries[1]["id"]]);
    assert_eq!(h["entries"][2]["content"], "Try again");
    assert_eq!(h["entries"][3]["id"], third["outputs"][0]["id"]);
    assert_eq!(h["entries"].as_array().unwrap().len(), 4);

    let c = json(mock.get(&format!("/v1/conversations/{id}")).send().await.unwrap(), 200).await;
    assert_eq!((&c["object"], &c["id"], &c["name"]), (&json!("conversation"), &json!(id), &json!("greeting")));
    assert_eq!((&c["model"], &c["instructions"]), (&json!("mistral-small-2506"), &json!("Be brief.")));
    assert_eq!((&c["tools"], &c["completion_args"]), (&json!([]), &json!({"max_tokens": 8})));
    assert_eq!(
        (&c["metadata"], &c["description"], &c["guardrails"]),
        (&json!({"team": "a"}), &Value::Null, &Value::Null)
    );
    assert!(c.get("agent_id").is_none());
    assert_datetime(&c["created_at"]);
    assert_datetime(&c["updated_at"]);

    // Lists are bare arrays, newest first, paged and filtered by metadata.
    let ids_of = |list: &Value| {
        list.as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    let all = json(mock.get("/v1/conversations?page=0&page_size=100").send().await.unwrap(), 200).await;
    assert_eq!(ids_of(&all), [restarted.as_str(), id.as_str()]);
    let second_page = json(mock.get("/v1/conversations?page=1&page_size=1").send().await.unwrap(), 200).await;
    assert_eq!(ids_of(&second_page), [id.as_str()]);
    let other_team =
        json(mock.get("/v1/conversations?metadata=%7B%22team%22%3A%22b%22%7D").send().await.unwrap(), 200).await;
    assert_eq!(other_team, json!([]));

    let r = call(&mock, reqwest::Method::DELETE, &format!("/v1/conversations/{id}")).await;
    assert_eq!(r.status(), 204);
    assert!(r.bytes().await.unwrap().is_empty());
    let gone = json(mock.get(&format!("/v1/conversations/{id}")).send().await.unwrap(), 404).await;
    assert_eq!(gone["type"], "not_found_error");
    assert_eq!(call(&mock, reqwest::Method::DELETE, &format!("/v1/conversations/{id}")).await.status(), 404);
    assert_eq!(ids_of(&json(mock.get("/v1/conversations").send().await.unwrap(), 200).await), [restarted.as_str()]);
}

#[tokio::test]
async fn streams_send_events_and_end_at_eof() {
    let mock = Mock::start(Config::default()).await;
    let body = json!({"model": "mistral-small-latest", "inputs": "Stream me", "stream": true, "completion_args": {"max_tokens": 9}});
    let r = mock.post("/v1/conversations", &body).header("accept", "text/event-stream").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream; charset=utf-8");
    let text = r.text().await.unwrap();
    assert!(!text.contains("[DONE]"));
    let frames = frames(&text);
    for (event, data) in &frames {
        assert_eq!(data["type"], event.as_str());
        assert_datetime(&data["created_at"]);
    }
    let (first, last) = (&frames[0], &frames[frames.len() - 1]);
    assert_eq!(first.0, "conversation.response.started");
    let id = first.1["conversation_id"].as_str().unwrap();
    assert_eq!(last.0, "conversation.response.done");
    let deltas = &frames[1..frames.len() - 1];
    assert!(deltas.iter().all(|(e, _)| e == "message.output.delta"));
    let content: String = deltas.iter().map(|(_, d)| d["content"].as_str().unwrap()).collect();
    let words = content.split_whitespace().count() as u64;
    assert!((5..=9).contains(&words), "{content}");
    assert_eq!(deltas.len() as u64, words.div_ceil(2));
    let delta = &deltas[0].1;
    assert_eq!((&delta["output_index"], &delta["content_index"]), (&json!(0), &json!(0)));
    assert_eq!((&delta["role"], &delta["model"]), (&json!("assistant"), &json!("mistral-small-2506")));
    assert!(deltas.iter().all(|(_, d)| d["id"] == delta["id"]));
    let usage = &last.1["usage"];
    assert_eq!(usage["prompt_tokens"], entry_tokens("Stream me"));
    assert_eq!(usage["completion_tokens"], words);
    assert_eq!(usage["total_tokens"], entry_tokens("Stream me") + words);

    // The streamed turn is stored like any other.
    let h = json(mock.get(&format!("/v1/conversations/{id}/history")).send().await.unwrap(), 200).await;
    assert_eq!(h["entries"][1]["id"], delta["id"]);
    assert_eq!(h["entries"][1]["content"], content.as_str());
}

#[tokio::test]
async fn store_false_keeps_nothing() {
    let mock = Mock::start(Config::default()).await;
    let body = json!({"model": "mistral-small-latest", "inputs": "Forget me", "store": false});
    let r = json(mock.post("/v1/conversations", &body).send().await.unwrap(), 200).await;
    let id = r["conversation_id"].as_str().unwrap();
    assert_eq!(mock.get(&format!("/v1/conversations/{id}")).send().await.unwrap().status(), 404);
    assert_eq!(json(mock.get("/v1/conversations").send().await.unwrap(), 200).await, json!([]));
}

#[tokio::test]
async fn bad_requests_get_the_apis_errors() {
    let mock = Mock::start(Config::default()).await;
    let detail = |v: Value| v["detail"].as_array().unwrap().clone();

    let extra = json!({"model": "mistral-small-latest", "inputs": "x", "temperature": 0.5});
    let d = detail(json(mock.post("/v1/conversations", &extra).send().await.unwrap(), 422).await);
    assert_eq!((&d[0]["type"], &d[0]["loc"]), (&json!("extra_forbidden"), &json!(["body", "temperature"])));
    assert_eq!(d[0]["input"], 0.5);

    let missing = json!({"model": "mistral-small-latest"});
    let d = detail(json(mock.post("/v1/conversations", &missing).send().await.unwrap(), 422).await);
    assert_eq!((&d[0]["type"], &d[0]["loc"]), (&json!("missing"), &json!(["body", "inputs"])));

    let both = json!({"model": "mistral-small-latest", "agent_id": "ag_x", "inputs": "x"});
    let d = detail(json(mock.post("/v1/conversations", &both).send().await.unwrap(), 422).await);
    assert_eq!(d[0]["loc"], json!(["body", "agent_id"]));

    let bad_entry = json!({"model": "mistral-small-latest", "inputs": [{"type": "message.input", "role": "user"}]});
    json(mock.post("/v1/conversations", &bad_entry).send().await.unwrap(), 422).await;

    let unknown_model = json!({"model": "bad model", "inputs": "x"});
    let e = json(mock.post("/v1/conversations", &unknown_model).send().await.unwrap(), 400).await;
    assert_eq!((&e["type"], &e["code"]), (&json!("invalid_model"), &json!("1500")));

    let unknown_agent = json!({"agent_id": "ag_nope", "inputs": "x"});
    json(mock.post("/v1/conversations", &unknown_agent).send().await.unwrap(), 404).await;

    // Appends take no model, and unknown conversations are 404 everywhere.
    let start = json!({"model": "mistral-small-latest", "inputs": "x", "completion_args": {"max_tokens": 2}});
    let id = json(mock.post("/v1/conversations", &start).send().await.unwrap(), 200).await["conversation_id"].clone();
    let id = id.as_str().unwrap();
    let d = detail(
        json(
            mock.post(&format!("/v1/conversations/{id}"), &json!({"inputs": "y", "model": "m"})).send().await.unwrap(),
            422,
        )
        .await,
    );
    assert_eq!(d[0]["loc"], json!(["body", "model"]));
    let restart = json!({"from_entry_id": "msg_nope", "inputs": "y"});
    json(mock.post(&format!("/v1/conversations/{id}/restart"), &restart).send().await.unwrap(), 404).await;

    let nope = "conv_00000000000000000000000000000000";
    for path in ["", "/history", "/messages"] {
        let e = json(mock.get(&format!("/v1/conversations/{nope}{path}")).send().await.unwrap(), 404).await;
        assert_eq!((&e["object"], &e["type"]), (&json!("error"), &json!("not_found_error")));
    }
    json(mock.post(&format!("/v1/conversations/{nope}"), &json!({"inputs": "y"})).send().await.unwrap(), 404).await;
    json(mock.post(&format!("/v1/conversations/{nope}/restart"), &restart).send().await.unwrap(), 404).await;
    assert_eq!(call(&mock, reqwest::Method::DELETE, &format!("/v1/conversations/{nope}")).await.status(), 404);
}
