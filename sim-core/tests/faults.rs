//! Process faults and the nemesis: a paused node handles nothing during its pause and
//! catches up after; `HealAll` restarts, heals, releases and resumes everything; the
//! nemesis reports every fault it injects and never takes down more than `max_down`
//! nodes; clients record well-formed histories while nodes crash.

mod common;

use common::{Chatter, ChatterConfig, NetWatch, check_property, ms};
use proptest::prelude::*;
use sim_core::client::ClientOptions;
use sim_core::faults::{DurationRange, FaultAction, FaultKind, NemesisOptions, Partition};
use sim_core::history::{EventType, Function, History, Value};
use sim_core::kv::{KvOptions, KvWorkload, Op};
use sim_core::latency::Latency;
use sim_core::network::LinkOptions;
use sim_core::node::{Context, Node, NodeId, Reply, Request, RequestId};
use sim_core::{EventView, Observer, Position, RunLimits, SimBuilder, SimDuration, SimTime};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

const UNTIL_QUIET: RunLimits =
    RunLimits { until: SimTime::MAX, max_events: 5_000_000, max_pending: u64::MAX };

#[test]
fn a_paused_node_handles_nothing_during_its_pause_and_catches_up_after() {
    let paused = NodeId(1);
    let mut sim = SimBuilder::new(21, 3)
        .count_links()
        .fault_at(
            ms(50),
            FaultAction::Pause { node: paused, duration: SimDuration::from_millis(40) },
        )
        .build_observed::<Chatter, _>(ChatterConfig::new(5, 200), NetWatch::new(3));
    assert_eq!(sim.run(UNTIL_QUIET), sim_core::StopReason::Quiescent);
    // NetWatch asserted that node 1 handled nothing in [50 ms, 90 ms).
    let watch = sim.observer();
    watch.check_accounting(&sim);
    let handled: Vec<SimTime> =
        watch.handled.iter().filter(|h| h.1 == paused).map(|h| h.0).collect();
    assert!(handled.iter().all(|&t| t < ms(50) || t >= ms(90)));
    // Everything that came due during the pause ran at its end: one timer (due once in
    // each 5 ms, but each firing sets the next) and every message that arrived.
    let at_resume = handled.iter().filter(|&&t| t == ms(90)).count();
    let chatter = sim.node(paused).unwrap();
    let arrived_in_pause = chatter.inbox.iter().filter(|m| m.2 == ms(90)).count();
    // Each of 2 peers sends every 5 ms: 8 messages each arrive during the 40 ms pause.
    assert_eq!(arrived_in_pause, 2 * 8);
    assert_eq!(at_resume, arrived_in_pause + 1, "the messages and the one timer");
    assert_eq!(sim.stats().deferred, at_resume as u64);
    // The timer fired late, on the node's clock it is 90 ms, and the chain carries on.
    assert!(chatter.ticks.contains(&ms(90)));
    assert!(chatter.ticks.iter().all(|&t| t < ms(50) || t >= ms(90)));
    // Nothing was lost: node 1 received every message sent to it, in per-link order.
    for from in [NodeId(0), NodeId(2)] {
        let seqs: Vec<u64> =
            chatter.inbox.iter().filter(|m| m.0 == from).map(|m| m.1.seq).collect();
        assert_eq!(seqs, (0..40).collect::<Vec<_>>(), "from {from}");
    }
    assert_eq!(sim.message_stats().dropped(), 0);
}

#[test]
fn an_extended_pause_holds_everything_until_its_new_end() {
    let paused = NodeId(1);
    let pause =
        |ms_long| FaultAction::Pause { node: paused, duration: SimDuration::from_millis(ms_long) };
    let mut sim = SimBuilder::new(22, 3)
        .count_links()
        .fault_at(ms(50), pause(40))
        .fault_at(ms(70), pause(40))
        .fault_at(ms(75), pause(5)) // ends before the current pause: changes nothing
        .build_observed::<Chatter, _>(ChatterConfig::new(5, 200), NetWatch::new(3));
    sim.run(UNTIL_QUIET);
    let watch = sim.observer();
    watch.check_accounting(&sim);
    let handled: Vec<SimTime> =
        watch.handled.iter().filter(|h| h.1 == paused).map(|h| h.0).collect();
    assert!(handled.iter().all(|&t| t < ms(50) || t >= ms(110)), "{handled:?}");
    // 12 messages from each peer and one timer waited for 60 ms, and ran at 110 ms.
    assert_eq!(handled.iter().filter(|&&t| t == ms(110)).count(), 2 * 12 + 1);
    assert_eq!(sim.message_stats().dropped(), 0);
}

