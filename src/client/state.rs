//! What every call of one client shares: the limiter, what replies taught (output
//! lengths, conversation sizes, estimate ratios), the counters, and the events not
//! yet handed to listeners. Pure: the edge and the simulator each hold one.

use serde_json::Value;

use super::alerts::{Alert, AlertPolicy, Alerts};
use super::barred::Barred;
use super::calibration::Calibration;
use super::call::Plan;
use super::estimate::{request_tokens, Estimator};
use super::event::Event;
use super::model_metrics::Metrics;
use super::prompt_cache::PromptCache;
use super::usage::Tier;
use super::{CallError, ConversationContext, Kind, OutputHistory, Stats, Tokens, Usage};
use crate::feedback::ServerReport;
use crate::limiter::{Limiter, Refused, Ticket};
use crate::time::Instant;

/// One client's shared books.
#[derive(Debug)]
pub struct ClientState {
    limiter: Limiter,
    history: OutputHistory,
    context: ConversationContext,
    calibration: Calibration,
    prompt_cache: PromptCache,
    barred: Barred,
    stats: Stats,
    metrics: Metrics,
    alerts: Alerts,
    last_report: ServerReport,
    /// Rate-limit headers ignored as absurd, since the client was made.
    ignored: u64,
    events: Vec<Event>,
}

impl ClientState {
    /// Books around `limiter`.
    pub fn new(limiter: Limiter) -> ClientState {
        limiter.start_cautious();
        ClientState {
            limiter,
            history: OutputHistory::default(),
            context: ConversationContext::default(),
            calibration: Calibration::default(),
            prompt_cache: PromptCache::default(),
            barred: Barred::default(),
            stats: Stats::default(),
            metrics: Metrics::default(),
            alerts: Alerts::new(AlertPolicy::default()),
            last_report: ServerReport::default(),
            ignored: 0,
            events: Vec::new(),
        }
    }

    /// The same, raising alerts by `policy`.
    pub fn with_alerts(self, policy: AlertPolicy) -> ClientState {
        ClientState { alerts: Alerts::new(policy), ..self }
    }

