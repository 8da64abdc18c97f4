//! Event order: events run in strictly increasing (time, sequence) order, events at the
//! same time run in the order they were scheduled, and timers fire exactly when due unless
//! cancelled (or their node crashed).

mod common;

use common::{Chatter, ChatterConfig, check_property, ms};
use proptest::prelude::*;
use sim_core::client::ClientOptions;
use sim_core::faults::{DurationRange, FaultAction, NemesisOptions};
use sim_core::kv::KvWorkload;
use sim_core::latency::Latency;
use sim_core::network::LinkOptions;
use sim_core::node::{Context, Node, NodeId, TimerId};
use sim_core::{EventView, Observer, Position, RunLimits, SimBuilder, SimDuration, SimTime};
use std::cell::Cell;
use std::collections::BTreeMap;

/// Checks the order of `on_event` calls: every call made for one executed event (a
/// restart notifies its fault, then the start) carries that event's position and index;
/// across events, positions strictly increase.
#[derive(Default)]
struct Order {
    last: Option<(u64, Position)>,
    events: u64,
    notifications: u64,
    same_time: u64,
    kinds: [u64; 7],
}

impl<N: Node> Observer<N> for Order {
    fn on_event(&mut self, position: Position, index: u64, event: &EventView<'_, N>) {
        self.notifications += 1;
        match self.last {
            Some((last_index, last)) if last_index == index => {
                assert_eq!(position, last, "one event notified at two positions");
            }
            Some((last_index, last)) => {
                assert!(index > last_index, "event #{index} after #{last_index}");
                assert!(position > last, "{position:?} ran after {last:?}");
                assert!(position.seq != last.seq, "a sequence number reused");
                self.same_time += u64::from(position.time == last.time);
                self.events += 1;
            }
            None => self.events += 1,
        }
        self.last = Some((index, position));
        let kind = match event {
            EventView::Start { .. } => 0,
            EventView::Deliver { .. } => 1,
            EventView::Timer { .. } => 2,
            EventView::Request { .. } => 3,
            EventView::Reply { .. } => 4,
            EventView::ClientWake { .. } => 5,
            EventView::Fault(_) => 6,
        };
        self.kinds[kind] += 1;
    }
}

#[derive(Clone, Debug)]
struct OrderCase {
    seed: u64,
    n: u32,
    latency: Latency,
    duplicate: f64,
    nemesis: NemesisOptions,
    schedule: Vec<(SimTime, FaultAction)>,
}

fn order_case() -> impl Strategy<Value = OrderCase> {
    let latency = prop_oneof![
        Just(Latency::Constant(SimDuration::ZERO)),
        Just(Latency::constant_millis(1)),
        (0..5u64).prop_map(|max| Latency::Uniform {
            min: SimDuration::ZERO,
            max: SimDuration::from_millis(max)
        }),
    ];
    let rate = prop_oneof![Just(0.0), Just(5.0), Just(20.0)];
    (2..=5u32, any::<u64>(), latency, prop_oneof![Just(0.0), Just(0.3)], rate.clone(), rate)
        .prop_flat_map(|(n, seed, latency, duplicate, crash_rate, pause_rate)| {
            let node = (0..n).prop_map(NodeId);
            let fault = prop_oneof![
                node.clone().prop_map(FaultAction::Crash),
                node.clone().prop_map(FaultAction::Restart),
                (node.clone(), node).prop_map(|(from, to)| FaultAction::Hold { from, to }),
                Just(FaultAction::HealAll),
            ];
            let schedule = proptest::collection::vec(((0..200u64).prop_map(ms), fault), 0..8);
            schedule.prop_map(move |schedule| OrderCase {
                seed,
                n,
                latency: latency.clone(),
                duplicate,
                nemesis: NemesisOptions {
                    crash_rate,
                    pause_rate,
                    partition_rate: crash_rate,
                    clock_jump_rate: pause_rate,
                    restart_after: DurationRange::new(
                        SimDuration::from_millis(5),
                        SimDuration::from_millis(50),
                    ),
                    pause_duration: DurationRange::new(
                        SimDuration::from_millis(1),
                        SimDuration::from_millis(30),
                    ),
                    ..NemesisOptions::default()
                },
                schedule,
            })
        })
}

