//! What a protocol declares so that scenarios and the command line can run it by name:
//! its options (with defaults and docs), its known-bug switches, and its invariants.
//!
//! Each option and each bug switch is declared once, with [`declare_options!`] and
//! [`declare_bugs!`]. That one declaration is the typed field the protocol reads (a
//! misspelled name is a compile error), the spec that scenarios are validated against and
//! that `dsim protocols` prints, and the conversion from the values a scenario gave:
//!
//! ```
//! use sim_core::SimDuration;
//! use sim_core::protocol::{BugSwitches, DeclaredOptions, OptionValue, OptionValues};
//!
//! sim_core::declare_options! {
//!     /// The options of a made-up protocol.
//!     pub struct GossipOptions {
//!         /// How often a node sends its state to a random peer.
//!         interval: SimDuration = SimDuration::from_millis(100),
//!         /// How many peers each round reaches.
//!         fanout: u64 = 3,
//!     }
//! }
//! sim_core::declare_bugs! {
//!     /// Its known-bug switches.
//!     pub struct GossipBugs {
//!         /// Versions are compared as strings, so "10" sorts before "9".
//!         string_versions,
//!     }
//! }
//!
//! let specs = GossipOptions::specs();
//! assert_eq!(specs[1].name, "fanout");
//! assert_eq!(specs[1].default, OptionValue::Int(3));
//! assert_eq!(specs[1].doc, "How many peers each round reaches.");
//!
//! let mut values = OptionValues::new();
//! values.insert("fanout".into(), OptionValue::Int(5));
//! let options = GossipOptions::from_values(&values).unwrap();
//! assert_eq!((options.fanout, options.interval), (5, SimDuration::from_millis(100)));
//!
//! let bugs = GossipBugs::from_names(&["string_versions"]).unwrap();
//! assert!(bugs.string_versions && bugs.any());
//! let err = GossipBugs::from_names(&["string_version"]).unwrap_err();
//! assert!(err.to_string().contains("did you mean `string_versions`?"), "{err}");
//! ```
//!
//! A protocol's own code reads the typed fields, so a name it misspells does not compile:
//!
//! ```compile_fail
//! sim_core::declare_options! {
//!     pub struct RaftOptions {
//!         /// Lower bound of the randomized election timeout.
//!         election_timeout_min: sim_core::SimDuration = sim_core::SimDuration::from_millis(150),
//!     }
//! }
//! let options = RaftOptions::default();
//! let _ = options.electon_timeout_min;
//! ```

use crate::checker::CheckerSpec;
use crate::engine::Observer;
use crate::node::Node;
use crate::time::SimDuration;
use crate::workload::ScenarioWorkload;
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

/// One option a protocol accepts, as [`declare_options!`] declared it.
#[derive(Clone, Debug, PartialEq)]
pub struct OptionSpec {
    pub name: &'static str,
    /// The default; its variant is the option's type.
    pub default: OptionValue,
    pub doc: &'static str,
}

/// One known-bug switch, as [`declare_bugs!`] declared it: a real mistake the protocol
/// can be told to make.
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

/// Option values by name, as a scenario gave them (each of its option's type, checked by
/// the scenario loader against the [`OptionSpec`]s); options not given keep their defaults.
pub type OptionValues = BTreeMap<String, OptionValue>;

/// Why a protocol cannot be configured from the values and names it was given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A name that is not declared; the message names the closest declared one.
    #[error("{0}")]
    UnknownName(String),
    /// A value that the option's declared type does not hold.
    #[error("option `{option}`: {message}")]
    BadValue { option: &'static str, message: String },
    /// The protocol's `configure` refused the combination, saying why.
    #[error("{0}")]
    Refused(String),
}

impl From<ConfigError> for String {
    fn from(error: ConfigError) -> String {
        error.to_string()
    }
}

/// A Rust type an option may have, and how it is held in an [`OptionValue`].
pub trait OptionType: Sized {
    fn to_value(&self) -> OptionValue;
    /// This type's value of `value`, or why it holds none (the wrong type, out of range).
    fn from_value(value: &OptionValue) -> Result<Self, String>;
}

