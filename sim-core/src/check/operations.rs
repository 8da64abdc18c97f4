//! From a history of events to the operations the checker orders.
//!
//! Each `invoke` is paired with the next completion of the same process. Jepsen's
//! semantics decide what becomes of it:
//! - `ok`: the operation took effect somewhere between its invoke and its completion;
//! - `fail`: it certainly did not take effect, so it is dropped;
//! - `info`, or no completion at all: indeterminate. It may have taken effect at any point
//!   after its invoke, or never: its return is at +infinity and the search may leave it
//!   out. An indeterminate read tells nothing and is dropped.
//!
//! Real-time order is the order of the events in the history (their positions), not their
//! `time` fields: times may be missing, coarse or equal.

use crate::history::{EventType, Function, History, Value};
use crate::time::SimTime;
use std::collections::BTreeMap;
use std::fmt;
use thiserror::Error;

/// An operation's index in the list [`operations`] returns (operations sorted by invoke).
pub type OpId = usize;

/// One operation of a history, as the checker sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    pub id: OpId,
    pub process: u64,
    pub f: Function,
    pub key: Option<Value>,
    /// The invoke's value: what to write, `[expected new]` for a cas; nil for a read.
    pub input: Value,
    /// What an `ok` completion reported (the value read); `None` when the outcome is
    /// indeterminate (`info`, or never completed).
    pub output: Option<Value>,
    /// Position of the invoke event in the history.
    pub invoke_index: usize,
    /// Position of the completion event (`ok` or `info`), if there was one.
    pub complete_index: Option<usize>,
    pub invoke_time: Option<SimTime>,
    pub complete_time: Option<SimTime>,
}

impl Operation {
    /// True when the operation may or may not have happened (`info` or never completed).
    pub fn is_indeterminate(&self) -> bool {
        self.output.is_none()
    }

    /// The position before which this operation must have taken effect; `None` is
    /// +infinity (an indeterminate operation).
    pub fn return_position(&self) -> Option<usize> {
        if self.is_indeterminate() { None } else { self.complete_index }
    }

    /// The operation without its process and interval: `write 5`, `read 3`, `cas 1 -> 2`,
    /// `dequeue 4` (what it took).
    pub fn describe(&self) -> String {
        match (self.f, &self.input, &self.output) {
            (Function::Read, _, Some(value)) => format!("read {value}"),
            (Function::Read, _, None) => "read (result unknown)".to_string(),
            (Function::Dequeue, _, Some(value)) => format!("dequeue {value}"),
            (Function::Dequeue, _, None) => "dequeue (result unknown)".to_string(),
            (Function::Cas, Value::List(pair), _) if pair.len() == 2 => {
                format!("cas {} -> {}", pair[0], pair[1])
            }
            (f, input, _) => format!("{} {input}", f.name()),
        }
    }
}

/// `process 3: write 5 [t1, t2]`, with times when the history has them and event positions
/// (`#12`) otherwise; an indeterminate operation's interval is open at +infinity.
impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "process {}: {} [", self.process, self.describe())?;
        match self.invoke_time {
            Some(time) => write!(f, "{time}, ")?,
            None => write!(f, "#{}, ", self.invoke_index)?,
        }
        if self.is_indeterminate() {
            f.write_str("∞) (indeterminate)")
        } else {
            match (self.complete_time, self.complete_index) {
                (Some(time), _) => write!(f, "{time}]"),
                (None, Some(index)) => write!(f, "#{index}]"),
                (None, None) => f.write_str("?]"),
            }
        }
    }
}

/// A history that does not follow the invoke/complete discipline. Indices are positions
/// of events in the history (0-based).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum HistoryError {
    #[error("event {index}: process {process} completes an operation ({kind}) it never invoked")]
    CompletionWithoutInvoke { index: usize, process: u64, kind: &'static str },
    #[error(
        "event {index}: process {process} invokes again while its operation invoked at event {open} is still open"
    )]
    InvokeWhileOpen { index: usize, process: u64, open: usize },
    #[error(
        "event {index}: process {process} completes a {found} but its open operation (event {open}) is a {expected}"
    )]
    MismatchedFunction {
        index: usize,
        process: u64,
        open: usize,
        expected: &'static str,
        found: &'static str,
    },
    #[error(
        "event {index}: process {process} completes key {found} but its open operation (event {open}) is on key {expected}"
    )]
    MismatchedKey { index: usize, process: u64, open: usize, expected: Value, found: Value },
    #[error("event {index}: {message}")]
    Unsupported { index: usize, message: String },
}

impl HistoryError {
    /// The index of the offending event in the history.
    pub fn event_index(&self) -> usize {
        match *self {
            HistoryError::CompletionWithoutInvoke { index, .. }
            | HistoryError::InvokeWhileOpen { index, .. }
            | HistoryError::MismatchedFunction { index, .. }
            | HistoryError::MismatchedKey { index, .. }
            | HistoryError::Unsupported { index, .. } => index,
        }
    }
}

