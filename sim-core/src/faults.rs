//! Faults: the actions a scenario schedules at fixed times, the random nemesis that draws
//! them by rate, and the counters of what was injected. Every fault is off by default.

use crate::announce::{CrashOn, ProtocolEvent};
use crate::clock::ClockOptions;
use crate::disk::DiskOptions;
use crate::node::NodeId;
use crate::rng::SimRng;
use crate::time::{SimDuration, SimTime};

/// A way to cut the network.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Partition {
    /// Cut one node (a random one for `None`) off from every other, both ways.
    Isolate(Option<NodeId>),
    /// One node (random for `None`) can hear the others but none hear it.
    MuteOne(Option<NodeId>),
    /// A random majority and the minority, cut from each other both ways.
    Halves,
    /// Two halves that can talk only through one bridge node (Jepsen's bridge): the
    /// halves, cut from each other both ways, with the node in neither as the bridge
    /// (random halves for `None`).
    Bridge(Option<(Vec<NodeId>, Vec<NodeId>)>),
    /// Nodes on a ring each reach only their nearest neighbours, so every node sees a
    /// majority but no two see the same one (Jepsen's majorities ring): the nodes in ring
    /// order (a random order for `None`).
    Ring(Option<Vec<NodeId>>),
    /// Explicit groups: nodes in different groups cannot talk. Unlisted nodes form their
    /// own group.
    Groups(Vec<Vec<NodeId>>),
    /// Cut only the direction `from -> to`, for every pair.
    OneWay { from: Vec<NodeId>, to: Vec<NodeId> },
    /// Isolate a node that believes it leads ([`crate::node::Node::is_leader`]); a random
    /// node when none does.
    IsolateLeader,
    /// A leader and as many random others as make a minority, cut from the majority both
    /// ways: the leader keeps leading a side that cannot commit.
    LeaderMinority,
}

impl Partition {
    /// This partition with its random choices made: the victim of `Isolate` and
    /// `MuteOne`, the sides of `Halves` and `Bridge`, the order of `Ring`, the leader of
    /// the leader-targeted kinds (one of `leaders`, the nodes that believe they lead now).
    /// Traces show the resolved form, so a reader sees exactly which nodes were cut off;
    /// it takes O(n), whatever the kind, and the network cuts by it in O(n)
    /// ([`crate::network::Network::cut`]).
    pub fn resolve(&self, n: u32, leaders: &[NodeId], rng: &mut SimRng) -> Partition {
        let all: Vec<NodeId> = (0..n).map(NodeId).collect();
        let shuffled = |rng: &mut SimRng| {
            let mut order = all.clone();
            rng.shuffle(&mut order);
            order
        };
        match self {
            Partition::Isolate(None) => Partition::Isolate(Some(*rng.pick(&all))),
            Partition::IsolateLeader => {
                let leader = *rng.pick(if leaders.is_empty() { &all } else { leaders });
                Partition::Isolate(Some(leader))
            }
            Partition::LeaderMinority => {
                let leader = *rng.pick(if leaders.is_empty() { &all } else { leaders });
                let mut others: Vec<NodeId> =
                    all.iter().copied().filter(|&x| x != leader).collect();
                rng.shuffle(&mut others);
                let minority = (n as usize - 1) / 2;
                let mut side = vec![leader];
                side.extend_from_slice(&others[..minority.saturating_sub(1)]);
                Partition::Groups(vec![side, others[minority.saturating_sub(1)..].to_vec()])
            }
            Partition::MuteOne(None) => Partition::MuteOne(Some(*rng.pick(&all))),
            Partition::Halves => {
                let order = shuffled(rng);
                let (minority, majority) = order.split_at(n as usize / 2);
                Partition::Groups(vec![minority.to_vec(), majority.to_vec()])
            }
            Partition::Bridge(None) => {
                let mut order = shuffled(rng);
                order.pop();
                let b = order.split_off(order.len() / 2);
                Partition::Bridge(Some((order, b)))
            }
            Partition::Ring(None) => Partition::Ring(Some(shuffled(rng))),
            resolved => resolved.clone(),
        }
    }

