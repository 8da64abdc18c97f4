//! A sound but incomplete check of client histories, standing in for the linearizability
//! checker (being written on another branch). It reports only real violations:
//!
//! Registers (read, write, cas with unique written values):
//! - a read returns a value no operation wrote;
//! - a stale read: the read returns `v`, yet some write that started after `v`'s write
//!   had completed also completed before the read started (or the read returns the
//!   initial nil after any write completed before it started).
//!
//! Append keys (read, append of unique tokens):
//! - a read holds a token twice (an append applied twice) or a token never appended;
//! - a read misses an append that completed before it started;
//! - two reads are not prefixes of one another, or a later read is shorter.

use sim_core::history::{EventType, Function, History, Value};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug)]
struct Operation {
    f: Function,
    key: Value,
    argument: Value,
    result: Value,
    invoke: usize,
    /// Position of the completion, if any.
    complete: Option<usize>,
    outcome: EventType,
}

fn operations(history: &History) -> Vec<Operation> {
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    let mut ops: Vec<Operation> = Vec::new();
    for (pos, e) in history.events.iter().enumerate() {
        if e.kind == EventType::Invoke {
            open.insert(e.process, ops.len());
            ops.push(Operation {
                f: e.f,
                key: e.key.clone().unwrap_or(Value::Nil),
                argument: e.value.clone(),
                result: Value::Nil,
                invoke: pos,
                complete: None,
                outcome: EventType::Invoke,
            });
        } else if let Some(i) = open.remove(&e.process) {
            ops[i].complete = Some(pos);
            ops[i].outcome = e.kind;
            ops[i].result = e.value.clone();
        }
    }
    ops
}

/// Check `history`; `Err` describes the first violation found.
pub fn check(history: &History) -> Result<(), String> {
    let ops = operations(history);
    let mut by_key: BTreeMap<Value, Vec<&Operation>> = BTreeMap::new();
    for op in &ops {
        by_key.entry(op.key.clone()).or_default().push(op);
    }
    for (key, ops) in by_key {
        if ops.iter().any(|o| o.f == Function::Append) {
            check_appends(&key, &ops)?;
        } else {
            check_register(&key, &ops)?;
        }
    }
    Ok(())
}

fn written_value(op: &Operation) -> Option<&Value> {
    match (op.f, &op.argument) {
        (Function::Write, v) => Some(v),
        (Function::Cas, Value::List(pair)) if pair.len() == 2 => Some(&pair[1]),
        _ => None,
    }
}

fn check_register(key: &Value, ops: &[&Operation]) -> Result<(), String> {
    // Writes that may have taken effect, by value; and completed writes by completion.
    let mut origin: BTreeMap<&Value, &Operation> = BTreeMap::new();
    let mut completed: Vec<(usize, usize)> = Vec::new(); // (complete, invoke)
    for op in ops {
        if op.outcome == EventType::Fail {
            continue;
        }
        if let Some(v) = written_value(op) {
            origin.insert(v, op);
            if op.outcome == EventType::Ok {
                completed.push((op.complete.expect("ok has a completion"), op.invoke));
            }
        }
    }
    completed.sort_unstable();
    // latest_invoke[i]: the latest invocation among the first i completed writes.
    let mut latest_invoke = vec![None; completed.len() + 1];
    for (i, &(_, invoke)) in completed.iter().enumerate() {
        latest_invoke[i + 1] = Some(latest_invoke[i].map_or(invoke, |m: usize| m.max(invoke)));
    }
    for read in ops.iter().filter(|o| o.f == Function::Read && o.outcome == EventType::Ok) {
        let done_before = completed.partition_point(|&(complete, _)| complete < read.invoke);
        let Some(latest) = latest_invoke[done_before] else { continue };
        if read.result == Value::Nil {
            return Err(format!(
                "key {key}: a read at history position {} returned nil after a write completed",
                read.invoke
            ));
        }
        let Some(writer) = origin.get(&read.result) else {
            return Err(format!(
                "key {key}: a read at history position {} returned {}, which no operation wrote",
                read.invoke, read.result
            ));
        };
        if let Some(written) = writer.complete.filter(|_| writer.outcome == EventType::Ok)
            && written < latest
        {
            return Err(format!(
                "key {key}: stale read at history position {}: it returned {} (written by the \
                 operation completed at {written}), but a later write invoked at {latest} had \
                 completed before the read began",
                read.invoke, read.result
            ));
        }
    }
    Ok(())
}

fn tokens(value: &Value) -> Option<Vec<&str>> {
    match value {
        Value::Nil => Some(Vec::new()),
        Value::Str(s) => Some(s.split_whitespace().collect()),
        _ => None,
    }
}

fn check_appends(key: &Value, ops: &[&Operation]) -> Result<(), String> {
    let mut appends: BTreeMap<String, &Operation> = BTreeMap::new();
    for op in ops.iter().filter(|o| o.f == Function::Append) {
        if let Value::Str(s) = &op.argument {
            appends.insert(s.trim().to_string(), op);
        }
    }
    let mut reads: Vec<(&Operation, Vec<&str>)> = Vec::new();
    for read in ops.iter().filter(|o| o.f == Function::Read && o.outcome == EventType::Ok) {
        let at = read.invoke;
        let Some(seen) = tokens(&read.result) else {
            return Err(format!("key {key}: read at {at} returned {}", read.result));
        };
        let mut unique = BTreeSet::new();
        for token in &seen {
            if !unique.insert(*token) {
                return Err(format!("key {key}: read at {at} holds append {token} twice"));
            }
            let Some(append) = appends.get(*token) else {
                return Err(format!("key {key}: read at {at} holds {token}, never appended"));
            };
            if append.outcome == EventType::Fail || append.invoke > read.complete.expect("ok") {
                return Err(format!(
                    "key {key}: read at {at} holds {token}, which it could not see"
                ));
            }
        }
        for (token, append) in &appends {
            if append.outcome == EventType::Ok
                && append.complete.expect("ok") < read.invoke
                && !unique.contains(token.as_str())
            {
                return Err(format!(
                    "key {key}: read at {at} misses append {token}, acknowledged before it began"
                ));
            }
        }
        reads.push((read, seen));
    }
    // Every read is a prefix of the longer ones; real time never shortens what is read.
    let mut by_len: Vec<&(&Operation, Vec<&str>)> = reads.iter().collect();
    by_len.sort_by_key(|(_, t)| t.len());
    for pair in by_len.windows(2) {
        let (a, b) = (&pair[0].1, &pair[1].1);
        if b[..a.len()] != a[..] {
            return Err(format!(
                "key {key}: reads at {} and {} diverge",
                pair[0].0.invoke, pair[1].0.invoke
            ));
        }
    }
    let mut by_completion: Vec<(usize, usize)> =
        reads.iter().map(|(r, t)| (r.complete.expect("ok"), t.len())).collect();
    by_completion.sort_unstable();
    let mut longest = vec![0usize; by_completion.len() + 1];
    for (i, &(_, len)) in by_completion.iter().enumerate() {
        longest[i + 1] = longest[i].max(len);
    }
    for (read, seen) in &reads {
        let before = by_completion.partition_point(|&(c, _)| c < read.invoke);
        if longest[before] > seen.len() {
            return Err(format!(
                "key {key}: read at {} saw {} appends, fewer than a read that completed before it",
                read.invoke,
                seen.len()
            ));
        }
    }
    Ok(())
}
