//! `dsim run --dry-run` and `dsim shrink`. A dry run prints the scenario resolved for a
//! seed. Shrinking resolves the scenario for the failing seed, turns the faults that fired
//! into an explicit schedule with the nemesis off, then delta-debugs it (drops faults,
//! nodes, clients, operations and keys, shortens the run, simplifies the network, clocks
//! and disks), keeping a change only while the run still fails the same way, in no more
//! events. Every candidate is written as TOML and loaded again, so it is validated as a
//! user's file is, and the result is the file itself.
//!
//! Candidates run a fixed window at a time in parallel, and the first in their fixed order
//! that still fails is kept: the result and the number of runs are the same whatever the
//! thread count.

use crate::campaign::{self, Loaded, catching_panics, load};
use crate::cli::{RunArgs, ShrinkArgs};
use crate::output::write_output;
use crate::{Failure, write_stdout};
use rayon::prelude::*;
use runner::{Registry, RunSettings};
use scenarios::reader::Knob;
use scenarios::schema::{ClockSpec, LatencySpec, LinkSpec, WorkloadSpec};
use scenarios::{Scenario, load_str};
use sim_core::SimDuration;
use sim_core::faults::{FaultAction, Partition};
use sim_core::node::NodeId;
use sim_core::protocol::OptionValue;
use sim_core::record::{RunRecord, Verdict};
use std::path::Path;

/// `dsim run FILE --seed N --dry-run`: the scenario resolved for the seed, validated
/// (loaded again, so a draw the protocol refuses is reported), printed and not run.
pub fn dry_run(args: &RunArgs, registry: &Registry) -> Result<u8, Failure> {
    let loaded = load(&args.file, registry, &args.scenario)?;
    let seed = args.seed.unwrap_or(loaded.scenario.run.seeds.0);
    let (plan, resolved) = loaded.scenario.plan_resolved(seed, &args.scenario.bugs);
    let mut header = format!(
        "{} resolved for seed {seed}: `{} --dry-run`.\n\
         Every swarm knob is fixed to its draw and run.seeds is the seed, so every other\n\
         random stream is the original run's: `dsim run` on this file repeats that run\n\
         event for event.\n",
        loaded.scenario.name,
        campaign::seed_command("run", &args.file, seed, &args.scenario)
    );
    for (key, value) in &plan.drawn {
        header += &format!("drawn: {key} = {value}\n");
    }
    let text = resolved.to_toml(&header);
    reload(&text, &args.file, registry)?;
    write_stdout(text.as_bytes())?;
    Ok(0)
}

/// `text`, a scenario written from `origin`, loaded again: `None` when it does not
/// validate (a protocol that refuses a drawn combination, a shrunk run too short for
/// its checks).
fn reload(text: &str, origin: &Path, registry: &Registry) -> Result<Scenario, Failure> {
    let path = origin.with_extension("resolved.toml");
    load_str(&path, text, registry.catalogue()).map_err(|e| {
        Failure::input(format!(
            "{}: the resolved scenario does not validate: {}",
            origin.display(),
            e.to_string().trim_start_matches("error: ")
        ))
    })
}

/// How a run fails: its verdict and property, and for linearizability the key and the
/// kind of the operation that cannot be ordered (a read, a write, a cas).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub verdict: Verdict,
    pub property: String,
    pub anomaly: Option<(String, String)>,
}

impl Signature {
    fn of(record: &RunRecord) -> Signature {
        let anomaly = (record.failure == "linearizability")
            .then(|| {
                let message = &record.message;
                let key = message.split("key ").nth(1)?.split(" (").next()?;
                let op = message.split(") process ").nth(1)?.split(": ").nth(1)?;
                Some((key.to_owned(), op.split_whitespace().next()?.to_owned()))
            })
            .flatten();
        Signature { verdict: record.verdict(), property: record.failure.clone(), anomaly }
    }
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.verdict.name(), self.property)?;
        if let Some((key, op)) = &self.anomaly {
            write!(f, ", key {key}: a {op} that cannot be ordered")?;
        }
        Ok(())
    }
}

/// The size of a failing run and its scenario.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Size {
    pub faults: usize,
    pub nodes: u32,
    pub clients: u32,
    /// The workload's `keys`, for a workload that has them.
    pub keys: Option<i64>,
    pub operations: u64,
    pub events: u64,
    /// `run.duration`.
    pub duration: SimDuration,
}

