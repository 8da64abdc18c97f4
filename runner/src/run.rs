//! Running one plan: build the simulation, run it to the end (or to the first violation),
//! then check what the clients saw (linearizability, liveness after the final heal) and
//! gather the record that every report prints.

use scenarios::RunPlan;
use scenarios::plan::PlannedPhase;
use sim_core::SimTime;
use sim_core::check::jsonl::to_jsonl;
use sim_core::checker::{CheckResult, Checker, Convergence, Finding, Finished, Liveness};
use sim_core::checker::{Window, latencies, latencies_by_operation, liveness_within};
use sim_core::checker::{quantile, unavailability, verdict_of};
use sim_core::client::ClientStats;
use sim_core::coverage::MessageKinds;
use sim_core::engine::{FaultLog, NoObserver, Observer, RunLimits, Simulation, StopReason};
use sim_core::faults::FaultStats;
use sim_core::faults::{FaultAction, FaultKind};
use sim_core::node::Counters;
use sim_core::protocol::Protocol;
use sim_core::record::{PhaseRecord, RunRecord, Verdict};
use sim_core::selfcheck::{Agreement, Divergence, lockstep};
use sim_core::trace::{TraceEvent, TraceRecorder};
use sim_core::workload::ScenarioWorkload;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};

/// What to keep from a run besides its record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunSettings {
    /// Record every event (costs memory and time; off for campaigns).
    pub trace: bool,
    /// Keep what the clients saw, as JSON lines (off for campaigns).
    pub history: bool,
    /// Keep every fault that fired ([`RunOutput::faults`]), for `dsim shrink`.
    pub faults: bool,
    /// Keep the latency of every operation ([`RunOutput::latencies`]), for `dsim compare`.
    pub latencies: bool,
    /// Count the messages sent by kind ([`RunOutput::message_kinds`]), for `dsim fuzz
    /// --guided`.
    pub message_kinds: bool,
}

/// A finished run.
#[derive(Clone, Debug)]
pub struct RunOutput {
    pub record: RunRecord,
    /// What the clients saw, as JSON lines, when [`RunSettings::history`] asks (`dsim run
    /// --history`); `None` otherwise, or without clients.
    pub history: Option<String>,
    pub trace: Vec<TraceEvent>,
    /// Every fault that fired, when [`RunSettings::faults`] asks.
    pub faults: Vec<(SimTime, FaultAction)>,
    /// The linearizability checker's full explanation, when it found a violation.
    pub explanation: Option<String>,
    /// When [`RunSettings::latencies`] asks: the latency of every operation that
    /// completed ok, by operation ("read", "write"), each sorted, in nanoseconds.
    pub latencies: BTreeMap<String, Vec<u64>>,
    /// When [`RunSettings::message_kinds`] asks: the messages sent, by kind, by name.
    pub message_kinds: Vec<(String, u64)>,
}

impl RunOutput {
    /// The output of a run that left only its record (it panicked, or was refused).
    pub fn of_record(record: RunRecord) -> RunOutput {
        RunOutput {
            record,
            history: None,
            trace: Vec::new(),
            faults: Vec::new(),
            explanation: None,
            latencies: BTreeMap::new(),
            message_kinds: Vec::new(),
        }
    }
}