fn expected(what: &str, found: &OptionValue) -> String {
    format!("expected {what}, found {} {found}", found.type_name())
}

impl OptionType for bool {
    fn to_value(&self) -> OptionValue {
        OptionValue::Bool(*self)
    }
    fn from_value(value: &OptionValue) -> Result<Self, String> {
        match value {
            OptionValue::Bool(b) => Ok(*b),
            other => Err(expected("true or false", other)),
        }
    }
}

impl OptionType for i64 {
    fn to_value(&self) -> OptionValue {
        OptionValue::Int(*self)
    }
    fn from_value(value: &OptionValue) -> Result<Self, String> {
        match value {
            OptionValue::Int(i) => Ok(*i),
            other => Err(expected("an integer", other)),
        }
    }
}

macro_rules! unsigned_option_type {
    ($($ty:ty),*) => {$(
        impl OptionType for $ty {
            fn to_value(&self) -> OptionValue {
                OptionValue::Int(i64::try_from(*self).expect("an option's default fits an i64"))
            }
            fn from_value(value: &OptionValue) -> Result<Self, String> {
                match value {
                    OptionValue::Int(i) => <$ty>::try_from(*i).map_err(|_| {
                        match i64::try_from(<$ty>::MAX) {
                            Ok(max) => format!("{i} is out of range; expected an integer from 0 to {max}"),
                            Err(_) => format!("{i} is out of range; expected an integer of at least 0"),
                        }
                    }),
                    other => Err(expected("an integer of at least 0", other)),
                }
            }
        }
    )*};
}

unsigned_option_type!(u32, u64, usize);

impl OptionType for f64 {
    fn to_value(&self) -> OptionValue {
        OptionValue::Float(*self)
    }
    fn from_value(value: &OptionValue) -> Result<Self, String> {
        match value {
            OptionValue::Float(x) => Ok(*x),
            OptionValue::Int(i) => Ok(*i as f64),
            other => Err(expected("a number", other)),
        }
    }
}

impl OptionType for SimDuration {
    fn to_value(&self) -> OptionValue {
        OptionValue::Duration(*self)
    }
    fn from_value(value: &OptionValue) -> Result<Self, String> {
        match value {
            OptionValue::Duration(d) => Ok(*d),
            other => Err(expected("a duration such as \"250ms\"", other)),
        }
    }
}

impl OptionType for String {
    fn to_value(&self) -> OptionValue {
        OptionValue::Str(self.clone())
    }
    fn from_value(value: &OptionValue) -> Result<Self, String> {
        match value {
            OptionValue::Str(s) => Ok(s.clone()),
            other => Err(expected("a string", other)),
        }
    }
}

/// A protocol's options, as [`declare_options!`] generates them: a struct with one typed
/// field per option, whose `Default` holds every default.
pub trait DeclaredOptions: Clone + fmt::Debug + Default {
    /// Every option, in declaration order, with its default and doc line.
    fn specs() -> Vec<OptionSpec>;

    /// Set the option called `name` to `value`.
    fn set(&mut self, name: &str, value: &OptionValue) -> Result<(), ConfigError>;

    /// The defaults, with each of `values` set over them.
    fn from_values(values: &OptionValues) -> Result<Self, ConfigError> {
        let mut options = Self::default();
        for (name, value) in values {
            options.set(name, value)?;
        }
        Ok(options)
    }
}

/// A protocol's known-bug switches, as [`declare_bugs!`] generates them: a struct with one
/// `bool` per switch, all off by default.
pub trait BugSwitches: Clone + fmt::Debug + Default {
    /// Every switch, in declaration order, with its doc line.
    fn specs() -> Vec<BugSpec>;

    /// Turn on the switch called `name`.
    fn enable(&mut self, name: &str) -> Result<(), ConfigError>;

    /// The names of the switches that are on, in declaration order.
    fn enabled(&self) -> Vec<&'static str>;

    /// Every switch off but those named.
    fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, ConfigError> {
        let mut bugs = Self::default();
        for name in names {
            bugs.enable(name.as_ref())?;
        }
        Ok(bugs)
    }
}

