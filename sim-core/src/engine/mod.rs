//! The discrete-event engine: one queue of events totally ordered by (time, sequence
//! number), executed one at a time on one thread, generic over the protocol so that no
//! event is boxed or dispatched dynamically. Every executed event is folded into a running
//! 64-bit trace hash; two runs of the same seed have the same hash, event for event.
//!
//! The engine's parts: `observer.rs` (what may watch a run), `builder.rs` (`SimBuilder`),
//! this file (the event enum, the run loop, and the dispatch of every event to nodes and
//! clients) and `faults.rs` (fault application and the nemesis).

mod builder;
mod faults;
mod observer;

pub use builder::SimBuilder;
pub use observer::{
    EventView, FaultLog, Hop, MessageId, NoObserver, Nodes, Observer, SendFate, Violation,
};

use crate::announce::{CrashPoint, ProtocolEvent, Trigger};
use crate::buggify::Buggify;
use crate::client::{ClientAction, ClientStats, Clients, Wake};
use crate::clock::Clock;
use crate::disk::Disk;
use crate::faults::{FaultAction, FaultKind, FaultStats, NemesisKind, NemesisOptions};
use crate::hash::{StableHasher, mix64};
use crate::history::History;
use crate::network::{DropReason, LinkStats, Network, Transit};
use crate::node::{ClientId, Context, Counters, Effect, Node, NodeId, OpOf, ReplyOf, RequestId};
use crate::node::{RequestOf, TimerId, TimerTable};
use crate::queue::{EventQueue, Position};
use crate::rng::SimRng;
use crate::time::{SimDuration, SimTime};
use crate::workload::Workload;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};

/// Why a run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// No event left.
    Quiescent,
    TimeLimit,
    EventLimit,
    /// More events were pending than [`RunLimits::max_pending`].
    QueueLimit,
    /// An observer reported a violation (see [`Simulation::violation`]).
    Violation,
}

/// Limits for [`Simulation::run`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunLimits {
    /// Run events up to and including this time.
    pub until: SimTime,
    pub max_events: u64,
    /// Events that may wait in the queue at once: what bounds a run's memory when a
    /// protocol sends faster than the network delivers.
    pub max_pending: u64,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits { until: SimTime::MAX, max_events: u64::MAX, max_pending: u64::MAX }
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
        /// Numbers the send (a duplicate shares it); not part of the digest.
        id: MessageId,
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
    /// Phase `index` after the first starts: its nemesis and clients take over.
    Phase(u32),
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
            Event::Deliver { from, to, msg, .. } => (1u8, from, to, msg).hash(&mut h),
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
            Event::Phase(index) => (9u8, index).hash(&mut h),
        }
        h.finish()
    }
}

impl<N: Node> fmt::Debug for Event<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Start(node) => write!(f, "start {node}"),
            Event::Deliver { from, to, msg, .. } => write!(f, "deliver {from}->{to} {msg:?}"),
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
            Event::Phase(index) => write!(f, "phase {}", index + 1),
        }
    }
}

