//! Tekken, the tiktoken-style BPE of Mistral's recent models.
//!
//! The encoding rule is tiktoken's, but the engine is our own, made for counting
//! in wasm, where tiktoken-rs's `CoreBPE` runs at half the speed of the JS
//! tokenizers: the pattern is matched by hand rather than by a backtracking
//! regex engine ([`pieces`](super::pieces)), the ranks live in one flat table
//! built without an allocation per token ([`vocab`](super::vocab)), and merging
//! only counts ([`bpe`](super::bpe)). `tests/tekken_differential.rs` holds it to
//! `CoreBPE` on the same vocabulary, and `tests/tekken.rs` to mistral-common.
//!
//! The packed layout (written by `scripts/build/tekken/pack.py`, integers little-endian):
//!
//! ```text
//! b"TKN1"                  magic and layout version
//! u32 num_special_tokens   ids of ordinary tokens are shifted by this
//! u32 num_ranks            inner BPE ranks that follow
//! u32 pattern_len          then the pre-tokenisation regex, UTF-8
//! num_ranks times: u8 len, then the token's bytes (its rank is its position)
//! ```

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::bpe::{self, Scratch};
use super::memo::Memo;
use super::pieces::{self, TEKKEN_PATTERN};
use super::vocab::{Duplicate, Vocab};

const MAGIC: &[u8; 4] = b"TKN1";

/// Mistral's Tekken tokenizer, loaded from a packed vocabulary.
///
/// Loading only checks the layout; the BPE tables are built on the first
/// [`count`](Self::count) (or [`prepare`](Self::prepare)) and kept.
pub struct Tekken {
    num_ranks: u32,
    num_special_tokens: u32,
    engine: Mutex<Engine>,
}

/// The BPE, from the packed vocabulary (which the built table then owns).
enum Engine {
    Packed { packed: Vec<u8>, ranks_at: usize },
    Built { vocab: Vocab, memo: Memo },
    Broken(TekkenError),
}

impl Engine {
    /// The built tables, building them first if need be.
    fn built(&mut self, num_ranks: u32) -> Result<(&Vocab, &mut Memo), TekkenError> {
        if let Self::Packed { packed, ranks_at } = self {
            *self = match Vocab::from_length_prefixed(std::mem::take(packed), *ranks_at, num_ranks) {
                Ok(vocab) => Self::Built { vocab, memo: Memo::new() },
                Err(Duplicate) => Self::Broken(TekkenError::DuplicateToken),
            };
        }
        match self {
            Self::Built { vocab, memo } => Ok((vocab, memo)),
            Self::Broken(e) => Err(e.clone()),
            Self::Packed { .. } => unreachable!("built above"),
        }
    }
}

/// Why a packed Tekken vocabulary was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TekkenError {
    /// The buffer does not start with the `TKN1` magic.
    Magic,
    /// The buffer ends inside the header or the ranks.
    Truncated,
    /// Bytes follow the last rank.
    TrailingBytes,
    /// The pre-tokenisation pattern is not UTF-8.
    PatternNotUtf8,
    /// A rank has no bytes.
    EmptyToken {
        /// The rank.
        rank: u32,
    },
    /// The same bytes appear at two ranks.
    DuplicateToken,
    /// The pre-tokenisation pattern is not Tekken's, the only one this engine
    /// implements.
    UnsupportedPattern,
}

impl fmt::Display for TekkenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Magic => f.write_str("not a packed Tekken vocabulary (bad magic)"),
            Self::Truncated => f.write_str("packed Tekken vocabulary is truncated"),
            Self::TrailingBytes => f.write_str("packed Tekken vocabulary has bytes after its last rank"),
            Self::PatternNotUtf8 => f.write_str("Tekken pattern is not UTF-8"),
            Self::EmptyToken { rank } => write!(f, "Tekken rank {rank} is empty"),
            Self::DuplicateToken => f.write_str("packed Tekken vocabulary repeats a token"),
            Self::UnsupportedPattern => {
                f.write_str("the vocabulary's pre-tokenisation pattern is not Tekken's, the only one supported")
            }
        }
    }
}