impl Size {
    fn of(scenario: &Scenario, faults: usize, record: &RunRecord) -> Size {
        let workload = scenario.workload.as_ref();
        let clients = match workload.map(|w| &w.clients) {
            Some(Knob::Fixed(n)) => *n as u32,
            _ => 0,
        };
        // The most keys of any phase's workload (or of the one workload).
        let phases = scenario.phases.iter().filter_map(|p| p.workload.as_ref());
        let keys = workload.into_iter().chain(phases).filter_map(fixed_keys).max();
        Size {
            faults,
            nodes: scenario.most_nodes(),
            clients,
            keys,
            operations: record.ops_invoked,
            events: record.events,
            duration: scenario.run.duration,
        }
    }

    /// No part larger than `other`'s, and some part smaller.
    pub fn is_smaller_than(&self, other: &Size) -> bool {
        self.is_no_larger_than(other) && self != other
    }

    /// No part larger than `other`'s.
    pub fn is_no_larger_than(&self, other: &Size) -> bool {
        let keys = match (self.keys, other.keys) {
            (Some(a), Some(b)) => a <= b,
            (a, b) => a == b,
        };
        self.faults <= other.faults
            && self.nodes <= other.nodes
            && self.clients <= other.clients
            && keys
            && self.operations <= other.operations
            && self.events <= other.events
            && self.duration <= other.duration
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "faults {}, nodes {}, clients {}", self.faults, self.nodes, self.clients)?;
        if let Some(keys) = self.keys {
            write!(f, ", keys {keys}")?;
        }
        write!(f, ", operations {}, events {}, run {}", self.operations, self.events, self.duration)
    }
}

/// A shrunk failure.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The minimal scenario: explicit faults (or the nemesis, when the explicit schedule
    /// did not fail the same way), every knob fixed, the bug switches in the file.
    pub scenario: Scenario,
    pub signature: Signature,
    pub before: Size,
    pub after: Size,
    /// Runs spent, the first included.
    pub runs: u64,
    /// Whether the faults were made explicit (the nemesis off).
    pub explicit: bool,
}

/// How many candidates run at once.
const WINDOW: usize = 8;

/// What shrinking runs with.
struct Shrinker<'a> {
    registry: &'a Registry,
    origin: &'a Path,
    seed: u64,
    signature: Signature,
    /// The size of the smallest failing run yet: a candidate larger in any part (a longer
    /// run, more operations) is not kept, however much simpler its scenario.
    size: Size,
    runs: u64,
    max_runs: u64,
}

/// A candidate that still fails the same way, with its run.
struct Kept {
    scenario: Scenario,
    record: RunRecord,
}

impl Shrinker<'_> {
    /// Run `scenario` as its file would run: written, loaded again, seed `self.seed`.
    fn run(&self, scenario: &Scenario) -> Option<RunRecord> {
        let text = scenario.to_toml("");
        let reloaded = reload(&text, self.origin, self.registry).ok()?;
        let mut plan = reloaded.plan(self.seed, &[]);
        // A run longer than the smallest failing one is not kept, so it need not finish
        // (one more event: a run that ends at its time limit checks the event limit first).
        plan.max_events = plan.max_events.min(self.size.events + 1);
        let entry = self.registry.get(&plan.protocol)?;
        let settings = RunSettings::default();
        match catching_panics(|| (entry.run)(&plan, &settings)) {
            Ok(Ok(output)) => Some(output.record),
            Ok(Err(_refused)) => None,
            Err(message) => Some(RunRecord {
                verdict: Some(Verdict::Safety),
                failure: "panic".into(),
                message,
                ..RunRecord::default()
            }),
        }
    }

    /// The first of `candidates` (in order) that fails the same way. They run
    /// [`WINDOW`] at a time in parallel, as far as the run budget goes, and the window
    /// that holds the first is the last: the runs spent depend on the window, not on the
    /// thread count.
    fn first_failing(&mut self, candidates: Vec<Scenario>) -> Option<Kept> {
        let mut candidates = candidates.into_iter();
        loop {
            let left = self.max_runs.saturating_sub(self.runs) as usize;
            let window: Vec<Scenario> = candidates.by_ref().take(WINDOW.min(left)).collect();
            if window.is_empty() {
                return None;
            }
            self.runs += window.len() as u64;
            let results: Vec<Option<RunRecord>> = window.par_iter().map(|c| self.run(c)).collect();
            let found = window.into_iter().zip(results).find_map(|(scenario, record)| {
                let record = record.filter(|r| Signature::of(r) == self.signature)?;
                let size = Size::of(&scenario, scenario.faults.len(), &record);
                size.is_no_larger_than(&self.size).then_some((Kept { scenario, record }, size))
            });
            if let Some((kept, size)) = found {
                self.size = size;
                return Some(kept);
            }
        }
    }

    fn out_of_runs(&self) -> bool {
        self.runs >= self.max_runs
    }
}

