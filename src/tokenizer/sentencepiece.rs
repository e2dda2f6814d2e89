//! A measured correction for Mistral's older models, whose tokenizer is a
//! SentencePiece vocabulary rather than Tekken: multiply a Tekken count of the same
//! text by [`correction`] to get an estimate that does not undercount them.
//!
//! SentencePiece itself is not implemented. The multipliers come from
//! `scripts/tekken/sentencepiece.py`, which counts every non-empty file of
//! `tests/tekken/corpus/` (prose in nine languages, code, JSON, emoji, whitespace;
//! raw text, no BOS/EOS) with mistral-common 1.13.1's SentencePiece tokenizers and
//! with Tekken (tekken_240911), and writes `tests/tekken/sentencepiece.json`. Each
//! version's multiplier is its largest per-file ratio `SentencePiece / Tekken`,
//! rounded up to two decimals; `tests/sentencepiece.rs` checks that this table
//! equals the measured one.
//!
//! Measured (15 files): the four versions count raw text identically (v2, v3 and
//! v7 only add control tokens to v1's 32 000 pieces), from 0.86x Tekken on emoji
//! and edge cases to 2.40x on Korean, Arabic and Hindi (1.11x English, 1.45x
//! French, 1.56x Japanese, 1.17x Python). One multiplier that never undercounts
//! therefore overcounts a lot: **x2.40, mean overcount 99.9 %, worst 179.1 %**
//! (on `edge_cases.txt`). It is a safe bound for reserving, not an estimate.

/// The SentencePiece tokenizer versions of mistral-common, and each one's
/// multiplier over a Tekken count (measured, see the module documentation).
///
/// v1: x2.40, mean overcount 99.9 %, worst 179.1 %.
const V1: f64 = 2.40;
/// v2: x2.40, mean overcount 99.9 %, worst 179.1 %.
const V2: f64 = 2.40;
/// v3: x2.40, mean overcount 99.9 %, worst 179.1 %.
const V3: f64 = 2.40;
/// v7 (and its multimodal file v7m1, which counts text alike): x2.40, mean
/// overcount 99.9 %, worst 179.1 %.
const V7: f64 = 2.40;

/// The multiplier to apply to a Tekken count of a text to bound `model`'s count
/// of it from above, for the models on a SentencePiece vocabulary; `None` for the
/// others (Tekken models, which Tekken counts exactly, and names it does not know).
///
/// The names and versions are mistral-common 1.13.1's own table
/// (`MODEL_NAME_TO_TOKENIZER_CLS`); matching is exact. Measured error of every
/// version's multiplier (x2.40) on the corpus: mean overcount 99.9 %, worst
/// 179.1 %, never an undercount.
///
/// ```
/// # use mistral_ratelimit::tokenizer::correction;
/// assert_eq!(correction("mistral-large-2411"), Some(2.40));
/// assert_eq!(correction("mistral-small-latest"), None);
/// ```
#[must_use]
pub fn correction(model: &str) -> Option<f64> {
    match model {
        "mistral-medium-2312" => Some(V1),
        "mistral-tiny-2312" | "mistral-small-2312" | "mistral-small-2402" | "mistral-large-2402" => Some(V2),
        "mistral-tiny-2407"
        | "open-mixtral-8x22b-2404"
        | "mistral-large-2407"
        | "codestral-2405"
        | "codestral-mamba-2407" => Some(V3),
        "mistral-large-2411" | "pixtral-large-2411" => Some(V7),
        _ => None,
    }
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
        ] {
            assert_eq!(correction(model), Some(2.40), "{model}");
        }
        for model in [
            "open-mistral-nemo-2407",
            "ministral-8b-2410",
            "mistral-small-2409",
            "pixtral-12b-2409",
            "mistral-small-latest",
            "",
            "MISTRAL-LARGE-2411",
        ] {
            assert_eq!(correction(model), None, "{model}");
        }
    }
}
