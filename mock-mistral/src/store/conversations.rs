//! Conversations: how replies are made in each, and its entries so far.

use serde_json::{json, Value};

use super::Record;

/// What replies in a conversation are made with: the request's settings for a model
/// conversation, a snapshot of the agent version's for an agent one.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The model's canonical id.
    pub model: &'static str,
    pub instructions: Value,
    /// Always a list (`[]` when none), as the SDK's schema wants.
    pub tools: Value,
    /// Always an object (`{}` when none), as the SDK's schema wants.
    pub completion_args: Value,
    pub guardrails: Value,
}

#[derive(Clone, Debug)]
pub struct Conversation {
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    pub name: Value,
    pub description: Value,
    pub metadata: Value,
    /// The agent id and version that answer, for a conversation started with one.
    pub agent: Option<(String, u64)>,
    pub setup: Setup,
    pub entries: Vec<Value>,
}

impl Record for Conversation {
    fn id(&self) -> &str {
        &self.id
    }
}

impl Conversation {
    /// The object `get` and `list` return: a model conversation shows its settings,
    /// an agent conversation its agent.
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "object": "conversation", "id": self.id, "created_at": self.created_at,
            "updated_at": self.updated_at, "name": self.name, "description": self.description,
            "metadata": self.metadata
        });
        match &self.agent {
            Some((id, version)) => {
                v["agent_id"] = json!(id);
                v["agent_version"] = json!(version);
            }
            None => {
                let s = &self.setup;
                v["model"] = json!(s.model);
                v["instructions"] = s.instructions.clone();
                v["tools"] = s.tools.clone();
                v["completion_args"] = s.completion_args.clone();
                v["guardrails"] = s.guardrails.clone();
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conversation(agent: Option<(String, u64)>) -> Conversation {
        Conversation {
            id: "conv_1".into(),
            created_at: "2025-06-16T09:19:56.901953Z".into(),
            updated_at: "2025-06-16T09:19:56.901953Z".into(),
            name: Value::Null,
            description: Value::Null,
            metadata: json!({"k": "v"}),
            agent,
            setup: Setup {
                model: "mistral-small-2506",
                instructions: json!("Be brief."),
                tools: json!([]),
                completion_args: json!({}),
                guardrails: Value::Null,
            },
            entries: Vec::new(),
        }
    }

    #[test]
    fn model_and_agent_conversations_show_different_fields() {
        let m = conversation(None).to_json();
        assert_eq!(m["object"], "conversation");
        assert_eq!(m["model"], "mistral-small-2506");
        assert_eq!(m["instructions"], "Be brief.");
        assert!(m.get("agent_id").is_none());

        let a = conversation(Some(("ag_1".into(), 2))).to_json();
        assert_eq!((&a["agent_id"], &a["agent_version"]), (&json!("ag_1"), &json!(2)));
        assert!(a.get("model").is_none() && a.get("tools").is_none());
        assert_eq!(a["metadata"], json!({"k": "v"}));
    }
}
