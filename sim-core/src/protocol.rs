//! What a protocol declares so that scenarios and the command line can run it by name:
//! its options (with defaults and docs), its known-bug switches, and its invariants.

use crate::engine::Observer;
use crate::node::Node;
use crate::time::SimDuration;
use std::collections::BTreeMap;
use std::fmt;

/// A protocol option's value. The type of an option is the type of its default.
#[derive(Clone, Debug, PartialEq, PartialOrd)]
pub enum OptionValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Duration(SimDuration),
    Str(String),
}

impl OptionValue {
    pub fn type_name(&self) -> &'static str {
        match self {
            OptionValue::Bool(_) => "boolean",
            OptionValue::Int(_) => "integer",
            OptionValue::Float(_) => "float",
            OptionValue::Duration(_) => "duration",
            OptionValue::Str(_) => "string",
        }
    }
}

impl fmt::Display for OptionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionValue::Bool(b) => write!(f, "{b}"),
            OptionValue::Int(i) => write!(f, "{i}"),
            OptionValue::Float(x) => write!(f, "{x}"),
            OptionValue::Duration(d) => write!(f, "{d}"),
            OptionValue::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// One option a protocol accepts.
#[derive(Clone, Debug, PartialEq)]
pub struct OptionSpec {
    pub name: &'static str,
    pub default: OptionValue,
    pub doc: &'static str,
}

/// One known-bug switch: a real mistake the protocol can be told to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BugSpec {
    pub name: &'static str,
    pub doc: &'static str,
}

/// What a named property promises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Holds in every state of every run: an invariant the protocol's `Invariants`
    /// observer checks, whose violations carry this name.
    Always,
    /// Is reached in some runs: a case the protocol counts (`ctx.count(name)`) when it
    /// happens. A campaign in which it is never reached did not exercise it.
    Sometimes,
}

impl Expect {
    pub fn name(self) -> &'static str {
        match self {
            Expect::Always => "always",
            Expect::Sometimes => "sometimes",
        }
    }
}

/// A property declared by name, as Stateright declares them: reported per run and summed
/// per campaign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PropertySpec {
    pub name: &'static str,
    pub expect: Expect,
    pub doc: &'static str,
}

impl PropertySpec {
    pub const fn always(name: &'static str, doc: &'static str) -> Self {
        PropertySpec { name, expect: Expect::Always, doc }
    }

    pub const fn sometimes(name: &'static str, doc: &'static str) -> Self {
        PropertySpec { name, expect: Expect::Sometimes, doc }
    }

    /// What a run did with this property, given the invariant its violation named, if
    /// any, and its counters: "held" or "violated" (always), "reached" or "unreached"
    /// (sometimes).
    pub fn outcome(
        &self,
        violated: Option<&str>,
        counters: &crate::node::Counters,
    ) -> &'static str {
        match self.expect {
            Expect::Always if violated == Some(self.name) => "violated",
            Expect::Always => "held",
            Expect::Sometimes if counters.get(self.name).is_some_and(|&n| n > 0) => "reached",
            Expect::Sometimes => "unreached",
        }
    }
}

/// Option values by name, already checked against [`Protocol::options`] (every name
/// known, every type that of its default); options not given take their defaults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    values: BTreeMap<String, OptionValue>,
}

impl Options {
    pub fn new(values: BTreeMap<String, OptionValue>) -> Self {
        Options { values }
    }

    fn get<'a>(&'a self, specs: &'a [OptionSpec], name: &str) -> &'a OptionValue {
        self.values.get(name).unwrap_or_else(|| {
            &specs
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("option {name} is not declared"))
                .default
        })
    }

    pub fn bool(&self, specs: &[OptionSpec], name: &str) -> bool {
        match self.get(specs, name) {
            OptionValue::Bool(b) => *b,
            other => panic!("option {name} is a {}, not a boolean", other.type_name()),
        }
    }

    pub fn int(&self, specs: &[OptionSpec], name: &str) -> i64 {
        match self.get(specs, name) {
            OptionValue::Int(i) => *i,
            other => panic!("option {name} is a {}, not an integer", other.type_name()),
        }
    }

    pub fn float(&self, specs: &[OptionSpec], name: &str) -> f64 {
        match self.get(specs, name) {
            OptionValue::Float(x) => *x,
            OptionValue::Int(i) => *i as f64,
            other => panic!("option {name} is a {}, not a float", other.type_name()),
        }
    }

    pub fn duration(&self, specs: &[OptionSpec], name: &str) -> SimDuration {
        match self.get(specs, name) {
            OptionValue::Duration(d) => *d,
            other => panic!("option {name} is a {}, not a duration", other.type_name()),
        }
    }

    pub fn string(&self, specs: &[OptionSpec], name: &str) -> String {
        match self.get(specs, name) {
            OptionValue::Str(s) => s.clone(),
            other => panic!("option {name} is a {}, not a string", other.type_name()),
        }
    }
}

/// A protocol that scenarios can name. Implemented next to the protocol's `Node`.
pub trait Protocol: Node {
    /// The name scenarios use (`protocol.name = "raft"`).
    const NAME: &'static str;
    /// One line for `dsim protocols`.
    const SUMMARY: &'static str;

    /// The online invariant checker, fresh for each run.
    type Invariants: Observer<Self> + Default;

    fn options() -> Vec<OptionSpec>;

    fn bugs() -> Vec<BugSpec>;

    /// Build the configuration from checked options and the names of the enabled bug
    /// switches (each one of [`Protocol::bugs`]). An `Err` explains an invalid combination.
    fn configure(options: &Options, bugs: &[&str]) -> Result<Self::Config, String>;

    /// Its named properties: the invariants it always keeps and the cases a campaign
    /// should sometimes reach.
    fn properties() -> Vec<PropertySpec> {
        Vec::new()
    }

    /// A digest of the replicated state this node has applied, for the convergence check
    /// (every live replica holds the same once the run is quiet); `None` if the protocol
    /// does not say.
    fn replica_digest(&self) -> Option<u64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Counters;

    #[test]
    fn a_property_is_held_or_violated_reached_or_unreached() {
        let safety = PropertySpec::always("election_safety", "");
        let snapshot = PropertySpec::sometimes("snapshot_installed", "");
        let mut counters = Counters::new();
        assert_eq!(safety.outcome(None, &counters), "held");
        assert_eq!(safety.outcome(Some("log_matching"), &counters), "held");
        assert_eq!(safety.outcome(Some("election_safety"), &counters), "violated");
        assert_eq!(snapshot.outcome(None, &counters), "unreached");
        counters.insert("snapshot_installed", 2);
        assert_eq!(snapshot.outcome(None, &counters), "reached");
    }
}
