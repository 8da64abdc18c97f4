//! The record of one run: what the summary, the CSV row, the JSON and the JUnit case of a
//! seed are all printed from.

use std::fmt;

/// How a run ended, by the exit codes of DESIGN.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    Pass,
    /// A safety violation: an invariant, a linearizability failure, or a panic.
    Safety,
    /// Progress failed after the final heal.
    Liveness,
    /// The linearizability checker ran out of budget; nothing failed.
    Unknown,
    /// The seed could not run: the protocol refused the options it drew (bad input).
    Error,
}

impl Verdict {
    pub const ALL: [Verdict; 5] =
        [Verdict::Pass, Verdict::Safety, Verdict::Liveness, Verdict::Unknown, Verdict::Error];

    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Safety => "safety",
            Verdict::Liveness => "liveness",
            Verdict::Unknown => "unknown",
            Verdict::Error => "error",
        }
    }

    /// The verdict called `name`, or why there is none.
    pub fn named(name: &str) -> Result<Verdict, String> {
        crate::names::lookup("verdict", name, &Self::ALL, |v| v.name()).copied()
    }

    /// The process exit code for a campaign whose worst verdict is this.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Pass | Verdict::Unknown => 0,
            Verdict::Safety => 1,
            Verdict::Liveness => 2,
            Verdict::Error => 3,
        }
    }

    /// Whether the seed did not pass: a violation, or an error.
    pub fn is_failure(self) -> bool {
        matches!(self, Verdict::Safety | Verdict::Liveness | Verdict::Error)
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything reported about one seed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunRecord {
    pub scenario: String,
    pub protocol: String,
    pub seed: u64,
    pub bugs: Vec<String>,
    pub verdict: Option<Verdict>,
    /// The broken property: an invariant's name, "linearizability", "liveness" or "panic".
    pub failure: String,
    /// A one-paragraph explanation of the failure.
    pub message: String,
    /// Every checker that ran, by name, with what it found ("pass", "fail", "unknown"), in
    /// the order the verdict was read off.
    pub checks: Vec<(String, String)>,
    pub events: u64,
    pub sim_time_ns: u64,
    pub ops_invoked: u64,
    pub ops_ok: u64,
    pub ops_fail: u64,
    pub ops_info: u64,
    pub messages_sent: u64,
    pub messages_delivered: u64,
    pub messages_dropped: u64,
    pub latency_p50_ns: u64,
    pub latency_p99_ns: u64,
    pub latency_max_ns: u64,
    /// Faults injected, by kind name, in a fixed order.
    pub faults: Vec<(String, u64)>,
    pub trace_hash: u64,
    /// Swarm values this seed drew, as `key = value`.
    pub drawn: Vec<(String, String)>,
    /// The protocol's named counters.
    pub counters: Vec<(String, u64)>,
    /// Each declared property, in declaration order, with what this run did with it:
    /// "held" or "violated" (always), "reached" or "unreached" (sometimes).
    pub properties: Vec<(String, String)>,
    /// The one command that replays this run.
    pub replay: String,
    /// What happened in each phase, in order; empty for a run of one phase.
    pub phases: Vec<PhaseRecord>,
}

/// What happened in one phase of a run: the events from its start up to its end.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PhaseRecord {
    pub name: String,
    pub start_ns: u64,
    pub end_ns: u64,
    pub ops_invoked: u64,
    pub ops_ok: u64,
    pub ops_fail: u64,
    pub ops_info: u64,
    pub messages_dropped: u64,
    /// Whether a partition was in force as the phase started.
    pub partitioned_at_start: bool,
    /// Faults injected in the phase, by kind name, in the fixed order of the run's.
    pub faults: Vec<(String, u64)>,
    /// How much each of the protocol's counters rose in the phase (those that did).
    pub counters: Vec<(String, u64)>,
}

impl PhaseRecord {
    /// Faults of kind `name` injected in the phase.
    pub fn fault(&self, name: &str) -> u64 {
        self.faults.iter().find(|(k, _)| k == name).map_or(0, |(_, n)| *n)
    }

    /// How much the counter `name` rose in the phase.
    pub fn counter(&self, name: &str) -> u64 {
        self.counters.iter().find(|(k, _)| k == name).map_or(0, |(_, n)| *n)
    }
}

impl RunRecord {
    pub fn verdict(&self) -> Verdict {
        self.verdict.unwrap_or(Verdict::Pass)
    }

    /// What this run did with the property `name` ("held", "violated", "reached",
    /// "unreached"); `None` if the protocol declares no such property.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties.iter().find(|(n, _)| n == name).map(|(_, outcome)| outcome.as_str())
    }
}
