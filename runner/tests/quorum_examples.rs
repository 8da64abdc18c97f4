//! The bundled quorum-store scenarios, run as `dsim fuzz` runs them. The configurations
//! that promise linearizability (R + W > N with strict quorums and clocks that agree:
//! `quorum-base`, `quorum-handoff`) pass every seed; those that do not (`quorum-weak`
//! R + W <= N, `quorum-skew` last-writer-wins under clock skew, `quorum-sloppy`,
//! `quorum-partitions` retries re-stamped by a second coordinator) declare
//! `expect = "violation"` and must show a linearizability violation within a stated
//! number of seeds. Each known-bug switch is found by a named scenario.

mod common;

use common::{agreed_events, counter, faults, first_failure, reached, run, scenario, sweep};
use runner::Registry;
use sim_core::protocol::OptionValue;
use sim_core::record::{RunRecord, Verdict};

const SEEDS: u64 = common::seeds::QUORUM;

fn failures(name: &str, records: &[RunRecord]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.verdict() != Verdict::Pass)
        .map(|r| format!("{name} seed {}: {} {}", r.seed, r.failure, r.message))
        .collect()
}

#[test]
fn the_promising_configurations_pass_every_seed() {
    for name in ["quorum-base", "quorum-handoff", "quorum-merkle"] {
        let scenario = scenario(name);
        assert!(!scenario.checks.expect_violation, "{name} expects a violation");
        let records = sweep(&scenario, SEEDS);
        let failed = failures(name, &records);
        assert!(failed.is_empty(), "{}", failed.join("\n"));
        assert!(records.iter().all(|r| r.ops_ok > 0), "{name}: a seed with no successful op");
        let sometimes = |what: &str, n: u64| assert!(n > 0, "{name}: no {what} in {SEEDS} seeds");
        sometimes("blocking read repair", reached(&records, "read_repair_blocking"));
        if name == "quorum-handoff" {
            sometimes("partition", faults(&records, "partition"));
            sometimes("stand-in", reached(&records, "stand_in_used"));
            sometimes("hint handed off", reached(&records, "hint_handed_off"));
        }
    }
}

/// Each configuration that does not promise linearizability, the most seeds it may take
/// to show a violation (the first seed that does today is in the comment).
const WEAK: &[(&str, u64)] = &[
    ("quorum-weak", 10),       // seed 1
    ("quorum-skew", 5),        // seed 0
    ("quorum-sloppy", 5),      // seed 0
    ("quorum-partitions", 30), // seed 0
];

#[test]
fn the_weak_configurations_are_caught_breaking_linearizability() {
    for &(name, bound) in WEAK {
        let scenario = scenario(name);
        assert!(scenario.checks.expect_violation, "{name} does not declare expect = violation");
        let found = (0..bound)
            .map(|seed| run(&scenario, seed, &[]))
            .find(|r| r.verdict() == Verdict::Safety)
            .unwrap_or_else(|| panic!("{name}: no violation in {bound} seeds"));
        assert_eq!(found.failure, "linearizability", "{name} seed {}", found.seed);
    }
    // The sloppy quorum really stood in for cut-off replicas.
    let records: Vec<RunRecord> = (0..5).map(|s| run(&scenario("quorum-sloppy"), s, &[])).collect();
    assert!(reached(&records, "stand_in_used") > 0);
}

/// Each known-bug switch, the scenario that finds it, the most seeds it may take (the
/// first seed that finds it today is in the comment), and the check that fails.
const BUGS: &[(&str, &str, u64, &str)] = &[
    ("repair_overwrites_newer", "quorum-base", 10, "versions_monotone"), // seed 0
    ("hint_replayed_twice", "quorum-handoff", 40, "linearizability"),    // seed 6
];

#[test]
fn every_bug_switch_is_found_by_its_named_scenario() {
    let names: Vec<&str> =
        Registry::bundled().get("quorum").unwrap().bugs.iter().map(|b| b.name).collect();
    assert_eq!(names.len(), BUGS.len(), "a bug switch without a test");
    for &(bug, example, bound, check) in BUGS {
        let record = first_failure(example, bug, bound);
        assert_eq!(record.failure, check, "{bug} seed {}: {}", record.seed, record.message);
        assert_eq!(record.verdict(), Verdict::Safety);
        let clean = run(&scenario(example), record.seed, &[]);
        assert_eq!(clean.verdict(), Verdict::Pass, "{bug} seed {}", record.seed);
    }
}