    /// The kinds the nemesis can draw, their random choices not yet made: the kinds a
    /// scenario names in `nemesis.partition_kinds` (and, with their parameters, in
    /// `[[faults]]`).
    pub const DRAWABLE: [Partition; 7] = [
        Partition::Isolate(None),
        Partition::MuteOne(None),
        Partition::Halves,
        Partition::Bridge(None),
        Partition::Ring(None),
        Partition::IsolateLeader,
        Partition::LeaderMinority,
    ];

    /// The kinds a scenario's `[[faults]]` may name: the drawable ones, then those whose
    /// nodes the scenario lists, here with empty lists.
    pub const SCHEDULABLE: [Partition; 9] = [
        Partition::Isolate(None),
        Partition::MuteOne(None),
        Partition::Halves,
        Partition::Bridge(None),
        Partition::Ring(None),
        Partition::IsolateLeader,
        Partition::LeaderMinority,
        Partition::Groups(Vec::new()),
        Partition::OneWay { from: Vec::new(), to: Vec::new() },
    ];

    /// The drawable kind called `name`, or why there is none (with the closest name).
    pub fn named(name: &str) -> Result<Partition, String> {
        crate::names::lookup("partition kind", name, &Self::DRAWABLE, |p| p.name()).cloned()
    }

    /// The names of the [`Partition::DRAWABLE`] kinds.
    pub fn drawable_names() -> Vec<&'static str> {
        Self::DRAWABLE.iter().map(Partition::name).collect()
    }

    pub fn name(&self) -> &'static str {
        match self {
            Partition::Isolate(_) => "isolate",
            Partition::MuteOne(_) => "mute-one",
            Partition::Halves => "halves",
            Partition::Bridge(_) => "bridge",
            Partition::Ring(_) => "ring",
            Partition::Groups(_) => "groups",
            Partition::OneWay { .. } => "one-way",
            Partition::IsolateLeader => "isolate-leader",
            Partition::LeaderMinority => "leader-minority",
        }
    }
}

/// A fault the engine can inject.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FaultAction {
    /// Drop the node's state; unsynced disk writes are lost.
    Crash(NodeId),
    /// Start a crashed node again from its disk.
    Restart(NodeId),
    /// Freeze the node (a long GC pause): its events wait, its clock runs on.
    Pause {
        node: NodeId,
        duration: SimDuration,
    },
    Partition(Partition),
    /// Remove every partition.
    Heal,
    /// Hold back messages on `from -> to` until released.
    Hold {
        from: NodeId,
        to: NodeId,
    },
    /// Deliver the held messages of `from -> to` and stop holding.
    Release {
        from: NodeId,
        to: NodeId,
    },
    /// Step the node's clock.
    ClockJump {
        node: NodeId,
        delta_nanos: i64,
    },
    /// Change the node's clock drift (parts per million, as an integer ×1000 for hashing).
    ClockDrift {
        node: NodeId,
        drift_ppb: i64,
    },
    /// Change the node's disk fault probabilities (in parts per million, for hashing).
    DiskFaults {
        node: NodeId,
        torn_write_ppm: u32,
        corrupt_read_ppm: u32,
    },
    /// The end of the safety phase: heal partitions, release holds, restart crashed nodes,
    /// resume paused ones and stop the nemesis.
    HealAll,
    /// A crash of the nemesis's `crash_on`: `node` announced `event` (see
    /// [`crate::announce`] for where in its handler the crash lands). Last, so that the
    /// hashes of the other variants stay as they were.
    CrashOn {
        node: NodeId,
        event: ProtocolEvent,
    },
}

impl FaultAction {
    pub fn kind(&self) -> FaultKind {
        match self {
            FaultAction::Crash(_) | FaultAction::CrashOn { .. } => FaultKind::Crash,
            FaultAction::Restart(_) => FaultKind::Restart,
            FaultAction::Pause { .. } => FaultKind::Pause,
            FaultAction::Partition(_) => FaultKind::Partition,
            FaultAction::Heal | FaultAction::HealAll => FaultKind::Heal,
            FaultAction::Hold { .. } => FaultKind::Hold,
            FaultAction::Release { .. } => FaultKind::Release,
            FaultAction::ClockJump { .. } | FaultAction::ClockDrift { .. } => FaultKind::Clock,
            FaultAction::DiskFaults { .. } => FaultKind::Disk,
        }
    }

