//! The proposer: leader-failure detection, phase 1 once per leadership over every open
//! slot (§3), gap filling with no-ops, phase 2 per slot, retransmission and step-down.

use super::decree;
use super::{
    AcceptedValue, Ballot, Command, MAX_RESEND, MIN_TIMER_DELAY, Msg, Paxos, Phase1, Proposal,
    Role, SimDuration, SlotValue, Timer, redirect_all,
};
use sim_core::announce::ProtocolEvent;
use sim_core::node::{Context, NodeId};
use std::collections::BTreeMap;

impl Paxos {
    /// The one election timer of this incarnation fired: start phase 1 if the leader has
    /// been silent past the deadline (or phase 1 has stalled), or check the quorum (a
    /// leader); then re-arm.
    pub(super) fn on_election_timer(&mut self, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        let max = self.config.election_timeout_max;
        if self.role == Role::Leader {
            if now.saturating_since(self.quorum_check_started) >= max {
                self.check_quorum(ctx);
            }
        } else if now >= self.election_deadline {
            self.start_phase1(ctx);
        }
        let wait = if self.role == Role::Leader {
            let since = now.saturating_since(self.quorum_check_started);
            SimDuration(max.0.saturating_sub(since.0))
        } else {
            self.election_deadline.saturating_since(now)
        };
        // A backward clock jump can push the deadline far out; look again at least this often.
        ctx.set_timer(wait.max(MIN_TIMER_DELAY).min(max), Timer::Election);
    }

    /// A leader that no phase-2 quorum answered since the last check cannot get anything
    /// chosen: it steps down, so that clients are redirected to a leader that can.
    fn check_quorum(&mut self, ctx: &mut Context<'_, Self>) {
        self.quorum_check_started = ctx.now();
        let me = self.id.0 as usize;
        let heard = self.heard.iter().enumerate().filter(|&(i, &h)| h || i == me).count();
        self.heard.fill(false);
        if self.config.check_quorum && heard < self.quorums.phase2 {
            ctx.count("check_quorum_step_down");
            self.step_down(ctx, None);
            self.reset_election_deadline(ctx);
        }
    }

    /// Phase 1a with a ballot above every ballot seen, for every slot from the first one
    /// this node does not know chosen. Its own acceptor promises first.
    fn start_phase1(&mut self, ctx: &mut Context<'_, Self>) {
        self.reset_election_deadline(ctx);
        if self.config.bugs.skip_phase1_after_leader_change && self.leader_ballot > Ballot::ZERO {
            self.take_over_without_phase1(ctx);
            return;
        }
        ctx.count("phase1_started");
        let ballot = self.next_ballot();
        self.role = Role::Candidate;
        self.leader = None;
        self.ballot = ballot;
        let promised = self.promise(ctx, ballot);
        self.expect(promised, || format!("own promise of {ballot} refused"));
        let first_slot = self.applied + 1;
        self.phase1 = Some(Phase1 {
            first_slot,
            promised_by: vec![false; self.cluster_size],
            promises: 0,
            max_applied: self.applied,
            max_applied_from: self.id,
            found: BTreeMap::new(),
        });
        ctx.annotate(|| format!("phase 1 for {ballot} from slot {first_slot}"));
        let own = self.accepted_from(first_slot);
        let id = self.id;
        let applied = self.applied;
        ctx.broadcast(Msg::Prepare { ballot, first_slot });
        ctx.set_timer(self.config.heartbeat_interval, Timer::PrepareRetry { ballot });
        self.handle_promise(ctx, id, ballot, applied, own);
    }

    fn next_ballot(&mut self) -> Ballot {
        self.max_round = self.max_round.max(self.promised.round) + 1;
        Ballot { round: self.max_round, node: self.id }
    }

    /// Ask again, every heartbeat interval while phase 1 of `ballot` lasts, the acceptors
    /// whose promise has not arrived: the prepare or its answer may have been lost.
    pub(super) fn retry_prepare(&mut self, ctx: &mut Context<'_, Self>, ballot: Ballot) {
        let Some(phase1) = self.phase1.as_ref().filter(|_| self.ballot == ballot) else { return };
        let prepare = Msg::Prepare { ballot, first_slot: phase1.first_slot };
        for peer in ctx.peers() {
            if !phase1.promised_by[peer.0 as usize] {
                ctx.send(peer, prepare.clone());
            }
        }
        ctx.set_timer(self.config.heartbeat_interval, Timer::PrepareRetry { ballot });
    }

