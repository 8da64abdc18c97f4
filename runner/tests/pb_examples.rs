//! The bundled primary-backup scenarios: every seed passes, the durability invariant
//! `acknowledged_on_every_backup` included, view changes really happen (a new primary takes
//! over, a backup cuts an old primary's uncommitted tail), and each known-bug switch is
//! found by a named scenario within a stated number of seeds.

mod common;

use common::{faults, first_failure, reached, run, scenario, sweep};
use runner::Registry;
use sim_core::record::Verdict;

const SEEDS: u64 = common::seeds::PRIMARY_BACKUP;

#[test]
fn every_pb_example_passes() {
    for name in ["pb-steady", "pb-faults", "pb-failover"] {
        let records = sweep(&scenario(name), SEEDS);
        common::assert_all_pass(name, &records);
        assert!(faults(&records, "crash") > 0, "{name}: no crash in {SEEDS} seeds");
        assert!(records.iter().all(|r| r.property("acknowledged_on_every_backup") == Some("held")));
        // Failovers, not just restarts: a fifth of the seeds at least see a new primary.
        assert!(reached(&records, "primary_changed") > SEEDS / 5, "{name}: too few failovers");
        assert!(reached(&records, "uncommitted_tail_cut") > 0, "{name}: no tail was cut");
    }
}

/// Each known-bug switch, the scenario that finds it, the most seeds it may take (the
/// first seed that finds it today is in the comment), and the check that fails.
const BUGS: &[(&str, &str, u64, &str)] = &[
    ("backup_reads", "pb-faults", 20, "linearizability"), // seed 1
    ("reply_before_backups_ack", "pb-steady", 5, "acknowledged_on_every_backup"), // seed 0
    ("keep_divergent_tail", "pb-failover", 20, "state_machine_safety"), // seed 3
    ("reads_without_lease", "pb-failover", 150, "linearizability"), // seed 62
];

#[test]
fn every_bug_switch_is_found_by_its_named_scenario() {
    let names: Vec<&str> =
        Registry::bundled().get("primary-backup").unwrap().bugs.iter().map(|b| b.name).collect();
    assert_eq!(names.len(), BUGS.len(), "a bug switch without a test");
    for &(bug, example, bound, check) in BUGS {
        let record = first_failure(example, bug, bound);
        assert_eq!(record.failure, check, "{bug} seed {}: {}", record.seed, record.message);
        let clean = run(&scenario(example), record.seed, &[]);
        assert_eq!(clean.verdict(), Verdict::Pass, "{bug} seed {}", record.seed);
    }
}

/// A run that once failed with no bug switch (found by `dsim fuzz pb-faults --guided`). A
/// false alarm is a dsim bug, and this one was a real one: the primary n1 adopted the
/// view of epoch 5 (n0, n1, n2), crashed, and on its restart a new leader of the view
/// service, which had not yet applied epoch 5, granted it the view of epoch 4 (n1, n0). n1
/// recovered as its primary and committed index 90 with n0 alone, though n2 was a member
/// in sync since epoch 5 (`acknowledged_on_every_backup`). A node no longer recovers into
/// a view older than the epoch its disk says it was in sync in.
#[test]
fn a_restarted_primary_does_not_act_on_a_view_older_than_its_own() {
    let sets = [
        "network.loss=0.04111628279968205",
        "nemesis.partition_rate=0.3005392882448822",
        "nemesis.pause_rate=0.4993060022369695",
    ];
    let record = run(&common::scenario_with("pb-faults", &sets), 2498112011, &[]);
    assert_eq!(record.verdict(), Verdict::Pass, "{}", record.message);
    assert!(record.counters.iter().any(|(k, n)| k == "member_recovered" && *n > 0));
}
