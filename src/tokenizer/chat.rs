//! The prompt tokens of a chat or conversation request, counted as mistral-common
//! 1.13.1's `encode_chat_completion` encodes them: BOS, the control tokens of the
//! instruct template (one token each) and the Tekken count of each text piece, each
//! piece encoded on its own as mistral-common does.
//!
//! Three template versions are implemented ([`ChatTemplate`]); they share the v7
//! normaliser (consecutive user or assistant messages merge with `"\n\n"`, each
//! system message stays in place between `[SYSTEM_PROMPT]` and `[/SYSTEM_PROMPT]`)
//! and differ in where the tools go and how tool calls and results are written.
//!
//! JSON that the template re-serialises (the tools, a tool call's arguments) is
//! written as Python's `json.dumps(..., ensure_ascii=False)` would: `", "` and
//! `": "` separators, keys in their order, floats as Python's `repr`. Key order is
//! only known from text, so [`count_chat_str`] and [`count_conversation_str`] are
//! the exact entry points; the `serde_json::Value` ones see the order the `Value`
//! keeps (sorted, unless serde_json's `preserve_order` feature is on).
//!
//! What is not counted exactly is refused with [`ChatError::Unsupported`]: images,
//! documents, audio and thinking chunks, built-in (non-function) tools, agents,
//! conversation entries other than messages and function calls and results.

use std::fmt;

use serde_json::Value;

use super::Tekken;

/// The instruct template version, as in mistral-common's `TokenizerVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChatTemplate {
    /// v7: tools before the last user message; tool calls as one JSON list after
    /// `[TOOL_CALLS]`; results `[TOOL_RESULTS] id [TOOL_CONTENT] content [/TOOL_RESULTS]`.
    V7,
    /// v11: as v7, but each call is `[TOOL_CALLS] name [CALL_ID] id [ARGS] arguments`.
    V11,
    /// v13: tools before the first user message; calls `[TOOL_CALLS] name [ARGS]
    /// arguments`; results `[TOOL_RESULTS] content [/TOOL_RESULTS]` (no ids).
    V13,
}

impl ChatTemplate {
    /// The template of a Mistral API model name, where it is known to be one of these.
    ///
    /// mistral-common 1.13.1 maps no current model name (its `from_model` table stops
    /// at 2411), so this follows the `config.version` of the `tekken.json` shipped
    /// with each model's open weights, as recalled and NOT checked here: Mistral Small 3 and 3.1 (`2501`, `2503`) and Devstral Small
    /// 2505 are v7; Mistral Small 3.2 (`2506`, and `mistral-small-latest` now) is
    /// v11; Magistral 2509, Devstral 2507 and the `2512` models (Ministral 3,
    /// Devstral 2, Mistral Large 3) are v13. Older Tekken models (`open-mistral-nemo`,
    /// `ministral-8b-2410`, `pixtral-12b-2409`, `mistral-small-2409`) use v3, which is
    /// not implemented: `None`, as for any other name.
    pub fn for_model(model: &str) -> Option<Self> {
        let m = model.strip_prefix("mistralai/").unwrap_or(model);
        Some(match m {
            "mistral-small-2501" | "mistral-small-2503" | "devstral-small-2505" => Self::V7,
            "mistral-small-2506" | "mistral-small-latest" => Self::V11,
            "magistral-small-2509"
            | "magistral-medium-2509"
            | "magistral-small-latest"
            | "magistral-medium-latest"
            | "devstral-small-2507"
            | "devstral-medium-2507"
            | "ministral-3b-2512"
            | "ministral-8b-2512"
            | "ministral-14b-2512"
            | "devstral-2512"
            | "mistral-large-2512"
            | "mistral-large-latest" => Self::V13,
            _ => return None,
        })
    }
}

impl fmt::Display for ChatTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::V7 => "v7",
            Self::V11 => "v11",
            Self::V13 => "v13",
        })
    }
}

/// Why a request was not counted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChatError {
    /// The request uses something this counter does not count exactly; fall back.
    Unsupported(String),
    /// The request is malformed (mistral-common would refuse it too).
    Invalid(String),
}

