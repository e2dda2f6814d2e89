//! The gateway in front of the models, pure (time is passed in, so the simulator
//! runs it on a virtual clock): it checks the key, enforces the workspace's (or
//! key's) spending limit, plan, requests per second, requests in flight, tokens per
//! minute and tokens per month, serves at priority when it may, charges cached
//! prompt tokens at their discount, counts what it saw, and writes the
//! `x-ratelimit-*` headers Mistral sends on JSON replies.

mod cache;
mod in_flight;
mod meter;
mod stats;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mistral_ratelimit::Instant;

use self::cache::PromptCache;
pub use self::cache::{Cacheable, Message};
use self::meter::Meter;
pub use self::stats::Stats;
use crate::config::{Config, RequestHeaders, Scope};

const MONTH: Duration = Duration::from_secs(30 * 24 * 3600);

/// One scope's meters (`None` when that limit is off).
#[derive(Debug)]
struct Budget {
    requests: Option<Meter>,
    tokens: Option<Meter>,
    month: Option<Meter>,
    /// Admitted requests whose replies are not yet wholly sent.
    in_flight: u64,
    /// Per model with `--priority-rps`: its requests served at priority.
    priority: HashMap<&'static str, Meter>,
    /// Tokens charged since the start (or the last reset), for `--spending-limit`.
    spent: u64,
    cache: PromptCache,
}

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Too many requests (per second or in flight) or tokens for now.
    RateLimited,
    /// The month's tokens are spent.
    MonthlyQuota,
    /// The model's own rate (`--model-rps`) is spent: its service tier is saturated.
    Capacity,
    /// The model is not on the plan (`--plan-models`).
    NotOnPlan,
    /// The spending limit is reached.
    SpendingLimit,
}

/// The service tier a request asks for (`service_tier`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// Priority while the model's priority rate allows, else standard.
    Auto,
    StandardOnly,
}

/// What a request asks of the gateway.
#[derive(Debug)]
pub struct Ask<'a> {
    pub model: &'a str,
    /// Prompt tokens as the text counts them.
    pub prompt: u64,
    pub tier: Tier,
    /// A chat prompt with a `prompt_cache_key`.
    pub cache: Option<Cacheable>,
}

impl Ask<'_> {
    /// A plain request: standard tier, nothing to cache.
    pub fn new(model: &str, prompt: u64) -> Ask<'_> {
        Ask { model, prompt, tier: Tier::StandardOnly, cache: None }
    }
}

/// What an admitted request's prompt counts for, and how it is served.
#[derive(Clone, Copy, Debug)]
pub struct Bill {
    /// The whole prompt as the gateway counts it (`--prompt-count-factor` applied):
    /// what usage reports.
    pub prompt: u64,
    /// Of which cached; `None` when the request had no `prompt_cache_key`.
    pub cached: Option<u64>,
    /// What the prompt was charged: the part not cached, and the cached part at
    /// `--prompt-cache-charge`.
    pub charged: u64,
    /// Served at priority, rather than at standard.
    pub priority: bool,
}

/// An admitted request's place in flight, given back by [`Gateway::release`].
#[derive(Debug)]
pub struct Admission {
    scope: String,
    /// `Gateway::resets` when admitted: a reset since has forgotten it.
    epoch: u64,
}

#[derive(Debug)]
pub struct Gateway {
    config: Arc<Config>,
    origin: Instant,
    budgets: HashMap<String, Budget>,
    /// Per model with `--model-rps`: its requests.
    models: HashMap<&'static str, Meter>,
    pub stats: Stats,
    resets: u64,
}

impl Gateway {
    /// A gateway whose clock reads `now` as it starts: its time is passed in, so
    /// the mock (on the wall clock) and the simulator (on a virtual one) run the
    /// same rules.
    pub fn new(config: Config, now: Instant) -> Gateway {
        Gateway {
            config: Arc::new(config),
            origin: now,
            budgets: HashMap::new(),
            models: HashMap::new(),
            stats: Stats::default(),
            resets: 0,
        }
    }

