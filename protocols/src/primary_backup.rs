//! Primary-backup replication, the primary-copy scheme (Alsberg and Day, "A principle for
//! resilient sharing of distributed resources", 1976), with view changes through a
//! configuration service, as in the view service of Viewstamped Replication's descendants:
//!
//! - **Views.** A view is an epoch and its members, the primary first
//!   ([`membership::View`]), kept by a Raft group on the first `masters` nodes
//!   ([`membership::Master`], the same service chain replication uses). The master leader
//!   removes a member it has not heard from for `failure_timeout`, so a failed primary is
//!   replaced by the next member, and appends a live node that is not a valid member
//!   (restarted, or removed while alive) at the end once it asks to join.
//! - **Replication.** The primary orders client commands into a log, persists each
//!   (synced) and streams the log to every backup of its view, which persists it in order
//!   and acknowledges cumulatively. A command is committed once every member holds it;
//!   only then is it applied and its client answered, so an acknowledged write is on the
//!   disk of every member, and every later primary (a member of the view before) holds it.
//! - **A new view.** Every backup asks the primary of a new view to bring it in sync
//!   (`Hello`, with its log's length, commit point and a digest of its log). The primary
//!   answers with the entries the backup lacks: after its whole log if the digests agree,
//!   else after its commit point, cutting off the uncommitted tail an old primary left
//!   there. Until a member is in sync nothing commits, which is what makes the next
//!   primary hold every committed command.
//! - **Reads.** The primary serves reads from its committed state, only under a lease from
//!   the master (so a primary the master has replaced, but that does not know it yet,
//!   stops serving before a new primary answers anyone), only after a takeover hold (the
//!   old primary's lease runs out first), and only once everything in its log at takeover
//!   has committed (so no read misses a write an earlier primary acknowledged).
//! - **Recovery.** A node keeps its log and the epoch in which it was last in sync on its
//!   disk. After a restart it is a valid member again only if the view it learns is that
//!   same epoch (nothing could commit in it without it); otherwise it is removed and
//!   rejoins with the entries it lacks.
//!
//! Known bugs: `backup_reads`: backups answer reads from their own state, which may lag the
//! primary's: a classic stale read, and a linearizability violation;
//! `reply_before_backups_ack`: the primary commits and answers a write once it is on its own
//! disk, before the backups hold it, so an acknowledged write is not on every disk (the
//! invariant `acknowledged_on_every_backup` catches it, and a failover can lose it);
//! `reads_without_lease`: a primary serves reads without a lease, so one the view service
//! has replaced, cut off from it, serves stale reads;
//! `keep_divergent_tail`: a new primary trusts a backup's log to be a prefix of its own, so
//! two nodes commit different commands at one index.

use crate::codec::{Decoder, Encoder};
use crate::durable::{DurableCell, RecordLog, Recovery};
use crate::kv::KvStore;
use crate::membership::{Master, MasterHost, MasterLink, View};
use crate::raft::{self, RaftConfig};
use sim_core::announce::ProtocolEvent;
use sim_core::engine::{Nodes, Observer, Violation};
use sim_core::hash::stable_hash;
use sim_core::kv::{KvWorkload, Op};
use sim_core::node::{Context, Node, NodeId, Reply, Request, RequestId};
use sim_core::protocol::{PropertySpec, Protocol};
use sim_core::{SimDuration, SimTime};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

const LOG_FILE: &str = "log";
/// The epoch in which this node was last a member in sync.
const EPOCH: DurableCell = DurableCell::new("epoch");
/// How many times this node has started.
const STARTS: DurableCell = DurableCell::new("starts");
/// Entries buffered ahead of a gap, at most this many.
const MAX_AHEAD: usize = 1024;
/// Client requests waiting for a commit or held back, at most this many.
const MAX_WAITING: usize = 4096;

sim_core::declare_options! {
    /// The options a scenario may set.
    pub struct Options {
        /// How many nodes (ids 0..masters) run the view service's Raft group.
        masters: u32 = 3,
        /// How often a node heartbeats the view service and the primary re-sends
        /// unacknowledged entries.
        heartbeat_interval: SimDuration = SimDuration::from_millis(50),
        /// The view service removes a member it has not heard from for this long.
        failure_timeout: SimDuration = SimDuration::from_millis(400),
        /// A primary serves reads for this long after sending a heartbeat the view
        /// service answered.
        lease: SimDuration = SimDuration::from_millis(200),
        /// The view service re-proposes a view change not applied after this long.
        proposal_timeout: SimDuration = SimDuration::from_millis(500),
        /// Most entries re-sent to one backup per round.
        batch: usize = 64,
    }
}