/// Run `plan` with protocol `P`.
pub fn run_protocol<P: Protocol>(
    plan: &RunPlan,
    settings: &RunSettings,
) -> Result<RunOutput, String> {
    let bugs: Vec<&str> = plan.bugs.iter().map(String::as_str).collect();
    let config = P::configure_for(&plan.options, &bugs, plan.builder.node_count())?;
    // `None` when the scenario turns invariants off.
    let invariants = plan.checks.invariants.then(P::Invariants::default);
    let kinds = settings.message_kinds.then(MessageKinds::<P>::default);
    if settings.trace || settings.faults {
        let clients = plan.workload.as_ref().map_or(0, |(clients, _)| clients.clients);
        let recorders = (
            settings.trace.then(|| TraceRecorder::new(clients)),
            settings.faults.then(FaultLog::default),
        );
        let mut sim = build::<P, _>(plan, config, (invariants, (kinds, recorders)))?;
        let run = keeping_panicked(&mut sim, |sim| execute(plan, settings, sim, |o| o.0.as_ref()));
        let (kinds, (trace, faults)) = sim.into_observer().1;
        let trace = trace.map(TraceRecorder::into_events).unwrap_or_default();
        let mut output = match run {
            Ok(output) => output,
            Err((mut panicked, payload)) => {
                panicked.trace = trace;
                PANICKED.with(|p| *p.borrow_mut() = Some(panicked));
                panic::resume_unwind(payload)
            }
        };
        output.trace = trace;
        output.faults = faults.map(|f| f.fired).unwrap_or_default();
        output.message_kinds = kinds.map(|k| k.counts()).unwrap_or_default();
        Ok(output)
    } else {
        let mut sim = build::<P, _>(plan, config, (invariants, kinds))?;
        match keeping_panicked(&mut sim, |sim| execute(plan, settings, sim, |o| o.0.as_ref())) {
            Ok(mut output) => {
                output.message_kinds =
                    sim.observer().1.as_ref().map(MessageKinds::counts).unwrap_or_default();
                Ok(output)
            }
            Err((panicked, payload)) => {
                PANICKED.with(|p| *p.borrow_mut() = Some(panicked));
                panic::resume_unwind(payload)
            }
        }
    }
}

/// How far a run got before a handler panicked.
#[derive(Clone, Debug, Default)]
pub struct Panicked {
    pub events: u64,
    pub sim_time_ns: u64,
    pub trace_hash: u64,
    /// Every event up to the panic, when the run was traced.
    pub trace: Vec<TraceEvent>,
}

thread_local! {
    static PANICKED: RefCell<Option<Panicked>> = const { RefCell::new(None) };
}

/// How far the last run on this thread got, if it panicked (the panic goes on unwinding
/// to whoever catches it; this is what it leaves behind). Taking it clears it.
pub fn take_panicked() -> Option<Panicked> {
    PANICKED.with(|p| p.borrow_mut().take())
}

/// Run `f` on `sim`; if it panics, how far `sim` got, and the panic to resume.
#[allow(clippy::type_complexity)]
fn keeping_panicked<P: Protocol, O: Observer<P>, T>(
    sim: &mut Simulation<P, O>,
    f: impl FnOnce(&mut Simulation<P, O>) -> T,
) -> Result<T, (Panicked, Box<dyn std::any::Any + Send>)> {
    panic::catch_unwind(AssertUnwindSafe(|| f(sim))).map_err(|payload| {
        let panicked = Panicked {
            events: sim.stats().events,
            sim_time_ns: sim.now().as_nanos(),
            trace_hash: sim.trace_hash(),
            trace: Vec::new(),
        };
        (panicked, payload)
    })
}

/// Run `plan` twice side by side and compare every event.
pub fn self_check<P: Protocol>(plan: &RunPlan) -> Result<Result<Agreement, Divergence>, String> {
    let bugs: Vec<&str> = plan.bugs.iter().map(String::as_str).collect();
    let nodes = plan.builder.node_count();
    let mut first =
        build::<P, _>(plan, P::configure_for(&plan.options, &bugs, nodes)?, NoObserver)?;
    let mut second =
        build::<P, _>(plan, P::configure_for(&plan.options, &bugs, nodes)?, NoObserver)?;
    Ok(lockstep(&mut first, &mut second, plan_limits(plan)))
}

/// What stops a run of `plan` before its end: its event and pending-event limits.
fn plan_limits(plan: &RunPlan) -> RunLimits {
    RunLimits {
        until: plan.duration,
        max_events: plan.max_events,
        max_pending: plan.max_pending_events,
    }
}