/// Declares a protocol's options, once each: a doc line, a name, a type and a default.
///
/// ```
/// # use sim_core::SimDuration;
/// sim_core::declare_options! {
///     /// What the struct is for (any attributes pass through).
///     pub struct MyOptions {
///         /// The doc line `dsim protocols` prints (lines are joined).
///         retransmit_interval: SimDuration = SimDuration::from_millis(50),
///         /// Most entries sent in one round.
///         batch: u64 = 64,
///     }
/// }
/// assert_eq!(MyOptions::default().batch, 64);
/// ```
///
/// generates `pub struct MyOptions` with a `pub` field per option (deriving `Clone`,
/// `Debug` and `PartialEq`), its `Default`, and [`DeclaredOptions`] (the specs, and setting
/// an option by name from an [`OptionValue`]). A field's type is any [`OptionType`]:
/// `bool`, `i64`, `u32`, `u64`, `usize`, `f64`, [`SimDuration`] or `String`.
#[macro_export]
macro_rules! declare_options {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $doc:literal])+
                $field:ident : $ty:ty = $default:expr
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        $vis struct $name {
            $(
                $(#[doc = $doc])+
                pub $field: $ty,
            )*
        }

        impl ::std::default::Default for $name {
            fn default() -> Self {
                $name { $($field: $default,)* }
            }
        }

        impl $crate::protocol::DeclaredOptions for $name {
            fn specs() -> ::std::vec::Vec<$crate::protocol::OptionSpec> {
                #[allow(unused_variables)]
                let defaults = <$name as ::std::default::Default>::default();
                ::std::vec![$(
                    $crate::protocol::OptionSpec {
                        name: ::std::stringify!($field),
                        default: $crate::protocol::OptionType::to_value(&defaults.$field),
                        doc: ::std::concat!($($doc),+).trim(),
                    },
                )*]
            }

            #[allow(unused_variables)]
            fn set(
                &mut self,
                name: &str,
                value: &$crate::protocol::OptionValue,
            ) -> ::std::result::Result<(), $crate::protocol::ConfigError> {
                $(
                    if name == ::std::stringify!($field) {
                        self.$field = <$ty as $crate::protocol::OptionType>::from_value(value)
                            .map_err(|message| $crate::protocol::ConfigError::BadValue {
                                option: ::std::stringify!($field),
                                message,
                            })?;
                        return ::std::result::Result::Ok(());
                    }
                )*
                let valid: &[&str] = &[$(::std::stringify!($field)),*];
                ::std::result::Result::Err($crate::protocol::ConfigError::UnknownName(
                    $crate::names::unknown("option", name, valid),
                ))
            }
        }
    };
}

/// Declares a protocol's known-bug switches, once each: a doc line and a name.
///
/// ```
/// sim_core::declare_bugs! {
///     /// What the struct is for.
///     pub struct MyBugs {
///         /// The doc line `dsim protocols` prints.
///         stale_reads,
///     }
/// }
/// assert!(!MyBugs::default().any());
/// ```
///
/// generates `pub struct MyBugs` with a `pub` `bool` per switch (deriving `Clone`, `Copy`,
/// `Debug`, `Default`, `PartialEq` and `Eq`), an `any()` method, and [`BugSwitches`] (the
/// specs, and turning a switch on by name).
#[macro_export]
macro_rules! declare_bugs {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $doc:literal])+
                $field:ident
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        $vis struct $name {
            $(
                $(#[doc = $doc])+
                pub $field: bool,
            )*
        }

        impl $name {
            /// Whether any switch is on.
            pub fn any(&self) -> bool {
                false $(|| self.$field)*
            }
        }

        impl $crate::protocol::BugSwitches for $name {
            fn specs() -> ::std::vec::Vec<$crate::protocol::BugSpec> {
                ::std::vec![$(
                    $crate::protocol::BugSpec {
                        name: ::std::stringify!($field),
                        doc: ::std::concat!($($doc),+).trim(),
                    },
                )*]
            }

            fn enable(
                &mut self,
                name: &str,
            ) -> ::std::result::Result<(), $crate::protocol::ConfigError> {
                $(
                    if name == ::std::stringify!($field) {
                        self.$field = true;
                        return ::std::result::Result::Ok(());
                    }
                )*
                let valid: &[&str] = &[$(::std::stringify!($field)),*];
                ::std::result::Result::Err($crate::protocol::ConfigError::UnknownName(
                    $crate::names::unknown("bug switch", name, valid),
                ))
            }

            fn enabled(&self) -> ::std::vec::Vec<&'static str> {
                let all: &[(bool, &'static str)] = &[$((self.$field, ::std::stringify!($field))),*];
                all.iter().filter(|(on, _)| *on).map(|(_, name)| *name).collect()
            }
        }
    };
}

