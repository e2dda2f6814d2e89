//! The counts of recently seen pieces, so that text counted again (the same
//! system prompt on every request, a conversation's history on every turn, the
//! common words of a language) skips the merging.
//!
//! A direct-mapped table of short pieces: fixed memory, no allocation per entry
//! and no eviction bookkeeping; a piece whose slot is taken simply replaces it.

use super::vocab::hash;

/// The longest piece kept; with its length and count, an entry is 32 bytes.
const MAX_PIECE: usize = 30;
/// Entries: 256 KiB in all.
const ENTRIES: usize = 8192;

#[derive(Clone, Copy)]
struct Entry {
    /// 0 when empty; no piece is empty.
    len: u8,
    count: u8,
    bytes: [u8; MAX_PIECE],
}

/// The table.
pub(crate) struct Memo {
    entries: Vec<Entry>,
}

impl Memo {
    /// An empty table (made when the BPE is built, so never at load).
    pub(crate) fn new() -> Self {
        Self { entries: vec![Entry { len: 0, count: 0, bytes: [0; MAX_PIECE] }; ENTRIES] }
    }

    /// The count of `piece`, from the table or from `merge` (which is then kept).
    #[inline]
    pub(crate) fn count(&mut self, piece: &[u8], merge: impl FnOnce(&[u8]) -> usize) -> usize {
        if piece.len() < 2 || piece.len() > MAX_PIECE {
            return merge(piece);
        }
        let entry = &mut self.entries[hash(piece) as usize % ENTRIES];
        if usize::from(entry.len) == piece.len() && &entry.bytes[..piece.len()] == piece {
            return usize::from(entry.count);
        }
        let count = merge(piece);
        // A piece of at most 30 bytes merges into at most 30 tokens.
        entry.len = piece.len() as u8;
        entry.count = count as u8;
        entry.bytes[..piece.len()].copy_from_slice(piece);
        count
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn merges_each_short_piece_once_and_long_ones_every_time() {
        let mut memo = Memo::new();
        let mut merged = Vec::new();
        let long = "x".repeat(MAX_PIECE + 1);
        for piece in [" hello", " hello", " hellO", &long, &long, "a"] {
            let count = memo.count(piece.as_bytes(), |p| {
                merged.push(String::from_utf8(p.to_vec()).unwrap());
                p.len() / 2
            });
            assert_eq!(count, piece.len() / 2);
        }
        assert_eq!(merged, [" hello", " hellO", &long, &long, "a"], "the repeated short piece merged once");
    }
}
