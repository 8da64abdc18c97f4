//! Histories with a known answer, for tests and benchmarks: a real sequential execution
//! against a model, with each operation's instant stretched into an interval that overlaps
//! other processes' operations. Such a history is linearizable by construction (the
//! execution order is a witness); changing one read to a value never written makes it not
//! linearizable. Deterministic: everything is drawn from
//! `SimRng::derive(seed, Stream::Workload, 0)`.

use crate::history::{EventType, Function, History, HistoryEvent, Value};
use crate::rng::{SimRng, Stream};
use crate::time::SimTime;

/// Which model's operations to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// get / put / append on string values (the `kv` model): half reads, 30% puts, 20%
    /// appends, so values stay short.
    KeyValue,
    /// read / write / cas on integers (the `cas-register` model); a cas whose expected
    /// value is not the current one completes `fail`. With one key, events carry no key.
    CasRegister,
}

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    pub seed: u64,
    pub operations: usize,
    pub keys: u64,
    pub processes: u64,
    pub workload: Workload,
    /// Percent of operations that complete `info`; each took effect or not (even odds),
    /// and its process is replaced by a fresh one, as Jepsen does.
    pub info_percent: u64,
    /// Percent of writes and appends that complete `fail` and take no effect.
    pub fail_percent: u64,
}

impl Options {
    pub fn new(seed: u64, operations: usize, keys: u64, processes: u64) -> Self {
        Options {
            seed,
            operations,
            keys,
            processes,
            workload: Workload::KeyValue,
            info_percent: 0,
            fail_percent: 0,
        }
    }
}

/// A linearizable key-value history (`kv` model) where every operation completes `ok`.
pub fn random_linearizable(seed: u64, operations: usize, keys: u64, processes: u64) -> History {
    generate(&Options::new(seed, operations, keys, processes))
}

/// Time units between consecutive linearization points, at most.
const GAP: u64 = 4;
/// Nanoseconds per time unit.
const UNIT_NANOS: u64 = 1_000;

/// A linearizable history as `options` describe it.
pub fn generate(options: &Options) -> History {
    assert!(options.keys > 0 && options.processes > 0, "generate needs keys and processes");
    let mut rng = SimRng::derive(options.seed, Stream::Workload, 0);
    let initial = match options.workload {
        Workload::KeyValue => Value::Str(String::new()),
        Workload::CasRegister => Value::Nil,
    };
    let mut values = vec![initial; options.keys as usize];
    let mut process_ids: Vec<u64> = (0..options.processes).collect();
    let mut next_process_id = options.processes;
    let mut free_at = vec![0u64; options.processes as usize];
    let spread = GAP * options.processes;
    let mut point = 0u64;
    // (time, order created, event): sorted by time, ties in creation order.
    let mut timed: Vec<(u64, usize, HistoryEvent)> = Vec::with_capacity(options.operations * 2);
    for i in 0..options.operations {
        let slot = rng.below(options.processes) as usize;
        point = (point + 1 + rng.below(GAP)).max(free_at[slot] + 1 + rng.below(GAP));
        let invoke_at = point - rng.below((point - free_at[slot]).min(spread));
        let complete_at = point + rng.below(spread);
        free_at[slot] = complete_at;

        let key_index = rng.below(options.keys) as usize;
        let key = match (options.workload, options.keys) {
            (Workload::CasRegister, 1) => None,
            _ => Some(Value::Int(key_index as i64)),
        };
        let current = &mut values[key_index];
        let (f, input, mut output, effect) = draw_operation(&mut rng, options.workload, i, current);
        let mut kind =
            if effect.is_none() && f != Function::Read { EventType::Fail } else { EventType::Ok };
        let mut apply = kind == EventType::Ok;
        if kind == EventType::Ok && f != Function::Read && rng.below(100) < options.fail_percent {
            kind = EventType::Fail;
            apply = false;
        }
        if kind == EventType::Ok && rng.below(100) < options.info_percent {
            kind = EventType::Info;
            apply = rng.below(2) == 0;
        }
        if apply && let Some(next) = effect {
            *current = next;
        }
        if kind != EventType::Ok {
            output = input.clone();
        }
        let process = process_ids[slot];
        if kind == EventType::Info {
            process_ids[slot] = next_process_id;
            next_process_id += 1;
        }
        let event = |kind, value, at: u64| HistoryEvent {
            process,
            kind,
            f,
            key: key.clone(),
            value,
            time: Some(SimTime(at * UNIT_NANOS)),
        };
        let invoke_value = if f == Function::Read { Value::Nil } else { input };
        timed.push((invoke_at, timed.len(), event(EventType::Invoke, invoke_value, invoke_at)));
        timed.push((complete_at, timed.len(), event(kind, output, complete_at)));
    }
    timed.sort_unstable_by_key(|&(at, order, _)| (at, order));
    History::of(timed.into_iter().map(|(_, _, event)| event).collect())
}

