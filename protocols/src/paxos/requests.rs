//! Client requests: redirects to the leader, sessions, and commands (reads included)
//! proposed in the next free slot.

use super::{Command, MAX_WAITING, MAX_WINDOW, Paxos, Role};
use sim_core::kv::Op;
use sim_core::node::{Context, Reply, Request};

impl Paxos {
    pub(super) fn handle_client_request(
        &mut self,
        ctx: &mut Context<'_, Self>,
        request: Request<Op>,
    ) {
        let id = request.id;
        // A retry of a request this node has applied gets the cached reply, from any node:
        // it took effect exactly once, and the answer is known.
        if let Some(reply) = self.kv.cached_reply(id) {
            ctx.count("request_deduplicated");
            ctx.reply(id, reply.clone());
            return;
        }
        if self.kv.is_stale(id) {
            return; // the client has moved on to a later request
        }
        if self.waiting.contains_key(&id) || self.queued.iter().any(|q| q.id == id) {
            // Proposed here (perhaps when this node led), fate unknown: neither propose it
            // again nor redirect; it is answered if it applies here.
            ctx.count("request_in_flight");
            return;
        }
        match self.role {
            Role::Follower => {
                ctx.count("client_redirected");
                ctx.reply(id, Reply::Redirect(self.leader));
            }
            // Phase 1 is under way: propose it if this node wins.
            Role::Candidate | Role::Leader if self.queued.len() < MAX_WAITING => {
                self.queued.push(request);
                self.propose_queued(ctx);
            }
            Role::Candidate | Role::Leader => ctx.reply(id, Reply::Redirect(None)),
        }
    }

    /// A leader proposes the queued requests while its window of unapplied slots has room.
    pub(super) fn propose_queued(&mut self, ctx: &mut Context<'_, Self>) {
        if self.role != Role::Leader {
            return;
        }
        let room = (self.applied + MAX_WINDOW).saturating_sub(self.next_slot - 1) as usize;
        let take = room.min(self.queued.len());
        for request in self.queued.drain(..take).collect::<Vec<_>>() {
            if self.waiting.len() >= MAX_WAITING {
                self.waiting.pop_first();
            }
            let id = request.id;
            let slot = self.propose(ctx, Command::Client(request));
            self.waiting.insert(id, slot);
            self.send_proposal(ctx, slot);
        }
        if take > 0 {
            self.apply_chosen(ctx); // a quorum of one chooses at once
        }
    }
}
