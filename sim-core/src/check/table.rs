//! The search's two tables, written here rather than on std's `HashMap` (banned in
//! sim-core for its per-process random keys): open addressing with linear probing, keyed by
//! the stable hasher, never iterated.
//!
//! - `StateTable` interns model states, so the rest of the search handles `u32` ids.
//! - `MemoTable` remembers every (linearized set, state) the search has entered (Lowe's
//!   memoization), storing the sets in their compact form in one arena, and covers a
//!   configuration by one with fewer indeterminate operations.

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
    /// The first of this entry's indeterminate-operation sets (a list through `InfoSet::next`).
    first_set: u32,
}

#[derive(Clone, Copy, Debug)]
struct InfoSet {
    next: u32,
    start: usize,
    len: u32,
}

/// The configurations the search has already entered (Lowe's memoization), with
/// subsumption for indeterminate operations.
///
/// A configuration is (linearized `ok` operations, state, linearized indeterminate
/// operations). Indeterminate operations are optional, so a configuration is covered by an
/// entered one with the same `ok` set and state and a subset of its indeterminate ones:
/// whatever the larger one can still do, the smaller one can too. Without indeterminate
/// operations this is exact memoization.
#[derive(Debug)]
pub(crate) struct MemoTable {
    index: HashIndex,
    entries: Vec<MemoEntry>,
    words: Vec<u64>,
    sets: Vec<InfoSet>,
    set_words: Vec<u64>,
}

/// What `MemoTable::enter` did, and its cost in budget units (about 8 bytes or one set
/// compared each).
pub(crate) enum Entered {
    New(usize),
    Covered(usize),
}

fn is_subset(small: &[u64], large: &[u64]) -> bool {
    small.len() <= large.len() && small.iter().zip(large).all(|(a, b)| a & !b == 0)
}

impl MemoTable {
    pub(crate) fn new() -> Self {
        MemoTable {
            index: HashIndex::new(),
            entries: Vec::new(),
            words: Vec::new(),
            sets: Vec::new(),
            set_words: Vec::new(),
        }
    }

    /// Records the configuration unless an entered one covers it. `info` is the set of
    /// linearized indeterminate operations, without trailing zero words.
    pub(crate) fn enter(&mut self, ok: &Bitset, state: u32, info: &[u64]) -> Entered {
        debug_assert!(info.last() != Some(&0), "info set must be trimmed");
        let (low, words) = ok.compact();
        let hash = mix64(ok.hash() ^ (u64::from(state) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let found = self.index.find(hash, |id| {
            let entry = self.entries[id as usize];
            entry.state == state
                && entry.low as usize == low
                && self.words[entry.start..entry.start + entry.len as usize] == *words
        });
        // Costs in units of 8 bytes of live data: an `InfoSet` and its words; a `MemoEntry`,
        // up to four index slots (the index doubles at half load) and its words.
        let set_cost = 2 + info.len();
        match found {
            Some(id) => {
                let mut compared = 0;
                let mut set = self.entries[id as usize].first_set;
                while set != EMPTY {
                    let InfoSet { next, start, len } = self.sets[set as usize];
                    compared += 1;
                    if is_subset(&self.set_words[start..start + len as usize], info) {
                        return Entered::Covered(compared);
                    }
                    set = next;
                }
                let first = self.entries[id as usize].first_set;
                self.entries[id as usize].first_set = self.push_set(first, info);
                Entered::New(compared + set_cost)
            }
            None => {
                let id = self.entries.len() as u32;
                let first_set = self.push_set(EMPTY, info);
                self.entries.push(MemoEntry {
                    state,
                    low: low as u32,
                    start: self.words.len(),
                    len: words.len() as u32,
                    first_set,
                });
                self.words.extend_from_slice(words);
                self.index.insert(hash, id);
                Entered::New(3 + 8 + words.len() + set_cost)
            }
        }
    }

    fn push_set(&mut self, next: u32, info: &[u64]) -> u32 {
        let id = self.sets.len() as u32;
        self.sets.push(InfoSet { next, start: self.set_words.len(), len: info.len() as u32 });
        self.set_words.extend_from_slice(info);
        id
    }

    /// Entries plus indeterminate-operation sets: what `MAX_ENTRIES` bounds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len().max(self.sets.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_new(entered: Entered) -> bool {
        matches!(entered, Entered::New(_))
    }

    #[test]
    fn memo_remembers_set_and_state() {
        let mut memo = MemoTable::new();
        let mut set = Bitset::new(300);
        for i in 0..1000usize {
            set.insert(i % 300);
            assert!(is_new(memo.enter(&set, (i % 7) as u32, &[])), "{i}");
            set.remove(i % 300);
        }
        set.insert(5);
        // Bit 5 went in with i = 5, 305, 605 and 905: states 5, 4, 3 and 2.
        assert!(!is_new(memo.enter(&set, 5, &[])));
        assert!(!is_new(memo.enter(&set, 2, &[])));
        assert!(is_new(memo.enter(&set, 1, &[])));
        assert!(!is_new(memo.enter(&set, 1, &[])));
        assert_eq!(memo.len(), 1001);
    }

    #[test]
    fn fewer_indeterminate_operations_cover_more() {
        let mut memo = MemoTable::new();
        let mut set = Bitset::new(10);
        set.insert(1);
        assert!(is_new(memo.enter(&set, 0, &[0b110])));
        assert!(!is_new(memo.enter(&set, 0, &[0b110])));
        assert!(!is_new(memo.enter(&set, 0, &[0b111])));
        assert!(!is_new(memo.enter(&set, 0, &[0b110, 1])));
        assert!(is_new(memo.enter(&set, 0, &[0b100])));
        assert!(!is_new(memo.enter(&set, 0, &[0b101])));
        assert!(is_new(memo.enter(&set, 0, &[0b001])));
        assert!(is_new(memo.enter(&set, 0, &[])));
        assert!(!is_new(memo.enter(&set, 0, &[0, 1])));
        assert!(is_new(memo.enter(&set, 1, &[0, 1])));
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
