//! A scenario written back as TOML, and the two forms of a scenario that `dsim run
//! --dry-run` and `dsim shrink` write: resolved for one seed (every swarm knob fixed to
//! the value it drew, [`Scenario::plan_resolved`]) and with explicit faults (the faults
//! that fired in a run, as fixed `[[faults]]` with the nemesis off).
//!
//! A resolved scenario keeps the seed (`run.seeds` is that one seed), so every random
//! stream of the run but the swarm draw (the network, nodes, clients, disks, fault
//! choices) is derived from the same seed as before; the swarm stream draws nothing, as
//! every knob is fixed. So the resolved scenario's run is the original's, event for event,
//! with the same trace hash.

use crate::phases::Phase;
use crate::reader::Knob;
use crate::schema::WorkloadSpec;
use crate::schema::{ChecksSpec, ClockSpec, LatencySpec, LinkSpec, NemesisSpec, ScheduledFault};
use crate::{RunPlan, Scenario};
use sim_core::faults::{FaultAction, Partition};
use sim_core::node::NodeId;
use sim_core::protocol::OptionValue;
use sim_core::{SimDuration, SimTime};
use std::fmt::Write as _;

/// A TOML basic string.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A float that reads back as the same `f64`.
fn float(x: f64) -> String {
    format!("{x:?}")
}

/// A duration in nanoseconds, signed, in the unit that reads back exactly.
fn duration(nanos: i64) -> String {
    let magnitude = SimDuration(nanos.unsigned_abs()).to_string();
    quoted(&if nanos < 0 { format!("-{magnitude}") } else { magnitude })
}

fn knob<T>(knob: &Knob<T>, show: impl Fn(&T) -> String) -> String {
    match knob {
        Knob::Fixed(x) => show(x),
        Knob::Range(a, b) => format!("[{}, {}]", show(a), show(b)),
        Knob::OneOf(xs) => {
            let xs: Vec<String> = xs.iter().map(show).collect();
            format!("{{ one_of = [{}] }}", xs.join(", "))
        }
    }
}

fn durations(k: &Knob<i64>) -> String {
    knob(k, |n| duration(*n))
}

fn floats(k: &Knob<f64>) -> String {
    knob(k, |x| float(*x))
}

fn option_value(value: &OptionValue) -> String {
    match value {
        OptionValue::Bool(b) => b.to_string(),
        OptionValue::Int(n) => n.to_string(),
        OptionValue::Float(x) => float(*x),
        OptionValue::Duration(d) => duration(d.0 as i64),
        OptionValue::Str(s) => quoted(s),
    }
}

fn nodes(list: &[NodeId]) -> String {
    let ids: Vec<String> = list.iter().map(|n| n.0.to_string()).collect();
    format!("[{}]", ids.join(", "))
}

fn groups(groups: &[Vec<NodeId>]) -> String {
    let groups: Vec<String> = groups.iter().map(|g| nodes(g)).collect();
    format!("[{}]", groups.join(", "))
}

fn latency(spec: &LatencySpec) -> String {
    match spec {
        LatencySpec::Constant(d) => durations(d),
        LatencySpec::Uniform { min, max } => {
            format!("{{ dist = \"uniform\", min = {}, max = {} }}", durations(min), durations(max))
        }
        LatencySpec::Normal { mean, stddev, min } => format!(
            "{{ dist = \"normal\", mean = {}, stddev = {}, min = {} }}",
            durations(mean),
            durations(stddev),
            durations(min)
        ),
        LatencySpec::LogNormal { median, sigma } => format!(
            "{{ dist = \"lognormal\", median = {}, sigma = {} }}",
            durations(median),
            floats(sigma)
        ),
        LatencySpec::Pareto { scale, shape, max } => format!(
            "{{ dist = \"pareto\", scale = {}, shape = {}, max = {} }}",
            durations(scale),
            floats(shape),
            durations(max)
        ),
    }
}

fn link(out: &mut String, spec: &LinkSpec) {
    let _ = writeln!(out, "latency = {}", latency(&spec.latency));
    let _ = writeln!(out, "loss = {}", floats(&spec.loss));
    let _ = writeln!(out, "duplicate = {}", floats(&spec.duplicate));
}

fn clock(out: &mut String, spec: &ClockSpec) {
    let _ = writeln!(out, "drift_ppm = {}", floats(&spec.drift_ppm));
    let _ = writeln!(out, "offset = {}", durations(&spec.offset));
}

