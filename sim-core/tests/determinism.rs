//! Determinism: the same seed gives the same run, event for event; different seeds give
//! different runs; the self-check catches a nondeterministic protocol and names the first
//! divergent event; and pinned trace hashes guard against silent changes to the engine.

mod common;

use common::{Chatter, ChatterConfig, check_property, ms};
use proptest::prelude::*;
use sim_core::client::{ClientOptions, WithClients};
use sim_core::faults::{DurationRange, NemesisOptions};
use sim_core::hash::StableHasher;
use sim_core::kv::KvWorkload;
use sim_core::latency::Latency;
use sim_core::network::LinkOptions;
use sim_core::node::Node;
use sim_core::selfcheck::lockstep;
use sim_core::toys::{Broadcast, BroadcastConfig, Nondeterministic, PingPong, PingPongConfig};
use sim_core::{EventView, Observer, Position, RunLimits, SimBuilder, SimDuration, SimTime};
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};

/// The small broadcast of the 1,000-seed check: 5 nodes, a 10 ms round, 1 to 5 ms of
/// latency, 5% loss and 5% duplication, 120 ms (a few hundred events).
fn small_broadcast(seed: u64) -> SimBuilder {
    let link = LinkOptions {
        latency: Latency::Uniform {
            min: SimDuration::from_millis(1),
            max: SimDuration::from_millis(5),
        },
        loss: 0.05,
        duplicate: 0.05,
    };
    SimBuilder::new(seed, 5).links(link)
}

const ROUND: BroadcastConfig = BroadcastConfig { interval: SimDuration::from_millis(10) };

/// A digest of the observed events that leaves the seed out (the trace hash starts from
/// the seed, so two seeds' hashes differ even when their runs do not).
#[derive(Default)]
struct EventDigest {
    hasher: StableHasher,
    events: u64,
}

impl<N: Node + std::fmt::Debug> Observer<N> for EventDigest {
    fn on_event(&mut self, position: Position, index: u64, event: &EventView<'_, N>) {
        self.events += 1;
        (position.time, index).hash(&mut self.hasher);
        match event {
            EventView::Deliver { from, to, msg, .. } => (1u8, from, to, msg).hash(&mut self.hasher),
            EventView::Timer { node, timer, .. } => (2u8, node, timer).hash(&mut self.hasher),
            other => format!("{other:?}").hash(&mut self.hasher),
        }
    }
}

#[test]
fn a_thousand_broadcast_seeds_each_run_twice_give_identical_hashes() {
    let limits = RunLimits { until: ms(120), max_events: u64::MAX, ..RunLimits::default() };
    let mut hashes = BTreeSet::new();
    let mut digests = BTreeSet::new();
    let (mut events, mut lost, mut duplicated) = (0, 0, 0);
    for seed in 0..1000 {
        let mut first = small_broadcast(seed).build::<Broadcast>(ROUND);
        let mut second =
            small_broadcast(seed).build_observed::<Broadcast, _>(ROUND, EventDigest::default());
        let agreement = lockstep(&mut first, &mut second, limits)
            .unwrap_or_else(|divergence| panic!("seed {seed}: {divergence}"));
        assert_eq!(agreement.events, first.stats().events);
        assert_eq!(first.trace_hash(), second.trace_hash());
        assert_eq!(first.message_stats(), second.message_stats());
        // A third run, by `run` rather than by steps, agrees too.
        let mut third = small_broadcast(seed).build::<Broadcast>(ROUND);
        third.run(limits);
        assert_eq!((third.trace_hash(), third.stats()), (agreement.trace_hash, first.stats()));
        hashes.insert(agreement.trace_hash);
        digests.insert(second.observer().hasher.finish());
        events += agreement.events;
        lost += first.message_stats().dropped_loss;
        duplicated += first.message_stats().duplicated;
    }
    // Different seeds, different runs (not only different starting hashes).
    assert_eq!(hashes.len(), 1000);
    assert_eq!(digests.len(), 1000);
    // A few hundred events each, and the faults really happened.
    assert!((200_000..500_000).contains(&events), "{events} events");
    assert!(lost > 1000 && duplicated > 1000, "lost {lost}, duplicated {duplicated}");
}

