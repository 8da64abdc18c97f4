//! Checkers: what is decided about a run once it has ended, from what the clients saw and
//! what the nodes hold. Each checker has a name (the one scenarios and reports use), the
//! verdict its failure gives (safety or liveness), and a finding: pass, fail with a
//! summary and an explanation, or unknown (its budget ran out) with why. A run's verdict
//! is read off the list of findings in a fixed order ([`verdict_of`]).

use crate::check::{self, ModelKind};
use crate::engine::Nodes;
use crate::history::{EventType, History, Recorded};
use crate::kv::KvWorkload;
use crate::node::Node;
use crate::protocol::Protocol;
use crate::record::Verdict;
use crate::time::{SimDuration, SimTime};
use crate::workload::Workload;
use std::collections::BTreeMap;
use std::fmt;

/// What one checker found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    Pass,
    /// The property is broken: a one-line summary and the full explanation.
    Fail {
        summary: String,
        detail: String,
    },
    /// Not decided, e.g. the checker ran out of budget; `why` says how to decide it.
    Unknown {
        why: String,
    },
}

impl Finding {
    /// A failure whose summary is its whole explanation.
    pub fn fail(summary: impl Into<String>) -> Self {
        let summary = summary.into();
        Finding::Fail { detail: summary.clone(), summary }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Finding::Pass => "pass",
            Finding::Fail { .. } => "fail",
            Finding::Unknown { .. } => "unknown",
        }
    }
}

/// One checker's result in a run's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckResult {
    /// The checker's name, e.g. "linearizability".
    pub name: String,
    /// What broke, when it failed: the checker's name, or the invariant's.
    pub property: String,
    /// The verdict a failure of this checker gives: safety or liveness.
    pub severity: Verdict,
    pub finding: Finding,
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.finding.name())
    }
}

/// A run's verdict from its checkers' results: the first safety failure, else the first
/// liveness failure, else unknown if any checker could not decide, else pass. The
/// deciding result comes with it.
pub fn verdict_of(results: &[CheckResult]) -> (Verdict, Option<&CheckResult>) {
    let failed = |severity| {
        results.iter().find(|r| r.severity == severity && matches!(r.finding, Finding::Fail { .. }))
    };
    if let Some(r) = failed(Verdict::Safety) {
        return (Verdict::Safety, Some(r));
    }
    if let Some(r) = failed(Verdict::Liveness) {
        return (Verdict::Liveness, Some(r));
    }
    match results.iter().find(|r| matches!(r.finding, Finding::Unknown { .. })) {
        Some(r) => (Verdict::Unknown, Some(r)),
        None => (Verdict::Pass, None),
    }
}

/// The events of `N`'s history.
pub type EventOf<N> = <<N as Node>::Workload as Workload>::Event;

/// What a checker sees of a finished run.
pub struct Finished<'a, N: Node> {
    /// What the clients saw; `None` when the run had no clients.
    pub history: Option<&'a History<EventOf<N>>>,
    /// Every node's state at the end (`None` for a crashed one).
    pub nodes: Nodes<'a, N>,
    /// When the final heal happened (every fault over).
    pub heal_at: SimTime,
    /// When the run stopped.
    pub end: SimTime,
}

/// A checker a workload or protocol offers by name, made fresh for each run.
pub struct CheckerSpec<N> {
    pub name: &'static str,
    /// One line for `dsim protocols`.
    pub doc: &'static str,
    pub make: fn() -> Box<dyn Checker<N>>,
}

impl<N> Clone for CheckerSpec<N> {
    fn clone(&self) -> Self {
        CheckerSpec { name: self.name, doc: self.doc, make: self.make }
    }
}

/// A check over a finished run.
pub trait Checker<N: Node> {
    /// The name scenarios and reports use.
    fn name(&self) -> &'static str;
    /// The verdict a failure gives: [`Verdict::Safety`] or [`Verdict::Liveness`].
    fn severity(&self) -> Verdict;
    fn check(&self, run: &Finished<'_, N>) -> Finding;
}

/// Linearizability of a key-value history against a model (Wing and Gong's search, with
/// Lowe's cache and P-compositionality per key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Linearizability {
    pub model: ModelKind,
    /// Search steps before the checker answers unknown.
    pub budget: u64,
}

