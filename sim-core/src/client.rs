//! Simulated clients, whatever workload they run. Each client has at most one operation
//! open; it records the invocation, sends the request to a node, follows redirects,
//! re-sends to another node when no answer comes (under the same request id, so a protocol
//! with sessions applies it once), and gives up at the operation's timeout, recording it as
//! `info` (indeterminate). As in Jepsen, a process that saw `info` never issues again: the
//! client continues under a fresh process id. What the operations are, and how they are
//! recorded, is the [`Workload`]'s.

use crate::faults::FaultAction;
use crate::history::{History, NemesisEvent, Origin};
use crate::latency::Latency;
use crate::node::{ClientId, Node, NodeId, Reply, Request, RequestId};
use crate::rng::SimRng;
use crate::time::{SimDuration, SimTime};
use crate::workload::{Outcome, Workload};

/// How the clients behave, whatever their workload.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientOptions {
    pub clients: u32,
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

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            clients: 3,
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

/// A simulation builder's clients before a workload is given: none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoClients;

/// A simulation builder's clients: how they behave and the workload they run.
#[derive(Clone, Debug)]
pub struct WithClients<W> {
    pub options: ClientOptions,
    pub workload: W,
    /// What the clients do from the start of each phase after the first, in phase order
    /// ([`crate::engine::SimBuilder::phase`]); empty for a run of one phase.
    pub phases: Vec<(ClientOptions, W)>,
}

/// The clients a builder holds, made ready for a run of protocol `N`: a workload is
/// accepted only by a protocol that serves it.
pub trait ClientsFor<N: Node> {
    fn into_clients(
        self,
        node_count: u32,
        rngs: impl Fn(u32) -> SimRng,
    ) -> Option<Clients<N::Workload>>;
}

impl<N: Node> ClientsFor<N> for NoClients {
    fn into_clients(self, _: u32, _: impl Fn(u32) -> SimRng) -> Option<Clients<N::Workload>> {
        None
    }
}

impl<N: Node<Workload = W>, W: Workload> ClientsFor<N> for WithClients<W> {
    fn into_clients(self, node_count: u32, rngs: impl Fn(u32) -> SimRng) -> Option<Clients<W>> {
        let mut clients = Clients::new(self.options, self.workload, node_count, rngs);
        clients.phases = self.phases.into_iter().map(Some).collect();
        Some(clients)
    }
}

/// What a client asks the engine to do next.
#[derive(Debug, PartialEq)]
pub(crate) enum ClientAction<Op> {
    /// Deliver `request` to `node` after `delay`.
    Send { node: NodeId, request: Request<Op>, delay: SimDuration },
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
struct OpenOp<Op> {
    request: Request<Op>,
    attempts: u32,
    /// Redirects followed at once since the last send of a retry wake-up.
    fast_redirects: u32,
}

#[derive(Clone, Debug)]
struct Client<Op> {
    process: u64,
    seq: u64,
    target: NodeId,
    open: Option<OpenOp<Op>>,
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
pub struct Clients<W: Workload> {
    options: ClientOptions,
    node_count: u32,
    clients: Vec<Client<W::Op>>,
    workload: W,
    history: History<W::Event>,
    stats: ClientStats,
    /// The options and workload of each phase after the first, until it starts.
    phases: Vec<Option<(ClientOptions, W)>>,
}

impl<W: Workload> Clients<W> {
    pub fn new(
        options: ClientOptions,
        workload: W,
        node_count: u32,
        rngs: impl Fn(u32) -> SimRng,
    ) -> Self {
        assert!(node_count > 0, "clients need nodes");
        let clients = (0..options.clients)
            .map(|c| {
                let mut rng = rngs(c);
                let target = NodeId(rng.below(u64::from(node_count)) as u32);
                Client { process: u64::from(c), seq: 0, target, open: None, rng }
            })
            .collect();
        Clients {
            options,
            node_count,
            clients,
            workload,
            history: History::default(),
            stats: ClientStats::default(),
            phases: Vec::new(),
        }
    }