crate::membership::master_options!(Options);

sim_core::declare_bugs! {
    /// The known-bug switches.
    pub struct Bugs {
        /// Backups answer reads from their own, possibly stale, state.
        backup_reads,
        /// The primary answers a write before the backups acknowledge it.
        reply_before_backups_ack,
        /// The primary serves reads without a lease from the view service, so a primary
        /// that has been replaced, and does not know it yet, serves stale reads.
        reads_without_lease,
        /// A new primary takes a backup's log for a prefix of its own without comparing
        /// digests, so the backup keeps the uncommitted tail an old primary left there.
        keep_divergent_tail,
    }
}

/// The configuration every node starts from.
#[derive(Clone, Debug)]
pub struct Config {
    pub options: Options,
    pub bugs: Bugs,
    /// The view service's Raft.
    pub raft: RaftConfig,
}

/// Which primary a message is of: the view's epoch, and the incarnation of the view's
/// primary (how many times it has started), so that a primary that restarts within one
/// view brings its backups in sync again, and nothing of its earlier life is taken for
/// its own.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    pub epoch: u64,
    pub incarnation: u64,
}

#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// The view service's Raft.
    Raft(raft::Msg),
    /// Log entry `index` (1-based) of the primary, which has committed up to `commit`.
    Replicate { stamp: Stamp, index: u64, command: Request<Op>, commit: u64 },
    /// The primary has committed up to `commit`.
    Commit { stamp: Stamp, commit: u64 },
    /// A backup in sync with the primary of `stamp` holds every entry up to `index` and
    /// knows the commits up to `commit`.
    Ack { stamp: Stamp, index: u64, commit: u64 },
    /// The primary to a backup: get in sync with me (or say that you are).
    StartView { stamp: Stamp },
    /// A backup to the primary of `stamp`: its log's length, commit point and digest.
    Hello { stamp: Stamp, len: u64, commit: u64, digest: u64 },
    /// The primary's answer: its log from index `from` + 1 on (cut what follows `from`),
    /// and its commit point.
    Sync { stamp: Stamp, from: u64, entries: Arc<Vec<Request<Op>>>, commit: u64 },
    /// A node to the view service: it is alive (at its local time `sent_at`), and whether
    /// it is a valid member.
    Heartbeat { sent_at: SimTime, synced: bool },
    /// The view service leader's answer: the view, and a read lease from `sent_at`.
    Grant { sent_at: SimTime, view: View },
}

#[derive(Clone, Debug, Hash)]
pub enum Timer {
    /// The view service's Raft.
    Raft(raft::Timer),
    /// Heartbeat the view service; re-send what is unacknowledged or out of sync.
    Tick,
}

/// The primary's view of one backup in this epoch.
#[derive(Clone, Copy, Debug, Default)]
struct Follower {
    /// The highest index it acknowledged in this epoch; `None` until it is in sync.
    acked: Option<u64>,
    /// The commit point it last said it knows.
    commit: u64,
}

pub struct PrimaryBackup {
    id: NodeId,
    config: Config,
    /// The view service's Raft server, on nodes `0..masters`.
    master: Option<Master>,
    /// The view service to heartbeat, the primary's read lease and its takeover hold.
    link: MasterLink,
    /// The view this node acts on (epoch 0, no members: none learned since a restart).
    view: View,
    /// Whether this node holds every committed command (false after a restart until the
    /// view service confirms its epoch, and after a removal until it is in sync again).
    valid: bool,
    /// The epoch in which this node was last in sync with the primary (as primary: its
    /// own), as its disk has it.
    in_sync: u64,
    /// The primary this node is in sync with now (as primary: itself).
    synced: Option<Stamp>,
    /// How many times this node has started, this time included.
    incarnation: u64,
    log: Vec<Request<Op>>,
    /// `digests[i]`: a digest of the first `i` entries.
    digests: Vec<u64>,
    /// The log's file: one record per command.
    file: RecordLog,
    /// The committed commands, applied.
    store: KvStore,
    commit: u64,
    /// Primary: per node, what its backup holds in this epoch.
    followers: Vec<Follower>,
    /// Primary: the log's length when it took over; reads wait until that has committed.
    takeover_len: u64,
    /// Primary: client requests waiting for an index to commit (indexes never decrease
    /// along the queue).
    waiting: VecDeque<(u64, RequestId)>,
    /// Committed writes whose clients are answered when the takeover hold ends.
    held: Vec<RequestId>,
    /// Reads (request, key) served once the primary may serve reads.
    held_reads: Vec<(RequestId, u64)>,
    /// Backup: entries that arrived ahead of a gap.
    ahead: BTreeMap<u64, Request<Op>>,
    /// The highest log index this node answered a client for as primary, and the epoch it
    /// did so in (ghost state, for the invariant `acknowledged_on_every_backup`).
    answered: (u64, u64),
}

