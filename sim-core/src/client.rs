//! Simulated clients and the workload they run. Each client has at most one operation
//! open; it records the invocation, sends the request to a node, follows redirects,
//! re-sends to another node when no answer comes (under the same request id, so a protocol
//! with sessions applies it once), and gives up at the operation's timeout, recording it as
//! `info` (indeterminate). As in Jepsen, a process that saw `info` never issues again: the
//! client continues under a fresh process id.

use crate::history::{EventType, History, HistoryEvent, Value};
use crate::latency::Latency;
use crate::node::{ClientId, NodeId, Op, Reply, Request, RequestId};
use crate::rng::SimRng;
use crate::time::{SimDuration, SimTime};

/// Relative weights of each operation kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpMix {
    pub read: u32,
    pub write: u32,
    pub cas: u32,
    pub append: u32,
}

impl Default for OpMix {
    fn default() -> Self {
        OpMix { read: 1, write: 1, cas: 0, append: 0 }
    }
}

impl OpMix {
    fn total(&self) -> u64 {
        u64::from(self.read) + u64::from(self.write) + u64::from(self.cas) + u64::from(self.append)
    }
}

/// How keys are chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeyDistribution {
    Uniform,
    /// Zipf with this exponent (1.0 is classic; larger is more skewed).
    Zipf {
        exponent: f64,
    },
}

/// What the clients do.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadOptions {
    pub clients: u32,
    pub mix: OpMix,
    pub keys: u64,
    pub distribution: KeyDistribution,
    /// Pause between an operation's completion and the client's next invocation.
    pub think_time: Latency,
    /// An operation with no definite answer by then is recorded as `info`.
    pub timeout: SimDuration,
    /// Re-send to another node after this long without an answer.
    pub retry_after: SimDuration,
    /// One-way delay between a client and a node.
    pub latency: Latency,
    /// Stop invoking after this many operations in total.
    pub max_ops: Option<u64>,
    /// Stop invoking at this time.
    pub stop_at: Option<SimTime>,
}

impl Default for WorkloadOptions {
    fn default() -> Self {
        WorkloadOptions {
            clients: 3,
            mix: OpMix::default(),
            keys: 3,
            distribution: KeyDistribution::Uniform,
            think_time: Latency::Uniform {
                min: SimDuration::from_millis(1),
                max: SimDuration::from_millis(10),
            },
            timeout: SimDuration::from_millis(1000),
            retry_after: SimDuration::from_millis(200),
            latency: Latency::constant_millis(1),
            max_ops: None,
            stop_at: None,
        }
    }
}

/// What a client asks the engine to do next.
#[derive(Debug, PartialEq)]
pub(crate) enum ClientAction {
    /// Deliver `request` to `node` after `delay`.
    Send { node: NodeId, request: Request, delay: SimDuration },
    /// Wake the client at `at` with `wake`.
    Wake { at: SimTime, wake: Wake },
}

/// Why a client wakes up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wake {
    /// Think time is over: invoke the next operation.
    Next,
    /// Re-send operation `seq` if it is still open after `attempt` sends.
    Retry { seq: u64, attempt: u32 },
    /// Give up on operation `seq` if it is still open.
    Deadline { seq: u64 },
}

#[derive(Clone, Debug)]
struct OpenOp {
    request: Request,
    attempts: u32,
    /// Redirects followed at once since the last send of a retry wake-up.
    fast_redirects: u32,
}

#[derive(Clone, Debug)]
struct Client {
    process: u64,
    seq: u64,
    target: NodeId,
    open: Option<OpenOp>,
    rng: SimRng,
}

/// Counters of client activity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    pub invoked: u64,
    pub ok: u64,
    pub fail: u64,
    pub info: u64,
    pub redirects: u64,
    pub resends: u64,
}

/// Redirects followed at once before backing off for `retry_after` (no redirect loop can
/// spin the engine). The budget is per retry round: after a back-off, a redirect that names
/// the new leader is followed at once again.
const FAST_REDIRECTS: u32 = 8;

/// All clients, their workload and the history they record.
#[derive(Clone, Debug)]
pub struct Clients {
    options: WorkloadOptions,
    node_count: u32,
    clients: Vec<Client>,
    zipf_cdf: Vec<f64>,
    next_value: i64,
    /// The last value the workload wrote to each key (a likely cas expectation).
    last_written: Vec<Value>,
    history: History,
    stats: ClientStats,
    /// Values are strings (which `append` concatenates) when the mix appends, else integers.
    string_values: bool,
}

