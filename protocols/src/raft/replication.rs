//! Log replication (§3.5), commitment (§3.6.2), applying committed entries, and log
//! compaction with snapshots (§5).

use super::log::{Command, Entry};
use super::storage::{self, Snapshot};
use super::{GhostEntry, Msg, PendingAck, Raft, Role};
use crate::kv::Applied;
use sim_core::announce::ProtocolEvent;
use sim_core::node::{Context, NodeId};

/// The fields of an AppendEntries request.
pub(super) struct AppendRequest {
    pub term: u64,
    pub prev_log_index: u64,
    pub prev_log_term: u64,
    pub entries: Vec<Entry>,
    pub leader_commit: u64,
    pub round: u64,
}

/// The fields of an AppendEntries response.
pub(super) struct AppendResponse {
    pub term: u64,
    pub success: bool,
    pub match_index: u64,
    pub conflict_term: Option<u64>,
    pub conflict_index: u64,
    pub prev_log_index: u64,
    pub round: u64,
}

/// A successful AppendEntries response.
pub(super) fn success(term: u64, match_index: u64, prev_log_index: u64, round: u64) -> Msg {
    Msg::AppendEntriesResponse {
        term,
        success: true,
        match_index,
        conflict_term: None,
        conflict_index: 0,
        prev_log_index,
        round,
    }
}

/// A rejection of the request whose previous entry was `prev_log_index`.
fn rejection(
    term: u64,
    conflict_term: Option<u64>,
    conflict_index: u64,
    prev_log_index: u64,
    round: u64,
) -> Msg {
    Msg::AppendEntriesResponse {
        term,
        success: false,
        match_index: 0,
        conflict_term,
        conflict_index,
        prev_log_index,
        round,
    }
}

impl Raft {
    /// Append a command of the current term to the leader's log and replicate it. Returns
    /// its index.
    pub(super) fn append_as_leader(
        &mut self,
        ctx: &mut Context<'_, Self>,
        command: Command,
    ) -> u64 {
        debug_assert_eq!(self.role, Role::Leader);
        let entry = Entry { term: self.term, command };
        self.log_append(ctx, std::slice::from_ref(&entry));
        let index = self.log.last_index();
        for peer in ctx.peers() {
            self.send_append(ctx, peer);
        }
        self.advance_commit(ctx);
        index
    }

    /// A heartbeat round (§3.4): AppendEntries to every follower, numbered for ReadIndex.
    /// It goes even if a request is in flight, which retransmits one that was lost.
    pub(super) fn broadcast_round(&mut self, ctx: &mut Context<'_, Self>) {
        self.round += 1;
        for peer in ctx.peers() {
            self.progress[peer.0 as usize].in_flight = false;
            self.send_append(ctx, peer);
        }
        self.serve_reads(ctx);
    }

    /// Unless a request is in flight, send `peer` what it needs next: entries from its
    /// `next_index` (none makes a heartbeat), or the snapshot if those are compacted away.
    pub(super) fn send_append(&mut self, ctx: &mut Context<'_, Self>, peer: NodeId) {
        let p = self.progress[peer.0 as usize];
        if p.in_flight {
            return;
        }
        if p.next_index <= self.log.base_index() {
            self.send_snapshot(ctx, peer);
            return;
        }
        assert!(p.next_index <= self.log.last_index() + 1, "next index past the log for {peer}");
        let prev_log_index = p.next_index - 1;
        let prev_log_term = self.log.term_at(prev_log_index).expect("prev entry is in the log");
        // Buggify: one entry at a time, so that followers hold many partial logs.
        let most = if ctx.buggify("buggify_raft_one_entry") {
            1
        } else {
            self.config.max_entries_per_append
        };
        let entries = self.log.entries_from(p.next_index, most).to_vec();
        ctx.send(
            peer,
            Msg::AppendEntries {
                term: self.term,
                prev_log_index,
                prev_log_term,
                entries,
                leader_commit: self.commit_index,
                round: self.round,
            },
        );
        self.progress[peer.0 as usize].in_flight = true;
    }

    fn send_snapshot(&mut self, ctx: &mut Context<'_, Self>, peer: NodeId) {
        ctx.count("snapshot_sent");
        let msg = Msg::InstallSnapshot {
            term: self.term,
            snapshot: self.snapshot.clone(),
            round: self.round,
        };
        ctx.send(peer, msg);
        self.progress[peer.0 as usize].in_flight = true;
    }

