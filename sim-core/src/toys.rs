//! Toy protocols for tests and benchmarks: not distributed algorithms anyone should use,
//! but small, exact workloads for the engine.

use crate::hash::stable_hash;
use crate::history::Value;
use crate::kv::{KvWorkload, Op};
use crate::node::{Context, Node, NodeId, Reply, Request};
use crate::time::{SimDuration, SimTime};

/// Node 0 serves `balls` balls to node 1, which returns each; forever.
#[derive(Debug)]
pub struct PingPong {
    pub received: u64,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum PingPongMsg {
    Ping { ball: u32, volley: u64 },
    Pong { ball: u32, volley: u64 },
}

#[derive(Clone, Copy, Debug)]
pub struct PingPongConfig {
    pub balls: u32,
}

impl Node for PingPong {
    type Config = PingPongConfig;
    type Msg = PingPongMsg;
    type Timer = ();
    type Workload = KvWorkload;

    fn start(config: &PingPongConfig, ctx: &mut Context<'_, Self>) -> Self {
        if ctx.id() == NodeId(0) {
            for ball in 0..config.balls {
                ctx.send(NodeId(1), PingPongMsg::Ping { ball, volley: 0 });
            }
        }
        PingPong { received: 0 }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: PingPongMsg) {
        self.received += 1;
        let reply = match msg {
            PingPongMsg::Ping { ball, volley } => PingPongMsg::Pong { ball, volley },
            PingPongMsg::Pong { ball, volley } => PingPongMsg::Ping { ball, volley: volley + 1 },
        };
        ctx.send(from, reply);
    }

    fn on_timer(&mut self, _ctx: &mut Context<'_, Self>, _timer: ()) {}
}

/// Every node broadcasts a numbered round to all others every `interval` of its clock.
#[derive(Debug)]
pub struct Broadcast {
    pub round: u64,
    /// Messages received, by sender.
    pub received: Vec<u64>,
    interval: SimDuration,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct RoundMsg {
    pub round: u64,
}

#[derive(Clone, Copy, Debug)]
pub struct BroadcastConfig {
    pub interval: SimDuration,
}

impl Node for Broadcast {
    type Config = BroadcastConfig;
    type Msg = RoundMsg;
    type Timer = ();
    type Workload = KvWorkload;

    fn start(config: &BroadcastConfig, ctx: &mut Context<'_, Self>) -> Self {
        // Start at a random phase, so rounds of different nodes interleave.
        let phase = ctx.random_duration(SimDuration::ZERO, config.interval);
        ctx.set_timer(phase, ());
        Broadcast { round: 0, received: vec![0; ctx.cluster_size()], interval: config.interval }
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, from: NodeId, _msg: RoundMsg) {
        self.received[from.0 as usize] += 1;
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: ()) {
        self.round += 1;
        ctx.broadcast(RoundMsg { round: self.round });
        ctx.set_timer(self.interval, ());
    }
}

/// An epidemic broadcast, for the engine at scale: node 0 starts a rumour at time zero,
/// and a node that first hears it pushes it to `fanout` random peers (drawn with
/// replacement) every `interval` of its clock, `rounds` times (infect and die). A node holds a few words and a handler touches `fanout` peers, so a
/// run costs O(n · fanout · rounds), whatever n.
#[derive(Debug)]
pub struct Epidemic {
    /// When this node first heard the rumour (its own clock), and over how many hops.
    pub infected: Option<(SimTime, u32)>,
    pushes_left: u32,
    config: EpidemicConfig,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct Rumour {
    /// Hops from node 0.
    pub hops: u32,
}

#[derive(Clone, Copy, Debug)]
pub struct EpidemicConfig {
    pub fanout: u32,
    pub rounds: u32,
    pub interval: SimDuration,
}

impl Node for Epidemic {
    type Config = EpidemicConfig;
    type Msg = Rumour;
    type Timer = ();
    type Workload = KvWorkload;

