//! Benchmarks: events per second of the engine on its toy protocols, and the
//! linearizability and transactional checkers on generated histories. `dsim bench` and `cargo bench` both
//! print these.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // benchmarks read the wall clock

use crate::Failure;
use crate::check::{open_history, parse_model, parse_operations, run_model};
use crate::cli::BenchArgs;
use sim_core::check::generate::{Options, Workload, generate, with_impossible_read};
use sim_core::check::txn::{self, generate as txn_generate};
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

/// Starts the peak of [`peak_memory`] again from what is resident now (Linux 4.0 and
/// later); elsewhere the peak stays the process's.
fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// `123 MiB`, or `unknown`.
fn describe_peak() -> String {
    peak_memory().map_or("unknown".to_owned(), |b| format!("{:.0} MiB", b as f64 / 1048576.0))
}

/// Nanoseconds all of the process's threads have spent on a CPU (the checker runs keys on
/// every core), where Linux says (`/proc/self/task/*/schedstat`).
fn process_cpu_ns() -> Option<u64> {
    // A running thread's count is brought up to date when it is scheduled: yield first, so
    // that this thread's is exact rather than a tick behind (the checker's idle workers'
    // already are).
    std::thread::yield_now();
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let text = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// One check timed: what it returns, CPU milliseconds (all threads), wall milliseconds,
/// and the peak memory while it ran (what was resident before included).
fn timed<T>(check: impl FnOnce() -> T) -> (T, Option<f64>, f64, String) {
    reset_peak_memory();
    let cpu_start = process_cpu_ns();
    let start = Instant::now();
    let verdict = check();
    let wall = start.elapsed().as_secs_f64() * 1e3;
    let cpu = cpu_start.zip(process_cpu_ns()).map(|(a, b)| b.saturating_sub(a) as f64 / 1e6);
    (verdict, cpu, wall, describe_peak())
}

/// A verdict in a few words.
fn short_verdict(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Linearizable => "linearizable".to_owned(),
        Verdict::NotLinearizable(violation) => match &violation.key {
            Some(key) => format!("NOT linearizable (key {key})"),
            None => "NOT linearizable".to_owned(),
        },
        Verdict::Unknown { .. } => "unknown (budget exhausted)".to_owned(),
    }
}

fn describe_cpu(cpu: Option<f64>) -> String {
    cpu.map_or("? ms".to_owned(), |ms| format!("{ms:.1} ms"))
}

/// History files, each read, parsed and checked: operations, verdict, CPU and wall time of
/// the check (parsing apart), and peak memory.
fn checker_files(args: &BenchArgs) -> Result<(), Failure> {
    let model = parse_model(args.model.as_deref().unwrap_or(ModelKind::CasRegister.name()))?;
    let budget = args.budget.unwrap_or(DEFAULT_BUDGET);
    let mut total_cpu = Some(0.0);
    for path in &args.files {
        let file = path.display().to_string();
        let start = Instant::now();
        let (history, positions) = parse_operations(open_history(path, None, u64::MAX)?)?;
        let parsed = start.elapsed().as_secs_f64() * 1e3;
        let (verdict, cpu, wall, peak) =
            timed(|| run_model(&file, model, &history, &positions, budget, args.no_partition));
        let verdict = verdict?;
        total_cpu = total_cpu.zip(cpu).map(|(a, b)| a + b);
        println!(
            "{file}: {} operations, {}: check {} on the CPU ({wall:.1} ms wall), parse {parsed:.1} ms, peak memory {peak}",
            history.operations(),
            short_verdict(&verdict),
            describe_cpu(cpu)
        );
    }
    println!(
        "{} files, {} model{}: checks took {} on the CPU in all",
        args.files.len(),
        model.name(),
        if args.no_partition { " over the whole map" } else { "" },
        describe_cpu(total_cpu)
    );
    Ok(())
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

/// The checker on one key of a cas-register with 50, 100 and 200 concurrent clients and
/// distinct written values (the polynomial path), as generated and with one impossible
/// read: verdict, CPU time and peak memory of each check.
pub fn many_clients(operations: usize) {
    for clients in [50, 100, 200] {
        let options = Options {
            workload: Workload::CasRegister,
            info_percent: 1,
            ..Options::new(1, operations, 1, clients)
        };
        let history = generate(&options);
        let corrupted = with_impossible_read(&history, 1);
        for (name, history) in
            [("as generated", Some(&history)), ("one impossible read", corrupted.as_ref())]
        {
            let Some(history) = history else { continue };
            let (verdict, cpu, wall, peak) = timed(|| {
                ModelKind::CasRegister
                    .check(history, DEFAULT_BUDGET)
                    .expect("a generated history is well formed")
            });
            println!(
                "check cas-register {operations:>8} ops, 1 key, {clients:>3} clients, {name:<19}: {:<26} {} on the CPU ({wall:.1} ms wall), peak memory {peak}",
                short_verdict(&verdict),
                describe_cpu(cpu)
            );
        }
    }
}

/// The transactional (Elle-style) checker on a strictly serializable list-append history
/// of `transactions` transactions of 20 processes, for strict serializability.
pub fn txn_checker(transactions: usize) {
    let history = txn_generate::generate(&txn_generate::Options::new(1, transactions, 20));
    let start = Instant::now();
    let cpu_start = process_cpu_ns();
    let analysis = txn::check(&history, txn::Consistency::StrictSerializable)
        .expect("a generated history is well formed");
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = cpu_start.zip(process_cpu_ns()).map(|(a, b)| (b - a) as f64 / 1e9);
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

pub fn bench(args: &BenchArgs) -> Result<u8, Failure> {
    let misplaced = |flag: &str, owner: &str| {
        Failure::input(format!(
            "{flag} is for `dsim bench {owner}`, not `dsim bench {}`",
            args.what
        ))
    };
    let checker_only = [
        ("--operations", args.operations.is_some()),
        ("FILE", !args.files.is_empty()),
        ("--model", args.model.is_some()),
        ("--no-partition", args.no_partition),
        ("--budget", args.budget.is_some()),
    ];
    let for_files = [
        ("--model", args.model.is_some()),
        ("--no-partition", args.no_partition),
        ("--budget", args.budget.is_some()),
    ];
    match args.what.as_str() {
        "engine" if let Some((flag, _)) = checker_only.iter().find(|(_, given)| *given) => {
            return Err(misplaced(flag, "checker"));
        }
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
        _ if !args.files.is_empty() && args.operations.is_some() => {
            return Err(Failure::input(
                "--operations sizes the generated histories; with FILEs, the files are timed instead",
            ));
        }
        _ if !args.files.is_empty() => checker_files(args)?,
        _ if let Some((flag, _)) = for_files.iter().find(|(_, given)| *given) => {
            return Err(Failure::input(format!(
                "{flag} is for the FILEs of `dsim bench checker FILE...`; give history files to time"
            )));
        }
        _ => match args.operations.unwrap_or(100_000) {
            0 => {
                return Err(Failure::input(
                    "--operations 0: a history needs at least one operation",
                ));
            }
            operations => {
                checker(operations);
                many_clients(operations);
                txn_checker(operations);
            }
        },
    }
    Ok(0)
}
