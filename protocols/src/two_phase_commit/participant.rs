//! A participant: one shard of the keys. It locks (strict two-phase locking, wait-die),
//! runs its part of each transaction, logs and syncs a prepare record before voting yes,
//! applies the writes when told to commit, and after a restart asks the coordinator about
//! every transaction its log shows prepared but undecided (every node of a replicated
//! coordinator: its leader answers).

use super::storage::{Effect, PARTICIPANT_LOG, ParticipantRecord};
use super::{COORDINATOR, Config, IndexedMop, Msg, TwoPhaseCommit, TxnId};
use crate::durable::RecordLog;
use sim_core::announce::ProtocolEvent;
use sim_core::node::{Context, NodeId};
use sim_core::txn::Mop;
use sim_core::{SimDuration, SimTime};
use std::collections::{BTreeMap, BTreeSet};

type Ctx<'a, 'b> = &'a mut Context<'b, TwoPhaseCommit>;

/// A transaction waiting for locks.
#[derive(Debug)]
struct Waiting {
    txn: TxnId,
    /// The coordinator that sent the prepare, which the vote answers.
    coordinator: NodeId,
    mops: Vec<IndexedMop>,
    /// The keys it must lock, sorted.
    keys: Vec<u64>,
    since: SimTime,
}

/// A transaction that voted yes and waits for the decision.
#[derive(Debug)]
struct Prepared {
    keys: Vec<u64>,
    effects: Vec<Effect>,
    since: SimTime,
    asked: SimTime,
}

/// What a lock request came to.
enum Locking {
    Granted,
    Wait,
    Die,
}

/// A participant's state; rebuilt from its log at every start.
#[derive(Debug)]
pub struct Participant {
    log: RecordLog,
    /// The committed lists (a register is a list of at most one value).
    store: BTreeMap<u64, Vec<u64>>,
    /// The holder of each locked key.
    locks: BTreeMap<u64, TxnId>,
    waiting: Vec<Waiting>,
    prepared: BTreeMap<TxnId, Prepared>,
    decisions: BTreeMap<TxnId, bool>,
    /// Every outcome, in log order (for the atomicity invariant).
    outcomes: Vec<(TxnId, bool)>,
    /// Transactions found in doubt at the last start, until their decision arrives.
    in_doubt: BTreeSet<TxnId>,
    /// The coordinator heard from last (a replicated coordinator's leader, likely).
    coordinator: NodeId,
}

impl Participant {
    /// The participant at a start: its log replayed, in-doubt transactions locked again
    /// and asked about (or, with the bug, aborted on its own).
    pub(super) fn recover(config: &Config, ctx: Ctx<'_, '_>) -> Self {
        let recovered =
            RecordLog::recover(ctx.disk(), PARTICIPANT_LOG, |_, p| ParticipantRecord::decode(p));
        recovered.report.count(ctx);
        let mut participant = Participant {
            log: recovered.log,
            store: BTreeMap::new(),
            locks: BTreeMap::new(),
            waiting: Vec::new(),
            prepared: BTreeMap::new(),
            decisions: BTreeMap::new(),
            outcomes: Vec::new(),
            in_doubt: BTreeSet::new(),
            coordinator: COORDINATOR,
        };
        let now = ctx.now();
        for record in recovered.records {
            match record {
                ParticipantRecord::Prepared { txn, keys, effects } => {
                    let prepared = Prepared { keys, effects, since: now, asked: SimTime::ZERO };
                    participant.prepared.insert(txn, prepared);
                }
                ParticipantRecord::Committed { txn } => participant.settle(txn, true),
                ParticipantRecord::Aborted { txn } => participant.settle(txn, false),
            }
        }
        let in_doubt: Vec<TxnId> = participant.prepared.keys().copied().collect();
        if !in_doubt.is_empty() {
            ctx.count("in_doubt_after_restart");
        }
        for txn in in_doubt {
            if config.bugs.decide_in_doubt_alone {
                participant.finish(ctx, txn, false);
                continue;
            }
            for &key in &participant.prepared[&txn].keys {
                participant.locks.insert(key, txn);
            }
            participant.in_doubt.insert(txn);
            query(config, ctx, txn);
        }
        participant
    }

    /// Where to send a client: the coordinator heard from last.
    pub fn coordinator(&self) -> NodeId {
        self.coordinator
    }

