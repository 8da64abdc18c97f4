//! Chain replication (van Renesse and Schneider, "Chain Replication for Supporting High
//! Throughput and Availability", OSDI 2004), serving dsim's key-value clients, with the
//! chain's configuration kept by a master group that runs this crate's Raft.
//!
//! - **Data path (§2).** The replicas form a chain. Updates (write, cas, append) enter at
//!   the head, which orders them by a sequence number, applies each to its store and
//!   forwards it down the chain; every replica applies updates in sequence order and
//!   forwards them. The tail, having applied an update, answers the client: an update is
//!   committed once the tail holds it. Acknowledgements flow back up the chain, so each
//!   replica keeps only its *sent-but-unacknowledged* updates (the paper's `Sent_i`).
//!   Queries (reads) are served by the tail alone, so every read sees exactly the
//!   committed updates.
//! - **Master (§3).** The chain's configuration (an epoch and the ordered members) is a
//!   value in the replicated store of a Raft group on the first `masters` nodes, embedded
//!   in this node ([`Context::embed`]): the paper's master is itself replicated with a
//!   consensus protocol, and here that protocol is the crate's Raft, not a new one. A
//!   change is a compare-and-set of the configuration through the Raft log, so two
//!   masters can never install different successors of one configuration. Every replica
//!   heartbeats the master leader, which removes a replica it has not heard from for
//!   `failure_timeout` and appends a restarted (or removed, still alive) replica at the
//!   tail. Replicas learn the configuration from the master leader's answers; a master
//!   node adopts the configuration its own Raft applied only while it is a current
//!   leader ([`MasterHost`]), as a lagging follower's state machine holds an old one.
//! - **Failures (§3).** A new head needs nothing: updates the old head sent are already
//!   down the chain, and those it had not sent were never acknowledged (clients re-send,
//!   and client sessions apply a retried update once). A new tail commits every update it
//!   had sent but not seen acknowledged, and answers their clients. After the failure of
//!   a middle replica its successor reports the last update it holds, and its new
//!   predecessor re-sends the sent-but-unacknowledged updates after it (§3, "failure of
//!   other servers"). A replica joining at the tail first receives its predecessor's whole
//!   state (§3, "extending a chain").
//! - **Reads after a failure.** A tail the master wrongly suspects (a partition, a pause)
//!   must not keep answering reads once a new tail commits updates. The master's answer to
//!   a heartbeat is a lease: the replica serves reads only until `lease` after it sent the
//!   heartbeat, and the master removes a replica only `failure_timeout` (longer than
//!   the lease) after it last heard from it. A master leader deposed by a partition may
//!   still grant a lease until its Raft's check-quorum makes it step down, so after a
//!   view that removes the tail every member answers no client for a hold that outlasts
//!   such a lease ([`MasterOptions::takeover_hold`](crate::membership::MasterOptions)).
//!
//! - **Apportioned reads (CRAQ, Terrace and Freedman, USENIX ATC 2009), `reads =
//!   "craq"`.** Every replica keeps, per key, the clean (committed) value and a dirty
//!   version per update it applied that the tail has not acknowledged, and answers reads
//!   itself: a clean key from its store, under its lease; a dirty key (or any key before
//!   a lease) by asking the tail for the version of the key it has committed (the
//!   sequence number of its last update to it) and answering with that version. A
//!   replica has applied everything the tail has, so it holds that version, or has seen a
//!   later one committed since, which is as good. Clients stay with the replica they
//!   picked: a replica other than the head passes their updates to the head. As any replica
//!   may serve reads, a view that removes any member holds every member's answers, as one
//!   that removes the tail does.
//!
//! Replicas keep their data in memory, as the paper's do: a restarted replica rejoins
//! as a new tail with a copy of its predecessor's state. The master's Raft persists its
//! log as Raft always does.
//!
//! Known-bug switches ([`Bugs`]): `dirty_reads` (a replica other than the tail answers
//! reads, with updates the tail has not committed) and `drop_unacked_on_reconfig` (after
//! a reconfiguration the in-flight updates are dropped, not re-sent, and replicas apply
//! whatever update comes next), and with craq reads `craq_newest_dirty` (a replica
//! answers a dirty key with its newest version, without asking the tail).

mod invariants;

pub use crate::membership::View;
pub use invariants::ChainInvariants;

