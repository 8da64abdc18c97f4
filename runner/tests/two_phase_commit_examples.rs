//! The bundled two-phase commit scenarios, run as `dsim fuzz` runs them: without bug
//! switches every seed passes (atomicity online; serializability and strict
//! serializability of what the clients saw, by the Elle-style checker; liveness after the
//! heal), and "sometimes" sums prove that the cases 2PC exists for happened (the
//! coordinator crashed mid-protocol, participants recovered transactions in doubt,
//! transactions died under contention, participants blocked on in-doubt locks); with each
//! known-bug switch, a named scenario finds the right violation within a stated number of
//! seeds.

use runner::{Registry, RunSettings};
use sim_core::protocol::{Expect, OptionValue};
use sim_core::record::Verdict;
use std::path::Path;

mod common;
use common::{agreed_events, counter, faults, first_failure, reached, run, scenario, sweep};

const SEEDS: u64 = common::seeds::TWO_PHASE_COMMIT;

const EXAMPLES: [&str; 7] = [
    "2pc-base",
    "2pc-coordinator-crash",
    "2pc-participant-crash",
    "2pc-partition",
    "2pc-hot-key",
    "2pc-swarm",
    "2pc-replicated-coordinator",
];

#[test]
fn every_2pc_example_passes_and_its_faults_bite() {
    let mut all = Vec::new();
    for name in EXAMPLES {
        let records = sweep(&scenario(name), SEEDS);
        common::assert_all_pass(name, &records);
        assert_eq!(records.len() as u64, SEEDS);
        for r in &records {
            assert!(r.ops_ok > 0, "{name} seed {}: no transaction committed", r.seed);
            for check in ["invariants", "serializability", "strict_serializability", "liveness"] {
                let found = r.checks.iter().find(|(n, _)| n == check).map(|(_, v)| v.as_str());
                assert_eq!(found, Some("pass"), "{name} seed {}: {check}", r.seed);
            }
        }
        let sometimes = |what: &str, n: u64| assert!(n > 0, "{name}: no {what} in {SEEDS} seeds");
        sometimes("abort under contention", reached(&records, "abort_under_contention"));
        match name {
            "2pc-coordinator-crash" => {
                sometimes("coordinator crash mid-protocol", {
                    reached(&records, "coordinator_crashed_mid_protocol")
                });
                sometimes(
                    "transaction lost and presumed aborted",
                    counter(&records, "presumed_abort"),
                );
                sometimes("decision re-sent from the log", {
                    counter(&records, "coordinator_recovered_unfinished")
                });
                // Blocking shown: participants asked about transactions in doubt, and
                // transactions found their locks held by one.
                sometimes("in-doubt query", counter(&records, "in_doubt_query"));
                sometimes("lock blocked by an in-doubt transaction", {
                    counter(&records, "blocked_in_doubt")
                });
                sometimes("client timeout while the coordinator was down", {
                    records.iter().map(|r| r.ops_info).sum()
                });
            }
            "2pc-participant-crash" => {
                sometimes("crash", faults(&records, "crash"));
                sometimes("in-doubt transaction after a restart", {
                    counter(&records, "in_doubt_after_restart")
                });
                sometimes("in-doubt transaction resolved", reached(&records, "in_doubt_recovered"));
            }
            "2pc-partition" => {
                sometimes("partition", faults(&records, "partition"));
                sometimes("vote timeout", counter(&records, "vote_timeout"));
                sometimes("message dropped", records.iter().map(|r| r.messages_dropped).sum());
            }
            "2pc-hot-key" => {
                sometimes("lock timeout", counter(&records, "lock_timeout"));
                let (ok, fail): (u64, u64) =
                    records.iter().fold((0, 0), |(o, f), r| (o + r.ops_ok, f + r.ops_fail));
                assert!(fail * 5 > ok, "{name}: little contention ({fail} aborts, {ok} commits)");
            }
            "2pc-replicated-coordinator" => {
                sometimes("crash", faults(&records, "crash"));
                // A leader crashed or was cut off with transactions it had named and not
                // decided; the next one aborted them (first decision wins) and answered
                // participants in doubt about an earlier leadership's transactions.
                sometimes("leader taking over undecided transactions", {
                    counter(&records, "coordinator_took_over_undecided")
                });
                sometimes("in doubt resolved after a failover", {
                    reached(&records, "coordinator_failover_resolved")
                });
                sometimes("client retry answered by a new leader", {
                    counter(&records, "request_deduplicated")
                });
            }
            "2pc-swarm" => {
                let distinct: std::collections::BTreeSet<String> =
                    records.iter().map(|r| format!("{:?}", r.drawn)).collect();
                assert_eq!(distinct.len() as u64, SEEDS, "every seed draws its own knobs");
                for mode in ["list-append", "rw-register"] {
                    let drawn = records.iter().filter(|r| format!("{:?}", r.drawn).contains(mode));
                    assert!(drawn.count() > 0, "{name}: no seed drew mode {mode}");
                }
            }
            _ => {}
        }
        all.extend(records);
    }
    // Every case 2PC declares is reached somewhere in the bundled scenarios.
    let declared = Registry::bundled().get("two-phase-commit").unwrap().properties.clone();
    for property in declared.iter().filter(|p| p.expect == Expect::Sometimes) {
        assert!(reached(&all, property.name) > 0, "no 2PC example reached {}", property.name);
    }
}

