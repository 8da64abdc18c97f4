//! The chain's master (§3 of the paper): the configuration, kept as one value of the
//! store of a Raft group on nodes `0..masters`, and the failure detector that changes it.
//!
//! A configuration change is a compare-and-set of [`CONFIG_KEY`] from the configuration
//! the master leader has applied to its successor, proposed through Raft like any client
//! command; a master that proposes from a stale configuration fails the comparison, so
//! every installed configuration succeeds the one before it. The leader learns the
//! outcome by watching its state machine, not from a reply.

use super::{Chain, Msg};
use crate::raft::Raft;
use sim_core::history::Value;
use sim_core::kv::Op;
use sim_core::node::{ClientId, Context, Node, NodeId, Request, RequestId};
use sim_core::{SimDuration, SimTime};

/// The key of the master's store that holds the configuration (`Nil`: the initial one).
pub const CONFIG_KEY: u64 = u64::MAX;
/// The client ids masters propose under: `MASTER_CLIENTS + node id`.
const MASTER_CLIENTS: u32 = u32::MAX - 1024;

/// A configuration of the chain: its epoch and its replicas, head first.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct View {
    pub epoch: u64,
    pub chain: Vec<NodeId>,
}

impl View {
    /// Epoch 1: every node, in id order.
    pub fn initial(nodes: usize) -> View {
        View { epoch: 1, chain: (0..nodes as u32).map(NodeId).collect() }
    }

    pub fn head(&self) -> Option<NodeId> {
        self.chain.first().copied()
    }

    pub fn tail(&self) -> Option<NodeId> {
        self.chain.last().copied()
    }

    pub fn position(&self, node: NodeId) -> Option<usize> {
        self.chain.iter().position(|&n| n == node)
    }

    pub fn predecessor(&self, node: NodeId) -> Option<NodeId> {
        let i = self.position(node)?;
        i.checked_sub(1).map(|p| self.chain[p])
    }

    pub fn successor(&self, node: NodeId) -> Option<NodeId> {
        let i = self.position(node)?;
        self.chain.get(i + 1).copied()
    }

    /// The view as the master's store holds it (`[epoch, node, node, ...]`).
    fn to_value(&self) -> Value {
        let mut items = vec![Value::Int(self.epoch as i64)];
        items.extend(self.chain.iter().map(|n| Value::Int(i64::from(n.0))));
        Value::List(items)
    }

    /// The view a store value holds; `Nil` is the initial view.
    fn from_value(value: &Value, nodes: usize) -> View {
        let Value::List(items) = value else { return View::initial(nodes) };
        let ints: Vec<i64> =
            items.iter().map(|v| if let Value::Int(i) = v { *i } else { -1 }).collect();
        assert!(
            ints.len() >= 2 && ints.iter().all(|&i| i >= 0),
            "the master's store holds a malformed configuration {value:?}"
        );
        View { epoch: ints[0] as u64, chain: ints[1..].iter().map(|&n| NodeId(n as u32)).collect() }
    }

    /// The value a compare-and-set must find for this view to be the current one.
    fn stored_value(&self) -> Value {
        if self.epoch == 1 { Value::Nil } else { self.to_value() }
    }

    fn with_chain(&self, chain: Vec<NodeId>) -> View {
        View { epoch: self.epoch + 1, chain }
    }
}

/// A master node's state beside its Raft server.
pub(super) struct Master {
    pub(super) raft: Raft,
    /// Per node, the local time it was last heard from (as leader).
    last_heard: Vec<SimTime>,
    /// Per node, whether its latest heartbeat said it holds no valid state.
    lost_state: Vec<bool>,
    was_leader: bool,
    /// The epoch of the change proposed and not yet applied, and when to give up on it.
    proposal: Option<(u64, SimTime)>,
}

impl Master {
    pub(super) fn new(raft: Raft, nodes: usize) -> Master {
        Master {
            raft,
            last_heard: vec![SimTime::ZERO; nodes],
            lost_state: vec![false; nodes],
            was_leader: false,
            proposal: None,
        }
    }

    /// The configuration this master's Raft has applied.
    pub(super) fn view(&self) -> View {
        View::from_value(&self.raft.state_machine().read(CONFIG_KEY), self.last_heard.len())
    }
}

