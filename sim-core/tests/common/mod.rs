//! Shared toys and observers for the engine's integration tests.
//!
//! `Chatter` sends sequence-numbered messages to every peer on a timer and records what it
//! receives; `NetWatch` keeps its own model of which links are cut and which nodes are up
//! (from the fault events it observes), asserts at every delivery that the message crossed
//! no cut link and reached a live node, and records the fate of every message so a test
//! can compare its own accounting with the network's counters.

// Each test crate uses a different part of this module.
#![allow(dead_code)]

use sim_core::engine::Hop;
use sim_core::faults::{FaultAction, Partition};
use sim_core::kv::KvWorkload;
use sim_core::network::DropReason;
use sim_core::node::{Context, Node, NodeId};
use sim_core::{EventView, Nodes, Observer, Position, SimDuration, SimTime, Simulation, Violation};
use std::collections::BTreeMap;

/// One message of a `Chatter`: unique by (sender, receiver, epoch, seq), because the
/// epoch is bumped and synced to disk at every start.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChatMsg {
    pub epoch: u32,
    pub seq: u64,
}

#[derive(Clone, Copy, Debug)]
pub struct ChatterConfig {
    /// Time between two bursts, on the node's clock.
    pub interval: SimDuration,
    /// Messages per peer per burst.
    pub burst: u32,
    /// No burst at or after this local time (so a run ends).
    pub stop_at: SimTime,
}

impl ChatterConfig {
    pub fn new(interval_ms: u64, stop_ms: u64) -> Self {
        ChatterConfig {
            interval: SimDuration::from_millis(interval_ms),
            burst: 1,
            stop_at: SimTime(stop_ms * 1_000_000),
        }
    }
}

/// Sends `burst` sequence-numbered messages to every peer every `interval`; records every
/// message it sends and receives (with its local receive time).
#[derive(Debug)]
pub struct Chatter {
    pub epoch: u32,
    /// Every message this incarnation sent, in order.
    pub outbox: Vec<(NodeId, ChatMsg)>,
    /// Every message this incarnation received: sender, message, local receive time.
    pub inbox: Vec<(NodeId, ChatMsg, SimTime)>,
    /// Local times at which this incarnation's timer fired.
    pub ticks: Vec<SimTime>,
    next_seq: Vec<u64>,
    config: ChatterConfig,
}

impl Node for Chatter {
    type Config = ChatterConfig;
    type Msg = ChatMsg;
    type Timer = ();
    type Workload = KvWorkload;

    fn start(config: &ChatterConfig, ctx: &mut Context<'_, Self>) -> Self {
        let stored = ctx.disk().read("epoch");
        let epoch = stored.get(..4).map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap())) + 1;
        ctx.disk().overwrite("epoch", &epoch.to_le_bytes());
        ctx.disk().sync();
        let phase = ctx.random_duration(SimDuration::ZERO, config.interval);
        ctx.set_timer(phase, ());
        Chatter {
            epoch,
            outbox: Vec::new(),
            inbox: Vec::new(),
            ticks: Vec::new(),
            next_seq: vec![0; ctx.cluster_size()],
            config: *config,
        }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: ChatMsg) {
        self.inbox.push((from, msg, ctx.now()));
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: ()) {
        self.ticks.push(ctx.now());
        if ctx.now() >= self.config.stop_at {
            return;
        }
        for to in ctx.peers() {
            for _ in 0..self.config.burst {
                let seq = self.next_seq[to.0 as usize];
                self.next_seq[to.0 as usize] += 1;
                let msg = ChatMsg { epoch: self.epoch, seq };
                self.outbox.push((to, msg));
                ctx.send(to, msg);
            }
        }
        ctx.set_timer(self.config.interval, ());
    }
}

/// A message's identity: sender, receiver, epoch, sequence number.
pub type MsgKey = (NodeId, NodeId, u32, u64);

/// What happened to one copy of a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Dropped(DropReason),
}

/// One copy's fate, with whether the observer's own model had its link cut at that moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fate {
    pub time: SimTime,
    pub outcome: Outcome,
    pub cut: bool,
}

/// The directed links a partition cuts in an `n`-node cluster, computed here from the
/// partition's documented meaning (independently of the engine). Only partitions that
/// name their nodes are supported: a random choice cannot be modelled from outside.
pub fn cut_links(partition: &Partition, n: u32) -> Vec<(NodeId, NodeId)> {
    let mut links = Vec::new();
    let pairs = (0..n).flat_map(|a| (0..n).map(move |b| (NodeId(a), NodeId(b))));
    match partition {
        Partition::Groups(groups) => {
            let group_of = |x: NodeId| groups.iter().position(|g| g.contains(&x));
            links.extend(pairs.filter(|&(a, b)| a != b && group_of(a) != group_of(b)));
        }
        Partition::OneWay { from, to } => {
            links.extend(pairs.filter(|(a, b)| a != b && from.contains(a) && to.contains(b)));
        }
        Partition::Isolate(Some(v)) => {
            links.extend(pairs.filter(|&(a, b)| a != b && (a == *v || b == *v)));
        }
        Partition::MuteOne(Some(v)) => {
            links.extend(pairs.filter(|&(a, b)| a != b && a == *v));
        }
        other => panic!("the test model cannot follow a random partition: {other:?}"),
    }
    links
}

