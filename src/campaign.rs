//! `run`, `fuzz`, `replay` and `merge`: seeds of scenarios, run on a thread pool, caught
//! when a protocol panics, and reported in seed order so every output is byte-identical
//! whatever the number of threads.

use crate::cli::{FuzzArgs, MergeArgs, ReplayArgs, RunArgs, ScenarioArgs};
use crate::output::{OutputFile, Paint, Progress, create_all, paint, style, timed};
use crate::tally::{Expected, Outputs, Reports};
use crate::{Failure, isolate, load_scenario, see, shard};
use reports::json::{Campaign, CampaignScenario, Seeds};
use runner::{Registry, RunOutput, RunSettings};
use scenarios::{RunPlan, Scenario};
use sim_core::record::{RunRecord, Verdict};
use std::cell::{Cell, RefCell};
use std::io::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

/// One scenario file of a campaign, loaded and checked.
pub(crate) struct Loaded {
    pub path: PathBuf,
    pub scenario: Scenario,
}

pub(crate) fn load(
    path: &Path,
    registry: &Registry,
    args: &ScenarioArgs,
) -> Result<Loaded, Failure> {
    let scenario = load_scenario(path, &args.sets, registry)?;
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
pub(crate) fn replay_command(path: &Path, seed: u64, args: &ScenarioArgs) -> String {
    seed_command("replay", path, seed, args)
}

/// `dsim SUBCOMMAND` on `seed` of `path` with the bug switches and keys of `args`.
pub(crate) fn seed_command(
    subcommand: &str,
    path: &Path,
    seed: u64,
    args: &ScenarioArgs,
) -> String {
    let path = shell_quote(&path.display().to_string());
    let mut command = format!("dsim {subcommand} {path} --seed {seed}");
    for bug in &args.bugs {
        command += &format!(" --bug {}", shell_quote(bug));
    }
    for set in &args.sets {
        command += &format!(" --set {}", shell_quote(set));
    }
    command
}

/// `word` as a POSIX shell reads it back: as it is when plain, else in single quotes.
fn shell_quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

thread_local! {
    /// Whether this thread is running a seed (its panics are findings, not crashes).
    static RUNNING_SEED: Cell<bool> = const { Cell::new(false) };
    /// The message of the last panic of a seed on this thread, with its location.
    static PANIC_MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Whether a seed's panics are also written to standard error: in the child of an isolated
/// campaign, so that a panic that aborts (one while panicking) is in its seed's message.
static ECHO_PANICS: AtomicBool = AtomicBool::new(false);

pub(crate) fn echo_panics() {
    ECHO_PANICS.store(true, Ordering::Relaxed);
}

/// Run `f` with its panics recorded instead of printed: a protocol panic is a finding of
/// its seed, reported with the seed's record. Panics elsewhere go to the previous hook.
pub(crate) fn catching_panics<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if RUNNING_SEED.with(Cell::get) {
                // One line, so that a report row stays one line.
                let message = info.to_string().replace(":\n", ": ").replace('\n', " ");
                if ECHO_PANICS.load(Ordering::Relaxed) {
                    eprintln!("{message}");
                }
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
pub(crate) fn run_seed(
    loaded: &Loaded,
    registry: &Registry,
    seed: u64,
    args: &ScenarioArgs,
    settings: &RunSettings,
) -> RunOutput {
    let plan = loaded.scenario.plan(seed, &args.bugs);
    let entry = registry.get(&plan.protocol).expect("validated protocol");
    let (verdict, failure, message) = match catching_panics(|| (entry.run)(&plan, settings)) {
        Ok(Ok(mut output)) => {
            output.record.replay = replay_command(&loaded.path, seed, args);
            return output;
        }
        Ok(Err(refused)) => (
            Verdict::Error,
            "configuration",
            format!("protocol {} refuses the options this seed drew: {refused}", plan.protocol),
        ),
        Err(message) => (Verdict::Safety, "panic", message),
    };
    let replay = replay_command(&loaded.path, seed, args);
    let mut output =
        RunOutput::of_record(unfinished_record(plan, replay, (verdict, failure, message)));
    // A panic keeps how far its run got: its events, trace hash and trace up to it.
    if let Some(panicked) = runner::run::take_panicked().filter(|_| verdict == Verdict::Safety) {
        output.record.events = panicked.events;
        output.record.sim_time_ns = panicked.sim_time_ns;
        output.record.trace_hash = panicked.trace_hash;
        output.trace = panicked.trace;
    }
    output
}

/// The record of a seed that ended without a run's record (it panicked, its options were
/// refused, or the process running it died): `outcome` is its verdict, failure and message.
pub(crate) fn unfinished_record(
    plan: RunPlan,
    replay: String,
    outcome: (Verdict, &str, String),
) -> RunRecord {
    let (verdict, failure, message) = outcome;
    RunRecord {
        scenario: plan.scenario,
        protocol: plan.protocol,
        seed: plan.seed,
        bugs: plan.bugs,
        verdict: Some(verdict),
        failure: failure.into(),
        message,
        drawn: plan.drawn,
        replay,
        ..RunRecord::default()
    }
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
    // -q keeps the verdict and what follows it; the verdict is coloured on a terminal.
    let colour = match output.record.verdict() {
        Verdict::Pass => Paint::Green,
        Verdict::Unknown => Paint::Yellow,
        _ => Paint::Red,
    };
    let mut past_verdict = false;
    for line in reports::summary::render(&output.record).lines() {
        if let Some(verdict) = line.strip_prefix("verdict    ") {
            past_verdict = true;
            println!("verdict    {}", paint(verdict, colour));
        } else if past_verdict || !style().quiet {
            println!("{line}");
        }
    }
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
        ..RunSettings::default()
    };
    let output = run_seed(&loaded, registry, seed, &args.scenario, &settings);
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
        match catching_panics(|| (entry.self_check)(&plan)) {
            Ok(verdict) => match verdict.map_err(Failure::input)? {
                Ok(agreement) => println!(
                    "deterministic: two runs agree on all {} events (trace hash {:016x})",
                    agreement.events, agreement.trace_hash
                ),
                Err(divergence) => {
                    println!("NONDETERMINISTIC: {divergence}");
                    return Ok(1);
                }
            },
            // The replay below reports the panic as the seed's verdict.
            Err(message) => println!("determinism not decided: the run panics ({message})"),
        }
    }
    let settings = RunSettings {
        trace: args.trace.is_some() || views.wanted(),
        history: args.history.is_some() || views.wanted(),
        ..RunSettings::default()
    };
    let output = run_seed(&loaded, registry, args.seed, &args.scenario, &settings);
    views.write(&loaded.scenario.plan(args.seed, &args.scenario.bugs), &output)?;
    finish_run(&output, files, (args.history.as_deref(), args.trace.as_deref()))
}

pub fn fuzz(args: FuzzArgs, registry: &Registry) -> Result<u8, Failure> {
    let shard = shard_of(&args)?;
    if let Some(report) = &args.rerun_failed {
        return rerun_failed(report, shard, &args, registry);
    }
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
    let mut loaded: Vec<Loaded> =
        args.files.iter().map(|f| load(f, registry, &args.scenario)).collect::<Result<_, _>>()?;
    name_uniquely(&mut loaded)?;
    if args.guided {
        if args.jobs == Some(0) {
            return Err(Failure::input("--jobs 0: expected at least one worker thread"));
        }
        return crate::guided::campaign(&loaded, args.count, &args, registry);
    }
    let campaign = Campaign {
        scenarios: loaded
            .iter()
            .map(|l| {
                let (start, end) = range.unwrap_or(l.scenario.run.seeds);
                CampaignScenario {
                    name: l.scenario.name.clone(),
                    file: l.path.display().to_string(),
                    seeds: Seeds::Range(start, end),
                }
            })
            .collect(),
        bugs: args.scenario.bugs.clone(),
        sets: args.scenario.sets.clone(),
        shard,
    };
    run_campaign(&loaded, &campaign, &args.scenario, &args, registry)
}

/// `--shard`, read (from the environment for `auto`, saying where on stderr).
fn shard_of(args: &FuzzArgs) -> Result<shard::Shard, Failure> {
    Ok(match args.shard.as_deref() {
        Some(text) => {
            let (shard, from) = shard::parse(text, |name| std::env::var(name).ok())?;
            if let Some(from) = from.filter(|_| !style().quiet) {
                eprintln!("shard {}/{} (from {from})", shard.0, shard.1);
            }
            shard
        }
        None => shard::WHOLE,
    })
}

/// Read the JSON report at `path`.
fn read_report(path: &Path) -> Result<reports::json::Report, Failure> {
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::input(format!("{}: cannot read: {e}", path.display())))?;
    reports::json::parse_from(file).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}

