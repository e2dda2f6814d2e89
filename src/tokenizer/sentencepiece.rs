//! A measured correction for Mistral's older models, whose tokenizer is a
//! SentencePiece vocabulary rather than Tekken: multiply a Tekken count of the same
//! text by [`correction`] to get an estimate that does not undercount them.
//!
//! SentencePiece itself is not implemented. The multipliers come from
//! `scripts/build/tekken/sentencepiece.py`, which counts every non-empty file of
//! `tests/tekken/corpus/` (prose in nine languages, code, JSON, emoji, whitespace;
//! raw text, no BOS/EOS) with mistral-common 1.13.1's SentencePiece tokenizers and
//! with Tekken (tekken_240911), and writes `tests/tekken/sentencepiece.json`. Each
//! version's multiplier is its largest per-file ratio `SentencePiece / Tekken`,
//! rounded up to two decimals, over all files and over the Latin-script ones;
//! `tests/sentencepiece.rs` checks that this table equals the measured one.
//!
//! Measured (15 files): the four versions count raw text identically (v2, v3 and
//! v7 only add control tokens to v1's 32 000 pieces), from 0.86x Tekken on emoji
//! and edge cases to 2.40x on Korean, Arabic and Hindi (1.11x English, 1.45x
//! French, 1.56x Japanese, 1.17x Python). The ratio follows the script, so there
//! are two multipliers. Over text in Latin script only (every letter below
//! U+0250: English, French, German, code, JSON; 8 files), **x1.45, mean overcount
//! 19.8 %, worst 31.1 %**. Over anything, **x2.40, mean overcount 99.9 %, worst
//! 179.1 %** (on `edge_cases.txt`): a safe bound for reserving, not an estimate.

/// A version's multipliers: for Latin-script text, and for any text.
#[derive(Clone, Copy)]
struct Multipliers {
    latin: f64,
    any: f64,
}

/// v1: Latin x1.45 (mean overcount 19.8 %, worst 31.1 %); any x2.40 (99.9 %, 179.1 %).
const V1: Multipliers = Multipliers { latin: 1.45, any: 2.40 };
/// v2: as v1.
const V2: Multipliers = Multipliers { latin: 1.45, any: 2.40 };
/// v3: as v1.
const V3: Multipliers = Multipliers { latin: 1.45, any: 2.40 };
/// v7 (and its multimodal file v7m1, which counts text alike): as v1.
const V7: Multipliers = Multipliers { latin: 1.45, any: 2.40 };

/// Whether `text` is in Latin script only, as the multipliers were measured:
/// every letter below U+0250 (symbols, digits and spaces do not matter).
#[must_use]
pub fn is_latin(text: &str) -> bool {
    text.chars().all(|c| (c as u32) < 0x250 || !c.is_alphabetic())
}

/// The multiplier to apply to a Tekken count of a text to bound `model`'s count
/// of it from above, for the models on a SentencePiece vocabulary; `None` for the
/// others (Tekken models, which Tekken counts exactly, and names it does not know).
/// `latin` says the text is in Latin script only ([`is_latin`]), which allows the
/// tighter multiplier.
///
/// The names and versions are mistral-common 1.13.1's own table
/// (`MODEL_NAME_TO_TOKENIZER_CLS`), but for `mistral-small-2409`, which it calls
/// Tekken although its open weights ship a 32,768-piece SentencePiece v3
/// vocabulary (see `scripts/build/tekken/sentencepiece.py`); matching is exact. Measured error on the
/// corpus, never an undercount: x1.45 on Latin-script text, mean overcount 19.8 %,
/// worst 31.1 %; x2.40 on any, mean 99.9 %, worst 179.1 %.
///
/// ```
/// # use mistral_ratelimit::tokenizer::{correction, is_latin};
/// assert_eq!(correction("mistral-large-2411", is_latin("Bonjour à tous")), Some(1.45));
/// assert_eq!(correction("mistral-large-2411", is_latin("안녕하세요")), Some(2.40));
/// assert_eq!(correction("mistral-small-latest", true), None);
/// ```
#[must_use]
pub fn correction(model: &str, latin: bool) -> Option<f64> {
    let version = match model {
        "mistral-medium-2312" => V1,
        "mistral-tiny-2312" | "mistral-small-2312" | "mistral-small-2402" | "mistral-large-2402" => V2,
        "mistral-tiny-2407"
        | "open-mixtral-8x22b-2404"
        | "mistral-large-2407"
        | "codestral-2405"
        | "codestral-mamba-2407"
        | "mistral-small-2409" => V3,
        "mistral-large-2411" | "pixtral-large-2411" => V7,
        _ => return None,
    };
    Some(if latin { version.latin } else { version.any })
}

#[cfg(test)]
mod tests {
    use super::correction;

    #[test]
    fn sentencepiece_models_have_a_multiplier_tekken_models_none() {
        for model in [
            "mistral-medium-2312",
            "mistral-small-2402",
            "open-mixtral-8x22b-2404",
            "codestral-2405",
            "mistral-large-2407",
            "mistral-large-2411",
            "pixtral-large-2411",
            "mistral-small-2409",
        ] {
            assert_eq!(correction(model, false), Some(2.40), "{model}");
            assert_eq!(correction(model, true), Some(1.45), "{model}");
        }
        for model in [
            "open-mistral-nemo-2407",
            "ministral-8b-2410",
            "pixtral-12b-2409",
            "mistral-small-latest",
            "",
            "MISTRAL-LARGE-2411",
        ] {
            assert_eq!(correction(model, false), None, "{model}");
        }
    }
}
