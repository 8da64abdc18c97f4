//! Faults applied to a running simulation (crash, restart, pause, partitions, holds,
//! clock and disk faults), and the nemesis that draws them.

use super::{Event, EventView, Observer, Simulation};
use crate::disk::DiskOptions;
use crate::faults::{FaultAction, NemesisKind, Partition};
use crate::node::{Node, NodeId};
use crate::queue::Position;
use crate::time::SimTime;

impl<N: Node, O: Observer<N>> Simulation<N, O> {
    fn apply_fault(&mut self, position: Position, action: FaultAction) {
        let kind = action.kind();
        let applied = match action {
            FaultAction::Crash(node) | FaultAction::CrashOn { node, .. } => self.crash(node),
            FaultAction::Restart(node) => {
                let slot = &mut self.nodes[node.0 as usize];
                let down = slot.state.is_none();
                if down {
                    slot.incarnation += 1;
                    slot.timers.clear();
                    self.start_node(position, node, true);
                }
                down
            }
            FaultAction::Pause { node, duration } => {
                let slot = &mut self.nodes[node.0 as usize];
                let up = slot.state.is_some();
                if up {
                    slot.paused_until = slot.paused_until.max(self.now + duration);
                }
                up
            }
            FaultAction::Partition(partition) => {
                self.network.cut(&partition);
                true
            }
            FaultAction::Heal => {
                self.network.heal();
                true
            }
            FaultAction::Hold { from, to } => {
                self.network.set_held(from, to, true);
                true
            }
            FaultAction::Release { from, to } => self.release(|f, t| f == from && t == to),
            FaultAction::ClockJump { node, delta_nanos } => {
                self.nodes[node.0 as usize].clock.jump(self.now, delta_nanos);
                true
            }
            FaultAction::ClockDrift { node, drift_ppb } => {
                self.nodes[node.0 as usize].clock.set_drift(self.now, drift_ppb as f64 / 1000.0);
                true
            }
            FaultAction::DiskFaults { node, torn_write_ppm, corrupt_read_ppm } => {
                self.nodes[node.0 as usize].disk.set_options(DiskOptions {
                    torn_write_probability: f64::from(torn_write_ppm) / 1e6,
                    corrupt_read_probability: f64::from(corrupt_read_ppm) / 1e6,
                });
                true
            }
            FaultAction::HealAll => {
                self.nemesis.until = self.nemesis.until.min(self.now);
                self.network.heal();
                self.release(|_, _| true);
                for i in 0..self.nodes.len() {
                    let node = NodeId(i as u32);
                    if self.nodes[i].paused_until > self.now {
                        self.nodes[i].paused_until = self.now;
                        if self.deferred.contains_key(&node) {
                            self.queue.push(self.now, Event::Resume(node));
                        }
                    }
                    if self.nodes[i].state.is_none() {
                        self.apply_fault(position, FaultAction::Restart(node));
                    }
                }
                true
            }
        };
        if applied {
            self.fault_stats.record(kind);
        }
    }

    fn crash(&mut self, node: NodeId) -> bool {
        let slot = &mut self.nodes[node.0 as usize];
        if slot.state.take().is_none() {
            return false;
        }
        slot.disk.crash();
        slot.incarnation += 1;
        slot.timers.clear();
        slot.paused_until = SimTime::ZERO;
        self.after_node(node);
        true
    }

    /// Run the events that waited for `node`'s pause, now and in arrival order; if the
    /// pause was extended, wait for its new end.
    pub(super) fn resume(&mut self, node: NodeId) {
        if !self.deferred.contains_key(&node) {
            return;
        }
        let paused_until = self.nodes[node.0 as usize].paused_until;
        if paused_until > self.now {
            self.queue.push(paused_until, Event::Resume(node));
            return;
        }
        for event in self.deferred.remove(&node).unwrap_or_default() {
            self.queue.push(self.now, event);
        }
    }

    fn release(&mut self, matches: impl Fn(NodeId, NodeId) -> bool) -> bool {
        self.network.release_holds(&matches);
        let mut kept = Vec::new();
        for (from, to, id, msg) in std::mem::take(&mut self.held) {
            if matches(from, to) {
                self.queue.push(self.now, Event::Deliver { from, to, id, msg });
            } else {
                kept.push((from, to, id, msg));
            }
        }
        self.held = kept;
        true
    }

    pub(super) fn schedule_nemesis(&mut self, kind: NemesisKind) {
        if let Some(wait) = self.nemesis.next_arrival(kind, &mut self.fault_rng) {
            let at = self.now + wait;
            if at < self.nemesis.until {
                self.queue.push(at, Event::Nemesis(kind));
            }
        }
    }

