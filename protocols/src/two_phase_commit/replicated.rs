//! A replicated coordinator, Paxos Commit in spirit (Gray and Lamport, "Consensus on
//! Transaction Commit", 2006) with this crate's Raft as the consensus: the coordinator
//! role runs on nodes `0..coordinators`, which keep their records in the store of an
//! embedded Raft group ([`Context::embed`], as [`crate::membership`] does) instead of a
//! log of their own. The group's leader coordinates.
//!
//! - **Naming.** A request's transaction is named by the leader's term and a sequence
//!   number, and its `Begun` record (the request and the participants) is written under
//!   the name's key with a compare-and-set from nil. Its prepares go out only once that
//!   record has applied, so every transaction a participant can hold in doubt is known to
//!   every later leader, and a client's retry finds its transaction.
//! - **Deciding.** The decision is a compare-and-set of the key from the `Begun` record
//!   to a `Decided` one: the first decision the group's log commits wins, and a later one
//!   fails and changes nothing. The leader answers the client and tells the participants
//!   only what its state machine holds once its proposal has applied.
//! - **Taking over.** A new leader, once it has applied every entry committed before its
//!   term, reads the store: it proposes abort for every transaction begun and undecided
//!   (an earlier leader's commit, if that got in first, wins), answers retries of decided
//!   requests from their records, and answers participants in doubt (the termination
//!   protocol). A leader that loses leadership forgets what it was coordinating.
//!
//! So a coordinator that crashes or is cut off costs an election, not the locks of every
//! transaction it had in flight until it is back.

use super::coordinator::{
    Answer, Decisions, Unfinished, acknowledged, publish_decision, retransmit, split,
};
use super::storage::DecisionRecord;
use super::{Config, IndexedMop, Msg, Timer, TwoPhaseCommit, TxnId};
use crate::raft::Raft;
use sim_core::SimTime;
use sim_core::history::Value;
use sim_core::kv::Op;
use sim_core::node::{ClientId, Context, Node, NodeId, Reply, Request, RequestId};
use sim_core::txn::Txn;
use std::collections::BTreeMap;

type Ctx<'a, 'b> = &'a mut Context<'b, TwoPhaseCommit>;

/// The client ids coordinators propose under in their Raft group: `PROPOSERS + node id`.
const PROPOSERS: u32 = u32::MAX - 1024;

/// The key of a transaction's record in the group's store.
fn store_key(txn: TxnId) -> u64 {
    assert!(txn.epoch < 1 << 32 && txn.seq < 1 << 32, "{txn} does not fit a store key");
    txn.epoch << 32 | txn.seq
}

/// Where a transaction this leader coordinates is.
#[derive(Debug)]
enum Phase {
    /// Its `Begun` record is proposed and has not applied.
    Naming,
    /// Its prepares are out; these participants voted yes.
    Voting { voted: Vec<NodeId>, started: SimTime },
    /// Its decision is proposed and has not applied.
    Deciding,
}

#[derive(Debug)]
struct Tracked {
    request: RequestId,
    /// The transaction, its reads filled in as votes arrive (empty for one taken over).
    txn: Txn,
    participants: Vec<NodeId>,
    /// The `Begun` record as stored: what a decision's compare-and-set expects.
    begun: Value,
    phase: Phase,
}

/// A coordinator node of a Raft group.
pub struct ReplicatedCoordinator {
    raft: Raft,
    /// The term in which this node leads and has taken over the store.
    leading: Option<u64>,
    /// The next transaction's sequence number in this leadership.
    next_seq: u64,
    /// Proposals made in this leadership (numbering their request ids).
    proposals: u64,
    /// Proposals that have not applied, by request id.
    proposed: BTreeMap<RequestId, TxnId>,
    tracked: BTreeMap<TxnId, Tracked>,
    unfinished: BTreeMap<TxnId, Unfinished>,
    known: Decisions,
}

impl std::fmt::Debug for ReplicatedCoordinator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicatedCoordinator")
            .field("term", &self.raft.term())
            .field("leading", &self.leading)
            .field("tracked", &self.tracked)
            .field("unfinished", &self.unfinished)
            .finish_non_exhaustive()
    }
}

impl ReplicatedCoordinator {
    /// Start (or recover from the disk) this node's Raft server.
    pub(super) fn start(config: &Config, ctx: Ctx<'_, '_>) -> Self {
        let (raft, _) = ctx.embed(config.coordinators, Msg::Raft, Timer::Raft, |inner| {
            Raft::start(&config.raft, inner)
        });
        ReplicatedCoordinator {
            raft,
            leading: None,
            next_seq: 0,
            proposals: 0,
            proposed: BTreeMap::new(),
            tracked: BTreeMap::new(),
            unfinished: BTreeMap::new(),
            known: Decisions::default(),
        }
    }