impl std::fmt::Debug for PrimaryBackup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrimaryBackup")
            .field("view", &self.view)
            .field("valid", &self.valid)
            .field("in_sync", &self.in_sync)
            .field("log", &self.log.len())
            .field("commit", &self.commit)
            .finish_non_exhaustive()
    }
}

impl PrimaryBackup {
    /// The commands this node has persisted, in order (committed or not).
    pub fn log(&self) -> &[Request<Op>] {
        &self.log
    }

    /// How many of them are committed (and applied).
    pub fn commit(&self) -> u64 {
        self.commit
    }

    /// The view this node acts on.
    pub fn view(&self) -> &View {
        &self.view
    }

    /// The epoch in which this node is a member in sync with the primary, if it is one in
    /// its view's epoch.
    pub fn in_sync_epoch(&self) -> Option<u64> {
        self.synced.filter(|s| self.valid && s.epoch == self.view.epoch).map(|s| s.epoch)
    }

    fn is_primary(&self) -> bool {
        self.valid && self.view.first() == Some(self.id)
    }

    fn len(&self) -> u64 {
        self.log.len() as u64
    }

    fn push_entry(&mut self, command: Request<Op>) {
        let digest = stable_hash(&(self.digests[self.log.len()], &command));
        self.digests.push(digest);
        self.log.push(command);
    }

    /// Persist `commands` at the end of the log, synced.
    fn append(&mut self, ctx: &mut Context<'_, Self>, commands: &[Request<Op>]) {
        let payloads: Vec<Vec<u8>> = commands.iter().map(encode_command).collect();
        self.file.append_all(ctx.disk(), &payloads);
        ctx.announce(ProtocolEvent::Appended);
        ctx.disk().sync();
        ctx.announce(ProtocolEvent::Synced);
        for command in commands {
            self.push_entry(command.clone());
        }
    }

    /// Cut the log after its first `len` entries (never a committed one).
    fn truncate(&mut self, ctx: &mut Context<'_, Self>, len: u64) {
        debug_assert!(len >= self.commit, "cutting committed entries");
        if len < self.len() {
            ctx.count("uncommitted_tail_cut");
            self.file.truncate(ctx.disk(), len as usize);
            self.log.truncate(len as usize);
            self.digests.truncate(len as usize + 1);
        }
    }

    /// Apply the entries up to `commit` (as far as the log reaches).
    fn advance_commit(&mut self, commit: u64) {
        let commit = commit.min(self.len());
        for command in &self.log[self.commit as usize..commit.max(self.commit) as usize] {
            self.store.apply(command);
        }
        self.commit = self.commit.max(commit);
    }

    /// Remember that this node is a valid member in sync with the primary of `stamp`, and
    /// its epoch on its disk.
    fn note_in_sync(&mut self, ctx: &mut Context<'_, Self>, stamp: Stamp) {
        self.valid = true;
        self.synced = Some(stamp);
        let epoch = stamp.epoch;
        if self.in_sync != epoch {
            self.in_sync = epoch;
            EPOCH.store(ctx.disk(), &encode_u64(epoch));
            ctx.disk().sync();
            ctx.announce(ProtocolEvent::Synced);
        }
    }

    /// Adopt a view newer than ours.
    fn adopt(&mut self, ctx: &mut Context<'_, Self>, view: View) {
        if view.epoch <= self.view.epoch {
            return;
        }
        ctx.annotate(|| format!("adopts {view:?}"));
        let was_primary = self.is_primary();
        let previous = std::mem::replace(&mut self.view, view);
        self.ahead.clear();
        self.synced = None;
        let me = ctx.id();
        if self.view.position(me).is_none() {
            if self.valid {
                ctx.count("member_removed_alive");
            }
            self.step_down(ctx);
            self.valid = false;
            return;
        }
        if self.valid && self.view.first() == Some(me) {
            // The old primary may still hold a lease, unless it was this node.
            self.take_over(ctx, !(was_primary && previous.first() == Some(me)));
        } else if was_primary {
            // The new primary asks this node to get in sync with it.
            self.step_down(ctx);
            ctx.count("primary_deposed");
        }
    }

