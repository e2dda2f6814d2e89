//! OpenAI's encodings, for callers who count for other providers too (the
//! `openai` feature): `cl100k_base` and `o200k_base`, from tiktoken-rs, with
//! their vocabularies compiled in (about 2 MB each, so never in the default
//! build). They are not Mistral's, and the client never uses them: on the corpus
//! under `tests/tekken/` (`tests/openai.rs`), cl100k counts English and code 7-9 %
//! lower than Tekken and French, Russian and Japanese 21-45 % higher; o200k
//! counts lower almost everywhere, by up to 38 % (emoji). A low estimate earns 429s.

/// One of OpenAI's encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpenAiEncoding {
    /// `cl100k_base` (GPT-4, GPT-3.5, text-embedding-3).
    Cl100k,
    /// `o200k_base` (GPT-4o and later).
    O200k,
}

impl OpenAiEncoding {
    /// The number of tokens `text` encodes to as raw text (special tokens'
    /// spellings count as ordinary text). The first call builds the encoding.
    pub fn count(self, text: &str) -> usize {
        let bpe = match self {
            Self::Cl100k => tiktoken_rs::cl100k_base_singleton(),
            Self::O200k => tiktoken_rs::o200k_base_singleton(),
        };
        bpe.encode_ordinary(text).len()
    }
}

#[cfg(test)]
mod test {
    use super::OpenAiEncoding::{Cl100k, O200k};

    #[test]
    fn counts_as_tiktoken_does() {
        // "Hello" "," " world" "!" in both.
        assert_eq!(Cl100k.count("Hello, world!"), 4);
        assert_eq!(O200k.count("Hello, world!"), 4);
        assert_eq!(Cl100k.count("<|endoftext|>"), 7, "a special token's spelling is text");
        assert_eq!(O200k.count(""), 0);
    }
}