impl fmt::Display for ChatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unsupported(what) => write!(f, "not counted exactly: {what}"),
            Self::Invalid(what) => write!(f, "invalid request: {what}"),
        }
    }
}

impl std::error::Error for ChatError {}

fn unsupported<T>(what: impl Into<String>) -> Result<T, ChatError> {
    Err(ChatError::Unsupported(what.into()))
}

fn invalid<T>(what: impl Into<String>) -> Result<T, ChatError> {
    Err(ChatError::Invalid(what.into()))
}

/// Counts a chat-completions body (`messages`, `tools`) from its JSON text; exact.
pub fn count_chat_str(tekken: &Tekken, body: &str, template: ChatTemplate) -> Result<usize, ChatError> {
    let json = parse(body).map_err(|e| ChatError::Invalid(format!("body is not JSON: {e}")))?;
    count_chat_json(tekken, &json, template)
}

/// Counts a chat-completions body held as a `Value` (see the module's note on key order).
pub fn count_chat(tekken: &Tekken, body: &Value, template: ChatTemplate) -> Result<usize, ChatError> {
    count_chat_json(tekken, &Json::from_value(body)?, template)
}

/// Counts a conversation body (`inputs`, `instructions`, `tools`) from its JSON text.
///
/// It is counted as the chat it is equivalent to: `instructions` (when not empty) is
/// a first system message; `inputs` as a string is one user message; as entries,
/// `message.input` and `message.output` (or an entry without `type`) are messages of
/// their `role`, `function.call` is an assistant message with that one tool call
/// (`tool_call_id`, `name`, `arguments`; consecutive ones merge into one assistant
/// turn), and `function.result` is a tool message (`tool_call_id`, `result`). Only
/// the body's own entries are counted: an append's history is the server's.
pub fn count_conversation_str(tekken: &Tekken, body: &str, template: ChatTemplate) -> Result<usize, ChatError> {
    let json = parse(body).map_err(|e| ChatError::Invalid(format!("body is not JSON: {e}")))?;
    count_chat_json(tekken, &conversation_to_chat(&json)?, template)
}

/// [`count_conversation_str`] for a body held as a `Value`.
pub fn count_conversation(tekken: &Tekken, body: &Value, template: ChatTemplate) -> Result<usize, ChatError> {
    count_chat_json(tekken, &conversation_to_chat(&Json::from_value(body)?)?, template)
}

// ---------------------------------------------------------------- JSON, Python's way

/// JSON with its keys in order and numbers as Python's `json.dumps` writes them.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn from_value(v: &Value) -> Result<Self, ChatError> {
        Ok(match v {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(*b),
            Value::Number(n) => Self::Num(python_number(&n.to_string())?),
            Value::String(s) => Self::Str(s.clone()),
            Value::Array(a) => Self::Arr(a.iter().map(Self::from_value).collect::<Result<_, _>>()?),
            Value::Object(o) => {
                Self::Obj(o.iter().map(|(k, v)| Ok((k.clone(), Self::from_value(v)?))).collect::<Result<_, _>>()?)
            }
        })
    }

    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Self::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The field, with `null` read as absent.
    fn field(&self, key: &str) -> Option<&Json> {
        self.get(key).filter(|v| **v != Json::Null)
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Self::Null => false,
            Self::Bool(b) => *b,
            Self::Num(n) => n.trim_start_matches('-').trim_end_matches(".0") != "0",
            Self::Str(s) => !s.is_empty(),
            Self::Arr(a) => !a.is_empty(),
            Self::Obj(o) => !o.is_empty(),
        }
    }

    /// `json.dumps(self, ensure_ascii=False)`.
    fn dump(&self, out: &mut String) {
        match self {
            Self::Null => out.push_str("null"),
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Self::Num(n) => out.push_str(n),
            Self::Str(s) => dump_str(s, out),
            Self::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.dump(out);
                }
                out.push(']');
            }
            Self::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    dump_str(k, out);
                    out.push_str(": ");
                    v.dump(out);
                }
                out.push('}');
            }
        }
    }

    fn dumps(&self) -> String {
        let mut out = String::new();
        self.dump(&mut out);
        out
    }
}

