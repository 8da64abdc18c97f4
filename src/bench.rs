//! Benchmarks: events per second of the engine on its toy protocols, and the
//! linearizability checker on generated histories. `dsim bench` and `cargo bench` both
//! print these.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // benchmarks read the wall clock

use crate::Failure;
use crate::cli::BenchArgs;
use sim_core::check::generate::{Options, Workload, generate};
use sim_core::check::{DEFAULT_BUDGET, ModelKind, Verdict};
use sim_core::node::NodeId;
use sim_core::toys::{
    Broadcast, BroadcastConfig, Epidemic, EpidemicConfig, PingPong, PingPongConfig,
};
use sim_core::{RunLimits, SimBuilder, SimDuration, Simulation};
use std::time::Instant;

/// Run `sim` for `events` events; prints and returns events per second.
fn measure<N: sim_core::node::Node>(name: &str, mut sim: Simulation<N>, events: u64) -> f64 {
    let start = Instant::now();
    sim.run(RunLimits { max_events: events, ..RunLimits::default() });
    let elapsed = start.elapsed().as_secs_f64();
    let done = sim.stats().events;
    let rate = done as f64 / elapsed;
    println!(
        "{name:<28} {done:>10} events in {elapsed:>7.3}s = {:>6.2} M events/s  ({:.3}s simulated, trace hash {:016x})",
        rate / 1e6,
        sim.now().as_secs_f64(),
        sim.trace_hash()
    );
    rate
}

/// The floor the engine is measured against: the 64-node broadcast as a bare loop over a
/// binary heap of (time, sequence, event) and a match, with none of the engine's
/// bookkeeping (trace hash, clocks, timer slots, network, counters, observers). Returns
/// events per second.
fn bare_broadcast(nodes: u32, events: u64) -> f64 {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum Event {
        Tick { node: u32, round: u64 },
        Deliver { to: u32 },
    }
    const MILLI: u64 = 1_000_000;
    let mut heap = BinaryHeap::new();
    let mut seq = 0u64;
    for node in 0..nodes {
        heap.push(Reverse((
            u64::from(node) * MILLI / u64::from(nodes),
            seq,
            Event::Tick { node, round: 0 },
        )));
        seq += 1;
    }
    let mut received = vec![0u64; nodes as usize];
    let start = Instant::now();
    for _ in 0..events {
        let Some(Reverse((time, _, event))) = heap.pop() else { break };
        match event {
            Event::Tick { node, round } => {
                for to in (0..nodes).filter(|&to| to != node) {
                    heap.push(Reverse((time + MILLI, seq, Event::Deliver { to })));
                    seq += 1;
                }
                heap.push(Reverse((time + MILLI, seq, Event::Tick { node, round: round + 1 })));
                seq += 1;
            }
            Event::Deliver { to } => received[to as usize] += 1,
        }
    }
    std::hint::black_box(&received);
    events as f64 / start.elapsed().as_secs_f64()
}

/// The engine on 2-node ping-pong (one message in flight per ball, every delivery an
/// event) and on a 64-node all-to-all broadcast every simulated millisecond, beside the
/// bare loop of the same broadcast.
pub fn engine(events: u64) {
    let pingpong = SimBuilder::new(1, 2).build::<PingPong>(PingPongConfig { balls: 16 });
    measure("ping-pong, 2 nodes", pingpong, events);
    let broadcast = SimBuilder::new(1, 64)
        .build::<Broadcast>(BroadcastConfig { interval: SimDuration::from_millis(1) });
    let engine = measure("broadcast, 64 nodes", broadcast, events);
    let bare = bare_broadcast(64, events);
    println!(
        "{:<28} {events:>10} events: {:>6.2} M events/s; the engine's broadcast runs at {:.2}x that",
        "bare heap-and-match loop",
        bare / 1e6,
        engine / bare
    );
}