/// `--rerun-failed REPORT`: the failed seeds of the report's campaign (a safety
/// violation that its scenario expects is not a failure), run again with its scenarios,
/// `--bug` and `--set`.
fn rerun_failed(
    path: &Path,
    shard: shard::Shard,
    args: &FuzzArgs,
    registry: &Registry,
) -> Result<u8, Failure> {
    let report = read_report(path)?;
    let scenario_args =
        ScenarioArgs { bugs: report.campaign.bugs.clone(), sets: report.campaign.sets.clone() };
    let mut loaded = Vec::new();
    let mut scenarios = Vec::new();
    for s in &report.campaign.scenarios {
        let mut l = load(Path::new(&s.file), registry, &scenario_args)?;
        l.scenario.name.clone_from(&s.name);
        let expected =
            |r: &RunRecord| l.scenario.checks.expect_violation && r.verdict() == Verdict::Safety;
        let mut failed: Vec<u64> = report
            .records
            .iter()
            .filter(|r| r.scenario == s.name && r.verdict().is_failure() && !expected(r))
            .map(|r| r.seed)
            .collect();
        // A run of a guided campaign may have its own overrides: only its replay
        // command runs it again.
        if let Some(r) = report.records.iter().find(|r| {
            r.scenario == s.name
                && r.verdict().is_failure()
                && r.replay != replay_command(Path::new(&s.file), r.seed, &scenario_args)
        }) {
            return Err(Failure::input(format!(
                "{}: seed {} of {} ran with overrides of its own (a --guided run); run it again with: {}",
                path.display(),
                r.seed,
                s.name,
                r.replay
            )));
        }
        failed.sort_unstable();
        failed.dedup();
        if !failed.is_empty() {
            scenarios.push(CampaignScenario {
                name: s.name.clone(),
                file: s.file.clone(),
                seeds: Seeds::List(failed),
            });
            loaded.push(l);
        }
    }
    if scenarios.is_empty() {
        println!("{}: no failed seeds to run again", path.display());
        return Ok(0);
    }
    let campaign = Campaign {
        scenarios,
        bugs: scenario_args.bugs.clone(),
        sets: scenario_args.sets.clone(),
        shard,
    };
    run_campaign(&loaded, &campaign, &scenario_args, args, registry)
}

