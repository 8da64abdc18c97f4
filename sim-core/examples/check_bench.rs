//! Times the linearizability checker on every real history in `testdata/histories`
//! and on generated ones, printing milliseconds per file.
//!
//! ```text
//! cargo run -p sim-core --release --example check_bench [-- HISTORIES_FOLDER]
//! ```
// A benchmark measures wall-clock time, which simulation code must never read.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use sim_core::check::generate::{self, Options, Workload};
use sim_core::check::{self, DEFAULT_BUDGET, Format, ModelKind, Verdict};
use sim_core::history::History;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/histories"));
    let folders = [
        ("knossos/cas-register/good", ModelKind::CasRegister),
        ("knossos/cas-register/bad", ModelKind::CasRegister),
        ("porcupine/kv", ModelKind::KeyValue),
    ];
    let mut total_ms = 0.0;
    let mut files = 0;
    let mut slowest = (0.0, String::new());
    for (folder, model) in folders {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(folder))
            .unwrap_or_else(|error| panic!("{}: {error}", root.join(folder).display()))
            .map(|entry| entry.expect("entry").path())
            .collect();
        paths.sort();
        for path in paths {
            let start = Instant::now();
            let text = std::fs::read_to_string(&path).expect("readable");
            let history = check::parse_history(&text, Format::JepsenEdn).expect("parses");
            let parsed = start.elapsed();
            let verdict = model.check(&history, DEFAULT_BUDGET).expect("well-formed");
            let elapsed = start.elapsed();
            let ms = elapsed.as_secs_f64() * 1e3;
            total_ms += ms;
            files += 1;
            let name = path.strip_prefix(&root).unwrap_or(&path).display().to_string();
            if ms > slowest.0 {
                slowest = (ms, name.clone());
            }
            if folder == "porcupine/kv" || ms > 5.0 {
                println!(
                    "{name:<55} {:>8.2} ms (parse {:.2} ms)  {}",
                    ms,
                    parsed.as_secs_f64() * 1e3,
                    short(&verdict)
                );
            }
        }
    }
    println!(
        "{files} files in {total_ms:.1} ms total (slowest {} at {:.2} ms)",
        slowest.1, slowest.0
    );

    let c50 = root.join("porcupine/kv/c50-bad.txt");
    let text = std::fs::read_to_string(&c50).expect("c50-bad.txt");
    let history = check::parse_history(&text, Format::JepsenEdn).expect("parses");
    let best = (0..10)
        .map(|_| {
            let start = Instant::now();
            let verdict = ModelKind::KeyValue.check(&history, DEFAULT_BUDGET).expect("ok");
            assert!(matches!(verdict, Verdict::NotLinearizable(_)));
            start.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min);
    println!("c50-bad.txt check only, best of 10: {best:.2} ms");
    for (file, model) in [
        ("porcupine/kv/c50-ok.txt", ModelKind::KeyValue),
        ("porcupine/kv/c50-bad.txt", ModelKind::KeyValue),
        ("knossos/cas-register/good/mongodb-v0-ack-rollback-8.edn", ModelKind::CasRegister),
        ("knossos/cas-register/bad/mongodb-v0-ack-rollback-6.edn", ModelKind::CasRegister),
    ] {
        let text = std::fs::read_to_string(root.join(file)).expect("readable");
        let history = check::parse_history(&text, Format::JepsenEdn).expect("parses");
        let needed = (10..40)
            .map(|power| 1u64 << power)
            .find(|&budget| {
                !matches!(model.check(&history, budget).expect("ok"), Verdict::Unknown { .. })
            })
            .unwrap_or(u64::MAX);
        println!("{file}: answered within a budget of {needed} units (next power of two)");
    }

    for (workload, model, name) in [
        (Workload::KeyValue, ModelKind::KeyValue, "kv"),
        (Workload::CasRegister, ModelKind::CasRegister, "cas-register"),
    ] {
        for (info, label) in [(0, "all ok"), (1, "1% info, 1% fail")] {
            let options = Options {
                workload,
                info_percent: info,
                fail_percent: info,
                ..Options::new(1, 100_000, 10, 20)
            };
            bench_generated(&generate::generate(&options), model, &format!("{name}, {label}"));
        }
    }
}

fn bench_generated(history: &History, model: ModelKind, label: &str) {
    let start = Instant::now();
    let verdict = model.check(history, DEFAULT_BUDGET).expect("well-formed");
    let ms = start.elapsed().as_secs_f64() * 1e3;
    println!(
        "generated 100,000 ops, 10 keys, 20 processes ({label}): {ms:.1} ms  {}",
        short(&verdict)
    );
    let corrupted = generate::with_impossible_read(history, 7).expect("has reads");
    let start = Instant::now();
    let verdict = model.check(&corrupted, DEFAULT_BUDGET).expect("well-formed");
    let ms = start.elapsed().as_secs_f64() * 1e3;
    println!("  the same with one impossible read: {ms:.1} ms  {}", short(&verdict));
}

fn short(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Linearizable => "linearizable".to_string(),
        Verdict::NotLinearizable(violation) => format!(
            "NOT linearizable (key {}, prefix {}, frontier {})",
            violation.key.as_ref().map_or("-".to_string(), |key| key.to_string()),
            violation.prefix.len(),
            violation.frontier.len()
        ),
        Verdict::Unknown { .. } => format!("{verdict}"),
    }
}
