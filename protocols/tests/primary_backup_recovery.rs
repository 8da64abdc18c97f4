//! Primary-backup's recovery from its disk: its log is a `durable::RecordLog`, so a read
//! that flips a bit is read again (or outvoted), never taken for a torn tail and cut.

use protocols::primary_backup::{Bugs, Invariants, Options, PrimaryBackup};
use sim_core::client::ClientOptions;
use sim_core::disk::DiskOptions;
use sim_core::faults::FaultAction;
use sim_core::kv::{KvOptions, KvWorkload};
use sim_core::latency::Latency;
use sim_core::node::NodeId;
use sim_core::protocol::Protocol;
use sim_core::{SimBuilder, SimTime};

const BACKUP: NodeId = NodeId(1);

fn ms(millis: u64) -> SimTime {
    SimTime(millis * 1_000_000)
}

fn half_past(millis: u64) -> SimTime {
    SimTime(millis * 1_000_000 + 500_000)
}

/// Three nodes and two writing clients; the backup crashes at 300.5 ms and restarts at
/// 310.5 ms with every read of its disk corrupted. Returns its log's length before the
/// crash and right after the restart (nothing else happens at half milliseconds).
fn run(seed: u64) -> (usize, usize, sim_core::Simulation<PrimaryBackup, Invariants>) {
    let writes = KvOptions { read: 0, keys: 3, ..KvOptions::default() };
    let clients = ClientOptions {
        clients: 2,
        think_time: Latency::constant_millis(1),
        latency: Latency::constant_millis(1),
        ..ClientOptions::default()
    };
    let every_read_corrupt = DiskOptions { corrupt_read_probability: 1.0, ..Default::default() };
    let config = PrimaryBackup::configure(Options::default(), Bugs::default()).unwrap();
    let mut sim = SimBuilder::new(seed, 3)
        .workload(clients, KvWorkload::new(writes).unwrap())
        .fault_at(half_past(300), FaultAction::Crash(BACKUP))
        .fault_at(ms(305), FaultAction::disk_faults(BACKUP, every_read_corrupt))
        .fault_at(half_past(310), FaultAction::Restart(BACKUP))
        .build_observed::<PrimaryBackup, _>(config, Invariants::default());
    sim.run_until(ms(300));
    let before = sim.node(BACKUP).expect("up before the crash").log().len();
    sim.run_until(half_past(310));
    let after = sim.node(BACKUP).expect("restarted").log().len();
    (before, after, sim)
}

#[test]
fn a_backup_whose_every_read_is_corrupted_recovers_its_whole_log() {
    for seed in 0..8 {
        let (before, after, sim) = run(seed);
        assert!(before >= 10, "seed {seed}: only {before} entries before the crash");
        // Every synced command is back: the reads were outvoted, nothing was cut.
        assert_eq!(after, before, "seed {seed}");
        // Every file it has was voted on: its log and its two cells (epoch, starts), and its
        // view service Raft's log and metadata.
        assert_eq!(sim.counter("recovery_reads_exhausted"), 5, "seed {seed}");
        assert_eq!(sim.counter("torn_tail_truncated"), 0, "seed {seed}");
        assert!(sim.violation().is_none(), "seed {seed}: {:?}", sim.violation());
    }
}