fn dump_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON number literal as Python's `json.dumps(json.loads(literal))` writes it.
fn python_number(literal: &str) -> Result<String, ChatError> {
    if !literal.contains(['.', 'e', 'E']) {
        // An int: Python keeps it exactly; only "-0" changes.
        return Ok(if literal == "-0" { "0".to_owned() } else { literal.to_owned() });
    }
    let x: f64 = literal.parse().map_err(|_| ChatError::Invalid(format!("bad number {literal}")))?;
    if !x.is_finite() {
        return unsupported(format!("the number {literal} overflows a float"));
    }
    Ok(python_float_repr(x))
}

/// Python's `repr(float)`: the shortest round-trip digits, fixed notation for
/// exponents -5 < e < 16, otherwise `d.ddde±XX`.
fn python_float_repr(x: f64) -> String {
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("LowerExp writes an exponent");
    let exp: i32 = exp.parse().expect("LowerExp writes an integer exponent");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if x.is_sign_negative() { "-" } else { "" };
    let decpt = exp + 1;
    let n = digits.len() as i32;
    if -4 < decpt && decpt <= 16 {
        if decpt <= 0 {
            format!("{sign}0.{}{digits}", "0".repeat((-decpt) as usize))
        } else if decpt >= n {
            format!("{sign}{digits}{}.0", "0".repeat((decpt - n) as usize))
        } else {
            format!("{sign}{}.{}", &digits[..decpt as usize], &digits[decpt as usize..])
        }
    } else {
        let rest = if n > 1 { format!(".{}", &digits[1..]) } else { String::new() };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{}{rest}e{esign}{:02}", &digits[..1], exp.abs())
    }
}

/// Parses JSON as Python's `json.loads` does, keeping key order (a repeated key
/// keeps its first place and its last value). NaN and Infinity are refused.
fn parse(text: &str) -> Result<Json, String> {
    let mut p = Parser { s: text.as_bytes(), at: 0 };
    let value = p.value(0)?;
    p.ws();
    if p.at != p.s.len() {
        return Err(format!("trailing characters at {}", p.at));
    }
    Ok(value)
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.at..].starts_with(lit.as_bytes()) {
            self.at += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > 512 {
            return Err("nested too deeply".into());
        }
        self.ws();
        let Some(&c) = self.s.get(self.at) else { return Err("unexpected end".into()) };
        match c {
            b'{' => {
                self.at += 1;
                let mut fields: Vec<(String, Json)> = Vec::new();
                self.ws();
                if self.eat("}") {
                    return Ok(Json::Obj(fields));
                }
                loop {
                    self.ws();
                    if self.s.get(self.at) != Some(&b'"') {
                        return Err(format!("expected a key at {}", self.at));
                    }
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(":") {
                        return Err(format!("expected ':' at {}", self.at));
                    }
                    let value = self.value(depth + 1)?;
                    match fields.iter_mut().find(|(k, _)| *k == key) {
                        Some(field) => field.1 = value,
                        None => fields.push((key, value)),
                    }
                    self.ws();
                    if self.eat("}") {
                        return Ok(Json::Obj(fields));
                    }
                    if !self.eat(",") {
                        return Err(format!("expected ',' or '}}' at {}", self.at));
                    }
                }
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat("]") {
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat("]") {
                        return Ok(Json::Arr(items));
                    }
                    if !self.eat(",") {
                        return Err(format!("expected ',' or ']' at {}", self.at));
                    }
                }
            }
            b'"' => Ok(Json::Str(self.string()?)),
            b't' if self.eat("true") => Ok(Json::Bool(true)),
            b'f' if self.eat("false") => Ok(Json::Bool(false)),
            b'n' if self.eat("null") => Ok(Json::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(format!("unexpected character at {}", self.at)),
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.at;
        self.eat("-");
        let digits = |p: &mut Self| {
            let from = p.at;
            while p.s.get(p.at).is_some_and(u8::is_ascii_digit) {
                p.at += 1;
            }
            p.at - from
        };
        let int_start = self.at;
        let n = digits(self);
        if n == 0 || (n > 1 && self.s[int_start] == b'0') {
            return Err(format!("bad number at {start}"));
        }
        if self.eat(".") && digits(self) == 0 {
            return Err(format!("bad number at {start}"));
        }
        if matches!(self.s.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.s.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if digits(self) == 0 {
                return Err(format!("bad number at {start}"));
            }
        }
        let literal = std::str::from_utf8(&self.s[start..self.at]).expect("ASCII");
        python_number(literal).map(Json::Num).map_err(|e| e.to_string())
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let hex = self.s.get(self.at..self.at + 4).ok_or("truncated \\u escape")?;
        let hex = std::str::from_utf8(hex).map_err(|_| "bad \\u escape")?;
        let v = u32::from_str_radix(hex, 16).map_err(|_| "bad \\u escape")?;
        self.at += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, String> {
        self.at += 1; // the opening quote
        let mut out = String::new();
        loop {
            let start = self.at;
            while self.s.get(self.at).is_some_and(|&b| b != b'"' && b != b'\\' && b >= 0x20) {
                self.at += 1;
            }
            out.push_str(std::str::from_utf8(&self.s[start..self.at]).map_err(|_| "string is not UTF-8")?);
            match self.s.get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.at += 1;
                    let esc = *self.s.get(self.at).ok_or("truncated escape")?;
                    self.at += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xd800..0xdc00).contains(&cp) && self.s[self.at..].starts_with(b"\\u") {
                                let save = self.at;
                                self.at += 2;
                                let low = self.hex4()?;
                                if (0xdc00..0xe000).contains(&low) {
                                    cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
                                } else {
                                    self.at = save;
                                }
                            }
                            // A lone surrogate is valid for Python but has no UTF-8 form.
                            out.push(char::from_u32(cp).ok_or("lone surrogate in a string")?);
                        }
                        _ => return Err(format!("bad escape at {}", self.at - 1)),
                    }
                }
                _ => return Err(format!("unterminated string or control character at {}", self.at)),
            }
        }
    }
}

