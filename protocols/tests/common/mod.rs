//! Shared harness for Raft's simulation tests: the fault mixes, one run of a seed with a
//! safety phase, a final heal and a liveness phase, and sums over seed sweeps.
#![allow(dead_code)]

use protocols::raft::{Raft, RaftConfig, RaftInvariants};
use sim_core::check::{DEFAULT_BUDGET, ModelKind, Verdict};
use sim_core::client::{ClientOptions, ClientStats, WithClients};
use sim_core::clock::ClockOptions;
use sim_core::disk::DiskOptions;
use sim_core::engine::{Simulation, Violation};
use sim_core::faults::{DurationRange, FaultAction, FaultKind, NemesisOptions, Partition};
use sim_core::history::{EventType, History};
use sim_core::kv::{KvOptions, KvWorkload};
use sim_core::latency::Latency;
use sim_core::network::LinkOptions;
use sim_core::node::NodeId;
use sim_core::rng::{SimRng, Stream};
use sim_core::{SimBuilder, SimDuration, SimTime};
use std::collections::BTreeMap;

pub const NODES: u32 = 5;

/// The fault mixes. Each is a recipe a TOML scenario can copy (see `scenario`); unless
/// said otherwise, links take 1-3 ms, 4 clients read, write and cas 3 keys, faults stop at
/// `HEAL_AT` with a heal of everything, and the liveness phase runs to `END`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mix {
    /// No faults.
    Steady,
    /// The current leader is cut off from everyone for 0.3-1.2 s, about once a second.
    LeaderIsolation,
    /// The current leader and one follower are split from the other three, about once a
    /// second, for 0.5-1.5 s.
    MinorityLeader,
    /// As `MinorityLeader`, with clients that mostly read (30 reads to 1 write): some keep
    /// reading from the deposed leader while the majority moves on.
    StaleLeaderReads,
    /// Crashes at 3/s (restart after 50-600 ms) and pauses at 1/s, a minority down at most;
    /// clients append and read (so a lost or doubled append shows).
    CrashRestartStorm,
    /// Crashes at 20/s, each node back 1-10 ms later (a minority down at most).
    CrashFrenzy,
    /// `CrashFrenzy` on slow links (1-100 ms): split votes, and crashes between the votes.
    CrashFrenzySlowLinks,
    /// Each new leader is cut off 0-30 ms after its election, for 100-600 ms (at most two
    /// nodes cut off at once), under a 3/s crash storm, on 1-10 ms links, with one entry
    /// per AppendEntries: leaders append entries only they hold, and followers catch up
    /// one entry at a time.
    FlappingLeader,
    /// Every clock drifts by up to ±5% and jumps by up to ±300 ms at 2/s; random
    /// isolations at 0.5/s force elections.
    ClockDrift,
    /// Group commit (sync 3 ms after the first unsynced append), crashes at 3/s that tear
    /// the first unsynced write half the time, corrupted reads at 5%, isolations at 0.5/s.
    UnsyncedLoss,
    /// Everything at once, every knob drawn from the seed (swarm testing).
    Swarm,
}

impl Mix {
    pub const ALL: [Mix; 11] = [
        Mix::Steady,
        Mix::LeaderIsolation,
        Mix::MinorityLeader,
        Mix::StaleLeaderReads,
        Mix::CrashRestartStorm,
        Mix::CrashFrenzy,
        Mix::CrashFrenzySlowLinks,
        Mix::FlappingLeader,
        Mix::ClockDrift,
        Mix::UnsyncedLoss,
        Mix::Swarm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Mix::Steady => "steady",
            Mix::LeaderIsolation => "leader-isolation",
            Mix::MinorityLeader => "minority-leader",
            Mix::StaleLeaderReads => "stale-leader-reads",
            Mix::CrashRestartStorm => "crash-restart-storm",
            Mix::CrashFrenzy => "crash-frenzy",
            Mix::CrashFrenzySlowLinks => "crash-frenzy-slow-links",
            Mix::FlappingLeader => "flapping-leader",
            Mix::ClockDrift => "clock-drift",
            Mix::UnsyncedLoss => "unsynced-write-loss",
            Mix::Swarm => "swarm",
        }
    }
}

