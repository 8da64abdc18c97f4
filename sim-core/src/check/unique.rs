//! Keys whose written values are all distinct, decided in polynomial time.
//!
//! When every write and every compare-and-set's new value on a key is distinct (and none is
//! the initial value), each read names the one operation it read from, so the register's
//! versions and who saw each are known: Gibbons and Korach ("Testing shared memories",
//! SIAM J. Computing 1997) show that this makes linearizability of a register decidable in
//! polynomial time. The decision here:
//!
//! - An indeterminate write (or cas) whose value nobody read may be left out (removing it
//!   from a legal order keeps it legal); one whose value was read took effect.
//! - A version's operations (its write, then its reads) are contiguous in any legal order:
//!   once overwritten, a value never comes back. A cas of `e -> n` is the next write after
//!   `e`, so `e`'s operations, the cas and `n`'s operations are contiguous too: a chain of
//!   versions from a plain write (or from the initial value) is one *block* whose internal
//!   order is fixed up to the order of the reads of one version.
//! - The history is linearizable exactly when every operation takes part in a block, each
//!   block's fixed order agrees with real time, and the blocks can be ordered: block A must
//!   come before block B when some operation of A returns before some operation of B is
//!   invoked, that is when A's earliest return is before B's latest invoke. Kahn's
//!   algorithm on that relation finds an order, or a cycle, in O(n log n).
//!
//! A key the method cannot decide (a model with no register reading, or a repeated value)
//! goes to the search. A refuted key is explained like a search's: a greedy walk along the
//! known versions finds a linearizable prefix, and every operation that could come next is
//! stuck (any prefix would do, as the key has no linearization at all).

use super::model::{Model, RegisterOp};
use super::operations::{OpId, Operation};
use crate::history::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The answer for a key the method can decide.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Decision {
    Linearizable,
    /// A linearizable prefix (indices into the key's operations), after which nothing can
    /// follow.
    NotLinearizable(Vec<u32>),
}

/// A return at +infinity (an indeterminate operation).
const NEVER: u64 = u64::MAX;

/// What an operation reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reads {
    Nothing,
    Version(u32),
    /// A value no operation writes.
    Unwritten,
}

/// One chain of versions: its earliest return and latest invoke.
#[derive(Clone, Copy, Debug)]
struct Block {
    first_return: u64,
    last_invoke: u64,
}

