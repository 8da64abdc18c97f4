//! `run`, `fuzz`, `replay` and `merge`: seeds of scenarios, run on a thread pool, caught
//! when a protocol panics, and reported in seed order so every output is byte-identical
//! whatever the number of threads.

use crate::cli::{FuzzArgs, MergeArgs, ReplayArgs, RunArgs, ScenarioArgs};
use crate::output::{Progress, write_output};
use crate::{Failure, load_scenario};
use runner::{Registry, RunOutput, RunSettings};
use scenarios::Scenario;
use sim_core::record::{RunRecord, Verdict};
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One scenario file of a campaign, loaded and checked.
struct Loaded {
    path: PathBuf,
    scenario: Scenario,
}

fn load(path: &Path, registry: &Registry, args: &ScenarioArgs) -> Result<Loaded, Failure> {
    let scenario = load_scenario(path, registry)?;
    let entry = registry.get(&scenario.protocol).expect("validated protocol");
    for bug in &args.bugs {
        entry.bug(bug).map_err(|message| {
            Failure::input(format!("--bug {bug}: protocol {}: {message}", entry.name))
        })?;
    }
    if let Some(refusal) = scenario.refusal(registry.catalogue(), &args.bugs) {
        return Err(Failure::input(format!(
            "{}: with --bug {}: {}",
            path.display(),
            args.bugs.join(" --bug "),
            refusal.describe(entry.name)
        )));
    }
    Ok(Loaded { path: path.to_owned(), scenario })
}

/// The one command that replays `seed` of `path`.
fn replay_command(path: &Path, seed: u64, bugs: &[String]) -> String {
    let mut command = format!("dsim replay {} --seed {seed}", path.display());
    for bug in bugs {
        command += &format!(" --bug {bug}");
    }
    command
}

thread_local! {
    /// Whether this thread is running a seed (its panics are findings, not crashes).
    static RUNNING_SEED: Cell<bool> = const { Cell::new(false) };
    /// The message of the last panic of a seed on this thread, with its location.
    static PANIC_MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Run `f` with its panics recorded instead of printed: a protocol panic is a finding of
/// its seed, reported with the seed's record. Panics elsewhere go to the previous hook.
fn catching_panics<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if RUNNING_SEED.with(Cell::get) {
                // One line, so that a report row stays one line.
                let message = info.to_string().replace(":\n", ": ").replace('\n', " ");
                PANIC_MESSAGE.with(|m| *m.borrow_mut() = Some(message));
            } else {
                previous(info);
            }
        }));
    });
    RUNNING_SEED.with(|r| r.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    RUNNING_SEED.with(|r| r.set(false));
    result.map_err(|_| {
        PANIC_MESSAGE.with(|m| m.borrow_mut().take()).unwrap_or_else(|| "panicked".into())
    })
}

/// Run one seed; a panic becomes a safety failure of that seed, and options the protocol
/// refuses (a swarm draw between the ends that load checked) an error of that seed.
fn run_seed(
    loaded: &Loaded,
    registry: &Registry,
    seed: u64,
    bugs: &[String],
    settings: &RunSettings,
) -> Result<RunOutput, Failure> {
    let plan = loaded.scenario.plan(seed, bugs);
    let entry = registry.get(&plan.protocol).expect("validated protocol");
    let replay = replay_command(&loaded.path, seed, bugs);
    let (verdict, failure, message) = match catching_panics(|| (entry.run)(&plan, settings)) {
        Ok(Ok(mut output)) => {
            output.record.replay = replay;
            return Ok(output);
        }
        Ok(Err(refused)) => (
            Verdict::Error,
            "configuration",
            format!("protocol {} refuses the options this seed drew: {refused}", plan.protocol),
        ),
        Err(message) => (Verdict::Safety, "panic", message),
    };
    let record = RunRecord {
        scenario: plan.scenario.clone(),
        protocol: plan.protocol.clone(),
        seed,
        bugs: plan.bugs.clone(),
        verdict: Some(verdict),
        failure: failure.into(),
        message,
        drawn: plan.drawn.clone(),
        replay,
        ..RunRecord::default()
    };
    Ok(RunOutput { record, history: None, trace: Vec::new(), explanation: None })
}

fn finish_run(
    output: &RunOutput,
    history: Option<&Path>,
    trace: Option<&Path>,
) -> Result<u8, Failure> {
    if let (Some(path), Some(h)) = (history, &output.history) {
        write_output(path, h)?;
    }
    if let Some(path) = trace {
        write_output(path, &reports::trace::render(&output.trace))?;
    }
    print!("{}", reports::summary::render(&output.record));
    if output.record.verdict() == Verdict::Error {
        eprintln!("error: seed {}: {}", output.record.seed, output.record.message);
    }
    if let Some(explanation) = &output.explanation {
        println!("\n{explanation}");
    }
    if output.record.verdict().is_failure() {
        println!("replay: {}", output.record.replay);
    }
    Ok(output.record.verdict().exit_code())
}

