mod common;
use common::*;
use protocols::raft::RaftConfig;

#[test]
#[ignore]
fn explore() {
    let mixes: Vec<Mix> = match std::env::var("MIX") {
        Ok(m) => Mix::ALL.into_iter().filter(|x| x.name() == m).collect(),
        Err(_) => Mix::ALL.to_vec(),
    };
    let seeds: u64 = std::env::var("SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    for mix in mixes {
        let mut totals = Totals::default();
        let mut failures = 0;
        for seed in 0..seeds {
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
