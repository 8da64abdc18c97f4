//! Protocols by name. The bundled registry holds every protocol of the `protocols` crate;
//! a user's crate builds its own (`Registry::bundled().with::<MyProtocol>()`) and hands it
//! to the command line, which then runs scenarios that name it.

use crate::run::{RunOutput, RunSettings, run_protocol, self_check};
use scenarios::{Catalogue, ProtocolEntry, RunPlan};
use sim_core::protocol::Protocol;
use sim_core::selfcheck::{Agreement, Divergence};
use std::ops::Deref;

/// Runs one plan of a protocol; an `Err` is a configuration the protocol refused.
pub type RunFn = fn(&RunPlan, &RunSettings) -> Result<RunOutput, String>;

/// Runs one plan twice in lockstep (the determinism self-check).
pub type SelfCheckFn = fn(&RunPlan) -> Result<Result<Agreement, Divergence>, String>;

/// The run functions of one protocol.
#[derive(Clone, Copy)]
struct Runner {
    name: &'static str,
    run: RunFn,
    self_check: SelfCheckFn,
}

/// One protocol: what it declares (reads through to its [`ProtocolEntry`]) and how it runs.
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    pub spec: &'a ProtocolEntry,
    pub run: RunFn,
    pub self_check: SelfCheckFn,
}

impl Deref for Entry<'_> {
    type Target = ProtocolEntry;

    fn deref(&self) -> &ProtocolEntry {
        self.spec
    }
}

/// Protocols by name, in registration order.
#[derive(Clone, Default)]
pub struct Registry {
    catalogue: Catalogue,
    runners: Vec<Runner>,
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
            .with::<protocols::paxos::Paxos>()
            .with::<protocols::two_phase_commit::TwoPhaseCommit>()
            .with::<protocols::gossip::Gossip>()
            .with::<protocols::swim::Swim>()
    }

    /// Add protocol `P` (replacing one of the same name).
    pub fn with<P: Protocol>(mut self) -> Self {
        self.catalogue.add(ProtocolEntry::of::<P>());
        self.runners.retain(|r| r.name != P::NAME);
        self.runners.push(Runner {
            name: P::NAME,
            run: run_protocol::<P>,
            self_check: self_check::<P>,
        });
        self
    }

    /// What scenarios are loaded and validated against.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    pub fn get(&self, name: &str) -> Option<Entry<'_>> {
        let spec = self.catalogue.get(name)?;
        let runner = self.runners.iter().find(|r| r.name == name)?;
        Some(Entry { spec, run: runner.run, self_check: runner.self_check })
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.catalogue.names()
    }

    /// Every protocol, in registration order.
    pub fn entries(&self) -> impl Iterator<Item = Entry<'_>> {
        self.catalogue.entries().iter().map(|spec| self.get(spec.name).expect("a runner per entry"))
    }
}