    /// Every outcome, in log order: `true` for commit.
    pub fn outcomes(&self) -> &[(TxnId, bool)] {
        &self.outcomes
    }

    /// Record an outcome in memory: apply a commit's writes, forget the transaction.
    fn settle(&mut self, txn: TxnId, commit: bool) {
        if let Some(prepared) = self.prepared.remove(&txn)
            && commit
        {
            for effect in prepared.effects {
                match effect {
                    Effect::Append { key, value } => self.store.entry(key).or_default().push(value),
                    Effect::Write { key, value } => {
                        self.store.insert(key, vec![value]);
                    }
                }
            }
        }
        self.decisions.insert(txn, commit);
        self.outcomes.push((txn, commit));
    }

    /// Log and apply an outcome, and release the transaction's locks.
    fn finish(&mut self, ctx: Ctx<'_, '_>, txn: TxnId, commit: bool) {
        let record = if commit {
            ParticipantRecord::Committed { txn }
        } else {
            ParticipantRecord::Aborted { txn }
        };
        self.log.append(ctx.disk(), &record.encode());
        ctx.announce(ProtocolEvent::Appended);
        ctx.disk().sync();
        ctx.announce(ProtocolEvent::Synced);
        self.settle(txn, commit);
        self.locks.retain(|_, holder| *holder != txn);
        self.waiting.retain(|w| w.txn != txn);
        if self.in_doubt.remove(&txn) {
            ctx.count("in_doubt_recovered");
        }
    }

    pub(super) fn prepare(
        &mut self,
        config: &Config,
        ctx: Ctx<'_, '_>,
        from: NodeId,
        txn: TxnId,
        mops: Vec<IndexedMop>,
    ) {
        self.coordinator = from;
        let known = self.decisions.contains_key(&txn)
            || self.prepared.contains_key(&txn)
            || self.waiting.iter().any(|w| w.txn == txn);
        if known {
            return; // a duplicate, or a decision that overtook its prepare
        }
        let mut keys: Vec<u64> = mops
            .iter()
            .filter(|(_, m)| !(config.bugs.read_without_lock && m.is_read()))
            .map(|(_, m)| m.key())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        self.waiting.push(Waiting { txn, coordinator: from, mops, keys, since: ctx.now() });
        self.grant(config, ctx);
    }

    /// Give locks to waiting transactions, oldest arrival first, until none moves: each
    /// that holds all its locks prepares, each that must die votes no.
    fn grant(&mut self, config: &Config, ctx: Ctx<'_, '_>) {
        let mut moved = true;
        while moved {
            moved = false;
            let mut i = 0;
            while i < self.waiting.len() {
                let now = ctx.now();
                let w = &self.waiting[i];
                let (answer, in_doubt) =
                    lock(&mut self.locks, &self.prepared, w, now, config.options.query_interval);
                if in_doubt {
                    ctx.count("blocked_in_doubt");
                }
                match answer {
                    Locking::Wait => i += 1,
                    Locking::Granted => {
                        let waiting = self.waiting.remove(i);
                        self.vote_yes(config, ctx, waiting);
                        moved = true;
                    }
                    Locking::Die => {
                        let waiting = self.waiting.remove(i);
                        ctx.count("abort_under_contention");
                        self.vote_no(ctx, &waiting);
                        moved = true;
                    }
                }
            }
        }
    }