    /// The primary's stamp in this view (as primary).
    fn stamp(&self) -> Stamp {
        Stamp { epoch: self.view.epoch, incarnation: self.incarnation }
    }

    /// After a restart, the view service's leader confirmed the view: if this node has
    /// been a member since before the epoch it was last in sync in, nothing could commit
    /// without it since, so it holds every committed command and is a valid member again
    /// (as the primary, with no hold: any other primary since was deposed before that
    /// epoch, and this node took over from it then). A view older than that epoch is not
    /// one to act on: a new leader of the view service may not have applied the latest
    /// view yet, and a primary of the older view would commit without the members that
    /// joined since.
    fn recover(&mut self, ctx: &mut Context<'_, Self>) {
        let stale = self.view.epoch < self.in_sync;
        if self.valid
            || stale
            || self.view.member_since(self.id).is_none_or(|since| since > self.in_sync)
        {
            return;
        }
        ctx.count("member_recovered");
        self.valid = true;
        if self.view.first() == Some(self.id) {
            self.take_over(ctx, false);
        }
    }

    /// Become (or stay) the primary of a view: every backup must get in sync again, and
    /// reads wait until the whole log has committed. With `hold`, answer nobody for a
    /// while: the old primary may still hold a lease.
    fn take_over(&mut self, ctx: &mut Context<'_, Self>, hold: bool) {
        let stamp = self.stamp();
        self.note_in_sync(ctx, stamp);
        self.followers = vec![Follower::default(); ctx.cluster_size()];
        self.takeover_len = self.len();
        if hold {
            ctx.count("primary_changed");
            self.waiting.clear();
            let hold = self.config.options.master().takeover_hold(&self.config.raft);
            self.link.hold(ctx.now(), hold);
        }
        for &backup in &self.view.members[1..] {
            ctx.send(backup, Msg::StartView { stamp });
        }
        self.commit_and_answer(ctx);
        ctx.announce(ProtocolEvent::BecameLeader);
    }

    /// No longer the primary: drop what only a primary keeps.
    fn step_down(&mut self, ctx: &mut Context<'_, Self>) {
        self.link.revoke();
        self.waiting.clear();
        self.held.clear();
        for (id, _) in std::mem::take(&mut self.held_reads) {
            ctx.reply(id, Reply::Redirect(self.view.first()));
        }
    }

    /// A backup heard from the primary of `stamp` (in its view): whether it is in sync
    /// with it. If not, and the stamp is not of an earlier incarnation, ask to be.
    fn in_sync_with(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, stamp: Stamp) -> bool {
        if stamp.epoch != self.view.epoch || self.view.first() != Some(from) || from == self.id {
            return false;
        }
        if self.synced == Some(stamp) && self.valid {
            return true;
        }
        if self.synced.is_some_and(|s| s > stamp) {
            return false;
        }
        self.synced = None;
        let hello = Msg::Hello {
            stamp,
            len: self.len(),
            commit: self.commit,
            digest: self.digests[self.log.len()],
        };
        ctx.send(from, hello);
        false
    }

    fn backups(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.view.members.iter().skip(1).copied()
    }

    /// Commit what every member holds (or, with `reply_before_backups_ack`, what the
    /// primary holds), apply it, and answer its clients.
    fn commit_and_answer(&mut self, ctx: &mut Context<'_, Self>) {
        let everywhere = if self.config.bugs.reply_before_backups_ack {
            self.len()
        } else {
            self.backups()
                .map(|b| self.followers[b.0 as usize].acked.unwrap_or(0))
                .fold(self.len(), u64::min)
        };
        self.advance_commit(everywhere);
        while let Some(&(index, id)) = self.waiting.front() {
            if index > self.commit {
                break;
            }
            self.waiting.pop_front();
            self.answer(ctx, index, id);
        }
        self.release_held(ctx);
    }

    /// Answer a client of a committed command from its session, if it is still the
    /// latest (after the takeover hold).
    fn answer(&mut self, ctx: &mut Context<'_, Self>, index: u64, id: RequestId) {
        if self.link.holding(ctx.now()) {
            if self.held.len() < MAX_WAITING {
                self.held.push(id);
            }
            return;
        }
        // A later request of the same client replaces the session; that client has given
        // up on this one, so there is no one to answer.
        if let Some(reply) = self.store.cached_reply(id) {
            self.answered = self.answered.max((self.view.epoch, index));
            ctx.reply(id, reply.clone());
        }
    }