    /// Phase `index` (counted after the first) starts: its options and workload take over,
    /// the workload carrying on from the one before ([`Workload::continue_from`]). The
    /// client count, the operation budget and the stop time are the run's. Operations
    /// already open keep the deadlines they were given.
    pub(crate) fn enter_phase(&mut self, index: usize) {
        let Some((options, mut workload)) = self.phases.get_mut(index).and_then(Option::take)
        else {
            return;
        };
        workload.continue_from(&self.workload);
        self.workload = workload;
        self.options = ClientOptions {
            clients: self.options.clients,
            max_ops: self.options.max_ops,
            stop_at: self.options.stop_at,
            ..options
        };
    }

    pub fn count(&self) -> u32 {
        self.clients.len() as u32
    }

    pub fn history(&self) -> &History<W::Event> {
        &self.history
    }

    pub fn workload(&self) -> &W {
        &self.workload
    }

    pub fn stats(&self) -> ClientStats {
        self.stats
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Records a fault in the history, as Jepsen's nemesis process does.
    pub(crate) fn record_fault(&mut self, action: &FaultAction, now: SimTime) {
        let position = self.history.len();
        self.history.push_nemesis(NemesisEvent::of_fault(position, action, now));
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
        out: &mut Vec<ClientAction<W::Op>>,
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
                    self.complete(id, Outcome::Info, None, now, out);
                }
            }
        }
    }

    pub(crate) fn on_reply(
        &mut self,
        id: ClientId,
        from: NodeId,
        request: RequestId,
        reply: Reply<W::Output>,
        now: SimTime,
        out: &mut Vec<ClientAction<W::Op>>,
    ) {
        let client = &mut self.clients[id.0 as usize];
        let Some(open) = client.open.as_mut() else { return };
        if open.request.id != request {
            return; // an answer to an attempt we gave up on
        }
        match reply {
            Reply::Ok(output) => self.complete(id, Outcome::Ok(&output), Some(from), now, out),
            Reply::Fail => self.complete(id, Outcome::Fail, Some(from), now, out),
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

    fn invoke(&mut self, id: ClientId, now: SimTime, out: &mut Vec<ClientAction<W::Op>>) {
        if self.exhausted(now) || self.clients[id.0 as usize].open.is_some() {
            return;
        }
        let client = &mut self.clients[id.0 as usize];
        let op = self.workload.next_op(id, &mut client.rng);
        client.seq += 1;
        let request = Request { id: RequestId { client: id, seq: client.seq }, op };
        self.stats.invoked += 1;
        let origin = Origin { client: Some(id.0), request: Some(client.seq), node: None };
        let event = self.workload.record(client.process, &request.op, Outcome::Invoked, now);
        self.history.push_from(event, origin);
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

    /// Ends the open operation of client `id`; `node` sent the reply that ended it.
    fn complete(
        &mut self,
        id: ClientId,
        outcome: Outcome<'_, W::Output>,
        node: Option<NodeId>,
        now: SimTime,
        out: &mut Vec<ClientAction<W::Op>>,
    ) {
        let client_count = self.clients.len() as u64;
        let client = &mut self.clients[id.0 as usize];
        let open = client.open.take().expect("completing an open operation");
        let origin = Origin {
            client: Some(id.0),
            request: Some(open.request.id.seq),
            node: node.map(|n| n.0),
        };
        let event = self.workload.record(client.process, &open.request.op, outcome, now);
        self.history.push_from(event, origin);
        match outcome {
            Outcome::Ok(_) => self.stats.ok += 1,
            Outcome::Fail => self.stats.fail += 1,
            Outcome::Info => {
                self.stats.info += 1;
                client.process += client_count;
            }
            Outcome::Invoked => unreachable!("an invocation does not complete an operation"),
        }
        let delay = self.options.think_time.sample(&mut client.rng);
        out.push(ClientAction::Wake { at: now + delay, wake: Wake::Next });
    }
}
