//! Traces as JSON lines, one event per line; the fields are documented in
//! `docs/trace-format.md`.

use crate::debug_json::to_json;
use serde_json::{Map, Value, json};
use sim_core::faults::{FaultAction, Partition};
use sim_core::network::DropReason;
use sim_core::node::NodeId;
use sim_core::trace::{Fate, TraceEvent, TraceKind};

/// One JSON object per line, in event order.
pub fn render(events: &[TraceEvent]) -> String {
    let mut out = String::new();
    for e in events {
        out.push_str(&line(e).to_string());
        out.push('\n');
    }
    out
}

/// The JSON object of one event.
pub fn line(e: &TraceEvent) -> Value {
    let mut line = Map::new();
    line.insert("index".into(), e.index.into());
    line.insert("time_ns".into(), e.time.as_nanos().into());
    line.insert("kind".into(), e.kind.name().into());
    line.insert("node".into(), e.node.map(|n| n.0).into());
    if let Value::Object(fields) = fields(&e.kind) {
        line.extend(fields);
    }
    if !e.annotations.is_empty() {
        line.insert("annotations".into(), e.annotations.clone().into());
    }
    if let Some(d) = e.disk {
        let counts = [
            ("writes", d.writes),
            ("bytes_written", d.bytes_written),
            ("syncs", d.syncs),
            ("reads", d.reads),
            ("corrupted_reads", d.corrupted_reads),
            ("lost_writes", d.lost_writes),
            ("torn_writes", d.torn_writes),
        ];
        let disk: Map<String, Value> = counts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| ((*k).into(), (*n).into()))
            .collect();
        line.insert("disk".into(), Value::Object(disk));
    }
    Value::Object(line)
}

pub fn reason_name(reason: DropReason) -> &'static str {
    match reason {
        DropReason::Loss => "loss",
        DropReason::Partition => "partition",
        DropReason::NodeDown => "node_down",
    }
}

/// `delivered`, `duplicated`, `dropped`, `held` or `in_flight`.
pub fn fate_name(fate: Fate) -> &'static str {
    match fate {
        Fate::Delivered { copies: 1 } => "delivered",
        Fate::Delivered { .. } => "duplicated",
        Fate::Dropped { .. } => "dropped",
        Fate::Held => "held",
        Fate::InFlight => "in_flight",
    }
}

fn fields(kind: &TraceKind) -> Value {
    match kind {
        TraceKind::Start { .. } => json!({}),
        TraceKind::Send { to, message, msg, fate, arrives, duplicate_arrives } => {
            let mut send = json!({
                "to": to.0, "message": message.0, "msg": to_json(msg), "fate": fate_name(*fate),
            });
            if let Fate::Dropped { reason, at_send } = fate {
                send["reason"] = reason_name(*reason).into();
                send["dropped_at"] = (if *at_send { "send" } else { "arrival" }).into();
            }
            if let Some(at) = arrives {
                send["arrives_ns"] = at.as_nanos().into();
            }
            if let Some(at) = duplicate_arrives {
                send["duplicate_arrives_ns"] = at.as_nanos().into();
            }
            send
        }
        TraceKind::Deliver { from, message, msg_type } => {
            json!({ "from": from.0, "message": message.0, "msg_type": msg_type })
        }
        TraceKind::Drop { from, message, reason } => {
            json!({ "from": from.0, "message": message.0, "reason": reason_name(*reason) })
        }
        TraceKind::Hold { from, message } => json!({ "from": from.0, "message": message.0 }),
        TraceKind::TimerSet { timer, delay, what } => {
            json!({ "timer": timer, "delay_ns": delay.as_nanos(), "timer_kind": to_json(what) })
        }
        TraceKind::Timer { timer, what } => json!({ "timer": timer, "timer_kind": to_json(what) }),
        TraceKind::TimerCancel { timer, due, what } => {
            json!({ "timer": timer, "due_ns": due.as_nanos(), "timer_kind": to_json(what) })
        }
        TraceKind::Request { client, request, process, op } => {
            json!({ "client": client.0, "request": request, "process": process, "op": to_json(op) })
        }
        TraceKind::Reply { client, request, process, outcome, reply } => json!({
            "client": client.0, "request": request, "process": process,
            "outcome": outcome, "reply": to_json(reply),
        }),
        TraceKind::Client { client, wake } => json!({ "client": client.0, "wake": to_json(wake) }),
        TraceKind::Fault(action) => json!({ "fault": fault_json(action) }),
    }
}

