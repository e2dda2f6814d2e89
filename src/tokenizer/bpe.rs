//! Byte-pair merging, counted: how many tokens one pre-tokenised piece becomes.
//!
//! The rule is tiktoken's: start from single bytes; while some adjacent pair
//! concatenates to a token, merge the pair whose token has the lowest rank (the
//! leftmost of equal ones). Short pieces keep the pairs in a vector and scan it
//! for the minimum, which is fastest at a few dozen bytes; long ones (a line of
//! Chinese is one piece) use a heap, so a megabyte without a break costs
//! `n log n`, not `n²`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::vocab::Vocab;

/// Up to this many bytes, the scan; above, the heap.
const SCAN_LIMIT: usize = 64;

/// Buffers reused from one piece to the next.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Per part (scan): its start and the rank of merging it with the next part.
    parts: Vec<(u32, u32)>,
    /// Per byte position (heap): the start of the next part, if a part starts here.
    next: Vec<u32>,
    /// Per byte position (heap): the start of the previous part.
    prev: Vec<u32>,
    /// Per byte position (heap): the rank of the pair that starts here, `u32::MAX` if none.
    pair: Vec<u32>,
    heap: BinaryHeap<Reverse<(u32, u32)>>,
}

/// The number of tokens `piece` merges into.
pub(crate) fn count(vocab: &Vocab, piece: &[u8], scratch: &mut Scratch) -> usize {
    match piece.len() {
        0 => 0,
        1 => 1,
        _ if vocab.rank(piece).is_some() => 1,
        n if n <= SCAN_LIMIT => count_by_scan(vocab, piece, &mut scratch.parts),
        _ => count_by_heap(vocab, piece, scratch),
    }
}

fn rank_of(vocab: &Vocab, bytes: &[u8]) -> u32 {
    vocab.rank(bytes).unwrap_or(u32::MAX)
}

fn count_by_scan(vocab: &Vocab, piece: &[u8], parts: &mut Vec<(u32, u32)>) -> usize {
    let n = piece.len();
    parts.clear();
    parts.extend((0..n - 1).map(|i| (i as u32, rank_of(vocab, &piece[i..i + 2]))));
    // Sentinels: the last byte's part, then the end.
    parts.extend([((n - 1) as u32, u32::MAX), (n as u32, u32::MAX)]);

    // The rank of merging part `i` with part `i + 1`, once `i + 1` is gone.
    let merged = |parts: &[(u32, u32)], i: usize| match parts.get(i + 3) {
        Some(&(end, _)) => rank_of(vocab, &piece[parts[i].0 as usize..end as usize]),
        None => u32::MAX,
    };
    loop {
        let (mut i, mut lowest) = (0, u32::MAX);
        for (at, &(_, rank)) in parts[..parts.len() - 1].iter().enumerate() {
            if rank < lowest {
                (i, lowest) = (at, rank);
            }
        }
        if lowest == u32::MAX {
            break;
        }
        if i > 0 {
            parts[i - 1].1 = merged(parts, i - 1);
        }
        parts[i].1 = merged(parts, i);
        parts.remove(i + 1);
    }
    parts.len() - 1
}

fn count_by_heap(vocab: &Vocab, piece: &[u8], s: &mut Scratch) -> usize {
    let n = piece.len();
    s.next.clear();
    s.next.extend(1..=n as u32);
    s.prev.clear();
    s.prev.extend((0..n as u32).map(|i| i.wrapping_sub(1)));
    s.pair.clear();
    s.pair.extend((0..n).map(|i| if i + 1 < n { rank_of(vocab, &piece[i..i + 2]) } else { u32::MAX }));
    s.heap.clear();
    s.heap.extend(s.pair.iter().enumerate().filter(|(_, &r)| r != u32::MAX).map(|(i, &r)| Reverse((r, i as u32))));

    // The rank of the part starting at `at` joined with the one after it.
    let pair_at = |next: &[u32], at: usize| {
        let second = next[at] as usize;
        match next.get(second) {
            Some(&end) => rank_of(vocab, &piece[at..end as usize]),
            None => u32::MAX,
        }
    };
    let mut parts = n;
    while let Some(Reverse((rank, at))) = s.heap.pop() {
        let at = at as usize;
        // Stale: the part is gone or its pair changed (a different pair of
        // bytes is a different token, so its rank differs).
        if s.pair[at] != rank {
            continue;
        }
        let gone = s.next[at] as usize;
        s.next[at] = s.next[gone];
        s.pair[gone] = u32::MAX;
        if let Some(after) = s.prev.get_mut(s.next[at] as usize) {
            *after = at as u32;
        }
        parts -= 1;
        s.pair[at] = pair_at(&s.next, at);
        if s.pair[at] != u32::MAX {
            s.heap.push(Reverse((s.pair[at], at as u32)));
        }
        if let Some(&before) = s.prev.get(at) {
            let before = before as usize;
            if before < n {
                s.pair[before] = pair_at(&s.next, before);
                if s.pair[before] != u32::MAX {
                    s.heap.push(Reverse((s.pair[before], before as u32)));
                }
            }
        }
    }
    parts
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::tokenizer::vocab::length_prefixed;

    fn vocab(extra: &[&[u8]]) -> Vocab {
        let bytes: Vec<[u8; 1]> = (0..=255u8).map(|b| [b]).collect();
        let tokens: Vec<&[u8]> = bytes.iter().map(|b| b.as_slice()).chain(extra.iter().copied()).collect();
        Vocab::from_length_prefixed(length_prefixed(&tokens), 0, tokens.len() as u32).unwrap()
    }

    /// Both strategies, on the same piece.
    fn both(vocab: &Vocab, piece: &[u8]) -> (usize, usize) {
        let mut s = Scratch::default();
        let scan = if vocab.rank(piece).is_some() { 1 } else { count_by_scan(vocab, piece, &mut s.parts) };
        (scan, count_by_heap(vocab, piece, &mut s))
    }

    #[test]
    fn merges_the_lowest_rank_first_then_the_leftmost() {
        // "bc" (rank 256) goes before "ab" (257) and "cd" (259), then "abc" (258).
        let v = vocab(&[b"bc", b"ab", b"abc", b"cd"]);
        assert_eq!(both(&v, b"abcd"), (2, 2), "abc + d, never ab + cd");
        // Two copies of one pair: the leftmost merges first.
        let v = vocab(&[b"aa", b"aaa"]);
        assert_eq!(both(&v, b"aaaa"), (2, 2), "aa + aa, never a + aaa");
        assert_eq!(both(&v, b"aaaaa"), (2, 2), "aa + a + a + a, aa + aa + a, then aa + aaa");
    }

    #[test]
    fn scan_and_heap_agree_on_long_and_repetitive_pieces() {
        let v = vocab(&[b"ab", b"ba", b"abab", b"aba", b"bab", b"ababab", b"\xe4\xb8", b"\xe4\xb8\xad"]);
        let mut s = Scratch::default();
        for piece in ["ab".repeat(40), "aba".repeat(33), "abba".repeat(25), "中文".repeat(30), "b".repeat(7)] {
            let (scan, heap) = both(&v, piece.as_bytes());
            assert_eq!(scan, heap, "{piece}");
            assert_eq!(count(&v, piece.as_bytes(), &mut s), heap);
        }
        assert_eq!(count(&v, b"", &mut s), 0);
        assert_eq!(count(&v, b"z", &mut s), 1);
        assert_eq!(count(&v, b"abab", &mut s), 1);
    }
}
