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
//! The memo table also covers a configuration by an entered one with the same `ok`
//! operations and state and fewer indeterminate ones (they are optional), and a key with
//! indeterminate operations is searched two ways at once (see `KeyCheck`).
//!
//! Keys are checked on their own (P-compositionality), in parallel (rayon). Each key's
//! search is a resumable state machine; in every round each open key gets the same slice
//! of the budget (doubling every round), so one hard key cannot starve an easy failing
//! one, and at the end of the round the first failing key in key order ends the check: the
//! verdict and its explanation are the same whatever the number of threads. Every step, every memo entry (by its size) and every new model state
//! (by its size) is charged to one deterministic budget: past it the verdict is `Unknown`,
//! which bounds both time and memory.

use super::bitset::Bitset;
use super::model::Model;
use super::operations::{HistoryError, OpId, Operation, operations};
use super::table::{Entered, MAX_ENTRIES, MemoTable, StateTable};
use super::unique::{self, Decision};
use crate::history::{History, Value};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::Hash;

/// The default budget, in units: one unit per search step, and one per 8 bytes of memo
/// table and model states kept. It answers every real history we have with room to spare
/// (see `examples/check_bench.rs`), runs for a few seconds at most, and keeps the search's
/// tables under about 400 MB of live data (twice that with vector slack). Callers that
/// check many runs at once (one per core) may want less.
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
    /// The frontier operations the model accepts after the prefix, but after which the
    /// rest cannot be ordered (the others cannot happen in that state at all). Usually
    /// empty; it can be non-empty when indeterminate operations are involved.
    pub dead_ends: Vec<OpId>,
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
        model
            .validate(op.f, &op.input, op.output.as_ref())
            .map_err(|message| HistoryError::Unsupported { index: op.invoke_index, message })?;
    }
    Ok(check_operations(&ops, model, budget))
}

/// Checks operations as [`operations`] returns them (ids equal to their indices), already
/// validated against the model.
pub fn check_operations<M: Model>(ops: &[Operation], model: &M, budget: u64) -> Verdict {
    let mut by_key: BTreeMap<Option<&Value>, Vec<OpId>> = BTreeMap::new();
    for (index, op) in ops.iter().enumerate() {
        assert_eq!(op.id, index, "operation ids must be their indices");
        let key = if model.per_key() { op.key.as_ref() } else { None };
        by_key.entry(key).or_default().push(op.id);
    }
    let mut keys: Vec<KeyState<M::State>> = by_key
        .into_iter()
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|(key, ids)| KeyState::new(model, key.cloned(), ids, ops))
        .collect();
    let keys_total = keys.len();
    let mut remaining = budget;
    let mut slice = SLICE_MIN;
    loop {
        let open = keys.iter().filter(|state| state.is_open()).count();
        if open == 0 {
            return Verdict::Linearizable;
        }
        if remaining == 0 {
            return unknown(budget, &keys, keys_total);
        }
        // Every open key gets the same allowance this round and the keys run in parallel:
        // what each key's search does depends on the round alone, not on the threads.
        let allowance = slice.min((remaining / open as u64).max(1));
        let results: Vec<(usize, Progress, u64)> = keys
            .par_iter_mut()
            .enumerate()
            .filter(|(_, state)| state.is_open())
            .map(|(index, state)| {
                let (progress, spent) = state.run(model, ops, allowance);
                (index, progress, spent)
            })
            .collect();
        remaining = remaining.saturating_sub(results.iter().map(|&(_, _, spent)| spent).sum());
        // The first failing key in key order wins.
        if let Some(&(index, ..)) = results.iter().find(|(_, progress, _)| progress.refutes()) {
            return Verdict::NotLinearizable(Box::new(keys[index].violation(model, ops)));
        }
        for (index, progress, _) in results {
            match progress {
                Progress::Linearizable => keys[index] = KeyState::Finished,
                Progress::TableFull => remaining = 0,
                Progress::Paused | Progress::NotLinearizable => {}
            }
        }
        slice = (slice * 2).min(SLICE_MAX);
    }
}

fn unknown<S: Clone + Eq + Hash>(budget: u64, keys: &[KeyState<S>], keys_total: usize) -> Verdict {
    let unfinished: Vec<KeyProgress> = keys
        .iter()
        .filter_map(|state| match state {
            KeyState::Searching(check) => Some(check),
            KeyState::Decided(_) | KeyState::Finished => None,
        })
        .map(|check| KeyProgress {
            key: check.history_order.key.clone(),
            operations: check.history_order.ops.len(),
            deepest_prefix: check.searches().map(|search| search.best.len()).max().unwrap_or(0),
        })
        .collect();
    let keys_finished = keys_total - unfinished.len();
    Verdict::Unknown { spent: budget, keys_total, keys_finished, unfinished }
}