    /// Run the micro-ops under their locks, log and sync the prepare record, vote yes.
    fn vote_yes(&mut self, config: &Config, ctx: Ctx<'_, '_>, waiting: Waiting) {
        let Waiting { txn, coordinator, mut mops, .. } = waiting;
        let mut work: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        let mut effects = Vec::new();
        for (_, mop) in &mut mops {
            let key = mop.key();
            let list = work
                .entry(key)
                .or_insert_with(|| self.store.get(&key).cloned().unwrap_or_default());
            match mop {
                Mop::Append { value, .. } => {
                    list.push(*value);
                    effects.push(Effect::Append { key, value: *value });
                }
                Mop::Write { value, .. } => {
                    *list = vec![*value];
                    effects.push(Effect::Write { key, value: *value });
                }
                Mop::ReadList { value, .. } => *value = Some(list.clone()),
                Mop::ReadRegister { value, .. } => *value = Some(list.last().copied()),
            }
        }
        let keys: Vec<u64> =
            mops.iter().map(|(_, m)| m.key()).collect::<BTreeSet<_>>().into_iter().collect();
        let record =
            ParticipantRecord::Prepared { txn, keys: keys.clone(), effects: effects.clone() };
        self.log.append(ctx.disk(), &record.encode());
        ctx.announce(ProtocolEvent::Appended);
        if !config.bugs.vote_without_durable_prepare {
            ctx.disk().sync();
            ctx.announce(ProtocolEvent::Synced);
        }
        // Durable (but for the bug), the yes vote not yet sent.
        ctx.announce(ProtocolEvent::Prepared);
        let now = ctx.now();
        self.prepared.insert(txn, Prepared { keys, effects, since: now, asked: now });
        if config.bugs.early_lock_release {
            self.locks.retain(|_, holder| *holder != txn);
        }
        ctx.send(coordinator, Msg::Vote { txn, yes: true, done: mops });
    }

    /// Abort on our own (before voting yes): log it, release, vote no.
    fn vote_no(&mut self, ctx: Ctx<'_, '_>, waiting: &Waiting) {
        let txn = waiting.txn;
        self.finish(ctx, txn, false);
        ctx.send(waiting.coordinator, Msg::Vote { txn, yes: false, done: Vec::new() });
    }

    pub(super) fn decide(
        &mut self,
        config: &Config,
        ctx: Ctx<'_, '_>,
        from: NodeId,
        txn: TxnId,
        commit: bool,
    ) {
        self.coordinator = from;
        if !self.decisions.contains_key(&txn) {
            if commit && !self.prepared.contains_key(&txn) {
                // Told to commit what it never prepared (or lost): it cannot; its writes
                // are not here. Only a bug brings this about; the invariant sees it.
                ctx.count("commit_without_prepare");
                self.finish(ctx, txn, false);
            } else {
                self.finish(ctx, txn, commit);
            }
            self.grant(config, ctx);
        }
        ctx.send(from, Msg::Ack { txn });
    }

    pub(super) fn tick(&mut self, config: &Config, ctx: Ctx<'_, '_>) {
        let now = ctx.now();
        let options = &config.options;
        let (expired, waiting): (Vec<Waiting>, Vec<Waiting>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|w| now.saturating_since(w.since) >= options.lock_timeout);
        self.waiting = waiting;
        for w in &expired {
            ctx.count("abort_under_contention");
            ctx.count("lock_timeout");
            self.vote_no(ctx, w);
        }
        if !expired.is_empty() {
            self.grant(config, ctx);
        }
        for (&txn, prepared) in &mut self.prepared {
            let waited = now.saturating_since(prepared.since) >= options.query_interval;
            if waited && now.saturating_since(prepared.asked) >= options.query_interval {
                prepared.asked = now;
                ctx.count("in_doubt_query");
                query(config, ctx, txn);
            }
        }
    }
}

/// Ask the coordinator about `txn`: every node of a replicated one, since any may lead.
fn query(config: &Config, ctx: Ctx<'_, '_>, txn: TxnId) {
    for coordinator in config.coordinator_nodes() {
        ctx.send(coordinator, Msg::Query { txn });
    }
}

/// Try to lock every key of `w`, in key order, keeping what it gets; on a conflict,
/// wait-die: an older transaction than the holder waits, a younger one dies. Also whether
/// the conflict is with a transaction in doubt (prepared for longer than a query interval:
/// the coordinator is slow or down).
fn lock(
    locks: &mut BTreeMap<u64, TxnId>,
    prepared: &BTreeMap<TxnId, Prepared>,
    w: &Waiting,
    now: SimTime,
    query_interval: SimDuration,
) -> (Locking, bool) {
    for &key in &w.keys {
        match locks.get(&key) {
            None => {
                locks.insert(key, w.txn);
            }
            Some(&holder) if holder == w.txn => {}
            Some(&holder) => {
                let in_doubt = prepared
                    .get(&holder)
                    .is_some_and(|p| now.saturating_since(p.since) >= query_interval);
                let answer = if w.txn < holder { Locking::Wait } else { Locking::Die };
                return (answer, in_doubt);
            }
        }
    }
    (Locking::Granted, false)
}
