//! Raft's configuration: the options a scenario may set, and the known-bug switches.

use sim_core::SimDuration;
use sim_core::protocol::{BugSpec, OptionSpec, OptionValue, Options};

/// Known-bug switches: each one a real mistake found in Raft implementations. All off by
/// default; a test turns one on to prove that dsim's faults and checks find it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bugs {
    /// A leader commits an entry of an earlier term once a majority stores it (§3.6.2,
    /// Figure 3.7, the paper's "Figure 8").
    pub commit_previous_term: bool,
    /// A server grants its vote without persisting it.
    pub vote_without_persist: bool,
    /// A follower overwrites a conflicting entry but keeps the entries after it.
    pub no_truncate_conflict: bool,
    /// Log appends are acknowledged (to the leader, and by the leader to itself) before
    /// they are synced; the sync happens lazily on a timer.
    pub reply_before_sync: bool,
    /// A leader answers reads from its local state without confirming it is still leader.
    pub stale_local_read: bool,
    /// Every election timeout is `election_timeout_min`, not drawn at random (§3.4): a
    /// liveness bug, as candidates that time out together split the vote again and again.
    pub fixed_election_timeout: bool,
    /// A follower sets its commit index from every AppendEntries, even a lower one (a
    /// reordered request): Figure 3.1's "if leaderCommit > commitIndex" left out.
    pub commit_index_regresses: bool,
    /// No client sessions (§6.3): a retried command is appended and executed again.
    pub no_client_sessions: bool,
}

impl Bugs {
    pub fn any(&self) -> bool {
        *self != Bugs::default()
    }
}

/// The known-bug switches by name, with what each one does.
pub const BUGS: [BugSpec; 8] = [
    BugSpec {
        name: "commit_previous_term",
        doc: "A leader commits entries of earlier terms by counting replicas (the dissertation's \
              Figure 3.7, the paper's Figure 8): a committed entry can later be overwritten.",
    },
    BugSpec {
        name: "vote_without_persist",
        doc: "A server grants a vote without persisting it: after a crash it can vote again in \
              the same term, and two leaders can be elected in one term.",
    },
    BugSpec {
        name: "no_truncate_conflict",
        doc: "A follower replaces a conflicting entry but keeps the stale entries after it, so \
              its log no longer matches the leader's.",
    },
    BugSpec {
        name: "reply_before_sync",
        doc: "Log appends are acknowledged before they are synced (sync happens lazily on a \
              timer): a crash can lose an entry a majority acknowledged, after it was committed.",
    },
    BugSpec {
        name: "stale_local_read",
        doc: "A leader serves reads from its local state machine without confirming that it is \
              still the leader: a deposed leader returns stale values.",
    },
    BugSpec {
        name: "fixed_election_timeout",
        doc: "Election timeouts are not randomized (a liveness bug): servers that time out \
              together split the vote, and can keep doing so, leaving the cluster leaderless.",
    },
    BugSpec {
        name: "commit_index_regresses",
        doc: "A follower sets its commit index from every AppendEntries, even a delayed one \
              carrying a lower commit index, so the index moves backwards.",
    },
    BugSpec {
        name: "no_client_sessions",
        doc: "No client sessions (§6.3): a command the client retried, after its first attempt \
              was appended, is executed twice.",
    },
];

/// Raft's configuration, shared by every node of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct RaftConfig {
    /// Election timeouts are drawn uniformly from `[min, max]` (§3.4).
    pub election_timeout_min: SimDuration,
    pub election_timeout_max: SimDuration,
    /// A leader sends AppendEntries to every follower at least this often (§3.4).
    pub heartbeat_interval: SimDuration,
    /// Ask for pre-votes before starting an election (§9.6).
    pub pre_vote: bool,
    /// A leader steps down when it has not heard from a majority for an election timeout
    /// (§6.2); followers then also ignore vote requests while they hear from a leader
    /// (§4.2.3).
    pub check_quorum: bool,
    /// Serve reads with ReadIndex (§6.4) instead of appending them to the log.
    pub read_index: bool,
    /// Take a snapshot once this many applied entries follow the last one (§5.1); 0: never.
    pub snapshot_threshold: u64,
    /// At most this many entries in one AppendEntries.
    pub max_entries_per_append: u64,
    /// Group commit: log appends are synced this long after the first unsynced one, and
    /// acknowledged only then (§10.2.1). Zero syncs before the handler returns.
    pub sync_delay: SimDuration,
    pub bugs: Bugs,
}

impl Default for RaftConfig {
    fn default() -> Self {
        RaftConfig {
            election_timeout_min: SimDuration::from_millis(150),
            election_timeout_max: SimDuration::from_millis(300),
            heartbeat_interval: SimDuration::from_millis(50),
            pre_vote: false,
            check_quorum: false,
            read_index: false,
            snapshot_threshold: 200,
            max_entries_per_append: 64,
            sync_delay: SimDuration::ZERO,
            bugs: Bugs::default(),
        }
    }
}

/// The lazy sync period the `reply_before_sync` bug uses when `sync_delay` is zero.
pub const LAZY_SYNC_DELAY: SimDuration = SimDuration::from_millis(20);

