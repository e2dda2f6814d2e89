//! Every transition of the call machine on a virtual clock: each success, retry,
//! give-up and abort path, and what each leaves in the books.

use std::time::Duration;

use super::*;
use crate::client::calibration::Counting;
use crate::client::{Kind, Timeouts};
use crate::feedback::parse_headers;
use crate::limiter::{LaneSpec, Limiter, LimiterConfig, MarginPolicy, Priority, Rejection, Reservation, WaitState};
use crate::retry::RetryPolicy;

fn at(ms: u64) -> Instant {
    Instant::from_micros(ms * 1000)
}

fn state() -> ClientState {
    let lanes = vec![LaneSpec::requests_per_second(2), LaneSpec::tokens_per_minute(10_000)];
    let limiter = Limiter::new(LimiterConfig {
        lanes,
        margin: MarginPolicy::fixed(Duration::from_millis(10)),
        ..LimiterConfig::default()
    });
    stated(ClientState::new(limiter), 2, 10_000)
}

/// `state` after a reply that stated its limits: they are spent in full from
/// the start, and no 429 lowers them.
fn stated(state: ClientState, rps: u64, tpm: u64) -> ClientState {
    let (rps, tpm) = (rps.to_string(), tpm.to_string());
    let report = parse_headers([
        ("x-ratelimit-limit-req-second", rps.as_str()),
        ("x-ratelimit-limit-tokens-minute", tpm.as_str()),
    ]);
    state.limiter().observe_server(&report, None, at(0));
    state
}

fn plan(kind: Kind, stream: bool) -> Plan {
    let retry = RetryPolicy { base_delay: Duration::from_millis(100), ..RetryPolicy::default() };
    Plan {
        model: Some("m".into()),
        prompt: 100,
        output: 50,
        stream,
        ..Plan::free(kind, Priority::Interactive, retry, Timeouts::default())
    }
}

/// Feeds `input` at `ms`, with a fixed jitter.
fn step(call: &mut Call, state: &mut ClientState, ms: u64, input: Input<'_>) -> Action {
    call.step(input, state, Now { at: at(ms), wall: None, rng: &mut || 0.5 })
}

/// Starts `call` and admits it at once; the action after admission.
fn admit(call: &mut Call, state: &mut ClientState, ms: u64) -> Action {
    let input = match step(call, state, ms, Input::Start) {
        Action::Reserve(d) => match state.limiter().reserve(d, at(ms)) {
            Ok(Reservation::Ready(t)) => Input::Admitted(t),
            other => panic!("not admitted at once: {other:?}"),
        },
        other => panic!("a call starts by reserving, not {other:?}"),
    };
    step(call, state, ms, input)
}

fn head(status: u16, headers: &[(&str, &str)]) -> Input<'static> {
    Input::Head { status, headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
}

const REPLY: &str = r#"{"id":"x","usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150}}"#;

fn settled_nothing_held(state: &ClientState, ms: u64) {
    let s = state.limiter().status(at(ms));
    assert_eq!((s.in_flight, s.queued), (0, 0), "a reservation was left open");
}

#[test]
fn a_plain_call_reserves_sends_settles_and_learns() {
    let mut s = state();
    let mut call = Call::new(plan(Kind::ChatComplete, false));
    assert!(matches!(admit(&mut call, &mut s, 0), Action::Send));
    assert!(matches!(
        step(&mut call, &mut s, 40, head(200, &[("x-ratelimit-limit-req-second", "1")])),
        Action::ReadBody
    ));
    assert!(matches!(step(&mut call, &mut s, 50, Input::Body(REPLY)), Action::Finish(Ok(Reply::Json))));
    assert!(call.is_done());
    settled_nothing_held(&s, 50);
    let lane = &s.limiter().status(at(50)).lanes[0];
    assert_eq!(lane.limit, 1, "the header's limit was learned");
    let tokens = &s.limiter().status(at(50)).lanes[1];
    assert_eq!(tokens.used, 150, "settled at the real usage, not the estimate");
    let names: Vec<_> = s.drain_events().iter().map(Event::name).collect();
    assert_eq!(names, ["queued", "sent", "calibrated", "settled"]);
    assert_eq!(s.stats().tokens_in, 120);
}

