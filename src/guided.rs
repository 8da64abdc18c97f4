//! `dsim fuzz --guided`: a campaign steered by coverage, in the spirit of AFL and
//! libFuzzer applied to the scenario rather than to bytes.
//!
//! A run's coverage is the set of features it produced: each protocol counter, message
//! kind, fault kind (over the run and in each phase) with its count bucketed as AFL does
//! (1, 2-3, 4-7, 8-15, ...; a count has every bucket up to its own), and each "sometimes"
//! property it reached. A run with a feature no earlier run had joins the corpus. New
//! runs derive from corpus entries (chosen with a weight for the rare features they hold)
//! by mutating their drawn knobs (one re-drawn in its declared range, or nudged between
//! its value and a fresh draw) and the nemesis rates the file fixes (scaled by 0.5 to 2,
//! leaning to more faults), always on a new seed (new fault timings, latencies and
//! choices); a quarter of every batch are fresh seeds.
//!
//! A derived run is its seed and `--set` overrides that fix every knob it drew, so its
//! record's replay command (`dsim replay FILE --seed S --set ...`) runs it again exactly.
//! Runs go in batches of a fixed size; the next batch is decided from the finished ones,
//! in order, from the campaign's own stream: the campaign is the same whatever `--jobs`.

use crate::Failure;
use crate::campaign::{Loaded, interrupted, load, open_reports, plural, run_seed, thread_pool};
use crate::cli::{FuzzArgs, MessageFormat, ScenarioArgs};
use crate::output::{Progress, style, timed};
use reports::json::{Campaign, CampaignScenario, Seeds};
use runner::{Registry, RunOutput, RunSettings};
use scenarios::reader::{Knob, parse_duration};
use sim_core::SimDuration;
use sim_core::record::RunRecord;
use sim_core::rng::{SimRng, Stream};
use std::collections::{BTreeMap, BTreeSet};

/// Runs decided at once: fixed, so that the campaign does not depend on `--jobs`.
const BATCH: usize = 32;

/// The share of each batch (after the first) that is fresh seeds.
const FRESH_SHARE: f64 = 0.25;

/// Tries at deriving a run the scenario accepts before a fresh seed is run instead.
const DERIVE_TRIES: usize = 8;

/// One run of a guided campaign: a seed and the `--set` overrides (beyond the campaign's)
/// it runs with.
#[derive(Clone, Debug)]
struct Genome {
    seed: u64,
    /// Empty for a fresh seed (its knobs drawn from it, as in a random campaign).
    sets: Vec<(String, String)>,
    /// Every settable knob's value in the run, the base its mutants start from.
    knobs: Vec<(String, String)>,
}

/// How a mutant differs from its parent, besides its seed.
#[derive(Clone, Copy)]
enum Mutation {
    /// One drawn knob drawn again, in its declared range or list.
    Redraw,
    /// One knob drawn from a range moved part of the way to a fresh draw.
    Nudge,
    /// One nemesis rate the file fixes, times 0.5 to 2.
    Scale,
}

/// A run that reached new coverage.
struct Entry {
    genome: Genome,
    features: Vec<String>,
}

/// The guided campaign of one scenario.
struct Guide<'a> {
    loaded: &'a Loaded,
    rng: SimRng,
    bugs: &'a [String],
    /// The keys `plan.drawn` names that a range (not a list) was drawn from.
    ranged: BTreeSet<String>,
    /// The nemesis rates the file fixes above zero, by key, with their values.
    rates: Vec<(String, f64)>,
    corpus: Vec<Entry>,
    /// Every feature seen, with how many runs had it.
    coverage: BTreeMap<String, u64>,
    /// `(runs, features)` after each batch.
    growth: Vec<(u64, usize)>,
}

/// A count as AFL buckets it: 1 is 1, 2-3 is 2, 4-7 is 3, 8-15 is 4, ...
fn bucket(n: u64) -> u32 {
    64 - n.leading_zeros()
}

