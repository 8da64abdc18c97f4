//! Epidemic broadcast after Demers et al., "Epidemic Algorithms for Replicated Database
//! Maintenance" (PODC 1987), with the push, pull and push-pull exchanges of Karp et al.,
//! "Randomized Rumor Spreading" (FOCS 2000).
//!
//! A client asks any node to spread a rumour ([`workload`]); the node makes it durable
//! (so its acknowledgement survives a crash), answers, and the rumour becomes *hot* there.
//! Every `interval` a node runs a round with `fanout` peers drawn by
//! [`Context::random_peers`] from the whole cluster, or, with `peers = "cyclon"`, from
//! a partial view of `view_size` neighbours that Cyclon's shuffles keep fresh
//! ([`crate::peer_sampling`]), so that no node needs to know the membership:
//!
//! - **push** (rumour mongering): it sends its hot rumours to each of them; a rumour stays
//!   hot for `rounds` rounds after the node learned it (Demers' blind counter), then the
//!   node stops pushing it. Fire and forget: a node that is down the whole time never
//!   hears it.
//! - **pull** (anti-entropy): it sends the first of them the ids of every rumour it holds,
//!   and that peer answers with the rumours it lacks. Pull never stops, so a node that was
//!   down or cut off catches up after it comes back.
//! - **push-pull**: both, the pull carrying the puller's hot rumours.
//!
//! With push, the informed set roughly multiplies by `fanout + 1` each round (log(n)
//! rounds); with pull, the uninformed fraction squares each round near the end, so
//! push-pull reaches everyone in about log3(n) + O(log log n) rounds (Karp et al.). A pull
//! that gets no answer by the next round is counted lost and the node simply pulls again
//! (the known bug `pull_never_retries` waits forever instead).
//!
//! Its checks (`checks.rs`): the online invariant `integrity` (a node holds only rumours a
//! client asked for), the checker `epidemic` (every live node got every acknowledged
//! rumour within `delivery_bound`), and the coverage metrics (time until 50, 90, 99 and
//! 100% of the live nodes held a rumour).

mod checks;
pub mod config;
pub mod workload;

pub use checks::{Epidemic, GossipObserver, PROPERTIES};
pub use config::{Bugs, GossipConfig, GossipOptions, Mode, Peers};
pub use workload::{RumourEvent, RumourId, RumourWorkload, Spread};

use crate::codec::{Decoder, Encoder};
use crate::durable::RecordLog;
use crate::peer_sampling::{Cyclon, Entry};
use sim_core::checker::CheckerSpec;
use sim_core::node::{Context, Node, NodeId, Reply, Request};
use sim_core::protocol::{Metrics, PropertySpec, Protocol};
use sim_core::{SimDuration, SimTime};
use std::collections::BTreeMap;

/// A rumour as it travels: its id and when its origin accepted it (the origin's clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rumour {
    pub id: RumourId,
    pub born_at: SimTime,
}

/// What a node knows of a rumour it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    pub born_at: SimTime,
    /// When this node first held it since its last start, on its own clock.
    pub received_at: SimTime,
}

/// Gossip's messages.
#[derive(Clone, Debug, Hash)]
pub enum Msg {
    /// The sender's hot rumours. No answer.
    Push { rumours: Vec<Rumour> },
    /// Anti-entropy: the ids the sender holds, in order (and, in push-pull, its hot
    /// rumours); the receiver answers with what the sender lacks.
    Pull { round: u64, holds: Vec<RumourId>, rumours: Vec<Rumour> },
    /// The answer to the pull of `round`: the rumours the puller lacked (perhaps none,
    /// so the puller knows its pull was answered).
    PullReply { round: u64, rumours: Vec<Rumour> },
    /// Cyclon: the sender's shuffle `seq`, itself at age 0 and some of its neighbours;
    /// the receiver answers with some of its own.
    Shuffle { seq: u64, entries: Vec<Entry> },
    /// Cyclon: the answer to shuffle `seq`.
    ShuffleReply { seq: u64, entries: Vec<Entry> },
}

/// Gossip's timers.
#[derive(Clone, Debug, Hash)]
pub enum Timer {
    Round,
    /// Cyclon: the next shuffle.
    Shuffle,
}

/// The rumours this node accepted from clients, durable before it answered.
const ORIGINATED: &str = "originated";