/// Where the check of one key stands.
enum KeyState<S> {
    /// Decided at once by the unique-values method ([`unique`]): linearizable, or refuted
    /// with an explanation. Reported in the first round, like a search's answer.
    Decided(Option<Box<Violation>>),
    Searching(Box<KeyCheck<S>>),
    /// Found linearizable.
    Finished,
}

impl<S: Clone + Eq + Hash> KeyState<S> {
    fn new<M: Model<State = S>>(
        model: &M,
        key: Option<Value>,
        ids: Vec<OpId>,
        ops: &[Operation],
    ) -> Self {
        match unique::decide(model, &ids, ops) {
            Some(Decision::Linearizable) => KeyState::Decided(None),
            Some(Decision::NotLinearizable(prefix)) => {
                KeyState::Decided(Some(Box::new(explain(model, key, &ids, ops, &prefix))))
            }
            None => KeyState::Searching(Box::new(KeyCheck::new(model, key, ids, ops))),
        }
    }

    fn is_open(&self) -> bool {
        !matches!(self, KeyState::Finished)
    }

    fn run<M: Model<State = S>>(
        &mut self,
        model: &M,
        ops: &[Operation],
        allowance: u64,
    ) -> (Progress, u64) {
        match self {
            KeyState::Decided(None) | KeyState::Finished => (Progress::Linearizable, 0),
            KeyState::Decided(Some(_)) => (Progress::NotLinearizable, 0),
            KeyState::Searching(check) => check.run(model, ops, allowance),
        }
    }

    /// The explanation of a refuted key.
    fn violation<M: Model<State = S>>(&self, model: &M, ops: &[Operation]) -> Violation {
        match self {
            KeyState::Decided(Some(violation)) => (**violation).clone(),
            KeyState::Searching(check) => check.violation(model, ops),
            KeyState::Decided(None) | KeyState::Finished => {
                unreachable!("only a refuted key is explained")
            }
        }
    }
}

/// The check of one key: a search in history order and, when the key has indeterminate
/// operations, a second search that tries `ok` operations first. Both are complete; they
/// share each slice of budget and the first answer wins. Searching in history order finds
/// linearizations that need indeterminate operations quickly, but refuting a history makes
/// it explore every subset of them; trying `ok` operations first lets the memo table's
/// subsumption cut those subsets, but it can wander among orderings of indeterminate
/// operations before it finds a linearization that needs them. Without indeterminate
/// operations the two would be the same search, so only one runs.
struct KeyCheck<S> {
    history_order: KeySearch<S>,
    ok_first: Option<KeySearch<S>>,
}

impl<S: Clone + Eq + Hash> KeyCheck<S> {
    fn new<M: Model<State = S>>(
        model: &M,
        key: Option<Value>,
        ids: Vec<OpId>,
        ops: &[Operation],
    ) -> Self {
        let indeterminate = ids.iter().any(|&id| ops[id].is_indeterminate());
        let ok_first =
            indeterminate.then(|| KeySearch::new(model, key.clone(), ids.clone(), ops, true));
        KeyCheck { history_order: KeySearch::new(model, key, ids, ops, false), ok_first }
    }

    fn searches(&self) -> impl Iterator<Item = &KeySearch<S>> {
        std::iter::once(&self.history_order).chain(self.ok_first.as_ref())
    }

    fn run<M: Model<State = S>>(
        &mut self,
        model: &M,
        ops: &[Operation],
        allowance: u64,
    ) -> (Progress, u64) {
        let Some(ok_first) = &mut self.ok_first else {
            return self.history_order.run(model, ops, allowance);
        };
        let half = allowance.div_ceil(2);
        let (progress, spent) = self.history_order.run(model, ops, half);
        if !matches!(progress, Progress::Paused) {
            return (progress, spent);
        }
        let (progress, spent_too) =
            ok_first.run(model, ops, allowance.saturating_sub(spent).max(1));
        (progress, spent + spent_too)
    }

    /// Both searches' prefixes are linearizable: explain from the longer one.
    fn violation<M: Model<State = S>>(&self, model: &M, ops: &[Operation]) -> Violation {
        let deepest = self
            .searches()
            .reduce(|best, search| if search.best.len() > best.best.len() { search } else { best })
            .unwrap_or(&self.history_order);
        deepest.violation(model, ops)
    }
}

