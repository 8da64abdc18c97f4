//! The rumour workload: gossip has no key-value clients. A client asks a node to spread a
//! new rumour; the node answers once the rumour is durable there, so an acknowledged
//! rumour survives its origin's crash. The history records when each rumour was asked
//! for and acknowledged; the epidemic checker (`checks.rs`) asks that it then reached
//! every live node.

use sim_core::SimTime;
use sim_core::history::{EventType, Recorded};
use sim_core::node::ClientId;
use sim_core::protocol::NoOptions;
use sim_core::rng::SimRng;
use sim_core::workload::{Outcome, ScenarioWorkload, Workload};

/// A rumour's name, unique in a run: the workload numbers rumours 1, 2, 3, ... as clients
/// ask for them (a retry asks for the same one).
pub type RumourId = u64;

/// What a client asks: spread this new rumour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Spread {
    pub rumour: RumourId,
}

/// One event of a rumour history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RumourEvent {
    pub process: u64,
    pub kind: EventType,
    pub rumour: RumourId,
    pub time: SimTime,
}

impl Recorded for RumourEvent {
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
        "spread"
    }

    fn write_json(&self, out: &mut String) {
        out.push_str(&format!(
            "{{\"process\":{},\"type\":\"{}\",\"f\":\"spread\",\"rumour\":{},\"time\":{}}}",
            self.process,
            self.kind.name(),
            self.rumour,
            self.time.as_nanos()
        ));
    }
}

/// Clients that ask for new rumours, numbered in the order they are asked for.
#[derive(Clone, Debug, Default)]
pub struct RumourWorkload {
    last: RumourId,
}

impl Workload for RumourWorkload {
    type Op = Spread;
    type Output = ();
    type Event = RumourEvent;

    fn next_op(&mut self, _client: ClientId, _rng: &mut SimRng) -> Spread {
        self.last += 1;
        Spread { rumour: self.last }
    }

    /// Rumours stay numbered in order over the whole run.
    fn continue_from(&mut self, previous: &Self) {
        self.last = previous.last;
    }

    fn record(
        &self,
        process: u64,
        op: &Spread,
        outcome: Outcome<'_, ()>,
        at: SimTime,
    ) -> RumourEvent {
        RumourEvent { process, kind: outcome.kind(), rumour: op.rumour, time: at }
    }
}

impl ScenarioWorkload for RumourWorkload {
    const NAME: &'static str = "rumours";
    type Options = NoOptions;

    fn configure(_options: NoOptions) -> Result<Self, String> {
        Ok(RumourWorkload::default())
    }
}