// ---------------------------------------------------------------- the template

/// A message after mistral-common's v7 normalisation.
enum Turn {
    User(String),
    System(String),
    Assistant { content: String, calls: Vec<Call>, prefix: bool },
    Tool { call_id: Option<String>, content: String },
}

struct Call {
    id: Option<String>,
    name: String,
    arguments: Json,
}

/// The text of a message's `content`, its text chunks joined with `"\n\n"`.
fn content_text(content: Option<&Json>) -> Result<String, ChatError> {
    match content {
        None => Ok(String::new()),
        Some(Json::Str(s)) => Ok(s.clone()),
        Some(Json::Arr(chunks)) => {
            let mut parts = Vec::new();
            for chunk in chunks {
                match chunk.field("type").and_then(Json::as_str) {
                    Some("text") => match chunk.field("text") {
                        Some(Json::Str(t)) => {
                            if !t.is_empty() {
                                parts.push(t.as_str())
                            }
                        }
                        _ => return invalid("a text chunk without text"),
                    },
                    Some(other) => return unsupported(format!("{other} content chunks")),
                    None => return invalid("a content chunk without a type"),
                }
            }
            Ok(parts.join("\n\n"))
        }
        Some(_) => invalid("content is neither a string nor a list of chunks"),
    }
}

/// Joins the texts of merged messages as mistral-common does: empty ones are skipped.
fn join_texts(texts: impl IntoIterator<Item = String>) -> String {
    texts.into_iter().filter(|t| !t.is_empty()).collect::<Vec<_>>().join("\n\n")
}