use crate::codec::Decoder;
use crate::kv::{KvStore, SnapshotBytes};
use crate::membership::{Master, MasterHost, MasterLink};
use crate::raft::{self, RaftConfig};
use sim_core::history::Value;
use sim_core::kv::{KvWorkload, Op};
use sim_core::node::{Context, Node, NodeId, Reply, Request, RequestId};
use sim_core::protocol::{PropertySpec, Protocol};
use sim_core::{SimDuration, SimTime};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A marker file: a node that finds it at start has run before, so its memory is gone
/// and it must rejoin the chain.
const STARTED_FILE: &str = "chain-started";
/// Updates buffered ahead of a gap, at most this many.
const MAX_AHEAD: usize = 1024;
/// Unacknowledged updates re-sent per tick, at most this many.
const RESEND_BATCH: usize = 64;
/// Client requests waiting for an update to commit, at most this many.
const MAX_WAITING: usize = 4096;
/// CRAQ reads waiting for the tail's answer, at most this many (the oldest go first).
const MAX_QUERIES: usize = 256;

sim_core::declare_options! {
    /// The options a scenario may set (`[protocol.options]`).
    pub struct ChainOptions {
        /// How many nodes (ids 0..masters) run the master's Raft group.
        masters: u32 = 3,
        /// How often a replica heartbeats the master, and the master checks the chain.
        heartbeat_interval: SimDuration = SimDuration::from_millis(50),
        /// The master removes a replica it has not heard from for this long.
        failure_timeout: SimDuration = SimDuration::from_millis(400),
        /// A tail serves reads for this long after sending a heartbeat the master answered.
        lease: SimDuration = SimDuration::from_millis(200),
        /// The master re-proposes a configuration change not applied after this long.
        proposal_timeout: SimDuration = SimDuration::from_millis(500),
        /// Who serves reads: "tail" (the paper) or "craq" (CRAQ's apportioned reads:
        /// every replica answers a key it holds no uncommitted update of, and asks the
        /// tail which version is committed otherwise).
        reads: String = "tail".to_owned(),
    }
}

sim_core::declare_bugs! {
    /// The known-bug switches: real mistakes of chain implementations.
    pub struct Bugs {
        /// A replica other than the tail answers reads from its own store, which holds
        /// updates the tail has not committed (and that a failure may lose).
        dirty_reads,
        /// A reconfigured chain drops its in-flight updates: a predecessor does not re-send
        /// its sent-but-unacknowledged updates to a new successor, and replicas apply
        /// whichever update comes next instead of waiting for the missing ones.
        drop_unacked_on_reconfig,
        /// With `reads = "craq"`, a replica answers a read of a key it holds uncommitted
        /// updates of with its newest version, without asking the tail which is committed.
        craq_newest_dirty,
    }
}

/// Who serves reads (the option `reads`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reads {
    /// The tail alone (the paper's chain replication).
    Tail,
    /// Every replica (CRAQ, Terrace and Freedman, USENIX ATC 2009).
    Craq,
}

/// The configuration every node starts from.
#[derive(Clone, Debug)]
pub struct ChainConfig {
    pub options: ChainOptions,
    /// The option `reads`, parsed.
    pub reads: Reads,
    pub bugs: Bugs,
    /// The master group's Raft: its default options, with check-quorum.
    pub raft: RaftConfig,
}

/// Chain replication's messages.
#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// The master group's Raft.
    Raft(raft::Msg),
    /// An update, from a replica to its successor in `epoch`.
    Forward { epoch: u64, seq: u64, command: Request<Op> },
    /// The tail has committed every update up to `seq`; passed up the chain.
    Ack { epoch: u64, seq: u64 },
    /// A replica to its predecessor in `epoch`: the last update it holds, or that it holds
    /// nothing valid and needs the whole state.
    Hello { epoch: u64, applied: u64, synced: bool },
    /// A predecessor's answer to a `Hello`: it has re-sent every unacknowledged update
    /// after the successor's.
    Welcome { epoch: u64 },
    /// A predecessor's whole state, to a replica joining in `epoch` (with `reads =
    /// "craq"`, the last update of each key too).
    StateTransfer { epoch: u64, applied: u64, store: SnapshotBytes, versions: Arc<Vec<(u64, u64)>> },
    /// A client's update that reached a replica other than the head (`reads = "craq"`,
    /// whose clients stay with the replica they read from), passed to the head.
    Submit { request: Request<Op> },
    /// CRAQ: a replica asks the tail which version of `key` is committed, for its read
    /// number `query`.
    VersionQuery { epoch: u64, query: u64, key: u64 },
    /// The tail's answer: the last update of the key it has committed (0: none).
    Version { epoch: u64, query: u64, version: u64 },
    /// A replica to the master: it is alive (at its local time `sent_at`), and whether it
    /// holds a valid state.
    Heartbeat { sent_at: SimTime, synced: bool },
    /// The master leader's answer: the configuration, and a read lease from `sent_at`.
    Grant { sent_at: SimTime, view: View },
}

