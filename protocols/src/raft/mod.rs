//! Raft, as Diego Ongaro's dissertation describes it ("Consensus: Bridging Theory and
//! Practice", Stanford, 2014), serving a replicated key-value store to dsim's clients.
//! Section numbers in comments are the dissertation's.
//!
//! - **Leader election (§3.4).** Followers that hear from no leader for a randomized
//!   election timeout become candidates, increment the term, vote for themselves and ask
//!   for votes; a majority makes a leader. Votes go only to candidates whose log is at
//!   least as up-to-date (§3.6.1). With `pre_vote` (§9.6) a would-be candidate first asks
//!   whether it could win, without touching terms; with `check_quorum` (§6.2) a leader that
//!   has not heard from a majority for an election timeout steps down, and followers that
//!   hear from a leader ignore vote requests (§4.2.3).
//! - **Log replication (§3.5).** The leader sends AppendEntries with the index and term of
//!   the entry before the new ones; a follower accepts only if its log matches there,
//!   replaces a conflicting suffix, and on a mismatch answers with the conflicting term and
//!   the first index of that term, so the leader skips a whole term per round trip.
//!   Each follower has at most one request in flight, carrying up to
//!   `max_entries_per_append` entries (dsim's network reorders, so a pipeline would
//!   mostly produce rejections).
//! - **Commitment (§3.6.2).** The leader commits an entry once a majority stores it *and*
//!   it belongs to the leader's current term (Figure 3.7); earlier entries are committed
//!   indirectly. A new leader appends a no-op of its term at once (§6.4).
//! - **Persistence (§3.8).** Term, vote and log are synced before any message or reply
//!   that depends on them leaves the node (see the `storage` module for recovery from torn writes
//!   and corrupted reads). With `sync_delay`, appends are group-committed and acknowledged
//!   only once synced.
//! - **Log compaction (§5).** Every `snapshot_threshold` applied entries, the state machine
//!   is snapshotted and the log prefix dropped; followers that fall behind the snapshot
//!   receive it whole with InstallSnapshot (§5.3, without chunking).
//! - **Clients (§6).** A node that is not leader redirects to the leader it knows (§6.2).
//!   Client sessions make retried commands apply once (§6.3). Reads go through the log, or
//!   with `read_index` are served after a heartbeat round confirms leadership (§6.4). A
//!   leader that loses leadership never answers its pending writes with a failure: their
//!   fate is unknown, so it stays silent (and still answers if the entry later applies).
//!
//! Known-bug switches ([`Bugs`]) reintroduce real mistakes for dsim to find; the online
//! invariant checker is [`RaftInvariants`].
//!
//! # Running it
//!
//! A runner finds Raft by [`Protocol::NAME`] ("raft"), builds the configuration from its
//! options ([`RaftOptions`]) and bug switches ([`Bugs`]), and observes the run with
//! [`RaftInvariants`]:
//!
//! ```
//! use protocols::raft::{Bugs, Raft, RaftInvariants, RaftOptions};
//! use sim_core::client::ClientOptions;
//! use sim_core::kv::KvWorkload;
//! use sim_core::protocol::Protocol;
//! use sim_core::{SimBuilder, SimTime};
//!
//! let options = RaftOptions { pre_vote: true, ..RaftOptions::default() };
//! let config = Raft::configure(options, Bugs::default()).expect("valid options");
//! let mut sim = SimBuilder::new(1, 5)
//!     .workload(ClientOptions::default(), KvWorkload::default())
//!     .build_observed::<Raft, _>(config, <Raft as Protocol>::Invariants::default());
//! sim.run_until(SimTime(1_000_000_000));
//! assert!(sim.violation().is_none());
//! assert!(sim.counter("leader_elected") >= 1 && sim.client_stats().ok > 0);
//! let _: &RaftInvariants = sim.observer();
//! ```
//!
//! Timing uses the node's own clock (`ctx.now()`): an election deadline is a reading of
//! that clock, like an implementation that reads a non-monotonic clock. A clock jump can
//! start an election early or late; it can never break safety, which depends on no clock.

