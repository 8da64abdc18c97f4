//! SWIM membership after Das, Gupta and Motivala, "SWIM: Scalable Weakly-consistent
//! Infection-style Process Group Membership Protocol" (DSN 2002), with refinements from
//! Dadgar et al., "Lifeguard: Local Health Awareness for More Accurate Failure Detection"
//! (2018) and HashiCorp's memberlist.
//!
//! Every `protocol_period` a member probes the next member of its own random round-robin
//! order (§4.3): it pings it and, without an ack within `ping_timeout`, asks
//! `indirect_probes` random members to ping it for it (`PingReq`, §3.1). A target that
//! stays silent until the period ends is *suspected* (§4.2): the suspicion spreads, and
//! expires into *dead* after the suspicion timeout unless the suspect refutes it by
//! announcing itself alive with a higher *incarnation* number. Updates are ordered by
//! incarnation, then Alive < Suspect < Dead, so a newer incarnation overrides everything
//! older. Every message also says its sender's own incarnation: hearing from a member is
//! proof that it is alive.
//!
//! Dissemination is infection-style (§4.1): every update a member learns is piggybacked
//! on its next pings, acks and ping-reqs, at most `max_piggyback` per message, fewest
//! sent first, each `retransmit_mult * log10(n)` times. A ping to a member held suspect
//! or dead carries that member's own state, so it hears at once what is said of it.
//!
//! Recovery, beyond the paper: the incarnation is kept on disk, and a restarted member
//! comes back one incarnation higher and asks [`config::SYNC_PEERS`] members for their
//! whole membership (memberlist's join). Every `sync_every` periods a member exchanges its
//! whole membership with a random member (memberlist's push-pull), which piggybacking
//! alone cannot keep up with when a healed partition floods every member with the news
//! each side had of the other. Every `dead_probe_every` periods a member pings one member
//! it holds dead, so partitions and false positives heal.
//!
//! Lifeguard's options: `lifeguard_suspicion` (a suspicion starts long and shrinks as
//! independent members confirm it) and `lifeguard_health` (a member that misses acks or
//! is suspected stretches its own period and timeouts: a slow member suspects less).
//!
//! Its checks (`invariants.rs`): accuracy (no death without suspicion, no lasting false
//! positive), completeness and monotone incarnations, online; and metrics: time to first
//! detection and to full dissemination of each crash, and false positives.

pub mod config;
mod invariants;
pub mod no_requests;

pub use config::{Bugs, SwimConfig, SwimOptions};
pub use invariants::{PROPERTIES, SwimObserver};

use crate::durable::DurableCell;
use sim_core::SimTime;
use sim_core::node::{Context, Node, NodeId, TimerId};
use sim_core::protocol::{Metrics, PropertySpec, Protocol};
use std::collections::{BTreeMap, BTreeSet};

/// What a member is held to be. The order is the precedence at equal incarnations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Alive,
    Suspect,
    Dead,
}

/// One piece of membership news: `member` is `status` at `incarnation`, as `from` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Update {
    pub member: NodeId,
    pub incarnation: u64,
    pub status: Status,
    /// Who says so (for a suspicion: who suspects, counted by Lifeguard's confirmations).
    pub from: NodeId,
}

impl Update {
    /// The precedence of the update: a higher one overrides a lower one.
    fn rank(&self) -> (u64, Status) {
        (self.incarnation, self.status)
    }
}

/// SWIM's messages. Each carries its sender's own incarnation and piggybacked updates.
#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// Probe: answer with an `Ack`. `about` is the target's state in the sender's view
    /// when it is not alive there, so that the target can refute.
    Ping { seq: u64, incarnation: u64, about: Option<Update>, updates: Vec<Update> },
    /// Ping `target` for me, and forward its ack.
    PingReq { seq: u64, target: NodeId, incarnation: u64, updates: Vec<Update> },
    /// `target` answered ping `seq`, at `target_incarnation` (directly: the sender itself).
    Ack {
        seq: u64,
        target: NodeId,
        target_incarnation: u64,
        incarnation: u64,
        updates: Vec<Update>,
    },
    /// Anti-entropy: the whole membership, as the sender holds it; with `answer`, the
    /// receiver sends back its own.
    Sync { incarnation: u64, members: Vec<Update>, answer: bool },
}

/// SWIM's timers.
#[derive(Clone, Debug, Hash)]
pub enum Timer {
    /// The next protocol period.
    Period,
    /// Ping `seq` got no direct ack in time: probe indirectly.
    PingTimeout { seq: u64 },
    /// The suspicion of `member` at `incarnation` expires.
    Suspicion { member: NodeId, incarnation: u64 },
}

