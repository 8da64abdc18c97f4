//! A campaign split into shards: `--shard I/N`, or `--shard auto` from a batch system's
//! environment (a Slurm job array, a Kubernetes Indexed Job, GitLab's `parallel:`); the
//! seeds each shard runs; and the join of shard reports, checked to cover the campaign
//! exactly once, in the campaign's own order (so `dsim merge` writes the bytes of the
//! unsharded run).

use crate::Failure;
use reports::json::{Campaign, Report, Seeds};
use sim_core::record::RunRecord;
use std::path::PathBuf;

/// A shard: its index and the number of shards, `0 <= index < count`.
pub type Shard = (u64, u64);

/// The whole campaign as one shard.
pub const WHOLE: Shard = (0, 1);

/// Read `--shard`'s value: `I/N`, or `auto` (or `auto/N`, where the batch system gives
/// the index but not the count) from the environment, read through `var`. Returns the
/// shard and, for `auto`, where it was found.
pub fn parse(
    text: &str,
    var: impl Fn(&str) -> Option<String>,
) -> Result<(Shard, Option<String>), Failure> {
    let bad = |why: String| Failure::input(format!("--shard {text}: {why}"));
    let numbers = |i: &str, n: &str| Some((i.parse::<u64>().ok()?, n.parse::<u64>().ok()?));
    let given_count = match text.split_once('/') {
        _ if text == "auto" => None,
        Some(("auto", n)) => match n.parse::<u64>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(bad("expected auto/N with N >= 1, e.g. --shard auto/4".into())),
        },
        Some((i, n)) => {
            return match numbers(i, n) {
                Some((i, n)) if i < n => Ok(((i, n), None)),
                _ => Err(bad("expected I/N with 0 <= I < N, e.g. --shard 0/4, or auto".into())),
            };
        }
        None => return Err(bad("expected I/N with 0 <= I < N, e.g. --shard 0/4, or auto".into())),
    };
    let found: Vec<(&str, Result<Shard, String>)> = SYSTEMS
        .iter()
        .filter(|system| var(system.index_variable).is_some())
        .map(|system| (system.name, (system.read)(&var, given_count)))
        .collect();
    match found.as_slice() {
        [] => Err(bad(format!(
            "no shard in the environment; looked for {}. Give --shard I/N instead",
            SYSTEMS.iter().map(|s| s.looked_for).collect::<Vec<_>>().join("; ")
        ))),
        [(name, Ok(shard))] => {
            if let Some(n) = given_count.filter(|&n| n != shard.1) {
                return Err(bad(format!("{name} says {} shards, not {n}", shard.1)));
            }
            Ok((*shard, Some((*name).to_owned())))
        }
        [(name, Err(why))] => Err(bad(format!("{name}: {why}"))),
        several => Err(bad(format!(
            "the environment holds the shard variables of {}; give --shard I/N",
            several.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(" and ")
        ))),
    }
}