/// Faults the harness aims at the current leader (the engine's nemesis picks at random).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Targeted {
    None,
    IsolateLeader,
    MinorityLeader,
    /// Each new leader is isolated 0-30 ms after its election, for 100-600 ms (at most
    /// two nodes cut off at a time): leaders that append entries only they hold.
    FlappingLeader,
}

/// The phases of every run: faults until `HEAL_AT`, then the liveness phase.
pub const HEAL_AT: SimTime = SimTime(6_000_000_000);
pub const END: SimTime = SimTime(11_000_000_000);
/// After the heal, operations invoked this much later must all complete.
pub const SETTLE: SimDuration = SimDuration::from_millis(2000);
pub const OP_TIMEOUT: SimDuration = SimDuration::from_millis(1000);

pub struct Scenario {
    pub builder: SimBuilder<WithClients<KvWorkload>>,
    pub config: RaftConfig,
    pub targeted: Targeted,
    pub append_workload: bool,
}

fn ms(millis: u64) -> SimDuration {
    SimDuration::from_millis(millis)
}

/// The clients' workload: read, write and cas (or read and append) on 3 keys.
pub fn workload(append: bool) -> (ClientOptions, KvWorkload) {
    let kv = if append {
        KvOptions { read: 1, write: 0, cas: 0, append: 2, ..KvOptions::default() }
    } else {
        KvOptions { read: 2, write: 2, cas: 1, append: 0, ..KvOptions::default() }
    };
    workload_of(kv)
}

pub fn workload_of(kv: KvOptions) -> (ClientOptions, KvWorkload) {
    let clients = ClientOptions {
        clients: 4,
        timeout: OP_TIMEOUT,
        retry_after: ms(200),
        ..ClientOptions::default()
    };
    (clients, KvWorkload::new(KvOptions { keys: 3, ..kv }).expect("a valid workload"))
}

fn jittery_links() -> LinkOptions {
    LinkOptions { latency: Latency::Uniform { min: ms(1), max: ms(3) }, ..LinkOptions::default() }
}

/// Options varied by seed in the fixed mixes, so every option runs under every fault:
/// seed % 4 = 0 defaults, 1 pre-vote and check-quorum, 2 ReadIndex, 3 all three.
pub fn vary_options(config: &mut RaftConfig, seed: u64) {
    let variant = seed % 4;
    config.pre_vote = variant == 1 || variant == 3;
    config.check_quorum = variant == 1 || variant == 3;
    config.read_index = variant >= 2;
}

