//! A run that ends early proves nothing: the event limit is a verdict of its own.

use scenarios::{Registry, RunSettings, load_str};
use sim_core::record::Verdict;
use std::path::Path;

fn record_of(text: &str) -> sim_core::record::RunRecord {
    let registry = Registry::bundled();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join("limits.toml");
    let scenario = load_str(&path, text, &registry).unwrap_or_else(|e| panic!("{e}"));
    let plan = scenario.plan(1, &[]);
    let entry = registry.get(&plan.protocol).unwrap();
    (entry.run)(&plan, &RunSettings::default()).unwrap().record
}

const RAFT: &str = r#"
extends = "raft-base.toml"
[run]
duration = "2s"
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