/// Chain replication's timers.
#[derive(Clone, Debug, Hash)]
pub enum Timer {
    /// The master group's Raft.
    Raft(raft::Timer),
    /// Heartbeat the master; on the master leader, check the chain; re-send a `Hello`.
    Tick,
}

/// One node: a chain replica, and on nodes `0..masters` a member of the master group.
pub struct Chain {
    config: ChainConfig,
    /// The master group's Raft server and its chain-checking state, on nodes `0..masters`.
    master: Option<Master>,
    /// The configuration this replica acts on.
    view: View,
    /// Whether the store is a valid prefix of the chain's updates (false after a restart
    /// or a removal, until a state transfer).
    synced: bool,
    store: KvStore,
    /// Sequence number of the last update applied.
    applied: u64,
    /// Highest update known committed (acknowledged by the tail).
    committed: u64,
    /// `committed` at the previous tick (no progress since: re-send).
    committed_at_tick: u64,
    /// Updates sent to the successor and not yet acknowledged (the paper's `Sent_i`).
    unacked: BTreeMap<u64, Request<Op>>,
    /// Updates that arrived ahead of a gap.
    ahead: BTreeMap<u64, Request<Op>>,
    /// Client requests (retries of applied updates) to answer when `seq` commits.
    waiting: Vec<(u64, RequestId)>,
    /// Whether the predecessor answered this epoch's `Hello`.
    welcomed: bool,
    /// No update has been applied since the last reconfiguration (what the bug
    /// `drop_unacked_on_reconfig` gets wrong).
    reconfigured: bool,
    /// The master to heartbeat, the tail's read lease, and the hold of a member after
    /// the tail was removed (the old tail may still hold a lease).
    link: MasterLink,
    /// Committed updates whose clients are answered when the hold ends.
    held: Vec<RequestId>,
    /// Reads (request, key) served when the hold ends.
    held_reads: Vec<(RequestId, u64)>,
    /// `reads = "craq"`: per key, the last update applied to it (CRAQ's version number).
    versions: BTreeMap<u64, u64>,
    /// `reads = "craq"`: the keys this replica holds uncommitted updates of.
    dirty: BTreeMap<u64, DirtyKey>,
    /// `reads = "craq"`: reads of dirty keys (request, key) waiting for the tail's
    /// answer, by query number.
    queries: BTreeMap<u64, (RequestId, u64)>,
    next_query: u64,
}

/// CRAQ: a key with uncommitted updates at this replica.
#[derive(Clone, Debug)]
struct DirtyKey {
    /// The value after the last committed update.
    clean: Value,
    /// The value after each uncommitted update, by sequence number.
    dirty: BTreeMap<u64, Value>,
}

impl Chain {
    /// The configuration this replica acts on.
    pub fn view(&self) -> &View {
        &self.view
    }

    /// Whether this replica's state is a valid member's.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Sequence number of the last update applied here.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// The replica's store.
    pub fn store(&self) -> &KvStore {
        &self.store
    }

    fn is_member(&self, ctx: &Context<'_, Self>) -> bool {
        self.synced && self.view.position(ctx.id()).is_some()
    }

    fn is_head(&self, ctx: &Context<'_, Self>) -> bool {
        self.synced && self.view.first() == Some(ctx.id())
    }

    fn is_tail(&self, ctx: &Context<'_, Self>) -> bool {
        self.synced && self.view.last() == Some(ctx.id())
    }