/// Records the times each node's timers fired, and every delivery.
#[derive(Default)]
struct Handled {
    timers: BTreeMap<NodeId, Vec<SimTime>>,
    deliveries: Vec<(SimTime, NodeId, NodeId)>,
}

impl Observer<Chatter> for Handled {
    fn on_event(&mut self, position: Position, _index: u64, event: &EventView<'_, Chatter>) {
        match *event {
            EventView::Deliver { from, to, .. } => self.deliveries.push((position.time, from, to)),
            EventView::Timer { node, .. } => {
                self.timers.entry(node).or_default().push(position.time);
            }
            _ => {}
        }
    }
}

#[test]
fn heal_all_restarts_heals_releases_and_resumes_everything() {
    let nemesis = NemesisOptions {
        crash_rate: 50.0,
        partition_rate: 50.0,
        pause_rate: 50.0,
        max_down: Some(1),
        ..NemesisOptions::default()
    };
    let mut sim = SimBuilder::new(5, 5)
        .count_links()
        .nemesis(nemesis)
        .fault_at(ms(50), FaultAction::Crash(NodeId(1)))
        .fault_at(ms(50), FaultAction::Crash(NodeId(2)))
        .fault_at(ms(60), FaultAction::Partition(Partition::Isolate(Some(NodeId(3)))))
        .fault_at(ms(70), FaultAction::Hold { from: NodeId(0), to: NodeId(4) })
        .fault_at(
            ms(80),
            FaultAction::Pause { node: NodeId(4), duration: SimDuration::from_secs(1) },
        )
        .fault_at(ms(100), FaultAction::HealAll)
        .build_observed::<Chatter, _>(ChatterConfig::new(5, 400), Handled::default());
    sim.run_until(ms(100));
    let faults_before = sim.fault_stats();
    assert!(faults_before.get(FaultKind::Crash) >= 2);
    assert!(faults_before.get(FaultKind::Partition) >= 1);
    // Right after HealAll: everyone is up and nothing is cut or held.
    for id in 0..5 {
        assert!(sim.is_up(NodeId(id)), "n{id} is still down");
    }
    assert!(!sim.network().is_partitioned());
    assert_eq!(sim.node(NodeId(1)).unwrap().epoch, 2, "restarted from its disk");
    sim.run_until(ms(400));
    // The nemesis stopped: no new crash, pause or partition after HealAll.
    for kind in [FaultKind::Crash, FaultKind::Pause, FaultKind::Partition] {
        assert_eq!(sim.fault_count(kind), faults_before.get(kind), "{kind:?} after HealAll");
    }
    let handled = sim.observer();
    for id in 0..5 {
        let node = NodeId(id);
        // Every node (the paused one too) runs its timers again within one interval.
        let first = handled.timers[&node].iter().find(|&&t| t > ms(100)).copied();
        assert!(
            first.is_some_and(|t| t <= ms(105)),
            "{node}'s timers idle after HealAll: {first:?}"
        );
        // And every link carries messages again.
        for to in (0..5).filter(|&t| t != id).map(NodeId) {
            let log = &handled.deliveries;
            let after =
                log.iter().filter(|e| e.0 > ms(100) && e.0 <= ms(110) && e.1 == node && e.2 == to);
            assert!(after.count() > 0, "{node}->{to} silent after HealAll");
        }
    }
    let held = sim.network().link_stats(NodeId(0), NodeId(4)).unwrap();
    assert!(held.held > 0, "the hold held something: {held:?}");
}

/// Counts the faults the observer is told about, and checks `max_down` from them alone:
/// a node is down from its crash to its (re)start, and paused for its pause's duration.
struct DownWatch {
    max_down: u32,
    crashed: Vec<bool>,
    paused_until: Vec<SimTime>,
    notified: BTreeMap<FaultKind, u64>,
    peak: u32,
}

impl DownWatch {
    fn new(n: u32, max_down: u32) -> Self {
        DownWatch {
            max_down,
            crashed: vec![false; n as usize],
            paused_until: vec![SimTime::ZERO; n as usize],
            notified: BTreeMap::new(),
            peak: 0,
        }
    }

    fn down(&self, now: SimTime) -> u32 {
        let paused = |i: usize| self.paused_until[i] > now;
        (0..self.crashed.len()).filter(|&i| self.crashed[i] || paused(i)).count() as u32
    }
}

