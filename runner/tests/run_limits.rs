//! A run that ends early proves nothing: the event limit is a verdict of its own.

use runner::{Registry, RunSettings};
use scenarios::load_str;
use sim_core::record::Verdict;
use std::path::Path;

fn record_of(text: &str) -> sim_core::record::RunRecord {
    let registry = Registry::bundled();
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/examples").join("limits.toml");
    let scenario = load_str(&path, text, registry.catalogue()).unwrap_or_else(|e| panic!("{e}"));
    let plan = scenario.plan(1, &[]);
    let entry = registry.get(&plan.protocol).unwrap();
    (entry.run)(&plan, &RunSettings::default()).unwrap().record
}

const RAFT: &str = r#"
extends = "raft-base.toml"
[run]
duration = "3s"
heal_at = "1s"
"#;

#[test]
fn a_run_stopped_by_the_event_limit_is_a_liveness_failure() {
    let cut = record_of(&format!("{RAFT}max_events = 1000\n"));
    assert_eq!(cut.verdict(), Verdict::Liveness, "{cut:?}");
    assert_eq!(cut.failure, "event_limit");
    assert_eq!(cut.events, 1000);
    assert!(cut.message.contains("run.max_events"), "{}", cut.message);

    let whole = record_of(RAFT);
    assert_eq!(whole.verdict(), Verdict::Pass, "{}", whole.message);
    assert!(whole.events > 1000, "the limit must really cut the run short");
}

/// Raft with the convergence check; `{fault}` is spliced in after the heal at 6s.
fn converging(fault: &str) -> sim_core::record::RunRecord {
    record_of(&format!("extends = \"raft-base.toml\"\n[checks]\nconvergence = true\n{fault}"))
}

#[test]
fn every_checker_is_named_in_the_record_in_a_fixed_order() {
    let record = converging("");
    assert_eq!(record.verdict(), Verdict::Pass, "{}", record.message);
    let checks: Vec<(&str, &str)> =
        record.checks.iter().map(|(name, found)| (name.as_str(), found.as_str())).collect();
    assert_eq!(
        checks,
        [
            ("invariants", "pass"),
            ("event_limit", "pass"),
            ("linearizability", "pass"),
            ("convergence", "pass"),
            ("liveness", "pass"),
        ]
    );
}

#[test]
fn a_replica_cut_off_after_the_heal_fails_convergence() {
    let record = converging(
        "[[faults]]\nat = \"7s\"\naction = \"partition\"\nkind = \"isolate\"\nnode = 4\n",
    );
    assert_eq!(record.verdict(), Verdict::Liveness, "{record:?}");
    assert_eq!(record.failure, "convergence");
    assert!(record.message.contains("2 different states"), "{}", record.message);
    assert!(record.checks.contains(&("convergence".into(), "fail".into())));
    assert!(record.checks.contains(&("linearizability".into(), "pass".into())));
}

#[test]
fn after_an_early_stop_the_checks_of_the_end_are_unknown_not_passed() {
    let cut = record_of(&format!("{RAFT}max_events = 1000\n"));
    assert!(cut.checks.contains(&("event_limit".into(), "fail".into())));
    assert!(cut.checks.contains(&("liveness".into(), "unknown".into())), "{:?}", cut.checks);
}

#[test]
fn a_run_with_more_events_pending_than_its_limit_fails_naming_the_key() {
    let cut = record_of(&format!("{RAFT}max_pending_events = 20\n"));
    assert_eq!(cut.verdict(), Verdict::Liveness, "{cut:?}");
    assert_eq!(cut.failure, "event_queue");
    assert!(cut.message.contains("more than 20 events were pending"), "{}", cut.message);
    assert!(cut.message.contains("raise run.max_pending_events"), "{}", cut.message);
    assert!(cut.checks.contains(&("event_limit".into(), "fail".into())));
    assert!(cut.checks.contains(&("liveness".into(), "unknown".into())), "{:?}", cut.checks);
    // Sometimes: the default limit lets the same run reach its end.
    let whole = record_of(RAFT);
    assert_eq!(whole.verdict(), Verdict::Pass, "{}", whole.message);
}
