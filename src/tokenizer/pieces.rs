//! Pre-tokenisation: cutting text into the pieces BPE merges within, as
//! Tekken's pattern ([`TEKKEN_PATTERN`]) does.
//!
//! The pattern needs a backtracking engine for its look-ahead (`\s+(?!\S)`), and
//! in wasm that engine, or even the `regex` crate's lazy automata with their
//! Unicode classes, costs more than the merging itself. So the pattern is
//! written out here by hand: each alternative is a function over the
//! characters' [`Class`]es that returns where it would end, tried in the
//! pattern's order, with the backtracking each one implies worked out in its
//! comment. `tests/tekken_differential.rs` holds the result to tiktoken's.

use super::class::Class;

/// The pre-tokenisation pattern of `tekken_240911` (and every Tekken file since).
pub(crate) const TEKKEN_PATTERN: &str = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Calls `piece` with each piece of `text`, in order.
pub(crate) fn each<'t>(text: &'t str, mut piece: impl FnMut(&'t str)) {
    let mut start = 0;
    while let Some((class, width)) = at(text, start) {
        let end = piece_end(text, start, class, width);
        piece(&text[start..end]);
        start = end;
    }
}

/// Where the piece starting at `p` (a character of `class`, `width` bytes) ends.
fn piece_end(s: &str, p: usize, class: Class, width: usize) -> usize {
    // `[^\r\n\p{L}\p{N}]?` before each word form: tried with, then without.
    let lead = class.leads_word();
    if let Some(end) = (lead.then(|| cased_word(s, p + width)).flatten()).or_else(|| cased_word(s, p)) {
        return end;
    }
    if let Some(end) = (lead.then(|| capitalised_word(s, p + width)).flatten()).or_else(|| capitalised_word(s, p)) {
        return end;
    }
    if class == Class::Digit {
        return p + width; // `\p{N}`: one at a time
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n/]*`
    let symbols = if s.as_bytes()[p] == b' ' { p + 1 } else { p };
    let after_symbols = run(s, symbols, |c, _| c.is_symbol());
    if after_symbols > symbols {
        return run(s, after_symbols, |c, byte| c == Class::Newline || byte == b'/');
    }
    // Only whitespace is left (every other class matched above).
    let spaces_end = run(s, p, |c, _| c.is_space());
    // `\s*[\r\n]+`: backtracking from the whole run, up to its last line break.
    if let Some(last_break) = s[p..spaces_end].rfind(['\r', '\n']) {
        return p + last_break + 1;
    }
    // `\s+(?!\S)`: the run, less its last character when text follows (that
    // one then leads the next word); `\s+` when the run is that one character.
    match s[p..spaces_end].char_indices().next_back() {
        Some((last, _)) if spaces_end < s.len() && last > 0 => p + last,
        _ => spaces_end,
    }
}

/// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+` at `q`: the upper-ish
/// run, then the lower-ish run after it; failing that (backtracking into the
/// first run), up to the last character of the first run that is also lower-ish.
fn cased_word(s: &str, q: usize) -> Option<usize> {
    let mut i = q;
    let mut last_lowerish_end = None;
    while let Some((class, width)) = at(s, i).filter(|(c, _)| c.upperish()) {
        i += width;
        if class.lowerish() {
            last_lowerish_end = Some(i);
        }
    }
    match at(s, i) {
        Some((class, _)) if class.lowerish() => Some(run(s, i, |c, _| c.lowerish())),
        _ => last_lowerish_end,
    }
}

/// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*` at `q`.
fn capitalised_word(s: &str, q: usize) -> Option<usize> {
    let upper_end = run(s, q, |c, _| c.upperish());
    (upper_end > q).then(|| run(s, upper_end, |c, _| c.lowerish()))
}

/// The end of the run of characters from `i` that `keep` accepts (it gets each
/// one's class and first byte).
#[inline]
fn run(s: &str, mut i: usize, keep: impl Fn(Class, u8) -> bool) -> usize {
    while let Some((class, width)) = at(s, i) {
        if !keep(class, s.as_bytes()[i]) {
            break;
        }
        i += width;
    }
    i
}

/// The class and UTF-8 width of the character at byte `i`, if there is one.
#[inline]
fn at(s: &str, i: usize) -> Option<(Class, usize)> {
    let byte = *s.as_bytes().get(i)?;
    if byte < 0x80 {
        return Some((Class::of(byte as char), 1));
    }
    let c = s[i..].chars().next()?;
    Some((Class::of(c), c.len_utf8()))
}

#[cfg(test)]
mod test {
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        each(text, |p| out.push(p));
        out
    }

    #[test]
    fn a_run_of_spaces_leaves_its_last_one_to_the_word() {
        assert_eq!(split("a   b"), ["a", "  ", " b"]);
        assert_eq!(split("a \u{3000}\tb"), ["a", " \u{3000}", "\tb"]);
        assert_eq!(split("x  7"), ["x", " ", " ", "7"], "a digit takes no space");
        assert_eq!(split("x \n  y  "), ["x", " \n", " ", " y", "  "]);
        assert_eq!(split(" "), [" "]);
        assert_eq!(split(""), [] as [&str; 0]);
    }

    #[test]
    fn words_symbols_and_digits() {
        assert_eq!(split("Hello, World42!"), ["Hello", ",", " World", "4", "2", "!"]);
        assert_eq!(split("camelCase HTTPServer"), ["camel", "Case", " HTTPServer"]);
        assert_eq!(split("a/b //\n/c"), ["a", "/b", " //\n/", "c"]);
        assert_eq!(split("中文字 日本"), ["中文字", " 日本"]);
        // A mark leads a word, and joins one.
        assert_eq!(split("\u{301}e x\u{301}"), ["\u{301}e", " x\u{301}"]);
    }
}