#[derive(Clone, Debug)]
struct RunCase {
    n: u32,
    latency: Latency,
    loss: f64,
    duplicate: f64,
    crash_rate: f64,
    pause_rate: f64,
    partition_rate: f64,
    clients: u32,
}

impl RunCase {
    /// The clients (none when `clients` is zero) run the default key-value workload.
    fn builder(&self, seed: u64) -> SimBuilder<WithClients<KvWorkload>> {
        let link = LinkOptions {
            latency: self.latency.clone(),
            loss: self.loss,
            duplicate: self.duplicate,
        };
        let nemesis = NemesisOptions {
            crash_rate: self.crash_rate,
            pause_rate: self.pause_rate,
            partition_rate: self.partition_rate,
            clock_jump_rate: self.pause_rate,
            restart_after: DurationRange::new(
                SimDuration::from_millis(5),
                SimDuration::from_millis(50),
            ),
            pause_duration: DurationRange::new(
                SimDuration::from_millis(5),
                SimDuration::from_millis(50),
            ),
            ..NemesisOptions::default()
        };
        let clients = ClientOptions { clients: self.clients, ..ClientOptions::default() };
        SimBuilder::new(seed, self.n)
            .links(link)
            .nemesis(nemesis)
            .workload(clients, KvWorkload::default())
    }
}

fn run_case() -> impl Strategy<Value = RunCase> {
    let latency = prop_oneof![
        Just(Latency::constant_millis(1)),
        Just(Latency::Uniform { min: SimDuration::ZERO, max: SimDuration::from_millis(10) }),
        Just(Latency::Normal {
            mean: SimDuration::from_millis(5),
            stddev: SimDuration::from_millis(2),
            min: SimDuration::from_millis(1)
        }),
        Just(Latency::LogNormal { median: SimDuration::from_millis(3), sigma: 0.8 }),
        Just(Latency::Pareto {
            scale: SimDuration::from_millis(1),
            shape: 1.5,
            max: SimDuration::from_millis(200)
        }),
    ];
    let probability = prop_oneof![Just(0.0), 0.0..0.3];
    let rate = prop_oneof![Just(0.0), 0.0..30.0];
    (2..=6u32, latency, probability.clone(), probability, rate.clone(), rate.clone(), rate, 0..4u32)
        .prop_map(
            |(n, latency, loss, duplicate, crash_rate, pause_rate, partition_rate, clients)| {
                RunCase {
                    n,
                    latency,
                    loss,
                    duplicate,
                    crash_rate,
                    pause_rate,
                    partition_rate,
                    clients,
                }
            },
        )
}

#[test]
fn the_same_seed_gives_the_same_trace_hash() {
    check_property(64, (any::<u64>(), run_case()), |(seed, case)| {
        let limits = RunLimits { until: ms(500), max_events: 100_000, ..RunLimits::default() };
        let mut first = case.builder(seed).build::<Chatter>(ChatterConfig::new(7, 450));
        let mut second = case.builder(seed).build::<Chatter>(ChatterConfig::new(7, 450));
        first.run(limits);
        second.run(limits);
        assert_eq!(first.trace_hash(), second.trace_hash());
        assert_eq!(first.stats(), second.stats());
        assert_eq!(first.message_stats(), second.message_stats());
        assert_eq!(first.fault_stats(), second.fault_stats());
        assert_eq!(first.history(), second.history());
        assert_eq!(first.now(), second.now());
    });
}

#[test]
fn different_seeds_give_different_trace_hashes_and_different_runs() {
    let seeds = (any::<u64>(), any::<u64>()).prop_filter("two seeds", |(a, b)| a != b);
    check_property(64, (seeds, run_case()), |((a, b), case)| {
        let limits = RunLimits { until: ms(200), max_events: 100_000, ..RunLimits::default() };
        let config = ChatterConfig::new(7, 150);
        let mut first =
            case.builder(a).build_observed::<Chatter, _>(config, EventDigest::default());
        let mut second =
            case.builder(b).build_observed::<Chatter, _>(config, EventDigest::default());
        first.run(limits);
        second.run(limits);
        assert_ne!(first.trace_hash(), second.trace_hash());
        // The runs themselves differ, not just the seeds folded into the hashes: Chatter
        // draws its phase from the node's stream.
        assert_ne!(first.observer().hasher.finish(), second.observer().hasher.finish());
    });
}