/// The incarnation, on disk.
const INCARNATION: DurableCell = DurableCell::new("incarnation");

#[derive(Clone, Copy, Debug)]
struct Probe {
    target: NodeId,
    seq: u64,
    acked: bool,
    indirect: bool,
}

#[derive(Clone, Debug)]
struct Suspicion {
    /// When this member began to suspect, on its own clock.
    since: SimTime,
    /// The members that said so, the first included (Lifeguard counts the others).
    suspecters: Vec<NodeId>,
    timer: TimerId,
}

#[derive(Clone, Copy, Debug)]
struct Queued {
    update: Update,
    sent: u64,
    order: u64,
}

#[derive(Clone, Copy, Debug)]
struct Relay {
    seq: u64,
    origin: NodeId,
    origin_seq: u64,
    period: u64,
}

/// A change to the view, recorded for the observers: `member` went from `old` to `new`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    pub member: NodeId,
    pub old: (u64, Status),
    pub new: (u64, Status),
    /// Whether this member's own expiring suspicion (or, without suspicion, its failed
    /// probe) declared it dead, rather than news from another member.
    pub declared: bool,
}

/// One SWIM member.
#[derive(Debug)]
pub struct Swim {
    config: SwimConfig,
    me: NodeId,
    incarnation: u64,
    /// Every member's incarnation and status, by id (this member's own entry unused).
    view: Vec<(u64, Status)>,
    dead: BTreeSet<NodeId>,
    suspicions: BTreeMap<NodeId, Suspicion>,
    order: Vec<NodeId>,
    next_in_order: usize,
    probe: Option<Probe>,
    seq: u64,
    relays: Vec<Relay>,
    queue: Vec<Queued>,
    queued: u64,
    health: u64,
    period: u64,
    /// What the last handler changed, for the observers (cleared as each handler begins).
    changes: Vec<Change>,
}

impl Swim {
    /// This member's own incarnation.
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// How this member holds `member`: its incarnation and status.
    pub fn view_of(&self, member: NodeId) -> (u64, Status) {
        self.view[member.0 as usize]
    }

    /// The members this member holds dead.
    pub fn dead(&self) -> &BTreeSet<NodeId> {
        &self.dead
    }

