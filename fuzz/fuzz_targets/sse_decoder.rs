//! The SSE decoder on arbitrary bytes cut at arbitrary points: it must never panic,
//! and chunking must never change the outcome (same events, same end or error).
//! The first byte picks the chunk sizes; a small line cap exercises the error path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mistral_ratelimit::sse::{SseDecoder, SseError, SseEvent, StreamEnd};

const CAP: usize = 64;

fn decode<'a>(chunks: impl Iterator<Item = &'a [u8]>) -> (Vec<SseEvent>, Result<StreamEnd, SseError>) {
    let mut d = SseDecoder::new(CAP);
    let mut out = Vec::new();
    for c in chunks {
        if let Err(e) = d.feed(c, &mut out) {
            return (out, Err(e));
        }
    }
    let end = d.finish(&mut out);
    (out, Ok(end))
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, body)) = data.split_first() else { return };
    let whole = decode(std::iter::once(body));
    // Chunk sizes cycle through 1..=16 from the seed, so splits land everywhere.
    let mut sizes = (0..).map(|i: usize| 1 + (seed as usize + i * 7) % 16);
    let mut rest = body;
    let chunks = std::iter::from_fn(|| {
        if rest.is_empty() {
            return None;
        }
        let n = sizes.next().unwrap().min(rest.len());
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Some(head)
    });
    assert_eq!(decode(chunks), whole);
});