    /// Forgets every budget and every statistic, requests in flight included.
    pub fn reset(&mut self, now: Instant) {
        self.resets += 1;
        self.budgets.clear();
        self.models.clear();
        self.stats = Stats::default();
        self.origin = now;
    }

    /// From `now` on, the workspace allows `rps` requests a second and `tpm` tokens
    /// a minute (a plan that changed: the simulator's `--server-change`). What the
    /// windows hold stays counted.
    pub fn set_limits(&mut self, rps: u64, tpm: u64) {
        let config = Arc::make_mut(&mut self.config);
        (config.rps, config.tpm) = (rps, tpm);
        for b in self.budgets.values_mut() {
            for (meter, capacity) in [(b.requests.as_mut(), rps), (b.tokens.as_mut(), tpm)] {
                if let Some(m) = meter {
                    m.capacity = capacity;
                }
            }
        }
    }

    /// The caller's key, or `None` when it is missing or not accepted.
    pub fn authenticate(&self, authorization: Option<&str>) -> Option<String> {
        let key = authorization.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim).filter(|k| !k.is_empty());
        match key {
            Some(k) if self.config.api_keys.is_empty() || self.config.api_keys.iter().any(|a| a == k) => {
                Some(k.to_owned())
            }
            _ => None,
        }
    }

    /// Whose budget `key` spends.
    fn scope<'k>(&self, key: &'k str) -> &'k str {
        match self.config.scope {
            Scope::Workspace => "",
            Scope::Key => key,
        }
    }

    fn budget(&mut self, key: &str) -> &mut Budget {
        let scope = self.scope(key);
        let (c, origin) = (&self.config, self.origin);
        let meter = |cap: u64, w: Duration| (cap > 0).then(|| Meter::new(c.algorithm, cap, w, origin));
        self.budgets.entry(scope.to_owned()).or_insert_with(|| Budget {
            requests: meter(c.rps, Duration::from_secs(1)),
            tokens: meter(c.tpm, Duration::from_secs(60)),
            month: meter(c.tokens_per_month, MONTH),
            in_flight: 0,
            priority: HashMap::new(),
            spent: 0,
            cache: PromptCache::default(),
        })
    }

    /// A request arrives: admit it (charging the request and its prompt, and
    /// counting it in flight until it is released) or refuse it. One refused for
    /// being over the cap in flight is charged nothing; refusals for the spending
    /// limit and the plan come first and count in no limit.
    pub fn admit(&mut self, key: &str, ask: Ask<'_>, now: Instant) -> Result<(Admission, Bill), Refusal> {
        let (c, origin) = (Arc::clone(&self.config), self.origin);
        let b = self.budget(key);
        if c.spending_limit.is_some_and(|limit| b.spent >= limit) {
            return Err(Refusal::SpendingLimit);
        }
        if c.plan_models.as_ref().is_some_and(|plan| !plan.contains(&ask.model)) {
            self.stats.rate_limited();
            return Err(Refusal::NotOnPlan);
        }
        let prompt = c.prompt_tokens(ask.prompt);
        let cached = ask.cache.as_ref().map(|p| if c.prompt_cache { c.prompt_tokens(b.cache.cached(p)) } else { 0 });
        let cached_tokens = cached.unwrap_or(0);
        let charged = prompt - cached_tokens + c.cached_charge(cached_tokens);
        if b.month.as_mut().is_some_and(|m| !m.allows(now, charged)) {
            self.stats.rate_limited();
            return Err(Refusal::MonthlyQuota);
        }
        let priority_rps = c.priority_rps.iter().find(|(id, _)| *id == ask.model).filter(|_| ask.tier == Tier::Auto);
        let priority = priority_rps.map(|&(id, rps)| {
            b.priority.entry(id).or_insert_with(|| Meter::new(c.algorithm, rps, Duration::from_secs(1), origin))
        });
        let priority = priority.and_then(|m| m.allows(now, 1).then_some(m));
        // Priority requests are outside the standard request rate, not the rest.
        let fits = (c.max_in_flight == 0 || b.in_flight < c.max_in_flight)
            && (priority.is_some() || b.requests.as_mut().is_none_or(|m| m.allows(now, 1)))
            && b.tokens.as_mut().is_none_or(|m| m.allows(now, charged));
        if !fits {
            self.stats.rate_limited();
            return Err(Refusal::RateLimited);
        }
        let served_at_priority = priority.is_some();
        match priority {
            Some(m) => m.charge(now, 1),
            None => {
                if let Some(m) = b.requests.as_mut() {
                    m.charge(now, 1);
                }
                self.standard_capacity(ask.model, now)?;
            }
        }
        if let Some(p) = ask.cache.filter(|_| c.prompt_cache) {
            self.budget(key).cache.store(p);
        }
        self.charge(key, charged, now);
        self.budget(key).in_flight += 1;
        self.stats.admitted(now);
        let bill = Bill { prompt, cached, charged, priority: served_at_priority };
        Ok((Admission { scope: self.scope(key).to_owned(), epoch: self.resets }, bill))
    }

    /// Takes a request from `model`'s own standard rate (`--model-rps`), or says its
    /// service tier is saturated.
    fn standard_capacity(&mut self, model: &str, now: Instant) -> Result<(), Refusal> {
        let Some(&(id, rps)) = self.config.model_rps.iter().find(|(id, _)| *id == model) else { return Ok(()) };
        let (algorithm, origin) = (self.config.algorithm, self.origin);
        let meter = self.models.entry(id).or_insert_with(|| Meter::new(algorithm, rps, Duration::from_secs(1), origin));
        if !meter.allows(now, 1) {
            self.stats.rate_limited();
            return Err(Refusal::Capacity);
        }
        meter.charge(now, 1);
        Ok(())
    }

    /// The admitted request's reply was wholly sent, or abandoned.
    pub fn release(&mut self, admission: &Admission, now: Instant) {
        if admission.epoch != self.resets {
            return; // a reset since has forgotten it
        }
        if let Some(b) = self.budgets.get_mut(&admission.scope) {
            b.in_flight = b.in_flight.saturating_sub(1);
        }
        self.stats.released(now);
    }

    /// Charges tokens produced (or a prompt) to the key's budget.
    pub fn charge(&mut self, key: &str, tokens: u64, now: Instant) {
        let b = self.budget(key);
        for m in [b.tokens.as_mut(), b.month.as_mut()].into_iter().flatten() {
            m.charge(now, tokens);
        }
        b.spent += tokens;
        self.stats.charged(now, tokens);
    }

    /// The `x-ratelimit-*` headers for the key at `now`, with the request's cost.
    pub fn headers(&mut self, key: &str, now: Instant, query_cost: Option<u64>) -> Vec<(String, String)> {
        let stated = self.config.request_headers;
        let b = self.budget(key);
        let mut out = Vec::new();
        if let Some(m) = b.requests.as_ref().filter(|_| stated == RequestHeaders::Minute) {
            // What captures of the real API carry: a minute's figure, no remainder.
            out.push(("x-ratelimit-limit-req-minute".into(), (m.capacity * 60).to_string()));
        }
        let requests = if stated == RequestHeaders::Second { b.requests.as_mut() } else { None };
        for (meter, name) in
            [(requests, "req-second"), (b.tokens.as_mut(), "tokens-minute"), (b.month.as_mut(), "tokens-month")]
        {
            if let Some(m) = meter {
                let used = m.used(now);
                out.push((format!("x-ratelimit-limit-{name}"), m.capacity.to_string()));
                out.push((format!("x-ratelimit-remaining-{name}"), m.capacity.saturating_sub(used).to_string()));
            }
        }
        if let Some(cost) = query_cost {
            out.push(("x-ratelimit-tokens-query-cost".into(), cost.to_string()));
        }
        out
    }
}
