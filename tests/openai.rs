//! OpenAI's encodings against Tekken on the corpus, the reason the client counts
//! with Tekken: both count English and code lower than Mistral does, and an
//! estimate that is low lets a burst through to earn 429s. Prints each file's
//! three counts (`-- --nocapture`).
#![cfg(all(feature = "openai", not(target_arch = "wasm32")))]

mod common;

use mistral_ratelimit::tokenizer::{OpenAiEncoding, Tekken};

#[test]
fn openai_encodings_miscount_mistral_text() {
    let tekken = Tekken::from_bytes(common::packed_tekken()).unwrap();
    let mut undercounted = Vec::new();
    for (name, text) in common::corpus() {
        let (t, c, o) = (tekken.count(&text), OpenAiEncoding::Cl100k.count(&text), OpenAiEncoding::O200k.count(&text));
        let pct = |n: usize| if t == 0 { 0.0 } else { (n as f64 / t as f64 - 1.0) * 100.0 };
        eprintln!("{name:<16} tekken {t:>5}  cl100k {c:>5} ({:+5.1} %)  o200k {o:>5} ({:+5.1} %)", pct(c), pct(o));
        if c < t && o < t {
            undercounted.push(name);
        }
    }
    for english_or_code in ["en.txt", "code_python.txt", "code_rust.txt", "code_ts.txt", "json.txt"] {
        assert!(undercounted.iter().any(|n| n == english_or_code), "{english_or_code}: {undercounted:?}");
    }
}
