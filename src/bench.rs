//! `dsim bench engine`: events per second of the engine on its toy protocols.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // benchmarks read the wall clock

use crate::Failure;
use crate::cli::BenchArgs;
use sim_core::toys::{Broadcast, BroadcastConfig, PingPong, PingPongConfig};
use sim_core::{RunLimits, SimBuilder, SimDuration, Simulation};
use std::time::Instant;

fn measure<N: sim_core::node::Node>(name: &str, mut sim: Simulation<N>, events: u64) {
    let start = Instant::now();
    sim.run(RunLimits { max_events: events, ..RunLimits::default() });
    let elapsed = start.elapsed().as_secs_f64();
    let done = sim.stats().events;
    println!(
        "{name:<28} {done:>10} events in {elapsed:>7.3}s = {:>6.2} M events/s  ({:.3}s simulated, trace hash {:016x})",
        done as f64 / elapsed / 1e6,
        sim.now().as_secs_f64(),
        sim.trace_hash()
    );
}

pub fn bench(args: &BenchArgs) -> Result<u8, Failure> {
    if args.events == 0 {
        return Err(Failure::input("--events 0: a benchmark needs at least one event"));
    }
    // 2-node ping-pong: one message in flight per ball, each delivery an event.
    let pingpong = SimBuilder::new(1, 2).build::<PingPong>(PingPongConfig { balls: 16 });
    measure("ping-pong, 2 nodes", pingpong, args.events);
    // 64-node all-to-all broadcast every simulated millisecond.
    let broadcast = SimBuilder::new(1, 64)
        .build::<Broadcast>(BroadcastConfig { interval: SimDuration::from_millis(1) });
    measure("broadcast, 64 nodes", broadcast, args.events);
    Ok(0)
}