impl Observer<Chatter> for DownWatch {
    fn on_event(&mut self, position: Position, _index: u64, event: &EventView<'_, Chatter>) {
        let now = position.time;
        match event {
            EventView::Start { node, .. } => self.crashed[node.0 as usize] = false,
            EventView::Fault(action) => {
                let applied = match action {
                    FaultAction::Crash(node) if !self.crashed[node.0 as usize] => {
                        self.crashed[node.0 as usize] = true;
                        self.paused_until[node.0 as usize] = SimTime::ZERO;
                        true
                    }
                    FaultAction::Pause { node, duration } if !self.crashed[node.0 as usize] => {
                        let until = &mut self.paused_until[node.0 as usize];
                        *until = (*until).max(now + *duration);
                        true
                    }
                    FaultAction::Partition(_) | FaultAction::ClockJump { .. } => true,
                    _ => false,
                };
                if applied {
                    *self.notified.entry(action.kind()).or_default() += 1;
                }
                let down = self.down(now);
                assert!(down <= self.max_down, "{down} nodes down at {now}, max {}", self.max_down);
                self.peak = self.peak.max(down);
            }
            _ => {}
        }
    }
}

#[test]
fn the_nemesis_reports_its_faults_and_respects_max_down() {
    let peaks_reached = Cell::new(0u64);
    let strategy = (any::<u64>(), 3..=7u32, prop::option::of(0..=3u32));
    check_property(64, strategy, |(seed, n, max_down)| {
        let limit = max_down.unwrap_or((n - 1) / 2);
        let nemesis = NemesisOptions {
            crash_rate: 40.0,
            pause_rate: 40.0,
            partition_rate: 10.0,
            clock_jump_rate: 10.0,
            max_down,
            restart_after: DurationRange::new(
                SimDuration::from_millis(10),
                SimDuration::from_millis(200),
            ),
            pause_duration: DurationRange::new(
                SimDuration::from_millis(10),
                SimDuration::from_millis(200),
            ),
            ..NemesisOptions::default()
        };
        let mut sim = SimBuilder::new(seed, n)
            .nemesis(nemesis)
            .build_observed::<Chatter, _>(ChatterConfig::new(5, 2000), DownWatch::new(n, limit));
        sim.run_until(ms(2000));
        let watch = sim.observer();
        // The observer was told of every fault the nemesis injected.
        for kind in [FaultKind::Crash, FaultKind::Pause, FaultKind::Partition, FaultKind::Clock] {
            let notified = watch.notified.get(&kind).copied().unwrap_or(0);
            assert_eq!(notified, sim.fault_count(kind), "{kind:?} faults not all reported");
        }
        assert!(sim.fault_count(FaultKind::Partition) > 0 && sim.fault_count(FaultKind::Clock) > 0);
        if limit == 0 {
            assert_eq!(sim.fault_count(FaultKind::Crash) + sim.fault_count(FaultKind::Pause), 0);
        } else {
            assert!(sim.fault_count(FaultKind::Crash) > 0);
        }
        peaks_reached.set(peaks_reached.get() + u64::from(limit > 0 && watch.peak == limit));
    });
    // The limit really was reached (and so really held something back) in most cases.
    assert!(peaks_reached.get() > 32, "max_down reached in {} cases", peaks_reached.get());
}

/// A key-value node that misbehaves on purpose to exercise every client path: it
/// redirects, fails, answers late (from a timer, lost if it crashes first), or not at all.
struct Kv {
    store: BTreeMap<u64, Value>,
    late: Vec<(RequestId, Reply<Value>)>,
}

impl Kv {
    fn apply(&mut self, op: Op) -> Reply<Value> {
        match op {
            Op::Read { key } => Reply::Ok(self.store.get(&key).cloned().unwrap_or(Value::Nil)),
            Op::Write { key, value } | Op::Append { key, value } => {
                self.store.insert(key, value);
                Reply::Ok(Value::Nil)
            }
            Op::Cas { key, expected, new } => {
                let current = self.store.get(&key).cloned().unwrap_or(Value::Nil);
                if current == expected {
                    self.store.insert(key, new);
                    Reply::Ok(Value::Nil)
                } else {
                    Reply::Fail
                }
            }
        }
    }
}

impl Node for Kv {
    type Config = ();
    type Msg = ();
    type Timer = ();
    type Workload = KvWorkload;