    /// What its last handler changed in its view.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    pub fn config(&self) -> &SwimConfig {
        &self.config
    }

    fn n(&self) -> usize {
        self.view.len()
    }

    /// Bring `update` into the view if it outranks what is held; `spread` queues it for
    /// piggybacking. Updates about this member are refuted instead.
    fn apply(&mut self, ctx: &mut Context<'_, Self>, update: Update, spread: bool) {
        if update.member == self.me {
            if update.status != Status::Alive && update.incarnation >= self.incarnation {
                self.refute(ctx, update.incarnation);
            }
            return;
        }
        let i = update.member.0 as usize;
        let old = self.view[i];
        if update.rank() <= old {
            if update.rank() == old && update.status == Status::Suspect {
                self.confirm(ctx, update.member, update.from);
            }
            return;
        }
        self.set(ctx, update, false);
        if spread {
            self.enqueue(update);
        }
    }

    /// Record `update` in the view, with what follows from it.
    fn set(&mut self, ctx: &mut Context<'_, Self>, update: Update, declared: bool) {
        let member = update.member;
        let old = self.view[member.0 as usize];
        self.view[member.0 as usize] = update.rank();
        self.changes.push(Change { member, old, new: update.rank(), declared });
        if let Some(suspicion) = self.suspicions.remove(&member) {
            ctx.cancel_timer(suspicion.timer);
        }
        match update.status {
            Status::Alive => {
                if self.dead.remove(&member) {
                    ctx.count("member_revived");
                }
            }
            Status::Suspect => {
                self.dead.remove(&member);
                let since = ctx.now();
                let timeout = self.config.suspicion_timeout(self.n(), 0);
                let timer = ctx.set_timer(
                    timeout,
                    Timer::Suspicion { member, incarnation: update.incarnation },
                );
                self.suspicions
                    .insert(member, Suspicion { since, suspecters: vec![update.from], timer });
            }
            Status::Dead => {
                self.dead.insert(member);
                ctx.count("member_declared_dead");
            }
        }
    }

    /// Another member confirms the suspicion of `member`: with Lifeguard's, it expires
    /// sooner.
    fn confirm(&mut self, ctx: &mut Context<'_, Self>, member: NodeId, from: NodeId) {
        if self.config.suspicion_max_mult == 1 {
            return;
        }
        let n = self.n();
        let Some(suspicion) = self.suspicions.get_mut(&member) else { return };
        if suspicion.suspecters.contains(&from)
            || suspicion.suspecters.len() as u64 > self.config.suspicion_confirmations
        {
            return;
        }
        suspicion.suspecters.push(from);
        let confirmations = suspicion.suspecters.len() as u64 - 1;
        let deadline = suspicion.since + self.config.suspicion_timeout(n, confirmations);
        let incarnation = self.view[member.0 as usize].0;
        ctx.cancel_timer(suspicion.timer);
        let delay = deadline.saturating_since(ctx.now());
        suspicion.timer = ctx.set_timer(delay, Timer::Suspicion { member, incarnation });
        ctx.count("suspicion_confirmed");
    }

    /// Someone says this member is suspect or dead at `incarnation`: announce it alive,
    /// one incarnation higher, durable first.
    fn refute(&mut self, ctx: &mut Context<'_, Self>, incarnation: u64) {
        self.incarnation = if self.config.bugs.stale_refutation {
            self.incarnation.max(incarnation)
        } else {
            self.incarnation.max(incarnation) + 1
        };
        self.store_incarnation(ctx);
        self.enqueue(self.alive());
        self.lose_health(ctx);
        ctx.count("suspicion_refuted");
    }

    /// Lifeguard's local health: a missed ack or a suspicion of this member raises the
    /// multiplier that stretches its period and timeouts (without Lifeguard's, it stays 0).
    fn lose_health(&mut self, ctx: &mut Context<'_, Self>) {
        if self.health < self.config.max_health {
            self.health += 1;
            ctx.count("local_health_lowered");
        }
    }

    fn store_incarnation(&mut self, ctx: &mut Context<'_, Self>) {
        INCARNATION.store(ctx.disk(), &self.incarnation.to_le_bytes());
        ctx.disk().sync();
    }

    /// This member's own news: alive at its incarnation.
    fn alive(&self) -> Update {
        Update {
            member: self.me,
            incarnation: self.incarnation,
            status: Status::Alive,
            from: self.me,
        }
    }

    /// Queue `update` for piggybacking, replacing older news of the same member.
    fn enqueue(&mut self, update: Update) {
        self.queue.retain(|q| q.update.member != update.member);
        self.queued += 1;
        self.queue.push(Queued { update, sent: 0, order: self.queued });
    }

    /// The updates to piggyback on one message: the least sent first, newest among
    /// equals; each is dropped once sent `retransmit_limit` times.
    fn piggyback(&mut self) -> Vec<Update> {
        if self.queue.is_empty() {
            return Vec::new();
        }
        let limit = self.config.retransmit_limit(self.n());
        let take = self.queue.len().min(self.config.max_piggyback);
        // The `take` first by (sent, newest): a selection, not a sort (keys are unique, so
        // the choice is deterministic).
        self.queue.select_nth_unstable_by_key(take - 1, |q| (q.sent, std::cmp::Reverse(q.order)));
        let updates = self.queue[..take].iter().map(|q| q.update).collect();
        for q in &mut self.queue[..take] {
            q.sent += 1;
        }
        self.queue.retain(|q| q.sent < limit);
        updates
    }

    /// Hearing from `member` at `incarnation` shows it alive there.
    fn heard_from(&mut self, ctx: &mut Context<'_, Self>, member: NodeId, incarnation: u64) {
        let alive = Update { member, incarnation, status: Status::Alive, from: member };
        self.apply(ctx, alive, true);
    }

    fn merge(&mut self, ctx: &mut Context<'_, Self>, updates: Vec<Update>) {
        for update in updates {
            self.apply(ctx, update, true);
        }
    }

    fn ping(&mut self, ctx: &mut Context<'_, Self>, target: NodeId, seq: u64) {
        let (incarnation, status) = self.view[target.0 as usize];
        let about = (status != Status::Alive).then_some(Update {
            member: target,
            incarnation,
            status,
            from: self.me,
        });
        let updates = self.piggyback();
        ctx.send(target, Msg::Ping { seq, incarnation: self.incarnation, about, updates });
    }

    /// The next member of the round-robin order that is not held dead, reshuffling the
    /// order at each pass (§4.3).
    fn next_target(&mut self, ctx: &mut Context<'_, Self>) -> Option<NodeId> {
        for _ in 0..2 * self.order.len() {
            if self.next_in_order >= self.order.len() {
                ctx.rng().shuffle(&mut self.order);
                self.next_in_order = 0;
            }
            let member = self.order[self.next_in_order];
            self.next_in_order += 1;
            if !self.dead.contains(&member) {
                return Some(member);
            }
        }
        None
    }

    /// The probe of the period that just ended failed: suspect its target (or, without
    /// suspicion, declare it dead).
    fn probe_failed(&mut self, ctx: &mut Context<'_, Self>, target: NodeId) {
        self.lose_health(ctx);
        let (incarnation, status) = self.view[target.0 as usize];
        if status != Status::Alive {
            return;
        }
        let status = if self.config.bugs.no_suspicion { Status::Dead } else { Status::Suspect };
        let update = Update { member: target, incarnation, status, from: self.me };
        self.set(ctx, update, status == Status::Dead);
        self.enqueue(update);
        ctx.count("member_suspected");
    }

    fn on_period(&mut self, ctx: &mut Context<'_, Self>) {
        match self.probe.take() {
            Some(probe) if !probe.acked => self.probe_failed(ctx, probe.target),
            Some(_) => self.health = self.health.saturating_sub(1),
            None => {}
        }
        self.period += 1;
        let period = self.period;
        self.relays.retain(|r| r.period + 2 > period);
        if let Some(target) = self.next_target(ctx) {
            self.seq += 1;
            let seq = self.seq;
            self.probe = Some(Probe { target, seq, acked: false, indirect: false });
            self.ping(ctx, target, seq);
            ctx.count("probes");
            ctx.set_timer(self.config.ping_timeout(self.health), Timer::PingTimeout { seq });
        }
        if self.config.dead_probe_every > 0
            && period.is_multiple_of(self.config.dead_probe_every)
            && !self.dead.is_empty()
        {
            let k = ctx.rng().below(self.dead.len() as u64) as usize;
            let member = *self.dead.iter().nth(k).expect("k is below the count");
            self.seq += 1;
            let seq = self.seq;
            self.ping(ctx, member, seq);
        }
        if self.config.sync_every > 0
            && period.is_multiple_of(self.config.sync_every)
            && let Some(&peer) = ctx.random_peers(1).first()
        {
            self.sync_with(ctx, peer);
        }
        ctx.set_timer(self.config.period(self.health), Timer::Period);
    }

    fn on_ping_timeout(&mut self, ctx: &mut Context<'_, Self>, seq: u64) {
        let Some(probe) = self.probe.as_mut().filter(|p| p.seq == seq && !p.acked) else {
            return;
        };
        probe.indirect = true;
        let target = probe.target;
        let wanted = self.config.indirect_probes;
        let mut helpers = ctx.random_peers(wanted + 1);
        helpers.retain(|&h| h != target && !self.dead.contains(&h));
        helpers.truncate(wanted);
        for helper in helpers {
            let updates = self.piggyback();
            let incarnation = self.incarnation;
            ctx.send(helper, Msg::PingReq { seq, target, incarnation, updates });
        }
        ctx.count("ping_req_used");
    }

    fn on_ack(&mut self, ctx: &mut Context<'_, Self>, seq: u64, target: NodeId, incarnation: u64) {
        self.heard_from(ctx, target, incarnation);
        if let Some(probe) = self.probe.as_mut().filter(|p| p.seq == seq && p.target == target) {
            if !probe.acked && probe.indirect {
                ctx.count("indirect_ack");
            }
            probe.acked = true;
            return;
        }
        if let Some(k) = self.relays.iter().position(|r| r.seq == seq) {
            let relay = self.relays.swap_remove(k);
            let updates = self.piggyback();
            ctx.send(
                relay.origin,
                Msg::Ack {
                    seq: relay.origin_seq,
                    target,
                    target_incarnation: incarnation,
                    incarnation: self.incarnation,
                    updates,
                },
            );
        }
    }

    /// Push-pull anti-entropy with `peer`: send it the whole membership, and get its own.
    fn sync_with(&mut self, ctx: &mut Context<'_, Self>, peer: NodeId) {
        let members = self.sync_table();
        ctx.send(peer, Msg::Sync { incarnation: self.incarnation, members, answer: true });
    }

    fn sync_table(&self) -> Vec<Update> {
        let me = self.me;
        let others = self.view.iter().enumerate().filter(|&(i, _)| i != me.0 as usize);
        let mut table: Vec<Update> = others
            .map(|(i, &(incarnation, status))| Update {
                member: NodeId(i as u32),
                incarnation,
                status,
                from: me,
            })
            .collect();
        table.push(self.alive());
        table
    }
}

