//! Small, exact Raft scenarios: the `Protocol` declaration, clusters of one to five nodes,
//! convergence, compaction, and a whole-cluster power loss.

use protocols::raft::{Raft, RaftConfig, RaftInvariants, RaftOptions};
use sim_core::check::{DEFAULT_BUDGET, ModelKind, Verdict};
use sim_core::client::ClientOptions;
use sim_core::disk::DiskOptions;
use sim_core::faults::FaultAction;
use sim_core::history::History;
use sim_core::kv::{KvOptions, KvWorkload};
use sim_core::node::NodeId;
use sim_core::protocol::{BugSwitches, DeclaredOptions, OptionValue, OptionValues, Protocol};
use sim_core::{SimBuilder, SimDuration, SimTime};

fn secs(s: f64) -> SimTime {
    SimTime((s * 1e9) as u64)
}

/// Four clients reading, writing and cas-ing three keys.
fn workload() -> (ClientOptions, KvWorkload) {
    let clients = ClientOptions {
        clients: 4,
        timeout: SimDuration::from_millis(1000),
        retry_after: SimDuration::from_millis(200),
        ..ClientOptions::default()
    };
    let kv = KvOptions { read: 2, write: 2, cas: 1, ..KvOptions::default() };
    (clients, KvWorkload::new(kv).expect("a valid workload"))
}

/// The clients' history is linearizable as a cas register per key.
fn linearizable(history: &History) -> Result<(), String> {
    match ModelKind::CasRegister.check(history, DEFAULT_BUDGET).map_err(|e| e.to_string())? {
        Verdict::Linearizable => Ok(()),
        Verdict::NotLinearizable(violation) => Err(violation.to_string()),
        unknown @ Verdict::Unknown { .. } => panic!("the checker ran out of budget: {unknown}"),
    }
}

#[test]
fn the_protocol_is_declared_by_name_with_options_and_bugs() {
    assert_eq!(Raft::NAME, "raft");
    let names: Vec<&str> = RaftOptions::specs().iter().map(|o| o.name).collect();
    for name in ["pre_vote", "check_quorum", "read_index", "snapshot_threshold", "sync_delay"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    for bug in <Raft as Protocol>::Bugs::specs() {
        let config = Raft::configure_from(&OptionValues::new(), &[bug.name]).expect(bug.name);
        assert!(config.bugs.any(), "{} switches nothing on", bug.name);
        assert!(!bug.doc.is_empty());
    }
    assert!(Raft::configure_from(&OptionValues::new(), &["no_such_bug"]).is_err());
    let mut values = OptionValues::new();
    values
        .insert("heartbeat_interval".to_string(), OptionValue::Duration(SimDuration::from_secs(1)));
    let err = Raft::configure_from::<&str>(&values, &[]).unwrap_err().to_string();
    assert!(err.contains("heartbeat_interval"), "{err}");
}

/// Clusters of every size elect a leader and serve every operation.
#[test]
fn clusters_of_one_to_five_nodes_serve_clients() {
    for nodes in 1..=5 {
        for read_index in [false, true] {
            let config = RaftConfig::from(RaftOptions { read_index, ..RaftOptions::default() });
            let mut sim = SimBuilder::new(7, nodes)
                .workload(workload().0, workload().1)
                .build_observed::<Raft, _>(config, RaftInvariants::default());
            sim.run_until(secs(2.0));
            assert!(sim.violation().is_none(), "{:?}", sim.violation());
            let stats = sim.client_stats();
            assert!(stats.ok > 100, "{nodes} nodes: {stats:?}");
            assert_eq!(stats.info, 0, "{nodes} nodes: {stats:?}");
            linearizable(sim.history().unwrap()).unwrap();
            let leaders = (0..nodes).filter(|&n| sim.node(NodeId(n)).unwrap().is_leader()).count();
            assert_eq!(leaders, 1, "{nodes} nodes");
        }
    }
}

/// Once clients stop, every replica applies the same commands to the same state.
#[test]
fn replicas_converge_when_clients_stop() {
    let config = RaftConfig::from(RaftOptions { snapshot_threshold: 30, ..RaftOptions::default() });
    let mut sim = SimBuilder::new(3, 5)
        .workload(ClientOptions { stop_at: Some(secs(2.0)), ..workload().0 }, workload().1)
        .build_observed::<Raft, _>(config, RaftInvariants::default());
    sim.run_until(secs(3.0));
    assert!(sim.violation().is_none(), "{:?}", sim.violation());
    let first = sim.node(NodeId(0)).unwrap();
    assert!(first.last_applied() > 100);
    for n in 1..5 {
        let node = sim.node(NodeId(n)).unwrap();
        assert_eq!(node.last_applied(), first.last_applied(), "n{n}");
        assert_eq!(node.state_machine(), first.state_machine(), "n{n}");
    }
}

/// Snapshots keep the log (in memory and on disk) bounded.
#[test]
fn snapshots_bound_the_log() {
    let threshold = 40;
    let config =
        RaftConfig::from(RaftOptions { snapshot_threshold: threshold, ..RaftOptions::default() });
    let mut sim = SimBuilder::new(5, 3)
        .workload(workload().0, workload().1)
        .build_observed::<Raft, _>(config, RaftInvariants::default());
    sim.run_until(secs(3.0));
    assert!(sim.violation().is_none());
    assert!(sim.counter("snapshot_taken") > 10);
    for n in 0..3 {
        let node = sim.node(NodeId(n)).unwrap();
        assert!(node.log().last_index() > 10 * threshold);
        // Applied entries since the snapshot, the catch-up margin, and a few in flight.
        assert!(
            node.log().len() as u64 <= threshold + threshold / 2 + 16,
            "n{n}: {}",
            node.log().len()
        );
    }
}

/// Every node loses power at once, mid-write, with group commit and torn writes: what
/// was acknowledged survives, and the cluster serves clients again.
#[test]
fn a_whole_cluster_power_loss_keeps_acknowledged_writes() {
    let config = RaftConfig::from(RaftOptions {
        sync_delay: SimDuration::from_millis(3),
        ..RaftOptions::default()
    });
    let mut builder = SimBuilder::new(11, 5)
        .workload(workload().0, workload().1)
        .disk(DiskOptions { torn_write_probability: 1.0, corrupt_read_probability: 0.2 });
    for (i, at) in [1.0, 1.7, 2.3].into_iter().enumerate() {
        for n in 0..5 {
            let stagger = SimDuration::from_micros(137 * (n as u64 + i as u64));
            builder = builder
                .fault_at(secs(at) + stagger, FaultAction::Crash(NodeId(n)))
                .fault_at(secs(at + 0.1) + stagger, FaultAction::Restart(NodeId(n)));
        }
    }
    let mut sim = builder.build_observed::<Raft, _>(config, RaftInvariants::default());
    sim.run_until(secs(2.4));
    let ok_before = sim.client_stats().ok;
    sim.run_until(secs(4.0));
    assert!(sim.violation().is_none(), "{:?}", sim.violation());
    linearizable(sim.history().unwrap()).unwrap();
    assert!(sim.client_stats().ok > ok_before + 100, "{:?}", sim.client_stats());
    assert!(sim.counter("recovered_from_disk") >= 15);
    let torn: u64 = (0..5).map(|n| sim.disk(NodeId(n)).stats().torn_writes).sum();
    assert!(torn > 0, "no write was torn");
}
