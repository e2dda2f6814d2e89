//! An incremental decoder for `text/event-stream`, as the HTML standard defines it.
//!
//! Feed it byte chunks split anywhere: mid-line, between `\r` and `\n`, inside a UTF-8
//! character. Line ends are `\n`, `\r\n` or a lone `\r`. Within an event it reads
//! `data:` (several lines joined by `\n`), `event:`, `id:` and `retry:`, and skips
//! comments (`:`) and unknown fields; a blank line dispatches it. A leading byte-order
//! mark is dropped. Lines are decoded as UTF-8 with replacement characters for bad
//! bytes, which is what the standard asks.
//!
//! Mistral ends chat and FIM streams with `data: [DONE]`; the decoder reports that
//! as the end and ignores anything after. Conversation streams end when the
//! connection closes; [`SseDecoder::finish`] says which of these happened, or whether
//! the stream was cut inside an event.
//!
//! A line longer than the configured cap is an error rather than unbounded memory.

use std::borrow::Cow;
use std::fmt;

/// The default cap on one line: 1 MiB. Mistral's largest frames (a whole tool call,
/// a long delta) are far smaller.
pub const DEFAULT_MAX_LINE: usize = 1 << 20;

/// One dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if any (the standard's default type is `message`).
    pub event: Option<String>,
    /// The `data:` lines joined by `\n`.
    pub data: String,
    /// The last event id seen on the stream so far, if any.
    pub id: Option<String>,
    /// The `retry:` reconnection time in milliseconds, if this event set one.
    pub retry: Option<u64>,
}

/// Why decoding stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SseError {
    /// A line exceeded the cap.
    LineTooLong {
        /// The cap, in bytes.
        limit: usize,
    },
    /// An event's data, over all its `data:` lines, exceeded the cap.
    EventTooLong {
        /// The cap, in bytes.
        limit: usize,
    },
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SseError::LineTooLong { limit } => {
                write!(f, "an event-stream line exceeded {limit} bytes; the stream is malformed, or raise the line cap")
            }
            SseError::EventTooLong { limit } => {
                write!(f, "an event's data exceeded {limit} bytes over its lines; the stream is malformed")
            }
        }
    }
}

impl std::error::Error for SseError {}

/// How the stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamEnd {
    /// A `data: [DONE]` sentinel (chat, FIM).
    Done,
    /// The connection closed between events (conversations).
    Eof,
    /// The connection closed inside an event: the last event is lost.
    Truncated,
}

/// The incremental decoder. See the module docs.
#[derive(Clone, Debug)]
pub struct SseDecoder {
    max_line: usize,
    /// The part of a line not yet ended.
    partial: Vec<u8>,
    /// The previous chunk ended with `\r`: a `\n` starting the next one belongs to it.
    after_cr: bool,
    first_line: bool,
    done: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    retry: Option<u64>,
    last_id: Option<String>,
    /// Some field was seen since the last dispatch (to tell EOF from truncation).
    pending: bool,
}

impl Default for SseDecoder {
    fn default() -> Self {
        SseDecoder::new(DEFAULT_MAX_LINE)
    }
}

impl SseDecoder {
    /// A decoder that refuses lines, and events, longer than `max_line` bytes.
    pub fn new(max_line: usize) -> SseDecoder {
        SseDecoder {
            max_line,
            partial: Vec::new(),
            after_cr: false,
            first_line: true,
            done: false,
            event: None,
            data: String::new(),
            has_data: false,
            retry: None,
            last_id: None,
            pending: false,
        }
    }

    /// Whether `data: [DONE]` was seen.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Decodes `chunk`, appending the events it completes to `out`.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<SseEvent>) -> Result<(), SseError> {
        if self.after_cr && !chunk.is_empty() {
            self.after_cr = false;
            if chunk[0] == b'\n' {
                chunk = &chunk[1..];
            }
        }
        while !self.done {
            let Some(end) = memchr::memchr2(b'\n', b'\r', chunk) else {
                if self.partial.len() + chunk.len() > self.max_line {
                    return Err(SseError::LineTooLong { limit: self.max_line });
                }
                self.partial.extend_from_slice(chunk);
                return Ok(());
            };
            if self.partial.len() + end > self.max_line {
                return Err(SseError::LineTooLong { limit: self.max_line });
            }
            if self.partial.is_empty() {
                self.line(&chunk[..end], out);
            } else {
                self.partial.extend_from_slice(&chunk[..end]);
                let line = std::mem::take(&mut self.partial);
                self.line(&line, out);
                self.partial = line;
                self.partial.clear();
            }
            // Many short data lines grow one event as surely as one long line.
            if self.data.len() > self.max_line {
                return Err(SseError::EventTooLong { limit: self.max_line });
            }
            let mut next = end + 1;
            if chunk[end] == b'\r' {
                match chunk.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
            chunk = &chunk[next..];
        }
        Ok(())
    }

    /// The stream closed: handles a last line left without an end, and says how the
    /// stream ended. An event that was never dispatched by a blank line is dropped,
    /// as the standard says, and reported as [`StreamEnd::Truncated`].
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) -> StreamEnd {
        if !self.done && !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, out);
        }
        if self.done {
            StreamEnd::Done
        } else if self.pending {
            StreamEnd::Truncated
        } else {
            StreamEnd::Eof
        }
    }

    fn line(&mut self, raw: &[u8], out: &mut Vec<SseEvent>) {
        let mut text: Cow<'_, str> = String::from_utf8_lossy(raw);
        if self.first_line {
            self.first_line = false;
            if let Some(rest) = text.strip_prefix('\u{FEFF}') {
                text = Cow::Owned(rest.to_owned());
            }
        }
        if text.is_empty() {
            self.dispatch(out);
            return;
        }
        if text.starts_with(':') {
            return;
        }
        let (field, value) = match text.find(':') {
            Some(i) => {
                let v = &text[i + 1..];
                (&text[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (&*text, ""),
        };
        self.pending = true;
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.event = Some(value.to_owned()),
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                self.retry = value.parse().ok();
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        self.pending = false;
        let event = self.event.take();
        let retry = self.retry.take();
        if !self.has_data {
            return;
        }
        self.has_data = false;
        let data = std::mem::take(&mut self.data);
        if data == "[DONE]" {
            self.done = true;
            return;
        }
        out.push(SseEvent { event, data, id: self.last_id.clone(), retry });
    }
}

#[cfg(test)]
mod tests;
