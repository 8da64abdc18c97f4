//! Multi-Paxos, after Leslie Lamport's "Paxos Made Simple" (ACM SIGACT News 32(4), 2001),
//! with the quorums of Flexible Paxos (Howard, Malkhi and Spiegelman, "Flexible Paxos:
//! Quorum Intersection Revisited", OPODIS 2016), serving a replicated key-value store to
//! dsim's clients. Section numbers in comments are those of "Paxos Made Simple".
//!
//! - **Single-decree Paxos (§2)** is the building block of every slot (see `decree`): an
//!   acceptor promises ballots at least as high as its promise and accepts proposals whose
//!   ballot is at least its promise; a proposer that heard promises from a phase-1 quorum
//!   proposes the value of the highest-ballot proposal they accepted. A ballot is a
//!   `(round, node)` pair, totally ordered, so no two proposers share one.
//! - **Multi-Paxos (§3).** One distinguished proposer, the leader, runs phase 1 once for
//!   every open slot: its Prepare carries the first slot it does not know chosen, and each
//!   promise returns every proposal the acceptor accepted from there on, with the slot up
//!   to which it knows everything chosen. The leader re-proposes the highest-ballot value
//!   found in each open slot, fills the gaps with no-ops (§3: "the leader fills the gaps
//!   with no-op commands"), and then runs only phase 2, one slot per client command.
//!   Acceptors' answers to a lower ballot carry their promise, which preempts the proposer.
//! - **Durability.** An acceptor persists its promise and each accepted proposal, synced,
//!   before it answers (see `storage` for recovery from torn writes and corrupted reads).
//! - **Leader election.** A node that hears from no leader for a randomized timeout starts
//!   phase 1 with a round above any it has seen. A leader sends its unacknowledged
//!   proposals, or an empty Accept as a heartbeat, every heartbeat interval; with
//!   `check_quorum` it steps down when no phase-2 quorum answered for a timeout.
//! - **Learning.** Every Accept carries the leader's commit point (all slots up to it are
//!   chosen); an acceptor that accepted a slot below it in the leader's ballot knows the
//!   chosen value. A replica that is behind asks for the chosen values (`CatchUp`) and is
//!   sent them, or a snapshot of the state machine when the sender has dropped them
//!   (`Learn`). Chosen values are applied in slot order to the shared [`KvStore`], whose
//!   client sessions apply a retried command once.
//! - **Clients.** A node that does not lead redirects to the leader it knows. Reads go
//!   through the log like writes (a read is answered when its slot applies), so they are
//!   linearizable. A leader that loses leadership never fails its pending commands: their
//!   fate is unknown, so it stays silent (and still answers if they apply here).
//!
//! Known-bug switches ([`Bugs`]) reintroduce real mistakes for dsim to find; the online
//! invariant checker is [`PaxosInvariants`].
//!
//! # Running it
//!
//! ```
//! use protocols::paxos::{Paxos, PaxosInvariants};
//! use sim_core::client::ClientOptions;
//! use sim_core::kv::KvWorkload;
//! use sim_core::protocol::{OptionValues, Protocol};
//! use sim_core::{SimBuilder, SimTime};
//!
//! let config = Paxos::configure_from::<&str>(&OptionValues::new(), &[]).expect("valid options");
//! let mut sim = SimBuilder::new(1, 5)
//!     .workload(ClientOptions::default(), KvWorkload::default())
//!     .build_observed::<Paxos, _>(config, PaxosInvariants::default());
//! sim.run_until(SimTime(1_000_000_000));
//! assert!(sim.violation().is_none());
//! assert!(sim.counter("leader_elected") >= 1 && sim.client_stats().ok > 0);
//! ```
//!
//! Timing uses the node's own clock (`ctx.now()`); a clock jump can start phase 1 early or
//! late, never break safety, which depends on no clock.

mod acceptor;
mod config;
pub mod decree;
mod invariants;
mod learner;
mod proposer;
mod requests;
mod storage;