mod config;
mod election;
mod invariants;
mod log;
mod replication;
mod requests;
mod storage;

pub use crate::kv::SnapshotBytes;
pub use crate::kv::{Applied, KvStore, Session};
pub use config::{Bugs, LAZY_SYNC_DELAY, RaftConfig, RaftOptions};
pub use invariants::RaftInvariants;
pub use log::{Command, Entry, LOG_FILE, Log};
pub use storage::{META_FILE, SNAPSHOT_FILE, Snapshot};

use sim_core::announce::ProtocolEvent;
use sim_core::kv::{KvWorkload, Op};
use sim_core::node::{Context, Node, NodeId, Reply, Request, RequestId};
use sim_core::protocol::{PropertySpec, Protocol};
use sim_core::{SimDuration, SimTime};
use std::collections::BTreeMap;

/// Raft's messages (RPC requests and their responses). The sender is the `from` the
/// engine passes along, so messages do not repeat it.
#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// RequestVote (§3.4), or a pre-vote (§9.6) for `term` without any change of term.
    RequestVote {
        term: u64,
        last_log_index: u64,
        last_log_term: u64,
        pre_vote: bool,
    },
    RequestVoteResponse {
        term: u64,
        granted: bool,
        pre_vote: bool,
    },
    /// AppendEntries (§3.5). `round` numbers the leader's heartbeat rounds; a response
    /// echoes it, which confirms leadership for ReadIndex (§6.4).
    AppendEntries {
        term: u64,
        prev_log_index: u64,
        prev_log_term: u64,
        entries: Vec<Entry>,
        leader_commit: u64,
        round: u64,
    },
    /// On success, the follower's log matches the leader's, durably, up to `match_index`.
    /// On failure, `conflict_term` and `conflict_index` tell the leader where to resume.
    /// `prev_log_index` echoes the request's, so a leader can tell a stale rejection (of a
    /// request the network reordered) from a current one.
    AppendEntriesResponse {
        term: u64,
        success: bool,
        match_index: u64,
        conflict_term: Option<u64>,
        conflict_index: u64,
        prev_log_index: u64,
        round: u64,
    },
    /// InstallSnapshot (§5.3), the snapshot in one message.
    InstallSnapshot {
        term: u64,
        snapshot: Snapshot,
        round: u64,
    },
    InstallSnapshotResponse {
        term: u64,
        match_index: u64,
        round: u64,
    },
}

/// Raft's timers.
#[derive(Clone, Debug, Hash)]
pub enum Timer {
    /// Checks the election deadline (and, on a leader, the quorum). Always armed once.
    Election,
    /// A leader's heartbeat, for the term it was set in.
    Heartbeat { term: u64 },
    /// A candidate (or pre-candidate) asks again the servers that have not granted their
    /// vote in `term` (§3.3: RPCs are retried when unanswered).
    VoteRetry { term: u64 },
    /// A deferred sync (group commit, or the lazy sync of `reply_before_sync`).
    Sync,
}

/// A server's role (§3.3), plus the pre-vote phase (§9.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Follower,
    PreCandidate,
    Candidate,
    Leader,
}

/// A leader's view of one follower (§3.5).
#[derive(Clone, Copy, Debug)]
struct Progress {
    /// The next entry to send.
    next_index: u64,
    /// The highest entry known to be stored (durably) on the follower.
    match_index: u64,
    /// Whether a request is on its way and unanswered. One at a time, in batches: the
    /// network may reorder messages, and a pipelined request that overtakes its
    /// predecessor is rejected for a gap. The heartbeat resends whatever was lost.
    in_flight: bool,
    /// The highest heartbeat round the follower answered in this term.
    acked_round: u64,
    /// Whether the follower answered since the last quorum check.
    heard: bool,
}