/// The simulation of `plan`, with its clients if it has a workload; an `Err` is a draw of
/// workload options the workload refused.
fn build<P: Protocol, O: Observer<P>>(
    plan: &RunPlan,
    config: P::Config,
    observer: O,
) -> Result<Simulation<P, O>, String> {
    let builder = plan.builder.clone();
    Ok(match &plan.workload {
        Some((clients, options)) => {
            let mut builder =
                builder.workload(clients.clone(), P::Workload::configure_from(options)?);
            for (clients, options) in &plan.phase_workloads {
                builder =
                    builder.phase_workload(clients.clone(), P::Workload::configure_from(options)?);
            }
            builder.build_observed(config, observer)
        }
        None => builder.build_observed(config, observer),
    })
}

/// Run `sim` and check it; `invariants` finds the protocol's invariants observer in `O`
/// (absent when the scenario turns invariants off), whose metrics join the counters.
fn execute<P: Protocol, O: Observer<P>>(
    plan: &RunPlan,
    settings: &RunSettings,
    sim: &mut Simulation<P, O>,
    invariants: impl Fn(&O) -> Option<&P::Invariants>,
) -> RunOutput {
    let (stop, phases) = run_phases(plan, sim);
    let mut record = RunRecord {
        scenario: plan.scenario.clone(),
        protocol: plan.protocol.clone(),
        seed: plan.seed,
        bugs: plan.bugs.clone(),
        drawn: plan.drawn.clone(),
        phases,
        ..RunRecord::default()
    };
    let metrics = invariants(sim.observer()).map(|i| P::metrics(i, sim.now()));
    fill_stats(&mut record, sim, metrics.unwrap_or_default());
    let results = check(plan, sim, stop);
    let (verdict, decided) = verdict_of(&results);
    let mut explanation = None;
    if let Some(result) = decided {
        match &result.finding {
            Finding::Fail { summary, detail } => {
                record.failure = result.property.clone();
                record.message = summary.clone();
                if detail != summary {
                    explanation = Some(detail.clone());
                }
            }
            Finding::Unknown { why } => record.message = why.clone(),
            Finding::Pass => {}
        }
    }
    record.checks = results.iter().map(|r| (r.name.clone(), r.finding.name().to_owned())).collect();
    record.verdict = Some(verdict);
    let history = sim.history().filter(|_| settings.history).map(to_jsonl);
    let latencies = sim
        .history()
        .filter(|_| settings.latencies)
        .map(latencies_by_operation)
        .unwrap_or_default();
    RunOutput {
        record,
        history,
        trace: Vec::new(),
        faults: Vec::new(),
        explanation,
        latencies,
        message_kinds: Vec::new(),
    }
}