    /// Phase 1b arrives: keep the highest-ballot proposal per slot; with a phase-1 quorum
    /// of promises, lead.
    pub(super) fn handle_promise(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        applied: u64,
        accepted: Vec<AcceptedValue>,
    ) {
        if self.role != Role::Candidate || ballot != self.ballot {
            return;
        }
        let Some(phase1) = self.phase1.as_mut() else { return };
        if std::mem::replace(&mut phase1.promised_by[from.0 as usize], true) {
            return; // a duplicate
        }
        phase1.promises += 1;
        if applied > phase1.max_applied {
            phase1.max_applied = applied;
            phase1.max_applied_from = from;
        }
        for AcceptedValue { slot, ballot, command } in accepted {
            let found = phase1.found.get(&slot).map(|(b, c)| (*b, c));
            let best = decree::value_to_propose(found.into_iter().chain([(ballot, &command)]));
            if best == Some(&command) && found.is_none_or(|(b, _)| b < ballot) {
                phase1.found.insert(slot, (ballot, command));
            }
        }
        if phase1.promises >= self.quorums.phase1 {
            self.become_leader(ctx);
        }
    }

    /// Phase 1 is done (§3): every slot past the highest commit point any promise reported
    /// gets the highest-ballot value found there, or a no-op; new commands follow.
    fn become_leader(&mut self, ctx: &mut Context<'_, Self>) {
        let mut phase1 = self.phase1.take().expect("phase 1 in progress");
        let chosen_before = phase1.max_applied.max(self.applied);
        if chosen_before > self.applied {
            // Slots this leader does not know are chosen elsewhere: fetch them (and again
            // at each heartbeat until they arrive).
            ctx.count("leader_catch_up");
            self.hear_commit_point(chosen_before, phase1.max_applied_from);
            self.catch_up_target = phase1.max_applied_from;
            self.send_catch_up(ctx);
        }
        let found = if self.config.bugs.ignore_accepted_values {
            BTreeMap::new()
        } else {
            phase1.found.split_off(&(chosen_before + 1))
        };
        let last_found = found.keys().next_back().copied().unwrap_or(0);
        self.lead(ctx);
        let end = last_found.max(chosen_before) + 1;
        self.next_slot = chosen_before + 1;
        for slot in chosen_before + 1..end {
            let known = self.slots.get(&slot).and_then(|s| s.chosen.clone());
            let command = match (known, found.get(&slot)) {
                (Some(chosen), _) => chosen,
                (None, Some((_, command))) => {
                    ctx.count("phase1_found_accepted");
                    command.clone()
                }
                (None, None) => {
                    ctx.count("noop_filled");
                    Command::Noop
                }
            };
            self.propose(ctx, command);
        }
        let ballot = self.ballot;
        ctx.annotate(|| format!("leader of {ballot}, proposing from slot {end}"));
        for peer in ctx.peers() {
            self.send_unacknowledged(ctx, peer);
        }
        self.propose_queued(ctx);
    }

    /// Take up the leader's duties for `self.ballot`.
    fn lead(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.count("leader_elected");
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.leader_ballot = self.leader_ballot.max(self.ballot);
        self.ghost.became_leader = true;
        self.proposals.clear();
        self.heard.fill(false);
        self.quorum_check_started = ctx.now();
        let ballot = self.ballot;
        ctx.set_timer(self.config.heartbeat_interval, Timer::Heartbeat { ballot });
        ctx.announce(ProtocolEvent::BecameLeader);
    }

    /// The `skip_phase1_after_leader_change` bug: lead at once with a higher ballot and
    /// re-propose this node's own accepted values, no-ops in its own gaps.
    fn take_over_without_phase1(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.count("bug_skipped_phase1");
        let ballot = self.next_ballot();
        self.ballot = ballot;
        self.promise(ctx, ballot);
        self.phase1 = None;
        self.lead(ctx);
        let last = self.slots.keys().next_back().copied().unwrap_or(0).max(self.applied);
        self.next_slot = self.applied + 1;
        for slot in self.applied + 1..=last {
            let own = self.slots.get(&slot).and_then(|s| {
                s.chosen.clone().or_else(|| s.accepted.as_ref().map(|(_, c)| c.clone()))
            });
            self.propose(ctx, own.unwrap_or(Command::Noop));
        }
        for peer in ctx.peers() {
            self.send_unacknowledged(ctx, peer);
        }
        self.propose_queued(ctx);
    }

