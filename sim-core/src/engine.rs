//! The discrete-event engine: one queue of events totally ordered by (time, sequence
//! number), executed one at a time on one thread, generic over the protocol so that no
//! event is boxed or dispatched dynamically. Every executed event is folded into a running
//! 64-bit trace hash; two runs of the same seed have the same hash, event for event.

use crate::client::{ClientAction, ClientOptions, ClientStats, Clients, ClientsFor, NoClients};
use crate::client::{Wake, WithClients};
use crate::clock::{Clock, ClockOptions};
use crate::disk::{Disk, DiskOptions};
use crate::faults::{FaultAction, FaultKind, FaultStats, NemesisKind, NemesisOptions, Partition};
use crate::hash::{StableHasher, mix64};
use crate::history::History;
use crate::network::{DropReason, LinkOptions, LinkStats, Network, Topology, Transit};
use crate::node::{ClientId, Context, Counters, Effect, Node, NodeId, OpOf, ReplyOf, RequestId};
use crate::node::{RequestOf, TimerId, TimerTable};
use crate::queue::{EventQueue, Position};
use crate::rng::{SimRng, Stream};
use crate::time::{SimDuration, SimTime};
use crate::workload::Workload;
use std::fmt;
use std::hash::{Hash, Hasher};

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
    slots: &'a [NodeSlot<N>],
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

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// No event left.
    Quiescent,
    TimeLimit,
    EventLimit,
    /// An observer reported a violation (see [`Simulation::violation`]).
    Violation,
}

/// Limits for [`Simulation::run`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunLimits {
    /// Run events up to and including this time.
    pub until: SimTime,
    pub max_events: u64,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits { until: SimTime::MAX, max_events: u64::MAX }
    }
}

/// Counters of engine activity. Message counts live in the network's link stats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub events: u64,
    pub timers_set: u64,
    pub timers_fired: u64,
    /// Timer events that found their timer cancelled or their node restarted.
    pub timers_stale: u64,
    pub requests_handled: u64,
    pub requests_lost: u64,
    pub replies: u64,
    /// Events that waited for a paused node.
    pub deferred: u64,
}

enum Event<N: Node> {
    Start(NodeId),
    Deliver {
        from: NodeId,
        to: NodeId,
        msg: N::Msg,
    },
    Timer {
        node: NodeId,
        incarnation: u32,
        id: TimerId,
        timer: N::Timer,
    },
    Request {
        node: NodeId,
        request: RequestOf<N>,
    },
    Reply {
        client: ClientId,
        from: NodeId,
        request: RequestId,
        reply: ReplyOf<N>,
    },
    ClientWake {
        client: ClientId,
        wake: Wake,
    },
    Fault(FaultAction),
    Nemesis(NemesisKind),
    /// The end of a node's pause: run the events that waited for it.
    Resume(NodeId),
}

impl<N: Node> Event<N> {
    /// The node an event is handled by, if any (events wait while it is paused).
    fn target(&self) -> Option<NodeId> {
        match *self {
            Event::Deliver { to, .. } => Some(to),
            Event::Timer { node, .. } | Event::Request { node, .. } => Some(node),
            _ => None,
        }
    }

    /// A canonical digest of the event at `position`, folded into the trace hash.
    fn digest(&self, position: Position) -> u64 {
        let mut h = StableHasher::new();
        position.time.hash(&mut h);
        match self {
            Event::Start(node) => (0u8, node).hash(&mut h),
            Event::Deliver { from, to, msg } => (1u8, from, to, msg).hash(&mut h),
            Event::Timer { node, incarnation, id, timer } => {
                (2u8, node, incarnation, id, timer).hash(&mut h)
            }
            Event::Request { node, request } => (3u8, node, request).hash(&mut h),
            Event::Reply { client, from, request, reply } => {
                (4u8, client, from, request, reply).hash(&mut h)
            }
            Event::ClientWake { client, wake } => (5u8, client, wake).hash(&mut h),
            Event::Fault(action) => (6u8, action).hash(&mut h),
            Event::Nemesis(kind) => (7u8, kind).hash(&mut h),
            Event::Resume(node) => (8u8, node).hash(&mut h),
        }
        h.finish()
    }
}