/// A read waiting for ReadIndex (§6.4): for leadership to be confirmed by a round at
/// least `round`, and for the state machine to reach `read_index`.
#[derive(Clone, Debug)]
struct PendingRead {
    id: RequestId,
    key: u64,
    read_index: u64,
    round: u64,
}

/// A success answer to AppendEntries held back until the entries are synced.
#[derive(Clone, Copy, Debug)]
struct PendingAck {
    leader: NodeId,
    term: u64,
    match_index: u64,
    prev_log_index: u64,
    round: u64,
}

/// One log entry as the invariant checker sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GhostEntry {
    pub index: u64,
    pub term: u64,
    /// The term of the entry before it (the snapshot's term for the first entry).
    pub prev_term: u64,
    pub digest: u64,
}

/// What the latest handler did, recorded for the invariant checker and never read by the
/// protocol (ghost state). Cleared when the next handler starts.
#[derive(Clone, Debug, Default)]
pub struct Ghost {
    /// The node (re)started in this handler.
    pub started: bool,
    pub became_leader: bool,
    /// Entries placed in the log (and entries whose predecessor changed).
    pub written: Vec<GhostEntry>,
    /// Entries applied to the state machine, in order.
    pub applied: Vec<GhostEntry>,
    /// A snapshot point reached by installing or recovering a snapshot: `(index, term)`.
    pub snapshot: Option<(u64, u64)>,
}

impl Ghost {
    fn clear(&mut self) {
        self.started = false;
        self.became_leader = false;
        self.written.clear();
        self.applied.clear();
        self.snapshot = None;
    }
}

/// Client writes waiting for their entry to apply, at most this many (oldest dropped).
const MAX_WAITING: usize = 4096;

/// One Raft server.
pub struct Raft {
    config: RaftConfig,
    id: NodeId,
    cluster_size: usize,

    // Persistent state (§3.8), mirrored on disk.
    term: u64,
    voted_for: Option<NodeId>,
    log: Log,
    /// The latest snapshot, sent to followers that are behind it.
    snapshot: Snapshot,

    // Volatile state.
    role: Role,
    leader: Option<NodeId>,
    commit_index: u64,
    last_applied: u64,
    kv: KvStore,
    /// The last log index known to be synced.
    durable_index: u64,
    meta_dirty: bool,
    log_dirty: bool,
    sync_armed: bool,
    pending_ack: Option<PendingAck>,
    /// A vote granted in this handler, announced (`voted`) once it is durable.
    vote_granted: bool,
    /// Local time after which a follower or candidate starts an election.
    election_deadline: SimTime,
    /// Local time the current leader was last heard from.
    leader_contact: Option<SimTime>,
    /// Votes (or pre-votes) received, by node.
    votes: Vec<bool>,

    // Leader state, reset at each election.
    progress: Vec<Progress>,
    /// Index of the no-op that opened this leader's term.
    term_start_index: u64,
    /// Heartbeat rounds sent (monotone over the node's life).
    round: u64,
    quorum_check_started: SimTime,
    pending_reads: Vec<PendingRead>,

    /// Client requests this node appended as leader, by log index, to answer on apply.
    waiting: BTreeMap<u64, RequestId>,
    scratch: Vec<u64>,
    ghost: Ghost,
}

impl Raft {
    pub fn id(&self) -> NodeId {
        self.id
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn is_leader(&self) -> bool {
        self.role == Role::Leader
    }

    pub fn term(&self) -> u64 {
        self.term
    }

    pub fn voted_for(&self) -> Option<NodeId> {
        self.voted_for
    }

    /// A leader that has applied every command committed before its term (it has
    /// committed an entry of its own): its state machine holds every value committed
    /// before it led. A new leader's state machine lags until then.
    pub fn is_current_leader(&self) -> bool {
        self.is_leader()
            && self.last_applied == self.commit_index
            && self.log.term_at(self.commit_index) == Some(self.term)
    }

    /// The leader this node believes in for its current term.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    pub fn log(&self) -> &Log {
        &self.log
    }

