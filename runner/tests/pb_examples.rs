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
        let failed: Vec<String> = records
            .iter()
            .filter(|r| r.verdict() != Verdict::Pass)
            .map(|r| format!("{name} seed {}: {} {}", r.seed, r.failure, r.message))
            .collect();
        assert!(failed.is_empty(), "{}", failed.join("\n"));
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
