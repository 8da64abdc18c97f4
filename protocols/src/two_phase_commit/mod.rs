//! Two-phase commit over sharded storage, after Gray ("Notes on Data Base Operating
//! Systems", 1978) and Bernstein, Hadzilacos and Goodman ("Concurrency Control and
//! Recovery in Database Systems", 1987, chapters 3 and 7), serving dsim's transactional
//! clients ([`sim_core::txn`]: list-append or rw-register transactions over several keys).
//!
//! - **Roles.** Node 0 is the coordinator (or, with `coordinator = "replicated"`, nodes
//!   `0..coordinators` are, see below); every other node is a participant holding one
//!   shard of the keys, by hash or by range ([`TwoPcOptions::sharding`]). Clients send
//!   transactions to any node; participants redirect them to the coordinator.
//! - **Phase 1.** The coordinator names the transaction (its incarnation, its
//!   `epoch`, and a sequence number; smaller is older) and sends each shard its
//!   micro-ops. A participant takes an exclusive lock on every key they touch (strict
//!   two-phase locking: held until the decision), with **wait-die** as the deadlock
//!   answer: a transaction older than a lock's holder waits, a younger one dies (votes
//!   no). A transaction that waits longer than `lock_timeout` dies too. Once it holds
//!   every lock it runs the micro-ops, appends a **prepare record** (the keys and the
//!   writes) to its log, **syncs**, and only then votes yes, with what it read.
//! - **Phase 2.** On all yes votes the coordinator appends its **decision record** (with
//!   the transaction's results, so a client's retry gets them again), syncs, and only then
//!   answers the client and sends the decision; a no vote, or a vote missing at
//!   `vote_timeout`, aborts. Participants log the outcome, apply the writes, release the
//!   locks and acknowledge; the coordinator re-sends the decision until every participant
//!   acknowledged, then logs that the transaction ended.
//! - **Recovery.** A coordinator restarts in a new epoch, and re-sends every decision its
//!   log shows unfinished. A participant replays its log: committed writes are applied,
//!   and a transaction prepared without an outcome is **in doubt**: its locks are taken
//!   again and it asks the coordinator (the termination protocol) until it learns the
//!   decision. A coordinator asked about a transaction it has no record of lost it in a
//!   crash before deciding, and answers abort (presumed abort): it can never decide it.
//! - **Blocking.** While the coordinator is down, in-doubt transactions keep their locks
//!   and every transaction that needs them waits or dies: the counters `blocked_in_doubt`
//!   and `in_doubt_query` show it, and clients see timeouts and aborts.
//!
//! Atomicity (no transaction committed on one node and aborted on another) is checked
//! online by [`Atomicity`]; serializability of what the clients saw by the workload's
//! checkers. Known-bug switches ([`Bugs`]) reintroduce the classic mistakes, each found by
//! a bundled scenario at its first seed:
//!
//! | switch | scenario | what breaks |
//! | --- | --- | --- |
//! | `early_lock_release` | `2pc-hot-key` | serializability: reads no version order explains (incompatible-order), G-single |
//! | `vote_without_durable_prepare` | `2pc-participant-crash` | atomicity |
//! | `commit_on_vote_timeout` | `2pc-partition` | atomicity |
//! | `decide_in_doubt_alone` | `2pc-participant-crash` | atomicity |
//! | `read_without_lock` | `2pc-hot-key` | serializability: G-single (read skew), G2 (write skew) |
//!
//! With `coordinator = "single"` (the default) the coordinator is one node: while it is
//! down, nothing commits. With `coordinator = "replicated"` the coordinator role runs on
//! a Raft group of `coordinators` nodes ([`ReplicatedCoordinator`], Paxos Commit in
//! spirit): a transaction's name is replicated before its prepares go out, its decision is
//! the first one the group's log commits, and a new leader aborts what an old one started
//! and left undecided, so a coordinator crash costs an election instead of blocking.

mod coordinator;
mod invariants;
mod participant;
mod replicated;
mod storage;

pub use coordinator::Coordinator;
pub use invariants::Atomicity;
pub use participant::Participant;
pub use replicated::ReplicatedCoordinator;

