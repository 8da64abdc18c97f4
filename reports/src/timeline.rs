//! A run as a timeline: messages from send to delivery, spans of crashes, pauses and
//! partitions, and client operations from invocation to completion. Built once from a
//! trace and the client history (JSON lines, any workload), and drawn by the Perfetto
//! writer, the message diagram and the HTML report.

use crate::trace::{fault_json, reason_name};
use serde_json::Value;
use sim_core::SimTime;
use sim_core::faults::FaultAction;
use sim_core::trace::{Fate, TraceEvent, TraceKind};
use std::collections::BTreeMap;

/// One message, from its send.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub id: u64,
    pub from: u32,
    pub to: u32,
    pub sent: SimTime,
    pub msg_type: String,
    /// The message as JSON.
    pub msg: Value,
    pub fate: Fate,
    /// When each copy was handled (two for a duplicated message).
    pub delivered: Vec<SimTime>,
    /// When it was dropped (at the send, or on arrival).
    pub dropped: Option<SimTime>,
}

impl Message {
    /// What became of it, in a word or two ("dropped (partition)").
    pub fn fate_text(&self) -> String {
        match self.fate {
            Fate::Dropped { reason, .. } => format!("dropped ({})", reason_name(reason)),
            fate => crate::trace::fate_name(fate).replace('_', " "),
        }
    }
}

/// What a span shades.
#[derive(Clone, Debug, PartialEq)]
pub enum SpanKind {
    Crashed,
    Paused,
    /// A partition in force; `text` says which nodes were cut from which.
    Partition {
        text: String,
    },
}

/// A stretch of time something was wrong: a node crashed or paused, a partition in force.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub kind: SpanKind,
    /// The node, for a crash or a pause.
    pub node: Option<u32>,
    pub start: SimTime,
    /// The end, or the end of the run if it lasted.
    pub end: SimTime,
}

/// A client operation, from its invocation to its completion.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    /// Its place among the history's invocations (0-based).
    pub index: usize,
    pub process: u64,
    pub client: u64,
    /// `f`, `key` and the invocation's `value` ("write 2 1").
    pub label: String,
    pub key: Option<String>,
    pub start: SimTime,
    /// The completion's time; the end of the run for an operation left open.
    pub end: SimTime,
    /// `ok`, `fail`, `info` (indeterminate), or `open` (never completed).
    pub outcome: String,
    /// The completion's value (what a read returned).
    pub result: Option<String>,
    /// The node whose reply completed it.
    pub node: Option<u32>,
}

/// A point in time worth marking: a clock jump, a heal, a violation.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub time: SimTime,
    pub node: Option<u32>,
    pub text: String,
}

/// Everything a diagram of the run draws.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    pub nodes: u32,
    pub clients: u64,
    pub end: SimTime,
    pub messages: Vec<Message>,
    pub spans: Vec<Span>,
    pub operations: Vec<Operation>,
    pub marks: Vec<Mark>,
    /// What the nodes' handlers noted (`ctx.annotate`): node, time, note.
    pub notes: Vec<(u32, SimTime, String)>,
}

fn node_list(value: &Value) -> String {
    let ids: Vec<String> =
        value.as_array().map(|a| a.iter().map(|n| format!("n{n}")).collect()).unwrap_or_default();
    ids.join(" ")
}

/// A partition in words: "n0 n2 | n3 n4", "n3 isolated", "n0 n1 -/-> n2".
pub fn partition_text(action: &FaultAction) -> String {
    let fault = fault_json(action);
    let kind = fault["partition"].as_str().unwrap_or("");
    match kind {
        "isolate" => format!("n{} isolated", fault["node"]),
        "mute-one" => format!("n{} muted", fault["node"]),
        "one-way" => format!("{} -/-> {}", node_list(&fault["from"]), node_list(&fault["to"])),
        "ring" => format!("ring {}", node_list(&fault["ring"])),
        _ => {
            let groups: Vec<String> = fault["groups"]
                .as_array()
                .map(|g| g.iter().map(node_list).collect())
                .unwrap_or_default();
            format!("{kind}: {}", groups.join(" | "))
        }
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "nil".into(),
        other => other.to_string(),
    }
}

impl Timeline {
    /// The timeline of a run with `clients` clients, from its trace and its history (JSON
    /// lines as `--history` writes them; empty without clients).
    pub fn new(trace: &[TraceEvent], history: &str, clients: u64) -> Timeline {
        let mut t = Timeline { clients, ..Timeline::default() };
        t.nodes = trace.iter().filter_map(|e| e.node).map(|n| n.0 + 1).max().unwrap_or(0);
        t.end = trace.last().map_or(SimTime::ZERO, |e| e.time);
        t.read_trace(trace);
        t.read_history(history);
        t
    }