/// The features of a finished run.
fn features(record: &RunRecord, message_kinds: &[(String, u64)]) -> Vec<String> {
    let mut out = BTreeSet::new();
    let mut counted = |what: &str, pairs: &[(String, u64)]| {
        // Every bucket up to the count's: a run with fewer of something than one before
        // it adds nothing, so the corpus keeps the runs that went further.
        for (name, n) in pairs {
            for b in 1..=bucket(*n) {
                out.insert(format!("{what} {name} {b}"));
            }
        }
    };
    counted("counter", &record.counters);
    counted("message", message_kinds);
    counted("fault", &record.faults);
    for phase in &record.phases {
        counted(&format!("phase {} counter", phase.name), &phase.counters);
        counted(&format!("phase {} fault", phase.name), &phase.faults);
    }
    for (name, outcome) in &record.properties {
        if outcome == "reached" {
            out.insert(format!("sometimes {name}"));
        }
    }
    out.into_iter().collect()
}

/// The `--set` key of a drawn knob, or `None` for one `--set` cannot fix (a node's own
/// clock, drawn per node from `[clocks]`: it stays drawn from the run's seed).
fn settable(key: &str) -> Option<String> {
    if key.starts_with("clocks[") {
        return None;
    }
    // `network.links[2].loss` is `network.links.2.loss` to `--set`.
    Some(key.replace('[', ".").replace(']', ""))
}

/// A value between `from` and `to` (a fraction `t` of the way), both as drawn and shown:
/// integers, floats or durations; `None` when they are not numbers of one kind.
fn between(from: &str, to: &str, t: f64) -> Option<String> {
    if let (Ok(a), Ok(b)) = (from.parse::<i64>(), to.parse::<i64>()) {
        return Some((a + ((b - a) as f64 * t).round() as i64).to_string());
    }
    if let (Ok(a), Ok(b)) = (from.parse::<f64>(), to.parse::<f64>()) {
        return Some(format!("{:?}", a + (b - a) * t));
    }
    let (a, b) = (parse_duration(from).ok()?, parse_duration(to).ok()?);
    let nanos = a + ((b - a) as f64 * t).round() as i64;
    let magnitude = SimDuration(nanos.unsigned_abs()).to_string();
    Some(if nanos < 0 { format!("-{magnitude}") } else { magnitude })
}

/// The nemesis rates of `loaded` its file fixes above zero, as `--set` keys.
fn fixed_rates(loaded: &Loaded) -> Vec<(String, f64)> {
    let scenario = &loaded.scenario;
    let mut nemeses = vec![("nemesis".to_owned(), &scenario.nemesis)];
    for phase in &scenario.phases {
        nemeses.push((format!("phases.{}.nemesis", phase.name), &phase.nemesis));
    }
    let mut rates = Vec::new();
    for (key, n) in nemeses {
        for (name, knob) in [
            ("crash_rate", &n.crash_rate),
            ("pause_rate", &n.pause_rate),
            ("partition_rate", &n.partition_rate),
            ("clock_jump_rate", &n.clock_jump_rate),
        ] {
            if let Knob::Fixed(rate) = knob
                && *rate > 0.0
            {
                rates.push((format!("{key}.{name}"), *rate));
            }
        }
    }
    rates
}

impl<'a> Guide<'a> {
    fn new(loaded: &'a Loaded, index: usize, campaign_seed: u64, bugs: &'a [String]) -> Self {
        let plan = loaded.scenario.plan(0, bugs);
        Guide {
            loaded,
            rng: SimRng::derive(campaign_seed, Stream::Campaign, index as u64),
            bugs,
            ranged: plan.ranged.into_iter().collect(),
            rates: fixed_rates(loaded),
            corpus: Vec::new(),
            coverage: BTreeMap::new(),
            growth: Vec::new(),
        }
    }

    /// A seed for a fresh run or a re-seeded one.
    fn seed(&mut self) -> u64 {
        self.rng.next_u64() >> 32
    }

    /// The settable knobs `seed` draws by itself.
    fn drawn(&self, seed: u64) -> Vec<(String, String)> {
        let plan = self.loaded.scenario.plan(seed, self.bugs);
        plan.drawn.into_iter().filter_map(|(key, value)| Some((settable(&key)?, value))).collect()
    }

    fn fresh(&mut self) -> Genome {
        let seed = self.seed();
        Genome { seed, sets: Vec::new(), knobs: self.drawn(seed) }
    }