    /// Whether the primary may serve reads now.
    fn serves_reads(&self, ctx: &Context<'_, Self>) -> bool {
        self.is_primary()
            && !self.link.holding(ctx.now())
            && (self.link.leased(ctx.now()) || self.config.bugs.reads_without_lease)
            && self.commit >= self.takeover_len
    }

    /// Answer what the hold and the read conditions held back, once they allow it.
    fn release_held(&mut self, ctx: &mut Context<'_, Self>) {
        if self.link.holding(ctx.now()) {
            return;
        }
        let commit = self.commit;
        for id in std::mem::take(&mut self.held) {
            self.answer(ctx, commit, id);
        }
        if self.serves_reads(ctx) {
            for (id, key) in std::mem::take(&mut self.held_reads) {
                ctx.reply(id, Reply::Ok(self.store.read(key)));
            }
        }
    }

    /// Send backup `to` the entries after what it acknowledged, a batch at most.
    fn replicate(&self, ctx: &mut Context<'_, Self>, to: NodeId) {
        let Some(acked) = self.followers[to.0 as usize].acked else { return };
        let stamp = self.stamp();
        let entries = self.log.iter().enumerate().skip(acked as usize);
        for (i, command) in entries.take(self.config.options.batch) {
            let index = i as u64 + 1;
            ctx.send(
                to,
                Msg::Replicate { stamp, index, command: command.clone(), commit: self.commit },
            );
        }
    }

    fn on_hello(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        hello: (Stamp, u64, u64, u64),
    ) {
        let (stamp, len, commit, digest) = hello;
        if stamp != self.stamp() || !self.is_primary() || self.view.position(from).is_none() {
            return;
        }
        // The backup's log agrees with ours up to its length, or at least up to its
        // commit point (committed entries are the same everywhere).
        let matches = self.digests.get(len as usize) == Some(&digest)
            || (self.config.bugs.keep_divergent_tail && len <= self.len());
        let from_index = if matches { len } else { commit.min(self.len()) };
        let entries = Arc::new(self.log[from_index as usize..].to_vec());
        self.followers[from.0 as usize].acked = None;
        ctx.send(from, Msg::Sync { stamp, from: from_index, entries, commit: self.commit });
    }

    fn on_sync(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        sync: (Stamp, u64, Arc<Vec<Request<Op>>>, u64),
    ) {
        let (stamp, from_index, entries, commit) = sync;
        if stamp.epoch != self.view.epoch || self.view.first() != Some(from) || from == self.id {
            return;
        }
        if self.synced == Some(stamp) && self.valid {
            // Already in sync with this primary: a duplicate, or an answer to a repeated
            // `Hello`. Say so.
            self.ack(ctx);
            return;
        }
        // Until in sync, the log is what every `Hello` to this primary described (nothing
        // changes it), so `from` is within it; a `Sync` of an earlier incarnation is old.
        if self.synced.is_some_and(|s| s > stamp) || from_index > self.len() {
            return;
        }
        // Keep what is committed here; take the primary's log after it.
        let keep = from_index.max(self.commit);
        let Some(missing) = entries.get((keep - from_index) as usize..) else {
            // The primary lacks a command committed here: nothing can commit with us.
            ctx.count("sync_behind_commit");
            return;
        };
        self.truncate(ctx, keep);
        self.append(ctx, missing);
        self.ahead.clear();
        self.note_in_sync(ctx, stamp);
        ctx.count("backup_synced");
        self.advance_commit(commit);
        self.ack(ctx);
    }

    fn is_member(&self) -> bool {
        self.valid && self.view.position(self.id).is_some()
    }

    fn ack(&self, ctx: &mut Context<'_, Self>) {
        if let (Some(primary), Some(stamp)) = (self.view.first(), self.synced) {
            ctx.send(primary, Msg::Ack { stamp, index: self.len(), commit: self.commit });
        }
    }