declare_options! {
    /// The options of a protocol that has none.
    pub struct NoOptions {}
}

declare_bugs! {
    /// The bug switches of a protocol that has none.
    pub struct NoBugs {}
}

/// Figures a run measured ([`Protocol::metrics`]), by name, in the order reports print them.
pub type Metrics = Vec<(&'static str, u64)>;

/// A protocol that scenarios can name. Implemented next to the protocol's `Node`.
/// Its workload is one that scenarios set up ([`ScenarioWorkload`]).
pub trait Protocol: Node<Workload: ScenarioWorkload> {
    /// The name scenarios use (`protocol.name = "raft"`).
    const NAME: &'static str;
    /// One line for `dsim protocols`.
    const SUMMARY: &'static str;

    /// The online invariant checker, fresh for each run.
    type Invariants: Observer<Self> + Default;

    /// The options scenarios may set: a [`declare_options!`] struct, or [`NoOptions`].
    type Options: DeclaredOptions;

    /// The known-bug switches: a [`declare_bugs!`] struct, or [`NoBugs`].
    type Bugs: BugSwitches;

    /// Build the configuration every node starts from. An `Err` says why the combination
    /// is refused (e.g. a maximum below its minimum) and what would be valid; scenarios
    /// report it at load, for every end of every swarm range.
    fn configure(options: Self::Options, bugs: Self::Bugs) -> Result<Self::Config, String>;

    /// [`Protocol::configure`] from option values by name and the names of the enabled
    /// bug switches, as a scenario gives them.
    fn configure_from<S: AsRef<str>>(
        values: &OptionValues,
        bugs: &[S],
    ) -> Result<Self::Config, ConfigError> {
        let options = Self::Options::from_values(values)?;
        let bugs = Self::Bugs::from_names(bugs)?;
        Self::configure(options, bugs).map_err(ConfigError::Refused)
    }

    /// Whether `config` works in a cluster of `nodes` (e.g. quorum sizes that must fit
    /// it); an `Err` says why not, and scenarios report it at load like a refused
    /// combination. Default: any size.
    fn fits_cluster(_config: &Self::Config, _nodes: u32) -> Result<(), String> {
        Ok(())
    }

    /// [`Protocol::configure_from`] for a cluster of `nodes`, checked with
    /// [`Protocol::fits_cluster`].
    fn configure_for<S: AsRef<str>>(
        values: &OptionValues,
        bugs: &[S],
        nodes: u32,
    ) -> Result<Self::Config, ConfigError> {
        let config = Self::configure_from(values, bugs)?;
        Self::fits_cluster(&config, nodes).map_err(ConfigError::Refused)?;
        Ok(config)
    }

    /// Its named properties: the invariants it always keeps and the cases a campaign
    /// should sometimes reach.
    fn properties() -> Vec<PropertySpec> {
        Vec::new()
    }

    /// Checkers of its own over the finished run, by name (e.g. gossip's: every live node
    /// got every rumour within its bound, read off the nodes' state), run after the
    /// workload's; each runs unless the scenario turns it off (`[checks] name = false`).
    /// Default: none.
    fn checkers() -> Vec<CheckerSpec<Self>> {
        Vec::new()
    }

    /// Figures the run measured, by name, read off its invariants observer when the run
    /// ends at `end` (e.g. gossip's time until 90% of live nodes hold a rumour, SWIM's
    /// time to detect a crash): the observer sees global time and every fault, which no
    /// node does. Reported beside the counters, and a `sometimes` property may name one.
    /// Default: none.
    fn metrics(_invariants: &Self::Invariants, _end: crate::time::SimTime) -> Metrics {
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

    declare_options! {
        /// One option of every type.
        struct Every {
            /// A flag,
            /// over two lines.
            flag: bool = true,
            /// Signed.
            signed: i64 = -3,
            /// Unsigned.
            count: u64 = 7,
            /// A fraction.
            ratio: f64 = 0.5,
            /// A wait.
            wait: SimDuration = SimDuration::from_millis(20),
            /// A label.
            label: String = "x".to_owned(),
        }
    }

    declare_bugs! {
        struct Switches {
            /// The first mistake.
            first,
            /// The second
            /// mistake.
            second,
        }
    }

    fn values(pairs: &[(&str, OptionValue)]) -> OptionValues {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    #[test]
    fn one_declaration_gives_the_struct_its_defaults_and_its_specs() {
        let defaults = Every::default();
        assert!(defaults.flag && defaults.signed == -3 && defaults.count == 7);
        assert_eq!((defaults.ratio, defaults.label.as_str()), (0.5, "x"));
        let specs = Every::specs();
        let names: Vec<&str> = specs.iter().map(|s| s.name).collect();
        assert_eq!(names, ["flag", "signed", "count", "ratio", "wait", "label"]);
        let types: Vec<&str> = specs.iter().map(|s| s.default.type_name()).collect();
        assert_eq!(types, ["boolean", "integer", "integer", "float", "duration", "string"]);
        assert_eq!(specs[4].default, OptionValue::Duration(SimDuration::from_millis(20)));
        assert_eq!(specs[0].doc, "A flag, over two lines.");
        assert!(NoOptions::specs().is_empty() && NoBugs::specs().is_empty());
    }

    #[test]
    fn values_set_their_options_and_the_rest_keep_their_defaults() {
        let given = values(&[
            ("count", OptionValue::Int(9)),
            ("ratio", OptionValue::Int(2)),
            ("wait", OptionValue::Duration(SimDuration::from_secs(1))),
        ]);
        let options = Every::from_values(&given).unwrap();
        assert_eq!(
            options,
            Every { count: 9, ratio: 2.0, wait: SimDuration::from_secs(1), ..Every::default() }
        );
        assert_eq!(Every::from_values(&OptionValues::new()).unwrap(), Every::default());
    }

    #[test]
    fn bad_names_and_values_are_explained() {
        let unknown = Every::from_values(&values(&[("cuont", OptionValue::Int(1))]));
        assert_eq!(
            unknown.unwrap_err().to_string(),
            "unknown option `cuont`; did you mean `count`? \
             valid: flag, signed, count, ratio, wait, label"
        );
        let wrong_type = Every::from_values(&values(&[("flag", OptionValue::Int(1))]));
        assert_eq!(
            wrong_type.unwrap_err(),
            ConfigError::BadValue {
                option: "flag",
                message: "expected true or false, found integer 1".into()
            }
        );
        let negative = Every::from_values(&values(&[("count", OptionValue::Int(-1))]));
        assert!(
            negative.unwrap_err().to_string().starts_with("option `count`: -1 is out of range")
        );
        let none = NoOptions::from_values(&values(&[("x", OptionValue::Int(1))])).unwrap_err();
        assert_eq!(none.to_string(), "unknown option `x`; valid: (none)");
    }

    #[test]
    fn bug_switches_turn_on_by_name() {
        let specs = Switches::specs();
        assert_eq!(specs[1], BugSpec { name: "second", doc: "The second mistake." });
        assert!(!Switches::default().any());
        let bugs = Switches::from_names(&["second"]).unwrap();
        assert!(bugs.second && !bugs.first && bugs.any());
        assert_eq!(bugs.enabled(), ["second"]);
        assert_eq!(
            Switches::from_names(&["second", "first"]).unwrap().enabled(),
            ["first", "second"]
        );
        let err = Switches::from_names(&["secnd"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown bug switch `secnd`; did you mean `second`? valid: first, second"
        );
        assert!(NoBugs::from_names(&["first"]).is_err());
        assert!(NoBugs::from_names::<&str>(&[]).unwrap().enabled().is_empty());
    }
}