/// One gossip node.
#[derive(Debug)]
pub struct Gossip {
    config: GossipConfig,
    /// When this node (re)started, on its own clock.
    started_at: SimTime,
    held: BTreeMap<RumourId, Held>,
    /// Every rumour held, in the order learned (observers read what is new at the end).
    learned: Vec<RumourId>,
    /// Rumours still pushed, with the rounds left.
    hot: Vec<(Rumour, u64)>,
    /// The round whose pull has not been answered yet.
    unanswered_pull: Option<u64>,
    round: u64,
    originated: RecordLog,
    /// With `peers = "cyclon"`, the partial view the rounds draw their peers from.
    view: Option<Cyclon>,
}

impl Gossip {
    /// Every rumour held, by id.
    pub fn held(&self) -> &BTreeMap<RumourId, Held> {
        &self.held
    }

    /// The rumours held, in the order this node learned them since its last start.
    pub fn learned(&self) -> &[RumourId] {
        &self.learned
    }

    /// When this node last started, on its own clock.
    pub fn started_at(&self) -> SimTime {
        self.started_at
    }

    pub fn config(&self) -> &GossipConfig {
        &self.config
    }

    /// With `peers = "cyclon"`, this node's partial view.
    pub fn view(&self) -> Option<&Cyclon> {
        self.view.as_ref()
    }

    /// Hold `rumour` from now on, hot if this mode pushes; false if it was held already.
    fn learn(&mut self, ctx: &mut Context<'_, Self>, rumour: Rumour) -> bool {
        if self.held.contains_key(&rumour.id) {
            ctx.count("rumour_redundant");
            return false;
        }
        let received_at = ctx.now();
        self.held.insert(rumour.id, Held { born_at: rumour.born_at, received_at });
        self.learned.push(rumour.id);
        if self.config.mode.pushes() {
            self.hot.push((rumour, self.config.rounds));
        }
        ctx.count("rumour_learned");
        true
    }

    fn learn_all(&mut self, ctx: &mut Context<'_, Self>, rumours: Vec<Rumour>) -> usize {
        rumours.into_iter().filter(|&r| self.learn(ctx, r)).count()
    }

    /// The hot rumours to send this round; each is sent in `rounds` rounds, then cools.
    fn take_hot(&mut self) -> Vec<Rumour> {
        let rumours = self.hot.iter().map(|(r, _)| *r).collect();
        for (_, left) in &mut self.hot {
            *left -= 1;
        }
        self.hot.retain(|(_, left)| *left > 0);
        rumours
    }

    /// The held rumours whose ids are not in `holds` (sorted).
    fn missing_from(&self, holds: &[RumourId]) -> Vec<Rumour> {
        self.held
            .iter()
            .filter(|(id, _)| holds.binary_search(id).is_err())
            .map(|(&id, h)| Rumour { id, born_at: h.born_at })
            .collect()
    }

    fn round(&mut self, ctx: &mut Context<'_, Self>) {
        self.round += 1;
        let peers = match &self.view {
            Some(view) => view.sample(ctx.rng(), self.config.fanout),
            None => ctx.random_peers(self.config.fanout),
        };
        let hot = if self.config.mode.pushes() { self.take_hot() } else { Vec::new() };
        let pull = self.config.mode.pulls() && self.may_pull(ctx);
        for (i, &peer) in peers.iter().enumerate() {
            if i == 0 && pull {
                let holds = self.held.keys().copied().collect();
                ctx.send(peer, Msg::Pull { round: self.round, holds, rumours: hot.clone() });
                self.unanswered_pull = Some(self.round);
            } else if !hot.is_empty() {
                ctx.send(peer, Msg::Push { rumours: hot.clone() });
            }
        }
        ctx.set_timer(self.config.interval, Timer::Round);
    }

    /// Whether to pull this round. A pull still unanswered a round later was lost (or
    /// its answer was): pull again, from another peer.
    fn may_pull(&mut self, ctx: &mut Context<'_, Self>) -> bool {
        if self.unanswered_pull.is_none() {
            return true;
        }
        if self.config.bugs.pull_never_retries {
            return false;
        }
        ctx.count("pull_round_lost");
        true
    }

    /// Cyclon's shuffle with the oldest neighbour, and the next one set.
    fn shuffle(&mut self, ctx: &mut Context<'_, Self>) {
        let (Some(view), Peers::Cyclon { interval, .. }) = (&mut self.view, self.config.peers)
        else {
            return;
        };
        if view.awaiting() {
            // Lost, or its target is down or cut off: the target has left the view.
            ctx.count("shuffle_unanswered");
        }
        match view.start_shuffle(ctx.rng()) {
            Some(shuffle) => {
                ctx.send(shuffle.to, Msg::Shuffle { seq: shuffle.seq, entries: shuffle.entries })
            }
            None => ctx.count("view_empty"),
        }
        ctx.set_timer(interval, Timer::Shuffle);
    }
}

