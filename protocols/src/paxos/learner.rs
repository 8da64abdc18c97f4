//! The learner: which values are chosen, applying them in slot order, catching up from
//! other replicas, and snapshots.

use super::storage::{self, LogRecord, Snapshot};
use super::{Ballot, Command, MAX_LEARN_BATCH, Msg, Paxos, SlotValue};
use crate::kv::Applied;
use sim_core::announce::ProtocolEvent;
use sim_core::node::{Context, NodeId, Reply, RequestId};

impl Paxos {
    /// `command` is chosen in `slot`. The record is written without a sync: a value lost
    /// in a crash is learned again.
    pub(super) fn learn(&mut self, ctx: &mut Context<'_, Self>, slot: u64, command: Command) {
        if slot <= self.applied || slot <= self.base {
            return;
        }
        let entry = self.slots.entry(slot).or_default();
        if entry.chosen.is_some() {
            return;
        }
        entry.chosen = Some(command.clone());
        self.write(ctx, &LogRecord::Chosen { slot, command }, false);
    }

    /// Apply the chosen values that follow the applied prefix, and answer the clients
    /// waiting for them (whatever slot their command landed in).
    pub(super) fn apply_chosen(&mut self, ctx: &mut Context<'_, Self>) {
        while let Some(command) = self.slots.get(&(self.applied + 1)).and_then(|s| s.chosen.clone())
        {
            self.applied += 1;
            self.ghost.applied.push((self.applied, command.digest()));
            let Command::Client(request) = command else { continue };
            let reply = match self.kv.apply(&request) {
                Applied::Executed(reply) => Some(reply),
                Applied::Duplicate(reply) => {
                    if self.waiting.contains_key(&request.id) {
                        ctx.count("request_deduplicated");
                    }
                    Some(reply)
                }
                Applied::Stale => None,
            };
            if let Some(reply) = reply
                && self.waiting.remove(&request.id).is_some()
            {
                ctx.reply(request.id, reply);
            }
            // The client has moved on from its earlier requests.
            let client = request.id.client;
            let older: Vec<RequestId> = self
                .waiting
                .range(RequestId { client, seq: 0 }..request.id)
                .map(|(&id, _)| id)
                .collect();
            for id in older {
                self.waiting.remove(&id);
            }
        }
        self.maybe_snapshot(ctx);
    }

    /// The leader says every slot up to `chosen_through` is chosen: the slots this node
    /// accepted in the leader's own ballot hold the chosen value (the leader proposes one
    /// value per slot per ballot). Past the first slot it cannot tell, ask.
    pub(super) fn learn_commit_point(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        chosen_through: u64,
    ) {
        let mut slot = self.applied + 1;
        while slot <= chosen_through {
            let Some(s) = self.slots.get(&slot) else { break };
            if s.chosen.is_none() {
                match &s.accepted {
                    Some((b, command)) if *b == ballot => {
                        let command = command.clone();
                        self.learn(ctx, slot, command);
                    }
                    _ => break,
                }
            }
            slot += 1;
        }
        self.hear_commit_point(chosen_through, from);
        self.apply_chosen(ctx);
        self.catch_up_if_behind(ctx);
    }

    /// `from` knows every slot up to `chosen_through` chosen.
    pub(super) fn hear_commit_point(&mut self, chosen_through: u64, from: NodeId) {
        if chosen_through > self.commit_hint {
            self.commit_hint = chosen_through;
            self.catch_up_target = from;
        }
    }

    /// Below a commit point another node reported, ask for the chosen values after the
    /// applied prefix, at most once per heartbeat interval. A request that brought nothing
    /// by then (lost, or sent to a node that crashed or knows less) goes to the next node,
    /// unless a newer commit point named the node to ask since: a leader whose every
    /// heartbeat raises the commit point is asked, not the node after it.
    pub(super) fn catch_up_if_behind(&mut self, ctx: &mut Context<'_, Self>) {
        if self.applied >= self.commit_hint {
            return;
        }
        let at = ctx.now();
        if let Some((last, applied_then, asked)) = self.last_catch_up {
            if at.saturating_since(last) < self.config.heartbeat_interval {
                return;
            }
            if applied_then == self.applied && asked == self.catch_up_target {
                let next = (self.catch_up_target.0 as usize + 1) % self.cluster_size;
                self.catch_up_target = NodeId(next as u32);
                if self.catch_up_target == self.id {
                    let next = (next + 1) % self.cluster_size;
                    self.catch_up_target = NodeId(next as u32);
                }
            }
        }
        self.send_catch_up(ctx);
    }