impl<N: Node> fmt::Debug for Event<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Start(node) => write!(f, "start {node}"),
            Event::Deliver { from, to, msg } => write!(f, "deliver {from}->{to} {msg:?}"),
            Event::Timer { node, incarnation, id, timer } => {
                write!(f, "timer {node} {timer:?} ({id:?}, incarnation {incarnation})")
            }
            Event::Request { node, request } => {
                write!(f, "request {}->{node} {:?}", request.id.client, request.op)
            }
            Event::Reply { client, from, reply, .. } => {
                write!(f, "reply {from}->{client} {reply:?}")
            }
            Event::ClientWake { client, wake } => write!(f, "client {client} {wake:?}"),
            Event::Fault(action) => write!(f, "fault {action:?}"),
            Event::Nemesis(kind) => write!(f, "nemesis {kind:?}"),
            Event::Resume(node) => write!(f, "resume {node}"),
        }
    }
}

/// One node's place in the simulation. The disk, clock and random stream outlive crashes;
/// the state does not.
pub struct NodeSlot<N> {
    state: Option<N>,
    incarnation: u32,
    /// Whether the node led after its last event (watched only for the nemesis).
    leading: bool,
    paused_until: SimTime,
    clock: Clock,
    rng: SimRng,
    disk: Disk,
    timers: TimerTable,
}

/// Everything a run is built from. Every fault is off unless set. `C` is the clients:
/// [`NoClients`] until [`SimBuilder::workload`] gives them a workload.
#[derive(Clone, Debug)]
pub struct SimBuilder<C = NoClients> {
    seed: u64,
    topology: Topology,
    clocks: Vec<ClockOptions>,
    disk: DiskOptions,
    clients: C,
    nemesis: NemesisOptions,
    schedule: Vec<(SimTime, FaultAction)>,
}

impl SimBuilder {
    /// `node_count` nodes on a full mesh of default links (1 ms, no loss).
    pub fn new(seed: u64, node_count: u32) -> Self {
        assert!(node_count > 0, "a cluster needs at least one node");
        SimBuilder {
            seed,
            topology: Topology::full_mesh(node_count, LinkOptions::default()),
            clocks: vec![ClockOptions::default(); node_count as usize],
            disk: DiskOptions::default(),
            clients: NoClients,
            nemesis: NemesisOptions::default(),
            schedule: Vec::new(),
        }
    }
}

impl<C> SimBuilder<C> {
    pub fn node_count(&self) -> u32 {
        self.topology.node_count()
    }

    /// Every link behaves as `link`.
    pub fn links(mut self, link: LinkOptions) -> Self {
        self.topology = Topology::full_mesh(self.topology.node_count(), link);
        self
    }

    pub fn topology(mut self, topology: Topology) -> Self {
        assert_eq!(topology.node_count(), self.topology.node_count(), "topology size");
        self.topology = topology;
        self
    }

    pub fn clock(mut self, node: NodeId, options: ClockOptions) -> Self {
        self.clocks[node.0 as usize] = options;
        self
    }

    pub fn disk(mut self, options: DiskOptions) -> Self {
        self.disk = options;
        self
    }

    /// Clients that behave as `options` say and run `workload`.
    pub fn workload<W: Workload>(
        self,
        options: ClientOptions,
        workload: W,
    ) -> SimBuilder<WithClients<W>> {
        SimBuilder {
            seed: self.seed,
            topology: self.topology,
            clocks: self.clocks,
            disk: self.disk,
            clients: WithClients { options, workload },
            nemesis: self.nemesis,
            schedule: self.schedule,
        }
    }

    pub fn nemesis(mut self, options: NemesisOptions) -> Self {
        self.nemesis = options;
        self
    }

    /// Inject `action` at global time `at`.
    pub fn fault_at(mut self, at: SimTime, action: FaultAction) -> Self {
        self.schedule.push((at, action));
        self
    }

