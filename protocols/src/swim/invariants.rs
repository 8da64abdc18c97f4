//! SWIM's checks and metrics, apart from the member they judge. The observer knows what
//! no member does: who really crashed, paused or was cut off, and when.
//!
//! A member is *connected* since the later of its last start and the end of its last
//! pause, and the network is *calm* since the heal that ended the last partition (while a
//! partition is in force it is not calm).
//!
//! - `accuracy` (always, online), SWIM's own tolerance, in two parts:
//!   1. *No death without suspicion*: a member that is up (not crashed or paused) is
//!      declared dead at incarnation `i` (by a suspicion of it expiring at some member, or
//!      at once by a failed probe) only if some member began to suspect it at `i` at least
//!      the shortest suspicion timeout earlier: it always has that long to refute.
//!   2. *No lasting false positive*: a live member held dead by a live member is held
//!      alive there again within [`SwimConfig::settle_bound`] of the latest of when it was
//!      first seen held dead, both members' last start or pause, and the last heal of a
//!      partition (while a partition is in force, nobody is required to). Seen once per
//!      protocol period, so a pair is caught up to one period late.
//!
//!   Message loss excuses neither: suspicion and refutation exist to absorb loss. But a
//!   refutation may miss a member (each member piggybacks it a bounded number of times),
//!   so a declaration of a live member is allowed, if it is undone in time. (The end state
//!   alone cannot judge this: a member declared dead a moment before the end is within
//!   its tolerance; so the pairs are watched online, up to the end.)
//! - `completeness` (always, online): a crashed member, still down, is held dead by every
//!   member that stayed up and connected, [`SwimConfig::detection_bound`] after the later
//!   of the crash and the start of the calm.
//! - `incarnations_grow` (always, online): a member's own incarnation never decreases,
//!   across restarts too, and no member's view of another's incarnation decreases.
//! - Metrics: `crashes` (of members that were up), `crashes_detected` and
//!   `detect_first_ms` (mean time from a crash to the first member holding it dead),
//!   `crashes_disseminated` and `detect_full_ms` (mean time until every live member held
//!   it dead), `declarations` (members declared dead by an expiring suspicion or a failed
//!   probe) and `false_positives` (those whose member was up and not paused). With the
//!   counter `probes`, false_positives / probes is the false-positive rate.

use super::{Status, Swim, SwimConfig};
use sim_core::engine::{EventView, Nodes, Observer, Violation};
use sim_core::faults::FaultAction;
use sim_core::node::NodeId;
use sim_core::protocol::{Metrics, PropertySpec};
use sim_core::{Position, SimTime};
use std::collections::{BTreeMap, BTreeSet};

/// The invariants by name, and the cases a campaign should sometimes reach (counters and
/// metrics).
pub const PROPERTIES: &[PropertySpec] = &[
    PropertySpec::always(
        "accuracy",
        "A live member is declared dead only after a suspicion, and held dead no longer \
         than the settle bound.",
    ),
    PropertySpec::always(
        "completeness",
        "Every crashed member is held dead by every connected member within the detection bound.",
    ),
    PropertySpec::always(
        "incarnations_grow",
        "Incarnations never go backwards: a member's own, across restarts, and in every view.",
    ),
    PropertySpec::sometimes("member_suspected", "A probe failed and its target was suspected."),
    PropertySpec::sometimes("ping_req_used", "A direct ping went unanswered; others were asked."),
    PropertySpec::sometimes("indirect_ack", "A ping-req brought the ack the direct ping did not."),
    PropertySpec::sometimes(
        "suspicion_refuted",
        "A suspected member refuted with a new incarnation.",
    ),
    PropertySpec::sometimes("member_declared_dead", "A member was held dead."),
    PropertySpec::sometimes("member_revived", "A member held dead was heard alive again."),
    PropertySpec::sometimes(
        "state_synced",
        "A member merged another's whole membership (push-pull sync, or after a restart).",
    ),
    PropertySpec::sometimes(
        "suspicion_confirmed",
        "Another member confirmed a suspicion, which expires sooner (lifeguard_suspicion).",
    ),
    PropertySpec::sometimes(
        "local_health_lowered",
        "A member that missed acks stretched its own period (lifeguard_health).",
    ),
    PropertySpec::sometimes("crashes_detected", "A crashed member was held dead by some member."),
    PropertySpec::sometimes(
        "crashes_disseminated",
        "A crashed member was held dead by every live member.",
    ),
];

