//! Leaderless quorum replication as in Dynamo (DeCandia et al., "Dynamo: Amazon's Highly
//! Available Key-value Store", SOSP 2007) and Cassandra, serving dsim's key-value reads and
//! writes. Section numbers are the Dynamo paper's.
//!
//! - **Placement (§4.2).** Consistent hashing with virtual nodes ([`ring`]): a key lives on
//!   the first `replicas` (N) distinct nodes of its preference list.
//! - **Writes (§4.5).** Any node coordinates: it stamps the value with a [`Version`] read
//!   from its own clock (`ctx.now()`, skewed and drifting like a real one, so clock skew
//!   shows) and sends it to the N replicas; each keeps the newest version of a key
//!   (last-writer-wins), syncs it to disk, and acknowledges. The client is answered after
//!   `write_quorum` (W) acknowledgements.
//! - **Reads (§4.5).** The coordinator asks the N replicas and answers from the newest of
//!   the first `read_quorum` (R) replies. With `read_repair = "blocking"` it first writes
//!   that version back until W replicas hold it (as ABD's read does), so that a read never
//!   returns a value a later read could miss; `"async"` repairs stale replicas after
//!   answering (Dynamo's read repair, §5); `"off"` does not repair.
//! - **Hinted handoff and sloppy quorums (§4.6).** With `hinted_handoff`, a replica that has
//!   not acknowledged after `retry_interval` is stood in for by the next node of the
//!   preference list, which keeps the write as a hint (on its disk) and hands it to the
//!   home replica every `handoff_interval` until the home acknowledges. With
//!   `sloppy_quorum`, those stand-ins count toward W and also answer reads.
//!
//! - **Anti-entropy (§4.7).** Every `anti_entropy_interval`, with `anti_entropy =
//!   "push"` a replica sends every register it holds to the key's other replicas; with
//!   `"merkle"` it sends each peer the roots of the hash trees ([`merkle`]) of the key
//!   ranges both are replicas of, the two descend where hashes differ, and only the
//!   registers of differing leaves are sent (counters `anti_entropy_messages`,
//!   `anti_entropy_registers`, `merkle_leaves_differed`).
//!
//! What is promised: with R + W > N, strict quorums and clocks that agree, every read
//! sees the latest completed write (the quorums intersect, blocking repair makes a read's
//! value stick, and a later write gets a later timestamp): linearizable reads and writes.
//! With R + W <= N, a sloppy quorum, no blocking repair, or clocks that disagree, it is
//! not: the bundled scenarios of those configurations expect a violation. `cas` and
//! `append` have no atomic read-modify-write over last-writer-wins registers: they are
//! answered `fail` (not applied), and the quorum scenarios' clients do not issue them.
//!
//! Known-bug switches ([`Bugs`]): `repair_overwrites_newer` (a replica applies a read
//! repair without comparing versions, so an older value overwrites a newer one) and
//! `hint_replayed_twice` (a hint is replayed once more after the home acknowledged it,
//! stamped anew, so an old value wins over newer writes).

mod invariants;
pub mod merkle;
pub mod ring;
mod store;

pub use invariants::QuorumInvariants;
pub use store::{Store, Version};

use merkle::{Tree, TreeNode};
use ring::Ring;
use sim_core::history::Value;
use sim_core::kv::{KvWorkload, Op};
use sim_core::node::{Context, Node, NodeId, Reply, Request, RequestId};
use sim_core::protocol::{PropertySpec, Protocol};
use sim_core::{SimDuration, SimTime};
use std::collections::{BTreeMap, BTreeSet};

/// Operations one coordinator has open at once, at most this many (more are redirected).
const MAX_PENDING: usize = 4096;
/// The `op` of a message no coordinator waits for (repairs after answering, handoffs).
const NO_OP: u64 = 0;

