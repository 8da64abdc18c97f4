//! `--perfetto`, `--svg` and `--report`: a run's trace drawn (Perfetto, the message
//! diagram) and one HTML page per failing seed, with a campaign index.

use crate::Failure;
use crate::cli::SeeArgs;
use crate::output::write_output;
use reports::html::{Index, Page};
use reports::svg::Window;
use reports::timeline::Timeline;
use runner::RunOutput;
use scenarios::RunPlan;
use sim_core::SimTime;
use sim_core::check::{self, Format, Verdict as CheckVerdict};
use sim_core::record::RunRecord;
use std::path::{Path, PathBuf};

/// How many failing seeds of a campaign get a page (each is replayed with a trace).
pub const PAGES: usize = 20;

/// What to draw of one run, checked before it runs.
pub struct Views {
    perfetto: Option<PathBuf>,
    svg: Option<(PathBuf, Diagram)>,
    report: Option<PathBuf>,
}

/// Which part of the run the diagram shows.
enum Diagram {
    Window(Window),
    Last(usize),
}

fn parse_window(text: &str) -> Result<Window, Failure> {
    let bad = |why: String| {
        Failure::input(format!("--diagram-window {text}: {why}; expected A..B, e.g. 1.2s..1.5s"))
    };
    let (a, b) = text.split_once("..").ok_or_else(|| bad("no `..`".into()))?;
    let time = |t: &str| {
        scenarios::reader::parse_duration(t)
            .map_err(|e| bad(format!("{t:?} {e}")))
            .and_then(|n| u64::try_from(n).map_err(|_| bad(format!("{t} is negative"))))
    };
    let (from, to) = (time(a)?, time(b)?);
    if from >= to {
        return Err(bad(format!("{a} is not before {b}")));
    }
    Ok(Window { from: SimTime(from), to: SimTime(to) })
}

/// A report directory, created now so that a bad path fails before the first seed.
pub fn report_dir(dir: &Path) -> Result<PathBuf, Failure> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::input(format!("--report {}: cannot create the directory: {e}", dir.display()))
    })?;
    Ok(dir.to_owned())
}

impl Views {
    pub fn new(args: &SeeArgs) -> Result<Views, Failure> {
        let diagram = match &args.diagram_window {
            Some(text) => Diagram::Window(parse_window(text)?),
            None => Diagram::Last(args.diagram_last.unwrap_or(reports::html::DIAGRAM_MESSAGES)),
        };
        Ok(Views {
            perfetto: args.perfetto.clone(),
            svg: args.svg.clone().map(|path| (path, diagram)),
            report: args.report.as_deref().map(report_dir).transpose()?,
        })
    }

    /// Whether the run must keep its trace and history.
    pub fn wanted(&self) -> bool {
        self.perfetto.is_some() || self.svg.is_some() || self.report.is_some()
    }

    pub fn write(&self, plan: &RunPlan, output: &RunOutput) -> Result<(), Failure> {
        if !self.wanted() {
            return Ok(());
        }
        let seen = Seen::new(plan, output);
        if let Some(path) = &self.perfetto {
            write_output(path, &reports::perfetto::render(&output.trace, &seen.timeline))?;
        }
        if let Some((path, diagram)) = &self.svg {
            let failure = reports::html::failure_time(&seen.timeline, seen.violation.as_ref());
            let window = match diagram {
                Diagram::Window(window) => *window,
                Diagram::Last(n) => Window::last_messages(&seen.timeline, failure, *n),
            };
            let failed = output.record.verdict().is_failure().then_some(failure);
            write_output(path, &reports::svg::render(&seen.timeline, window, failed, None))?;
        }
        if let Some(dir) = &self.report {
            let mut index = Index::default();
            let page = seen.page(dir, &output.record)?;
            index.add(&output.record, page);
            write_output(&dir.join("index.html"), &index.render())?;
        }
        Ok(())
    }
}

/// A run made ready to draw: its timeline, and the linearizability violation if that is
/// its failure.
struct Seen {
    timeline: Timeline,
    violation: Option<check::linearizability::Violation>,
}

impl Seen {
    fn new(plan: &RunPlan, output: &RunOutput) -> Seen {
        let clients = plan.workload.as_ref().map_or(0, |(c, _)| u64::from(c.clients));
        let history = output.history.as_deref().unwrap_or("");
        let timeline = Timeline::new(&output.trace, history, clients);
        // The runner's checker explained the failure in words; checked again here, it
        // gives the operations to draw.
        let violation = (output.record.failure == "linearizability")
            .then(|| plan.checks.model())
            .flatten()
            .and_then(|model| {
                let parsed = check::parse_history(history, Format::Jsonl).ok()?;
                match model.check(&parsed, plan.checks.budget).ok()? {
                    CheckVerdict::NotLinearizable(v) => Some(*v),
                    _ => None,
                }
            });
        Seen { timeline, violation }
    }

    /// Write the page of a failing run into `dir`; its file name.
    fn page(&self, dir: &Path, record: &RunRecord) -> Result<Option<String>, Failure> {
        if !record.verdict().is_failure() {
            return Ok(None);
        }
        let name = format!("{}-seed-{}.html", record.scenario, record.seed);
        let page = Page {
            record,
            timeline: &self.timeline,
            violation: self.violation.as_ref(),
            shrink: record.replay.replacen("dsim replay", "dsim shrink", 1),
        };
        write_output(&dir.join(&name), &reports::html::render_page(&page))?;
        Ok(Some(name))
    }
}

/// The `--report DIR` of a campaign: every seed counted in the index, the first
/// [`PAGES`] failing ones replayed with a trace for their pages.
pub struct CampaignReport {
    dir: PathBuf,
    index: Index,
    pages: usize,
}

impl CampaignReport {
    pub fn open(dir: Option<&Path>) -> Result<Option<CampaignReport>, Failure> {
        Ok(dir.map(report_dir).transpose()?.map(|dir| CampaignReport {
            dir,
            index: Index::default(),
            pages: 0,
        }))
    }

    /// Count `record`; if it failed and pages are left, `replay` runs it again with a
    /// trace and its page is written.
    pub fn add(
        &mut self,
        record: &RunRecord,
        replay: impl FnOnce() -> (RunPlan, RunOutput),
    ) -> Result<(), Failure> {
        let mut page = None;
        if record.verdict().is_failure() && self.pages < PAGES {
            let (plan, output) = replay();
            page = Seen::new(&plan, &output).page(&self.dir, &output.record)?;
            self.pages += 1;
        }
        self.index.add(record, page);
        Ok(())
    }

    pub fn finish(self) -> Result<(), Failure> {
        write_output(&self.dir.join("index.html"), &self.index.render())
    }
}
