//! The network's guarantees, observed through the engine: a partition drops exactly the
//! messages that cross it, nothing is delivered across a cut link or to a crashed node,
//! one-way partitions cut one direction, duplication delivers twice, and held messages are
//! delivered in order when released.

mod common;

use common::{Chatter, ChatterConfig, NetWatch, Outcome, check_property, ms};
use proptest::prelude::*;
use sim_core::faults::{FaultAction, Partition};
use sim_core::latency::Latency;
use sim_core::network::{DropReason, LinkOptions};
use sim_core::node::NodeId;
use sim_core::{
    EventView, Observer, Position, RunLimits, SimBuilder, SimDuration, SimTime, StopReason,
};
use std::cell::Cell;

const UNTIL_QUIET: RunLimits =
    RunLimits { until: SimTime::MAX, max_events: 5_000_000, max_pending: u64::MAX };

fn node_set(n: u32) -> impl Strategy<Value = Vec<NodeId>> {
    proptest::collection::vec(any::<bool>(), n as usize)
        .prop_map(|bits| (0..).zip(bits).filter(|&(_, b)| b).map(|(i, _)| NodeId(i)).collect())
}

/// Partitions that name their nodes, so the test's model can follow them. Nodes assigned
/// to group 2 are left unlisted (they form a group of their own).
fn partition(n: u32) -> impl Strategy<Value = Partition> {
    prop_oneof![
        proptest::collection::vec(0..3u32, n as usize).prop_map(|assignment| {
            let members = |g: u32| -> Vec<NodeId> {
                (0..).zip(&assignment).filter(|&(_, &a)| a == g).map(|(i, _)| NodeId(i)).collect()
            };
            Partition::Groups(vec![members(0), members(1)])
        }),
        (node_set(n), node_set(n)).prop_map(|(from, to)| Partition::OneWay { from, to }),
        (0..n).prop_map(|v| Partition::Isolate(Some(NodeId(v)))),
        (0..n).prop_map(|v| Partition::MuteOne(Some(NodeId(v)))),
    ]
}

/// A fault at a time in the first 300 ms (nanosecond-exact, so it also lands between
/// events that share a millisecond).
fn timed<T: std::fmt::Debug>(
    action: impl Strategy<Value = T>,
) -> impl Strategy<Value = (SimTime, T)> {
    (0..300_000_000u64, action).prop_map(|(t, a)| (SimTime(t), a))
}

#[derive(Clone, Debug)]
struct NetCase {
    seed: u64,
    n: u32,
    spread_ms: u64,
    loss: f64,
    schedule: Vec<(SimTime, FaultAction)>,
}

impl NetCase {
    fn builder(&self) -> SimBuilder {
        let latency = Latency::Uniform {
            min: SimDuration::from_millis(1),
            max: SimDuration::from_millis(1 + self.spread_ms),
        };
        let mut builder = SimBuilder::new(self.seed, self.n)
            .links(LinkOptions { latency, loss: self.loss, duplicate: 0.0 })
            .count_links();
        for (at, action) in &self.schedule {
            builder = builder.fault_at(*at, action.clone());
        }
        builder
    }
}

/// Partitions and heals only. One node is always isolated for at least 40 ms while
/// everyone is sending, so every case has messages to drop.
fn partition_case() -> impl Strategy<Value = NetCase> {
    (3..=6u32).prop_flat_map(|n| {
        let action = prop_oneof![
            3 => partition(n).prop_map(FaultAction::Partition),
            2 => Just(FaultAction::Heal),
        ];
        (
            any::<u64>(),
            0..30u64,
            prop_oneof![Just(0.0), Just(0.1)],
            (0..n, 10..150u64, 40..100u64),
            proptest::collection::vec(timed(action), 0..10),
        )
            .prop_map(
                move |(seed, spread_ms, loss, (victim, start, length), mut schedule)| {
                    let isolate = FaultAction::Partition(Partition::Isolate(Some(NodeId(victim))));
                    // No random heal cuts the isolation short.
                    schedule.retain(|(at, _)| *at < ms(start) || *at > ms(start + length));
                    schedule.push((ms(start), isolate));
                    schedule.push((ms(start + length), FaultAction::Heal));
                    NetCase { seed, n, spread_ms, loss, schedule }
                },
            )
    })
}

