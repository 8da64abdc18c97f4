//! No false alarms: every bundled scenario, with no bug switch, passes ten times the seeds
//! its example test runs (a scenario that declares `expect = "violation"` fails only
//! safety, and somewhere in the range it does). The full sweep is `#[ignore]`d, too long
//! for a debug build on a 2-core CI runner: run it with
//! `cargo test --release -p runner --test bundled_clean -- --ignored`. CI runs the seeds
//! just past those the example tests run, a twentieth as many (at least one).
//! `scenarios/scale/` (minutes a seed) is left out of both.

mod common;

use common::{example_seeds, sweep_range};
use runner::Registry;
use scenarios::Scenario;
use sim_core::record::{RunRecord, Verdict};
use std::path::Path;

/// Every bundled scenario that runs on its own (not a base for `extends` alone, not a
/// scale run), with the seeds its example test runs.
fn bundled() -> Vec<(String, Scenario, u64)> {
    let registry = Registry::bundled();
    let mut all = Vec::new();
    for name in scenarios::load::known_names(&[]) {
        let located = scenarios::locate(Path::new(&name), &[]).unwrap();
        if located.path.to_string_lossy().contains("scale/") {
            continue;
        }
        let Ok(scenario) = scenarios::load_str(&located.path, &located.text, registry.catalogue())
        else {
            continue;
        };
        let seeds = example_seeds(&name);
        all.push((name, scenario, seeds));
    }
    assert!(all.len() > 30, "the bundled scenarios: {}", all.len());
    all
}

/// The seeds of `records` that failed when they must not have: any failure, or for a
/// scenario that expects a violation, any failure but safety.
fn false_alarms(scenario: &Scenario, records: &[RunRecord]) -> Vec<String> {
    records
        .iter()
        .filter(|r| r.verdict().is_failure())
        .filter(|r| !(scenario.checks.expect_violation && r.verdict() == Verdict::Safety))
        .map(|r| format!("seed {} ({}): {}", r.seed, r.failure, r.message))
        .collect()
}

#[test]
fn every_bundled_scenario_passes_the_seeds_past_its_example_test() {
    let mut alarms = Vec::new();
    for (name, scenario, seeds) in bundled() {
        let past = seeds..seeds + (seeds / 20).max(1);
        for alarm in false_alarms(&scenario, &sweep_range(&scenario, past)) {
            alarms.push(format!("{name}: {alarm}"));
        }
    }
    assert!(alarms.is_empty(), "{}", alarms.join("\n"));
}

#[test]
#[ignore = "ten times the example tests' seeds: hours in a debug build; run in release"]
fn every_bundled_scenario_passes_ten_times_the_seeds_of_its_example_test() {
    let mut alarms = Vec::new();
    for (name, scenario, seeds) in bundled() {
        let records = sweep_range(&scenario, 0..seeds * 10);
        for alarm in false_alarms(&scenario, &records) {
            alarms.push(format!("{name}: {alarm}"));
        }
        if scenario.checks.expect_violation {
            let found = records.iter().any(|r| r.verdict() == Verdict::Safety);
            assert!(found, "{name} expects a violation and none of {} seeds found it", seeds * 10);
        }
    }
    assert!(alarms.is_empty(), "{}", alarms.join("\n"));
}