    pub fn build<N: Node>(self, config: N::Config) -> Simulation<N>
    where
        C: ClientsFor<N>,
    {
        self.build_observed(config, NoObserver)
    }

    pub fn build_observed<N: Node, O: Observer<N>>(
        self,
        config: N::Config,
        observer: O,
    ) -> Simulation<N, O>
    where
        C: ClientsFor<N>,
    {
        let seed = self.seed;
        let n = self.topology.node_count();
        let nodes = (0..n)
            .map(|i| NodeSlot {
                state: None,
                incarnation: 0,
                paused_until: SimTime::ZERO,
                leading: false,
                clock: Clock::new(self.clocks[i as usize]),
                rng: SimRng::derive(seed, Stream::Node, u64::from(i)),
                disk: Disk::new(self.disk, SimRng::derive(seed, Stream::Disk, u64::from(i))),
                timers: TimerTable::default(),
            })
            .collect();
        let clients =
            self.clients.into_clients(n, |c| SimRng::derive(seed, Stream::Client, u64::from(c)));
        let mut queue = EventQueue::with_capacity(1024 + (n as usize).pow(2));
        for i in 0..n {
            queue.push(SimTime::ZERO, Event::Start(NodeId(i)));
        }
        let mut sim = Simulation {
            config,
            seed,
            now: SimTime::ZERO,
            queue,
            network: Network::new(&self.topology, SimRng::derive(seed, Stream::Network, 0)),
            nodes,
            held: Vec::new(),
            deferred: (0..n).map(|_| Vec::new()).collect(),
            clients,
            client_rng: SimRng::derive(seed, Stream::Workload, 0),
            client_actions: Vec::new(),
            nemesis: self.nemesis,
            fault_rng: SimRng::derive(seed, Stream::Faults, 0),
            fault_stats: FaultStats::default(),
            stats: EngineStats::default(),
            counters: Counters::new(),
            effects: Vec::new(),
            annotations: Vec::new(),
            trace_hash: mix64(seed),
            observer,
            violation: None,
        };
        if let Some(clients) = sim.clients.as_mut() {
            for c in 0..clients.count() {
                let at = clients.first_wake(ClientId(c), sim.now);
                sim.queue.push(at, Event::ClientWake { client: ClientId(c), wake: Wake::Next });
            }
        }
        for (at, action) in self.schedule {
            sim.queue.push(at, Event::Fault(action));
        }
        for kind in
            [NemesisKind::Crash, NemesisKind::Pause, NemesisKind::Partition, NemesisKind::ClockJump]
        {
            sim.schedule_nemesis(kind);
        }
        sim
    }
}

/// A running simulation of protocol `N`, watched by `O`.
pub struct Simulation<N: Node, O: Observer<N> = NoObserver> {
    config: N::Config,
    seed: u64,
    now: SimTime,
    queue: EventQueue<Event<N>>,
    nodes: Vec<NodeSlot<N>>,
    network: Network,
    /// Messages held back on a link, in arrival order, until released.
    held: Vec<(NodeId, NodeId, N::Msg)>,
    /// Per node, the events that arrived while it was paused, in arrival order; a
    /// `Resume` event is queued whenever this is not empty.
    deferred: Vec<Vec<Event<N>>>,
    clients: Option<Clients<N::Workload>>,
    client_rng: SimRng,
    client_actions: Vec<ClientAction<OpOf<N>>>,
    nemesis: NemesisOptions,
    fault_rng: SimRng,
    fault_stats: FaultStats,
    stats: EngineStats,
    counters: Counters,
    effects: Vec<Effect<N>>,
    annotations: Vec<String>,
    trace_hash: u64,
    observer: O,
    violation: Option<Violation>,
}

impl<N: Node, O: Observer<N>> Simulation<N, O> {
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Global simulated time: the time of the last event run (or the last limit reached).
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// The running hash of every event executed so far.
    pub fn trace_hash(&self) -> u64 {
        self.trace_hash
    }

    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    pub fn fault_stats(&self) -> FaultStats {
        self.fault_stats
    }

