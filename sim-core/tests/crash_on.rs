//! The nemesis's `crash_on`: a node that announces a protocol event is crashed there, with
//! the disk and the handler's effects as each crash point says; restarted after
//! `restart_after`, within `max_down`; and a run without it is the run it always was.

use sim_core::announce::{CrashOn, CrashPoint, ProtocolEvent};
use sim_core::engine::FaultLog;
use sim_core::faults::{DurationRange, FaultAction, NemesisOptions};
use sim_core::kv::KvWorkload;
use sim_core::node::{Context, Node, NodeId};
use sim_core::{SimBuilder, SimDuration, SimTime};

const RECORD: &[u8] = b"record";

/// Every 10ms a node writes a record, announces `appended`, syncs, announces `synced`,
/// and tells node 0 how many records it holds.
struct Writer {
    records: u64,
}

#[derive(Clone, Debug, Hash)]
enum Msg {
    Holds(u64),
}

#[derive(Clone, Debug, Hash)]
enum Timer {
    Write,
}

impl Node for Writer {
    type Config = ();
    type Msg = Msg;
    type Timer = Timer;
    type Workload = KvWorkload;

    fn start(_config: &(), ctx: &mut Context<'_, Self>) -> Self {
        let len = ctx.disk().read("log").len();
        assert_eq!(len % RECORD.len(), 0, "only whole records reach the disk");
        ctx.set_timer(SimDuration::from_millis(10), Timer::Write);
        Writer { records: (len / RECORD.len()) as u64 }
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, msg: Msg) {
        let Msg::Holds(records) = msg;
        assert!(records > 0, "a node tells only what it wrote");
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: Timer) {
        ctx.set_timer(SimDuration::from_millis(10), Timer::Write);
        ctx.disk().append("log", RECORD);
        ctx.announce(ProtocolEvent::Appended);
        ctx.disk().sync();
        self.records += 1;
        ctx.announce(ProtocolEvent::Synced);
        ctx.send(NodeId(0), Msg::Holds(self.records));
        ctx.count("wrote");
    }
}

fn nemesis(events: &[ProtocolEvent], probability: f64, point: CrashPoint) -> NemesisOptions {
    let ms = SimDuration::from_millis;
    NemesisOptions {
        crash_on: CrashOn { events: events.to_vec(), probability, point },
        restart_after: DurationRange::new(ms(30), ms(30)),
        max_down: Some(2),
        until: SimTime(ms(500).0),
        ..NemesisOptions::default()
    }
}

/// A 3-node run of one second under `nemesis`, and the faults that fired.
fn run(seed: u64, nemesis: NemesisOptions) -> (sim_core::Simulation<Writer, FaultLog>, u64) {
    let mut sim = SimBuilder::new(seed, 3)
        .nemesis(nemesis)
        .build_observed::<Writer, _>((), FaultLog::default());
    sim.run_until(SimTime(SimDuration::from_secs(1).0));
    let hash = sim.trace_hash();
    (sim, hash)
}

fn crashes(log: &FaultLog) -> Vec<(SimTime, NodeId, ProtocolEvent)> {
    log.fired
        .iter()
        .filter_map(|(at, action)| match action {
            FaultAction::CrashOn { node, event } => Some((*at, *node, *event)),
            _ => None,
        })
        .collect()
}

#[test]
fn without_a_listened_event_nothing_is_drawn_and_the_run_is_unchanged() {
    let plain = run(7, NemesisOptions::default()).1;
    // Listening to an event nobody announces, or with a zero chance, draws nothing.
    let deaf = run(7, nemesis(&[ProtocolEvent::Voted], 1.0, CrashPoint::Event)).1;
    let silent = run(7, nemesis(&[ProtocolEvent::Synced], 0.0, CrashPoint::Event)).1;
    assert_eq!((deaf, silent), (plain, plain));
    let (sim, crashed) = run(7, nemesis(&[ProtocolEvent::Synced], 0.2, CrashPoint::Event));
    assert_ne!(crashed, plain, "a crash on `synced` changes the run");
    assert!(sim.counter("crash_on_synced") > 0);
}

#[test]
fn a_crash_at_appended_loses_the_write_and_every_effect_of_the_handler() {
    let (sim, _) = run(3, nemesis(&[ProtocolEvent::Appended], 0.1, CrashPoint::Event));
    let crashes = crashes(sim.observer());
    assert!(crashes.len() >= 3, "sometimes: crashes on appended, {crashes:?}");
    assert!(crashes.iter().all(|c| c.2 == ProtocolEvent::Appended));
    assert_eq!(sim.counter("crash_on_appended"), crashes.len() as u64);
    // The write before the crash point was never synced, and the handler's message,
    // queued after it, never left: only the handlers that ran to their end synced and sent.
    let survived = sim.counter("wrote") - crashes.len() as u64;
    assert_eq!(sim.message_stats().sent, survived, "a crashed handler sends nothing");
    let syncs: u64 = (0..3).map(|n| sim.disk(NodeId(n)).stats().syncs).sum();
    assert_eq!(syncs, survived, "no sync after the crash point");
    let lost: u64 = (0..3).map(|n| sim.disk(NodeId(n)).stats().lost_writes).sum();
    assert_eq!(lost, crashes.len() as u64, "each crash lost its unsynced record");
    // Each node is back 30ms after each of its crashes.
    let restarts: Vec<(SimTime, NodeId)> = sim
        .observer()
        .fired
        .iter()
        .filter_map(|(at, a)| if let FaultAction::Restart(n) = a { Some((*at, *n)) } else { None })
        .collect();
    for (at, node, _) in &crashes {
        let back = SimTime(at.0 + SimDuration::from_millis(30).0);
        assert!(restarts.contains(&(back, *node)), "{node} crashed at {at} is back at {back}");
    }
}

#[test]
fn a_crash_at_synced_keeps_the_write_and_one_at_the_handler_end_sends_its_message() {
    let (at_event, _) = run(5, nemesis(&[ProtocolEvent::Synced], 0.1, CrashPoint::Event));
    let (at_end, _) = run(5, nemesis(&[ProtocolEvent::Synced], 0.1, CrashPoint::HandlerEnd));
    for (sim, messages_lost) in [(&at_event, true), (&at_end, false)] {
        let crashes = crashes(sim.observer()).len() as u64;
        assert!(crashes > 0, "sometimes: crashes on synced");
        let wrote = sim.counter("wrote");
        let sent = if messages_lost { wrote - crashes } else { wrote };
        assert_eq!(sim.message_stats().sent, sent);
        // The record was synced before the crash in both: no write was lost.
        let lost: u64 = (0..3).map(|n| sim.disk(NodeId(n)).stats().lost_writes).sum();
        assert_eq!(lost, 0);
    }
}

#[test]
fn crashes_on_events_keep_to_max_down_and_stop_with_the_nemesis() {
    let mut options = nemesis(&[ProtocolEvent::Synced], 1.0, CrashPoint::Event);
    options.max_down = Some(1);
    options.restart_after =
        DurationRange::new(SimDuration::from_millis(25), SimDuration::from_millis(25));
    let (sim, _) = run(9, options);
    let crashes = crashes(sim.observer());
    assert!(crashes.len() > 5, "{crashes:?}");
    // At most one node down at once: each crash comes 25ms or more after the last one.
    for pair in crashes.windows(2) {
        assert!(pair[1].0.0 - pair[0].0.0 >= SimDuration::from_millis(25).0, "{pair:?}");
    }
    assert!(crashes.iter().all(|c| c.0 < SimTime(SimDuration::from_millis(500).0)));
}