sim_core::declare_options! {
    /// The options a scenario may set (`[protocol.options]`).
    pub struct QuorumOptions {
        /// N: how many replicas hold each key.
        replicas: u64 = 3,
        /// R: replies a read waits for.
        read_quorum: u64 = 2,
        /// W: acknowledgements a write waits for.
        write_quorum: u64 = 2,
        /// Points on the ring per node.
        vnodes: u64 = 8,
        /// "blocking" (write the newest version back to W replicas before answering),
        /// "async" (repair stale replicas after answering) or "off".
        read_repair: String = "blocking".to_owned(),
        /// Stand-in nodes keep writes for replicas that do not answer, and hand them off.
        hinted_handoff: bool = false,
        /// Stand-ins count toward R and W (needs hinted_handoff).
        sloppy_quorum: bool = false,
        /// A coordinator re-sends to replicas that have not answered after this long.
        retry_interval: SimDuration = SimDuration::from_millis(50),
        /// How often a node hands its hints off to their home replicas.
        handoff_interval: SimDuration = SimDuration::from_millis(100),
        /// A coordinator gives up on an operation after this long (the client will have).
        op_timeout: SimDuration = SimDuration::from_secs(1),
        /// How often a replica runs anti-entropy with the other replicas of its keys; 0
        /// turns it off.
        anti_entropy_interval: SimDuration = SimDuration::from_millis(200),
        /// "push" (every register to the key's other replicas) or "merkle" (Dynamo's:
        /// compare a hash tree per key range top down, send only the differing leaves).
        anti_entropy: String = "push".to_owned(),
    }
}

sim_core::declare_bugs! {
    /// The known-bug switches: real mistakes of quorum stores.
    pub struct Bugs {
        /// A replica applies a read repair without comparing versions: an older value
        /// overwrites a newer one.
        repair_overwrites_newer,
        /// A hint is replayed a second time after its home acknowledged it, stamped with
        /// the stand-in's clock as if new: an old value wins over newer writes.
        hint_replayed_twice,
    }
}

/// How a read repairs stale replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadRepair {
    Blocking,
    Async,
    Off,
}

/// How replicas reconcile in the background (the option `anti_entropy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AntiEntropy {
    Push,
    Merkle,
}

/// The configuration every node starts from.
#[derive(Clone, Debug)]
pub struct QuorumConfig {
    pub options: QuorumOptions,
    pub read_repair: ReadRepair,
    pub anti_entropy: AntiEntropy,
    pub bugs: Bugs,
}

/// The quorum store's messages.
#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// Store `value` at `version` (for `hint`'s home if this node stands in for it). A
    /// `repair` is a read repair's write-back.
    Write {
        op: u64,
        key: u64,
        version: Version,
        value: Value,
        hint: Option<NodeId>,
        repair: bool,
    },
    /// The sender holds `key` at `version` or newer (or a hint of it).
    WriteAck {
        op: u64,
        key: u64,
        version: Version,
    },
    Read {
        op: u64,
        key: u64,
    },
    ReadReply {
        op: u64,
        version: Version,
        value: Value,
    },
    /// Merkle anti-entropy: the sender's hashes of these nodes of the trees of key ranges
    /// both are replicas of; the receiver descends where its own differ.
    Tree {
        nodes: Vec<TreeNode>,
    },
    /// Merkle anti-entropy: the leaves (range, leaf) whose hashes differ; the receiver
    /// sends its registers in them.
    Leaves {
        leaves: Vec<(u32, u32)>,
    },
}

/// The quorum store's timers.
#[derive(Clone, Debug, Hash)]
pub enum Timer {
    /// Re-send operation `op` to the replicas that have not answered, or give it up.
    Retry { op: u64 },
    /// Hand hints off to their home replicas.
    Handoff,
    /// Push the registers to the other replicas of their keys.
    AntiEntropy,
}

/// Where an open operation stands.
#[derive(Debug)]
enum Phase {
    Write {
        version: Version,
        value: Value,
        acked: BTreeSet<NodeId>,
    },
    Read {
        replies: BTreeMap<NodeId, (Version, Value)>,
    },
    /// A blocking read repair: the read answers `value` once W replicas hold `version`.
    WriteBack {
        version: Version,
        value: Value,
        acked: BTreeSet<NodeId>,
    },
}

/// An operation this node coordinates.
#[derive(Debug)]
struct Pending {
    id: RequestId,
    key: u64,
    /// The key's N home replicas.
    homes: Vec<NodeId>,
    /// The rest of the preference list, next stand-in first.
    fallbacks: Vec<NodeId>,
    /// Stand-ins sent to, each with the home it stands in for.
    stand_ins: BTreeMap<NodeId, NodeId>,
    deadline: SimTime,
    phase: Phase,
    /// The client has its answer; the operation stays open to repair replicas that
    /// answer late (`read_repair = "async"`).
    answered: bool,
}