    pub fn message_stats(&self) -> LinkStats {
        self.network.total_stats()
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    /// The protocol's named counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }

    pub fn node(&self, id: NodeId) -> Option<&N> {
        self.nodes[id.0 as usize].state.as_ref()
    }

    pub fn nodes(&self) -> Nodes<'_, N> {
        Nodes { slots: &self.nodes }
    }

    pub fn node_count(&self) -> u32 {
        self.nodes.len() as u32
    }

    pub fn disk(&self, id: NodeId) -> &Disk {
        &self.nodes[id.0 as usize].disk
    }

    /// The node's clock reading now.
    pub fn local_time(&self, id: NodeId) -> SimTime {
        self.nodes[id.0 as usize].clock.local(self.now)
    }

    pub fn history(&self) -> Option<&History<<N::Workload as Workload>::Event>> {
        self.clients.as_ref().map(Clients::history)
    }

    pub fn clients(&self) -> Option<&Clients<N::Workload>> {
        self.clients.as_ref()
    }

    pub fn client_stats(&self) -> ClientStats {
        self.clients.as_ref().map(Clients::stats).unwrap_or_default()
    }

    pub fn observer(&self) -> &O {
        &self.observer
    }

    pub fn observer_mut(&mut self) -> &mut O {
        &mut self.observer
    }

    pub fn into_observer(self) -> O {
        self.observer
    }

    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// Events waiting in the queue.
    pub fn pending_events(&self) -> usize {
        self.queue.len()
    }

    /// Inject `action` at `at` (not before now).
    pub fn schedule_fault(&mut self, at: SimTime, action: FaultAction) {
        self.queue.push(at.max(self.now), Event::Fault(action));
    }

    /// The digest the next event will fold into the trace hash, without running it.
    pub fn peek_digest(&self) -> Option<(Position, u64)> {
        self.queue.peek().map(|(position, event)| (position, event.digest(position)))
    }

    /// A one-line description of the next event.
    pub fn describe_next(&self) -> Option<String> {
        self.queue.peek().map(|(position, event)| format!("{} {event:?}", position.time))
    }

    /// Run until the next event is past `limits.until`, `limits.max_events` events have
    /// run, nothing is left, or an observer finds a violation.
    pub fn run(&mut self, limits: RunLimits) -> StopReason {
        loop {
            if self.violation.is_some() {
                return StopReason::Violation;
            }
            if self.stats.events >= limits.max_events {
                return StopReason::EventLimit;
            }
            match self.queue.peek() {
                None => return StopReason::Quiescent,
                Some((position, _)) if position.time > limits.until => {
                    self.now = self.now.max(limits.until);
                    return StopReason::TimeLimit;
                }
                Some(_) => self.step(),
            };
        }
    }

    /// Run every event up to and including `until`.
    pub fn run_until(&mut self, until: SimTime) -> StopReason {
        self.run(RunLimits { until, ..RunLimits::default() })
    }

    /// Run for `duration` more of simulated time.
    pub fn run_for(&mut self, duration: SimDuration) -> StopReason {
        self.run_until(self.now + duration)
    }

    /// Run exactly one event; false if there was none.
    pub fn step(&mut self) -> bool {
        let Some((position, event)) = self.queue.pop() else { return false };
        debug_assert!(position.time >= self.now, "event in the past: {event:?}");
        self.now = position.time;
        self.stats.events += 1;
        let digest = event.digest(position);
        self.trace_hash = mix64(self.trace_hash.rotate_left(17) ^ digest);
        if let Some(node) = event.target() {
            let paused_until = self.nodes[node.0 as usize].paused_until;
            if paused_until > self.now {
                self.stats.deferred += 1;
                let waiting = &mut self.deferred[node.0 as usize];
                if waiting.is_empty() {
                    self.queue.push(paused_until, Event::Resume(node));
                }
                waiting.push(event);
                return true;
            }
        }
        self.dispatch(position, event);
        true
    }

    fn notify(&mut self, position: Position, event: &EventView<'_, N>) {
        if O::ENABLED {
            self.observer.on_event(position, self.stats.events - 1, event);
        }
    }