use crate::raft::{self, Raft, RaftConfig, RaftOptions};
use sim_core::SimDuration;
use sim_core::hash::mix64;
use sim_core::node::{Context, Node, NodeId, Reply, Request};
use sim_core::protocol::{PropertySpec, Protocol};
use sim_core::txn::{Mop, Txn, TxnWorkload};

/// The coordinator's node (with a replicated coordinator, the first of its group).
pub const COORDINATOR: NodeId = NodeId(0);

sim_core::declare_options! {
    /// The options a scenario may set (`[protocol.options]`).
    pub struct TwoPcOptions {
        /// How keys are spread over the participants: "hash" or "range".
        sharding: String = "hash".to_owned(),
        /// Keys per shard with "range" sharding (the last shard takes the rest).
        range_size: u64 = 4,
        /// How long the coordinator waits for every vote before it aborts.
        vote_timeout: SimDuration = SimDuration::from_millis(100),
        /// How long a transaction waits for a lock before it dies (votes no).
        lock_timeout: SimDuration = SimDuration::from_millis(150),
        /// How often a participant asks the coordinator about a transaction in doubt.
        query_interval: SimDuration = SimDuration::from_millis(100),
        /// How often the coordinator re-sends an unacknowledged decision.
        retransmit_interval: SimDuration = SimDuration::from_millis(50),
        /// How often each node looks at its timeouts.
        tick: SimDuration = SimDuration::from_millis(10),
        /// The coordinator role: "single" (node 0, which blocks everyone in doubt while it
        /// is down) or "replicated" (a Raft group on nodes 0..coordinators).
        coordinator: String = "single".to_owned(),
        /// How many nodes run a replicated coordinator's Raft group (3 or 5 tolerate
        /// failures); ignored with a single coordinator.
        coordinators: u32 = 3,
    }
}

sim_core::declare_bugs! {
    /// The known-bug switches.
    pub struct Bugs {
        /// A participant releases its locks when it votes yes, before the decision is
        /// durable (and applied): others read and overwrite around it.
        early_lock_release,
        /// A participant votes yes without syncing its prepare record: a crash loses the
        /// prepared writes of a transaction the coordinator then commits.
        vote_without_durable_prepare,
        /// The coordinator decides commit when a vote timed out (as if it were yes).
        commit_on_vote_timeout,
        /// A recovering participant aborts its in-doubt transactions on its own instead of
        /// asking the coordinator.
        decide_in_doubt_alone,
        /// Reads take no lock (read committed where serializable was promised).
        read_without_lock,
    }
}

/// How keys map to shards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharding {
    Hash,
    /// This many consecutive keys per shard.
    Range(u64),
}

/// The configuration every node starts from.
#[derive(Clone, Debug)]
pub struct Config {
    pub options: TwoPcOptions,
    pub bugs: Bugs,
    pub sharding: Sharding,
    /// How many nodes (ids `0..coordinators`) run the coordinator role: 1 for a single
    /// coordinator.
    pub coordinators: u32,
    /// A replicated coordinator's Raft group (its default options, with check-quorum).
    pub raft: RaftConfig,
}

impl Config {
    /// The participant that holds `key`, in a cluster of `nodes` (the coordinators and at
    /// least one participant).
    pub fn shard_of(&self, key: u64, nodes: usize) -> NodeId {
        let shards = nodes as u64 - u64::from(self.coordinators);
        let shard = match self.sharding {
            Sharding::Hash => mix64(key) % shards,
            Sharding::Range(size) => (key / size).min(shards - 1),
        };
        NodeId(self.coordinators + shard as u32)
    }

    /// Whether the coordinator role is a Raft group.
    pub fn replicated(&self) -> bool {
        self.options.coordinator == "replicated"
    }

    /// The nodes of the coordinator role.
    pub fn coordinator_nodes(&self) -> impl Iterator<Item = NodeId> {
        (0..self.coordinators).map(NodeId)
    }
}

/// A transaction's name: the coordinator's epoch (incarnation) and a sequence number in
/// it. The order is age, for wait-die: an earlier epoch, or an earlier number, is older.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxnId {
    pub epoch: u64,
    pub seq: u64,
}

impl std::fmt::Display for TxnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "t{}.{}", self.epoch, self.seq)
    }
}

/// A micro-op and its index in the client's transaction.
pub type IndexedMop = (u32, Mop);