/// The bytes the engine keeps for each node of protocol `N` before anything the node
/// itself allocates: its slot (state, clock, random stream, disk, timers), its network
/// counters and its start event. A lower bound, to refuse a cluster that cannot fit.
pub fn bytes_per_node<N: Node>() -> u64 {
    let slot = size_of::<NodeSlot<N>>() + size_of::<crate::network::NodeStats>();
    (slot + size_of::<crate::clock::ClockOptions>() + 2 * size_of::<Event<N>>()) as u64
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

/// A running simulation of protocol `N`, watched by `O`.
pub struct Simulation<N: Node, O: Observer<N> = NoObserver> {
    config: N::Config,
    seed: u64,
    now: SimTime,
    queue: EventQueue<Event<N>>,
    nodes: Vec<NodeSlot<N>>,
    network: Network,
    /// Messages held back on a link, in arrival order, until released.
    held: Vec<(NodeId, NodeId, MessageId, N::Msg)>,
    /// The id of the next message sent.
    next_message: u64,
    /// The events that arrived at a paused node, in arrival order, for the nodes that
    /// have some; a `Resume` event is queued for each of them.
    deferred: BTreeMap<NodeId, Vec<Event<N>>>,
    clients: Option<Clients<N::Workload>>,
    client_rng: SimRng,
    client_actions: Vec<ClientAction<OpOf<N>>>,
    nemesis: NemesisOptions,
    /// The nemesis of each phase after the first ([`SimBuilder::phase`]).
    phases: Vec<NemesisOptions>,
    fault_rng: SimRng,
    /// The crash-on stream, drawn only when `nemesis.crash_on` listens ([`crate::announce`]).
    crash_on_rng: SimRng,
    /// The event a handler's announcement crashed its node on, until the engine crashes it.
    crash_fired: Option<ProtocolEvent>,
    fault_stats: FaultStats,
    stats: EngineStats,
    counters: Counters,
    buggify: Buggify,
    effects: Vec<Effect<N>>,
    annotations: Vec<String>,
    trace_hash: u64,
    observer: O,
    violation: Option<Violation>,
}

impl<N> NodeSlot<N> {
    /// Crashed, or paused at `now`.
    fn is_down(&self, now: SimTime) -> bool {
        self.state.is_none() || self.paused_until > now
    }
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
            if self.queue.len() as u64 > limits.max_pending {
                return StopReason::QueueLimit;
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
                let waiting = self.deferred.entry(node).or_default();
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
            Event::Deliver { from, to, id, msg } => self.deliver(position, from, to, id, msg),
            Event::Timer { node, incarnation, id, timer } => {
                let slot = &mut self.nodes[node.0 as usize];
                if slot.incarnation != incarnation || !slot.timers.disarm(id) {
                    self.stats.timers_stale += 1;
                    return;
                }
                self.stats.timers_fired += 1;
                self.notify(position, &EventView::Timer { node, id, timer: &timer });
                self.call(position, node, |n, ctx| n.on_timer(ctx, timer));
            }
            Event::Request { node, request } => {
                if self.nodes[node.0 as usize].state.is_none() {
                    self.stats.requests_lost += 1;
                    return;
                }
                self.stats.requests_handled += 1;
                self.notify(position, &EventView::Request { node, request: &request });
                self.call(position, node, |n, ctx| n.on_request(ctx, request));
            }
            Event::Reply { client, from, request, reply } => {
                self.notify(position, &EventView::Reply { client, from, request, reply: &reply });
                let mut actions = std::mem::take(&mut self.client_actions);
                if let Some(clients) = self.clients.as_mut() {
                    clients.on_reply(client, from, request, reply, self.now, &mut actions);
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
            Event::Phase(index) => self.enter_phase(index as usize),
        }
    }

    /// Phase `index` after the first starts: its nemesis replaces the last one, its
    /// arrivals drawn afresh, and its clients take over.
    fn enter_phase(&mut self, index: usize) {
        self.nemesis = self.phases[index].clone();
        for kind in NemesisKind::ALL {
            self.schedule_nemesis(kind);
        }
        if let Some(clients) = self.clients.as_mut() {
            clients.enter_phase(index);
        }
    }

    fn deliver(
        &mut self,
        position: Position,
        from: NodeId,
        to: NodeId,
        id: MessageId,
        msg: N::Msg,
    ) {
        let reason = if self.network.is_blocked(from, to) {
            Some(DropReason::Partition)
        } else if self.network.is_held(from, to) {
            self.network.count_held(from, to);
            if O::ENABLED {
                let hop = Hop { from, to, id, index: self.stats.events - 1 };
                self.observer.on_hold(self.now, hop);
            }
            self.held.push((from, to, id, msg));
            return;
        } else if self.nodes[to.0 as usize].state.is_none() {
            Some(DropReason::NodeDown)
        } else {
            None
        };
        if let Some(reason) = reason {
            self.network.count_dropped(from, to, reason);
            if O::ENABLED {
                let hop = Hop { from, to, id, index: self.stats.events - 1 };
                self.observer.on_drop(self.now, hop, &msg, reason);
            }
            return;
        }
        self.network.count_delivered(from, to);
        self.notify(position, &EventView::Deliver { from, to, id, msg: &msg });
        self.call(position, to, |n, ctx| n.on_message(ctx, from, msg));
    }

    /// Run `f` on a node's state slot with a context for it.
    fn with_context<R>(
        &mut self,
        node: NodeId,
        f: impl FnOnce(&mut Option<N>, &N::Config, &mut Context<'_, N>) -> R,
    ) -> R {
        let collect = O::ENABLED && self.observer.wants_annotations();
        let node_count = self.nodes.len() as u32;
        let now = self.now;
        let mask = if now < self.nemesis.until { self.nemesis.crash_on.mask() } else { 0 };
        let max_down = self.max_down();
        let (before, rest) = self.nodes.split_at_mut(node.0 as usize);
        let (slot, after) = rest.split_first_mut().expect("a node of the cluster");
        // Asked only when an announcement would crash the node: the others down now.
        let room = || {
            let down = before.iter().chain(after.iter()).filter(|s| s.is_down(now)).count();
            (down as u32) < max_down
        };
        let trigger = (mask != 0).then_some(Trigger {
            mask,
            probability: self.nemesis.crash_on.probability,
            point: self.nemesis.crash_on.point,
            rng: &mut self.crash_on_rng,
            room: &room,
            fired: &mut self.crash_fired,
        });
        let mut ctx = Context {
            id: node,
            node_count,
            now,
            clock: &slot.clock,
            rng: &mut slot.rng,
            disk: &mut slot.disk,
            timers: &mut slot.timers,
            effects: &mut self.effects,
            counters: &mut self.counters,
            buggify: &mut self.buggify,
            annotations: if collect { Some(&mut self.annotations) } else { None },
            trigger,
        };
        f(&mut slot.state, &self.config, &mut ctx)
    }

    /// Run a handler of a live node, then apply its effects and let the observer look.
    fn call(
        &mut self,
        position: Position,
        node: NodeId,
        handler: impl FnOnce(&mut N, &mut Context<'_, N>),
    ) {
        let ran = self.with_context(node, |state, _, ctx| state.as_mut().map(|n| handler(n, ctx)));
        if ran.is_some() {
            self.after_handler(position, node);
        }
    }

    fn start_node(&mut self, position: Position, node: NodeId, restart: bool) {
        self.notify(position, &EventView::Start { node, restart });
        self.with_context(node, |state, config, ctx| {
            debug_assert!(state.is_none(), "starting {node}, which is running");
            *state = Some(N::start(config, ctx));
        });
        self.after_handler(position, node);
    }

    /// After a handler: its effects, the observer's look, and the crash an announcement
    /// of it triggered. A crash at the announcement loses every effect (they would have
    /// left only now) and the observer never sees the state the handler left, which
    /// died with the node.
    fn after_handler(&mut self, position: Position, node: NodeId) {
        let Some(event) = self.crash_fired.take() else {
            self.apply_effects(node);
            self.after_node(node);
            return;
        };
        match self.nemesis.crash_on.point {
            CrashPoint::Event => self.effects.clear(),
            CrashPoint::HandlerEnd => {
                self.apply_effects(node);
                self.after_node(node);
            }
        }
        *self.counters.entry(event.counter()).or_insert(0) += 1;
        let back = self.now + self.nemesis.restart_after.sample(&mut self.crash_on_rng);
        self.inject(position, FaultAction::CrashOn { node, event });
        self.queue.push(back, Event::Fault(FaultAction::Restart(node)));
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
                    if O::ENABLED {
                        self.observer.on_timer_set(self.now, node, id, delay, &timer);
                    }
                    let at = self.now + delay;
                    self.queue.push(at, Event::Timer { node, incarnation, id, timer });
                }
                Effect::CancelTimer { id } => {
                    if O::ENABLED {
                        self.observer.on_timer_cancel(self.now, node, id);
                    }
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
        let id = MessageId(self.next_message);
        self.next_message += 1;
        let transit = self.network.transmit(from, to);
        if O::ENABLED {
            let fate = match transit {
                Transit::Dropped(reason) => SendFate::Dropped(reason),
                Transit::Deliver { delay, duplicate_delay } => SendFate::InFlight {
                    arrives: self.now + delay,
                    duplicate_arrives: duplicate_delay.map(|d| self.now + d),
                },
            };
            let hop = Hop { from, to, id, index: self.stats.events - 1 };
            self.observer.on_send(self.now, hop, &msg, fate);
            if let SendFate::Dropped(reason) = fate {
                self.observer.on_drop(self.now, hop, &msg, reason);
            }
        }
        if let Transit::Deliver { delay, duplicate_delay } = transit {
            if let Some(again) = duplicate_delay {
                let copy = Event::Deliver { from, to, id, msg: msg.clone() };
                self.queue.push(self.now + again, copy);
            }
            self.queue.push(self.now + delay, Event::Deliver { from, to, id, msg });
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
