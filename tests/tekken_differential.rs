//! Our Tekken engine against tiktoken-rs's `CoreBPE` (fancy-regex and tiktoken's
//! merge loop) on the same packed vocabulary: the same count for arbitrary text
//! built from the characters the pattern treats differently (each letter
//! category, marks, digits, every kind of space and line break, punctuation,
//! `/`), and for long pieces where our merge switches to a heap.
#![cfg(all(feature = "tekken", not(target_arch = "wasm32")))]

use std::sync::OnceLock;

use mistral_ratelimit::tokenizer::Tekken;
use proptest::prelude::*;
use tiktoken_rs::CoreBPE;

mod common;

struct Both {
    ours: Tekken,
    reference: CoreBPE,
}

fn both() -> &'static Both {
    static BOTH: OnceLock<Both> = OnceLock::new();
    BOTH.get_or_init(|| {
        let packed = common::packed_tekken();
        let ours = Tekken::from_bytes(packed.clone()).expect("tekken.bin parses");
        // The same layout, read independently: ranks after the header and pattern.
        let word = |at: usize| u32::from_le_bytes(packed[at..at + 4].try_into().unwrap()) as usize;
        let pattern_end = 16 + word(12);
        let pattern = std::str::from_utf8(&packed[16..pattern_end]).unwrap();
        // The hasher is whichever `CoreBPE::new` takes, inferred from the call.
        let mut encoder = std::collections::HashMap::with_capacity_and_hasher(word(8), Default::default());
        let mut at = pattern_end;
        for rank in 0..word(8) {
            let len = packed[at] as usize;
            encoder.insert(packed[at + 1..at + 1 + len].to_vec(), rank as u32);
            at += 1 + len;
        }
        let reference = CoreBPE::new(encoder, Default::default(), pattern).expect("tiktoken-rs builds Tekken");
        Both { ours, reference }
    })
}

fn check(text: &str) -> Result<(), TestCaseError> {
    let b = both();
    prop_assert_eq!(b.ours.count(text), b.reference.encode_ordinary(text).len(), "{:?}", text);
    Ok(())
}

/// Characters from every class the pattern distinguishes.
const ALPHABET: &[char] = &[
    'a', 'z', 'A', 'Z', 'é', 'É', 'ß', 'ǅ', 'ʰ', 'ª', '中', '文', 'の', 'カ', '한', 'ع', 'न', 'ि', '\u{301}',
    '\u{20dd}', '0', '7', '٣', '½', ' ', ' ', ' ', '\t', '\u{a0}', '\u{3000}', '\u{2028}', '\u{b}', '\n', '\n', '\r',
    '.', ',', '!', '?', '/', '/', '\'', '"', '{', '}', '-', '_', '#', '😀', '👍', '\u{200d}', '\u{fe0f}', '$', '\u{0}',
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn counts_like_tiktoken_on_mixed_text(chars in prop::collection::vec(prop::sample::select(ALPHABET), 0..80)) {
        check(&chars.into_iter().collect::<String>())?;
    }

    #[test]
    fn counts_like_tiktoken_on_long_pieces(
        unit in prop::sample::select(vec!["中文", "ab", "Ab", "é", "😀", "!?", "카", "x\u{301}", "  ", "\n\n"]),
        repeat in 30usize..400,
        tail in prop::sample::select(ALPHABET),
    ) {
        check(&format!("{}{tail}", unit.repeat(repeat)))?;
    }
}

#[test]
fn counts_like_tiktoken_on_the_corpus() {
    for text in common::corpus().values() {
        check(text).unwrap();
    }
}
