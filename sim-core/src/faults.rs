//! Faults: the actions a scenario schedules at fixed times, the random nemesis that draws
//! them by rate, and the counters of what was injected. Every fault is off by default.

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
    /// Two halves that can talk only through one bridge node (Jepsen's bridge).
    Bridge,
    /// Nodes on a random ring each reach only their nearest neighbours, so every node sees
    /// a majority but no two see the same one (Jepsen's majorities ring).
    Ring,
    /// Explicit groups: nodes in different groups cannot talk. Unlisted nodes form their
    /// own group.
    Groups(Vec<Vec<NodeId>>),
    /// Cut only the direction `from -> to`, for every pair.
    OneWay { from: Vec<NodeId>, to: Vec<NodeId> },
    /// Exactly these directed links `(from, to)`.
    Links(Vec<(NodeId, NodeId)>),
    /// Isolate a node that believes it leads ([`crate::node::Node::is_leader`]); a random
    /// node when none does.
    IsolateLeader,
    /// A leader and as many random others as make a minority, cut from the majority both
    /// ways: the leader keeps leading a side that cannot commit.
    LeaderMinority,
}

/// Both directions of every link between a node of `a` and a node of `b`.
fn between(a: &[NodeId], b: &[NodeId]) -> Vec<(NodeId, NodeId)> {
    let mut links = Vec::new();
    for &x in a {
        for &y in b {
            if x != y {
                links.push((x, y));
                links.push((y, x));
            }
        }
    }
    links
}

impl Partition {
    /// This partition with its random choices made: the victim of `Isolate` and
    /// `MuteOne`, the sides of `Halves`, the cut links of `Bridge` and `Ring`, the leader of
    /// the leader-targeted kinds (one of `leaders`, the nodes that believe they lead now).
    /// Traces show the resolved form, so a reader sees exactly which nodes were cut off.
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
            Partition::Bridge => {
                let mut order = shuffled(rng);
                let bridge = order.pop();
                let (a, b) = order.split_at(order.len() / 2);
                let mut links = between(a, b);
                links.retain(|(x, y)| Some(*x) != bridge && Some(*y) != bridge);
                Partition::Links(links)
            }
            Partition::Ring => {
                let order = shuffled(rng);
                let reach = n as usize / 2;
                let mut links = Vec::new();
                for (i, &x) in order.iter().enumerate() {
                    for (j, &y) in order.iter().enumerate() {
                        let d = i.abs_diff(j);
                        if i != j && d.min(n as usize - d) > reach / 2 + reach % 2 {
                            links.push((x, y));
                        }
                    }
                }
                Partition::Links(links)
            }
            resolved => resolved.clone(),
        }
    }

    /// The directed links to cut in a cluster of `n` nodes whose leaders are `leaders`,
    /// drawing random choices from `rng`. Each entry is `(from, to)`.
    pub fn links(&self, n: u32, leaders: &[NodeId], rng: &mut SimRng) -> Vec<(NodeId, NodeId)> {
        let all: Vec<NodeId> = (0..n).map(NodeId).collect();
        match self.resolve(n, leaders, rng) {
            Partition::Isolate(Some(victim)) => {
                let others: Vec<NodeId> = all.iter().copied().filter(|&x| x != victim).collect();
                between(&[victim], &others)
            }
            Partition::MuteOne(Some(victim)) => {
                all.iter().filter(|&&x| x != victim).map(|&x| (victim, x)).collect()
            }
            Partition::Groups(groups) => {
                let mut group_of = vec![usize::MAX; n as usize];
                for (g, members) in groups.iter().enumerate() {
                    for m in members {
                        group_of[m.0 as usize] = g;
                    }
                }
                let mut links = Vec::new();
                for &x in &all {
                    for &y in &all {
                        if x != y && group_of[x.0 as usize] != group_of[y.0 as usize] {
                            links.push((x, y));
                        }
                    }
                }
                links
            }
            Partition::OneWay { from, to } => from
                .iter()
                .flat_map(|&x| to.iter().filter(move |&&y| y != x).map(move |&y| (x, y)))
                .collect(),
            Partition::Links(links) => links,
            unresolved => unreachable!("resolve left {unresolved:?} unresolved"),
        }
    }

    /// The kinds the nemesis can draw, their random choices not yet made: the kinds a
    /// scenario names in `nemesis.partition_kinds` (and, with their parameters, in
    /// `[[faults]]`).
    pub const DRAWABLE: [Partition; 7] = [
        Partition::Isolate(None),
        Partition::MuteOne(None),
        Partition::Halves,
        Partition::Bridge,
        Partition::Ring,
        Partition::IsolateLeader,
        Partition::LeaderMinority,
    ];

    /// The kinds a scenario's `[[faults]]` may name: the drawable ones, then those whose
    /// nodes the scenario lists, here with empty lists.
    pub const SCHEDULABLE: [Partition; 9] = [
        Partition::Isolate(None),
        Partition::MuteOne(None),
        Partition::Halves,
        Partition::Bridge,
        Partition::Ring,
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
            Partition::Bridge => "bridge",
            Partition::Ring => "ring",
            Partition::Groups(_) => "groups",
            Partition::OneWay { .. } => "one-way",
            Partition::Links(_) => "links",
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
}