    /// Adopt a configuration newer than ours, with the paper's handling of the failure
    /// (or extension) it records.
    fn adopt(&mut self, ctx: &mut Context<'_, Self>, view: View) {
        if view.epoch <= self.view.epoch {
            return;
        }
        ctx.annotate(|| format!("adopts {view:?}"));
        ctx.count("chain_reconfigured");
        let was_tail = self.is_tail(ctx);
        let old = std::mem::replace(&mut self.view, view);
        self.ahead.clear();
        self.queries.clear();
        self.welcomed = false;
        self.reconfigured = true;
        if self.view.position(ctx.id()).is_none() {
            // Removed (wrongly suspected, or restarted): our state may hold updates the
            // chain never committed. Drop it and rejoin with a copy.
            if self.synced {
                ctx.count("replica_removed_alive");
            }
            self.leave();
            return;
        }
        if self.config.bugs.drop_unacked_on_reconfig {
            self.unacked.clear();
        }
        let removed = |n: &NodeId| self.view.position(*n).is_none();
        let reader_removed = match self.config.reads {
            Reads::Tail => old.last().as_ref().is_some_and(removed),
            Reads::Craq => old.members.iter().any(removed),
        };
        if reader_removed || (self.is_tail(ctx) && !was_tail) {
            // A removed replica that served reads (the tail; with craq reads, any) may
            // still be serving them on a lease (a deposed master leader may grant one):
            // until it has surely stopped, no member answers a client with what the new
            // chain commits, neither the new tail nor the head answering a retry.
            let hold = self.config.options.master().takeover_hold(&self.config.raft);
            self.link.hold(ctx.now(), hold);
            ctx.count("tail_hold");
        }
        if self.is_tail(ctx) {
            self.commit_unacked(ctx);
        }
        self.say_hello(ctx);
    }

    /// Forget the state: this replica is no longer a valid member.
    fn leave(&mut self) {
        self.synced = false;
        self.link.revoke();
        self.held.clear();
        self.held_reads.clear();
        self.store = KvStore::default();
        self.applied = 0;
        self.committed = 0;
        self.unacked.clear();
        self.ahead.clear();
        self.waiting.clear();
        self.versions.clear();
        self.dirty.clear();
        self.queries.clear();
    }

    /// A new tail: every update it sent and did not see acknowledged is committed now.
    fn commit_unacked(&mut self, ctx: &mut Context<'_, Self>) {
        if !self.unacked.is_empty() {
            ctx.count("tail_committed_unacked");
        }
        for command in std::mem::take(&mut self.unacked).into_values() {
            self.answer(ctx, command.id);
        }
        self.advance_committed(ctx, self.applied);
    }

    fn say_hello(&mut self, ctx: &mut Context<'_, Self>) {
        if let Some(predecessor) = self.view.predecessor(ctx.id()) {
            let hello =
                Msg::Hello { epoch: self.view.epoch, applied: self.applied, synced: self.synced };
            ctx.send(predecessor, hello);
        } else {
            self.welcomed = true;
        }
    }

    /// Answer a client from the session of its request, if it is still the latest (after
    /// the hold of a new tail).
    fn answer(&mut self, ctx: &mut Context<'_, Self>, id: RequestId) {
        if self.link.holding(ctx.now()) {
            if self.held.len() < MAX_WAITING {
                self.held.push(id);
            }
            return;
        }
        if let Some(reply) = self.store.cached_reply(id) {
            ctx.reply(id, reply.clone());
        }
    }

    /// Everything up to `seq` is committed: trim `unacked`, answer waiting retries, and
    /// tell the predecessor.
    fn advance_committed(&mut self, ctx: &mut Context<'_, Self>, seq: u64) {
        let seq = seq.min(self.applied);
        if seq <= self.committed && !self.is_tail(ctx) {
            return;
        }
        self.committed = self.committed.max(seq);
        self.unacked.retain(|&s, _| s > seq);
        self.dirty.retain(|_, key| {
            let newer = key.dirty.split_off(&(seq + 1));
            if let Some((_, value)) = key.dirty.pop_last() {
                key.clean = value;
            }
            key.dirty = newer;
            !key.dirty.is_empty()
        });
        let committed = self.committed;
        let (ready, still): (Vec<_>, Vec<_>) =
            self.waiting.drain(..).partition(|&(s, _)| s <= committed);
        self.waiting = still;
        for (_, id) in ready {
            self.answer(ctx, id);
        }
        if let Some(predecessor) = self.view.predecessor(ctx.id()) {
            ctx.send(predecessor, Msg::Ack { epoch: self.view.epoch, seq: committed });
        }
    }