/// Watches a `Chatter` run. See the module docs.
#[derive(Debug)]
pub struct NetWatch {
    n: usize,
    cut: Vec<bool>,
    up: Vec<bool>,
    paused_until: Vec<SimTime>,
    /// Outbox entries of each node's current incarnation already accounted for.
    seen: Vec<usize>,
    /// Every message sent: whether its link was cut (in our model) when it was sent.
    pub sends: BTreeMap<MsgKey, (SimTime, bool)>,
    /// Every copy's fate.
    pub fates: BTreeMap<MsgKey, Vec<Fate>>,
    /// Every handled event: (time, node it targeted).
    pub handled: Vec<(SimTime, NodeId)>,
    pub restarts: u64,
    pub crashes: u64,
    pub pauses: u64,
}

impl NetWatch {
    pub fn new(n: u32) -> Self {
        let n = n as usize;
        NetWatch {
            n,
            cut: vec![false; n * n],
            up: vec![false; n],
            paused_until: vec![SimTime::ZERO; n],
            seen: vec![0; n],
            sends: BTreeMap::new(),
            fates: BTreeMap::new(),
            handled: Vec::new(),
            restarts: 0,
            crashes: 0,
            pauses: 0,
        }
    }

    fn is_cut(&self, from: NodeId, to: NodeId) -> bool {
        self.cut[from.0 as usize * self.n + to.0 as usize]
    }

    fn apply_fault(&mut self, time: SimTime, action: &FaultAction) {
        match action {
            FaultAction::Partition(partition) => {
                for (a, b) in cut_links(partition, self.n as u32) {
                    self.cut[a.0 as usize * self.n + b.0 as usize] = true;
                }
            }
            FaultAction::Heal | FaultAction::HealAll => self.cut.fill(false),
            FaultAction::Pause { node, duration } if self.up[node.0 as usize] => {
                let until = &mut self.paused_until[node.0 as usize];
                *until = (*until).max(time + *duration);
                self.pauses += 1;
            }
            FaultAction::Crash(node) | FaultAction::CrashOn { node, .. }
                if self.up[node.0 as usize] =>
            {
                self.crashes += 1
            }
            _ => {}
        }
        if let FaultAction::HealAll = action {
            for until in &mut self.paused_until {
                *until = (*until).min(time);
            }
        }
    }

    /// A node handles an event: it must be up and not paused.
    fn handles(&mut self, time: SimTime, node: NodeId) {
        let i = node.0 as usize;
        assert!(self.up[i], "{node} handled an event at {time} while crashed");
        assert!(
            self.paused_until[i] <= time,
            "{node} handled an event at {time}, paused until {}",
            self.paused_until[i]
        );
        self.handled.push((time, node));
    }

    fn fate(&mut self, key: MsgKey, time: SimTime, outcome: Outcome) {
        let cut = self.is_cut(key.0, key.1);
        self.fates.entry(key).or_default().push(Fate { time, outcome, cut });
    }

    /// Messages whose link was cut when they were sent or when they arrived.
    pub fn crossing(&self, from: NodeId, to: NodeId) -> u64 {
        let mut count = 0;
        for (key, &(_, cut_at_send)) in
            self.sends.range((from, to, 0, 0)..=(from, to, u32::MAX, u64::MAX))
        {
            for fate in self.fates.get(key).map_or(&[][..], Vec::as_slice) {
                count += u64::from(cut_at_send || fate.cut);
            }
        }
        count
    }

    /// Copies with this outcome on `from -> to`.
    pub fn outcomes(&self, from: NodeId, to: NodeId, outcome: Outcome) -> u64 {
        let range = (from, to, 0, 0)..=(from, to, u32::MAX, u64::MAX);
        self.fates.range(range).flat_map(|(_, f)| f).filter(|f| f.outcome == outcome).count() as u64
    }