impl FaultAction {
    pub fn kind(&self) -> FaultKind {
        match self {
            FaultAction::Crash(_) => FaultKind::Crash,
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
                Partition::Bridge,
                Partition::Ring,
                Partition::MuteOne(None),
            ],
            partition_duration: DurationRange::new(ms(200), ms(2000)),
            clock_jump_rate: 0.0,
            clock_jump_max: ms(500),
            isolate_new_leader: 0.0,
            isolate_new_leader_after: DurationRange::new(ms(0), ms(30)),
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

    fn cut(partition: Partition, n: u32) -> Vec<(NodeId, NodeId)> {
        let mut rng = SimRng::derive(9, Stream::Faults, 0);
        let mut links = partition.links(n, &[], &mut rng);
        links.sort();
        links
    }

    fn reachable(links: &[(NodeId, NodeId)], n: u32, from: u32) -> usize {
        (0..n).filter(|&to| to != from && !links.contains(&(NodeId(from), NodeId(to)))).count()
    }

    #[test]
    fn isolate_cuts_one_node_both_ways() {
        let links = cut(Partition::Isolate(Some(NodeId(2))), 5);
        assert_eq!(links.len(), 8);
        assert_eq!(reachable(&links, 5, 2), 0);
        assert_eq!(reachable(&links, 5, 0), 3);
    }

    #[test]
    fn halves_leave_a_majority_connected() {
        let links = cut(Partition::Halves, 5);
        let sizes: Vec<usize> = (0..5).map(|x| reachable(&links, 5, x) + 1).collect();
        assert_eq!(sizes.iter().filter(|&&s| s == 3).count(), 3);
        assert_eq!(sizes.iter().filter(|&&s| s == 2).count(), 2);
    }

    #[test]
    fn every_node_of_a_ring_sees_a_bare_majority() {
        let links = cut(Partition::Ring, 5);
        for x in 0..5 {
            assert_eq!(reachable(&links, 5, x) + 1, 3, "node {x}");
        }
    }

    #[test]
    fn a_bridge_node_reaches_everyone() {
        let links = cut(Partition::Bridge, 5);
        let full: Vec<u32> = (0..5).filter(|&x| reachable(&links, 5, x) == 4).collect();
        assert_eq!(full.len(), 1);
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

    #[test]
    fn one_way_cuts_only_one_direction() {
        let links = cut(Partition::OneWay { from: vec![NodeId(0)], to: vec![NodeId(1)] }, 3);
        assert_eq!(links, vec![(NodeId(0), NodeId(1))]);
        let muted = cut(Partition::MuteOne(Some(NodeId(1))), 3);
        assert_eq!(muted, vec![(NodeId(1), NodeId(0)), (NodeId(1), NodeId(2))]);
    }
}