    /// Apply update `seq` (the next one) and pass it on, or commit it at the tail.
    fn apply_update(&mut self, ctx: &mut Context<'_, Self>, seq: u64, command: Request<Op>) {
        let key = command.op.key();
        let craq = self.config.reads == Reads::Craq;
        let dirty = craq && !self.is_tail(ctx);
        if dirty && !self.dirty.contains_key(&key) {
            let clean = self.store.read(key);
            self.dirty.insert(key, DirtyKey { clean, dirty: BTreeMap::new() });
        }
        self.store.apply(&command);
        self.applied = seq;
        if craq {
            self.versions.insert(key, seq);
        }
        if dirty {
            let value = self.store.read(key);
            self.dirty.get_mut(&key).expect("inserted above").dirty.insert(seq, value);
        }
        if self.is_tail(ctx) {
            self.answer(ctx, command.id);
            self.advance_committed(ctx, seq);
        } else if let Some(successor) = self.view.successor(ctx.id()) {
            let forward = Msg::Forward { epoch: self.view.epoch, seq, command: command.clone() };
            ctx.send(successor, forward);
            self.unacked.insert(seq, command);
        }
    }

    fn on_forward(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        epoch: u64,
        seq: u64,
        command: Request<Op>,
    ) {
        if epoch != self.view.epoch
            || !self.is_member(ctx)
            || self.view.predecessor(ctx.id()) != Some(from)
        {
            ctx.count("forward_ignored");
            return;
        }
        if seq <= self.applied {
            // A re-send (after a reconfiguration, or of an update whose acknowledgement
            // was lost), or a duplicate: already here. Say what is committed.
            if seq <= self.committed {
                ctx.send(from, Msg::Ack { epoch, seq: self.committed });
            }
            return;
        }
        let skip_gap = self.config.bugs.drop_unacked_on_reconfig && self.reconfigured;
        if seq > self.applied + 1 && !skip_gap {
            if self.ahead.len() < MAX_AHEAD {
                self.ahead.insert(seq, command);
            }
            return;
        }
        self.reconfigured = false;
        self.apply_update(ctx, seq, command);
        while let Some(next) = self.ahead.remove(&(self.applied + 1)) {
            self.apply_update(ctx, self.applied + 1, next);
        }
        let applied = self.applied;
        self.ahead.retain(|&s, _| s > applied);
    }

    fn on_hello(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        epoch: u64,
        applied: u64,
        synced: bool,
    ) {
        if epoch != self.view.epoch
            || !self.is_member(ctx)
            || self.view.successor(ctx.id()) != Some(from)
        {
            return;
        }
        if !synced {
            // Only a new tail gets a copy: a replica that lost its state in the middle of
            // the chain would then hold updates its successor lacks. The master moves it.
            if self.view.last() != Some(from) {
                return;
            }
            ctx.count("state_transferred");
            let mut bytes = Vec::new();
            self.store.encode(&mut bytes);
            let store = SnapshotBytes(Arc::new(bytes));
            let versions = Arc::new(self.versions.iter().map(|(&k, &v)| (k, v)).collect());
            let transfer = Msg::StateTransfer { epoch, applied: self.applied, store, versions };
            ctx.send(from, transfer);
            return;
        }
        if applied > self.applied {
            ctx.count("successor_ahead");
            return;
        }
        for (&seq, command) in self.unacked.range(applied + 1..) {
            ctx.send(from, Msg::Forward { epoch, seq, command: command.clone() });
        }
        if self.unacked.range(applied + 1..).next().is_some() {
            ctx.count("unacked_resent");
        }
        ctx.send(from, Msg::Welcome { epoch });
    }

    fn on_state_transfer(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        epoch: u64,
        applied: u64,
        store: SnapshotBytes,
        versions: &[(u64, u64)],
    ) {
        if epoch != self.view.epoch
            || self.synced
            || self.view.last() != Some(ctx.id())
            || self.view.predecessor(ctx.id()) != Some(from)
        {
            return;
        }
        let store = KvStore::decode(&mut Decoder::new(&store.0))
            .expect("a predecessor sends a whole store");
        ctx.count("replica_joined");
        self.store = store;
        self.versions = versions.iter().copied().collect();
        self.applied = applied;
        self.committed = 0;
        self.synced = true;
        if self.is_tail(ctx) {
            self.advance_committed(ctx, applied);
        }
        // Ask again, now holding a valid state: the predecessor re-sends what it sent
        // since the copy.
        self.say_hello(ctx);
    }