/// Give the scenarios of a campaign names no two share, so that their records (and
/// shard reports) cannot be confused: two files of one name in different directories
/// are named by their paths. The same file twice is refused.
pub(crate) fn name_uniquely(loaded: &mut [Loaded]) -> Result<(), Failure> {
    for (i, a) in loaded.iter().enumerate() {
        if let Some(b) = loaded[..i].iter().find(|b| b.path == a.path) {
            return Err(Failure::input(format!(
                "{} is given twice: a campaign runs each scenario once",
                b.path.display()
            )));
        }
    }
    let names: Vec<String> = loaded.iter().map(|l| l.scenario.name.clone()).collect();
    for l in loaded.iter_mut() {
        if names.iter().filter(|n| **n == l.scenario.name).count() > 1 {
            let path = l.path.display().to_string();
            l.scenario.name = path.strip_suffix(".toml").unwrap_or(&path).to_owned();
        }
    }
    for (i, a) in loaded.iter().enumerate() {
        if let Some(b) = loaded[..i].iter().find(|b| b.scenario.name == a.scenario.name) {
            return Err(Failure::input(format!(
                "{} and {} are both named {}: give one another `scenario.name`",
                b.path.display(),
                a.path.display(),
                a.scenario.name
            )));
        }
    }
    Ok(())
}

/// The reports of `campaign` that `args` asks for and its HTML report, opened before the
/// first seed (so a bad path costs nothing), expecting the violations its scenarios
/// expect.
pub(crate) fn open_reports(
    loaded: &[Loaded],
    campaign: &Campaign,
    args: &FuzzArgs,
) -> Result<(Reports, Option<see::CampaignReport>), Failure> {
    let outputs = Outputs {
        csv: args.csv.as_deref(),
        json: args.json.as_deref(),
        junit: args.junit.as_deref(),
        format: args.message_format,
    };
    let mut reports = Reports::open(&outputs, campaign)?;
    let report = see::CampaignReport::open(args.report.as_deref())?;
    reports.expecting = loaded
        .iter()
        .filter(|l| l.scenario.checks.expect_violation)
        .map(|l| Expected { scenario: l.scenario.name.clone(), seeds: 0, found: 0, first: None })
        .collect();
    Ok((reports, report))
}

