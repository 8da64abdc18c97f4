//! `run`, `fuzz`, `replay` and `merge`: seeds of scenarios, run on a thread pool, caught
//! when a protocol panics, and reported in seed order so every output is byte-identical
//! whatever the number of threads.

use crate::cli::{FuzzArgs, MergeArgs, ReplayArgs, RunArgs, ScenarioArgs};
use crate::output::{OutputFile, Progress, create_all};
use crate::{Failure, load_scenario, see};
use runner::{Registry, RunOutput, RunSettings};
use scenarios::Scenario;
use sim_core::record::{RunRecord, Verdict};
use std::cell::{Cell, RefCell};
use std::io::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

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
) -> RunOutput {
    let plan = loaded.scenario.plan(seed, bugs);
    let entry = registry.get(&plan.protocol).expect("validated protocol");
    let replay = replay_command(&loaded.path, seed, bugs);
    let (verdict, failure, message) = match catching_panics(|| (entry.run)(&plan, settings)) {
        Ok(Ok(mut output)) => {
            output.record.replay = replay;
            return output;
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
    RunOutput { record, history: None, trace: Vec::new(), explanation: None }
}

/// The `--history` and `--trace` files of a run, opened before it runs.
struct RunOutputs {
    history: Option<OutputFile>,
    trace: Option<OutputFile>,
}

impl RunOutputs {
    fn open(history: Option<&Path>, trace: Option<&Path>) -> Result<Self, Failure> {
        let given: Vec<(&str, &Path)> = [("--history", history), ("--trace", trace)]
            .into_iter()
            .filter_map(|(flag, path)| Some((flag, path?)))
            .collect();
        let mut files = create_all(&given)?.into_iter();
        Ok(RunOutputs {
            history: history.map(|_| files.next().expect("opened above")),
            trace: trace.map(|_| files.next().expect("opened above")),
        })
    }
}

fn finish_run(
    output: &RunOutput,
    files: RunOutputs,
    args: (Option<&Path>, Option<&Path>),
) -> Result<u8, Failure> {
    let (history_path, trace_path) = args;
    if let (Some(mut file), Some(path)) = (files.history, history_path) {
        match &output.history {
            Some(h) => file.write_all(h.as_bytes()).map_err(cannot_write(path))?,
            None => eprintln!(
                "note: this run has no clients, so its history {} is empty",
                path.display()
            ),
        }
        file.commit()?;
    }
    if let (Some(mut file), Some(path)) = (files.trace, trace_path) {
        file.write_all(reports::trace::render(&output.trace).as_bytes())
            .map_err(cannot_write(path))?;
        file.commit()?;
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
    let files = RunOutputs::open(args.history.as_deref(), args.trace.as_deref())?;
    let views = see::Views::new(&args.see)?;
    let settings = RunSettings {
        trace: args.trace.is_some() || views.wanted(),
        history: args.history.is_some() || views.wanted(),
    };
    let output = run_seed(&loaded, registry, seed, &args.scenario.bugs, &settings);
    views.write(&loaded.scenario.plan(seed, &args.scenario.bugs), &output)?;
    finish_run(&output, files, (args.history.as_deref(), args.trace.as_deref()))
}

pub fn replay(args: ReplayArgs, registry: &Registry) -> Result<u8, Failure> {
    let loaded = load(&args.file, registry, &args.scenario)?;
    let files = RunOutputs::open(args.history.as_deref(), args.trace.as_deref())?;
    let views = see::Views::new(&args.see)?;
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
    let settings = RunSettings {
        trace: args.trace.is_some() || views.wanted(),
        history: args.history.is_some() || views.wanted(),
    };
    let output = run_seed(&loaded, registry, args.seed, &args.scenario.bugs, &settings);
    views.write(&loaded.scenario.plan(args.seed, &args.scenario.bugs), &output)?;
    finish_run(&output, files, (args.history.as_deref(), args.trace.as_deref()))
}

/// The seeds of `range` that `shard` (I of N) runs, lazily: the I-th from the start, and
/// every N-th after it. Nothing is materialised, so `--count 10000000000` or a shard of a
/// huge range costs nothing before its first seed.
fn shard_seeds(range: (u64, u64), shard: Option<(u64, u64)>) -> impl Iterator<Item = u64> {
    let (index, count) = shard.unwrap_or((0, 1));
    let mut next = range.0.checked_add(index);
    std::iter::from_fn(move || {
        let seed = next.filter(|&s| s < range.1)?;
        next = seed.checked_add(count);
        Some(seed)
    })
}

/// How many seeds [`shard_seeds`] gives.
fn shard_len(range: (u64, u64), shard: Option<(u64, u64)>) -> u64 {
    let (index, count) = shard.unwrap_or((0, 1));
    let len = range.1.saturating_sub(range.0);
    if index >= len { 0 } else { (len - index - 1) / count + 1 }
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
    // Every output is opened before the first seed, so a bad path costs nothing.
    let mut reports =
        Reports::open(args.csv.as_deref(), args.json.as_deref(), args.junit.as_deref())?;
    let mut report = see::CampaignReport::open(args.report.as_deref())?;
    reports.expecting = loaded
        .iter()
        .filter(|l| l.scenario.checks.expect_violation)
        .map(|l| Expected { scenario: l.scenario.name.clone(), seeds: 0, found: 0, first: None })
        .collect();
    let ranges: Vec<(u64, u64)> =
        loaded.iter().map(|l| range.unwrap_or(l.scenario.run.seeds)).collect();
    let total = ranges.iter().fold(0u64, |sum, &r| sum.saturating_add(shard_len(r, shard)));
    let mut jobs =
        ranges.iter().enumerate().flat_map(|(i, &r)| shard_seeds(r, shard).map(move |s| (i, s)));
    let threads =
        args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let pool =
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| Failure {
            code: crate::EXIT_INTERNAL,
            message: format!("cannot start {threads} threads: {e}"),
        })?;
    stop_on_interrupt();
    let progress = Progress::new(total, threads);
    let settings = RunSettings::default();
    // Seeds run a batch at a time, in parallel; their records go to the reports in
    // campaign order as each batch ends, so memory stays bounded and the output does not
    // depend on the number of threads. With --stop-on-first, every seed before the first
    // failure runs (in campaign order) and none after its batch.
    let batch_size = threads * 32;
    let mut ran = 0u64;
    let mut stopped_at_failure = false;
    loop {
        let batch: Vec<(usize, u64)> = jobs.by_ref().take(batch_size).collect();
        if batch.is_empty() || interrupted() {
            break;
        }
        let results: Vec<Option<RunRecord>> = pool.install(|| {
            use rayon::prelude::*;
            batch
                .par_iter()
                .map(|&(file, seed)| {
                    if interrupted() {
                        return None;
                    }
                    let record =
                        run_seed(&loaded[file], registry, seed, &args.scenario.bugs, &settings)
                            .record;
                    progress.tick(record.verdict().is_failure());
                    Some(record)
                })
                .collect()
        });
        ran += results.iter().filter(|r| r.is_some()).count() as u64;
        for (record, &(file, seed)) in results.into_iter().zip(&batch) {
            let Some(record) = record else { continue };
            let failed = record.verdict().is_failure();
            reports.add(&record)?;
            if let Some(report) = report.as_mut() {
                report.add(&record, || {
                    let traced = RunSettings { trace: true, history: true };
                    let bugs = &args.scenario.bugs;
                    let plan = loaded[file].scenario.plan(seed, bugs);
                    (plan, run_seed(&loaded[file], registry, seed, bugs, &traced))
                })?;
            }
            if failed && args.stop_on_first {
                stopped_at_failure = true;
                break;
            }
        }
        if stopped_at_failure {
            break;
        }
    }
    progress.finish();
    if stopped_at_failure && ran > reports.seeds() {
        eprintln!(
            "stopped at the first failure: the {} up to it are reported, not the {} after it that had already run",
            plural(reports.seeds() as usize, "seed"),
            plural((ran - reports.seeds()) as usize, "seed")
        );
    }
    if let Some(report) = report {
        report.finish()?;
    }
    reports.finish(interrupted())
}

/// Set when SIGINT or SIGTERM arrives: no seed starts after it.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// On the first SIGINT or SIGTERM, stop starting seeds (those running finish, and the
/// reports get every finished seed); on the second, exit at once.
fn stop_on_interrupt() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let installed = ctrlc::set_handler(|| {
            if INTERRUPTED.swap(true, Ordering::SeqCst) {
                std::process::exit(EXIT_INTERRUPTED.into());
            }
            eprintln!("interrupted: finishing the running seeds, then writing the reports (again to quit now)");
        });
        if let Err(e) = installed {
            eprintln!("warning: Ctrl-C will not save the reports: {e}");
        }
    });
}