    fn on_client_update(&mut self, ctx: &mut Context<'_, Self>, request: Request<Op>) {
        if !self.is_head(ctx) {
            match self.view.first().filter(|_| self.config.reads == Reads::Craq) {
                // The client stays with this replica for its reads: pass the update on.
                Some(head) if self.is_member(ctx) => ctx.send(head, Msg::Submit { request }),
                _ => ctx.reply(request.id, Reply::Redirect(self.view.first())),
            }
            return;
        }
        if self.store.cached_reply(request.id).is_some() {
            // A retry of an update already applied here: answer once it commits.
            ctx.count("request_deduplicated");
            let seq = self
                .unacked
                .iter()
                .find(|(_, c)| c.id == request.id)
                .map_or(self.committed, |(&s, _)| s);
            if seq <= self.committed {
                self.answer(ctx, request.id);
            } else if self.waiting.len() < MAX_WAITING {
                self.waiting.push((seq, request.id));
            }
            return;
        }
        if self.store.is_stale(request.id) {
            return;
        }
        self.apply_update(ctx, self.applied + 1, request);
    }

    fn on_tick(&mut self, ctx: &mut Context<'_, Self>) {
        let heartbeat = Msg::Heartbeat { sent_at: ctx.now(), synced: self.synced };
        self.link.heartbeat(ctx, self.config.options.masters, heartbeat);
        if !self.welcomed && self.view.position(ctx.id()).is_some() {
            self.say_hello(ctx);
        }
        self.resend_unacked(ctx);
        self.resend_queries(ctx);
        if self.master.is_some() {
            let options = self.config.options.master();
            self.propose_view(ctx, &options, "chain_reconfiguration_proposed");
        }
        if !self.link.holding(ctx.now()) {
            self.release_held(ctx);
        }
        ctx.set_timer(self.config.options.heartbeat_interval, Timer::Tick);
    }

    /// Re-send the oldest unacknowledged updates if nothing was acknowledged since the
    /// last tick: a message down the chain, or its acknowledgement, was lost.
    fn resend_unacked(&mut self, ctx: &mut Context<'_, Self>) {
        let stalled = self.committed == self.committed_at_tick;
        self.committed_at_tick = self.committed;
        let Some(successor) =
            self.view.successor(ctx.id()).filter(|_| stalled && self.is_member(ctx))
        else {
            return;
        };
        if self.unacked.is_empty() {
            return;
        }
        ctx.count("unacked_retransmitted");
        for (&seq, command) in self.unacked.iter().take(RESEND_BATCH) {
            ctx.send(
                successor,
                Msg::Forward { epoch: self.view.epoch, seq, command: command.clone() },
            );
        }
    }

    /// The hold is over: answer the clients it held back.
    fn release_held(&mut self, ctx: &mut Context<'_, Self>) {
        for id in std::mem::take(&mut self.held) {
            self.answer(ctx, id);
        }
        for (id, key) in std::mem::take(&mut self.held_reads) {
            self.on_read(ctx, id, key);
        }
    }

    fn on_read(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, key: u64) {
        let now = ctx.now();
        let tail = self.is_tail(ctx);
        let craq_member = self.config.reads == Reads::Craq && self.is_member(ctx) && !tail;
        if (tail || craq_member) && self.link.holding(now) {
            if self.held_reads.len() < MAX_WAITING {
                self.held_reads.push((id, key));
            }
        } else if tail && self.link.leased(now) {
            ctx.count("read_at_tail");
            ctx.reply(id, Reply::Ok(self.store.read(key)));
        } else if craq_member {
            self.craq_read(ctx, id, key);
        } else if self.config.bugs.dirty_reads && self.is_member(ctx) {
            ctx.count("dirty_read");
            ctx.reply(id, Reply::Ok(self.store.read(key)));
        } else {
            ctx.reply(id, Reply::Redirect(self.view.last()));
        }
    }

