//! The acceptor: phase 1b (promises) and phase 2b (accepts) over every slot, with the
//! rules of `decree` and one promise shared by all slots; each answer is persisted first.

use super::decree;
use super::{Ballot, Command, GhostAccept, LogRecord, Msg, Paxos, Role, SlotValue};
use sim_core::node::{Context, NodeId};

impl Paxos {
    /// Raise the promise to `ballot` and persist it (unless `promise_without_persist`).
    pub(super) fn promise(&mut self, ctx: &mut Context<'_, Self>, ballot: Ballot) -> bool {
        let before = self.promised;
        if decree::promise(&mut self.promised, ballot).is_err() {
            return false;
        }
        if self.promised > before && !self.config.bugs.promise_without_persist {
            self.write(ctx, &LogRecord::Promise { ballot }, true);
        }
        self.promise_raised |= self.promised > before;
        true
    }

    /// Accept `command` in `slot` with `ballot` (which also promises it), persisted. False
    /// if a higher ballot was promised (unless `accept_below_promise`).
    pub(super) fn accept(
        &mut self,
        ctx: &mut Context<'_, Self>,
        slot: u64,
        ballot: Ballot,
        command: Command,
    ) -> bool {
        if slot <= self.base {
            // Chosen and compacted into the snapshot: there is nothing left to accept, and
            // a leader proposing here proposes the chosen value (P2c).
            return ballot >= self.promised || self.config.bugs.accept_below_promise;
        }
        let entry = self.slots.entry(slot).or_default();
        if entry.accepted.as_ref().is_some_and(|(b, c)| *b == ballot && *c == command) {
            return true; // a retransmission: already accepted and durable
        }
        let promised = self.promised;
        let accepted = if self.config.bugs.accept_below_promise && ballot < promised {
            entry.accepted = Some((ballot, command.clone()));
            true
        } else {
            decree::accept(&mut self.promised, &mut entry.accepted, ballot, command.clone()).is_ok()
        };
        if !accepted {
            return false;
        }
        let digest = command.digest();
        self.write(ctx, &LogRecord::Accept { slot, ballot, command }, true);
        self.ghost.accepted.push(GhostAccept { slot, ballot, digest });
        true
    }

    /// Phase 1b: promise `ballot` for every slot from `first_slot` on, and report what was
    /// accepted there; or refuse it with the higher promise.
    pub(super) fn handle_prepare(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        first_slot: u64,
    ) {
        self.note_round(ballot);
        if !self.promise(ctx, ballot) {
            ctx.send(from, Msg::Nack { ballot, promised: self.promised });
            return;
        }
        if self.role != Role::Follower && ballot > self.ballot {
            ctx.count("ballot_preempted");
            self.step_down(ctx, None);
        }
        // A proposer is trying to lead: give it a full timeout before competing with it.
        self.reset_election_deadline(ctx);
        let from_slot = first_slot.max(self.applied + 1);
        let accepted = self.accepted_from(from_slot);
        ctx.annotate(|| format!("promises {ballot} from slot {from_slot}"));
        ctx.send(from, Msg::Promise { ballot, applied: self.applied, accepted });
    }

    /// Phase 2b for each entry (an empty Accept is the leader's heartbeat), then learn what
    /// the leader's commit point says is chosen.
    pub(super) fn handle_accept(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        entries: Vec<SlotValue>,
        chosen_through: u64,
    ) {
        self.note_round(ballot);
        let below = ballot < self.promised;
        if below && !self.config.bugs.accept_below_promise {
            ctx.send(from, Msg::Nack { ballot, promised: self.promised });
            return;
        }
        if !below && ballot > self.promised {
            self.promise(ctx, ballot);
        }
        if self.role != Role::Follower && ballot > self.ballot {
            ctx.count("ballot_preempted");
            self.step_down(ctx, Some(from));
        }
        if ballot >= self.leader_ballot {
            self.leader_ballot = ballot;
            self.leader = Some(from);
        }
        if self.role == Role::Follower {
            self.reset_election_deadline(ctx);
        }
        let mut slots = Vec::with_capacity(entries.len());
        for SlotValue { slot, command } in entries {
            if self.accept(ctx, slot, ballot, command) {
                slots.push(slot);
            }
        }
        ctx.send(from, Msg::Accepted { ballot, slots, applied: self.applied });
        self.learn_commit_point(ctx, from, ballot, chosen_through);
    }
}