    /// Every decision this node learned from its store as leader, in that order.
    pub fn decided(&self) -> &[(TxnId, bool)] {
        &self.known.decided
    }

    pub fn is_leader(&self) -> bool {
        self.raft.is_leader()
    }

    /// Run a handler of the Raft server, then act on what it applied.
    pub(super) fn with_raft(
        &mut self,
        config: &Config,
        ctx: Ctx<'_, '_>,
        f: impl FnOnce(&mut Raft, &mut Context<'_, Raft>),
    ) {
        let raft = &mut self.raft;
        let ((), replies) =
            ctx.embed(config.coordinators, Msg::Raft, Timer::Raft, |inner| f(raft, inner));
        let term = self.raft.term();
        if self.leading.is_some_and(|t| t != term || !self.raft.is_leader()) {
            self.step_down(ctx);
        }
        if self.leading.is_none() && self.raft.is_current_leader() {
            self.take_over(config, ctx);
        }
        for (id, reply) in replies {
            // Replies to a former leadership's proposals are not in `proposed`.
            if let Some(txn) = self.proposed.remove(&id) {
                self.applied(config, ctx, txn, reply);
            }
        }
    }

    /// Lost leadership: forget what was being coordinated (the next leader decides it).
    fn step_down(&mut self, ctx: Ctx<'_, '_>) {
        ctx.count("coordinator_stepped_down");
        self.leading = None;
        self.proposed.clear();
        self.tracked.clear();
        self.unfinished.clear();
        self.known.answers.clear();
    }

    /// A new leader with every earlier entry applied: learn the decisions in the store,
    /// and abort every transaction begun and undecided.
    fn take_over(&mut self, config: &Config, ctx: Ctx<'_, '_>) {
        self.leading = Some(self.raft.term());
        self.next_seq = 0;
        self.proposals = 0;
        let mut undecided = Vec::new();
        for (_, value) in self.raft.state_machine().entries() {
            match DecisionRecord::from_value(value) {
                Some(DecisionRecord::Begun { txn, request, participants }) => {
                    undecided.push((txn, request, participants, value.clone()));
                }
                Some(DecisionRecord::Decided { txn, request, commit, result, .. }) => {
                    self.known.note(txn, request, commit, result);
                }
                Some(DecisionRecord::Ended { .. }) | None => {
                    unreachable!("a coordinator store holds only Begun and Decided records")
                }
            }
        }
        ctx.count("coordinator_took_over");
        ctx.annotate(|| format!("takes over, {} undecided", undecided.len()));
        for (txn, request, participants, begun) in undecided {
            ctx.count("coordinator_took_over_undecided");
            self.known.answers.insert(request, Answer::Running);
            let phase = Phase::Deciding;
            let tracked = Tracked { request, txn: Vec::new(), participants, begun, phase };
            self.tracked.insert(txn, tracked);
            self.propose_decision(config, ctx, txn, false);
        }
    }

    /// Propose setting `txn`'s record from `expected` to `new`.
    fn propose(
        &mut self,
        config: &Config,
        ctx: Ctx<'_, '_>,
        txn: TxnId,
        expected: Value,
        new: Value,
    ) {
        let term = self.leading.expect("only a leader proposes");
        // Later leaderships of this node have later terms: its session's numbers grow.
        let id = RequestId {
            client: ClientId(PROPOSERS + ctx.id().0),
            seq: term << 32 | self.proposals,
        };
        self.proposals += 1;
        self.proposed.insert(id, txn);
        let op = Op::Cas { key: store_key(txn), expected, new };
        self.with_raft(config, ctx, |raft, inner| raft.on_request(inner, Request { id, op }));
    }

    fn propose_decision(&mut self, config: &Config, ctx: Ctx<'_, '_>, txn: TxnId, commit: bool) {
        let Some(tracked) = self.tracked.get_mut(&txn) else { return };
        tracked.phase = Phase::Deciding;
        let result = if commit { tracked.txn.clone() } else { Vec::new() };
        let record = DecisionRecord::Decided {
            txn,
            request: tracked.request,
            commit,
            participants: tracked.participants.clone(),
            result,
        };
        let begun = tracked.begun.clone();
        self.propose(config, ctx, txn, begun, record.to_value());
    }

    /// A proposal about `txn` applied, with `reply`.
    fn applied(&mut self, config: &Config, ctx: Ctx<'_, '_>, txn: TxnId, reply: Reply<Value>) {
        let Some(tracked) = self.tracked.get_mut(&txn) else { return };
        match tracked.phase {
            Phase::Naming if reply == Reply::Ok(Value::Nil) => {
                tracked.phase = Phase::Voting { voted: Vec::new(), started: ctx.now() };
                for (shard, mops) in split(config, ctx, &tracked.txn) {
                    ctx.send(shard, Msg::Prepare { txn, mops });
                }
            }
            Phase::Naming => {
                // The name was taken: not possible for names unique to a leadership, but
                // nothing was prepared, so the client may as well hear abort.
                let tracked = self.tracked.remove(&txn).expect("tracked");
                self.known.answers.remove(&tracked.request);
                ctx.reply(tracked.request, Reply::Fail);
            }
            Phase::Deciding => {
                // Whichever decision got in first is in the store now.
                let value = self.raft.state_machine().read(store_key(txn));
                let Some(DecisionRecord::Decided { commit, result, .. }) =
                    DecisionRecord::from_value(&value)
                else {
                    unreachable!("{txn}'s decision applied, and its record is {value:?}")
                };
                self.finish(ctx, txn, commit, result);
            }
            Phase::Voting { .. } => {}
        }
    }

    /// The decision of `txn` is in the store: answer the client, tell the participants.
    fn finish(&mut self, ctx: Ctx<'_, '_>, txn: TxnId, commit: bool, result: Txn) {
        let tracked = self.tracked.remove(&txn).expect("finishing a tracked transaction");
        let known = (&mut self.known, &mut self.unfinished);
        publish_decision(ctx, known, txn, tracked.request, tracked.participants, commit, result);
    }

    pub(super) fn request(&mut self, config: &Config, ctx: Ctx<'_, '_>, request: Request<Txn>) {
        let Some(term) = self.leading else {
            if !self.raft.is_leader() {
                ctx.reply(request.id, Reply::Redirect(self.raft.leader()));
            }
            // A leader still applying its predecessors' entries: the client retries.
            return;
        };
        if self.known.answer_retry(ctx, request.id) {
            return;
        }
        let txn = TxnId { epoch: term, seq: self.next_seq };
        self.next_seq += 1;
        let participants: Vec<NodeId> = split(config, ctx, &request.op).into_keys().collect();
        let record =
            DecisionRecord::Begun { txn, request: request.id, participants: participants.clone() };
        let begun = record.to_value();
        self.known.answers.insert(request.id, Answer::Running);
        let tracked = Tracked {
            request: request.id,
            txn: request.op,
            participants,
            begun: begun.clone(),
            phase: Phase::Naming,
        };
        self.tracked.insert(txn, tracked);
        self.propose(config, ctx, txn, Value::Nil, begun);
    }

    pub(super) fn vote(
        &mut self,
        config: &Config,
        ctx: Ctx<'_, '_>,
        from: NodeId,
        txn: TxnId,
        yes: bool,
        done: Vec<IndexedMop>,
    ) {
        let Some(tracked) = self.tracked.get_mut(&txn) else { return };
        let Phase::Voting { voted, .. } = &mut tracked.phase else { return };
        if !tracked.participants.contains(&from) || voted.contains(&from) {
            return;
        }
        if !yes {
            return self.propose_decision(config, ctx, txn, false);
        }
        voted.push(from);
        let all = voted.len() == tracked.participants.len();
        for (i, mop) in done {
            if let Some(slot) = tracked.txn.get_mut(i as usize) {
                *slot = mop;
            }
        }
        if all {
            self.propose_decision(config, ctx, txn, true);
        }
    }

    pub(super) fn ack(&mut self, from: NodeId, txn: TxnId) {
        acknowledged(&mut self.unfinished, from, txn);
    }

    /// A participant in doubt asks (every coordinator node): the leader answers once the
    /// decision is in its store; undecided, it is being decided, and the answer comes then.
    pub(super) fn query(&mut self, ctx: Ctx<'_, '_>, from: NodeId, txn: TxnId) {
        let Some(term) = self.leading else { return };
        if let Some(&commit) = self.known.decisions.get(&txn) {
            if txn.epoch < term {
                ctx.count("coordinator_failover_resolved");
            }
            ctx.send(from, Msg::Decide { txn, commit });
        }
    }

    pub(super) fn tick(&mut self, config: &Config, ctx: Ctx<'_, '_>) {
        if self.leading.is_none() {
            return;
        }
        let now = ctx.now();
        let expired: Vec<TxnId> = self
            .tracked
            .iter()
            .filter(|(_, t)| match t.phase {
                Phase::Voting { started, .. } => {
                    now.saturating_since(started) >= config.options.vote_timeout
                }
                Phase::Naming | Phase::Deciding => false,
            })
            .map(|(&txn, _)| txn)
            .collect();
        for txn in expired {
            ctx.count("vote_timeout");
            self.propose_decision(config, ctx, txn, config.bugs.commit_on_vote_timeout);
        }
        retransmit(config, ctx, &mut self.unfinished);
    }
}
