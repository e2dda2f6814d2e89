//! A streamed reply as the call machine reads it: events decoded from the body as
//! it comes, the text they carry counted (for a stream that dies before its usage),
//! and the usage and conversation id they report.

use serde_json::Value;

use crate::client::usage::streamed_tokens;
use crate::client::{ErrorKind, Usage};

/// Why a stream is broken: the error's kind and message.
pub(crate) type Broken = (ErrorKind, String);
use crate::sse::{SseDecoder, StreamEnd};

/// What a stream has said so far.
#[derive(Debug)]
pub(crate) struct Tally {
    decoder: SseDecoder,
    /// How this kind of stream ends when it ends well.
    end: StreamEnd,
    /// Output tokens counted from the text streamed.
    pub(crate) streamed: u64,
    pub(crate) usage: Option<Usage>,
    /// The conversation the stream belongs to, from its `started` event.
    pub(crate) conversation: Option<String>,
    pub(crate) events: u64,
}

impl Tally {
    pub(crate) fn new(end: StreamEnd) -> Tally {
        Tally { decoder: SseDecoder::default(), end, streamed: 0, usage: None, conversation: None, events: 0 }
    }

    /// Decodes `chunk`; the events' JSON texts, or why the stream is broken.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> Result<Vec<String>, Broken> {
        let mut out = Vec::new();
        self.decoder
            .feed(chunk, &mut out)
            .map_err(|e| (ErrorKind::Protocol, format!("the event stream is malformed: {e}")))?;
        out.into_iter().map(|ev| self.note(ev.data)).collect()
    }

    /// Whether the stream said it is over (`[DONE]`).
    pub(crate) fn is_done(&self) -> bool {
        self.decoder.is_done()
    }

    /// The body ended: the last events, or why the ending is wrong.
    pub(crate) fn finish(&mut self) -> Result<Vec<String>, Broken> {
        let mut out = Vec::new();
        let end = self.decoder.finish(&mut out);
        if end != self.end && !self.decoder.is_done() {
            let why = format!("the stream ended early ({end:?} where {:?} was due); the connection closed", self.end);
            return Err((ErrorKind::Connection, why));
        }
        out.into_iter().map(|ev| self.note(ev.data)).collect()
    }

    fn note(&mut self, data: String) -> Result<String, Broken> {
        let parsed: Value = serde_json::from_str(&data)
            .map_err(|e| (ErrorKind::Protocol, format!("the server sent an event that is not JSON ({e})")))?;
        if !parsed.is_object() {
            return Err((ErrorKind::Protocol, "the server sent an event that is not a JSON object".into()));
        }
        self.events += 1;
        self.streamed += streamed_tokens(&parsed);
        if parsed.get("type").and_then(Value::as_str) == Some("conversation.response.started") {
            self.conversation = parsed.get("conversation_id").and_then(Value::as_str).map(str::to_owned);
        }
        if let Some(u) = Usage::from_json(&parsed) {
            self.usage = Some(u);
        }
        Ok(data)
    }
}