    /// CRAQ: a replica before the tail answers a read of a key it holds no uncommitted
    /// update of from its store, under its lease; otherwise (a dirty key, or no lease)
    /// once the tail has said which version is committed.
    fn craq_read(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, key: u64) {
        let leased = self.link.leased(ctx.now());
        let dirty = self.dirty.contains_key(&key);
        if leased && (!dirty || self.config.bugs.craq_newest_dirty) {
            ctx.count(if dirty { "craq_newest_dirty_read" } else { "craq_clean_read" });
            ctx.reply(id, Reply::Ok(self.store.read(key)));
            return;
        }
        let Some(tail) = self.view.last() else { return };
        if self.queries.len() >= MAX_QUERIES {
            // The oldest read's client has most likely given up on it by now.
            self.queries.pop_first();
        }
        let query = self.next_query;
        self.next_query += 1;
        self.queries.insert(query, (id, key));
        ctx.count("craq_version_query");
        ctx.send(tail, Msg::VersionQuery { epoch: self.view.epoch, query, key });
    }

    /// Ask the tail again about the oldest unanswered reads (the tail had no lease yet, or
    /// a message was lost).
    fn resend_queries(&mut self, ctx: &mut Context<'_, Self>) {
        let Some(tail) = self.view.last().filter(|_| self.is_member(ctx)) else { return };
        let epoch = self.view.epoch;
        for (&query, &(_, key)) in self.queries.iter().take(RESEND_BATCH) {
            ctx.send(tail, Msg::VersionQuery { epoch, query, key });
        }
    }

    /// The tail committed update `version` of the key of read `query` (and none of it
    /// since): answer with that version's value. If this replica has seen a later one
    /// committed since, the clean value, committed after the tail answered and so after
    /// the read began, is as good.
    fn on_version(&mut self, ctx: &mut Context<'_, Self>, query: u64, version: u64) {
        let Some((id, key)) = self.queries.remove(&query) else { return };
        let value = match self.dirty.get(&key) {
            None => Some(self.store.read(key)),
            Some(dirty) => dirty.dirty.get(&version).cloned().or_else(|| {
                let oldest = dirty.dirty.keys().next().copied().unwrap_or(u64::MAX);
                (version < oldest).then(|| dirty.clean.clone())
            }),
        };
        match value {
            Some(value) => {
                ctx.count("craq_dirty_read_resolved");
                ctx.reply(id, Reply::Ok(value));
            }
            // The tail named a version this replica never held: its chain moved on.
            None => ctx.reply(id, Reply::Redirect(self.view.last())),
        }
    }
}

crate::membership::master_options!(ChainOptions);

crate::membership::master_host!(Chain);

impl Node for Chain {
    type Config = ChainConfig;
    type Msg = Msg;
    type Timer = Timer;
    type Workload = KvWorkload;