impl Chain {
    /// After a Raft handler: adopt what it applied, and start a leadership afresh.
    pub(super) fn after_raft(&mut self, ctx: &mut Context<'_, Self>) {
        let Some(master) = self.master.as_mut() else { return };
        let view = master.view();
        let leader = master.raft.is_leader();
        if leader && !master.was_leader {
            // A new leader has heard from nobody yet: count everyone as heard now.
            let now = ctx.now();
            master.last_heard.iter_mut().for_each(|t| *t = now);
            master.lost_state.iter_mut().for_each(|l| *l = false);
            master.proposal = None;
        }
        master.was_leader = leader;
        if master.proposal.is_some_and(|(epoch, _)| view.epoch >= epoch) {
            master.proposal = None;
        }
        self.adopt(ctx, view);
    }

    /// A replica's heartbeat: as leader, note it and answer with the configuration and a
    /// lease (only to a member: a replica it removed gets the view, not a lease).
    pub(super) fn on_heartbeat(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        sent_at: SimTime,
        synced: bool,
    ) {
        let now = ctx.now();
        let Some(master) = self.master.as_mut().filter(|m| m.raft.is_leader()) else { return };
        master.last_heard[from.0 as usize] = now;
        master.lost_state[from.0 as usize] = !synced;
        let view = master.view();
        let sent_at = if view.position(from).is_some() { sent_at } else { SimTime::ZERO };
        ctx.send(from, Msg::Grant { sent_at, view });
    }

    /// The leader's periodic check: remove a replica silent for `failure_timeout`, or move
    /// a replica that lost its state to the tail, one change at a time.
    pub(super) fn master_tick(&mut self, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        let failure_timeout = self.config.options.failure_timeout;
        let proposal_timeout = self.config.options.proposal_timeout;
        let Some(master) = self.master.as_mut().filter(|m| m.raft.is_leader()) else { return };
        if master.proposal.is_some_and(|(_, deadline)| now < deadline) {
            return;
        }
        let view = master.view();
        let Some(next) = next_view(master, &view, now, failure_timeout) else { return };
        master.proposal = Some((next.epoch, now + proposal_timeout));
        let id = RequestId { client: ClientId(MASTER_CLIENTS + ctx.id().0), seq: next.epoch };
        let op = Op::Cas { key: CONFIG_KEY, expected: view.stored_value(), new: next.to_value() };
        ctx.count("chain_reconfiguration_proposed");
        ctx.annotate(|| format!("proposes {next:?}"));
        self.with_raft(ctx, |raft, inner| raft.on_request(inner, Request { id, op }));
    }
}

/// The change the leader should propose, if any, so that the chain is its replicas that
/// hold the state, then at most one that is getting its copy, at the tail.
fn next_view(
    master: &Master,
    view: &View,
    now: SimTime,
    failure_timeout: SimDuration,
) -> Option<View> {
    let silent =
        |n: NodeId| now.saturating_since(master.last_heard[n.0 as usize]) > failure_timeout;
    let lost_state = |n: NodeId| master.lost_state[n.0 as usize];
    let without = |gone: NodeId| view.chain.iter().copied().filter(|&n| n != gone).collect();
    // Keep at least one replica that holds the state: without it the data is gone.
    let keeps_state = |chain: &Vec<NodeId>| chain.iter().any(|&n| !silent(n) && !lost_state(n));
    let tail = view.tail();
    // A silent replica, or one that lost its state anywhere but at the tail (where it is
    // getting its copy), leaves the chain.
    if let Some(&gone) =
        view.chain.iter().find(|&&n| silent(n) || (lost_state(n) && Some(n) != tail))
    {
        let chain = without(gone);
        return keeps_state(&chain).then(|| view.with_chain(chain));
    }
    if tail.is_some_and(lost_state) {
        return None;
    }
    // A live replica outside the chain that lost its state joins at the tail.
    let joining = (0..master.lost_state.len() as u32)
        .map(NodeId)
        .find(|&n| lost_state(n) && !silent(n) && view.position(n).is_none())?;
    let mut chain = view.chain.clone();
    chain.push(joining);
    Some(view.with_chain(chain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_round_trip_through_the_store_and_name_neighbours() {
        let view = View { epoch: 4, chain: vec![NodeId(2), NodeId(0), NodeId(3)] };
        assert_eq!(View::from_value(&view.to_value(), 5), view);
        assert_eq!(View::from_value(&Value::Nil, 3), View::initial(3));
        assert_eq!(View::initial(3).stored_value(), Value::Nil);
        assert_eq!((view.head(), view.tail()), (Some(NodeId(2)), Some(NodeId(3))));
        assert_eq!(view.predecessor(NodeId(0)), Some(NodeId(2)));
        assert_eq!(view.successor(NodeId(0)), Some(NodeId(3)));
        assert_eq!((view.predecessor(NodeId(2)), view.successor(NodeId(3))), (None, None));
        assert_eq!(view.position(NodeId(1)), None);
    }
}
