//! Exploration helpers (ignored): sweep mixes and bug switches and print what they find.
mod common;
use common::*;
use protocols::raft::{Bugs, RaftConfig};
use sim_core::client::OpMix;
use sim_core::faults::{DurationRange, NemesisOptions, Partition};
use sim_core::latency::Latency;
use sim_core::network::LinkOptions;
use sim_core::SimDuration;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

#[test]
#[ignore]
fn explore() {
    let mixes: Vec<Mix> = match std::env::var("MIX") {
        Ok(m) => Mix::ALL.into_iter().filter(|x| x.name() == m).collect(),
        Err(_) => Mix::ALL.to_vec(),
    };
    let seeds = env("SEEDS", 20);
    let first = env("FIRST", 0);
    for mix in mixes {
        let mut totals = Totals::default();
        let mut failures = 0;
        for seed in first..first + seeds {
            let o = run(mix, seed, &RaftConfig::default(), true);
            if o.violation.is_some() || o.history.is_err() || o.liveness.is_err() {
                failures += 1;
                if failures <= 3 {
                    println!("FAIL {}", o.describe());
                }
            }
            totals.add(&o);
        }
        println!("{} failures {failures}/{seeds} events/run {} ok {} info {} counters {:?} crashes {} partition-drops {} torn {} corrupt {}",
            mix.name(), totals.events / totals.runs, totals.ok, totals.info, totals.counters, totals.crashes, totals.dropped_by_partition, totals.torn_writes, totals.corrupted_reads);
    }
}

fn ms(x: u64) -> SimDuration {
    SimDuration::from_millis(x)
}

/// Variations to try against a bug, by name.
fn variant(name: &str, s: &mut Scenario) {
    match name {
        "plain" => {}
        "read-heavy" => {
            let mut w = workload(false);
            w.mix = OpMix { read: 8, write: 1, cas: 1, append: 0 };
            s.builder = s.builder.clone().workload(w);
        }
        "slow-crash" => {
            s.builder = s
                .builder
                .clone()
                .links(LinkOptions { latency: Latency::Uniform { min: ms(1), max: ms(100) }, ..Default::default() })
                .nemesis(NemesisOptions {
                    crash_rate: 10.0,
                    restart_after: DurationRange::new(ms(5), ms(50)),
                    until: HEAL_AT,
                    ..Default::default()
                });
        }
        "slow-crash-bridge" => {
            s.builder = s
                .builder
                .clone()
                .links(LinkOptions { latency: Latency::Uniform { min: ms(1), max: ms(100) }, ..Default::default() })
                .nemesis(NemesisOptions {
                    crash_rate: 10.0,
                    restart_after: DurationRange::new(ms(5), ms(50)),
                    partition_rate: 2.0,
                    partition_kinds: vec![Partition::Bridge, Partition::Ring, Partition::Isolate(None)],
                    until: HEAL_AT,
                    ..Default::default()
                });
        }
        "read-mostly" => {
            let mut w = workload(false);
            w.mix = OpMix { read: 30, write: 1, cas: 0, append: 0 };
            s.builder = s.builder.clone().workload(w);
        }
        "slow-crash-tight" => {
            variant("slow-crash", s);
            s.config.election_timeout_max = ms(160);
        }
        "crash-tight" => {
            s.config.election_timeout_max = ms(160);
            s.builder = s.builder.clone().links(LinkOptions { latency: Latency::Uniform { min: ms(1), max: ms(30) }, ..Default::default() })
                .nemesis(NemesisOptions {
                    crash_rate: 10.0,
                    restart_after: DurationRange::new(ms(5), ms(30)),
                    until: HEAL_AT,
                    ..Default::default()
                });
        }
        "bridge-crash" => {
            s.builder = s.builder.clone().nemesis(NemesisOptions {
                crash_rate: 5.0,
                restart_after: DurationRange::new(ms(5), ms(50)),
                partition_rate: 2.0,
                partition_kinds: vec![Partition::Bridge],
                partition_duration: DurationRange::new(ms(500), ms(2000)),
                until: HEAL_AT,
                ..Default::default()
            });
        }
        "bridge-crash-slow" => {
            variant("bridge-crash", s);
            s.builder = s.builder.clone().links(LinkOptions { latency: Latency::Uniform { min: ms(1), max: ms(30) }, ..Default::default() });
        }
        "frenzy" => {
            let lat = env("LAT", 50);
            let rate = env("RATE", 20) as f64;
            let restart = env("RESTART", 10);
            let latency = if std::env::var("PARETO").is_ok() {
                Latency::Pareto { scale: ms(1), shape: env("SHAPE", 10) as f64 / 10.0, max: ms(lat) }
            } else {
                Latency::Uniform { min: ms(1), max: ms(lat) }
            };
            s.builder = s.builder.clone()
                .links(LinkOptions { latency, ..Default::default() })
                .nemesis(NemesisOptions {
                    crash_rate: rate,
                    restart_after: DurationRange::new(ms(1), ms(restart)),
                    until: HEAL_AT,
                    ..Default::default()
                });
        }
        "frenzy-batch1" => {
            variant("frenzy", s);
            s.config.max_entries_per_append = 1;
        }
        "flapping" => s.targeted = Targeted::FlappingLeader,
        "flapping-batch1" => {
            s.targeted = Targeted::FlappingLeader;
            s.config.max_entries_per_append = 1;
        }
        "flapping-batch1-slow" => {
            variant("flapping-batch1", s);
            s.builder = s.builder.clone().links(LinkOptions { latency: Latency::Uniform { min: ms(1), max: ms(10) }, ..Default::default() });
        }
        "batch1" => s.config.max_entries_per_append = 1,
        "batch1-slow" => {
            s.config.max_entries_per_append = 1;
            s.builder = s.builder.clone().links(LinkOptions {
                latency: Latency::Uniform { min: ms(1), max: ms(30) },
                ..Default::default()
            });
        }
        other => panic!("unknown variant {other}"),
    }
}