fn ids(nodes: &[NodeId]) -> Vec<u32> {
    nodes.iter().map(|n| n.0).collect()
}

/// A fault as structured JSON: what it is (`type`), on which node, which groups or which
/// links.
pub fn fault_json(action: &FaultAction) -> Value {
    match action {
        FaultAction::Crash(node) => json!({ "type": "crash", "node": node.0 }),
        FaultAction::CrashOn { node, event } => {
            json!({ "type": "crash", "node": node.0, "on": event.name() })
        }
        FaultAction::Restart(node) => json!({ "type": "restart", "node": node.0 }),
        FaultAction::Pause { node, duration } => {
            json!({ "type": "pause", "node": node.0, "duration_ns": duration.as_nanos() })
        }
        FaultAction::Partition(p) => {
            let mut partition = json!({ "type": "partition", "partition": p.name() });
            match p {
                Partition::Isolate(node) | Partition::MuteOne(node) => {
                    partition["node"] = node.map(|n| n.0).into();
                }
                Partition::Bridge(sides) => {
                    let sides = sides.as_ref().map(|(a, b)| vec![ids(a), ids(b)]);
                    partition["groups"] = sides.into();
                }
                Partition::Ring(order) => partition["ring"] = order.as_deref().map(ids).into(),
                Partition::Groups(groups) => {
                    partition["groups"] = groups.iter().map(|g| ids(g)).collect::<Vec<_>>().into();
                }
                Partition::OneWay { from, to } => {
                    partition["from"] = ids(from).into();
                    partition["to"] = ids(to).into();
                }
                Partition::Halves | Partition::IsolateLeader | Partition::LeaderMinority => {}
            }
            partition
        }
        FaultAction::Heal => json!({ "type": "heal" }),
        FaultAction::Hold { from, to } => json!({ "type": "hold", "from": from.0, "to": to.0 }),
        FaultAction::Release { from, to } => {
            json!({ "type": "release", "from": from.0, "to": to.0 })
        }
        FaultAction::ClockJump { node, delta_nanos } => {
            json!({ "type": "clock_jump", "node": node.0, "delta_ns": delta_nanos })
        }
        FaultAction::ClockDrift { node, drift_ppb } => {
            json!({ "type": "clock_drift", "node": node.0, "drift_ppb": drift_ppb })
        }
        FaultAction::DiskFaults { node, torn_write_ppm, corrupt_read_ppm } => json!({
            "type": "disk_faults", "node": node.0,
            "torn_write_ppm": torn_write_ppm, "corrupt_read_ppm": corrupt_read_ppm,
        }),
        FaultAction::HealAll => json!({ "type": "heal_all" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::SimTime;
    use sim_core::disk::DiskStats;
    use sim_core::engine::MessageId;

    fn event(kind: TraceKind) -> TraceEvent {
        TraceEvent {
            index: 3,
            time: SimTime(1500),
            node: Some(NodeId(1)),
            kind,
            annotations: vec!["became leader of term 4".into()],
            disk: None,
        }
    }

    #[test]
    fn one_object_per_line() {
        let send = event(TraceKind::Send {
            to: NodeId(2),
            message: MessageId(7),
            msg: "Ping { round: 2 }".into(),
            fate: Fate::Dropped { reason: DropReason::Partition, at_send: false },
            arrives: Some(SimTime(2500)),
            duplicate_arrives: None,
        });
        assert_eq!(
            render(&[send]),
            "{\"index\":3,\"time_ns\":1500,\"kind\":\"send\",\"node\":1,\"to\":2,\"message\":7,\"msg\":{\"type\":\"Ping\",\"round\":2},\"fate\":\"dropped\",\"reason\":\"partition\",\"dropped_at\":\"arrival\",\"arrives_ns\":2500,\"annotations\":[\"became leader of term 4\"]}\n"
        );
    }

    #[test]
    fn faults_and_disk_changes_are_structured() {
        let groups = Partition::Groups(vec![vec![NodeId(0), NodeId(3)], vec![NodeId(1)]]);
        let mut crash = event(TraceKind::Fault(FaultAction::Partition(groups)));
        crash.disk = Some(DiskStats { lost_writes: 2, ..DiskStats::default() });
        let line = line(&crash);
        assert_eq!(
            line["fault"].to_string(),
            r#"{"type":"partition","partition":"groups","groups":[[0,3],[1]]}"#
        );
        assert_eq!(line["disk"]["lost_writes"], 2);
    }
}
