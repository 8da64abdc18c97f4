//! `[[phases]]`: a run as phases in order (e.g. steady, a partition storm, a heal, a quiet
//! check), each with its own duration, nemesis, workload, fixed faults and checks. A
//! phase's `[phases.nemesis]` and `[phases.workload]` are the top-level `[nemesis]` and
//! `[workload]` with the phase's keys over them, key by key (a phase without one runs the
//! top-level section as it is); its `[[phases.faults]]` happen at times counted from the
//! phase's start. A file without `[[phases]]` is one phase, the run as today.
//! `docs/scenario-reference.md` ("Phases") says what happens at a phase boundary.

use crate::catalogue::WorkloadEntry;
use crate::reader::{Reader, join};
use crate::schema::{NemesisSpec, RunSpec, ScheduledFault, WorkloadSpec};
use crate::tree::{Entry, Loc, Table};
use sim_core::SimDuration;

/// The keys of one `[[phases]]` table.
pub const PHASE_KEYS: &[&str] =
    &["name", "duration", "heal", "nemesis", "workload", "faults", "checks"];
/// The keys of `[phases.checks]`.
const CHECK_KEYS: &[&str] = &["liveness_bound", "max_unavailability"];
/// `[workload]` keys that hold for the whole run, so a phase may not change them.
const RUN_WIDE_WORKLOAD_KEYS: &[(&str, &str)] = &[
    ("clients", "the clients are the same from the first phase to the last"),
    ("ops", "the operation budget is the run's"),
    ("timeout", "the timeout bounds every liveness check, so it is the run's"),
];

/// What a phase checks of the operations invoked in it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PhaseChecks {
    /// Every operation invoked in the phase completes (ok or fail) within this, and one
    /// completes ok.
    pub liveness_bound: Option<SimDuration>,
    /// No stretch of the phase longer than this without an operation completing ok.
    pub max_unavailability: Option<SimDuration>,
}

/// One phase of a run, its sections read in full (the top-level ones under its keys).
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub name: String,
    pub duration: SimDuration,
    /// At the phase's end, heal everything (as the fault `heal-all`: partitions, holds,
    /// crashed and paused nodes).
    pub heal: bool,
    pub nemesis: NemesisSpec,
    /// `None` without a top-level `[workload]`.
    pub workload: Option<WorkloadSpec>,
    /// Faults at times from the phase's start.
    pub faults: Vec<ScheduledFault>,
    pub checks: PhaseChecks,
}

/// The top-level sections a phase starts from.
pub(crate) struct Base<'a> {
    pub nemesis_table: &'a Table,
    pub nemesis: &'a NemesisSpec,
    /// The top-level `[workload]` table and what it read as, with the workload's entry.
    pub workload: Option<(&'a Table, &'a WorkloadSpec)>,
    pub workload_entry: Option<&'a WorkloadEntry>,
    pub nodes: Option<u32>,
    pub node_bound: u32,
}

/// `base` with the keys of `over` over it.
fn overlaid(base: &Table, over: &Table) -> Table {
    let mut table = base.clone();
    for (key, entry) in &over.entries {
        table.entries.insert(key.clone(), entry.clone());
    }
    table
}

/// Whether `name` can name a phase in `--set phases.NAME.key` and in check names: a
/// letter, then letters, digits, `_` and `-`.
fn usable_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Read `[[phases]]` of `root`; with phases, set `run`'s duration (their sum) and heal
/// time (the end of the last phase that heals, or the end), refusing `run.duration` and
/// `run.heal_at`, which the phases decide.
pub(crate) fn read_phases(
    r: &mut Reader<'_>,
    root: &Table,
    base: &Base<'_>,
    run_table: &Table,
    run: Option<&mut RunSpec>,
) -> Vec<Phase> {
    let mut phases: Vec<Phase> = Vec::new();
    let tables = r.tables(root, "", "phases");
    for (t, loc) in &tables {
        if let Some(phase) = read_phase(r, t, loc, base, &phases) {
            phases.push(phase);
        }
    }
    if tables.is_empty() {
        return phases;
    }
    let total = SimDuration(phases.iter().map(|p| p.duration.0).sum());
    // The phases decide the run's length and heal, over what a base file says; the file
    // that gives them, or a --set, may not say otherwise.
    let phases_file = root.get("phases").map(|e| e.item.loc.file);
    let ours = |r: &Reader<'_>, e: &Entry| {
        Some(e.item.loc.file) == phases_file
            || crate::overrides::is_override(r.sources.path(e.item.loc.file))
    };
    for (key, why) in [
        ("duration", format!("with [[phases]], the run lasts as long as its phases together ({total}); drop run.duration, or change a phase's duration")),
        ("heal_at", "with [[phases]], the final heal is at the end of the last phase with heal = true; drop run.heal_at".to_owned()),
    ] {
        if let Some(e) = run_table.get(key).filter(|e| ours(r, e)) {
            r.problem(&e.item.loc, &join("run", key), why);
        }
    }
    if let Some(run) = run {
        run.duration = total;
        run.heal_at = final_heal(&phases);
    }
    phases
}

