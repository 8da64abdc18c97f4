//! Multi-Paxos's configuration: the options a scenario may set, and the known-bug switches.
//!
//! One struct of typed fields with their defaults ([`PaxosConfig`]) and one struct of
//! switches ([`Bugs`]), each field documented once, so that they port one for one to
//! `declare_options!` and `declare_bugs!`.

use sim_core::SimDuration;
use sim_core::protocol::{BugSpec, OptionSpec, OptionValue, Options};

/// Known-bug switches: each one a real mistake made in Paxos implementations. All off by
/// default; a test turns one on to prove that dsim's faults and checks find it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bugs {
    /// An acceptor answers a prepare without writing its promise to disk: after a restart
    /// it has forgotten the promise and accepts proposals of the ballots it promised to
    /// refuse.
    pub promise_without_persist: bool,
    /// An acceptor accepts a proposal whose ballot is below its promise (the `>=` of
    /// phase 2b dropped), so an old leader's proposals still gather quorums after a newer
    /// leader's phase 1 read the acceptors.
    pub accept_below_promise: bool,
    /// A new leader proposes its own values in the open slots instead of the highest-ballot
    /// value its phase 1 found accepted there (the heart of Paxos left out).
    pub ignore_accepted_values: bool,
    /// A node that takes over from a failed leader skips phase 1 and proposes at once from
    /// what it holds itself, as if it had been elected: it overwrites values chosen by
    /// acceptors it never asked.
    pub skip_phase1_after_leader_change: bool,
    /// The majority of an even-sized cluster is computed as n/2: two halves each form a
    /// quorum and choose different values.
    pub minority_quorum_even: bool,
    /// Flexible Paxos without its intersection condition: phase 1 and phase 2 both use
    /// n/2 acceptors, so a new leader's phase 1 can miss a chosen value.
    pub non_intersecting_quorums: bool,
}

impl Bugs {
    pub fn any(&self) -> bool {
        *self != Bugs::default()
    }
}

/// The known-bug switches by name, with what each one does.
pub const BUGS: [BugSpec; 6] = [
    BugSpec {
        name: "promise_without_persist",
        doc: "An acceptor answers a prepare without persisting its promise: after a restart it \
              accepts proposals of ballots it promised to refuse.",
    },
    BugSpec {
        name: "accept_below_promise",
        doc: "An acceptor accepts proposals whose ballot is below its promise, so an old \
              leader's proposals are still chosen after a newer leader's phase 1.",
    },
    BugSpec {
        name: "ignore_accepted_values",
        doc: "A new leader proposes its own values instead of the highest-ballot values its \
              phase 1 found accepted: a chosen value is overwritten.",
    },
    BugSpec {
        name: "skip_phase1_after_leader_change",
        doc: "A node that takes over from a failed leader skips phase 1 and proposes from its \
              own acceptor state, overwriting values chosen by acceptors it never asked.",
    },
    BugSpec {
        name: "minority_quorum_even",
        doc: "The majority of an even-sized cluster is n/2, so both halves of a split choose \
              values (run it on an even cluster).",
    },
    BugSpec {
        name: "non_intersecting_quorums",
        doc: "Flexible Paxos without the intersection check: phase 1 and phase 2 quorums of \
              n/2 each, so a new leader can miss a chosen value.",
    },
];

/// Multi-Paxos's configuration, shared by every node of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct PaxosConfig {
    /// A node that hears from no leader for a timeout drawn uniformly from `[min, max]`
    /// starts phase 1 with a higher ballot.
    pub election_timeout_min: SimDuration,
    pub election_timeout_max: SimDuration,
    /// A leader sends every acceptor its unacknowledged proposals (or a heartbeat) this often.
    pub heartbeat_interval: SimDuration,
    /// Acceptors in a phase-1 quorum; 0 is a majority (Flexible Paxos, Howard et al. 2016).
    pub phase1_quorum: u64,
    /// Acceptors in a phase-2 quorum; 0 is a majority. Phase 1 and phase 2 quorums must
    /// intersect: `phase1_quorum + phase2_quorum > nodes`.
    pub phase2_quorum: u64,
    /// A leader that has not heard from a phase-2 quorum for `election_timeout_max` steps
    /// down (its proposals could not be chosen anyway).
    pub check_quorum: bool,
    /// Snapshot the state machine once this many applied slots follow the last snapshot,
    /// and drop the acceptor state of slots well before it; 0 never snapshots.
    pub snapshot_threshold: u64,
    /// At most this many proposals in one Accept message.
    pub max_batch: u64,
    pub bugs: Bugs,
}