pub use crate::kv::SnapshotBytes;
pub use crate::kv::{Applied, KvStore, Session};
pub use config::{Bugs, PaxosConfig, PaxosOptions, Quorums};
pub use invariants::PaxosInvariants;
pub use storage::{LOG_FILE, LogRecord, SNAPSHOT_FILE, Slot, Snapshot};

use crate::durable::RecordLog;
use sim_core::announce::ProtocolEvent;
use sim_core::hash::stable_hash;
use sim_core::kv::{KvWorkload, Op};
use sim_core::node::{Context, Node, NodeId, Reply, Request, RequestId};
use sim_core::protocol::{PropertySpec, Protocol};
use sim_core::{SimDuration, SimTime};
use std::collections::BTreeMap;
use std::fmt;

/// A ballot: a round and the node that owns it, ordered by round, then node. Round 0 is
/// no ballot at all ([`Ballot::ZERO`]); every proposer's ballots have rounds from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ballot {
    pub round: u64,
    pub node: NodeId,
}

impl Ballot {
    pub const ZERO: Ballot = Ballot { round: 0, node: NodeId(0) };
}

impl fmt::Display for Ballot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.round, self.node)
    }
}

/// What a slot asks the state machine to do.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// Fills a slot a new leader found open and empty (§3).
    Noop,
    Client(Request<Op>),
}

impl Command {
    /// A digest of the command, for invariant checks that compare slots across nodes.
    pub fn digest(&self) -> u64 {
        stable_hash(self)
    }
}

/// A value for a slot, in Accept and Learn messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SlotValue {
    pub slot: u64,
    pub command: Command,
}

/// A proposal an acceptor accepted, reported in a promise.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AcceptedValue {
    pub slot: u64,
    pub ballot: Ballot,
    pub command: Command,
}

/// Multi-Paxos's messages. The sender is the `from` the engine passes along.
#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// Phase 1a, for every slot from `first_slot` on.
    Prepare { ballot: Ballot, first_slot: u64 },
    /// Phase 1b: the acceptor promised `ballot`. It knows every slot up to `applied`
    /// chosen, and `accepted` holds every proposal it accepted in the slots after both
    /// that and the prepare's `first_slot`.
    Promise { ballot: Ballot, applied: u64, accepted: Vec<AcceptedValue> },
    /// Phase 2a for each of `entries` (none: a heartbeat). Every slot up to
    /// `chosen_through` is chosen, as the leader knows.
    Accept { ballot: Ballot, entries: Vec<SlotValue>, chosen_through: u64 },
    /// Phase 2b: the acceptor accepted these slots of `ballot` (none: a heartbeat's answer).
    /// It knows every slot up to `applied` chosen (a leader that knows less catches up).
    Accepted { ballot: Ballot, slots: Vec<u64>, applied: u64 },
    /// `ballot` was refused: the acceptor promised the higher `promised`.
    Nack { ballot: Ballot, promised: Ballot },
    /// Send me the chosen values from `from_slot` on.
    CatchUp { from_slot: u64 },
    /// Chosen values: a snapshot (when the sender dropped the slots asked for), then
    /// consecutive slots. The sender knows every slot up to `chosen_through` chosen.
    Learn { snapshot: Option<Snapshot>, entries: Vec<SlotValue>, chosen_through: u64 },
}

/// Multi-Paxos's timers.
#[derive(Clone, Debug, Hash)]
pub enum Timer {
    /// Checks the leader-failure deadline (and, on a leader, the quorum). Always armed once.
    Election,
    /// A leader's heartbeat and retransmission, for the ballot it was set in.
    Heartbeat { ballot: Ballot },
    /// A proposer in phase 1 asks again the acceptors that have not promised `ballot`.
    PrepareRetry { ballot: Ballot },
}

/// A node's role as a proposer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Follower,
    /// Running phase 1 for its ballot.
    Candidate,
    Leader,
}

/// A proposer's phase 1 in progress.
#[derive(Clone, Debug)]
struct Phase1 {
    first_slot: u64,
    promised_by: Vec<bool>,
    promises: usize,
    /// The highest commit point a promise reported, and who reported it.
    max_applied: u64,
    max_applied_from: NodeId,
    /// Per slot, the highest-ballot proposal the promises reported.
    found: BTreeMap<u64, (Ballot, Command)>,
}