#[test]
fn events_run_in_strictly_increasing_time_and_sequence_order() {
    let same_time = Cell::new(0u64);
    let restarts = Cell::new(0u64);
    let kinds = Cell::new([0u64; 7]);
    check_property(256, order_case(), |case| {
        let link =
            LinkOptions { latency: case.latency.clone(), loss: 0.0, duplicate: case.duplicate };
        let clients = ClientOptions { clients: 2, ..ClientOptions::default() };
        let mut builder = SimBuilder::new(case.seed, case.n)
            .links(link)
            .workload(clients, KvWorkload::default())
            .nemesis(case.nemesis.clone());
        for (at, action) in &case.schedule {
            builder = builder.fault_at(*at, action.clone());
        }
        let mut sim =
            builder.build_observed::<Chatter, _>(ChatterConfig::new(3, 250), Order::default());
        sim.run(RunLimits { until: ms(300), max_events: 200_000, ..RunLimits::default() });
        let order = sim.observer();
        assert!(order.events > 0 && order.events <= sim.stats().events);
        let mut seen = kinds.get();
        for (total, count) in seen.iter_mut().zip(order.kinds) {
            *total += count;
        }
        kinds.set(seen);
        same_time.set(same_time.get() + order.same_time);
        restarts.set(restarts.get() + sim.fault_count(sim_core::faults::FaultKind::Restart));
    });
    // Ties in time really happened (and were broken by sequence), and so did restarts,
    // whose fault and start share one position.
    assert!(same_time.get() > 1000);
    // Every kind of event was ordered: starts, deliveries, timers, requests, replies,
    // client wake-ups and faults.
    assert!(kinds.get().iter().all(|&k| k > 0), "{:?}", kinds.get());
    assert!(restarts.get() > 0);
}

/// Records every delivery.
#[derive(Default)]
struct Log(Vec<(SimTime, NodeId, NodeId, common::ChatMsg)>);

impl Observer<Chatter> for Log {
    fn on_event(&mut self, position: Position, _index: u64, event: &EventView<'_, Chatter>) {
        if let EventView::Deliver { from, to, msg, .. } = *event {
            self.0.push((position.time, from, to, *msg));
        }
    }
}

#[test]
fn messages_sent_together_on_equal_delays_arrive_in_send_order() {
    // Five messages per peer per burst, a constant 1 ms: each burst arrives at one instant,
    // and ties are broken by the order of scheduling, which is the order of sending.
    let config = ChatterConfig { burst: 5, ..ChatterConfig::new(4, 40) };
    let mut sim = SimBuilder::new(5, 3).build_observed::<Chatter, _>(config, Log::default());
    sim.run(RunLimits::default());
    let log = &sim.observer().0;
    assert_eq!(log.len(), 3 * 2 * 10 * 5);
    for from in 0..3 {
        for to in (0..3).filter(|&t| t != from) {
            let link: Vec<_> =
                log.iter().filter(|e| e.1 == NodeId(from) && e.2 == NodeId(to)).collect();
            let seqs: Vec<u64> = link.iter().map(|e| e.3.seq).collect();
            assert_eq!(seqs, (0..50).collect::<Vec<_>>(), "{from}->{to}");
            for burst in link.chunks(5) {
                assert!(burst.iter().all(|e| e.0 == burst[0].0), "a burst arrives at once");
            }
        }
    }
}

/// One timer of a `Timers` node.
#[derive(Clone, Copy, Debug)]
struct TimerPlan {
    delay: SimDuration,
    cancel_at_start: bool,
    /// The firing of that timer cancels this one.
    cancelled_by: Option<usize>,
    /// When this timer fires, set a new one this far ahead, then try to cancel this
    /// (already fired) timer's id, which must fail and must not touch the new timer that
    /// may reuse its slot.
    rearm: Option<SimDuration>,
}

/// Sets the planned timers at start and records what fires and what cancels return.
struct Timers {
    plans: Vec<TimerPlan>,
    ids: Vec<TimerId>,
    fired: Vec<(usize, SimTime)>,
    cancels: Vec<(usize, bool)>,
}

impl Node for Timers {
    type Config = Vec<TimerPlan>;
    type Msg = ();
    type Timer = usize;
    type Workload = KvWorkload;

    fn start(plans: &Vec<TimerPlan>, ctx: &mut Context<'_, Self>) -> Self {
        let ids: Vec<TimerId> =
            plans.iter().enumerate().map(|(i, p)| ctx.set_timer(p.delay, i)).collect();
        let mut cancels = Vec::new();
        for (i, plan) in plans.iter().enumerate() {
            if plan.cancel_at_start {
                cancels.push((i, ctx.cancel_timer(ids[i])));
            }
        }
        Timers { plans: plans.clone(), ids, fired: Vec::new(), cancels }
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, _msg: ()) {}

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: usize) {
        self.fired.push((timer, ctx.now()));
        let k = self.plans.len();
        if timer >= k {
            return; // a re-armed timer
        }
        for j in 0..k {
            if self.plans[j].cancelled_by == Some(timer) {
                self.cancels.push((j, ctx.cancel_timer(self.ids[j])));
            }
        }
        if let Some(delay) = self.plans[timer].rearm {
            ctx.set_timer(delay, k + timer);
            self.cancels.push((timer, ctx.cancel_timer(self.ids[timer])));
        }
    }
}

