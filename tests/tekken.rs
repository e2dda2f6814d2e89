//! Tekken counts against mistral-common's, exactly, on every file of
//! `tests/tekken/corpus/` (expectations in `tests/tekken/expected.json`, made by
//! `scripts/build/tekken/expectations.py`); and chat and conversation requests' prompt
//! tokens, template and all, on every body of `tests/tekken/chats/` for each
//! template version (expectations in `tests/tekken/chat_expected.json`).
#![cfg(all(feature = "tekken", not(target_arch = "wasm32")))]

use std::collections::BTreeMap;
use std::time::Instant;

use mistral_ratelimit::tokenizer::{
    count_chat_str, count_conversation, count_conversation_str, ChatError, ChatTemplate, Tekken,
};

mod common;

use common::{at, corpus, packed_tekken};

fn load_tekken() -> Tekken {
    Tekken::from_bytes(packed_tekken()).expect("tekken.bin parses")
}

fn expected() -> BTreeMap<String, usize> {
    let path = at("tests/tekken/expected.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    serde_json::from_value(json["counts"].clone()).expect("counts is a map of file to count")
}

#[test]
fn counts_match_mistral_common_exactly() {
    let tekken = load_tekken();
    assert_eq!((tekken.num_ranks(), tekken.num_special_tokens()), (130_072, 1_000));
    let started = Instant::now();
    tekken.prepare().expect("the BPE builds");
    eprintln!("built the Tekken BPE in {:?}", started.elapsed());

    let files = corpus();
    let expected = expected();
    let names =
        |m: &dyn Fn(&String) -> bool| files.keys().chain(expected.keys()).filter(|n| m(n)).cloned().collect::<Vec<_>>();
    let unexpected = names(&|n| !expected.contains_key(n));
    let missing = names(&|n| !files.contains_key(n));
    assert!(
        unexpected.is_empty() && missing.is_empty(),
        "corpus and expectations differ (run `python3 scripts/build/tekken/expectations.py`): \
         no expectation for {unexpected:?}, no file for {missing:?}"
    );

    let mut wrong = Vec::new();
    for (name, text) in &files {
        let (ours, theirs) = (tekken.count(text), expected[name]);
        if ours != theirs {
            wrong.push(format!("{name}: ours {ours}, mistral-common {theirs}"));
        }
    }
    assert!(wrong.is_empty(), "counts differ:\n{}", wrong.join("\n"));
}

fn template(version: &str) -> ChatTemplate {
    match version {
        "v3" => ChatTemplate::V3,
        "v7" => ChatTemplate::V7,
        "v11" => ChatTemplate::V11,
        "v13" => ChatTemplate::V13,
        "v15" => ChatTemplate::V15,
        other => panic!("no template {other}"),
    }
}

#[test]
fn chat_counts_match_mistral_common_exactly() {
    let tekken = load_tekken();
    let dir = at("tests/tekken/chats");
    let path = at("tests/tekken/chat_expected.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // null: mistral-common refused the request, and so must we.
    let expected: BTreeMap<String, BTreeMap<String, Option<usize>>> =
        serde_json::from_value(json["counts"].clone()).expect("counts is a map of file to version to count or null");
    let files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        expected.keys().cloned().collect::<Vec<_>>(),
        "chats and expectations differ (run `python3 scripts/build/tekken/expectations.py`)"
    );

    let mut wrong = Vec::new();
    let mut checked = 0;
    for (name, counts) in &expected {
        let body = std::fs::read_to_string(dir.join(name)).unwrap();
        for (version, &theirs) in counts {
            let t = template(version);
            let ours = if name.starts_with("conv_") {
                count_conversation_str(&tekken, &body, t)
            } else {
                count_chat_str(&tekken, &body, t)
            };
            checked += 1;
            let agree = match theirs {
                Some(count) => ours == Ok(count),
                None => matches!(ours, Err(ChatError::Invalid(_))),
            };
            if !agree {
                wrong.push(format!("{name} {version}: ours {ours:?}, mistral-common {theirs:?}"));
            }
        }
    }
    assert!(checked >= 80, "only {checked} cases");
    assert!(wrong.is_empty(), "chat counts differ:\n{}", wrong.join("\n"));
}

#[test]
fn a_value_without_reordered_keys_counts_the_same() {
    // serde_json's default map sorts keys; this body's objects are already sorted.
    let tekken = load_tekken();
    let body = r#"{"inputs": [{"content": "Hi there", "role": "user"}], "instructions": "Be brief."}"#;
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    for t in [ChatTemplate::V3, ChatTemplate::V7, ChatTemplate::V11, ChatTemplate::V13, ChatTemplate::V15] {
        assert_eq!(count_conversation(&tekken, &value, t), count_conversation_str(&tekken, body, t));
    }
    // BOS [SYSTEM_PROMPT] Be brief. [/SYSTEM_PROMPT] [INST] Hi there [/INST]
    assert_eq!(
        count_conversation_str(&tekken, body, ChatTemplate::V13),
        Ok(5 + tekken.count("Be brief.") + tekken.count("Hi there"))
    );
}

#[test]
fn what_is_not_counted_exactly_is_refused() {
    let tekken = load_tekken();
    let unsupported = |body: &str| {
        let chat = count_chat_str(&tekken, body, ChatTemplate::V13);
        let conv = count_conversation_str(&tekken, body, ChatTemplate::V13);
        assert!(
            matches!(chat, Err(ChatError::Unsupported(_))) || matches!(conv, Err(ChatError::Unsupported(_))),
            "{body}: {chat:?} / {conv:?}"
        );
    };
    unsupported(r#"{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "https://x"}]}]}"#);
    unsupported(
        r#"{"messages": [{"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": []}], "prefix": true}]}"#,
    );
    unsupported(r#"{"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "web_search"}]}"#);
    unsupported(r#"{"agent_id": "ag_1", "inputs": "hi"}"#);
    unsupported(r#"{"inputs": [{"type": "agent.handoff", "agent_id": "x"}]}"#);
    unsupported(r#"{"safe_prompt": true, "messages": [{"role": "user", "content": "hi"}]}"#);
    unsupported(r#"{"prompt_mode": "reasoning", "messages": [{"role": "user", "content": "hi"}]}"#);
    let json_format =
        r#"{"response_format": {"type": "json_object"}, "messages": [{"role": "user", "content": "hi"}]}"#;
    assert!(matches!(count_chat_str(&tekken, json_format, ChatTemplate::V15), Err(ChatError::Unsupported(_))));
    // Before v15 the response format changes nothing in the prompt.
    assert!(count_chat_str(&tekken, json_format, ChatTemplate::V13).is_ok());
    let invalid = |body: &str| {
        assert!(matches!(count_chat_str(&tekken, body, ChatTemplate::V7), Err(ChatError::Invalid(_))), "{body}");
    };
    invalid("not json");
    invalid(r#"{"messages": "hi"}"#);
    invalid(r#"{"messages": [{"role": "robot", "content": "hi"}]}"#);
    invalid(r#"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": ""}]}"#);
    invalid(r#"{"messages": [{"role": "tool", "content": "no id"}]}"#);
    invalid(r#"{"messages": []}"#);
    invalid(
        r#"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "a", "prefix": true},
        {"role": "user", "content": "again"}]}"#,
    );
    let call = |id: &str| {
        format!(
            r#"{{"messages": [{{"role": "user", "content": "hi"}},
                {{"role": "assistant", "tool_calls": [{{"id": {id}, "function": {{"name": "f", "arguments": "{{}}"}}}}]}},
                {{"role": "tool", "tool_call_id": {id}, "content": "ok"}}]}}"#
        )
    };
    // Up to v11 ids are nine letters or digits; from v13 on anything but "" or "null".
    for (id, ok_until_v11, ok_from_v13) in
        [(r#""abcDEF123""#, true, true), (r#""call_1""#, false, true), ("null", false, false)]
    {
        for (t, ok) in [(ChatTemplate::V11, ok_until_v11), (ChatTemplate::V13, ok_from_v13)] {
            let counted = count_chat_str(&tekken, &call(id), t);
            assert_eq!(counted.is_ok(), ok, "{id} {t}: {counted:?}");
        }
    }
    let effort = |e: &str, t| {
        count_chat_str(
            &tekken,
            &format!(r#"{{"reasoning_effort": {e}, "messages": [{{"role": "user", "content": "hi"}}]}}"#),
            t,
        )
    };
    assert!(matches!(effort(r#""high""#, ChatTemplate::V13), Err(ChatError::Invalid(_))));
    assert!(matches!(effort(r#""medium""#, ChatTemplate::V15), Err(ChatError::Invalid(_))));
    assert_eq!(effort("null", ChatTemplate::V15), effort(r#""none""#, ChatTemplate::V15));
}