/// The scenario of `mix` for `seed`, starting from `config` (its bug switches are kept;
/// the mix lowers `snapshot_threshold` so that snapshots happen within a run).
pub fn scenario(mix: Mix, seed: u64, config: &RaftConfig, vary: bool) -> Scenario {
    let mut config = config.clone();
    config.snapshot_threshold = config.snapshot_threshold.min(64);
    if vary {
        vary_options(&mut config, seed);
    }
    let base = SimBuilder::new(seed, NODES).links(jittery_links());
    let nemesis = NemesisOptions { until: HEAL_AT, ..NemesisOptions::default() };
    let isolations = || NemesisOptions {
        partition_rate: 0.5,
        partition_kinds: vec![Partition::Isolate(None)],
        ..nemesis.clone()
    };
    let storm = NemesisOptions {
        crash_rate: 3.0,
        restart_after: DurationRange::new(ms(50), ms(600)),
        pause_rate: 1.0,
        pause_duration: DurationRange::new(ms(50), ms(500)),
        ..nemesis.clone()
    };
    let frenzy = NemesisOptions {
        crash_rate: 20.0,
        restart_after: DurationRange::new(ms(1), ms(10)),
        ..nemesis.clone()
    };
    let uniform_links = |max: u64| LinkOptions {
        latency: Latency::Uniform { min: ms(1), max: ms(max) },
        ..LinkOptions::default()
    };
    let mut targeted = Targeted::None;
    let mut append_workload = false;
    let mut workload = None;
    let builder = match mix {
        Mix::Steady => base,
        Mix::LeaderIsolation => {
            targeted = Targeted::IsolateLeader;
            base
        }
        Mix::MinorityLeader => {
            targeted = Targeted::MinorityLeader;
            base
        }
        Mix::StaleLeaderReads => {
            targeted = Targeted::MinorityLeader;
            workload = Some(workload_of(KvOptions {
                read: 30,
                write: 1,
                cas: 0,
                append: 0,
                ..KvOptions::default()
            }));
            base
        }
        Mix::CrashRestartStorm => {
            append_workload = true;
            base.nemesis(storm)
        }
        Mix::CrashFrenzy => base.links(uniform_links(5)).nemesis(frenzy),
        Mix::CrashFrenzySlowLinks => base.links(uniform_links(100)).nemesis(frenzy),
        Mix::FlappingLeader => {
            targeted = Targeted::FlappingLeader;
            config.max_entries_per_append = 1;
            base.links(uniform_links(10)).nemesis(storm)
        }
        Mix::ClockDrift => {
            let mut rng = SimRng::derive(seed, Stream::Swarm, 1);
            let mut b = base.nemesis(NemesisOptions {
                clock_jump_rate: 2.0,
                clock_jump_max: ms(300),
                ..isolations()
            });
            for node in 0..NODES {
                let drift_ppm = rng.between(0, 100_000) as f64 - 50_000.0;
                let offset_nanos = rng.between(0, 1_000_000_000) as i64;
                b = b.clock(NodeId(node), ClockOptions { offset_nanos, drift_ppm });
            }
            b
        }
        Mix::UnsyncedLoss => {
            config.sync_delay = ms(3);
            base.disk(DiskOptions { torn_write_probability: 0.5, corrupt_read_probability: 0.05 })
                .nemesis(NemesisOptions {
                    crash_rate: 3.0,
                    restart_after: DurationRange::new(ms(50), ms(400)),
                    ..isolations()
                })
        }
        Mix::Swarm => {
            let (b, append) = swarm(seed, &mut config, vary);
            append_workload = append;
            b
        }
    };
    let (clients, kv) = workload.unwrap_or_else(|| self::workload(append_workload));
    let builder = builder.workload(clients, kv);
    Scenario { builder, config, targeted, append_workload }
}

/// Draw every knob from the seed.
fn swarm(seed: u64, config: &mut RaftConfig, vary: bool) -> (SimBuilder, bool) {
    let mut rng = SimRng::derive(seed, Stream::Swarm, 2);
    let mut rate = |max: f64| rng.unit() * max;
    let partition_rate = rate(2.0);
    let crash_rate = rate(3.0);
    let pause_rate = rate(1.0);
    let clock_jump_rate = rate(1.0);
    let loss = rate(0.05);
    let duplicate = rate(0.05);
    let torn = rate(1.0);
    let corrupt = rate(0.1);
    let latency_max = rng.between(1, 20);
    let drift_max = rng.between(0, 50_000);
    let links = LinkOptions {
        latency: Latency::Uniform { min: ms(1), max: ms(latency_max) },
        loss,
        duplicate,
    };
    let mut b = SimBuilder::new(seed, NODES)
        .links(links)
        .disk(DiskOptions { torn_write_probability: torn, corrupt_read_probability: corrupt })
        .nemesis(NemesisOptions {
            partition_rate,
            crash_rate,
            restart_after: DurationRange::new(ms(20), ms(1000)),
            pause_rate,
            clock_jump_rate,
            clock_jump_max: ms(300),
            until: HEAL_AT,
            ..NemesisOptions::default()
        });
    for node in 0..NODES {
        let drift_ppm = rng.between(0, 2 * drift_max) as f64 - drift_max as f64;
        b = b.clock(NodeId(node), ClockOptions { offset_nanos: 0, drift_ppm });
    }
    if vary {
        config.pre_vote = rng.chance(0.5);
        config.check_quorum = rng.chance(0.5);
        config.read_index = rng.chance(0.5);
    }
    config.snapshot_threshold = rng.between(10, 100);
    config.max_entries_per_append = rng.between(1, 64);
    config.sync_delay = if rng.chance(0.5) { ms(rng.between(1, 5)) } else { SimDuration::ZERO };
    let append = rng.chance(0.5);
    (b, append)
}

