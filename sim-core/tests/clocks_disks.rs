//! Clocks and disks, observed through the engine and a protocol: drifting clocks fire
//! timers early or late in global time by exactly their rate; offsets shift readings, not
//! timers; a crash loses unsynced writes and keeps synced ones; a torn write or a
//! corrupted read is caught by a protocol that checksums its records.

mod common;

use common::{check_property, ms};
use proptest::prelude::*;
use sim_core::client::{ClientOptions, WithClients};
use sim_core::clock::ClockOptions;
use sim_core::disk::{Disk, DiskOptions};
use sim_core::faults::FaultAction;
use sim_core::kv::{KvOptions, KvWorkload};
use sim_core::latency::Latency;
use sim_core::node::{Context, Node, NodeId};
use sim_core::rng::{SimRng, Stream};
use sim_core::toys::{Journal, JournalConfig};
use sim_core::{EventView, Observer, Position, RunLimits, SimBuilder, SimDuration, SimTime};
use std::cell::Cell;

/// Sets a timer of `period` (on its own clock) at start and again each time it fires,
/// recording its clock reading at every firing.
struct Metronome {
    readings: Vec<SimTime>,
    period: SimDuration,
}

impl Node for Metronome {
    type Config = SimDuration;
    type Msg = ();
    type Timer = ();
    type Workload = KvWorkload;

    fn start(period: &SimDuration, ctx: &mut Context<'_, Self>) -> Self {
        ctx.set_timer(*period, ());
        Metronome { readings: vec![ctx.now()], period: *period }
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, _msg: ()) {}

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: ()) {
        self.readings.push(ctx.now());
        ctx.set_timer(self.period, ());
    }
}

/// Global times at which timers fired, per node.
#[derive(Default)]
struct TimerTimes(Vec<(NodeId, SimTime)>);

impl<N: Node> Observer<N> for TimerTimes {
    fn on_event(&mut self, position: Position, _index: u64, event: &EventView<'_, N>) {
        if let EventView::Timer { node, .. } = *event {
            self.0.push((node, position.time));
        }
    }
}

fn fire_times(sim: &sim_core::Simulation<Metronome, TimerTimes>, node: NodeId) -> Vec<u64> {
    sim.observer().0.iter().filter(|t| t.0 == node).map(|t| t.1.as_nanos()).collect()
}

#[test]
fn a_clock_200_ppm_fast_fires_a_1_s_timer_at_1_s_over_1_plus_200e_6() {
    let fast = NodeId(0);
    let slow = NodeId(1);
    let mut sim = SimBuilder::new(1, 3)
        .clock(fast, ClockOptions { offset_nanos: 0, drift_ppm: 200.0 })
        .clock(slow, ClockOptions { offset_nanos: 0, drift_ppm: -200.0 })
        .build_observed::<Metronome, _>(SimDuration::from_secs(1), TimerTimes::default());
    sim.run_until(SimTime(3_500_000_000));
    let expected = 1e9 / (1.0 + 200e-6);
    let fast_times = fire_times(&sim, fast);
    assert_eq!(fast_times.len(), 3);
    assert!((fast_times[0] as f64 - expected).abs() <= 1.0, "{} vs {expected}", fast_times[0]);
    assert_eq!(fast_times[0], 999_800_040);
    // Each period is rounded up on its own: the k-th firing is at k times the first.
    assert_eq!(fast_times, vec![999_800_040, 1_999_600_080, 2_999_400_120]);
    let slow_expected = 1e9 / (1.0 - 200e-6);
    let slow_times = fire_times(&sim, slow);
    assert!((slow_times[0] as f64 - slow_expected).abs() <= 1.0, "{}", slow_times[0]);
    // A perfect clock fires on the second.
    assert_eq!(fire_times(&sim, NodeId(2)), vec![1_000_000_000, 2_000_000_000, 3_000_000_000]);
    // On its own clock, each node's timer fired once a full second had passed, not before.
    for id in 0..3 {
        let readings = &sim.node(NodeId(id)).unwrap().readings;
        for pair in readings.windows(2) {
            let local = pair[1].as_nanos() - pair[0].as_nanos();
            assert!((1_000_000_000..=1_000_000_001).contains(&local), "n{id}: {local}");
        }
    }
}