    /// A follower's side of AppendEntries (§3.5).
    pub(super) fn handle_append_entries(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        request: AppendRequest,
    ) {
        let round = request.round;
        let request_prev = request.prev_log_index;
        if request.term < self.term {
            // A stale leader: our term in the answer makes it step down.
            ctx.send(from, rejection(self.term, None, 0, request_prev, round));
            return;
        }
        self.become_follower(ctx, request.term, Some(from));
        self.leader_contact = Some(ctx.now());
        self.reset_election_deadline(ctx);

        let base = self.log.base_index();
        let mut prev = request.prev_log_index;
        let mut entries = &request.entries[..];
        if prev < base {
            // Entries up to the base are committed, so they match (§5.3): skip them.
            let skip = (base - prev) as usize;
            if skip >= entries.len() {
                self.ack_append(ctx, from, prev + entries.len() as u64, request_prev, round);
                return;
            }
            entries = &entries[skip..];
            prev = base;
        } else if prev > self.log.last_index() {
            ctx.count("append_rejected");
            let hint = self.log.last_index() + 1;
            ctx.send(from, rejection(self.term, None, hint, request_prev, round));
            return;
        } else if self.log.term_at(prev) != Some(request.prev_log_term) {
            // §3.5 fast backtracking: the conflicting term and the first index we hold of it.
            ctx.count("append_rejected");
            let term = self.log.term_at(prev).expect("prev is in the log");
            let first = self.log.first_index_of_term_run(prev);
            ctx.send(from, rejection(self.term, Some(term), first, request_prev, round));
            return;
        }

        // Skip what we already hold; at the first conflict, drop our suffix (§3.5).
        let mut k = 0;
        while k < entries.len() {
            let index = prev + 1 + k as u64;
            match self.log.term_at(index) {
                Some(term) if term == entries[k].term => k += 1,
                Some(_) => {
                    ctx.count("conflict_truncated");
                    if self.config.bugs.no_truncate_conflict {
                        k = self.replace_conflicting(ctx, prev, entries, k);
                    } else {
                        self.log_truncate(ctx, index);
                    }
                    break;
                }
                None => break,
            }
        }
        if k < entries.len() {
            self.log_append(ctx, &entries[k..]);
        }
        let last_new = prev + entries.len() as u64;
        // Figure 3.1: if leaderCommit > commitIndex, commit up to min(leaderCommit, index of
        // last new entry): no further than what this request proved we share with the leader.
        let commit = request.leader_commit.min(last_new);
        let regress = self.config.bugs.commit_index_regresses && commit < self.commit_index;
        if commit > self.commit_index || regress {
            self.commit_index = commit;
            self.apply_committed(ctx);
        }
        self.ack_append(ctx, from, last_new, request_prev, round);
    }

    /// The `no_truncate_conflict` bug: overwrite the conflicting entries one by one and
    /// keep whatever followed them. Returns how many of `entries` are now in place.
    fn replace_conflicting(
        &mut self,
        ctx: &mut Context<'_, Self>,
        prev: u64,
        entries: &[Entry],
        mut k: usize,
    ) -> usize {
        while k < entries.len() && prev + 1 + (k as u64) <= self.log.last_index() {
            let index = prev + 1 + k as u64;
            if self.log.term_at(index) != Some(entries[k].term) {
                let entry = entries[k].clone();
                let prev_term = self.log.term_at(index - 1).expect("entry before a replaced one");
                let ghost =
                    GhostEntry { index, term: entry.term, prev_term, digest: entry.digest() };
                self.ghost.written.push(ghost);
                self.log.replace_in_place(ctx.disk(), index, entry);
                self.durable_index = self.durable_index.min(index - 1);
                self.log_dirty = true;
                self.waiting.remove(&index);
                if let Some(next) = self.log.entry(index + 1) {
                    // Its predecessor changed under it: the checker must look again.
                    let ghost = GhostEntry {
                        index: index + 1,
                        term: next.term,
                        prev_term: entries[k].term,
                        digest: next.digest(),
                    };
                    self.ghost.written.push(ghost);
                }
            }
            k += 1;
        }
        k
    }

