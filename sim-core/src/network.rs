//! The simulated network: directed links, each with a latency distribution, a loss and a
//! duplication probability, and the partitions, holds and counters that faults act on.
//! Messages on one link may overtake each other whenever the latency distribution lets a
//! later message draw a shorter delay.
//!
//! Everything here costs O(nodes + what was set), never O(nodes²), so a simulation of a
//! million nodes fits in memory: links default by region pair (as FoundationDB and SimGrid
//! model data centres), with sparse per-link overrides; a partition is a label per node,
//! set in O(n) and tested in O(1) per message; holds are kept per held link; counters are
//! kept per node and per region pair, and per link only when asked.

use crate::faults::Partition;
use crate::latency::Latency;
use crate::node::NodeId;
use crate::rng::SimRng;
use crate::time::SimDuration;
use std::collections::{BTreeMap, BTreeSet};

/// How one directed link behaves. No loss and no duplication by default.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkOptions {
    pub latency: Latency,
    /// Probability that a message is lost.
    pub loss: f64,
    /// Probability that a message is delivered twice (with independent delays).
    pub duplicate: f64,
}

impl Default for LinkOptions {
    fn default() -> Self {
        LinkOptions { latency: Latency::constant_millis(1), loss: 0.0, duplicate: 0.0 }
    }
}

/// The shape of the network: nodes placed in regions, a link per pair of regions (the
/// default within a region, the WAN link between two), and directed per-link overrides (a
/// slow link, a lossy NIC), which win over both.
#[derive(Clone, Debug)]
pub struct Topology {
    node_count: u32,
    /// The region of each node; empty while every node is in region 0.
    regions: Vec<u32>,
    region_count: usize,
    /// `region_count²` links, `from_region * region_count + to_region`.
    region_links: Vec<LinkOptions>,
    overrides: BTreeMap<(NodeId, NodeId), LinkOptions>,
}

impl Topology {
    /// A full mesh of `node_count` nodes, every link behaving as `default`.
    pub fn full_mesh(node_count: u32, default: LinkOptions) -> Self {
        Topology {
            node_count,
            regions: Vec::new(),
            region_count: 1,
            region_links: vec![default],
            overrides: BTreeMap::new(),
        }
    }

    /// Override the directed link `from -> to`.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, options: LinkOptions) {
        assert!(from.0 < self.node_count && to.0 < self.node_count, "link {from}->{to}");
        self.overrides.insert((from, to), options);
    }

    /// Override both directions between `a` and `b`.
    pub fn set_link_both_ways(&mut self, a: NodeId, b: NodeId, options: LinkOptions) {
        self.set_link(a, b, options.clone());
        self.set_link(b, a, options);
    }

    /// Nodes are placed in regions (`regions[node]`); links between different regions
    /// take `wan` instead of the default. Overrides set before or after still win.
    pub fn with_regions(mut self, regions: &[u32], wan: &LinkOptions) -> Self {
        assert_eq!(regions.len(), self.node_count as usize, "one region per node");
        let count = regions.iter().max().map_or(1, |&r| r as usize + 1);
        let default = self.region_links[0].clone();
        self.region_links = (0..count * count)
            .map(|i| if i / count == i % count { default.clone() } else { wan.clone() })
            .collect();
        self.region_count = count;
        self.regions = regions.to_vec();
        self
    }

    pub fn node_count(&self) -> u32 {
        self.node_count
    }

    /// How many regions there are (1 without regions).
    pub fn region_count(&self) -> usize {
        self.region_count
    }

    /// The region `node` is in.
    #[inline]
    pub fn region(&self, node: NodeId) -> u32 {
        self.regions.get(node.0 as usize).copied().unwrap_or(0)
    }

    /// The index of the region pair of `from -> to`, `0..region_count²`.
    #[inline]
    fn region_pair(&self, from: NodeId, to: NodeId) -> usize {
        self.region(from) as usize * self.region_count + self.region(to) as usize
    }

    /// How the link `from -> to` behaves.
    #[inline]
    pub fn link(&self, from: NodeId, to: NodeId) -> &LinkOptions {
        if !self.overrides.is_empty()
            && let Some(link) = self.overrides.get(&(from, to))
        {
            return link;
        }
        &self.region_links[self.region_pair(from, to)]
    }
}

/// Why a message was not delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    Loss,
    Partition,
    /// The receiver was crashed when the message arrived.
    NodeDown,
}

/// Counters of messages: over the whole network, a region pair, or one link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub sent: u64,
    pub delivered: u64,
    pub duplicated: u64,
    pub dropped_loss: u64,
    pub dropped_partition: u64,
    pub dropped_node_down: u64,
    pub held: u64,
}