pub fn run_one(args: RunArgs, registry: &Registry) -> Result<u8, Failure> {
    let loaded = load(&args.file, registry, &args.scenario)?;
    let seed = args.seed.unwrap_or(loaded.scenario.run.seeds.0);
    let settings = RunSettings { trace: args.trace.is_some(), history: args.history.is_some() };
    let output = run_seed(&loaded, registry, seed, &args.scenario.bugs, &settings)?;
    finish_run(&output, args.history.as_deref(), args.trace.as_deref())
}

pub fn replay(args: ReplayArgs, registry: &Registry) -> Result<u8, Failure> {
    let loaded = load(&args.file, registry, &args.scenario)?;
    if args.check_determinism {
        let plan = loaded.scenario.plan(args.seed, &args.scenario.bugs);
        let entry = registry.get(&plan.protocol).expect("validated protocol");
        let verdict = (entry.self_check)(&plan).map_err(Failure::input)?;
        match verdict {
            Ok(agreement) => println!(
                "deterministic: two runs agree on all {} events (trace hash {:016x})",
                agreement.events, agreement.trace_hash
            ),
            Err(divergence) => {
                println!("NONDETERMINISTIC: {divergence}");
                return Ok(1);
            }
        }
    }
    let settings = RunSettings { trace: args.trace.is_some(), history: args.history.is_some() };
    let output = run_seed(&loaded, registry, args.seed, &args.scenario.bugs, &settings)?;
    finish_run(&output, args.history.as_deref(), args.trace.as_deref())
}

/// Which seeds a campaign runs.
fn seed_list(range: (u64, u64), shard: Option<(u64, u64)>) -> Vec<u64> {
    let (index, count) = shard.unwrap_or((0, 1));
    (range.0..range.1).filter(|s| (s - range.0) % count == index).collect()
}

fn parse_shard(text: &str) -> Result<(u64, u64), Failure> {
    let parsed = text
        .split_once('/')
        .and_then(|(i, n)| Some((i.parse::<u64>().ok()?, n.parse::<u64>().ok()?)));
    match parsed {
        Some((i, n)) if n > 0 && i < n => Ok((i, n)),
        _ => Err(Failure::input(format!(
            "--shard {text}: expected I/N with 0 <= I < N, e.g. --shard 0/4"
        ))),
    }
}

pub fn fuzz(args: FuzzArgs, registry: &Registry) -> Result<u8, Failure> {
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let range = match (&args.seeds, args.count) {
        (Some(text), _) => Some(scenarios::schema::parse_seed_range(text).ok_or_else(|| {
            Failure::input(format!(
                "--seeds {text}: expected A..B with A < B (B excluded), e.g. --seeds 0..1000"
            ))
        })?),
        (None, Some(0)) => {
            return Err(Failure::input("--count 0: a campaign needs at least one seed"));
        }
        (None, Some(n)) => Some((0, n)),
        (None, None) => None,
    };
    if args.jobs == Some(0) {
        return Err(Failure::input("--jobs 0: expected at least one worker thread"));
    }
    let loaded: Vec<Loaded> =
        args.files.iter().map(|f| load(f, registry, &args.scenario)).collect::<Result<_, _>>()?;
    let jobs: Vec<(usize, u64)> = loaded
        .iter()
        .enumerate()
        .flat_map(|(i, l)| {
            seed_list(range.unwrap_or(l.scenario.run.seeds), shard).into_iter().map(move |s| (i, s))
        })
        .collect();
    let threads =
        args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let pool =
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| Failure {
            code: crate::EXIT_INTERNAL,
            message: format!("cannot start {threads} threads: {e}"),
        })?;
    let progress = Progress::new(jobs.len() as u64, threads);
    // With --stop-on-first, seeds after the first failure (in campaign order) are skipped;
    // every seed before it still runs, so the result does not depend on scheduling.
    let first_failure = AtomicUsize::new(usize::MAX);
    let settings = RunSettings::default();
    let results: Vec<Option<Result<RunRecord, Failure>>> = pool.install(|| {
        use rayon::prelude::*;
        jobs.par_iter()
            .enumerate()
            .map(|(i, &(file, seed))| {
                if args.stop_on_first && i > first_failure.load(Ordering::SeqCst) {
                    return None;
                }
                let result =
                    run_seed(&loaded[file], registry, seed, &args.scenario.bugs, &settings)
                        .map(|output| output.record);
                let failed = matches!(&result, Ok(r) if r.verdict().is_failure());
                if failed {
                    first_failure.fetch_min(i, Ordering::SeqCst);
                }
                progress.tick(failed);
                Some(result)
            })
            .collect()
    });
    progress.finish();
    let cutoff = if args.stop_on_first { first_failure.into_inner() } else { usize::MAX };
    let records: Vec<RunRecord> = results
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i <= cutoff)
        .filter_map(|(_, r)| r)
        .collect::<Result<_, _>>()?;
    let expecting: Vec<&str> = loaded
        .iter()
        .filter(|l| l.scenario.checks.expect_violation)
        .map(|l| l.scenario.name.as_str())
        .collect();
    report(&records, &expecting, args.csv.as_deref(), args.json.as_deref(), args.junit.as_deref())
}

