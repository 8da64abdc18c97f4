//! What may watch a run: the `Observer` hooks (traces, online invariants, tests), the
//! borrowed view of each event they get, read access to every node's state, and the
//! violation an observer reports.

use super::NodeSlot;
use crate::client::Wake;
use crate::disk::Disk;
use crate::faults::FaultAction;
use crate::network::DropReason;
use crate::node::{ClientId, Node, NodeId, ReplyOf, RequestId, RequestOf, TimerId};
use crate::queue::Position;
use crate::time::{SimDuration, SimTime};
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

/// Numbers a message from its send, in send order from 0; a duplicate the network makes
/// shares its original's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub u64);

/// One message on one link, as observers are told of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hop {
    pub from: NodeId,
    pub to: NodeId,
    pub id: MessageId,
    /// The index of the event whose handling sent the message (for a send, and a drop at
    /// the send), or of its delivery (for a drop or hold on arrival).
    pub index: u64,
}

/// What the network did with a message when it was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendFate {
    /// Lost on the way, or cut by a partition in force at the send.
    Dropped(DropReason),
    /// On its way, due at `arrives` (and a duplicate at `duplicate_arrives`); it may still
    /// be dropped or held when it arrives.
    InFlight { arrives: SimTime, duplicate_arrives: Option<SimTime> },
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
        /// The send this delivery comes from ([`Observer::on_send`]).
        id: MessageId,
        msg: &'a N::Msg,
    },
    Timer {
        node: NodeId,
        /// The timer as [`Observer::on_timer_set`] saw it set.
        id: TimerId,
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

    /// The node's disk (it outlives crashes).
    pub fn disk(&self, id: NodeId) -> &'a Disk {
        &self.slots[id.0 as usize].disk
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

    /// Whether protocol annotations should be collected (each costs a `String`), and
    /// timer cancellations told ([`Observer::on_timer_cancel`]): what a trace wants.
    fn wants_annotations(&self) -> bool {
        false
    }

    /// An event about to be handled: every delivered message, fired timer, handled
    /// request, client event and fault.
    fn on_event(&mut self, _position: Position, _index: u64, _event: &EventView<'_, N>) {}

    /// A message sent, with what the network did with it.
    fn on_send(&mut self, _time: SimTime, _hop: Hop, _msg: &N::Msg, _fate: SendFate) {}

    /// A message the network dropped, at send (right after [`Observer::on_send`]) or at
    /// delivery time (its link cut, or its receiver down).
    fn on_drop(&mut self, _time: SimTime, _hop: Hop, _msg: &N::Msg, _reason: DropReason) {}

    /// A message that arrived on a held link and waits for its release.
    fn on_hold(&mut self, _time: SimTime, _hop: Hop) {}

    /// A timer set by `node`'s handler, to fire after `delay` on global time.
    fn on_timer_set(
        &mut self,
        _time: SimTime,
        _node: NodeId,
        _id: TimerId,
        _delay: SimDuration,
        _timer: &N::Timer,
    ) {
    }

    /// A pending timer cancelled by `node`'s handler, before it fired (told only to an
    /// observer that [wants annotations](Observer::wants_annotations)).
    fn on_timer_cancel(&mut self, _time: SimTime, _node: NodeId, _id: TimerId) {}

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

    fn on_send(&mut self, time: SimTime, hop: Hop, msg: &N::Msg, fate: SendFate) {
        self.0.on_send(time, hop, msg, fate);
        self.1.on_send(time, hop, msg, fate);
    }

    fn on_drop(&mut self, time: SimTime, hop: Hop, msg: &N::Msg, reason: DropReason) {
        self.0.on_drop(time, hop, msg, reason);
        self.1.on_drop(time, hop, msg, reason);
    }

    fn on_hold(&mut self, time: SimTime, hop: Hop) {
        self.0.on_hold(time, hop);
        self.1.on_hold(time, hop);
    }

    fn on_timer_set(&mut self, t: SimTime, n: NodeId, id: TimerId, d: SimDuration, x: &N::Timer) {
        self.0.on_timer_set(t, n, id, d, x);
        self.1.on_timer_set(t, n, id, d, x);
    }

    fn on_timer_cancel(&mut self, time: SimTime, node: NodeId, id: TimerId) {
        self.0.on_timer_cancel(time, node, id);
        self.1.on_timer_cancel(time, node, id);
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

    fn on_send(&mut self, time: SimTime, hop: Hop, msg: &N::Msg, fate: SendFate) {
        if let Some(o) = self {
            o.on_send(time, hop, msg, fate);
        }
    }

    fn on_drop(&mut self, time: SimTime, hop: Hop, msg: &N::Msg, reason: DropReason) {
        if let Some(o) = self {
            o.on_drop(time, hop, msg, reason);
        }
    }

    fn on_hold(&mut self, time: SimTime, hop: Hop) {
        if let Some(o) = self {
            o.on_hold(time, hop);
        }
    }

    fn on_timer_set(&mut self, t: SimTime, n: NodeId, id: TimerId, d: SimDuration, x: &N::Timer) {
        if let Some(o) = self {
            o.on_timer_set(t, n, id, d, x);
        }
    }

    fn on_timer_cancel(&mut self, time: SimTime, node: NodeId, id: TimerId) {
        if let Some(o) = self {
            o.on_timer_cancel(time, node, id);
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
