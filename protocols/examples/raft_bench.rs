//! How fast Raft simulates: seeds per second for a 5-node, 10 s simulated run, in steady
//! state and under a swarm-like fault mix, with and without the online invariant checker.
//!
//! ```text
//! cargo run --release -p protocols --example raft_bench [seeds]
//! ```

use protocols::raft::{Raft, RaftConfig, RaftInvariants, RaftOptions};
use sim_core::client::{ClientOptions, WithClients};
use sim_core::clock::ClockOptions;
use sim_core::disk::DiskOptions;
use sim_core::faults::{DurationRange, FaultAction, NemesisOptions};
use sim_core::kv::{KvOptions, KvWorkload};
use sim_core::latency::Latency;
use sim_core::network::LinkOptions;
use sim_core::node::NodeId;
use sim_core::{SimBuilder, SimDuration, SimTime};

const NODES: u32 = 5;
const SIMULATED: SimTime = SimTime(10_000_000_000);
const HEAL_AT: SimTime = SimTime(8_000_000_000);

fn ms(millis: u64) -> SimDuration {
    SimDuration::from_millis(millis)
}

fn builder(seed: u64, faults: bool) -> SimBuilder<WithClients<KvWorkload>> {
    let clients = ClientOptions { clients: 4, ..ClientOptions::default() };
    let kv = KvOptions { read: 2, write: 2, cas: 1, keys: 3, ..KvOptions::default() };
    let links = LinkOptions {
        latency: Latency::Uniform { min: ms(1), max: ms(3) },
        loss: if faults { 0.01 } else { 0.0 },
        duplicate: if faults { 0.01 } else { 0.0 },
    };
    let b =
        SimBuilder::new(seed, NODES).links(links).workload(clients, KvWorkload::new(kv).unwrap());
    if !faults {
        return b;
    }
    let mut b = b
        .disk(DiskOptions { torn_write_probability: 0.5, corrupt_read_probability: 0.01 })
        .nemesis(NemesisOptions {
            crash_rate: 1.0,
            partition_rate: 1.0,
            pause_rate: 0.5,
            clock_jump_rate: 0.5,
            restart_after: DurationRange::new(ms(50), ms(500)),
            until: HEAL_AT,
            ..NemesisOptions::default()
        })
        .fault_at(HEAL_AT, FaultAction::HealAll);
    for node in 0..NODES {
        let drift_ppm = (f64::from(node) - 2.0) * 10_000.0;
        b = b.clock(NodeId(node), ClockOptions { offset_nanos: 0, drift_ppm });
    }
    b
}

fn config(faults: bool) -> RaftConfig {
    RaftConfig::from(RaftOptions {
        pre_vote: faults,
        check_quorum: faults,
        snapshot_threshold: 100,
        sync_delay: if faults { ms(2) } else { SimDuration::ZERO },
        ..RaftOptions::default()
    })
}

#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // wall-clock timing of a benchmark
fn measure(name: &str, seeds: u64, faults: bool, checked: bool) {
    let start = std::time::Instant::now();
    let (mut events, mut ok, mut violations) = (0u64, 0u64, 0u64);
    for seed in 0..seeds {
        if checked {
            let mut sim = builder(seed, faults)
                .build_observed::<Raft, _>(config(faults), RaftInvariants::default());
            sim.run_until(SIMULATED);
            violations += u64::from(sim.violation().is_some());
            events += sim.stats().events;
            ok += sim.client_stats().ok;
        } else {
            let mut sim = builder(seed, faults).build::<Raft>(config(faults));
            sim.run_until(SIMULATED);
            events += sim.stats().events;
            ok += sim.client_stats().ok;
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let simulated = SIMULATED.as_secs_f64() * seeds as f64;
    println!(
        "{name:34} {seeds:4} seeds in {wall:6.2} s: {:7.1} seeds/s, {:5.2} M events/s, \
         {:7.0} simulated s per s, {:6} events/seed, {:5} ok ops/seed, {violations} violations",
        seeds as f64 / wall,
        events as f64 / wall / 1e6,
        simulated / wall,
        events / seeds,
        ok / seeds,
    );
}

fn main() {
    let seeds = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(100);
    measure("steady, invariants checked", seeds, false, true);
    measure("steady, unobserved", seeds, false, false);
    measure("swarm-like faults, invariants checked", seeds, true, true);
    measure("swarm-like faults, unobserved", seeds, true, false);
}