/// The exit code of a campaign cut short by SIGINT or SIGTERM (128 + SIGINT's number,
/// as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// At most this many failures are printed, with their replay commands; the reports list
/// every one.
const FAILURES_PRINTED: usize = 100;

/// The reports of a campaign, written as its seeds finish, and the tallies of its
/// summary.
struct Reports {
    csv: Option<(reports::csv::CsvWriter<OutputFile>, PathBuf)>,
    json: Option<(reports::json::JsonWriter<OutputFile>, PathBuf)>,
    junit: Option<(reports::junit::JunitWriter<OutputFile, std::fs::File>, PathBuf)>,
    seeds: u64,
    failed: u64,
    errors: u64,
    unknown: u64,
    sometimes: reports::summary::Sometimes,
    /// What is printed of the first failures.
    failures: Vec<String>,
    exit: u8,
    /// The scenarios that expect a violation (`[checks] expect = "violation"`): their
    /// safety violations are expected, not failures, and a campaign in which one of them
    /// has none fails. (`dsim merge` reads records, not scenarios: it expects nothing.)
    expecting: Vec<Expected>,
    /// Safety violations the scenarios expected.
    as_expected: u64,
}

/// A scenario that expects a violation, and what the campaign found of it.
struct Expected {
    scenario: String,
    seeds: u64,
    found: u64,
    /// The first violation, printed with its replay command.
    first: Option<String>,
}