    /// Answer a successful AppendEntries (§3.8: only for what is durable): at once when
    /// the entries are synced, or will be before this handler's messages leave; otherwise
    /// once the group commit has synced them.
    fn ack_append(
        &mut self,
        ctx: &mut Context<'_, Self>,
        leader: NodeId,
        match_index: u64,
        prev_log_index: u64,
        round: u64,
    ) {
        if self.acks_unsynced() || match_index <= self.durable_index {
            ctx.send(leader, success(self.term, match_index, prev_log_index, round));
        } else if self.pending_ack.is_none_or(|a| a.match_index <= match_index) {
            let term = self.term;
            self.pending_ack =
                Some(PendingAck { leader, term, match_index, prev_log_index, round });
        }
    }

    /// The leader's side of an AppendEntries response (§3.5).
    pub(super) fn handle_append_response(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        response: AppendResponse,
    ) {
        if response.term > self.term {
            self.become_follower(ctx, response.term, None);
            return;
        }
        if self.role != Role::Leader || response.term != self.term {
            return;
        }
        let last_index = self.log.last_index();
        let p = &mut self.progress[from.0 as usize];
        p.heard = true;
        p.acked_round = p.acked_round.max(response.round);
        // An answer to a request other than the latest one sent is stale (the network
        // reordered or duplicated it); a success still proves what the follower holds.
        let current = response.prev_log_index + 1 == p.next_index;
        if response.success {
            p.match_index = p.match_index.max(response.match_index);
            if p.next_index <= p.match_index {
                p.next_index = p.match_index + 1;
            }
            if current {
                p.in_flight = false;
            }
            self.advance_commit(ctx);
            if self.progress[from.0 as usize].next_index <= last_index {
                self.send_append(ctx, from);
            }
        } else if !current {
            ctx.count("stale_rejection_ignored");
        } else {
            // §3.5: skip the follower's whole conflicting term, or to the end of its log.
            let hint = match response.conflict_term {
                Some(term) => {
                    self.log.last_index_of_term(term).map_or(response.conflict_index, |i| i + 1)
                }
                None => response.conflict_index,
            };
            let p = &mut self.progress[from.0 as usize];
            p.next_index = hint.max(p.match_index + 1).min(last_index + 1);
            p.in_flight = false;
            self.send_append(ctx, from);
        }
        self.serve_reads(ctx);
    }

    /// §3.6.2: commit the highest index a majority stores, if it is of the current term
    /// (Figure 3.7: an earlier term's entry is committed only indirectly).
    pub(super) fn advance_commit(&mut self, ctx: &mut Context<'_, Self>) {
        if self.role != Role::Leader {
            return;
        }
        let me = self.id.0 as usize;
        let own = self.self_match();
        self.scratch.clear();
        for (i, p) in self.progress.iter().enumerate() {
            self.scratch.push(if i == me { own } else { p.match_index });
        }
        self.scratch.sort_unstable_by(|a, b| b.cmp(a));
        let replicated = self.scratch[self.majority() - 1];
        if replicated <= self.commit_index {
            return;
        }
        let current_term = self.log.term_at(replicated) == Some(self.term);
        if !current_term {
            if !self.config.bugs.commit_previous_term {
                return;
            }
            ctx.count("bug_committed_previous_term");
        }
        self.commit_index = replicated;
        self.apply_committed(ctx);
    }

    /// Apply committed entries in order, answer the clients waiting on them, then serve
    /// reads that waited for them and snapshot if the log has grown enough.
    pub(super) fn apply_committed(&mut self, ctx: &mut Context<'_, Self>) {
        let upto = self.commit_index.min(self.log.last_index());
        while self.last_applied < upto {
            let index = self.last_applied + 1;
            let entry = self.log.entry(index).expect("a committed entry is in the log");
            let (term, digest) = (entry.term, entry.digest());
            let (request_id, applied) = match &entry.command {
                Command::Client(request) if self.config.bugs.no_client_sessions => {
                    (Some(request.id), Some(self.kv.apply_without_session(request)))
                }
                Command::Client(request) => (Some(request.id), Some(self.kv.apply(request))),
                Command::Noop => (None, None),
            };
            self.last_applied = index;
            self.ghost.applied.push(GhostEntry { index, term, prev_term: 0, digest });
            let waiter = self.waiting.remove(&index);
            let reply = match applied {
                Some(Applied::Executed(reply)) => Some(reply),
                Some(Applied::Duplicate(reply)) => {
                    if waiter.is_some() {
                        ctx.count("request_deduplicated");
                    }
                    Some(reply)
                }
                Some(Applied::Stale) | None => None,
            };
            if let (Some(waiter), Some(reply)) = (waiter, reply)
                && request_id == Some(waiter)
            {
                ctx.reply(waiter, reply);
            }
        }
        self.serve_reads(ctx);
        self.maybe_snapshot(ctx);
    }

