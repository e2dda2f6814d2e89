//! The decoder against sample streams, whole and cut at every split point.

use super::*;

/// A chat stream as Mistral sends it: data-only frames with the `p` padding field,
/// usage on the last content chunk, then `[DONE]`. Non-ASCII text so that some
/// split points fall inside a character.
const CHAT: &str = concat!(
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"p\":\"abcdef\"}\n\n",
    "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Café 日本 🦀\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\".\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":11,\"total_tokens\":14,\"completion_tokens\":3}}\n\n",
    "data: [DONE]\n\n",
);

/// A conversation stream: `event:` and `data:` on every frame, ended by closing.
const CONVERSATION: &str = concat!(
    "event: conversation.response.started\n",
    "data: {\"type\":\"conversation.response.started\",\"conversation_id\":\"conv_1\"}\n\n",
    "event: message.output.delta\n",
    "data: {\"type\":\"message.output.delta\",\"id\":\"msg_1\",\"content\":\"Bonjour à tous\"}\n\n",
    "event: conversation.response.done\n",
    "data: {\"type\":\"conversation.response.done\",\"usage\":{\"prompt_tokens\":5,\"total_tokens\":9,\"completion_tokens\":4}}\n\n",
);

/// Every corner of the format: a BOM, all three line ends, comments, multi-line
/// data, ids that persist, retry, a field without a colon, no space after the colon.
const TRICKY: &str = "\u{FEFF}: hello\r\ndata:first\rdata: second\n\nid: 7\r\nevent: x\r\nretry: 1500\r\ndata\r\n\r\n: keep-alive\n\ndata:  two spaces\nretry: 12a\nunknown: y\n\nevent: only-type\n\ndata: é\r\n\r\n";

fn decode(chunks: &[&[u8]]) -> (Vec<SseEvent>, StreamEnd) {
    let mut d = SseDecoder::default();
    let mut out = Vec::new();
    for c in chunks {
        d.feed(c, &mut out).expect("samples are well within the line cap");
    }
    let end = d.finish(&mut out);
    (out, end)
}

fn ev(event: Option<&str>, data: &str, id: Option<&str>, retry: Option<u64>) -> SseEvent {
    SseEvent { event: event.map(str::to_owned), data: data.to_owned(), id: id.map(str::to_owned), retry }
}

#[test]
fn chat_stream_whole() {
    let (events, end) = decode(&[CHAT.as_bytes()]);
    assert_eq!(end, StreamEnd::Done);
    assert_eq!(events.len(), 3);
    assert!(events[1].data.contains("Café 日本 🦀"));
    assert!(events.iter().all(|e| e.event.is_none()));
}

#[test]
fn conversation_stream_whole() {
    let (events, end) = decode(&[CONVERSATION.as_bytes()]);
    assert_eq!(end, StreamEnd::Eof);
    let types: Vec<_> = events.iter().map(|e| e.event.as_deref().unwrap()).collect();
    assert_eq!(types, ["conversation.response.started", "message.output.delta", "conversation.response.done"]);
}

#[test]
fn tricky_stream_whole() {
    let (events, end) = decode(&[TRICKY.as_bytes()]);
    assert_eq!(end, StreamEnd::Eof);
    assert_eq!(
        events,
        vec![
            ev(None, "first\nsecond", None, None),
            ev(Some("x"), "", Some("7"), Some(1500)),
            ev(None, " two spaces", Some("7"), None),
            ev(None, "é", Some("7"), None),
        ]
    );
}

#[test]
fn every_single_split_point_gives_the_same_events() {
    for sample in [CHAT, CONVERSATION, TRICKY] {
        let bytes = sample.as_bytes();
        let whole = decode(&[bytes]);
        for i in 0..=bytes.len() {
            assert_eq!(decode(&[&bytes[..i], &bytes[i..]]), whole, "split at {i}");
        }
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(decode(&bytewise), whole, "one byte at a time");
    }
}

#[test]
fn every_pair_of_split_points_in_the_tricky_stream() {
    let bytes = TRICKY.as_bytes();
    let whole = decode(&[bytes]);
    for i in 0..=bytes.len() {
        for j in i..=bytes.len() {
            assert_eq!(decode(&[&bytes[..i], &bytes[i..j], &bytes[j..]]), whole, "splits at {i}, {j}");
        }
    }
}

#[test]
fn done_ends_the_stream_and_the_rest_is_ignored() {
    let (events, end) = decode(&[b"data: a\n\ndata: [DONE]\n\ndata: late\n\n"]);
    assert_eq!((events.len(), end), (1, StreamEnd::Done));
}

#[test]
fn a_stream_cut_inside_an_event_is_truncated() {
    let (events, end) = decode(&[b"data: a\n\ndata: {\"partial\":"]);
    assert_eq!((events.len(), end), (1, StreamEnd::Truncated));
    let (events, end) = decode(&[b"event: x\ndata: y\n"]);
    assert_eq!((events.len(), end), (0, StreamEnd::Truncated));
}

#[test]
fn invalid_utf8_becomes_replacement_characters() {
    let (events, _) = decode(&[b"data: a\xffb\n\n"]);
    assert_eq!(events[0].data, "a\u{FFFD}b");
}

#[test]
fn a_bom_is_dropped_only_at_the_start() {
    let (events, _) = decode(&[b"\xEF\xBB", b"\xBFdata: x\n\ndata: \xEF\xBB\xBFy\n\n"]);
    assert_eq!(events[0].data, "x");
    assert_eq!(events[1].data, "\u{FEFF}y");
}

#[test]
fn long_lines_are_refused_across_chunks() {
    let mut d = SseDecoder::new(16);
    let mut out = Vec::new();
    d.feed(b"data: 0123456", &mut out).unwrap();
    assert_eq!(d.feed(b"789abcdef", &mut out), Err(SseError::LineTooLong { limit: 16 }));
    let mut d = SseDecoder::new(16);
    assert_eq!(d.feed(b"data: 0123456789abcdef\n", &mut out), Err(SseError::LineTooLong { limit: 16 }));
    assert!(SseError::LineTooLong { limit: 16 }.to_string().contains("16 bytes"));
    // Exactly at the cap is fine.
    let mut d = SseDecoder::new(16);
    d.feed(b"data: 0123456789\n\n", &mut out).unwrap();
    assert_eq!(out.last().unwrap().data, "0123456789");
}

#[test]
fn many_short_data_lines_are_refused_as_one_long_event() {
    let mut d = SseDecoder::new(64);
    let mut out = Vec::new();
    let lines = "data: x\n".repeat(40);
    assert_eq!(d.feed(lines.as_bytes(), &mut out), Err(SseError::EventTooLong { limit: 64 }));
    assert!(out.is_empty());
    let mut ok = SseDecoder::new(64);
    ok.feed("data: x\n".repeat(20).as_bytes(), &mut out).unwrap();
    ok.feed(b"\n", &mut out).unwrap();
    assert_eq!(out.len(), 1, "under the cap it is one event");
}