    fn start(config: &ChainConfig, ctx: &mut Context<'_, Self>) -> Self {
        let restarted = !ctx.disk().read(STARTED_FILE).is_empty();
        if !restarted {
            ctx.disk().overwrite(STARTED_FILE, b"1");
            ctx.disk().sync();
        }
        let masters = config.options.masters;
        let master = (ctx.id().0 < masters)
            .then(|| Master::start(ctx, &config.raft, masters, Msg::Raft, Timer::Raft));
        let mut node = Chain {
            config: config.clone(),
            master,
            view: View::initial(ctx.cluster_size()),
            synced: !restarted,
            store: KvStore::default(),
            applied: 0,
            committed: 0,
            committed_at_tick: 0,
            unacked: BTreeMap::new(),
            ahead: BTreeMap::new(),
            waiting: Vec::new(),
            welcomed: true,
            reconfigured: false,
            link: MasterLink::default(),
            held: Vec::new(),
            held_reads: Vec::new(),
            versions: BTreeMap::new(),
            dirty: BTreeMap::new(),
            queries: BTreeMap::new(),
            next_query: 0,
        };
        if restarted {
            ctx.count("replica_restarted");
        }
        node.adopt_from_master(ctx);
        ctx.set_timer(config.options.heartbeat_interval, Timer::Tick);
        node
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Raft(msg) => self.with_raft(ctx, |raft, inner| raft.on_message(inner, from, msg)),
            Msg::Forward { epoch, seq, command } => self.on_forward(ctx, from, epoch, seq, command),
            Msg::Ack { epoch, seq } => {
                if epoch == self.view.epoch
                    && self.is_member(ctx)
                    && self.view.successor(ctx.id()) == Some(from)
                {
                    self.advance_committed(ctx, seq);
                }
            }
            Msg::Hello { epoch, applied, synced } => {
                self.on_hello(ctx, from, epoch, applied, synced)
            }
            Msg::Welcome { epoch } => {
                if epoch == self.view.epoch && self.view.predecessor(ctx.id()) == Some(from) {
                    self.welcomed = true;
                }
            }
            Msg::StateTransfer { epoch, applied, store, versions } => {
                self.on_state_transfer(ctx, from, epoch, applied, store, &versions)
            }
            Msg::Submit { request } if self.is_head(ctx) => self.on_client_update(ctx, request),
            // Not passed on again: two replicas whose views disagree would bounce it.
            Msg::Submit { request } => ctx.reply(request.id, Reply::Redirect(self.view.first())),
            Msg::VersionQuery { epoch, query, key } => {
                let now = ctx.now();
                let serves = self.link.leased(now) && !self.link.holding(now);
                if epoch == self.view.epoch && self.is_tail(ctx) && serves {
                    let version = self.versions.get(&key).copied().unwrap_or(0);
                    ctx.send(from, Msg::Version { epoch, query, version });
                }
            }
            Msg::Version { epoch, query, version } => {
                if epoch == self.view.epoch && self.is_member(ctx) {
                    self.on_version(ctx, query, version);
                }
            }
            Msg::Heartbeat { sent_at, synced } => self.answer_heartbeat(ctx, from, sent_at, synced),
            Msg::Grant { sent_at, view } => {
                self.link.answered(from);
                self.adopt(ctx, view);
                self.link.extend(sent_at, self.config.options.lease);
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        match timer {
            Timer::Raft(timer) => self.with_raft(ctx, |raft, inner| raft.on_timer(inner, timer)),
            Timer::Tick => self.on_tick(ctx),
        }
    }

    /// The master group's leader (the node a leader-targeting nemesis should hit).
    fn is_leader(&self) -> bool {
        self.master.as_ref().is_some_and(Master::is_leader)
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request<Op>) {
        match request.op {
            Op::Read { key } => self.on_read(ctx, request.id, key),
            _ => self.on_client_update(ctx, request),
        }
    }
}

impl Protocol for Chain {
    const NAME: &'static str = "chain";
    const SUMMARY: &'static str = "Chain replication (OSDI 2004): head orders, tail commits and reads; a Raft master group reconfigures";
    type Invariants = ChainInvariants;
    type Options = ChainOptions;
    type Bugs = Bugs;

    fn configure(options: ChainOptions, bugs: Bugs) -> Result<ChainConfig, String> {
        let raft = options.master().configure()?;
        let reads = match options.reads.as_str() {
            "tail" => Reads::Tail,
            "craq" => Reads::Craq,
            other => return Err(format!("reads must be \"tail\" or \"craq\", not {other:?}")),
        };
        if bugs.craq_newest_dirty && reads != Reads::Craq {
            return Err("the bug switch craq_newest_dirty needs reads = \"craq\"".into());
        }
        Ok(ChainConfig { options, reads, bugs, raft })
    }

    fn fits_cluster(config: &ChainConfig, nodes: u32) -> Result<(), String> {
        config.options.master().fits_cluster(nodes)
    }

    fn properties() -> Vec<PropertySpec> {
        vec![
            PropertySpec::always(
                "chain_order",
                "Along the chain of one epoch, no replica holds an update its predecessor lacks.",
            ),
            PropertySpec::sometimes(
                "tail_committed_unacked",
                "A new tail committed updates its old successor never acknowledged.",
            ),
            PropertySpec::sometimes(
                "unacked_resent",
                "After a middle replica failed, its predecessor re-sent unacknowledged updates.",
            ),
            PropertySpec::sometimes(
                "replica_joined",
                "A replica joined at the tail with a copy of its predecessor's state.",
            ),
            PropertySpec::sometimes(
                "chain_reconfigured",
                "The master installed a new configuration of the chain.",
            ),
            PropertySpec::sometimes(
                "craq_dirty_read_resolved",
                "With craq reads, a replica answered a read of a dirty key with the version the tail said was committed.",
            ),
        ]
    }

    fn replica_digest(&self) -> Option<u64> {
        // Every replica has rejoined once the run is quiet, so each must hold the state.
        Some(self.store.digest())
    }
}