    /// Propose `command` in the next free slot: the leader's own acceptor accepts it
    /// first. Returns the slot. The caller sends it.
    pub(super) fn propose(&mut self, ctx: &mut Context<'_, Self>, command: Command) -> u64 {
        debug_assert_eq!(self.role, Role::Leader);
        let slot = self.next_slot;
        self.next_slot += 1;
        let mut acks = vec![false; self.cluster_size];
        let accepted = self.accept(ctx, slot, self.ballot, command.clone());
        self.expect(accepted, || format!("own proposal in slot {slot} refused"));
        acks[self.id.0 as usize] = accepted;
        self.proposals.insert(slot, Proposal { command, acks, count: usize::from(accepted) });
        self.count_acceptance(ctx, slot);
        slot
    }

    /// Send `peer` the proposals it has not accepted yet (at most [`MAX_RESEND`], in
    /// Accepts of `max_batch` each), or an empty Accept as a heartbeat.
    pub(super) fn send_unacknowledged(&mut self, ctx: &mut Context<'_, Self>, peer: NodeId) {
        let p = peer.0 as usize;
        // Buggify: one slot per Accept, so that acceptors hold many partial batches.
        let batch =
            if ctx.buggify("buggify_paxos_one_slot") { 1 } else { self.config.max_batch as usize };
        let (ballot, chosen_through) = (self.ballot, self.applied);
        let mut entries = Vec::with_capacity(batch.min(MAX_RESEND));
        let mut sent = false;
        let unacknowledged = self.proposals.iter().filter(|(_, proposal)| !proposal.acks[p]);
        for (&slot, proposal) in unacknowledged.take(MAX_RESEND) {
            entries.push(SlotValue { slot, command: proposal.command.clone() });
            if entries.len() == batch {
                let entries = std::mem::take(&mut entries);
                ctx.send(peer, Msg::Accept { ballot, entries, chosen_through });
                sent = true;
            }
        }
        if !sent || !entries.is_empty() {
            ctx.send(peer, Msg::Accept { ballot, entries, chosen_through });
        }
    }

    /// Send the proposal of `slot` to every other acceptor.
    pub(super) fn send_proposal(&mut self, ctx: &mut Context<'_, Self>, slot: u64) {
        let Some(proposal) = self.proposals.get(&slot) else { return }; // chosen already
        let entries = vec![SlotValue { slot, command: proposal.command.clone() }];
        ctx.broadcast(Msg::Accept { ballot: self.ballot, entries, chosen_through: self.applied });
    }

    /// Phase 2b arrives: count the acceptances; a phase-2 quorum chooses the value.
    pub(super) fn handle_accepted(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        slots: &[u64],
        applied: u64,
    ) {
        self.hear_commit_point(applied, from);
        if self.role != Role::Leader || ballot != self.ballot {
            return;
        }
        let a = from.0 as usize;
        self.heard[a] = true;
        for &slot in slots {
            if let Some(proposal) = self.proposals.get_mut(&slot)
                && !std::mem::replace(&mut proposal.acks[a], true)
            {
                proposal.count += 1;
                self.count_acceptance(ctx, slot);
            }
        }
        self.apply_chosen(ctx);
        self.propose_queued(ctx);
    }

    /// If the proposal of `slot` has a phase-2 quorum, it is chosen.
    fn count_acceptance(&mut self, ctx: &mut Context<'_, Self>, slot: u64) {
        let Some(proposal) = self.proposals.get(&slot) else { return };
        if proposal.count < self.quorums.phase2 {
            return;
        }
        let command = self.proposals.remove(&slot).expect("present").command;
        self.learn(ctx, slot, command);
    }

    /// A refusal: a higher ballot was promised, so this proposer is preempted.
    pub(super) fn handle_nack(
        &mut self,
        ctx: &mut Context<'_, Self>,
        ballot: Ballot,
        promised: Ballot,
    ) {
        self.note_round(promised);
        if self.role == Role::Follower || ballot != self.ballot || promised <= self.ballot {
            return;
        }
        ctx.count("ballot_preempted");
        ctx.annotate(|| format!("{ballot} preempted by {promised}"));
        self.step_down(ctx, None);
        // Back off for a fresh random timeout: dueling proposers rarely collide twice.
        self.reset_election_deadline(ctx);
    }

    /// Stop proposing. Proposed commands keep their waiters (their fate is unknown: they
    /// are answered if they apply here); queued ones are redirected.
    pub(super) fn step_down(&mut self, ctx: &mut Context<'_, Self>, leader: Option<NodeId>) {
        if self.role == Role::Leader {
            ctx.count("leader_stepped_down");
            let ballot = self.ballot;
            ctx.annotate(|| format!("steps down from {ballot}"));
        }
        self.role = Role::Follower;
        self.phase1 = None;
        self.proposals.clear();
        self.leader = leader;
        redirect_all(ctx, std::mem::take(&mut self.queued), leader);
    }
}
