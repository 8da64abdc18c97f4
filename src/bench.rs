//! Benchmarks: events per second of the engine on its toy protocols, and the
//! linearizability and transactional checkers on generated histories. `dsim bench` and `cargo bench` both
//! print these.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // benchmarks read the wall clock

use crate::Failure;
use crate::cli::BenchArgs;
use sim_core::check::generate::{Options, Workload, generate};
use sim_core::check::txn::{self, generate as txn_generate};
use sim_core::check::{DEFAULT_BUDGET, ModelKind, Verdict};
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

/// The engine on 2-node ping-pong (one message in flight per ball, every delivery an
/// event) and on a 64-node all-to-all broadcast every simulated millisecond.
pub fn engine(events: u64) {
    let pingpong = SimBuilder::new(1, 2).build::<PingPong>(PingPongConfig { balls: 16 });
    measure("ping-pong, 2 nodes", pingpong, events);
    let broadcast = SimBuilder::new(1, 64)
        .build::<Broadcast>(BroadcastConfig { interval: SimDuration::from_millis(1) });
    measure("broadcast, 64 nodes", broadcast, events);
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

/// The transactional (Elle-style) checker on a strictly serializable list-append history
/// of `transactions` transactions of 20 processes, for strict serializability.
pub fn txn_checker(transactions: usize) {
    let history = txn_generate::generate(&txn_generate::Options::new(1, transactions, 20));
    let start = Instant::now();
    let cpu_start = cpu_time_ns();
    let analysis = txn::check(&history, txn::Consistency::StrictSerializable)
        .expect("a generated history is well formed");
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = cpu_start.zip(cpu_time_ns()).map(|(a, b)| (b - a) as f64 / 1e9);
    let outcome = if analysis.is_valid() { "no anomaly" } else { "ANOMALY (a generator bug)" };
    let on_cpu = cpu.map_or(String::new(), |cpu| {
        format!(" (on the CPU {:.1} ms = {:.0} txn/s)", cpu * 1e3, transactions as f64 / cpu)
    });
    println!(
        "check {:<12} {transactions:>8} txns, 20 processes: {:>8.1} ms = {:.0} txn/s{on_cpu}, {} dependencies ({outcome})",
        "txn (strict)",
        elapsed * 1e3,
        transactions as f64 / elapsed,
        analysis.edges
    );
}

/// Nanoseconds this thread has spent on a CPU, where Linux says (`/proc/thread-self/
/// schedstat`): on a machine shared with other work, wall time overstates the cost.
fn cpu_time_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
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
        "engine" => match args.events.unwrap_or(10_000_000) {
            0 => return Err(Failure::input("--events 0: a benchmark needs at least one event")),
            events => engine(events),
        },
        _ if args.events.is_some() => return Err(misplaced("--events", "engine")),
        _ => match args.operations.unwrap_or(100_000) {
            0 => {
                return Err(Failure::input(
                    "--operations 0: a history needs at least one operation",
                ));
            }
            operations => {
                checker(operations);
                txn_checker(operations);
            }
        },
    }
    Ok(0)
}
