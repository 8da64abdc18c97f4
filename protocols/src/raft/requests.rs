//! Client requests: redirects (§6.2), sessions (§6.3) and reads (§6.4).

use super::log::Command;
use super::{PendingRead, Raft, Role};
use sim_core::kv::Op;
use sim_core::node::{Context, Reply, Request, RequestId};

/// Reads waiting for ReadIndex, at most this many (further reads are redirected).
const MAX_PENDING_READS: usize = 4096;

impl Raft {
    pub(super) fn handle_client_request(
        &mut self,
        ctx: &mut Context<'_, Self>,
        request: Request<Op>,
    ) {
        let id = request.id;
        let sessions = !self.config.bugs.no_client_sessions;
        // §6.3: a retry of a request this node has applied gets the cached reply, from
        // any node: it took effect exactly once, and the answer is known.
        if let Some(reply) = self.kv.cached_reply(id).filter(|_| sessions) {
            ctx.count("request_deduplicated");
            ctx.reply(id, reply.clone());
            return;
        }
        if sessions && self.kv.is_stale(id) {
            return; // the client has moved on to a later request
        }
        if sessions && self.waiting.values().any(|&w| w == id) {
            // Appended here (perhaps when this node led) and still in the log, fate unknown:
            // neither append it again nor redirect; it is answered if it applies here.
            ctx.count("request_in_flight");
            return;
        }
        if self.role != Role::Leader {
            // §6.2: not appended here; point at the leader we know, if any.
            ctx.count("client_redirected");
            ctx.reply(id, Reply::Redirect(self.leader));
            return;
        }
        if let Op::Read { key } = request.op {
            if self.config.bugs.stale_local_read {
                ctx.reply(id, Reply::Ok(self.kv.read(key)));
                return;
            }
            if self.config.read_index {
                self.start_read(ctx, id, key);
                return;
            }
        }
        self.remember_waiting(self.log.last_index() + 1, id);
        self.append_as_leader(ctx, Command::Client(request));
    }

    /// §6.4 ReadIndex: the read waits for the commit index as of now (at least the no-op
    /// of this term) to apply, and for a heartbeat round sent after it arrived to be
    /// answered by a majority, which proves no newer leader had been elected by then.
    fn start_read(&mut self, ctx: &mut Context<'_, Self>, id: RequestId, key: u64) {
        if self.pending_reads.len() >= MAX_PENDING_READS {
            ctx.reply(id, Reply::Redirect(None));
            return;
        }
        let read_index = self.commit_index.max(self.term_start_index);
        self.pending_reads.push(PendingRead { id, key, read_index, round: self.round + 1 });
        self.broadcast_round(ctx);
    }

    /// Serve the reads whose round a majority confirmed and whose index has applied.
    pub(super) fn serve_reads(&mut self, ctx: &mut Context<'_, Self>) {
        if self.pending_reads.is_empty() || self.role != Role::Leader {
            return;
        }
        let me = self.id.0 as usize;
        self.scratch.clear();
        for (i, p) in self.progress.iter().enumerate() {
            self.scratch.push(if i == me { self.round } else { p.acked_round });
        }
        self.scratch.sort_unstable_by(|a, b| b.cmp(a));
        let confirmed = self.scratch[self.majority() - 1];
        let applied = self.last_applied;
        let kv = &self.kv;
        self.pending_reads.retain(|read| {
            let ready = read.round <= confirmed && read.read_index <= applied;
            if ready {
                ctx.count("read_index_served");
                ctx.reply(read.id, Reply::Ok(kv.read(read.key)));
            }
            !ready
        });
    }
}