impl Node for Swim {
    type Config = SwimConfig;
    type Msg = Msg;
    type Timer = Timer;
    /// SWIM takes no client requests; its scenarios have no `[workload]`.
    type Workload = no_requests::NoRequests;

    fn start(config: &SwimConfig, ctx: &mut Context<'_, Self>) -> Self {
        let recovered =
            INCARNATION.recover(ctx.disk(), |b| Some(u64::from_le_bytes(b.try_into().ok()?)));
        recovered.report.count(ctx);
        let stored = if config.bugs.forget_incarnation { None } else { recovered.value };
        let restarted = recovered.value.is_some();
        let me = ctx.id();
        let n = ctx.cluster_size();
        let mut order: Vec<NodeId> = ctx.peers().collect();
        ctx.rng().shuffle(&mut order);
        let mut node = Swim {
            config: *config,
            me,
            incarnation: stored.map_or(0, |i| i + 1),
            view: vec![(0, Status::Alive); n],
            dead: BTreeSet::new(),
            suspicions: BTreeMap::new(),
            order,
            next_in_order: 0,
            probe: None,
            seq: 0,
            relays: Vec::new(),
            queue: Vec::new(),
            queued: 0,
            health: 0,
            period: 0,
            changes: Vec::new(),
        };
        node.store_incarnation(ctx);
        if restarted {
            // Back from a crash: say so, and ask for the membership as others hold it.
            node.enqueue(node.alive());
            for peer in ctx.random_peers(config::SYNC_PEERS) {
                node.sync_with(ctx, peer);
            }
            ctx.count("restarted_with_higher_incarnation");
        }
        let phase = ctx.random_duration(sim_core::SimDuration::ZERO, config.period(0));
        ctx.set_timer(phase, Timer::Period);
        node
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        self.changes.clear();
        match msg {
            Msg::Ping { seq, incarnation, about, updates } => {
                self.heard_from(ctx, from, incarnation);
                if let Some(about) = about {
                    self.apply(ctx, about, false);
                }
                self.merge(ctx, updates);
                let updates = self.piggyback();
                let me = self.me;
                let incarnation = self.incarnation;
                ctx.send(
                    from,
                    Msg::Ack {
                        seq,
                        target: me,
                        target_incarnation: incarnation,
                        incarnation,
                        updates,
                    },
                );
            }
            Msg::PingReq { seq, target, incarnation, updates } => {
                self.heard_from(ctx, from, incarnation);
                self.merge(ctx, updates);
                self.seq += 1;
                let relay_seq = self.seq;
                self.relays.push(Relay {
                    seq: relay_seq,
                    origin: from,
                    origin_seq: seq,
                    period: self.period,
                });
                self.ping(ctx, target, relay_seq);
            }
            Msg::Ack { seq, target, target_incarnation, incarnation, updates } => {
                if target != from {
                    self.heard_from(ctx, from, incarnation);
                }
                self.merge(ctx, updates);
                self.on_ack(ctx, seq, target, target_incarnation);
            }
            Msg::Sync { incarnation, members, answer } => {
                self.heard_from(ctx, from, incarnation);
                for update in members {
                    self.apply(ctx, update, false);
                }
                if answer {
                    let members = self.sync_table();
                    let incarnation = self.incarnation;
                    ctx.send(from, Msg::Sync { incarnation, members, answer: false });
                }
                ctx.count("state_synced");
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        self.changes.clear();
        match timer {
            Timer::Period => self.on_period(ctx),
            Timer::PingTimeout { seq } => self.on_ping_timeout(ctx, seq),
            Timer::Suspicion { member, incarnation } => {
                if self.view[member.0 as usize] == (incarnation, Status::Suspect) {
                    let update =
                        Update { member, incarnation, status: Status::Dead, from: self.me };
                    self.set(ctx, update, true);
                    self.enqueue(update);
                }
            }
        }
    }
}

impl Protocol for Swim {
    const NAME: &'static str = "swim";
    const SUMMARY: &'static str = "SWIM failure detection and membership (Das, Gupta and \
        Motivala): ping, ping-req, suspicion with incarnations, piggybacked dissemination, \
        Lifeguard's refinements as options";

    type Invariants = SwimObserver;
    type Options = SwimOptions;
    type Bugs = Bugs;

    fn configure(options: SwimOptions, bugs: Bugs) -> Result<SwimConfig, String> {
        SwimConfig::new(&options, bugs)
    }

    fn properties() -> Vec<PropertySpec> {
        PROPERTIES.to_vec()
    }

    fn metrics(observer: &SwimObserver, end: SimTime) -> Metrics {
        observer.metrics(end)
    }
}