fn tool_call(call: &Json) -> Result<Call, ChatError> {
    let function = call.field("function").ok_or(ChatError::Invalid("a tool call without a function".into()))?;
    let name =
        function.field("name").and_then(Json::as_str).ok_or(ChatError::Invalid("a tool call without a name".into()))?;
    // `FunctionCall` turns an object into its JSON text and None into "{}"; the
    // normaliser then reads the text back: JSON is re-dumped, anything else stays a string.
    let arguments = match function.field("arguments") {
        None => Json::Obj(Vec::new()),
        Some(Json::Str(s)) if s.is_empty() => Json::Obj(Vec::new()),
        Some(Json::Str(s)) => parse(s).unwrap_or_else(|_| Json::Str(s.clone())),
        Some(v @ Json::Obj(_)) => v.clone(),
        Some(_) => return invalid("tool call arguments are neither a string nor an object"),
    };
    let id = call
        .field("id")
        .map(|id| {
            id.as_str().map(str::to_owned).ok_or(ChatError::Invalid("a tool call id that is not a string".into()))
        })
        .transpose()?;
    Ok(Call { id: id.filter(|id| id != "null"), name: name.to_owned(), arguments })
}

fn turns(messages: &[Json]) -> Result<Vec<Turn>, ChatError> {
    let mut out: Vec<Turn> = Vec::new();
    let mut i = 0;
    while i < messages.len() {
        let role = messages[i].field("role").and_then(Json::as_str).unwrap_or("");
        let mut j = i;
        while j < messages.len() && messages[j].field("role").and_then(Json::as_str) == Some(role) {
            j += 1;
        }
        let group = &messages[i..j.max(i + 1)];
        match role {
            "user" => {
                let texts = group.iter().map(|m| content_text(m.field("content"))).collect::<Result<Vec<_>, _>>()?;
                out.push(Turn::User(join_texts(texts)));
            }
            "system" => {
                for m in group {
                    out.push(Turn::System(content_text(m.field("content"))?));
                }
            }
            "tool" => {
                for m in group {
                    let call_id = m.field("tool_call_id").and_then(Json::as_str).map(str::to_owned);
                    out.push(Turn::Tool { call_id, content: content_text(m.field("content"))? });
                }
            }
            "assistant" => {
                let mut texts = Vec::new();
                let mut calls = Vec::new();
                let mut prefix = false;
                for m in group {
                    texts.push(content_text(m.field("content"))?);
                    if let Some(list) = m.field("tool_calls") {
                        let Json::Arr(list) = list else { return invalid("tool_calls is not a list") };
                        for call in list {
                            calls.push(tool_call(call)?);
                        }
                    }
                    prefix |= m.field("prefix").is_some_and(Json::truthy);
                }
                out.push(Turn::Assistant { content: join_texts(texts), calls, prefix });
            }
            other => return invalid(format!("unknown role {other:?}")),
        }
        i = j.max(i + 1);
    }
    if out.is_empty() {
        out.push(Turn::User(String::new()));
    }
    Ok(out)
}

/// `[tool.model_dump(exclude strict) for tool in tools]`, dumped.
fn tools_json(tools: &[Json]) -> Result<String, ChatError> {
    let mut dumped = Vec::new();
    for tool in tools {
        match tool.field("type").and_then(Json::as_str) {
            None | Some("function") => {}
            Some(other) => return unsupported(format!("the built-in tool {other}")),
        }
        let function = tool.field("function").ok_or(ChatError::Invalid("a tool without a function".into()))?;
        let name =
            function.field("name").and_then(Json::as_str).ok_or(ChatError::Invalid("a tool without a name".into()))?;
        let description = match function.field("description") {
            None => String::new(),
            Some(Json::Str(d)) => d.clone(),
            Some(_) => return invalid("a tool description that is not a string"),
        };
        let parameters = match function.get("parameters") {
            Some(p @ Json::Obj(_)) => p.clone(),
            _ => return invalid("a tool without a parameters object"),
        };
        dumped.push(Json::Obj(vec![
            ("type".into(), Json::Str("function".into())),
            (
                "function".into(),
                Json::Obj(vec![
                    ("name".into(), Json::Str(name.into())),
                    ("description".into(), Json::Str(description)),
                    ("parameters".into(), parameters),
                ]),
            ),
        ]));
    }
    Ok(Json::Arr(dumped).dumps())
}

