//! Client histories, recorded as Jepsen records them: each operation is an `invoke` event
//! followed by one completion of the same process, `ok` (it took effect), `fail` (it
//! certainly did not) or `info` (indeterminate: it may have taken effect at any time after
//! its invocation, or never; the process then never issues another operation).

use crate::faults::{FaultAction, Partition};
use crate::node::NodeId;
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
    /// Adds its value: an element to a set, a delta to a counter (Jepsen's `:add`).
    Add,
    /// Puts its value at the back of a queue.
    Enqueue,
    /// Takes the value at the front of a queue; the result is that value (nil: the queue
    /// was empty).
    Dequeue,
}

impl Function {
    /// Every function, by [`Function::name`].
    pub const ALL: [Function; 7] = [
        Function::Read,
        Function::Write,
        Function::Cas,
        Function::Append,
        Function::Add,
        Function::Enqueue,
        Function::Dequeue,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::Read => "read",
            Function::Write => "write",
            Function::Cas => "cas",
            Function::Append => "append",
            Function::Add => "add",
            Function::Enqueue => "enqueue",
            Function::Dequeue => "dequeue",
        }
    }

    /// The function a history names `name`: its own name, or Jepsen's key-value `get` and
    /// `put` (read and write).
    pub fn named(name: &str) -> Option<Function> {
        match name {
            "get" => Some(Function::Read),
            "put" => Some(Function::Write),
            _ => Function::ALL.into_iter().find(|f| f.name() == name),
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

/// Where a client event came from, in the trace's terms: the client (`client` in the
/// trace's `request` and `reply` lines), its request number (`request`, 1, 2, ... per
/// client; a re-send keeps it), and for a completion by a reply, the node that sent it.
/// A history read from a file has what its lines say, often nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Origin {
    pub client: Option<u32>,
    pub request: Option<u64>,
    /// The node whose reply completed the operation (`ok` or `fail`); `None` on an invoke
    /// and on an `info` (no reply came).
    pub node: Option<u32>,
}

impl Origin {
    pub fn is_empty(&self) -> bool {
        *self == Origin::default()
    }
}

/// A fault as Jepsen's `:nemesis` process records it: `{:process :nemesis, :type :info,
/// :f :start-partition, :value ...}`. Not a client operation: the checkers skip it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NemesisEvent {
    /// How many client events come before it in the history.
    pub position: usize,
    /// The process's name as written (`nemesis`).
    pub process: String,
    pub kind: EventType,
    /// What it did: `start-partition`, `kill`, ... (see `docs/history-format.md`).
    pub f: String,
    /// What it did it to: nodes, groups, a duration.
    pub value: Value,
    pub time: Option<SimTime>,
}

impl NemesisEvent {
    /// The history's record of a fault the engine injected (its random choices made), after
    /// `position` client events.
    pub fn of_fault(position: usize, action: &FaultAction, time: SimTime) -> NemesisEvent {
        let (f, value) = nemesis_operation(action);
        NemesisEvent {
            position,
            process: "nemesis".into(),
            kind: EventType::Info,
            f: f.into(),
            value,
            time: Some(time),
        }
    }
}

/// A fault as a nemesis operation's `f` and `value`. Jepsen's names where it has one
/// (`kill`, `start`, `pause`, `start-partition`, `stop-partition`); nodes are their ids.
fn nemesis_operation(action: &FaultAction) -> (&'static str, Value) {
    let node = |n: &NodeId| Value::Int(i64::from(n.0));
    let nodes = |ns: &[NodeId]| Value::List(ns.iter().map(node).collect());
    let int = |i: i64| Value::Int(i);
    let list = |items: Vec<Value>| Value::List(items);
    match action {
        FaultAction::Crash(n) => ("kill", node(n)),
        FaultAction::CrashOn { node: n, event } => {
            ("kill", list(vec![node(n), Value::Str(event.name().into())]))
        }
        FaultAction::Restart(n) => ("start", node(n)),
        FaultAction::Pause { node: n, duration } => {
            ("pause", list(vec![node(n), int(duration.as_nanos().min(i64::MAX as u64) as i64)]))
        }
        FaultAction::Partition(p) => {
            let kind = Value::Str(p.name().into());
            let details = match p {
                Partition::Isolate(n) | Partition::MuteOne(n) => {
                    vec![n.as_ref().map_or(Value::Nil, node)]
                }
                Partition::Bridge(sides) => {
                    vec![sides.as_ref().map_or(Value::Nil, |(a, b)| list(vec![nodes(a), nodes(b)]))]
                }
                Partition::Ring(order) => vec![order.as_deref().map_or(Value::Nil, nodes)],
                Partition::Groups(groups) => vec![list(groups.iter().map(|g| nodes(g)).collect())],
                Partition::OneWay { from, to } => vec![nodes(from), nodes(to)],
                Partition::Halves | Partition::IsolateLeader | Partition::LeaderMinority => vec![],
            };
            ("start-partition", list(std::iter::once(kind).chain(details).collect()))
        }
        FaultAction::Heal => ("stop-partition", Value::Nil),
        FaultAction::Hold { from, to } => ("hold", list(vec![node(from), node(to)])),
        FaultAction::Release { from, to } => ("release", list(vec![node(from), node(to)])),
        FaultAction::ClockJump { node: n, delta_nanos } => {
            ("clock-jump", list(vec![node(n), int(*delta_nanos)]))
        }
        FaultAction::ClockDrift { node: n, drift_ppb } => {
            ("clock-drift", list(vec![node(n), int(*drift_ppb)]))
        }
        FaultAction::DiskFaults { node: n, torn_write_ppm, corrupt_read_ppm } => (
            "disk-faults",
            list(vec![node(n), int(i64::from(*torn_write_ppm)), int(i64::from(*corrupt_read_ppm))]),
        ),
        FaultAction::HealAll => ("heal-all", Value::Nil),
    }
}

/// A history: events in the order they happened. Key-value histories by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct History<E = HistoryEvent> {
    pub events: Vec<E>,
    /// Each event's [`Origin`], by index; an index past its end (a history built by hand,
    /// or read from a file that says nothing) has none.
    pub origins: Vec<Origin>,
    /// The nemesis's events, in order, each placed among the client events by its
    /// `position`.
    pub nemesis: Vec<NemesisEvent>,
}

impl<E> Default for History<E> {
    fn default() -> Self {
        History { events: Vec::new(), origins: Vec::new(), nemesis: Vec::new() }
    }
}

impl<E> History<E> {
    /// A history of these client events, with no origins or nemesis events.
    pub fn of(events: Vec<E>) -> Self {
        History { events, ..History::default() }
    }

    pub fn push(&mut self, event: E) {
        self.push_from(event, Origin::default());
    }

    /// Appends a client event and where it came from.
    pub fn push_from(&mut self, event: E, origin: Origin) {
        if !origin.is_empty() {
            self.origins.resize(self.events.len(), Origin::default());
            self.origins.push(origin);
        }
        self.events.push(event);
    }

    /// Appends a nemesis event after the client events so far.
    pub fn push_nemesis(&mut self, event: NemesisEvent) {
        self.nemesis.push(event);
    }

    /// Gives back the room its vectors grew into while it was read: up to half of a large
    /// history's memory.
    pub fn shrink_to_fit(&mut self) {
        self.events.shrink_to_fit();
        self.origins.shrink_to_fit();
        self.nemesis.shrink_to_fit();
    }

    /// Event `index`'s origin (empty when the history does not say).
    pub fn origin(&self, index: usize) -> Origin {
        self.origins.get(index).copied().unwrap_or_default()
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
