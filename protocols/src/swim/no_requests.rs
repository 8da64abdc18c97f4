//! SWIM's workload: none. A membership protocol serves no client requests, so a scenario
//! of it that sets up clients (`[workload]`) is refused at load, and no operation, result
//! or history event of it can exist (each is an empty enum).

use sim_core::SimTime;
use sim_core::history::{EventType, Recorded};
use sim_core::node::ClientId;
use sim_core::protocol::NoOptions;
use sim_core::rng::SimRng;
use sim_core::workload::{Outcome, ScenarioWorkload, Workload};

/// The workload of a protocol without clients; it cannot be configured.
#[derive(Clone, Debug)]
pub enum NoRequests {}

/// An operation that cannot exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Never {}

impl Recorded for Never {
    fn process(&self) -> u64 {
        match *self {}
    }

    fn kind(&self) -> EventType {
        match *self {}
    }

    fn time(&self) -> Option<SimTime> {
        match *self {}
    }

    fn label(&self) -> &str {
        match *self {}
    }

    fn write_json(&self, _out: &mut String) {
        match *self {}
    }
}

impl Workload for NoRequests {
    type Op = Never;
    type Output = Never;
    type Event = Never;

    fn next_op(&mut self, _client: ClientId, _rng: &mut SimRng) -> Never {
        match *self {}
    }

    fn record(
        &self,
        _process: u64,
        op: &Never,
        _outcome: Outcome<'_, Never>,
        _at: SimTime,
    ) -> Never {
        match *op {}
    }
}

impl ScenarioWorkload for NoRequests {
    const NAME: &'static str = "none";
    type Options = NoOptions;

    fn configure(_options: NoOptions) -> Result<Self, String> {
        Err("this protocol serves no client requests: remove the [workload] table".into())
    }
}