/// The leader of the highest term among running nodes.
pub fn current_leader(sim: &Simulation<Raft, RaftInvariants>) -> Option<NodeId> {
    (0..sim.node_count())
        .map(NodeId)
        .filter_map(|id| sim.node(id).filter(|n| n.is_leader()).map(|n| (n.term(), id)))
        .max()
        .map(|(_, id)| id)
}

/// Isolate each new leader shortly after its election (see `Targeted::FlappingLeader`).
fn drive_flapping(sim: &mut Simulation<Raft, RaftInvariants>, seed: u64) {
    let mut rng = SimRng::derive(seed, Stream::Swarm, 4);
    let step = ms(5);
    let mut handled_term = 0;
    // (node, until) of the nodes cut off now.
    let mut isolated: Vec<(NodeId, SimTime)> = Vec::new();
    let mut at = SimTime::ZERO + step;
    while at < HEAL_AT {
        sim.run_until(at);
        if sim.violation().is_some() {
            return;
        }
        let now = sim.now();
        if isolated.iter().any(|&(_, until)| until <= now) {
            isolated.retain(|&(_, until)| until > now);
            sim.schedule_fault(now, FaultAction::Heal);
            for &(node, _) in &isolated {
                sim.schedule_fault(now, FaultAction::Partition(Partition::Isolate(Some(node))));
            }
        }
        let leader = current_leader(sim).map(|id| (sim.node(id).expect("up").term(), id));
        if let Some((term, leader)) = leader
            && term > handled_term
            && isolated.len() < 2
        {
            handled_term = term;
            let delay = ms(rng.between(0, 30));
            let until = now + delay + ms(rng.between(100, 600));
            sim.schedule_fault(
                now + delay,
                FaultAction::Partition(Partition::Isolate(Some(leader))),
            );
            isolated.push((leader, until.min(HEAL_AT)));
        }
        at += step;
    }
    sim.run_until(HEAL_AT);
}

/// Run the safety phase, aiming partitions at the leader if `targeted` says so.
fn drive(sim: &mut Simulation<Raft, RaftInvariants>, targeted: Targeted, seed: u64) {
    if targeted == Targeted::FlappingLeader {
        return drive_flapping(sim, seed);
    }
    let mut rng = SimRng::derive(seed, Stream::Swarm, 3);
    let mut at = SimTime(rng.between(300_000_000, 1_000_000_000));
    while at < HEAL_AT {
        sim.run_until(at);
        if sim.violation().is_some() {
            return;
        }
        let (low, high) = match targeted {
            Targeted::None | Targeted::FlappingLeader => break,
            Targeted::IsolateLeader => (300, 1200),
            Targeted::MinorityLeader => (500, 1500),
        };
        let duration = ms(rng.between(low, high));
        if let Some(leader) = current_leader(sim) {
            let partition = match targeted {
                Targeted::MinorityLeader => {
                    let others: Vec<NodeId> =
                        (0..NODES).map(NodeId).filter(|&n| n != leader).collect();
                    let buddy = *rng.pick(&others);
                    Partition::Groups(vec![vec![leader, buddy]])
                }
                _ => Partition::Isolate(Some(leader)),
            };
            let now = sim.now();
            sim.schedule_fault(now, FaultAction::Partition(partition));
            let heal = (now + duration).min(HEAL_AT);
            sim.schedule_fault(heal, FaultAction::Heal);
        }
        at += duration + ms(rng.between(100, 800));
    }
    sim.run_until(HEAL_AT);
}