enum Progress {
    Linearizable,
    NotLinearizable,
    /// The slice of budget is spent; call `run` again to go on.
    Paused,
    /// A table reached its largest size: treated as running out of budget.
    TableFull,
}

impl Progress {
    fn refutes(&self) -> bool {
        matches!(self, Progress::NotLinearizable)
    }
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

/// A choice on the search's stack.
#[derive(Clone, Copy, Debug)]
struct Choice {
    /// The call entry linearized.
    call: u32,
    /// The state before it.
    state: u32,
    /// Whether it was chosen in the pass over indeterminate operations.
    info_pass: bool,
}

/// The search on one key, resumable between slices of budget.
///
/// At each configuration the search first tries the `ok` operations that may come next,
/// then, in a second pass, the indeterminate ones: a linearization that leaves optional
/// operations out is found first, and the memo table's subsumption (see `MemoTable`) then
/// cuts every configuration that only adds indeterminate operations to an explored one.
struct KeySearch<S> {
    key: Option<Value>,
    /// The key's operations (history ids) in invoke order; the search numbers them by
    /// their index here.
    ops: Vec<OpId>,
    /// Per operation: whether it is indeterminate, and its index among the `ok` or among
    /// the indeterminate operations.
    indeterminate: Vec<bool>,
    slot: Vec<u32>,
    /// Whether `ok` operations are tried before indeterminate ones (two passes per
    /// configuration) rather than in history order.
    two_pass: bool,
    entries: Vec<Entry>,
    linearized_ok: Bitset,
    linearized_info: Bitset,
    memo: MemoTable,
    states: StateTable<S>,
    stack: Vec<Choice>,
    state: u32,
    cursor: u32,
    info_pass: bool,
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
        ok_first: bool,
    ) -> Self {
        let indeterminate: Vec<bool> = ops.iter().map(|&id| all[id].is_indeterminate()).collect();
        let mut counts = [0u32; 2];
        let slot = indeterminate
            .iter()
            .map(|&info| {
                counts[usize::from(info)] += 1;
                counts[usize::from(info)] - 1
            })
            .collect();
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
        let mut call_of = vec![0u32; ops.len()];
        let mut prev = HEAD;
        for (i, &(_, local, call)) in points.iter().enumerate() {
            let index = i as u32 + 2;
            entries[prev as usize].next = index;
            entries[index as usize] = Entry { prev, next: TAIL, partner: 0, op: local, call };
            if call {
                call_of[local as usize] = index;
            } else {
                let call_index = call_of[local as usize];
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
            ops,
            indeterminate,
            slot,
            two_pass: ok_first && counts[1] > 0,
            entries,
            linearized_ok: Bitset::new(counts[0] as usize),
            linearized_info: Bitset::new(counts[1] as usize),
            memo: MemoTable::new(),
            states,
            stack: Vec::new(),
            state: init,
            cursor,
            info_pass: false,
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
            let local = entry.op as usize;
            if !entry.call {
                if self.indeterminate[local] {
                    // Every return left is at +infinity: every ok operation is placed.
                    return (Progress::Linearizable, spent);
                }
                if self.two_pass && !self.info_pass {
                    self.info_pass = true;
                    self.cursor = self.entries[HEAD as usize].next;
                } else if !self.backtrack() {
                    return (Progress::NotLinearizable, spent);
                }
                continue;
            }
            if self.two_pass && self.indeterminate[local] != self.info_pass {
                self.cursor = entry.next;
                continue;
            }
            let op = &all[self.ops[local]];
            let current = self.states.get(self.state);
            let Some(next) = model.step_operation(current, op) else {
                self.cursor = entry.next;
                continue;
            };
            let next_state = if next == *current {
                self.state
            } else {
                let size = model.state_size(&next) as u64;
                let (id, new) = self.states.intern(next);
                if new {
                    // The state, its slots in the table's index and its vector entry.
                    spent += 8 + size / 8;
                }
                id
            };
            self.mark(local, true);
            let entered =
                self.memo.enter(&self.linearized_ok, next_state, self.linearized_info.trimmed());
            match entered {
                Entered::New(cost) => {
                    spent += cost as u64;
                    let choice =
                        Choice { call: self.cursor, state: self.state, info_pass: self.info_pass };
                    self.stack.push(choice);
                    self.state = next_state;
                    self.lift(self.cursor);
                    self.note_depth();
                    self.info_pass = false;
                    self.cursor = self.entries[HEAD as usize].next;
                }
                Entered::Covered(cost) => {
                    spent += cost as u64;
                    self.mark(local, false);
                    self.cursor = entry.next;
                }
            }
        }
        (Progress::Paused, spent)
    }

    fn mark(&mut self, local: usize, linearized: bool) {
        let set = if self.indeterminate[local] {
            &mut self.linearized_info
        } else {
            &mut self.linearized_ok
        };
        if linearized {
            set.insert(self.slot[local] as usize);
        } else {
            set.remove(self.slot[local] as usize);
        }
    }

    /// Undoes the last choice and moves past it; false when there is none left.
    fn backtrack(&mut self) -> bool {
        let Some(choice) = self.stack.pop() else { return false };
        self.best_shared = self.best_shared.min(self.stack.len());
        self.state = choice.state;
        self.info_pass = choice.info_pass;
        self.mark(self.entries[choice.call as usize].op as usize, false);
        self.unlift(choice.call);
        self.cursor = self.entries[choice.call as usize].next;
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
            let added = self.stack[self.best_shared..]
                .iter()
                .map(|choice| entries[choice.call as usize].op);
            self.best.extend(added);
            self.best_shared = self.stack.len();
        }
    }