/// Run the seeds of `campaign` (this shard's) and report them.
fn run_campaign(
    loaded: &[Loaded],
    campaign: &Campaign,
    scenario_args: &ScenarioArgs,
    args: &FuzzArgs,
    registry: &Registry,
) -> Result<u8, Failure> {
    if args.jobs == Some(0) {
        return Err(Failure::input("--jobs 0: expected at least one worker thread"));
    }
    let (mut reports, mut report) = open_reports(loaded, campaign, args)?;
    let total = campaign
        .scenarios
        .iter()
        .fold(0u64, |sum, s| sum.saturating_add(shard::len(&s.seeds, campaign.shard)));
    let mut jobs = campaign
        .scenarios
        .iter()
        .enumerate()
        .flat_map(|(i, s)| shard::seeds(&s.seeds, campaign.shard).map(move |seed| (i, seed)));
    let (pool, threads) = thread_pool(args.jobs)?;
    let mut isolated = args.isolate.then(|| {
        let timeout = args.seed_timeout.unwrap_or(isolate::DEFAULT_SEED_TIMEOUT_SECONDS);
        isolate::Workers::new(loaded, scenario_args, threads, timeout)
    });
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
        let results: Vec<Option<(RunRecord, f64)>> = match isolated.as_mut() {
            Some(workers) => workers.run_batch(&batch, loaded, scenario_args, &progress),
            None => pool.install(|| {
                use rayon::prelude::*;
                batch
                    .par_iter()
                    .map(|&(file, seed)| {
                        if interrupted() {
                            return None;
                        }
                        let (output, seconds) = timed(|| {
                            run_seed(&loaded[file], registry, seed, scenario_args, &settings)
                        });
                        progress.tick(output.record.verdict().is_failure());
                        Some((output.record, seconds))
                    })
                    .collect()
            }),
        };
        ran += results.iter().filter(|r| r.is_some()).count() as u64;
        for (result, &(file, seed)) in results.into_iter().zip(&batch) {
            let Some((record, seconds)) = result else { continue };
            let failed = record.verdict().is_failure();
            reports.add(&record, Some(seconds))?;
            if let Some(report) = report.as_mut() {
                report.add(&record, || {
                    let traced =
                        RunSettings { trace: true, history: true, ..RunSettings::default() };
                    let plan = loaded[file].scenario.plan(seed, &scenario_args.bugs);
                    // A seed that killed its process would kill this one: its page has
                    // its record alone.
                    let output = if isolate::died(&record) {
                        RunOutput::of_record(record.clone())
                    } else {
                        run_seed(&loaded[file], registry, seed, scenario_args, &traced)
                    };
                    (plan, output)
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

/// A pool of `jobs` worker threads (default: one per core), and how many.
pub(crate) fn thread_pool(jobs: Option<usize>) -> Result<(rayon::ThreadPool, usize), Failure> {
    let threads =
        jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    let pool =
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| Failure {
            code: crate::EXIT_INTERNAL,
            message: format!("cannot start {threads} threads: {e}"),
        })?;
    Ok((pool, threads))
}

pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// On the first SIGINT or SIGTERM, stop starting seeds (those running finish, and the
/// reports get every finished seed); on the second, exit at once.
pub(crate) fn stop_on_interrupt() {
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

pub fn merge(args: MergeArgs) -> Result<u8, Failure> {
    let shards =
        args.reports.iter().map(|p| Ok((p.clone(), read_report(p)?))).collect::<Result<_, _>>()?;
    let (campaign, records) = shard::join(shards)?;
    let outputs = Outputs {
        csv: args.csv.as_deref(),
        json: args.json.as_deref(),
        junit: args.junit.as_deref(),
        format: args.message_format,
    };
    let mut reports = Reports::open(&outputs, &campaign)?;
    for record in &records {
        reports.add(record, None)?;
    }
    reports.finish(false)
}

/// The failure of writing the output at `path`.
pub(crate) fn cannot_write(path: &Path) -> impl Fn(std::io::Error) -> Failure + use<> {
    let path = path.display().to_string();
    move |e| Failure::input(format!("cannot write {path}: {e}"))
}

/// `count` and `noun`, plural unless one ("1 seed", "3 seeds").
pub(crate) fn plural(count: usize, noun: &str) -> String {
    if count == 1 { format!("1 {noun}") } else { format!("{count} {noun}s") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_commands_quote_what_a_shell_would_split() {
        let args = ScenarioArgs {
            bugs: vec!["stale_local_read".into()],
            sets: vec!["network.loss=[0.0, 0.1]".into(), "scenario.description=it's".into()],
        };
        assert_eq!(
            replay_command(Path::new("my dir/a.toml"), 7, &args),
            r"dsim replay 'my dir/a.toml' --seed 7 --bug stale_local_read --set 'network.loss=[0.0, 0.1]' --set 'scenario.description=it'\''s'"
        );
    }
}