fn count_chat_json(tekken: &Tekken, body: &Json, template: ChatTemplate) -> Result<usize, ChatError> {
    let Some(Json::Arr(messages)) = body.field("messages") else { return invalid("messages is not a list") };
    let tools = match body.field("tools") {
        None => Vec::new(),
        Some(Json::Arr(tools)) => tools.clone(),
        Some(_) => return invalid("tools is not a list"),
    };
    let turns = turns(messages)?;
    let users: Vec<usize> =
        turns.iter().enumerate().filter(|(_, t)| matches!(t, Turn::User(_))).map(|(i, _)| i).collect();
    let tools_at = match template {
        ChatTemplate::V13 => users.first(),
        ChatTemplate::V7 | ChatTemplate::V11 => users.last(),
    };
    let tools_tokens = if tools.is_empty() { 0 } else { 2 + tekken.count(&tools_json(&tools)?) };

    let mut n = 1; // BOS
    for (i, turn) in turns.iter().enumerate() {
        n += match turn {
            // [AVAILABLE_TOOLS] json [/AVAILABLE_TOOLS] [INST] text [/INST]
            Turn::User(text) => 2 + tekken.count(text) + if tools_at == Some(&i) { tools_tokens } else { 0 },
            // [SYSTEM_PROMPT] text [/SYSTEM_PROMPT]
            Turn::System(text) => 2 + tekken.count(text),
            Turn::Tool { call_id, content } => match template {
                // [TOOL_RESULTS] content [/TOOL_RESULTS]
                ChatTemplate::V13 => 2 + tekken.count(content),
                // [TOOL_RESULTS] id [TOOL_CONTENT] content [/TOOL_RESULTS]
                ChatTemplate::V7 | ChatTemplate::V11 => {
                    let Some(id) = call_id else { return invalid("a tool message without tool_call_id") };
                    3 + tekken.count(id) + tekken.count(content)
                }
            },
            Turn::Assistant { content, calls, prefix } => {
                if content.is_empty() && calls.is_empty() {
                    return invalid("an assistant message with neither content nor tool calls");
                }
                let mut m = tekken.count(content.trim_end_matches(' '));
                match template {
                    // [TOOL_CALLS] [{"name": ..., "arguments": ..., "id": ...}, ...]
                    ChatTemplate::V7 if !calls.is_empty() => {
                        let list = calls.iter().map(|c| {
                            let mut f = vec![
                                ("name".into(), Json::Str(c.name.clone())),
                                ("arguments".into(), c.arguments.clone()),
                            ];
                            if let Some(id) = &c.id {
                                f.push(("id".into(), Json::Str(id.clone())));
                            }
                            Json::Obj(f)
                        });
                        m += 1 + tekken.count(&Json::Arr(list.collect()).dumps());
                    }
                    ChatTemplate::V7 => {}
                    // [TOOL_CALLS] name [CALL_ID] id [ARGS] arguments, for each call
                    ChatTemplate::V11 => {
                        for c in calls {
                            let id = c.id.as_deref().map_or(0, |id| 1 + tekken.count(id));
                            m += 2 + tekken.count(&c.name) + id + tekken.count(&c.arguments.dumps());
                        }
                    }
                    // [TOOL_CALLS] name [ARGS] arguments, for each call
                    ChatTemplate::V13 => {
                        for c in calls {
                            if c.id.is_none() {
                                return invalid("v13 needs an id on every tool call");
                            }
                            m += 2 + tekken.count(&c.name) + tekken.count(&c.arguments.dumps());
                        }
                    }
                }
                m + usize::from(!prefix) // EOS
            }
        };
    }
    Ok(n)
}

