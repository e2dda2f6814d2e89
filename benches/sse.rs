//! SSE decoding throughput on a synthetic chat stream, in 1 KiB and 16 KiB chunks,
//! beside a bare newline scan of the same bytes as the baseline.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mistral_ratelimit::sse::SseDecoder;

/// About 1 MiB of chat-completion chunks, shaped like Mistral's (padding included).
fn chat_stream() -> Vec<u8> {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < 1 << 20 {
        s.push_str(&format!(
            "data: {{\"id\":\"cmpl-{i}\",\"object\":\"chat.completion.chunk\",\"created\":1765716937,\
             \"model\":\"mistral-small-latest\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"token {i} é \"}},\
             \"finish_reason\":null}}],\"p\":\"abcdefghijklmnop\"}}\n\n"
        ));
        i += 1;
    }
    s.push_str("data: [DONE]\n\n");
    s.into_bytes()
}

fn decode(c: &mut Criterion) {
    let bytes = chat_stream();
    let mut group = c.benchmark_group("sse");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("baseline: newline scan", |b| {
        b.iter(|| black_box(memchr::memchr_iter(b'\n', black_box(&bytes)).count()))
    });
    for chunk in [1024usize, 16 * 1024] {
        group.bench_function(format!("decode, {} KiB chunks", chunk / 1024), |b| {
            let mut out = Vec::with_capacity(8192);
            b.iter(|| {
                let mut d = SseDecoder::default();
                out.clear();
                for c in bytes.chunks(chunk) {
                    d.feed(c, &mut out).unwrap();
                }
                black_box(d.finish(&mut out));
                black_box(out.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
