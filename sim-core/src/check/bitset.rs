//! The set of linearized operations of one key, with an incremental hash and a compact
//! canonical form for the memo table.
//!
//! Operations are numbered in invoke order and a search linearizes them roughly in that
//! order, so a set is nearly always "every operation below some point, plus a few". The
//! canonical form keeps only the words from the first one that is not full to the last
//! one that is not empty: a few words whatever the history's length.

use crate::hash::mix64;

#[derive(Clone, Debug)]
pub(crate) struct Bitset {
    words: Vec<u64>,
    /// XOR of `bit_hash` over the members: updated in O(1) on every insert and remove.
    hash: u64,
    /// The first word that is not all ones.
    low: usize,
    /// One past the last word that is not zero (0 when the set is empty).
    high: usize,
}

/// Zobrist-style key of one member. `mix64` is a bijection with `mix64(0) == 0`, so
/// members `0..` get distinct non-zero keys.
#[inline]
fn bit_hash(index: usize) -> u64 {
    mix64(index as u64 + 1)
}

impl Bitset {
    pub(crate) fn new(len: usize) -> Self {
        Bitset { words: vec![0; len.div_ceil(64)], hash: 0, low: 0, high: 0 }
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, index: usize) -> bool {
        self.words[index / 64] & (1 << (index % 64)) != 0
    }

    pub(crate) fn insert(&mut self, index: usize) {
        let word = index / 64;
        let mask = 1u64 << (index % 64);
        debug_assert_eq!(self.words[word] & mask, 0, "operation {index} linearized twice");
        self.words[word] |= mask;
        self.hash ^= bit_hash(index);
        self.high = self.high.max(word + 1);
        if word == self.low {
            while self.low < self.words.len() && self.words[self.low] == u64::MAX {
                self.low += 1;
            }
        }
    }

    pub(crate) fn remove(&mut self, index: usize) {
        let word = index / 64;
        let mask = 1u64 << (index % 64);
        debug_assert_ne!(self.words[word] & mask, 0, "operation {index} was not linearized");
        self.words[word] &= !mask;
        self.hash ^= bit_hash(index);
        self.low = self.low.min(word);
        if word + 1 == self.high {
            while self.high > 0 && self.words[self.high - 1] == 0 {
                self.high -= 1;
            }
        }
    }

    pub(crate) fn hash(&self) -> u64 {
        self.hash
    }

    /// The words up to the last non-zero one.
    pub(crate) fn trimmed(&self) -> &[u64] {
        &self.words[..self.high]
    }

    /// `(low, words[low..high])`: equal sets of the same length give equal forms.
    pub(crate) fn compact(&self) -> (usize, &[u64]) {
        (self.low, &self.words[self.low..self.high.max(self.low)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_and_hash_depend_only_on_members() {
        let mut a = Bitset::new(200);
        let mut b = Bitset::new(200);
        for i in 0..130 {
            a.insert(i);
        }
        a.insert(150);
        b.insert(150);
        for i in (0..130).rev() {
            b.insert(i);
        }
        assert_eq!(a.compact(), b.compact());
        assert_eq!(a.hash(), b.hash());
        assert_eq!(a.compact().0, 2);
        a.remove(3);
        assert_eq!(a.compact().0, 0);
        assert!(!a.contains(3));
        a.insert(3);
        assert_eq!(a.compact(), b.compact());
        a.remove(150);
        assert_eq!(a.compact(), (2, &[(1u64 << 2) - 1][..]));
        for i in 0..130 {
            a.remove(i);
        }
        assert_eq!(a.compact(), (0, &[][..]));
        assert_eq!(a.hash(), 0);
    }
}