impl RaftConfig {
    /// The options scenarios may set, with their defaults (those of [`RaftConfig::default`]).
    pub fn option_specs() -> Vec<OptionSpec> {
        let d = RaftConfig::default();
        vec![
            OptionSpec {
                name: "election_timeout_min",
                default: OptionValue::Duration(d.election_timeout_min),
                doc: "Lower bound of the randomized election timeout (§3.4).",
            },
            OptionSpec {
                name: "election_timeout_max",
                default: OptionValue::Duration(d.election_timeout_max),
                doc: "Upper bound of the randomized election timeout (§3.4).",
            },
            OptionSpec {
                name: "heartbeat_interval",
                default: OptionValue::Duration(d.heartbeat_interval),
                doc: "How often a leader sends AppendEntries to each follower when idle.",
            },
            OptionSpec {
                name: "pre_vote",
                default: OptionValue::Bool(d.pre_vote),
                doc: "Run a pre-vote round before incrementing the term (§9.6).",
            },
            OptionSpec {
                name: "check_quorum",
                default: OptionValue::Bool(d.check_quorum),
                doc: "Leaders step down without a majority's responses for an election timeout \
                      (§6.2); followers that hear from a leader ignore vote requests (§4.2.3).",
            },
            OptionSpec {
                name: "read_index",
                default: OptionValue::Bool(d.read_index),
                doc: "Serve linearizable reads with ReadIndex (§6.4) instead of through the log.",
            },
            OptionSpec {
                name: "snapshot_threshold",
                default: OptionValue::Int(d.snapshot_threshold as i64),
                doc: "Snapshot once this many applied entries follow the last snapshot (§5.1); \
                      0 never snapshots.",
            },
            OptionSpec {
                name: "max_entries_per_append",
                default: OptionValue::Int(d.max_entries_per_append as i64),
                doc: "At most this many entries in one AppendEntries request.",
            },
            OptionSpec {
                name: "sync_delay",
                default: OptionValue::Duration(d.sync_delay),
                doc: "Group commit: sync log appends this long after the first unsynced one and \
                      acknowledge them only then (§10.2.1); 0 syncs at once.",
            },
        ]
    }

    /// Build a configuration from checked options and enabled bug names.
    pub fn from_options(options: &Options, bugs: &[&str]) -> Result<RaftConfig, String> {
        let specs = Self::option_specs();
        let non_negative = |name: &str| -> Result<u64, String> {
            let value = options.int(&specs, name);
            u64::try_from(value).map_err(|_| format!("{name} must be at least 0, not {value}"))
        };
        let mut config = RaftConfig {
            election_timeout_min: options.duration(&specs, "election_timeout_min"),
            election_timeout_max: options.duration(&specs, "election_timeout_max"),
            heartbeat_interval: options.duration(&specs, "heartbeat_interval"),
            pre_vote: options.bool(&specs, "pre_vote"),
            check_quorum: options.bool(&specs, "check_quorum"),
            read_index: options.bool(&specs, "read_index"),
            snapshot_threshold: non_negative("snapshot_threshold")?,
            max_entries_per_append: non_negative("max_entries_per_append")?,
            sync_delay: options.duration(&specs, "sync_delay"),
            bugs: Bugs::default(),
        };
        for &name in bugs {
            let flag = match name {
                "commit_previous_term" => &mut config.bugs.commit_previous_term,
                "vote_without_persist" => &mut config.bugs.vote_without_persist,
                "no_truncate_conflict" => &mut config.bugs.no_truncate_conflict,
                "reply_before_sync" => &mut config.bugs.reply_before_sync,
                "stale_local_read" => &mut config.bugs.stale_local_read,
                "fixed_election_timeout" => &mut config.bugs.fixed_election_timeout,
                "commit_index_regresses" => &mut config.bugs.commit_index_regresses,
                "no_client_sessions" => &mut config.bugs.no_client_sessions,
                other => {
                    let known: Vec<&str> = BUGS.iter().map(|b| b.name).collect();
                    return Err(format!(
                        "raft has no bug switch {other:?}; known: {}",
                        known.join(", ")
                    ));
                }
            };
            *flag = true;
        }
        config.validate()?;
        Ok(config)
    }

    /// Check the combination of values; the message says what would be valid.
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
        if self.max_entries_per_append == 0 {
            return Err("max_entries_per_append must be at least 1".into());
        }
        Ok(())
    }

    /// The period of background syncs: group commit, or the lazy sync of the bug.
    pub(crate) fn deferred_sync(&self) -> Option<SimDuration> {
        if self.sync_delay.0 > 0 {
            Some(self.sync_delay)
        } else if self.bugs.reply_before_sync {
            Some(LAZY_SYNC_DELAY)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn defaults_round_trip_through_options() {
        let config = RaftConfig::from_options(&Options::default(), &[]).unwrap();
        assert_eq!(config, RaftConfig::default());
    }

    #[test]
    fn bad_values_and_names_are_explained() {
        let mut values = BTreeMap::new();
        values.insert(
            "election_timeout_max".to_string(),
            OptionValue::Duration(SimDuration::from_millis(100)),
        );
        let err = RaftConfig::from_options(&Options::new(values), &[]).unwrap_err();
        assert!(err.contains("election_timeout_max"), "{err}");
        let err = RaftConfig::from_options(&Options::default(), &["nope"]).unwrap_err();
        assert!(err.contains("stale_local_read"), "{err}");
        let config = RaftConfig::from_options(&Options::default(), &["stale_local_read"]).unwrap();
        assert!(config.bugs.stale_local_read && config.bugs.any());
    }
}