impl<N: Node<Workload = KvWorkload>> Checker<N> for Linearizability {
    fn name(&self) -> &'static str {
        "linearizability"
    }

    fn severity(&self) -> Verdict {
        Verdict::Safety
    }

    fn check(&self, run: &Finished<'_, N>) -> Finding {
        let Some(history) = run.history else { return Finding::Pass };
        let verdict = self.model.check(history, self.budget).unwrap_or_else(|e| {
            panic!("the simulator recorded a history the {:?} model rejects: {e}", self.model)
        });
        match verdict {
            check::Verdict::Linearizable => Finding::Pass,
            check::Verdict::Unknown { .. } => Finding::Unknown {
                why: format!(
                    "linearizability unknown: the checker ran out of its budget of {} steps \
                     (raise checks.budget)",
                    self.budget
                ),
            },
            check::Verdict::NotLinearizable(violation) => {
                let detail = violation.to_string();
                let first = detail.lines().next().unwrap_or_default();
                let summary = match detail.lines().find(|l| l.ends_with("impossible in this state"))
                {
                    Some(op) => format!("{first} {}", op.trim()),
                    None => first.to_owned(),
                };
                Finding::Fail { summary, detail }
            }
        }
    }
}

/// Liveness after the final heal: every operation invoked since completes (ok or fail)
/// within `bound`, and at least one completes ok. For any workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Liveness {
    pub bound: SimDuration,
}

impl<N: Node> Checker<N> for Liveness {
    fn name(&self) -> &'static str {
        "liveness"
    }

    fn severity(&self) -> Verdict {
        Verdict::Liveness
    }

    fn check(&self, run: &Finished<'_, N>) -> Finding {
        match run.history {
            Some(history) => match liveness(history, run.heal_at, run.end, self.bound) {
                Some(message) => Finding::fail(message),
                None => Finding::Pass,
            },
            None => Finding::Pass,
        }
    }
}

/// Liveness of `history` after the heal at `heal_at`, for a run that stopped at `end`:
/// every operation invoked since completes (ok or fail) within `bound`, and some
/// operation completes ok after the heal (the cluster served, rather than failing
/// everything). An operation its client gave up on (info) did not complete, however soon
/// it gave up: scenarios make clients wait at least the bound (`workload.timeout` >=
/// `checks.liveness_bound`), so that is no sooner than the bound. `None` when it holds;
/// otherwise what failed.
pub fn liveness<E: Recorded>(
    history: &History<E>,
    heal_at: SimTime,
    end: SimTime,
    bound: SimDuration,
) -> Option<String> {
    let window = Window {
        from: heal_at,
        until: SimTime::MAX,
        name: format!("after the final heal at {heal_at}"),
    };
    liveness_within(history, &window, end, bound)
}

/// A stretch of a run that a check looks at: from `from` up to (not including) `until`,
/// as messages name it ("after the final heal at 7s", "in phase quiet (8s to 12s)").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    pub from: SimTime,
    pub until: SimTime,
    pub name: String,
}