/// A leader's proposal in flight: who accepted it.
#[derive(Clone, Debug)]
struct Proposal {
    command: Command,
    acks: Vec<bool>,
    count: usize,
}

/// A proposal an acceptor accepted, as the invariant checker sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GhostAccept {
    pub slot: u64,
    pub ballot: Ballot,
    pub digest: u64,
}

/// What the latest handler did, recorded for the invariant checker and never read by the
/// protocol (ghost state). Cleared when the next handler starts.
#[derive(Clone, Debug, Default)]
pub struct Ghost {
    /// The node (re)started in this handler.
    pub started: bool,
    pub became_leader: bool,
    /// Proposals accepted, in order.
    pub accepted: Vec<GhostAccept>,
    /// Slots applied to the state machine, in order: `(slot, command digest)`.
    pub applied: Vec<(u64, u64)>,
    /// A snapshot installed from another node, up to this slot.
    pub snapshot: Option<u64>,
}

impl Ghost {
    fn clear(&mut self) {
        self.started = false;
        self.became_leader = false;
        self.accepted.clear();
        self.applied.clear();
        self.snapshot = None;
    }
}

/// Client requests waiting to be proposed (during phase 1, or while the window is full),
/// and requests proposed and waiting for their slot to apply: at most this many each.
const MAX_WAITING: usize = 4096;

/// At most this many slots in one Learn message (catch-up is not slowed by `max_batch`).
const MAX_LEARN_BATCH: usize = 256;

/// A leader re-sends at most this many unacknowledged proposals to an acceptor per
/// heartbeat (in Accepts of `max_batch` each).
const MAX_RESEND: usize = 256;

/// A leader proposes at most this many slots past its commit point.
const MAX_WINDOW: u64 = 1024;

/// The election deadline is at least this far away when re-armed (no zero-delay loops).
const MIN_TIMER_DELAY: SimDuration = SimDuration::from_micros(1);

/// One Multi-Paxos node: acceptor, learner, and proposer (a leader when elected).
pub struct Paxos {
    config: PaxosConfig,
    quorums: Quorums,
    id: NodeId,
    cluster_size: usize,

    // Acceptor state, mirrored on disk.
    log: RecordLog,
    promised: Ballot,
    /// The slots after `base`; what was before is in the snapshot.
    slots: BTreeMap<u64, Slot>,
    base: u64,

    // Learner state.
    snapshot: Snapshot,
    kv: KvStore,
    /// Every slot up to here is chosen, known and applied.
    applied: u64,
    /// The highest commit point another node reported: a replica below it asks for the
    /// chosen values it lacks, first from the node that reported it.
    commit_hint: u64,
    /// Where the next CatchUp goes, and the last one's time, applied point and target (a
    /// retry that finds no progress from the same target asks the next node instead).
    catch_up_target: NodeId,
    last_catch_up: Option<(SimTime, u64, NodeId)>,

    // Proposer state (volatile).
    role: Role,
    /// The ballot this node proposes with, as candidate or leader.
    ballot: Ballot,
    /// The leader this node follows, and the highest ballot it saw a leader use.
    leader: Option<NodeId>,
    leader_ballot: Ballot,
    /// The highest round seen in any ballot.
    max_round: u64,
    /// Local time after which a follower starts phase 1 (or a candidate tries again).
    election_deadline: SimTime,
    phase1: Option<Phase1>,
    /// A leader's next free slot, its proposals in flight, and who answered it lately.
    next_slot: u64,
    proposals: BTreeMap<u64, Proposal>,
    heard: Vec<bool>,
    quorum_check_started: SimTime,
    /// Requests not yet proposed, in arrival order.
    queued: Vec<Request<Op>>,
    /// Requests this node proposed, waiting for their command to apply (in any slot).
    waiting: BTreeMap<RequestId, u64>,

    /// Writes that must be synced before this handler's messages and replies leave.
    dirty: bool,
    /// A promise raised in this handler, announced (`voted`) once it is durable.
    promise_raised: bool,
    ghost: Ghost,
}

impl Paxos {
    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    pub fn config(&self) -> &PaxosConfig {
        &self.config
    }

