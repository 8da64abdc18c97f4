//! The reports of a campaign, written as its seeds finish, and the tallies of its summary:
//! failures grouped by the property they broke (a few examples each, with their replay
//! commands, and a count), the sometimes properties, the scenarios that expect a
//! violation; printed for people, or streamed as JSON lines (`--message-format json`).

use crate::Failure;
use crate::campaign::{EXIT_INTERRUPTED, cannot_write, plural};
use crate::cli::MessageFormat;
use crate::output::{OutputFile, Paint, create_all, paint, style};
use reports::json::Campaign;
use serde_json::json;
use sim_core::record::{RunRecord, Verdict};
use std::path::{Path, PathBuf};

/// Failures printed of each property (every one with `-v`, as it happens); the reports
/// list every seed.
const EXAMPLES_PER_PROPERTY: usize = 3;

/// The failures of one broken property, over the campaign.
struct FailureGroup {
    verdict: Verdict,
    /// The property ("linearizability", an invariant's name, "panic", "configuration").
    property: String,
    count: u64,
    /// Failures by scenario, in order of first failure.
    scenarios: Vec<(String, u64)>,
    /// The first few, as printed.
    examples: Vec<String>,
}

/// A scenario that expects a violation, and what the campaign found of it.
pub struct Expected {
    pub scenario: String,
    pub seeds: u64,
    pub found: u64,
    /// The first violation, printed with its replay command.
    pub first: Option<String>,
}

/// The reports of a campaign, written as its seeds finish, and the tallies of its
/// summary.
pub struct Reports {
    csv: Option<(reports::csv::CsvWriter<OutputFile>, PathBuf)>,
    json: Option<(reports::json::JsonWriter<OutputFile>, PathBuf)>,
    junit: Option<(reports::junit::JunitWriter<OutputFile, std::fs::File>, PathBuf)>,
    format: MessageFormat,
    seeds: u64,
    failed: u64,
    errors: u64,
    unknown: u64,
    sometimes: reports::summary::Sometimes,
    groups: Vec<FailureGroup>,
    exit: u8,
    /// The scenarios that expect a violation (`[checks] expect = "violation"`): their
    /// safety violations are expected, not failures, and a campaign in which one of them
    /// has none fails. (`dsim merge` reads records, not scenarios: it expects nothing.)
    pub expecting: Vec<Expected>,
    /// Safety violations the scenarios expected.
    as_expected: u64,
}

/// The outputs a campaign writes: `--csv`, `--json`, `--junit`, and the format of its
/// messages on standard output.
pub struct Outputs<'a> {
    pub csv: Option<&'a Path>,
    pub json: Option<&'a Path>,
    pub junit: Option<&'a Path>,
    pub format: MessageFormat,
}

/// The first line of a failure's message.
fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or("")
}