impl Reports {
    fn open(
        csv: Option<&Path>,
        json: Option<&Path>,
        junit: Option<&Path>,
    ) -> Result<Self, Failure> {
        let given: Vec<(&str, &Path)> = [("--csv", csv), ("--json", json), ("--junit", junit)]
            .into_iter()
            .filter_map(|(flag, path)| Some((flag, path?)))
            .collect();
        let mut files = create_all(&given)?.into_iter();
        let mut next = |path: &Path| (files.next().expect("opened above"), path.to_owned());
        let csv = match csv.map(&mut next) {
            Some((file, path)) => {
                Some((reports::csv::CsvWriter::new(file).map_err(cannot_write(&path))?, path))
            }
            None => None,
        };
        let json = match json.map(&mut next) {
            Some((file, path)) => {
                Some((reports::json::JsonWriter::new(file).map_err(cannot_write(&path))?, path))
            }
            None => None,
        };
        let junit = match junit.map(&mut next) {
            Some((file, path)) => {
                let spill = tempfile::tempfile().map_err(cannot_write(&path))?;
                Some((reports::junit::JunitWriter::new(file, spill), path))
            }
            None => None,
        };
        Ok(Reports {
            csv,
            json,
            junit,
            seeds: 0,
            failed: 0,
            errors: 0,
            unknown: 0,
            sometimes: Default::default(),
            failures: Vec::new(),
            exit: 0,
            expecting: Vec::new(),
            as_expected: 0,
        })
    }

    fn seeds(&self) -> u64 {
        self.seeds
    }

    fn add(&mut self, r: &RunRecord) -> Result<(), Failure> {
        if let Some((w, path)) = &mut self.csv {
            w.record(r).map_err(cannot_write(path))?;
        }
        if let Some((w, path)) = &mut self.json {
            w.record(r).map_err(cannot_write(path))?;
        }
        if let Some((w, path)) = &mut self.junit {
            w.record(r).map_err(cannot_write(path))?;
        }
        self.seeds += 1;
        self.sometimes.add(r);
        let verdict = r.verdict();
        self.unknown += u64::from(verdict == Verdict::Unknown);
        if let Some(expected) = self.expecting.iter_mut().find(|e| e.scenario == r.scenario) {
            expected.seeds += 1;
            if verdict == Verdict::Safety {
                expected.found += 1;
                self.as_expected += 1;
                expected.first.get_or_insert_with(|| {
                    format!(
                        "seed {}: {}\n  {}\n  replay: {}",
                        r.seed,
                        r.failure,
                        r.message.lines().next().unwrap_or(""),
                        r.replay
                    )
                });
                return Ok(());
            }
        }
        if verdict.is_failure() {
            self.failed += 1;
            self.errors += u64::from(verdict == Verdict::Error);
            if self.failures.len() < FAILURES_PRINTED {
                let label = if verdict == Verdict::Error { "ERROR" } else { "FAIL" };
                self.failures.push(format!(
                    "{label} {} seed {}: {} ({verdict})\n  {}\n  replay: {}",
                    r.scenario,
                    r.seed,
                    r.failure,
                    r.message.lines().next().unwrap_or(""),
                    r.replay
                ));
            }
        }
        // A seed that could not run means the campaign did not test what it was asked to.
        let rank = |code: u8| match code {
            3 => 3,
            1 => 2,
            2 => 1,
            _ => 0,
        };
        if rank(verdict.exit_code()) > rank(self.exit) {
            self.exit = verdict.exit_code();
        }
        Ok(())
    }