    pub fn quorums(&self) -> Quorums {
        self.quorums
    }

    /// The highest ballot this acceptor promised.
    pub fn promised(&self) -> Ballot {
        self.promised
    }

    /// The ballot this node proposes with (meaningful as candidate or leader).
    pub fn ballot(&self) -> Ballot {
        self.ballot
    }

    /// The leader this node follows, if it knows one.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// The slots this node holds state for (after [`Paxos::base`]).
    pub fn slots(&self) -> &BTreeMap<u64, Slot> {
        &self.slots
    }

    /// Slots up to here are dropped: the snapshot covers them.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// Every slot up to here is chosen and applied.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    pub fn state_machine(&self) -> &KvStore {
        &self.kv
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// What the latest handler did (ghost state for invariant checkers).
    pub fn ghost(&self) -> &Ghost {
        &self.ghost
    }

    /// A protocol assertion: it must hold unless a bug switch is on (then the invariant
    /// checker, not a panic, should report what went wrong).
    fn expect(&self, holds: bool, what: impl FnOnce() -> String) {
        assert!(holds || self.config.bugs.any(), "{} ({}): {}", self.id, self.promised, what());
    }

    /// Append a record to the log file; `durable` ones are synced before this handler's
    /// effects leave.
    fn write(&mut self, ctx: &mut Context<'_, Self>, record: &LogRecord, durable: bool) {
        storage::append(&mut self.log, ctx.disk(), record);
        self.dirty |= durable;
        ctx.announce(ProtocolEvent::Appended);
    }

    /// End of every handler: sync what must be durable before the handler's messages and
    /// replies leave.
    fn finish(&mut self, ctx: &mut Context<'_, Self>) {
        if self.dirty {
            ctx.disk().sync();
            self.dirty = false;
            ctx.announce(ProtocolEvent::Synced);
        }
        if std::mem::take(&mut self.promise_raised) {
            ctx.announce(ProtocolEvent::Voted);
        }
    }

    fn note_round(&mut self, ballot: Ballot) {
        self.max_round = self.max_round.max(ballot.round);
    }

    /// What this acceptor has accepted from `first_slot` on: what a promise reports, and
    /// what a proposer's own phase 1 finds in itself.
    fn accepted_from(&self, first_slot: u64) -> Vec<AcceptedValue> {
        self.slots
            .range(first_slot..)
            .filter_map(|(&slot, s)| {
                s.accepted.as_ref().map(|(b, command)| AcceptedValue {
                    slot,
                    ballot: *b,
                    command: command.clone(),
                })
            })
            .collect()
    }

    /// A fresh randomized deadline for hearing from a leader.
    fn reset_election_deadline(&mut self, ctx: &mut Context<'_, Self>) {
        let (min, max) = (self.config.election_timeout_min, self.config.election_timeout_max);
        self.election_deadline = ctx.now() + ctx.random_duration(min, max);
    }
}

impl Node for Paxos {
    type Config = PaxosConfig;
    type Msg = Msg;
    type Timer = Timer;
    type Workload = KvWorkload;

    fn is_leader(&self) -> bool {
        Paxos::is_leader(self)
    }

