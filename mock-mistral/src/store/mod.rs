//! In-memory state of the stateful APIs (conversations, agents).

/// Everything the stateful endpoints keep between requests.
#[derive(Debug, Default)]
pub struct Stores {}
