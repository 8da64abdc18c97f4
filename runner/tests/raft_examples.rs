//! The bundled Raft scenarios, run as `dsim fuzz` runs them: without bug switches every
//! seed passes (invariants, linearizability, liveness after the heal), and "sometimes"
//! sums prove the faults bit; with each known-bug switch, a named scenario finds the
//! violation of the right property within a stated number of seeds.

use runner::{Registry, RunSettings};
use sim_core::protocol::Expect;
use sim_core::record::Verdict;

mod common;
use common::{counter, drawn, faults, first_failure, reached, run, scenario, sizes, sweep};

const SEEDS: u64 = common::seeds::RAFT;

#[test]
fn every_raft_example_passes_500_seeds_and_its_faults_bite() {
    let mut all = Vec::new();
    for name in [
        "raft-base",
        "raft-steady",
        "raft-leader-isolation",
        "raft-minority-leader",
        "raft-crash-storm",
        "raft-crash-frenzy",
        "raft-flapping-leader",
        "raft-clock-drift",
        "raft-disk-loss",
        "raft-swarm",
        "raft-sizes",
    ] {
        let records = sweep(&scenario(name), SEEDS);
        common::assert_all_pass(name, &records);
        assert_eq!(records.len() as u64, SEEDS);
        assert!(
            records.iter().all(|r| r.ops_ok > 0),
            "{name}: a seed with no successful operation"
        );
        // Sometimes: elections beyond each seed's first one, i.e. leader changes.
        let changes = counter(&records, "leader_elected").saturating_sub(SEEDS);
        let sometimes = |what: &str, n: u64| assert!(n > 0, "{name}: no {what} in {SEEDS} seeds");
        match name {
            "raft-leader-isolation" | "raft-minority-leader" | "raft-flapping-leader" => {
                sometimes("leader change", changes);
                sometimes("partition", faults(&records, "partition"));
                sometimes("message dropped", records.iter().map(|r| r.messages_dropped).sum());
                sometimes("deposed leader", reached(&records, "leader_stepped_down"));
            }
            "raft-crash-storm" | "raft-crash-frenzy" => {
                sometimes("leader change", changes);
                sometimes("crash", faults(&records, "crash"));
                sometimes("restart", faults(&records, "restart"));
                sometimes("recovery from disk", reached(&records, "recovered_from_disk"));
                sometimes(
                    "retried request applied once",
                    reached(&records, "request_deduplicated"),
                );
            }
            "raft-clock-drift" => {
                sometimes("clock fault", faults(&records, "clock"));
                sometimes("partition", faults(&records, "partition"));
            }
            "raft-disk-loss" => {
                sometimes("crash", faults(&records, "crash"));
                sometimes("torn tail truncated", reached(&records, "torn_tail_truncated"));
                sometimes("corrupt read detected", reached(&records, "corrupt_read_detected"));
            }
            "raft-swarm" => {
                let distinct: std::collections::BTreeSet<String> =
                    records.iter().map(|r| format!("{:?}", r.drawn)).collect();
                assert_eq!(distinct.len() as u64, SEEDS, "every seed draws its own knobs");
                sometimes("leader change", changes);
            }
            "raft-sizes" => {
                assert_eq!(sizes(&records), (1..=7).collect::<Vec<u32>>(), "every size drawn");
                sometimes("leader change", changes);
                sometimes("partition", faults(&records, "partition"));
                sometimes("crash", faults(&records, "crash"));
            }
            _ => {}
        }
        all.extend(records);
    }
    // Every case Raft declares is reached somewhere in the bundled scenarios.
    let declared = Registry::bundled().get("raft").unwrap().properties.clone();
    for property in declared.iter().filter(|p| p.expect == Expect::Sometimes) {
        assert!(reached(&all, property.name) > 0, "no bundled scenario reached {}", property.name);
    }
}