    /// A clock drift change, from parts per million.
    pub fn clock_drift(node: NodeId, drift_ppm: f64) -> Self {
        FaultAction::ClockDrift { node, drift_ppb: (drift_ppm * 1000.0).round() as i64 }
    }

    /// A disk fault change, from probabilities.
    pub fn disk_faults(node: NodeId, options: DiskOptions) -> Self {
        let ppm = |p: f64| (p.clamp(0.0, 1.0) * 1e6).round() as u32;
        FaultAction::DiskFaults {
            node,
            torn_write_ppm: ppm(options.torn_write_probability),
            corrupt_read_ppm: ppm(options.corrupt_read_probability),
        }
    }
}

/// Kinds of fault, for counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    Crash,
    Restart,
    Pause,
    Partition,
    Heal,
    Hold,
    Release,
    Clock,
    Disk,
}

impl FaultKind {
    pub const ALL: [FaultKind; 9] = [
        FaultKind::Crash,
        FaultKind::Restart,
        FaultKind::Pause,
        FaultKind::Partition,
        FaultKind::Heal,
        FaultKind::Hold,
        FaultKind::Release,
        FaultKind::Clock,
        FaultKind::Disk,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::Restart => "restart",
            FaultKind::Pause => "pause",
            FaultKind::Partition => "partition",
            FaultKind::Heal => "heal",
            FaultKind::Hold => "hold",
            FaultKind::Release => "release",
            FaultKind::Clock => "clock",
            FaultKind::Disk => "disk",
        }
    }
}

/// How many faults of each kind were injected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultStats {
    counts: [u64; FaultKind::ALL.len()],
}

impl FaultStats {
    pub(crate) fn record(&mut self, kind: FaultKind) {
        self.counts[kind as usize] += 1;
    }

    pub fn get(&self, kind: FaultKind) -> u64 {
        self.counts[kind as usize]
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// `(kind, count)` for every kind, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = (FaultKind, u64)> + '_ {
        FaultKind::ALL.iter().map(|&k| (k, self.get(k)))
    }
}

/// A uniform range of durations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DurationRange {
    pub min: SimDuration,
    pub max: SimDuration,
}

impl DurationRange {
    pub fn new(min: SimDuration, max: SimDuration) -> Self {
        DurationRange { min, max }
    }

    pub fn sample(&self, rng: &mut SimRng) -> SimDuration {
        SimDuration(rng.between(self.min.0, self.max.0.max(self.min.0)))
    }
}

/// The random nemesis: each kind of fault arrives as a Poisson process with its rate (per
/// second of simulated time, over the whole cluster), until `until`. Rates default to zero.
#[derive(Clone, Debug, PartialEq)]
pub struct NemesisOptions {
    pub crash_rate: f64,
    /// How long a crashed node stays down before it restarts.
    pub restart_after: DurationRange,
    /// At most this many nodes down at once (crashed or paused); default: a minority.
    pub max_down: Option<u32>,
    pub pause_rate: f64,
    pub pause_duration: DurationRange,
    pub partition_rate: f64,
    /// Kinds to draw from; default: isolate, halves, bridge, ring, mute-one.
    pub partition_kinds: Vec<Partition>,
    pub partition_duration: DurationRange,
    pub clock_jump_rate: f64,
    /// Jumps are uniform in `[-clock_jump_max, +clock_jump_max]`.
    pub clock_jump_max: SimDuration,
    /// Chance that a node which has just become leader ([`crate::node::Node::is_leader`])
    /// is isolated, `isolate_new_leader_after` later, for a `partition_duration`: leaders
    /// that win an election and lose the cluster before they can replicate.
    pub isolate_new_leader: f64,
    pub isolate_new_leader_after: DurationRange,
    /// Crashes of a node at the protocol events it announces ([`crate::announce`]).
    pub crash_on: CrashOn,
    /// The nemesis stops here (the start of the liveness phase).
    pub until: SimTime,
}