/// One node: a replica of the keys it is home for, a stand-in for others, and a
/// coordinator of its clients' operations.
pub struct Quorum {
    id: NodeId,
    config: QuorumConfig,
    ring: Ring,
    store: Store,
    pending: BTreeMap<u64, Pending>,
    next_op: u64,
    /// Keys this node has heard of (to compare the replicas of each at the end).
    known_keys: BTreeSet<u64>,
    /// Hints handed off, to replay once more (the bug `hint_replayed_twice`).
    replay_again: Vec<(NodeId, u64, Value)>,
}

impl Quorum {
    /// The replica's store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn options(&self) -> &QuorumOptions {
        &self.config.options
    }

    /// The key's home replicas and the rest of its preference list.
    fn placement(&self, key: u64) -> (Vec<NodeId>, Vec<NodeId>) {
        let mut list = self.ring.preference(key);
        let fallbacks = list.split_off(self.options().replicas as usize);
        (list, fallbacks)
    }

    /// The nodes whose answers count toward a quorum: homes, and stand-ins if sloppy.
    fn counts(&self, pending: &Pending, node: NodeId) -> bool {
        pending.homes.contains(&node)
            || (self.options().sloppy_quorum && pending.stand_ins.contains_key(&node))
    }

    fn open(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, key: u64, phase: Phase) {
        if self.pending.len() >= MAX_PENDING {
            ctx.reply(id, Reply::Redirect(None));
            return;
        }
        self.known_keys.insert(key);
        self.next_op += 1;
        let op = self.next_op;
        let (homes, fallbacks) = self.placement(key);
        let deadline = ctx.now() + self.options().op_timeout;
        let pending = Pending {
            id,
            key,
            homes,
            fallbacks,
            stand_ins: BTreeMap::new(),
            deadline,
            phase,
            answered: false,
        };
        for &home in &pending.homes {
            ctx.send(home, request_message(op, &pending, None));
        }
        self.pending.insert(op, pending);
        ctx.set_timer(self.options().retry_interval, Timer::Retry { op });
    }

    /// A reply or an acknowledgement from `from` for `op`.
    fn on_answer(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        op: u64,
        answer: (Version, Value),
    ) {
        let Some(pending) = self.pending.get(&op) else { return };
        if !self.counts(pending, from) {
            return;
        }
        let (write_quorum, read_quorum) =
            (self.options().write_quorum as usize, self.options().read_quorum as usize);
        let pending = self.pending.get_mut(&op).expect("looked up");
        match &mut pending.phase {
            Phase::Write { version, acked, .. } | Phase::WriteBack { version, acked, .. } => {
                if answer.0 >= *version {
                    acked.insert(from);
                }
                if acked.len() >= write_quorum {
                    self.finish(ctx, op);
                }
            }
            Phase::Read { replies } => {
                replies.insert(from, answer);
                if pending.answered {
                    self.repair_stale(ctx, op);
                } else if replies.len() >= read_quorum {
                    self.read_quorum_reached(ctx, op);
                }
            }
        }
    }

    /// R replies are in: answer from the newest, after repairing as configured.
    fn read_quorum_reached(&mut self, ctx: &mut Context<'_, Self>, op: u64) {
        let write_quorum = self.options().write_quorum as usize;
        let repair = self.config.read_repair;
        let pending = self.pending.get_mut(&op).expect("open");
        let Phase::Read { replies } = &pending.phase else { unreachable!("a read") };
        let (version, value) =
            replies.values().max_by_key(|(v, _)| *v).cloned().expect("R >= 1 replies");
        let holders: BTreeSet<NodeId> =
            replies.iter().filter(|(_, (v, _))| *v == version).map(|(&n, _)| n).collect();
        let key = pending.key;
        match repair {
            ReadRepair::Blocking if holders.len() < write_quorum => {
                ctx.count("read_repair_blocking");
                let targets: Vec<NodeId> =
                    pending.homes.iter().copied().filter(|n| !holders.contains(n)).collect();
                pending.phase = Phase::WriteBack { version, value: value.clone(), acked: holders };
                for to in targets {
                    let repair = Msg::Write {
                        op,
                        key,
                        version,
                        value: value.clone(),
                        hint: None,
                        repair: true,
                    };
                    ctx.send(to, repair);
                }
            }
            ReadRepair::Async => {
                ctx.reply(pending.id, Reply::Ok(value));
                pending.answered = true;
                self.repair_stale(ctx, op);
            }
            _ => self.finish(ctx, op),
        }
    }

    /// An answered read (async repair): bring every replica that replied with an older
    /// version up to the newest, and close the read once all homes have replied.
    fn repair_stale(&mut self, ctx: &mut Context<'_, Self>, op: u64) {
        let pending = self.pending.get_mut(&op).expect("open");
        let Phase::Read { replies } = &mut pending.phase else { unreachable!("a read") };
        let (version, value) =
            replies.values().max_by_key(|(v, _)| *v).cloned().expect("R >= 1 replies");
        for (&to, reply) in replies.iter_mut().filter(|(_, (v, _))| *v < version) {
            ctx.count("read_repair_async");
            let key = pending.key;
            let repair = Msg::Write {
                op: NO_OP,
                key,
                version,
                value: value.clone(),
                hint: None,
                repair: true,
            };
            ctx.send(to, repair);
            *reply = (version, value.clone());
        }
        if pending.homes.iter().all(|h| replies.contains_key(h)) {
            self.pending.remove(&op);
        }
    }

    /// Answer the client of `op` and close it.
    fn finish(&mut self, ctx: &mut Context<'_, Self>, op: u64) {
        let pending = self.pending.remove(&op).expect("open");
        let reply = match pending.phase {
            Phase::Write { .. } => Value::Nil,
            Phase::WriteBack { value, .. } => value,
            Phase::Read { replies } => {
                replies.into_values().max_by_key(|(v, _)| *v).expect("R >= 1 replies").1
            }
        };
        ctx.reply(pending.id, Reply::Ok(reply));
    }

    fn on_retry(&mut self, ctx: &mut Context<'_, Self>, op: u64) {
        let now = ctx.now();
        let handoff = self.options().hinted_handoff;
        let Some(pending) = self.pending.get_mut(&op) else { return };
        if pending.answered {
            // An async repair waits for late replies only until the next retry.
            self.pending.remove(&op);
            return;
        }
        if now >= pending.deadline {
            ctx.count("operation_abandoned");
            self.pending.remove(&op);
            return;
        }
        let answered: BTreeSet<NodeId> = match &pending.phase {
            Phase::Write { acked, .. } | Phase::WriteBack { acked, .. } => acked.clone(),
            Phase::Read { replies } => replies.keys().copied().collect(),
        };
        let covered: BTreeSet<NodeId> = pending.stand_ins.values().copied().collect();
        let silent: Vec<NodeId> =
            pending.homes.iter().copied().filter(|n| !answered.contains(n)).collect();
        for home in silent {
            ctx.send(home, request_message(op, pending, None));
            if handoff && !covered.contains(&home) && !pending.fallbacks.is_empty() {
                let stand_in = pending.fallbacks.remove(0);
                pending.stand_ins.insert(stand_in, home);
                ctx.count("stand_in_used");
                ctx.send(stand_in, request_message(op, pending, Some(home)));
            }
        }
        ctx.set_timer(self.options().retry_interval, Timer::Retry { op });
    }

    fn on_handoff(&mut self, ctx: &mut Context<'_, Self>) {
        let hints: Vec<(NodeId, u64, Version, Value)> =
            self.store.hints().map(|(h, k, v, value)| (h, k, v, value.clone())).collect();
        for (home, key, version, value) in hints {
            ctx.send(
                home,
                Msg::Write { op: NO_OP, key, version, value, hint: None, repair: false },
            );
        }
        for (home, key, value) in std::mem::take(&mut self.replay_again) {
            ctx.count("hint_replayed_again");
            let version = Version {
                time: ctx.now().as_nanos(),
                coordinator: ctx.id().0,
                client: u32::MAX,
                seq: 0,
            };
            ctx.send(
                home,
                Msg::Write { op: NO_OP, key, version, value, hint: None, repair: false },
            );
        }
        ctx.set_timer(self.options().handoff_interval, Timer::Handoff);
    }

    fn on_anti_entropy(&mut self, ctx: &mut Context<'_, Self>) {
        let me = ctx.id();
        match self.config.anti_entropy {
            AntiEntropy::Push => {
                for (&key, register) in self.store.registers() {
                    for to in self.placement(key).0.into_iter().filter(|&n| n != me) {
                        push_register(ctx, to, key, register);
                    }
                }
            }
            AntiEntropy::Merkle => {
                // One message per peer: the roots of the ranges both are replicas of.
                let trees = self.trees();
                let mut roots: BTreeMap<NodeId, Vec<TreeNode>> = BTreeMap::new();
                for (&range, tree) in &trees {
                    let hash = tree.hash(0, 0);
                    let node = TreeNode { range: range as u32, level: 0, index: 0, hash };
                    for peer in self.range_homes(range).into_iter().filter(|&n| n != me) {
                        roots.entry(peer).or_default().push(node);
                    }
                }
                for (peer, nodes) in roots {
                    ctx.count("anti_entropy_messages");
                    ctx.send(peer, Msg::Tree { nodes });
                }
            }
        }
        ctx.set_timer(self.options().anti_entropy_interval, Timer::AntiEntropy);
    }

    /// The home replicas of the keys of ring range `range`.
    fn range_homes(&self, range: usize) -> Vec<NodeId> {
        let mut list = self.ring.range_preference(range);
        list.truncate(self.options().replicas as usize);
        list
    }

    /// The hash tree of every key range this node is a home of.
    fn trees(&self) -> BTreeMap<usize, Tree> {
        let me = self.id;
        let mut keys: BTreeMap<usize, Vec<u64>> = (0..self.ring.ranges())
            .filter(|&r| self.range_homes(r).contains(&me))
            .map(|r| (r, Vec::new()))
            .collect();
        for &key in self.store.registers().keys() {
            if let Some(range) = keys.get_mut(&self.ring.range(key)) {
                range.push(key);
            }
        }
        let registers = self.store.registers();
        keys.into_iter()
            .map(|(range, keys)| (range, Tree::build(keys.iter().map(|k| (*k, &registers[k])))))
            .collect()
    }

    /// A peer's tree nodes: descend where ours differ (answering with our hashes of their
    /// children), and at a differing leaf exchange its registers both ways.
    fn on_tree(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, nodes: Vec<TreeNode>) {
        let trees = self.trees();
        let mut deeper = Vec::new();
        let mut leaves = Vec::new();
        for node in nodes {
            let Some(tree) = trees.get(&(node.range as usize)) else { continue };
            if node.level > merkle::DEPTH || tree.hash(node.level, node.index) == node.hash {
                continue;
            }
            if node.level == merkle::DEPTH {
                leaves.push((node.range, node.index));
                continue;
            }
            let level = node.level + 1;
            for index in Tree::children(node.index) {
                let hash = tree.hash(level, index);
                deeper.push(TreeNode { range: node.range, level, index, hash });
            }
        }
        if !deeper.is_empty() {
            ctx.count("anti_entropy_messages");
            ctx.send(from, Msg::Tree { nodes: deeper });
        }
        if !leaves.is_empty() {
            ctx.count("merkle_leaves_differed");
            self.push_leaves(ctx, from, &leaves);
            ctx.count("anti_entropy_messages");
            ctx.send(from, Msg::Leaves { leaves });
        }
    }

    /// Send `to` this node's registers in the leaves `leaves` (range, leaf).
    fn push_leaves(&self, ctx: &mut Context<'_, Self>, to: NodeId, leaves: &[(u32, u32)]) {
        for (&key, register) in self.store.registers() {
            let range = self.ring.range(key) as u32;
            if leaves.contains(&(range, merkle::leaf_of(key))) {
                push_register(ctx, to, key, register);
            }
        }
    }

    /// The newest version this node holds of `key`, as a replica or a stand-in.
    fn held(&self, key: u64) -> (Version, Value) {
        let own = self.store.get(key);
        self.store
            .hints()
            .filter(|&(_, k, v, _)| k == key && v > own.0)
            .max_by_key(|&(_, _, v, _)| v)
            .map_or(own, |(_, _, v, value)| (v, value.clone()))
    }
}

