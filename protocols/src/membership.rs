//! A configuration service for replication schemes that change their members when one
//! fails: chain replication's master (van Renesse and Schneider, OSDI 2004, §3) and
//! primary-backup's view service. The configuration (an epoch and the ordered members) is
//! one value of the store of a Raft group on nodes `0..masters`, embedded in those nodes
//! ([`Context::embed`]): the service is itself replicated with this crate's Raft, not with
//! a consensus written for the occasion.
//!
//! A configuration change is a compare-and-set of [`CONFIG_KEY`] from the configuration
//! the master leader has applied to its successor, proposed through Raft like any client
//! command; a master that proposes from a stale configuration fails the comparison, so
//! every installed configuration succeeds the one before it. The leader learns the
//! outcome by watching its state machine, not from a reply.
//!
//! Every replica heartbeats the master leader ([`MasterLink`]), which removes a member it
//! has not heard from for `failure_timeout` and appends a live replica that lost its state
//! (restarted, or removed while alive) at the end, one change at a time, never leaving a
//! configuration without a member that holds the state. The leader's answer to a heartbeat
//! is a lease: a member serves reads only until `lease` after it sent the heartbeat, and
//! the master removes a member only `failure_timeout` (longer than the lease) after it
//! last heard from it, so a member wrongly removed has stopped serving reads by then.

use crate::raft::{self, Raft, RaftConfig, RaftOptions};
use sim_core::history::Value;
use sim_core::kv::Op;
use sim_core::node::{ClientId, Context, Node, NodeId, Request, RequestId};
use sim_core::protocol::Protocol;
use sim_core::{SimDuration, SimTime};

/// The key of the master's store that holds the configuration (`Nil`: the initial one).
pub const CONFIG_KEY: u64 = u64::MAX;
/// The client ids masters propose under: `MASTER_CLIENTS + node id`.
const MASTER_CLIENTS: u32 = u32::MAX - 1024;

/// A configuration: its epoch and its members, in order (a chain head first; the primary
/// first), with the epoch since which each has been a member without a break.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct View {
    pub epoch: u64,
    pub members: Vec<NodeId>,
    /// `joined[i]`: the epoch since which `members[i]` has been a member.
    pub joined: Vec<u64>,
}

impl View {
    /// Epoch 1: every node, in id order.
    pub fn initial(nodes: usize) -> View {
        View { epoch: 1, members: (0..nodes as u32).map(NodeId).collect(), joined: vec![1; nodes] }
    }

    /// No view: what a node knows before it learns one.
    pub fn none() -> View {
        View { epoch: 0, members: Vec::new(), joined: Vec::new() }
    }

    /// The epoch since which `node` has been a member without a break, if it is one.
    pub fn member_since(&self, node: NodeId) -> Option<u64> {
        self.position(node).map(|i| self.joined[i])
    }

    pub fn first(&self) -> Option<NodeId> {
        self.members.first().copied()
    }

    pub fn last(&self) -> Option<NodeId> {
        self.members.last().copied()
    }

    pub fn position(&self, node: NodeId) -> Option<usize> {
        self.members.iter().position(|&n| n == node)
    }

    pub fn predecessor(&self, node: NodeId) -> Option<NodeId> {
        let i = self.position(node)?;
        i.checked_sub(1).map(|p| self.members[p])
    }

    pub fn successor(&self, node: NodeId) -> Option<NodeId> {
        let i = self.position(node)?;
        self.members.get(i + 1).copied()
    }

    /// The view as the master's store holds it (`[epoch, node, joined, node, joined, ...]`).
    fn to_value(&self) -> Value {
        let mut items = vec![Value::Int(self.epoch as i64)];
        for (node, &joined) in self.members.iter().zip(&self.joined) {
            items.extend([Value::Int(i64::from(node.0)), Value::Int(joined as i64)]);
        }
        Value::List(items)
    }

    /// The view a store value holds; `Nil` is the initial view.
    fn from_value(value: &Value, nodes: usize) -> View {
        let Value::List(items) = value else { return View::initial(nodes) };
        let ints: Vec<i64> =
            items.iter().map(|v| if let Value::Int(i) = v { *i } else { -1 }).collect();
        assert!(
            ints.len() >= 3 && ints.len() % 2 == 1 && ints.iter().all(|&i| i >= 0),
            "the master's store holds a malformed configuration {value:?}"
        );
        let pairs = ints[1..].chunks(2);
        View {
            epoch: ints[0] as u64,
            members: pairs.clone().map(|p| NodeId(p[0] as u32)).collect(),
            joined: pairs.map(|p| p[1] as u64).collect(),
        }
    }