/// Decides a key whose operations (`ids`, in invoke order) all have a register reading and
/// write distinct values; `None` otherwise.
pub(super) fn decide<M: Model>(model: &M, ids: &[OpId], all: &[Operation]) -> Option<Decision> {
    let init = model.register_init()?;
    let ops: Vec<&Operation> = ids.iter().map(|&id| &all[id]).collect();
    let views = ops
        .iter()
        .map(|op| model.register_op(op.f, &op.input, op.output.as_ref()))
        .collect::<Option<Vec<RegisterOp>>>()?;
    // Version 0 is the initial value, then one per writing operation, ok or not.
    let mut version_of: BTreeMap<&Value, u32> = BTreeMap::from([(&init, 0)]);
    let mut writer: Vec<Option<usize>> = vec![None];
    let mut writes: Vec<Option<u32>> = vec![None; ops.len()];
    for (local, view) in views.iter().enumerate() {
        let (RegisterOp::Write(value) | RegisterOp::Cas { new: value, .. }) = view else {
            continue;
        };
        let version = writer.len() as u32;
        if version_of.insert(value, version).is_some() {
            return None;
        }
        writer.push(Some(local));
        writes[local] = Some(version);
    }
    let reads: Vec<Reads> = views
        .iter()
        .map(|view| match view {
            RegisterOp::Read(value) | RegisterOp::Cas { expected: value, .. } => {
                version_of.get(value).map_or(Reads::Unwritten, |&v| Reads::Version(v))
            }
            RegisterOp::Write(_) => Reads::Nothing,
        })
        .collect();

    // Every ok operation took effect, and so did the writer of every value read by one that
    // took effect.
    let mut included: Vec<bool> = ops.iter().map(|op| !op.is_indeterminate()).collect();
    let mut needed = vec![false; writer.len()];
    let mut pending: Vec<usize> = (0..ops.len()).filter(|&local| included[local]).collect();
    while let Some(local) = pending.pop() {
        let Reads::Version(version) = reads[local] else { continue };
        if !std::mem::replace(&mut needed[version as usize], true)
            && let Some(w) = writer[version as usize]
            && !std::mem::replace(&mut included[w], true)
        {
            pending.push(w);
        }
    }

    let explain = || Some(Decision::NotLinearizable(greedy_prefix(model, &ops, &views, &included)));
    // Each version's readers, and the one cas that overwrites it.
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); writer.len()];
    let mut successor: Vec<Option<usize>> = vec![None; writer.len()];
    for local in (0..ops.len()).filter(|&local| included[local]) {
        match (&views[local], reads[local]) {
            (_, Reads::Unwritten) => return explain(),
            (RegisterOp::Cas { .. }, Reads::Version(v)) => {
                if successor[v as usize].replace(local).is_some() {
                    return explain();
                }
            }
            (_, Reads::Version(v)) => readers[v as usize].push(local),
            (_, Reads::Nothing) => {}
        }
    }

    // The blocks, from each chain's head: the initial value and every plain write.
    let heads = std::iter::once(0).chain(
        (0..ops.len())
            .filter(|&local| included[local] && matches!(views[local], RegisterOp::Write(_)))
            .filter_map(|local| writes[local]),
    );
    let invoke = |local: usize| ops[local].invoke_index as u64 + 1;
    let ret = |local: usize| ops[local].return_position().map_or(NEVER, |p| p as u64 + 1);
    let mut blocks: Vec<Block> = Vec::new();
    // (block, position in it, invoke, return) of every operation placed in a block.
    let mut placed: Vec<(u32, u32, u64, u64)> = Vec::new();
    for head in heads {
        let block = blocks.len() as u32;
        // The initial value's virtual write is before everything.
        let mut extent = if head == 0 {
            Block { first_return: 0, last_invoke: 0 }
        } else {
            Block { first_return: NEVER, last_invoke: 0 }
        };
        let mut version = head as usize;
        let mut position = 0u32;
        loop {
            let members = writer[version]
                .map(|w| (w, position))
                .into_iter()
                .chain(readers[version].iter().map(|&r| (r, position + 1)));
            for (local, at) in members {
                extent.first_return = extent.first_return.min(ret(local));
                extent.last_invoke = extent.last_invoke.max(invoke(local));
                placed.push((block, at, invoke(local), ret(local)));
            }
            let Some(cas) = successor[version] else { break };
            version = writes[cas].expect("a cas writes a version") as usize;
            position += 2;
        }
        blocks.push(extent);
    }
    // An operation in no block waits on a cycle of cas that no write starts.
    let in_blocks = placed.len() == included.iter().filter(|&&i| i).count();
    if !in_blocks || !blocks_agree_with_real_time(&mut placed) || !blocks_can_be_ordered(&blocks) {
        return explain();
    }
    Some(Decision::Linearizable)
}

/// Whether, in every block, no operation returns before one placed earlier in the block's
/// fixed order is invoked. Sorts `placed`.
fn blocks_agree_with_real_time(placed: &mut [(u32, u32, u64, u64)]) -> bool {
    placed.sort_unstable_by_key(|&(block, position, _, _)| (block, std::cmp::Reverse(position)));
    let mut index = 0;
    while index < placed.len() {
        let block = placed[index].0;
        // The earliest return among operations placed later in the block than the current
        // position.
        let mut later_return = NEVER;
        while index < placed.len() && placed[index].0 == block {
            let position = placed[index].1;
            let group_start = index;
            while index < placed.len() && placed[index].0 == block && placed[index].1 == position {
                if later_return < placed[index].2 {
                    return false;
                }
                index += 1;
            }
            for &(_, _, _, ret) in &placed[group_start..index] {
                later_return = later_return.min(ret);
            }
        }
    }
    true
}

/// Kahn's algorithm on "A before B when A's earliest return is before B's latest invoke":
/// a block can go next when it must follow no other remaining block.
fn blocks_can_be_ordered(blocks: &[Block]) -> bool {
    let mut by_return: BTreeSet<(u64, usize)> =
        blocks.iter().enumerate().map(|(i, b)| (b.first_return, i)).collect();
    let mut by_invoke: BTreeSet<(u64, usize)> =
        blocks.iter().enumerate().map(|(i, b)| (b.last_invoke, i)).collect();
    while let Some(&(earliest, first)) = by_return.first() {
        let second = by_return.iter().nth(1).map_or(NEVER, |&(r, _)| r);
        // `first` may go when every other block returns after its latest invoke; another
        // block may go when it is invoked (entirely) before `first`'s earliest return.
        let next = if blocks[first].last_invoke < second {
            Some(first)
        } else {
            by_invoke
                .iter()
                .take(2)
                .find(|&&(invoked, b)| b != first && invoked < earliest)
                .map(|&(_, b)| b)
        };
        let Some(next) = next else { return false };
        by_return.remove(&(blocks[next].first_return, next));
        by_invoke.remove(&(blocks[next].last_invoke, next));
    }
    true
}

