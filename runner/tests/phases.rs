//! Scenarios in phases (`[[phases]]`): the bundled `raft-phases` (steady, a partition storm
//! with a read burst, heal, quiet) passes, with a "sometimes" property per phase; the
//! known-bug switches that bite in a storm are caught in it; a phase's nemesis and
//! workload really change at its start; and a run cut into phases is the same run.

use runner::Registry;
use scenarios::{Scenario, load_str};
use sim_core::record::{PhaseRecord, RunRecord, Verdict};
use std::path::Path;

mod common;
use common::{first_failure, run, scenario, sweep};

const SEEDS: u64 = common::seeds::RAFT_PHASES;

/// `text` as a scenario file beside the bundled examples (so `extends` finds them).
fn inline(text: &str) -> Result<Scenario, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/examples/inline.toml");
    load_str(&path, text, Registry::bundled().catalogue()).map_err(|e| e.to_string())
}

fn phase<'r>(record: &'r RunRecord, name: &str) -> &'r PhaseRecord {
    record.phases.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("no phase {name}"))
}

#[test]
fn raft_phases_passes_and_every_phase_does_what_it_says() {
    let records = sweep(&scenario("raft-phases"), SEEDS);
    common::assert_all_pass("raft-phases", &records);
    let mut storms_with_a_leader_change = 0;
    let mut storms_with_a_crash = 0;
    let mut burst_reads = 0;
    for r in &records {
        let names: Vec<&str> = r.phases.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["steady", "storm", "heal", "quiet"], "seed {}", r.seed);
        let spans: Vec<(u64, u64)> = r.phases.iter().map(|p| (p.start_ns, p.end_ns)).collect();
        let s = 1_000_000_000;
        assert_eq!(spans, [(0, 3 * s), (3 * s, 8 * s), (8 * s, 10 * s), (10 * s, 13 * s)]);
        // The phases' operations and faults are the run's, split.
        let sum = |f: fn(&PhaseRecord) -> u64| r.phases.iter().map(f).sum::<u64>();
        assert_eq!(sum(|p| p.ops_invoked), r.ops_invoked, "seed {}", r.seed);
        assert_eq!(sum(|p| p.ops_ok), r.ops_ok, "seed {}", r.seed);
        assert_eq!(sum(|p| p.fault("partition")), r.faults[3].1, "seed {}", r.seed);
        let (steady, storm, heal, quiet) =
            (phase(r, "steady"), phase(r, "storm"), phase(r, "heal"), phase(r, "quiet"));
        // Steady and quiet have no nemesis: no fault at all, and no partition in force
        // (the storm's end healed everything).
        for calm in [steady, quiet] {
            assert!(calm.faults.iter().all(|(_, n)| *n == 0), "seed {}: {calm:?}", r.seed);
            assert!(!calm.partitioned_at_start, "seed {}: {}", r.seed, calm.name);
        }
        assert!(!heal.partitioned_at_start, "seed {}: the storm's end heals", r.seed);
        assert_eq!(heal.fault("partition"), 0, "seed {}", r.seed);
        // Operations complete in every phase, the storm included; its fixed fault and
        // its nemesis cut leaders off.
        for p in &r.phases {
            assert!(p.ops_ok > 0, "seed {}: nothing completed in {}", r.seed, p.name);
        }
        assert!(storm.fault("partition") >= 1, "seed {}", r.seed);
        storms_with_a_leader_change += u64::from(storm.counter("leader_elected") > 0);
        storms_with_a_crash += u64::from(storm.fault("crash") > 0);
        // The storm's read-heavy mix (6 of 8) shows against steady's (2 of 5).
        burst_reads += u64::from(storm.ops_invoked > steady.ops_invoked);
        for check in ["steady.max_unavailability", "quiet.liveness", "quiet.max_unavailability"] {
            assert!(r.checks.contains(&(check.to_owned(), "pass".to_owned())), "{:?}", r.checks);
        }
    }
    // Sometimes: a leader change and a crash in the storm, in most seeds.
    assert!(storms_with_a_leader_change > SEEDS * 9 / 10, "{storms_with_a_leader_change}");
    assert!(storms_with_a_crash > SEEDS / 2, "{storms_with_a_crash}");
    assert!(burst_reads > SEEDS * 9 / 10, "{burst_reads}");
}

