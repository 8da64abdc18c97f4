//! The search's two tables, written here rather than on std's `HashMap` (banned in
//! sim-core for its per-process random keys): open addressing with linear probing, keyed by
//! the stable hasher, never iterated.
//!
//! - `StateTable` interns model states, so the rest of the search handles `u32` ids.
//! - `MemoTable` remembers every (linearized set, state) the search has entered (Lowe's
//!   memoization), storing the sets in their compact form in one arena.

use super::bitset::Bitset;
use crate::hash::{mix64, stable_hash};
use std::hash::Hash;

const EMPTY: u32 = u32::MAX;

/// The largest number of entries a table holds; the search treats reaching it like running
/// out of budget.
pub(crate) const MAX_ENTRIES: usize = (u32::MAX - 1) as usize;

/// Slots of `(hash, id)`; the owner keeps the items and answers equality.
#[derive(Debug)]
struct HashIndex {
    slots: Vec<(u64, u32)>,
    len: usize,
}

impl HashIndex {
    fn new() -> Self {
        HashIndex { slots: vec![(0, EMPTY); 64], len: 0 }
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    fn find(&self, hash: u64, mut equal: impl FnMut(u32) -> bool) -> Option<u32> {
        let mask = self.mask();
        let mut slot = hash as usize & mask;
        loop {
            let (slot_hash, id) = self.slots[slot];
            if id == EMPTY {
                return None;
            }
            if slot_hash == hash && equal(id) {
                return Some(id);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Adds an id known to be absent.
    fn insert(&mut self, hash: u64, id: u32) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.mask();
        let mut slot = hash as usize & mask;
        while self.slots[slot].1 != EMPTY {
            slot = (slot + 1) & mask;
        }
        self.slots[slot] = (hash, id);
        self.len += 1;
    }

    fn grow(&mut self) {
        let doubled = vec![(0, EMPTY); self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        let mask = self.mask();
        for (hash, id) in old.into_iter().filter(|&(_, id)| id != EMPTY) {
            let mut slot = hash as usize & mask;
            while self.slots[slot].1 != EMPTY {
                slot = (slot + 1) & mask;
            }
            self.slots[slot] = (hash, id);
        }
    }
}

/// Model states, each stored once, named by a dense `u32` id.
#[derive(Debug)]
pub(crate) struct StateTable<S> {
    states: Vec<S>,
    index: HashIndex,
}

impl<S: Eq + Hash> StateTable<S> {
    pub(crate) fn new() -> Self {
        StateTable { states: Vec::new(), index: HashIndex::new() }
    }

    /// The id of `state`, and whether it is new to the table.
    pub(crate) fn intern(&mut self, state: S) -> (u32, bool) {
        let hash = stable_hash(&state);
        if let Some(id) = self.index.find(hash, |id| self.states[id as usize] == state) {
            return (id, false);
        }
        let id = self.states.len() as u32;
        self.states.push(state);
        self.index.insert(hash, id);
        (id, true)
    }

    pub(crate) fn get(&self, id: u32) -> &S {
        &self.states[id as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.states.len()
    }
}

#[derive(Clone, Copy, Debug)]
struct MemoEntry {
    state: u32,
    low: u32,
    start: usize,
    len: u32,
}

/// The (linearized set, state) pairs the search has already entered.
#[derive(Debug)]
pub(crate) struct MemoTable {
    index: HashIndex,
    entries: Vec<MemoEntry>,
    words: Vec<u64>,
}

impl MemoTable {
    pub(crate) fn new() -> Self {
        MemoTable { index: HashIndex::new(), entries: Vec::new(), words: Vec::new() }
    }

    /// Records `(set, state)`. Returns `None` if it was already there, else the number of
    /// 64-bit words the new entry takes (its cost).
    pub(crate) fn insert(&mut self, set: &Bitset, state: u32) -> Option<usize> {
        let (low, words) = set.compact();
        let hash = mix64(set.hash() ^ (u64::from(state) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let found = self.index.find(hash, |id| {
            let entry = self.entries[id as usize];
            entry.state == state
                && entry.low as usize == low
                && self.words[entry.start..entry.start + entry.len as usize] == *words
        });
        if found.is_some() {
            return None;
        }
        let id = self.entries.len() as u32;
        self.entries.push(MemoEntry {
            state,
            low: low as u32,
            start: self.words.len(),
            len: words.len() as u32,
        });
        self.words.extend_from_slice(words);
        self.index.insert(hash, id);
        // An entry, its slots in the index (load at most one half) and its words.
        Some(3 + words.len())
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memo_remembers_set_and_state() {
        let mut memo = MemoTable::new();
        let mut set = Bitset::new(300);
        for i in 0..1000usize {
            set.insert(i % 300);
            assert!(memo.insert(&set, (i % 7) as u32).is_some(), "{i}");
            set.remove(i % 300);
        }
        set.insert(5);
        // Bit 5 went in with i = 5, 305, 605 and 905: states 5, 4, 3 and 2.
        assert!(memo.insert(&set, 5).is_none());
        assert!(memo.insert(&set, 2).is_none());
        assert!(memo.insert(&set, 1).is_some());
        assert!(memo.insert(&set, 1).is_none());
        assert_eq!(memo.len(), 1001);
    }

    #[test]
    fn states_are_interned_once() {
        let mut table = StateTable::new();
        for i in 0..500 {
            assert_eq!(table.intern(format!("s{i}")), (i, true));
        }
        assert_eq!(table.intern("s42".to_string()), (42, false));
        assert_eq!(table.get(7), "s7");
        assert_eq!(table.len(), 500);
    }
}