#[test]
fn prompts_counted_higher_by_the_server_raise_the_next_reservation() {
    let mut s = state();
    let mut call = Call::new(plan(Kind::ChatComplete, false));
    admit(&mut call, &mut s, 0);
    step(&mut call, &mut s, 10, head(200, &[]));
    step(&mut call, &mut s, 20, Input::Body(REPLY));
    let mut next = Call::new(plan(Kind::ChatComplete, false));
    match step(&mut next, &mut s, 30, Input::Start) {
        Action::Reserve(d) => assert_eq!(d.tokens, 120 + 50, "the prompt is reserved at the server's ratio"),
        other => panic!("{other:?}"),
    }
    let mut heuristic_low = Call::new(Plan { counting: Counting::Tokenizer, ..plan(Kind::ChatComplete, false) });
    match step(&mut heuristic_low, &mut s, 30, Input::Start) {
        Action::Reserve(d) => assert_eq!(d.tokens, 150, "learned per way of counting"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_429_settles_free_closes_admission_and_retries_in_the_same_place() {
    let mut s = state();
    let mut call = Call::new(plan(Kind::ConversationStart, false));
    admit(&mut call, &mut s, 0);
    step(&mut call, &mut s, 10, head(429, &[("retry-after", "1")]));
    let wake = match step(&mut call, &mut s, 10, Input::Body(r#"{"type":"rate_limited","code":"1300"}"#)) {
        Action::Sleep(t) => t,
        other => panic!("a plain 429 is retried even for a write: {other:?}"),
    };
    assert!(wake >= at(1010), "waited what the server said: {wake:?}");
    assert_eq!(s.stats().rate_limited, 1);
    assert!(s.limiter().status(at(10)).closed_for > Duration::ZERO, "admission closed for everyone");
    settled_nothing_held(&s, 10);
    match step(&mut call, &mut s, 1100, Input::Woke) {
        Action::Reserve(d) => assert!(d.arrival.is_some(), "the retry keeps its place in line"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_5xx_is_retried_for_reads_and_final_for_writes() {
    let mut s = state();
    let mut write = Call::new(plan(Kind::ConversationAppend, false));
    admit(&mut write, &mut s, 0);
    step(&mut write, &mut s, 10, head(503, &[("mistral-correlation-id", "c-1")]));
    match step(&mut write, &mut s, 10, Input::Body("upstream failed")) {
        Action::Finish(Err(e)) => {
            assert_eq!((e.kind, e.status), (ErrorKind::Server, Some(503)));
            assert_eq!(e.correlation_id.as_deref(), Some("c-1"));
            assert!(e.message.contains("processed"), "{}", e.message);
        }
        other => panic!("{other:?}"),
    }
    let tokens = &s.limiter().status(at(10)).lanes[1];
    assert_eq!(tokens.used, 100, "a 5xx may have read the prompt: it stays booked");
    let mut read = Call::new(plan(Kind::ChatComplete, false));
    admit(&mut read, &mut s, 20);
    step(&mut read, &mut s, 30, head(502, &[]));
    assert!(matches!(step(&mut read, &mut s, 30, Input::Body("")), Action::Sleep(_)));
}

#[test]
fn client_errors_are_final_and_typed() {
    let mut s = state();
    let mut call = Call::new(plan(Kind::ChatComplete, false));
    admit(&mut call, &mut s, 0);
    step(&mut call, &mut s, 10, head(422, &[]));
    match step(&mut call, &mut s, 10, Input::Body(r#"{"detail":[{"loc":["body"],"msg":"bad","type":"x"}]}"#)) {
        Action::Finish(Err(e)) => {
            assert_eq!(e.kind, ErrorKind::Validation);
            assert!(e.detail.unwrap().contains("loc"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.limiter().status(at(10)).lanes[1].used, 0, "a 4xx did no work: all refunded");
}

#[test]
fn an_unreachable_server_refunds_everything_and_retries_even_writes() {
    let mut s = state();
    let mut call = Call::new(plan(Kind::ConversationStart, false));
    admit(&mut call, &mut s, 0);
    let action = step(&mut call, &mut s, 5, Input::Lost(Lost::Unreachable("ECONNREFUSED".into())));
    assert!(matches!(action, Action::Sleep(_)));
    assert_eq!(s.limiter().status(at(5)).lanes[1].used, 0);
    settled_nothing_held(&s, 5);
}

#[test]
fn a_broken_connection_or_a_slow_attempt_repeats_only_harmless_calls() {
    let mut s = state();
    let mut write = Call::new(plan(Kind::ConversationStart, false));
    admit(&mut write, &mut s, 0);
    match step(&mut write, &mut s, 60_000, Input::TimedOut) {
        Action::Finish(Err(e)) => {
            assert_eq!(e.kind, ErrorKind::Timeout);
            assert!(e.message.contains("timeoutMs"), "{}", e.message);
        }
        other => panic!("{other:?}"),
    }
    let mut read = Call::new(plan(Kind::ChatComplete, false));
    admit(&mut read, &mut s, 70_000);
    step(&mut read, &mut s, 70_010, head(200, &[]));
    assert!(matches!(step(&mut read, &mut s, 70_020, Input::Lost(Lost::Interrupted("cut".into()))), Action::Sleep(_)));
    settled_nothing_held(&s, 70_020);
}

#[test]
fn retries_end_when_the_policy_says() {
    let mut s = state();
    let mut p = plan(Kind::ChatComplete, false);
    p.retry.max_retries = 1;
    let mut call = Call::new(p);
    admit(&mut call, &mut s, 0);
    step(&mut call, &mut s, 10, head(500, &[]));
    let Action::Sleep(t) = step(&mut call, &mut s, 10, Input::Body("")) else { panic!("first 500 is retried") };
    let ms = t.as_micros() / 1000 + 1;
    let Action::Reserve(d) = step(&mut call, &mut s, ms, Input::Woke) else { panic!() };
    let Ok(Reservation::Ready(ticket)) = s.limiter().reserve(d, at(ms)) else { panic!() };
    step(&mut call, &mut s, ms, Input::Admitted(ticket));
    step(&mut call, &mut s, ms + 10, head(500, &[]));
    match step(&mut call, &mut s, ms + 10, Input::Body("")) {
        Action::Finish(Err(e)) => assert!(e.message.contains("maxRetries"), "{}", e.message),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.stats().retries, 1);
}

#[test]
fn a_wait_past_the_queue_timeout_is_refused_at_once_with_its_prediction() {
    let mut s = state();
    let mut p = plan(Kind::ChatComplete, false);
    p.timeouts.queue = Some(Duration::from_millis(200));
    for _ in 0..2 {
        let mut c = Call::new(p.clone());
        admit(&mut c, &mut s, 0);
    }
    let mut late = Call::new(p);
    let Action::Reserve(d) = step(&mut late, &mut s, 0, Input::Start) else { panic!() };
    let refusal = s.limiter().reserve(d, at(0)).expect_err("the lane is full for a second");
    match step(&mut late, &mut s, 0, Input::Refused(refusal)) {
        Action::Finish(Err(e)) => {
            assert_eq!(e.kind, ErrorKind::QueueTimeout);
            assert!(e.predicted_wait.unwrap() >= Duration::from_secs(1));
            assert!(e.message.contains("queueTimeoutMs"), "{}", e.message);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_abort_in_each_phase_releases_what_that_phase_holds() {
    // Queued or sleeping: nothing held (the driver drops the wait).
    let mut s = state();
    let mut queued = Call::new(plan(Kind::ChatComplete, false));
    step(&mut queued, &mut s, 0, Input::Start);
    assert!(matches!(
        step(&mut queued, &mut s, 1, Input::Aborted),
        Action::Finish(Err(CallError { kind: ErrorKind::Abort, .. }))
    ));
    // Sending: the whole reservation stays booked; it may have arrived, and the
    // server then writes the reply whoever reads it.
    let mut sending = Call::new(plan(Kind::ChatComplete, false));
    admit(&mut sending, &mut s, 0);
    step(&mut sending, &mut s, 5, Input::Aborted);
    assert_eq!(s.limiter().status(at(5)).lanes[1].used, 150);
    // Reading: the whole reservation, the server did the work.
    let mut reading = Call::new(plan(Kind::ChatComplete, false));
    admit(&mut reading, &mut s, 10);
    step(&mut reading, &mut s, 20, head(200, &[]));
    step(&mut reading, &mut s, 25, Input::Aborted);
    assert_eq!(s.limiter().status(at(25)).lanes[1].used, 150 + 150);
    settled_nothing_held(&s, 25);
    // Done: nothing more happens.
    assert!(matches!(
        step(&mut reading, &mut s, 30, Input::Aborted),
        Action::Finish(Err(CallError { kind: ErrorKind::Config, .. }))
    ));
    settled_nothing_held(&s, 30);
}

const CHUNK: &str = "data: {\"choices\":[{\"delta\":{\"content\":\"abcdefgh\"}}]}\n\n";
const LAST: &str = "data: {\"choices\":[{\"delta\":{}}],\"usage\":{\"prompt_tokens\":90,\"completion_tokens\":9,\"total_tokens\":99}}\n\ndata: [DONE]\n\n";

#[test]
fn a_stream_delivers_its_events_and_settles_with_its_usage() {
    let mut s = state();
    let mut call = Call::new(plan(Kind::ChatComplete, true));
    admit(&mut call, &mut s, 0);
    assert!(matches!(step(&mut call, &mut s, 30, head(200, &[])), Action::Open));
    match step(&mut call, &mut s, 40, Input::Chunk(CHUNK.as_bytes())) {
        Action::Deliver(events) => assert_eq!(events.len(), 1),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.limiter().status(at(40)).in_flight, 1, "held while streaming");
    match step(&mut call, &mut s, 50, Input::Chunk(LAST.as_bytes())) {
        Action::Finish(Ok(Reply::Ended(events))) => assert_eq!(events.len(), 1),
        other => panic!("{other:?}"),
    }
    settled_nothing_held(&s, 50);
    assert_eq!(s.limiter().status(at(50)).lanes[1].used, 99);
}

#[test]
fn a_stream_cut_short_settles_with_what_was_streamed() {
    let mut s = state();
    let mut call = Call::new(plan(Kind::ChatComplete, true));
    admit(&mut call, &mut s, 0);
    step(&mut call, &mut s, 30, head(200, &[]));
    step(&mut call, &mut s, 40, Input::Chunk(CHUNK.as_bytes()));
    match step(&mut call, &mut s, 50, Input::Eof) {
        Action::Finish(Err(e)) => {
            assert_eq!(e.kind, ErrorKind::Connection);
            assert!(e.message.contains("ended early"), "{}", e.message);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.limiter().status(at(50)).lanes[1].used, 100 + 2, "the prompt and two streamed tokens");
    settled_nothing_held(&s, 50);
}

#[test]
fn a_stream_ends_in_a_typed_error_on_silence_on_garbage_and_when_closed() {
    for (input, kind) in [
        (Input::TimedOut, ErrorKind::Timeout),
        (Input::Chunk(b"data: {not json\n\n"), ErrorKind::Protocol),
        (Input::Closed, ErrorKind::Abort),
        (Input::Aborted, ErrorKind::Abort),
    ] {
        let mut s = state();
        let mut call = Call::new(plan(Kind::ConversationStart, true));
        admit(&mut call, &mut s, 0);
        step(&mut call, &mut s, 30, head(200, &[]));
        match step(&mut call, &mut s, 40, input) {
            Action::Finish(Err(e)) => assert_eq!(e.kind, kind),
            other => panic!("{other:?}"),
        }
        settled_nothing_held(&s, 40);
    }
}

#[test]
fn a_conversation_stream_ends_well_at_eof_and_remembers_its_size() {
    let mut s = state();
    let mut call = Call::new(plan(Kind::ConversationStart, true));
    admit(&mut call, &mut s, 0);
    step(&mut call, &mut s, 30, head(200, &[]));
    let body = "data: {\"type\":\"conversation.response.started\",\"conversation_id\":\"conv_1\"}\n\n\
                data: {\"type\":\"conversation.response.done\",\"usage\":{\"prompt_tokens\":80,\"completion_tokens\":20,\"total_tokens\":100}}\n\n";
    assert!(matches!(step(&mut call, &mut s, 40, Input::Chunk(body.as_bytes())), Action::Deliver(_)));
    assert!(matches!(step(&mut call, &mut s, 50, Input::Eof), Action::Finish(Ok(Reply::Ended(_)))));
    let append = s.estimate(
        Plan::free(Kind::ConversationAppend, Priority::Interactive, RetryPolicy::default(), Timeouts::default()),
        Some("conv_1"),
        "{}",
        &serde_json::json!({"model": "m", "inputs": "more"}),
        &crate::client::Heuristic,
    );
    assert_eq!(append.history, 100, "the next turn's prompt starts from the last turn's total");
}

#[test]
fn a_204_settles_free() {
    let mut s = state();
    let mut call = Call::new(Plan::free(
        Kind::ConversationDelete,
        Priority::Interactive,
        RetryPolicy::default(),
        Timeouts::default(),
    ));
    admit(&mut call, &mut s, 0);
    assert!(matches!(step(&mut call, &mut s, 10, head(204, &[])), Action::Finish(Ok(Reply::Empty))));
    settled_nothing_held(&s, 10);
}

#[test]
fn absurd_timing_headers_are_ignored() {
    let h = |v: &str| vec![("x-envoy-upstream-service-time".to_string(), v.to_string())];
    assert_eq!(upstream_time(&h("12")), Some(Duration::from_millis(12)));
    for bad in ["1e30", "-5", "NaN", "inf", "soon"] {
        assert_eq!(upstream_time(&h(bad)), None, "{bad}");
    }
}

#[test]
fn a_call_that_waited_while_estimates_rose_asks_again_for_what_it_will_cost() {
    let mut s = state();
    let mut waiting = Call::new(plan(Kind::ChatComplete, false));
    let Action::Reserve(first) = step(&mut waiting, &mut s, 0, Input::Start) else { panic!() };
    assert_eq!(first.tokens, 150);
    // A reply says the server counts this model's prompts 20% higher.
    let mut other = Call::new(plan(Kind::ChatComplete, false));
    admit(&mut other, &mut s, 0);
    step(&mut other, &mut s, 10, head(200, &[]));
    step(&mut other, &mut s, 20, Input::Body(REPLY));
    let Ok(Reservation::Ready(stale)) = s.limiter().reserve(first, at(30)) else { panic!() };
    match step(&mut waiting, &mut s, 30, Input::Admitted(stale)) {
        Action::Reserve(again) => {
            assert_eq!(again.tokens, 120 + 50);
            assert!(again.arrival.is_some(), "it keeps its place");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.limiter().status(at(30)).in_flight, 0, "the stale ticket went back");
}

#[test]
fn a_huge_error_page_makes_a_short_message() {
    let mut s = state();
    let mut call = Call::new(plan(Kind::ConversationStart, false));
    admit(&mut call, &mut s, 0);
    step(&mut call, &mut s, 10, head(500, &[]));
    let page = "x".repeat(65_536);
    match step(&mut call, &mut s, 10, Input::Body(&page)) {
        Action::Finish(Err(e)) => {
            assert!(e.message.len() < 1200 && e.message.contains("65536 bytes"), "{}", e.message.len())
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_stream_with_no_body_settles() {
    for (kind, ends_well) in [(Kind::ChatComplete, false), (Kind::ConversationStart, true)] {
        let mut s = state();
        let mut call = Call::new(plan(kind, true));
        admit(&mut call, &mut s, 0);
        assert!(matches!(step(&mut call, &mut s, 10, head(200, &[])), Action::Open));
        let end = step(&mut call, &mut s, 11, Input::Eof);
        assert_eq!(matches!(end, Action::Finish(Ok(Reply::Ended(_)))), ends_well, "{kind:?}: {end:?}");
        settled_nothing_held(&s, 11);
    }
}

#[test]
fn a_reply_that_is_not_what_was_asked_for_is_a_protocol_error() {
    // A 200 whose body is not an object, a 204 to a call that generates, JSON or
    // HTML where an event stream was asked for.
    type Case<'a> = (bool, u16, &'a [(&'a str, &'a str)], Option<&'a str>);
    let cases: [Case<'_>; 4] = [
        (false, 200, &[], Some("[1,2,3]")),
        (false, 200, &[], Some("null")),
        (false, 204, &[], None),
        (true, 200, &[("content-type", "application/json")], None),
    ];
    for (stream, status, headers, body) in cases {
        let mut s = state();
        let mut call = Call::new(plan(Kind::ChatComplete, stream));
        admit(&mut call, &mut s, 0);
        let mut action = step(&mut call, &mut s, 10, head(status, headers));
        if let (Action::ReadBody, Some(text)) = (&action, body) {
            action = step(&mut call, &mut s, 11, Input::Body(text));
        }
        match action {
            Action::Finish(Err(e)) => assert_eq!((e.kind, e.status), (ErrorKind::Protocol, Some(status)), "{e:?}"),
            other => panic!("{status} {body:?}: {other:?}"),
        }
        settled_nothing_held(&s, 11);
    }
}

#[test]
fn a_zero_limit_on_a_reply_that_served_the_call_is_not_believed() {
    let mut s = state();
    let mut call = Call::new(plan(Kind::ChatComplete, false));
    admit(&mut call, &mut s, 0);
    step(&mut call, &mut s, 10, head(200, &[("x-ratelimit-limit-tokens-minute", "0")]));
    step(&mut call, &mut s, 11, Input::Body(REPLY));
    assert_eq!(s.ignored(), 1);
    let mut next = Call::new(plan(Kind::ChatComplete, false));
    assert!(matches!(admit(&mut next, &mut s, 20), Action::Send), "the next call goes at once");
}

const CAPACITY: &str = r#"{"message":"Service tier capacity exceeded for this model.","type":"service_tier_capacity_exceeded","code":"3505"}"#;

fn with_fallbacks(kind: Kind) -> Plan {
    Plan { fallbacks: vec!["n".into(), "o".into()], ..plan(kind, false) }
}

#[test]
fn a_saturated_tier_moves_the_call_to_the_next_model_with_its_reservation_given_back() {
    let mut s = state();
    let mut call = Call::new(with_fallbacks(Kind::ChatComplete));
    assert!(matches!(admit(&mut call, &mut s, 0), Action::Send));
    assert!(matches!(step(&mut call, &mut s, 30, head(429, &[])), Action::ReadBody));
    let Action::Reserve(demand) = step(&mut call, &mut s, 31, Input::Body(CAPACITY)) else { panic!("not moved on") };
    assert_eq!(demand.model.as_deref(), Some("n"));
    assert_eq!(call.plan().model.as_deref(), Some("n"));
    assert_eq!(call.plan().fallbacks, ["o"]);
    let moved: Vec<Event> = s.drain_events().into_iter().filter(|e| e.name() == "fallback").collect();
    assert_eq!(moved, [Event::Fallback { from: "m".into(), to: "n".into(), reason: "capacity" }]);
    assert_eq!(s.metrics().by_model()["m"].fallbacks, 1);
    assert_eq!(s.limiter().status(at(31)).in_flight, 0, "the refused attempt settled");
}

#[test]
fn a_5xx_moves_a_completion_on_after_its_retries_but_never_a_write_or_a_4xx() {
    let mut s = state();
    let mut read = Call::new(Plan {
        retry: RetryPolicy { max_retries: 0, ..RetryPolicy::default() },
        ..with_fallbacks(Kind::ChatComplete)
    });
    admit(&mut read, &mut s, 0);
    step(&mut read, &mut s, 30, head(503, &[]));
    assert!(matches!(step(&mut read, &mut s, 31, Input::Body("{}")), Action::Reserve(_)));
    let mut write = Call::new(with_fallbacks(Kind::ConversationStart));
    admit(&mut write, &mut s, 2000);
    step(&mut write, &mut s, 2030, head(503, &[]));
    assert!(matches!(step(&mut write, &mut s, 2031, Input::Body("{}")), Action::Finish(Err(_))));
    let mut refused = Call::new(with_fallbacks(Kind::ChatComplete));
    admit(&mut refused, &mut s, 4000);
    step(&mut refused, &mut s, 4030, head(422, &[]));
    assert!(matches!(step(&mut refused, &mut s, 4031, Input::Body("{}")), Action::Finish(Err(_))));
}

#[test]
fn a_capacity_503_and_a_refused_model_move_even_a_write_down_its_chain() {
    let mut s = state();
    let out_of_capacity =
        r#"{"message":"Not enough capacity available","type":"backend_out_of_capacity","code":"3505"}"#;
    let mut write = Call::new(with_fallbacks(Kind::ConversationStart));
    admit(&mut write, &mut s, 0);
    step(&mut write, &mut s, 30, head(503, &[]));
    let Action::Reserve(d) = step(&mut write, &mut s, 31, Input::Body(out_of_capacity)) else { panic!("not moved on") };
    assert_eq!(d.model.as_deref(), Some("n"), "a 3505 was not run: moving a write on does it once");
    let invalid = r#"{"message":"Invalid model: m","type":"invalid_model","code":"1500"}"#;
    let mut call = Call::new(with_fallbacks(Kind::ChatComplete));
    admit(&mut call, &mut s, 2000);
    step(&mut call, &mut s, 2030, head(400, &[]));
    assert!(matches!(step(&mut call, &mut s, 2031, Input::Body(invalid)), Action::Reserve(_)));
    let mut alone = Call::new(plan(Kind::ChatComplete, false));
    admit(&mut alone, &mut s, 4000);
    step(&mut alone, &mut s, 4030, head(503, &[]));
    let Action::Finish(Err(e)) = step(&mut alone, &mut s, 4031, Input::Body(out_of_capacity)) else {
        panic!("no chain: a capacity 503 is final")
    };
    assert_eq!((e.kind, e.status), (ErrorKind::Server, Some(503)));
}

#[test]
fn a_model_not_on_the_plan_fails_at_once_and_its_next_calls_are_never_sent() {
    let mut s = state();
    let not_on_plan = [("x-ratelimit-limit-req-minute", "0")];
    let rate = r#"{"message":"Rate limit exceeded","type":"rate_limited","code":"1300"}"#;
    let mut call = Call::new(plan(Kind::ChatComplete, false));
    admit(&mut call, &mut s, 0);
    step(&mut call, &mut s, 30, head(429, &not_on_plan));
    let Action::Finish(Err(e)) = step(&mut call, &mut s, 31, Input::Body(rate)) else { panic!("waited for a 0") };
    assert_eq!((e.kind, e.model.as_deref(), e.status), (ErrorKind::ModelNotOnPlan, Some("m"), Some(429)));
    assert!(e.message.contains("'m' is not on this workspace's plan"), "{}", e.message);
    let workspace = &s.limiter().status(at(31)).lanes;
    assert!(workspace.iter().all(|l| l.limit > 0), "the 0 is the model's, not every model's: {workspace:?}");
    let mut next = Call::new(plan(Kind::ChatComplete, false));
    let Action::Finish(Err(e)) = step(&mut next, &mut s, 40, Input::Start) else { panic!("sent again") };
    assert_eq!(e.kind, ErrorKind::ModelNotOnPlan);
    let mut chained = Call::new(with_fallbacks(Kind::ChatComplete));
    let Action::Reserve(d) = step(&mut chained, &mut s, 50, Input::Start) else { panic!("not moved on") };
    assert_eq!(d.model.as_deref(), Some("n"), "a chain skips the model without asking");
    assert!(s.drain_events().contains(&Event::Fallback { from: "m".into(), to: "n".into(), reason: "unavailable" }));
}

#[test]
fn a_spending_limit_ends_every_waiting_call_and_bars_the_next_until_it_resets() {
    let mut s = state();
    let spent = r#"{"object":"error","message":"Spending limit reached: it resets at 2027-01-01T00:00:00Z.","type":"spending_limit_reached"}"#;
    let mut first = Call::new(plan(Kind::ChatComplete, false));
    admit(&mut first, &mut s, 0);
    let mut second = Call::new(plan(Kind::ChatComplete, false));
    admit(&mut second, &mut s, 0);
    // A third waits behind a full lane (two requests a second).
    let mut queued = Call::new(plan(Kind::ChatComplete, false));
    let Action::Reserve(d) = step(&mut queued, &mut s, 1, Input::Start) else { panic!("not reserving") };
    let Ok(Reservation::Queued(waiter)) = s.limiter().reserve(d, at(1)) else { panic!("the lane had room") };
    step(&mut first, &mut s, 30, head(402, &[]));
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_798_761_600 - 60);
    let action = first.step(Input::Body(spent), &mut s, Now { at: at(31), wall: Some(wall), rng: &mut || 0.5 });
    let Action::Finish(Err(e)) = action else { panic!("a 402 is final") };
    assert_eq!((e.kind, e.reset_at.as_deref()), (ErrorKind::SpendingLimit, Some("2027-01-01T00:00:00Z")));
    let WaitState::Rejected(r) = waiter.poll(at(31)) else { panic!("the waiter still waits") };
    assert_eq!(r, Rejection::Barred);
    let Action::Finish(Err(e)) = step(&mut queued, &mut s, 32, Input::Refused(r)) else { panic!("sent") };
    assert_eq!(e.kind, ErrorKind::SpendingLimit);
    let mut later = Call::new(plan(Kind::ChatComplete, false));
    assert!(
        matches!(step(&mut later, &mut s, 59_000, Input::Start), Action::Finish(Err(_))),
        "a minute on: still spent"
    );
    let mut after = Call::new(plan(Kind::ChatComplete, false));
    assert!(matches!(step(&mut after, &mut s, 61_000, Input::Start), Action::Reserve(_)), "reset: asks again");
    let spent: Vec<Event> = s.drain_events().into_iter().filter(|e| e.name() == "spending-limit").collect();
    assert_eq!(spent.len(), 1, "{spent:?}");
}

#[test]
fn the_servers_charge_settles_a_call_and_a_cached_prompt_reserves_less_next_time() {
    let mut s = state();
    let cached = |key: &str| Plan { prompt: 1000, cache_key: Some(key.into()), ..plan(Kind::ChatComplete, false) };
    let reply = r#"{"usage":{"prompt_tokens":1000,"completion_tokens":30,"total_tokens":1030,"prompt_tokens_details":{"cached_tokens":900}}}"#;
    let mut call = Call::new(cached("k"));
    admit(&mut call, &mut s, 0);
    step(&mut call, &mut s, 30, head(200, &[("x-ratelimit-tokens-query-cost", "220")]));
    step(&mut call, &mut s, 31, Input::Body(reply));
    assert_eq!(s.limiter().status(at(31)).lanes[1].used, 220, "booked at what the server charged");
    assert_eq!(s.metrics().by_model()["m"].tokens_cached, 900);
    let mut next = Call::new(cached("k"));
    let Action::Reserve(d) = step(&mut next, &mut s, 40, Input::Start) else { panic!() };
    assert_eq!(d.tokens, 1000 - (1000 - 190) + 50, "the prompt less what was not charged, plus the output");
    let mut other = Call::new(cached("other"));
    let Action::Reserve(d) = step(&mut other, &mut s, 40, Input::Start) else { panic!() };
    assert_eq!(d.tokens, 1000 + 50, "another key: the whole prompt");
    // A charge below the output is not believed: the usage settles it.
    let mut odd = Call::new(plan(Kind::ChatComplete, false));
    admit(&mut odd, &mut s, 2000);
    step(&mut odd, &mut s, 2030, head(200, &[("x-ratelimit-tokens-query-cost", "3")]));
    step(&mut odd, &mut s, 2031, Input::Body(REPLY));
    assert_eq!(s.limiter().status(at(2031)).lanes[1].used, 220 + 150);
}

#[test]
fn calls_of_a_key_waiting_at_the_whole_price_ask_again_when_a_reply_shows_it_cached() {
    let mut s = state();
    let cached = || Plan { prompt: 6000, cache_key: Some("k".into()), ..plan(Kind::ChatComplete, false) };
    let mut first = Call::new(cached());
    admit(&mut first, &mut s, 0);
    let mut second = Call::new(cached());
    let Action::Reserve(d) = step(&mut second, &mut s, 1, Input::Start) else { panic!() };
    let Ok(Reservation::Queued(waiter)) = s.limiter().reserve(d, at(1)) else { panic!("two whole prompts fit") };
    step(&mut first, &mut s, 30, head(200, &[("x-ratelimit-tokens-query-cost", "630")]));
    let reply = r#"{"usage":{"prompt_tokens":6000,"completion_tokens":30,"total_tokens":6030}}"#;
    step(&mut first, &mut s, 31, Input::Body(reply));
    let WaitState::Rejected(r) = waiter.poll(at(31)) else { panic!("still waiting at the whole price") };
    let Action::Reserve(d) = step(&mut second, &mut s, 31, Input::Refused(r)) else { panic!("not asked again") };
    assert_eq!(d.tokens, 600 + 50, "the prompt the server charged, plus the output");
    assert!(d.arrival.is_some(), "in its place in line");
    assert!(matches!(s.limiter().reserve(d, at(31)), Ok(Reservation::Ready(_))));
}

/// The machine fed its inputs in any order a driver could see them: every answer
/// to every action, aborts, timeouts and broken connections anywhere.
mod orderings {
    use proptest::prelude::*;

    use super::*;

    const SSE: &str = "text/event-stream";
    const EVENT: &[u8] = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n";
    const LAST: &[u8] = b"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\ndata: [DONE]\n\n";
    const ERROR: &str = r#"{"object":"error","message":"no","type":"x","code":"1"}"#;

    /// Room for everything: the limiter never makes a call wait here. The server
    /// states its limits, so no 429 lowers them.
    fn roomy() -> ClientState {
        let lanes = vec![LaneSpec::requests_per_second(1_000_000), LaneSpec::tokens_per_minute(1_000_000_000)];
        let limiter = Limiter::new(LimiterConfig { lanes, ..LimiterConfig::default() });
        stated(ClientState::new(limiter), 1_000_000, 1_000_000_000)
    }

    /// The `pick`th of the inputs a driver may answer `action` with.
    fn answer(action: &Action, pick: u8, stream: bool, s: &ClientState, ms: u64) -> Input<'static> {
        let json = if stream { SSE } else { "application/json" };
        let options: Vec<Input<'static>> = match action {
            // Aborted while it waits: the driver drops the wait.
            Action::Reserve(_) if pick % 5 == 0 => return Input::Aborted,
            Action::Reserve(d) => {
                return match s.limiter().reserve(d.clone(), at(ms)) {
                    Ok(Reservation::Ready(t)) => Input::Admitted(t),
                    other => panic!("a roomy limiter made a call wait: {other:?}"),
                };
            }
            Action::Send => vec![
                head(200, &[("content-type", json)]),
                head(429, &[]),
                head(503, &[]),
                head(400, &[]),
                head(200, &[("content-type", "text/html")]),
                Input::Lost(Lost::Unreachable("refused".into())),
                Input::Lost(Lost::Interrupted("reset".into())),
                Input::TimedOut,
                Input::Aborted,
            ],
            Action::ReadBody => vec![
                Input::Body(REPLY),
                Input::Body(ERROR),
                Input::Body("not json"),
                Input::Lost(Lost::Interrupted("reset".into())),
                Input::TimedOut,
                Input::Aborted,
            ],
            Action::Sleep(_) => vec![Input::Woke, Input::Woke, Input::Aborted],
            Action::Open | Action::Deliver(_) => vec![
                Input::Chunk(EVENT),
                Input::Chunk(EVENT),
                Input::Chunk(LAST),
                Input::Chunk(b"data: {not json\n\n"),
                Input::Eof,
                Input::Lost(Lost::Interrupted("reset".into())),
                Input::TimedOut,
                Input::Closed,
                Input::Aborted,
            ],
            Action::Finish(_) => unreachable!("a finished call is not answered"),
        };
        let i = usize::from(pick) % options.len();
        options.into_iter().nth(i).expect("in range")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn every_ordering_finishes_once_and_settles_or_cancels_each_admission(
            picks in prop::collection::vec(any::<u8>(), 1..40),
            stream in any::<bool>(),
            write in any::<bool>(),
        ) {
            let mut s = roomy();
            let kind = if write { Kind::ConversationStart } else { Kind::ChatComplete };
            let retry = RetryPolicy { max_retries: 2, base_delay: Duration::from_millis(10), ..RetryPolicy::default() };
            let mut call = Call::new(Plan { retry, ..plan(kind, stream) });
            // Once the picks run out the caller aborts: a stream may talk forever.
            let mut picks = picks.into_iter();
            let mut input = Input::Start;
            let mut ms = 0;
            let finished = loop {
                prop_assert!(ms < 100_000, "the call did not end");
                let action = step(&mut call, &mut s, ms, input);
                ms = match action {
                    Action::Sleep(until) => until.saturating_since(Instant::ZERO).as_millis() as u64,
                    _ => ms + 1,
                };
                if let Action::Finish(result) = action {
                    break result;
                }
                input = match picks.next() {
                    Some(pick) => answer(&action, pick, stream, &s, ms),
                    None => Input::Aborted,
                };
            };
            prop_assert!(call.is_done());
            let status = s.limiter().status(at(ms));
            prop_assert_eq!((status.in_flight, status.queued), (0, 0));
            let c = &status.counters;
            prop_assert_eq!(c.admitted, c.settled + c.cancelled, "each admission ends once: {:?}", c);
            prop_assert_eq!(c.abandoned, 0);
            // Whatever comes after, the call stays over and the books stay as they are.
            let again = step(&mut call, &mut s, ms + 1, Input::Aborted);
            let is_config_err = matches!(again, Action::Finish(Err(CallError { kind: ErrorKind::Config, .. })));
            prop_assert!(is_config_err);
            prop_assert_eq!(&s.limiter().status(at(ms + 1)).counters, c);
            let errors = s.drain_events().iter().filter(|e| e.name() == "error").count();
            prop_assert_eq!(errors, usize::from(finished.is_err()), "one error event for a failed call");
        }
    }
}
