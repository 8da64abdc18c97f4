//! Traces as JSON lines, one event per line; the fields are documented in
//! `docs/trace-format.md`.

use serde_json::json;
use sim_core::trace::TraceEvent;

/// One JSON object per line, in event order.
pub fn render(events: &[TraceEvent]) -> String {
    let mut out = String::new();
    for e in events {
        let line = json!({
            "index": e.index,
            "time_ns": e.time.as_nanos(),
            "kind": e.kind,
            "node": e.node.map(|n| n.0),
            "peer": e.peer,
            "summary": e.summary,
            "annotations": e.annotations,
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::SimTime;
    use sim_core::node::NodeId;

    #[test]
    fn one_object_per_line() {
        let event = TraceEvent {
            index: 3,
            time: SimTime(1500),
            kind: "deliver",
            node: Some(NodeId(1)),
            peer: Some(0),
            summary: "Ping".into(),
            annotations: vec!["became leader of term 4".into()],
        };
        assert_eq!(
            render(&[event]),
            "{\"index\":3,\"time_ns\":1500,\"kind\":\"deliver\",\"node\":1,\"peer\":0,\"summary\":\"Ping\",\"annotations\":[\"became leader of term 4\"]}\n"
        );
    }
}