    /// The value a compare-and-set must find for this view to be the current one.
    fn stored_value(&self) -> Value {
        if self.epoch == 1 { Value::Nil } else { self.to_value() }
    }

    /// The next view, of `members` (those of this view keep the epoch they joined in).
    fn with_members(&self, members: Vec<NodeId>) -> View {
        let epoch = self.epoch + 1;
        let joined = members.iter().map(|&n| self.member_since(n).unwrap_or(epoch)).collect();
        View { epoch, members, joined }
    }
}

/// The service's timing, from the options of the protocol that uses it.
#[derive(Clone, Copy, Debug)]
pub struct MasterOptions {
    /// How many nodes (ids `0..masters`) run the master's Raft group.
    pub masters: u32,
    /// How often a replica heartbeats the master, and the master checks the members.
    pub heartbeat_interval: SimDuration,
    /// The master removes a member it has not heard from for this long.
    pub failure_timeout: SimDuration,
    /// A member serves reads for this long after sending a heartbeat the master answered.
    pub lease: SimDuration,
    /// The master re-proposes a configuration change not applied after this long.
    pub proposal_timeout: SimDuration,
}

/// `impl $options { fn master(&self) -> MasterOptions }` for a protocol's options struct
/// that declares the service's five options under their names (`masters`,
/// `heartbeat_interval`, `failure_timeout`, `lease`, `proposal_timeout`).
macro_rules! master_options {
    ($options:ty) => {
        impl $options {
            /// The configuration service's part of the options.
            fn master(&self) -> $crate::membership::MasterOptions {
                $crate::membership::MasterOptions {
                    masters: self.masters,
                    heartbeat_interval: self.heartbeat_interval,
                    failure_timeout: self.failure_timeout,
                    lease: self.lease,
                    proposal_timeout: self.proposal_timeout,
                }
            }
        }
    };
}
pub(crate) use master_options;

impl MasterOptions {
    /// Refuse timing that would break the lease argument; the master group's Raft (its
    /// default options, with check-quorum, which bounds how long a deposed master leader
    /// keeps granting leases).
    pub fn configure(&self) -> Result<RaftConfig, String> {
        if self.masters == 0 {
            return Err(
                "masters must be at least 1 (3 or 5 tolerate failures of the master)".into()
            );
        }
        if self.heartbeat_interval == SimDuration::ZERO {
            return Err("heartbeat_interval must be positive, e.g. \"50ms\"".into());
        }
        if self.lease.as_nanos() + self.heartbeat_interval.as_nanos()
            >= self.failure_timeout.as_nanos()
        {
            return Err(format!(
                "failure_timeout ({}) must exceed lease ({}) plus heartbeat_interval ({}): a \
                 replica the master removes must have stopped serving reads",
                self.failure_timeout, self.lease, self.heartbeat_interval
            ));
        }
        if self.proposal_timeout == SimDuration::ZERO {
            return Err("proposal_timeout must be positive, e.g. \"500ms\"".into());
        }
        let raft_options = RaftOptions { check_quorum: true, ..RaftOptions::default() };
        Raft::configure(raft_options, raft::Bugs::default())
    }

    /// Refuse a master group larger than the cluster.
    pub fn fits_cluster(&self, nodes: u32) -> Result<(), String> {
        if self.masters > nodes {
            return Err(format!(
                "masters = {} but the cluster has {nodes} nodes; masters must be at most cluster.nodes",
                self.masters
            ));
        }
        Ok(())
    }

    /// How long a member that takes over from a removed one (a new tail, a new primary)
    /// answers no client: the removed member may still hold a lease, which ends before
    /// this (a deposed master leader may grant one until its Raft's check-quorum makes it
    /// step down).
    pub fn takeover_hold(&self, raft: &RaftConfig) -> SimDuration {
        let election = raft.options.election_timeout_max;
        self.lease + election + election
    }
}

/// A master node's state beside its Raft server.
pub struct Master {
    raft: Raft,
    /// Per node, the local time it was last heard from (as leader).
    last_heard: Vec<SimTime>,
    /// Per node, whether its latest heartbeat said it holds a valid state (`None`: not
    /// heard from since this leadership began).
    holds_state: Vec<Option<bool>>,
    was_leader: bool,
    /// The epoch of the change proposed and not yet applied, and when to give up on it.
    proposal: Option<(u64, SimTime)>,
}