impl std::error::Error for TekkenError {}

impl Tekken {
    /// Checks the layout of a packed vocabulary and keeps it; cheap, builds nothing.
    pub fn from_bytes(packed: impl Into<Vec<u8>>) -> Result<Self, TekkenError> {
        let packed = packed.into();
        if packed.get(..4) != Some(MAGIC.as_slice()) {
            return Err(TekkenError::Magic);
        }
        let num_special_tokens = read_u32(&packed, 4)?;
        let num_ranks = read_u32(&packed, 8)?;
        let pattern_len = read_u32(&packed, 12)? as usize;
        let pattern = 16..16usize.checked_add(pattern_len).ok_or(TekkenError::Truncated)?;
        let pattern_bytes = packed.get(pattern.clone()).ok_or(TekkenError::Truncated)?;
        let pattern_text = std::str::from_utf8(pattern_bytes).map_err(|_| TekkenError::PatternNotUtf8)?;
        if pattern_text != TEKKEN_PATTERN {
            return Err(TekkenError::UnsupportedPattern);
        }

        let mut at = pattern.end;
        for rank in 0..num_ranks {
            let len = *packed.get(at).ok_or(TekkenError::Truncated)? as usize;
            if len == 0 {
                return Err(TekkenError::EmptyToken { rank });
            }
            at += 1 + len;
        }
        if at > packed.len() {
            return Err(TekkenError::Truncated);
        }
        if at < packed.len() {
            return Err(TekkenError::TrailingBytes);
        }
        let engine = Mutex::new(Engine::Packed { packed, ranks_at: pattern.end });
        Ok(Self { num_ranks, num_special_tokens, engine })
    }

    /// The number of tokens `text` encodes to as raw text: no BOS/EOS, and special
    /// tokens' spellings count as ordinary text (as mistral-common's
    /// `encode(text, bos=False, eos=False)`).
    ///
    /// The first call builds the BPE.
    ///
    /// # Panics
    ///
    /// If the vocabulary does not build (it repeats a token);
    /// [`prepare`](Self::prepare) reports that as an error instead.
    pub fn count(&self, text: &str) -> usize {
        let mut engine = self.engine();
        let (vocab, memo) = match engine.built(self.num_ranks) {
            Ok(built) => built,
            Err(e) => panic!("{e}"),
        };
        let mut scratch = Scratch::default();
        let mut tokens = 0;
        pieces::each(text, |piece| {
            tokens += memo.count(piece.as_bytes(), |piece| bpe::count(vocab, piece, &mut scratch));
        });
        tokens
    }

    /// Builds the BPE now, if it is not built yet, and says whether it built.
    pub fn prepare(&self) -> Result<(), TekkenError> {
        self.engine().built(self.num_ranks).map(|_| ())
    }

    /// The number of special-token ids below the ordinary ones (1,000 for `tekken_240911`).
    pub fn num_special_tokens(&self) -> u32 {
        self.num_special_tokens
    }

    /// The number of ordinary (BPE) tokens.
    pub fn num_ranks(&self) -> u32 {
        self.num_ranks
    }

    /// The pre-tokenisation regex (the vocabulary's, checked to be Tekken's).
    pub fn pattern(&self) -> &'static str {
        TEKKEN_PATTERN
    }

    fn engine(&self) -> MutexGuard<'_, Engine> {
        // A count leaves nothing half-done (the memo only ever holds whole
        // entries), so a lock poisoned by a panic elsewhere is still sound.
        self.engine.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Tekken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tekken")
            .field("num_ranks", &self.num_ranks)
            .field("num_special_tokens", &self.num_special_tokens)
            .field("built", &!matches!(*self.engine(), Engine::Packed { .. }))
            .finish()
    }
}

