//! Primary-backup replication, the primary-copy scheme (Alsberg and Day, "A principle for
//! resilient sharing of distributed resources", 1976), in its simplest form: node 0 is the
//! primary and never changes; the others are backups.
//!
//! The primary orders every client command into a log, persists it (synced) and applies it,
//! then streams the log to every backup, which persists and applies it in order and
//! acknowledges cumulatively. The primary answers a client once every backup has
//! acknowledged its command, so an acknowledged write is on every disk. Reads are served by
//! the primary alone: a command the primary has applied is durable there and will reach
//! every backup, so the primary's state is the linearization order. Without failover this
//! is safe under every fault but not available while the primary is down; the liveness
//! phase restarts it.
//!
//! Known bugs: `backup_reads`: backups answer reads from their own state, which may lag the
//! primary's: a classic stale read, and a linearizability violation;
//! `reply_before_backups_ack`: the primary answers a write once it is on its own disk,
//! before the backups acknowledge it, so an acknowledged write is not on every disk (the
//! invariant `acknowledged_on_every_backup` catches it; with a fixed primary the clients
//! cannot tell).

use crate::codec::{Decoder, Encoder};
use crate::durable::RecordLog;
use crate::kv::{Applied, KvStore};
use sim_core::engine::{Nodes, Observer, Violation};
use sim_core::hash::stable_hash;
use sim_core::kv::{KvWorkload, Op};
use sim_core::node::{Context, Node, NodeId, Reply, Request, RequestId};
use sim_core::protocol::{PropertySpec, Protocol};
use sim_core::{SimDuration, SimTime};
use std::collections::{BTreeMap, VecDeque};

const PRIMARY: NodeId = NodeId(0);
const LOG_FILE: &str = "log";

sim_core::declare_options! {
    /// The options a scenario may set.
    pub struct Options {
        /// How often the primary re-sends unacknowledged entries.
        retransmit_interval: SimDuration = SimDuration::from_millis(50),
        /// Most entries re-sent to one backup per round.
        batch: usize = 64,
    }
}

sim_core::declare_bugs! {
    /// The known-bug switches.
    pub struct Bugs {
        /// Backups answer reads from their own, possibly stale, state.
        backup_reads,
        /// The primary answers a write before the backups acknowledge it.
        reply_before_backups_ack,
    }
}