/// A linearizable prefix, found by walking the versions: reads of the current value first
/// (always safe), then the cas that overwrites it, then the plain write that returns
/// first, each among the operations that may come next in real time.
fn greedy_prefix<M: Model>(
    model: &M,
    ops: &[&Operation],
    views: &[RegisterOp],
    included: &[bool],
) -> Vec<u32> {
    let ret = |local: usize| ops[local].return_position().unwrap_or(usize::MAX);
    let mut returns: BTreeSet<(usize, usize)> =
        (0..ops.len()).filter(|&l| included[l]).map(|l| (ret(l), l)).collect();
    let mut frontier: Vec<usize> = Vec::new();
    let mut next_invoked = 0;
    let mut state = model.init();
    let mut prefix = Vec::new();
    while let Some(&(earliest, _)) = returns.first() {
        while next_invoked < ops.len() && ops[next_invoked].invoke_index < earliest {
            if included[next_invoked] {
                frontier.push(next_invoked);
            }
            next_invoked += 1;
        }
        let rank = |local: usize| match views[local] {
            RegisterOp::Read(_) => 0,
            RegisterOp::Cas { .. } => 1,
            RegisterOp::Write(_) => 2,
        };
        let chosen = frontier
            .iter()
            .enumerate()
            .filter_map(|(at, &local)| {
                let op = ops[local];
                let next = model.step_operation(&state, op)?;
                Some(((rank(local), ret(local), local), at, next))
            })
            .min_by_key(|(key, _, _)| *key);
        let Some(((_, _, local), at, next)) = chosen else { break };
        frontier.swap_remove(at);
        returns.remove(&(ret(local), local));
        state = next;
        prefix.push(local as u32);
    }
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::generate::{self, Options, Workload};
    use crate::check::linearizability::search_only;
    use crate::check::model::{CasRegister, KeyValue, Register};
    use crate::check::operations::operations;
    use crate::history::{EventType, Function, History, HistoryEvent};
    use proptest::prelude::*;

    /// `(process, kind, f, value)` events of one register.
    fn history(events: &[(u64, EventType, Function, Value)]) -> Vec<Operation> {
        let events = events
            .iter()
            .map(|(process, kind, f, value)| HistoryEvent {
                process: *process,
                kind: *kind,
                f: *f,
                key: None,
                value: value.clone(),
                time: None,
            })
            .collect();
        operations(&History::of(events)).expect("well-formed")
    }

    fn decide_all<M: Model>(model: &M, ops: &[Operation]) -> Option<Decision> {
        decide(model, &(0..ops.len()).collect::<Vec<_>>(), ops)
    }

    fn int(i: i64) -> Value {
        Value::Int(i)
    }

    fn cas(expected: i64, new: i64) -> Value {
        Value::List(vec![int(expected), int(new)])
    }

    use EventType::{Info, Invoke, Ok as Done};
    use Function::{Cas, Read, Write};

    #[test]
    fn repeated_values_and_appends_go_to_the_search() {
        let twice = history(&[
            (0, Invoke, Write, int(1)),
            (0, Done, Write, int(1)),
            (1, Invoke, Write, int(1)),
            (1, Done, Write, int(1)),
        ]);
        assert_eq!(decide_all(&Register, &twice), None);
        let nil = history(&[(0, Invoke, Write, Value::Nil), (0, Done, Write, Value::Nil)]);
        assert_eq!(decide_all(&Register, &nil), None, "nil is the initial value");
        let x = Value::Str("x".into());
        let append =
            history(&[(0, Invoke, Function::Append, x.clone()), (0, Done, Function::Append, x)]);
        assert_eq!(decide_all(&KeyValue, &append), None);
    }

    #[test]
    fn a_stale_read_is_refuted_with_its_explanation() {
        // write 1, then write 2, then a read of 1 after both completed.
        let ops = history(&[
            (0, Invoke, Write, int(1)),
            (0, Done, Write, int(1)),
            (1, Invoke, Write, int(2)),
            (1, Done, Write, int(2)),
            (2, Invoke, Read, Value::Nil),
            (2, Done, Read, int(1)),
        ]);
        assert_eq!(decide_all(&Register, &ops), Some(Decision::NotLinearizable(vec![0, 1])));
        assert_eq!(search_only(&ops, &Register, 1000), Some(false));
    }

    #[test]
    fn cas_chains_and_indeterminate_operations() {
        // An indeterminate write that was read took effect; one nobody read may be left out;
        // a cas chain from it is one block.
        let ops = history(&[
            (0, Invoke, Write, int(1)),
            (1, Invoke, Write, int(9)),
            (0, Info, Write, int(1)),
            (1, Info, Write, int(9)),
            (2, Invoke, Cas, cas(1, 2)),
            (2, Done, Cas, cas(1, 2)),
            (3, Invoke, Read, Value::Nil),
            (3, Done, Read, int(2)),
        ]);
        assert_eq!(decide_all(&CasRegister, &ops), Some(Decision::Linearizable));
        // Two cas from the same value cannot both happen.
        let ops = history(&[
            (0, Invoke, Write, int(1)),
            (0, Done, Write, int(1)),
            (1, Invoke, Cas, cas(1, 2)),
            (2, Invoke, Cas, cas(1, 3)),
            (1, Done, Cas, cas(1, 2)),
            (2, Done, Cas, cas(1, 3)),
        ]);
        assert!(matches!(decide_all(&CasRegister, &ops), Some(Decision::NotLinearizable(_))));
        assert_eq!(search_only(&ops, &CasRegister, 1000), Some(false));
        // A cycle of cas that no write starts.
        let ops = history(&[
            (0, Invoke, Cas, cas(1, 2)),
            (0, Done, Cas, cas(1, 2)),
            (1, Invoke, Cas, cas(2, 1)),
            (1, Done, Cas, cas(2, 1)),
        ]);
        assert_eq!(decide_all(&CasRegister, &ops), Some(Decision::NotLinearizable(vec![])));
        // Reads of the initial value after a write completed.
        let ops = history(&[
            (0, Invoke, Write, int(1)),
            (0, Done, Write, int(1)),
            (1, Invoke, Read, Value::Nil),
            (1, Done, Read, Value::Nil),
        ]);
        assert!(matches!(decide_all(&CasRegister, &ops), Some(Decision::NotLinearizable(_))));
    }

    #[test]
    fn many_concurrent_clients_are_decided() {
        let options = Options {
            workload: Workload::CasRegister,
            info_percent: 2,
            ..Options::new(7, 4000, 1, 200)
        };
        let history = generate::generate(&options);
        let ops = operations(&history).unwrap();
        assert_eq!(decide_all(&CasRegister, &ops), Some(Decision::Linearizable));
        let bad = generate::with_impossible_read(&history, 3).unwrap();
        let ops = operations(&bad).unwrap();
        assert!(matches!(decide_all(&CasRegister, &ops), Some(Decision::NotLinearizable(_))));
    }

    fn cases() -> impl Strategy<Value = (Options, u8, u64)> {
        (any::<u64>(), 1usize..30, 1u64..6, 0u64..25, 0u64..10, 0u8..3, any::<u64>()).prop_map(
            |(seed, operations, processes, info_percent, fail_percent, mutation, mutation_seed)| {
                let options = Options {
                    workload: Workload::CasRegister,
                    info_percent,
                    fail_percent,
                    ..Options::new(seed, operations, 1, processes)
                };
                (options, mutation, mutation_seed)
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        /// On generated cas-register histories (every written value distinct), as they are,
        /// with an impossible read, or with a read of another written value, the method
        /// decides every case and agrees with the search on every case the search decides;
        /// a refutation's prefix leaves something that cannot be ordered.
        #[test]
        fn agrees_with_the_search((options, mutation, mutation_seed) in cases()) {
            let history = generate::generate(&options);
            let history = match mutation {
                0 => Some(history),
                1 => generate::with_impossible_read(&history, mutation_seed),
                _ => generate::with_other_read(&history, mutation_seed),
            };
            let Some(history) = history else { return Ok(()) };
            let ops = operations(&history).unwrap();
            let decision = decide_all(&CasRegister, &ops);
            prop_assert!(decision.is_some(), "distinct values are always decided");
            let linearizable = decision == Some(Decision::Linearizable);
            if mutation == 0 {
                prop_assert!(linearizable);
            }
            if let Some(searched) = search_only(&ops, &CasRegister, 5_000_000) {
                prop_assert_eq!(linearizable, searched, "{:?}", decision);
            }
            if let Some(Decision::NotLinearizable(prefix)) = &decision {
                let ok = ops.iter().filter(|op| !op.is_indeterminate()).count();
                let placed_ok =
                    prefix.iter().filter(|&&local| !ops[local as usize].is_indeterminate()).count();
                prop_assert!(placed_ok < ok, "a refuted key's prefix cannot place every ok operation");
            }
        }
    }
}