#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// Phase 1: lock, run and prepare this shard's micro-ops.
    Prepare { txn: TxnId, mops: Vec<IndexedMop> },
    /// A participant's vote, with what its micro-ops read when yes.
    Vote { txn: TxnId, yes: bool, done: Vec<IndexedMop> },
    /// Phase 2: the decision.
    Decide { txn: TxnId, commit: bool },
    /// The participant logged the decision.
    Ack { txn: TxnId },
    /// A participant in doubt asks for the decision (the termination protocol).
    Query { txn: TxnId },
    /// A replicated coordinator's Raft.
    Raft(raft::Msg),
}

#[derive(Clone, Debug)]
pub enum Timer {
    /// Look at timeouts: votes, locks, in-doubt queries, retransmissions.
    Tick,
    /// A replicated coordinator's Raft.
    Raft(raft::Timer),
}

/// `Tick` hashes as it did when it was the only timer (to nothing), so that the trace
/// hashes of runs with a single coordinator, which set no other, stay what they were.
impl std::hash::Hash for Timer {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Timer::Tick => {}
            Timer::Raft(timer) => timer.hash(state),
        }
    }
}

/// What a node is.
#[derive(Debug)]
pub enum Role {
    Coordinator(Coordinator),
    Replicated(Box<ReplicatedCoordinator>),
    Participant(Participant),
}

/// A node of two-phase commit: a coordinator or a participant.
#[derive(Debug)]
pub struct TwoPhaseCommit {
    pub config: Config,
    pub role: Role,
}

impl TwoPhaseCommit {
    /// Every transaction's outcome on this node, in the order it was decided here (the
    /// coordinator's decisions, or a participant's logged outcomes): `true` for commit.
    pub fn outcomes(&self) -> &[(TxnId, bool)] {
        match &self.role {
            Role::Coordinator(c) => c.decided(),
            Role::Replicated(c) => c.decided(),
            Role::Participant(p) => p.outcomes(),
        }
    }
}

impl Node for TwoPhaseCommit {
    type Config = Config;
    type Msg = Msg;
    type Timer = Timer;
    type Workload = TxnWorkload;