/// What one run showed.
#[derive(Debug)]
pub struct Outcome {
    pub mix: Mix,
    pub seed: u64,
    pub config: RaftConfig,
    pub violation: Option<Violation>,
    /// A linearizability violation of the client history (see [`linearizable`]).
    pub history: Result<(), String>,
    pub liveness: Result<(), String>,
    pub counters: BTreeMap<&'static str, u64>,
    pub crashes: u64,
    pub restarts: u64,
    pub partitions: u64,
    pub clock_faults: u64,
    pub dropped_by_partition: u64,
    pub torn_writes: u64,
    pub corrupted_reads: u64,
    pub clients: ClientStats,
    pub events: u64,
    pub trace_hash: u64,
}

impl Outcome {
    /// The name of the first safety property broken: an invariant, or the history check.
    pub fn failure(&self) -> Option<String> {
        if let Some(v) = &self.violation {
            return Some(v.invariant.clone());
        }
        self.history.as_ref().err().map(|_| "linearizability".to_string())
    }

    pub fn describe(&self) -> String {
        format!(
            "mix {} seed {} ({:?}): violation {:?}; history {:?}; liveness {:?}",
            self.mix.name(),
            self.seed,
            self.config,
            self.violation.as_ref().map(ToString::to_string),
            self.history,
            self.liveness
        )
    }
}

pub fn build(scenario: Scenario) -> (Simulation<Raft, RaftInvariants>, Targeted) {
    let Scenario { builder, config, targeted, .. } = scenario;
    let sim = builder
        .fault_at(HEAL_AT, FaultAction::HealAll)
        .build_observed::<Raft, _>(config, RaftInvariants::default());
    (sim, targeted)
}

/// Run `mix` on `seed` from `config`, through the heal to the end of the liveness phase.
pub fn run(mix: Mix, seed: u64, config: &RaftConfig, vary: bool) -> Outcome {
    run_scenario(mix, seed, scenario(mix, seed, config, vary))
}

/// Run a scenario (of `mix`, perhaps adjusted) through the heal and the liveness phase.
pub fn run_scenario(mix: Mix, seed: u64, scenario: Scenario) -> Outcome {
    let used = scenario.config.clone();
    let (mut sim, targeted) = build(scenario);
    drive(&mut sim, targeted, seed);
    if sim.violation().is_none() {
        sim.run_until(END);
    }
    let history = sim.history().expect("a workload").clone();
    let history_result = linearizable(&history);
    let liveness = if sim.violation().is_some() { Ok(()) } else { check_liveness(&history) };
    let disk = |f: fn(&sim_core::disk::DiskStats) -> u64| {
        (0..NODES).map(|n| f(&sim.disk(NodeId(n)).stats())).sum()
    };
    Outcome {
        mix,
        seed,
        config: used,
        violation: sim.violation().cloned(),
        history: history_result,
        liveness,
        counters: sim.counters().clone(),
        crashes: sim.fault_count(FaultKind::Crash),
        restarts: sim.fault_count(FaultKind::Restart),
        partitions: sim.fault_count(FaultKind::Partition),
        clock_faults: sim.fault_count(FaultKind::Clock),
        dropped_by_partition: sim.message_stats().dropped_partition,
        torn_writes: disk(|s| s.torn_writes),
        corrupted_reads: disk(|s| s.corrupted_reads),
        clients: sim.client_stats(),
        events: sim.stats().events,
        trace_hash: sim.trace_hash(),
    }
}

/// Check a run's history with the linearizability checker: the key-value model when the
/// clients append, the cas-register model otherwise (one check per key either way).
pub fn linearizable(history: &History) -> Result<(), String> {
    let appends = history.events.iter().any(|e| e.f == sim_core::history::Function::Append);
    let model = if appends { ModelKind::KeyValue } else { ModelKind::CasRegister };
    match model.check(history, DEFAULT_BUDGET).map_err(|e| format!("malformed history: {e}"))? {
        Verdict::Linearizable => Ok(()),
        Verdict::NotLinearizable(violation) => Err(violation.to_string()),
        unknown @ Verdict::Unknown { .. } => panic!("the checker ran out of budget: {unknown}"),
    }
}