#[test]
fn runs_agree_event_for_event() {
    for (name, seed) in [("quorum-handoff", 3), ("quorum-sloppy", 4)] {
        let events = agreed_events(name, seed);
        assert!(events > 1_000, "{name}: {events} events");
    }
}

/// Quorums larger than N, an unknown read-repair mode, and a sloppy quorum without
/// hinted handoff are refused before the run, saying what would be valid.
#[test]
fn bad_options_are_refused() {
    let registry = Registry::bundled();
    let entry = registry.get("quorum").unwrap();
    for (option, value, message) in [
        ("read_quorum", OptionValue::Int(4), "read_quorum must be from 1 to replicas (3)"),
        ("read_repair", OptionValue::Str("sometimes".into()), "\"blocking\", \"async\" or \"off\""),
        ("sloppy_quorum", OptionValue::Bool(true), "needs hinted_handoff"),
        ("anti_entropy", OptionValue::Str("gossip".into()), "\"push\" or \"merkle\""),
        ("replicas", OptionValue::Int(6), "N must be at most cluster.nodes"),
    ] {
        let mut plan = scenario("quorum-base").plan(0, &[]);
        plan.options.insert(option.to_string(), value);
        match (entry.run)(&plan, &runner::RunSettings::default()) {
            Err(refused) => assert!(refused.contains(message), "{option}: {refused}"),
            Ok(output) => panic!("{option}: ran, {:?}", output.record.verdict()),
        }
    }
}

/// Without anti-entropy and read repair, a replica that a lost message cut off from the
/// last write of a key keeps its old value after the heal: the key-by-key convergence check sees it. With
/// them (the scenario as bundled), every replica of every key agrees.
#[test]
fn convergence_is_checked_key_by_key() {
    let registry = Registry::bundled();
    let entry = registry.get("quorum").unwrap();
    let convergence = |r: &RunRecord| {
        r.checks.iter().find(|(name, _)| name == "convergence").map(|(_, o)| o.clone())
    };
    let mut diverged = 0;
    for seed in 0..20 {
        let mut plan = scenario("quorum-partitions").plan(seed, &[]);
        plan.options.insert(
            "anti_entropy_interval".into(),
            OptionValue::Duration(sim_core::SimDuration::ZERO),
        );
        plan.options.insert("read_repair".into(), OptionValue::Str("off".into()));
        let record = (entry.run)(&plan, &runner::RunSettings::default()).unwrap().record;
        diverged += u64::from(convergence(&record).as_deref() == Some("fail"));
    }
    assert!(diverged > 0, "no replica left behind in 20 seeds without anti-entropy");
    for seed in 0..20 {
        let record = run(&scenario("quorum-partitions"), seed, &[]);
        assert_eq!(
            convergence(&record).as_deref(),
            Some("pass"),
            "seed {seed}: {}",
            record.message
        );
    }
}

/// Merkle-tree anti-entropy on quorum-merkle's seeds, against a full push on the same
/// seeds: every seed passes both ways (linearizability, and convergence after the heal),
/// trees really found leaves that differed (replicas a partition cut off), and the trees
/// cost fewer anti-entropy messages and send fewer registers than pushing them all.
#[test]
fn merkle_anti_entropy_converges_with_less_traffic_than_a_full_push() {
    let registry = Registry::bundled();
    let entry = registry.get("quorum").unwrap();
    let merkle = scenario("quorum-merkle");
    let campaign = |mode: &str| -> Vec<RunRecord> {
        (0..40)
            .map(|seed| {
                let mut plan = merkle.plan(seed, &[]);
                plan.options.insert("anti_entropy".into(), OptionValue::Str(mode.into()));
                (entry.run)(&plan, &runner::RunSettings::default()).unwrap().record
            })
            .collect()
    };
    let (trees, push) = (campaign("merkle"), campaign("push"));
    for (mode, records) in [("merkle", &trees), ("push", &push)] {
        let failed = failures(mode, records);
        assert!(failed.is_empty(), "{}", failed.join("\n"));
        assert!(records.iter().all(|r| r.checks.contains(&("convergence".into(), "pass".into()))));
    }
    assert!(counter(&trees, "merkle_leaves_differed") > 0, "no tree comparison found a difference");
    assert_eq!(counter(&push, "merkle_leaves_differed"), 0);
    for name in ["anti_entropy_messages", "anti_entropy_registers"] {
        let (with_trees, pushed) = (counter(&trees, name), counter(&push, name));
        assert!(with_trees * 4 < pushed, "{name}: {with_trees} with trees, {pushed} pushed");
    }
}