    /// Check, after a run that reached quiescence, that every message sent has exactly
    /// one fate (`copies` with duplication), that the network's per-link counters equal
    /// the counts this observer computed on its own, and that a message is dropped for a
    /// partition exactly when its link was cut at send time or at arrival time.
    pub fn check_accounting<O: Observer<Chatter>>(&self, sim: &Simulation<Chatter, O>) {
        for key in self.fates.keys() {
            assert!(self.sends.contains_key(key), "fate of a message never sent: {key:?}");
        }
        for (key, &(sent_at, cut_at_send)) in &self.sends {
            let fates = self.fates.get(key).map_or(&[][..], Vec::as_slice);
            assert_eq!(fates.len(), 1, "{key:?} sent at {sent_at}: fates {fates:?}");
            let fate = fates[0];
            let crosses = cut_at_send || fate.cut;
            let partition_drop = fate.outcome == Outcome::Dropped(DropReason::Partition);
            assert_eq!(
                partition_drop, crosses,
                "{key:?} sent at {sent_at} (cut: {cut_at_send}): {fate:?}"
            );
            if cut_at_send {
                assert_eq!(fate.time, sent_at, "{key:?} sent on a cut link must drop at once");
            }
        }
        for a in 0..self.n as u32 {
            for b in 0..self.n as u32 {
                let (a, b) = (NodeId(a), NodeId(b));
                let stats = sim.network().link_stats(a, b).unwrap();
                let sent = self.sends.range((a, b, 0, 0)..=(a, b, u32::MAX, u64::MAX)).count();
                assert_eq!(stats.sent, sent as u64, "sent on {a}->{b}");
                assert_eq!(stats.dropped_partition, self.crossing(a, b), "{a}->{b}: {stats:?}");
                assert_eq!(stats.delivered, self.outcomes(a, b, Outcome::Delivered), "{a}->{b}");
                let down = self.outcomes(a, b, Outcome::Dropped(DropReason::NodeDown));
                assert_eq!(stats.dropped_node_down, down, "{a}->{b}");
                let lost = self.outcomes(a, b, Outcome::Dropped(DropReason::Loss));
                assert_eq!(stats.dropped_loss, lost, "{a}->{b}");
                assert_eq!(stats.held, 0, "no link was held");
            }
        }
    }
}

impl Observer<Chatter> for NetWatch {
    fn on_event(&mut self, position: Position, _index: u64, event: &EventView<'_, Chatter>) {
        let time = position.time;
        match *event {
            EventView::Start { node, restart } => {
                self.seen[node.0 as usize] = 0;
                self.restarts += u64::from(restart);
            }
            EventView::Deliver { from, to, msg, .. } => {
                self.handles(time, to);
                assert!(
                    !self.is_cut(from, to),
                    "{from}->{to} {msg:?} delivered across a cut at {time}"
                );
                self.fate((from, to, msg.epoch, msg.seq), time, Outcome::Delivered);
            }
            EventView::Timer { node, .. } | EventView::Request { node, .. } => {
                self.handles(time, node);
            }
            EventView::Fault(action) => self.apply_fault(time, action),
            EventView::Reply { .. } | EventView::ClientWake { .. } => {}
        }
    }

    fn on_drop(&mut self, time: SimTime, hop: Hop, msg: &ChatMsg, reason: DropReason) {
        let (from, to) = (hop.from, hop.to);
        match reason {
            DropReason::NodeDown => assert!(!self.up[to.0 as usize], "{to} is up, yet {reason:?}"),
            DropReason::Partition => {
                assert!(self.is_cut(from, to), "{from}->{to} not cut at {time}")
            }
            DropReason::Loss => {}
        }
        self.fate((from, to, msg.epoch, msg.seq), time, Outcome::Dropped(reason));
    }

    fn after_node(
        &mut self,
        time: SimTime,
        node: NodeId,
        nodes: &Nodes<'_, Chatter>,
        _annotations: &[String],
    ) -> Result<(), Violation> {
        let i = node.0 as usize;
        let state = nodes.get(node);
        if self.up[i] && state.is_none() {
            self.paused_until[i] = SimTime::ZERO;
        }
        self.up[i] = state.is_some();
        if let Some(chatter) = state {
            for &(to, msg) in &chatter.outbox[self.seen[i]..] {
                let cut = self.is_cut(node, to);
                let previous = self.sends.insert((node, to, msg.epoch, msg.seq), (time, cut));
                assert!(previous.is_none(), "{node}->{to} {msg:?} sent twice");
            }
            self.seen[i] = chatter.outbox.len();
        }
        Ok(())
    }
}

/// Run a property over `cases` inputs drawn from a fixed-seed generator (so that the
/// "sometimes" counters a test sums over all cases are reproducible), failing the test
/// with the minimal failing input.
pub fn check_property<S>(cases: u32, strategy: S, test: impl Fn(S::Value))
where
    S: proptest::strategy::Strategy,
    S::Value: std::fmt::Debug,
{
    use proptest::test_runner::{Config, TestRng, TestRunner};
    let config = Config { cases, failure_persistence: None, ..Config::default() };
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    let mut runner = TestRunner::new_with_rng(config, rng);
    if let Err(error) = runner.run(&strategy, |value| {
        test(value);
        Ok(())
    }) {
        panic!("{error}");
    }
}

/// Milliseconds of simulated time.
pub fn ms(millis: u64) -> SimTime {
    SimTime(millis * 1_000_000)
}
