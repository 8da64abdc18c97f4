//! Linearizability checking: Wing and Gong's search with Lowe's memoization, as Porcupine
//! does it (anishathalye/porcupine, checker.go), split by key.
//!
//! For one key, the operations' call and return points form a doubly linked list in history
//! order. The search walks it from the head: at a call it tries to linearize that operation
//! now (the model accepts it in the current state, and the pair (linearized set, new state)
//! was never entered before), lifts the call and its return out of the list, and starts
//! again from the head; at a return it has reached an operation that should already have
//! taken effect, so it backtracks to the last choice. Every successful choice is recorded
//! in the memo table, so no (set, state) pair is explored twice. The set is a bitset with a
//! hash updated in O(1) per change.
//!
//! Indeterminate operations (`info`, or never completed) return at +infinity: the search
//! may place them anywhere after their call or leave them out, and it succeeds as soon as
//! it reaches their returns, which means every `ok` operation is placed.
//!
//! Keys are checked on their own (P-compositionality). Each key's search is a resumable
//! state machine and keys take turns in slices of the budget that double every round, in
//! key order, so one hard key cannot starve an easy failing one; the first failing key
//! ends the check. Every step, every memo entry (by its size) and every new model state
//! (by its size) is charged to one deterministic budget: past it the verdict is `Unknown`,
//! which bounds both time and memory.

use super::bitset::Bitset;
use super::model::Model;
use super::operations::{HistoryError, OpId, Operation, operations};
use super::table::{MAX_ENTRIES, MemoTable, StateTable};
use crate::history::{History, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::hash::Hash;

/// A budget that answers the real histories we have with room to spare and bounds the
/// memo table to a few hundred megabytes (a unit is about 8 bytes).
pub const DEFAULT_BUDGET: u64 = 50_000_000;

/// The first slice of budget each key gets; slices double each round up to `SLICE_MAX`.
const SLICE_MIN: u64 = 1 << 10;
const SLICE_MAX: u64 = 1 << 22;

/// The answer of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Linearizable,
    NotLinearizable(Box<Violation>),
    /// The budget ran out before an answer.
    Unknown {
        /// Budget units spent (at least the budget given).
        spent: u64,
        keys_total: usize,
        /// Keys found linearizable before the budget ran out.
        keys_finished: usize,
        /// How far the search got on each key still open, in key order.
        unfinished: Vec<KeyProgress>,
    },
}

/// How far the search got on one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyProgress {
    pub key: Option<Value>,
    pub operations: usize,
    /// Operations in the longest linearizable prefix found.
    pub deepest_prefix: usize,
}

/// Why a key is not linearizable: the longest prefix of operations that could be put in a
/// legal sequential order, and the operations that could come next yet cannot follow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The model's name (`cas-register`).
    pub model: &'static str,
    /// The failing key (`None` for a single-register history).
    pub key: Option<Value>,
    /// Every operation on this key, in invoke order (ids are the history's operation ids).
    pub operations: Vec<Operation>,
    /// The longest linearizable prefix found, in linearization order.
    pub prefix: Vec<OpId>,
    /// The operations not in the prefix whose call comes before the earliest return among
    /// them: the only candidates to come next, none of which can.
    pub frontier: Vec<OpId>,
    /// The model's state after the prefix, in words.
    pub state_after_prefix: String,
}

impl Violation {
    /// The operation with this id (one of `operations`).
    pub fn operation(&self, id: OpId) -> Option<&Operation> {
        self.operations.binary_search_by_key(&id, |op| op.id).ok().map(|i| &self.operations[i])
    }
}

/// Checks a history against a model with a budget (see [`DEFAULT_BUDGET`]). Errors are
/// histories that break the invoke/complete discipline or operations the model does not
/// know.
pub fn check<M: Model>(history: &History, model: &M, budget: u64) -> Result<Verdict, HistoryError> {
    let ops = operations(history)?;
    for op in &ops {
        model.validate(op.f, &op.input, op.output.as_ref()).map_err(|message| {
            HistoryError::Unsupported { index: op.invoke_index, message }
        })?;
    }
    Ok(check_operations(&ops, model, budget))
}

