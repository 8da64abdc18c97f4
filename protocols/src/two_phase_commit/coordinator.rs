//! The coordinator: names each transaction, sends each shard its part (phase 1), collects
//! the votes, logs and syncs the decision before anyone hears it (phase 2), re-sends it
//! until every participant acknowledged, and answers participants in doubt.

use super::storage::{DECISION_LOG, DecisionRecord, EPOCH};
use super::{Config, IndexedMop, Msg, TwoPhaseCommit, TxnId};
use crate::durable::RecordLog;
use crate::durable::Recovery;
use sim_core::SimTime;
use sim_core::announce::ProtocolEvent;
use sim_core::node::{Context, NodeId, Reply, Request, RequestId};
use sim_core::txn::Txn;
use std::collections::BTreeMap;

type Ctx<'a, 'b> = &'a mut Context<'b, TwoPhaseCommit>;

/// A transaction in phase 1.
#[derive(Debug)]
struct Pending {
    request: RequestId,
    /// The transaction, its reads filled in as votes arrive.
    txn: Txn,
    participants: Vec<NodeId>,
    voted: Vec<NodeId>,
    started: SimTime,
}

/// A decision some participant has not acknowledged.
#[derive(Debug)]
pub(super) struct Unfinished {
    pub commit: bool,
    pub waiting: Vec<NodeId>,
    pub sent: SimTime,
}

/// What became of a client's request.
#[derive(Debug)]
pub(super) enum Answer {
    Running,
    Committed(Txn),
    Aborted,
}

/// What a coordinator knows of decisions: per transaction, and per request (to answer a
/// client's retry), and every one in the order learned (for the atomicity invariant).
#[derive(Debug, Default)]
pub(super) struct Decisions {
    pub decisions: BTreeMap<TxnId, bool>,
    pub answers: BTreeMap<RequestId, Answer>,
    pub decided: Vec<(TxnId, bool)>,
}

impl Decisions {
    /// Learn the decision of `txn`, which answers `request` (with `result` on commit). A
    /// decision learned again is not listed again (one that differs is, for the invariant).
    pub fn note(&mut self, txn: TxnId, request: RequestId, commit: bool, result: Txn) {
        if self.decisions.insert(txn, commit) != Some(commit) {
            self.decided.push((txn, commit));
        }
        let answer = if commit { Answer::Committed(result) } else { Answer::Aborted };
        self.answers.insert(request, answer);
    }

    /// Answer a request already known, if it is: `true` if it was (a retry).
    pub fn answer_retry(&self, ctx: Ctx<'_, '_>, id: RequestId) -> bool {
        match self.answers.get(&id) {
            Some(Answer::Running) => {} // a retry: the answer comes with the decision
            Some(Answer::Committed(result)) => {
                ctx.count("request_deduplicated");
                ctx.reply(id, Reply::Ok(result.clone()));
            }
            Some(Answer::Aborted) => ctx.reply(id, Reply::Fail),
            None => return false,
        }
        true
    }
}

/// A transaction's micro-ops, by the shard that holds their keys.
pub(super) fn split(
    config: &Config,
    ctx: Ctx<'_, '_>,
    txn: &Txn,
) -> BTreeMap<NodeId, Vec<IndexedMop>> {
    let mut parts: BTreeMap<NodeId, Vec<IndexedMop>> = BTreeMap::new();
    for (i, mop) in txn.iter().enumerate() {
        let shard = config.shard_of(mop.key(), ctx.cluster_size());
        parts.entry(shard).or_default().push((i as u32, mop.clone()));
    }
    parts
}