/// The engine at scale: an epidemic broadcast among `nodes` nodes (fanout 3, 8 pushes
/// each, 10 ms apart, over 1 ms links), run until the last message lands. Prints the
/// time to build and to run, events per second, the process's peak memory, and how
/// many rounds the rumour took to reach half, 99 % and all of the nodes, beside log2(n).
pub fn engine_at_scale(nodes: u32) {
    let config = EpidemicConfig { fanout: 3, rounds: 8, interval: SimDuration::from_millis(10) };
    let start = Instant::now();
    let mut sim = SimBuilder::new(1, nodes).build::<Epidemic>(config);
    let built = start.elapsed().as_secs_f64();
    let start = Instant::now();
    sim.run(RunLimits::default());
    let elapsed = start.elapsed().as_secs_f64();
    let events = sim.stats().events;
    let mut infected: Vec<f64> = (0..nodes)
        .filter_map(|i| sim.node(NodeId(i)).and_then(|n| n.infected))
        .map(|(at, _)| at.as_secs_f64() / config.interval.as_secs_f64())
        .collect();
    infected.sort_by(f64::total_cmp);
    let rounds_to = |fraction: f64| {
        let reached = ((f64::from(nodes) * fraction).ceil() as usize).max(1);
        infected.get(reached - 1).map_or("never".to_owned(), |r| format!("{r:.1}"))
    };
    let peak =
        peak_memory().map_or("unknown".to_owned(), |b| format!("{:.0} MiB", b as f64 / 1048576.0));
    println!(
        "epidemic, {nodes} nodes: built in {built:.3}s; {events} events in {elapsed:.3}s = {:.2} M events/s; peak memory {peak}",
        events as f64 / elapsed / 1e6
    );
    println!(
        "  reached {} of {nodes} nodes; rounds to 50 %: {}, 99 %: {}, 100 %: {} (log2 n = {:.1}); trace hash {:016x}",
        infected.len(),
        rounds_to(0.5),
        rounds_to(0.99),
        rounds_to(1.0),
        f64::from(nodes).log2(),
        sim.trace_hash()
    );
}

/// The process's peak resident memory in bytes, where the system says (Linux).
fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The checker on linearizable histories of `operations` operations over 10 keys and 20
/// processes, for the key-value and the cas-register models.
pub fn checker(operations: usize) {
    for (workload, model) in
        [(Workload::KeyValue, ModelKind::KeyValue), (Workload::CasRegister, ModelKind::CasRegister)]
    {
        let mut options = Options::new(1, operations, 10, 20);
        options.workload = workload;
        let history = generate(&options);
        let start = Instant::now();
        let verdict =
            model.check(&history, DEFAULT_BUDGET).expect("a generated history is well formed");
        let elapsed = start.elapsed().as_secs_f64();
        let outcome = match verdict {
            Verdict::Linearizable => "linearizable",
            Verdict::NotLinearizable(_) => "NOT linearizable (a generator bug)",
            Verdict::Unknown { .. } => "unknown",
        };
        println!(
            "check {:<12} {operations:>8} ops, 10 keys, 20 processes: {:>8.1} ms ({outcome})",
            model.name(),
            elapsed * 1e3
        );
    }
}

pub fn bench(args: &BenchArgs) -> Result<u8, Failure> {
    let misplaced = |flag: &str, owner: &str| {
        Failure::input(format!(
            "{flag} is for `dsim bench {owner}`, not `dsim bench {}`",
            args.what
        ))
    };
    match args.what.as_str() {
        "engine" if args.operations.is_some() => return Err(misplaced("--operations", "checker")),
        "engine" => match (args.nodes, args.events) {
            (Some(_), Some(_)) => {
                return Err(Failure::input(
                    "--events and --nodes: the epidemic of --nodes runs until its last message lands; give one of them",
                ));
            }
            (Some(nodes @ 0..2), _) => {
                return Err(Failure::input(format!(
                    "--nodes {nodes}: an epidemic needs at least 2 nodes"
                )));
            }
            (Some(nodes), None) => engine_at_scale(nodes),
            (None, Some(0)) => {
                return Err(Failure::input("--events 0: a benchmark needs at least one event"));
            }
            (None, events) => engine(events.unwrap_or(10_000_000)),
        },
        _ if args.events.is_some() => return Err(misplaced("--events", "engine")),
        _ if args.nodes.is_some() => return Err(misplaced("--nodes", "engine")),
        _ => match args.operations.unwrap_or(100_000) {
            0 => {
                return Err(Failure::input(
                    "--operations 0: a history needs at least one operation",
                ));
            }
            operations => checker(operations),
        },
    }
    Ok(0)
}