/// Delta-debug seed `seed` of `scenario` (with `bugs` on) within `max_runs` runs;
/// `progress` hears of every step kept.
pub fn shrink(
    registry: &Registry,
    origin: &Path,
    scenario: &Scenario,
    seed: u64,
    bugs: &[String],
    max_runs: u64,
    progress: &mut dyn FnMut(&str),
) -> Result<Shrunk, Failure> {
    let entry = registry.get(&scenario.protocol).expect("validated protocol");
    let (plan, resolved) = scenario.plan_resolved(seed, bugs);
    let settings = RunSettings { faults: true, ..RunSettings::default() };
    let output = catching_panics(|| (entry.run)(&plan, &settings))
        .map_err(|panic| Failure::input(format!("seed {seed} panics: {panic}")))?
        .map_err(|refused| {
            Failure::input(format!(
                "protocol {} refuses seed {seed}'s draw: {refused}",
                plan.protocol
            ))
        })?;
    let record = output.record;
    if !record.verdict().is_failure() {
        return Err(Failure::input(format!(
            "seed {seed} of {} passes: there is no failure to shrink",
            origin.display()
        )));
    }
    let signature = Signature::of(&record);
    let explicit = resolved.with_explicit_faults(&plan, &output.faults);
    // The faults that fired, but for the plan's own heal-all at heal_at.
    let before = Size::of(&resolved, explicit.faults.len(), &record);
    progress(&format!("seed {seed} fails: {signature}; {before}"));
    let mut shrinker = Shrinker {
        registry,
        origin,
        seed,
        signature: signature.clone(),
        size: before,
        runs: 1,
        max_runs,
    };

    let (mut current, explicit) = match shrinker.first_failing(vec![explicit]) {
        Some(kept) => {
            progress(&format!(
                "the {} faults that fired, as an explicit schedule with the nemesis off, fail the same way",
                kept.scenario.faults.len()
            ));
            (kept, true)
        }
        None => {
            progress(
                "the explicit fault schedule does not fail the same way; shrinking with the nemesis on",
            );
            (Kept { scenario: resolved, record }, false)
        }
    };

    // Passes until none keeps a change (each pass is bounded; so is the budget).
    for _ in 0..64 {
        let mut changed = false;
        for pass in PASSES {
            if shrinker.out_of_runs() {
                break;
            }
            while let Some(kept) = (pass.candidates)(&current)
                .into_iter()
                .find_map(|batch| shrinker.first_failing(batch))
            {
                let size = Size::of(&kept.scenario, kept.scenario.faults.len(), &kept.record);
                progress(&format!("run {}: {}: {size}", shrinker.runs, pass.name));
                current = kept;
                changed = true;
                if shrinker.out_of_runs() {
                    break;
                }
            }
        }
        if !changed || shrinker.out_of_runs() {
            break;
        }
    }
    let after = Size::of(&current.scenario, current.scenario.faults.len(), &current.record);
    Ok(Shrunk {
        scenario: current.scenario,
        signature,
        before,
        after,
        runs: shrinker.runs,
        explicit,
    })
}

/// One way of making a scenario smaller: its candidates, smallest first, in batches
/// tried in turn (the first batch that holds a candidate failing the same way wins); an
/// empty list when there is nothing left to try.
struct Pass {
    name: &'static str,
    candidates: fn(&Kept) -> Vec<Vec<Scenario>>,
}

