//! The API operations the client offers, and what each means for the limiter and
//! for retries: its method and path, whether repeating it is harmless, and how its
//! stream ends.

use crate::sse::StreamEnd;

/// What kind of call a request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `POST /v1/chat/completions`.
    ChatComplete,
    /// `POST /v1/conversations`.
    ConversationStart,
    /// `POST /v1/conversations/{id}`.
    ConversationAppend,
    /// `POST /v1/conversations/{id}/restart`.
    ConversationRestart,
    /// `GET /v1/conversations/{id}`.
    ConversationGet,
    /// `GET /v1/conversations/{id}/history`.
    ConversationHistory,
    /// `GET /v1/conversations/{id}/messages`.
    ConversationMessages,
    /// `GET /v1/conversations`.
    ConversationList,
    /// `DELETE /v1/conversations/{id}`.
    ConversationDelete,
}

impl Kind {
    /// Every operation, in declaration order.
    pub const ALL: &'static [Kind] = &[
        Kind::ChatComplete,
        Kind::ConversationStart,
        Kind::ConversationAppend,
        Kind::ConversationRestart,
        Kind::ConversationGet,
        Kind::ConversationHistory,
        Kind::ConversationMessages,
        Kind::ConversationList,
        Kind::ConversationDelete,
    ];

    /// The name the JS layer passes, e.g. `"conversations.append"`.
    pub fn js_name(self) -> &'static str {
        match self {
            Kind::ChatComplete => "chat.complete",
            Kind::ConversationStart => "conversations.start",
            Kind::ConversationAppend => "conversations.append",
            Kind::ConversationRestart => "conversations.restart",
            Kind::ConversationGet => "conversations.get",
            Kind::ConversationHistory => "conversations.getHistory",
            Kind::ConversationMessages => "conversations.getMessages",
            Kind::ConversationList => "conversations.list",
            Kind::ConversationDelete => "conversations.delete",
        }
    }

    /// The operation JS names `name`.
    pub fn from_js_name(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.js_name() == name)
    }

    /// The HTTP method.
    pub fn method(self) -> &'static str {
        match self {
            Kind::ChatComplete | Kind::ConversationStart | Kind::ConversationAppend | Kind::ConversationRestart => {
                "POST"
            }
            Kind::ConversationDelete => "DELETE",
            _ => "GET",
        }
    }

    /// The path under the server URL; `id` fills `{conversation_id}`.
    pub fn path(self, id: &str) -> String {
        match self {
            Kind::ChatComplete => "/v1/chat/completions".into(),
            Kind::ConversationStart | Kind::ConversationList => "/v1/conversations".into(),
            Kind::ConversationAppend | Kind::ConversationGet | Kind::ConversationDelete => {
                format!("/v1/conversations/{id}")
            }
            Kind::ConversationRestart => format!("/v1/conversations/{id}/restart"),
            Kind::ConversationHistory => format!("/v1/conversations/{id}/history"),
            Kind::ConversationMessages => format!("/v1/conversations/{id}/messages"),
        }
    }

    /// Whether the path needs a conversation id.
    pub fn needs_id(self) -> bool {
        self.path("{}").contains("{}")
    }

    /// The path for a caller-supplied `id`, or why the id cannot be one: only what
    /// Mistral issues goes into a path, so an id can never reach another resource
    /// (`../agents/x`) or smuggle a query (`abc?x=1`).
    pub fn path_for(self, id: &str) -> Result<String, String> {
        if self.needs_id() {
            check_id(id)?;
        }
        Ok(self.path(id))
    }

    /// Whether repeating the call is harmless. Chat completions create nothing;
    /// reads and deletes are idempotent. Starting, appending to or restarting a
    /// conversation writes history, so a repeat could write it twice.
    pub fn idempotent(self) -> bool {
        !matches!(self, Kind::ConversationStart | Kind::ConversationAppend | Kind::ConversationRestart)
    }

    /// Whether the call generates tokens (and so costs tokens, not just a request).
    pub fn generates(self) -> bool {
        self.method() == "POST"
    }

    /// How a stream of this kind ends when it ends well: chat with `[DONE]`,
    /// conversations at EOF. `None` for kinds that never stream.
    pub fn stream_end(self) -> Option<StreamEnd> {
        match self {
            Kind::ChatComplete => Some(StreamEnd::Done),
            Kind::ConversationStart | Kind::ConversationAppend | Kind::ConversationRestart => Some(StreamEnd::Eof),
            _ => None,
        }
    }
}

/// The longest id accepted; Mistral's are about 40 characters.
pub const MAX_ID_LEN: usize = 128;

/// Whether `id` looks like an id Mistral issues: letters, digits, `-`, `_` and `.`,
/// at most [`MAX_ID_LEN`] of them, and not `.` or `..`, which a URL resolves as a
/// path step. What passes needs no percent-encoding.
pub fn check_id(id: &str) -> Result<(), String> {
    let shown: String = id.chars().take(40).collect::<String>().escape_debug().to_string();
    if id.is_empty() {
        return Err("an id is required".into());
    }
    if id.len() > MAX_ID_LEN {
        return Err(format!(
            "the id \"{shown}...\" is longer than {MAX_ID_LEN} characters; pass the id Mistral returned"
        ));
    }
    if id == "." || id == ".." {
        return Err(format!("\"{id}\" is not an id; pass the id Mistral returned"));
    }
    if let Some(bad) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(format!(
            "the id \"{shown}\" holds {:?}; ids are letters, digits, '-', '_' and '.', as Mistral issues them",
            bad
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_the_only_non_idempotent_calls() {
        let writes = [Kind::ConversationStart, Kind::ConversationAppend, Kind::ConversationRestart];
        for k in writes {
            assert!(!k.idempotent() && k.generates() && k.method() == "POST");
        }
        assert!(Kind::ChatComplete.idempotent());
        assert!(Kind::ConversationDelete.idempotent() && !Kind::ConversationDelete.generates());
    }

    #[test]
    fn ids_that_could_reach_another_resource_are_refused() {
        assert_eq!(Kind::ConversationGet.path_for("conv_01J-a.b").unwrap(), "/v1/conversations/conv_01J-a.b");
        for bad in ["", ".", "..", "../../v1/agents/ag_1", "abc?x=1", "a/b", "a#b", "a%2Fb", "é", "a b", "a\\b"] {
            let err = Kind::ConversationDelete.path_for(bad).unwrap_err();
            assert!(err.contains("id"), "{bad}: {err}");
        }
        assert!(Kind::ConversationGet.path_for(&"a".repeat(MAX_ID_LEN + 1)).is_err());
        assert_eq!(Kind::ConversationList.path_for("ignored/../x").unwrap(), "/v1/conversations");
    }

    #[test]
    fn js_names_round_trip() {
        for &k in Kind::ALL {
            assert_eq!(Kind::from_js_name(k.js_name()), Some(k));
        }
        assert_eq!(Kind::from_js_name("chat.completes"), None);
    }

    #[test]
    fn paths_and_stream_ends() {
        assert_eq!(Kind::ConversationRestart.path("conv_1"), "/v1/conversations/conv_1/restart");
        assert!(Kind::ConversationHistory.needs_id() && !Kind::ConversationList.needs_id());
        assert_eq!(Kind::ChatComplete.stream_end(), Some(StreamEnd::Done));
        assert_eq!(Kind::ConversationAppend.stream_end(), Some(StreamEnd::Eof));
        assert_eq!(Kind::ConversationGet.stream_end(), None);
    }
}
