//! JSON as mistral-common reads and writes it: read as Python's `json.loads`
//! (keys in order, NaN and Infinity allowed) and written as
//! `json.dumps(..., ensure_ascii=False)` (`", "` and `": "` separators, floats as
//! Python's `repr`), so that re-serialised tools and arguments count exactly.

use serde_json::Value;

/// JSON with its keys in order and numbers as Python's `json.dumps` writes them.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub(super) fn from_value(v: &Value) -> Result<Self, String> {
        Ok(match v {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(*b),
            Value::Number(n) => Self::Num(python_number(&n.to_string())?),
            Value::String(s) => Self::Str(s.clone()),
            Value::Array(a) => Self::Arr(a.iter().map(Self::from_value).collect::<Result<_, _>>()?),
            Value::Object(o) => {
                Self::Obj(o.iter().map(|(k, v)| Ok((k.clone(), Self::from_value(v)?))).collect::<Result<_, String>>()?)
            }
        })
    }

    pub(super) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Self::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The field, with `null` read as absent.
    pub(super) fn field(&self, key: &str) -> Option<&Json> {
        self.get(key).filter(|v| **v != Json::Null)
    }

    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(super) fn truthy(&self) -> bool {
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

    pub(super) fn dumps(&self) -> String {
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
fn python_number(literal: &str) -> Result<String, String> {
    if !literal.contains(['.', 'e', 'E']) {
        // An int: Python keeps it exactly; only "-0" changes.
        return Ok(if literal == "-0" { "0".to_owned() } else { literal.to_owned() });
    }
    let x: f64 = literal.parse().map_err(|_| format!("bad number {literal}"))?;
    Ok(match x {
        // Python reads an overflowing literal as inf, which json.dumps writes so.
        f64::INFINITY => "Infinity".to_owned(),
        f64::NEG_INFINITY => "-Infinity".to_owned(),
        x => python_float_repr(x),
    })
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
/// keeps its first place and its last value), NaN and Infinity included.
pub(super) fn parse(text: &str) -> Result<Json, String> {
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
            // Python's own extensions, which json.dumps writes back as they are.
            b'N' if self.eat("NaN") => Ok(Json::Num("NaN".into())),
            b'I' if self.eat("Infinity") => Ok(Json::Num("Infinity".into())),
            b'-' if self.eat("-Infinity") => Ok(Json::Num("-Infinity".into())),
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
        python_number(literal).map(Json::Num)
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
        assert_eq!(python_number("1e400").unwrap(), "Infinity");
        assert_eq!(python_number("-1e400").unwrap(), "-Infinity");
    }

    #[test]
    fn parses_in_order_and_dumps_like_python() {
        let json =
            parse(r#" {"b": [1, 2.0, true, null], "a": {"x": "é\n\u0001\"\\\/", "x": 3}, "s": "\ud83c\udf89"} "#)
                .unwrap();
        assert_eq!(json.dumps(), r#"{"b": [1, 2.0, true, null], "a": {"x": 3}, "s": "🎉"}"#);
        assert_eq!(Json::Str("\u{1}\t\u{7f}\u{2028}".into()).dumps(), "\"\\u0001\\t\u{7f}\u{2028}\"");
        assert_eq!(parse("[NaN, -Infinity, Infinity, 1e999]").unwrap().dumps(), "[NaN, -Infinity, Infinity, Infinity]");
        for bad in ["", "{", "[1,]", "01", "1.", "nan", "-NaN", "\"\\x\"", "\"a\nb\"", "{} x", "\"\\udc00\""] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