    /// Commit the reports, print the summary and the failures with their replay
    /// commands, and return the campaign's exit code.
    fn finish(self, interrupted: bool) -> Result<u8, Failure> {
        if let Some((w, path)) = self.csv {
            w.finish().map_err(cannot_write(&path))?.commit()?;
        }
        if let Some((w, path)) = self.json {
            w.finish(interrupted).map_err(cannot_write(&path))?.commit()?;
        }
        if let Some((w, path)) = self.junit {
            w.finish().map_err(cannot_write(&path))?.commit()?;
        }
        let passed = self.seeds - self.failed - self.as_expected;
        println!(
            "{}: {passed} passed, {}{} failed{}{}{}",
            plural(self.seeds as usize, "seed"),
            if self.as_expected > 0 {
                format!("{} violated as expected, ", self.as_expected)
            } else {
                String::new()
            },
            self.failed - self.errors,
            if self.errors > 0 {
                format!(", {} could not run", self.errors)
            } else {
                String::new()
            },
            if self.unknown > 0 {
                format!(" ({} with linearizability unknown)", self.unknown)
            } else {
                String::new()
            },
            if interrupted {
                " (interrupted: the reports hold every seed that finished)"
            } else {
                ""
            }
        );
        let sometimes = self.sometimes.render();
        if !sometimes.is_empty() {
            println!("{sometimes}");
        }
        for failure in &self.failures {
            println!("{failure}");
        }
        if self.failed as usize > self.failures.len() {
            println!(
                "... and {} more failures: the reports (--csv, --json, --junit) list every seed",
                self.failed as usize - self.failures.len()
            );
        }
        let mut exit = self.exit;
        for expected in &self.expecting {
            match &expected.first {
                Some(first) => println!(
                    "EXPECTED {}: {} of {} violated safety, as the scenario expects; first: {first}",
                    expected.scenario,
                    expected.found,
                    plural(expected.seeds as usize, "seed")
                ),
                None => {
                    println!(
                        "FAIL {}: expected a safety violation within {}, found none",
                        expected.scenario,
                        plural(expected.seeds as usize, "seed")
                    );
                    if exit == 0 {
                        exit = Verdict::Safety.exit_code();
                    }
                }
            }
        }
        Ok(if interrupted { EXIT_INTERRUPTED } else { exit })
    }
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
    let mut reports =
        Reports::open(args.csv.as_deref(), args.json.as_deref(), args.junit.as_deref())?;
    for record in &records {
        reports.add(record)?;
    }
    reports.finish(false)
}

/// The failure of writing the output at `path`.
fn cannot_write(path: &Path) -> impl Fn(std::io::Error) -> Failure + use<> {
    let path = path.display().to_string();
    move |e| Failure::input(format!("cannot write {path}: {e}"))
}

/// `count` and `noun`, plural unless one ("1 seed", "3 seeds").
fn plural(count: usize, noun: &str) -> String {
    if count == 1 { format!("1 {noun}") } else { format!("{count} {noun}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_seeds() {
        let all: Vec<u64> = shard_seeds((10, 20), None).collect();
        assert_eq!(all, (10..20).collect::<Vec<_>>());
        let mut joined: Vec<u64> =
            (0..3).flat_map(|i| shard_seeds((10, 20), Some((i, 3)))).collect();
        joined.sort_unstable();
        assert_eq!(joined, all);
        assert_eq!(shard_seeds((10, 20), Some((1, 3))).collect::<Vec<_>>(), vec![11, 14, 17]);
        for (range, shard) in [((10, 20), Some((1, 3))), ((0, 5), Some((7, 9))), ((3, 4), None)] {
            assert_eq!(shard_len(range, shard), shard_seeds(range, shard).count() as u64);
        }
        // A shard of the whole seed space is a handful of seeds, found at once.
        let huge = shard_seeds((0, u64::MAX), Some((0, 1_000_000_000_000_000_000)));
        assert_eq!(huge.count(), 19);
        assert_eq!(shard_len((0, u64::MAX), Some((0, 1_000_000_000_000_000_000))), 19);
        assert!(parse_shard("3/3").is_err());
        assert!(parse_shard("x").is_err());
        assert_eq!(parse_shard("2/5").unwrap(), (2, 5));
    }
}