    fn on_replicate(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        entry: (Stamp, u64, Request<Op>, u64),
    ) {
        let (stamp, index, command, commit) = entry;
        if !self.in_sync_with(ctx, from, stamp) {
            return;
        }
        if index > self.len() + 1 {
            if self.ahead.len() < MAX_AHEAD {
                self.ahead.insert(index, command);
            }
        } else if index == self.len() + 1 {
            let mut run = vec![command];
            while let Some(next) = self.ahead.remove(&(self.len() + run.len() as u64 + 1)) {
                run.push(next);
            }
            self.append(ctx, &run);
            let len = self.len();
            self.ahead.retain(|&i, _| i > len);
        }
        self.advance_commit(commit);
        self.ack(ctx);
    }

    fn on_ack(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, ack: (Stamp, u64, u64)) {
        let (stamp, index, commit) = ack;
        if stamp != self.stamp() || !self.is_primary() || self.view.position(from).is_none() {
            return;
        }
        let follower = &mut self.followers[from.0 as usize];
        follower.commit = commit;
        if follower.acked.is_none_or(|a| index > a) {
            follower.acked = Some(index.min(self.log.len() as u64));
            self.commit_and_answer(ctx);
        }
    }

    fn on_request_at_primary(&mut self, ctx: &mut Context<'_, Self>, request: Request<Op>) {
        if let Op::Read { key } = request.op {
            if self.serves_reads(ctx) {
                ctx.reply(request.id, Reply::Ok(self.store.read(key)));
            } else if self.held_reads.len() < MAX_WAITING {
                self.held_reads.push((request.id, key));
            }
            return;
        }
        if self.store.cached_reply(request.id).is_some() {
            // A retry of a committed command.
            ctx.count("request_deduplicated");
            let commit = self.commit;
            self.answer(ctx, commit, request.id);
            return;
        }
        if self.store.is_stale(request.id) || self.waiting.iter().any(|&(_, id)| id == request.id) {
            return;
        }
        if self.waiting.len() >= MAX_WAITING {
            return;
        }
        // A retry of a command an earlier primary logged: wait for it to commit.
        let uncommitted = &self.log[self.commit as usize..];
        if let Some(i) = uncommitted.iter().position(|c| c.id == request.id) {
            ctx.count("request_deduplicated");
            self.waiting.push_back((self.commit + i as u64 + 1, request.id));
            return;
        }
        self.append(ctx, std::slice::from_ref(&request));
        let index = self.len();
        self.waiting.push_back((index, request.id));
        let (stamp, commit) = (self.stamp(), self.commit);
        for backup in self.backups().collect::<Vec<_>>() {
            if self.followers[backup.0 as usize].acked == Some(index - 1) {
                let command = request.clone();
                ctx.send(backup, Msg::Replicate { stamp, index, command, commit });
            }
        }
        self.commit_and_answer(ctx);
    }

    fn on_tick(&mut self, ctx: &mut Context<'_, Self>) {
        let heartbeat = Msg::Heartbeat { sent_at: ctx.now(), synced: self.is_member() };
        self.link.heartbeat(ctx, self.config.options.masters, heartbeat);
        if self.is_primary() {
            let stamp = self.stamp();
            for backup in self.backups().collect::<Vec<_>>() {
                let follower = self.followers[backup.0 as usize];
                match follower.acked {
                    None => ctx.send(backup, Msg::StartView { stamp }),
                    Some(acked) if acked < self.len() => self.replicate(ctx, backup),
                    Some(_) if follower.commit < self.commit => {
                        ctx.send(backup, Msg::Commit { stamp, commit: self.commit })
                    }
                    Some(_) => {}
                }
            }
            self.release_held(ctx);
        }
        let options = self.config.options.master();
        self.propose_view(ctx, &options, "view_change_proposed");
        ctx.set_timer(self.config.options.heartbeat_interval, Timer::Tick);
    }
}

fn encode_command(command: &Request<Op>) -> Vec<u8> {
    let mut payload = Vec::new();
    Encoder::new(&mut payload).request(command);
    payload
}

/// The command of a log record (`None` if the record is not one).
fn decode_command(payload: &[u8]) -> Option<Request<Op>> {
    let mut d = Decoder::new(payload);
    let command = d.request()?;
    d.is_done().then_some(command)
}

fn encode_u64(n: u64) -> Vec<u8> {
    let mut payload = Vec::new();
    Encoder::new(&mut payload).u64(n);
    payload
}

fn decode_u64(payload: &[u8]) -> Option<u64> {
    let mut d = Decoder::new(payload);
    let n = d.u64()?;
    d.is_done().then_some(n)
}

crate::membership::master_host!(PrimaryBackup);

impl Node for PrimaryBackup {
    type Config = Config;
    type Msg = Msg;
    type Timer = Timer;
    type Workload = KvWorkload;