    fn start(_config: &(), _ctx: &mut Context<'_, Self>) -> Self {
        Kv { store: BTreeMap::new(), late: Vec::new() }
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, _msg: ()) {}

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: ()) {
        for (id, reply) in self.late.drain(..) {
            ctx.reply(id, reply);
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request<Op>) {
        let n = ctx.cluster_size() as u64;
        match ctx.rng().below(10) {
            0 => {
                let to = NodeId(ctx.rng().below(n) as u32);
                ctx.reply(request.id, Reply::Redirect(Some(to)));
            }
            1 => ctx.reply(request.id, Reply::Redirect(None)),
            2 => {} // silence: the client retries elsewhere, then times out
            3 | 4 => {
                let reply = self.apply(request.op);
                self.late.push((request.id, reply));
                ctx.set_timer(SimDuration::from_millis(30), ());
            }
            _ => {
                let reply = self.apply(request.op);
                ctx.reply(request.id, reply);
            }
        }
    }
}

/// Check a history is well formed (as Jepsen defines it): a process has at most one
/// operation open; every completion closes the open operation of its process, with the
/// same function and key; after `info` the process never appears again; times never go
/// backwards. Returns the number of events of each type.
fn check_history(history: &History, clients: u64) -> BTreeMap<EventType, u64> {
    let mut open = BTreeMap::new();
    let mut retired = BTreeSet::new();
    let mut last_process = BTreeMap::new();
    let mut counts = BTreeMap::new();
    let mut last_time = SimTime::ZERO;
    for (i, e) in history.events.iter().enumerate() {
        let time = e.time.expect("simulated histories carry times");
        assert!(time >= last_time, "event {i} goes back in time");
        last_time = time;
        assert!(!retired.contains(&e.process), "event {i}: process {} retired by info", e.process);
        // A client's processes are client, client + clients, client + 2 clients, ...
        let client = e.process % clients;
        let previous = last_process.insert(client, e.process).unwrap_or(client);
        assert!(
            e.process == previous || e.process == previous + clients,
            "event {i}: process jump"
        );
        *counts.entry(e.kind).or_default() += 1;
        match e.kind {
            EventType::Invoke => {
                assert!(
                    open.insert(e.process, e).is_none(),
                    "event {i}: process {} has two open operations",
                    e.process
                );
            }
            kind => {
                let invoke = open
                    .remove(&e.process)
                    .unwrap_or_else(|| panic!("event {i}: {kind:?} without an invoke"));
                assert_eq!(
                    (invoke.f, &invoke.key),
                    (e.f, &e.key),
                    "event {i} completes another op"
                );
                if e.f != Function::Read || kind != EventType::Ok {
                    assert_eq!(invoke.value, e.value, "event {i}: completion changed the argument");
                }
                if kind == EventType::Info {
                    retired.insert(e.process);
                }
            }
        }
    }
    counts
}

#[test]
fn clients_record_well_formed_histories_while_nodes_crash() {
    let totals: Cell<[u64; 6]> = Cell::new([0; 6]);
    check_property(32, (any::<u64>(), 2..=5u32), |(seed, n)| {
        let clients = 4;
        let kv = KvOptions { read: 2, write: 2, cas: 1, ..KvOptions::default() };
        let workload = ClientOptions {
            clients,
            timeout: SimDuration::from_millis(150),
            retry_after: SimDuration::from_millis(40),
            latency: Latency::Uniform {
                min: SimDuration::from_micros(100),
                max: SimDuration::from_millis(3),
            },
            stop_at: Some(ms(2500)),
            ..ClientOptions::default()
        };
        let nemesis = NemesisOptions {
            crash_rate: 20.0,
            max_down: Some(n - 1),
            restart_after: DurationRange::new(
                SimDuration::from_millis(5),
                SimDuration::from_millis(100),
            ),
            until: ms(2000),
            ..NemesisOptions::default()
        };
        let mut sim = SimBuilder::new(seed, n)
            .links(LinkOptions::default())
            .workload(workload, KvWorkload::new(kv).unwrap())
            .nemesis(nemesis)
            .fault_at(ms(2000), FaultAction::HealAll)
            .build::<Kv>(());
        sim.run(UNTIL_QUIET);
        let history = sim.history().expect("a workload records a history");
        let counts = check_history(history, u64::from(clients));
        let stats = sim.client_stats();
        let count = |kind| counts.get(&kind).copied().unwrap_or(0);
        assert_eq!(count(EventType::Invoke), stats.invoked);
        assert_eq!(count(EventType::Ok), stats.ok);
        assert_eq!(count(EventType::Fail), stats.fail);
        assert_eq!(count(EventType::Info), stats.info);
        // Quiescent: the liveness phase closed every operation.
        assert_eq!(stats.invoked, stats.ok + stats.fail + stats.info);
        assert_eq!(sim.clients().unwrap().open_operations(), 0);
        let mut t = totals.get();
        for (slot, value) in [
            stats.ok,
            stats.fail,
            stats.info,
            stats.redirects,
            stats.resends,
            sim.stats().requests_lost,
        ]
        .into_iter()
        .enumerate()
        {
            t[slot] += value;
        }
        totals.set(t);
    });
    // Every path was exercised: ok, fail, info, redirects, re-sends, requests to a crashed node.
    let t = totals.get();
    assert!(t.iter().all(|&v| v > 0), "ok, fail, info, redirects, resends, lost: {t:?}");
}