#[test]
fn drifting_timers_fire_within_a_nanosecond_of_their_exact_time_and_never_early() {
    let strategy = (-2000.0..2000.0f64, 1..5_000_000_000u64, 0..1_000_000_000i64);
    check_property(256, strategy, |(drift_ppm, period, offset_nanos)| {
        let drift_ppm = (drift_ppm * 1000.0).round() / 1000.0; // the clock's resolution: 1 ppb
        let mut sim = SimBuilder::new(1, 1)
            .clock(NodeId(0), ClockOptions { offset_nanos, drift_ppm })
            .build_observed::<Metronome, _>(SimDuration(period), TimerTimes::default());
        sim.run(RunLimits { until: SimTime::MAX, max_events: 4, ..RunLimits::default() });
        let fired = fire_times(&sim, NodeId(0))[0];
        let exact = period as f64 / (1.0 + drift_ppm * 1e-6);
        assert!((fired as f64 - exact).abs() <= 1.0, "fired at {fired}, exact {exact}");
        let readings = &sim.node(NodeId(0)).unwrap().readings;
        assert_eq!(readings[0].as_nanos(), offset_nanos.unsigned_abs(), "offset shifts readings");
        assert!(readings[1].as_nanos() - readings[0].as_nanos() >= period, "fired early");
    });
}

#[test]
fn offsets_jumps_and_drift_changes_shift_the_node_clock_not_global_time() {
    let node = NodeId(0);
    let mut sim = SimBuilder::new(1, 2)
        .clock(node, ClockOptions { offset_nanos: 5_000_000_000, drift_ppm: 0.0 })
        .fault_at(ms(1500), FaultAction::ClockJump { node, delta_nanos: -2_000_000_000 })
        .fault_at(ms(2000), FaultAction::clock_drift(node, 200.0))
        .build_observed::<Metronome, _>(SimDuration::from_secs(1), TimerTimes::default());
    sim.run_until(ms(1200));
    // The offset shifts what the node reads, not when its timer fires.
    assert_eq!(fire_times(&sim, node), vec![1_000_000_000]);
    assert_eq!(
        sim.node(node).unwrap().readings,
        vec![SimTime(5_000_000_000), SimTime(6_000_000_000)]
    );
    sim.run_until(ms(1800));
    assert_eq!(sim.local_time(node), SimTime(5_000_000_000 + 1_800_000_000 - 2_000_000_000));
    sim.run_until(ms(3000));
    // From 2 s on the clock runs 200 ppm fast: one more second reads 1.0002 s later.
    assert_eq!(
        sim.local_time(node),
        SimTime(5_000_000_000 + 2_000_000_000 - 2_000_000_000 + 1_000_200_000)
    );
    assert_eq!(sim.local_time(NodeId(1)), SimTime(3_000_000_000));
}

/// One client writing to a single `Journal` node, with constant delays so the schedule is
/// exact: the client invokes at 1, 4, 7, ... ms, the node handles each write 1 ms later
/// (at 2, 5, 8, ... ms) and the client sees the answer 1 ms after that.
fn journal_builder(seed: u64, disk: DiskOptions) -> SimBuilder<WithClients<KvWorkload>> {
    let writes = KvOptions { read: 0, keys: 3, ..KvOptions::default() };
    let clients = ClientOptions {
        clients: 1,
        think_time: Latency::constant_millis(1),
        latency: Latency::constant_millis(1),
        timeout: SimDuration::from_millis(20),
        retry_after: SimDuration::from_millis(20),
        ..ClientOptions::default()
    };
    SimBuilder::new(seed, 1).workload(clients, KvWorkload::new(writes).unwrap()).disk(disk)
}

/// Counts the client writes the journal handled.
#[derive(Default)]
struct Writes(u64);

impl Observer<Journal> for Writes {
    fn on_event(&mut self, _position: Position, _index: u64, event: &EventView<'_, Journal>) {
        if let EventView::Request { .. } = event {
            self.0 += 1;
        }
    }
}