    /// First start or restart: rebuild the acceptor's promise and slots and the snapshot
    /// from disk, and apply the chosen values recovered after the snapshot. Everything a
    /// proposer knew is volatile and starts again as a follower.
    fn start(config: &PaxosConfig, ctx: &mut Context<'_, Self>) -> Self {
        let n = ctx.cluster_size();
        let quorums = config.quorums(n).unwrap_or_else(|e| panic!("paxos options: {e}"));
        let recovered = storage::recover(ctx.disk());
        if recovered.found_state {
            ctx.count("recovered_from_disk");
        }
        recovered.report.count(ctx);
        let base = recovered.base;
        let mut node = Paxos {
            config: config.clone(),
            quorums,
            id: ctx.id(),
            cluster_size: n,
            log: recovered.log,
            promised: recovered.promised,
            slots: recovered.slots,
            base,
            snapshot: recovered.snapshot,
            kv: recovered.kv,
            applied: base,
            commit_hint: base,
            catch_up_target: ctx.id(),
            last_catch_up: None,
            role: Role::Follower,
            ballot: Ballot::ZERO,
            leader: None,
            leader_ballot: Ballot::ZERO,
            max_round: recovered.promised.round,
            election_deadline: SimTime::ZERO,
            phase1: None,
            next_slot: 0,
            proposals: BTreeMap::new(),
            heard: vec![false; n],
            quorum_check_started: SimTime::ZERO,
            queued: Vec::new(),
            waiting: BTreeMap::new(),
            dirty: false,
            promise_raised: false,
            ghost: Ghost { started: true, ..Ghost::default() },
        };
        node.apply_chosen(ctx);
        node.reset_election_deadline(ctx);
        let first = node.election_deadline.saturating_since(ctx.now());
        ctx.set_timer(first, Timer::Election);
        ctx.annotate(|| {
            format!(
                "recovered promise {} snapshot {} applied {} slots {}",
                node.promised,
                base,
                node.applied,
                node.slots.len()
            )
        });
        node
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        self.ghost.clear();
        match msg {
            Msg::Prepare { ballot, first_slot } => {
                self.handle_prepare(ctx, from, ballot, first_slot)
            }
            Msg::Promise { ballot, applied, accepted } => {
                self.handle_promise(ctx, from, ballot, applied, accepted)
            }
            Msg::Accept { ballot, entries, chosen_through } => {
                self.handle_accept(ctx, from, ballot, entries, chosen_through)
            }
            Msg::Accepted { ballot, slots, applied } => {
                self.handle_accepted(ctx, from, ballot, &slots, applied)
            }
            Msg::Nack { ballot, promised } => self.handle_nack(ctx, ballot, promised),
            Msg::CatchUp { from_slot } => self.handle_catch_up(ctx, from, from_slot),
            Msg::Learn { snapshot, entries, chosen_through } => {
                self.handle_learn(ctx, from, snapshot, entries, chosen_through)
            }
        }
        self.finish(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        self.ghost.clear();
        match timer {
            Timer::Election => self.on_election_timer(ctx),
            Timer::Heartbeat { ballot } => {
                if self.role == Role::Leader && self.ballot == ballot {
                    // Buggify: a heartbeat that never went out, as if every message of it
                    // were lost.
                    if !ctx.buggify("buggify_paxos_skip_heartbeat") {
                        for peer in ctx.peers() {
                            self.send_unacknowledged(ctx, peer);
                        }
                    }
                    self.catch_up_if_behind(ctx);
                    ctx.set_timer(self.config.heartbeat_interval, Timer::Heartbeat { ballot });
                }
            }
            Timer::PrepareRetry { ballot } => self.retry_prepare(ctx, ballot),
        }
        self.finish(ctx);
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request<Op>) {
        self.ghost.clear();
        self.handle_client_request(ctx, request);
        self.finish(ctx);
    }
}

impl Protocol for Paxos {
    const NAME: &'static str = "paxos";
    const SUMMARY: &'static str = "Multi-Paxos (Paxos Made Simple) with a stable leader, \
        Flexible Paxos quorums, snapshots, and a key-value store with client sessions";

    type Invariants = PaxosInvariants;
    type Options = PaxosOptions;
    type Bugs = Bugs;

    fn configure(options: PaxosOptions, bugs: Bugs) -> Result<PaxosConfig, String> {
        options.validate()?;
        Ok(PaxosConfig { options, bugs })
    }

    fn fits_cluster(config: &PaxosConfig, nodes: u32) -> Result<(), String> {
        config.quorums(nodes as usize).map(drop)
    }

    fn replica_digest(&self) -> Option<u64> {
        Some(self.kv.digest())
    }

    fn properties() -> Vec<PropertySpec> {
        invariants::PROPERTIES.to_vec()
    }
}

/// Reply `Redirect` to every queued request (they were never proposed here).
fn redirect_all(ctx: &mut Context<'_, Paxos>, queued: Vec<Request<Op>>, to: Option<NodeId>) {
    for request in queued {
        ctx.reply(request.id, Reply::Redirect(to));
    }
}
