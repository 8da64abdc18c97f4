//! An observer that records every event of a run, for `--trace`, `--perfetto`, `--svg`
//! and `--report`. It exists only when asked for: an untraced run is monomorphized without
//! it and pays nothing.
//!
//! Every send gets a message id and, once the run is over, its fate; every delivery and
//! drop names the send it comes from; every timer is numbered when set, and its firing
//! names that number, as does its cancellation; requests and replies carry the client, the request and the
//! history's process id. Payloads are kept as the protocol's `Debug` text, which
//! `reports::trace` turns into JSON.

use crate::disk::DiskStats;
use crate::engine::{EventView, Hop, MessageId, Nodes, Observer, SendFate, Violation};
use crate::faults::FaultAction;
use crate::network::DropReason;
use crate::node::{ClientId, Node, NodeId, Reply, TimerId};
use crate::queue::Position;
use crate::time::{SimDuration, SimTime};
use std::collections::BTreeMap;

/// What became of a message, known once the run is over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Handled by its receiver (`copies` is 2 when the network duplicated it and both
    /// copies arrived).
    Delivered { copies: u32 },
    /// Lost, cut or sent to a crashed node; `at_send` when the network dropped it at once.
    Dropped { reason: DropReason, at_send: bool },
    /// Waiting on a held link when the run ended.
    Held,
    /// Still on its way when the run ended.
    InFlight,
}

/// What happened, with the fields of its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceKind {
    /// A node's first start, or its restart after a crash (from what its disk kept).
    Start { restart: bool },
    /// A message sent by the event's node.
    Send {
        to: NodeId,
        message: MessageId,
        /// The message, as the protocol's `Debug` prints it.
        msg: String,
        fate: Fate,
        /// When it was due at its receiver, and its duplicate's, if the network made one.
        arrives: Option<SimTime>,
        duplicate_arrives: Option<SimTime>,
    },
    /// A message handled by the event's node.
    Deliver { from: NodeId, message: MessageId, msg_type: String },
    /// A message that arrived and was not handled: its link cut, or the node down.
    Drop { from: NodeId, message: MessageId, reason: DropReason },
    /// A message that arrived on a held link (delivered when the link is released).
    Hold { from: NodeId, message: MessageId },
    /// A timer set by the event's node; `timer` numbers it in this trace.
    TimerSet { timer: u64, delay: SimDuration, what: String },
    /// A timer fired.
    Timer { timer: u64, what: String },
    /// A pending timer cancelled by the event's node; it never fires. `due` is when it
    /// would have fired (global time).
    TimerCancel { timer: u64, due: SimTime, what: String },
    /// A client request handled by the event's node.
    Request { client: ClientId, request: u64, process: u64, op: String },
    /// A node's reply reaching its client (the event's node is the replier).
    Reply { client: ClientId, request: u64, process: u64, outcome: &'static str, reply: String },
    /// A client woke: its next operation, a re-send, or its deadline.
    Client { client: ClientId, wake: String },
    /// A fault injected, its random choices made.
    Fault(FaultAction),
}

impl TraceKind {
    /// The `kind` field of the JSON line.
    pub fn name(&self) -> &'static str {
        match self {
            TraceKind::Start { restart: false } => "start",
            TraceKind::Start { restart: true } => "restart",
            TraceKind::Send { .. } => "send",
            TraceKind::Deliver { .. } => "deliver",
            TraceKind::Drop { .. } => "drop",
            TraceKind::Hold { .. } => "hold",
            TraceKind::TimerSet { .. } => "timer_set",
            TraceKind::Timer { .. } => "timer",
            TraceKind::TimerCancel { .. } => "timer_cancel",
            TraceKind::Request { .. } => "request",
            TraceKind::Reply { .. } => "reply",
            TraceKind::Client { .. } => "client",
            TraceKind::Fault(_) => "fault",
        }
    }
}

/// What a handler, a crash or a restart did to the node's disk: the change of its
/// counters, if any.
fn disk_change(before: &DiskStats, after: &DiskStats) -> Option<DiskStats> {
    let change = DiskStats {
        writes: after.writes - before.writes,
        bytes_written: after.bytes_written - before.bytes_written,
        syncs: after.syncs - before.syncs,
        reads: after.reads - before.reads,
        corrupted_reads: after.corrupted_reads - before.corrupted_reads,
        lost_writes: after.lost_writes - before.lost_writes,
        torn_writes: after.torn_writes - before.torn_writes,
    };
    (change != DiskStats::default()).then_some(change)
}

