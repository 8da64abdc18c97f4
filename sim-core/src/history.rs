//! Client histories, recorded as Jepsen records them: each operation is an `invoke` event
//! followed by one completion of the same process, `ok` (it took effect), `fail` (it
//! certainly did not) or `info` (indeterminate: it may have taken effect at any time after
//! its invocation, or never; the process then never issues another operation).

use crate::time::SimTime;
use std::fmt;

/// A value as Jepsen histories carry it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    Nil,
    Int(i64),
    Str(String),
    /// A vector, e.g. a cas's `[expected new]` or a list-append read.
    List(Vec<Value>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// What an operation does. Jepsen's key-value names map onto these: `:get` is `Read` and
/// `:put` is `Write`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Function {
    Read,
    Write,
    /// Compare-and-set; the value is `[expected new]`.
    Cas,
    Append,
}

impl Function {
    pub fn name(self) -> &'static str {
        match self {
            Function::Read => "read",
            Function::Write => "write",
            Function::Cas => "cas",
            Function::Append => "append",
        }
    }
}

/// The type of a history event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    Invoke,
    Ok,
    Fail,
    Info,
}

impl EventType {
    pub fn name(self) -> &'static str {
        match self {
            EventType::Invoke => "invoke",
            EventType::Ok => "ok",
            EventType::Fail => "fail",
            EventType::Info => "info",
        }
    }
}

/// One line of a history.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HistoryEvent {
    /// The client process; a process has at most one operation open at a time.
    pub process: u64,
    pub kind: EventType,
    pub f: Function,
    /// The key, for multi-key histories; `None` for a single register.
    pub key: Option<Value>,
    /// On invoke: the argument (nil for a read). On ok: the result (the value read).
    pub value: Value,
    /// Virtual time of the event, when known. Order in the history is what counts.
    pub time: Option<SimTime>,
}

/// What every history event tells, whatever its workload: whose it is, what kind, and
/// when. Liveness and latency are computed from this alone.
pub trait Recorded: Clone + fmt::Debug + PartialEq {
    /// The client process; a process has at most one operation open at a time.
    fn process(&self) -> u64;
    fn kind(&self) -> EventType;
    /// Virtual time of the event, when known.
    fn time(&self) -> Option<SimTime>;
    /// What the operation does, in a word, for messages ("read", "txn").
    fn label(&self) -> &str;
    /// The event as one JSON object on one line (`dsim run --history`).
    fn write_json(&self, out: &mut String);
}

impl Recorded for HistoryEvent {
    fn process(&self) -> u64 {
        self.process
    }

    fn kind(&self) -> EventType {
        self.kind
    }

    fn time(&self) -> Option<SimTime> {
        self.time
    }

    fn label(&self) -> &str {
        self.f.name()
    }

    fn write_json(&self, out: &mut String) {
        crate::check::jsonl::write_event(out, self);
    }
}

/// A history: events in the order they happened. Key-value histories by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct History<E = HistoryEvent> {
    pub events: Vec<E>,
}

impl<E> Default for History<E> {
    fn default() -> Self {
        History { events: Vec::new() }
    }
}

impl<E> History<E> {
    pub fn push(&mut self, event: E) {
        self.events.push(event);
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

impl<E: Recorded> History<E> {
    /// How many operations were invoked (each has one invoke event, and at most one
    /// completion).
    pub fn operations(&self) -> usize {
        self.events.iter().filter(|e| e.kind() == EventType::Invoke).count()
    }
}