/// Liveness after the final heal: every operation invoked from `HEAL_AT + SETTLE` on
/// (with time left to finish before `END`) completes with ok or fail, and some do.
pub fn check_liveness(history: &History) -> Result<(), String> {
    let settled = HEAL_AT + SETTLE;
    let mut open: BTreeMap<u64, SimTime> = BTreeMap::new();
    let mut completed_after = 0;
    for e in &history.events {
        let time = e.time.expect("simulated histories carry times");
        match e.kind {
            EventType::Invoke => {
                open.insert(e.process, time);
            }
            kind => {
                let Some(invoked) = open.remove(&e.process) else { continue };
                if invoked >= settled {
                    if kind == EventType::Info {
                        return Err(format!(
                            "an operation invoked at {invoked}, after the heal settled, timed out"
                        ));
                    }
                    completed_after += 1;
                }
            }
        }
    }
    for invoked in open.values() {
        if *invoked >= settled && *invoked + OP_TIMEOUT <= END {
            return Err(format!("an operation invoked at {invoked} never completed"));
        }
    }
    if completed_after == 0 {
        return Err("no operation completed after the heal".into());
    }
    Ok(())
}

/// Sums over a sweep, for "sometimes" assertions.
#[derive(Debug, Default)]
pub struct Totals {
    pub runs: u64,
    pub counters: BTreeMap<&'static str, u64>,
    pub crashes: u64,
    pub restarts: u64,
    pub partitions: u64,
    pub clock_faults: u64,
    pub dropped_by_partition: u64,
    pub torn_writes: u64,
    pub corrupted_reads: u64,
    pub ok: u64,
    pub info: u64,
    pub events: u64,
}

impl Totals {
    pub fn add(&mut self, o: &Outcome) {
        self.runs += 1;
        for (name, count) in &o.counters {
            *self.counters.entry(name).or_insert(0) += count;
        }
        self.crashes += o.crashes;
        self.restarts += o.restarts;
        self.partitions += o.partitions;
        self.clock_faults += o.clock_faults;
        self.dropped_by_partition += o.dropped_by_partition;
        self.torn_writes += o.torn_writes;
        self.corrupted_reads += o.corrupted_reads;
        self.ok += o.clients.ok;
        self.info += o.clients.info;
        self.events += o.events;
    }

    pub fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }

    /// Assert that each named counter (or fault statistic) fired at least once: the
    /// "sometimes" properties that prove a sweep exercised what it claims to.
    pub fn assert_sometimes(&self, mix: Mix, names: &[&str]) {
        for &name in names {
            let value = match name {
                "crashes" => self.crashes,
                "restarts" => self.restarts,
                "partitions" => self.partitions,
                "clock_faults" => self.clock_faults,
                "dropped_by_partition" => self.dropped_by_partition,
                "torn_writes" => self.torn_writes,
                "corrupted_reads" => self.corrupted_reads,
                // More elections than runs: leadership changed hands.
                "leader_changes" => self.counter("leader_elected").saturating_sub(self.runs),
                counter => self.counter(counter),
            };
            assert!(
                value > 0,
                "{}: {name} never happened in {} runs: {self:?}",
                mix.name(),
                self.runs
            );
        }
    }
}

/// Run `seeds` of `mix` with no bug switch and assert safety and liveness for each.
pub fn sweep_clean(mix: Mix, seeds: std::ops::Range<u64>) -> Totals {
    let mut totals = Totals::default();
    let config = RaftConfig::default();
    for seed in seeds {
        let outcome = run(mix, seed, &config, true);
        assert!(
            outcome.violation.is_none() && outcome.history.is_ok() && outcome.liveness.is_ok(),
            "{}",
            outcome.describe()
        );
        totals.add(&outcome);
    }
    totals
}

/// Sweep seeds from 0 with `config` until a run breaks safety; the seed and the
/// property's name.
pub fn find_violation(
    mix: Mix,
    config: &RaftConfig,
    max_seeds: u64,
    vary: bool,
) -> Option<(u64, String, String)> {
    (0..max_seeds).find_map(|seed| {
        let o = run(mix, seed, config, vary);
        o.failure().map(|name| (seed, name, o.describe()))
    })
}