    fn dispatch(&mut self, position: Position, event: Event<N>) {
        match event {
            Event::Start(node) => self.start_node(position, node, false),
            Event::Deliver { from, to, msg } => self.deliver(position, from, to, msg),
            Event::Timer { node, incarnation, id, timer } => {
                let slot = &mut self.nodes[node.0 as usize];
                if slot.incarnation != incarnation || !slot.timers.disarm(id) {
                    self.stats.timers_stale += 1;
                    return;
                }
                self.stats.timers_fired += 1;
                self.notify(position, &EventView::Timer { node, timer: &timer });
                self.call(node, |n, ctx| n.on_timer(ctx, timer));
            }
            Event::Request { node, request } => {
                if self.nodes[node.0 as usize].state.is_none() {
                    self.stats.requests_lost += 1;
                    return;
                }
                self.stats.requests_handled += 1;
                self.notify(position, &EventView::Request { node, request: &request });
                self.call(node, |n, ctx| n.on_request(ctx, request));
            }
            Event::Reply { client, from, request, reply } => {
                self.notify(position, &EventView::Reply { client, from, request, reply: &reply });
                let mut actions = std::mem::take(&mut self.client_actions);
                if let Some(clients) = self.clients.as_mut() {
                    clients.on_reply(client, request, reply, self.now, &mut actions);
                }
                self.apply_client_actions(client, &mut actions);
                self.client_actions = actions;
            }
            Event::ClientWake { client, wake } => {
                self.notify(position, &EventView::ClientWake { client, wake });
                let mut actions = std::mem::take(&mut self.client_actions);
                if let Some(clients) = self.clients.as_mut() {
                    clients.on_wake(client, wake, self.now, &mut actions);
                }
                self.apply_client_actions(client, &mut actions);
                self.client_actions = actions;
            }
            Event::Fault(action) => self.inject(position, action),
            Event::Nemesis(kind) => self.run_nemesis(position, kind),
            Event::Resume(node) => self.resume(node),
        }
    }

    fn deliver(&mut self, position: Position, from: NodeId, to: NodeId, msg: N::Msg) {
        let reason = if self.network.is_blocked(from, to) {
            Some(DropReason::Partition)
        } else if self.network.is_held(from, to) {
            self.network.count_held(from, to);
            self.held.push((from, to, msg));
            return;
        } else if self.nodes[to.0 as usize].state.is_none() {
            Some(DropReason::NodeDown)
        } else {
            None
        };
        if let Some(reason) = reason {
            self.network.count_dropped(from, to, reason);
            if O::ENABLED {
                self.observer.on_drop(self.now, from, to, &msg, reason);
            }
            return;
        }
        self.network.count_delivered(from, to);
        self.notify(position, &EventView::Deliver { from, to, msg: &msg });
        self.call(to, |n, ctx| n.on_message(ctx, from, msg));
    }

