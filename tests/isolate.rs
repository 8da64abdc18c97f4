//! `dsim fuzz --isolate`: a seed whose handler overflows its stack, aborts, panics while
//! panicking, fails an allocation or loops forever costs that seed, not the campaign.
//!
//! The misbehaving protocol is registered only here. This test binary has no harness
//! (`harness = false`): run with `DSIM_ISOLATE_TEST_AS_DSIM` set it *is* dsim, with the
//! bundled protocols and this one, so the child processes an isolated campaign starts (the
//! same executable) know the protocol too, as a user's own binary built on
//! `dsim::main_with` would. A hidden registry entry in the shipped binary would have put a
//! crashing protocol in front of every user; a crash inside the test harness's own process
//! would have killed the harness.

use runner::Registry;
use sim_core::SimDuration;
use sim_core::engine::NoObserver;
use sim_core::kv::KvWorkload;
use sim_core::node::{Context, Node, NodeId};
use sim_core::protocol::{NoOptions, Protocol};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const AS_DSIM: &str = "DSIM_ISOLATE_TEST_AS_DSIM";

sim_core::declare_bugs! {
    /// What a node does on the tick that draws the fatal number.
    pub struct Misbehaviour {
        /// A plain panic (caught in the process, with or without --isolate).
        panic,
        /// `std::process::abort()`.
        abort,
        /// Unbounded recursion, until the stack overflows.
        stack_overflow,
        /// A panic whose unwinding panics again (Rust then aborts).
        double_panic,
        /// An allocation that failed, as when memory runs out (Rust then aborts).
        alloc_failure,
        /// A handler that never returns.
        infinite_loop,
        /// Every message is sent on to every peer, from the start (not a crash: the
        /// messages in flight double every hop, until run.max_pending_events stops it).
        rebroadcast,
    }
}

/// Each node ticks every 10ms; on some seeds one tick draws the fatal number, and the
/// node misbehaves as its switch says.
struct Misbehaving {
    how: Misbehaviour,
}

/// Drops by panicking: a second panic if it is dropped while unwinding.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("a second panic, while unwinding the first");
    }
}

fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 32]);
    if std::hint::black_box(depth) == u64::MAX {
        return frame[0];
    }
    recurse(depth + 1).wrapping_add(frame[1])
}

impl Misbehaviour {
    /// Whether a switch that misbehaves on the fatal tick is on.
    fn strikes(self) -> bool {
        self.panic
            || self.abort
            || self.stack_overflow
            || self.double_panic
            || self.alloc_failure
            || self.infinite_loop
    }

    fn strike(self, node: NodeId) {
        if self.abort {
            std::process::abort();
        }
        if self.stack_overflow {
            std::hint::black_box(recurse(0));
        }
        if self.double_panic {
            let _guard = PanicsOnDrop;
            panic!("node {node} drew the fatal number");
        }
        if self.alloc_failure {
            std::alloc::handle_alloc_error(std::alloc::Layout::new::<[u8; 1 << 20]>());
        }
        if self.infinite_loop {
            loop {
                std::hint::black_box(node);
            }
        }
        panic!("node {node} drew the fatal number");
    }
}

impl Node for Misbehaving {
    type Config = Misbehaviour;
    type Msg = ();
    type Timer = ();
    type Workload = KvWorkload;

    fn start(how: &Misbehaviour, ctx: &mut Context<'_, Self>) -> Self {
        ctx.set_timer(SimDuration::from_millis(10), ());
        if how.rebroadcast {
            ctx.broadcast(());
        }
        Misbehaving { how: *how }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, _from: NodeId, _msg: ()) {
        if self.how.rebroadcast {
            ctx.broadcast(());
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: ()) {
        if ctx.rng().below(1000) == 0 && self.how.strikes() {
            self.how.strike(ctx.id());
        }
        ctx.set_timer(SimDuration::from_millis(10), ());
    }
}

impl Protocol for Misbehaving {
    const NAME: &'static str = "misbehaving";
    const SUMMARY: &'static str = "Crashes its process on some seeds (a test protocol)";
    type Invariants = NoObserver;
    type Options = NoOptions;
    type Bugs = Misbehaviour;

