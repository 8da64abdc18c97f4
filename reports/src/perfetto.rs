//! A run as Chrome trace-event JSON, which ui.perfetto.dev and chrome://tracing open: one
//! track per node and per client, every handled event a slice on its node, each
//! delivered message a flow arrow from its send to its delivery, crashes, pauses and
//! partitions as spans, client operations as slices.

use crate::timeline::{SpanKind, Timeline};
use serde_json::{Value, json};
use sim_core::SimTime;
use sim_core::trace::{TraceEvent, TraceKind};
use std::collections::BTreeMap;

/// The process ids of the three groups of tracks.
const NODES: u32 = 1;
const CLIENTS: u32 = 2;
const NETWORK: u32 = 3;

/// Trace-event times are microseconds; fractions keep the nanoseconds.
fn us(time: SimTime) -> f64 {
    time.as_nanos() as f64 / 1000.0
}

/// A handled event's slice lasts this long (µs), so that flows bind to it; simulated
/// handlers take no time.
const HANDLER_US: f64 = 0.001;

fn meta(pid: u32, tid: Option<u64>, name: &str, value: Value) -> Value {
    let mut m = json!({ "ph": "M", "pid": pid, "name": name, "args": value });
    if let Some(tid) = tid {
        m["tid"] = tid.into();
    }
    m
}

/// The Perfetto file of a run, from its trace and its timeline.
pub fn render(trace: &[TraceEvent], timeline: &Timeline) -> String {
    let mut events = vec![
        meta(NODES, None, "process_name", json!({ "name": "nodes" })),
        meta(CLIENTS, None, "process_name", json!({ "name": "clients" })),
        meta(NETWORK, None, "process_name", json!({ "name": "network" })),
        meta(NETWORK, Some(0), "thread_name", json!({ "name": "partitions and faults" })),
    ];
    for node in 0..timeline.nodes {
        let tid = Some(u64::from(node));
        events.push(meta(NODES, tid, "thread_name", json!({ "name": format!("n{node}") })));
        events.push(meta(NODES, tid, "thread_sort_index", json!({ "sort_index": node })));
    }
    for client in 0..timeline.clients {
        let name = json!({ "name": format!("client {client}") });
        events.push(meta(CLIENTS, Some(client), "thread_name", name));
        events.push(meta(
            CLIENTS,
            Some(client),
            "thread_sort_index",
            json!({ "sort_index": client }),
        ));
    }
    handled(trace, timeline, &mut events);
    spans(timeline, &mut events);
    for op in &timeline.operations {
        events.push(json!({
            "ph": "X", "pid": CLIENTS, "tid": op.client, "cat": "operation",
            "name": op.label, "ts": us(op.start), "dur": us(op.end) - us(op.start),
            "args": {
                "process": op.process, "outcome": op.outcome, "result": op.result,
                "node": op.node,
            },
        }));
    }
    let file = json!({ "displayTimeUnit": "ms", "traceEvents": events });
    let mut text = file.to_string();
    text.push('\n');
    text
}

/// Every handled event as a slice on its node, sends as flow starts, deliveries as flow
/// ends (one flow per delivery: a duplicated message has two), drops as instants.
fn handled(trace: &[TraceEvent], timeline: &Timeline, events: &mut Vec<Value>) {
    let flow = |message: u64, copy: usize| message * 2 + copy as u64;
    // Deliveries of each message so far: a duplicate's copies may arrive at one instant.
    let mut copies: BTreeMap<u64, usize> = BTreeMap::new();
    for e in trace {
        let Some(node) = e.node else { continue };
        let (tid, ts) = (node.0, us(e.time));
        let slice = |name: String, args: Value| {
            json!({
                "ph": "X", "pid": NODES, "tid": tid, "ts": ts, "dur": HANDLER_US,
                "name": name, "args": args,
            })
        };
        let line = crate::trace::line(e);
        match &e.kind {
            TraceKind::Send { message, .. } => {
                let m = &timeline.messages[message.0 as usize];
                for copy in 0..m.delivered.len() {
                    events.push(json!({
                        "ph": "s", "pid": NODES, "tid": tid, "ts": ts, "cat": "message",
                        "name": m.msg_type, "id": flow(message.0, copy),
                    }));
                }
                if m.dropped.is_some() && m.delivered.is_empty() && m.dropped == Some(e.time) {
                    events.push(json!({
                        "ph": "i", "s": "t", "pid": NODES, "tid": tid, "ts": ts,
                        "name": format!("{} to n{} {}", m.msg_type, m.to, m.fate_text()),
                        "args": line,
                    }));
                }
            }
            TraceKind::Deliver { message, msg_type, .. } => {
                let m = &timeline.messages[message.0 as usize];
                let copy = copies.entry(message.0).or_insert(0);
                *copy += 1;
                let copy = *copy - 1;
                let args = json!({ "message": m.msg, "from": m.from, "id": message.0 });
                events.push(slice(msg_type.clone(), args));
                events.push(json!({
                    "ph": "f", "bp": "e", "pid": NODES, "tid": tid, "ts": ts, "cat": "message",
                    "name": msg_type, "id": flow(message.0, copy),
                }));
            }
            TraceKind::Drop { message, reason, .. } => {
                let m = &timeline.messages[message.0 as usize];
                events.push(json!({
                    "ph": "i", "s": "t", "pid": NODES, "tid": tid, "ts": ts,
                    "name": format!("{} from n{} dropped ({})", m.msg_type, m.from,
                        crate::trace::reason_name(*reason)),
                    "args": line,
                }));
            }
            TraceKind::Start { restart } => {
                events.push(slice((if *restart { "restart" } else { "start" }).into(), line));
            }
            TraceKind::Timer { what, .. } => {
                let kind = what.split([' ', '{', '(']).next().unwrap_or("");
                events.push(slice(format!("timer {kind}"), line));
            }
            TraceKind::Request { .. } => events.push(slice("request".into(), line)),
            TraceKind::Reply { outcome, .. } => {
                events.push(slice(format!("reply {outcome}"), line));
            }
            _ => {}
        }
    }
}

fn spans(timeline: &Timeline, events: &mut Vec<Value>) {
    for span in &timeline.spans {
        let (pid, tid, name) = match (&span.kind, span.node) {
            (SpanKind::Crashed, Some(node)) => (NODES, node, "crashed".to_owned()),
            (SpanKind::Paused, Some(node)) => (NODES, node, "paused".to_owned()),
            (SpanKind::Partition { text }, _) => (NETWORK, 0, format!("partition {text}")),
            _ => continue,
        };
        events.push(json!({
            "ph": "X", "pid": pid, "tid": tid, "cat": "fault", "name": name,
            "ts": us(span.start), "dur": us(span.end) - us(span.start),
        }));
    }
    for mark in &timeline.marks {
        let (pid, tid) = match mark.node {
            Some(node) => (NODES, node),
            None => (NETWORK, 0),
        };
        events.push(json!({
            "ph": "i", "s": "t", "pid": pid, "tid": tid, "ts": us(mark.time),
            "cat": "fault", "name": mark.text,
        }));
    }
}
