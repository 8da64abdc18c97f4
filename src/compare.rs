//! `dsim compare`: scenarios side by side on the same seeds (seeds `0..count` of each):
//! p50 and p99 latency of the writes and of the reads that completed ok, pooled over all
//! of a scenario's seeds, and messages sent per operation invoked. A table on stdout, and
//! the same as CSV with `--csv`. Seeds run on a thread pool; the figures do not depend
//! on the number of threads.

use crate::Failure;
use crate::campaign::{Loaded, load, run_seed, thread_pool};
use crate::cli::{CompareArgs, ScenarioArgs};
use crate::output::OutputFile;
use runner::{Registry, RunSettings};
use sim_core::checker::quantile;
use sim_core::record::Verdict;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

/// The operations the table reports, by their history label.
const OPERATIONS: [&str; 2] = ["write", "read"];

/// One scenario's row.
struct Row {
    scenario: String,
    protocol: String,
    seeds: u64,
    failed: u64,
    ops_invoked: u64,
    messages_sent: u64,
    /// Per operation of [`OPERATIONS`]: p50 and p99 in nanoseconds (`None`: no such
    /// operation completed).
    latency: Vec<Option<(u64, u64)>>,
}

impl Row {
    /// Messages per operation, in hundredths (integer arithmetic: the same on every machine).
    fn messages_per_op_centi(&self) -> u64 {
        (self.messages_sent * 100 + self.ops_invoked / 2) / self.ops_invoked.max(1)
    }
}

pub fn compare(args: CompareArgs, registry: &Registry) -> Result<u8, Failure> {
    if args.count == 0 {
        return Err(Failure::input("--count 0: expected at least one seed"));
    }
    if args.jobs == Some(0) {
        return Err(Failure::input("--jobs 0: expected at least one worker thread"));
    }
    let scenario_args = ScenarioArgs::default();
    let loaded: Vec<Loaded> = args
        .files
        .iter()
        .map(|path| load(path, registry, &scenario_args))
        .collect::<Result<_, _>>()?;
    let mut csv = args.csv.as_deref().map(OutputFile::create).transpose()?;
    let (pool, _) = thread_pool(args.jobs)?;
    let settings = RunSettings { latencies: true, ..RunSettings::default() };
    let mut worst = Verdict::Pass;
    let mut rows = Vec::new();
    for scenario in &loaded {
        let outputs: Vec<_> = pool.install(|| {
            use rayon::prelude::*;
            (0..args.count)
                .into_par_iter()
                .map(|seed| run_seed(scenario, registry, seed, &scenario_args, &settings))
                .collect()
        });
        let mut latencies: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        let mut row = Row {
            scenario: scenario.scenario.name.clone(),
            protocol: scenario.scenario.protocol.clone(),
            seeds: args.count,
            failed: 0,
            ops_invoked: 0,
            messages_sent: 0,
            latency: Vec::new(),
        };
        for output in outputs {
            let record = &output.record;
            worst = worst.max(record.verdict());
            row.failed += u64::from(record.verdict().is_failure());
            row.ops_invoked += record.ops_invoked;
            row.messages_sent += record.messages_sent;
            for (operation, values) in output.latencies {
                latencies.entry(operation).or_default().extend(values);
            }
        }
        row.latency = OPERATIONS
            .iter()
            .map(|operation| {
                let values = latencies.get_mut(*operation)?;
                values.sort_unstable();
                Some((quantile(values, 0.5)?, quantile(values, 0.99)?))
            })
            .collect();
        rows.push(row);
    }
    print!("{}", table(&rows));
    if let Some(file) = csv.as_mut() {
        file.write_all(to_csv(&rows).as_bytes())
            .map_err(|e| Failure::input(format!("cannot write the CSV: {e}")))?;
    }
    if let Some(file) = csv {
        file.commit()?;
    }
    Ok(worst.exit_code())
}

/// Nanoseconds as milliseconds with three decimals.
fn ms(ns: u64) -> String {
    format!("{}.{:03}ms", ns / 1_000_000, ns / 1_000 % 1_000)
}

fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<20} {:<15} {:>5} {:>6} {:>8} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "scenario",
        "protocol",
        "seeds",
        "failed",
        "ops",
        "write p50",
        "write p99",
        "read p50",
        "read p99",
        "msgs/op"
    );
    for row in rows {
        let mut cells = Vec::new();
        for latency in &row.latency {
            match latency {
                Some((p50, p99)) => cells.extend([ms(*p50), ms(*p99)]),
                None => cells.extend(["-".to_owned(), "-".to_owned()]),
            }
        }
        let per_op = row.messages_per_op_centi();
        let _ = writeln!(
            out,
            "{:<20} {:<15} {:>5} {:>6} {:>8} {:>10} {:>10} {:>10} {:>10} {:>8}",
            row.scenario,
            row.protocol,
            row.seeds,
            row.failed,
            row.ops_invoked,
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            format!("{}.{:02}", per_op / 100, per_op % 100)
        );
    }
    out
}

fn to_csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "scenario,protocol,seeds,failed,ops_invoked,messages_sent,write_p50_ns,write_p99_ns,read_p50_ns,read_p99_ns\n",
    );
    for row in rows {
        let _ = write!(
            out,
            "{},{},{},{},{},{}",
            row.scenario, row.protocol, row.seeds, row.failed, row.ops_invoked, row.messages_sent
        );
        for latency in &row.latency {
            match latency {
                Some((p50, p99)) => write!(out, ",{p50},{p99}"),
                None => write!(out, ",,"),
            }
            .expect("writing to a String");
        }
        out.push('\n');
    }
    out
}