fn pair(range: (SimDuration, SimDuration)) -> String {
    let (min, max) = range;
    if min == max {
        duration(min.0 as i64)
    } else {
        format!("[{}, {}]", duration(min.0 as i64), duration(max.0 as i64))
    }
}

/// The lines of one `[[faults]]` table after `at`.
fn fault_keys(action: &FaultAction) -> Vec<String> {
    let node = |n: &NodeId| format!("node = {}", n.0);
    let action_is = |name: &str| format!("action = \"{name}\"");
    let link = |name: &str, from: &NodeId, to: &NodeId| {
        vec![action_is(name), format!("from = {}", from.0), format!("to = {}", to.0)]
    };
    match action {
        // A crash on an event is written as a plain crash at its time: a fixed schedule
        // cannot name the protocol moment, only the instant.
        FaultAction::Crash(n) | FaultAction::CrashOn { node: n, .. } => {
            vec![action_is("crash"), node(n)]
        }
        FaultAction::Restart(n) => vec![action_is("restart"), node(n)],
        FaultAction::Pause { node: n, duration: d } => {
            vec![action_is("pause"), node(n), format!("duration = {}", duration(d.0 as i64))]
        }
        FaultAction::Partition(p) => {
            let mut lines = vec![action_is("partition"), format!("kind = \"{}\"", p.name())];
            match p {
                Partition::Isolate(Some(n)) | Partition::MuteOne(Some(n)) => lines.push(node(n)),
                Partition::Groups(g) => lines.push(format!("groups = {}", groups(g))),
                Partition::Bridge(Some((a, b))) => {
                    lines.push(format!("groups = {}", groups(&[a.clone(), b.clone()])));
                }
                Partition::Ring(Some(order)) => lines.push(format!("order = {}", nodes(order))),
                Partition::OneWay { from, to } => {
                    lines.push(format!("from = {}", nodes(from)));
                    lines.push(format!("to = {}", nodes(to)));
                }
                _ => {}
            }
            lines
        }
        FaultAction::Heal => vec![action_is("heal")],
        FaultAction::HealAll => vec![action_is("heal-all")],
        FaultAction::Hold { from, to } => link("hold", from, to),
        FaultAction::Release { from, to } => link("release", from, to),
        FaultAction::ClockJump { node: n, delta_nanos } => {
            vec![action_is("clock-jump"), node(n), format!("delta = {}", duration(*delta_nanos))]
        }
        FaultAction::ClockDrift { node: n, drift_ppb } => vec![
            action_is("clock-drift"),
            node(n),
            format!("drift_ppm = {}", float(*drift_ppb as f64 / 1000.0)),
        ],
        FaultAction::DiskFaults { node: n, torn_write_ppm, corrupt_read_ppm } => vec![
            action_is("disk"),
            node(n),
            format!("torn_write_probability = {}", float(f64::from(*torn_write_ppm) / 1e6)),
            format!("corrupt_read_probability = {}", float(f64::from(*corrupt_read_ppm) / 1e6)),
        ],
    }
}

/// `[workload]`, or with `phase` a phase's `[phases.workload]`, which leaves out the keys
/// that are the run's.
fn workload(out: &mut String, w: &WorkloadSpec, phase: bool) {
    out.push_str(if phase { "\n[phases.workload]\n" } else { "\n[workload]\n" });
    if !phase {
        let _ = writeln!(out, "clients = {}", knob(&w.clients, i64::to_string));
    }
    let _ = writeln!(out, "think_time = {}", latency(&w.think_time));
    if !phase {
        let _ = writeln!(out, "timeout = {}", durations(&w.timeout));
    }
    let _ = writeln!(out, "retry_after = {}", durations(&w.retry_after));
    let _ = writeln!(out, "latency = {}", latency(&w.latency));
    if let (Some(ops), false) = (w.ops, phase) {
        let _ = writeln!(out, "ops = {ops}");
    }
    for (name, value) in &w.options {
        let _ = writeln!(out, "{name} = {}", knob(value, option_value));
    }
}