    pub fn commit_index(&self) -> u64 {
        self.commit_index
    }

    pub fn last_applied(&self) -> u64 {
        self.last_applied
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

    fn majority(&self) -> usize {
        if self.config.bugs.minority_quorum_even {
            self.cluster_size.div_ceil(2)
        } else {
            self.cluster_size / 2 + 1
        }
    }

    /// A protocol assertion: it must hold unless a bug switch is on (then the invariant
    /// checker, not a panic, should report what went wrong).
    fn expect(&self, holds: bool, what: impl FnOnce() -> String) {
        assert!(holds || self.config.bugs.any(), "{} (term {}): {}", self.id, self.term, what());
    }

    /// Whether appends are acknowledged before they are synced: at once-syncing nodes
    /// they are synced before the handler's messages leave; with the bug, never mind.
    fn acks_unsynced(&self) -> bool {
        self.config.bugs.reply_before_sync || self.config.deferred_sync().is_none()
    }

    /// The highest entry this node may count as its own replica (§3.6.2, §10.2.1).
    fn self_match(&self) -> u64 {
        if self.acks_unsynced() { self.log.last_index() } else { self.durable_index }
    }

    fn save_meta(&mut self, ctx: &mut Context<'_, Self>) {
        storage::save_meta(ctx.disk(), self.term, self.voted_for);
        self.meta_dirty = true;
    }

    /// Append entries to the log (memory and file) and tell the checker.
    fn log_append(&mut self, ctx: &mut Context<'_, Self>, entries: &[Entry]) {
        let mut prev_term = self.log.last_term();
        for (index, entry) in (self.log.last_index() + 1..).zip(entries) {
            let digest = entry.digest();
            self.ghost.written.push(GhostEntry { index, term: entry.term, prev_term, digest });
            prev_term = entry.term;
        }
        self.log.append(ctx.disk(), entries);
        self.log_dirty = true;
        ctx.announce(ProtocolEvent::Appended);
    }

    /// Drop the log from `index` on (§3.5).
    fn log_truncate(&mut self, ctx: &mut Context<'_, Self>, index: u64) {
        self.expect(index > self.commit_index, || {
            format!("truncating committed entries from {index} (commit {})", self.commit_index)
        });
        self.log.truncate_from(ctx.disk(), index);
        self.durable_index = self.durable_index.min(index - 1);
        self.log_dirty = true;
        // Requests appended there: their fate is unknown here, so stay silent (the client
        // times out, or retries and is answered by whoever applies them).
        self.waiting.split_off(&index);
    }

    /// Make every write so far durable.
    fn sync(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.disk().sync();
        self.meta_dirty = false;
        self.log_dirty = false;
        self.durable_index = self.log.last_index();
        ctx.announce(ProtocolEvent::Synced);
    }

    /// End of every handler: sync what must be durable before this handler's messages and
    /// replies leave (§3.8), or schedule the deferred sync; then act on what became durable.
    fn finish(&mut self, ctx: &mut Context<'_, Self>) {
        match self.config.deferred_sync() {
            _ if self.meta_dirty => self.sync(ctx),
            None if self.log_dirty => self.sync(ctx),
            Some(delay) if self.log_dirty && !self.sync_armed => {
                ctx.set_timer(delay, Timer::Sync);
                self.sync_armed = true;
            }
            _ => {}
        }
        if std::mem::take(&mut self.vote_granted) {
            ctx.announce(ProtocolEvent::Voted);
        }
        self.after_sync(ctx);
        debug_assert!(self.last_applied <= self.commit_index || self.config.bugs.any());
    }

    /// Send the acknowledgement that waited for a sync, and let a leader count its own
    /// newly durable entries.
    fn after_sync(&mut self, ctx: &mut Context<'_, Self>) {
        if let Some(ack) = self.pending_ack {
            if ack.term != self.term || self.role != Role::Follower {
                self.pending_ack = None;
            } else if ack.match_index <= self.durable_index {
                self.pending_ack = None;
                let msg =
                    replication::success(ack.term, ack.match_index, ack.prev_log_index, ack.round);
                ctx.send(ack.leader, msg);
            }
        }
        if self.role == Role::Leader && !self.acks_unsynced() {
            self.advance_commit(ctx);
        }
    }

    /// Become a follower, adopting `term` if it is newer (§3.3: a server that sees a
    /// larger term reverts to follower and clears its vote).
    fn become_follower(&mut self, ctx: &mut Context<'_, Self>, term: u64, leader: Option<NodeId>) {
        if term > self.term {
            self.term = term;
            self.voted_for = None;
            self.save_meta(ctx);
            self.leader = None;
        }
        if self.role == Role::Leader {
            ctx.count("leader_stepped_down");
            ctx.annotate(|| format!("steps down in term {term}"));
            self.leader = None;
            self.reset_election_deadline(ctx);
            // Reads were not appended: they may go elsewhere.
            for read in std::mem::take(&mut self.pending_reads) {
                ctx.reply(read.id, Reply::Redirect(leader));
            }
        }
        self.role = Role::Follower;
        if leader.is_some() {
            self.leader = leader;
        }
        self.votes.fill(false);
    }

    /// §3.4: a fresh election timeout, drawn at random so that servers rarely time out
    /// together.
    fn reset_election_deadline(&mut self, ctx: &mut Context<'_, Self>) {
        let (min, max) = (self.config.election_timeout_min, self.config.election_timeout_max);
        let timeout = if self.config.bugs.fixed_election_timeout {
            min
        } else {
            ctx.random_duration(min, max)
        };
        self.election_deadline = ctx.now() + timeout;
    }

    fn remember_waiting(&mut self, index: u64, id: RequestId) {
        if self.waiting.len() >= MAX_WAITING {
            self.waiting.pop_first();
        }
        self.waiting.insert(index, id);
    }
}

impl Node for Raft {
    type Config = RaftConfig;
    type Msg = Msg;
    type Timer = Timer;
    type Workload = KvWorkload;