/// Every check of the run, in the fixed order reports show: the protocol's invariants
/// (checked online), the event limit, then the scenario's checkers.
fn check<P: Protocol, O: Observer<P>>(
    plan: &RunPlan,
    sim: &Simulation<P, O>,
    stop: StopReason,
) -> Vec<CheckResult> {
    let mut results = Vec::new();
    let result = |name: &str, property: &str, severity, finding| CheckResult {
        name: name.to_owned(),
        property: property.to_owned(),
        severity,
        finding,
    };
    if plan.checks.invariants {
        let (property, finding) = match sim.violation() {
            Some(violation) => (violation.invariant.as_str(), Finding::fail(violation.to_string())),
            None => ("invariants", Finding::Pass),
        };
        results.push(result("invariants", property, Verdict::Safety, finding));
    }
    // A run that spins through its event budget proved nothing: a livelock is a liveness
    // failure, never a pass.
    let (property, event_limit) = match stop {
        StopReason::EventLimit => (
            "event_limit",
            Finding::fail(format!(
                "the run hit its event limit ({} events) at {}, before its end at {}: a \
                 livelock, or raise run.max_events",
                plan.max_events,
                sim.now(),
                plan.duration
            )),
        ),
        // Memory, not events: a protocol that sends faster than the network delivers.
        StopReason::QueueLimit => (
            "event_queue",
            Finding::fail(format!(
                "more than {} events were pending at {} (run.max_pending_events), before the \
                 end at {}: messages multiply faster than they are delivered (a re-broadcast \
                 of every message?); raise run.max_pending_events if the run needs more",
                plan.max_pending_events,
                sim.now(),
                plan.duration
            )),
        ),
        _ => ("event_limit", Finding::Pass),
    };
    results.push(result("event_limit", property, Verdict::Liveness, event_limit));

    let finished = Finished {
        history: sim.history(),
        nodes: sim.nodes(),
        heal_at: plan.heal_at,
        end: sim.now(),
    };
    // What happens after the heal is judged only on a run that reached its end.
    let stopped_early =
        matches!(stop, StopReason::EventLimit | StopReason::QueueLimit | StopReason::Violation)
            .then(|| Finding::Unknown {
                why: format!("not checked: the run stopped early, at {}", sim.now()),
            });
    let mut checkers: Vec<(Box<dyn Checker<P>>, bool)> = Vec::new();
    if let Some(checker) = plan
        .checks
        .model()
        .and_then(|model| P::Workload::model_checker::<P>(model, plan.checks.budget))
    {
        checkers.push((checker, false));
    }
    // The protocol's own checkers judge the run's end (e.g. what every node holds after
    // the heal), so only a run that reached it.
    let workload_checkers = P::Workload::checkers::<P>().into_iter().map(|spec| (spec, false));
    for (spec, after_heal) in workload_checkers.chain(P::checkers().into_iter().map(|s| (s, true)))
    {
        if !plan.checks.disabled.iter().any(|name| name == spec.name) {
            checkers.push(((spec.make)(), after_heal));
        }
    }
    if plan.checks.convergence {
        checkers.push((Box::new(Convergence), true));
    }
    if let Some(bound) = plan.checks.liveness_bound {
        checkers.push((Box::new(Liveness { bound }), true));
    }
    let phase_results = phase_checks(plan, sim);
    for (checker, after_heal) in checkers {
        let finding = match &stopped_early {
            Some(unchecked) if after_heal => unchecked.clone(),
            _ => checker.check(&finished),
        };
        results.push(result(checker.name(), checker.name(), checker.severity(), finding));
    }
    for (name, finding) in phase_results {
        let finding = stopped_early.clone().unwrap_or(finding);
        results.push(result(&name, &name, Verdict::Liveness, finding));
    }
    results
}

/// The checks each phase names (`[phases.checks]`), as `phase.check` with what they found.
fn phase_checks<P: Protocol, O: Observer<P>>(
    plan: &RunPlan,
    sim: &Simulation<P, O>,
) -> Vec<(String, Finding)> {
    let Some(history) = sim.history() else { return Vec::new() };
    // Clients invoke nothing after they stop, so nothing can be available after it.
    let stop_at = plan.workload.as_ref().and_then(|(c, _)| c.stop_at).unwrap_or(SimTime::MAX);
    let finding = |failed: Option<String>| failed.map_or(Finding::Pass, Finding::fail);
    let mut out = Vec::new();
    for phase in &plan.phases {
        let window = Window {
            from: phase.start,
            until: phase.end,
            name: format!("in phase {} ({} to {})", phase.name, phase.start, phase.end),
        };
        if let Some(bound) = phase.checks.liveness_bound {
            let failed = liveness_within(history, &window, sim.now(), bound);
            out.push((format!("{}.liveness", phase.name), finding(failed)));
        }
        if let Some(bound) = phase.checks.max_unavailability {
            let window = Window { until: window.until.min(stop_at), ..window };
            out.push((
                format!("{}.max_unavailability", phase.name),
                finding(unavailability(history, &window, bound)),
            ));
        }
    }
    out
}