impl Default for PaxosConfig {
    fn default() -> Self {
        PaxosConfig {
            election_timeout_min: SimDuration::from_millis(150),
            election_timeout_max: SimDuration::from_millis(300),
            heartbeat_interval: SimDuration::from_millis(50),
            phase1_quorum: 0,
            phase2_quorum: 0,
            check_quorum: true,
            snapshot_threshold: 200,
            max_batch: 64,
            bugs: Bugs::default(),
        }
    }
}

/// The quorum sizes of one cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quorums {
    pub phase1: usize,
    pub phase2: usize,
}

impl PaxosConfig {
    /// The options scenarios may set, with their defaults (those of [`PaxosConfig::default`]).
    pub fn option_specs() -> Vec<OptionSpec> {
        let d = PaxosConfig::default();
        let int = |v: u64| OptionValue::Int(v as i64);
        vec![
            OptionSpec {
                name: "election_timeout_min",
                default: OptionValue::Duration(d.election_timeout_min),
                doc: "Lower bound of the randomized leader-failure timeout.",
            },
            OptionSpec {
                name: "election_timeout_max",
                default: OptionValue::Duration(d.election_timeout_max),
                doc: "Upper bound of the randomized leader-failure timeout.",
            },
            OptionSpec {
                name: "heartbeat_interval",
                default: OptionValue::Duration(d.heartbeat_interval),
                doc: "How often a leader re-sends unacknowledged proposals, or a heartbeat.",
            },
            OptionSpec {
                name: "phase1_quorum",
                default: int(d.phase1_quorum),
                doc: "Acceptors in a phase-1 quorum (Flexible Paxos); 0 is a majority. Must \
                      intersect phase 2: phase1_quorum + phase2_quorum > nodes.",
            },
            OptionSpec {
                name: "phase2_quorum",
                default: int(d.phase2_quorum),
                doc: "Acceptors in a phase-2 quorum (Flexible Paxos); 0 is a majority.",
            },
            OptionSpec {
                name: "check_quorum",
                default: OptionValue::Bool(d.check_quorum),
                doc: "A leader steps down when no phase-2 quorum answered it for \
                      election_timeout_max.",
            },
            OptionSpec {
                name: "snapshot_threshold",
                default: int(d.snapshot_threshold),
                doc: "Snapshot once this many applied slots follow the last snapshot, and drop \
                      acceptor state well before it; 0 never snapshots.",
            },
            OptionSpec {
                name: "max_batch",
                default: int(d.max_batch),
                doc: "At most this many proposals in one Accept message.",
            },
        ]
    }

    /// Build a configuration from checked options and enabled bug names.
    pub fn from_options(options: &Options, bugs: &[&str]) -> Result<PaxosConfig, String> {
        let specs = Self::option_specs();
        let non_negative = |name: &str| -> Result<u64, String> {
            let value = options.int(&specs, name);
            u64::try_from(value).map_err(|_| format!("{name} must be at least 0, not {value}"))
        };
        let mut config = PaxosConfig {
            election_timeout_min: options.duration(&specs, "election_timeout_min"),
            election_timeout_max: options.duration(&specs, "election_timeout_max"),
            heartbeat_interval: options.duration(&specs, "heartbeat_interval"),
            phase1_quorum: non_negative("phase1_quorum")?,
            phase2_quorum: non_negative("phase2_quorum")?,
            check_quorum: options.bool(&specs, "check_quorum"),
            snapshot_threshold: non_negative("snapshot_threshold")?,
            max_batch: non_negative("max_batch")?,
            bugs: Bugs::default(),
        };
        for &name in bugs {
            let flag = match name {
                "promise_without_persist" => &mut config.bugs.promise_without_persist,
                "accept_below_promise" => &mut config.bugs.accept_below_promise,
                "ignore_accepted_values" => &mut config.bugs.ignore_accepted_values,
                "skip_phase1_after_leader_change" => {
                    &mut config.bugs.skip_phase1_after_leader_change
                }
                "minority_quorum_even" => &mut config.bugs.minority_quorum_even,
                "non_intersecting_quorums" => &mut config.bugs.non_intersecting_quorums,
                other => {
                    let known: Vec<&str> = BUGS.iter().map(|b| b.name).collect();
                    return Err(format!(
                        "paxos has no bug switch {other:?}; known: {}",
                        known.join(", ")
                    ));
                }
            };
            *flag = true;
        }
        config.validate()?;
        Ok(config)
    }

