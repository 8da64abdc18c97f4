//! Multi-Paxos's configuration: the options a scenario may set and the known-bug switches,
//! each declared once, and the quorums they give in a cluster.

use crate::timing::check_election_timing;
use sim_core::SimDuration;
use sim_core::{declare_bugs, declare_options};
use std::ops::{Deref, DerefMut};

declare_bugs! {
    /// Known-bug switches: each one a real mistake made in Paxos implementations. All off by
    /// default; a test turns one on to prove that dsim's faults and checks find it.
    pub struct Bugs {
        /// An acceptor answers a prepare without persisting its promise: after a restart it
        /// accepts proposals of ballots it promised to refuse.
        promise_without_persist,
        /// An acceptor accepts proposals whose ballot is below its promise (the `>=` of
        /// phase 2b dropped), so an old leader's proposals are still chosen after a newer
        /// leader's phase 1 read the acceptors.
        accept_below_promise,
        /// A new leader proposes its own values instead of the highest-ballot values its
        /// phase 1 found accepted (the heart of Paxos left out): a chosen value is
        /// overwritten.
        ignore_accepted_values,
        /// A node that takes over from a failed leader skips phase 1 and proposes from its
        /// own acceptor state, as if elected, overwriting values chosen by acceptors it never
        /// asked.
        skip_phase1_after_leader_change,
        /// The majority of an even-sized cluster is n/2, so both halves of a split choose
        /// values (run it on an even cluster).
        minority_quorum_even,
        /// Flexible Paxos without the intersection check: phase 1 and phase 2 quorums of n/2
        /// each, so a new leader can miss a chosen value.
        non_intersecting_quorums,
    }
}

declare_options! {
    /// The options a scenario may set (`[protocol.options]`), with their defaults.
    pub struct PaxosOptions {
        /// Lower bound of the randomized leader-failure timeout.
        election_timeout_min: SimDuration = SimDuration::from_millis(150),
        /// Upper bound of the randomized leader-failure timeout.
        election_timeout_max: SimDuration = SimDuration::from_millis(300),
        /// How often a leader re-sends unacknowledged proposals, or a heartbeat.
        heartbeat_interval: SimDuration = SimDuration::from_millis(50),
        /// Acceptors in a phase-1 quorum (Flexible Paxos); 0 is a majority. Must intersect
        /// phase 2: phase1_quorum + phase2_quorum > nodes (checked at load against cluster.nodes).
        phase1_quorum: u64 = 0,
        /// Acceptors in a phase-2 quorum (Flexible Paxos); 0 is a majority.
        phase2_quorum: u64 = 0,
        /// A leader steps down when no phase-2 quorum answered it for election_timeout_max
        /// (its proposals could not be chosen anyway).
        check_quorum: bool = true,
        /// Snapshot once this many applied slots follow the last snapshot, and drop acceptor
        /// state well before it; 0 never snapshots.
        snapshot_threshold: u64 = 200,
        /// At most this many proposals in one Accept message.
        max_batch: u64 = 64,
    }
}

impl PaxosOptions {
    /// Check the combination of values; the message says what would be valid. Whether the
    /// quorums intersect depends on the cluster size: `Protocol::fits_cluster` checks
    /// [`PaxosConfig::quorums`] against it at load.
    pub fn validate(&self) -> Result<(), String> {
        check_election_timing(
            self.election_timeout_min,
            self.election_timeout_max,
            self.heartbeat_interval,
        )?;
        if self.max_batch == 0 {
            return Err("max_batch must be at least 1".into());
        }
        Ok(())
    }
}

/// Multi-Paxos's configuration, shared by every node of a run: the options and the bug
/// switches. It reads as its options (`config.check_quorum`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PaxosConfig {
    pub options: PaxosOptions,
    pub bugs: Bugs,
}

impl From<PaxosOptions> for PaxosConfig {
    fn from(options: PaxosOptions) -> Self {
        PaxosConfig { options, bugs: Bugs::default() }
    }
}

impl Deref for PaxosConfig {
    type Target = PaxosOptions;

    fn deref(&self) -> &PaxosOptions {
        &self.options
    }
}

impl DerefMut for PaxosConfig {
    fn deref_mut(&mut self) -> &mut PaxosOptions {
        &mut self.options
    }
}

/// The quorum sizes of one cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quorums {
    pub phase1: usize,
    pub phase2: usize,
}