/// The decision of `txn` is durable (in the log, or the replicated store): answer the
/// client's `request`, learn it, and tell the `participants` until they acknowledge.
pub(super) fn publish_decision(
    ctx: Ctx<'_, '_>,
    (known, unfinished): (&mut Decisions, &mut BTreeMap<TxnId, Unfinished>),
    txn: TxnId,
    request: RequestId,
    participants: Vec<NodeId>,
    commit: bool,
    result: Txn,
) {
    ctx.count(if commit { "txn_committed" } else { "txn_aborted" });
    let reply = if commit { Reply::Ok(result.clone()) } else { Reply::Fail };
    ctx.reply(request, reply);
    known.note(txn, request, commit, result);
    for &p in &participants {
        ctx.send(p, Msg::Decide { txn, commit });
    }
    unfinished.insert(txn, Unfinished { commit, waiting: participants, sent: ctx.now() });
}

/// Re-send every decision not acknowledged for a `retransmit_interval`.
pub(super) fn retransmit(
    config: &Config,
    ctx: Ctx<'_, '_>,
    unfinished: &mut BTreeMap<TxnId, Unfinished>,
) {
    let now = ctx.now();
    for (&txn, unfinished) in unfinished {
        if now.saturating_since(unfinished.sent) >= config.options.retransmit_interval {
            unfinished.sent = now;
            for &p in &unfinished.waiting {
                ctx.send(p, Msg::Decide { txn, commit: unfinished.commit });
            }
        }
    }
}

/// Participant `from` acknowledged the decision of `txn`: whether every one has now.
pub(super) fn acknowledged(
    unfinished: &mut BTreeMap<TxnId, Unfinished>,
    from: NodeId,
    txn: TxnId,
) -> bool {
    let Some(u) = unfinished.get_mut(&txn) else { return false };
    u.waiting.retain(|&p| p != from);
    let done = u.waiting.is_empty();
    if done {
        unfinished.remove(&txn);
    }
    done
}

/// The coordinator's state; everything but the log and the epoch is rebuilt at a restart.
#[derive(Debug)]
pub struct Coordinator {
    epoch: u64,
    next_seq: u64,
    log: RecordLog,
    pending: BTreeMap<TxnId, Pending>,
    unfinished: BTreeMap<TxnId, Unfinished>,
    known: Decisions,
}

impl Coordinator {
    /// The coordinator at a start: a new epoch, and the decisions of its log.
    pub(super) fn recover(ctx: Ctx<'_, '_>) -> Self {
        let mut recovery = Recovery::new(ctx.disk());
        let epoch =
            recovery.cell(&EPOCH, |b| Some(u64::from_le_bytes(b.try_into().ok()?))).unwrap_or(0)
                + 1;
        let (log, records) =
            recovery.log(DECISION_LOG, |_, payload| DecisionRecord::decode(payload));
        EPOCH.store(recovery.disk(), &epoch.to_le_bytes());
        recovery.disk().sync();
        let report = recovery.finish();
        report.count(ctx);
        let mut coordinator = Coordinator {
            epoch,
            next_seq: 0,
            log,
            pending: BTreeMap::new(),
            unfinished: BTreeMap::new(),
            known: Decisions::default(),
        };
        for record in records {
            match record {
                DecisionRecord::Decided { txn, request, commit, participants, result } => {
                    coordinator.known.note(txn, request, commit, result);
                    let unfinished =
                        Unfinished { commit, waiting: participants, sent: SimTime::ZERO };
                    coordinator.unfinished.insert(txn, unfinished);
                }
                DecisionRecord::Ended { txn } => {
                    coordinator.unfinished.remove(&txn);
                }
                // Only a replicated coordinator names transactions in a record.
                DecisionRecord::Begun { .. } => {}
            }
        }
        if !coordinator.unfinished.is_empty() {
            ctx.count("coordinator_crashed_mid_protocol");
            ctx.count("coordinator_recovered_unfinished");
        }
        coordinator
    }

    /// Every decision, in the order made.
    pub fn decided(&self) -> &[(TxnId, bool)] {
        &self.known.decided
    }

