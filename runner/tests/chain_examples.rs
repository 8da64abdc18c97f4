//! The bundled chain-replication scenarios, run as `dsim fuzz` runs them: without bug
//! switches every seed passes (the chain's invariant, linearizability, liveness after the
//! heal, convergence), and "sometimes" sums prove that the reconfigurations the protocol
//! exists for happened (a head, a middle replica and a tail failing, restarted replicas
//! rejoining with a copy, a new tail committing what its old successor never
//! acknowledged, CRAQ's replicas serving reads off the tail); each known-bug switch is found by a named scenario within a stated
//! number of seeds.

mod common;

use common::{agreed_events, faults, first_failure, reached, run, scenario, sweep};
use runner::Registry;
use sim_core::protocol::Expect;
use sim_core::record::Verdict;

const SEEDS: u64 = common::seeds::CHAIN;

#[test]
fn every_chain_example_passes_and_its_faults_bite() {
    let mut all = Vec::new();
    for name in ["chain-base", "chain-crashes", "chain-partitions", "chain-craq"] {
        let records = sweep(&scenario(name), SEEDS);
        common::assert_all_pass(name, &records);
        assert!(records.iter().all(|r| r.ops_ok > 0), "{name}: a seed with no successful op");
        let sometimes = |what: &str, n: u64| assert!(n > 0, "{name}: no {what} in {SEEDS} seeds");
        match name {
            "chain-base" => {
                // Steady state: the chain of epoch 1 serves everything.
                assert_eq!(reached(&records, "chain_reconfigured"), 0, "{name} reconfigured");
            }
            "chain-crashes" => {
                sometimes("crash", faults(&records, "crash"));
                sometimes("reconfiguration", reached(&records, "chain_reconfigured"));
                sometimes("rejoin with a copy", reached(&records, "replica_joined"));
                sometimes("re-send after a middle failure", reached(&records, "unacked_resent"));
                sometimes("new tail committing", reached(&records, "tail_committed_unacked"));
            }
            "chain-partitions" => {
                sometimes("partition", faults(&records, "partition"));
                sometimes("pause", faults(&records, "pause"));
                // A replica the master wrongly suspected, alive, learned it was removed.
                sometimes(
                    "live replica removed",
                    common::counter(&records, "replica_removed_alive"),
                );
                sometimes("new tail waiting out the old tail's lease", {
                    common::counter(&records, "tail_hold")
                });
            }
            "chain-craq" => {
                // Steady state, every replica serving reads: most of them off the tail
                // (clients stay with the replica they picked first), and reads of dirty
                // keys settled by asking the tail.
                assert_eq!(reached(&records, "chain_reconfigured"), 0, "{name} reconfigured");
                let off_tail = common::counter(&records, "craq_clean_read")
                    + common::counter(&records, "craq_dirty_read_resolved");
                let at_tail = common::counter(&records, "read_at_tail");
                assert!(
                    off_tail > at_tail,
                    "{name}: {off_tail} reads off the tail, {at_tail} at it"
                );
                sometimes("version query", common::counter(&records, "craq_version_query"));
            }
            _ => unreachable!(),
        }
        all.extend(records);
    }
    let declared = Registry::bundled().get("chain").unwrap().properties.clone();
    for property in declared.iter().filter(|p| p.expect == Expect::Sometimes) {
        assert!(reached(&all, property.name) > 0, "no chain example reached {}", property.name);
    }
}

/// Each known-bug switch, the scenario that finds it, the most seeds it may take (the
/// first seed that finds it today is in the comment), and the check that fails.
const BUGS: &[(&str, &str, u64, &str)] = &[
    ("dirty_reads", "chain-partitions", 60, "linearizability"), // seed 8
    ("drop_unacked_on_reconfig", "chain-crashes", 10, "linearizability"), // seed 0
    ("craq_newest_dirty", "chain-craq", 10, "linearizability"), // seed 3
];

#[test]
fn every_bug_switch_is_found_by_its_named_scenario() {
    let names: Vec<&str> =
        Registry::bundled().get("chain").unwrap().bugs.iter().map(|b| b.name).collect();
    assert_eq!(names.len(), BUGS.len(), "a bug switch without a test");
    for &(bug, example, bound, check) in BUGS {
        let record = first_failure(example, bug, bound);
        assert_eq!(record.failure, check, "{bug} seed {}: {}", record.seed, record.message);
        assert_eq!(record.verdict(), Verdict::Safety);
        let clean = run(&scenario(example), record.seed, &[]);
        assert_eq!(clean.verdict(), Verdict::Pass, "{bug} seed {}", record.seed);
    }
}

/// Two runs of one seed agree event for event, through the embedded Raft master too.
#[test]
fn runs_agree_event_for_event() {
    for (name, seed) in [("chain-crashes", 3), ("chain-partitions", 4)] {
        let events = agreed_events(name, seed);
        assert!(events > 1_000, "{name}: {events} events");
    }
}

/// Options that would break the lease argument, or a master group larger than the cluster,
/// are refused before the run, saying what would be valid.
#[test]
fn unsafe_options_are_refused() {
    use sim_core::SimDuration;
    use sim_core::protocol::OptionValue;
    let registry = Registry::bundled();
    let entry = registry.get("chain").unwrap();
    for (option, value, message) in [
        ("lease", OptionValue::Duration(SimDuration::from_millis(400)), "must exceed lease"),
        ("masters", OptionValue::Int(7), "masters must be at most cluster.nodes"),
        ("reads", OptionValue::Str("both".into()), "reads must be \"tail\" or \"craq\""),
    ] {
        let mut plan = scenario("chain-base").plan(0, &[]);
        plan.options.insert(option.to_string(), value);
        match (entry.run)(&plan, &runner::RunSettings::default()) {
            Err(refused) => assert!(refused.contains(message), "{option}: {refused}"),
            Ok(output) => panic!("{option}: ran, {:?}", output.record.verdict()),
        }
    }
}