/// The end of the last phase that heals, or the end of the run.
pub fn final_heal(phases: &[Phase]) -> SimDuration {
    let mut end = SimDuration::ZERO;
    let mut heal = None;
    for phase in phases {
        end = SimDuration(end.0 + phase.duration.0);
        if phase.heal {
            heal = Some(end);
        }
    }
    heal.unwrap_or(end)
}

fn read_phase(
    r: &mut Reader<'_>,
    t: &Table,
    loc: &Loc,
    base: &Base<'_>,
    before: &[Phase],
) -> Option<Phase> {
    let p = "phases";
    r.only_keys(t, p, PHASE_KEYS);
    let name = match t.get("name") {
        Some(_) => r.string(t, p, "name"),
        None => {
            r.problem(loc, "phases.name", "missing: the phase's name, e.g. name = \"steady\"");
            None
        }
    };
    if let (Some(name), Some(e)) = (&name, t.get("name")) {
        if !usable_name(name) {
            r.problem(&e.item.loc, "phases.name", format!("\"{name}\" cannot name a phase: use a letter, then letters, digits, `_` or `-` (it names the phase in --set phases.NAME.key and in check names)"));
        } else if before.iter().any(|b| &b.name == name) {
            r.problem(
                &e.item.loc,
                "phases.name",
                format!("a phase named \"{name}\" comes before; give each phase its own name"),
            );
        }
    }
    let duration = match t.get("duration") {
        Some(e) => r.duration(t, p, "duration").filter(|d| {
            let positive = d.0 > 0;
            if !positive {
                r.problem(&e.item.loc, "phases.duration", "must be longer than zero");
            }
            positive
        }),
        None => {
            r.problem(loc, "phases.duration", "missing: how long the phase lasts, e.g. \"2s\"");
            None
        }
    };
    let heal = r.bool(t, p, "heal").unwrap_or(false);
    let nemesis = match r.table(t, p, "nemesis") {
        Some(own) => crate::schema::read_nemesis(r, &overlaid(base.nemesis_table, own), base.nodes),
        None => base.nemesis.clone(),
    };
    let workload = read_phase_workload(r, t, base);
    let end = duration.map(|d| (d, "the phase"));
    let faults = crate::schema::read_faults(r, t, base.node_bound, end);
    let checks = read_phase_checks(r, t, base.workload.map(|(_, w)| w));
    Some(Phase { name: name?, duration: duration?, heal, nemesis, workload, faults, checks })
}

fn read_phase_workload(r: &mut Reader<'_>, t: &Table, base: &Base<'_>) -> Option<WorkloadSpec> {
    let Some(own) = r.table(t, "phases", "workload") else {
        return base.workload.map(|(_, w)| w.clone());
    };
    let at = &t.get("workload").expect("the table is there").key_loc;
    let Some((base_table, _)) = base.workload else {
        r.problem(at, "phases.workload", "a phase's [phases.workload] changes keys of the top-level [workload], and there is none; add a [workload]");
        return None;
    };
    for (key, why) in RUN_WIDE_WORKLOAD_KEYS {
        if let Some(e) = own.get(key) {
            r.problem(
                &e.key_loc,
                &join("phases.workload", key),
                format!("a phase cannot change `{key}`: {why}; set it in [workload]"),
            );
        }
    }
    let merged = overlaid(base_table, own);
    Some(crate::schema::read_workload(r, &merged, at, base.workload_entry))
}

fn read_phase_checks(
    r: &mut Reader<'_>,
    t: &Table,
    workload: Option<&WorkloadSpec>,
) -> PhaseChecks {
    let p = "phases.checks";
    let Some(checks) = r.table(t, "phases", "checks") else { return PhaseChecks::default() };
    r.only_keys(checks, p, CHECK_KEYS);
    let read = |r: &mut Reader<'_>, key: &str| -> Option<SimDuration> {
        let entry: &Entry = checks.get(key)?;
        let bound = r.duration(checks, p, key)?;
        if bound.0 == 0 {
            r.problem(&entry.item.loc, &join(p, key), "must be longer than zero");
            return None;
        }
        if workload.is_none() {
            r.problem(
                &entry.item.loc,
                &join(p, key),
                "checks the phase's client operations, and there is no [workload]",
            );
        }
        Some(bound)
    };
    let liveness_bound = read(r, "liveness_bound");
    let max_unavailability = read(r, "max_unavailability");
    // As for checks.liveness_bound: a client gives up at its timeout, which the check
    // counts as a failure, so a longer bound would really demand the timeout.
    if let (Some(bound), Some(w)) = (liveness_bound, workload)
        && let shortest = crate::schema::shortest_timeout(w)
        && bound > shortest
    {
        let at = &checks.get("liveness_bound").expect("read").item.loc;
        r.problem(at, "phases.checks.liveness_bound", format!("{bound} is longer than the shortest workload.timeout, {shortest}: clients give up at their timeout, which the check counts as a failure; set it to at most {shortest}"));
    }
    PhaseChecks { liveness_bound, max_unavailability }
}
