//! What a cached prompt really costs. The server caches a prompt sent with a
//! `prompt_cache_key`, and charges the cached part far less, while `usage` still
//! counts the whole prompt; it states what it charged in
//! `x-ratelimit-tokens-query-cost`. Per model and key, the prompt tokens it did not
//! charge last time are remembered, and the next call under that key reserves that
//! much less: a workload that repeats one long system prompt is bound by the rate,
//! not by tokens it is never charged. A miss (the cache expired, the prompt
//! changed) costs that call a debt, and teaches the next to reserve the whole.
//!
//! Streams carry no headers, only `usage`, whose `cached_tokens` says how much of
//! the prompt was cached but not what that cost. Per model, what a cached token
//! was charged is learned from replies that said both; until one has, a stream
//! is booked at its whole prompt.

use std::collections::{HashMap, VecDeque};

/// Keys remembered; the oldest learned goes first.
pub const REMEMBERED: usize = 1024;

/// Per model and `prompt_cache_key`, the prompt tokens the last reply was not charged.
#[derive(Clone, Debug, Default)]
pub struct PromptCache {
    /// Per model, per key: looked up by `&str` on every reservation.
    discounts: HashMap<String, HashMap<String, u64>>,
    /// Model and key, oldest first.
    order: VecDeque<(String, String)>,
    /// Per model, the share of a cached prompt token's count that was charged.
    rates: HashMap<String, f64>,
}

impl PromptCache {
    /// The prompt tokens a call of `model` under `key` should not reserve.
    pub fn discount(&self, model: Option<&str>, key: Option<&str>) -> u64 {
        let (Some(model), Some(key)) = (model, key) else { return 0 };
        self.discounts.get(model).and_then(|keys| keys.get(key)).copied().unwrap_or(0)
    }

    /// What a reply of `model` that reported `cached` of its `prompt` tokens cached
    /// was charged for the prompt, if a reply that stated its charge has taught
    /// what a cached token costs.
    pub fn charged_prompt(&self, model: &str, prompt: u64, cached: u64) -> Option<u64> {
        let rate = self.rates.get(model).filter(|_| cached > 0)?;
        Some(prompt - cached + (cached as f64 * rate).ceil() as u64)
    }

    /// A reply of `model` reported `cached` of its `prompt` tokens cached, and was
    /// charged `charged_prompt` for them.
    pub fn learn_rate(&mut self, model: &str, prompt: u64, cached: u64, charged_prompt: u64) {
        if cached == 0 {
            return;
        }
        let rate = charged_prompt.saturating_sub(prompt - cached) as f64 / cached as f64;
        self.rates.insert(model.to_owned(), rate.min(1.0));
    }

    /// A reply to a call of `model` under `key` counted `prompt` tokens and was
    /// charged `charged_prompt` for them.
    pub fn learn(&mut self, model: &str, key: &str, prompt: u64, charged_prompt: u64) {
        let discount = prompt.saturating_sub(charged_prompt);
        let keys = self.discounts.entry(model.to_owned()).or_default();
        if keys.insert(key.to_owned(), discount).is_some() {
            return;
        }
        self.order.push_back((model.to_owned(), key.to_owned()));
        if self.order.len() > REMEMBERED {
            if let Some((model, key)) = self.order.pop_front() {
                if let Some(keys) = self.discounts.get_mut(&model) {
                    keys.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hit_teaches_the_next_call_under_its_key_and_model_only() {
        let mut cache = PromptCache::default();
        assert_eq!(cache.discount(Some("m"), Some("k")), 0, "nothing learned: the whole prompt");
        cache.learn("m", "k", 12_000, 1_200);
        assert_eq!(cache.discount(Some("m"), Some("k")), 10_800);
        assert_eq!(cache.discount(Some("n"), Some("k")), 0, "another model caches apart");
        assert_eq!(cache.discount(Some("m"), None), 0, "no key, no cache");
        cache.learn("m", "k", 12_000, 12_000);
        assert_eq!(cache.discount(Some("m"), Some("k")), 0, "a miss: the next reserves the whole");
    }

    #[test]
    fn what_a_cached_token_costs_is_learned_per_model_for_replies_that_do_not_say() {
        let mut cache = PromptCache::default();
        assert_eq!(cache.charged_prompt("m", 1000, 900), None, "nothing said it yet: the whole prompt");
        cache.learn_rate("m", 1000, 900, 190);
        assert_eq!(cache.charged_prompt("m", 2000, 1500), Some(500 + 150));
        assert_eq!(cache.charged_prompt("m", 2000, 0), None, "nothing cached: usage says it all");
        assert_eq!(cache.charged_prompt("n", 2000, 1500), None);
        cache.learn_rate("m", 1000, 900, 5000);
        assert_eq!(cache.charged_prompt("m", 100, 100), Some(100), "never more than the whole");
    }

    #[test]
    fn only_so_many_keys_are_remembered() {
        let mut cache = PromptCache::default();
        for i in 0..=REMEMBERED {
            cache.learn("m", &i.to_string(), 100, 10);
        }
        assert_eq!(cache.discount(Some("m"), Some("0")), 0, "the oldest went");
        assert_eq!(cache.discount(Some("m"), Some(&REMEMBERED.to_string())), 90);
        assert_eq!(cache.discounts["m"].len(), REMEMBERED);
    }
}
