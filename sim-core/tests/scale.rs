//! The engine scales with n, not n²: building a simulation allocates a bounded number of
//! bytes per node, the same at 100,000 nodes as at 1,000, and an epidemic among 100,000
//! nodes runs to the last node with the same events on every run. dhat counts every
//! allocation the process makes.

use sim_core::node::NodeId;
use sim_core::toys::{Epidemic, EpidemicConfig};
use sim_core::{RunLimits, SimBuilder, SimDuration, Simulation, StopReason};

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

const CONFIG: EpidemicConfig =
    EpidemicConfig { fanout: 3, rounds: 8, interval: SimDuration::from_millis(10) };

/// The simulation of `nodes` nodes, and the bytes live once it is built.
fn built(nodes: u32) -> (Simulation<Epidemic>, u64) {
    let before = dhat::HeapStats::get().curr_bytes as u64;
    let sim = SimBuilder::new(5, nodes).build::<Epidemic>(CONFIG);
    (sim, dhat::HeapStats::get().curr_bytes as u64 - before)
}

#[test]
fn building_and_running_costs_o_n() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let (small, small_bytes) = built(1_000);
    drop(small);
    let (mut sim, bytes) = built(100_000);
    let (per_node_small, per_node) = (small_bytes / 1_000, bytes / 100_000);
    // The dense tables cost 105 MB at 1,000 nodes and grew with n².
    assert!(per_node <= 1_024, "{per_node} bytes per node at 100,000 nodes");
    assert!(per_node <= per_node_small + 64, "{per_node} vs {per_node_small} bytes per node");

    assert_eq!(sim.run(RunLimits::default()), StopReason::Quiescent);
    let reached = (0..100_000).filter(|&i| sim.node(NodeId(i)).unwrap().infected.is_some());
    assert_eq!(reached.count(), 100_000, "the rumour reaches every node");
    let messages = sim.message_stats();
    assert_eq!(messages.sent, 100_000 * 3 * 8, "every node pushes 8 times to 3 peers");
    assert_eq!(messages.delivered, messages.sent);
    assert_eq!((sim.stats().events, sim.trace_hash()), (3_300_000, 0xb876_b507_fe69_b2d7));
    // Running did not grow the heap by more than the queue's few events per node.
    let peak = dhat::HeapStats::get().max_bytes as u64;
    assert!(peak / 100_000 <= 2_048, "{} bytes per node at the peak", peak / 100_000);
}
