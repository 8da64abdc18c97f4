//! The dependency graph and its cycles: strongly connected components (petgraph's Tarjan),
//! then in each the shortest cycle of the most telling class, by breadth-first search over
//! the edges that class allows.

use super::{Edges, NO_WHY, Why};
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{EdgeFiltered, EdgeRef};

const WW: u8 = 1;
const RW: u8 = 4;
const REALTIME: u8 = 8;
const PROCESS: u8 = 16;

/// Start nodes tried per component when looking for the shortest cycle through one.
const STARTS: usize = 16;
/// Read-write edges tried per component when looking for a G-single cycle.
const RW_EDGES: usize = 1024;

/// A cycle's class, by the dependencies it needs (Adya's phenomena, as Elle names them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CycleClass {
    /// Write-write edges only: a write cycle.
    G0,
    /// Write-write and write-read edges: circular information flow.
    G1c,
    /// Exactly one read-write edge: read skew.
    GSingle,
    /// More than one read-write edge: write skew and its kin.
    G2,
}

impl CycleClass {
    /// The class's name, with `-realtime` or `-process` when the cycle needs those edges.
    pub fn name(self, used: u8) -> String {
        let base = match self {
            CycleClass::G0 => "G0",
            CycleClass::G1c => "G1c",
            CycleClass::GSingle => "G-single",
            CycleClass::G2 => "G2",
        };
        if used & REALTIME != 0 {
            format!("{base}-realtime")
        } else if used & PROCESS != 0 {
            format!("{base}-process")
        } else {
            base.to_owned()
        }
    }

    /// The isolation levels a cycle of this class rules out.
    pub fn rules_out(self, used: u8) -> &'static str {
        if used & REALTIME != 0 {
            return "strict serializability (the order of the transactions contradicts real time)";
        }
        if used & PROCESS != 0 {
            return "strong session serializability (the order contradicts a process's own order)";
        }
        match self {
            CycleClass::G0 => "read uncommitted (PL-1) and every stronger level",
            CycleClass::G1c => "read committed (PL-2) and every stronger level",
            CycleClass::GSingle => {
                "snapshot isolation and consistent view (PL-2+), and every stronger level"
            }
            CycleClass::G2 => "repeatable read (PL-2.99) and serializability (PL-3)",
        }
    }
}

/// A cycle: transactions in order, and the dependency used from each to the next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cycle {
    pub class: CycleClass,
    pub txns: Vec<usize>,
    /// `masks[i]`: the dependency (one bit) from `txns[i]` to `txns[i + 1]` (or the first).
    pub masks: Vec<u8>,
}

/// The dependency graph: one edge per ordered pair of transactions, weighted by the mask of
/// its dependencies (petgraph), and every dependency found with why it is there.
pub struct Graph {
    graph: DiGraph<(), u8, u32>,
    /// Every dependency by source: those from node `n` are `entries[rows[n]..rows[n + 1]]`,
    /// sorted by target and kind.
    rows: Vec<u32>,
    entries: Vec<(u32, u8, u32)>,
    whys: Vec<Why>,
}

/// Breadth-first search state, reused across searches: a node is visited in the current
/// search when its stamp is the search's.
struct Search {
    stamp: Vec<u32>,
    parent: Vec<(u32, u8)>,
    current: u32,
    queue: std::collections::VecDeque<u32>,
}

impl Search {
    fn new(nodes: usize) -> Self {
        Search {
            stamp: vec![0; nodes],
            parent: vec![(u32::MAX, 0); nodes],
            current: 0,
            queue: Default::default(),
        }
    }

