//! The simulated network: a topology of directed links, each with a latency distribution,
//! a loss and a duplication probability, and the partitions, holds and per-link counters
//! that faults act on. Messages on one link may overtake each other whenever the latency
//! distribution lets a later message draw a shorter delay.

use crate::latency::Latency;
use crate::node::NodeId;
use crate::rng::SimRng;
use crate::time::SimDuration;
use petgraph::graph::{DiGraph, NodeIndex};

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

/// The shape of the network: a default link between every pair of nodes, and directed
/// overrides (a slow WAN link, a lossy NIC) kept in a graph.
#[derive(Clone, Debug)]
pub struct Topology {
    node_count: u32,
    default: LinkOptions,
    /// One graph node per cluster node (same index); an edge overrides the default link.
    overrides: DiGraph<(), LinkOptions>,
}

impl Topology {
    /// A full mesh of `node_count` nodes, every link behaving as `default`.
    pub fn full_mesh(node_count: u32, default: LinkOptions) -> Self {
        let mut overrides = DiGraph::with_capacity(node_count as usize, 0);
        for _ in 0..node_count {
            overrides.add_node(());
        }
        Topology { node_count, default, overrides }
    }

    /// Override the directed link `from -> to`.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, options: LinkOptions) {
        assert!(from.0 < self.node_count && to.0 < self.node_count, "link {from}->{to}");
        self.overrides.update_edge(
            NodeIndex::new(from.0 as usize),
            NodeIndex::new(to.0 as usize),
            options,
        );
    }

    /// Override both directions between `a` and `b`.
    pub fn set_link_both_ways(&mut self, a: NodeId, b: NodeId, options: LinkOptions) {
        self.set_link(a, b, options.clone());
        self.set_link(b, a, options);
    }

    /// Nodes are placed in regions (`regions[node]`); links between different regions
    /// take `wan` instead of the default.
    pub fn with_regions(mut self, regions: &[u32], wan: &LinkOptions) -> Self {
        assert_eq!(regions.len(), self.node_count as usize, "one region per node");
        for a in 0..self.node_count {
            for b in 0..self.node_count {
                if regions[a as usize] != regions[b as usize] {
                    self.set_link(NodeId(a), NodeId(b), wan.clone());
                }
            }
        }
        self
    }

    pub fn node_count(&self) -> u32 {
        self.node_count
    }

    /// How the link `from -> to` behaves.
    pub fn link(&self, from: NodeId, to: NodeId) -> &LinkOptions {
        let (a, b) = (NodeIndex::new(from.0 as usize), NodeIndex::new(to.0 as usize));
        self.overrides.find_edge(a, b).map_or(&self.default, |e| &self.overrides[e])
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

/// Counters for one directed link.
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
}

/// What the network decided for a message at send time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transit {
    Dropped(DropReason),
    Deliver { delay: SimDuration, duplicate_delay: Option<SimDuration> },
}

/// The network's state during a run. Links are kept in dense `from * n + to` tables:
/// a message costs two array lookups, never a map lookup.
#[derive(Clone, Debug)]
pub struct Network {
    node_count: usize,
    links: Vec<LinkOptions>,
    blocked: Vec<bool>,
    held: Vec<bool>,
    stats: Vec<LinkStats>,
    rng: SimRng,
}

impl Network {
    pub fn new(topology: &Topology, rng: SimRng) -> Self {
        let n = topology.node_count as usize;
        let mut links = Vec::with_capacity(n * n);
        for from in 0..n as u32 {
            for to in 0..n as u32 {
                links.push(topology.link(NodeId(from), NodeId(to)).clone());
            }
        }
        Network {
            node_count: n,
            links,
            blocked: vec![false; n * n],
            held: vec![false; n * n],
            stats: vec![LinkStats::default(); n * n],
            rng,
        }
    }

    #[inline]
    fn index(&self, from: NodeId, to: NodeId) -> usize {
        from.0 as usize * self.node_count + to.0 as usize
    }

    pub fn node_count(&self) -> usize {
        self.node_count
    }

    /// Decide the fate of a message sent now on `from -> to`, and count it.
    #[inline]
    pub fn transmit(&mut self, from: NodeId, to: NodeId) -> Transit {
        let i = self.index(from, to);
        self.stats[i].sent += 1;
        if self.blocked[i] {
            self.stats[i].dropped_partition += 1;
            return Transit::Dropped(DropReason::Partition);
        }
        let link = &self.links[i];
        if self.rng.chance(link.loss) {
            self.stats[i].dropped_loss += 1;
            return Transit::Dropped(DropReason::Loss);
        }
        let delay = link.latency.sample(&mut self.rng);
        let duplicate_delay = if self.rng.chance(link.duplicate) {
            self.stats[i].duplicated += 1;
            Some(link.latency.sample(&mut self.rng))
        } else {
            None
        };
        Transit::Deliver { delay, duplicate_delay }
    }

    /// Whether `from -> to` is cut now.
    #[inline]
    pub fn is_blocked(&self, from: NodeId, to: NodeId) -> bool {
        self.blocked[self.index(from, to)]
    }

    /// Whether messages arriving on `from -> to` are being held back.
    #[inline]
    pub fn is_held(&self, from: NodeId, to: NodeId) -> bool {
        self.held[self.index(from, to)]
    }

    pub(crate) fn count_delivered(&mut self, from: NodeId, to: NodeId) {
        let i = self.index(from, to);
        self.stats[i].delivered += 1;
    }

    pub(crate) fn count_dropped(&mut self, from: NodeId, to: NodeId, reason: DropReason) {
        let i = self.index(from, to);
        match reason {
            DropReason::Loss => self.stats[i].dropped_loss += 1,
            DropReason::Partition => self.stats[i].dropped_partition += 1,
            DropReason::NodeDown => self.stats[i].dropped_node_down += 1,
        }
    }

    pub(crate) fn count_held(&mut self, from: NodeId, to: NodeId) {
        let i = self.index(from, to);
        self.stats[i].held += 1;
    }

    /// Cut the directed link `from -> to`.
    pub fn block(&mut self, from: NodeId, to: NodeId) {
        let i = self.index(from, to);
        self.blocked[i] = true;
    }

    /// Cut both directions between `a` and `b`.
    pub fn block_both_ways(&mut self, a: NodeId, b: NodeId) {
        self.block(a, b);
        self.block(b, a);
    }

    /// Start or stop holding back the messages arriving on `from -> to`.
    pub fn set_held(&mut self, from: NodeId, to: NodeId, held: bool) {
        let i = self.index(from, to);
        self.held[i] = held;
    }

    /// Remove every partition (holds are released separately, by the engine).
    pub fn heal(&mut self) {
        self.blocked.fill(false);
    }

    /// Whether any link is cut.
    pub fn is_partitioned(&self) -> bool {
        self.blocked.iter().any(|&b| b)
    }

    /// Counters of the link `from -> to`.
    pub fn link_stats(&self, from: NodeId, to: NodeId) -> LinkStats {
        self.stats[self.index(from, to)]
    }

    /// Counters summed over every link.
    pub fn total_stats(&self) -> LinkStats {
        let mut total = LinkStats::default();
        for s in &self.stats {
            total.add(s);
        }
        total
    }
}
