//! A ticket dispenser: a protocol whose clients do not read and write keys but take
//! tickets, with its own workload, history and checker, all outside dsim's crates.
//!
//! Node 0 hands out tickets 1, 2, 3, ..., syncing its counter to disk before it answers;
//! every other node forwards. Clients take tickets, and now and then peek at the last one
//! handed out. The checker `tickets` asks what a dispenser promises: no ticket is handed
//! out twice, and a ticket taken after another was handed out (in real time) is higher.
//! The known bug `local_tickets` makes forwarding nodes hand out tickets from a counter of
//! their own, which the checker catches as soon as two clients hold the same number.

use protocols::durable::DurableCell;
use sim_core::SimTime;
use sim_core::checker::{Checker, CheckerSpec, Finding, Finished};
use sim_core::engine::NoObserver;
use sim_core::history::{EventType, Recorded};
use sim_core::node::{ClientId, Context, Node, NodeId, Reply, Request, RequestId};
use sim_core::protocol::{NoOptions, Protocol};
use sim_core::record::Verdict;
use sim_core::rng::SimRng;
use sim_core::workload::{Outcome, ScenarioWorkload, Workload};
use std::collections::BTreeMap;

const HOME: NodeId = NodeId(0);

/// The last ticket handed out, checksummed, so a torn or corrupted read is told from it.
const LAST: DurableCell = DurableCell::new("last");

/// What a client asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TicketOp {
    /// Take the next ticket.
    Take,
    /// Read the last ticket handed out (0 before the first), taking none.
    Peek,
}

impl TicketOp {
    fn name(self) -> &'static str {
        match self {
            TicketOp::Take => "take",
            TicketOp::Peek => "peek",
        }
    }
}

/// One event of a ticket history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketEvent {
    pub process: u64,
    pub kind: EventType,
    pub op: TicketOp,
    /// On ok: the ticket taken, or the last one handed out for a peek.
    pub ticket: Option<u64>,
    pub time: SimTime,
}

impl Recorded for TicketEvent {
    fn process(&self) -> u64 {
        self.process
    }

    fn kind(&self) -> EventType {
        self.kind
    }

    fn time(&self) -> Option<SimTime> {
        Some(self.time)
    }

    fn label(&self) -> &str {
        self.op.name()
    }

    fn write_json(&self, out: &mut String) {
        let ticket = self.ticket.map_or("null".to_owned(), |t| t.to_string());
        out.push_str(&format!(
            "{{\"process\":{},\"type\":\"{}\",\"f\":\"{}\",\"ticket\":{ticket},\"time\":{}}}",
            self.process,
            self.kind.name(),
            self.op.name(),
            self.time.as_nanos()
        ));
    }
}

sim_core::declare_options! {
    /// The ticket workload's knobs (`[workload]` keys beside the clients' own).
    pub struct TicketOptions {
        /// Percent of operations that peek instead of taking a ticket.
        peek_percent: u64 = 20,
    }
}

/// Clients that take tickets, and sometimes peek.
#[derive(Clone, Debug)]
pub struct TicketWorkload {
    peek_percent: u64,
}

impl Workload for TicketWorkload {
    type Op = TicketOp;
    type Output = u64;
    type Event = TicketEvent;

    fn next_op(&mut self, _client: ClientId, rng: &mut SimRng) -> TicketOp {
        if rng.below(100) < self.peek_percent { TicketOp::Peek } else { TicketOp::Take }
    }

    fn record(
        &self,
        process: u64,
        op: &TicketOp,
        outcome: Outcome<'_, u64>,
        at: SimTime,
    ) -> TicketEvent {
        let ticket = match outcome {
            Outcome::Ok(ticket) => Some(*ticket),
            _ => None,
        };
        TicketEvent { process, kind: outcome.kind(), op: *op, ticket, time: at }
    }
}

impl ScenarioWorkload for TicketWorkload {
    const NAME: &'static str = "tickets";
    type Options = TicketOptions;

    fn configure(options: TicketOptions) -> Result<Self, String> {
        if options.peek_percent > 100 {
            return Err(format!("peek_percent is {}, above 100", options.peek_percent));
        }
        Ok(TicketWorkload { peek_percent: options.peek_percent })
    }

    fn checkers<N: Node<Workload = Self>>() -> Vec<CheckerSpec<N>> {
        vec![CheckerSpec {
            name: "tickets",
            doc: "No ticket is taken twice; a later operation sees a higher ticket",
            make: || Box::new(TicketChecker),
        }]
    }
}

/// The dispenser's promise, checked on the history in one pass: no ticket is taken
/// twice, and every operation sees at least the highest ticket whose taking had
/// completed before it was invoked (a take gets a higher one).
#[derive(Clone, Copy, Debug, Default)]
pub struct TicketChecker;