    pub(super) fn send_catch_up(&mut self, ctx: &mut Context<'_, Self>) {
        self.last_catch_up = Some((ctx.now(), self.applied, self.catch_up_target));
        if self.catch_up_target == self.id {
            return; // a cluster of one has no one to ask
        }
        ctx.count("catch_up_requested");
        ctx.send(self.catch_up_target, Msg::CatchUp { from_slot: self.applied + 1 });
    }

    /// Send the chosen values from `from_slot` on, a batch at a time, after the snapshot
    /// if this node has dropped the slots asked for.
    pub(super) fn handle_catch_up(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        from_slot: u64,
    ) {
        if from_slot > self.applied {
            return; // nothing to give
        }
        let (snapshot, start) = if from_slot <= self.base {
            ctx.count("snapshot_sent");
            (Some(self.snapshot.clone()), self.snapshot.last_slot + 1)
        } else {
            (None, from_slot)
        };
        let entries: Vec<SlotValue> = (start..=self.applied)
            .take(MAX_LEARN_BATCH)
            .map(|slot| {
                let command = self.slots.get(&slot).and_then(|s| s.chosen.clone());
                SlotValue { slot, command: command.expect("applied slots are chosen") }
            })
            .collect();
        ctx.count("catch_up_served");
        ctx.send(from, Msg::Learn { snapshot, entries, chosen_through: self.applied });
    }

    /// Chosen values from another replica; ask for more if they do not reach its commit
    /// point.
    pub(super) fn handle_learn(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        snapshot: Option<Snapshot>,
        entries: Vec<SlotValue>,
        chosen_through: u64,
    ) {
        let before = self.applied;
        self.hear_commit_point(chosen_through, from);
        if let Some(snapshot) = snapshot
            && snapshot.last_slot > self.applied
        {
            self.install_snapshot(ctx, snapshot);
        }
        for SlotValue { slot, command } in entries {
            self.learn(ctx, slot, command);
        }
        self.apply_chosen(ctx);
        if self.applied > before && self.applied < self.commit_hint {
            self.catch_up_target = from;
            self.send_catch_up(ctx); // more follow: ask for the next batch at once
        }
        self.propose_queued(ctx);
    }

    /// Replace the state machine with `snapshot` and drop the slots it covers (chosen, so
    /// no leader will propose there: this node's promises report them applied).
    fn install_snapshot(&mut self, ctx: &mut Context<'_, Self>, snapshot: Snapshot) {
        let Some(kv) = snapshot.state() else { return };
        let last = snapshot.last_slot;
        storage::save_snapshot(ctx.disk(), &snapshot);
        ctx.disk().sync();
        // The snapshot is durable, the slots it covers not yet dropped from the log.
        ctx.announce(ProtocolEvent::InstallingSnapshot);
        self.kv = kv;
        self.applied = last;
        self.snapshot = snapshot;
        self.compact(ctx, last);
        self.ghost.snapshot = Some(last);
        let answered: Vec<RequestId> =
            self.waiting.keys().copied().filter(|&id| self.kv.cached_reply(id).is_some()).collect();
        for id in answered {
            self.waiting.remove(&id);
            let reply = self.kv.cached_reply(id).cloned().unwrap_or(Reply::Fail);
            ctx.reply(id, reply);
        }
        ctx.count("snapshot_installed");
        ctx.annotate(|| format!("installed snapshot up to slot {last}"));
    }

    /// Snapshot the state machine once `snapshot_threshold` applied slots follow the last
    /// snapshot, and drop the slots before the last `snapshot_threshold / 2` of them (kept
    /// so that a replica lagging a little catches up without the snapshot).
    fn maybe_snapshot(&mut self, ctx: &mut Context<'_, Self>) {
        let threshold = self.config.snapshot_threshold;
        if threshold == 0 || self.applied < self.snapshot.last_slot + threshold {
            return;
        }
        self.snapshot = Snapshot::of(self.applied, &self.kv);
        storage::save_snapshot(ctx.disk(), &self.snapshot);
        ctx.disk().sync();
        let base = self.applied.saturating_sub(threshold / 2).max(self.base);
        self.compact(ctx, base);
        ctx.count("snapshot_taken");
    }

    /// Drop the slots up to `base` and rewrite the log file without them, synced.
    fn compact(&mut self, ctx: &mut Context<'_, Self>, base: u64) {
        self.slots = self.slots.split_off(&(base + 1));
        self.base = base;
        let mut records = vec![LogRecord::Promise { ballot: self.promised }];
        for (&slot, s) in &self.slots {
            if let Some((ballot, command)) = &s.accepted {
                records.push(LogRecord::Accept { slot, ballot: *ballot, command: command.clone() });
            }
            if let Some(command) = &s.chosen {
                records.push(LogRecord::Chosen { slot, command: command.clone() });
            }
        }
        storage::rewrite(&mut self.log, ctx.disk(), records);
        ctx.disk().sync();
        self.dirty = false;
    }
}