/// Pairs invokes with completions. Operations come back sorted by invoke position, with
/// `id` equal to their index. Failed operations and indeterminate reads are left out.
pub fn operations(history: &History) -> Result<Vec<Operation>, HistoryError> {
    let mut open: BTreeMap<u64, usize> = BTreeMap::new();
    // At most one operation per invoke: room for them all at once, not twice as much while
    // the vector doubles (a large history's operations are its largest part in memory).
    let mut ops = Vec::with_capacity(history.operations());
    for (index, event) in history.events.iter().enumerate() {
        if event.kind == EventType::Invoke {
            if let Some(&open_index) = open.get(&event.process) {
                return Err(HistoryError::InvokeWhileOpen {
                    index,
                    process: event.process,
                    open: open_index,
                });
            }
            open.insert(event.process, index);
            continue;
        }
        let Some(invoke_index) = open.remove(&event.process) else {
            return Err(HistoryError::CompletionWithoutInvoke {
                index,
                process: event.process,
                kind: event.kind.name(),
            });
        };
        let invoke = &history.events[invoke_index];
        if invoke.f != event.f {
            return Err(HistoryError::MismatchedFunction {
                index,
                process: event.process,
                open: invoke_index,
                expected: invoke.f.name(),
                found: event.f.name(),
            });
        }
        if let (Some(expected), Some(found)) = (&invoke.key, &event.key)
            && expected != found
        {
            return Err(HistoryError::MismatchedKey {
                index,
                process: event.process,
                open: invoke_index,
                expected: expected.clone(),
                found: found.clone(),
            });
        }
        let output = match event.kind {
            EventType::Fail => continue,
            EventType::Info if event.f == Function::Read => continue,
            EventType::Info => None,
            EventType::Ok => Some(event.value.clone()),
            EventType::Invoke => unreachable!("invokes are handled above"),
        };
        ops.push(Operation {
            id: 0,
            process: event.process,
            f: invoke.f,
            key: invoke.key.clone().or_else(|| event.key.clone()),
            input: invoke.value.clone(),
            output,
            invoke_index,
            complete_index: Some(index),
            invoke_time: invoke.time,
            complete_time: event.time,
        });
    }
    for (&process, &invoke_index) in &open {
        let invoke = &history.events[invoke_index];
        if invoke.f == Function::Read {
            continue;
        }
        ops.push(Operation {
            id: 0,
            process,
            f: invoke.f,
            key: invoke.key.clone(),
            input: invoke.value.clone(),
            output: None,
            invoke_index,
            complete_index: None,
            invoke_time: invoke.time,
            complete_time: None,
        });
    }
    // Invoke positions are distinct, so an unstable sort gives the one order, without the
    // stable sort's buffer of half the operations.
    ops.sort_unstable_by_key(|op| op.invoke_index);
    for (id, op) in ops.iter_mut().enumerate() {
        op.id = id;
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::HistoryEvent;

    fn event(process: u64, kind: EventType, f: Function, value: Value) -> HistoryEvent {
        HistoryEvent { process, kind, f, key: None, value, time: None }
    }

    fn history(events: Vec<HistoryEvent>) -> History {
        History::of(events)
    }

    #[test]
    fn pairs_and_classifies() {
        use EventType::*;
        use Function::*;
        let h = history(vec![
            event(0, Invoke, Write, Value::Int(1)),
            event(1, Invoke, Read, Value::Nil),
            event(2, Invoke, Write, Value::Int(2)),
            event(3, Invoke, Read, Value::Nil),
            event(0, Ok, Write, Value::Int(1)),
            event(1, Ok, Read, Value::Int(1)),
            event(2, Fail, Write, Value::Int(2)),
            event(3, Info, Read, Value::Nil),
            event(4, Invoke, Write, Value::Int(3)),
            event(5, Invoke, Cas, Value::List(vec![Value::Int(3), Value::Int(4)])),
            event(5, Info, Cas, Value::List(vec![Value::Int(3), Value::Int(4)])),
            event(6, Invoke, Read, Value::Nil),
        ]);
        let ops = operations(&h).unwrap();
        let summary: Vec<String> = ops.iter().map(|op| op.to_string()).collect();
        assert_eq!(
            summary,
            [
                "process 0: write 1 [#0, #4]",
                "process 1: read 1 [#1, #5]",
                "process 4: write 3 [#8, ∞) (indeterminate)",
                "process 5: cas 3 -> 4 [#9, ∞) (indeterminate)",
            ]
        );
        assert!(ops.iter().enumerate().all(|(i, op)| op.id == i));
        assert_eq!(ops[3].complete_index, Some(10));
        assert_eq!(ops[3].return_position(), None);
    }

    #[test]
    fn malformed_histories_name_the_event() {
        use EventType::*;
        use Function::*;
        let orphan = history(vec![event(0, Ok, Write, Value::Int(1))]);
        assert_eq!(
            operations(&orphan),
            Err(HistoryError::CompletionWithoutInvoke { index: 0, process: 0, kind: "ok" })
        );
        let twice = history(vec![
            event(0, Invoke, Write, Value::Int(1)),
            event(0, Invoke, Read, Value::Nil),
        ]);
        assert_eq!(
            operations(&twice),
            Err(HistoryError::InvokeWhileOpen { index: 1, process: 0, open: 0 })
        );
        let mismatched = history(vec![
            event(0, Invoke, Write, Value::Int(1)),
            event(0, Ok, Read, Value::Int(1)),
        ]);
        let error = operations(&mismatched).unwrap_err();
        assert_eq!(
            error.to_string(),
            "event 1: process 0 completes a read but its open operation (event 0) is a write"
        );
    }
}