/// Checks operations as [`operations`] returns them (ids equal to their indices), already
/// validated against the model.
pub fn check_operations<M: Model>(ops: &[Operation], model: &M, budget: u64) -> Verdict {
    let mut by_key: BTreeMap<Option<&Value>, Vec<OpId>> = BTreeMap::new();
    for (index, op) in ops.iter().enumerate() {
        assert_eq!(op.id, index, "operation ids must be their indices");
        by_key.entry(op.key.as_ref()).or_default().push(op.id);
    }
    let mut searches: Vec<Option<KeySearch<M::State>>> = by_key
        .into_iter()
        .map(|(key, ids)| Some(KeySearch::new(model, key.cloned(), ids, ops)))
        .collect();
    let keys_total = searches.len();
    let mut keys_finished = 0;
    let mut remaining = budget;
    let mut slice = SLICE_MIN;
    while keys_finished < keys_total {
        for index in 0..searches.len() {
            if remaining == 0 {
                return unknown(budget, &searches, keys_total, keys_finished);
            }
            let Some(search) = &mut searches[index] else { continue };
            let (progress, spent) = search.run(model, ops, slice.min(remaining));
            remaining = remaining.saturating_sub(spent);
            match progress {
                Progress::Paused => {}
                Progress::Linearizable => {
                    keys_finished += 1;
                    searches[index] = None;
                }
                Progress::NotLinearizable => {
                    return Verdict::NotLinearizable(Box::new(search.violation(model, ops)));
                }
                Progress::TableFull => remaining = 0,
            }
        }
        slice = (slice * 2).min(SLICE_MAX);
    }
    Verdict::Linearizable
}

fn unknown<S>(
    budget: u64,
    searches: &[Option<KeySearch<S>>],
    keys_total: usize,
    keys_finished: usize,
) -> Verdict {
    let unfinished = searches
        .iter()
        .flatten()
        .map(|search| KeyProgress {
            key: search.key.clone(),
            operations: search.ops.len(),
            deepest_prefix: search.best.len(),
        })
        .collect();
    Verdict::Unknown { spent: budget, keys_total, keys_finished, unfinished }
}

enum Progress {
    Linearizable,
    NotLinearizable,
    /// The slice of budget is spent; call `run` again to go on.
    Paused,
    /// A table reached its largest size: treated as running out of budget.
    TableFull,
}

/// The list's sentinels.
const HEAD: u32 = 0;
const TAIL: u32 = 1;

/// A call or return point in the doubly linked list.
#[derive(Clone, Copy, Debug)]
struct Entry {
    prev: u32,
    next: u32,
    /// The return of a call, the call of a return.
    partner: u32,
    /// The operation's index within the key.
    op: u32,
    call: bool,
}

/// The search on one key, resumable between slices of budget.
struct KeySearch<S> {
    key: Option<Value>,
    /// The key's operations (history ids) in invoke order; the search numbers them by
    /// their index here.
    ops: Vec<OpId>,
    entries: Vec<Entry>,
    linearized: Bitset,
    memo: MemoTable,
    states: StateTable<S>,
    /// The choices made: (call entry linearized, state before it).
    stack: Vec<(u32, u32)>,
    state: u32,
    cursor: u32,
    /// The deepest stack seen, as operation indices (the longest linearizable prefix).
    best: Vec<u32>,
    /// How many of `best`'s first entries the stack still shares.
    best_shared: usize,
}