const PASSES: &[Pass] = &[
    Pass { name: "shorter run", candidates: shorter_runs },
    Pass { name: "fewer faults", candidates: fewer_faults },
    Pass { name: "fewer nodes", candidates: fewer_nodes },
    Pass { name: "fewer clients", candidates: fewer_clients },
    Pass { name: "fewer operations", candidates: fewer_operations },
    Pass { name: "fewer keys", candidates: fewer_keys },
    Pass { name: "simpler network, clocks and disks", candidates: simpler },
];

/// One batch of `candidates`, or none.
fn batch(candidates: Vec<Scenario>) -> Vec<Vec<Scenario>> {
    if candidates.is_empty() { Vec::new() } else { vec![candidates] }
}

/// The run cut to just after it failed, when it stopped early, then to a quarter, a half,
/// three quarters and seven eighths of its length, heal_at cut with it.
fn shorter_runs(kept: &Kept) -> Vec<Vec<Scenario>> {
    let s = &kept.scenario;
    let duration = s.run.duration.0;
    let mut lengths = Vec::new();
    let stopped = kept.record.sim_time_ns;
    if stopped < duration {
        lengths.push(stopped.saturating_add(1_000_000));
    }
    lengths.extend([(1, 4), (1, 2), (3, 4), (7, 8)].map(|(num, den)| duration / den * num));
    let mut out = Vec::new();
    for length in lengths {
        if length == 0 || length >= duration {
            continue;
        }
        out.push(cut(s, length));
    }
    batch(out)
}

/// `s` cut to `length`, its faults after it dropped: heal_at cut with it, or, for a run
/// in phases, the phases that start before it, the last of them ending there.
fn cut(s: &Scenario, length: u64) -> Scenario {
    let mut c = s.clone();
    c.run.duration = SimDuration(length);
    c.faults.retain(|f| f.at.0 < length);
    if s.phases.is_empty() {
        let heal_at = (u128::from(s.run.heal_at.0) * u128::from(length)
            / u128::from(s.run.duration.0)) as u64;
        c.run.heal_at = SimDuration(heal_at.min(length));
        return c;
    }
    let mut start = 0;
    c.phases.retain_mut(|phase| {
        let kept = start < length;
        let duration = phase.duration.0.min(length.saturating_sub(start));
        start += phase.duration.0;
        phase.duration = SimDuration(duration);
        phase.faults.retain(|f| f.at.0 < duration);
        kept
    });
    c.run.heal_at = scenarios::phases::final_heal(&c.phases);
    c
}

/// The workloads of `s`: the top-level one, then each phase's.
fn workloads(s: &mut Scenario) -> impl Iterator<Item = &mut WorkloadSpec> {
    s.workload.iter_mut().chain(s.phases.iter_mut().filter_map(|p| p.workload.as_mut()))
}

/// The workload option `keys` of `w`, when it is fixed.
fn fixed_keys(w: &WorkloadSpec) -> Option<i64> {
    w.options.iter().find_map(|(name, value)| match (name.as_str(), value) {
        ("keys", Knob::Fixed(OptionValue::Int(n))) => Some(*n),
        _ => None,
    })
}

/// ddmin over the fault list: without each chunk, one batch per chunk size, from half the
/// list down to one fault.
fn fewer_faults(kept: &Kept) -> Vec<Vec<Scenario>> {
    let s = &kept.scenario;
    let n = s.faults.len();
    let mut batches = Vec::new();
    let mut chunk = n.div_ceil(2);
    while chunk >= 1 {
        let batch = (0..n)
            .step_by(chunk)
            .map(|start| {
                let mut c = s.clone();
                c.faults.drain(start..(start + chunk).min(n));
                c
            })
            .collect();
        batches.push(batch);
        if chunk == 1 {
            break;
        }
        chunk = chunk.div_ceil(2);
    }
    batches
}

/// The cluster without its highest nodes, and everything that names them.
fn fewer_nodes(kept: &Kept) -> Vec<Vec<Scenario>> {
    let s = &kept.scenario;
    batch((1..s.most_nodes()).map(|n| without_nodes_from(s, n)).collect())
}