/// Write the requested reports, print the failures with their replay commands, and
/// return the campaign's exit code. The scenarios in `expecting` expect a violation
/// (`[checks] expect = "violation"`): their safety violations are reported as expected, and
/// the campaign fails if one of them has none.
fn report(
    records: &[RunRecord],
    expecting: &[&str],
    csv: Option<&Path>,
    json: Option<&Path>,
    junit: Option<&Path>,
) -> Result<u8, Failure> {
    if let Some(path) = csv {
        write_output(path, &reports::csv::render(records))?;
    }
    if let Some(path) = json {
        write_output(path, &reports::json::render(records))?;
    }
    if let Some(path) = junit {
        write_output(path, &reports::junit::render(records))?;
    }
    let expected =
        |r: &RunRecord| r.verdict() == Verdict::Safety && expecting.contains(&r.scenario.as_str());
    let failures: Vec<&RunRecord> =
        records.iter().filter(|r| r.verdict().is_failure() && !expected(r)).collect();
    let as_expected = records.iter().filter(|r| expected(r)).count();
    let unknown = records.iter().filter(|r| r.verdict() == Verdict::Unknown).count();
    let errors = records.iter().filter(|r| r.verdict() == Verdict::Error).count();
    println!(
        "{} seeds: {} passed, {}{} failed{}{}",
        records.len(),
        records.len() - failures.len() - as_expected,
        if as_expected > 0 {
            format!("{as_expected} violated as expected, ")
        } else {
            String::new()
        },
        failures.len() - errors,
        if errors > 0 { format!(", {errors} could not run") } else { String::new() },
        if unknown > 0 {
            format!(" ({unknown} with linearizability unknown)")
        } else {
            String::new()
        }
    );
    let sometimes = reports::summary::sometimes(records);
    if !sometimes.is_empty() {
        println!("{sometimes}");
    }
    for r in &failures {
        let label = if r.verdict() == Verdict::Error { "ERROR" } else { "FAIL" };
        println!("{label} {} seed {}: {} ({})", r.scenario, r.seed, r.failure, r.verdict());
        println!("  {}", r.message.lines().next().unwrap_or(""));
        println!("  replay: {}", r.replay);
    }
    let mut unmet = false;
    for &scenario in expecting {
        let seeds: Vec<&RunRecord> = records.iter().filter(|r| r.scenario == scenario).collect();
        match seeds.iter().find(|r| expected(r)) {
            Some(first) => {
                let count = seeds.iter().filter(|r| expected(r)).count();
                println!(
                    "EXPECTED {scenario}: {count} of {} seeds violate safety, as the scenario expects; first: seed {}: {}",
                    seeds.len(),
                    first.seed,
                    first.failure
                );
                println!("  {}", first.message.lines().next().unwrap_or(""));
                println!("  replay: {}", first.replay);
            }
            None => {
                unmet = true;
                println!(
                    "FAIL {scenario}: expected a safety violation within {} seeds, found none",
                    seeds.len()
                );
            }
        }
    }
    // A seed that could not run means the campaign did not test what it was asked to.
    let worst = records
        .iter()
        .filter(|r| !expected(r))
        .map(RunRecord::verdict)
        .max_by_key(|v| match v {
            Verdict::Error => 3,
            Verdict::Safety => 2,
            Verdict::Liveness => 1,
            _ => 0,
        })
        .map_or(0, Verdict::exit_code);
    Ok(if worst == 0 && unmet { Verdict::Safety.exit_code() } else { worst })
}

pub fn merge(args: MergeArgs) -> Result<u8, Failure> {
    let mut records = Vec::new();
    for path in &args.reports {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::input(format!("{}: cannot read: {e}", path.display())))?;
        let parsed = reports::json::parse(&text)
            .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
        records.extend(parsed);
    }
    // A campaign's order: scenario by first appearance, then seed.
    let mut scenario_order: Vec<String> = Vec::new();
    for r in &records {
        if !scenario_order.contains(&r.scenario) {
            scenario_order.push(r.scenario.clone());
        }
    }
    records.sort_by_key(|r| (scenario_order.iter().position(|s| *s == r.scenario), r.seed));
    let before = records.len();
    records.dedup_by(|a, b| a.scenario == b.scenario && a.seed == b.seed);
    if records.len() != before {
        return Err(Failure::input("the reports overlap: a seed appears in more than one shard"));
    }
    // Shard reports hold records, not scenarios: what a scenario expects is not known here.
    report(&records, &[], args.csv.as_deref(), args.json.as_deref(), args.junit.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_seeds() {
        let all = seed_list((10, 20), None);
        let mut joined: Vec<u64> = (0..3).flat_map(|i| seed_list((10, 20), Some((i, 3)))).collect();
        joined.sort_unstable();
        assert_eq!(joined, all);
        assert_eq!(seed_list((10, 20), Some((1, 3))), vec![11, 14, 17]);
        assert!(parse_shard("3/3").is_err());
        assert!(parse_shard("x").is_err());
        assert_eq!(parse_shard("2/5").unwrap(), (2, 5));
    }
}