    /// The limiter (a handle; clones share it).
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// What the calls of each model came to.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub(crate) fn metrics_mut(&mut self) -> &mut Metrics {
        &mut self.metrics
    }

    /// Emits the alerts the metrics and the month's token lane raise at `at`.
    pub(crate) fn check_alerts(&mut self, at: Instant) {
        let month = self.limiter.month_usage(at);
        for Alert { kind, value, threshold } in self.alerts.check(&self.metrics, month, at) {
            self.emit(Event::Alert { kind, value, threshold });
        }
    }

    /// The last rate-limit report a reply carried.
    pub fn last_report(&self) -> &ServerReport {
        &self.last_report
    }

    /// How many rate-limit headers replies carried that made no sense and were
    /// ignored (a zero, negative or huge limit, a window under a second or over a
    /// month, more windows than the limiter learns).
    pub fn ignored(&self) -> u64 {
        self.ignored
    }

    /// The events since the last call, oldest first.
    pub fn drain_events(&mut self) -> Vec<Event> {
        // Probes step up as time passes, outside any call: collected here.
        self.events.extend(self.limiter.drain_limit_changes().into_iter().map(Event::Limit));
        std::mem::take(&mut self.events)
    }

    pub(crate) fn emit(&mut self, event: Event) {
        self.events.push(event);
    }

    /// What the server barred.
    pub(crate) fn barred(&self) -> &Barred {
        &self.barred
    }

    pub(crate) fn barred_mut(&mut self) -> &mut Barred {
        &mut self.barred
    }

    /// A call met a spending limit (`error`, a 402) at `now`: every call waiting
    /// for admission ends with it, and later calls too until it resets. Returns
    /// the error with its reset time.
    pub(crate) fn spending_limit(
        &mut self,
        error: CallError,
        now: Instant,
        wall: Option<std::time::SystemTime>,
    ) -> CallError {
        let error = self.barred.spend_limit(error, now, wall);
        self.limiter.refuse_waiting();
        self.emit(Event::SpendingLimit { message: error.message.clone(), reset_at: error.reset_at.clone() });
        error
    }

    pub(crate) fn stats_mut(&mut self) -> &mut Stats {
        &mut self.stats
    }

    /// `base` with what it will reserve: its body `body` (sent as `text`) counted by
    /// `estimator`. `conversation` is the id an append or restart continues.
    pub fn estimate(
        &self,
        base: Plan,
        conversation: Option<&str>,
        text: &str,
        body: &Value,
        estimator: &dyn Estimator,
    ) -> Plan {
        let kind = base.kind;
        if !kind.costs_tokens() {
            return base;
        }
        let est = request_tokens(estimator, &self.history, text, body);
        // The server's prompt for a turn includes the stored history.
        let history = match kind {
            Kind::ConversationAppend | Kind::ConversationRestart => {
                conversation.map_or(0, |id| self.context.history(id))
            }
            _ => 0,
        };
        Plan {
            model: body.get("model").and_then(Value::as_str).map(str::to_owned),
            prompt: est.prompt,
            cache_key: body.get("prompt_cache_key").and_then(Value::as_str).map(str::to_owned),
            history,
            // Embeddings and classifiers write nothing.
            output: if kind.tokens() == Tokens::InputOutput { est.output } else { 0 },
            counting: estimator.counting(),
            ..base
        }
    }

    /// What an attempt of `plan` reserves now: its prompt (calibrated, plus history,
    /// less what the prompt cache spared the last call under its key) and that plus
    /// the output allowance.
    pub(crate) fn reservation(&self, plan: &Plan) -> (u64, u64) {
        let prompt = self.calibration.reserve(plan.model.as_deref(), plan.counting, plan.prompt) + plan.history;
        let prompt =
            prompt.saturating_sub(self.prompt_cache.discount(plan.model.as_deref(), plan.cache_key.as_deref()));
        (prompt, prompt + plan.output)
    }

    /// What a reply of `plan` that reported `usage` was charged, as tokens spent
    /// on arrival and produced since: the server's own statement (`query_cost`)
    /// when it covers the output at least; else, for a prompt partly cached, what
    /// such statements taught a cached token costs; else `usage`. What the charge
    /// spared the prompt is learned for the next call under the same cache key.
    pub(crate) fn charged(&mut self, plan: &Plan, usage: Usage, query_cost: Option<u64>) -> (u64, u64) {
        let model = plan.model.as_deref().unwrap_or_default();
        let charged_prompt = match query_cost.filter(|&q| q >= usage.completion) {
            Some(cost) => {
                let charged_prompt = cost - usage.completion;
                self.prompt_cache.learn_rate(model, usage.prompt, usage.cached, charged_prompt);
                Some(charged_prompt)
            }
            None => self.prompt_cache.charged_prompt(model, usage.prompt, usage.cached),
        };
        let Some(charged_prompt) = charged_prompt else {
            return (usage.prompt, usage.completion);
        };
        if let (Some(model), Some(key)) = (&plan.model, &plan.cache_key) {
            let before = self.prompt_cache.discount(Some(model), Some(key));
            self.prompt_cache.learn(model, key, usage.prompt, charged_prompt);
            // Calls of the key waiting at the old price would wait for room they never need.
            if self.prompt_cache.discount(Some(model), Some(key)) > before {
                self.limiter.reprice(Some(model), key);
            }
        }
        (charged_prompt, usage.completion)
    }

    /// Ends `ticket`: `early` tokens spent on arrival, `late` ones produced since.
    pub(crate) fn settle(&mut self, ticket: Ticket, early: u64, late: u64, now: Instant) {
        let s = ticket.settle_usage(early, late, now);
        self.emit(Event::Settled { tokens: early + late, refunded: s.refunded, debt: s.debt });
    }

    /// Ends `ticket` refused by a 429: the evidence for the limiter.
    pub(crate) fn refused(&mut self, ticket: Ticket, now: Instant) -> Refused {
        let (s, refused) = ticket.refused(now);
        self.emit(Event::Settled { tokens: 0, refunded: s.refunded, debt: s.debt });
        refused
    }

    /// Learns from a reply's rate-limit headers.
    pub(crate) fn observe(&mut self, report: &ServerReport, model: Option<&str>, now: Instant) {
        self.ignored += u64::from(report.ignored);
        if report.is_empty() {
            return;
        }
        self.ignored += u64::from(self.limiter.observe_server(report, model, now));
        self.last_report = report.clone();
    }

    /// Learns from a reply's usage: counters, the model's reply length, the
    /// conversation's size, and how the prompt compared with its estimate.
    pub(crate) fn record_usage(&mut self, plan: &Plan, usage: Usage, conversation: Option<&str>) {
        self.stats.tokens_in += usage.prompt;
        self.stats.tokens_out += usage.completion;
        let model = self.metrics.of(plan.model.as_deref());
        model.tokens_in += usage.prompt;
        model.tokens_out += usage.completion;
        model.tokens_cached += usage.cached;
        match usage.tier {
            Some(Tier::Priority) => model.priority_calls += 1,
            Some(Tier::Standard) => model.standard_calls += 1,
            None => {}
        }
        if let Some(m) = &plan.model {
            self.history.record(m, usage.completion);
            let reported = usage.prompt.saturating_sub(plan.history);
            if let Some(ratio) = self.calibration.learn(m, plan.counting, plan.prompt, reported) {
                self.emit(Event::Calibrated { model: m.clone(), ratio });
            }
        }
        if let Some(id) = conversation {
            self.context.record(id, usage.total());
        }
    }
}
