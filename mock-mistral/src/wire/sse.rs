//! Event-stream framing as Mistral sends it: chat and FIM streams are `data:` frames
//! ended by `data: [DONE]`; conversation streams carry `event:` and `data:` and end
//! when the connection closes.

use bytes::Bytes;

/// One frame, and how many generated tokens it carries (to pace and charge them).
#[derive(Clone, Debug)]
pub struct Frame {
    pub event: Option<String>,
    pub data: String,
    pub tokens: u64,
}

/// How a stream ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// `data: [DONE]` (chat, FIM).
    Done,
    /// Close after the last frame (conversations).
    Eof,
}

pub fn encode(frame: &Frame) -> Bytes {
    let mut s = String::with_capacity(frame.data.len() + 32);
    if let Some(e) = &frame.event {
        s.push_str("event: ");
        s.push_str(e);
        s.push('\n');
    }
    s.push_str("data: ");
    s.push_str(&frame.data);
    s.push_str("\n\n");
    Bytes::from(s)
}

pub const DONE: &[u8] = b"data: [DONE]\n\n";
pub const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";
