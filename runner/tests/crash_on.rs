//! The nemesis's `crash_on` on the bundled protocols: the `*-crash-on` scenarios pass
//! without bug switches, every crash in them is a crash on an event, and crashes land on
//! every event they listen to (sometimes); with a durability bug switch, crashes at its
//! moment find it in far fewer seeds than random crashes do.

use scenarios::Scenario;
use sim_core::record::{RunRecord, Verdict};

mod common;
use common::{counter, faults, run, scenario, scenario_with, sweep};

fn assert_clean(name: &str, records: &[RunRecord], seeds: u64) {
    common::assert_all_pass(name, records);
    assert_eq!(records.len() as u64, seeds);
}

/// Seeds per example: the Raft and 2PC example tests' (`common::seeds`).
#[test]
fn the_crash_on_examples_pass_and_crash_on_every_event_they_name() {
    for (name, seeds, events) in [
        (
            "raft-crash-on",
            common::seeds::RAFT,
            &["appended", "synced", "voted", "became_leader", "installing_snapshot"][..],
        ),
        ("2pc-crash-on", common::seeds::TWO_PHASE_COMMIT, &["prepared", "appended", "synced"][..]),
    ] {
        let scenario = scenario(name);
        let records = sweep(&scenario, seeds);
        assert_clean(name, &records, seeds);
        let mut on_events = 0;
        for event in events {
            let crashes = counter(&records, &format!("crash_on_{event}"));
            assert!(crashes > 0, "{name}: no crash on {event} in {seeds} seeds");
            on_events += crashes;
        }
        // No random crash: every crash (and restart) is one on an event.
        assert_eq!(faults(&records, "crash"), on_events, "{name}");
        assert_eq!(faults(&records, "restart"), on_events, "{name}");
        for point in ["event", "handler_end"] {
            let drawn = records.iter().filter(|r| format!("{:?}", r.drawn).contains(point));
            assert!(drawn.count() > 0, "{name}: no seed drew crash_on_point {point}");
        }
    }
}

/// Seeds of `0..seeds` that fail with `bug`, and the failures' property names.
fn failing(scenario: &Scenario, bug: &str, seeds: u64) -> Vec<(u64, String)> {
    let bugs = vec![bug.to_owned()];
    (0..seeds)
        .map(|seed| run(scenario, seed, &bugs))
        .filter(|r| r.verdict().is_failure())
        .map(|r| (r.seed, r.failure))
        .collect()
}

#[test]
fn crashes_on_a_vote_find_votes_that_were_never_persisted_ten_times_as_often() {
    // raft-crash-frenzy finds vote_without_persist with 20 random crashes a second;
    // crashes only once a vote's reply has left find it in ten times as many seeds
    // (measured: 4 of 500 seeds against 64 of 500).
    let random = scenario("raft-crash-frenzy");
    let on_votes = scenario_with(
        "raft-crash-frenzy",
        &[
            "nemesis.crash_rate=0",
            r#"nemesis.crash_on=["voted"]"#,
            "nemesis.crash_on_probability=0.5",
            r#"nemesis.crash_on_point="handler_end""#,
        ],
    );
    let seeds = 100;
    let by_random = failing(&random, "vote_without_persist", seeds);
    let by_crash_on = failing(&on_votes, "vote_without_persist", seeds);
    assert!(by_crash_on.iter().all(|(_, f)| f == "election_safety"), "{by_crash_on:?}");
    assert!(by_crash_on.len() >= 5, "found in {} of {seeds} seeds", by_crash_on.len());
    assert!(by_crash_on.first().is_some_and(|&(seed, _)| seed < 10), "{by_crash_on:?}");
    assert!(by_crash_on.len() > 4 * by_random.len().max(1), "{by_crash_on:?} vs {by_random:?}");
    // The same seeds without the switch pass: the switch, not the crashes, broke them.
    for &(seed, _) in by_crash_on.iter().take(3) {
        assert_eq!(run(&on_votes, seed, &[]).verdict(), Verdict::Pass, "seed {seed}");
    }
}
