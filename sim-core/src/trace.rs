//! An observer that records every event of a run, for `dsim replay --trace`. It exists
//! only when asked for: an untraced run is monomorphized without it and pays nothing.

use crate::engine::{EventView, Nodes, Observer, Violation};
use crate::network::DropReason;
use crate::node::{Node, NodeId};
use crate::queue::Position;
use crate::time::SimTime;

/// One line of a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    /// Position in the run's event sequence (drops share the index of the event that
    /// caused them).
    pub index: u64,
    pub time: SimTime,
    /// start, restart, deliver, drop, timer, request, reply, client, fault.
    pub kind: &'static str,
    /// The node that handled the event (for deliver and drop: the receiver).
    pub node: Option<NodeId>,
    /// The sender of a message, or the client of a request or reply.
    pub peer: Option<u32>,
    /// The message, timer, operation or fault, as the protocol's `Debug` prints it.
    pub summary: String,
    /// What the node's handler noted with `ctx.annotate`.
    pub annotations: Vec<String>,
}

/// Collects [`TraceEvent`]s in memory.
#[derive(Clone, Debug, Default)]
pub struct TraceRecorder {
    pub events: Vec<TraceEvent>,
    last_index: u64,
    /// Where the last handled event sits in `events` (drops may follow it).
    last_slot: usize,
}

impl<N: Node> Observer<N> for TraceRecorder {
    fn wants_annotations(&self) -> bool {
        true
    }

    fn on_event(&mut self, position: Position, index: u64, event: &EventView<'_, N>) {
        self.last_index = index;
        self.last_slot = self.events.len();
        let (kind, node, peer, summary) = match event {
            EventView::Start { node, restart } => {
                (if *restart { "restart" } else { "start" }, Some(*node), None, String::new())
            }
            EventView::Deliver { from, to, msg } => {
                ("deliver", Some(*to), Some(from.0), format!("{msg:?}"))
            }
            EventView::Timer { node, timer } => ("timer", Some(*node), None, format!("{timer:?}")),
            EventView::Request { node, request } => {
                ("request", Some(*node), Some(request.id.client.0), format!("{:?}", request.op))
            }
            EventView::Reply { client, from, request, reply } => (
                "reply",
                Some(*from),
                Some(client.0),
                format!("{reply:?} to request {}", request.seq),
            ),
            EventView::ClientWake { client, wake } => {
                ("client", None, Some(client.0), format!("{wake:?}"))
            }
            EventView::Fault(action) => ("fault", None, None, format!("{action:?}")),
        };
        self.events.push(TraceEvent {
            index,
            time: position.time,
            kind,
            node,
            peer,
            summary,
            annotations: Vec::new(),
        });
    }

    fn on_drop(&mut self, time: SimTime, from: NodeId, to: NodeId, msg: &N::Msg, r: DropReason) {
        self.events.push(TraceEvent {
            index: self.last_index,
            time,
            kind: "drop",
            node: Some(to),
            peer: Some(from.0),
            summary: format!("{msg:?} ({r:?})"),
            annotations: Vec::new(),
        });
    }

    fn after_node(
        &mut self,
        _time: SimTime,
        _node: NodeId,
        _nodes: &Nodes<'_, N>,
        annotations: &[String],
    ) -> Result<(), Violation> {
        if let Some(handled) = self.events.get_mut(self.last_slot) {
            handled.annotations.extend_from_slice(annotations);
        }
        Ok(())
    }
}