#[test]
fn raft_phases_has_pinned_runs() {
    let s = scenario("raft-phases");
    let hashes: Vec<(u64, String)> = [1, 3]
        .iter()
        .map(|&seed| (seed, format!("{:016x}", run(&s, seed, &[]).trace_hash)))
        .collect();
    assert_eq!(hashes, [(1, "8da028468046dd32".to_owned()), (3, "0068072ade4fdb11".to_owned())]);
}

#[test]
fn bugs_that_bite_in_a_storm_are_caught_in_it() {
    // A stale read from a leader left on the minority side, during the read burst.
    let stale = first_failure("raft-phases", "stale_local_read", 30);
    assert_eq!((stale.seed, stale.failure.as_str()), (4, "linearizability"), "{}", stale.message);
    let conflict = first_failure("raft-phases", "no_truncate_conflict", 5);
    assert_eq!((conflict.seed, conflict.failure.as_str()), (0, "log_matching"));
    let storm = phase(&conflict, "storm");
    assert!((storm.start_ns..storm.end_ns).contains(&conflict.sim_time_ns));
}

/// raft-leader-isolation's run (faults until 6s, then the liveness phase), written as two
/// phases: the same operations and faults, one event more (the second phase's start).
#[test]
fn a_run_cut_into_phases_is_the_same_run() {
    let phased = inline(
        r#"
extends = "raft-leader-isolation.toml"
[[phases]]
name = "chaos"
duration = "6s"
heal = true
[[phases]]
name = "after"
duration = "5s"
[phases.nemesis]
partition_rate = 0.0
"#,
    )
    .unwrap();
    assert_eq!((phased.run.duration.0, phased.run.heal_at.0), (11_000_000_000, 6_000_000_000));
    let original = scenario("raft-leader-isolation");
    for seed in 0..5 {
        let (a, b) = (run(&original, seed, &[]), run(&phased, seed, &[]));
        assert_eq!(b.events, a.events + 1, "seed {seed}");
        assert_eq!(
            (b.ops_invoked, b.ops_ok, b.ops_fail, b.ops_info, &b.faults, b.verdict()),
            (a.ops_invoked, a.ops_ok, a.ops_fail, a.ops_info, &a.faults, a.verdict()),
            "seed {seed}"
        );
        assert!(phase(&b, "after").faults.iter().all(|(k, n)| *n == 0 || k == "heal"));
    }
}

/// A phase's checks fail when the phase does not deliver: no operation completes while a
/// majority is cut off.
#[test]
fn a_phase_check_names_the_phase_that_failed() {
    let outage = inline(
        r#"
extends = "raft-base.toml"
[[phases]]
name = "warm"
duration = "2s"
[[phases]]
name = "outage"
duration = "3s"
heal = true
[[phases.faults]]
at = "0s"
action = "partition"
kind = "groups"
groups = [[0], [1], [2], [3], [4]]
[phases.checks]
max_unavailability = "2s"
[[phases]]
name = "after"
duration = "3s"
"#,
    )
    .unwrap();
    let record = run(&outage, 0, &[]);
    assert_eq!(record.verdict(), Verdict::Liveness);
    assert_eq!(record.failure, "outage.max_unavailability");
    assert!(
        record.message.starts_with("in phase outage (2s to 5s), no operation completed ok from "),
        "{}",
        record.message
    );
}

#[test]
fn phases_refuse_what_they_cannot_mean() {
    let refused = |text: &str, expected: &str| {
        let err = inline(text).expect_err(text);
        assert!(err.contains(expected), "{err}");
    };
    let phase = "extends = \"raft-base.toml\"\n[[phases]]\nname = \"a\"\nduration = \"2s\"\n";
    refused(&format!("{phase}[run]\nduration = \"5s\"\n"), "with [[phases]], the run lasts");
    refused(&format!("{phase}[phases.workload]\nclients = 2\n"), "a phase cannot change `clients`");
    refused(&format!("{phase}[[phases]]\nname = \"a\"\nduration = \"1s\"\n"), "comes before");
    refused(
        &format!("{phase}[[phases.faults]]\nat = \"2s\"\naction = \"heal\"\n"),
        "the end of the phase",
    );
    refused(&format!("{phase}[phases.nemesis]\ncrash_rat = 1.0\n"), "did you mean `crash_rate`?");
    refused(
        "extends = \"raft-base.toml\"\n[[phases]]\nname = \"1st\"\nduration = \"1s\"\n",
        "cannot name a phase",
    );
    // A base file's run.duration gives way to the phases'.
    assert_eq!(inline(phase).unwrap().run.duration.0, 2_000_000_000);
}