/// A crash being watched: when, who holds the member dead, and when detection happened.
#[derive(Debug, Default)]
struct Crash {
    at: SimTime,
    holders: BTreeSet<NodeId>,
    first: Option<SimTime>,
    full: Option<SimTime>,
    checked: bool,
}

/// Detection figures summed over crashes.
#[derive(Clone, Copy, Debug, Default)]
struct Detection {
    crashes: u64,
    detected: u64,
    first_ns: u64,
    disseminated: u64,
    full_ns: u64,
}

impl Detection {
    fn add(&mut self, crash: &Crash) {
        self.crashes += 1;
        if let Some(first) = crash.first {
            self.detected += 1;
            self.first_ns += first.saturating_since(crash.at).as_nanos();
        }
        if let Some(full) = crash.full {
            self.disseminated += 1;
            self.full_ns += full.saturating_since(crash.at).as_nanos();
        }
    }
}

/// The online checker of SWIM's invariants and the recorder of its metrics; one per run.
#[derive(Debug, Default)]
pub struct SwimObserver {
    config: Option<SwimConfig>,
    up: Vec<bool>,
    up_count: usize,
    started: Vec<SimTime>,
    paused_until: Vec<SimTime>,
    own_incarnation: Vec<u64>,
    partitioned: bool,
    /// When the heal that ended the last partition came (none: there was no partition).
    calm_since: Option<SimTime>,
    crashes: BTreeMap<NodeId, Crash>,
    done: Detection,
    /// When some member first suspected `(member, incarnation)`.
    suspected: BTreeMap<(NodeId, u64), SimTime>,
    /// `(viewer, member)` pairs where a live viewer holds a live member dead, with when
    /// that was first seen; rebuilt once per protocol period.
    false_dead: BTreeMap<(NodeId, NodeId), SimTime>,
    next_scan: SimTime,
    declarations: u64,
    false_positives: u64,
}

fn violation(invariant: &str, time: SimTime, node: NodeId, message: String) -> Violation {
    Violation { invariant: invariant.into(), message, time, node: Some(node) }
}

impl SwimObserver {
    fn ensure(&mut self, n: usize) {
        if self.up.len() < n {
            self.up.resize(n, false);
            self.started.resize(n, SimTime::ZERO);
            self.paused_until.resize(n, SimTime::ZERO);
            self.own_incarnation.resize(n, 0);
        }
    }

    /// Since when `node` counts as connected (see the module docs).
    fn connected_since(&self, node: NodeId) -> SimTime {
        let i = node.0 as usize;
        self.started[i].max(self.paused_until[i])
    }

    fn live(&self, node: NodeId, time: SimTime) -> bool {
        self.up[node.0 as usize] && self.paused_until[node.0 as usize] <= time
    }

    fn started(&mut self, time: SimTime, node: NodeId, swim: &Swim) -> Result<(), Violation> {
        let i = node.0 as usize;
        self.up[i] = true;
        self.up_count += 1;
        self.started[i] = time;
        if let Some(crash) = self.crashes.remove(&node) {
            self.done.add(&crash);
        }
        if swim.incarnation() < self.own_incarnation[i] {
            return Err(violation(
                "incarnations_grow",
                time,
                node,
                format!(
                    "{node} restarted at incarnation {}, below the {} it had reached",
                    swim.incarnation(),
                    self.own_incarnation[i]
                ),
            ));
        }
        Ok(())
    }