    fn configure(_options: NoOptions, bugs: Misbehaviour) -> Result<Misbehaviour, String> {
        Ok(bugs)
    }
}

fn main() {
    if std::env::var_os(AS_DSIM).is_some() {
        let registry = Registry::bundled().with::<Misbehaving>();
        std::process::exit(i32::from(dsim::main_with(registry)));
    }
    let tests: [(&str, fn()); 5] = [
        ("reports_are_those_of_a_campaign_in_one_process", reports_are_those_of_one_process),
        ("a_crashing_seed_costs_that_seed", a_crashing_seed_costs_that_seed),
        ("a_hanging_seed_is_killed_and_reported", a_hanging_seed_is_killed_and_reported),
        ("replay_of_a_panicking_seed", replay_of_a_panicking_seed),
        (
            "messages_that_multiply_stop_at_the_queue_bound",
            messages_that_multiply_stop_at_the_queue_bound,
        ),
    ];
    for (name, test) in tests {
        println!("test {name} ...");
        test();
        println!("test {name} ... ok");
    }
}

fn dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("isolate");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn scenario() -> PathBuf {
    let path = dir().join("misbehaving.toml");
    std::fs::write(
        &path,
        "[protocol]\nname = \"misbehaving\"\n[cluster]\nnodes = 3\n[checks]\nliveness_bound = \"none\"\n[run]\nduration = \"1s\"\n",
    )
    .unwrap();
    path
}

fn dsim(args: &[&str]) -> Output {
    Command::new(std::env::current_exe().unwrap()).env(AS_DSIM, "1").args(args).output().unwrap()
}

/// `fuzz ARGS --csv --json` (with `--isolate` when `isolate`): the exit code, the CSV
/// and JSON reports, and what went to the terminal.
fn campaign(args: &[&str], isolate: bool, tag: &str) -> (i32, String, String, String) {
    let csv = dir().join(format!("{tag}.csv"));
    let json = dir().join(format!("{tag}.json"));
    let mut all: Vec<&str> = vec!["fuzz"];
    all.extend(args);
    all.extend(["--csv", csv.to_str().unwrap(), "--json", json.to_str().unwrap(), "--jobs", "2"]);
    if isolate {
        all.push("--isolate");
    }
    let out = dsim(&all);
    let terminal =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (
        out.status.code().expect("an exit code, not a signal"),
        std::fs::read_to_string(csv).unwrap(),
        std::fs::read_to_string(json).unwrap(),
        terminal,
    )
}

/// The seeds of the CSV report's rows whose verdict and failure are `verdict_failure`
/// (e.g. "safety,panic").
fn seeds_of(csv: &str, verdict_failure: &str) -> Vec<u64> {
    csv.lines()
        .skip(1)
        .filter(|row| row.contains(&format!(",{verdict_failure},")))
        .map(|row| row.split(',').nth(2).unwrap().parse().unwrap())
        .collect()
}

fn reports_are_those_of_one_process() {
    let scenario = scenario();
    for (args, tag) in [
        (vec!["raft-steady", "--count", "6"], "raft"),
        (vec![scenario.to_str().unwrap(), "--count", "24", "--bug", "panic"], "panic"),
    ] {
        let whole = campaign(&args, false, &format!("{tag}-whole"));
        let isolated = campaign(&args, true, &format!("{tag}-isolated"));
        assert_eq!(whole.0, isolated.0, "{}", isolated.3);
        assert_eq!(whole.1, isolated.1, "CSV reports differ");
        assert_eq!(whole.2, isolated.2, "JSON reports differ");
    }
    let (code, csv, ..) = campaign(
        &[scenario.to_str().unwrap(), "--count", "24", "--bug", "panic"],
        true,
        "panic-again",
    );
    assert_eq!(code, 1);
    // Sometimes: some seeds panic and some pass, so the comparison above saw both.
    assert!(
        !seeds_of(&csv, "safety,panic").is_empty() && !seeds_of(&csv, "pass,").is_empty(),
        "{csv}"
    );
}

fn a_crashing_seed_costs_that_seed() {
    let scenario = scenario();
    let file = scenario.to_str().unwrap();
    let (_, panicked, ..) = campaign(&[file, "--count", "24", "--bug", "panic"], false, "panicked");
    let fatal = seeds_of(&panicked, "safety,panic");
    assert!(fatal.len() > 1 && fatal.len() < 24, "{panicked}");
    // 24 seeds on 2 jobs go to the children 3 at a time: some crash is not the last of
    // its chunk, so the seeds after it in the chunk must run in a new child.
    assert!(fatal.iter().any(|s| s % 3 != 2), "{fatal:?}");
    for (bug, said) in [
        ("abort", "signal 6"),
        ("stack_overflow", "thread 'main' has overflowed its stack"),
        ("double_panic", "while unwinding the first"),
        ("alloc_failure", "memory allocation of 1048576 bytes failed"),
    ] {
        let (code, csv, json, terminal) =
            campaign(&[file, "--count", "24", "--bug", bug], true, bug);
        assert_eq!(code, 1, "--bug {bug}: {terminal}");
        assert_eq!(csv.lines().count(), 25, "--bug {bug}: every seed has its row: {csv}");
        assert_eq!(seeds_of(&csv, "safety,crash"), fatal, "--bug {bug}: {csv}");
        assert_eq!(seeds_of(&csv, "pass,").len(), 24 - fatal.len(), "--bug {bug}: {csv}");
        let crash_rows: Vec<&str> = csv.lines().filter(|r| r.contains(",safety,crash,")).collect();
        assert!(crash_rows.iter().all(|r| r.contains(said)), "--bug {bug}: {csv}");
        assert!(json.contains("\"failed\": ") && json.contains("\"interrupted\": false"), "{json}");
        // The terminal names the first crashing seed with its replay command.
        let replay = format!("dsim replay {file} --seed {} --bug {bug}", fatal[0]);
        assert!(terminal.contains(&replay), "--bug {bug}: {terminal}");
        // The passing seeds' rows are those of a campaign in which nothing crashes.
        let passes = |csv: &str| -> Vec<String> {
            csv.lines().filter(|r| r.contains(",pass,")).map(|r| r.replace(bug, "panic")).collect()
        };
        assert_eq!(passes(&csv), passes(&panicked), "--bug {bug}");
    }
}

fn a_hanging_seed_is_killed_and_reported() {
    let scenario = scenario();
    let file = scenario.to_str().unwrap();
    let (_, panicked, ..) = campaign(&[file, "--count", "24", "--bug", "panic"], false, "panicked");
    let first = seeds_of(&panicked, "safety,panic")[0];
    let seeds = format!("0..{}", first + 2);
    let (code, csv, _, terminal) = campaign(
        &[file, "--seeds", &seeds, "--bug", "infinite_loop", "--seed-timeout", "1"],
        true,
        "hang",
    );
    assert_eq!(code, 1, "{terminal}");
    let hung = seeds_of(&csv, "safety,hang");
    assert!(hung.contains(&first), "{csv}");
    assert_eq!(
        hung,
        seeds_of(&panicked, "safety,panic")
            .into_iter()
            .filter(|&s| s < first + 2)
            .collect::<Vec<_>>()
    );
    assert!(csv.contains("no result after 1 s of wall clock (--seed-timeout)"), "{csv}");
    assert_eq!(csv.lines().count() as u64, first + 3, "{csv}");
}

fn replay_of_a_panicking_seed() {
    let scenario = scenario();
    let file = scenario.to_str().unwrap();
    let (_, panicked, ..) = campaign(&[file, "--count", "24", "--bug", "panic"], false, "panicked");
    let seed = seeds_of(&panicked, "safety,panic")[0].to_string();
    let trace = dir().join("panic-trace.jsonl");
    let out = dsim(&[
        "replay",
        file,
        "--seed",
        &seed,
        "--bug",
        "panic",
        "--check-determinism",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("drew the fatal number"), "{stdout}");
    // The trace keeps the events up to the panic: the timers that fired before it.
    let trace = std::fs::read_to_string(trace).unwrap();
    assert!(trace.lines().count() > 3, "{trace}");
}

fn messages_that_multiply_stop_at_the_queue_bound() {
    let scenario = scenario();
    let out = dsim(&[
        "run",
        scenario.to_str().unwrap(),
        "--bug",
        "rebroadcast",
        "--set",
        "run.max_pending_events=100000",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("event_queue"), "{stdout}");
    assert!(stdout.contains("more than 100000 events were pending at"), "{stdout}");
    assert!(stdout.contains("raise run.max_pending_events"), "{stdout}");
}
