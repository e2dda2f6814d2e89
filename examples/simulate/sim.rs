//! The client side on a virtual clock: every request goes through the limiter, is
//! "sent" across a network with random transit, and its response is settled,
//! learned from, or retried by the policy, as the wasm client will do for real.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use mistral_ratelimit::retry::{decide, ApiError, Attempt, Failure, Random, RetryPolicy, SplitMix64, Verdict};
use mistral_ratelimit::{
    parse_headers, Demand, Instant, LaneSpec, Limiter, LimiterConfig, Priority, Reservation, Status, Ticket, WaitState,
    Waiter, WaiterId,
};

use crate::options::Options;
use crate::server::{Answer, Server};

pub struct Request {
    pub prompt: u64,
    pub completion: u64,
    pub priority: Priority,
    pub arrives: Instant,
    pub attempts: u32,
    pub done: Option<Instant>,
    pub failed: Option<String>,
    ticket: Option<Ticket>,
    sent: Instant,
}

enum Event {
    Submit(usize),
    Wake,
    Arrive(usize),
    Respond(usize, Answer),
    Sample,
}

/// One line of the timeline: the state at the end of a simulated second.
pub struct Sample {
    pub at: Instant,
    pub status: Status,
    pub sent: u64,
    pub rate_limited: u64,
}

pub struct Sim {
    pub opts: Options,
    pub requests: Vec<Request>,
    pub limiter: Limiter,
    pub server: Server,
    pub samples: Vec<Sample>,
    pub retries: u64,
    rng: SplitMix64,
    policy: RetryPolicy,
    events: BinaryHeap<Reverse<(Instant, u64)>>,
    pending: HashMap<u64, Event>,
    seq: u64,
    waiting: HashMap<WaiterId, (usize, Waiter)>,
    wake_scheduled: Option<Instant>,
    sent: u64,
    rate_limited: u64,
}

impl Sim {
    pub fn new(opts: Options) -> Sim {
        let mut rng = SplitMix64::new(opts.seed);
        let lanes = vec![LaneSpec::request_rate(opts.rps).expect("validated"), LaneSpec::tokens_per_minute(opts.tpm)];
        let limiter = Limiter::new(LimiterConfig { lanes, ..LimiterConfig::default() });
        let requests = (0..opts.requests)
            .map(|i| {
                let (lo, hi) = opts.prompt_tokens;
                let prompt = lo + (rng.unit() * (hi - lo + 1) as f64) as u64;
                let completion = (opts.max_tokens as f64 * (0.2 + 0.8 * rng.unit())) as u64;
                let arrives = if opts.arrival_rps > 0.0 {
                    Instant::ZERO + Duration::from_secs_f64(i as f64 / opts.arrival_rps)
                } else {
                    Instant::ZERO
                };
                let batch = opts.batch_every > 0 && i % opts.batch_every == opts.batch_every - 1;
                Request {
                    prompt,
                    completion,
                    priority: if batch { Priority::Batch } else { Priority::Interactive },
                    arrives,
                    attempts: 0,
                    done: None,
                    failed: None,
                    ticket: None,
                    sent: Instant::ZERO,
                }
            })
            .collect();
        let server = Server::new(opts.server_rps, opts.server_tpm, opts.retry_after, opts.tokens_per_second);
        Sim {
            requests,
            limiter,
            server,
            samples: Vec::new(),
            retries: 0,
            rng,
            policy: RetryPolicy { timeout: Duration::from_secs(3600), max_retries: 10, ..RetryPolicy::default() },
            events: BinaryHeap::new(),
            pending: HashMap::new(),
            seq: 0,
            waiting: HashMap::new(),
            wake_scheduled: None,
            sent: 0,
            rate_limited: 0,
            opts,
        }
    }

    fn at(&mut self, t: Instant, e: Event) {
        self.seq += 1;
        self.pending.insert(self.seq, e);
        self.events.push(Reverse((t, self.seq)));
    }

    fn transit(&mut self) -> Duration {
        let (lo, hi) = self.opts.latency;
        lo + (hi - lo).mul_f64(self.rng.unit())
    }

    fn finished(&self) -> bool {
        self.requests.iter().all(|r| r.done.is_some() || r.failed.is_some())
    }