fn encode(rumour: &Rumour) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut e = Encoder::new(&mut bytes);
    e.u64(rumour.id);
    e.u64(rumour.born_at.as_nanos());
    bytes
}

fn decode(bytes: &[u8]) -> Option<Rumour> {
    let mut d = Decoder::new(bytes);
    let rumour = Rumour { id: d.u64()?, born_at: SimTime(d.u64()?) };
    d.is_done().then_some(rumour)
}

impl Node for Gossip {
    type Config = GossipConfig;
    type Msg = Msg;
    type Timer = Timer;
    type Workload = RumourWorkload;

    fn start(config: &GossipConfig, ctx: &mut Context<'_, Self>) -> Self {
        let recovered = RecordLog::recover(ctx.disk(), ORIGINATED, |_, b| decode(b));
        recovered.report.count(ctx);
        let mut node = Gossip {
            config: *config,
            started_at: ctx.now(),
            held: BTreeMap::new(),
            learned: Vec::new(),
            hot: Vec::new(),
            unanswered_pull: None,
            round: 0,
            originated: recovered.log,
            view: None,
        };
        if let Peers::Cyclon { view_size, length, interval } = config.peers {
            let initial = ctx.random_peers(view_size);
            node.view = Some(Cyclon::new(ctx.id(), view_size, length, initial));
            let phase = ctx.random_duration(SimDuration::ZERO, interval);
            ctx.set_timer(phase, Timer::Shuffle);
        }
        if !recovered.records.is_empty() {
            ctx.count("recovered_from_disk");
        }
        node.learn_all(ctx, recovered.records);
        // A random phase, so that the nodes' rounds do not all fall on one instant.
        let phase = ctx.random_duration(SimDuration::ZERO, config.interval);
        ctx.set_timer(phase, Timer::Round);
        node
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Push { rumours } => {
                self.learn_all(ctx, rumours);
            }
            Msg::Pull { round, holds, rumours } => {
                self.learn_all(ctx, rumours);
                let missing = self.missing_from(&holds);
                ctx.send(from, Msg::PullReply { round, rumours: missing });
            }
            Msg::PullReply { round, rumours } => {
                if self.unanswered_pull == Some(round) {
                    self.unanswered_pull = None;
                }
                if self.learn_all(ctx, rumours) > 0 {
                    ctx.count("caught_up_by_pull");
                }
            }
            Msg::Shuffle { seq, entries } => {
                let Some(view) = self.view.as_mut() else { return };
                let answer = view.answer(ctx.rng(), &entries);
                ctx.send(from, Msg::ShuffleReply { seq, entries: answer });
            }
            Msg::ShuffleReply { seq, entries } => {
                let Some(view) = self.view.as_mut() else { return };
                if view.answered(seq, &entries) {
                    ctx.count("shuffle_answered");
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        match timer {
            Timer::Round => self.round(ctx),
            Timer::Shuffle => self.shuffle(ctx),
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request<Spread>) {
        let id = request.op.rumour;
        if !self.held.contains_key(&id) {
            let rumour = Rumour { id, born_at: ctx.now() };
            self.originated.append(ctx.disk(), &encode(&rumour));
            ctx.disk().sync(); // durable before the client hears it was accepted
            self.learn(ctx, rumour);
        }
        ctx.reply(request.id, Reply::Ok(()));
    }
}

impl Protocol for Gossip {
    const NAME: &'static str = "gossip";
    const SUMMARY: &'static str = "Epidemic broadcast (Demers et al.): push rumour mongering, \
        pull anti-entropy or push-pull, with fanout, rounds and interval as options";

    type Invariants = GossipObserver;
    type Options = GossipOptions;
    type Bugs = Bugs;

    fn configure(options: GossipOptions, bugs: Bugs) -> Result<GossipConfig, String> {
        GossipConfig::new(&options, bugs)
    }

    fn properties() -> Vec<PropertySpec> {
        PROPERTIES.to_vec()
    }

    fn checkers() -> Vec<CheckerSpec<Self>> {
        vec![CheckerSpec {
            name: "epidemic",
            doc: "Every live node holds every acknowledged rumour within delivery_bound of \
                  the later of its acknowledgement, the last heal and the node's start",
            make: || Box::new(Epidemic),
        }]
    }

    fn metrics(observer: &GossipObserver, end: SimTime) -> Metrics {
        observer.metrics(end)
    }
}