    /// The shortest path from `from` to `to` over edges with a bit of `mask`, inside the
    /// nodes `inside` accepts: the nodes from `from` on (not `to`), and each edge's bit.
    fn path(
        &mut self,
        graph: &DiGraph<(), u8, u32>,
        from: u32,
        to: u32,
        mask: u8,
        inside: &impl Fn(u32) -> bool,
    ) -> Option<(Vec<usize>, Vec<u8>)> {
        self.current += 1;
        self.queue.clear();
        self.queue.push_back(from);
        self.stamp[from as usize] = self.current;
        while let Some(node) = self.queue.pop_front() {
            for edge in graph.edges(NodeIndex::new(node as usize)) {
                let bits = *edge.weight() & mask;
                if bits == 0 {
                    continue;
                }
                let next = edge.target().index() as u32;
                let bit = bits & bits.wrapping_neg();
                if next == to {
                    let mut txns = vec![node as usize];
                    let mut masks = vec![bit];
                    let mut at = node;
                    while at != from {
                        let (previous, b) = self.parent[at as usize];
                        txns.push(previous as usize);
                        masks.push(b);
                        at = previous;
                    }
                    txns.reverse();
                    masks.reverse();
                    return Some((txns, masks));
                }
                if self.stamp[next as usize] != self.current && inside(next) {
                    self.stamp[next as usize] = self.current;
                    self.parent[next as usize] = (node, bit);
                    self.queue.push_back(next);
                }
            }
        }
        None
    }
}

impl Graph {
    /// The graph over `nodes` transactions of `edges`. The edges are bucketed by source
    /// (a counting sort, linear in their number), and each node's few sorted.
    pub fn new(nodes: usize, edges: Edges) -> Self {
        let mut rows = vec![0u32; nodes + 1];
        for e in &edges.list {
            rows[e.from as usize + 1] += 1;
        }
        for n in 0..nodes {
            rows[n + 1] += rows[n];
        }
        let mut next: Vec<u32> = rows[..nodes].to_vec();
        let mut entries = vec![(0u32, 0u8, 0u32); edges.list.len()];
        for e in &edges.list {
            let at = &mut next[e.from as usize];
            entries[*at as usize] = (e.to, e.kind, e.why);
            *at += 1;
        }
        let mut graph = DiGraph::with_capacity(nodes, edges.list.len());
        for _ in 0..nodes {
            graph.add_node(());
        }
        for from in 0..nodes {
            let row = &mut entries[rows[from] as usize..rows[from + 1] as usize];
            // By why too: the first why of a kind is the earliest found (an order read
            // before one inferred from real time).
            row.sort_unstable();
            for pair in row.chunk_by(|a, b| a.0 == b.0) {
                let mask = pair.iter().fold(0, |m, e| m | e.1);
                graph.add_edge(NodeIndex::new(from), NodeIndex::new(pair[0].0 as usize), mask);
            }
        }
        Graph { graph, rows, entries, whys: edges.whys }
    }

    /// Why there is a dependency of `kind` from `from` to `to` (the first one found).
    pub fn why(&self, from: usize, to: usize, kind: u8) -> Option<Why> {
        let row = &self.entries[self.rows[from] as usize..self.rows[from + 1] as usize];
        let at = row.partition_point(|&(t, k, _)| (t, k) < (to as u32, kind));
        match row.get(at) {
            Some(&(t, k, why)) if (t, k) == (to as u32, kind) && why != NO_WHY => {
                self.whys.get(why as usize).copied()
            }
            _ => None,
        }
    }

    pub fn edge_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// The strongly connected components of the edges with a bit of `mask`, as a component
    /// number per node (`u32::MAX` for a node alone in its component), and the
    /// components of more than one node.
    fn components(&self, mask: u8) -> (Vec<u32>, Vec<Vec<u32>>) {
        let filtered = EdgeFiltered::from_fn(&self.graph, |e| *e.weight() & mask != 0);
        let mut component = vec![u32::MAX; self.graph.node_count()];
        let mut big = Vec::new();
        for scc in tarjan_scc(&filtered) {
            if scc.len() < 2 {
                continue;
            }
            let members: Vec<u32> = scc.iter().map(|n| n.index() as u32).collect();
            for &m in &members {
                component[m as usize] = big.len() as u32;
            }
            big.push(members);
        }
        (component, big)
    }

