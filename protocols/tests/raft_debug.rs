mod common;
use common::*;
use protocols::raft::{Raft, RaftConfig, RaftInvariants};
use sim_core::engine::{EventView, Nodes, Observer, Violation};
use sim_core::node::{NodeId, Op};
use sim_core::{Position, SimTime};

#[derive(Default)]
struct Spy {
    inner: RaftInvariants,
    reads_by_stale_leader: u64,
    reads: u64,
    pending: Option<(NodeId, bool)>,
    max_term: u64,
}

impl Observer<Raft> for Spy {
    fn on_event(&mut self, _p: Position, _i: u64, e: &EventView<'_, Raft>) {
        if let EventView::Request { node, request } = e {
            if matches!(request.op, Op::Read { .. }) {
                self.pending = Some((*node, true));
            }
        }
    }
    fn after_node(&mut self, t: SimTime, node: NodeId, nodes: &Nodes<'_, Raft>, a: &[String]) -> Result<(), Violation> {
        for (_, n) in nodes.iter() {
            if let Some(n) = n { self.max_term = self.max_term.max(n.term()); }
        }
        if let Some((at, _)) = self.pending.take() {
            if at == node {
                if let Some(n) = nodes.get(node) {
                    if n.is_leader() {
                        self.reads += 1;
                        if n.term() < self.max_term { self.reads_by_stale_leader += 1; }
                    }
                }
            }
        }
        self.inner.after_node(t, node, nodes, a)
    }
}

#[test]
#[ignore]
fn spy_stale_reads() {
    let mut config = RaftConfig::default();
    config.bugs.stale_local_read = true;
    for seed in 0..5 {
        let s = scenario(Mix::MinorityLeader, seed, &config, false);
        let sim = s.builder.fault_at(HEAL_AT, sim_core::faults::FaultAction::HealAll)
            .build_observed::<Raft, _>(s.config, Spy::default());
        let mut sim = sim;
        // no targeting here: just isolate node 0 with node 1 at 1s
        sim.schedule_fault(SimTime(1_000_000_000), sim_core::faults::FaultAction::Partition(
            sim_core::faults::Partition::Groups(vec![vec![NodeId(0), NodeId(1)]])));
        sim.run_until(SimTime(3_000_000_000));
        let o = sim.observer();
        let leaders: Vec<_> = (0..5).filter_map(|i| sim.node(NodeId(i)).filter(|n| n.is_leader()).map(|n| (i, n.term()))).collect();
        println!("seed {seed}: reads at leaders {} by stale leaders {} leaders now {:?} check {:?}", o.reads, o.reads_by_stale_leader, leaders,
            common::history_check::check(sim.history().unwrap()));
    }
}

#[derive(Default)]
struct VoteSpy {
    inner: RaftInvariants,
    votes: std::collections::BTreeMap<(u32, u64), std::collections::BTreeSet<u32>>,
    double_votes: u64,
    elections: u64,
    candidates: std::collections::BTreeMap<u64, std::collections::BTreeSet<u32>>,
}

impl Observer<Raft> for VoteSpy {
    fn after_node(&mut self, t: SimTime, node: NodeId, nodes: &Nodes<'_, Raft>, a: &[String]) -> Result<(), Violation> {
        if let Some(n) = nodes.get(node) {
            if n.ghost().became_leader { self.elections += 1; }
            if n.role() == protocols::raft::Role::Candidate { self.candidates.entry(n.term()).or_default().insert(node.0); }
            if let Some(v) = n.voted_for() {
                let set = self.votes.entry((node.0, n.term())).or_default();
                set.insert(v.0);
                if set.len() == 2 { self.double_votes += 1; }
            }
        }
        self.inner.after_node(t, node, nodes, a)
    }
}

#[test]
#[ignore]
fn spy_votes() {
    use sim_core::faults::{DurationRange, NemesisOptions};
    use sim_core::latency::Latency;
    use sim_core::network::LinkOptions;
    use sim_core::SimDuration;
    let ms = SimDuration::from_millis;
    let mut config = RaftConfig::default();
    config.bugs.vote_without_persist = true;
    for seed in 0..10 {
        let s = scenario(Mix::Steady, seed, &config, false);
        let b = s.builder
            .nemesis(NemesisOptions { crash_rate: 5.0, restart_after: DurationRange::new(ms(5), ms(50)),
                partition_rate: 2.0, partition_kinds: vec![sim_core::faults::Partition::Bridge],
                partition_duration: DurationRange::new(ms(500), ms(2000)), until: HEAL_AT, ..Default::default() });
        let mut sim = b.build_observed::<Raft, _>(s.config, VoteSpy::default());
        sim.run_until(HEAL_AT);
        let o = sim.observer();
        let multi = o.candidates.values().filter(|c| c.len() > 1).count();
        println!("seed {seed}: elections {} double votes {} terms-with-2-candidates {multi}/{} terms {} crashes {} violation {:?}", o.elections, o.double_votes, o.candidates.len(),
            o.inner.terms_with_leader(), sim.fault_count(sim_core::faults::FaultKind::Crash), sim.violation().map(|v| v.to_string()));
    }
}