#[test]
fn a_crash_loses_the_unsynced_writes_of_a_protocol_and_keeps_the_synced_ones() {
    let node = NodeId(0);
    let mut sim = journal_builder(1, DiskOptions::default())
        .fault_at(SimTime(31_500_000), FaultAction::Crash(node))
        .fault_at(ms(40), FaultAction::Restart(node))
        .build::<Journal>(JournalConfig { sync_every: 4 });
    sim.run_until(ms(31));
    // Ten writes handled (2, 5, ..., 29 ms); eight of them synced in two group commits.
    assert_eq!(sim.node(node).unwrap().records, (0..10).collect::<Vec<i64>>());
    assert_eq!(sim.disk(node).stats().syncs, 2);
    assert!(sim.disk(node).has_unsynced_writes());
    sim.run_until(ms(40));
    let journal = sim.node(node).expect("restarted at 40 ms");
    assert_eq!(journal.records, (0..8).collect::<Vec<i64>>(), "exactly the synced prefix");
    assert_eq!(journal.recovered_bytes, 8 * 16);
    assert!(!journal.found_bad_tail);
    let disk = sim.disk(node).stats();
    assert_eq!((disk.lost_writes, disk.torn_writes), (2, 0));
    assert_eq!(sim.counter("bad_tail_detected"), 0);
    // The journal carries on from its recovered state.
    sim.run_until(ms(80));
    let records = &sim.node(node).unwrap().records;
    assert!(records.len() > 8);
    assert_eq!(*records, (0..records.len() as i64).collect::<Vec<_>>());
}

#[derive(Clone, Debug)]
struct CrashCase {
    seed: u64,
    sync_every: usize,
    crash_at: SimTime,
}

fn crash_case() -> impl Strategy<Value = CrashCase> {
    (any::<u64>(), 1..6usize, 3_000_000..60_000_000u64)
        .prop_map(|(seed, sync_every, at)| CrashCase { seed, sync_every, crash_at: SimTime(at) })
}

/// Run a journal, crash it at `crash_at`, restart it 5 ms later; return the run and the
/// number of writes it had handled when it crashed.
fn crash_journal(
    case: &CrashCase,
    disk: DiskOptions,
) -> (sim_core::Simulation<Journal, Writes>, u64) {
    let node = NodeId(0);
    let mut sim = journal_builder(case.seed, disk)
        .fault_at(case.crash_at, FaultAction::Crash(node))
        .fault_at(case.crash_at + SimDuration::from_millis(5), FaultAction::Restart(node))
        .build_observed::<Journal, _>(
            JournalConfig { sync_every: case.sync_every },
            Writes::default(),
        );
    sim.run_until(case.crash_at);
    let written = sim.observer().0;
    sim.run_until(case.crash_at + SimDuration::from_millis(5));
    (sim, written)
}

#[test]
fn recovery_after_a_crash_is_exactly_the_synced_prefix() {
    let lost = Cell::new(0u64);
    let kept = Cell::new(0u64);
    check_property(64, crash_case(), |case| {
        let (sim, written) = crash_journal(&case, DiskOptions::default());
        let synced = written - written % case.sync_every as u64;
        let journal = sim.node(NodeId(0)).expect("restarted");
        assert_eq!(journal.records, (0..synced as i64).collect::<Vec<_>>());
        assert!(!journal.found_bad_tail);
        assert_eq!(sim.disk(NodeId(0)).stats().lost_writes, written - synced);
        lost.set(lost.get() + written - synced);
        kept.set(kept.get() + synced);
    });
    assert!(lost.get() > 0 && kept.get() > 0);
}

#[test]
fn a_torn_write_is_detected_by_the_journal_checksums() {
    let torn = Cell::new(0u64);
    check_property(64, crash_case(), |case| {
        let options = DiskOptions { torn_write_probability: 1.0, ..DiskOptions::default() };
        let (sim, written) = crash_journal(&case, options);
        let node = NodeId(0);
        let synced = written - written % case.sync_every as u64;
        let journal = sim.node(node).expect("restarted");
        // Exactly the synced prefix, and nothing corrupt: every record is its own index.
        assert_eq!(journal.records, (0..synced as i64).collect::<Vec<_>>());
        let disk = sim.disk(node).stats();
        if written > synced {
            // The first unsynced record was torn: part of it reached the disk, and the
            // journal noticed, counted it, and cut the log back to its last good record.
            assert_eq!(disk.torn_writes, 1);
            assert!(journal.found_bad_tail, "a torn record went unnoticed");
            assert_eq!(sim.counter("bad_tail_detected"), 1);
            assert_eq!(journal.recovered_bytes as u64, synced * 16);
            torn.set(torn.get() + 1);
        } else {
            assert_eq!(disk.torn_writes, 0);
            assert_eq!(sim.counter("bad_tail_detected"), 0);
        }
    });
    assert!(torn.get() > 16, "only {} cases tore a write", torn.get());
}