impl Reports {
    /// Open every output (before the first seed runs, so a bad path costs nothing).
    pub fn open(outputs: &Outputs<'_>, campaign: &Campaign) -> Result<Self, Failure> {
        let given: Vec<(&str, &Path)> =
            [("--csv", outputs.csv), ("--json", outputs.json), ("--junit", outputs.junit)]
                .into_iter()
                .filter_map(|(flag, path)| Some((flag, path?)))
                .collect();
        let mut files = create_all(&given)?.into_iter();
        let mut next = |path: &Path| (files.next().expect("opened above"), path.to_owned());
        let csv = match outputs.csv.map(&mut next) {
            Some((file, path)) => {
                Some((reports::csv::CsvWriter::new(file).map_err(cannot_write(&path))?, path))
            }
            None => None,
        };
        let json = match outputs.json.map(&mut next) {
            Some((file, path)) => Some((
                reports::json::JsonWriter::new(file, campaign).map_err(cannot_write(&path))?,
                path,
            )),
            None => None,
        };
        let junit = match outputs.junit.map(&mut next) {
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
            format: outputs.format,
            seeds: 0,
            failed: 0,
            errors: 0,
            unknown: 0,
            sometimes: Default::default(),
            groups: Vec::new(),
            exit: 0,
            expecting: Vec::new(),
            as_expected: 0,
        })
    }

    pub fn seeds(&self) -> u64 {
        self.seeds
    }

    /// Add a finished seed, with the wall-clock seconds it took when known (JUnit's
    /// `time`; a merge does not know it).
    pub fn add(&mut self, r: &RunRecord, wall_seconds: Option<f64>) -> Result<(), Failure> {
        if let Some((w, path)) = &mut self.csv {
            w.record(r).map_err(cannot_write(path))?;
        }
        if let Some((w, path)) = &mut self.json {
            w.record(r).map_err(cannot_write(path))?;
        }
        if let Some((w, path)) = &mut self.junit {
            w.record(r, wall_seconds).map_err(cannot_write(path))?;
        }
        if self.format == MessageFormat::Json {
            println!("{}", reports::json::record_line(r));
        }
        self.seeds += 1;
        self.sometimes.add(r);
        let verdict = r.verdict();
        self.unknown += u64::from(verdict == Verdict::Unknown);
        let expected_violation = match self.expecting.iter_mut().find(|e| e.scenario == r.scenario)
        {
            Some(expected) => {
                expected.seeds += 1;
                let violated = verdict == Verdict::Safety;
                if violated {
                    expected.found += 1;
                    expected.first.get_or_insert_with(|| {
                        format!(
                            "seed {}: {}\n  {}\n  replay: {}",
                            r.seed,
                            r.failure,
                            first_line(&r.message),
                            r.replay
                        )
                    });
                }
                violated
            }
            None => false,
        };
        if expected_violation {
            self.as_expected += 1;
            self.verbose_line(r, paint("EXPECTED", Paint::Yellow));
            return Ok(());
        }
        if verdict.is_failure() {
            self.fail(r);
        } else {
            self.verbose_line(r, paint("PASS", Paint::Green));
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

    /// With `-v` (and human messages), one line per seed as it is reported.
    fn verbose_line(&self, r: &RunRecord, label: String) {
        if style().verbose && self.format == MessageFormat::Human {
            println!("{label} {} seed {}", r.scenario, r.seed);
        }
    }

    fn fail(&mut self, r: &RunRecord) {
        let verdict = r.verdict();
        self.failed += 1;
        self.errors += u64::from(verdict == Verdict::Error);
        let example = format!(
            "  seed {} of {}: {}\n    replay: {}",
            r.seed,
            r.scenario,
            first_line(&r.message),
            r.replay
        );
        if style().verbose && self.format == MessageFormat::Human {
            println!(
                "{} {} seed {}: {} ({verdict})\n{example}",
                label(verdict),
                r.scenario,
                r.seed,
                r.failure
            );
        }
        let group = match self
            .groups
            .iter_mut()
            .position(|g| g.verdict == verdict && g.property == r.failure)
        {
            Some(i) => &mut self.groups[i],
            None => {
                self.groups.push(FailureGroup {
                    verdict,
                    property: r.failure.clone(),
                    count: 0,
                    scenarios: Vec::new(),
                    examples: Vec::new(),
                });
                self.groups.last_mut().expect("pushed")
            }
        };
        group.count += 1;
        match group.scenarios.iter_mut().find(|(s, _)| *s == r.scenario) {
            Some((_, n)) => *n += 1,
            None => group.scenarios.push((r.scenario.clone(), 1)),
        }
        if group.examples.len() < EXAMPLES_PER_PROPERTY {
            group.examples.push(example);
        }
    }

    /// Commit the reports, print the summary and the failures by property with their
    /// replay commands (on stderr with `--message-format json`, whose summary object ends
    /// standard output), and return the campaign's exit code.
    pub fn finish(mut self, interrupted: bool) -> Result<u8, Failure> {
        if let Some((w, path)) = self.csv.take() {
            w.finish().map_err(cannot_write(&path))?.commit()?;
        }
        if let Some((w, path)) = self.json.take() {
            w.finish(interrupted).map_err(cannot_write(&path))?.commit()?;
        }
        if let Some((w, path)) = self.junit.take() {
            w.finish().map_err(cannot_write(&path))?.commit()?;
        }
        let mut exit = self.exit;
        if self.expecting.iter().any(|e| e.first.is_none()) && exit == 0 {
            exit = Verdict::Safety.exit_code();
        }
        let exit = if interrupted { EXIT_INTERRUPTED } else { exit };
        let text = self.render(interrupted);
        match self.format {
            MessageFormat::Human => print!("{text}"),
            MessageFormat::Json => {
                eprint!("{text}");
                println!("{}", self.summary_json(interrupted, exit));
            }
        }
        Ok(exit)
    }

    fn passed(&self) -> u64 {
        self.seeds - self.failed - self.as_expected
    }

    /// The summary for people.
    fn render(&self, interrupted: bool) -> String {
        let mut out = format!(
            "{}: {} passed, {}{} failed{}{}{}\n",
            plural(self.seeds as usize, "seed"),
            self.passed(),
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
        if !sometimes.is_empty() && !style().quiet {
            out += &format!("{sometimes}\n");
        }
        for group in &self.groups {
            let scenarios: Vec<String> =
                group.scenarios.iter().map(|(s, n)| format!("{s} {n}")).collect();
            out += &format!(
                "{} {} ({}): {} ({})\n",
                label(group.verdict),
                group.property,
                group.verdict,
                plural(group.count as usize, "seed"),
                scenarios.join(", ")
            );
            for example in &group.examples {
                out += &format!("{example}\n");
            }
            let more = group.count as usize - group.examples.len();
            if more > 0 {
                out += &format!(
                    "  ... and {more} more: -v prints every failure; the reports (--csv, --json, --junit) list every seed\n"
                );
            }
        }
        for expected in &self.expecting {
            match &expected.first {
                Some(first) => {
                    out += &format!(
                        "{} {}: {} of {} violated safety, as the scenario expects; first: {first}\n",
                        paint("EXPECTED", Paint::Yellow),
                        expected.scenario,
                        expected.found,
                        plural(expected.seeds as usize, "seed")
                    )
                }
                None => {
                    out += &format!(
                        "{} {}: expected a safety violation within {}, found none\n",
                        paint("FAIL", Paint::Red),
                        expected.scenario,
                        plural(expected.seeds as usize, "seed")
                    );
                }
            }
        }
        out
    }

    /// The last line of `--message-format json`.
    fn summary_json(&self, interrupted: bool, exit: u8) -> serde_json::Value {
        json!({
            "type": "summary",
            "seeds": self.seeds,
            "passed": self.passed(),
            "failed": self.failed - self.errors,
            "could_not_run": self.errors,
            "violated_as_expected": self.as_expected,
            "linearizability_unknown": self.unknown,
            "interrupted": interrupted,
            "exit_code": exit,
            "failures": self.groups.iter().map(|g| json!({
                "property": g.property,
                "verdict": g.verdict.name(),
                "seeds": g.count,
                "scenarios": g.scenarios.iter().map(|(s, n)| (s.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
            })).collect::<Vec<_>>(),
            "expected_violations": self.expecting.iter().map(|e| json!({
                "scenario": e.scenario, "seeds": e.seeds, "violated": e.found,
            })).collect::<Vec<_>>(),
        })
    }
}

/// The word a failure is printed under: FAIL, or ERROR for a seed that could not run.
fn label(verdict: Verdict) -> String {
    if verdict == Verdict::Error { paint("ERROR", Paint::Red) } else { paint("FAIL", Paint::Red) }
}