impl<S: Clone + Eq + Hash> KeySearch<S> {
    fn new<M: Model<State = S>>(
        model: &M,
        key: Option<Value>,
        ops: Vec<OpId>,
        all: &[Operation],
    ) -> Self {
        // (position, operation, is call): positions are event indices, so only returns at
        // +infinity tie, and they keep invoke order.
        let mut points: Vec<(usize, u32, bool)> = Vec::with_capacity(ops.len() * 2);
        for (local, &id) in ops.iter().enumerate() {
            let op = &all[id];
            points.push((op.invoke_index, local as u32, true));
            points.push((op.return_position().unwrap_or(usize::MAX), local as u32, false));
        }
        points.sort_unstable_by_key(|&(position, local, call)| (position, local, !call));
        let sentinel = Entry { prev: HEAD, next: TAIL, partner: 0, op: u32::MAX, call: false };
        let mut entries = vec![sentinel; points.len() + 2];
        let mut partner_of = vec![0u32; ops.len()];
        let mut prev = HEAD;
        for (i, &(_, local, call)) in points.iter().enumerate() {
            let index = i as u32 + 2;
            entries[prev as usize].next = index;
            entries[index as usize] =
                Entry { prev, next: TAIL, partner: 0, op: local, call };
            if call {
                partner_of[local as usize] = index;
            } else {
                let call_index = partner_of[local as usize];
                entries[index as usize].partner = call_index;
                entries[call_index as usize].partner = index;
            }
            prev = index;
        }
        entries[prev as usize].next = TAIL;
        entries[TAIL as usize].prev = prev;
        let mut states = StateTable::new();
        let (init, _) = states.intern(model.init());
        let cursor = entries[HEAD as usize].next;
        KeySearch {
            key,
            linearized: Bitset::new(ops.len()),
            ops,
            entries,
            memo: MemoTable::new(),
            states,
            stack: Vec::new(),
            state: init,
            cursor,
            best: Vec::new(),
            best_shared: 0,
        }
    }

    /// Searches until an answer or until `allowance` units are spent. Returns the progress
    /// and the units spent (the last step may overshoot by the cost of one memo entry).
    fn run<M: Model<State = S>>(
        &mut self,
        model: &M,
        all: &[Operation],
        allowance: u64,
    ) -> (Progress, u64) {
        let mut spent = 0u64;
        while spent < allowance {
            if self.memo.len() >= MAX_ENTRIES || self.states.len() >= MAX_ENTRIES {
                return (Progress::TableFull, spent);
            }
            spent += 1;
            if self.cursor == TAIL {
                return (Progress::Linearizable, spent);
            }
            let entry = self.entries[self.cursor as usize];
            let op = &all[self.ops[entry.op as usize]];
            if !entry.call {
                if op.is_indeterminate() {
                    // Every return left is at +infinity: every ok operation is placed.
                    return (Progress::Linearizable, spent);
                }
                if !self.backtrack() {
                    return (Progress::NotLinearizable, spent);
                }
                continue;
            }
            let current = self.states.get(self.state);
            let Some(next) = model.step(current, op.f, &op.input, op.output.as_ref()) else {
                self.cursor = entry.next;
                continue;
            };
            let next_state = if next == *current {
                self.state
            } else {
                let size = model.state_size(&next) as u64;
                let (id, new) = self.states.intern(next);
                if new {
                    spent += 1 + size / 8;
                }
                id
            };
            self.linearized.insert(entry.op as usize);
            match self.memo.insert(&self.linearized, next_state) {
                Some(words) => {
                    spent += words as u64;
                    self.stack.push((self.cursor, self.state));
                    self.state = next_state;
                    self.lift(self.cursor);
                    self.note_depth();
                    self.cursor = self.entries[HEAD as usize].next;
                }
                None => {
                    self.linearized.remove(entry.op as usize);
                    self.cursor = entry.next;
                }
            }
        }
        (Progress::Paused, spent)
    }

    /// Undoes the last choice and moves past it; false when there is none left.
    fn backtrack(&mut self) -> bool {
        let Some((call, state)) = self.stack.pop() else { return false };
        self.best_shared = self.best_shared.min(self.stack.len());
        self.state = state;
        self.linearized.remove(self.entries[call as usize].op as usize);
        self.unlift(call);
        self.cursor = self.entries[call as usize].next;
        true
    }