    /// §5.1: snapshot the state machine once `snapshot_threshold` applied entries follow
    /// the last snapshot. The snapshot is synced before the log is compacted, and the log
    /// keeps the last `snapshot_threshold / 2` entries before the snapshot point, so that a
    /// follower lagging a little is caught up from the log rather than sent the snapshot
    /// (as etcd keeps "catch-up entries").
    fn maybe_snapshot(&mut self, ctx: &mut Context<'_, Self>) {
        let threshold = self.config.snapshot_threshold;
        if threshold == 0 || self.last_applied < self.snapshot.last_index + threshold {
            return;
        }
        let index = self.last_applied;
        let term = self.log.term_at(index).expect("applied entry is in the log");
        self.snapshot = Snapshot::of(index, term, &self.kv);
        storage::save_snapshot(ctx.disk(), &self.snapshot);
        self.sync(ctx);
        let base = index.saturating_sub(threshold / 2).max(self.log.base_index());
        let base_term = self.log.term_at(base).expect("the new base is in the log");
        self.log.compact(ctx.disk(), base, base_term);
        self.sync(ctx);
        ctx.count("snapshot_taken");
        ctx.annotate(|| format!("snapshot at {index} (term {term}), log from {base}"));
    }

    /// A follower's side of InstallSnapshot (§5.3).
    pub(super) fn handle_install_snapshot(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        term: u64,
        snapshot: Snapshot,
        round: u64,
    ) {
        if term < self.term {
            ctx.send(from, Msg::InstallSnapshotResponse { term: self.term, match_index: 0, round });
            return;
        }
        self.become_follower(ctx, term, Some(from));
        self.leader_contact = Some(ctx.now());
        self.reset_election_deadline(ctx);
        let (index, snapshot_term) = (snapshot.last_index, snapshot.last_term);
        if index <= self.commit_index {
            // Nothing new: we already hold (committed) everything it covers.
            let durable = if self.acks_unsynced() { index } else { index.min(self.durable_index) };
            let msg = Msg::InstallSnapshotResponse { term, match_index: durable, round };
            ctx.send(from, msg);
            return;
        }
        let Some(kv) = snapshot.state() else { return };
        storage::save_snapshot(ctx.disk(), &snapshot);
        self.sync(ctx);
        // The snapshot is durable, the log not yet cut to it: what recovery must mend.
        ctx.announce(ProtocolEvent::InstallingSnapshot);
        // §5.3: keep the entries after the snapshot if our log agrees with it there.
        self.log.compact(ctx.disk(), index, snapshot_term);
        self.sync(ctx);
        self.kv = kv;
        self.commit_index = index;
        self.last_applied = index;
        self.snapshot = snapshot;
        self.ghost.snapshot = Some((index, snapshot_term));
        // Requests this node appended that the snapshot covers: answer those it applied.
        let rest = self.waiting.split_off(&(index + 1));
        for (_, id) in std::mem::replace(&mut self.waiting, rest) {
            if let Some(reply) = self.kv.cached_reply(id) {
                ctx.reply(id, reply.clone());
            }
        }
        ctx.count("snapshot_installed");
        ctx.annotate(|| format!("installed snapshot at {index} (term {snapshot_term})"));
        ctx.send(from, Msg::InstallSnapshotResponse { term, match_index: index, round });
    }

    /// The leader's side of an InstallSnapshot response.
    pub(super) fn handle_snapshot_response(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        term: u64,
        match_index: u64,
        round: u64,
    ) {
        if term > self.term {
            self.become_follower(ctx, term, None);
            return;
        }
        if self.role != Role::Leader || term != self.term {
            return;
        }
        let last_index = self.log.last_index();
        let p = &mut self.progress[from.0 as usize];
        p.heard = true;
        p.acked_round = p.acked_round.max(round);
        p.match_index = p.match_index.max(match_index);
        p.next_index = p.match_index + 1;
        p.in_flight = false;
        let more = p.next_index <= last_index;
        self.advance_commit(ctx);
        if more {
            self.send_append(ctx, from);
        }
        self.serve_reads(ctx);
    }
}
