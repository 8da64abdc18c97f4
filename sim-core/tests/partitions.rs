//! Partitions cut by node labels drop exactly the messages that cross them, as the dense
//! tables of cut links did: the reference here expands each partition into its set of
//! cut directed links, O(n²), the way the network used to store them.

use proptest::prelude::*;
use sim_core::faults::Partition;
use sim_core::network::{LinkOptions, Network, Topology};
use sim_core::node::NodeId;
use sim_core::rng::{SimRng, Stream};
use std::collections::BTreeSet;

type Links = BTreeSet<(NodeId, NodeId)>;

/// Both directions of every link between a node of `a` and a node of `b`.
fn between(a: &[NodeId], b: &[NodeId]) -> Links {
    let mut links = Links::new();
    for &x in a {
        for &y in b {
            if x != y {
                links.insert((x, y));
                links.insert((y, x));
            }
        }
    }
    links
}

/// The directed links a resolved partition cuts in an `n`-node cluster, by definition.
fn reference(partition: &Partition, n: u32) -> Links {
    let all: Vec<NodeId> = (0..n).map(NodeId).collect();
    match partition {
        Partition::Isolate(Some(victim)) => {
            let others: Vec<NodeId> = all.iter().copied().filter(|x| x != victim).collect();
            between(&[*victim], &others)
        }
        Partition::MuteOne(Some(victim)) => {
            all.iter().filter(|&x| x != victim).map(|&x| (*victim, x)).collect()
        }
        Partition::Groups(groups) => {
            let group_of = |x: NodeId| groups.iter().position(|g| g.contains(&x));
            let mut links = Links::new();
            for &x in &all {
                for &y in &all {
                    if x != y && group_of(x) != group_of(y) {
                        links.insert((x, y));
                    }
                }
            }
            links
        }
        Partition::Bridge(Some((a, b))) => between(a, b),
        Partition::OneWay { from, to } => from
            .iter()
            .flat_map(|&x| to.iter().filter(move |&&y| y != x).map(move |&y| (x, y)))
            .collect(),
        Partition::Ring(Some(order)) => {
            let reach = n as usize / 2;
            let mut links = Links::new();
            for (i, &x) in order.iter().enumerate() {
                for (j, &y) in order.iter().enumerate() {
                    let d = i.abs_diff(j);
                    if i != j && d.min(n as usize - d) > reach / 2 + reach % 2 {
                        links.insert((x, y));
                    }
                }
            }
            links
        }
        unresolved => panic!("unresolved {unresolved:?}"),
    }
}

/// Some nodes of an `n`-node cluster, drawn from `bits`.
fn subset(n: u32, bits: u64) -> Vec<NodeId> {
    (0..n).filter(|i| bits >> (i % 64) & 1 == 1).map(NodeId).collect()
}

/// A partition of any kind, resolved for a cluster of `n` nodes.
fn partition(n: u32, kind: usize, seed: u64, bits: [u64; 2]) -> Partition {
    let mut rng = SimRng::derive(seed, Stream::Faults, 0);
    let leaders = subset(n, bits[0] & bits[1]);
    let kinds = Partition::DRAWABLE.len();
    let unresolved = match kind % (kinds + 2) {
        k if k < kinds => Partition::DRAWABLE[k].clone(),
        k if k == kinds => {
            let (a, b) = (subset(n, bits[0]), subset(n, bits[1]));
            let b = b.into_iter().filter(|x| !a.contains(x)).collect();
            Partition::Groups(vec![a, b])
        }
        _ => Partition::OneWay { from: subset(n, bits[0]), to: subset(n, bits[1]) },
    };
    unresolved.resolve(n, &leaders, &mut rng)
}

fn network(n: u32) -> Network {
    let topology = Topology::full_mesh(n, LinkOptions::default());
    Network::new(&topology, SimRng::derive(0, Stream::Network, 0))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// One partition, or two in force at once, cut exactly the links the dense
    /// expansion lists, and the network counts as partitioned exactly when one is cut.
    #[test]
    fn labels_cut_exactly_the_dense_links(
        n in 1u32..40,
        kinds in (0usize..64, 0usize..64),
        seeds in (any::<u64>(), any::<u64>()),
        bits in any::<[u64; 4]>(),
        stacked in any::<bool>(),
    ) {
        let first = partition(n, kinds.0, seeds.0, [bits[0], bits[1]]);
        let mut cut = reference(&first, n);
        let mut net = network(n);
        net.cut(&first);
        if stacked {
            let second = partition(n, kinds.1, seeds.1, [bits[2], bits[3]]);
            cut.extend(reference(&second, n));
            net.cut(&second);
        }
        for x in (0..n).map(NodeId) {
            for y in (0..n).map(NodeId) {
                prop_assert_eq!(net.is_blocked(x, y), cut.contains(&(x, y)), "{}->{}", x, y);
            }
        }
        prop_assert_eq!(net.is_partitioned(), !cut.is_empty());
        net.heal();
        prop_assert!(!net.is_partitioned());
        prop_assert!((0..n).all(|x| (0..n).all(|y| !net.is_blocked(NodeId(x), NodeId(y)))));
    }
}

/// A partition of a million nodes costs a label per node, not a link per pair.
#[test]
fn a_million_node_partition_is_a_label_per_node() {
    let n = 1_000_000;
    let mut net = network(n);
    let mut rng = SimRng::derive(1, Stream::Faults, 0);
    net.cut(&Partition::Halves.resolve(n, &[], &mut rng));
    // Node 0 is on one side of two equal halves: it reaches the other half of the nodes.
    let crossing = (1..n).filter(|&i| net.is_blocked(NodeId(0), NodeId(i))).count();
    assert_eq!(crossing, n as usize / 2);
}