/// How a process's environment is read: a variable's value, if set.
type Environment<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A batch system whose environment names a shard.
struct System {
    name: &'static str,
    /// The variable whose presence says the process runs under it.
    index_variable: &'static str,
    looked_for: &'static str,
    read: fn(Environment<'_>, Option<u64>) -> Result<Shard, String>,
}

const SYSTEMS: &[System] = &[
    System {
        name: "a Slurm job array",
        index_variable: "SLURM_ARRAY_TASK_ID",
        looked_for: "SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (a Slurm job array, with SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_STEP where set)",
        read: |var, _| {
            let id = number(var, "SLURM_ARRAY_TASK_ID")?;
            let count = number(var, "SLURM_ARRAY_TASK_COUNT")?;
            let min = optional_number(var, "SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let step = optional_number(var, "SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
            let offset = id
                .checked_sub(min)
                .filter(|o| o % step == 0)
                .ok_or(format!("task {id} is not one of the array's (min {min}, step {step})"))?;
            checked((offset / step, count))
        },
    },
    System {
        name: "a Kubernetes Indexed Job",
        index_variable: "JOB_COMPLETION_INDEX",
        looked_for: "JOB_COMPLETION_INDEX (a Kubernetes Indexed Job, with --shard auto/N for its N completions)",
        read: |var, count| {
            let index = number(var, "JOB_COMPLETION_INDEX")?;
            let count = count.ok_or(
                "JOB_COMPLETION_INDEX gives the index but not the count: give --shard auto/N, N the Job's completions",
            )?;
            checked((index, count))
        },
    },
    System {
        name: "GitLab CI parallel:",
        index_variable: "CI_NODE_INDEX",
        looked_for: "CI_NODE_INDEX and CI_NODE_TOTAL (GitLab CI `parallel:`, the index counted from 1)",
        read: |var, _| {
            let index = number(var, "CI_NODE_INDEX")?;
            let total = number(var, "CI_NODE_TOTAL")?;
            let index = index.checked_sub(1).ok_or("CI_NODE_INDEX=0, but it counts from 1")?;
            checked((index, total))
        },
    },
];

fn optional_number(
    var: &dyn Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<u64>, String> {
    var(name)
        .map(|v| v.trim().parse::<u64>().map_err(|_| format!("{name}={v} is not a whole number")))
        .transpose()
}

fn number(var: Environment<'_>, name: &str) -> Result<u64, String> {
    optional_number(var, name)?.ok_or(format!("{name} is not set"))
}

fn checked((index, count): Shard) -> Result<Shard, String> {
    if index < count {
        Ok((index, count))
    } else {
        Err(format!("index {index} is not below the count {count}"))
    }
}

/// The seeds of `seeds` that `shard` runs, lazily: the I-th, and every N-th after it.
/// Nothing is materialised, so a shard of `0..10^10` costs nothing before its first seed.
pub fn seeds(seeds: &Seeds, (index, count): Shard) -> Box<dyn Iterator<Item = u64> + '_> {
    match seeds {
        &Seeds::Range(start, end) => {
            let mut next = start.checked_add(index);
            Box::new(std::iter::from_fn(move || {
                let seed = next.filter(|&s| s < end)?;
                next = seed.checked_add(count);
                Some(seed)
            }))
        }
        Seeds::List(list) => Box::new(
            list.iter()
                .copied()
                .skip(usize::try_from(index).unwrap_or(usize::MAX))
                .step_by(usize::try_from(count).unwrap_or(usize::MAX)),
        ),
    }
}

/// How many seeds [`seeds`] gives.
pub fn len(seeds: &Seeds, (index, count): Shard) -> u64 {
    let total = match seeds {
        Seeds::Range(start, end) => end.saturating_sub(*start),
        Seeds::List(list) => list.len() as u64,
    };
    if index >= total { 0 } else { (total - index - 1) / count + 1 }
}

/// Join the reports of a campaign's shards: they must be of one campaign, cover each
/// shard exactly once, and each hold every seed of its shard. Returns the whole campaign
/// and its records in the order the unsharded campaign reports them.
pub fn join(reports: Vec<(PathBuf, Report)>) -> Result<(Campaign, Vec<RunRecord>), Failure> {
    let (first_path, first) = reports.first().expect("clap requires a report");
    let whole = first.campaign.whole();
    for (path, report) in &reports[1..] {
        if let Some(difference) = difference(&first.campaign, &report.campaign) {
            return Err(Failure::input(format!(
                "{} and {} are not shards of one campaign: {difference}",
                first_path.display(),
                path.display()
            )));
        }
    }
    let count = first.campaign.shard.1;
    let mut problems = Vec::new();
    let mut by_shard: Vec<Option<&Report>> =
        vec![None; usize::try_from(count).unwrap_or(usize::MAX)];
    for index in 0..count {
        let given: Vec<&(PathBuf, Report)> =
            reports.iter().filter(|(_, r)| r.campaign.shard.0 == index).collect();
        match given.as_slice() {
            [] => problems.push(format!("shard {index}/{count} is missing")),
            [(_, report)] => by_shard[index as usize] = Some(report),
            several => problems.push(format!(
                "shard {index}/{count} is given {} times ({})",
                several.len(),
                several.iter().map(|(p, _)| p.display().to_string()).collect::<Vec<_>>().join(", ")
            )),
        }
    }
    if !problems.is_empty() {
        return Err(Failure::input(format!(
            "the reports do not cover the campaign exactly once: {}",
            problems.join("; ")
        )));
    }
    for (path, report) in &reports {
        check_complete(path, report)?;
    }
    // Shard k holds the k-th seed of each scenario and every count-th after it: deal the
    // records back in that order.
    // Each record is moved, not copied: a merge holds the shards' records once.
    let order: Vec<usize> = {
        let mut order: Vec<(u64, usize)> =
            reports.iter().enumerate().map(|(i, (_, r))| (r.campaign.shard.0, i)).collect();
        order.sort_unstable();
        order.into_iter().map(|(_, i)| i).collect()
    };
    let mut reports: Vec<Option<Report>> = reports.into_iter().map(|(_, r)| Some(r)).collect();
    let mut cursors: Vec<std::vec::IntoIter<RunRecord>> = order
        .iter()
        .map(|&i| reports[i].take().expect("each shard once").records.into_iter())
        .collect();
    let mut records = Vec::new();
    for scenario in &whole.scenarios {
        for position in 0..len(&scenario.seeds, WHOLE) {
            let cursor = &mut cursors[(position % count) as usize];
            records.push(cursor.next().expect("checked complete"));
        }
    }
    Ok((whole, records))
}

/// What differs between two campaigns, beyond which shard each is.
fn difference(a: &Campaign, b: &Campaign) -> Option<String> {
    if a.shard.1 != b.shard.1 {
        return Some(format!(
            "one is split into {} shards, the other into {}",
            a.shard.1, b.shard.1
        ));
    }
    let list = |c: &Campaign| {
        c.scenarios
            .iter()
            .map(|s| format!("{} ({:?})", s.file, s.seeds))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if a.scenarios != b.scenarios {
        return Some(format!("scenarios {} against {}", list(a), list(b)));
    }
    if a.bugs != b.bugs {
        return Some(format!("--bug {:?} against {:?}", a.bugs, b.bugs));
    }
    (a.sets != b.sets).then(|| format!("--set {:?} against {:?}", a.sets, b.sets))
}

/// Refuse a shard report that lacks seeds of its shard or holds others.
fn check_complete(path: &std::path::Path, report: &Report) -> Result<(), Failure> {
    let campaign = &report.campaign;
    let (index, count) = campaign.shard;
    let mut records = report.records.iter();
    let mut expected = 0u64;
    for scenario in &campaign.scenarios {
        for seed in seeds(&scenario.seeds, campaign.shard) {
            expected += 1;
            match records.next() {
                Some(r) if r.scenario == scenario.name && r.seed == seed => {}
                Some(r) => {
                    return Err(Failure::input(format!(
                        "{} (shard {index}/{count}): found seed {} of {} where the shard runs seed {seed} of {}",
                        path.display(),
                        r.seed,
                        r.scenario,
                        scenario.name
                    )));
                }
                None => {
                    let why = if report.interrupted {
                        "it was interrupted"
                    } else {
                        "it stopped early (--stop-on-first?)"
                    };
                    return Err(Failure::input(format!(
                        "{} (shard {index}/{count}) holds {} of the shard's {} seeds: {why}; run that shard again",
                        path.display(),
                        report.records.len(),
                        (0..campaign.scenarios.len())
                            .map(|i| len(&campaign.scenarios[i].seeds, campaign.shard))
                            .sum::<u64>()
                    )));
                }
            }
        }
    }
    if records.next().is_some() {
        return Err(Failure::input(format!(
            "{} (shard {index}/{count}) holds more records than the shard's {expected} seeds",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn auto(text: &str, pairs: &[(&str, &str)]) -> Result<Shard, String> {
        parse(text, environment(pairs)).map(|(shard, _)| shard).map_err(|f| f.message)
    }

    #[test]
    fn slurm_job_arrays_map_to_shards() {
        let array = [("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "4")];
        assert_eq!(auto("auto", &array), Ok((2, 4)));
        // --array=1-4: the tasks count from SLURM_ARRAY_TASK_MIN.
        let from_one = [
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ];
        assert_eq!(auto("auto", &from_one), Ok((3, 4)));
        // --array=0-15:4 runs tasks 0, 4, 8, 12.
        let stepped = [
            ("SLURM_ARRAY_TASK_ID", "8"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_STEP", "4"),
        ];
        assert_eq!(auto("auto", &stepped), Ok((2, 4)));
        assert_eq!(auto("auto/4", &array), Ok((2, 4)));
        let wrong = auto("auto/8", &array).unwrap_err();
        assert!(wrong.contains("a Slurm job array says 4 shards, not 8"), "{wrong}");
        let no_count = auto("auto", &[("SLURM_ARRAY_TASK_ID", "2")]).unwrap_err();
        assert!(no_count.contains("SLURM_ARRAY_TASK_COUNT is not set"), "{no_count}");
        let outside =
            auto("auto", &[("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_COUNT", "4")]);
        assert!(outside.unwrap_err().contains("index 4 is not below the count 4"));
    }

    #[test]
    fn kubernetes_indexed_jobs_map_to_shards_with_the_count_given() {
        let job = [("JOB_COMPLETION_INDEX", "5")];
        assert_eq!(auto("auto/8", &job), Ok((5, 8)));
        let no_count = auto("auto", &job).unwrap_err();
        assert!(no_count.contains("give --shard auto/N, N the Job's completions"), "{no_count}");
        assert!(auto("auto/5", &job).unwrap_err().contains("index 5 is not below the count 5"));
    }

    #[test]
    fn gitlab_parallel_jobs_count_from_one() {
        let gitlab = [("CI_NODE_INDEX", "1"), ("CI_NODE_TOTAL", "3")];
        assert_eq!(auto("auto", &gitlab), Ok((0, 3)));
        assert_eq!(auto("auto", &[("CI_NODE_INDEX", "3"), ("CI_NODE_TOTAL", "3")]), Ok((2, 3)));
        let zero = auto("auto", &[("CI_NODE_INDEX", "0"), ("CI_NODE_TOTAL", "3")]).unwrap_err();
        assert!(zero.contains("counts from 1"), "{zero}");
    }

    #[test]
    fn auto_without_a_batch_system_or_with_two_is_refused_and_explicit_shards_parse() {
        let none = auto("auto", &[("HOME", "/root")]).unwrap_err();
        for variable in ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "CI_NODE_INDEX"] {
            assert!(none.contains(variable), "{none}");
        }
        let two = auto(
            "auto/4",
            &[("JOB_COMPLETION_INDEX", "1"), ("CI_NODE_INDEX", "1"), ("CI_NODE_TOTAL", "4")],
        );
        assert!(two.unwrap_err().contains("a Kubernetes Indexed Job and GitLab CI parallel:"));
        let ignored = [("SLURM_ARRAY_TASK_ID", "1"), ("SLURM_ARRAY_TASK_COUNT", "2")];
        assert_eq!(auto("2/5", &ignored), Ok((2, 5)), "an explicit shard ignores the environment");
        for bad in ["3/3", "x", "auto/0", "auto/x", "1/0"] {
            assert!(auto(bad, &ignored).is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_partition_the_seeds() {
        let range = Seeds::Range(10, 20);
        let all: Vec<u64> = seeds(&range, WHOLE).collect();
        assert_eq!(all, (10..20).collect::<Vec<_>>());
        let mut joined: Vec<u64> = (0..3).flat_map(|i| seeds(&range, (i, 3))).collect();
        joined.sort_unstable();
        assert_eq!(joined, all);
        assert_eq!(seeds(&range, (1, 3)).collect::<Vec<_>>(), vec![11, 14, 17]);
        let list = Seeds::List(vec![3, 9, 27, 81, 243]);
        assert_eq!(seeds(&list, (1, 2)).collect::<Vec<_>>(), vec![9, 81]);
        for (s, shard) in
            [(&range, (1, 3)), (&Seeds::Range(0, 5), (7, 9)), (&list, (1, 2)), (&list, WHOLE)]
        {
            assert_eq!(len(s, shard), seeds(s, shard).count() as u64);
        }
        // A shard of the whole seed space is a handful of seeds, found at once.
        let everything = Seeds::Range(0, u64::MAX);
        let shard = (0, 1_000_000_000_000_000_000);
        assert_eq!(seeds(&everything, shard).count(), 19);
        assert_eq!(len(&everything, shard), 19);
    }
}
