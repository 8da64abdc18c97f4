//! The node API: what a protocol implements and what it may do.
//!
//! A protocol is a sans-IO state machine. The engine calls its handlers, one event at a
//! time, with a [`Context`] through which the node reads its own clock, draws from its own
//! random stream, sends messages, sets and cancels timers, writes to and syncs its disk,
//! replies to clients, and annotates the trace. The node never sees global time, another
//! node's state, or anything outside the simulation.
//!
//! A crash drops the node's value; everything it held in memory is gone by construction.
//! A restart calls [`Node::start`] again, and the node rebuilds itself from what its disk
//! kept (only what it synced, perhaps with a torn last record).
//!
//! # Example: a replicated counter
//!
//! ```
//! use sim_core::node::{Context, Node, NodeId, Reply, Request};
//! use sim_core::history::Value;
//! use sim_core::kv::{KvWorkload, Op};
//! use sim_core::{SimDuration, SimBuilder};
//!
//! /// Every node counts the writes it has heard of, persists the count, and gossips it.
//! struct Counter { count: i64 }
//!
//! #[derive(Clone, Debug, Hash)]
//! enum Msg { Count { count: i64 } }
//!
//! #[derive(Clone, Debug, Hash)]
//! enum Timer { Gossip }
//!
//! impl Node for Counter {
//!     type Config = ();
//!     type Msg = Msg;
//!     type Timer = Timer;
//!     type Workload = KvWorkload;
//!
//!     fn start(_config: &(), ctx: &mut Context<'_, Self>) -> Self {
//!         // Recover: the last synced count, or zero on a fresh disk.
//!         let bytes = ctx.disk().read("count");
//!         let count = bytes.get(..8).map_or(0, |b| i64::from_le_bytes(b.try_into().unwrap()));
//!         ctx.set_timer(SimDuration::from_millis(10), Timer::Gossip);
//!         Counter { count }
//!     }
//!
//!     fn on_message(&mut self, ctx: &mut Context<'_, Self>, _from: NodeId, msg: Msg) {
//!         match msg {
//!             Msg::Count { count } if count > self.count => {
//!                 self.count = count;
//!                 ctx.disk().overwrite("count", &count.to_le_bytes());
//!                 ctx.disk().sync();
//!                 ctx.annotate(|| format!("count is now {count}"));
//!             }
//!             Msg::Count { .. } => {}
//!         }
//!     }
//!
//!     fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
//!         match timer {
//!             Timer::Gossip => {
//!                 ctx.broadcast(Msg::Count { count: self.count });
//!                 ctx.set_timer(SimDuration::from_millis(10), Timer::Gossip);
//!             }
//!         }
//!     }
//!
//!     fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request<Op>) {
//!         match request.op {
//!             Op::Read { .. } => ctx.reply(request.id, Reply::Ok(Value::Int(self.count))),
//!             _ => {
//!                 self.count += 1;
//!                 ctx.disk().overwrite("count", &self.count.to_le_bytes());
//!                 ctx.disk().sync(); // durable before we answer
//!                 ctx.count("writes");
//!                 ctx.reply(request.id, Reply::Ok(Value::Nil));
//!             }
//!         }
//!     }
//! }
//!
//! let mut sim = SimBuilder::new(42, 3).build::<Counter>(());
//! sim.run_for(SimDuration::from_millis(100));
//! assert!(sim.stats().events > 0);
//! ```

use crate::announce::{CrashPoint, ProtocolEvent, Trigger};
use crate::buggify::Buggify;
use crate::clock::Clock;
use crate::disk::Disk;
use crate::rng::SimRng;
use crate::time::{SimDuration, SimTime};
use crate::workload::Workload;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::Hash;

/// A node's identity: its index in the cluster, `0..node_count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// A simulated client's identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientId(pub u32);

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}

/// Identifies one client operation. A client retries an operation under the same id, so a
/// protocol with client sessions can apply it once (Raft dissertation §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId {
    pub client: ClientId,
    pub seq: u64,
}

/// A client request as a node receives it: an operation of the protocol's workload.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Request<Op> {
    pub id: RequestId,
    pub op: Op,
}

