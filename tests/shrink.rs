//! Resolved scenarios (`dsim run --dry-run`), explicit fault schedules, and `dsim shrink`.

use dsim::shrink::{Shrunk, shrink};
use runner::{Registry, RunOutput, RunSettings};
use scenarios::{Scenario, load, load_str};
use sim_core::record::RunRecord;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn example_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/examples").join(format!("{name}.toml"))
}

fn example(name: &str) -> Scenario {
    load(&example_path(name), Registry::bundled().catalogue()).unwrap_or_else(|e| panic!("{e}"))
}

/// `scenario` written as TOML and loaded again.
fn reloaded(scenario: &Scenario) -> Scenario {
    let text = scenario.to_toml("written by a test");
    load_str(Path::new("written.toml"), &text, Registry::bundled().catalogue())
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn run(scenario: &Scenario, seed: u64, bugs: &[String], settings: &RunSettings) -> RunOutput {
    let plan = scenario.plan(seed, bugs);
    (Registry::bundled().get(&scenario.protocol).unwrap().run)(&plan, settings).unwrap()
}

fn record(scenario: &Scenario, seed: u64, bugs: &[String]) -> RunRecord {
    run(scenario, seed, bugs, &RunSettings::default()).record
}

fn dsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dsim")).args(args).output().expect("dsim runs")
}

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn every_bundled_scenario_reads_back_from_its_toml() {
    let mut read_back = 0;
    for entry in std::fs::read_dir(example_path("x").parent().unwrap()).unwrap() {
        let path = entry.unwrap().path();
        // A base that does not load on its own is only a base for `extends`.
        let Ok(scenario) = load(&path, Registry::bundled().catalogue()) else { continue };
        assert_eq!(reloaded(&scenario), scenario, "{}", path.display());
        read_back += 1;
    }
    assert!(read_back >= 35, "only {read_back} scenarios read back");
}

/// Bundled scenarios that draw knobs: options, faults, phases, the cluster's size.
const SWARMS: [&str; 5] = ["raft-swarm", "paxos-swarm", "2pc-swarm", "raft-phases", "raft-sizes"];

#[test]
fn a_resolved_swarm_scenario_runs_as_the_original_seed() {
    for name in SWARMS {
        let scenario = example(name);
        for seed in 0..4 {
            let (plan, resolved) = scenario.plan_resolved(seed, &[]);
            assert!(!plan.drawn.is_empty(), "{name}: a swarm scenario draws");
            let resolved = reloaded(&resolved);
            assert_eq!(resolved.run.seeds, (seed, seed + 1), "{name}: the seed is kept");
            let again = resolved.plan(resolved.run.seeds.0, &[]);
            assert!(again.drawn.is_empty(), "{name} seed {seed}: left to draw: {:?}", again.drawn);
            let (original, plain) = (record(&scenario, seed, &[]), record(&resolved, seed, &[]));
            assert_eq!(plain.trace_hash, original.trace_hash, "{name} seed {seed}");
            assert_eq!((plain.events, plain.verdict), (original.events, original.verdict));
        }
    }
}

