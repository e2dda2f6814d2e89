//! The API operations the client offers, and what each means for the limiter and
//! for retries: its method and path, whether repeating it is harmless, what it
//! costs the token lanes, and how its stream ends. One table holds them all.

use crate::sse::StreamEnd;

/// What kind of call a request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `POST /v1/chat/completions`.
    ChatComplete,
    /// `POST /v1/fim/completions`.
    FimComplete,
    /// `POST /v1/agents/completions`.
    AgentsComplete,
    /// `POST /v1/embeddings`.
    Embeddings,
    /// `POST /v1/moderations`.
    Moderate,
    /// `POST /v1/chat/moderations`.
    ModerateChat,
    /// `POST /v1/classifications`.
    Classify,
    /// `POST /v1/chat/classifications`.
    ClassifyChat,
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
    /// `POST /v1/agents`.
    AgentCreate,
    /// `GET /v1/agents`.
    AgentList,
    /// `GET /v1/agents/{id}`.
    AgentGet,
    /// `PATCH /v1/agents/{id}`.
    AgentUpdate,
    /// `DELETE /v1/agents/{id}`.
    AgentDelete,
    /// `PATCH /v1/agents/{id}/version`.
    AgentUpdateVersion,
    /// `GET /v1/agents/{id}/versions`.
    AgentListVersions,
    /// `GET /v1/agents/{id}/versions/{version}`.
    AgentGetVersion,
    /// `PUT /v1/agents/{id}/aliases`.
    AgentCreateVersionAlias,
    /// `GET /v1/agents/{id}/aliases`.
    AgentListVersionAliases,
    /// `DELETE /v1/agents/{id}/aliases`.
    AgentDeleteVersionAlias,
    /// `GET /v1/models`.
    ModelList,
    /// `GET /v1/models/{id}`.
    ModelRetrieve,
    /// `DELETE /v1/models/{id}`.
    ModelDelete,
    /// A route no other row names, sent through `client.fetch` by a method that
    /// repeats harmlessly (GET, HEAD, PUT, DELETE).
    OtherRead,
    /// The same, by a method that may not (POST, PATCH).
    OtherWrite,
}

/// What a call costs the token lanes besides its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tokens {
    /// Nothing: a read, a list, a delete, an agent's settings.
    None,
    /// Its input only: embeddings and classifiers write nothing.
    Input,
    /// Its input and what it writes.
    InputOutput,
}

