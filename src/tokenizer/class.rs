//! The classes of characters Tekken's pre-tokenisation pattern tells apart,
//! from Unicode's general categories and its White_Space property.
//!
//! The table is generated from regex-syntax's Unicode data, the data of the
//! fancy-regex engine that tiktoken (and so mistral-common) runs the pattern
//! with; `tests/tekken_classes.rs` regenerates it and checks it is current.

mod table;

/// What a character is, as far as the pattern cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Anything below: punctuation, symbols, controls, unassigned.
    Other,
    /// `Lu` and `Lt`.
    Upper,
    /// `Ll`.
    Lower,
    /// `Lm` and `Lo` (CJK, kana, Hangul, Arabic, ...): both upper and lower for the pattern.
    Caseless,
    /// `M`: combining marks; not letters, yet they join words.
    Mark,
    /// `N`.
    Digit,
    /// White_Space other than `\r` and `\n`.
    Space,
    /// `\r` and `\n`.
    Newline,
}

impl Class {
    /// The class of `c`.
    #[inline]
    pub(crate) fn of(c: char) -> Class {
        let c = c as u32;
        if c < 0x80 {
            return ASCII[c as usize];
        }
        // The last range starting at or before `c`; the first starts at 0.
        let at = table::STARTS.partition_point(|&start| start <= c) - 1;
        table::CLASSES[at]
    }

    /// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`.
    #[inline]
    pub(crate) fn upperish(self) -> bool {
        matches!(self, Class::Upper | Class::Caseless | Class::Mark)
    }

    /// `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`.
    #[inline]
    pub(crate) fn lowerish(self) -> bool {
        matches!(self, Class::Lower | Class::Caseless | Class::Mark)
    }

    /// `[^\r\n\p{L}\p{N}]`: what may lead a word.
    #[inline]
    pub(crate) fn leads_word(self) -> bool {
        matches!(self, Class::Other | Class::Mark | Class::Space)
    }

    /// `[^\s\p{L}\p{N}]`.
    #[inline]
    pub(crate) fn is_symbol(self) -> bool {
        matches!(self, Class::Other | Class::Mark)
    }

    /// `\s`.
    #[inline]
    pub(crate) fn is_space(self) -> bool {
        matches!(self, Class::Space | Class::Newline)
    }
}

/// The first 128 code points, looked up directly.
static ASCII: [Class; 128] = {
    let mut ascii = [Class::Other; 128];
    let mut c = 0;
    while c < 128 {
        let mut at = 0;
        while at + 1 < table::STARTS.len() && table::STARTS[at + 1] <= c as u32 {
            at += 1;
        }
        ascii[c] = table::CLASSES[at];
        c += 1;
    }
    ascii
};

#[cfg(test)]
mod test {
    use super::Class::{self, *};

    #[test]
    fn classifies_each_kind() {
        let cases: &[(char, Class)] = &[
            ('a', Lower),
            ('Z', Upper),
            ('ǅ', Upper),
            ('ß', Lower),
            ('ʰ', Caseless),
            ('中', Caseless),
            ('한', Caseless),
            ('\u{301}', Mark),
            ('ि', Mark),
            ('7', Digit),
            ('½', Digit),
            ('٣', Digit),
            (' ', Space),
            ('\t', Space),
            ('\u{3000}', Space),
            ('\u{2028}', Space),
            ('\u{85}', Space),
            ('\n', Newline),
            ('\r', Newline),
            ('.', Other),
            ('/', Other),
            ('😀', Other),
            ('\u{0}', Other),
            ('\u{10ffff}', Other),
            ('\u{e000}', Other),
        ];
        for &(c, class) in cases {
            assert_eq!(Class::of(c), class, "{c:?}");
        }
    }
}