    /// A corpus entry, weighted by how rare its features are.
    fn parent(&mut self) -> &Genome {
        let weights: Vec<f64> = self
            .corpus
            .iter()
            .map(|e| e.features.iter().map(|f| 1.0 / self.coverage[f] as f64).sum())
            .collect();
        let total: f64 = weights.iter().sum();
        let mut left = self.rng.unit() * total;
        let mut chosen = self.corpus.len() - 1;
        for (i, w) in weights.iter().enumerate() {
            if left < *w {
                chosen = i;
                break;
            }
            left -= w;
        }
        &self.corpus[chosen].genome
    }

    /// A mutant of a corpus entry: a new seed (new fault timings, latencies and choices:
    /// a run on the parent's seed is too like it to be worth its time), and one or two
    /// of re-drawing a knob, nudging a ranged knob, scaling a fixed nemesis rate.
    fn mutant(&mut self) -> Genome {
        let mut genome = self.parent().clone();
        genome.seed = self.seed();
        let drawn: Vec<usize> = (0..genome.knobs.len())
            .filter(|&i| !self.rates.iter().any(|(key, _)| *key == genome.knobs[i].0))
            .collect();
        let ranged: Vec<usize> =
            drawn.iter().copied().filter(|&i| self.ranged.contains(&genome.knobs[i].0)).collect();
        let mut kinds = Vec::new();
        if !drawn.is_empty() {
            kinds.push(Mutation::Redraw);
        }
        if !ranged.is_empty() {
            kinds.push(Mutation::Nudge);
        }
        if !self.rates.is_empty() {
            kinds.push(Mutation::Scale);
        }
        if kinds.is_empty() {
            genome.sets = genome.knobs.clone();
            return genome;
        }
        for _ in 0..self.rng.between(1, 2) {
            match *self.rng.pick(&kinds) {
                Mutation::Redraw => {
                    let i = *self.rng.pick(&drawn);
                    let other = self.seed();
                    let key = &genome.knobs[i].0;
                    if let Some((_, value)) = self.drawn(other).into_iter().find(|(k, _)| k == key)
                    {
                        genome.knobs[i].1 = value;
                    }
                }
                Mutation::Nudge => {
                    let i = *self.rng.pick(&ranged);
                    let other = self.seed();
                    let t = 0.1 + 0.4 * self.rng.unit();
                    let (key, value) = &genome.knobs[i];
                    let to = self.drawn(other).into_iter().find(|(k, _)| k == key);
                    if let Some(nudged) = to.and_then(|(_, to)| between(value, &to, t)) {
                        genome.knobs[i].1 = nudged;
                    }
                }
                Mutation::Scale => {
                    let (key, rate) = self.rng.pick(&self.rates).clone();
                    let value = format!("{:?}", rate * (0.5 + 1.5 * self.rng.unit()));
                    match genome.knobs.iter_mut().find(|(k, _)| *k == key) {
                        Some(knob) => knob.1 = value,
                        None => genome.knobs.push((key, value)),
                    }
                }
            }
        }
        genome.sets = genome.knobs.clone();
        genome
    }

    /// The next batch: fresh seeds at first, then mutants of the corpus and a share of
    /// fresh seeds; each loaded with its overrides.
    fn batch(
        &mut self,
        size: usize,
        registry: &Registry,
        args: &ScenarioArgs,
    ) -> Result<Vec<(Genome, Loaded)>, Failure> {
        let mut batch = Vec::with_capacity(size);
        while batch.len() < size {
            let mut derived = None;
            if !self.corpus.is_empty() && self.rng.unit() >= FRESH_SHARE {
                for _ in 0..DERIVE_TRIES {
                    let genome = self.mutant();
                    // A mutant the scenario refuses (two knobs it relates, drawn apart) is
                    // tried again; whether it loads depends on nothing but the mutant.
                    if let Ok(loaded) = self.load(&genome, registry, args) {
                        derived = Some((genome, loaded));
                        break;
                    }
                }
            }
            let run = match derived {
                Some(run) => run,
                None => {
                    let genome = self.fresh();
                    let loaded = self.load(&genome, registry, args)?;
                    (genome, loaded)
                }
            };
            batch.push(run);
        }
        Ok(batch)
    }