impl<N: Node<Workload = TicketWorkload>> Checker<N> for TicketChecker {
    fn name(&self) -> &'static str {
        "tickets"
    }

    fn severity(&self) -> Verdict {
        Verdict::Safety
    }

    fn check(&self, run: &Finished<'_, N>) -> Finding {
        let Some(history) = run.history else { return Finding::Pass };
        let mut taken: BTreeMap<u64, u64> = BTreeMap::new();
        let mut completed_max = 0;
        let mut floor_at_invoke: BTreeMap<u64, u64> = BTreeMap::new();
        for event in &history.events {
            match (event.kind, event.ticket) {
                (EventType::Invoke, _) => {
                    floor_at_invoke.insert(event.process, completed_max);
                }
                (EventType::Ok, Some(ticket)) => {
                    let floor = floor_at_invoke.remove(&event.process).unwrap_or(0);
                    let took = event.op == TicketOp::Take;
                    if took && let Some(other) = taken.insert(ticket, event.process) {
                        return Finding::fail(format!(
                            "ticket {ticket} was handed to process {other} and again to process {} at {}",
                            event.process, event.time
                        ));
                    }
                    if (took && ticket <= floor) || ticket < floor {
                        return Finding::fail(format!(
                            "process {}'s {} saw ticket {ticket} at {}, though ticket {floor} had been taken before it began",
                            event.process,
                            event.op.name(),
                            event.time
                        ));
                    }
                    if took {
                        completed_max = completed_max.max(ticket);
                    }
                }
                _ => {
                    floor_at_invoke.remove(&event.process);
                }
            }
        }
        Finding::Pass
    }
}

/// A node of the dispenser.
#[derive(Debug)]
pub struct Dispenser {
    /// The last ticket this node handed out (node 0, or any node with the bug).
    last: u64,
    /// Node 0: per client, its latest request and the ticket it got (retries get it again).
    sessions: BTreeMap<ClientId, (u64, u64)>,
    local_tickets: bool,
}

#[derive(Clone, Debug, Hash)]
pub enum Msg {
    Forward { request: Request<TicketOp> },
    Answer { id: RequestId, reply: Reply<u64> },
}

impl Dispenser {
    /// Hand out (or peek at) a ticket here, durable before the answer.
    fn serve(&mut self, ctx: &mut Context<'_, Self>, request: &Request<TicketOp>) -> u64 {
        if request.op == TicketOp::Peek {
            return self.last;
        }
        let id = request.id;
        if let Some(&(seq, ticket)) = self.sessions.get(&id.client)
            && seq == id.seq
        {
            return ticket;
        }
        self.last += 1;
        LAST.store(ctx.disk(), &self.last.to_le_bytes());
        ctx.disk().sync();
        self.sessions.insert(id.client, (id.seq, self.last));
        self.last
    }
}

impl Node for Dispenser {
    /// Whether the known bug `local_tickets` is on.
    type Config = bool;
    type Msg = Msg;
    type Timer = ();
    type Workload = TicketWorkload;

    fn start(local_tickets: &bool, ctx: &mut Context<'_, Self>) -> Self {
        let recovered = LAST.recover(ctx.disk(), |b| Some(u64::from_le_bytes(b.try_into().ok()?)));
        recovered.report.count(ctx);
        let last = recovered.value.unwrap_or(0);
        Dispenser { last, sessions: BTreeMap::new(), local_tickets: *local_tickets }
    }

    fn on_message(&mut self, ctx: &mut Context<'_, Self>, from: NodeId, msg: Msg) {
        match msg {
            Msg::Forward { request } => {
                let ticket = self.serve(ctx, &request);
                ctx.send(from, Msg::Answer { id: request.id, reply: Reply::Ok(ticket) });
            }
            Msg::Answer { id, reply } => ctx.reply(id, reply),
        }
    }

    fn on_timer(&mut self, _ctx: &mut Context<'_, Self>, _timer: ()) {}

    fn on_request(&mut self, ctx: &mut Context<'_, Self>, request: Request<TicketOp>) {
        if ctx.id() == HOME || self.local_tickets {
            let ticket = self.serve(ctx, &request);
            ctx.reply(request.id, Reply::Ok(ticket));
        } else {
            ctx.send(HOME, Msg::Forward { request });
        }
    }
}

sim_core::declare_bugs! {
    /// The dispenser's known bug.
    pub struct TicketBugs {
        /// Forwarding nodes hand out tickets from a counter of their own.
        local_tickets,
    }
}

impl Protocol for Dispenser {
    const NAME: &'static str = "tickets";
    const SUMMARY: &'static str =
        "A ticket dispenser on node 0 (an example with its own workload and checker)";
    type Invariants = NoObserver;
    type Options = NoOptions;
    type Bugs = TicketBugs;

    fn configure(_options: NoOptions, bugs: TicketBugs) -> Result<bool, String> {
        Ok(bugs.local_tickets)
    }
}