    /// Whether the edges with a bit of `mask` form no cycle.
    pub fn is_acyclic(&self, mask: u8) -> bool {
        self.components(mask).1.is_empty()
    }

    /// One cycle per strongly connected component of the edges of `allowed`: of the most
    /// telling class the component has (G0, then G1c, G-single, G2), the shortest found.
    pub fn cycles(&self, allowed: u8) -> Vec<Cycle> {
        let (component, components) = self.components(allowed);
        if components.is_empty() {
            return Vec::new();
        }
        let no_reads = allowed & (WW | REALTIME | PROCESS);
        let no_rw = allowed & !RW;
        let (g0_component, g0) = self.components(no_reads);
        let (g1_component, g1) = self.components(no_rw);
        let mut search = Search::new(self.graph.node_count());
        let mut found = Vec::new();
        for (c, members) in components.iter().enumerate() {
            let c = c as u32;
            let inner =
                |sub_component: &[u32], subs: &[Vec<u32>], mask: u8, class, search: &mut Search| {
                    let sub = members
                        .iter()
                        .map(|&m| sub_component[m as usize])
                        .find(|&s| s != u32::MAX)?;
                    let nodes = &subs[sub as usize];
                    let inside = |n: u32| sub_component[n as usize] == sub;
                    self.shortest_cycle(search, nodes, mask, &inside, class)
                };
            let cycle = inner(&g0_component, &g0, no_reads, CycleClass::G0, &mut search)
                .or_else(|| inner(&g1_component, &g1, no_rw, CycleClass::G1c, &mut search))
                .or_else(|| self.g_single(&mut search, members, &component, c, no_rw))
                .or_else(|| {
                    let inside = |n: u32| component[n as usize] == c;
                    self.shortest_cycle(&mut search, members, allowed, &inside, CycleClass::G2)
                });
            found.extend(cycle);
        }
        found
    }

    /// The shortest cycle through one of the first [`STARTS`] of `nodes`, over edges of
    /// `mask` and nodes `inside` accepts.
    fn shortest_cycle(
        &self,
        search: &mut Search,
        nodes: &[u32],
        mask: u8,
        inside: &impl Fn(u32) -> bool,
        class: CycleClass,
    ) -> Option<Cycle> {
        nodes
            .iter()
            .take(STARTS)
            .filter_map(|&start| search.path(&self.graph, start, start, mask, inside))
            .min_by_key(|(txns, _)| txns.len())
            .map(|(txns, masks)| Cycle { class, txns, masks })
    }

    /// The shortest cycle of exactly one read-write edge in component `c`: an rw edge
    /// `a -> b` and a path from `b` back to `a` without rw edges.
    fn g_single(
        &self,
        search: &mut Search,
        members: &[u32],
        component: &[u32],
        c: u32,
        no_rw: u8,
    ) -> Option<Cycle> {
        let inside = |n: u32| component[n as usize] == c;
        let mut best: Option<Cycle> = None;
        let rw_edges = members.iter().flat_map(|&a| {
            self.graph
                .edges(NodeIndex::new(a as usize))
                .filter(|e| *e.weight() & RW != 0 && inside(e.target().index() as u32))
                .map(move |e| (a, e.target().index() as u32))
        });
        for (a, b) in rw_edges.take(RW_EDGES) {
            if let Some((mut txns, mut masks)) = search.path(&self.graph, b, a, no_rw, &inside)
                && best.as_ref().is_none_or(|c| txns.len() + 1 < c.txns.len())
            {
                // The path runs b .. a; the cycle is a -rw-> b .. a.
                txns.insert(0, a as usize);
                masks.insert(0, RW);
                best = Some(Cycle { class: CycleClass::GSingle, txns, masks });
            }
        }
        best
    }
}