impl LinkStats {
    pub fn dropped(&self) -> u64 {
        self.dropped_loss + self.dropped_partition + self.dropped_node_down
    }

    fn add(&mut self, other: &LinkStats) {
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.duplicated += other.duplicated;
        self.dropped_loss += other.dropped_loss;
        self.dropped_partition += other.dropped_partition;
        self.dropped_node_down += other.dropped_node_down;
        self.held += other.held;
    }

    fn count_dropped(&mut self, reason: DropReason) {
        match reason {
            DropReason::Loss => self.dropped_loss += 1,
            DropReason::Partition => self.dropped_partition += 1,
            DropReason::NodeDown => self.dropped_node_down += 1,
        }
    }
}

/// Counters of one node's messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Messages it sent (a duplicate counts once).
    pub sent: u64,
    /// Messages delivered to it (a duplicate counts twice).
    pub delivered: u64,
}

/// What the network decided for a message at send time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transit {
    Dropped(DropReason),
    Deliver { delay: SimDuration, duplicate_delay: Option<SimDuration> },
}

/// One partition in force, as labels on the nodes: set in O(n), tested in O(1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Nodes with different labels cannot talk (both ways).
    Groups(Vec<u32>),
    /// Each node's sides: a message from a node of side `A` to a node of side `B` is cut,
    /// and, `both_ways`, from `B` to `A`. A node may be on both sides or on neither.
    Sides { side: Vec<u8>, both_ways: bool },
    /// Each node's place on a ring of `position.len()` nodes; a message to a node more
    /// than `reach` places away is cut.
    Ring { position: Vec<u32>, reach: u32 },
}

impl Cut {
    const A: u8 = 1;
    const B: u8 = 2;

    /// How the network cuts `partition` (resolved: [`Partition::resolve`]) in a cluster of
    /// `n` nodes.
    pub fn of(partition: &Partition, n: u32) -> Cut {
        let sides = |a: &[NodeId], b: &[NodeId], both_ways: bool| {
            let mut side = vec![0u8; n as usize];
            for x in a {
                side[x.0 as usize] |= Cut::A;
            }
            for x in b {
                side[x.0 as usize] |= Cut::B;
            }
            Cut::Sides { side, both_ways }
        };
        match partition {
            Partition::Isolate(Some(victim)) => {
                let mut group = vec![0; n as usize];
                group[victim.0 as usize] = 1;
                Cut::Groups(group)
            }
            Partition::MuteOne(Some(victim)) => {
                let mut side = vec![Cut::B; n as usize];
                side[victim.0 as usize] |= Cut::A;
                Cut::Sides { side, both_ways: false }
            }
            Partition::Groups(groups) => {
                // Unlisted nodes form a group of their own.
                let mut group = vec![u32::MAX; n as usize];
                for (g, members) in groups.iter().enumerate() {
                    for m in members {
                        group[m.0 as usize] = g as u32;
                    }
                }
                Cut::Groups(group)
            }
            Partition::Bridge(Some((a, b))) => sides(a, b, true),
            Partition::OneWay { from, to } => sides(from, to, false),
            Partition::Ring(Some(order)) => {
                let mut position = vec![0; n as usize];
                for (i, x) in order.iter().enumerate() {
                    position[x.0 as usize] = i as u32;
                }
                let reach = n / 2;
                Cut::Ring { position, reach: reach / 2 + reach % 2 }
            }
            unresolved => panic!("the network cuts resolved partitions, not {unresolved:?}"),
        }
    }

    /// Whether a message from `from` to `to` is cut. A node always reaches itself.
    #[inline]
    pub fn blocks(&self, from: NodeId, to: NodeId) -> bool {
        let (x, y) = (from.0 as usize, to.0 as usize);
        if x == y {
            return false;
        }
        match self {
            Cut::Groups(group) => group[x] != group[y],
            Cut::Sides { side, both_ways } => {
                (side[x] & Cut::A != 0 && side[y] & Cut::B != 0)
                    || (*both_ways && side[x] & Cut::B != 0 && side[y] & Cut::A != 0)
            }
            Cut::Ring { position, reach } => {
                let n = position.len() as u32;
                let d = position[x].abs_diff(position[y]);
                d.min(n - d) > *reach
            }
        }
    }

    /// Whether it cuts any message at all, in O(n).
    pub fn cuts_anything(&self) -> bool {
        match self {
            Cut::Groups(group) => group.iter().any(|&g| g != group[0]),
            Cut::Sides { side, .. } => {
                let count = |bit: u8| side.iter().filter(|&&s| s & bit != 0).count();
                let (a, b) = (count(Cut::A), count(Cut::B));
                let both = count(Cut::A | Cut::B);
                // A message from A to B (and, both ways, one back) crosses unless each
                // side is the same single node.
                a > 0 && b > 0 && !(a == 1 && b == 1 && both == 1)
            }
            Cut::Ring { position, reach } => position.len() as u32 / 2 > *reach,
        }
    }
}