impl PaxosConfig {
    /// The quorums the protocol is meant to use in a cluster of `nodes` (and what the
    /// invariant checker counts as a phase-2 quorum): the configured sizes, 0 being a
    /// majority; or why they do not fit: each quorum from 1 to `nodes`, and every phase-1
    /// quorum meets every phase-2 quorum (`q1 + q2 > nodes`, Howard et al. 2016).
    pub fn intended_quorums(&self, nodes: usize) -> Result<Quorums, String> {
        let pick = |q: u64| if q == 0 { nodes / 2 + 1 } else { q as usize };
        let q = Quorums { phase1: pick(self.phase1_quorum), phase2: pick(self.phase2_quorum) };
        for (name, size) in [("phase1_quorum", q.phase1), ("phase2_quorum", q.phase2)] {
            if size == 0 || size > nodes {
                return Err(format!("{name} ({size}) must be from 1 to the {nodes} nodes"));
            }
        }
        if q.phase1 + q.phase2 <= nodes {
            return Err(format!(
                "phase1_quorum ({}) + phase2_quorum ({}) must exceed the {nodes} nodes, so \
                 that every phase-1 quorum meets every phase-2 quorum",
                q.phase1, q.phase2
            ));
        }
        Ok(q)
    }

    /// The quorums the nodes use: the intended ones, unless a bug switch miscounts them.
    pub fn quorums(&self, nodes: usize) -> Result<Quorums, String> {
        let half = (nodes / 2).max(1);
        if self.bugs.non_intersecting_quorums {
            return Ok(Quorums { phase1: half, phase2: half });
        }
        let mut q = self.intended_quorums(nodes)?;
        if self.bugs.minority_quorum_even && nodes.is_multiple_of(2) {
            if self.phase1_quorum == 0 {
                q.phase1 = half;
            }
            if self.phase2_quorum == 0 {
                q.phase2 = half;
            }
        }
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paxos::Paxos;
    use sim_core::protocol::{BugSwitches, DeclaredOptions, OptionValue, OptionValues, Protocol};

    fn with(values: &[(&str, i64)]) -> PaxosConfig {
        let values: OptionValues =
            values.iter().map(|(k, v)| (k.to_string(), OptionValue::Int(*v))).collect();
        Paxos::configure_from::<&str>(&values, &[]).unwrap()
    }

    #[test]
    fn defaults_give_majorities() {
        let config = Paxos::configure_from::<&str>(&OptionValues::new(), &[]).unwrap();
        assert_eq!(config, PaxosConfig::default());
        assert_eq!(config.quorums(5), Ok(Quorums { phase1: 3, phase2: 3 }));
        assert_eq!(config.quorums(4), Ok(Quorums { phase1: 3, phase2: 3 }));
    }

    #[test]
    fn flexible_quorums_must_intersect() {
        let config = with(&[("phase1_quorum", 4), ("phase2_quorum", 2)]);
        assert_eq!(config.quorums(5), Ok(Quorums { phase1: 4, phase2: 2 }));
        let err = config.quorums(6).unwrap_err();
        assert!(err.contains("must exceed the 6 nodes"), "{err}");
        let err = with(&[("phase2_quorum", 2)]).quorums(5).unwrap_err();
        assert!(err.contains("phase1_quorum (3) + phase2_quorum (2)"), "{err}");
        let err = with(&[("phase2_quorum", 9)]).quorums(5).unwrap_err();
        assert!(err.contains("from 1 to the 5 nodes"), "{err}");
    }

    #[test]
    fn quorum_bugs_break_intersection() {
        let mut even = PaxosConfig::default();
        even.bugs.minority_quorum_even = true;
        assert_eq!(even.quorums(4), Ok(Quorums { phase1: 2, phase2: 2 }));
        assert_eq!(even.quorums(5), Ok(Quorums { phase1: 3, phase2: 3 }));
        assert_eq!(even.intended_quorums(4), Ok(Quorums { phase1: 3, phase2: 3 }));
        let mut split = PaxosConfig::default();
        split.bugs.non_intersecting_quorums = true;
        assert_eq!(split.quorums(5), Ok(Quorums { phase1: 2, phase2: 2 }));
    }

    #[test]
    fn bad_values_and_names_are_explained() {
        let err = Paxos::configure_from(&OptionValues::new(), &["nope"]).unwrap_err().to_string();
        assert!(err.contains("bug switch"), "{err}");
        let mut values = OptionValues::new();
        values.insert("max_batch".into(), OptionValue::Int(0));
        let err = Paxos::configure_from::<&str>(&values, &[]).unwrap_err().to_string();
        assert!(err.contains("max_batch"), "{err}");
        let mut values = OptionValues::new();
        values.insert("phase1_quorum".into(), OptionValue::Int(-1));
        let err = PaxosOptions::from_values(&values).unwrap_err().to_string();
        assert!(err.starts_with("option `phase1_quorum`: -1 is out of range"), "{err}");
        assert_eq!(Bugs::specs().len(), 6);
        assert!(Bugs::specs().iter().all(|b| b.doc.ends_with('.')));
    }
}