    /// Run `f` on a node's state slot with a context for it.
    fn with_context<R>(
        &mut self,
        node: NodeId,
        f: impl FnOnce(&mut Option<N>, &N::Config, &mut Context<'_, N>) -> R,
    ) -> R {
        let collect = O::ENABLED && self.observer.wants_annotations();
        let node_count = self.nodes.len() as u32;
        let slot = &mut self.nodes[node.0 as usize];
        let mut ctx = Context {
            id: node,
            node_count,
            now: self.now,
            clock: &slot.clock,
            rng: &mut slot.rng,
            disk: &mut slot.disk,
            timers: &mut slot.timers,
            effects: &mut self.effects,
            counters: &mut self.counters,
            annotations: if collect { Some(&mut self.annotations) } else { None },
        };
        f(&mut slot.state, &self.config, &mut ctx)
    }

    /// Run a handler of a live node, then apply its effects and let the observer look.
    fn call(&mut self, node: NodeId, handler: impl FnOnce(&mut N, &mut Context<'_, N>)) {
        let ran = self.with_context(node, |state, _, ctx| state.as_mut().map(|n| handler(n, ctx)));
        if ran.is_some() {
            self.apply_effects(node);
            self.after_node(node);
        }
    }

    fn start_node(&mut self, position: Position, node: NodeId, restart: bool) {
        self.notify(position, &EventView::Start { node, restart });
        self.with_context(node, |state, config, ctx| {
            debug_assert!(state.is_none(), "starting {node}, which is running");
            *state = Some(N::start(config, ctx));
        });
        self.apply_effects(node);
        self.after_node(node);
    }

    fn after_node(&mut self, node: NodeId) {
        if self.nemesis.isolate_new_leader > 0.0 {
            self.watch_leader(node);
        }
        if O::ENABLED {
            let nodes = Nodes { slots: &self.nodes };
            if let Err(violation) =
                self.observer.after_node(self.now, node, &nodes, &self.annotations)
            {
                self.violation.get_or_insert(violation);
            }
            self.annotations.clear();
        }
    }

    fn apply_effects(&mut self, node: NodeId) {
        let mut effects = std::mem::take(&mut self.effects);
        let incarnation = self.nodes[node.0 as usize].incarnation;
        for effect in effects.drain(..) {
            match effect {
                Effect::Send { to, msg } => self.send(node, to, msg),
                Effect::SetTimer { id, delay, timer } => {
                    self.stats.timers_set += 1;
                    let at = self.now + delay;
                    self.queue.push(at, Event::Timer { node, incarnation, id, timer });
                }
                Effect::Reply { id, reply } => {
                    self.stats.replies += 1;
                    if let Some(clients) = self.clients.as_ref() {
                        let delay = clients.options().latency.sample(&mut self.client_rng);
                        let event =
                            Event::Reply { client: id.client, from: node, request: id, reply };
                        self.queue.push(self.now + delay, event);
                    }
                }
            }
        }
        self.effects = effects;
    }

    fn send(&mut self, from: NodeId, to: NodeId, msg: N::Msg) {
        match self.network.transmit(from, to) {
            Transit::Dropped(reason) => {
                if O::ENABLED {
                    self.observer.on_drop(self.now, from, to, &msg, reason);
                }
            }
            Transit::Deliver { delay, duplicate_delay } => {
                if let Some(again) = duplicate_delay {
                    let copy = Event::Deliver { from, to, msg: msg.clone() };
                    self.queue.push(self.now + again, copy);
                }
                self.queue.push(self.now + delay, Event::Deliver { from, to, msg });
            }
        }
    }

    fn apply_client_actions(&mut self, client: ClientId, actions: &mut Vec<ClientAction<OpOf<N>>>) {
        for action in actions.drain(..) {
            match action {
                ClientAction::Send { node, request, delay } => {
                    self.queue.push(self.now + delay, Event::Request { node, request });
                }
                ClientAction::Wake { at, wake } => {
                    self.queue.push(at, Event::ClientWake { client, wake });
                }
            }
        }
    }

    fn apply_fault(&mut self, position: Position, action: FaultAction) {
        let kind = action.kind();
        let applied = match action {
            FaultAction::Crash(node) => self.crash(node),
            FaultAction::Restart(node) => {
                let slot = &mut self.nodes[node.0 as usize];
                let down = slot.state.is_none();
                if down {
                    slot.incarnation += 1;
                    slot.timers.clear();
                    self.start_node(position, node, true);
                }
                down
            }
            FaultAction::Pause { node, duration } => {
                let slot = &mut self.nodes[node.0 as usize];
                let up = slot.state.is_some();
                if up {
                    slot.paused_until = slot.paused_until.max(self.now + duration);
                }
                up
            }
            FaultAction::Partition(partition) => {
                let leaders = self.leaders();
                let links = partition.links(self.nodes.len() as u32, &leaders, &mut self.fault_rng);
                for (from, to) in links {
                    self.network.block(from, to);
                }
                true
            }
            FaultAction::Heal => {
                self.network.heal();
                true
            }
            FaultAction::Hold { from, to } => {
                self.network.set_held(from, to, true);
                true
            }
            FaultAction::Release { from, to } => self.release(|f, t| f == from && t == to),
            FaultAction::ClockJump { node, delta_nanos } => {
                self.nodes[node.0 as usize].clock.jump(self.now, delta_nanos);
                true
            }
            FaultAction::ClockDrift { node, drift_ppb } => {
                self.nodes[node.0 as usize].clock.set_drift(self.now, drift_ppb as f64 / 1000.0);
                true
            }
            FaultAction::DiskFaults { node, torn_write_ppm, corrupt_read_ppm } => {
                self.nodes[node.0 as usize].disk.set_options(DiskOptions {
                    torn_write_probability: f64::from(torn_write_ppm) / 1e6,
                    corrupt_read_probability: f64::from(corrupt_read_ppm) / 1e6,
                });
                true
            }
            FaultAction::HealAll => {
                self.nemesis.until = self.nemesis.until.min(self.now);
                self.network.heal();
                self.release(|_, _| true);
                for i in 0..self.nodes.len() {
                    let node = NodeId(i as u32);
                    if self.nodes[i].paused_until > self.now {
                        self.nodes[i].paused_until = self.now;
                        if !self.deferred[i].is_empty() {
                            self.queue.push(self.now, Event::Resume(node));
                        }
                    }
                    if self.nodes[i].state.is_none() {
                        self.apply_fault(position, FaultAction::Restart(node));
                    }
                }
                true
            }
        };
        if applied {
            self.fault_stats.record(kind);
        }
    }

    fn crash(&mut self, node: NodeId) -> bool {
        let slot = &mut self.nodes[node.0 as usize];
        if slot.state.take().is_none() {
            return false;
        }
        slot.disk.crash();
        slot.incarnation += 1;
        slot.timers.clear();
        slot.paused_until = SimTime::ZERO;
        self.after_node(node);
        true
    }

    /// Run the events that waited for `node`'s pause, now and in arrival order; if the
    /// pause was extended, wait for its new end.
    fn resume(&mut self, node: NodeId) {
        let paused_until = self.nodes[node.0 as usize].paused_until;
        if self.deferred[node.0 as usize].is_empty() {
            return;
        }
        if paused_until > self.now {
            self.queue.push(paused_until, Event::Resume(node));
            return;
        }
        for event in std::mem::take(&mut self.deferred[node.0 as usize]) {
            self.queue.push(self.now, event);
        }
    }

    /// Deliver, now and in arrival order, the held messages whose link matches, and stop
    /// holding those links.
    fn release(&mut self, matches: impl Fn(NodeId, NodeId) -> bool) -> bool {
        let n = self.nodes.len() as u32;
        for from in 0..n {
            for to in 0..n {
                if matches(NodeId(from), NodeId(to)) {
                    self.network.set_held(NodeId(from), NodeId(to), false);
                }
            }
        }
        let mut kept = Vec::new();
        for (from, to, msg) in std::mem::take(&mut self.held) {
            if matches(from, to) {
                self.queue.push(self.now, Event::Deliver { from, to, msg });
            } else {
                kept.push((from, to, msg));
            }
        }
        self.held = kept;
        true
    }

    fn schedule_nemesis(&mut self, kind: NemesisKind) {
        if let Some(wait) = self.nemesis.next_arrival(kind, &mut self.fault_rng) {
            let at = self.now + wait;
            if at < self.nemesis.until {
                self.queue.push(at, Event::Nemesis(kind));
            }
        }
    }

    /// The nemesis that isolates new leaders: when `node` has just become leader, maybe
    /// cut it off a moment later.
    fn watch_leader(&mut self, node: NodeId) {
        let slot = &mut self.nodes[node.0 as usize];
        let leads = slot.state.as_ref().is_some_and(N::is_leader);
        let elected = leads && !slot.leading;
        slot.leading = leads;
        if elected
            && self.now < self.nemesis.until
            && self.fault_rng.chance(self.nemesis.isolate_new_leader)
        {
            let at = self.now + self.nemesis.isolate_new_leader_after.sample(&mut self.fault_rng);
            let heal = at + self.nemesis.partition_duration.sample(&mut self.fault_rng);
            let isolate = FaultAction::Partition(Partition::Isolate(Some(node)));
            self.queue.push(at, Event::Fault(isolate));
            self.queue.push(heal, Event::Fault(FaultAction::Heal));
        }
    }

    /// Running nodes that believe they lead, in id order.
    fn leaders(&self) -> Vec<NodeId> {
        (0..self.nodes.len() as u32)
            .map(NodeId)
            .filter(|n| self.nodes[n.0 as usize].state.as_ref().is_some_and(N::is_leader))
            .collect()
    }

    /// Nodes crashed or paused now.
    fn nodes_down(&self) -> u32 {
        self.nodes.iter().filter(|s| s.state.is_none() || s.paused_until > self.now).count() as u32
    }

    fn random_up_node(&mut self) -> Option<NodeId> {
        let now = self.now;
        let up: Vec<NodeId> = (0..self.nodes.len() as u32)
            .map(NodeId)
            .filter(|n| {
                let s = &self.nodes[n.0 as usize];
                s.state.is_some() && s.paused_until <= now
            })
            .collect();
        (!up.is_empty()).then(|| *self.fault_rng.pick(&up))
    }

    fn run_nemesis(&mut self, position: Position, kind: NemesisKind) {
        if self.now >= self.nemesis.until {
            return;
        }
        let n = self.nodes.len() as u32;
        let max_down = self.nemesis.max_down.unwrap_or((n - 1) / 2);
        let may_take_one = self.nodes_down() < max_down;
        match kind {
            NemesisKind::Crash if may_take_one => {
                if let Some(node) = self.random_up_node() {
                    let back = self.now + self.nemesis.restart_after.sample(&mut self.fault_rng);
                    self.inject(position, FaultAction::Crash(node));
                    self.queue.push(back, Event::Fault(FaultAction::Restart(node)));
                }
            }
            NemesisKind::Pause if may_take_one => {
                if let Some(node) = self.random_up_node() {
                    let duration = self.nemesis.pause_duration.sample(&mut self.fault_rng);
                    self.inject(position, FaultAction::Pause { node, duration });
                }
            }
            NemesisKind::Partition => {
                let kinds = &self.nemesis.partition_kinds;
                if !kinds.is_empty() {
                    let partition =
                        kinds[self.fault_rng.below(kinds.len() as u64) as usize].clone();
                    let duration = self.nemesis.partition_duration.sample(&mut self.fault_rng);
                    if self.network.is_partitioned() {
                        self.inject(position, FaultAction::Heal);
                    }
                    self.inject(position, FaultAction::Partition(partition));
                    self.queue.push(self.now + duration, Event::Fault(FaultAction::Heal));
                }
            }
            NemesisKind::ClockJump => {
                let node = NodeId(self.fault_rng.below(u64::from(n)) as u32);
                let max = self.nemesis.clock_jump_max.0.min(i64::MAX as u64) as i64;
                let delta = self.fault_rng.between(0, 2 * max as u64) as i64 - max;
                self.inject(position, FaultAction::ClockJump { node, delta_nanos: delta });
            }
            NemesisKind::Crash | NemesisKind::Pause => {}
        }
        self.schedule_nemesis(kind);
    }

    /// Apply a fault, scheduled or chosen by the nemesis, with its random choices made first
    /// so that the observer sees exactly what was done.
    fn inject(&mut self, position: Position, action: FaultAction) {
        let action = match action {
            FaultAction::Partition(p) => {
                let leaders = self.leaders();
                FaultAction::Partition(p.resolve(
                    self.nodes.len() as u32,
                    &leaders,
                    &mut self.fault_rng,
                ))
            }
            other => other,
        };
        self.notify(position, &EventView::Fault(&action));
        self.apply_fault(position, action);
    }

    /// Whether `node` is running (not crashed).
    pub fn is_up(&self, node: NodeId) -> bool {
        self.nodes[node.0 as usize].state.is_some()
    }

    /// Whether a fault of `kind` has been counted.
    pub fn fault_count(&self, kind: FaultKind) -> u64 {
        self.fault_stats.get(kind)
    }

    /// Pending timers of `node`, for tests.
    pub fn armed_timers(&self, node: NodeId) -> usize {
        self.nodes[node.0 as usize].timers.armed()
    }
}