    /// Check what `node`'s last handler changed in its view.
    fn changes(&mut self, time: SimTime, node: NodeId, swim: &Swim) -> Result<(), Violation> {
        let config = *swim.config();
        let n = self.up.len();
        for change in swim.changes() {
            let member = change.member;
            if change.new.0 < change.old.0 {
                return Err(violation(
                    "incarnations_grow",
                    time,
                    node,
                    format!(
                        "{node}'s view of {member} went from incarnation {} to {}",
                        change.old.0, change.new.0
                    ),
                ));
            }
            let now_dead = change.new.1 == Status::Dead;
            let was_dead = change.old.1 == Status::Dead;
            if change.new.1 == Status::Suspect {
                self.suspected.entry((member, change.new.0)).or_insert(time);
            }
            if now_dead && change.declared {
                self.declarations += 1;
                if self.live(member, time) {
                    self.false_positives += 1;
                    let shortest = config.suspicion_min(n);
                    let suspected = self.suspected.get(&(member, change.new.0)).copied();
                    if suspected.is_none_or(|since| time.saturating_since(since) < shortest) {
                        let since = suspected.map_or("never".to_owned(), |t| format!("since {t}"));
                        return Err(violation(
                            "accuracy",
                            time,
                            node,
                            format!(
                                "{node} declared {member} dead at incarnation {}, though {member} \
                                 is up and was suspected at that incarnation {since}, not the \
                                 shortest suspicion timeout {shortest} before",
                                change.new.0
                            ),
                        ));
                    }
                }
            }
            let up_count = self.up_count;
            let up = &self.up;
            if let Some(crash) = self.crashes.get_mut(&member) {
                if now_dead && !was_dead {
                    crash.holders.insert(node);
                    crash.first.get_or_insert(time);
                    if crash.full.is_none()
                        && crash.holders.len() >= up_count
                        && crash.holders.iter().filter(|h| up[h.0 as usize]).count() == up_count
                    {
                        crash.full = Some(time);
                    }
                } else if was_dead && !now_dead {
                    crash.holders.remove(&node);
                }
            }
        }
        Ok(())
    }