#[test]
fn a_partition_drops_exactly_the_messages_that_cross_it() {
    // A message (copy) is dropped for a partition iff its link is cut, in the observer's
    // own model built from the fault events, when it is sent or when it arrives.
    let dropped_at_send = Cell::new(0u64);
    let dropped_in_flight = Cell::new(0u64);
    let lossy_cases = Cell::new(0u64);
    check_property(256, partition_case(), |case| {
        let watch = NetWatch::new(case.n);
        let config = ChatterConfig::new(5, 300);
        let mut sim = case.builder().build_observed::<Chatter, _>(config, watch);
        assert_eq!(sim.run(UNTIL_QUIET), StopReason::Quiescent);
        let watch = sim.observer();
        watch.check_accounting(&sim);
        let total = sim.message_stats();
        assert!(total.dropped_partition > 0, "the isolation dropped nothing: {total:?}");
        assert_eq!(total.dropped_node_down, 0);
        if case.loss == 0.0 {
            // Within a side, everything arrives: the only drops are partition drops.
            assert_eq!(total.dropped_loss, 0);
            assert_eq!(total.delivered + total.dropped_partition, total.sent, "{total:?}");
        } else {
            lossy_cases.set(lossy_cases.get() + 1);
            assert!(total.dropped_loss > 0, "loss 0.1 lost nothing: {total:?}");
        }
        for (key, &(_, cut_at_send)) in &watch.sends {
            let fate = watch.fates[key][0];
            if fate.outcome == Outcome::Dropped(DropReason::Partition) {
                let counter = if cut_at_send { &dropped_at_send } else { &dropped_in_flight };
                counter.set(counter.get() + 1);
            }
        }
    });
    // Both ways of crossing a partition really happened.
    assert!(dropped_at_send.get() > 0);
    assert!(dropped_in_flight.get() > 0, "no message was cut in flight");
    assert!(lossy_cases.get() > 0);
}

/// Every kind of process and network fault, at random times.
fn any_fault(n: u32) -> impl Strategy<Value = FaultAction> {
    let node = move || (0..n).prop_map(NodeId);
    prop_oneof![
        3 => node().prop_map(FaultAction::Crash),
        3 => node().prop_map(FaultAction::Restart),
        1 => (node(), 1..60u64).prop_map(|(node, d)| FaultAction::Pause {
            node,
            duration: SimDuration::from_millis(d)
        }),
        3 => partition(n).prop_map(FaultAction::Partition),
        2 => Just(FaultAction::Heal),
        1 => Just(FaultAction::HealAll),
    ]
}

fn fault_case() -> impl Strategy<Value = NetCase> {
    (3..=6u32).prop_flat_map(|n| {
        (
            any::<u64>(),
            0..30u64,
            prop_oneof![Just(0.0), Just(0.1)],
            (0..n, 10..200u64, 20..80u64),
            proptest::collection::vec(timed(any_fault(n)), 0..16),
        )
            .prop_map(
                move |(seed, spread_ms, loss, (victim, at, down_ms), mut schedule)| {
                    // At least one crash with messages in flight to the crashed node.
                    schedule.push((ms(at), FaultAction::Crash(NodeId(victim))));
                    schedule.push((ms(at + down_ms), FaultAction::Restart(NodeId(victim))));
                    NetCase { seed, n, spread_ms, loss, schedule }
                },
            )
    })
}

#[test]
fn nothing_is_delivered_to_a_crashed_node_or_across_a_partition() {
    // `NetWatch` asserts at every delivery that the receiver is up, not paused, and that
    // the link is not cut; at every drop that the reason matches its model.
    let restarts = Cell::new(0u64);
    let pauses = Cell::new(0u64);
    let partition_drops = Cell::new(0u64);
    let node_down_drops = Cell::new(0u64);
    check_property(256, fault_case(), |case| {
        let watch = NetWatch::new(case.n);
        let mut sim =
            case.builder().build_observed::<Chatter, _>(ChatterConfig::new(5, 300), watch);
        assert_eq!(sim.run(UNTIL_QUIET), StopReason::Quiescent);
        sim.observer().check_accounting(&sim);
        let total = sim.message_stats();
        let watch = sim.observer();
        assert!(watch.crashes > 0 && watch.restarts > 0);
        restarts.set(restarts.get() + watch.restarts);
        pauses.set(pauses.get() + watch.pauses);
        partition_drops.set(partition_drops.get() + total.dropped_partition);
        node_down_drops.set(node_down_drops.get() + total.dropped_node_down);
    });
    assert!(node_down_drops.get() > 0, "no message ever reached a crashed node");
    assert!(restarts.get() > 256, "no random restart ever applied");
    assert!(pauses.get() > 0);
    assert!(partition_drops.get() > 0);
}

/// Counts deliveries per link and records their order.
#[derive(Default)]
struct Deliveries {
    log: Vec<(SimTime, NodeId, NodeId, common::ChatMsg)>,
}

impl Observer<Chatter> for Deliveries {
    fn on_event(&mut self, position: Position, _index: u64, event: &EventView<'_, Chatter>) {
        if let EventView::Deliver { from, to, msg, .. } = *event {
            self.log.push((position.time, from, to, *msg));
        }
    }
}

#[test]
fn a_one_way_partition_cuts_one_direction_only() {
    let cut = Partition::OneWay { from: vec![NodeId(0)], to: vec![NodeId(1), NodeId(2)] };
    let mut sim = SimBuilder::new(7, 3)
        .count_links()
        .fault_at(SimTime::ZERO, FaultAction::Partition(cut))
        .build::<Chatter>(ChatterConfig::new(5, 100));
    assert_eq!(sim.run(UNTIL_QUIET), StopReason::Quiescent);
    let net = sim.network();
    for (from, to) in [(0, 1), (0, 2)] {
        let s = net.link_stats(NodeId(from), NodeId(to)).unwrap();
        assert_eq!((s.sent, s.delivered, s.dropped_partition), (20, 0, 20), "{from}->{to}");
    }
    for (from, to) in [(1, 0), (2, 0), (1, 2), (2, 1)] {
        let s = net.link_stats(NodeId(from), NodeId(to)).unwrap();
        assert_eq!((s.sent, s.delivered, s.dropped()), (20, 20, 0), "{from}->{to}");
    }
    // The muted node still hears everyone.
    assert_eq!(sim.node(NodeId(0)).unwrap().inbox.len(), 40);
}