/// Timers fired (which, and when) and cancellations (of which timer, and their result).
type TimerOutcome = (Vec<(usize, SimTime)>, Vec<(usize, bool)>);

/// What the timers should do: a tiny model of the queue, ties broken by creation order.
fn expected_timers(plans: &[TimerPlan]) -> TimerOutcome {
    let k = plans.len();
    let mut queue: BTreeMap<(SimTime, usize), usize> = BTreeMap::new();
    let mut armed = vec![true; 2 * k];
    let mut created = 0;
    for (i, plan) in plans.iter().enumerate() {
        queue.insert((SimTime::ZERO + plan.delay, created), i);
        created += 1;
    }
    let mut cancels = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        if plan.cancel_at_start {
            cancels.push((i, armed[i]));
            armed[i] = false;
        }
    }
    let mut fired = Vec::new();
    while let Some(((time, _), timer)) = queue.pop_first() {
        if !armed[timer] {
            continue;
        }
        armed[timer] = false;
        fired.push((timer, time));
        if timer >= k {
            continue;
        }
        for (j, plan) in plans.iter().enumerate() {
            if plan.cancelled_by == Some(timer) {
                cancels.push((j, armed[j]));
                armed[j] = false;
            }
        }
        if let Some(delay) = plans[timer].rearm {
            queue.insert((time + delay, created), k + timer);
            created += 1;
            cancels.push((timer, false));
        }
    }
    (fired, cancels)
}

fn timer_plans() -> impl Strategy<Value = Vec<TimerPlan>> {
    (1..12usize).prop_flat_map(|k| {
        let plan = (
            prop_oneof![
                (0..5u64).prop_map(SimDuration::from_millis),
                (0..5_000_000u64).prop_map(SimDuration)
            ],
            prop::bool::weighted(0.2),
            prop::option::weighted(0.4, 0..k),
            prop::option::weighted(0.3, (0..3u64).prop_map(SimDuration::from_millis)),
        )
            .prop_map(|(delay, cancel_at_start, cancelled_by, rearm)| TimerPlan {
                delay,
                cancel_at_start,
                cancelled_by,
                rearm,
            });
        proptest::collection::vec(plan, k)
    })
}

#[test]
fn cancelled_timers_never_fire_and_the_others_fire_exactly_when_due() {
    let cancelled = Cell::new(0u64);
    let stale_cancels = Cell::new(0u64);
    check_property(256, timer_plans(), |plans| {
        let (fired, cancels) = expected_timers(&plans);
        let mut sim = SimBuilder::new(1, 1).build::<Timers>(plans.clone());
        sim.run(RunLimits::default());
        let node = sim.node(NodeId(0)).unwrap();
        assert_eq!(node.fired, fired);
        assert_eq!(node.cancels, cancels);
        let stats = sim.stats();
        let rearmed = plans
            .iter()
            .enumerate()
            .filter(|(i, p)| p.rearm.is_some() && fired.iter().any(|f| f.0 == *i))
            .count();
        assert_eq!(stats.timers_set, (plans.len() + rearmed) as u64);
        assert_eq!(stats.timers_fired, fired.len() as u64);
        assert_eq!(stats.timers_stale, stats.timers_set - stats.timers_fired);
        assert_eq!(sim.armed_timers(NodeId(0)), 0);
        cancelled.set(cancelled.get() + cancels.iter().filter(|c| c.1).count() as u64);
        stale_cancels.set(stale_cancels.get() + cancels.iter().filter(|c| !c.1).count() as u64);
    });
    assert!(cancelled.get() > 100 && stale_cancels.get() > 100);
}

/// Sets one 10 ms timer at every start.
struct Alarm {
    rang: Vec<SimTime>,
}

impl Node for Alarm {
    type Config = ();
    type Msg = ();
    type Timer = ();
    type Workload = KvWorkload;

    fn start(_config: &(), ctx: &mut Context<'_, Self>) -> Self {
        ctx.set_timer(SimDuration::from_millis(10), ());
        Alarm { rang: Vec::new() }
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, _msg: ()) {}

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: ()) {
        self.rang.push(ctx.now());
    }
}

#[test]
fn a_crash_discards_the_timers_of_the_crashed_incarnation() {
    let node = NodeId(0);
    let mut sim = SimBuilder::new(1, 1)
        .fault_at(ms(5), FaultAction::Crash(node))
        .fault_at(ms(6), FaultAction::Restart(node))
        .build::<Alarm>(());
    sim.run(RunLimits::default());
    // The first incarnation's 10 ms timer is stale; the second's fires at 6 + 10 ms.
    assert_eq!(sim.node(node).unwrap().rang, vec![ms(16)]);
    let stats = sim.stats();
    assert_eq!((stats.timers_set, stats.timers_fired, stats.timers_stale), (2, 1, 1));
}