/// A node's answer to a client.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reply<Output> {
    /// The operation took effect, with its result (for a key-value read, the value read).
    Ok(Output),
    /// The operation certainly did not take effect (e.g. a cas whose comparison failed).
    Fail,
    /// Not applied here: ask that node instead (or any other node, for `None`).
    Redirect(Option<NodeId>),
}

/// Handle to a pending timer, for [`Context::cancel_timer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId {
    slot: u32,
    generation: u32,
}

/// A protocol node. The engine is generic over it: no boxing or dynamic dispatch per event.
pub trait Node: Sized {
    /// Immutable configuration shared by every node (options, known-bug switches).
    type Config;
    /// The protocol's messages. `Hash` feeds the trace hash; `Debug` feeds traces.
    type Msg: Clone + fmt::Debug + Hash;
    /// The protocol's timer kinds.
    type Timer: Clone + fmt::Debug + Hash;
    /// What its clients ask of it (e.g. [`crate::kv::KvWorkload`]'s reads and writes).
    type Workload: Workload;

    /// Build the node at its first start or after a crash, recovering from `ctx.disk()`.
    fn start(config: &Self::Config, ctx: &mut Context<'_, Self>) -> Self;

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Self::Msg);

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Self::Timer);

    /// Whether this node believes it leads (a hint for faults that target the leader, as
    /// Jepsen's nemeses target primaries; never used for correctness). Default: no.
    fn is_leader(&self) -> bool {
        false
    }

    /// A client request. The default answers that this protocol takes no client requests.
    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: RequestOf<Self>) {
        ctx.reply(request.id, Reply::Fail);
    }
}

/// The operation type of `N`'s workload.
pub type OpOf<N> = <<N as Node>::Workload as Workload>::Op;
/// The result type of `N`'s workload.
pub type OutputOf<N> = <<N as Node>::Workload as Workload>::Output;
/// A request to `N`.
pub type RequestOf<N> = Request<OpOf<N>>;
/// A reply of `N`.
pub type ReplyOf<N> = Reply<OutputOf<N>>;

/// An effect a handler asked for; the engine applies it after the handler returns.
#[derive(Debug)]
pub(crate) enum Effect<N: Node> {
    Send {
        to: NodeId,
        msg: N::Msg,
    },
    SetTimer {
        id: TimerId,
        delay: SimDuration,
        timer: N::Timer,
    },
    /// A pending timer cancelled; queued only while a trace is recorded, for its line.
    CancelTimer {
        id: TimerId,
    },
    Reply {
        id: RequestId,
        reply: ReplyOf<N>,
    },
}

/// The slots of a node's pending timers. A slot is reused after its timer fires or is
/// cancelled; its generation tells a live timer from a stale event in the queue.
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    slots: Vec<TimerSlot>,
    free: Vec<u32>,
}

#[derive(Clone, Copy, Debug, Default)]
struct TimerSlot {
    generation: u32,
    armed: bool,
}

impl TimerTable {
    fn arm(&mut self) -> TimerId {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(TimerSlot::default());
            (self.slots.len() - 1) as u32
        });
        let s = &mut self.slots[slot as usize];
        debug_assert!(!s.armed, "reusing an armed timer slot");
        s.armed = true;
        TimerId { slot, generation: s.generation }
    }

    /// Disarm `id` if it is still pending; true if it was.
    pub(crate) fn disarm(&mut self, id: TimerId) -> bool {
        match self.slots.get_mut(id.slot as usize) {
            Some(s) if s.armed && s.generation == id.generation => {
                s.armed = false;
                s.generation = s.generation.wrapping_add(1);
                self.free.push(id.slot);
                true
            }
            _ => false,
        }
    }

    pub(crate) fn clear(&mut self) {
        self.slots.clear();
        self.free.clear();
    }

    pub(crate) fn armed(&self) -> usize {
        self.slots.iter().filter(|s| s.armed).count()
    }
}

/// Named counters a protocol bumps (`ctx.count("elections")`), summed over the run.
pub type Counters = BTreeMap<&'static str, u64>;