impl Default for NemesisOptions {
    fn default() -> Self {
        let ms = SimDuration::from_millis;
        NemesisOptions {
            crash_rate: 0.0,
            restart_after: DurationRange::new(ms(100), ms(1000)),
            max_down: None,
            pause_rate: 0.0,
            pause_duration: DurationRange::new(ms(100), ms(1000)),
            partition_rate: 0.0,
            partition_kinds: vec![
                Partition::Isolate(None),
                Partition::Halves,
                Partition::Bridge(None),
                Partition::Ring(None),
                Partition::MuteOne(None),
            ],
            partition_duration: DurationRange::new(ms(200), ms(2000)),
            clock_jump_rate: 0.0,
            clock_jump_max: ms(500),
            isolate_new_leader: 0.0,
            isolate_new_leader_after: DurationRange::new(ms(0), ms(30)),
            crash_on: CrashOn::default(),
            until: SimTime::MAX,
        }
    }
}

/// The kinds of random fault the nemesis schedules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NemesisKind {
    Crash,
    Pause,
    Partition,
    ClockJump,
}

impl NemesisKind {
    /// Every kind, in the order the nemesis schedules them.
    pub const ALL: [NemesisKind; 4] =
        [NemesisKind::Crash, NemesisKind::Pause, NemesisKind::Partition, NemesisKind::ClockJump];
}

impl NemesisOptions {
    pub(crate) fn rate(&self, kind: NemesisKind) -> f64 {
        match kind {
            NemesisKind::Crash => self.crash_rate,
            NemesisKind::Pause => self.pause_rate,
            NemesisKind::Partition => self.partition_rate,
            NemesisKind::ClockJump => self.clock_jump_rate,
        }
    }

    /// The wait until the next fault of `kind`: exponential with its rate.
    pub(crate) fn next_arrival(&self, kind: NemesisKind, rng: &mut SimRng) -> Option<SimDuration> {
        let rate = self.rate(kind);
        if rate <= 0.0 {
            return None;
        }
        let u = 1.0 - rng.unit();
        let secs = -libm::log(u) / rate;
        Some(SimDuration((secs * 1e9).min(1e18) as u64))
    }
}

/// Per-node initial clock options, with every node perfect by default.
pub fn perfect_clocks(n: u32) -> Vec<ClockOptions> {
    vec![ClockOptions::default(); n as usize]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    #[test]
    fn drawable_kinds_are_found_by_their_names() {
        for kind in Partition::DRAWABLE {
            assert_eq!(Partition::named(kind.name()), Ok(kind));
        }
        assert_eq!(Partition::drawable_names()[4], "ring");
        let err = Partition::named("rings").unwrap_err();
        assert!(err.starts_with("unknown partition kind `rings`; did you mean `ring`?"), "{err}");
        assert!(Partition::named("groups").is_err(), "groups need their members");
        assert_eq!(Partition::SCHEDULABLE[..7], Partition::DRAWABLE);
    }

    #[test]
    fn leader_kinds_target_a_leader() {
        let mut rng = SimRng::derive(9, Stream::Faults, 0);
        let leaders = [NodeId(3)];
        assert_eq!(
            Partition::IsolateLeader.resolve(5, &leaders, &mut rng),
            Partition::Isolate(Some(NodeId(3)))
        );
        let Partition::Groups(groups) = Partition::LeaderMinority.resolve(5, &leaders, &mut rng)
        else {
            panic!("a leader minority is two groups")
        };
        assert_eq!(groups[0].len(), 2);
        assert_eq!(groups[0][0], NodeId(3));
        assert_eq!(groups[1].len(), 3);
        assert!(!groups[1].contains(&NodeId(3)));
        // With no leader the fault still bites: a random node.
        assert!(matches!(
            Partition::IsolateLeader.resolve(5, &[], &mut rng),
            Partition::Isolate(Some(_))
        ));
    }
}