/// The network's state during a run.
#[derive(Clone, Debug)]
pub struct Network {
    topology: Topology,
    /// The partitions in force; a message is cut if any of them cuts it.
    cuts: Vec<Cut>,
    /// The links whose arriving messages are held back.
    held: BTreeSet<(NodeId, NodeId)>,
    /// Counters per region pair, as [`Topology::region_pair`] indexes them.
    region_stats: Vec<LinkStats>,
    node_stats: Vec<NodeStats>,
    /// Counters per link, kept only when asked for ([`Network::count_links`]).
    link_stats: Option<BTreeMap<(NodeId, NodeId), LinkStats>>,
    rng: SimRng,
}

impl Network {
    pub fn new(topology: &Topology, rng: SimRng) -> Self {
        let regions = topology.region_count;
        Network {
            topology: topology.clone(),
            cuts: Vec::new(),
            held: BTreeSet::new(),
            region_stats: vec![LinkStats::default(); regions * regions],
            node_stats: vec![NodeStats::default(); topology.node_count as usize],
            link_stats: None,
            rng,
        }
    }

    /// Keep counters per link too, in O(links used), for [`Network::link_stats`].
    pub fn count_links(&mut self) {
        self.link_stats.get_or_insert_with(BTreeMap::new);
    }

    pub fn node_count(&self) -> usize {
        self.topology.node_count as usize
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Run `f` on every counter a message on `from -> to` counts in.
    #[inline]
    fn count(&mut self, from: NodeId, to: NodeId, f: impl Fn(&mut LinkStats)) {
        f(&mut self.region_stats[self.topology.region_pair(from, to)]);
        if let Some(links) = self.link_stats.as_mut() {
            f(links.entry((from, to)).or_default());
        }
    }

    /// Decide the fate of a message sent now on `from -> to`, and count it.
    #[inline]
    pub fn transmit(&mut self, from: NodeId, to: NodeId) -> Transit {
        self.node_stats[from.0 as usize].sent += 1;
        if self.is_blocked(from, to) {
            self.count(from, to, |s| {
                s.sent += 1;
                s.dropped_partition += 1;
            });
            return Transit::Dropped(DropReason::Partition);
        }
        let link = self.topology.link(from, to);
        let lost = self.rng.chance(link.loss);
        let (delay, duplicate_delay) = if lost {
            (SimDuration::ZERO, None)
        } else {
            let delay = link.latency.sample(&mut self.rng);
            let again = self.rng.chance(link.duplicate).then(|| link.latency.sample(&mut self.rng));
            (delay, again)
        };
        let duplicated = duplicate_delay.is_some();
        self.count(from, to, |s| {
            s.sent += 1;
            s.dropped_loss += u64::from(lost);
            s.duplicated += u64::from(duplicated);
        });
        if lost {
            return Transit::Dropped(DropReason::Loss);
        }
        Transit::Deliver { delay, duplicate_delay }
    }

    /// Whether `from -> to` is cut now.
    #[inline]
    pub fn is_blocked(&self, from: NodeId, to: NodeId) -> bool {
        !self.cuts.is_empty() && self.cuts.iter().any(|cut| cut.blocks(from, to))
    }

    /// Whether messages arriving on `from -> to` are being held back.
    #[inline]
    pub fn is_held(&self, from: NodeId, to: NodeId) -> bool {
        !self.held.is_empty() && self.held.contains(&(from, to))
    }

    pub(crate) fn count_delivered(&mut self, from: NodeId, to: NodeId) {
        self.node_stats[to.0 as usize].delivered += 1;
        self.count(from, to, |s| s.delivered += 1);
    }

    pub(crate) fn count_dropped(&mut self, from: NodeId, to: NodeId, reason: DropReason) {
        self.count(from, to, |s| s.count_dropped(reason));
    }

    pub(crate) fn count_held(&mut self, from: NodeId, to: NodeId) {
        self.count(from, to, |s| s.held += 1);
    }

    /// Cut the network as `partition` (resolved) says, on top of the cuts in force; a
    /// partition that cuts nothing (say, halves of a one-node cluster) is not kept.
    pub fn cut(&mut self, partition: &Partition) {
        let cut = Cut::of(partition, self.topology.node_count);
        if cut.cuts_anything() {
            self.cuts.push(cut);
        }
    }

    /// Start or stop holding back the messages arriving on `from -> to`.
    pub fn set_held(&mut self, from: NodeId, to: NodeId, held: bool) {
        if held {
            self.held.insert((from, to));
        } else {
            self.held.remove(&(from, to));
        }
    }

    /// Stop holding back every link `release` picks.
    pub(crate) fn release_holds(&mut self, release: impl Fn(NodeId, NodeId) -> bool) {
        self.held.retain(|&(from, to)| !release(from, to));
    }

    /// Remove every partition (holds are released separately, by the engine).
    pub fn heal(&mut self) {
        self.cuts.clear();
    }

    /// Whether any link is cut.
    pub fn is_partitioned(&self) -> bool {
        !self.cuts.is_empty()
    }

    /// Counters of the link `from -> to`, if links are counted ([`Network::count_links`]).
    pub fn link_stats(&self, from: NodeId, to: NodeId) -> Option<LinkStats> {
        let links = self.link_stats.as_ref()?;
        Some(links.get(&(from, to)).copied().unwrap_or_default())
    }

    /// Counters of the messages from region `from` to region `to`.
    pub fn region_stats(&self, from: u32, to: u32) -> LinkStats {
        let count = self.topology.region_count;
        let i = from as usize * count + to as usize;
        self.region_stats.get(i).copied().unwrap_or_default()
    }

    /// Counters of the messages `node` sent and received.
    pub fn node_stats(&self, node: NodeId) -> NodeStats {
        self.node_stats[node.0 as usize]
    }

    /// Counters summed over the whole network.
    pub fn total_stats(&self) -> LinkStats {
        let mut total = LinkStats::default();
        for s in &self.region_stats {
            total.add(s);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    /// The directed links `partition` cuts in an `n`-node cluster, in order.
    fn cut(partition: Partition, n: u32) -> Vec<(NodeId, NodeId)> {
        let mut rng = SimRng::derive(9, Stream::Faults, 0);
        let cut = Cut::of(&partition.resolve(n, &[], &mut rng), n);
        let all = || (0..n).map(NodeId);
        all().flat_map(|x| all().map(move |y| (x, y))).filter(|&(x, y)| cut.blocks(x, y)).collect()
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
        let links = cut(Partition::Ring(None), 5);
        for x in 0..5 {
            assert_eq!(reachable(&links, 5, x) + 1, 3, "node {x}");
        }
    }

    #[test]
    fn a_bridge_node_reaches_everyone() {
        let links = cut(Partition::Bridge(None), 5);
        let full: Vec<u32> = (0..5).filter(|&x| reachable(&links, 5, x) == 4).collect();
        assert_eq!(full.len(), 1);
    }

    #[test]
    fn one_way_cuts_only_one_direction() {
        let links = cut(Partition::OneWay { from: vec![NodeId(0)], to: vec![NodeId(1)] }, 3);
        assert_eq!(links, vec![(NodeId(0), NodeId(1))]);
        let muted = cut(Partition::MuteOne(Some(NodeId(1))), 3);
        assert_eq!(muted, vec![(NodeId(1), NodeId(0)), (NodeId(1), NodeId(2))]);
    }

    #[test]
    fn a_cut_that_cuts_nothing_is_not_kept() {
        let mut network = Network::new(
            &Topology::full_mesh(3, LinkOptions::default()),
            SimRng::derive(1, Stream::Network, 0),
        );
        network.cut(&Partition::Groups(vec![(0..3).map(NodeId).collect()]));
        network.cut(&Partition::OneWay { from: vec![NodeId(1)], to: vec![NodeId(1)] });
        network.cut(&Partition::Ring(Some((0..3).map(NodeId).collect())));
        assert!(!network.is_partitioned());
        network.cut(&Partition::OneWay { from: vec![NodeId(1)], to: vec![NodeId(2)] });
        assert!(network.is_partitioned());
        assert!(
            network.is_blocked(NodeId(1), NodeId(2)) && !network.is_blocked(NodeId(2), NodeId(1))
        );
    }

    #[test]
    fn regions_choose_the_link_and_overrides_win() {
        let lan = LinkOptions::default();
        let wan = LinkOptions { loss: 0.5, ..LinkOptions::default() };
        let slow = LinkOptions { latency: Latency::constant_millis(9), ..LinkOptions::default() };
        let mut topology = Topology::full_mesh(4, lan.clone()).with_regions(&[0, 0, 1, 1], &wan);
        topology.set_link(NodeId(0), NodeId(2), slow.clone());
        assert_eq!(topology.link(NodeId(0), NodeId(1)), &lan);
        assert_eq!(topology.link(NodeId(1), NodeId(2)), &wan);
        assert_eq!(topology.link(NodeId(0), NodeId(2)), &slow);
        assert_eq!(topology.link(NodeId(2), NodeId(0)), &wan);
        assert_eq!(topology.link(NodeId(3), NodeId(2)), &lan);
    }
}
