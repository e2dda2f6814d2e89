//! The client side on a virtual clock: every request goes through the limiter, is
//! "sent" across a network with random transit, and its response is settled,
//! learned from, or retried by the policy, as the wasm client will do for real.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Duration;

use mistral_ratelimit::client::calibration::Counting;
use mistral_ratelimit::client::{Action, Call, ClientState, Event as ClientEvent, Input, Kind, Now, Plan, Timeouts};
use mistral_ratelimit::retry::{Random, RetryPolicy, SplitMix64};
use mistral_ratelimit::{
    Instant, LaneSpec, LimitChange, Limiter, LimiterConfig, Priority, Reservation, Status, WaitState, Waiter, WaiterId,
};

use crate::options::Options;
use mock_mistral::gateway::Admission;

use crate::server::{Arrival, Limits, Server};

pub struct Request {
    /// The prompt as the server counts it.
    pub prompt: u64,
    pub completion: u64,
    pub arrives: Instant,
    pub done: Option<Instant>,
    pub failed: Option<String>,
    call: Option<Call>,
}

enum Event {
    Submit(usize),
    Wake,
    Woke(usize),
    Arrive(usize),
    /// The server has produced the reply: its completion is charged.
    Complete(usize, Admission, Duration),
    /// The reply reaches the client.
    Respond(usize, u16, Vec<(String, String)>, String),
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
    pub state: ClientState,
    pub server: Server,
    pub samples: Vec<Sample>,
    /// The limits 429s and probes changed, when.
    pub limits: Vec<(Instant, LimitChange)>,
    rng: SplitMix64,
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
        let state = ClientState::new(Limiter::new(LimiterConfig { lanes, ..LimiterConfig::default() }));
        let requests = (0..opts.requests)
            .map(|i| {
                let (lo, hi) = opts.prompt_tokens;
                let estimate = lo + (rng.unit() * (hi - lo + 1) as f64) as u64;
                let prompt = (estimate as f64 * opts.count_factor).ceil() as u64;
                let completion = (opts.max_tokens as f64 * (0.2 + 0.8 * rng.unit())) as u64;
                let arrives = if opts.arrival_rps > 0.0 {
                    Instant::ZERO + Duration::from_secs_f64(i as f64 / opts.arrival_rps)
                } else {
                    Instant::ZERO
                };
                let batch = opts.batch_every > 0 && i % opts.batch_every == opts.batch_every - 1;
                let priority = if batch { Priority::Batch } else { Priority::Interactive };
                // The same call machine the wasm client runs, with a patient policy.
                let retry = RetryPolicy { max_retries: 10, ..RetryPolicy::default() };
                let plan = Plan {
                    model: Some("mistral-small-latest".into()),
                    prompt: estimate,
                    output: opts.max_tokens,
                    counting: Counting::Heuristic,
                    ..Plan::free(Kind::ChatComplete, priority, retry, Timeouts::default())
                };
                Request { prompt, completion, arrives, done: None, failed: None, call: Some(Call::new(plan)) }
            })
            .collect();
        let first = Limits { at: Duration::ZERO, rps: opts.server_rps, tpm: opts.server_tpm };
        let mut limits = vec![first];
        limits.extend(opts.server_changes.iter().map(|&(at, rps, tpm)| Limits { at, rps, tpm }));
        limits.sort_by_key(|l| l.at);
        let server = Server::new(limits, opts.request_headers, opts.retry_after, opts.tokens_per_second);
        Sim {
            requests,
            state,
            server,
            samples: Vec::new(),
            limits: Vec::new(),
            rng,
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

    /// Retries the calls made.
    pub fn retries(&self) -> u64 {
        self.state.stats().retries
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
                Event::Submit(i) => self.feed(i, Input::Start, now),
                Event::Wake => {
                    self.wake_scheduled = None;
                    self.state.limiter().tick(now);
                }
                Event::Woke(i) => self.feed(i, Input::Woke, now),
                Event::Arrive(i) => self.arrive(i, now),
                Event::Complete(i, admission, processing) => self.complete(i, &admission, processing, now),
                Event::Respond(i, status, headers, body) => self.respond(i, status, headers, &body, now),
                Event::Sample => {
                    let status = self.state.limiter().status(now);
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

    /// Feeds call `i` an input and does what it answers, until it waits on something.
    fn feed(&mut self, i: usize, input: Input<'_>, now: Instant) {
        let mut call = self.requests[i].call.take().expect("a call is fed one input at a time");
        let mut input = input;
        loop {
            let action = call.step(input, &mut self.state, Now { at: now, wall: None, rng: &mut self.rng });
            input = match action {
                Action::Reserve(demand) => match self.state.limiter().reserve(demand, now) {
                    Ok(Reservation::Ready(t)) => Input::Admitted(t),
                    Ok(Reservation::Queued(w)) => {
                        self.waiting.insert(w.id(), (i, w));
                        break;
                    }
                    Err(r) => Input::Refused(r),
                },
                Action::Send => {
                    self.sent += 1;
                    let transit = self.transit();
                    self.at(now + transit, Event::Arrive(i));
                    break;
                }
                Action::Sleep(until) => {
                    self.at(until, Event::Woke(i));
                    break;
                }
                Action::ReadBody | Action::Open | Action::Deliver(_) => {
                    unreachable!("the simulator's replies come whole, with their bodies")
                }
                Action::Finish(Ok(_)) => {
                    self.requests[i].done = Some(now);
                    break;
                }
                Action::Finish(Err(e)) => {
                    self.requests[i].failed = Some(e.message);
                    break;
                }
            };
        }
        for event in self.state.drain_events() {
            if let ClientEvent::Limit(change) = event {
                self.limits.push((now, change));
            }
        }
        self.requests[i].call = Some(call);
    }

    /// Polls the waiters the limiter admitted or refused, and arranges the next wake-up.
    fn serve_woken(&mut self, now: Instant) {
        loop {
            let woken = self.state.limiter().drain_woken();
            if woken.is_empty() {
                break;
            }
            for id in woken {
                let Some((i, w)) = self.waiting.remove(&id) else { continue };
                match w.poll(now) {
                    WaitState::Ready(t) => self.feed(i, Input::Admitted(t), now),
                    WaitState::Rejected(r) => self.feed(i, Input::Refused(r), now),
                    WaitState::Waiting { waiter, .. } => {
                        self.waiting.insert(id, (i, waiter));
                    }
                }
            }
        }
        if let Some(wake) = self.state.limiter().next_wake() {
            if self.wake_scheduled.is_none_or(|s| wake < s) {
                self.wake_scheduled = Some(wake);
                self.at(wake, Event::Wake);
            }
        }
    }

    fn arrive(&mut self, i: usize, now: Instant) {
        let (prompt, completion) = (self.requests[i].prompt, self.requests[i].completion);
        match self.server.arrive(now, prompt, completion) {
            Arrival::Admitted { processing, admission } => {
                self.at(now + processing, Event::Complete(i, admission, processing));
            }
            Arrival::RateLimited { headers, body } => {
                let back = self.transit();
                self.at(now + back, Event::Respond(i, 429, headers, body));
            }
        }
    }

    fn complete(&mut self, i: usize, admission: &Admission, processing: Duration, now: Instant) {
        let (prompt, completion) = (self.requests[i].prompt, self.requests[i].completion);
        let (headers, body) = self.server.complete(now, admission, processing, prompt, completion);
        let back = self.transit();
        self.at(now + back, Event::Respond(i, 200, headers, body));
    }

    fn respond(&mut self, i: usize, status: u16, headers: Vec<(String, String)>, body: &str, now: Instant) {
        if status == 429 {
            self.rate_limited += 1;
        }
        let mut call = self.requests[i].call.take().expect("a response follows a send");
        let action = call.step(
            Input::Head { status, headers },
            &mut self.state,
            Now { at: now, wall: None, rng: &mut self.rng },
        );
        assert!(matches!(action, Action::ReadBody), "a reply's body is read: {action:?}");
        self.requests[i].call = Some(call);
        self.feed(i, Input::Body(body), now);
    }
}
