//! Determinism guards: a pinned trace hash for a canonical run, and a lockstep self-check.

mod common;

use common::{END, HEAL_AT, Mix, build, run, scenario};
use protocols::raft::RaftConfig;
use sim_core::RunLimits;
use sim_core::selfcheck::lockstep;

/// The swarm mix on seed 42 (every fault, options from the seed) through heal and
/// liveness phase. A change here means Raft or the engine changed behaviour: if that was
/// intended, update the numbers.
#[test]
fn a_canonical_run_has_a_pinned_trace_hash() {
    let outcome = run(Mix::Swarm, 42, &RaftConfig::default(), true);
    assert!(outcome.violation.is_none() && outcome.liveness.is_ok(), "{}", outcome.describe());
    assert_eq!((outcome.events, outcome.trace_hash), (PINNED_EVENTS, PINNED_HASH));
}

const PINNED_EVENTS: u64 = 22_405;
const PINNED_HASH: u64 = 0x2f7b7723fee71a38;

/// Two runs of one configuration agree event for event (no hidden nondeterminism).
#[test]
fn runs_agree_event_for_event() {
    for (mix, seed) in [(Mix::Swarm, 5), (Mix::UnsyncedLoss, 6), (Mix::ClockDrift, 7)] {
        let (mut first, _) = build(scenario(mix, seed, &RaftConfig::default(), true));
        let (mut second, _) = build(scenario(mix, seed, &RaftConfig::default(), true));
        let limits = RunLimits { until: HEAL_AT.min(END), ..RunLimits::default() };
        let agreement = lockstep(&mut first, &mut second, limits)
            .unwrap_or_else(|d| panic!("{} seed {seed}: {d}", mix.name()));
        assert!(agreement.events > 10_000);
    }
}