    pub(super) fn request(&mut self, config: &Config, ctx: Ctx<'_, '_>, request: Request<Txn>) {
        if self.known.answer_retry(ctx, request.id) {
            return;
        }
        let txn = TxnId { epoch: self.epoch, seq: self.next_seq };
        self.next_seq += 1;
        let parts = split(config, ctx, &request.op);
        let participants: Vec<NodeId> = parts.keys().copied().collect();
        for (shard, mops) in parts {
            ctx.send(shard, Msg::Prepare { txn, mops });
        }
        self.known.answers.insert(request.id, Answer::Running);
        let pending = Pending {
            request: request.id,
            txn: request.op,
            participants,
            voted: Vec::new(),
            started: ctx.now(),
        };
        self.pending.insert(txn, pending);
    }

    pub(super) fn vote(
        &mut self,
        ctx: Ctx<'_, '_>,
        from: NodeId,
        txn: TxnId,
        yes: bool,
        done: Vec<IndexedMop>,
    ) {
        let Some(pending) = self.pending.get_mut(&txn) else { return };
        if !pending.participants.contains(&from) || pending.voted.contains(&from) {
            return;
        }
        if !yes {
            return self.decide(ctx, txn, false);
        }
        pending.voted.push(from);
        for (i, mop) in done {
            if let Some(slot) = pending.txn.get_mut(i as usize) {
                *slot = mop;
            }
        }
        if pending.voted.len() == pending.participants.len() {
            self.decide(ctx, txn, true);
        }
    }

    /// Decide `txn`: log and sync the decision, then answer the client and tell the
    /// participants.
    fn decide(&mut self, ctx: Ctx<'_, '_>, txn: TxnId, commit: bool) {
        let pending = self.pending.remove(&txn).expect("deciding a pending transaction");
        let result = if commit { pending.txn } else { Vec::new() };
        let record = DecisionRecord::Decided {
            txn,
            request: pending.request,
            commit,
            participants: pending.participants.clone(),
            result: result.clone(),
        };
        self.log.append(ctx.disk(), &record.encode());
        ctx.announce(ProtocolEvent::Appended);
        ctx.disk().sync();
        ctx.announce(ProtocolEvent::Synced);
        let known = (&mut self.known, &mut self.unfinished);
        publish_decision(ctx, known, txn, pending.request, pending.participants, commit, result);
    }

    pub(super) fn ack(&mut self, ctx: Ctx<'_, '_>, from: NodeId, txn: TxnId) {
        if acknowledged(&mut self.unfinished, from, txn) {
            // Not synced: if it is lost, a restart re-sends the decision, which is harmless.
            self.log.append(ctx.disk(), &DecisionRecord::Ended { txn }.encode());
        }
    }

    /// A participant in doubt asks: the decision if there is one; nothing while the votes
    /// are still coming; abort for a transaction this coordinator has no record of, which
    /// an earlier incarnation lost before deciding it (presumed abort).
    pub(super) fn query(&mut self, ctx: Ctx<'_, '_>, from: NodeId, txn: TxnId) {
        if let Some(&commit) = self.known.decisions.get(&txn) {
            return ctx.send(from, Msg::Decide { txn, commit });
        }
        if self.pending.contains_key(&txn) {
            return;
        }
        if txn.epoch < self.epoch {
            ctx.count("coordinator_crashed_mid_protocol");
        }
        ctx.count("presumed_abort");
        ctx.send(from, Msg::Decide { txn, commit: false });
    }

    pub(super) fn tick(&mut self, config: &Config, ctx: Ctx<'_, '_>) {
        let now = ctx.now();
        let options = &config.options;
        let expired: Vec<TxnId> = self
            .pending
            .iter()
            .filter(|(_, p)| now.saturating_since(p.started) >= options.vote_timeout)
            .map(|(&txn, _)| txn)
            .collect();
        for txn in expired {
            ctx.count("vote_timeout");
            self.decide(ctx, txn, config.bugs.commit_on_vote_timeout);
        }
        retransmit(config, ctx, &mut self.unfinished);
    }
}