/// What a handler may do. See the module docs.
pub struct Context<'a, N: Node> {
    pub(crate) id: NodeId,
    pub(crate) node_count: u32,
    pub(crate) now: SimTime,
    pub(crate) clock: &'a Clock,
    pub(crate) rng: &'a mut SimRng,
    pub(crate) disk: &'a mut Disk,
    pub(crate) timers: &'a mut TimerTable,
    pub(crate) effects: &'a mut Vec<Effect<N>>,
    pub(crate) counters: &'a mut Counters,
    pub(crate) buggify: &'a mut Buggify,
    pub(crate) annotations: Option<&'a mut Vec<String>>,
    /// The nemesis's `crash_on`, when it listens to some event now.
    pub(crate) trigger: Option<Trigger<'a>>,
}

impl<N: Node> Context<'_, N> {
    /// This node.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// How many nodes the cluster has; ids are `0..cluster_size`.
    pub fn cluster_size(&self) -> usize {
        self.node_count as usize
    }

    /// Every node of the cluster, this one included, in id order.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + use<N> {
        (0..self.node_count).map(NodeId)
    }

    /// Every other node, in id order.
    pub fn peers(&self) -> impl Iterator<Item = NodeId> + use<N> {
        let me = self.id;
        (0..self.node_count).map(NodeId).filter(move |&n| n != me)
    }

    /// `k` distinct peers (never this node), drawn uniformly from the node's own stream:
    /// every ordered choice of `k` peers is equally likely. Fewer when the cluster has
    /// fewer than `k` peers (then every peer, in random order). Gossip protocols pick
    /// their fanout with it instead of walking all peers: see [`sample_peers`] for the
    /// cost.
    pub fn random_peers(&mut self, k: usize) -> Vec<NodeId> {
        let mut out = Vec::new();
        sample_peers(self.rng, self.id, self.node_count, k, &mut out);
        out
    }

    /// The node's own clock reading: skewed, drifting, and subject to jumps.
    pub fn now(&self) -> SimTime {
        self.clock.local(self.now)
    }

    /// The node's own random stream.
    pub fn rng(&mut self) -> &mut SimRng {
        self.rng
    }

    /// A uniform random duration in `[low, high]` from the node's stream (e.g. an
    /// election timeout).
    pub fn random_duration(&mut self, low: SimDuration, high: SimDuration) -> SimDuration {
        SimDuration(self.rng.between(low.0, high.0))
    }

    /// Send `msg` to `to`. Sending to itself goes through the network like any message.
    pub fn send(&mut self, to: NodeId, msg: N::Msg) {
        debug_assert!(to.0 < self.node_count, "{} sent to {to}, outside the cluster", self.id);
        self.effects.push(Effect::Send { to, msg });
    }

    /// Send `msg` to every other node.
    pub fn broadcast(&mut self, msg: N::Msg) {
        for to in self.peers() {
            self.effects.push(Effect::Send { to, msg: msg.clone() });
        }
    }

    /// Fire `timer` once `delay` has passed on this node's clock.
    pub fn set_timer(&mut self, delay: SimDuration, timer: N::Timer) -> TimerId {
        let id = self.timers.arm();
        let delay = self.clock.global_delay(delay);
        self.effects.push(Effect::SetTimer { id, delay, timer });
        id
    }

    /// Cancel a pending timer; true if it had not fired yet. A trace being recorded gets
    /// a line for it (an untraced run does nothing more than disarm it).
    pub fn cancel_timer(&mut self, id: TimerId) -> bool {
        let cancelled = self.timers.disarm(id);
        if cancelled && self.annotations.is_some() {
            self.effects.push(Effect::CancelTimer { id });
        }
        cancelled
    }

    /// The node's disk: writes are volatile until `sync`.
    pub fn disk(&mut self) -> &mut Disk {
        self.disk
    }

    /// Answer a client request (now or in any later handler).
    pub fn reply(&mut self, id: RequestId, reply: ReplyOf<N>) {
        self.effects.push(Effect::Reply { id, reply });
    }

    /// Bump a named counter (e.g. "leader_elected"); tests use counters to prove that a
    /// case really happened.
    pub fn count(&mut self, name: &'static str) {
        *self.counters.entry(name).or_insert(0) += 1;
    }

    /// Whether the buggify point `name` fires now ([`crate::buggify`]): always false
    /// unless the scenario says `protocol.buggify = true`. A point must only make the
    /// protocol do something legal but rare; each firing is counted under `name` and
    /// noted in the trace.
    pub fn buggify(&mut self, name: &'static str) -> bool {
        if !self.buggify.fires(name) {
            return false;
        }
        self.count(name);
        self.annotate(|| format!("buggify {name}"));
        true
    }

    /// Announce a protocol moment ([`crate::announce`]): the nemesis's `crash_on` may
    /// crash the node here. Free when no fault listens to `event`. Announce where the
    /// moment is true: `Voted` once the vote is durable, `Synced` right after a sync.
    /// After a crash at the announcement the handler runs on, but its effects are lost
    /// and its disk writes and syncs are ignored.
    pub fn announce(&mut self, event: ProtocolEvent) {
        let Some(trigger) = self.trigger.as_mut() else { return };
        if !trigger.hit(event) {
            return;
        }
        if trigger.point == CrashPoint::Event {
            self.disk.stop();
        }
        self.annotate(|| format!("crashes on {}", event.name()));
    }

    /// Add a note to the trace ("became leader of term 4"). The closure only runs when a
    /// trace is being recorded, so annotations cost nothing otherwise.
    pub fn annotate(&mut self, note: impl FnOnce() -> String) {
        if let Some(annotations) = self.annotations.as_deref_mut() {
            annotations.push(note());
        }
    }

    /// Run a handler of an embedded protocol `M` on this node: `f` gets a context of `M`
    /// with this node's clock, random stream, disk, timers and counters, over a cluster
    /// of the first `members` nodes (ids `0..members`). The messages and timers it queues
    /// become this node's through `wrap_msg` and `wrap_timer` (so they reach the embedded
    /// node again through the embedding node's handlers); its replies to clients are not
    /// sent but returned, for the embedding node to act on. This is how a protocol reuses
    /// another as a component, e.g. a chain's configuration service running Raft.
    pub fn embed<M, R>(
        &mut self,
        members: u32,
        wrap_msg: impl Fn(M::Msg) -> N::Msg,
        wrap_timer: impl Fn(M::Timer) -> N::Timer,
        f: impl FnOnce(&mut Context<'_, M>) -> R,
    ) -> (R, Vec<(RequestId, ReplyOf<M>)>)
    where
        M: Node,
    {
        assert!(
            self.id.0 < members && members <= self.node_count,
            "{} embeds a protocol over nodes 0..{members} of {}",
            self.id,
            self.node_count
        );
        let mut effects = Vec::new();
        let result = {
            let mut inner = Context::<M> {
                id: self.id,
                node_count: members,
                now: self.now,
                clock: self.clock,
                rng: &mut *self.rng,
                disk: &mut *self.disk,
                timers: &mut *self.timers,
                effects: &mut effects,
                counters: &mut *self.counters,
                buggify: &mut *self.buggify,
                annotations: self.annotations.as_deref_mut(),
                trigger: self.trigger.as_mut().map(Trigger::reborrow),
            };
            f(&mut inner)
        };
        let mut replies = Vec::new();
        for effect in effects {
            match effect {
                Effect::Send { to, msg } => {
                    self.effects.push(Effect::Send { to, msg: wrap_msg(msg) })
                }
                Effect::SetTimer { id, delay, timer } => {
                    self.effects.push(Effect::SetTimer { id, delay, timer: wrap_timer(timer) })
                }
                Effect::CancelTimer { id } => self.effects.push(Effect::CancelTimer { id }),
                Effect::Reply { id, reply } => replies.push((id, reply)),
            }
        }
        (result, replies)
    }
}