/// Run `sim` to the plan's end, phase by phase when it has phases (the same events as
/// one run: a phase's events are those before its end), with what each phase did.
fn run_phases<P: Protocol, O: Observer<P>>(
    plan: &RunPlan,
    sim: &mut Simulation<P, O>,
) -> (StopReason, Vec<PhaseRecord>) {
    let limits = |until| RunLimits { until, ..plan_limits(plan) };
    let mut records = Vec::new();
    let mut stop = StopReason::TimeLimit;
    let stopped = |stop| {
        matches!(stop, StopReason::Violation | StopReason::EventLimit | StopReason::QueueLimit)
    };
    for phase in &plan.phases {
        let before = Snapshot::of(sim);
        // What is in force once the phase's first instant (e.g. a heal-all at the end of
        // the phase before) has run.
        stop = sim.run(limits(phase.start));
        let partitioned = sim.network().is_partitioned();
        if !stopped(stop) {
            let until =
                if phase.end >= plan.duration { plan.duration } else { SimTime(phase.end.0 - 1) };
            stop = sim.run(limits(until));
        }
        records.push(before.until(&Snapshot::of(sim), phase, partitioned));
        if stopped(stop) {
            return (stop, records);
        }
    }
    if plan.phases.is_empty() {
        stop = sim.run(limits(plan.duration));
    }
    (stop, records)
}

/// The run's counts at one moment, to tell what a phase did.
struct Snapshot {
    clients: ClientStats,
    faults: FaultStats,
    dropped: u64,
    counters: Counters,
}

impl Snapshot {
    fn of<P: Protocol, O: Observer<P>>(sim: &Simulation<P, O>) -> Snapshot {
        Snapshot {
            clients: sim.client_stats(),
            faults: sim.fault_stats(),
            dropped: sim.message_stats().dropped(),
            counters: sim.counters().clone(),
        }
    }

    /// What happened between this snapshot, at `phase`'s start, and `after`; whether a
    /// partition was in force as it started.
    fn until(&self, after: &Snapshot, phase: &PlannedPhase, partitioned: bool) -> PhaseRecord {
        let rose = |name: &str, now: u64| {
            let before = self.counters.get(name).copied().unwrap_or(0);
            (now > before).then(|| (name.to_owned(), now - before))
        };
        PhaseRecord {
            name: phase.name.clone(),
            start_ns: phase.start.as_nanos(),
            end_ns: phase.end.as_nanos(),
            ops_invoked: after.clients.invoked - self.clients.invoked,
            ops_ok: after.clients.ok - self.clients.ok,
            ops_fail: after.clients.fail - self.clients.fail,
            ops_info: after.clients.info - self.clients.info,
            messages_dropped: after.dropped - self.dropped,
            partitioned_at_start: partitioned,
            faults: FaultKind::ALL
                .iter()
                .map(|&k| (k.name().to_owned(), after.faults.get(k) - self.faults.get(k)))
                .collect(),
            counters: after.counters.iter().filter_map(|(name, n)| rose(name, *n)).collect(),
        }
    }
}

fn fill_stats<P: Protocol, O: Observer<P>>(
    record: &mut RunRecord,
    sim: &Simulation<P, O>,
    metrics: sim_core::protocol::Metrics,
) {
    record.events = sim.stats().events;
    record.sim_time_ns = sim.now().as_nanos();
    record.trace_hash = sim.trace_hash();
    let clients = sim.client_stats();
    record.ops_invoked = clients.invoked;
    record.ops_ok = clients.ok;
    record.ops_fail = clients.fail;
    record.ops_info = clients.info;
    let messages = sim.message_stats();
    record.messages_sent = messages.sent;
    record.messages_delivered = messages.delivered;
    record.messages_dropped = messages.dropped();
    if let Some(history) = sim.history() {
        let latencies = latencies(history);
        record.latency_p50_ns = quantile(&latencies, 0.5).unwrap_or(0);
        record.latency_p99_ns = quantile(&latencies, 0.99).unwrap_or(0);
        record.latency_max_ns = latencies.last().copied().unwrap_or(0);
    }
    record.faults =
        FaultKind::ALL.iter().map(|&k| (k.name().to_owned(), sim.fault_stats().get(k))).collect();
    // The protocol's metrics join its counters, so a sometimes property may name one.
    let mut counters = sim.counters().clone();
    counters.extend(metrics);
    record.counters = counters.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
    let violated = sim.violation().map(|v| v.invariant.as_str());
    record.properties = P::properties()
        .iter()
        .map(|p| (p.name.to_owned(), p.outcome(violated, &counters).to_owned()))
        .collect();
}