impl Clients {
    pub fn new(options: WorkloadOptions, node_count: u32, rngs: impl Fn(u32) -> SimRng) -> Self {
        assert!(node_count > 0 && options.keys > 0, "a workload needs nodes and keys");
        assert!(options.mix.total() > 0, "a workload needs a non-empty op mix");
        let clients = (0..options.clients)
            .map(|c| {
                let mut rng = rngs(c);
                let target = NodeId(rng.below(u64::from(node_count)) as u32);
                Client { process: u64::from(c), seq: 0, target, open: None, rng }
            })
            .collect();
        let zipf_cdf = match options.distribution {
            KeyDistribution::Uniform => Vec::new(),
            KeyDistribution::Zipf { exponent } => zipf_cdf(options.keys, exponent),
        };
        let string_values = options.mix.append > 0;
        Clients {
            last_written: vec![Value::Nil; options.keys as usize],
            options,
            node_count,
            clients,
            zipf_cdf,
            next_value: 0,
            history: History::default(),
            stats: ClientStats::default(),
            string_values,
        }
    }

    pub fn count(&self) -> u32 {
        self.clients.len() as u32
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn stats(&self) -> ClientStats {
        self.stats
    }

    pub fn options(&self) -> &WorkloadOptions {
        &self.options
    }

    /// Operations invoked and not yet completed.
    pub fn open_operations(&self) -> usize {
        self.clients.iter().filter(|c| c.open.is_some()).count()
    }

    /// When client `id` first invokes an operation.
    pub(crate) fn first_wake(&mut self, id: ClientId, now: SimTime) -> SimTime {
        let client = &mut self.clients[id.0 as usize];
        now + self.options.think_time.sample(&mut client.rng)
    }

    pub(crate) fn on_wake(
        &mut self,
        id: ClientId,
        wake: Wake,
        now: SimTime,
        out: &mut Vec<ClientAction>,
    ) {
        match wake {
            Wake::Next => self.invoke(id, now, out),
            Wake::Retry { seq, attempt } => {
                let node_count = self.node_count;
                let retry_after = self.options.retry_after;
                let latency = self.options.latency.clone();
                let client = &mut self.clients[id.0 as usize];
                let Some(open) = client.open.as_mut() else { return };
                if open.request.id.seq != seq || open.attempts != attempt {
                    return;
                }
                client.target = NodeId((client.target.0 + 1) % node_count);
                open.attempts += 1;
                open.fast_redirects = 0;
                self.stats.resends += 1;
                let request = open.request.clone();
                let attempt = open.attempts;
                let delay = latency.sample(&mut client.rng);
                out.push(ClientAction::Send { node: client.target, request, delay });
                out.push(ClientAction::Wake {
                    at: now + retry_after,
                    wake: Wake::Retry { seq, attempt },
                });
            }
            Wake::Deadline { seq } => {
                let client = &self.clients[id.0 as usize];
                if client.open.as_ref().is_some_and(|o| o.request.id.seq == seq) {
                    self.complete(id, EventType::Info, None, now, out);
                }
            }
        }
    }

    pub(crate) fn on_reply(
        &mut self,
        id: ClientId,
        request: RequestId,
        reply: Reply,
        now: SimTime,
        out: &mut Vec<ClientAction>,
    ) {
        let client = &mut self.clients[id.0 as usize];
        let Some(open) = client.open.as_mut() else { return };
        if open.request.id != request {
            return; // an answer to an attempt we gave up on
        }
        match reply {
            Reply::Ok(value) => self.complete(id, EventType::Ok, Some(value), now, out),
            Reply::Fail => self.complete(id, EventType::Fail, None, now, out),
            Reply::Redirect(hint) => {
                self.stats.redirects += 1;
                open.attempts += 1;
                client.target = match hint {
                    Some(node) if node.0 < self.node_count => node,
                    _ => NodeId((client.target.0 + 1) % self.node_count),
                };
                open.fast_redirects += 1;
                let request = open.request.clone();
                let (seq, attempt) = (request.id.seq, open.attempts);
                if open.fast_redirects <= FAST_REDIRECTS {
                    let delay = self.options.latency.sample(&mut client.rng);
                    out.push(ClientAction::Send { node: client.target, request, delay });
                    let at = now + self.options.retry_after;
                    out.push(ClientAction::Wake { at, wake: Wake::Retry { seq, attempt } });
                } else {
                    // Back off: the retry wake-up re-sends to the node after this one.
                    client.target =
                        NodeId((client.target.0 + self.node_count - 1) % self.node_count);
                    let at = now + self.options.retry_after;
                    out.push(ClientAction::Wake { at, wake: Wake::Retry { seq, attempt } });
                }
            }
        }
    }

    fn exhausted(&self, now: SimTime) -> bool {
        self.options.max_ops.is_some_and(|max| self.stats.invoked >= max)
            || self.options.stop_at.is_some_and(|stop| now >= stop)
    }

    fn invoke(&mut self, id: ClientId, now: SimTime, out: &mut Vec<ClientAction>) {
        if self.exhausted(now) || self.clients[id.0 as usize].open.is_some() {
            return;
        }
        let op = self.generate_op(id);
        let client = &mut self.clients[id.0 as usize];
        client.seq += 1;
        let request = Request { id: RequestId { client: id, seq: client.seq }, op };
        self.stats.invoked += 1;
        self.history.push(HistoryEvent {
            process: client.process,
            kind: EventType::Invoke,
            f: request.op.function(),
            key: Some(Value::Int(request.op.key() as i64)),
            value: request.op.argument(),
            time: Some(now),
        });
        let seq = client.seq;
        let delay = self.options.latency.sample(&mut client.rng);
        client.open = Some(OpenOp { request: request.clone(), attempts: 1, fast_redirects: 0 });
        out.push(ClientAction::Send { node: client.target, request, delay });
        out.push(ClientAction::Wake {
            at: now + self.options.retry_after,
            wake: Wake::Retry { seq, attempt: 1 },
        });
        out.push(ClientAction::Wake {
            at: now + self.options.timeout,
            wake: Wake::Deadline { seq },
        });
    }

    fn complete(
        &mut self,
        id: ClientId,
        kind: EventType,
        read: Option<Value>,
        now: SimTime,
        out: &mut Vec<ClientAction>,
    ) {
        let client_count = self.clients.len() as u64;
        let client = &mut self.clients[id.0 as usize];
        let open = client.open.take().expect("completing an open operation");
        let value = match (&open.request.op, read) {
            (Op::Read { .. }, Some(value)) => value,
            _ => open.request.op.argument(),
        };
        self.history.push(HistoryEvent {
            process: client.process,
            kind,
            f: open.request.op.function(),
            key: Some(Value::Int(open.request.op.key() as i64)),
            value,
            time: Some(now),
        });
        match kind {
            EventType::Ok => self.stats.ok += 1,
            EventType::Fail => self.stats.fail += 1,
            EventType::Info => {
                self.stats.info += 1;
                client.process += client_count;
            }
            EventType::Invoke => unreachable!("an invoke does not complete an operation"),
        }
        let delay = self.options.think_time.sample(&mut client.rng);
        out.push(ClientAction::Wake { at: now + delay, wake: Wake::Next });
    }

    fn fresh_value(&mut self) -> Value {
        self.next_value += 1;
        if self.string_values {
            Value::Str(format!("{} ", self.next_value))
        } else {
            Value::Int(self.next_value)
        }
    }

    fn generate_op(&mut self, id: ClientId) -> Op {
        let mix = self.options.mix;
        let client = &mut self.clients[id.0 as usize];
        let key = match self.options.distribution {
            KeyDistribution::Uniform => client.rng.below(self.options.keys),
            KeyDistribution::Zipf { .. } => {
                let u = client.rng.unit();
                self.zipf_cdf.partition_point(|&p| p < u).min(self.zipf_cdf.len() - 1) as u64
            }
        };
        let mut pick = client.rng.below(mix.total());
        let expect_current = client.rng.chance(0.75);
        let mut take = |weight: u32| {
            let hit = pick < u64::from(weight);
            pick = pick.saturating_sub(u64::from(weight));
            hit
        };
        if take(mix.read) {
            return Op::Read { key };
        }
        let slot = key as usize;
        if take(mix.write) {
            let value = self.fresh_value();
            self.last_written[slot] = value.clone();
            return Op::Write { key, value };
        }
        if take(mix.cas) {
            let expected =
                if expect_current { self.last_written[slot].clone() } else { self.fresh_value() };
            let new = self.fresh_value();
            self.last_written[slot] = new.clone();
            return Op::Cas { key, expected, new };
        }
        let value = self.fresh_value();
        Op::Append { key, value }
    }
}

fn zipf_cdf(keys: u64, exponent: f64) -> Vec<f64> {
    let weights: Vec<f64> = (1..=keys).map(|k| 1.0 / libm::pow(k as f64, exponent)).collect();
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    weights
        .iter()
        .map(|w| {
            acc += w / total;
            acc
        })
        .collect()
}
