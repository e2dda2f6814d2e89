//! The vocabulary is not built in: it is a packed asset (`target/tekken/tekken.bin`,
//! made by `scripts/build/tekken/pack.py` from mistral-common's wheel) that the caller
//! loads and hands to [`Tekken::from_bytes`], so a build without it stays small.
//! The BPE itself is built on the first count, never at load.

mod bpe;
mod class;
mod memo;
mod pieces;
mod tekken;
mod vocab;

pub use self::tekken::{Tekken, TekkenError};

mod chat;

pub use self::chat::{count_chat, count_chat_str, count_conversation, count_conversation_str, ChatError, ChatTemplate};

mod sentencepiece;

pub use self::sentencepiece::{correction, is_latin};

#[cfg(feature = "openai")]
mod openai;

#[cfg(feature = "openai")]
pub use self::openai::OpenAiEncoding;