    /// Check the combination of values; the message says what would be valid. Whether the
    /// quorums intersect depends on the cluster size, which `configure` is not given (see
    /// [`PaxosConfig::quorums`], which the nodes check when they start).
    pub fn validate(&self) -> Result<(), String> {
        if self.election_timeout_min.0 == 0 {
            return Err("election_timeout_min must be positive".into());
        }
        if self.election_timeout_max < self.election_timeout_min {
            return Err(format!(
                "election_timeout_max ({}) must be at least election_timeout_min ({})",
                self.election_timeout_max, self.election_timeout_min
            ));
        }
        if self.heartbeat_interval.0 == 0 || self.heartbeat_interval >= self.election_timeout_min {
            return Err(format!(
                "heartbeat_interval ({}) must be positive and below election_timeout_min ({})",
                self.heartbeat_interval, self.election_timeout_min
            ));
        }
        if self.max_batch == 0 {
            return Err("max_batch must be at least 1".into());
        }
        Ok(())
    }

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
    use std::collections::BTreeMap;

    fn with(values: &[(&str, i64)]) -> Options {
        let values: BTreeMap<String, OptionValue> =
            values.iter().map(|(k, v)| (k.to_string(), OptionValue::Int(*v))).collect();
        Options::new(values)
    }

    #[test]
    fn defaults_round_trip_through_options() {
        let config = PaxosConfig::from_options(&Options::default(), &[]).unwrap();
        assert_eq!(config, PaxosConfig::default());
        assert_eq!(config.quorums(5), Ok(Quorums { phase1: 3, phase2: 3 }));
        assert_eq!(config.quorums(4), Ok(Quorums { phase1: 3, phase2: 3 }));
    }

    #[test]
    fn flexible_quorums_must_intersect() {
        let config =
            PaxosConfig::from_options(&with(&[("phase1_quorum", 4), ("phase2_quorum", 2)]), &[])
                .unwrap();
        assert_eq!(config.quorums(5), Ok(Quorums { phase1: 4, phase2: 2 }));
        let err = config.quorums(6).unwrap_err();
        assert!(err.contains("must exceed the 6 nodes"), "{err}");
        let err = PaxosConfig::from_options(&with(&[("phase2_quorum", 2)]), &[])
            .unwrap()
            .quorums(5)
            .unwrap_err();
        assert!(err.contains("phase1_quorum (3) + phase2_quorum (2)"), "{err}");
        let err = PaxosConfig::from_options(&with(&[("phase2_quorum", 9)]), &[])
            .unwrap()
            .quorums(5)
            .unwrap_err();
        assert!(err.contains("from 1 to the 5 nodes"), "{err}");
        let err = PaxosConfig::from_options(&with(&[("phase1_quorum", -1)]), &[]).unwrap_err();
        assert!(err.contains("at least 0"), "{err}");
    }

    #[test]
    fn quorum_bugs_break_intersection() {
        let even = PaxosConfig::from_options(&Options::default(), &["minority_quorum_even"]);
        let even = even.unwrap();
        assert_eq!(even.quorums(4), Ok(Quorums { phase1: 2, phase2: 2 }));
        assert_eq!(even.quorums(5), Ok(Quorums { phase1: 3, phase2: 3 }));
        assert_eq!(even.intended_quorums(4), Ok(Quorums { phase1: 3, phase2: 3 }));
        let split = PaxosConfig::from_options(&Options::default(), &["non_intersecting_quorums"]);
        assert_eq!(split.unwrap().quorums(5), Ok(Quorums { phase1: 2, phase2: 2 }));
    }

    #[test]
    fn bad_values_and_names_are_explained() {
        let err = PaxosConfig::from_options(&Options::default(), &["nope"]).unwrap_err();
        assert!(err.contains("ignore_accepted_values"), "{err}");
        let err = PaxosConfig::from_options(&with(&[("max_batch", 0)]), &[]).unwrap_err();
        assert!(err.contains("max_batch"), "{err}");
    }
}