/// Commits completed while node 0 is down (0.6s to 2s in 2pc-replicated-coordinator),
/// seed by seed, with the coordinator role `coordinator`.
fn commits_while_node_0_is_down(coordinator: &str, seeds: u64) -> Vec<usize> {
    let registry = Registry::bundled();
    let entry = registry.get("two-phase-commit").unwrap();
    let settings = RunSettings { history: true, ..RunSettings::default() };
    (0..seeds)
        .map(|seed| {
            let mut plan = scenario("2pc-replicated-coordinator").plan(seed, &[]);
            plan.options.insert("coordinator".into(), OptionValue::Str(coordinator.into()));
            let output = (entry.run)(&plan, &settings).expect("runs");
            assert_eq!(output.record.verdict(), Verdict::Pass, "{coordinator} seed {seed}");
            let history = output.history.expect("a history");
            history
                .lines()
                .filter(|line| line.contains("\"type\":\"ok\""))
                .filter_map(|line| {
                    let time = line.split("\"time\":").nth(1)?.split([',', '}']).next()?;
                    time.parse::<u64>().ok()
                })
                .filter(|&t| (700_000_000..=1_900_000_000).contains(&t))
                .count()
        })
        .collect()
}

/// The same crashes of node 0 block a single coordinator (nothing commits while it is
/// down) and not a replicated one (a new leader takes over and transactions commit).
#[test]
fn a_replicated_coordinator_keeps_committing_where_a_single_one_blocks() {
    let single = commits_while_node_0_is_down("single", 10);
    assert_eq!(single, vec![0; 10], "a single coordinator down, yet commits");
    let replicated = commits_while_node_0_is_down("replicated", 10);
    assert!(replicated.iter().all(|&n| n > 0), "a replicated coordinator blocked: {replicated:?}");
}

/// Each known-bug switch, the scenario that finds it, the most seeds it may take (the
/// first seed that finds it today is in the comment), the check it fails, and the
/// anomaly classes its failure may name.
const BUGS: &[(&str, &str, u64, &str, &[&str])] = &[
    // Others read and append around a prepared transaction: reads no order explains.
    (
        "early_lock_release",
        "2pc-hot-key",
        5,
        "serializability",
        &["incompatible-order", "G-single", "G2"],
    ), // seed 0
    ("vote_without_durable_prepare", "2pc-participant-crash", 10, "atomicity", &["is aborted on"]), // seed 0
    ("commit_on_vote_timeout", "2pc-partition", 5, "atomicity", &["is aborted on"]), // seed 0
    ("decide_in_doubt_alone", "2pc-participant-crash", 10, "atomicity", &["is aborted on"]), // seed 0
    // Read skew and write skew.
    ("read_without_lock", "2pc-hot-key", 5, "serializability", &["G-single", "G2"]), // seed 0
];