/// Anti-entropy: send `to` this node's register of `key`.
fn push_register<N: Node<Msg = Msg>>(
    ctx: &mut Context<'_, N>,
    to: NodeId,
    key: u64,
    (version, value): &(Version, Value),
) {
    ctx.count("anti_entropy_messages");
    ctx.count("anti_entropy_registers");
    let value = value.clone();
    ctx.send(
        to,
        Msg::Write { op: NO_OP, key, version: *version, value, hint: None, repair: false },
    );
}

/// The message `op` sends a replica (or a stand-in for `hint`).
fn request_message(op: u64, pending: &Pending, hint: Option<NodeId>) -> Msg {
    let key = pending.key;
    match &pending.phase {
        Phase::Write { version, value, .. } => {
            Msg::Write { op, key, version: *version, value: value.clone(), hint, repair: false }
        }
        Phase::WriteBack { version, value, .. } => {
            Msg::Write { op, key, version: *version, value: value.clone(), hint, repair: true }
        }
        Phase::Read { .. } => Msg::Read { op, key },
    }
}

impl Node for Quorum {
    type Config = QuorumConfig;
    type Msg = Msg;
    type Timer = Timer;
    type Workload = KvWorkload;

    fn start(config: &QuorumConfig, ctx: &mut Context<'_, Self>) -> Self {
        let store = Store::recover(ctx);
        if config.options.hinted_handoff {
            ctx.set_timer(config.options.handoff_interval, Timer::Handoff);
        }
        if config.options.anti_entropy_interval > SimDuration::ZERO {
            ctx.set_timer(config.options.anti_entropy_interval, Timer::AntiEntropy);
        }
        Quorum {
            id: ctx.id(),
            config: config.clone(),
            ring: Ring::new(ctx.cluster_size(), config.options.vnodes),
            known_keys: store.registers().keys().copied().collect(),
            store,
            pending: BTreeMap::new(),
            next_op: 0,
            replay_again: Vec::new(),
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Write { op, key, version, value, hint, repair } => {
                self.known_keys.insert(key);
                match hint {
                    Some(home) => self.store.hint(ctx, home, key, version, value),
                    None => {
                        let blind = repair && self.config.bugs.repair_overwrites_newer;
                        self.store.write(ctx, key, version, value, blind);
                    }
                }
                ctx.send(from, Msg::WriteAck { op, key, version });
            }
            Msg::WriteAck { op, key, version } => {
                if self.store.hints().any(|(h, k, v, _)| h == from && k == key && v <= version) {
                    if self.config.bugs.hint_replayed_twice {
                        let (.., value) = self.held_hint(from, key);
                        self.replay_again.push((from, key, value));
                    }
                    ctx.count("hint_handed_off");
                    self.store.hint_delivered(ctx, from, key, version);
                }
                if op != NO_OP {
                    self.on_answer(ctx, from, op, (version, Value::Nil));
                }
            }
            Msg::Read { op, key } => {
                self.known_keys.insert(key);
                let (version, value) = self.held(key);
                ctx.send(from, Msg::ReadReply { op, version, value });
            }
            Msg::ReadReply { op, version, value } => {
                self.on_answer(ctx, from, op, (version, value))
            }
            Msg::Tree { nodes } => self.on_tree(ctx, from, nodes),
            Msg::Leaves { leaves } => self.push_leaves(ctx, from, &leaves),
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        match timer {
            Timer::Retry { op } => self.on_retry(ctx, op),
            Timer::Handoff => self.on_handoff(ctx),
            Timer::AntiEntropy => self.on_anti_entropy(ctx),
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request<Op>) {
        match request.op {
            Op::Read { key } => {
                self.open(ctx, request.id, key, Phase::Read { replies: BTreeMap::new() })
            }
            Op::Write { key, value } => {
                let version = Version {
                    time: ctx.now().as_nanos(),
                    coordinator: ctx.id().0,
                    client: request.id.client.0,
                    seq: request.id.seq,
                };
                let phase = Phase::Write { version, value, acked: BTreeSet::new() };
                self.open(ctx, request.id, key, phase);
            }
            Op::Cas { .. } | Op::Append { .. } => {
                // No atomic read-modify-write over last-writer-wins registers: not applied.
                ctx.count("unsupported_operation");
                ctx.reply(request.id, Reply::Fail);
            }
        }
    }
}

impl Quorum {
    /// The hint this node holds for `home` and `key`.
    fn held_hint(&self, home: NodeId, key: u64) -> (Version, Value) {
        self.store
            .hints()
            .find(|&(h, k, _, _)| h == home && k == key)
            .map(|(_, _, v, value)| (v, value.clone()))
            .expect("a hint is held")
    }
}

impl Protocol for Quorum {
    const NAME: &'static str = "quorum";
    const SUMMARY: &'static str = "Dynamo-style leaderless replication: consistent hashing, N/R/W quorums, last-writer-wins, read repair, hinted handoff";
    type Invariants = QuorumInvariants;
    type Options = QuorumOptions;
    type Bugs = Bugs;

    fn configure(options: QuorumOptions, bugs: Bugs) -> Result<QuorumConfig, String> {
        let n = options.replicas;
        if n == 0 {
            return Err("replicas (N) must be at least 1".into());
        }
        for (name, q) in
            [("read_quorum", options.read_quorum), ("write_quorum", options.write_quorum)]
        {
            if q == 0 || q > n {
                return Err(format!("{name} must be from 1 to replicas ({n}), not {q}"));
            }
        }
        if options.vnodes == 0 {
            return Err("vnodes must be at least 1".into());
        }
        let read_repair = match options.read_repair.as_str() {
            "blocking" => ReadRepair::Blocking,
            "async" => ReadRepair::Async,
            "off" => ReadRepair::Off,
            other => {
                return Err(format!(
                    "read_repair must be \"blocking\", \"async\" or \"off\", not {other:?}"
                ));
            }
        };
        let anti_entropy = match options.anti_entropy.as_str() {
            "push" => AntiEntropy::Push,
            "merkle" => AntiEntropy::Merkle,
            other => {
                return Err(format!("anti_entropy must be \"push\" or \"merkle\", not {other:?}"));
            }
        };
        if options.sloppy_quorum && !options.hinted_handoff {
            return Err("sloppy_quorum needs hinted_handoff = true: stand-ins are what a sloppy quorum counts".into());
        }
        for (name, d) in [
            ("retry_interval", options.retry_interval),
            ("handoff_interval", options.handoff_interval),
            ("op_timeout", options.op_timeout),
        ] {
            if d == SimDuration::ZERO {
                return Err(format!("{name} must be positive"));
            }
        }
        Ok(QuorumConfig { options, read_repair, anti_entropy, bugs })
    }

    fn fits_cluster(config: &QuorumConfig, nodes: u32) -> Result<(), String> {
        if config.options.replicas > u64::from(nodes) {
            return Err(format!(
                "replicas (N) = {} but the cluster has {nodes} nodes; N must be at most cluster.nodes",
                config.options.replicas
            ));
        }
        Ok(())
    }

    fn properties() -> Vec<PropertySpec> {
        vec![
            PropertySpec::always(
                "versions_monotone",
                "A replica's version of a key never goes back, across crashes too (writes are synced before they are acknowledged).",
            ),
            PropertySpec::sometimes(
                "read_repair_blocking",
                "A read wrote the newest version back before answering.",
            ),
            PropertySpec::sometimes(
                "read_repair_async",
                "A read repaired a stale replica after answering.",
            ),
            PropertySpec::sometimes(
                "stand_in_used",
                "A write or read went to a stand-in for a silent replica.",
            ),
            PropertySpec::sometimes(
                "hint_handed_off",
                "A stand-in handed a hint to its home replica.",
            ),
        ]
    }

    fn key_digests(&self) -> Option<Vec<(u64, u64)>> {
        let me = self.id;
        Some(
            self.known_keys
                .iter()
                .filter(|&&key| self.placement(key).0.contains(&me))
                .map(|&key| (key, self.store.key_digest(key)))
                .collect(),
        )
    }
}
