//! Protocols by name. The bundled registry holds every protocol of the `protocols` crate;
//! a user's crate builds its own (`Registry::bundled().with::<MyProtocol>()`) and hands it
//! to the command line, which then runs scenarios that name it.

use crate::plan::RunPlan;
use crate::run::{RunOutput, RunSettings, run_protocol, self_check};
use sim_core::kv::KvWorkload;
use sim_core::node::Node;
use sim_core::protocol::{BugSpec, OptionSpec, PropertySpec, Protocol};
use sim_core::selfcheck::{Agreement, Divergence};

/// Runs one plan of a protocol; an `Err` is a configuration the protocol refused.
pub type RunFn = fn(&RunPlan, &RunSettings) -> Result<RunOutput, String>;

/// Runs one plan twice in lockstep (the determinism self-check).
pub type SelfCheckFn = fn(&RunPlan) -> Result<Result<Agreement, Divergence>, String>;

/// What the registry knows of one protocol.
#[derive(Clone)]
pub struct ProtocolEntry {
    pub name: &'static str,
    pub summary: &'static str,
    pub options: Vec<OptionSpec>,
    pub bugs: Vec<BugSpec>,
    pub properties: Vec<PropertySpec>,
    pub run: RunFn,
    pub self_check: SelfCheckFn,
}

/// Protocols by name, in registration order.
#[derive(Clone, Default)]
pub struct Registry {
    entries: Vec<ProtocolEntry>,
}

impl Registry {
    /// A registry with no protocol.
    pub fn empty() -> Self {
        Registry::default()
    }

    /// Every protocol bundled with dsim.
    pub fn bundled() -> Self {
        Registry::empty()
            .with::<protocols::raft::Raft>()
            .with::<protocols::primary_backup::PrimaryBackup>()
    }

    /// Add protocol `P` (replacing one of the same name).
    pub fn with<P: Protocol + Node<Workload = KvWorkload>>(mut self) -> Self {
        self.entries.retain(|e| e.name != P::NAME);
        self.entries.push(ProtocolEntry {
            name: P::NAME,
            summary: P::SUMMARY,
            options: P::options(),
            bugs: P::bugs(),
            properties: P::properties(),
            run: run_protocol::<P>,
            self_check: self_check::<P>,
        });
        self
    }

    pub fn get(&self, name: &str) -> Option<&ProtocolEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.entries.iter().map(|e| e.name).collect()
    }

    pub fn entries(&self) -> &[ProtocolEntry] {
        &self.entries
    }
}
