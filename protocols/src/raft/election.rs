//! Leader election (§3.4), the up-to-date check on votes (§3.6.1), pre-vote (§9.6),
//! check-quorum (§6.2) and the disruptive-server rule (§4.2.3).

use super::log::Command;
use super::{MIN_TIMER_DELAY, Msg, Progress, Raft, Role, Timer};
use sim_core::announce::ProtocolEvent;
use sim_core::node::{Context, NodeId};

impl Raft {
    /// The one election timer of this incarnation fired: start an election if the deadline
    /// passed (a follower or candidate), or check the quorum (a leader); then re-arm.
    pub(super) fn on_election_timer(&mut self, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        let min = self.config.election_timeout_min;
        if self.role == Role::Leader {
            let since = now.saturating_since(self.quorum_check_started);
            if since >= min {
                self.check_quorum(ctx);
            }
        } else if now >= self.election_deadline {
            self.start_election(ctx);
        }
        let wait = if self.role == Role::Leader {
            let since = now.saturating_since(self.quorum_check_started);
            super::SimDuration(min.0.saturating_sub(since.0))
        } else {
            self.election_deadline.saturating_since(now)
        };
        // A backward clock jump can push the deadline far out; look again at least this often.
        let wait = wait.max(MIN_TIMER_DELAY).min(self.config.election_timeout_max);
        ctx.set_timer(wait, Timer::Election);
    }

    /// §6.2: a leader that has not heard from a majority since the last check steps down.
    fn check_quorum(&mut self, ctx: &mut Context<'_, Self>) {
        self.quorum_check_started = ctx.now();
        if !self.config.check_quorum {
            return;
        }
        let me = self.id.0 as usize;
        let heard = self.progress.iter().enumerate().filter(|&(i, p)| i == me || p.heard).count();
        for p in &mut self.progress {
            p.heard = false;
        }
        if heard < self.majority() {
            ctx.count("check_quorum_step_down");
            let term = self.term;
            self.become_follower(ctx, term, None);
        }
    }

    fn start_election(&mut self, ctx: &mut Context<'_, Self>) {
        self.reset_election_deadline(ctx);
        if self.config.pre_vote {
            self.become_pre_candidate(ctx);
        } else {
            self.become_candidate(ctx);
        }
    }

    fn vote_request(&self, term: u64, pre_vote: bool) -> Msg {
        Msg::RequestVote {
            term,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
            pre_vote,
        }
    }

    /// §9.6: ask whether an election at the next term could be won, changing nothing.
    fn become_pre_candidate(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.count("pre_vote_started");
        self.role = Role::PreCandidate;
        self.leader = None;
        self.votes.fill(false);
        self.votes[self.id.0 as usize] = true;
        ctx.broadcast(self.vote_request(self.term + 1, true));
        ctx.set_timer(self.config.heartbeat_interval, Timer::VoteRetry { term: self.term + 1 });
        if self.has_majority_votes() {
            self.become_candidate(ctx);
        }
    }

    /// §3.4: increment the term, vote for itself (persisted before the requests leave),
    /// and ask every other server for its vote.
    fn become_candidate(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.count("election_started");
        self.term += 1;
        self.voted_for = Some(self.id);
        self.save_meta(ctx);
        self.role = Role::Candidate;
        self.leader = None;
        self.votes.fill(false);
        self.votes[self.id.0 as usize] = true;
        ctx.annotate(|| format!("candidate for term {}", self.term));
        ctx.broadcast(self.vote_request(self.term, false));
        ctx.set_timer(self.config.heartbeat_interval, Timer::VoteRetry { term: self.term });
        if self.has_majority_votes() {
            self.become_leader(ctx);
        }
    }

    /// Ask again, every heartbeat interval while the election for `term` lasts, the servers
    /// whose vote has not arrived: the request or its answer may have been lost.
    pub(super) fn retry_vote_requests(&mut self, ctx: &mut Context<'_, Self>, term: u64) {
        let (pre_vote, current) = match self.role {
            Role::PreCandidate => (true, self.term + 1 == term),
            Role::Candidate => (false, self.term == term),
            Role::Follower | Role::Leader => return,
        };
        if !current {
            return;
        }
        let request = self.vote_request(term, pre_vote);
        for peer in ctx.peers() {
            if !self.votes[peer.0 as usize] {
                ctx.send(peer, request.clone());
            }
        }
        ctx.set_timer(self.config.heartbeat_interval, Timer::VoteRetry { term });
    }