    /// The scenario of `genome`: the campaign's, with its overrides, under its name.
    fn load(
        &self,
        genome: &Genome,
        registry: &Registry,
        args: &ScenarioArgs,
    ) -> Result<Loaded, Failure> {
        if genome.sets.is_empty() {
            return Ok(Loaded {
                path: self.loaded.path.clone(),
                scenario: self.loaded.scenario.clone(),
            });
        }
        let mut sets = args.sets.clone();
        sets.extend(genome.sets.iter().map(|(key, value)| format!("{key}={value}")));
        let args = ScenarioArgs { bugs: args.bugs.clone(), sets };
        let mut loaded = load(&self.loaded.path, registry, &args)?;
        loaded.scenario.name.clone_from(&self.loaded.scenario.name);
        Ok(loaded)
    }

    /// Count a finished run's features; a run with a new one joins the corpus.
    fn add(&mut self, genome: Genome, features: Vec<String>) {
        let mut new = false;
        for feature in &features {
            let hits = self.coverage.entry(feature.clone()).or_insert(0);
            new |= *hits == 0;
            *hits += 1;
        }
        if new {
            self.corpus.push(Entry { genome, features });
        }
    }

    /// The closing line: corpus, coverage, and its growth (after 1, 2, 4, ... batches and
    /// at the end).
    fn summary(&self) -> String {
        let mut points: Vec<String> = Vec::new();
        let mut next = 1;
        for (i, &(runs, features)) in self.growth.iter().enumerate() {
            if i + 1 == next || i + 1 == self.growth.len() {
                points.push(format!("{features} at {runs}"));
                next *= 2;
            }
        }
        format!(
            "guided {}: corpus {}, coverage {} (features by runs: {})",
            self.loaded.scenario.name,
            plural(self.corpus.len(), "run"),
            plural(self.coverage.len(), "feature"),
            points.join(", ")
        )
    }
}

/// The campaign of `loaded` (each scenario `runs` runs, in turn), steered by coverage.
pub(crate) fn campaign(
    loaded: &[Loaded],
    runs: Option<u64>,
    args: &FuzzArgs,
    registry: &Registry,
) -> Result<u8, Failure> {
    let scenario_args = &args.scenario;
    let budget = |l: &Loaded| runs.unwrap_or(l.scenario.run.seeds.1 - l.scenario.run.seeds.0);
    let campaign = Campaign {
        scenarios: loaded
            .iter()
            .map(|l| CampaignScenario {
                name: l.scenario.name.clone(),
                file: l.path.display().to_string(),
                seeds: Seeds::Range(0, budget(l)),
            })
            .collect(),
        bugs: scenario_args.bugs.clone(),
        sets: scenario_args.sets.clone(),
        shard: crate::shard::WHOLE,
    };
    let (mut reports, mut report) = open_reports(loaded, &campaign, args)?;
    let (pool, threads) = thread_pool(args.jobs)?;
    crate::campaign::stop_on_interrupt();
    let progress = Progress::new(loaded.iter().map(budget).sum(), threads);
    let settings = RunSettings { message_kinds: true, ..RunSettings::default() };
    let campaign_seed = args.campaign_seed.unwrap_or(0);
    let mut summaries = Vec::new();
    let mut stopped = false;
    for (index, scenario) in loaded.iter().enumerate() {
        let mut guide = Guide::new(scenario, index, campaign_seed, &scenario_args.bugs);
        let mut ran = 0u64;
        while ran < budget(scenario) && !stopped && !interrupted() {
            let size = BATCH.min((budget(scenario) - ran) as usize);
            let batch = guide.batch(size, registry, scenario_args)?;
            let results: Vec<Option<(RunOutput, f64)>> = pool.install(|| {
                use rayon::prelude::*;
                batch
                    .par_iter()
                    .map(|(genome, loaded)| {
                        if interrupted() {
                            return None;
                        }
                        let args = ScenarioArgs {
                            bugs: scenario_args.bugs.clone(),
                            sets: overrides(scenario_args, genome),
                        };
                        let (output, seconds) =
                            timed(|| run_seed(loaded, registry, genome.seed, &args, &settings));
                        progress.tick(output.record.verdict().is_failure());
                        Some((output, seconds))
                    })
                    .collect()
            });
            for (result, (genome, loaded)) in results.into_iter().zip(batch) {
                let Some((mut output, seconds)) = result else { continue };
                ran += 1;
                // The record shows every knob the run had: its overrides, then its draws.
                let mut drawn = genome.sets.clone();
                drawn.append(&mut output.record.drawn);
                output.record.drawn = drawn;
                reports.add(&output.record, Some(seconds))?;
                if let Some(report) = report.as_mut() {
                    report.add(&output.record, || {
                        let traced =
                            RunSettings { trace: true, history: true, ..RunSettings::default() };
                        let args = ScenarioArgs {
                            bugs: scenario_args.bugs.clone(),
                            sets: overrides(scenario_args, &genome),
                        };
                        let plan = loaded.scenario.plan(genome.seed, &args.bugs);
                        (plan, run_seed(&loaded, registry, genome.seed, &args, &traced))
                    })?;
                }
                let failed = output.record.verdict().is_failure();
                guide.add(genome, features(&output.record, &output.message_kinds));
                if failed && args.stop_on_first {
                    stopped = true;
                    break;
                }
            }
            guide.growth.push((ran, guide.coverage.len()));
        }
        summaries.push(guide.summary());
    }
    progress.finish();
    if let Some(report) = report {
        report.finish()?;
    }
    let exit = reports.finish(interrupted())?;
    for line in summaries {
        match args.message_format {
            MessageFormat::Human if !style().quiet => println!("{line}"),
            _ => eprintln!("{line}"),
        }
    }
    Ok(exit)
}

