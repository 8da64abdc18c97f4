//! What scenarios are validated against: the protocols by name, with what each declares
//! (options, bug switches, properties, its workload's options and checkers). Nothing here
//! runs a protocol: the runner (crate `runner`) pairs each entry with its run functions.

use sim_core::check::ModelKind;
use sim_core::names;
use sim_core::protocol::{
    BugSpec, BugSwitches, ConfigError, DeclaredOptions, OptionSpec, OptionValues, PropertySpec,
    Protocol,
};
use sim_core::workload::ScenarioWorkload;

/// Configures a protocol from option values and bug names without running it: how a
/// scenario's combinations are checked at load.
pub type ConfigureFn = fn(&OptionValues, &[String], u32) -> Result<(), ConfigError>;

/// Configures a protocol's workload from option values without running it.
pub type ConfigureWorkloadFn = fn(&OptionValues) -> Result<(), ConfigError>;

/// What the catalogue knows of the workload a protocol serves.
#[derive(Clone)]
pub struct WorkloadEntry {
    pub name: &'static str,
    /// Its `[workload]` options, as the workload declared them.
    pub options: Vec<OptionSpec>,
    pub configure: ConfigureWorkloadFn,
    /// The checkers of its histories, then the protocol's own, by name and doc line; each
    /// runs unless turned off.
    pub checkers: Vec<(&'static str, &'static str)>,
    /// Whether `checks.linearizability` can check its histories against a model.
    pub has_models: bool,
}

impl WorkloadEntry {
    fn of<P: Protocol>() -> Self {
        WorkloadEntry {
            name: P::Workload::NAME,
            options: <P::Workload as ScenarioWorkload>::Options::specs(),
            configure: |values| P::Workload::configure_from(values).map(drop),
            // The protocol's own checkers are turned off like its workload's.
            checkers: P::Workload::checkers::<P>()
                .iter()
                .chain(&P::checkers())
                .map(|c| (c.name, c.doc))
                .collect(),
            has_models: P::Workload::model_checker::<P>(ModelKind::Register, 1).is_some(),
        }
    }

    /// The declared option called `name`, or the message naming the closest one.
    pub fn option(&self, name: &str) -> Result<&OptionSpec, String> {
        names::lookup("workload option", name, &self.options, |o| o.name)
    }
}

/// What the catalogue knows of one protocol.
#[derive(Clone)]
pub struct ProtocolEntry {
    pub name: &'static str,
    pub summary: &'static str,
    /// Its options and bug switches, as the protocol declared them.
    pub options: Vec<OptionSpec>,
    pub bugs: Vec<BugSpec>,
    pub configure: ConfigureFn,
    pub properties: Vec<PropertySpec>,
    pub workload: WorkloadEntry,
    /// What the engine keeps per node of it ([`sim_core::engine::bytes_per_node`]), to
    /// refuse a cluster this machine cannot hold.
    pub bytes_per_node: u64,
}

/// Protocols by name, in the order they were added.
#[derive(Clone, Default)]
pub struct Catalogue {
    entries: Vec<ProtocolEntry>,
}

impl Catalogue {
    /// Add `entry` (replacing one of the same name).
    pub fn add(&mut self, entry: ProtocolEntry) {
        self.entries.retain(|e| e.name != entry.name);
        self.entries.push(entry);
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

impl ProtocolEntry {
    /// What protocol `P` declares.
    pub fn of<P: Protocol>() -> Self {
        ProtocolEntry {
            name: P::NAME,
            summary: P::SUMMARY,
            options: P::Options::specs(),
            bugs: P::Bugs::specs(),
            configure: |values, bugs, nodes| P::configure_for(values, bugs, nodes).map(drop),
            properties: P::properties(),
            workload: WorkloadEntry::of::<P>(),
            bytes_per_node: sim_core::engine::bytes_per_node::<P>(),
        }
    }

    /// The declared option called `name`, or the message naming the closest one.
    pub fn option(&self, name: &str) -> Result<&OptionSpec, String> {
        names::lookup("option", name, &self.options, |o| o.name)
    }

    /// The declared bug switch called `name`, or the message naming the closest one.
    pub fn bug(&self, name: &str) -> Result<&BugSpec, String> {
        names::lookup("bug switch", name, &self.bugs, |b| b.name)
    }
}
