//! Determinism guards for Raft, run as `dsim` runs it: a pinned trace hash for a canonical
//! run of a bundled scenario, and the lockstep self-check of `dsim replay
//! --check-determinism` on runs that use every kind of fault.

use runner::{Registry, RunSettings};
use scenarios::load;
use std::path::Path;

fn plan(name: &str, seed: u64) -> scenarios::RunPlan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios/examples")
        .join(format!("{name}.toml"));
    load(&path, Registry::bundled().catalogue()).unwrap_or_else(|e| panic!("{e}")).plan(seed, &[])
}

/// raft-swarm seed 42: every kind of fault, options drawn from the seed, through the heal
/// and the liveness phase. A change here means Raft, the engine or the scenario's draws
/// changed behaviour: if that was intended, update the numbers in the same commit, and
/// say why.
#[test]
fn a_canonical_run_has_a_pinned_trace_hash() {
    let registry = Registry::bundled();
    let raft = registry.get("raft").unwrap();
    let record = (raft.run)(&plan("raft-swarm", 42), &RunSettings::default()).unwrap().record;
    assert_eq!(record.verdict(), sim_core::record::Verdict::Pass, "{}", record.message);
    assert!(record.faults.iter().filter(|(_, n)| *n > 0).count() >= 3, "{:?}", record.faults);
    assert_eq!((record.events, record.trace_hash), (PINNED_EVENTS, PINNED_HASH));
}

const PINNED_EVENTS: u64 = 10_811;
const PINNED_HASH: u64 = 0x1145_d444_684e_770f;

/// Two runs of one plan agree event for event (no hidden nondeterminism).
#[test]
fn runs_agree_event_for_event() {
    let registry = Registry::bundled();
    let raft = registry.get("raft").unwrap();
    for (name, seed) in [("raft-swarm", 5), ("raft-disk-loss", 6), ("raft-clock-drift", 7)] {
        let agreement = (raft.self_check)(&plan(name, seed))
            .unwrap()
            .unwrap_or_else(|d| panic!("{name} seed {seed}: {d}"));
        assert!(agreement.events > 10_000, "{name} seed {seed}: {agreement:?}");
    }
}
