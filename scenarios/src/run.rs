//! Running one plan: build the simulation, run it to the end (or to the first violation),
//! then check what the clients saw (linearizability, liveness after the final heal) and
//! gather the record that every report prints.

use crate::checks::{self, HistoryVerdict};
use crate::plan::RunPlan;
use sim_core::engine::{NoObserver, Observer, RunLimits, Simulation, StopReason};
use sim_core::faults::FaultKind;
use sim_core::history::History;
use sim_core::protocol::Protocol;
use sim_core::record::{RunRecord, Verdict};
use sim_core::selfcheck::{Agreement, Divergence, lockstep};
use sim_core::trace::{TraceEvent, TraceRecorder};

/// What to keep from a run besides its record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunSettings {
    /// Record every event (costs memory and time; off for campaigns).
    pub trace: bool,
}

/// A finished run.
#[derive(Clone, Debug)]
pub struct RunOutput {
    pub record: RunRecord,
    pub history: Option<History>,
    pub trace: Vec<TraceEvent>,
    /// The linearizability checker's full explanation, when it found a violation.
    pub explanation: Option<String>,
}

/// Run `plan` with protocol `P`.
pub fn run_protocol<P: Protocol>(
    plan: &RunPlan,
    settings: &RunSettings,
) -> Result<RunOutput, String> {
    let bugs: Vec<&str> = plan.bugs.iter().map(String::as_str).collect();
    let config = P::configure_from(&plan.options, &bugs)?;
    // `None` when the scenario turns invariants off.
    let invariants = plan.checks.invariants.then(P::Invariants::default);
    if settings.trace {
        let mut sim = plan
            .builder
            .clone()
            .build_observed::<P, _>(config, (invariants, TraceRecorder::default()));
        let mut output = execute(plan, &mut sim);
        output.trace = sim.into_observer().1.events;
        Ok(output)
    } else {
        let mut sim = plan.builder.clone().build_observed::<P, _>(config, (invariants, NoObserver));
        Ok(execute(plan, &mut sim))
    }
}

/// Run `plan` twice side by side and compare every event.
pub fn self_check<P: Protocol>(plan: &RunPlan) -> Result<Result<Agreement, Divergence>, String> {
    let bugs: Vec<&str> = plan.bugs.iter().map(String::as_str).collect();
    let mut first = plan.builder.clone().build::<P>(P::configure_from(&plan.options, &bugs)?);
    let mut second = plan.builder.clone().build::<P>(P::configure_from(&plan.options, &bugs)?);
    Ok(lockstep(
        &mut first,
        &mut second,
        RunLimits { until: plan.duration, max_events: plan.max_events },
    ))
}

fn execute<P: Protocol, O: Observer<P>>(plan: &RunPlan, sim: &mut Simulation<P, O>) -> RunOutput {
    let stop = sim.run(RunLimits { until: plan.duration, max_events: plan.max_events });
    let mut record = RunRecord {
        scenario: plan.scenario.clone(),
        protocol: plan.protocol.clone(),
        seed: plan.seed,
        bugs: plan.bugs.clone(),
        drawn: plan.drawn.clone(),
        ..RunRecord::default()
    };
    fill_stats(&mut record, sim);
    let history = sim.history().cloned();
    let mut explanation = None;
    let verdict = if let Some(violation) = sim.violation() {
        record.failure = violation.invariant.clone();
        record.message = violation.to_string();
        Verdict::Safety
    } else if stop == StopReason::EventLimit {
        // A run that spins through its event budget proved nothing: a livelock is a
        // liveness failure, never a pass.
        record.failure = "event_limit".into();
        record.message = format!(
            "the run hit its event limit ({} events) at {}, before its end at {}: a livelock, \
             or raise run.max_events",
            plan.max_events,
            sim.now(),
            plan.duration
        );
        Verdict::Liveness
    } else if let Some(history) = &history {
        match checks::linearizability(history, &plan.checks) {
            HistoryVerdict::Fails { summary, detail } => {
                record.failure = "linearizability".into();
                record.message = summary;
                explanation = Some(detail);
                Verdict::Safety
            }
            outcome => match plan
                .checks
                .liveness_bound
                .and_then(|bound| checks::liveness(history, plan.heal_at, sim.now(), bound))
            {
                Some(message) => {
                    record.failure = "liveness".into();
                    record.message = message;
                    Verdict::Liveness
                }
                None if outcome == HistoryVerdict::Unknown => {
                    record.message =
                        "linearizability unknown: the checker ran out of budget".into();
                    Verdict::Unknown
                }
                None => Verdict::Pass,
            },
        }
    } else {
        Verdict::Pass
    };
    record.verdict = Some(verdict);
    RunOutput { record, history, trace: Vec::new(), explanation }
}

fn fill_stats<P: Protocol, O: Observer<P>>(record: &mut RunRecord, sim: &Simulation<P, O>) {
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
        let latencies = checks::latencies(history);
        let at =
            |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q).round() as usize).copied();
        record.latency_p50_ns = at(0.5).unwrap_or(0);
        record.latency_p99_ns = at(0.99).unwrap_or(0);
        record.latency_max_ns = latencies.last().copied().unwrap_or(0);
    }
    record.faults =
        FaultKind::ALL.iter().map(|&k| (k.name().to_owned(), sim.fault_stats().get(k))).collect();
    record.counters = sim.counters().iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
}
