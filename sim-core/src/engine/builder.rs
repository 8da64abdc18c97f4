//! `SimBuilder`: everything a run is built from, and the building of a `Simulation`.

use super::{EngineStats, Event, NoObserver, NodeSlot, Observer, Simulation};
use crate::buggify::Buggify;
use crate::client::{ClientOptions, ClientsFor, NoClients, Wake, WithClients};
use crate::clock::{Clock, ClockOptions};
use crate::disk::{Disk, DiskOptions};
use crate::faults::{FaultAction, FaultStats, NemesisKind, NemesisOptions};
use crate::hash::mix64;
use crate::network::{LinkOptions, Network, Topology};
use crate::node::{ClientId, Counters, Node, NodeId, TimerTable};
use crate::queue::EventQueue;
use crate::rng::{LazyRng, SimRng, Stream};
use crate::time::SimTime;
use crate::workload::Workload;
use std::collections::BTreeMap;

/// Everything a run is built from. Every fault is off unless set. `C` is the clients:
/// [`NoClients`] until [`SimBuilder::workload`] gives them a workload.
#[derive(Clone, Debug)]
pub struct SimBuilder<C = NoClients> {
    seed: u64,
    topology: Topology,
    clocks: Vec<ClockOptions>,
    disk: DiskOptions,
    clients: C,
    nemesis: NemesisOptions,
    schedule: Vec<(SimTime, FaultAction)>,
    /// Where each phase after the first starts, and its nemesis.
    phases: Vec<(SimTime, NemesisOptions)>,
    count_links: bool,
    buggify: bool,
}

impl<W: Workload> SimBuilder<WithClients<W>> {
    /// From the start of the next phase given [`SimBuilder::phase`] without clients of
    /// its own, the clients behave as `options` say (but for their count, operation
    /// budget and stop time, which are the run's) and run `workload`.
    pub fn phase_workload(mut self, options: ClientOptions, workload: W) -> Self {
        self.clients.phases.push((options, workload));
        self
    }
}

impl SimBuilder {
    /// `node_count` nodes on a full mesh of default links (1 ms, no loss).
    pub fn new(seed: u64, node_count: u32) -> Self {
        assert!(node_count > 0, "a cluster needs at least one node");
        SimBuilder {
            seed,
            topology: Topology::full_mesh(node_count, LinkOptions::default()),
            clocks: vec![ClockOptions::default(); node_count as usize],
            disk: DiskOptions::default(),
            clients: NoClients,
            nemesis: NemesisOptions::default(),
            schedule: Vec::new(),
            phases: Vec::new(),
            count_links: false,
            buggify: false,
        }
    }
}

impl<C> SimBuilder<C> {
    pub fn node_count(&self) -> u32 {
        self.topology.node_count()
    }

    /// Every link behaves as `link`.
    pub fn links(mut self, link: LinkOptions) -> Self {
        self.topology = Topology::full_mesh(self.topology.node_count(), link);
        self
    }

    pub fn topology(mut self, topology: Topology) -> Self {
        assert_eq!(topology.node_count(), self.topology.node_count(), "topology size");
        self.topology = topology;
        self
    }

    pub fn clock(mut self, node: NodeId, options: ClockOptions) -> Self {
        self.clocks[node.0 as usize] = options;
        self
    }

    pub fn disk(mut self, options: DiskOptions) -> Self {
        self.disk = options;
        self
    }

    /// Clients that behave as `options` say and run `workload`.
    pub fn workload<W: Workload>(
        self,
        options: ClientOptions,
        workload: W,
    ) -> SimBuilder<WithClients<W>> {
        SimBuilder {
            seed: self.seed,
            topology: self.topology,
            clocks: self.clocks,
            disk: self.disk,
            clients: WithClients { options, workload, phases: Vec::new() },
            nemesis: self.nemesis,
            schedule: self.schedule,
            phases: self.phases,
            count_links: self.count_links,
            buggify: self.buggify,
        }
    }

    pub fn nemesis(mut self, options: NemesisOptions) -> Self {
        self.nemesis = options;
        self
    }

    /// Count messages per link too ([`crate::network::Network::link_stats`]), at the
    /// cost of a map entry per link used; counters per node and per region pair are
    /// always kept.
    pub fn count_links(mut self) -> Self {
        self.count_links = true;
        self
    }