/// One line of a trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    /// Position in the run's event sequence. Sends, timers set, drops at the send and
    /// holds share the index of the event whose handling caused them.
    pub index: u64,
    pub time: SimTime,
    /// The node the event happened on (for a send the sender, for a delivery, drop or
    /// hold the receiver, for a reply the replier); `None` for client wake-ups and
    /// faults.
    pub node: Option<NodeId>,
    pub kind: TraceKind,
    /// What the node's handler noted with `ctx.annotate`.
    pub annotations: Vec<String>,
    /// What the handling did to the node's disk: the change of its counters (writes,
    /// syncs, recovery reads, and for a crash the writes lost).
    pub disk: Option<DiskStats>,
}

/// Collects [`TraceEvent`]s in memory.
#[derive(Clone, Debug, Default)]
pub struct TraceRecorder {
    events: Vec<TraceEvent>,
    last_index: u64,
    /// Where the last handled event sits in `events` (sends and drops may follow it).
    last_slot: usize,
    /// Where each message's send sits in `events`, by message id.
    sends: Vec<usize>,
    /// Timers armed, by node and engine id: their number in this trace, when they are
    /// due, and what they are (for a cancellation's line).
    timers: BTreeMap<(NodeId, TimerId), ArmedTimer>,
    timers_set: u64,
    clients: ClientProcesses,
    disks: Vec<DiskStats>,
}

#[derive(Clone, Debug)]
struct ArmedTimer {
    number: u64,
    due: SimTime,
    what: String,
}

/// The history's process ids, followed from the trace alone: a client's process moves on
/// by the number of clients each time an operation of it ends indeterminate (`info`, its
/// deadline passing before any answer), as in Jepsen.
#[derive(Clone, Debug, Default)]
struct ClientProcesses {
    count: u64,
    /// Per client: the last request that ended, and the requests that ended `info`.
    ended: Vec<(u64, Vec<u64>)>,
}

impl ClientProcesses {
    fn state(&mut self, client: ClientId) -> &mut (u64, Vec<u64>) {
        let i = client.0 as usize;
        if self.ended.len() <= i {
            self.ended.resize(i + 1, (0, Vec::new()));
        }
        &mut self.ended[i]
    }

    fn process(&mut self, client: ClientId, request: u64) -> u64 {
        let count = self.count;
        let infos = self.state(client).1.iter().filter(|&&seq| seq < request).count();
        u64::from(client.0) + count * infos as u64
    }

    /// The client's request `request` ended (`info` when by its deadline), unless an
    /// earlier answer had ended it already.
    fn end(&mut self, client: ClientId, request: u64, info: bool) {
        let state = self.state(client);
        if request > state.0 {
            state.0 = request;
            if info {
                state.1.push(request);
            }
        }
    }
}

impl TraceRecorder {
    /// A recorder for a run with `clients` clients (their count numbers the processes).
    pub fn new(clients: u32) -> Self {
        TraceRecorder {
            clients: ClientProcesses { count: u64::from(clients), ended: Vec::new() },
            ..TraceRecorder::default()
        }
    }

    /// The trace, in event order.
    pub fn events(&self) -> &[TraceEvent] {
        &self.events
    }

    pub fn into_events(self) -> Vec<TraceEvent> {
        self.events
    }

    fn push(&mut self, time: SimTime, node: Option<NodeId>, kind: TraceKind) {
        self.events.push(TraceEvent {
            index: self.last_index,
            time,
            node,
            kind,
            annotations: Vec::new(),
            disk: None,
        });
    }

    fn fate_of(&mut self, message: MessageId) -> Option<&mut Fate> {
        let slot = *self.sends.get(message.0 as usize)?;
        match &mut self.events[slot].kind {
            TraceKind::Send { fate, .. } => Some(fate),
            _ => None,
        }
    }

    fn delivered(&mut self, message: MessageId) {
        if let Some(fate) = self.fate_of(message) {
            *fate = match *fate {
                Fate::Delivered { copies } => Fate::Delivered { copies: copies + 1 },
                _ => Fate::Delivered { copies: 1 },
            };
        }
    }
}

/// The name of a value's type or variant: its `Debug` text up to the first brace,
/// parenthesis or space.
fn type_name(debug: &str) -> String {
    debug.split(|c: char| c == '{' || c == '(' || c.is_whitespace()).next().unwrap_or("").into()
}

impl<N: Node> Observer<N> for TraceRecorder {
    fn wants_annotations(&self) -> bool {
        true
    }