/// [`liveness`] of the operations invoked in `window`: each completes (ok or fail) within
/// `bound`, and some operation completes ok in the window.
pub fn liveness_within<E: Recorded>(
    history: &History<E>,
    window: &Window,
    end: SimTime,
    bound: SimDuration,
) -> Option<String> {
    let Window { from: heal_at, until, name: during } = window;
    let (heal_at, until) = (*heal_at, *until);
    let inside = |time: SimTime| time >= heal_at && time < until;
    let mut open: BTreeMap<u64, SimTime> = BTreeMap::new();
    let mut invoked_after_heal = 0u64;
    let mut ok_after_heal = 0u64;
    for event in &history.events {
        let Some(time) = event.time() else { continue };
        match event.kind() {
            EventType::Invoke => {
                if inside(time) {
                    invoked_after_heal += 1;
                    open.insert(event.process(), time);
                }
            }
            kind => {
                // An operation invoked before the heal that completes ok after it shows the
                // cluster serving just as well, e.g. when every operation invoked after the
                // heal was a cas whose comparison failed.
                if kind == EventType::Ok && inside(time) {
                    ok_after_heal += 1;
                }
                let Some(start) = open.remove(&event.process()) else { continue };
                let took = time.saturating_since(start);
                if kind == EventType::Info || took > bound {
                    return Some(format!(
                        "{during}, process {}'s {} invoked at {start} {} after {took} (bound {bound})",
                        event.process(),
                        event.label(),
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
            "{during}, process {process}'s operation invoked at {start} was still open at the end ({end}), past the bound {bound}"
        ));
    }
    if invoked_after_heal > 0 && ok_after_heal == 0 {
        return Some(format!("no operation completed ok {during}"));
    }
    None
}

/// Availability in `window`: no stretch of it longer than `bound` without an operation
/// completing ok (from the window's start to the first, between two, from the last to
/// the window's end). `None` when it holds; otherwise the longest such stretch.
pub fn unavailability<E: Recorded>(
    history: &History<E>,
    window: &Window,
    bound: SimDuration,
) -> Option<String> {
    let oks = history
        .events
        .iter()
        .filter(|e| e.kind() == EventType::Ok)
        .filter_map(Recorded::time)
        .filter(|t| *t >= window.from && *t < window.until);
    let mut longest = (SimDuration::ZERO, window.from, window.until);
    let mut last = window.from;
    for time in oks.chain(std::iter::once(window.until)) {
        let gap = time.saturating_since(last);
        if gap > longest.0 {
            longest = (gap, last, time);
        }
        last = time;
    }
    let (gap, from, to) = longest;
    (gap > bound).then(|| {
        format!(
            "{}, no operation completed ok from {from} to {to} ({gap}), longer than the bound {bound}",
            window.name
        )
    })
}

/// Latencies of every operation that completed ok, sorted, in nanoseconds.
pub fn latencies<E: Recorded>(history: &History<E>) -> Vec<u64> {
    let mut out: Vec<u64> = ok_latencies(history).map(|(_, latency)| latency).collect();
    out.sort_unstable();
    out
}

/// Latencies of the operations that completed ok, by what they did (the invocation's
/// label: "read", "write", "cas"), each sorted, in nanoseconds.
pub fn latencies_by_operation<E: Recorded>(history: &History<E>) -> BTreeMap<String, Vec<u64>> {
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (label, latency) in ok_latencies(history) {
        out.entry(label.to_owned()).or_default().push(latency);
    }
    out.values_mut().for_each(|l| l.sort_unstable());
    out
}

/// The `q` quantile (0 to 1) of sorted `values`, by nearest rank; `None` if empty.
pub fn quantile(values: &[u64], q: f64) -> Option<u64> {
    values.get(((values.len() as f64 - 1.0) * q).round() as usize).copied()
}

/// Each operation that completed ok: its invocation's label and its latency.
fn ok_latencies<E: Recorded>(history: &History<E>) -> impl Iterator<Item = (&str, u64)> {
    let mut invoked: BTreeMap<u64, (SimTime, &str)> = BTreeMap::new();
    history.events.iter().filter_map(move |event| {
        let time = event.time()?;
        match event.kind() {
            EventType::Invoke => {
                invoked.insert(event.process(), (time, event.label()));
                None
            }
            EventType::Ok => invoked
                .remove(&event.process())
                .map(|(start, label)| (label, time.saturating_since(start).as_nanos())),
            EventType::Fail | EventType::Info => {
                invoked.remove(&event.process());
                None
            }
        }
    })
}

/// Convergence: at the end of the run (quiet since the final heal), every live replica
/// holds the same state ([`Protocol::replica_digest`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Convergence;

impl<N: Protocol> Checker<N> for Convergence {
    fn name(&self) -> &'static str {
        "convergence"
    }

    fn severity(&self) -> Verdict {
        Verdict::Liveness
    }

    fn check(&self, run: &Finished<'_, N>) -> Finding {
        if let Some(finding) = by_key(run) {
            return finding;
        }
        let mut groups: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for (id, node) in run.nodes.iter() {
            let Some(node) = node else { continue };
            let Some(digest) = node.replica_digest() else {
                return Finding::Unknown {
                    why: format!("{} does not expose its replicas' state", N::NAME),
                };
            };
            groups.entry(digest).or_default().push(id.to_string());
        }
        if groups.len() <= 1 {
            return Finding::Pass;
        }
        let split: Vec<String> = groups.values().map(|nodes| nodes.join(" ")).collect();
        Finding::fail(format!(
            "the live replicas hold {} different states at the end ({}), {} after the final heal",
            groups.len(),
            split.join(" | "),
            run.end.saturating_since(run.heal_at)
        ))
    }
}

/// Convergence key by key, for a protocol that reports [`Protocol::key_digests`]: every
/// live replica of a key holds the same. `None` if the protocol does not report them.
fn by_key<N: Protocol>(run: &Finished<'_, N>) -> Option<Finding> {
    let mut keys: BTreeMap<u64, BTreeMap<u64, Vec<String>>> = BTreeMap::new();
    for (id, node) in run.nodes.iter() {
        let Some(node) = node else { continue };
        for (key, digest) in node.key_digests()? {
            keys.entry(key).or_default().entry(digest).or_default().push(id.to_string());
        }
    }
    let split: Vec<String> = keys
        .iter()
        .filter(|(_, groups)| groups.len() > 1)
        .map(|(key, groups)| {
            let nodes: Vec<String> = groups.values().map(|nodes| nodes.join(" ")).collect();
            format!("key {key}: {}", nodes.join(" | "))
        })
        .collect();
    Some(if split.is_empty() {
        Finding::Pass
    } else {
        Finding::fail(format!(
            "the live replicas of {} key(s) hold different values at the end ({}), {} after the final heal",
            split.len(),
            split.join("; "),
            run.end.saturating_since(run.heal_at)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Function, HistoryEvent, Value};

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
        History::of(events)
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