    /// Takes a call and its return out of the list (dancing links: `unlift` restores them).
    fn lift(&mut self, call: u32) {
        for index in [call, self.entries[call as usize].partner] {
            let Entry { prev, next, .. } = self.entries[index as usize];
            self.entries[prev as usize].next = next;
            self.entries[next as usize].prev = prev;
        }
    }

    fn unlift(&mut self, call: u32) {
        for index in [self.entries[call as usize].partner, call] {
            let Entry { prev, next, .. } = self.entries[index as usize];
            self.entries[prev as usize].next = index;
            self.entries[next as usize].prev = index;
        }
    }

    /// Keeps `best` equal to the deepest stack seen, copying only what changed since.
    fn note_depth(&mut self) {
        if self.stack.len() > self.best.len() {
            self.best.truncate(self.best_shared);
            let entries = &self.entries;
            self.best.extend(self.stack[self.best_shared..].iter().map(|&(call, _)| entries[call as usize].op));
            self.best_shared = self.stack.len();
        }
    }

    fn violation<M: Model<State = S>>(&self, model: &M, all: &[Operation]) -> Violation {
        let operations: Vec<Operation> = self.ops.iter().map(|&id| all[id].clone()).collect();
        let mut placed = vec![false; self.ops.len()];
        let mut state = model.init();
        for &local in &self.best {
            placed[local as usize] = true;
            let op = &operations[local as usize];
            state = model
                .step(&state, op.f, &op.input, op.output.as_ref())
                .expect("the longest prefix found replays in the model");
        }
        let earliest_return = operations
            .iter()
            .zip(&placed)
            .filter(|&(_, &placed)| !placed)
            .filter_map(|(op, _)| op.return_position())
            .min()
            .unwrap_or(usize::MAX);
        let frontier = operations
            .iter()
            .zip(&placed)
            .filter(|&(op, &placed)| !placed && op.invoke_index < earliest_return)
            .map(|(op, _)| op.id)
            .collect();
        Violation {
            model: model.name(),
            key: self.key.clone(),
            prefix: self.best.iter().map(|&local| self.ops[local as usize]).collect(),
            frontier,
            state_after_prefix: model.describe_state(&state),
            operations,
        }
    }
}

/// How many operations of a long prefix `Display` shows (the last ones).
const PREFIX_SHOWN: usize = 10;

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => writeln!(f, "not linearizable: key {key} ({} model)", self.model)?,
            None => writeln!(f, "not linearizable ({} model)", self.model)?,
        }
        writeln!(
            f,
            "The longest linearizable prefix found orders {} of the key's {} operations:",
            self.prefix.len(),
            self.operations.len()
        )?;
        let skipped = self.prefix.len().saturating_sub(PREFIX_SHOWN);
        if skipped > 0 {
            writeln!(f, "  ... {skipped} earlier operations")?;
        }
        for (position, &id) in self.prefix.iter().enumerate().skip(skipped) {
            if let Some(op) = self.operation(id) {
                writeln!(f, "  {:>4}. {op}", position + 1)?;
            }
        }
        if self.prefix.is_empty() {
            writeln!(f, "  (none)")?;
        }
        writeln!(
            f,
            "After it {}, and none of the operations that could come next can follow:",
            self.state_after_prefix
        )?;
        for &id in &self.frontier {
            if let Some(op) = self.operation(id) {
                writeln!(f, "  {op}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Linearizable => f.write_str("linearizable"),
            Verdict::NotLinearizable(violation) => write!(f, "{violation}"),
            Verdict::Unknown { spent, keys_total, keys_finished, unfinished } => {
                writeln!(
                    f,
                    "unknown: the search ran out of budget ({spent} units) with {keys_finished} of {keys_total} keys found linearizable and no violation found"
                )?;
                for progress in unfinished {
                    let key = progress.key.as_ref().map_or("(single key)".to_string(), |key| format!("key {key}"));
                    writeln!(
                        f,
                        "  {key}: longest linearizable prefix {} of {} operations",
                        progress.deepest_prefix, progress.operations
                    )?;
                }
                Ok(())
            }
        }
    }
}