/// The keys of a nemesis section.
fn nemesis(out: &mut String, n: &NemesisSpec) {
    let _ = writeln!(out, "crash_rate = {}", floats(&n.crash_rate));
    let _ = writeln!(out, "restart_after = {}", pair(n.restart_after));
    if let Some(max_down) = &n.max_down {
        let _ = writeln!(out, "max_down = {}", knob(max_down, i64::to_string));
    }
    let _ = writeln!(out, "pause_rate = {}", floats(&n.pause_rate));
    let _ = writeln!(out, "pause_duration = {}", pair(n.pause_duration));
    let _ = writeln!(out, "partition_rate = {}", floats(&n.partition_rate));
    let kinds: Vec<String> = n.partition_kinds.iter().map(|k| quoted(k.name())).collect();
    let _ = writeln!(out, "partition_kinds = [{}]", kinds.join(", "));
    let _ = writeln!(out, "partition_duration = {}", pair(n.partition_duration));
    let _ = writeln!(out, "clock_jump_rate = {}", floats(&n.clock_jump_rate));
    let _ = writeln!(out, "clock_jump_max = {}", durations(&n.clock_jump_max));
    let _ = writeln!(out, "isolate_new_leader = {}", floats(&n.isolate_new_leader));
    let _ = writeln!(out, "isolate_new_leader_after = {}", pair(n.isolate_new_leader_after));
    let events: Vec<String> = n.crash_on.iter().map(|e| quoted(e.name())).collect();
    let _ = writeln!(out, "crash_on = [{}]", events.join(", "));
    let _ = writeln!(out, "crash_on_probability = {}", floats(&n.crash_on_probability));
    let _ = writeln!(out, "crash_on_point = {}", knob(&n.crash_on_point, |p| quoted(p)));
}

/// `[[faults]]` (or a phase's `[[phases.faults]]`, at `key`).
fn faults(out: &mut String, key: &str, faults: &[ScheduledFault]) {
    if !faults.is_empty() {
        out.push('\n');
    }
    for fault in faults {
        let at = duration(fault.at.0 as i64);
        let _ = writeln!(out, "[[{key}]]\nat = {at}\n{}", fault_keys(&fault.action).join("\n"));
    }
}

/// One `[[phases]]` table and its sections, each in full.
fn phase(out: &mut String, phase: &Phase) {
    out.push_str("\n[[phases]]\n");
    let _ = writeln!(out, "name = {}", quoted(&phase.name));
    let _ = writeln!(out, "duration = {}", duration(phase.duration.0 as i64));
    let _ = writeln!(out, "heal = {}", phase.heal);
    out.push_str("\n[phases.nemesis]\n");
    nemesis(out, &phase.nemesis);
    if let Some(w) = &phase.workload {
        workload(out, w, true);
    }
    let c = &phase.checks;
    if c.liveness_bound.is_some() || c.max_unavailability.is_some() {
        out.push_str("\n[phases.checks]\n");
    }
    for (key, bound) in
        [("liveness_bound", c.liveness_bound), ("max_unavailability", c.max_unavailability)]
    {
        if let Some(bound) = bound {
            let _ = writeln!(out, "{key} = {}", duration(bound.0 as i64));
        }
    }
    faults(out, "phases.faults", &phase.faults);
}

fn checks(out: &mut String, c: &ChecksSpec, has_workload: bool) {
    out.push_str("\n[checks]\n");
    if has_workload {
        let model = c.linearizability.map_or("none", |m| m.name());
        let _ = writeln!(out, "linearizability = \"{model}\"");
    }
    let _ = writeln!(out, "invariants = {}", c.invariants);
    let _ = writeln!(out, "convergence = {}", c.convergence);
    match c.liveness_bound {
        Some(bound) => {
            let _ = writeln!(out, "liveness_bound = {}", duration(bound.0 as i64));
        }
        None => out.push_str("liveness_bound = \"none\"\n"),
    }
    let _ = writeln!(out, "budget = {}", c.budget);
    for name in &c.disabled {
        let _ = writeln!(out, "{name} = false");
    }
    if c.expect_violation {
        out.push_str("expect = \"violation\"\n");
    }
}