    /// The nemesis that isolates new leaders: when `node` has just become leader, maybe
    /// cut it off a moment later.
    pub(super) fn watch_leader(&mut self, node: NodeId) {
        let slot = &mut self.nodes[node.0 as usize];
        let leads = slot.state.as_ref().is_some_and(N::is_leader);
        let elected = leads && !slot.leading;
        slot.leading = leads;
        if elected
            && self.now < self.nemesis.until
            && self.fault_rng.chance(self.nemesis.isolate_new_leader)
        {
            let at = self.now + self.nemesis.isolate_new_leader_after.sample(&mut self.fault_rng);
            let heal = at + self.nemesis.partition_duration.sample(&mut self.fault_rng);
            let isolate = FaultAction::Partition(Partition::Isolate(Some(node)));
            self.queue.push(at, Event::Fault(isolate));
            self.queue.push(heal, Event::Fault(FaultAction::Heal));
        }
    }

    /// Running nodes that believe they lead, in id order.
    fn leaders(&self) -> Vec<NodeId> {
        (0..self.nodes.len() as u32)
            .map(NodeId)
            .filter(|n| self.nodes[n.0 as usize].state.as_ref().is_some_and(N::is_leader))
            .collect()
    }

    /// Nodes crashed or paused now.
    fn nodes_down(&self) -> u32 {
        self.nodes.iter().filter(|s| s.is_down(self.now)).count() as u32
    }

    /// The most nodes the nemesis may have down at once.
    pub(super) fn max_down(&self) -> u32 {
        self.nemesis.max_down.unwrap_or((self.nodes.len() as u32 - 1) / 2)
    }

    fn random_up_node(&mut self) -> Option<NodeId> {
        let now = self.now;
        let up: Vec<NodeId> = (0..self.nodes.len() as u32)
            .map(NodeId)
            .filter(|n| {
                let s = &self.nodes[n.0 as usize];
                s.state.is_some() && s.paused_until <= now
            })
            .collect();
        (!up.is_empty()).then(|| *self.fault_rng.pick(&up))
    }

    pub(super) fn run_nemesis(&mut self, position: Position, kind: NemesisKind) {
        if self.now >= self.nemesis.until {
            return;
        }
        let n = self.nodes.len() as u32;
        let may_take_one = self.nodes_down() < self.max_down();
        match kind {
            NemesisKind::Crash if may_take_one => {
                if let Some(node) = self.random_up_node() {
                    let back = self.now + self.nemesis.restart_after.sample(&mut self.fault_rng);
                    self.inject(position, FaultAction::Crash(node));
                    self.queue.push(back, Event::Fault(FaultAction::Restart(node)));
                }
            }
            NemesisKind::Pause if may_take_one => {
                if let Some(node) = self.random_up_node() {
                    let duration = self.nemesis.pause_duration.sample(&mut self.fault_rng);
                    self.inject(position, FaultAction::Pause { node, duration });
                }
            }
            NemesisKind::Partition => {
                let kinds = &self.nemesis.partition_kinds;
                if !kinds.is_empty() {
                    let partition =
                        kinds[self.fault_rng.below(kinds.len() as u64) as usize].clone();
                    let duration = self.nemesis.partition_duration.sample(&mut self.fault_rng);
                    if self.network.is_partitioned() {
                        self.inject(position, FaultAction::Heal);
                    }
                    self.inject(position, FaultAction::Partition(partition));
                    self.queue.push(self.now + duration, Event::Fault(FaultAction::Heal));
                }
            }
            NemesisKind::ClockJump => {
                let node = NodeId(self.fault_rng.below(u64::from(n)) as u32);
                let max = self.nemesis.clock_jump_max.0.min(i64::MAX as u64) as i64;
                let draw = self.fault_rng.between(0, 2 * max as u64);
                // In [-max, max]; computed wide, as `max` may be near 2^63.
                let delta = (i128::from(draw) - i128::from(max)) as i64;
                self.inject(position, FaultAction::ClockJump { node, delta_nanos: delta });
            }
            NemesisKind::Crash | NemesisKind::Pause => {}
        }
        self.schedule_nemesis(kind);
    }

    /// Apply a fault, scheduled or chosen by the nemesis, with its random choices made first
    /// so that the observer sees exactly what was done.
    pub(super) fn inject(&mut self, position: Position, action: FaultAction) {
        let action = match action {
            FaultAction::Partition(p) => {
                let leaders = self.leaders();
                FaultAction::Partition(p.resolve(
                    self.nodes.len() as u32,
                    &leaders,
                    &mut self.fault_rng,
                ))
            }
            other => other,
        };
        self.notify(position, &EventView::Fault(&action));
        if let Some(clients) = self.clients.as_mut() {
            clients.record_fault(&action, self.now);
        }
        self.apply_fault(position, action);
    }
}