#[test]
fn a_corrupted_read_is_detected_by_the_journal_checksums() {
    let node = NodeId(0);
    let mut sim = journal_builder(3, DiskOptions::default())
        .fault_at(ms(30), FaultAction::Crash(node))
        .fault_at(
            ms(31),
            FaultAction::disk_faults(
                node,
                DiskOptions { corrupt_read_probability: 1.0, ..DiskOptions::default() },
            ),
        )
        .fault_at(ms(32), FaultAction::Restart(node))
        .build::<Journal>(JournalConfig { sync_every: 1 });
    sim.run_until(ms(32));
    // Ten records were synced (2, 5, ..., 29 ms); the recovery read flipped one bit.
    let journal = sim.node(node).unwrap();
    assert!(journal.found_bad_tail);
    assert_eq!(sim.counter("bad_tail_detected"), 1);
    assert_eq!(sim.disk(node).stats().corrupted_reads, 1);
    // What was recovered is a clean prefix, ending just before the damaged record.
    assert!(journal.records.len() < 10);
    assert_eq!(journal.records, (0..journal.records.len() as i64).collect::<Vec<_>>());
}

/// Appends an empty record at start and never syncs it.
struct EmptyWriter;

impl Node for EmptyWriter {
    type Config = ();
    type Msg = ();
    type Timer = ();
    type Workload = KvWorkload;

    fn start(_config: &(), ctx: &mut Context<'_, Self>) -> Self {
        ctx.disk().append("log", b"");
        EmptyWriter
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, _msg: ()) {}

    fn on_timer(&mut self, _ctx: &mut Context<'_, Self>, _timer: ()) {}
}

#[test]
fn a_crash_with_an_unsynced_empty_append_tears_nothing() {
    let options = DiskOptions { torn_write_probability: 1.0, ..DiskOptions::default() };
    let mut sim = SimBuilder::new(1, 1)
        .disk(options)
        .fault_at(ms(1), FaultAction::Crash(NodeId(0)))
        .build::<EmptyWriter>(());
    sim.run(RunLimits::default());
    let stats = sim.disk(NodeId(0)).stats();
    assert_eq!((stats.lost_writes, stats.torn_writes), (1, 0));
    // The same through the disk alone.
    let mut disk = Disk::new(options, SimRng::derive(1, Stream::Disk, 0));
    disk.append("log", b"kept");
    disk.sync();
    disk.append("log", b"");
    disk.append("log", b"lost");
    assert_eq!(disk.crash().torn_writes, 0);
    assert_eq!(&*disk.read("log"), b"kept");
}

#[test]
fn a_torn_write_always_leaves_a_nonempty_strict_prefix() {
    // A tear that kept nothing would be a plain lost write, invisible to any checksum.
    check_property(256, (any::<u64>(), 1..40usize), |(seed, len)| {
        let options = DiskOptions { torn_write_probability: 1.0, ..DiskOptions::default() };
        let mut disk = Disk::new(options, SimRng::derive(seed, Stream::Disk, 0));
        disk.append("log", b"head");
        disk.sync();
        let record: Vec<u8> = (0..len as u8).collect();
        disk.append("log", &record);
        let damage = disk.crash();
        let after = disk.read("log").into_owned();
        if len == 1 {
            assert_eq!((damage.torn_writes, after.len()), (0, 4), "one byte cannot tear");
        } else {
            assert_eq!(damage.torn_writes, 1);
            assert!(after.len() > 4 && after.len() < 4 + len, "kept {} of {len}", after.len() - 4);
            assert_eq!(&after[4..], &record[..after.len() - 4]);
        }
    });
}