/// The configuration every node starts from.
#[derive(Clone, Debug)]
pub struct Config {
    pub options: Options,
    pub bugs: Bugs,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum Msg {
    /// Log entry `index` (1-based).
    Replicate { index: u64, command: Request<Op> },
    /// The backup holds every entry up to `index`.
    Ack { index: u64 },
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Timer {
    Retransmit,
}

#[derive(Debug)]
pub struct PrimaryBackup {
    log: Vec<Request<Op>>,
    /// The log's file: one record per command.
    file: RecordLog,
    store: KvStore,
    /// Primary: per node, the highest index it acknowledged.
    acked: Vec<u64>,
    /// Primary: client requests waiting for every backup to hold the log up to an index
    /// (indexes never decrease along the queue).
    waiting: VecDeque<(u64, RequestId)>,
    /// Backup: entries that arrived ahead of a gap.
    ahead: BTreeMap<u64, Request<Op>>,
    /// Primary: the highest log index it has answered a client for (ghost state, for the
    /// invariant `acknowledged_on_every_backup`).
    answered: u64,
    config: Config,
}

impl PrimaryBackup {
    /// The commands this node has persisted and applied, in order.
    pub fn log(&self) -> &[Request<Op>] {
        &self.log
    }

    fn is_primary(ctx: &Context<'_, Self>) -> bool {
        ctx.id() == PRIMARY
    }

    fn append(&mut self, ctx: &mut Context<'_, Self>, command: Request<Op>) -> Applied {
        let mut payload = Vec::new();
        Encoder::new(&mut payload).request(&command);
        self.file.append(ctx.disk(), &payload);
        ctx.disk().sync();
        let applied = self.store.apply(&command);
        self.log.push(command);
        applied
    }

    fn replicate(&self, ctx: &mut Context<'_, Self>, to: NodeId) {
        let from = self.acked[to.0 as usize] as usize;
        for (i, command) in self.log.iter().enumerate().skip(from).take(self.config.options.batch) {
            ctx.send(to, Msg::Replicate { index: i as u64 + 1, command: command.clone() });
        }
    }

    fn answer_acknowledged(&mut self, ctx: &mut Context<'_, Self>) {
        let everywhere = if self.config.bugs.reply_before_backups_ack {
            self.log.len() as u64
        } else {
            ctx.peers().map(|p| self.acked[p.0 as usize]).min().unwrap_or(u64::MAX)
        };
        while let Some(&(index, id)) = self.waiting.front() {
            if index > everywhere {
                break;
            }
            self.waiting.pop_front();
            self.answered = self.answered.max(index);
            // A later request of the same client replaces the session; that client has
            // given up on this one, so there is no one to answer.
            if let Some(reply) = self.store.cached_reply(id) {
                ctx.reply(id, reply.clone());
            }
        }
    }
}

/// The command of a log record (`None` if the record is not one).
fn decode_command(payload: &[u8]) -> Option<Request<Op>> {
    let mut d = Decoder::new(payload);
    let command = d.request()?;
    d.is_done().then_some(command)
}

impl Node for PrimaryBackup {
    type Config = Config;
    type Msg = Msg;
    type Timer = Timer;
    type Workload = KvWorkload;

    fn start(config: &Config, ctx: &mut Context<'_, Self>) -> Self {
        // A torn tail is cut; a read with a flipped bit is read again, not cut (which would
        // throw away acknowledged commands).
        let recovered = RecordLog::recover(ctx.disk(), LOG_FILE, |_, p| decode_command(p));
        recovered.report.count(ctx);
        let mut node = PrimaryBackup {
            log: Vec::new(),
            file: recovered.log,
            store: KvStore::default(),
            acked: vec![0; ctx.cluster_size()],
            waiting: VecDeque::new(),
            ahead: BTreeMap::new(),
            answered: 0,
            config: config.clone(),
        };
        for command in recovered.records {
            node.store.apply(&command);
            node.log.push(command);
        }
        if Self::is_primary(ctx) {
            ctx.set_timer(config.options.retransmit_interval, Timer::Retransmit);
        } else {
            ctx.send(PRIMARY, Msg::Ack { index: node.log.len() as u64 });
        }
        node
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Replicate { index, command } => {
                if index > self.log.len() as u64 + 1 {
                    self.ahead.insert(index, command);
                } else if index == self.log.len() as u64 + 1 {
                    self.append(ctx, command);
                    while let Some(next) = self.ahead.remove(&(self.log.len() as u64 + 1)) {
                        self.append(ctx, next);
                    }
                    self.ahead.retain(|&i, _| i > self.log.len() as u64);
                }
                ctx.send(from, Msg::Ack { index: self.log.len() as u64 });
            }
            Msg::Ack { index } => {
                let acked = &mut self.acked[from.0 as usize];
                if index > *acked {
                    *acked = index.min(self.log.len() as u64);
                    self.answer_acknowledged(ctx);
                } else if index < *acked {
                    // The backup lost entries we thought it had (it can't: it syncs before
                    // acknowledging), or this ack is old news. Trust the larger value.
                    ctx.count("stale_ack");
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Context<'_, Self>, timer: Timer) {
        match timer {
            Timer::Retransmit => {
                for peer in ctx.peers() {
                    if self.acked[peer.0 as usize] < self.log.len() as u64 {
                        self.replicate(ctx, peer);
                    }
                }
                ctx.set_timer(self.config.options.retransmit_interval, Timer::Retransmit);
            }
        }
    }

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request<Op>) {
        if !Self::is_primary(ctx) {
            match request.op {
                Op::Read { key } if self.config.bugs.backup_reads => {
                    ctx.reply(request.id, Reply::Ok(self.store.read(key)));
                }
                _ => ctx.reply(request.id, Reply::Redirect(Some(PRIMARY))),
            }
            return;
        }
        if let Op::Read { key } = request.op {
            ctx.reply(request.id, Reply::Ok(self.store.read(key)));
            return;
        }
        if self.store.cached_reply(request.id).is_some() {
            // A retry of a command already in the log: answer once the whole log so far
            // is everywhere, which includes it.
            ctx.count("request_deduplicated");
            self.waiting.push_back((self.log.len() as u64, request.id));
            self.answer_acknowledged(ctx);
            return;
        }
        let command = Request { id: request.id, op: request.op };
        if self.append(ctx, command) == Applied::Stale {
            return; // older than the client's latest request: nobody waits for it
        }
        let index = self.log.len() as u64;
        self.waiting.push_back((index, request.id));
        for peer in ctx.peers() {
            if self.acked[peer.0 as usize] + 1 == index {
                let command = self.log[index as usize - 1].clone();
                ctx.send(peer, Msg::Replicate { index, command });
            }
        }
        self.answer_acknowledged(ctx);
    }
}

/// State machine safety: no two nodes hold different commands at the same log index; and
/// durability: every command the primary has answered for is in the log of every live
/// backup (which syncs before acknowledging, and recovers it after a crash).
#[derive(Debug, Default)]
pub struct Invariants {
    /// Digest of the command first seen at each index.
    digests: Vec<u64>,
    /// Per node, how much of its log has been compared.
    checked: Vec<usize>,
}

impl Observer<PrimaryBackup> for Invariants {
    fn after_node(
        &mut self,
        time: SimTime,
        node: NodeId,
        nodes: &Nodes<'_, PrimaryBackup>,
        _annotations: &[String],
    ) -> Result<(), Violation> {
        if self.checked.len() < nodes.len() {
            self.checked.resize(nodes.len(), 0);
        }
        let Some(state) = nodes.get(node) else {
            self.checked[node.0 as usize] = 0;
            return Ok(());
        };
        let from = self.checked[node.0 as usize].min(state.log.len());
        for (i, command) in state.log.iter().enumerate().skip(from) {
            let digest = stable_hash(command);
            match self.digests.get(i) {
                None => self.digests.push(digest),
                Some(&seen) if seen != digest => {
                    return Err(Violation {
                        invariant: "state_machine_safety".into(),
                        message: format!(
                            "{node} holds {command:?} at index {}, another node a different command",
                            i + 1
                        ),
                        time,
                        node: Some(node),
                    });
                }
                Some(_) => {}
            }
        }
        self.checked[node.0 as usize] = state.log.len();
        acknowledged_on_every_backup(time, nodes)
    }
}

fn acknowledged_on_every_backup(
    time: SimTime,
    nodes: &Nodes<'_, PrimaryBackup>,
) -> Result<(), Violation> {
    let Some(primary) = nodes.get(PRIMARY) else { return Ok(()) };
    for (id, backup) in nodes.iter().skip(1) {
        if let Some(backup) = backup.filter(|b| (b.log.len() as u64) < primary.answered) {
            return Err(Violation {
                invariant: "acknowledged_on_every_backup".into(),
                message: format!(
                    "the primary answered for the command at index {}, but backup {id} holds only {}",
                    primary.answered,
                    backup.log.len()
                ),
                time,
                node: Some(id),
            });
        }
    }
    Ok(())
}

impl Protocol for PrimaryBackup {
    const NAME: &'static str = "primary-backup";
    const SUMMARY: &'static str =
        "Primary-copy replication with a fixed primary (node 0) and synchronous backups";
    type Invariants = Invariants;
    type Options = Options;
    type Bugs = Bugs;

    fn configure(options: Options, bugs: Bugs) -> Result<Config, String> {
        if options.batch < 1 {
            return Err(format!("batch must be at least 1, not {}", options.batch));
        }
        if options.retransmit_interval == SimDuration::ZERO {
            return Err("retransmit_interval must be positive, e.g. \"50ms\": at zero the \
                        primary re-sends without end at one instant"
                .into());
        }
        Ok(Config { options, bugs })
    }

    fn replica_digest(&self) -> Option<u64> {
        Some(self.store.digest())
    }

    fn properties() -> Vec<PropertySpec> {
        vec![
            PropertySpec::always(
                "state_machine_safety",
                "No two nodes hold different commands at one log index.",
            ),
            PropertySpec::always(
                "acknowledged_on_every_backup",
                "Every command the primary answered for is on the disk of every backup.",
            ),
        ]
    }
}