    /// Completeness: every crash whose deadline passed is held dead by every member that
    /// stayed up and connected.
    fn completeness(&mut self, time: SimTime, nodes: &Nodes<'_, Swim>) -> Result<(), Violation> {
        if self.partitioned {
            return Ok(());
        }
        let Some(config) = self.config else { return Ok(()) };
        let bound = config.detection_bound(self.up.len());
        let calm = self.calm_since.unwrap_or(SimTime::ZERO);
        for (&member, crash) in &mut self.crashes {
            let base = crash.at.max(calm);
            if crash.checked || time <= base + bound {
                continue;
            }
            crash.checked = true;
            for (viewer, swim) in nodes.iter() {
                let Some(swim) = swim else { continue };
                let i = viewer.0 as usize;
                let since = self.started[i].max(self.paused_until[i]).max(calm);
                if since > base || swim.view_of(member).1 == Status::Dead {
                    continue;
                }
                return Err(violation(
                    "completeness",
                    time,
                    viewer,
                    format!(
                        "{member} crashed at {}, yet {viewer}, up and connected all along, \
                         still holds it {:?} at {time}, past the detection bound {bound} after \
                         {base}",
                        crash.at,
                        swim.view_of(member).1
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Accuracy's second part: every pair of a live member held dead by a live member is
    /// undone within the settle bound (see the module docs). Runs once per period.
    fn lasting_false_positives(
        &mut self,
        time: SimTime,
        nodes: &Nodes<'_, Swim>,
    ) -> Result<(), Violation> {
        let Some(config) = self.config else { return Ok(()) };
        if time < self.next_scan {
            return Ok(());
        }
        self.next_scan = time + config.period(0);
        let bound = config.settle_bound(self.up.len());
        let calm = self.calm_since.unwrap_or(SimTime::ZERO);
        let mut seen = BTreeMap::new();
        for (viewer, swim) in nodes.iter() {
            let Some(swim) = swim else { continue };
            if !self.live(viewer, time) {
                continue;
            }
            for &member in swim.dead() {
                if !self.live(member, time) {
                    continue;
                }
                let first = self.false_dead.get(&(viewer, member)).copied().unwrap_or(time);
                seen.insert((viewer, member), first);
                let since = first
                    .max(self.connected_since(member))
                    .max(self.connected_since(viewer))
                    .max(calm);
                if !self.partitioned && time.saturating_since(since) > bound {
                    return Err(violation(
                        "accuracy",
                        time,
                        viewer,
                        format!(
                            "{viewer} has held {member} dead (incarnation {}) since {first}, \
                             though {member} is up at incarnation {} and both were up and \
                             connected since {since}, longer than the settle bound {bound}",
                            swim.view_of(member).0,
                            nodes.get(member).map_or(0, Swim::incarnation)
                        ),
                    ));
                }
            }
        }
        self.false_dead = seen;
        Ok(())
    }

    /// The metrics of the run (see the module docs).
    pub fn metrics(&self, _end: SimTime) -> Metrics {
        let mut detection = self.done;
        for crash in self.crashes.values() {
            detection.add(crash);
        }
        let mean_ms = |sum: u64, count: u64| sum.checked_div(count).unwrap_or(0) / 1_000_000;
        vec![
            ("crashes", detection.crashes),
            ("crashes_detected", detection.detected),
            ("detect_first_ms", mean_ms(detection.first_ns, detection.detected)),
            ("crashes_disseminated", detection.disseminated),
            ("detect_full_ms", mean_ms(detection.full_ns, detection.disseminated)),
            ("declarations", self.declarations),
            ("false_positives", self.false_positives),
        ]
    }
}

impl Observer<Swim> for SwimObserver {
    fn on_event(&mut self, position: Position, _index: u64, event: &EventView<'_, Swim>) {
        let EventView::Fault(action) = event else { return };
        let time = position.time;
        match action {
            FaultAction::Crash(node) | FaultAction::CrashOn { node, .. } => {
                self.ensure(node.0 as usize + 1);
                if self.up[node.0 as usize] {
                    self.crashes.insert(*node, Crash { at: time, ..Crash::default() });
                }
            }
            FaultAction::Pause { node, duration } => {
                self.ensure(node.0 as usize + 1);
                let until = &mut self.paused_until[node.0 as usize];
                *until = (*until).max(time + *duration);
            }
            FaultAction::Partition(_) => self.partitioned = true,
            FaultAction::Heal | FaultAction::HealAll if self.partitioned => {
                self.partitioned = false;
                self.calm_since = Some(time);
            }
            _ => {}
        }
    }

    fn after_node(
        &mut self,
        time: SimTime,
        node: NodeId,
        nodes: &Nodes<'_, Swim>,
        _annotations: &[String],
    ) -> Result<(), Violation> {
        self.ensure(nodes.len());
        let i = node.0 as usize;
        match nodes.get(node) {
            None => {
                if self.up[i] {
                    self.up[i] = false;
                    self.up_count -= 1;
                }
            }
            Some(swim) => {
                self.config.get_or_insert(*swim.config());
                if !self.up[i] {
                    self.started(time, node, swim)?;
                }
                if swim.incarnation() < self.own_incarnation[i] {
                    return Err(violation(
                        "incarnations_grow",
                        time,
                        node,
                        format!(
                            "{node}'s incarnation went from {} to {}",
                            self.own_incarnation[i],
                            swim.incarnation()
                        ),
                    ));
                }
                self.own_incarnation[i] = swim.incarnation();
                self.changes(time, node, swim)?;
            }
        }
        self.completeness(time, nodes)?;
        self.lasting_false_positives(time, nodes)
    }
}