    fn start(config: &EpidemicConfig, ctx: &mut Context<'_, Self>) -> Self {
        let mut node = Epidemic { infected: None, pushes_left: 0, config: *config };
        if ctx.id() == NodeId(0) {
            node.on_message(ctx, NodeId(0), Rumour { hops: 0 });
        }
        node
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, _from: NodeId, msg: Rumour) {
        if self.infected.is_none() {
            self.infected = Some((ctx.now(), msg.hops));
            self.pushes_left = self.config.rounds;
            ctx.set_timer(self.config.interval, ());
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: ()) {
        let (Some((_, hops)), n) = (self.infected, ctx.cluster_size() as u64) else { return };
        if self.pushes_left == 0 || n < 2 {
            return;
        }
        self.pushes_left -= 1;
        let me = u64::from(ctx.id().0);
        for _ in 0..self.config.fanout {
            // A peer other than this node, uniformly.
            let peer = ctx.rng().below(n - 1);
            let peer = if peer >= me { peer + 1 } else { peer };
            ctx.send(NodeId(peer as u32), Rumour { hops: hops + 1 });
        }
        if self.pushes_left > 0 {
            ctx.set_timer(self.config.interval, ());
        }
    }
}

/// A broadcast that iterates a std `HashSet` to choose its send order: deliberately
/// nondeterministic (each set has its own random hash keys), for the self-check's tests.
#[derive(Debug)]
pub struct Nondeterministic {
    #[allow(clippy::disallowed_types)] // the point of this toy
    peers: std::collections::HashSet<u32>,
}

impl Node for Nondeterministic {
    type Config = ();
    type Msg = RoundMsg;
    type Timer = ();
    type Workload = KvWorkload;

    #[allow(clippy::disallowed_types)] // the point of this toy
    fn start(_config: &(), ctx: &mut Context<'_, Self>) -> Self {
        ctx.set_timer(SimDuration::from_millis(1), ());
        Nondeterministic { peers: ctx.peers().map(|p| p.0).collect() }
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, _msg: RoundMsg) {}

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, _timer: ()) {
        for &peer in &self.peers {
            ctx.send(NodeId(peer), RoundMsg { round: 0 });
        }
        ctx.set_timer(SimDuration::from_millis(1), ());
    }
}

/// A single-node journal: every client write appends a checksummed record to the log,
/// synced every `sync_every` records (group commit). Restart replays the log and stops at
/// the first record whose length or checksum is wrong: a torn or corrupted tail. It trusts
/// a single read, so a corrupted read cuts the log, which is what the disk model's tests
/// want to see; protocols keep their files with `protocols::durable`, which reads again.
#[derive(Debug)]
pub struct Journal {
    pub records: Vec<i64>,
    /// Bytes of the log that held valid records at recovery.
    pub recovered_bytes: usize,
    /// Whether recovery found a bad tail.
    pub found_bad_tail: bool,
    sync_every: usize,
}

#[derive(Clone, Copy, Debug)]
pub struct JournalConfig {
    pub sync_every: usize,
}

const RECORD_BYTES: usize = 8 + 8;

fn checksum(payload: &[u8]) -> u64 {
    stable_hash(payload)
}

impl Node for Journal {
    type Config = JournalConfig;
    type Msg = ();
    type Timer = ();
    type Workload = KvWorkload;

    fn start(config: &JournalConfig, ctx: &mut Context<'_, Self>) -> Self {
        let log = ctx.disk().read("log").into_owned();
        let mut records = Vec::new();
        let mut chunks = log.chunks_exact(RECORD_BYTES);
        let mut found_bad_tail = !chunks.remainder().is_empty();
        for chunk in &mut chunks {
            let (payload, sum) = chunk.split_at(8);
            if checksum(payload) != u64::from_le_bytes(sum.try_into().expect("8 bytes")) {
                found_bad_tail = true;
                break;
            }
            records.push(i64::from_le_bytes(payload.try_into().expect("8 bytes")));
        }
        let recovered_bytes = records.len() * RECORD_BYTES;
        if found_bad_tail {
            ctx.count("bad_tail_detected");
            ctx.disk().truncate("log", recovered_bytes);
            ctx.disk().sync();
        }
        Journal { records, recovered_bytes, found_bad_tail, sync_every: config.sync_every }
    }

    fn on_message(&mut self, _ctx: &mut Context<'_, Self>, _from: NodeId, _msg: ()) {}

    fn on_timer(&mut self, _ctx: &mut Context<'_, Self>, _timer: ()) {}

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request<Op>) {
        let value = self.records.len() as i64;
        let mut record = [0u8; RECORD_BYTES];
        record[..8].copy_from_slice(&value.to_le_bytes());
        let sum = checksum(&record[..8]);
        record[8..].copy_from_slice(&sum.to_le_bytes());
        ctx.disk().append("log", &record);
        self.records.push(value);
        if self.records.len().is_multiple_of(self.sync_every) {
            ctx.disk().sync();
        }
        ctx.reply(request.id, Reply::Ok(Value::Nil));
    }
}
