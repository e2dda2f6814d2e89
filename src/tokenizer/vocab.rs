//! Token bytes → rank, for a byte-level BPE of about 130 000 tokens.
//!
//! The packed vocabulary itself (taken over, not copied) and an open-addressing
//! table of ranks over it: building it is a single pass with no allocation per
//! token (a map of `Vec<u8>` keys would make 130 000 of them, the bulk of a cold
//! start). Each
//! slot keeps 32 bits of its token's hash beside the rank, so a lookup that
//! misses (most pairs BPE tries are not tokens) reads no token bytes.

/// The ranks of a vocabulary, looked up by the bytes of a token.
pub(crate) struct Vocab {
    /// The packed layout the ranks were read from: each token's bytes after its
    /// length byte, in rank order.
    packed: Vec<u8>,
    /// Where each rank's bytes start in `packed`, plus one past the last token: a
    /// token ends where the next one's length byte is.
    starts: Vec<u32>,
    /// At the slot a token's hash picks (or the next free one): the hash's low
    /// 32 bits, then `rank + 1`; 0 is empty.
    slots: Vec<u64>,
    /// `64 - log2(slots.len())`: the hash's top bits pick the slot.
    shift: u32,
}

/// Why a vocabulary table could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Duplicate;

impl Vocab {
    /// Builds the table over `packed`, whose ranks start at `ranks_at`: for each
    /// rank in order, a length byte and then that many bytes (already checked to fit).
    pub(crate) fn from_length_prefixed(packed: Vec<u8>, ranks_at: usize, num_ranks: u32) -> Result<Self, Duplicate> {
        let mut starts = Vec::with_capacity(num_ranks as usize + 1);
        let mut at = ranks_at;
        for _ in 0..num_ranks {
            starts.push(at as u32 + 1);
            at += 1 + packed[at] as usize;
        }
        starts.push(at as u32 + 1);

        // At most half full, so a miss ends after a probe or two.
        let size = (num_ranks as usize * 2).next_power_of_two().max(2);
        let mut vocab = Self { packed, starts, slots: vec![0; size], shift: 64 - size.trailing_zeros() };
        for rank in 0..num_ranks {
            let hash = hash(vocab.token(rank));
            let mut slot = vocab.home(hash);
            while vocab.slots[slot] != 0 {
                if vocab.slots[slot] >> 32 == hash & 0xffff_ffff
                    && vocab.token(vocab.slots[slot] as u32 - 1) == vocab.token(rank)
                {
                    return Err(Duplicate);
                }
                slot = (slot + 1) & (size - 1);
            }
            vocab.slots[slot] = hash << 32 | u64::from(rank + 1);
        }
        Ok(vocab)
    }

    /// The rank of `token`, if it is one.
    #[inline]
    pub(crate) fn rank(&self, token: &[u8]) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let hash = hash(token);
        let mut slot = self.home(hash);
        loop {
            let held = self.slots[slot];
            if held == 0 {
                return None;
            }
            if held >> 32 == hash & 0xffff_ffff && self.token(held as u32 - 1) == token {
                return Some(held as u32 - 1);
            }
            slot = (slot + 1) & mask;
        }
    }

    fn token(&self, rank: u32) -> &[u8] {
        let rank = rank as usize;
        &self.packed[self.starts[rank] as usize..self.starts[rank + 1] as usize - 1]
    }

    /// The hash's high bits pick the slot; its low 32 are the slot's check.
    #[inline]
    fn home(&self, hash: u64) -> usize {
        (hash >> self.shift) as usize
    }
}

/// A multiplicative hash of the bytes, eight at a time, seeded with the length.
#[inline]
pub(crate) fn hash(bytes: &[u8]) -> u64 {
    // 2^64 divided by the golden ratio: odd, with its bits spread evenly.
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        h = (h.rotate_left(23) ^ u64::from_le_bytes(chunk.try_into().expect("eight bytes"))).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(word)).wrapping_mul(K);
    }
    h
}

/// Tokens in the packed layout of the ranks, for tests.
#[cfg(test)]
pub(crate) fn length_prefixed(tokens: &[&[u8]]) -> Vec<u8> {
    tokens.iter().flat_map(|t| std::iter::once(t.len() as u8).chain(t.iter().copied())).collect()
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn finds_every_token_at_its_rank_and_nothing_else() {
        let tokens: Vec<Vec<u8>> = (0..=255u8)
            .map(|b| vec![b])
            .chain((0..2000u32).map(|i| format!("tok{i}-{}", "x".repeat(i as usize % 20)).into_bytes()))
            .collect();
        let refs: Vec<&[u8]> = tokens.iter().map(Vec::as_slice).collect();
        let vocab = Vocab::from_length_prefixed(length_prefixed(&refs), 0, refs.len() as u32).unwrap();
        for (rank, token) in refs.iter().enumerate() {
            assert_eq!(vocab.rank(token), Some(rank as u32));
        }
        for absent in [b"".as_slice(), b"tok", b"tok1-xx", b"tok2000-", b"\xff\xfe"] {
            assert_eq!(vocab.rank(absent), None, "{absent:?}");
        }
    }

    #[test]
    fn refuses_a_repeated_token() {
        assert_eq!(Vocab::from_length_prefixed(length_prefixed(&[b"a", b"bc", b"a"]), 0, 3).err(), Some(Duplicate));
    }

    #[test]
    fn reads_the_ranks_from_where_they_start() {
        let mut headed = b"head".to_vec();
        headed.extend(length_prefixed(&[b"xy", b"z"]));
        let vocab = Vocab::from_length_prefixed(headed, 4, 2).unwrap();
        assert_eq!((vocab.rank(b"xy"), vocab.rank(b"z"), vocab.rank(b"head")), (Some(0), Some(1), None));
    }

    #[test]
    fn an_empty_vocabulary_finds_nothing() {
        assert_eq!(Vocab::from_length_prefixed(Vec::new(), 0, 0).unwrap().rank(b"a"), None);
    }
}
