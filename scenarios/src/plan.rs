//! From a scenario and a seed to one concrete run: every swarm knob drawn from the seed's
//! own stream (and recorded), every section turned into the engine's options.

use crate::phases::PhaseChecks;
use crate::reader::Knob;
use crate::schema::WorkloadSpec;
use crate::schema::{ChecksSpec, ClockSpec, LatencySpec, LinkSpec, NemesisSpec, Scenario};
use sim_core::SimBuilder;
use sim_core::announce::{CrashOn, CrashPoint};
use sim_core::client::ClientOptions;
use sim_core::clock::ClockOptions;
use sim_core::disk::DiskOptions;
use sim_core::faults::{DurationRange, FaultAction, NemesisOptions};
use sim_core::latency::Latency;
use sim_core::network::{LinkOptions, Topology};
use sim_core::node::NodeId;
use sim_core::protocol::{OptionValue, OptionValues};
use sim_core::rng::{SimRng, Stream};
use sim_core::{SimDuration, SimTime};

/// One seed of one scenario, ready to run.
#[derive(Clone, Debug)]
pub struct RunPlan {
    pub scenario: String,
    pub protocol: String,
    pub seed: u64,
    pub options: OptionValues,
    pub bugs: Vec<String>,
    pub builder: SimBuilder,
    /// How the clients behave, and the options of the workload they run (drawn for this
    /// seed); `None` without `[workload]`.
    pub workload: Option<(ClientOptions, OptionValues)>,
    pub checks: ChecksSpec,
    pub duration: SimTime,
    pub heal_at: SimTime,
    pub max_events: u64,
    /// Events that may be pending at once (`run.max_pending_events`).
    pub max_pending_events: u64,
    /// Every swarm value drawn, as `(key, value)`, in schema order.
    pub drawn: Vec<(String, String)>,
    /// The keys of `drawn` drawn from a range `[low, high]` (the others from a list), so
    /// any value between two draws is one the scenario allows (`dsim fuzz --guided`).
    pub ranged: Vec<String>,
    /// The run's phases in order; empty for a run of one phase.
    pub phases: Vec<PlannedPhase>,
    /// What the clients do from the start of each phase after the first (the first's is
    /// `workload`); empty without phases or without clients.
    pub phase_workloads: Vec<(ClientOptions, OptionValues)>,
    /// The times of the plan's own heal-alls: `heal_at` for a run of one phase (when it is
    /// before the end), the end of each phase that heals otherwise.
    pub own_heals: Vec<SimTime>,
}

/// One phase of a planned run.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedPhase {
    pub name: String,
    pub start: SimTime,
    pub end: SimTime,
    pub checks: PhaseChecks,
}

/// Draws knobs from the swarm stream and records what it drew.
struct Draw {
    rng: SimRng,
    drawn: Vec<(String, String)>,
    ranged: Vec<String>,
}

trait Drawable: Clone + std::fmt::Debug {
    fn between(low: &Self, high: &Self, rng: &mut SimRng) -> Self;
    fn show(&self) -> String {
        format!("{self:?}")
    }
}

