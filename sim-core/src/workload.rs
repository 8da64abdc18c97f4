//! What simulated clients ask of a protocol, and how their history records it.
//!
//! A [`Workload`] is to the clients what a protocol is to the nodes, in the spirit of
//! Stateright's `SequentialSpec`: it names its operation and result types, generates each
//! client's next operation, and turns every invocation and outcome into a history event.
//! Everything else a client does (one operation open at a time, sending, following
//! redirects, re-sending under the same request id, giving up at the timeout, recording
//! `invoke`, `ok`, `fail` and `info` at virtual times, as Jepsen does) is the same for
//! every workload and lives in [`crate::client`].
//!
//! The key-value workload ([`crate::kv::KvWorkload`]) is one implementation; a protocol
//! names the workload it serves as [`crate::node::Node::Workload`]. A workload that
//! scenarios set up implements [`ScenarioWorkload`]: its `[workload]` options, declared
//! once as a protocol's are, and the checkers of its histories.

use crate::check::ModelKind;
use crate::checker::{Checker, CheckerSpec};
use crate::history::{EventType, Recorded};
use crate::node::{ClientId, Node};
use crate::protocol::{ConfigError, DeclaredOptions, OptionValues};
use crate::rng::SimRng;
use crate::time::SimTime;
use std::fmt;
use std::hash::Hash;

/// How an operation ended, as a client saw it; `Invoked` when it begins.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome<'a, T> {
    /// The client is about to send the operation.
    Invoked,
    /// The operation took effect, with this result.
    Ok(&'a T),
    /// The operation certainly did not take effect.
    Fail,
    /// No definite answer by the timeout: it may or may not have taken effect.
    Info,
}

impl<T> Clone for Outcome<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Outcome<'_, T> {}

impl<T> Outcome<'_, T> {
    /// The history event type this outcome is recorded as.
    pub fn kind(&self) -> EventType {
        match self {
            Outcome::Invoked => EventType::Invoke,
            Outcome::Ok(_) => EventType::Ok,
            Outcome::Fail => EventType::Fail,
            Outcome::Info => EventType::Info,
        }
    }
}

/// The operations clients run and the history they record.
pub trait Workload {
    /// What a client asks a node to do. `Hash` feeds the trace hash; `Debug` the trace.
    type Op: Clone + fmt::Debug + Hash + Eq;
    /// What a node answers when an operation took effect (a value read, a transaction's
    /// reads, nothing).
    type Output: Clone + fmt::Debug + Hash + Eq;
    /// One event of the history, e.g. Jepsen's `{:process 3 :type :ok :f :read :value 4}`.
    type Event: Recorded;

    /// The next operation of `client`, drawn from the client's own random stream.
    fn next_op(&mut self, client: ClientId, rng: &mut SimRng) -> Self::Op;

    /// The history event of operation `op` of `process` at `at`: its invocation, or how
    /// it ended.
    fn record(
        &self,
        process: u64,
        op: &Self::Op,
        outcome: Outcome<'_, Self::Output>,
        at: SimTime,
    ) -> Self::Event;

    /// Carry over from `previous`, the workload of the phase before this one (a phased
    /// scenario gives each phase a workload of its own options), what must hold for the
    /// whole run: values written stay fresh, numbering goes on. By default nothing does.
    fn continue_from(&mut self, _previous: &Self) {}
}

/// A workload that scenarios set up by name: what its `[workload]` keys are (beside the
/// clients' own: `clients`, `think_time`, `timeout`, ...), and how its histories are
/// checked.
pub trait ScenarioWorkload: Workload + Sized {
    /// Its name, for messages and `dsim protocols`.
    const NAME: &'static str;

    /// Its options: a [`crate::declare_options!`] struct, or [`crate::protocol::NoOptions`].
    type Options: DeclaredOptions;

    /// Build it. An `Err` says why the combination is refused; scenarios report it at
    /// load, at every end of every swarm range.
    fn configure(options: Self::Options) -> Result<Self, String>;

    /// [`ScenarioWorkload::configure`] from option values by name, as a scenario gives
    /// them.
    fn configure_from(values: &OptionValues) -> Result<Self, ConfigError> {
        let options = Self::Options::from_values(values)?;
        Self::configure(options).map_err(ConfigError::Refused)
    }

    /// The checkers of its histories, by name; each runs unless the scenario turns it off
    /// (`[checks] name = false`).
    fn checkers<N: Node<Workload = Self>>() -> Vec<CheckerSpec<N>> {
        Vec::new()
    }

    /// The linearizability checker of its histories against `model`
    /// (`checks.linearizability`), if it has models to check against.
    fn model_checker<N: Node<Workload = Self>>(
        _model: ModelKind,
        _budget: u64,
    ) -> Option<Box<dyn Checker<N>>> {
        None
    }
}
