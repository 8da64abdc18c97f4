//! Consistent hashing with virtual nodes (Dynamo, §4.2): every node owns `vnodes` points
//! on a ring of `u64` positions; a key's preference list is the distinct nodes met walking
//! clockwise from the key's position. The first `N` are the key's home replicas; the rest,
//! in order, are the fallbacks a sloppy quorum uses (§4.6).

use sim_core::hash::stable_hash;
use sim_core::node::NodeId;

/// The ring of a cluster: its points sorted by position.
#[derive(Clone, Debug)]
pub struct Ring {
    points: Vec<(u64, NodeId)>,
    nodes: usize,
}

impl Ring {
    /// The ring of `nodes` nodes with `vnodes` points each.
    pub fn new(nodes: usize, vnodes: u64) -> Ring {
        let mut points: Vec<(u64, NodeId)> = (0..nodes as u32)
            .flat_map(|n| (0..vnodes).map(move |v| (stable_hash(&("vnode", n, v)), NodeId(n))))
            .collect();
        points.sort_unstable();
        Ring { points, nodes }
    }

    /// Every node, in the order of `key`'s preference list.
    pub fn preference(&self, key: u64) -> Vec<NodeId> {
        self.range_preference(self.range(key))
    }

    /// How many key ranges the ring has: one per point, ending at it.
    pub fn ranges(&self) -> usize {
        self.points.len()
    }

    /// The key range `key` falls in (the point at or after its position): every key of a
    /// range has the same preference list, so its replicas hold the same keys of it.
    pub fn range(&self, key: u64) -> usize {
        let position = stable_hash(&("key", key));
        self.points.partition_point(|&(p, _)| p < position) % self.points.len()
    }

    /// Every node, in the order of the preference list of the keys of range `range`.
    pub fn range_preference(&self, range: usize) -> Vec<NodeId> {
        let mut list = Vec::with_capacity(self.nodes);
        for i in 0..self.points.len() {
            let node = self.points[(range + i) % self.points.len()].1;
            if !list.contains(&node) {
                list.push(node);
                if list.len() == self.nodes {
                    break;
                }
            }
        }
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preference_lists_hold_every_node_once_and_spread_the_homes() {
        let ring = Ring::new(5, 8);
        let mut first = [0u32; 5];
        for key in 0..200 {
            let list = ring.preference(key);
            let mut sorted = list.clone();
            sorted.sort();
            assert_eq!(sorted, (0..5).map(NodeId).collect::<Vec<_>>());
            first[list[0].0 as usize] += 1;
        }
        // Every node is the first home of some keys.
        assert!(first.iter().all(|&c| c > 10), "{first:?}");
        assert_eq!(ring.preference(7), Ring::new(5, 8).preference(7));
    }
}