    fn violation<M: Model<State = S>>(&self, model: &M, all: &[Operation]) -> Violation {
        explain(model, self.key.clone(), &self.ops, all, &self.best)
    }
}

/// The explanation of a key with no linearization, from a linearizable prefix (indices
/// into `ids`, the key's operations in invoke order): the state after it and the
/// operations that could come next, none of which can.
fn explain<M: Model>(
    model: &M,
    key: Option<Value>,
    ids: &[OpId],
    all: &[Operation],
    prefix: &[u32],
) -> Violation {
    let operations: Vec<Operation> = ids.iter().map(|&id| all[id].clone()).collect();
    let mut placed = vec![false; ids.len()];
    let mut state = model.init();
    for &local in prefix {
        placed[local as usize] = true;
        let op = &operations[local as usize];
        state = model
            .step_operation(&state, op)
            .expect("the longest prefix found replays in the model");
    }
    let earliest_return = operations
        .iter()
        .zip(&placed)
        .filter(|&(_, &placed)| !placed)
        .filter_map(|(op, _)| op.return_position())
        .min()
        .unwrap_or(usize::MAX);
    let frontier: Vec<&Operation> = operations
        .iter()
        .zip(&placed)
        .filter(|&(op, &placed)| !placed && op.invoke_index < earliest_return)
        .map(|(op, _)| op)
        .collect();
    let dead_ends = frontier
        .iter()
        .filter(|op| model.step_operation(&state, op).is_some())
        .map(|op| op.id)
        .collect();
    Violation {
        model: model.name(),
        key,
        prefix: prefix.iter().map(|&local| ids[local as usize]).collect(),
        frontier: frontier.iter().map(|op| op.id).collect(),
        dead_ends,
        state_after_prefix: model.describe_state(&state),
        operations,
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
            "The longest linearizable prefix found orders {} of the {}'s {} operations:",
            self.prefix.len(),
            if self.key.is_some() { "key" } else { "history" },
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
                if self.dead_ends.contains(&id) {
                    writeln!(f, "  {op}: possible here, but then the rest cannot be ordered")?;
                } else {
                    writeln!(f, "  {op}: impossible in this state")?;
                }
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
                    let key = progress
                        .key
                        .as_ref()
                        .map_or("the history".to_string(), |key| format!("key {key}"));
                    writeln!(
                        f,
                        "  {key} is undecided: the longest linearizable prefix found orders {} of its {} operations",
                        progress.deepest_prefix, progress.operations
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// The search alone over all of `ops` as one key, whatever their values: `Some(true)` if
/// linearizable, `Some(false)` if not, `None` past the budget. For testing the
/// unique-values method against it.
#[cfg(test)]
pub(super) fn search_only<M: Model>(ops: &[Operation], model: &M, budget: u64) -> Option<bool> {
    let mut check = KeyCheck::new(model, None, (0..ops.len()).collect(), ops);
    match check.run(model, ops, budget).0 {
        Progress::Linearizable => Some(true),
        Progress::NotLinearizable => Some(false),
        Progress::Paused | Progress::TableFull => None,
    }
}