/// The chat a conversation body is counted as (see [`count_conversation_str`]).
fn conversation_to_chat(body: &Json) -> Result<Json, ChatError> {
    if body.field("agent_id").is_some() {
        return unsupported("an agent's instructions and tools are held by the server");
    }
    let msg = |role: &str, content: Json| {
        Json::Obj(vec![("role".into(), Json::Str(role.into())), ("content".into(), content)])
    };
    let mut messages = Vec::new();
    match body.field("instructions") {
        None => {}
        Some(Json::Str(s)) if s.is_empty() => {}
        Some(s @ Json::Str(_)) => messages.push(msg("system", s.clone())),
        Some(_) => return invalid("instructions is not a string"),
    }
    match body.field("inputs") {
        Some(s @ Json::Str(_)) => messages.push(msg("user", s.clone())),
        Some(Json::Arr(entries)) => {
            for entry in entries {
                let kind = entry.field("type").and_then(Json::as_str).unwrap_or("message.input");
                let get = |k: &str| entry.field(k).cloned().unwrap_or(Json::Null);
                messages.push(match kind {
                    "message.input" | "message.output" => {
                        let default = if kind == "message.input" { "user" } else { "assistant" };
                        let role = entry.field("role").and_then(Json::as_str).unwrap_or(default);
                        msg(role, get("content"))
                    }
                    "function.call" => {
                        let function =
                            Json::Obj(vec![("name".into(), get("name")), ("arguments".into(), get("arguments"))]);
                        let call = Json::Obj(vec![("id".into(), get("tool_call_id")), ("function".into(), function)]);
                        Json::Obj(vec![
                            ("role".into(), Json::Str("assistant".into())),
                            ("tool_calls".into(), Json::Arr(vec![call])),
                        ])
                    }
                    "function.result" => Json::Obj(vec![
                        ("role".into(), Json::Str("tool".into())),
                        ("tool_call_id".into(), get("tool_call_id")),
                        ("content".into(), get("result")),
                    ]),
                    other => return unsupported(format!("{other} conversation entries")),
                });
            }
        }
        _ => return invalid("inputs is neither a string nor a list of entries"),
    }
    let mut chat = vec![("messages".into(), Json::Arr(messages))];
    if let Some(tools) = body.field("tools") {
        chat.push(("tools".into(), tools.clone()));
    }
    Ok(Json::Obj(chat))
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn floats_read_as_python_writes_them() {
        for (literal, python) in [
            ("1.0", "1.0"),
            ("2.50", "2.5"),
            ("1e21", "1e+21"),
            ("1e16", "1e+16"),
            ("1e15", "1000000000000000.0"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("1.5E-7", "1.5e-07"),
            ("-0.0", "-0.0"),
            ("-0", "0"),
            ("123.456e3", "123456.0"),
            ("0.1", "0.1"),
            ("-12", "-12"),
            ("123456789012345678901234567890", "123456789012345678901234567890"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ] {
            assert_eq!(python_number(literal).unwrap(), python, "{literal}");
        }
        assert!(matches!(python_number("1e400"), Err(ChatError::Unsupported(_))));
    }

    #[test]
    fn parses_in_order_and_dumps_like_python() {
        let json =
            parse(r#" {"b": [1, 2.0, true, null], "a": {"x": "é\n\u0001\"\\\/", "x": 3}, "s": "\ud83c\udf89"} "#)
                .unwrap();
        assert_eq!(json.dumps(), r#"{"b": [1, 2.0, true, null], "a": {"x": 3}, "s": "🎉"}"#);
        assert_eq!(Json::Str("\u{1}\t\u{7f}\u{2028}".into()).dumps(), "\"\\u0001\\t\u{7f}\u{2028}\"");
        for bad in ["", "{", "[1,]", "01", "1.", "NaN", "\"\\x\"", "\"a\nb\"", "{} x", "\"\\udc00\""] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn maps_models_to_templates() {
        assert_eq!(ChatTemplate::for_model("mistral-small-2503"), Some(ChatTemplate::V7));
        assert_eq!(ChatTemplate::for_model("mistral-small-latest"), Some(ChatTemplate::V11));
        assert_eq!(ChatTemplate::for_model("magistral-medium-2509"), Some(ChatTemplate::V13));
        assert_eq!(ChatTemplate::for_model("open-mistral-nemo"), None);
        assert_eq!(ChatTemplate::V13.to_string(), "v13");
    }
}