#[test]
#[ignore]
fn explore_bugs() {
    let max = env("SEEDS", 50);
    let only = std::env::var("BUG").ok();
    let variants: Vec<String> = std::env::var("VARIANT").unwrap_or("plain".into()).split(',').map(String::from).collect();
    let bugs: [(&str, fn(&mut Bugs)); 6] = [
        ("commit_previous_term", |b| b.commit_previous_term = true),
        ("vote_without_persist", |b| b.vote_without_persist = true),
        ("no_truncate_conflict", |b| b.no_truncate_conflict = true),
        ("reply_before_sync", |b| b.reply_before_sync = true),
        ("stale_local_read", |b| b.stale_local_read = true),
        ("fixed_election_timeout", |b| b.fixed_election_timeout = true),
    ];
    let mixes: Vec<Mix> = match std::env::var("MIX") {
        Ok(m) => Mix::ALL.into_iter().filter(|x| m.split(',').any(|n| n == x.name())).collect(),
        Err(_) => Mix::ALL.to_vec(),
    };
    let vary = std::env::var("VARY").is_ok();
    for (name, set) in bugs {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        for &mix in &mixes {
            for v in &variants {
                let mut config = RaftConfig::default();
                set(&mut config.bugs);
                let mut found = Vec::new();
                for seed in 0..max {
                    let mut s = scenario(mix, seed, &config, vary);
                    variant(v, &mut s);
                    let o = run_scenario(mix, seed, s);
                    let f = o.failure().or_else(|| o.liveness.as_ref().err().map(|_| "liveness".to_string()));
                    if let Some(f) = f {
                        if found.is_empty() && std::env::var("SHOW").is_ok() {
                            println!("  {}", o.describe());
                        }
                        found.push((seed, f));
                    }
                }
                let first = found.first().cloned();
                println!("{name:22} {:20} {v:18} found {:3}/{max} first {:?} kinds {:?}", mix.name(), found.len(), first,
                    found.iter().map(|(_, f)| f.clone()).collect::<std::collections::BTreeSet<_>>());
            }
        }
    }
}

#[test]
#[ignore]
fn count_bug_path() {
    let mut config = RaftConfig::default();
    config.bugs.commit_previous_term = true;
    let variants: Vec<String> = std::env::var("VARIANT").unwrap_or("plain".into()).split(',').map(String::from).collect();
    for mix in Mix::ALL {
        for v in &variants {
            let mut total = 0;
            let mut elections = 0;
            for seed in 0..20 {
                let mut s = scenario(mix, seed, &config, false);
                variant(v, &mut s);
                let o = run_scenario(mix, seed, s);
                total += o.counters.get("bug_committed_previous_term").copied().unwrap_or(0);
                elections += o.counters.get("leader_elected").copied().unwrap_or(0);
            }
            println!("{:20} {v:14} old-term commits {total} elections {elections}", mix.name());
        }
    }
}

#[test]
#[ignore]
fn explore_clean_variants() {
    let max = env("SEEDS", 40);
    let variants: Vec<String> = std::env::var("VARIANT").unwrap_or("plain".into()).split(',').map(String::from).collect();
    let mixes: Vec<Mix> = match std::env::var("MIX") {
        Ok(m) => Mix::ALL.into_iter().filter(|x| m.split(',').any(|n| n == x.name())).collect(),
        Err(_) => Mix::ALL.to_vec(),
    };
    for &mix in &mixes {
        for v in &variants {
            let mut failures = 0;
            let mut totals = Totals::default();
            for seed in 0..max {
                let mut s = scenario(mix, seed, &RaftConfig::default(), true);
                variant(v, &mut s);
                let o = run_scenario(mix, seed, s);
                totals.add(&o);
                if o.violation.is_some() || o.history.is_err() || o.liveness.is_err() {
                    failures += 1;
                    if failures <= 2 {
                        println!("  FAIL {}", o.describe());
                    }
                }
            }
            println!("{:20} {v:20} failures {failures}/{max} ok {} info {} elections {}", mix.name(), totals.ok, totals.info, totals.counter("leader_elected"));
        }
    }
}