fn without_nodes_from(s: &Scenario, n: u32) -> Scenario {
    let keep = |id: &NodeId| id.0 < n;
    let mut c = s.clone();
    c.nodes = Knob::Fixed(i64::from(n));
    if let Some(regions) = &mut c.regions {
        regions.truncate(n as usize);
    }
    c.links.retain(|l| keep(&l.from) && keep(&l.to));
    c.clock_overrides.retain(|(node, _)| keep(node));
    if let Some(Knob::Fixed(max_down)) = &mut c.nemesis.max_down {
        *max_down = (*max_down).min(i64::from(n));
    }
    let kept_list = |list: &[NodeId]| list.iter().copied().filter(keep).collect::<Vec<_>>();
    c.faults = s
        .faults
        .iter()
        .filter_map(|f| {
            let action = match &f.action {
                FaultAction::Crash(node) | FaultAction::Restart(node) if !keep(node) => None,
                FaultAction::Pause { node, .. }
                | FaultAction::ClockJump { node, .. }
                | FaultAction::ClockDrift { node, .. }
                | FaultAction::DiskFaults { node, .. }
                    if !keep(node) =>
                {
                    None
                }
                FaultAction::Hold { from, to } | FaultAction::Release { from, to }
                    if !keep(from) || !keep(to) =>
                {
                    None
                }
                FaultAction::Partition(p) => {
                    without_nodes(p, &kept_list, keep).map(FaultAction::Partition)
                }
                other => Some(other.clone()),
            }?;
            Some(scenarios::schema::ScheduledFault { at: f.at, action })
        })
        .collect();
    c
}

/// Partition `p` among the nodes `keep` keeps; `None` when it cuts nothing any more.
fn without_nodes(
    p: &Partition,
    kept_list: &dyn Fn(&[NodeId]) -> Vec<NodeId>,
    keep: impl Fn(&NodeId) -> bool,
) -> Option<Partition> {
    let groups = |gs: &[Vec<NodeId>]| -> Vec<Vec<NodeId>> {
        gs.iter().map(|g| kept_list(g)).filter(|g| !g.is_empty()).collect()
    };
    match p {
        Partition::Isolate(Some(node)) | Partition::MuteOne(Some(node)) if !keep(node) => None,
        Partition::Groups(gs) => Some(Partition::Groups(groups(gs))),
        Partition::Bridge(Some((a, b))) => {
            let (a, b) = (kept_list(a), kept_list(b));
            (!a.is_empty() && !b.is_empty()).then_some(Partition::Bridge(Some((a, b))))
        }
        Partition::Ring(Some(order)) => Some(Partition::Ring(Some(kept_list(order)))),
        Partition::OneWay { from, to } => {
            let (from, to) = (kept_list(from), kept_list(to));
            (!from.is_empty() && !to.is_empty()).then_some(Partition::OneWay { from, to })
        }
        other => Some(other.clone()),
    }
}

fn fewer_clients(kept: &Kept) -> Vec<Vec<Scenario>> {
    let s = &kept.scenario;
    let Some(Knob::Fixed(clients)) = s.workload.as_ref().map(|w| w.clients.clone()) else {
        return Vec::new();
    };
    batch(
        (1..clients)
            .map(|n| {
                let mut c = s.clone();
                c.workload.as_mut().expect("a workload").clients = Knob::Fixed(n);
                c
            })
            .collect(),
    )
}

/// At most a sixteenth, an eighth, a quarter, a half, three quarters and all of the
/// operations the run invoked (all of them: the same run, with a bound that later steps
/// keep).
fn fewer_operations(kept: &Kept) -> Vec<Vec<Scenario>> {
    let s = &kept.scenario;
    let Some(w) = &s.workload else { return Vec::new() };
    let invoked = kept.record.ops_invoked;
    let mut limits: Vec<u64> = [1, 2, 4, 8, 12, 16].iter().map(|q| invoked * q / 16).collect();
    limits.retain(|&l| l >= 1 && w.ops.is_none_or(|ops| l < ops));
    limits.dedup();
    batch(
        limits
            .into_iter()
            .map(|ops| {
                let mut c = s.clone();
                c.workload.as_mut().expect("a workload").ops = Some(ops);
                c
            })
            .collect(),
    )
}