/// Each node in turn claims leadership for 200ms (node `k` from `200k` ms), then steps
/// down: five elections in a second.
struct Rotating {
    leading: bool,
}

impl Node for Rotating {
    type Config = ();
    type Msg = ();
    type Timer = bool;
    type Workload = KvWorkload;

    fn start(_config: &(), ctx: &mut Context<'_, Self>) -> Self {
        let start = SimDuration::from_millis(200 * u64::from(ctx.id().0) + 1);
        ctx.set_timer(start, true);
        Rotating { leading: false }
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, _msg: ()) {}

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, lead: bool) {
        self.leading = lead;
        if lead {
            ctx.set_timer(SimDuration::from_millis(200), false);
        }
    }

    fn is_leader(&self) -> bool {
        self.leading
    }
}

/// The partitions a run injected, with their times.
#[derive(Default)]
struct Partitions(Vec<(SimTime, Partition)>);

impl Observer<Rotating> for Partitions {
    fn on_event(&mut self, position: Position, _index: u64, event: &EventView<'_, Rotating>) {
        if let EventView::Fault(FaultAction::Partition(p)) = event {
            self.0.push((position.time, p.clone()));
        }
    }
}

fn new_leader_isolations(chance: f64) -> Vec<(SimTime, Partition)> {
    let nemesis = NemesisOptions {
        isolate_new_leader: chance,
        isolate_new_leader_after: DurationRange::new(
            SimDuration::from_millis(5),
            SimDuration::from_millis(30),
        ),
        partition_duration: DurationRange::new(
            SimDuration::from_millis(50),
            SimDuration::from_millis(50),
        ),
        ..NemesisOptions::default()
    };
    let mut sim = SimBuilder::new(3, 5)
        .nemesis(nemesis)
        .build_observed::<Rotating, _>((), Partitions::default());
    sim.run_until(SimTime(1_000_000_000));
    sim.into_observer().0
}

#[test]
fn the_nemesis_isolates_each_new_leader_soon_after_its_election() {
    let cuts = new_leader_isolations(1.0);
    assert_eq!(cuts.len(), 5, "{cuts:?}");
    for (k, (time, partition)) in cuts.iter().enumerate() {
        assert_eq!(*partition, Partition::Isolate(Some(NodeId(k as u32))));
        let elected = SimTime(1_000_000 + 200_000_000 * k as u64);
        assert!(
            *time >= elected + SimDuration::from_millis(5)
                && *time <= elected + SimDuration::from_millis(30),
            "node {k} cut at {time}"
        );
    }
    assert!(new_leader_isolations(0.0).is_empty());
}

/// Clock jumps as large as a duration can be (near 2^63 ns) are drawn and applied without
/// overflow, so debug and release builds agree; the clocks they hit read as far off as
/// the jump says (clamped at zero).
#[test]
fn the_largest_clock_jumps_do_not_overflow() {
    let nemesis = NemesisOptions {
        clock_jump_rate: 100.0,
        clock_jump_max: SimDuration(i64::MAX as u64),
        ..NemesisOptions::default()
    };
    let mut sim =
        SimBuilder::new(3, 3).nemesis(nemesis).build::<Chatter>(ChatterConfig::new(5, 200));
    sim.run_until(ms(1000));
    assert!(sim.fault_count(FaultKind::Clock) > 50);
    // Some clock jumped forward by more than 2^62 ns.
    let far = (0..3).filter(|&i| sim.local_time(NodeId(i)).0 > 1 << 62).count();
    assert!(far > 0, "no clock was sent far ahead");
}
