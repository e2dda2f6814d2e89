//! Prompt caching, per scope: a chat prompt sent with a `prompt_cache_key` is
//! remembered under that key, and the next prompt under it is cached as far as it
//! begins with the same whole messages. Mistral does not say how finely it matches;
//! whole messages are the mock's reading.

use std::collections::{BTreeMap, HashMap};

/// Keys remembered per scope; storing one more forgets the one stored longest ago.
const KEYS: usize = 1024;

/// A message as the cache compares it (its role and content as JSON), and its
/// tokens as the text counts them.
#[derive(Clone, Debug)]
pub struct Message {
    pub seen: String,
    pub tokens: u64,
}

/// A chat prompt and its `prompt_cache_key`.
#[derive(Debug)]
pub struct Cacheable {
    pub key: String,
    pub messages: Vec<Message>,
}

#[derive(Debug, Default)]
pub struct PromptCache {
    /// By key: when it was last stored, and its prompt.
    prompts: HashMap<String, (u64, Vec<Message>)>,
    /// The keys by when they were last stored, oldest first.
    order: BTreeMap<u64, String>,
    stored: u64,
}

impl PromptCache {
    /// Tokens of the leading whole messages `prompt` shares with the prompt last
    /// stored under its key.
    pub fn cached(&self, prompt: &Cacheable) -> u64 {
        let Some((_, last)) = self.prompts.get(&prompt.key) else { return 0 };
        last.iter().zip(&prompt.messages).take_while(|(a, b)| a.seen == b.seen).map(|(_, m)| m.tokens).sum()
    }

    /// Remembers `prompt` under its key, in place of the one before.
    pub fn store(&mut self, prompt: Cacheable) {
        self.stored += 1;
        if let Some((at, _)) = self.prompts.insert(prompt.key.clone(), (self.stored, prompt.messages)) {
            self.order.remove(&at);
        }
        self.order.insert(self.stored, prompt.key);
        if self.prompts.len() > KEYS {
            if let Some((_, oldest)) = self.order.pop_first() {
                self.prompts.remove(&oldest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(key: &str, messages: &[(&str, u64)]) -> Cacheable {
        let messages =
            messages.iter().map(|(seen, tokens)| Message { seen: seen.to_string(), tokens: *tokens }).collect();
        Cacheable { key: key.into(), messages }
    }

    #[test]
    fn the_leading_whole_messages_in_common_are_cached() {
        let mut cache = PromptCache::default();
        let first = prompt("k", &[("system", 10), ("user 1", 5)]);
        assert_eq!(cache.cached(&first), 0, "nothing under the key yet");
        cache.store(first);
        assert_eq!(cache.cached(&prompt("k", &[("system", 10), ("user 1", 5), ("user 2", 7)])), 15);
        assert_eq!(cache.cached(&prompt("k", &[("system", 10), ("user 1!", 5)])), 10, "a changed message ends it");
        assert_eq!(cache.cached(&prompt("k", &[("other", 10), ("user 1", 5)])), 0, "a prefix, not any match");
        assert_eq!(cache.cached(&prompt("j", &[("system", 10)])), 0, "another key shares nothing");
        cache.store(prompt("k", &[("other", 10)]));
        assert_eq!(cache.cached(&prompt("k", &[("system", 10), ("user 1", 5)])), 0, "the last prompt counts");
    }

    #[test]
    fn the_key_stored_longest_ago_is_forgotten_first() {
        let mut cache = PromptCache::default();
        for i in 0..KEYS {
            cache.store(prompt(&i.to_string(), &[("m", 1)]));
        }
        cache.store(prompt("0", &[("m", 1)])); // stored again: now the newest
        cache.store(prompt("new", &[("m", 1)]));
        assert_eq!(cache.prompts.len(), KEYS);
        assert_eq!(cache.cached(&prompt("0", &[("m", 1)])), 1);
        assert_eq!(cache.cached(&prompt("1", &[("m", 1)])), 0, "the oldest went");
        assert_eq!(cache.cached(&prompt("new", &[("m", 1)])), 1);
    }
}