fn read_u32(bytes: &[u8], at: usize) -> Result<u32, TekkenError> {
    let word = bytes.get(at..at + 4).ok_or(TekkenError::Truncated)?;
    Ok(u32::from_le_bytes(word.try_into().expect("four bytes")))
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::tokenizer::vocab::length_prefixed;

    /// Packs a vocabulary as `scripts/build/tekken/pack.py` does.
    fn pack(num_special: u32, pattern: &str, tokens: &[&[u8]]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend(num_special.to_le_bytes());
        out.extend((tokens.len() as u32).to_le_bytes());
        out.extend((pattern.len() as u32).to_le_bytes());
        out.extend(pattern.as_bytes());
        out.extend(length_prefixed(tokens));
        out
    }

    /// Every single byte, then `ab`, `abab` and ` c`.
    fn tiny() -> Vec<u8> {
        let bytes: Vec<[u8; 1]> = (0..=255u8).map(|b| [b]).collect();
        let mut tokens: Vec<&[u8]> = bytes.iter().map(|b| b.as_slice()).collect();
        tokens.extend([b"ab".as_slice(), b"abab", b" c"]);
        pack(3, TEKKEN_PATTERN, &tokens)
    }

    #[test]
    fn reads_the_header() {
        let tekken = Tekken::from_bytes(tiny()).unwrap();
        assert_eq!(tekken.num_ranks(), 259);
        assert_eq!(tekken.num_special_tokens(), 3);
        assert_eq!(tekken.pattern(), TEKKEN_PATTERN);
    }

    #[test]
    fn counts_with_merges_and_builds_once_lazily() {
        let tekken = Tekken::from_bytes(tiny()).unwrap();
        assert!(format!("{tekken:?}").contains("built: false"));
        assert_eq!(tekken.count(""), 0);
        assert!(format!("{tekken:?}").contains("built: true"));
        assert_eq!(tekken.count("abab"), 1);
        // "ab" "c" | " c"; in "  c" the look-ahead leaves the second space to " c".
        assert_eq!(tekken.count("abc c"), 3);
        assert_eq!(tekken.count("  c"), 2);
        assert_eq!(tekken.count("é"), 2, "two UTF-8 bytes, no merge");
        assert_eq!(tekken.prepare(), Ok(()));
    }

    #[test]
    fn refuses_broken_layouts() {
        let good = tiny();
        assert_eq!(Tekken::from_bytes(b"TKN2".to_vec()).unwrap_err(), TekkenError::Magic);
        assert_eq!(Tekken::from_bytes(&good[..10]).unwrap_err(), TekkenError::Truncated);
        assert_eq!(Tekken::from_bytes(&good[..good.len() - 1]).unwrap_err(), TekkenError::Truncated);
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(Tekken::from_bytes(trailing).unwrap_err(), TekkenError::TrailingBytes);
        let mut huge_pattern = good.clone();
        huge_pattern[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Tekken::from_bytes(huge_pattern).unwrap_err(), TekkenError::Truncated);
        assert_eq!(
            Tekken::from_bytes(pack(0, TEKKEN_PATTERN, &[b"a", b""])).unwrap_err(),
            TekkenError::EmptyToken { rank: 1 }
        );
        let mut bad_utf8 = pack(0, "ab", &[b"a"]);
        bad_utf8[16] = 0xff;
        assert_eq!(Tekken::from_bytes(bad_utf8).unwrap_err(), TekkenError::PatternNotUtf8);
        let other = Tekken::from_bytes(pack(0, r"\S+|\s+", &[b"a"])).unwrap_err();
        assert_eq!(other, TekkenError::UnsupportedPattern);
        assert!(other.to_string().contains("not Tekken's"));
    }

    #[test]
    fn reports_what_fails_to_build() {
        let dup = Tekken::from_bytes(pack(0, TEKKEN_PATTERN, &[b"a", b"a"])).unwrap();
        assert_eq!(dup.prepare(), Err(TekkenError::DuplicateToken));
        assert!(dup.prepare().unwrap_err().to_string().contains("repeats a token"));
    }

    #[test]
    fn is_shareable() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Tekken>();
    }
}
