//! Exploration tools, ignored by default: sweep seeds over fault mixes, with or without a
//! bug switch, and print what was found and the sums of the counters. For tuning mixes and
//! measuring how fast each bug is found, e.g.
//!
//! ```text
//! SEEDS=500 FIRST=100 cargo test -p protocols --test raft_explore sweep -- --ignored --nocapture
//! BUG=vote_without_persist MIX=crash-frenzy-slow-links SEEDS=60 \
//!     cargo test -p protocols --test raft_explore bugs -- --ignored --nocapture
//! ```

mod common;

use common::{Mix, Totals, run};
use protocols::raft::{Bugs, RaftConfig};
use sim_core::protocol::BugSwitches;
use std::collections::BTreeSet;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// The mixes named in `MIX` (comma-separated), or all.
fn mixes() -> Vec<Mix> {
    match std::env::var("MIX") {
        Ok(names) => {
            Mix::ALL.into_iter().filter(|m| names.split(',').any(|n| n == m.name())).collect()
        }
        Err(_) => Mix::ALL.to_vec(),
    }
}

/// Sweep seeds `FIRST..FIRST+SEEDS` of every mix with no bug; print failures and sums.
#[test]
#[ignore]
fn sweep() {
    let (first, seeds) = (env_number("FIRST", 0), env_number("SEEDS", 20));
    for mix in mixes() {
        let mut totals = Totals::default();
        let mut failures = 0;
        for seed in first..first + seeds {
            let outcome = run(mix, seed, &RaftConfig::default(), true);
            if outcome.failure().is_some() || outcome.liveness.is_err() {
                failures += 1;
                if failures <= 3 {
                    println!("FAIL {}", outcome.describe());
                }
            }
            totals.add(&outcome);
        }
        println!(
            "{}: {failures}/{seeds} failed; {} events/run; ok {} info {}; crashes {} \
             partition drops {} torn {} corrupt reads {}; {:?}",
            mix.name(),
            totals.events / totals.runs.max(1),
            totals.ok,
            totals.info,
            totals.crashes,
            totals.dropped_by_partition,
            totals.torn_writes,
            totals.corrupted_reads,
            totals.counters
        );
    }
}

/// For each bug in `BUG` (or all), sweep `SEEDS` seeds of each mix with it switched on,
/// default options, and print how many seeds found what.
#[test]
#[ignore]
fn bugs() {
    let seeds = env_number("SEEDS", 30);
    let only = std::env::var("BUG").ok();
    for bug in Bugs::specs().iter().filter(|b| only.as_deref().is_none_or(|o| o == b.name)) {
        let bugs = Bugs::from_names(&[bug.name]).expect("known");
        let config = RaftConfig { bugs, ..RaftConfig::default() };
        for mix in mixes() {
            let mut found = Vec::new();
            for seed in 0..seeds {
                let outcome = run(mix, seed, &config, false);
                let failure = outcome
                    .failure()
                    .or_else(|| outcome.liveness.as_ref().err().map(|_| "liveness".to_string()));
                if let Some(property) = failure {
                    if found.is_empty() && std::env::var("SHOW").is_ok() {
                        println!("  {}", outcome.describe());
                    }
                    found.push((seed, property));
                }
            }
            let kinds: BTreeSet<&str> = found.iter().map(|(_, p)| p.as_str()).collect();
            println!(
                "{:24} {:24} found {:3}/{seeds}, first {:?}, as {kinds:?}",
                bug.name,
                mix.name(),
                found.len(),
                found.first()
            );
        }
    }
}
