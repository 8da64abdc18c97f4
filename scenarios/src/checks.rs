//! Checks over a run's client history: linearizability against the scenario's model, and
//! liveness after the final heal.

use crate::schema::ChecksSpec;
use sim_core::check::{ModelKind, Verdict};
use sim_core::history::{EventType, History};
use sim_core::{SimDuration, SimTime};
use std::collections::BTreeMap;

/// The linearizability verdict of a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryVerdict {
    /// Linearizable, or not checked (model "none").
    Passes,
    /// The checker ran out of budget.
    Unknown,
    /// Not linearizable: a one-line summary and the full explanation.
    Fails { summary: String, detail: String },
}

/// Check `history` for linearizability under the scenario's model.
pub fn linearizability(history: &History, checks: &ChecksSpec) -> HistoryVerdict {
    if checks.linearizability == "none" {
        return HistoryVerdict::Passes;
    }
    let model: ModelKind = checks.linearizability.parse().expect("the model was validated");
    let verdict = model.check(history, checks.budget).unwrap_or_else(|e| {
        panic!("the simulator recorded a history the {model:?} model rejects: {e}")
    });
    match verdict {
        Verdict::Linearizable => HistoryVerdict::Passes,
        Verdict::Unknown { .. } => HistoryVerdict::Unknown,
        Verdict::NotLinearizable(violation) => {
            let detail = violation.to_string();
            let summary = match detail.lines().find(|l| l.ends_with("impossible in this state")) {
                Some(op) => format!("{} {}", detail.lines().next().unwrap_or_default(), op.trim()),
                None => detail.lines().next().unwrap_or_default().to_owned(),
            };
            HistoryVerdict::Fails { summary, detail }
        }
    }
}

/// Latencies of every operation that completed ok, sorted, in nanoseconds.
pub fn latencies(history: &History) -> Vec<u64> {
    let mut invoked: BTreeMap<u64, SimTime> = BTreeMap::new();
    let mut out = Vec::new();
    for event in &history.events {
        let Some(time) = event.time else { continue };
        match event.kind {
            EventType::Invoke => {
                invoked.insert(event.process, time);
            }
            EventType::Ok => {
                if let Some(start) = invoked.remove(&event.process) {
                    out.push(time.saturating_since(start).as_nanos());
                }
            }
            EventType::Fail | EventType::Info => {
                invoked.remove(&event.process);
            }
        }
    }
    out.sort_unstable();
    out
}

/// Liveness after the final heal at `heal_at`: every operation invoked since completes
/// (ok or fail) within `bound`, and some operation completes ok after the heal (the
/// cluster served, rather than failing everything). An operation its client gave up on
/// (info) did not complete, however soon it gave up: scenarios make clients wait at least
/// the bound (`workload.timeout` >= `checks.liveness_bound`), so that is no sooner than
/// the bound. `end` is when the run stopped. `None` when it holds; otherwise what failed.
pub fn liveness(
    history: &History,
    heal_at: SimTime,
    end: SimTime,
    bound: SimDuration,
) -> Option<String> {
    let mut open: BTreeMap<u64, SimTime> = BTreeMap::new();
    let mut invoked_after_heal = 0u64;
    let mut ok_after_heal = 0u64;
    for event in &history.events {
        let Some(time) = event.time else { continue };
        match event.kind {
            EventType::Invoke => {
                if time >= heal_at {
                    invoked_after_heal += 1;
                    open.insert(event.process, time);
                }
            }
            kind => {
                // An operation invoked before the heal that completes ok after it shows the
                // cluster serving just as well, e.g. when every operation invoked after the
                // heal was a cas whose comparison failed.
                if kind == EventType::Ok && time >= heal_at {
                    ok_after_heal += 1;
                }
                let Some(start) = open.remove(&event.process) else { continue };
                let took = time.saturating_since(start);
                if kind == EventType::Info || took > bound {
                    return Some(format!(
                        "after the final heal at {heal_at}, process {}'s {} invoked at {start} {} after {took} (bound {bound})",
                        event.process,
                        event.f.name(),
                        if kind == EventType::Info { "timed out" } else { "completed only" },
                    ));
                }
            }
        }
    }
    if let Some((process, start)) =
        open.iter().find(|(_, start)| end.saturating_since(**start) > bound)
    {
        return Some(format!(
            "after the final heal at {heal_at}, process {process}'s operation invoked at {start} was still open at the end ({end}), past the bound {bound}"
        ));
    }
    if invoked_after_heal > 0 && ok_after_heal == 0 {
        return Some(format!("no operation completed ok after the final heal at {heal_at}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::history::{Function, HistoryEvent, Value};

    /// A history from `(process, kind, time in ms)`.
    fn history(events: &[(u64, EventType, u64)]) -> History {
        let events = events
            .iter()
            .map(|&(process, kind, ms)| HistoryEvent {
                process,
                kind,
                f: Function::Write,
                key: Some(Value::Int(0)),
                value: Value::Int(1),
                time: Some(SimTime(ms * 1_000_000)),
            })
            .collect();
        History { events }
    }

    /// The liveness verdict with the heal at 1s, the end at 10s and a bound of 2s:
    /// `None` when it holds, else a piece of the message.
    fn check(events: &[(u64, EventType, u64)], expected: Option<&str>) {
        let found = liveness(
            &history(events),
            SimTime(1_000_000_000),
            SimTime(10_000_000_000),
            SimDuration::from_secs(2),
        );
        match (expected, &found) {
            (None, None) => {}
            (Some(piece), Some(message)) if message.contains(piece) => {}
            _ => panic!("{events:?}: expected {expected:?}, found {found:?}"),
        }
    }

    use EventType::{Fail, Info, Invoke, Ok};

    #[test]
    fn operations_after_the_heal_must_complete_within_the_bound() {
        check(&[(0, Invoke, 1000), (0, Ok, 2999)], None);
        check(&[(0, Invoke, 1000), (0, Ok, 3000)], None);
        check(&[(0, Invoke, 1000), (0, Ok, 3001)], Some("completed only after 2.001s"));
        check(&[(0, Invoke, 1500), (0, Info, 3500)], Some("timed out after 2s"));
        check(&[(1, Invoke, 1000), (1, Ok, 1100), (0, Invoke, 8000)], None);
        check(&[(1, Invoke, 1000), (1, Ok, 1100), (0, Invoke, 7999)], Some("still open"));
        // Before the heal, anything goes.
        check(&[(0, Invoke, 0), (0, Info, 999), (1, Invoke, 1000), (1, Ok, 1001)], None);
    }

    #[test]
    fn the_cluster_must_serve_something_after_the_heal() {
        check(&[(0, Invoke, 1000), (0, Fail, 1100)], Some("no operation completed ok"));
        check(&[], None);
        // A cas invoked after the heal fails its comparison, and a read invoked before the
        // heal completes ok after it: the cluster serves.
        check(&[(0, Invoke, 900), (1, Invoke, 2000), (1, Fail, 2100), (0, Ok, 2100)], None);
        check(
            &[(0, Invoke, 900), (0, Ok, 999), (1, Invoke, 2000), (1, Fail, 2100)],
            Some("no operation"),
        );
    }
}