/// One operation's row of [`SPECS`]: its kind; the name the JS layer passes; its
/// method; its path, where each `{}` takes one of the call's ids in order; whether
/// it is idempotent; what it costs the token lanes; and how a stream of it ends when
/// it ends well (`None` for what never streams).
struct Spec(Kind, &'static str, &'static str, &'static str, bool, Tokens, Option<StreamEnd>);

use StreamEnd::{Done, Eof};
use Tokens::{Input, InputOutput, None as Free};

/// Every operation. Generating creates nothing, so completions are idempotent;
/// what writes history or a new agent version is not, and is never repeated after
/// it may have reached the server. Reads, deletes and PUT-like settings are.
#[rustfmt::skip]
const SPECS: &[Spec] = &[
    Spec(Kind::ChatComplete, "chat.complete", "POST", "/v1/chat/completions", true, InputOutput, Some(Done)),
    Spec(Kind::FimComplete, "fim.complete", "POST", "/v1/fim/completions", true, InputOutput, Some(Done)),
    Spec(Kind::AgentsComplete, "agents.complete", "POST", "/v1/agents/completions", true, InputOutput, Some(Done)),
    Spec(Kind::Embeddings, "embeddings.create", "POST", "/v1/embeddings", true, Input, None),
    Spec(Kind::Moderate, "classifiers.moderate", "POST", "/v1/moderations", true, Input, None),
    Spec(Kind::ModerateChat, "classifiers.moderateChat", "POST", "/v1/chat/moderations", true, Input, None),
    Spec(Kind::Classify, "classifiers.classify", "POST", "/v1/classifications", true, Input, None),
    Spec(Kind::ClassifyChat, "classifiers.classifyChat", "POST", "/v1/chat/classifications", true, Input, None),
    Spec(Kind::ConversationStart, "conversations.start", "POST", "/v1/conversations", false, InputOutput, Some(Eof)),
    Spec(Kind::ConversationAppend, "conversations.append", "POST", "/v1/conversations/{}", false, InputOutput, Some(Eof)),
    Spec(Kind::ConversationRestart, "conversations.restart", "POST", "/v1/conversations/{}/restart", false, InputOutput, Some(Eof)),
    Spec(Kind::ConversationGet, "conversations.get", "GET", "/v1/conversations/{}", true, Free, None),
    Spec(Kind::ConversationHistory, "conversations.getHistory", "GET", "/v1/conversations/{}/history", true, Free, None),
    Spec(Kind::ConversationMessages, "conversations.getMessages", "GET", "/v1/conversations/{}/messages", true, Free, None),
    Spec(Kind::ConversationList, "conversations.list", "GET", "/v1/conversations", true, Free, None),
    Spec(Kind::ConversationDelete, "conversations.delete", "DELETE", "/v1/conversations/{}", true, Free, None),
    Spec(Kind::AgentCreate, "agents.create", "POST", "/v1/agents", false, Free, None),
    Spec(Kind::AgentList, "agents.list", "GET", "/v1/agents", true, Free, None),
    Spec(Kind::AgentGet, "agents.get", "GET", "/v1/agents/{}", true, Free, None),
    Spec(Kind::AgentUpdate, "agents.update", "PATCH", "/v1/agents/{}", false, Free, None),
    Spec(Kind::AgentDelete, "agents.delete", "DELETE", "/v1/agents/{}", true, Free, None),
    Spec(Kind::AgentUpdateVersion, "agents.updateVersion", "PATCH", "/v1/agents/{}/version", true, Free, None),
    Spec(Kind::AgentListVersions, "agents.listVersions", "GET", "/v1/agents/{}/versions", true, Free, None),
    Spec(Kind::AgentGetVersion, "agents.getVersion", "GET", "/v1/agents/{}/versions/{}", true, Free, None),
    Spec(Kind::AgentCreateVersionAlias, "agents.createVersionAlias", "PUT", "/v1/agents/{}/aliases", true, Free, None),
    Spec(Kind::AgentListVersionAliases, "agents.listVersionAliases", "GET", "/v1/agents/{}/aliases", true, Free, None),
    Spec(Kind::AgentDeleteVersionAlias, "agents.deleteVersionAlias", "DELETE", "/v1/agents/{}/aliases", true, Free, None),
    Spec(Kind::ModelList, "models.list", "GET", "/v1/models", true, Free, None),
    Spec(Kind::ModelRetrieve, "models.retrieve", "GET", "/v1/models/{}", true, Free, None),
    Spec(Kind::ModelDelete, "models.delete", "DELETE", "/v1/models/{}", true, Free, None),
    Spec(Kind::OtherRead, "fetch.read", "GET", "", true, Free, None),
    Spec(Kind::OtherWrite, "fetch.write", "POST", "", false, Free, None),
];

impl Kind {
    /// Every operation, in the table's order.
    pub fn all() -> impl Iterator<Item = Kind> {
        SPECS.iter().map(|s| s.0)
    }

    /// Its row: the table lists the kinds in their declaration order.
    fn spec(self) -> &'static Spec {
        &SPECS[self as usize]
    }

    /// The name the JS layer passes, e.g. `"conversations.append"`.
    pub fn js_name(self) -> &'static str {
        self.spec().1
    }

    /// The operation JS names `name`.
    pub fn from_js_name(name: &str) -> Option<Kind> {
        SPECS.iter().find(|s| s.1 == name).map(|s| s.0)
    }

    /// The operation a request is, by its method and its path (from `/v1/` on),
    /// with the ids in that path. A route no row names is [`Kind::OtherRead`] or
    /// [`Kind::OtherWrite`] by its method.
    pub fn for_request(method: &str, path: &str) -> (Kind, Vec<String>) {
        let method = method.to_ascii_uppercase();
        let segments: Vec<&str> = path.split('?').next().unwrap_or_default().trim_end_matches('/').split('/').collect();
        for row in SPECS.iter().filter(|row| row.2 == method && !row.3.is_empty()) {
            let template: Vec<&str> = row.3.split('/').collect();
            if template.len() != segments.len() {
                continue;
            }
            let mut ids = Vec::new();
            let fits = template.iter().zip(&segments).all(|(t, s)| match *t {
                "{}" => {
                    ids.push((*s).to_owned());
                    !s.is_empty()
                }
                literal => literal == *s,
            });
            if fits {
                return (row.0, ids);
            }
        }
        let harmless = matches!(method.as_str(), "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS");
        (if harmless { Kind::OtherRead } else { Kind::OtherWrite }, Vec::new())
    }

    /// The HTTP method.
    pub fn method(self) -> &'static str {
        self.spec().2
    }

    /// How many ids the path takes.
    pub fn ids(self) -> usize {
        self.spec().3.matches("{}").count()
    }

    /// The path with `ids` in its places, unchecked (missing ones left empty).
    pub fn path(self, ids: &[&str]) -> String {
        let mut parts = self.spec().3.split("{}");
        let mut path = parts.next().unwrap_or_default().to_owned();
        for (i, part) in parts.enumerate() {
            path.push_str(ids.get(i).copied().unwrap_or_default());
            path.push_str(part);
        }
        path
    }

    /// The path for caller-supplied `ids`, or why one cannot be: only what Mistral
    /// issues goes into a path, so an id can never reach another resource
    /// (`../agents/x`) or smuggle a query (`abc?x=1`).
    pub fn path_for(self, ids: &[&str]) -> Result<String, String> {
        let wanted = self.ids();
        if ids.len() != wanted {
            return Err(format!("{} takes {wanted} id(s) in its path, got {}", self.js_name(), ids.len()));
        }
        for id in ids {
            check_id(id)?;
        }
        Ok(self.path(ids))
    }

    /// Whether repeating the call is harmless (see [`SPECS`]).
    pub fn idempotent(self) -> bool {
        self.spec().4
    }

    /// What it costs the token lanes.
    pub fn tokens(self) -> Tokens {
        self.spec().5
    }

    /// Whether it costs tokens at all (and so answers with usage).
    pub fn costs_tokens(self) -> bool {
        self.tokens() != Tokens::None
    }

    /// How a stream of this kind ends when it ends well: chat-like completions with
    /// `[DONE]`, conversations at EOF. `None` for kinds that never stream.
    pub fn stream_end(self) -> Option<StreamEnd> {
        self.spec().6
    }
}