    fn start(config: &Config, ctx: &mut Context<'_, Self>) -> Self {
        let role = if ctx.id().0 >= config.coordinators {
            Role::Participant(Participant::recover(config, ctx))
        } else if config.replicated() {
            Role::Replicated(Box::new(ReplicatedCoordinator::start(config, ctx)))
        } else {
            Role::Coordinator(Coordinator::recover(ctx))
        };
        ctx.set_timer(config.options.tick, Timer::Tick);
        TwoPhaseCommit { config: config.clone(), role }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match (&mut self.role, msg) {
            (Role::Participant(p), Msg::Prepare { txn, mops }) => {
                p.prepare(&self.config, ctx, from, txn, mops);
            }
            (Role::Participant(p), Msg::Decide { txn, commit }) => {
                p.decide(&self.config, ctx, from, txn, commit);
            }
            (Role::Coordinator(c), Msg::Vote { txn, yes, done }) => {
                c.vote(ctx, from, txn, yes, done);
            }
            (Role::Coordinator(c), Msg::Ack { txn }) => c.ack(ctx, from, txn),
            (Role::Coordinator(c), Msg::Query { txn }) => c.query(ctx, from, txn),
            (Role::Replicated(c), Msg::Raft(msg)) => {
                c.with_raft(&self.config, ctx, |raft, inner| raft.on_message(inner, from, msg));
            }
            (Role::Replicated(c), Msg::Vote { txn, yes, done }) => {
                c.vote(&self.config, ctx, from, txn, yes, done);
            }
            (Role::Replicated(c), Msg::Ack { txn }) => c.ack(from, txn),
            (Role::Replicated(c), Msg::Query { txn }) => c.query(ctx, from, txn),
            // A message meant for the other role, e.g. one sent to a node before the
            // cluster's roles were known: nothing to do.
            _ => ctx.count("misdirected_message"),
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        match (&mut self.role, timer) {
            (role, Timer::Tick) => {
                match role {
                    Role::Coordinator(c) => c.tick(&self.config, ctx),
                    Role::Replicated(c) => c.tick(&self.config, ctx),
                    Role::Participant(p) => p.tick(&self.config, ctx),
                }
                ctx.set_timer(self.config.options.tick, Timer::Tick);
            }
            (Role::Replicated(c), Timer::Raft(timer)) => {
                c.with_raft(&self.config, ctx, |raft, inner| raft.on_timer(inner, timer));
            }
            // Only a replicated coordinator sets Raft's timers.
            (_, Timer::Raft(_)) => {}
        }
    }

    fn is_leader(&self) -> bool {
        match &self.role {
            Role::Coordinator(_) => true,
            Role::Replicated(c) => c.is_leader(),
            Role::Participant(_) => false,
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request<Txn>) {
        match &mut self.role {
            Role::Coordinator(c) => c.request(&self.config, ctx, request),
            Role::Replicated(c) => c.request(&self.config, ctx, request),
            Role::Participant(p) => ctx.reply(request.id, Reply::Redirect(Some(p.coordinator()))),
        }
    }
}

/// The named properties: the invariant, and the cases campaigns must reach.
const PROPERTIES: [PropertySpec; 5] = [
    PropertySpec::always(
        "atomicity",
        "No transaction is committed on one node and aborted on another.",
    ),
    PropertySpec::sometimes(
        "coordinator_crashed_mid_protocol",
        "The coordinator restarted with decisions not yet acknowledged, or was asked about a transaction it lost in a crash before deciding.",
    ),
    PropertySpec::sometimes(
        "in_doubt_recovered",
        "A participant restarted with a transaction prepared but undecided, and learned its decision from the coordinator.",
    ),
    PropertySpec::sometimes(
        "abort_under_contention",
        "A transaction died on a lock conflict (wait-die) or a lock timeout.",
    ),
    PropertySpec::sometimes(
        "coordinator_failover_resolved",
        "A replicated coordinator's leader answered a participant in doubt about a transaction an earlier leadership had started.",
    ),
];

impl Protocol for TwoPhaseCommit {
    const NAME: &'static str = "two-phase-commit";
    const SUMMARY: &'static str = "Two-phase commit over sharded participants with strict 2PL (wait-die), durable prepare and decision records, and the termination protocol";
    type Invariants = Atomicity;
    type Options = TwoPcOptions;
    type Bugs = Bugs;

    fn configure(options: TwoPcOptions, bugs: Bugs) -> Result<Config, String> {
        let sharding = match options.sharding.as_str() {
            "hash" => Sharding::Hash,
            "range" if options.range_size >= 1 => Sharding::Range(options.range_size),
            "range" => return Err("range_size must be at least 1 key per shard".into()),
            other => {
                return Err(sim_core::names::unknown("sharding", other, &["hash", "range"]));
            }
        };
        let durations = [
            ("vote_timeout", options.vote_timeout),
            ("lock_timeout", options.lock_timeout),
            ("query_interval", options.query_interval),
            ("retransmit_interval", options.retransmit_interval),
            ("tick", options.tick),
        ];
        if let Some((name, _)) = durations.iter().find(|(_, d)| *d == SimDuration::ZERO) {
            return Err(format!("{name} must be positive, e.g. \"50ms\""));
        }
        let coordinators = match options.coordinator.as_str() {
            "single" => 1,
            "replicated" if options.coordinators >= 1 => options.coordinators,
            "replicated" => {
                return Err("coordinators must be at least 1 (3 or 5 tolerate failures)".into());
            }
            other => {
                let names = ["single", "replicated"];
                return Err(sim_core::names::unknown("coordinator", other, &names));
            }
        };
        let raft_options = RaftOptions { check_quorum: true, ..RaftOptions::default() };
        let raft = Raft::configure(raft_options, raft::Bugs::default())?;
        Ok(Config { options, bugs, sharding, coordinators, raft })
    }

    fn fits_cluster(config: &Config, nodes: u32) -> Result<(), String> {
        let coordinators = config.coordinators;
        if nodes <= coordinators {
            let needs = if config.replicated() {
                format!("{coordinators} coordinators (protocol.options.coordinators)")
            } else {
                "a coordinator".to_owned()
            };
            return Err(format!(
                "two-phase commit needs {needs} and at least one participant: cluster.nodes must be at least {}, not {nodes}",
                coordinators + 1
            ));
        }
        Ok(())
    }

    fn properties() -> Vec<PropertySpec> {
        PROPERTIES.to_vec()
    }
}