    fn has_majority_votes(&self) -> bool {
        self.votes.iter().filter(|&&v| v).count() >= self.majority()
    }

    /// §3.4: a candidate with a majority of votes becomes leader. It starts every follower
    /// at the end of its log and appends a no-op of its own term (§6.4).
    fn become_leader(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.count("leader_elected");
        ctx.annotate(|| format!("leader of term {}", self.term));
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.ghost.became_leader = true;
        self.pending_ack = None;
        let next_index = self.log.last_index() + 1;
        let fresh =
            Progress { next_index, match_index: 0, in_flight: false, acked_round: 0, heard: false };
        self.progress = vec![fresh; self.cluster_size];
        self.pending_reads.clear();
        self.quorum_check_started = ctx.now();
        ctx.set_timer(self.config.heartbeat_interval, Timer::Heartbeat { term: self.term });
        self.term_start_index = self.append_as_leader(ctx, Command::Noop);
        ctx.announce(ProtocolEvent::BecameLeader);
    }

    /// §3.6.1: the candidate's log is at least as up-to-date as ours.
    fn log_up_to_date(&self, last_log_index: u64, last_log_term: u64) -> bool {
        let (my_index, my_term) = (self.log.last_index(), self.log.last_term());
        last_log_term > my_term || (last_log_term == my_term && last_log_index >= my_index)
    }

    /// Whether this node heard from a leader within the minimum election timeout (or is
    /// the leader): the lease that §4.2.3 and §9.6 protect from disruptive candidates.
    fn heard_from_leader_recently(&self, ctx: &Context<'_, Self>) -> bool {
        if self.role == Role::Leader {
            return true;
        }
        self.leader.is_some()
            && self
                .leader_contact
                .is_some_and(|at| ctx.now().saturating_since(at) < self.config.election_timeout_min)
    }

    pub(super) fn handle_request_vote(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        term: u64,
        last_log_index: u64,
        last_log_term: u64,
        pre_vote: bool,
    ) {
        if pre_vote {
            // §9.6: grant if the candidate could win an election at `term`, and we have not
            // heard from a leader lately; our own term and vote are untouched.
            let granted = term > self.term
                && self.log_up_to_date(last_log_index, last_log_term)
                && !self.heard_from_leader_recently(ctx);
            let reply_term = if granted { term } else { self.term };
            ctx.send(from, Msg::RequestVoteResponse { term: reply_term, granted, pre_vote: true });
            return;
        }
        if term > self.term && self.config.check_quorum && self.heard_from_leader_recently(ctx) {
            // §4.2.3: a current leader is in charge; neither adopt the term nor vote.
            ctx.count("vote_ignored_in_lease");
            return;
        }
        if term > self.term {
            self.become_follower(ctx, term, None);
        }
        let granted = term == self.term
            && self.voted_for.is_none_or(|v| v == from)
            && self.log_up_to_date(last_log_index, last_log_term);
        if granted {
            self.voted_for = Some(from);
            if !self.config.bugs.vote_without_persist {
                self.save_meta(ctx);
            }
            self.reset_election_deadline(ctx);
            self.vote_granted = true;
            ctx.annotate(|| format!("votes for {from} in term {term}"));
        }
        ctx.send(from, Msg::RequestVoteResponse { term: self.term, granted, pre_vote: false });
    }

    pub(super) fn handle_vote_response(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        term: u64,
        granted: bool,
        pre_vote: bool,
    ) {
        if term > self.term && !(pre_vote && granted) {
            self.become_follower(ctx, term, None);
            return;
        }
        if !granted {
            return;
        }
        match self.role {
            Role::PreCandidate if pre_vote && term == self.term + 1 => {
                self.votes[from.0 as usize] = true;
                if self.has_majority_votes() {
                    self.become_candidate(ctx);
                }
            }
            Role::Candidate if !pre_vote && term == self.term => {
                self.votes[from.0 as usize] = true;
                if self.has_majority_votes() {
                    self.become_leader(ctx);
                }
            }
            _ => {}
        }
    }
}