impl Scenario {
    /// The scenario as a TOML file that loads back to the same scenario: every key
    /// written, defaults included, with no `extends`. `header` is written first, each
    /// line as a comment.
    pub fn to_toml(&self, header: &str) -> String {
        let mut out = String::new();
        for line in header.lines() {
            out.push_str(if line.is_empty() { "#" } else { "# " });
            out.push_str(line);
            out.push('\n');
        }
        if !header.is_empty() {
            out.push('\n');
        }
        out.push_str("[scenario]\n");
        let _ = writeln!(out, "name = {}", quoted(&self.name));
        let _ = writeln!(out, "description = {}", quoted(&self.description));

        out.push_str("\n[protocol]\n");
        let _ = writeln!(out, "name = {}", quoted(&self.protocol));
        let bugs: Vec<String> = self.bugs.iter().map(|b| quoted(b)).collect();
        let _ = writeln!(out, "bugs = [{}]", bugs.join(", "));
        let _ = writeln!(out, "buggify = {}", self.buggify);
        if !self.options.is_empty() {
            out.push_str("\n[protocol.options]\n");
            for (name, value) in &self.options {
                let _ = writeln!(out, "{name} = {}", knob(value, option_value));
            }
        }

        out.push_str("\n[cluster]\n");
        let _ = writeln!(out, "nodes = {}", knob(&self.nodes, i64::to_string));
        if let Some(regions) = &self.regions {
            let regions: Vec<String> = regions.iter().map(u32::to_string).collect();
            let _ = writeln!(out, "regions = [{}]", regions.join(", "));
        }

        out.push_str("\n[network]\n");
        link(&mut out, &self.network);
        if let Some(wan) = &self.wan {
            out.push_str("\n[network.wan]\n");
            link(&mut out, wan);
        }
        for l in &self.links {
            out.push_str("\n[[network.links]]\n");
            let _ =
                writeln!(out, "from = {}\nto = {}\nboth_ways = {}", l.from.0, l.to.0, l.both_ways);
            link(&mut out, &l.link);
        }

        out.push_str("\n[clocks]\n");
        clock(&mut out, &self.clocks);
        for (node, spec) in &self.clock_overrides {
            let _ = writeln!(out, "\n[[clocks.node]]\nnode = {}", node.0);
            clock(&mut out, spec);
        }

        out.push_str("\n[disk]\n");
        let _ = writeln!(out, "torn_write_probability = {}", floats(&self.torn_write_probability));
        let _ =
            writeln!(out, "corrupt_read_probability = {}", floats(&self.corrupt_read_probability));

        out.push_str("\n[nemesis]\n");
        nemesis(&mut out, &self.nemesis);
        faults(&mut out, "faults", &self.faults);

        if let Some(w) = &self.workload {
            workload(&mut out, w, false);
        }
        checks(&mut out, &self.checks, self.workload.is_some());
        for phase in &self.phases {
            self::phase(&mut out, phase);
        }

        out.push_str("\n[run]\n");
        if self.phases.is_empty() {
            let _ = writeln!(out, "duration = {}", duration(self.run.duration.0 as i64));
            let _ = writeln!(out, "heal_at = {}", duration(self.run.heal_at.0 as i64));
        }
        let _ = writeln!(out, "max_events = {}", self.run.max_events);
        let _ = writeln!(out, "max_pending_events = {}", self.run.max_pending_events);
        let _ = writeln!(out, "seeds = \"{}..{}\"", self.run.seeds.0, self.run.seeds.1);
        out
    }

    /// This scenario (resolved for a seed) with `fired`, the faults that fired in its run
    /// (in firing order, as [`sim_core::engine::FaultLog`] records them), as its whole
    /// fixed schedule (`[[faults]]`, at times in the run) and the nemesis off, in every
    /// phase. The plan's own heal-alls (at `heal_at`, or at the end of each phase that
    /// heals) are left to the plan, and faults at the end of the run or later (which no
    /// `[[faults]]` may name) are dropped.
    pub fn with_explicit_faults(
        &self,
        plan: &RunPlan,
        fired: &[(SimTime, FaultAction)],
    ) -> Scenario {
        let mut explicit = self.clone();
        let nemeses = std::iter::once(&mut explicit.nemesis)
            .chain(explicit.phases.iter_mut().map(|p| &mut p.nemesis));
        for n in nemeses {
            for rate in [
                &mut n.crash_rate,
                &mut n.pause_rate,
                &mut n.partition_rate,
                &mut n.clock_jump_rate,
                &mut n.isolate_new_leader,
                &mut n.crash_on_probability,
            ] {
                *rate = Knob::Fixed(0.0);
            }
        }
        for phase in &mut explicit.phases {
            phase.faults.clear();
        }
        // Each of the plan's own heal-alls fired once, at its time.
        let mut own_heals = plan.own_heals.clone();
        explicit.faults = fired
            .iter()
            .filter(|(at, action)| {
                let own = *action == FaultAction::HealAll
                    && own_heals
                        .iter()
                        .position(|t| t == at)
                        .map(|i| own_heals.remove(i))
                        .is_some();
                !own && *at < plan.duration
            })
            .map(|(at, action)| ScheduledFault { at: SimDuration(at.0), action: action.clone() })
            .collect();
        explicit
    }
}