/// The `--set` overrides of `genome`'s run: the campaign's, then its own.
fn overrides(args: &ScenarioArgs, genome: &Genome) -> Vec<String> {
    let mut sets = args.sets.clone();
    sets.extend(genome.sets.iter().map(|(key, value)| format!("{key}={value}")));
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_bucketed_as_afl_does() {
        let buckets: Vec<u32> = [1, 2, 3, 4, 7, 8, 15, 16].into_iter().map(bucket).collect();
        assert_eq!(buckets, [1, 2, 2, 3, 3, 4, 4, 5]);
    }

    #[test]
    fn values_between_two_draws_keep_their_kind() {
        assert_eq!(between("2", "6", 0.5).as_deref(), Some("4"));
        assert_eq!(between("0.0", "0.1", 0.5).as_deref(), Some("0.05"));
        assert_eq!(between("2ms", "4ms", 0.25).as_deref(), Some("2.5ms"));
        assert_eq!(between("true", "false", 0.5), None);
        assert_eq!(between("uniform", "zipf", 0.5), None);
    }

    #[test]
    fn every_knob_a_bundled_scenario_draws_but_clocks_can_be_fixed_by_set() {
        let registry = Registry::bundled();
        let mut swarms = 0;
        for file in scenarios::bundled::files() {
            let path = file.virtual_path();
            let load = |sets: &[String]| {
                scenarios::load_with(&path, file.text, sets, registry.catalogue())
            };
            // A base that only `extends` reads does not load on its own.
            let Ok(scenario) = load(&[]) else { continue };
            for seed in [1, 2] {
                let plan = scenario.plan(seed, &[]);
                let sets: Vec<String> = plan
                    .drawn
                    .iter()
                    .filter_map(|(key, value)| Some(format!("{}={value}", settable(key)?)))
                    .collect();
                swarms += usize::from(sets.len() >= 5);
                let fixed = load(&sets).unwrap_or_else(|e| panic!("{}: {sets:?}: {e}", file.path));
                let again = fixed.plan(seed, &[]);
                let left: Vec<&str> = again
                    .drawn
                    .iter()
                    .map(|(key, _)| key.as_str())
                    .filter(|key| settable(key).is_some())
                    .collect();
                assert!(left.is_empty(), "{}: still drawn: {left:?}", file.path);
                assert_eq!(again.bugs, plan.bugs);
            }
        }
        assert!(swarms >= 6, "few bundled scenarios draw five knobs or more: {swarms}");
    }

    #[test]
    fn drawn_keys_become_set_keys() {
        assert_eq!(settable("network.links[2].loss").as_deref(), Some("network.links.2.loss"));
        assert_eq!(settable("nemesis.crash_rate").as_deref(), Some("nemesis.crash_rate"));
        assert_eq!(settable("clocks[n3].drift_ppm"), None);
    }
}
