//! What may watch a run: the `Observer` hooks (traces, online invariants, tests), the
//! borrowed view of each event they get, read access to every node's state, and the
//! violation an observer reports.

use super::NodeSlot;
use crate::client::Wake;
use crate::faults::FaultAction;
use crate::network::DropReason;
use crate::node::{ClientId, Node, NodeId, ReplyOf, RequestId, RequestOf};
use crate::queue::Position;
use crate::time::SimTime;
use std::fmt;

/// A broken safety property, found online.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The property's name, e.g. "election_safety".
    pub invariant: String,
    pub message: String,
    pub time: SimTime,
    pub node: Option<NodeId>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} violated at {}", self.invariant, self.time)?;
        if let Some(node) = self.node {
            write!(f, " on {node}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A borrowed view of an event as it is handled, for observers (traces, invariants).
#[derive(Debug)]
pub enum EventView<'a, N: Node> {
    /// A node starts (at time zero) or restarts after a crash.
    Start {
        node: NodeId,
        restart: bool,
    },
    Deliver {
        from: NodeId,
        to: NodeId,
        msg: &'a N::Msg,
    },
    Timer {
        node: NodeId,
        timer: &'a N::Timer,
    },
    Request {
        node: NodeId,
        request: &'a RequestOf<N>,
    },
    Reply {
        client: ClientId,
        from: NodeId,
        request: RequestId,
        reply: &'a ReplyOf<N>,
    },
    ClientWake {
        client: ClientId,
        wake: Wake,
    },
    Fault(&'a FaultAction),
}

/// Read access to every node's state, for cross-node invariants.
pub struct Nodes<'a, N> {
    pub(super) slots: &'a [NodeSlot<N>],
}

impl<'a, N> Nodes<'a, N> {
    /// The node's state, or `None` while it is crashed.
    pub fn get(&self, id: NodeId) -> Option<&'a N> {
        self.slots.get(id.0 as usize).and_then(|s| s.state.as_ref())
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Every node in id order, `None` for a crashed one.
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, Option<&'a N>)> + 'a {
        self.slots.iter().enumerate().map(|(i, s)| (NodeId(i as u32), s.state.as_ref()))
    }
}

/// Watches a run: traces, online invariant checks, tests. Every method has a no-op
/// default, and the engine skips all calls when `ENABLED` is false, so an unobserved run
/// pays nothing.
pub trait Observer<N: Node> {
    const ENABLED: bool = true;

    /// Whether protocol annotations should be collected (each costs a `String`).
    fn wants_annotations(&self) -> bool {
        false
    }

    /// An event about to be handled: every delivered message, fired timer, handled
    /// request, client event and fault.
    fn on_event(&mut self, _position: Position, _index: u64, _event: &EventView<'_, N>) {}

    /// A message the network dropped, at send or at delivery time.
    fn on_drop(
        &mut self,
        _time: SimTime,
        _from: NodeId,
        _to: NodeId,
        _msg: &N::Msg,
        _reason: DropReason,
    ) {
    }

    /// After `node` handled an event, started, or crashed; `annotations` are what its
    /// handler noted. An `Err` stops the run with a safety violation.
    fn after_node(
        &mut self,
        _time: SimTime,
        _node: NodeId,
        _nodes: &Nodes<'_, N>,
        _annotations: &[String],
    ) -> Result<(), Violation> {
        Ok(())
    }
}

/// The observer of an unobserved run.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoObserver;

impl<N: Node> Observer<N> for NoObserver {
    const ENABLED: bool = false;
}

impl<N: Node, A: Observer<N>, B: Observer<N>> Observer<N> for (A, B) {
    const ENABLED: bool = A::ENABLED || B::ENABLED;

    fn wants_annotations(&self) -> bool {
        self.0.wants_annotations() || self.1.wants_annotations()
    }

    fn on_event(&mut self, position: Position, index: u64, event: &EventView<'_, N>) {
        self.0.on_event(position, index, event);
        self.1.on_event(position, index, event);
    }

    fn on_drop(&mut self, time: SimTime, from: NodeId, to: NodeId, msg: &N::Msg, r: DropReason) {
        self.0.on_drop(time, from, to, msg, r);
        self.1.on_drop(time, from, to, msg, r);
    }

    fn after_node(
        &mut self,
        time: SimTime,
        node: NodeId,
        nodes: &Nodes<'_, N>,
        annotations: &[String],
    ) -> Result<(), Violation> {
        self.0.after_node(time, node, nodes, annotations)?;
        self.1.after_node(time, node, nodes, annotations)
    }
}

/// An observer that may be absent (e.g. invariants a scenario turned off).
impl<N: Node, O: Observer<N>> Observer<N> for Option<O> {
    const ENABLED: bool = O::ENABLED;

    fn wants_annotations(&self) -> bool {
        self.as_ref().is_some_and(O::wants_annotations)
    }

    fn on_event(&mut self, position: Position, index: u64, event: &EventView<'_, N>) {
        if let Some(o) = self {
            o.on_event(position, index, event);
        }
    }

    fn on_drop(&mut self, time: SimTime, from: NodeId, to: NodeId, msg: &N::Msg, r: DropReason) {
        if let Some(o) = self {
            o.on_drop(time, from, to, msg, r);
        }
    }

    fn after_node(
        &mut self,
        time: SimTime,
        node: NodeId,
        nodes: &Nodes<'_, N>,
        annotations: &[String],
    ) -> Result<(), Violation> {
        match self {
            Some(o) => o.after_node(time, node, nodes, annotations),
            None => Ok(()),
        }
    }
}

/// Records every fault as it fires, with its random choices made (a partition's sides, a
/// leader's id): the nemesis's faults and the scheduled ones alike, in firing order. Its
/// list, given back as fixed `[[faults]]` with the nemesis off, is the run's fault
/// schedule made explicit.
#[derive(Clone, Debug, Default)]
pub struct FaultLog {
    pub fired: Vec<(SimTime, FaultAction)>,
}

impl<N: Node> Observer<N> for FaultLog {
    fn on_event(&mut self, position: Position, _index: u64, event: &EventView<'_, N>) {
        if let EventView::Fault(action) = event {
            self.fired.push((position.time, (*action).clone()));
        }
    }
}