#[test]
fn the_dry_run_prints_a_scenario_that_dsim_run_repeats() {
    let dir = scratch("dry_run");
    let swarm = example_path("raft-swarm").display().to_string();
    let dry = dsim(&["run", &swarm, "--seed", "5", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", String::from_utf8_lossy(&dry.stderr));
    let text = String::from_utf8(dry.stdout).unwrap();
    assert!(text.contains("# drawn: network.loss = "), "{text}");
    let resolved = dir.join("seed5.toml");
    std::fs::write(&resolved, &text).unwrap();
    let hash = |output: Output| {
        let out = String::from_utf8(output.stdout).unwrap();
        out.lines().find(|l| l.starts_with("trace hash")).expect("a trace hash").to_owned()
    };
    let original = hash(dsim(&["run", &swarm, "--seed", "5"]));
    assert_eq!(hash(dsim(&["run", resolved.to_str().unwrap()])), original);
    // The header's command is the one that printed it, with its keys and switches.
    let flags = ["--set", "network.loss=0.01", "--bug", "stale_local_read"];
    let dry = dsim(&[&["run", &swarm, "--seed", "5", "--dry-run"][..], &flags].concat());
    let header = String::from_utf8(dry.stdout).unwrap();
    let command = format!(
        "`dsim run {swarm} --seed 5 --bug stale_local_read --set network.loss=0.01 --dry-run`"
    );
    assert!(header.lines().next().unwrap().ends_with(&format!("{command}.")), "{header}");
    // Nothing was simulated: a dry run with a file that does not load fails as a run does.
    let missing = dsim(&["run", "no-such.toml", "--dry-run"]);
    assert_eq!(missing.status.code(), Some(3));
}

#[test]
fn the_faults_that_fired_as_a_fixed_schedule_give_the_same_run() {
    let settings =
        RunSettings { trace: true, history: true, faults: true, ..RunSettings::default() };
    let mut faults = 0;
    for name in SWARMS {
        let scenario = example(name);
        for seed in 0..4 {
            let (plan, resolved) = scenario.plan_resolved(seed, &[]);
            let original = run(&resolved, seed, &[], &settings);
            let explicit = reloaded(&resolved.with_explicit_faults(&plan, &original.faults));
            faults += explicit.faults.len();
            let again = run(&explicit, seed, &[], &settings);
            assert!(again.faults.len() <= original.faults.len() + 1);
            let (a, b) = (&original.record, &again.record);
            assert_eq!((&b.verdict, &b.failure), (&a.verdict, &a.failure), "{name} seed {seed}");
            assert_eq!(b.faults, a.faults, "{name} seed {seed}: the same faults");
            assert_eq!(again.history, original.history, "{name} seed {seed}: the same history");
            // Event for event the same, but for the engine's event counter: the nemesis's
            // own arrival events (some of which find nothing to do) are events of the
            // original run and not of the explicit one, so the counts and the trace hash,
            // which folds them in, differ.
            let strip = |o: &RunOutput| {
                o.trace
                    .iter()
                    .map(|e| (e.time, e.node, e.kind.clone(), e.annotations.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(strip(&again), strip(&original), "{name} seed {seed}: the same trace");
        }
    }
    assert!(faults > 50, "only {faults} faults fired in the runs compared");
}

/// A scenario in phases: its dry run runs as it is, with the same trace hash; `--set`
/// reaches a phase by name or index; and `dsim shrink` cuts its phases.
#[test]
fn a_phased_scenario_dry_runs_takes_sets_and_shrinks() {
    let dir = scratch("phases");
    let phases = example_path("raft-phases").display().to_string();
    let hash = |output: Output| {
        let out = String::from_utf8(output.stdout).unwrap();
        out.lines().find(|l| l.starts_with("trace hash")).expect("a trace hash").to_owned()
    };
    let dry = dsim(&["run", &phases, "--seed", "3", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", String::from_utf8_lossy(&dry.stderr));
    let text = String::from_utf8(dry.stdout).unwrap();
    assert!(text.contains("# drawn: phases.storm.nemesis.partition_rate = "), "{text}");
    assert_eq!(text.matches("[[phases]]").count(), 4, "{text}");
    let resolved = dir.join("seed3.toml");
    std::fs::write(&resolved, &text).unwrap();
    assert_eq!(
        hash(dsim(&["run", resolved.to_str().unwrap()])),
        hash(dsim(&["run", &phases, "--seed", "3"]))
    );

    // The storm two seconds long by name, its nemesis off by index: the run is 10s, and
    // only the storm's one fixed partition happens.
    let set = dsim(&[
        "run",
        &phases,
        "--set",
        "phases.storm.duration=2s",
        "--set",
        "phases.1.nemesis.partition_rate=0",
        "--set",
        "phases.1.nemesis.crash_rate=0",
        "--set",
        "phases.1.nemesis.isolate_new_leader=0",
    ]);
    let out = String::from_utf8(set.stdout).unwrap();
    assert!(out.contains("events ") && out.contains(" over 10.000s simulated"), "{out}");
    assert!(
        out.contains("phase      storm 3s..5s: ") && out.contains("faults     partition=1 "),
        "{out}"
    );
    let missing = dsim(&["run", &phases, "--set", "phases.gale.duration=2s"]);
    assert_eq!(missing.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("`phases` has no table `gale`: it has 4"), "{stderr}");

    let minimal = dir.join("minimal.toml");
    let shrink = dsim(&[
        "shrink",
        &phases,
        "--seed",
        "0",
        "--bug",
        "no_truncate_conflict",
        "-o",
        minimal.to_str().unwrap(),
        "--max-runs",
        "60",
    ]);
    assert_eq!(shrink.status.code(), Some(0), "{}", String::from_utf8_lossy(&shrink.stderr));
    let text = std::fs::read_to_string(&minimal).unwrap();
    // It failed in the storm: the phases after it are cut.
    assert_eq!(text.matches("[[phases]]").count(), 2, "{text}");
    let again = dsim(&["run", minimal.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1), "{}", String::from_utf8_lossy(&again.stdout));

    // A failing seed's report page names the phase the failure happened in.
    let report = dir.join("report");
    let fuzz = dsim(&[
        "fuzz",
        &phases,
        "--count",
        "5",
        "--bug",
        "stale_local_read",
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(fuzz.status.code(), Some(1), "{}", String::from_utf8_lossy(&fuzz.stderr));
    let page = std::fs::read_to_string(report.join("raft-phases-seed-4.html")).unwrap();
    assert!(
        page.contains("<p id=\"failing-phase\">In phase <b>storm</b> (3s to 8s).</p>"),
        "{page}"
    );
    assert!(page.contains("<tr><td><b>storm</b> (the failure's)</td><td>3s to 8s</td>"), "{page}");
}

/// A failing seed of `example` with `bug` on, shrunk within `max_runs` runs.
fn shrunk(example_name: &str, seed: u64, bug: &str, max_runs: u64) -> (RunRecord, Shrunk) {
    let scenario = example(example_name);
    let bugs = vec![bug.to_owned()];
    let original = record(&scenario, seed, &bugs);
    assert!(original.verdict().is_failure(), "{bug}: {example_name} seed {seed} passes");
    let path = example_path(example_name);
    let shrunk = shrink(&Registry::bundled(), &path, &scenario, seed, &bugs, max_runs, &mut |_| {})
        .unwrap_or_else(|e| panic!("{bug}: {e}"));
    (original, shrunk)
}

/// The shrunk scenario, written and read as its file, fails as the original did, with
/// no bug switch given, and is smaller.
fn assert_shrunk(bug: &str, original: &RunRecord, shrunk: &Shrunk) {
    let minimal = reloaded(&shrunk.scenario);
    assert!(minimal.bugs.contains(&bug.to_owned()), "{bug}: the switch is in the file");
    let again = record(&minimal, minimal.run.seeds.0, &[]);
    assert_eq!((again.verdict, &again.failure), (original.verdict, &original.failure), "{bug}");
    assert_eq!(again.events, shrunk.after.events, "{bug}");
    let (before, after) = (shrunk.before, shrunk.after);
    assert!(after.is_smaller_than(&before), "{bug}: {before} -> {after}");
}

#[test]
fn shrinking_keeps_the_failure_and_makes_it_smaller() {
    for (example_name, seed, bug) in [
        ("raft-minority-leader", 0, "stale_local_read"),
        ("pb-steady", 0, "reply_before_backups_ack"),
        ("2pc-partition", 0, "commit_on_vote_timeout"),
    ] {
        let (original, shrunk) = shrunk(example_name, seed, bug, 150);
        assert_shrunk(bug, &original, &shrunk);
        assert!(shrunk.runs <= 150, "{bug}: {} runs", shrunk.runs);
    }
}

#[test]
fn a_linearizability_failure_shrinks_to_the_same_key_and_kind_of_operation() {
    let (_, shrunk) = shrunk("raft-minority-leader", 0, "stale_local_read", 150);
    let (key, op) = shrunk.signature.anomaly.clone().expect("a linearizability anomaly");
    let minimal = reloaded(&shrunk.scenario);
    let again = record(&minimal, minimal.run.seeds.0, &[]);
    assert!(again.message.contains(&format!("key {key} (")), "{}", again.message);
    assert!(again.message.contains(&format!(": {op} ")), "{}", again.message);
    assert!(shrunk.explicit && shrunk.after.faults < shrunk.before.faults, "{:?}", shrunk.after);
}

#[test]
fn shrinking_is_the_same_on_one_thread_and_on_two() {
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let (_, shrunk) = pool.install(|| shrunk("pb-steady", 0, "reply_before_backups_ack", 80));
        (shrunk.scenario.to_toml(""), shrunk.runs)
    };
    assert_eq!(on(1), on(2));
}

#[test]
fn dsim_shrink_writes_a_file_that_fails_with_dsim_run_alone() {
    let dir = scratch("shrink_cli");
    let minimal = dir.join("minimal.toml");
    let file = example_path("raft-minority-leader").display().to_string();
    let out = dsim(&[
        "shrink",
        &file,
        "--seed",
        "0",
        "--bug",
        "stale_local_read",
        "-o",
        minimal.to_str().unwrap(),
        "--max-runs",
        "60",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("shrink: before: ") && stderr.contains("shrink: after: "), "{stderr}");
    assert!(stderr.contains("60 runs"), "{stderr}");
    let run = dsim(&["run", minimal.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1), "{}", String::from_utf8_lossy(&run.stdout));
    let text = std::fs::read_to_string(&minimal).unwrap();
    assert!(text.starts_with("# Shrunk by `dsim shrink "), "{text}");
    // A seed that passes has nothing to shrink.
    let passing = dsim(&["shrink", &file, "--seed", "0"]);
    assert_eq!(passing.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&passing.stderr).contains("passes"));
}

/// Every known-bug switch, the bundled scenario that finds it and how many seeds to search
/// (as the protocols' example tests in runner/tests name them).
const BUGS: &[(&str, &str, u64)] = &[
    ("commit_previous_term", "raft-flapping-leader", 30),
    ("vote_without_persist", "raft-crash-frenzy", 200),
    ("no_truncate_conflict", "raft-leader-isolation", 5),
    ("reply_before_sync", "raft-crash-storm", 50),
    ("stale_local_read", "raft-minority-leader", 5),
    ("fixed_election_timeout", "raft-steady", 5),
    ("commit_index_regresses", "raft-steady", 5),
    ("no_client_sessions", "raft-crash-storm", 5),
    ("minority_quorum_even", "raft-sizes", 10),
    ("promise_without_persist", "paxos-crash-restart", 30),
    ("accept_below_promise", "paxos-leader-isolation", 20),
    ("ignore_accepted_values", "paxos-leader-isolation", 10),
    ("skip_phase1_after_leader_change", "paxos-duplication", 20),
    ("minority_quorum_even", "paxos-dueling-proposers", 10),
    ("non_intersecting_quorums", "paxos-flexible", 40),
    ("backup_reads", "pb-faults", 20),
    ("reply_before_backups_ack", "pb-steady", 5),
    ("keep_divergent_tail", "pb-failover", 20),
    ("reads_without_lease", "pb-failover", 150),
    ("dirty_reads", "chain-partitions", 60),
    ("drop_unacked_on_reconfig", "chain-crashes", 10),
    ("craq_newest_dirty", "chain-craq", 10),
    ("repair_overwrites_newer", "quorum-base", 10),
    ("hint_replayed_twice", "quorum-handoff", 40),
    ("early_lock_release", "2pc-hot-key", 5),
    ("vote_without_durable_prepare", "2pc-participant-crash", 10),
    ("commit_on_vote_timeout", "2pc-partition", 5),
    ("decide_in_doubt_alone", "2pc-participant-crash", 10),
    ("read_without_lock", "2pc-hot-key", 5),
    ("pull_never_retries", "gossip-pull", 3),
    ("no_suspicion", "swim-lossy", 3),
    ("stale_refutation", "swim-lossy", 3),
    ("forget_incarnation", "swim-crashes", 3),
];

#[test]
fn the_sweep_names_every_bug_switch_of_every_protocol() {
    let registry = Registry::bundled();
    for entry in registry.entries() {
        for bug in &entry.bugs {
            // Protocols may share a switch's name: it is the protocol's own switch.
            let found = BUGS.iter().find(|(name, example_name, _)| {
                *name == bug.name && example(example_name).protocol == entry.name
            });
            assert!(found.is_some(), "{}: {} is not in the sweep", entry.name, bug.name);
        }
    }
    let switches: usize = registry.entries().map(|e| e.bugs.len()).sum();
    assert_eq!(switches, BUGS.len());
}

/// Every bug switch's first failing seed, shrunk with `dsim shrink`'s default budget; prints
/// the table of sizes before and after and the time each took. Run it with
/// `cargo test --release --test shrink -- --ignored --nocapture`.
#[test]
#[allow(clippy::disallowed_methods, clippy::disallowed_types)] // shrink time, printed only
#[ignore = "the full sweep: a minute or more in release"]
fn every_bug_switch_shrinks_to_a_smaller_scenario_that_fails_the_same_way() {
    println!(
        "| bug | scenario, seed | faults | nodes | operations | events | run | runs | seconds |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut seconds = Vec::new();
    for &(bug, example_name, bound) in BUGS {
        let scenario = example(example_name);
        let bugs = vec![bug.to_owned()];
        let seed = (0..bound)
            .find(|&seed| record(&scenario, seed, &bugs).verdict().is_failure())
            .unwrap_or_else(|| panic!("{bug}: {example_name} found nothing in {bound} seeds"));
        // Wall time only measured and printed, never asserted.
        let started = std::time::Instant::now();
        let (original, shrunk) = shrunk(example_name, seed, bug, 400);
        let took = started.elapsed().as_secs_f64();
        seconds.push(took);
        assert_shrunk(bug, &original, &shrunk);
        let (b, a) = (shrunk.before, shrunk.after);
        println!(
            "| {bug} | {example_name} {seed} | {} → {} | {} → {} | {} → {} | {} → {} | {} → {} | {} | {took:.2} |",
            b.faults,
            a.faults,
            b.nodes,
            a.nodes,
            b.operations,
            a.operations,
            b.events,
            a.events,
            b.duration,
            a.duration,
            shrunk.runs
        );
    }
    seconds.sort_by(f64::total_cmp);
    println!("median shrink time: {:.2}s", seconds[seconds.len() / 2]);
}