/// Each known-bug switch, the scenario that finds it, the most seeds it may take (the
/// first seed that finds it today is in the comment), and the property it breaks.
const BUGS: &[(&str, &str, u64, &str)] = &[
    ("commit_previous_term", "raft-flapping-leader", 30, "leader_completeness"), // seed 6
    ("vote_without_persist", "raft-crash-frenzy", 200, "election_safety"),       // seed 4
    ("no_truncate_conflict", "raft-leader-isolation", 5, "log_matching"),        // seed 0
    ("reply_before_sync", "raft-crash-storm", 50, "leader_completeness"),        // seed 12
    ("stale_local_read", "raft-minority-leader", 5, "linearizability"),          // seed 0
    ("fixed_election_timeout", "raft-steady", 5, "liveness"),                    // seed 0
    ("commit_index_regresses", "raft-steady", 5, "monotone_commit"),             // seed 0
    ("no_client_sessions", "raft-crash-storm", 5, "linearizability"),            // seed 0
    ("minority_quorum_even", "raft-sizes", 10, "state_machine_safety"),          // seed 0
];

#[test]
fn every_bug_switch_is_found_by_its_named_scenario() {
    let names: Vec<&str> =
        Registry::bundled().get("raft").unwrap().bugs.iter().map(|b| b.name).collect();
    assert_eq!(names.len(), BUGS.len(), "a bug switch without a test");
    for &(bug, example, bound, property) in BUGS {
        let scenario = scenario(example);
        let record = first_failure(example, bug, bound);
        assert_eq!(
            record.failure, property,
            "{bug} on {example} seed {}: {}",
            record.seed, record.message
        );
        let expected = if property == "liveness" { Verdict::Liveness } else { Verdict::Safety };
        assert_eq!(record.verdict(), expected);
        // The same seed without the switch passes: the switch, not the scenario, broke it.
        assert_eq!(
            run(&scenario, record.seed, &[]).verdict(),
            Verdict::Pass,
            "{bug} seed {}",
            record.seed
        );
    }
}

/// A majority miscounted as half the cluster rounded up is a majority at odd sizes: with
/// the switch on, every seed that drew an odd size passes, and some even one fails.
#[test]
fn the_even_quorum_bug_needs_an_even_cluster() {
    let sizes = scenario("raft-sizes");
    let bugs = ["minority_quorum_even".to_owned()];
    let mut failed_even = 0;
    for seed in 0..40 {
        let record = run(&sizes, seed, &bugs);
        let nodes: u32 = drawn(&record, "cluster.nodes").unwrap().parse().unwrap();
        if nodes % 2 == 1 {
            assert_eq!(
                record.verdict(),
                Verdict::Pass,
                "seed {seed}, {nodes} nodes: {}",
                record.message
            );
        } else if record.verdict().is_failure() {
            failed_even += 1;
        }
    }
    assert!(failed_even > 0, "no even cluster failed in 40 seeds");
}

#[test]
fn checks_invariants_false_turns_the_online_invariants_off() {
    let scenario = scenario("raft-steady");
    let registry = Registry::bundled();
    let mut plan = scenario.plan(0, &["commit_index_regresses".to_owned()]);
    let checked =
        (registry.get("raft").unwrap().run)(&plan, &RunSettings::default()).unwrap().record;
    assert_eq!(checked.failure, "monotone_commit");
    plan.checks.invariants = false;
    let unchecked =
        (registry.get("raft").unwrap().run)(&plan, &RunSettings::default()).unwrap().record;
    assert_ne!(unchecked.failure, "monotone_commit", "{}", unchecked.message);
    assert!(unchecked.events > checked.events, "the unchecked run goes on to the end");
}

/// Seeds that once failed liveness with no bug switch. A false alarm is a dsim bug.
/// - 869, 995, 1581, 2187, 4248: after a back-off round, a client waited another
///   `retry_after` before following a redirect that named the new leader, and its
///   operation timed out.
/// - 2237, 2406, 4733: after the heal, a node whose log was ahead of a new leader's had
///   refused it its vote, timed out before the leader's first AppendEntries arrived and
///   deposed it (Raft without pre-vote, §9.6), up to three times in a row: recovery took
///   longer than the 2s the clients then waited, though not the 3s the scenario claimed.
/// - 88924: every operation invoked after the heal was a cas whose comparison failed, and
///   those that completed ok after the heal had been invoked before it: the checker saw
///   no ok after the heal.
#[test]
fn former_false_alarms_of_raft_crash_frenzy_pass() {
    let frenzy = scenario("raft-crash-frenzy");
    for seed in [869, 995, 1581, 2187, 4248, 2237, 2406, 4733, 88924] {
        let record = run(&frenzy, seed, &[]);
        assert_eq!(record.verdict(), Verdict::Pass, "seed {seed}: {}", record.message);
    }
}