    fn read_trace(&mut self, trace: &[TraceEvent]) {
        let mut down: BTreeMap<u32, (SpanKind, SimTime)> = BTreeMap::new();
        let mut partition: Option<(String, SimTime)> = None;
        for e in trace {
            if let Some(node) = e.node {
                for note in &e.annotations {
                    self.notes.push((node.0, e.time, note.clone()));
                }
            }
            match &e.kind {
                TraceKind::Send { to, message, msg, fate, .. } => {
                    let msg = crate::debug_json::to_json(msg);
                    let msg_type = match &msg {
                        Value::Object(m) => m
                            .get("type")
                            .map(text)
                            .or_else(|| m.keys().next().cloned())
                            .unwrap_or_default(),
                        other => text(other).split([' ', '{', '(']).next().unwrap_or("").to_owned(),
                    };
                    let dropped =
                        matches!(fate, Fate::Dropped { at_send: true, .. }).then_some(e.time);
                    self.messages.push(Message {
                        id: message.0,
                        from: e.node.map_or(0, |n| n.0),
                        to: to.0,
                        sent: e.time,
                        msg_type,
                        msg,
                        fate: *fate,
                        delivered: Vec::new(),
                        dropped,
                    });
                }
                TraceKind::Deliver { message, .. } => {
                    if let Some(m) = self.messages.get_mut(message.0 as usize) {
                        m.delivered.push(e.time);
                    }
                }
                TraceKind::Drop { message, .. } => {
                    if let Some(m) = self.messages.get_mut(message.0 as usize) {
                        m.dropped = Some(e.time);
                    }
                }
                TraceKind::Fault(action) => {
                    self.read_fault(e.time, action, &mut down, &mut partition);
                }
                TraceKind::Start { restart: true } => {
                    let node = e.node.map_or(0, |n| n.0);
                    self.close(node, e.time, &mut down);
                }
                _ => {}
            }
        }
        for (node, (kind, start)) in down {
            self.spans.push(Span { kind, node: Some(node), start, end: self.end });
        }
        if let Some((text, start)) = partition {
            let kind = SpanKind::Partition { text };
            self.spans.push(Span { kind, node: None, start, end: self.end });
        }
        self.spans.sort_by_key(|s| (s.start, s.node));
    }

    fn close(&mut self, node: u32, at: SimTime, down: &mut BTreeMap<u32, (SpanKind, SimTime)>) {
        if let Some((kind, start)) = down.remove(&node) {
            self.spans.push(Span { kind, node: Some(node), start, end: at });
        }
    }

    fn read_fault(
        &mut self,
        time: SimTime,
        action: &FaultAction,
        down: &mut BTreeMap<u32, (SpanKind, SimTime)>,
        partition: &mut Option<(String, SimTime)>,
    ) {
        match action {
            FaultAction::Crash(node) | FaultAction::CrashOn { node, .. } => {
                self.close(node.0, time, down);
                down.insert(node.0, (SpanKind::Crashed, time));
            }
            FaultAction::Pause { node, duration } => {
                // A final heal may end it sooner.
                let end = (time + *duration).min(self.end);
                self.spans.push(Span {
                    kind: SpanKind::Paused,
                    node: Some(node.0),
                    start: time,
                    end,
                });
            }
            FaultAction::Partition(_) => {
                if let Some((text, start)) = partition.take() {
                    let kind = SpanKind::Partition { text };
                    self.spans.push(Span { kind, node: None, start, end: time });
                }
                *partition = Some((partition_text(action), time));
            }
            FaultAction::Heal | FaultAction::HealAll => {
                if let Some((text, start)) = partition.take() {
                    let kind = SpanKind::Partition { text };
                    self.spans.push(Span { kind, node: None, start, end: time });
                }
                if matches!(action, FaultAction::HealAll) {
                    for span in &mut self.spans {
                        if span.kind == SpanKind::Paused && span.end > time {
                            span.end = time;
                        }
                    }
                }
                let word = if matches!(action, FaultAction::HealAll) { "heal all" } else { "heal" };
                self.marks.push(Mark { time, node: None, text: word.into() });
            }
            FaultAction::Restart(_) => {}
            other => {
                let fault = fault_json(other);
                let node = fault["node"].as_u64().map(|n| n as u32);
                let text = fault["type"].as_str().unwrap_or("fault").replace('_', " ");
                self.marks.push(Mark { time, node, text });
            }
        }
    }

    /// Operations from the history's invoke and completion lines, each with its client
    /// and the node whose reply completed it, as the history records them (`client`,
    /// `node`); nemesis lines are not operations.
    fn read_history(&mut self, history: &str) {
        let mut open: BTreeMap<u64, usize> = BTreeMap::new();
        for line in history.lines() {
            let Ok(event) = serde_json::from_str::<Value>(line) else { continue };
            let Some(process) = event["process"].as_u64() else { continue };
            let time = SimTime(event["time"].as_u64().unwrap_or(0));
            let kind = event["type"].as_str().unwrap_or("");
            if kind == "invoke" {
                let key = event.get("key").map(text);
                let mut label = text(&event["f"]);
                if let Some(key) = &key {
                    label += &format!(" {key}");
                }
                if !event["value"].is_null() {
                    label += &format!(" {}", text(&event["value"]));
                }
                let client = event["client"].as_u64().unwrap_or(if self.clients > 0 {
                    process % self.clients
                } else {
                    process
                });
                open.insert(process, self.operations.len());
                self.operations.push(Operation {
                    index: self.operations.len(),
                    process,
                    client,
                    label,
                    key,
                    start: time,
                    end: self.end.max(time),
                    outcome: "open".into(),
                    result: None,
                    node: None,
                });
            } else if let Some(i) = open.remove(&process) {
                let op = &mut self.operations[i];
                op.end = time;
                op.outcome = kind.to_owned();
                if kind == "ok" && !event["value"].is_null() {
                    op.result = Some(text(&event["value"]));
                }
                op.node = event["node"].as_u64().map(|n| n as u32);
            }
        }
    }

    /// The partition in force at `time`, if any.
    pub fn partition_at(&self, time: SimTime) -> Option<&str> {
        self.spans.iter().find_map(|s| match &s.kind {
            SpanKind::Partition { text } if s.start <= time && time < s.end => Some(text.as_str()),
            _ => None,
        })
    }
}