impl Drawable for f64 {
    fn between(low: &f64, high: &f64, rng: &mut SimRng) -> f64 {
        low + (high - low) * rng.unit()
    }
    fn show(&self) -> String {
        format!("{self:.6}").trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

impl Drawable for i64 {
    fn between(low: &i64, high: &i64, rng: &mut SimRng) -> i64 {
        low.wrapping_add(rng.between(0, high.abs_diff(*low)) as i64)
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

impl Drawable for String {
    fn between(low: &String, _high: &String, _rng: &mut SimRng) -> String {
        low.clone()
    }
    fn show(&self) -> String {
        self.clone()
    }
}

impl Drawable for OptionValue {
    fn between(low: &OptionValue, high: &OptionValue, rng: &mut SimRng) -> OptionValue {
        match (low, high) {
            (OptionValue::Int(a), OptionValue::Int(b)) => OptionValue::Int(i64::between(a, b, rng)),
            (OptionValue::Float(a), OptionValue::Float(b)) => {
                OptionValue::Float(f64::between(a, b, rng))
            }
            (OptionValue::Duration(a), OptionValue::Duration(b)) => {
                OptionValue::Duration(SimDuration(rng.between(a.0, b.0)))
            }
            _ => low.clone(),
        }
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

impl Draw {
    fn knob<T: Drawable>(&mut self, key: impl Into<String>, knob: &mut Knob<T>) -> T {
        self.knob_shown(key, knob, T::show)
    }

    /// Draw `knob`, recording the value as `show` writes it, and fix the knob to it (so
    /// that the scenario drawn from is the resolved scenario of the seed).
    fn knob_shown<T: Drawable>(
        &mut self,
        key: impl Into<String>,
        knob: &mut Knob<T>,
        show: impl Fn(&T) -> String,
    ) -> T {
        let key = key.into();
        let value = match knob {
            Knob::Fixed(x) => return x.clone(),
            Knob::Range(a, b) => {
                self.ranged.push(key.clone());
                T::between(a, b, &mut self.rng)
            }
            Knob::OneOf(xs) => self.rng.pick(xs).clone(),
        };
        self.drawn.push((key, show(&value)));
        *knob = Knob::Fixed(value.clone());
        value
    }

    /// A duration knob (nanoseconds), recorded with its unit.
    fn duration(&mut self, key: impl Into<String>, knob: &mut Knob<i64>) -> SimDuration {
        let nanos = self.knob_shown(key, knob, |n| SimDuration((*n).max(0) as u64).to_string());
        SimDuration(nanos.max(0) as u64)
    }

    fn latency(&mut self, key: &str, spec: &mut LatencySpec) -> Latency {
        let k = |field: &str| format!("{key}.{field}");
        match spec {
            LatencySpec::Constant(d) => Latency::Constant(self.duration(key, d)),
            LatencySpec::Uniform { min: low, max: high } => {
                let min = self.duration(k("min"), low);
                let max = self.duration(k("max"), high).max(min);
                // What the run uses is what the resolved scenario says.
                *high = Knob::Fixed(max.0 as i64);
                Latency::Uniform { min, max }
            }
            LatencySpec::Normal { mean, stddev, min } => Latency::Normal {
                mean: self.duration(k("mean"), mean),
                stddev: self.duration(k("stddev"), stddev),
                min: self.duration(k("min"), min),
            },
            LatencySpec::LogNormal { median, sigma } => Latency::LogNormal {
                median: self.duration(k("median"), median),
                sigma: self.knob(k("sigma"), sigma),
            },
            LatencySpec::Pareto { scale, shape, max } => Latency::Pareto {
                scale: self.duration(k("scale"), scale),
                shape: self.knob(k("shape"), shape),
                max: self.duration(k("max"), max),
            },
        }
    }

    /// The nemesis of `spec` (at `key`), until `until`.
    fn nemesis(&mut self, key: &str, n: &mut NemesisSpec, until: SimTime) -> NemesisOptions {
        let range = |(min, max): (SimDuration, SimDuration)| DurationRange::new(min, max);
        let k = |field: &str| format!("{key}.{field}");
        NemesisOptions {
            crash_rate: self.knob(k("crash_rate"), &mut n.crash_rate),
            restart_after: range(n.restart_after),
            max_down: n.max_down.as_mut().map(|m| self.knob(k("max_down"), m) as u32),
            pause_rate: self.knob(k("pause_rate"), &mut n.pause_rate),
            pause_duration: range(n.pause_duration),
            partition_rate: self.knob(k("partition_rate"), &mut n.partition_rate),
            partition_kinds: n.partition_kinds.clone(),
            partition_duration: range(n.partition_duration),
            clock_jump_rate: self.knob(k("clock_jump_rate"), &mut n.clock_jump_rate),
            clock_jump_max: self.duration(k("clock_jump_max"), &mut n.clock_jump_max),
            isolate_new_leader: self.knob(k("isolate_new_leader"), &mut n.isolate_new_leader),
            isolate_new_leader_after: range(n.isolate_new_leader_after),
            crash_on: CrashOn {
                events: n.crash_on.clone(),
                probability: self.knob(k("crash_on_probability"), &mut n.crash_on_probability),
                point: CrashPoint::named(&self.knob(k("crash_on_point"), &mut n.crash_on_point))
                    .expect("validated at load"),
            },
            until,
        }
    }

    /// The workload's own options of `w` (at `key`).
    fn workload_options(&mut self, key: &str, w: &mut WorkloadSpec) -> OptionValues {
        let mut options = OptionValues::new();
        for (name, knob) in &mut w.options {
            options.insert(name.clone(), self.knob(format!("{key}.{name}"), knob));
        }
        options
    }

    fn link(&mut self, key: &str, spec: &mut LinkSpec) -> LinkOptions {
        LinkOptions {
            latency: self.latency(&format!("{key}.latency"), &mut spec.latency),
            loss: self.knob(format!("{key}.loss"), &mut spec.loss),
            duplicate: self.knob(format!("{key}.duplicate"), &mut spec.duplicate),
        }
    }

    fn clock(&mut self, key: &str, spec: &mut ClockSpec) -> ClockOptions {
        let signed = |n: &i64| {
            let magnitude = SimDuration(n.unsigned_abs()).to_string();
            if *n < 0 { format!("-{magnitude}") } else { magnitude }
        };
        ClockOptions {
            drift_ppm: self.knob(format!("{key}.drift_ppm"), &mut spec.drift_ppm),
            offset_nanos: self.knob_shown(format!("{key}.offset"), &mut spec.offset, signed),
        }
    }
}

impl Scenario {
    /// The scenario's bug switches and then those of `extra_bugs` it does not name.
    pub fn bugs_with(&self, extra_bugs: &[String]) -> Vec<String> {
        let mut bugs = self.bugs.clone();
        for bug in extra_bugs {
            if !bugs.contains(bug) {
                bugs.push(bug.clone());
            }
        }
        bugs
    }

    /// The run of `seed`, with `extra_bugs` switched on over what the file says.
    pub fn plan(&self, seed: u64, extra_bugs: &[String]) -> RunPlan {
        self.plan_resolved(seed, extra_bugs).0
    }

    /// The run of `seed`, and the scenario resolved for it: every swarm knob fixed to the
    /// value drawn, the bug switches of `extra_bugs` added, and `run.seeds` the one seed,
    /// so that the resolved scenario's plan is this plan (see [`crate::resolve`]).
    pub fn plan_resolved(&self, seed: u64, extra_bugs: &[String]) -> (RunPlan, Scenario) {
        let mut resolved = self.clone();
        let plan = resolved.draw(seed, extra_bugs);
        resolved.bugs = plan.bugs.clone();
        resolved.run.seeds = (seed, seed.saturating_add(1));
        (plan, resolved)
    }

    /// Draw every swarm knob of `self` from `seed`'s swarm stream, fixing each to its
    /// value, and plan the run.
    fn draw(&mut self, seed: u64, extra_bugs: &[String]) -> RunPlan {
        let mut draw = Draw {
            rng: SimRng::derive(seed, Stream::Swarm, 0),
            drawn: Vec::new(),
            ranged: Vec::new(),
        };
        let nodes = draw.knob("cluster.nodes", &mut self.nodes) as u32;
        let mut options = OptionValues::new();
        for (name, knob) in &mut self.options {
            options.insert(name.clone(), draw.knob(format!("protocol.options.{name}"), knob));
        }
        let bugs = self.bugs_with(extra_bugs);

        let default_link = draw.link("network", &mut self.network);
        let mut topology = Topology::full_mesh(nodes, default_link);
        if let (Some(regions), Some(wan)) = (&self.regions, &mut self.wan) {
            let wan = draw.link("network.wan", wan);
            topology = topology.with_regions(regions, &wan);
        }
        for (i, link) in self.links.iter_mut().enumerate() {
            let options = draw.link(&format!("network.links[{i}]"), &mut link.link);
            if link.both_ways {
                topology.set_link_both_ways(link.from, link.to, options);
            } else {
                topology.set_link(link.from, link.to, options);
            }
        }

        let mut builder = SimBuilder::new(seed, nodes).topology(topology).buggify(self.buggify);
        // Each node draws its own clock; when any of them draws, the resolved scenario
        // gives every node its clock.
        let all_fixed = |c: &ClockSpec| c.drift_ppm.is_fixed() && c.offset.is_fixed();
        let fixed =
            all_fixed(&self.clocks) && self.clock_overrides.iter().all(|(_, c)| all_fixed(c));
        let mut clocks = Vec::new();
        for node in 0..nodes {
            let mut spec = self
                .clock_overrides
                .iter()
                .rev()
                .find(|(n, _)| n.0 == node)
                .map_or(&self.clocks, |(_, spec)| spec)
                .clone();
            let options = draw.clock(&format!("clocks[n{node}]"), &mut spec);
            builder = builder.clock(NodeId(node), options);
            if !fixed {
                clocks.push((NodeId(node), spec));
            }
        }
        if !fixed {
            self.clocks = ClockSpec { drift_ppm: Knob::Fixed(0.0), offset: Knob::Fixed(0) };
            self.clock_overrides = clocks;
        }
        builder = builder.disk(DiskOptions {
            torn_write_probability: draw
                .knob("disk.torn_write_probability", &mut self.torn_write_probability),
            corrupt_read_probability: draw
                .knob("disk.corrupt_read_probability", &mut self.corrupt_read_probability),
        });

        let heal_at = SimTime::ZERO + self.run.heal_at;
        let duration = SimTime::ZERO + self.run.duration;
        let liveness = self.checks.liveness_bound.unwrap_or(SimDuration::ZERO);
        let stop_at = SimTime(duration.0.saturating_sub(liveness.0).max(heal_at.0.min(duration.0)));
        let mut own_heals = Vec::new();
        let mut phases = Vec::new();
        let mut phase_workloads = Vec::new();
        let workload = if self.phases.is_empty() {
            builder = builder.nemesis(draw.nemesis("nemesis", &mut self.nemesis, heal_at));
            for fault in &self.faults {
                builder = builder.fault_at(SimTime::ZERO + fault.at, fault.action.clone());
            }
            if heal_at < duration {
                builder = builder.fault_at(heal_at, FaultAction::HealAll);
                own_heals.push(heal_at);
            }
            self.workload.as_mut().map(|w| {
                let options = draw.workload_options("workload", w);
                let clients = ClientOptions {
                    clients: draw.knob("workload.clients", &mut w.clients) as u32,
                    think_time: draw.latency("workload.think_time", &mut w.think_time),
                    timeout: draw.duration("workload.timeout", &mut w.timeout),
                    retry_after: draw.duration("workload.retry_after", &mut w.retry_after),
                    latency: draw.latency("workload.latency", &mut w.latency),
                    max_ops: w.ops,
                    stop_at: Some(stop_at),
                };
                (clients, options)
            })
        } else {
            // Each phase's nemesis, in order, then the fixed faults (the run's, then each
            // phase's from its start), then the heal-alls at the ends of phases that heal.
            let mut start = SimTime::ZERO;
            for (index, phase) in self.phases.iter_mut().enumerate() {
                let end = start + phase.duration;
                let key = format!("phases.{}.nemesis", phase.name);
                let nemesis = draw.nemesis(&key, &mut phase.nemesis, end);
                builder = if index == 0 {
                    builder.nemesis(nemesis)
                } else {
                    builder.phase(start, nemesis)
                };
                phases.push(PlannedPhase {
                    name: phase.name.clone(),
                    start,
                    end,
                    checks: phase.checks.clone(),
                });
                start = end;
            }
            for fault in &self.faults {
                builder = builder.fault_at(SimTime::ZERO + fault.at, fault.action.clone());
            }
            for (phase, planned) in self.phases.iter().zip(&phases) {
                for fault in &phase.faults {
                    builder = builder.fault_at(planned.start + fault.at, fault.action.clone());
                }
            }
            for (phase, planned) in self.phases.iter().zip(&phases) {
                if phase.heal && planned.end < duration {
                    builder = builder.fault_at(planned.end, FaultAction::HealAll);
                    own_heals.push(planned.end);
                }
            }
            // The clients' count and timeout are the run's; the rest each phase's.
            self.workload.as_mut().map(|w| {
                let count = draw.knob("workload.clients", &mut w.clients) as u32;
                let timeout = draw.duration("workload.timeout", &mut w.timeout);
                let mut each = self.phases.iter_mut().filter_map(|phase| {
                    let key = format!("phases.{}.workload", phase.name);
                    let w = phase.workload.as_mut()?;
                    w.timeout = Knob::Fixed(timeout.0 as i64);
                    let options = draw.workload_options(&key, w);
                    let clients = ClientOptions {
                        clients: count,
                        think_time: draw.latency(&format!("{key}.think_time"), &mut w.think_time),
                        timeout,
                        retry_after: draw
                            .duration(format!("{key}.retry_after"), &mut w.retry_after),
                        latency: draw.latency(&format!("{key}.latency"), &mut w.latency),
                        max_ops: w.ops,
                        stop_at: Some(stop_at),
                    };
                    Some((clients, options))
                });
                let first = each.next().expect("every phase has a workload when the run has one");
                phase_workloads = each.collect();
                first
            })
        };

        RunPlan {
            scenario: self.name.clone(),
            protocol: self.protocol.clone(),
            seed,
            options,
            bugs,
            builder,
            workload,
            checks: self.checks.clone(),
            duration,
            heal_at,
            max_events: self.run.max_events,
            max_pending_events: self.run.max_pending_events,
            drawn: draw.drawn,
            ranged: draw.ranged,
            phases,
            phase_workloads,
            own_heals,
        }
    }
}
