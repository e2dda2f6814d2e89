//! How much history each conversation carries. The server counts an append's
//! prompt as the whole stored conversation plus the new inputs, but the request
//! body holds only the new inputs. The last turn's total usage is what the next
//! turn's prompt starts from, so it is remembered per conversation.

use std::collections::{HashMap, VecDeque};

/// Conversations remembered at most (the one unused longest is forgotten first).
pub const REMEMBERED_CONVERSATIONS: usize = 1024;

/// The context size of recent conversations, by id.
#[derive(Clone, Debug, Default)]
pub struct ConversationContext {
    tokens: HashMap<String, u64>,
    order: VecDeque<String>,
}

impl ConversationContext {
    /// A turn of conversation `id` ended with `total` tokens used (its prompt, the
    /// whole history, plus its reply): the next turn's prompt starts from there.
    pub fn record(&mut self, id: &str, total: u64) {
        if self.tokens.insert(id.to_owned(), total).is_some() {
            // Used again: it moves to the back of the line to be forgotten.
            if let Some(i) = self.order.iter().position(|o| o == id) {
                self.order.remove(i);
            }
        }
        self.order.push_back(id.to_owned());
        if self.order.len() > REMEMBERED_CONVERSATIONS {
            if let Some(old) = self.order.pop_front() {
                self.tokens.remove(&old);
            }
        }
    }

    /// The history an append to (or a restart of) `id` will carry, if known. A
    /// restart keeps only part of it, so this is an upper bound there.
    pub fn history(&self, id: &str) -> u64 {
        self.tokens.get(id).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_turn_is_what_the_next_starts_from() {
        let mut c = ConversationContext::default();
        assert_eq!(c.history("conv_1"), 0);
        c.record("conv_1", 120);
        c.record("conv_1", 310);
        assert_eq!(c.history("conv_1"), 310);
    }

    #[test]
    fn a_conversation_in_use_is_not_the_one_forgotten() {
        let mut c = ConversationContext::default();
        for i in 0..REMEMBERED_CONVERSATIONS {
            c.record(&format!("conv_{i}"), 1);
        }
        c.record("conv_0", 7); // the oldest, used again
        c.record("conv_new", 1);
        assert_eq!(c.history("conv_0"), 7);
        assert_eq!(c.history("conv_1"), 0, "the least recently used went instead");
    }

    #[test]
    fn old_conversations_are_forgotten() {
        let mut c = ConversationContext::default();
        for i in 0..=REMEMBERED_CONVERSATIONS {
            c.record(&format!("conv_{i}"), 1);
        }
        assert_eq!(c.history("conv_0"), 0);
        assert_eq!(c.history(&format!("conv_{REMEMBERED_CONVERSATIONS}")), 1);
    }
}