#[test]
fn duplication_delivers_every_message_twice() {
    let link = LinkOptions { latency: Latency::constant_millis(2), loss: 0.0, duplicate: 1.0 };
    let mut sim = SimBuilder::new(3, 4)
        .links(link)
        .build_observed::<Chatter, _>(ChatterConfig::new(5, 100), Deliveries::default());
    assert_eq!(sim.run(UNTIL_QUIET), StopReason::Quiescent);
    let total = sim.message_stats();
    assert_eq!(total.sent, 4 * 3 * 20);
    assert_eq!(total.duplicated, total.sent);
    assert_eq!(total.delivered, 2 * total.sent);
    for id in 0..4 {
        let chatter = sim.node(NodeId(id)).unwrap();
        let mut received: Vec<_> =
            chatter.inbox.iter().map(|&(from, msg, _)| (from, msg)).collect();
        received.sort();
        assert_eq!(received.len(), 2 * 3 * 20);
        for pair in received.chunks(2) {
            assert_eq!(pair[0], pair[1], "every message arrives exactly twice");
        }
    }
}

#[test]
fn held_messages_are_delivered_in_order_after_release() {
    let (a, b) = (NodeId(0), NodeId(1));
    let mut sim = SimBuilder::new(11, 2)
        .count_links()
        .fault_at(ms(20), FaultAction::Hold { from: a, to: b })
        .fault_at(ms(70), FaultAction::Release { from: a, to: b })
        .build_observed::<Chatter, _>(ChatterConfig::new(5, 100), Deliveries::default());
    assert_eq!(sim.run(UNTIL_QUIET), StopReason::Quiescent);
    let log = &sim.observer().log;
    let a_to_b: Vec<_> = log.iter().filter(|e| e.1 == a).collect();
    // Nothing arrives while held; everything arrives, in send order.
    assert!(a_to_b.iter().all(|e| e.0 < ms(20) || e.0 >= ms(70)));
    let seqs: Vec<u64> = a_to_b.iter().map(|e| e.3.seq).collect();
    assert_eq!(seqs, (0..20).collect::<Vec<_>>());
    let released: Vec<_> = a_to_b.iter().filter(|e| e.0 == ms(70)).collect();
    let stats = sim.network().link_stats(a, b).unwrap();
    assert_eq!(stats.held, 10, "one message per 5 ms was held for 50 ms");
    assert_eq!(released.len() as u64, stats.held);
    assert_eq!((stats.sent, stats.delivered, stats.dropped()), (20, 20, 0));
    // The other direction was never held.
    assert_eq!(sim.network().link_stats(b, a).unwrap().held, 0);
    assert!(log.iter().filter(|e| e.1 == b).all(|e| e.0 != ms(70)));
}

#[test]
fn a_partition_drops_held_messages_at_release() {
    // Held messages are checked against the partition when they are finally delivered.
    let (a, b) = (NodeId(0), NodeId(1));
    let mut sim = SimBuilder::new(11, 2)
        .count_links()
        .fault_at(ms(20), FaultAction::Hold { from: a, to: b })
        .fault_at(ms(60), FaultAction::Partition(Partition::Isolate(Some(b))))
        .fault_at(ms(70), FaultAction::Release { from: a, to: b })
        .build::<Chatter>(ChatterConfig::new(5, 100));
    assert_eq!(sim.run(UNTIL_QUIET), StopReason::Quiescent);
    // Sends are at node 0's ticks (a perfect clock reads global time); each arrives 1 ms
    // later. Arrivals before 20 ms are delivered, arrivals in [20 ms, 60 ms) are held and
    // then dropped at release, later ones are cut at send time.
    let sends: Vec<SimTime> =
        sim.node(a).unwrap().ticks.iter().copied().filter(|&t| t < ms(100)).collect();
    let arrives = |t: SimTime| t + SimDuration::from_millis(1);
    let early = sends.iter().filter(|&&t| arrives(t) < ms(20)).count() as u64;
    let held = sends.iter().filter(|&&t| (ms(20)..ms(60)).contains(&arrives(t))).count() as u64;
    let stats = sim.network().link_stats(a, b).unwrap();
    assert_eq!(stats.sent, 20);
    assert_eq!(stats.held, held);
    assert_eq!(held, 8);
    assert_eq!(stats.delivered, early);
    assert_eq!(stats.dropped_partition, 20 - early);
    assert_eq!(sim.node(b).unwrap().inbox.len() as u64, early);
}
