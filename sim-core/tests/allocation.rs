//! Nothing is allocated per event in steady state: after a warm-up in which the queue,
//! the slab and the effect buffers reach their working size, a million more events
//! allocate at most a few dozen blocks, none of them per event: a bucket of the radix
//! heap grows the first time simulated time crosses a power of two that sends it more
//! keys than it held before (64 buckets, each doubling a few times in a run). dhat counts
//! every allocation the process makes.

use sim_core::toys::{Broadcast, BroadcastConfig, PingPong, PingPongConfig};
use sim_core::{RunLimits, SimBuilder, SimDuration, Simulation};

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

fn blocks_allocated_in_steady_state<N: sim_core::node::Node>(mut sim: Simulation<N>) -> u64 {
    sim.run(RunLimits { max_events: 200_000, ..RunLimits::default() });
    let before = dhat::HeapStats::get().total_blocks;
    sim.run(RunLimits { max_events: 1_200_000, ..RunLimits::default() });
    assert_eq!(sim.stats().events, 1_200_000);
    dhat::HeapStats::get().total_blocks - before
}

#[test]
fn the_engine_allocates_nothing_per_event_in_steady_state() {
    let _profiler = dhat::Profiler::builder().testing().build();
    // Control: dhat really sees an allocation.
    let before = dhat::HeapStats::get().total_blocks;
    drop(std::hint::black_box(Box::new(7u64)));
    assert_eq!(dhat::HeapStats::get().total_blocks - before, 1);
    let pingpong = SimBuilder::new(1, 2).build::<PingPong>(PingPongConfig { balls: 16 });
    let pingpong = blocks_allocated_in_steady_state(pingpong);
    assert!(pingpong <= 64, "{pingpong} blocks in a million events of ping-pong");
    let broadcast = SimBuilder::new(1, 16)
        .build::<Broadcast>(BroadcastConfig { interval: SimDuration::from_millis(1) });
    let broadcast = blocks_allocated_in_steady_state(broadcast);
    assert!(broadcast <= 64, "{broadcast} blocks in a million events of broadcast");
}