/// At most 1, 2, ... keys, in every workload (each phase's too) whose `keys` is fixed.
fn fewer_keys(kept: &Kept) -> Vec<Vec<Scenario>> {
    let mut s = kept.scenario.clone();
    let Some(count) = workloads(&mut s).filter_map(|w| fixed_keys(w)).max() else {
        return Vec::new();
    };
    batch(
        (1..count)
            .map(|n| {
                let mut c = s.clone();
                for w in workloads(&mut c) {
                    if let Some((_, knob)) = w.options.iter_mut().find(|(name, _)| name == "keys")
                        && let Knob::Fixed(OptionValue::Int(keys)) = knob
                    {
                        *keys = (*keys).min(n);
                    }
                }
                c
            })
            .collect(),
    )
}

/// A latency distribution replaced by a constant: its smallest or central value.
fn constant(spec: &LatencySpec) -> Option<LatencySpec> {
    let central = match spec {
        LatencySpec::Constant(_) => return None,
        LatencySpec::Uniform { min, .. } => min,
        LatencySpec::Normal { mean, .. } => mean,
        LatencySpec::LogNormal { median, .. } => median,
        LatencySpec::Pareto { scale, .. } => scale,
    };
    Some(LatencySpec::Constant(central.clone()))
}

/// One candidate per simplification still possible: no loss, no duplication, constant
/// latencies, perfect clocks, perfect disks, no link overrides.
fn simpler(kept: &Kept) -> Vec<Vec<Scenario>> {
    let s = &kept.scenario;
    let zero = Knob::Fixed(0.0);
    let mut out = Vec::new();
    let mut push = |change: &dyn Fn(&mut Scenario)| {
        let mut c = s.clone();
        change(&mut c);
        if c != *s {
            out.push(c);
        }
    };
    let quiet = |l: &mut LinkSpec| {
        l.loss = Knob::Fixed(0.0);
        l.duplicate = Knob::Fixed(0.0);
    };
    push(&|c| {
        quiet(&mut c.network);
        c.links.iter_mut().for_each(|l| quiet(&mut l.link));
        if let Some(wan) = &mut c.wan {
            quiet(wan);
        }
    });
    push(&|c| c.network.loss = zero.clone());
    push(&|c| c.network.duplicate = zero.clone());
    push(&|c| {
        if let Some(latency) = constant(&c.network.latency) {
            c.network.latency = latency;
        }
    });
    push(&|c| c.links.clear());
    push(&|c| {
        c.clocks = ClockSpec { drift_ppm: zero.clone(), offset: Knob::Fixed(0) };
        c.clock_overrides.clear();
    });
    push(&|c| {
        c.torn_write_probability = zero.clone();
        c.corrupt_read_probability = zero.clone();
    });
    push(&|c| {
        if let Some(w) = &mut c.workload
            && let Some(latency) = constant(&w.think_time)
        {
            w.think_time = latency;
        }
    });
    batch(out)
}

/// `dsim shrink`.
pub fn shrink_command(args: ShrinkArgs, registry: &Registry) -> Result<u8, Failure> {
    let Loaded { path, scenario } = load(&args.file, registry, &args.scenario)?;
    let seed = args.seed;
    let mut progress = |line: &str| eprintln!("shrink: {line}");
    let shrunk = shrink(
        registry,
        &path,
        &scenario,
        seed,
        &args.scenario.bugs,
        args.max_runs,
        &mut progress,
    )?;
    let mut bugs = String::new();
    for bug in &args.scenario.bugs {
        bugs += &format!(" --bug {bug}");
    }
    let faults = if shrunk.explicit {
        "The faults are the ones that fired, as a fixed schedule with the nemesis off."
    } else {
        "The nemesis is on: the explicit schedule did not fail the same way."
    };
    let header = format!(
        "Shrunk by `dsim shrink {} --seed {seed}{bugs}` in {} runs.\n\
         Fails with `dsim run` on this file and no other flags: {}.\n\
         {faults}\n\
         before: {}\n\
         after:  {}\n",
        path.display(),
        shrunk.runs,
        shrunk.signature,
        shrunk.before,
        shrunk.after
    );
    let text = shrunk.scenario.to_toml(&header);
    match &args.output {
        Some(out) => write_output(out, &text)?,
        None => write_stdout(text.as_bytes())?,
    }
    eprintln!("shrink: before: {}", shrunk.before);
    eprintln!("shrink: after:  {}", shrunk.after);
    eprintln!("shrink: {} runs; fails with {}", shrunk.runs, shrunk.signature);
    Ok(0)
}