    pub fn run(&mut self) {
        for i in 0..self.requests.len() {
            let t = self.requests[i].arrives;
            self.at(t, Event::Submit(i));
        }
        self.at(Instant::ZERO + Duration::from_secs(1), Event::Sample);
        while let Some(Reverse((now, seq))) = self.events.pop() {
            let event = self.pending.remove(&seq).expect("every event is pending once");
            match event {
                Event::Submit(i) => self.submit(i, now),
                Event::Wake => {
                    self.wake_scheduled = None;
                    self.limiter.tick(now);
                }
                Event::Arrive(i) => self.arrive(i, now),
                Event::Respond(i, answer) => self.respond(i, answer, now),
                Event::Sample => {
                    let status = self.limiter.status(now);
                    self.samples.push(Sample { at: now, status, sent: self.sent, rate_limited: self.rate_limited });
                    (self.sent, self.rate_limited) = (0, 0);
                    if !self.finished() {
                        self.at(now + Duration::from_secs(1), Event::Sample);
                    }
                }
            }
            self.serve_woken(now);
        }
    }

    fn submit(&mut self, i: usize, now: Instant) {
        let r = &self.requests[i];
        let demand = Demand::tokens(r.prompt + self.opts.max_tokens).priority(r.priority);
        match self.limiter.reserve(demand, now) {
            Ok(Reservation::Ready(t)) => self.send(i, t, now),
            Ok(Reservation::Queued(w)) => {
                self.waiting.insert(w.id(), (i, w));
            }
            Err(rejection) => self.requests[i].failed = Some(rejection.to_string()),
        }
    }

    /// Polls the waiters the limiter admitted or refused, and arranges the next wake-up.
    fn serve_woken(&mut self, now: Instant) {
        for id in self.limiter.drain_woken() {
            let Some((i, w)) = self.waiting.remove(&id) else { continue };
            match w.poll(now) {
                WaitState::Ready(t) => self.send(i, t, now),
                WaitState::Rejected(r) => self.requests[i].failed = Some(r.to_string()),
                WaitState::Waiting { waiter, .. } => {
                    self.waiting.insert(id, (i, waiter));
                }
            }
        }
        if let Some(wake) = self.limiter.next_wake() {
            if self.wake_scheduled.is_none_or(|s| wake < s) {
                self.wake_scheduled = Some(wake);
                self.at(wake, Event::Wake);
            }
        }
    }

    fn send(&mut self, i: usize, ticket: Ticket, now: Instant) {
        let transit = self.transit();
        let r = &mut self.requests[i];
        r.ticket = Some(ticket);
        r.sent = now;
        r.attempts += 1;
        self.sent += 1;
        self.at(now + transit, Event::Arrive(i));
    }

    fn arrive(&mut self, i: usize, now: Instant) {
        let (prompt, completion) = (self.requests[i].prompt, self.requests[i].completion);
        let answer = self.server.arrive(now, prompt, completion);
        let back = self.transit();
        let at = match &answer {
            Answer::Ok { processing, .. } => now + *processing + back,
            Answer::RateLimited { .. } => now + back,
        };
        self.at(at, Event::Respond(i, answer));
    }

    fn respond(&mut self, i: usize, answer: Answer, now: Instant) {
        let ticket = self.requests[i].ticket.take().expect("a response follows a send");
        match answer {
            Answer::Ok { processing, headers } => {
                let r = &self.requests[i];
                ticket.settle(r.prompt + r.completion, now);
                let report = parse_headers(headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                self.limiter.observe_server(&report, None, now);
                self.limiter.observe_transit((now - r.sent).saturating_sub(processing));
                self.requests[i].done = Some(now);
            }
            Answer::RateLimited { headers, body } => {
                self.rate_limited += 1;
                // Refused before any work: no tokens were spent, the request was counted.
                ticket.settle(0, now);
                let body = ApiError::parse(&body);
                let r = &self.requests[i];
                let attempt =
                    Attempt { retries: r.attempts - 1, elapsed: now - r.arrives, idempotent: true, wall_clock: None };
                let failure = Failure::Status { status: 429, headers: headers.as_slice(), body: &body };
                match decide(&self.policy, &failure, &attempt, &mut self.rng) {
                    Verdict::Retry { after, .. } => {
                        self.retries += 1;
                        self.limiter.observe_rate_limited(after, now);
                        self.at(now + after, Event::Submit(i));
                    }
                    Verdict::GiveUp(why) => self.requests[i].failed = Some(why.to_string()),
                }
            }
        }
    }
}