    /// Switch the protocol's buggify points on ([`crate::buggify`]).
    pub fn buggify(mut self, on: bool) -> Self {
        self.buggify = on;
        self
    }

    /// A new phase starts at `at` (after the one before, which [`SimBuilder::nemesis`]
    /// or the last call gave): `nemesis` replaces the nemesis from then on, its arrivals
    /// drawn afresh. Faults already scheduled (a restart after a crash, a heal after a
    /// partition) still happen. With clients, give each phase its clients' options and
    /// workload too ([`SimBuilder::phase_workload`]), or they keep the last ones.
    pub fn phase(mut self, at: SimTime, nemesis: NemesisOptions) -> Self {
        assert!(self.phases.last().is_none_or(|(last, _)| *last < at), "phases start in order");
        self.phases.push((at, nemesis));
        self
    }

    /// Inject `action` at global time `at`.
    pub fn fault_at(mut self, at: SimTime, action: FaultAction) -> Self {
        self.schedule.push((at, action));
        self
    }

    pub fn build<N: Node>(self, config: N::Config) -> Simulation<N>
    where
        C: ClientsFor<N>,
    {
        self.build_observed(config, NoObserver)
    }

    pub fn build_observed<N: Node, O: Observer<N>>(
        self,
        config: N::Config,
        observer: O,
    ) -> Simulation<N, O>
    where
        C: ClientsFor<N>,
    {
        let seed = self.seed;
        let n = self.topology.node_count();
        let nodes = (0..n)
            .map(|i| NodeSlot {
                state: None,
                incarnation: 0,
                paused_until: SimTime::ZERO,
                leading: false,
                clock: Clock::new(self.clocks[i as usize]),
                rng: SimRng::derive(seed, Stream::Node, u64::from(i)),
                disk: Disk::new(self.disk, LazyRng::new(seed, Stream::Disk, u64::from(i))),
                timers: TimerTable::default(),
            })
            .collect();
        let clients =
            self.clients.into_clients(n, |c| SimRng::derive(seed, Stream::Client, u64::from(c)));
        let mut queue = EventQueue::with_capacity(1024 + n as usize);
        for i in 0..n {
            queue.push(SimTime::ZERO, Event::Start(NodeId(i)));
        }
        let mut network = Network::new(&self.topology, SimRng::derive(seed, Stream::Network, 0));
        if self.count_links {
            network.count_links();
        }
        let mut sim = Simulation {
            config,
            seed,
            now: SimTime::ZERO,
            queue,
            network,
            nodes,
            held: Vec::new(),
            next_message: 0,
            deferred: BTreeMap::new(),
            clients,
            client_rng: SimRng::derive(seed, Stream::Workload, 0),
            client_actions: Vec::new(),
            nemesis: self.nemesis,
            phases: Vec::new(),
            fault_rng: SimRng::derive(seed, Stream::Faults, 0),
            crash_on_rng: SimRng::derive(seed, Stream::Faults, 1),
            crash_fired: None,
            fault_stats: FaultStats::default(),
            stats: EngineStats::default(),
            counters: Counters::new(),
            buggify: if self.buggify { Buggify::on(seed) } else { Buggify::off() },
            effects: Vec::new(),
            annotations: Vec::new(),
            trace_hash: mix64(seed),
            observer,
            violation: None,
        };
        if let Some(clients) = sim.clients.as_mut() {
            for c in 0..clients.count() {
                let at = clients.first_wake(ClientId(c), sim.now);
                sim.queue.push(at, Event::ClientWake { client: ClientId(c), wake: Wake::Next });
            }
        }
        for (at, action) in self.schedule {
            sim.queue.push(at, Event::Fault(action));
        }
        // After the faults: a heal-all at a phase's end runs before the next phase starts.
        for (index, (at, _)) in self.phases.iter().enumerate() {
            sim.queue.push(*at, Event::Phase(index as u32));
        }
        sim.phases = self.phases.into_iter().map(|(_, nemesis)| nemesis).collect();
        for kind in NemesisKind::ALL {
            sim.schedule_nemesis(kind);
        }
        sim
    }
}