/// Describes every observed event, with its index, for locating a divergence by hand.
#[derive(Default)]
struct Described(Vec<(u64, SimTime, String)>);

impl<N: Node + std::fmt::Debug> Observer<N> for Described {
    fn on_event(&mut self, position: Position, index: u64, event: &EventView<'_, N>) {
        self.0.push((index, position.time, format!("{event:?}")));
    }
}

#[test]
fn the_self_check_names_the_first_divergent_event_of_a_nondeterministic_protocol() {
    // Sixteen nodes, each iterating its own randomly-keyed `HashSet` of fifteen peers:
    // two runs send in the same order with odds around 1 in 15!.
    let n = 16;
    let limits = RunLimits { until: ms(10), max_events: u64::MAX, ..RunLimits::default() };
    let mut first =
        SimBuilder::new(9, n).build_observed::<Nondeterministic, _>((), Described::default());
    let mut second =
        SimBuilder::new(9, n).build_observed::<Nondeterministic, _>((), Described::default());
    let divergence =
        lockstep(&mut first, &mut second, limits).expect_err("nondeterminism not caught");
    // The starts (n events at 0 ms) and the first timers (n events at 1 ms) agree; the
    // first sends are delivered at 2 ms, and their order is where the runs part.
    assert!(divergence.index >= 2 * u64::from(n), "{divergence}");
    assert_eq!(divergence.time, ms(2));
    let (a, b) = (divergence.first.clone().unwrap(), divergence.second.clone().unwrap());
    assert_ne!(a, b);
    assert!(a.contains("deliver n0->") && b.contains("deliver n0->"), "{divergence}");
    // Find the first divergence independently: run both on (they were paused just before
    // it) and compare what the observers saw.
    first.run_until(ms(3));
    second.run_until(ms(3));
    let (seen_first, seen_second) = (&first.observer().0, &second.observer().0);
    let at = seen_first.iter().zip(seen_second).position(|(x, y)| x != y).expect("the runs differ");
    assert_eq!(seen_first[at].0, divergence.index);
    assert_eq!(at as u64, divergence.index, "every event was observed");
    assert_eq!(seen_first[at].1, divergence.time);
    // Both descriptions name the same events the observers saw at that index.
    for (described, seen) in [(&a, &seen_first[at].2), (&b, &seen_second[at].2)] {
        let to = seen.split("to: NodeId(").nth(1).and_then(|s| s.split(')').next()).unwrap();
        assert!(described.contains(&format!("deliver n0->n{to} ")), "{described} vs {seen}");
    }
    assert_ne!(first.trace_hash(), second.trace_hash());
    // The same check passes the deterministic broadcast of the same size.
    let mut first = SimBuilder::new(9, n).build::<Broadcast>(ROUND);
    let mut second = SimBuilder::new(9, n).build::<Broadcast>(ROUND);
    let agreement =
        lockstep(&mut first, &mut second, RunLimits { until: ms(100), ..limits }).unwrap();
    assert!(agreement.events > 2000);
}

#[test]
fn pinned_ping_pong_run() {
    let mut sim = SimBuilder::new(1, 2).build::<PingPong>(PingPongConfig { balls: 3 });
    sim.run_until(SimTime(1_000_000_000));
    // Two starts, then each of 3 balls crosses once per millisecond for a second.
    assert_eq!(sim.stats().events, 3002);
    assert_eq!(sim.message_stats().delivered, 3000);
    assert_eq!(sim.trace_hash(), 0x915a0cbdfae959e8);
}

#[test]
fn pinned_broadcast_run() {
    let mut sim = SimBuilder::new(42, 8).build::<Broadcast>(ROUND);
    sim.run_until(SimTime(1_000_000_000));
    // Eight starts, 100 rounds of 8 timers, each broadcasting to 7 peers.
    assert_eq!(sim.stats().events, 6408);
    assert_eq!(sim.stats().timers_fired, 800);
    assert_eq!(sim.message_stats().delivered, 5600);
    assert_eq!(sim.trace_hash(), 0xde43684161afab4f);
}