#[test]
fn every_bug_switch_is_found_by_its_named_scenario() {
    let names: Vec<&str> =
        Registry::bundled().get("two-phase-commit").unwrap().bugs.iter().map(|b| b.name).collect();
    assert_eq!(names.len(), BUGS.len(), "a bug switch without a test");
    for &(bug, example, bound, property, classes) in BUGS {
        let scenario = scenario(example);
        let record = first_failure(example, bug, bound);
        assert_eq!(
            record.failure, property,
            "{bug} on {example} seed {}: {}",
            record.seed, record.message
        );
        assert!(
            classes.iter().any(|c| record.message.contains(c)),
            "{bug} on {example} seed {}: {}",
            record.seed,
            record.message
        );
        assert_eq!(record.verdict(), Verdict::Safety);
        // The same seed without the switch passes: the switch, not the scenario, broke it.
        assert_eq!(
            run(&scenario, record.seed, &[]).verdict(),
            Verdict::Pass,
            "{bug} seed {}",
            record.seed
        );
    }
}

/// The scenarios' swarm draw of seed 42 through heal and liveness phase. A change here
/// means two-phase commit, its workload or the engine changed behaviour: if that was
/// intended, update the numbers.
#[test]
fn a_canonical_run_has_a_pinned_trace_hash() {
    let record = run(&scenario("2pc-swarm"), 42, &[]);
    assert_eq!(record.verdict(), Verdict::Pass, "{}", record.message);
    assert_eq!((record.events, record.trace_hash), (PINNED_EVENTS, PINNED_HASH));
}

const PINNED_EVENTS: u64 = 6_445;
const PINNED_HASH: u64 = 0x893d905865eaec20;

/// Two runs of one seed agree event for event (no hidden nondeterminism).
#[test]
fn runs_agree_event_for_event() {
    for (name, seed) in [("2pc-swarm", 5), ("2pc-coordinator-crash", 6), ("2pc-hot-key", 7)] {
        let events = agreed_events(name, seed);
        assert!(events > 1_000, "{name}: {events} events");
    }
}

#[test]
fn options_that_cannot_work_are_refused_saying_what_would() {
    let registry = Registry::bundled();
    let entry = registry.get("two-phase-commit").unwrap();
    let refused = |name: &str, value: OptionValue| {
        let mut plan = scenario("2pc-base").plan(0, &[]);
        plan.options.insert(name.to_string(), value);
        match (entry.run)(&plan, &RunSettings::default()) {
            Err(message) => message,
            Ok(output) => panic!("{name} ran: {:?}", output.record.verdict()),
        }
    };
    let sharding = refused("sharding", OptionValue::Str("rnage".into()));
    assert!(sharding.contains("did you mean `range`?"), "{sharding}");
    let role = refused("coordinator", OptionValue::Str("replicted".into()));
    assert!(role.contains("did you mean `replicated`?"), "{role}");
    let zero = refused("vote_timeout", OptionValue::Duration(sim_core::SimDuration::ZERO));
    assert!(zero.contains("vote_timeout must be positive"), "{zero}");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/examples/2pc-base.toml"),
    )
    .unwrap();
    let load_error = |from: &str, to: &str| {
        let changed = text.replace(from, to);
        match scenarios::load_str(Path::new("2pc-base.toml"), &changed, registry.catalogue()) {
            Ok(_) => panic!("{to} loaded"),
            Err(e) => e.to_string(),
        }
    };
    let alone = load_error("nodes = 4", "nodes = 1");
    assert!(alone.contains("cluster.nodes must be at least 2"), "{alone}");
    let replicated = text.replace(
        "name = \"two-phase-commit\"",
        "name = \"two-phase-commit\"\noptions = { coordinator = \"replicated\" }",
    );
    let group = match scenarios::load_str(
        Path::new("2pc-base.toml"),
        &replicated.replace("nodes = 4", "nodes = 3"),
        registry.catalogue(),
    ) {
        Ok(_) => panic!("3 coordinators and no participant loaded"),
        Err(e) => e.to_string(),
    };
    assert!(
        group.contains(
            "needs 3 coordinators (protocol.options.coordinators) and at least one participant: cluster.nodes must be at least 4, not 3"
        ),
        "{group}"
    );
    let empty = load_error("max_length = 4", "max_length = 0");
    assert!(empty.contains("min_length <= max_length"), "{empty}");
}