    fn start(config: &Config, ctx: &mut Context<'_, Self>) -> Self {
        // A torn tail is cut; a read with a flipped bit is read again, not cut (which would
        // throw away acknowledged commands).
        let mut recovery = Recovery::new(ctx.disk());
        let (file, commands) = recovery.log(LOG_FILE, |_, p| decode_command(p));
        let epoch = recovery.cell(&EPOCH, decode_u64);
        let starts = recovery.cell(&STARTS, decode_u64);
        let first_start = starts.is_none();
        let incarnation = starts.unwrap_or(0) + 1;
        STARTS.store(recovery.disk(), &encode_u64(incarnation));
        if first_start {
            EPOCH.store(recovery.disk(), &encode_u64(1));
        }
        recovery.finish().count(ctx);
        let masters = config.options.masters;
        let master = (ctx.id().0 < masters)
            .then(|| Master::start(ctx, &config.raft, masters, Msg::Raft, Timer::Raft));
        let nodes = ctx.cluster_size();
        let mut node = PrimaryBackup {
            id: ctx.id(),
            config: config.clone(),
            master,
            link: MasterLink::default(),
            view: if first_start { View::initial(nodes) } else { View::none() },
            valid: first_start,
            in_sync: epoch.unwrap_or(1),
            // At the first start, every node is in sync with node 0's first incarnation.
            synced: first_start.then_some(Stamp { epoch: 1, incarnation: 1 }),
            incarnation,
            log: Vec::new(),
            digests: vec![0],
            file,
            store: KvStore::default(),
            commit: 0,
            followers: vec![Follower::default(); nodes],
            takeover_len: 0,
            waiting: VecDeque::new(),
            held: Vec::new(),
            held_reads: Vec::new(),
            ahead: BTreeMap::new(),
            answered: (0, 0),
        };
        for command in commands {
            node.push_entry(command);
        }
        if first_start {
            if node.view.first() == Some(ctx.id()) {
                // Every backup starts in sync with the empty log.
                node.followers.iter_mut().for_each(|f| f.acked = Some(0));
            }
        } else {
            ctx.count("node_restarted");
        }
        node.adopt_from_master(ctx);
        ctx.set_timer(config.options.heartbeat_interval, Timer::Tick);
        node
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Raft(msg) => self.with_raft(ctx, |raft, inner| raft.on_message(inner, from, msg)),
            Msg::Replicate { stamp, index, command, commit } => {
                self.on_replicate(ctx, from, (stamp, index, command, commit))
            }
            Msg::Commit { stamp, commit } => {
                if self.in_sync_with(ctx, from, stamp) {
                    self.advance_commit(commit);
                    self.ack(ctx);
                }
            }
            Msg::Ack { stamp, index, commit } => self.on_ack(ctx, from, (stamp, index, commit)),
            Msg::StartView { stamp } => {
                if self.in_sync_with(ctx, from, stamp) {
                    self.ack(ctx);
                }
            }
            Msg::Hello { stamp, len, commit, digest } => {
                self.on_hello(ctx, from, (stamp, len, commit, digest))
            }
            Msg::Sync { stamp, from: index, entries, commit } => {
                self.on_sync(ctx, from, (stamp, index, entries, commit))
            }
            Msg::Heartbeat { sent_at, synced } => self.answer_heartbeat(ctx, from, sent_at, synced),
            Msg::Grant { sent_at, view } => {
                self.link.answered(from);
                let epoch = view.epoch;
                self.adopt(ctx, view);
                if epoch == self.view.epoch {
                    self.recover(ctx);
                }
                if self.is_primary() {
                    self.link.extend(sent_at, self.config.options.lease);
                    self.release_held(ctx);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        match timer {
            Timer::Raft(timer) => self.with_raft(ctx, |raft, inner| raft.on_timer(inner, timer)),
            Timer::Tick => self.on_tick(ctx),
        }
    }

    /// The primary (the node a leader-targeting nemesis should hit).
    fn is_leader(&self) -> bool {
        self.is_primary()
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request<Op>) {
        if self.is_primary() {
            self.on_request_at_primary(ctx, request);
            return;
        }
        match request.op {
            Op::Read { key } if self.config.bugs.backup_reads && self.is_member() => {
                ctx.reply(request.id, Reply::Ok(self.store.read(key)));
            }
            // A node first in its view but not valid is no primary: nobody knows one yet.
            _ => {
                ctx.reply(request.id, Reply::Redirect(self.view.first().filter(|&p| p != self.id)))
            }
        }
    }
}

/// State machine safety: no two nodes commit different commands at one log index; and
/// durability: every command a primary answered for is in the log of every live member in
/// sync in that epoch or a later one (each synced it before acknowledging, recovers it
/// after a crash, and only a member that holds it can get in sync).
#[derive(Debug, Default)]
pub struct Invariants {
    /// Digest of the command first committed at each index.
    digests: Vec<u64>,
    /// Per node, how much of its committed log has been compared.
    checked: Vec<u64>,
    /// Per epoch, the highest index a primary answered a client for in it.
    answered: BTreeMap<u64, u64>,
}

impl Observer<PrimaryBackup> for Invariants {
    fn after_node(
        &mut self,
        time: SimTime,
        node: NodeId,
        nodes: &Nodes<'_, PrimaryBackup>,
        _annotations: &[String],
    ) -> Result<(), Violation> {
        if self.checked.len() < nodes.len() {
            self.checked.resize(nodes.len(), 0);
        }
        let Some(state) = nodes.get(node) else {
            self.checked[node.0 as usize] = 0;
            return Ok(());
        };
        let from = self.checked[node.0 as usize].min(state.commit);
        for (i, command) in
            state.log.iter().enumerate().take(state.commit as usize).skip(from as usize)
        {
            let digest = stable_hash(command);
            match self.digests.get(i) {
                None => self.digests.push(digest),
                Some(&seen) if seen != digest => {
                    return Err(Violation {
                        invariant: "state_machine_safety".into(),
                        message: format!(
                            "{node} committed {command:?} at index {}, another node a different command",
                            i + 1
                        ),
                        time,
                        node: Some(node),
                    });
                }
                Some(_) => {}
            }
        }
        self.checked[node.0 as usize] = state.commit;
        let (epoch, index) = state.answered;
        if index > 0 {
            let highest = self.answered.entry(epoch).or_default();
            *highest = (*highest).max(index);
        }
        self.acknowledged_on_every_backup(time, nodes)
    }
}

impl Invariants {
    fn acknowledged_on_every_backup(
        &self,
        time: SimTime,
        nodes: &Nodes<'_, PrimaryBackup>,
    ) -> Result<(), Violation> {
        for (id, member) in nodes.iter() {
            let Some((member, epoch)) = member.and_then(|m| Some((m, m.in_sync_epoch()?))) else {
                continue;
            };
            let Some(answered) = self.answered.range(..=epoch).map(|(_, &i)| i).max() else {
                continue;
            };
            if member.len() < answered {
                return Err(Violation {
                    invariant: "acknowledged_on_every_backup".into(),
                    message: format!(
                        "a primary answered for the command at index {answered}, but {id}, in sync in epoch {epoch}, holds only {}",
                        member.len()
                    ),
                    time,
                    node: Some(id),
                });
            }
        }
        Ok(())
    }
}

impl Protocol for PrimaryBackup {
    const NAME: &'static str = "primary-backup";
    const SUMMARY: &'static str =
        "Primary-copy replication with synchronous backups and view changes by a Raft view service";
    type Invariants = Invariants;
    type Options = Options;
    type Bugs = Bugs;

    fn configure(options: Options, bugs: Bugs) -> Result<Config, String> {
        if options.batch < 1 {
            return Err(format!("batch must be at least 1, not {}", options.batch));
        }
        let raft = options.master().configure()?;
        Ok(Config { options, bugs, raft })
    }

    fn fits_cluster(config: &Config, nodes: u32) -> Result<(), String> {
        config.options.master().fits_cluster(nodes)
    }

    fn replica_digest(&self) -> Option<u64> {
        Some(self.store.digest())
    }

    fn properties() -> Vec<PropertySpec> {
        vec![
            PropertySpec::always(
                "state_machine_safety",
                "No two nodes commit different commands at one log index.",
            ),
            PropertySpec::always(
                "acknowledged_on_every_backup",
                "Every command a primary answered for is on the disk of every member in sync since.",
            ),
            PropertySpec::sometimes(
                "primary_changed",
                "A node took over as primary of a new view.",
            ),
            PropertySpec::sometimes(
                "uncommitted_tail_cut",
                "A backup cut entries an old primary had sent but never committed.",
            ),
            PropertySpec::sometimes(
                "member_removed_alive",
                "The view service removed a member that was still running.",
            ),
        ]
    }
}