    fn is_leader(&self) -> bool {
        Raft::is_leader(self)
    }

    /// First start or restart: rebuild term, vote, snapshot and log from disk (§3.8). The
    /// commit index is volatile: it restarts at the snapshot point and is relearned.
    fn start(config: &RaftConfig, ctx: &mut Context<'_, Self>) -> Self {
        let recovered = storage::recover(ctx.disk());
        if recovered.found_state {
            ctx.count("recovered_from_disk");
        }
        recovered.report.count(ctx);
        let n = ctx.cluster_size();
        let log = recovered.log;
        let snapshot_index = recovered.snapshot.last_index;
        assert_eq!(log.base_index(), snapshot_index, "a recovered log starts at the snapshot");
        let mut ghost = Ghost { started: true, ..Ghost::default() };
        if snapshot_index > 0 {
            ghost.snapshot = Some((snapshot_index, recovered.snapshot.last_term));
        }
        let mut prev_term = log.base_term();
        for index in snapshot_index + 1..=log.last_index() {
            let entry = log.entry(index).expect("recovered entry");
            ghost.written.push(GhostEntry {
                index,
                term: entry.term,
                prev_term,
                digest: entry.digest(),
            });
            prev_term = entry.term;
        }
        let mut node = Raft {
            config: config.clone(),
            id: ctx.id(),
            cluster_size: n,
            term: recovered.term,
            voted_for: recovered.voted_for,
            durable_index: log.last_index(),
            log,
            snapshot: recovered.snapshot,
            role: Role::Follower,
            leader: None,
            commit_index: snapshot_index,
            last_applied: snapshot_index,
            kv: recovered.kv,
            meta_dirty: false,
            log_dirty: false,
            sync_armed: false,
            pending_ack: None,
            vote_granted: false,
            election_deadline: SimTime::ZERO,
            leader_contact: None,
            votes: vec![false; n],
            progress: Vec::new(),
            term_start_index: 0,
            round: 0,
            quorum_check_started: SimTime::ZERO,
            pending_reads: Vec::new(),
            waiting: BTreeMap::new(),
            scratch: Vec::with_capacity(n),
            ghost,
        };
        node.reset_election_deadline(ctx);
        let first = node.election_deadline.saturating_since(ctx.now());
        ctx.set_timer(first, Timer::Election);
        ctx.annotate(|| {
            format!(
                "recovered term {} vote {:?} snapshot {} log {}",
                node.term,
                node.voted_for,
                snapshot_index,
                node.log.last_index()
            )
        });
        node
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        self.ghost.clear();
        match msg {
            Msg::RequestVote { term, last_log_index, last_log_term, pre_vote } => {
                self.handle_request_vote(ctx, from, term, last_log_index, last_log_term, pre_vote)
            }
            Msg::RequestVoteResponse { term, granted, pre_vote } => {
                self.handle_vote_response(ctx, from, term, granted, pre_vote)
            }
            Msg::AppendEntries {
                term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit,
                round,
            } => {
                let request = replication::AppendRequest {
                    term,
                    prev_log_index,
                    prev_log_term,
                    entries,
                    leader_commit,
                    round,
                };
                self.handle_append_entries(ctx, from, request)
            }
            Msg::AppendEntriesResponse {
                term,
                success,
                match_index,
                conflict_term,
                conflict_index,
                prev_log_index,
                round,
            } => {
                let response = replication::AppendResponse {
                    term,
                    success,
                    match_index,
                    conflict_term,
                    conflict_index,
                    prev_log_index,
                    round,
                };
                self.handle_append_response(ctx, from, response)
            }
            Msg::InstallSnapshot { term, snapshot, round } => {
                self.handle_install_snapshot(ctx, from, term, snapshot, round)
            }
            Msg::InstallSnapshotResponse { term, match_index, round } => {
                self.handle_snapshot_response(ctx, from, term, match_index, round)
            }
        }
        self.finish(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        self.ghost.clear();
        match timer {
            Timer::Election => self.on_election_timer(ctx),
            Timer::Heartbeat { term } => {
                if self.role == Role::Leader && self.term == term {
                    // Buggify: a round that never went out, as if every message of it
                    // were lost (followers near their election timeout start one).
                    if !ctx.buggify("buggify_raft_skip_heartbeat") {
                        self.broadcast_round(ctx);
                    }
                    ctx.set_timer(self.config.heartbeat_interval, Timer::Heartbeat { term });
                }
            }
            Timer::VoteRetry { term } => self.retry_vote_requests(ctx, term),
            Timer::Sync => {
                self.sync_armed = false;
                if self.log_dirty || self.meta_dirty {
                    self.sync(ctx);
                }
            }
        }
        self.finish(ctx);
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request<Op>) {
        self.ghost.clear();
        self.handle_client_request(ctx, request);
        self.finish(ctx);
    }
}

impl Protocol for Raft {
    const NAME: &'static str = "raft";
    const SUMMARY: &'static str = "Raft (Ongaro's dissertation): elections, log replication, \
        snapshots, and a key-value store with client sessions";

    type Invariants = RaftInvariants;
    type Options = RaftOptions;
    type Bugs = Bugs;

    fn configure(options: RaftOptions, bugs: Bugs) -> Result<RaftConfig, String> {
        options.validate()?;
        Ok(RaftConfig { options, bugs })
    }

    fn replica_digest(&self) -> Option<u64> {
        Some(self.kv.digest())
    }

    fn properties() -> Vec<PropertySpec> {
        invariants::PROPERTIES.to_vec()
    }
}

/// The election deadline is at least this far away when re-armed (no zero-delay loops).
const MIN_TIMER_DELAY: SimDuration = SimDuration::from_micros(1);