/// At most this many chosen peers are checked for a repeat by scanning them; more are
/// kept in a sorted set.
const SCAN_CHOSEN: usize = 32;

/// Fill `out` with `k` distinct peers of `me` in a cluster of `n` nodes (every peer if
/// there are fewer), uniform over ordered choices, drawing from `rng`.
///
/// Cost: when `k` is at least half the peers, a partial Fisher-Yates shuffle of all of
/// them, O(n) = O(k); otherwise rejection sampling, where each draw is new with
/// probability above one half, so O(k) draws are expected, each checked against the
/// chosen ones by a scan (k <= 32) or a sorted set (O(log k)).
pub fn sample_peers(rng: &mut SimRng, me: NodeId, n: u32, k: usize, out: &mut Vec<NodeId>) {
    out.clear();
    let peers = n.saturating_sub(1) as usize;
    let k = k.min(peers);
    // The peer at index `i` of the `peers` others: every node but `me`, in id order.
    let peer = |i: u64| NodeId(if i >= u64::from(me.0) { i as u32 + 1 } else { i as u32 });
    if 2 * k >= peers {
        out.extend((0..peers as u64).map(peer));
        for i in 0..k {
            let j = i + rng.below((peers - i) as u64) as usize;
            out.swap(i, j);
        }
        out.truncate(k);
        return;
    }
    let mut chosen = std::collections::BTreeSet::new();
    while out.len() < k {
        let candidate = peer(rng.below(peers as u64));
        let repeat =
            if k <= SCAN_CHOSEN { out.contains(&candidate) } else { !chosen.insert(candidate) };
        if !repeat {
            out.push(candidate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    /// How often each node is drawn over `draws` samples of `k` peers of `me` among `n`.
    fn tally(n: u32, me: u32, k: usize, draws: u32) -> Vec<u32> {
        let mut rng = SimRng::derive(11, Stream::Node, u64::from(me));
        let mut counts = vec![0; n as usize];
        let mut out = Vec::new();
        for _ in 0..draws {
            sample_peers(&mut rng, NodeId(me), n, k, &mut out);
            assert_eq!(out.len(), k.min(n as usize - 1));
            let mut sorted = out.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), out.len(), "distinct: {out:?}");
            for peer in &out {
                counts[peer.0 as usize] += 1;
            }
        }
        counts
    }

    /// Every peer is drawn within five standard deviations of its expected share (a
    /// binomial count), and `me` never.
    fn assert_uniform(n: u32, me: u32, k: usize, draws: u32) {
        let counts = tally(n, me, k, draws);
        assert_eq!(counts[me as usize], 0, "never itself");
        let p = k as f64 / f64::from(n - 1);
        let expected = f64::from(draws) * p;
        let sigma = (expected * (1.0 - p)).sqrt();
        for (node, &count) in counts.iter().enumerate().filter(|&(i, _)| i != me as usize) {
            let off = (f64::from(count) - expected).abs();
            assert!(off < 5.0 * sigma, "node {node}: {count} draws, expected {expected}");
        }
    }

    #[test]
    fn random_peers_are_distinct_uniform_and_never_the_node_itself() {
        assert_uniform(10, 4, 3, 30_000); // rejection sampling
        assert_uniform(10, 0, 7, 20_000); // the partial shuffle
        assert_uniform(200, 199, 40, 20_000); // rejection sampling with a sorted set
        assert_uniform(1000, 500, 3, 400_000);
    }

    #[test]
    fn every_position_of_the_choice_is_uniform_too() {
        // The first peer drawn is as uniform as the set: a protocol may use only out[0].
        let mut rng = SimRng::derive(3, Stream::Node, 0);
        let mut first = [0u32; 6];
        let mut out = Vec::new();
        for _ in 0..60_000 {
            sample_peers(&mut rng, NodeId(2), 6, 2, &mut out);
            first[out[0].0 as usize] += 1;
        }
        assert_eq!(first[2], 0);
        for (node, &count) in first.iter().enumerate().filter(|&(i, _)| i != 2) {
            assert!((11_400..12_600).contains(&count), "node {node} first {count} times");
        }
    }

    #[test]
    fn asking_for_more_peers_than_there_are_gives_each_once() {
        let mut rng = SimRng::derive(5, Stream::Node, 0);
        let mut out = Vec::new();
        sample_peers(&mut rng, NodeId(1), 4, 10, &mut out);
        out.sort();
        assert_eq!(out, [NodeId(0), NodeId(2), NodeId(3)]);
        sample_peers(&mut rng, NodeId(0), 1, 3, &mut out);
        assert!(out.is_empty(), "a lone node has no peer");
        sample_peers(&mut rng, NodeId(0), 5, 0, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn the_same_stream_draws_the_same_peers() {
        let draw = || {
            let mut rng = SimRng::derive(8, Stream::Node, 3);
            let mut out = Vec::new();
            (0..50)
                .map(|_| {
                    sample_peers(&mut rng, NodeId(3), 100, 5, &mut out);
                    out.clone()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(), draw());
    }
}