    fn on_event(&mut self, position: Position, index: u64, event: &EventView<'_, N>) {
        self.last_index = index;
        self.last_slot = self.events.len();
        let (node, kind) = match event {
            EventView::Start { node, restart } => {
                (Some(*node), TraceKind::Start { restart: *restart })
            }
            EventView::Deliver { from, to, id, msg } => {
                self.delivered(*id);
                let msg_type = type_name(&format!("{msg:?}"));
                (Some(*to), TraceKind::Deliver { from: *from, message: *id, msg_type })
            }
            EventView::Timer { node, id, timer } => {
                let number = self.timers.remove(&(*node, *id)).map_or(u64::MAX, |t| t.number);
                (Some(*node), TraceKind::Timer { timer: number, what: format!("{timer:?}") })
            }
            EventView::Request { node, request } => {
                let (client, seq) = (request.id.client, request.id.seq);
                let process = self.clients.process(client, seq);
                let op = format!("{:?}", request.op);
                (Some(*node), TraceKind::Request { client, request: seq, process, op })
            }
            EventView::Reply { client, from, request, reply } => {
                let outcome = match reply {
                    Reply::Ok(_) => "ok",
                    Reply::Fail => "fail",
                    Reply::Redirect(_) => "redirect",
                };
                let process = self.clients.process(*client, request.seq);
                if outcome != "redirect" {
                    self.clients.end(*client, request.seq, false);
                }
                let reply = format!("{reply:?}");
                let kind = TraceKind::Reply {
                    client: *client,
                    request: request.seq,
                    process,
                    outcome,
                    reply,
                };
                (Some(*from), kind)
            }
            EventView::ClientWake { client, wake } => {
                if let crate::client::Wake::Deadline { seq } = wake {
                    self.clients.end(*client, *seq, true);
                }
                (None, TraceKind::Client { client: *client, wake: format!("{wake:?}") })
            }
            EventView::Fault(action) => (None, TraceKind::Fault((*action).clone())),
        };
        self.push(position.time, node, kind);
    }

    fn on_send(&mut self, time: SimTime, hop: Hop, msg: &N::Msg, fate: SendFate) {
        debug_assert_eq!(hop.id.0 as usize, self.sends.len(), "message ids are dense");
        self.last_index = hop.index;
        self.sends.push(self.events.len());
        let (fate, arrives, duplicate_arrives) = match fate {
            SendFate::Dropped(reason) => (Fate::Dropped { reason, at_send: true }, None, None),
            SendFate::InFlight { arrives, duplicate_arrives } => {
                (Fate::InFlight, Some(arrives), duplicate_arrives)
            }
        };
        let msg = format!("{msg:?}");
        let kind =
            TraceKind::Send { to: hop.to, message: hop.id, msg, fate, arrives, duplicate_arrives };
        self.push(time, Some(hop.from), kind);
    }

    fn on_drop(&mut self, time: SimTime, hop: Hop, _msg: &N::Msg, reason: DropReason) {
        let Some(fate) = self.fate_of(hop.id) else { return };
        if matches!(fate, Fate::Dropped { at_send: true, .. }) {
            return; // told by its send line
        }
        if !matches!(fate, Fate::Delivered { .. }) {
            *fate = Fate::Dropped { reason, at_send: false };
        }
        self.last_index = hop.index;
        self.push(time, Some(hop.to), TraceKind::Drop { from: hop.from, message: hop.id, reason });
    }

    fn on_hold(&mut self, time: SimTime, hop: Hop) {
        if let Some(fate) = self.fate_of(hop.id) {
            *fate = Fate::Held;
        }
        self.last_index = hop.index;
        self.push(time, Some(hop.to), TraceKind::Hold { from: hop.from, message: hop.id });
    }

    fn on_timer_set(
        &mut self,
        time: SimTime,
        node: NodeId,
        id: TimerId,
        delay: SimDuration,
        timer: &N::Timer,
    ) {
        let number = self.timers_set;
        self.timers_set += 1;
        let what = format!("{timer:?}");
        self.timers
            .insert((node, id), ArmedTimer { number, due: time + delay, what: what.clone() });
        let kind = TraceKind::TimerSet { timer: number, delay, what };
        self.push(time, Some(node), kind);
    }

    fn on_timer_cancel(&mut self, time: SimTime, node: NodeId, id: TimerId) {
        let Some(ArmedTimer { number, due, what }) = self.timers.remove(&(node, id)) else {
            return;
        };
        self.push(time, Some(node), TraceKind::TimerCancel { timer: number, due, what });
    }

    fn after_node(
        &mut self,
        _time: SimTime,
        node: NodeId,
        nodes: &Nodes<'_, N>,
        annotations: &[String],
    ) -> Result<(), Violation> {
        if self.disks.len() < nodes.len() {
            self.disks.resize(nodes.len(), DiskStats::default());
        }
        let stats = nodes.disk(node).stats();
        let change = disk_change(&self.disks[node.0 as usize], &stats);
        self.disks[node.0 as usize] = stats;
        if let Some(handled) = self.events.get_mut(self.last_slot) {
            handled.annotations.extend_from_slice(annotations);
            if change.is_some() {
                handled.disk = change;
            }
        }
        Ok(())
    }
}