/// The longest id accepted; Mistral's are about 40 characters.
pub const MAX_ID_LEN: usize = 128;

/// Whether `id` looks like an id Mistral issues: letters, digits, `-`, `_`, `.` and
/// `:` (a fine-tuned model's), at most [`MAX_ID_LEN`] of them, and not `.` or `..`,
/// which a URL resolves as a path step. What passes needs no percent-encoding.
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
    if let Some(bad) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))) {
        return Err(format!(
            "the id \"{shown}\" holds {:?}; ids are letters, digits, '-', '_', '.' and ':', as Mistral issues them",
            bad
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_writes_of_history_or_agents_are_not_idempotent() {
        let writes: Vec<Kind> = Kind::all().filter(|k| !k.idempotent()).collect();
        assert_eq!(
            writes,
            [
                Kind::ConversationStart,
                Kind::ConversationAppend,
                Kind::ConversationRestart,
                Kind::AgentCreate,
                Kind::AgentUpdate,
                Kind::OtherWrite
            ]
        );
        assert!(Kind::ChatComplete.idempotent() && Kind::ConversationDelete.idempotent());
    }

    #[test]
    fn what_each_costs_the_token_lanes() {
        assert_eq!(Kind::ChatComplete.tokens(), Tokens::InputOutput);
        assert_eq!(Kind::FimComplete.tokens(), Tokens::InputOutput);
        assert_eq!(Kind::Embeddings.tokens(), Tokens::Input);
        assert_eq!(Kind::ClassifyChat.tokens(), Tokens::Input);
        for free in [Kind::AgentCreate, Kind::AgentUpdate, Kind::ModelDelete, Kind::ConversationGet] {
            assert!(!free.costs_tokens(), "{free:?}");
        }
        // Whatever streams costs tokens.
        assert!(Kind::all().filter(|k| k.stream_end().is_some()).all(Kind::costs_tokens));
    }

    #[test]
    fn ids_that_could_reach_another_resource_are_refused() {
        assert_eq!(Kind::ConversationGet.path_for(&["conv_01J-a.b"]).unwrap(), "/v1/conversations/conv_01J-a.b");
        assert_eq!(
            Kind::ModelRetrieve.path_for(&["ft:open-mistral-7b:1a2b:20240101"]).unwrap(),
            "/v1/models/ft:open-mistral-7b:1a2b:20240101"
        );
        for bad in ["", ".", "..", "../../v1/agents/ag_1", "abc?x=1", "a/b", "a#b", "a%2Fb", "é", "a b", "a\\b"] {
            let err = Kind::ConversationDelete.path_for(&[bad]).unwrap_err();
            assert!(err.contains("id"), "{bad}: {err}");
        }
        assert!(Kind::ConversationGet.path_for(&["a".repeat(MAX_ID_LEN + 1).as_str()]).is_err());
        assert_eq!(Kind::ConversationList.path_for(&[]).unwrap(), "/v1/conversations");
        assert!(Kind::ConversationList.path_for(&["x"]).unwrap_err().contains("takes 0 id"));
        assert!(Kind::AgentGetVersion.path_for(&["ag_1"]).unwrap_err().contains("takes 2 id"));
        assert!(Kind::AgentGetVersion.path_for(&["ag_1", "../x"]).is_err());
    }

    #[test]
    fn the_table_lists_every_kind_in_declaration_order() {
        for (i, row) in SPECS.iter().enumerate() {
            assert_eq!(row.0 as usize, i, "{:?} is out of place", row.0);
        }
    }

    #[test]
    fn js_names_round_trip_and_are_unique() {
        let mut names: Vec<&str> = Kind::all().map(Kind::js_name).collect();
        for k in Kind::all() {
            assert_eq!(Kind::from_js_name(k.js_name()), Some(k));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SPECS.len());
        assert_eq!(Kind::from_js_name("chat.completes"), None);
    }

    #[test]
    fn requests_are_told_apart_by_method_and_path() {
        let of = |m: &str, p: &str| Kind::for_request(m, p);
        assert_eq!(of("POST", "/v1/chat/completions"), (Kind::ChatComplete, vec![]));
        assert_eq!(of("post", "/v1/agents/completions"), (Kind::AgentsComplete, vec![]));
        assert_eq!(of("PATCH", "/v1/agents/ag_1"), (Kind::AgentUpdate, vec!["ag_1".to_owned()]));
        assert_eq!(of("POST", "/v1/conversations/c_1"), (Kind::ConversationAppend, vec!["c_1".to_owned()]));
        assert_eq!(of("POST", "/v1/conversations/c_1/restart"), (Kind::ConversationRestart, vec!["c_1".to_owned()]));
        assert_eq!(of("GET", "/v1/agents/ag_1/versions/2?x=1").0, Kind::AgentGetVersion);
        assert_eq!(of("GET", "/v1/conversations/").0, Kind::ConversationList);
        assert_eq!(of("POST", "/v1/files").0, Kind::OtherWrite);
        assert_eq!(of("GET", "/v1/batch/jobs").0, Kind::OtherRead);
        assert_eq!(of("POST", "/v1/conversations//restart").0, Kind::OtherWrite, "an empty id names nothing");
    }

    #[test]
    fn paths_and_stream_ends() {
        assert_eq!(Kind::ConversationRestart.path(&["conv_1"]), "/v1/conversations/conv_1/restart");
        assert_eq!(Kind::AgentGetVersion.path(&["ag_1", "3"]), "/v1/agents/ag_1/versions/3");
        assert_eq!((Kind::ConversationHistory.ids(), Kind::ConversationList.ids()), (1, 0));
        assert_eq!(Kind::ChatComplete.stream_end(), Some(StreamEnd::Done));
        assert_eq!(Kind::AgentsComplete.stream_end(), Some(StreamEnd::Done));
        assert_eq!(Kind::ConversationAppend.stream_end(), Some(StreamEnd::Eof));
        assert_eq!(Kind::ConversationGet.stream_end(), None);
    }
}