impl Master {
    /// Start (or recover from the disk) the Raft server of master `ctx.id()`, embedded in
    /// a node of protocol `N` through `wrap_msg` and `wrap_timer`.
    pub fn start<N: Node>(
        ctx: &mut Context<'_, N>,
        raft: &RaftConfig,
        masters: u32,
        wrap_msg: impl Fn(raft::Msg) -> N::Msg,
        wrap_timer: impl Fn(raft::Timer) -> N::Timer,
    ) -> Master {
        let (server, _) =
            ctx.embed(masters, wrap_msg, wrap_timer, |inner| Raft::start(raft, inner));
        let nodes = ctx.cluster_size();
        Master {
            raft: server,
            last_heard: vec![SimTime::ZERO; nodes],
            holds_state: vec![None; nodes],
            was_leader: false,
            proposal: None,
        }
    }

    /// Run a handler `f` of the embedded Raft server. Its proposals are answered through
    /// its state machine, not replies, so the replies are dropped; call
    /// [`Master::after_raft`] next.
    pub fn run<N: Node>(
        &mut self,
        ctx: &mut Context<'_, N>,
        masters: u32,
        wrap_msg: impl Fn(raft::Msg) -> N::Msg,
        wrap_timer: impl Fn(raft::Timer) -> N::Timer,
        f: impl FnOnce(&mut Raft, &mut Context<'_, Raft>),
    ) {
        let raft = &mut self.raft;
        let ((), _replies) = ctx.embed(masters, wrap_msg, wrap_timer, |inner| f(raft, inner));
    }

    pub fn is_leader(&self) -> bool {
        self.raft.is_leader()
    }

    /// A leader that has applied every command committed before its term (it has
    /// committed an entry of its own), so that its view is the latest: a new leader's
    /// state machine lags until then, and would answer with an old view.
    pub fn is_current_leader(&self) -> bool {
        self.raft.is_current_leader()
    }

    /// The configuration this master's Raft has applied.
    pub fn view(&self) -> View {
        View::from_value(&self.raft.state_machine().read(CONFIG_KEY), self.last_heard.len())
    }

    /// After a Raft handler: start a leadership afresh, forget an applied proposal, and
    /// return the configuration to adopt.
    pub fn after_raft(&mut self, now: SimTime) -> View {
        let view = self.view();
        let leader = self.raft.is_leader();
        if leader && !self.was_leader {
            // A new leader has heard from nobody yet: count everyone as heard now, and
            // nobody's state as known.
            self.last_heard.iter_mut().for_each(|t| *t = now);
            self.holds_state.iter_mut().for_each(|h| *h = None);
            self.proposal = None;
        }
        self.was_leader = leader;
        if self.proposal.is_some_and(|(epoch, _)| view.epoch >= epoch) {
            self.proposal = None;
        }
        view
    }

    /// A replica's heartbeat, sent at its local time `sent_at`: as a current leader, note
    /// it and return the answer, the configuration and the start of a lease (`ZERO`, no lease,
    /// for a replica that is not a member).
    pub fn on_heartbeat(
        &mut self,
        now: SimTime,
        from: NodeId,
        sent_at: SimTime,
        synced: bool,
    ) -> Option<(SimTime, View)> {
        if !self.is_current_leader() {
            return None;
        }
        self.last_heard[from.0 as usize] = now;
        self.holds_state[from.0 as usize] = Some(synced);
        let view = self.view();
        let sent_at = if view.position(from).is_some() { sent_at } else { SimTime::ZERO };
        Some((sent_at, view))
    }

    /// The leader's periodic check: the configuration change to propose, if any, as the
    /// new view and the request that proposes it (feed it to the Raft with
    /// [`Master::run`]).
    pub fn propose(
        &mut self,
        me: NodeId,
        now: SimTime,
        options: &MasterOptions,
    ) -> Option<(View, Request<Op>)> {
        if !self.is_current_leader() || self.proposal.is_some_and(|(_, deadline)| now < deadline) {
            return None;
        }
        let view = self.view();
        let next = self.next_view(&view, now, options.failure_timeout)?;
        self.proposal = Some((next.epoch, now + options.proposal_timeout));
        let id = RequestId { client: ClientId(MASTER_CLIENTS + me.0), seq: next.epoch };
        let op = Op::Cas { key: CONFIG_KEY, expected: view.stored_value(), new: next.to_value() };
        Some((next, Request { id, op }))
    }

    /// The change to propose, if any, so that the members are the replicas that hold the
    /// state, then at most one that is getting its copy, at the end.
    fn next_view(&self, view: &View, now: SimTime, failure_timeout: SimDuration) -> Option<View> {
        let silent =
            |n: NodeId| now.saturating_since(self.last_heard[n.0 as usize]) > failure_timeout;
        let lost_state = |n: NodeId| self.holds_state[n.0 as usize] == Some(false);
        let without = |gone: NodeId| view.members.iter().copied().filter(|&n| n != gone).collect();
        // Keep at least one member known to hold the state: without it the data is gone.
        let keeps_state = |members: &Vec<NodeId>| {
            members.iter().any(|&n| !silent(n) && self.holds_state[n.0 as usize] == Some(true))
        };
        let last = view.last();
        // A silent member, or one that lost its state anywhere but at the end (where it
        // is getting its copy), leaves.
        if let Some(&gone) =
            view.members.iter().find(|&&n| silent(n) || (lost_state(n) && Some(n) != last))
        {
            let members = without(gone);
            return keeps_state(&members).then(|| view.with_members(members));
        }
        if last.is_some_and(lost_state) {
            return None;
        }
        // A live replica outside the configuration that lost its state joins at the end.
        let joining = (0..self.holds_state.len() as u32)
            .map(NodeId)
            .find(|&n| lost_state(n) && !silent(n) && view.position(n).is_none())?;
        let mut members = view.members.clone();
        members.push(joining);
        Some(view.with_members(members))
    }
}

/// A node of a replication scheme that embeds the service: a [`Master`] on nodes
/// `0..masters`, the views it adopts, and its messages that carry the service's. The
/// provided methods are the whole master side of such a node, said once for every scheme.
pub trait MasterHost: Node + Sized {
    /// This node's master (`None` on nodes that run no master).
    fn master_mut(&mut self) -> Option<&mut Master>;
    /// How many nodes run the master group.
    fn masters(&self) -> u32;
    fn raft_msg(msg: raft::Msg) -> Self::Msg;
    fn raft_timer(timer: raft::Timer) -> Self::Timer;
    /// The master leader's answer to a heartbeat: a view and the start of a lease.
    fn grant(sent_at: SimTime, view: View) -> Self::Msg;
    /// Act on a view newer than this node's (one a current master leader holds).
    fn adopt_view(&mut self, ctx: &mut Context<'_, Self>, view: View);

    /// Run a handler of the embedded Raft server, then adopt what it applied.
    fn with_raft(
        &mut self,
        ctx: &mut Context<'_, Self>,
        f: impl FnOnce(&mut Raft, &mut Context<'_, Raft>),
    ) {
        let masters = self.masters();
        let Some(master) = self.master_mut() else { return };
        master.run(ctx, masters, Self::raft_msg, Self::raft_timer, f);
        self.adopt_from_master(ctx);
    }

    /// Adopt the view this node's own master has applied, if it is a current leader: a
    /// follower's state machine may lag (after a restart it starts from the initial view),
    /// and a node that took an old view for its own could act in a configuration that
    /// was replaced long ago. Other nodes learn views from the leader's grants.
    fn adopt_from_master(&mut self, ctx: &mut Context<'_, Self>) {
        let Some(master) = self.master_mut() else { return };
        let view = master.after_raft(ctx.now());
        if master.is_current_leader() {
            self.adopt_view(ctx, view);
        }
    }

    /// A replica's heartbeat: as master leader, answer with the view and a lease.
    fn answer_heartbeat(
        &mut self,
        ctx: &mut Context<'_, Self>,
        from: NodeId,
        sent_at: SimTime,
        synced: bool,
    ) {
        let now = ctx.now();
        let grant = self.master_mut().and_then(|m| m.on_heartbeat(now, from, sent_at, synced));
        if let Some((sent_at, view)) = grant {
            ctx.send(from, Self::grant(sent_at, view));
        }
    }

    /// As master leader, propose the next view if the members need one (counted under
    /// `counter`).
    fn propose_view(
        &mut self,
        ctx: &mut Context<'_, Self>,
        options: &MasterOptions,
        counter: &'static str,
    ) {
        let (me, now) = (ctx.id(), ctx.now());
        let Some(master) = self.master_mut() else { return };
        let Some((next, request)) = master.propose(me, now, options) else { return };
        ctx.count(counter);
        ctx.annotate(|| format!("proposes {next:?}"));
        self.with_raft(ctx, |raft, inner| raft.on_request(inner, request));
    }
}

/// `impl MasterHost for $node`, for a node with a field `master: Option<Master>`, the
/// service's options at `config.options`, messages `Msg::Raft` and `Msg::Grant { sent_at,
/// view }`, timers `Timer::Raft`, and a method `adopt(ctx, view)` (chain replication's
/// and primary-backup's nodes).
macro_rules! master_host {
    ($node:ty) => {
        impl $crate::membership::MasterHost for $node {
            fn master_mut(&mut self) -> Option<&mut $crate::membership::Master> {
                self.master.as_mut()
            }

            fn masters(&self) -> u32 {
                self.config.options.masters
            }

            fn raft_msg(msg: $crate::raft::Msg) -> Msg {
                Msg::Raft(msg)
            }

            fn raft_timer(timer: $crate::raft::Timer) -> Timer {
                Timer::Raft(timer)
            }

            fn grant(sent_at: sim_core::SimTime, view: $crate::membership::View) -> Msg {
                Msg::Grant { sent_at, view }
            }

            fn adopt_view(
                &mut self,
                ctx: &mut sim_core::node::Context<'_, Self>,
                view: $crate::membership::View,
            ) {
                self.adopt(ctx, view);
            }
        }
    };
}
pub(crate) use master_host;

/// A replica's side of the service: which master to heartbeat, and the read lease and
/// takeover hold it holds.
#[derive(Clone, Debug, Default)]
pub struct MasterLink {
    /// The master node that last answered a heartbeat.
    hint: Option<NodeId>,
    /// Heartbeats sent since the last answer.
    unanswered: u32,
    /// Local time until which this replica may serve reads.
    lease_until: SimTime,
    /// Local time before which this replica, having taken over from a removed member,
    /// answers no client.
    hold_until: SimTime,
}

impl MasterLink {
    /// Send `heartbeat` to the master that last answered, or to every master when none
    /// has answered the last two.
    pub fn heartbeat<N: Node>(
        &mut self,
        ctx: &mut Context<'_, N>,
        masters: u32,
        heartbeat: N::Msg,
    ) {
        match self.hint.filter(|_| self.unanswered < 2) {
            Some(master) => ctx.send(master, heartbeat),
            None => {
                for master in 0..masters {
                    ctx.send(NodeId(master), heartbeat.clone());
                }
            }
        }
        self.unanswered = self.unanswered.saturating_add(1);
    }

    /// Master `from` answered a heartbeat.
    pub fn answered(&mut self, from: NodeId) {
        self.hint = Some(from);
        self.unanswered = 0;
    }

    /// Extend the lease from `sent_at` (`ZERO`: the answer grants none).
    pub fn extend(&mut self, sent_at: SimTime, lease: SimDuration) {
        if sent_at > SimTime::ZERO {
            self.lease_until = self.lease_until.max(sent_at + lease);
        }
    }

    /// Give up the lease (the replica's state is no longer a member's).
    pub fn revoke(&mut self) {
        self.lease_until = SimTime::ZERO;
    }

    /// Whether the lease allows serving reads at local time `now`.
    pub fn leased(&self, now: SimTime) -> bool {
        now < self.lease_until
    }

    /// Answer no client for `hold` from `now`.
    pub fn hold(&mut self, now: SimTime, hold: SimDuration) {
        self.hold_until = now + hold;
    }

    /// Whether the takeover hold is still on at `now`.
    pub fn holding(&self, now: SimTime) -> bool {
        now < self.hold_until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_round_trip_through_the_store_and_name_neighbours() {
        let view = View {
            epoch: 4,
            members: vec![NodeId(2), NodeId(0), NodeId(3)],
            joined: vec![1, 3, 4],
        };
        assert_eq!(View::from_value(&view.to_value(), 5), view);
        assert_eq!((view.member_since(NodeId(0)), view.member_since(NodeId(1))), (Some(3), None));
        let next = view.with_members(vec![NodeId(0), NodeId(3), NodeId(1)]);
        assert_eq!((next.epoch, next.joined), (5, vec![3, 4, 5]));
        assert_eq!(View::from_value(&Value::Nil, 3), View::initial(3));
        assert_eq!(View::initial(3).stored_value(), Value::Nil);
        assert_eq!((view.first(), view.last()), (Some(NodeId(2)), Some(NodeId(3))));
        assert_eq!(view.predecessor(NodeId(0)), Some(NodeId(2)));
        assert_eq!(view.successor(NodeId(0)), Some(NodeId(3)));
        assert_eq!((view.predecessor(NodeId(2)), view.successor(NodeId(3))), (None, None));
        assert_eq!(view.position(NodeId(1)), None);
    }
}