/// `(f, input, output if ok, state after it if it can take effect)`.
fn draw_operation(
    rng: &mut SimRng,
    workload: Workload,
    index: usize,
    current: &Value,
) -> (Function, Value, Value, Option<Value>) {
    let roll = rng.below(100);
    match workload {
        Workload::KeyValue => {
            if roll < 50 {
                (Function::Read, Value::Nil, current.clone(), Some(current.clone()))
            } else if roll < 80 {
                let value = Value::Str(format!("{index}"));
                (Function::Write, value.clone(), value.clone(), Some(value))
            } else {
                let suffix = format!("{index};");
                let Value::Str(text) = current else { unreachable!("kv values are strings") };
                let value = Value::Str(suffix.clone());
                (
                    Function::Append,
                    value.clone(),
                    value,
                    Some(Value::Str(format!("{text}{suffix}"))),
                )
            }
        }
        Workload::CasRegister => {
            if roll < 40 {
                (Function::Read, Value::Nil, current.clone(), Some(current.clone()))
            } else if roll < 70 {
                let value = Value::Int(index as i64);
                (Function::Write, value.clone(), value.clone(), Some(value))
            } else {
                let expected = if rng.below(2) == 0 {
                    current.clone()
                } else {
                    Value::Int(rng.below(index as u64 + 1) as i64)
                };
                let new = Value::Int(index as i64);
                let pair = Value::List(vec![expected.clone(), new.clone()]);
                let effect = (expected == *current).then_some(new);
                (Function::Cas, pair.clone(), pair, effect)
            }
        }
    }
}

/// The positions of the `ok` reads.
fn ok_reads(history: &History) -> Vec<usize> {
    history
        .events
        .iter()
        .enumerate()
        .filter(|(_, event)| event.kind == EventType::Ok && event.f == Function::Read)
        .map(|(index, _)| index)
        .collect()
}

/// The same history with one `ok` read (drawn from `seed`) returning a value no operation
/// ever wrote: never linearizable. `None` if the history has no `ok` read.
pub fn with_impossible_read(history: &History, seed: u64) -> Option<History> {
    let reads = ok_reads(history);
    if reads.is_empty() {
        return None;
    }
    let mut rng = SimRng::derive(seed, Stream::Workload, 1);
    let chosen = *rng.pick(&reads);
    let mut corrupted = history.clone();
    corrupted.events[chosen].value = Value::Str("never written".to_string());
    Some(corrupted)
}

/// The same history with one `ok` read (drawn from `seed`) returning another value that
/// some operation writes (or the initial nil): a stale or early read, which may or may not
/// be linearizable. `None` if the history has no `ok` read.
pub fn with_other_read(history: &History, seed: u64) -> Option<History> {
    let reads = ok_reads(history);
    if reads.is_empty() {
        return None;
    }
    let mut values = vec![Value::Nil];
    for event in history.events.iter().filter(|event| event.kind == EventType::Invoke) {
        match (event.f, &event.value) {
            (Function::Write, value) => values.push(value.clone()),
            (Function::Cas, Value::List(pair)) if pair.len() == 2 => values.push(pair[1].clone()),
            _ => {}
        }
    }
    let mut rng = SimRng::derive(seed, Stream::Workload, 2);
    let chosen = *rng.pick(&reads);
    let mut changed = history.clone();
    changed.events[chosen].value = rng.pick(&values).clone();
    Some(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_well_formed() {
        let options = Options { info_percent: 5, fail_percent: 5, ..Options::new(3, 500, 4, 6) };
        let history = generate(&options);
        assert_eq!(history, generate(&options));
        assert_eq!(history.len(), 1000);
        assert!(history.events.windows(2).all(|pair| pair[0].time <= pair[1].time));
        let operations = crate::check::operations(&history).expect("well-formed");
        assert!(operations.len() > 400);
        assert_ne!(history, random_linearizable(4, 500, 4, 6));
    }
}
