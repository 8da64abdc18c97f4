//! Raft's configuration: the options a scenario may set, and the known-bug switches,
//! each declared once.

use crate::timing::check_election_timing;
use sim_core::SimDuration;
use sim_core::{declare_bugs, declare_options};
use std::ops::{Deref, DerefMut};

declare_bugs! {
    /// Known-bug switches: each one a real mistake found in Raft implementations. All off by
    /// default; a test turns one on to prove that dsim's faults and checks find it.
    pub struct Bugs {
        /// A leader commits entries of earlier terms by counting replicas (the dissertation's
        /// Figure 3.7, §3.6.2; the paper's Figure 8): a committed entry can later be
        /// overwritten.
        commit_previous_term,
        /// A server grants a vote without persisting it: after a crash it can vote again in
        /// the same term, and two leaders can be elected in one term.
        vote_without_persist,
        /// A follower replaces a conflicting entry but keeps the stale entries after it, so
        /// its log no longer matches the leader's.
        no_truncate_conflict,
        /// Log appends are acknowledged (to the leader, and by the leader to itself) before
        /// they are synced (sync happens lazily on a timer): a crash can lose an entry a
        /// majority acknowledged, after it was committed.
        reply_before_sync,
        /// A leader serves reads from its local state machine without confirming that it is
        /// still the leader: a deposed leader returns stale values.
        stale_local_read,
        /// Election timeouts are not randomized (every one is `election_timeout_min`, §3.4): a
        /// liveness bug, as servers that time out together split the vote, and can keep doing
        /// so, leaving the cluster leaderless.
        fixed_election_timeout,
        /// A follower sets its commit index from every AppendEntries, even a delayed one
        /// carrying a lower commit index, so the index moves backwards (Figure 3.1's "if
        /// leaderCommit > commitIndex" left out).
        commit_index_regresses,
        /// No client sessions (§6.3): a command the client retried, after its first attempt
        /// was appended, is executed twice.
        no_client_sessions,
        /// The majority is counted as half the cluster rounded up, which is n/2 for an even
        /// cluster: both halves of a split elect leaders and commit (found only on even
        /// sizes).
        minority_quorum_even,
    }
}

declare_options! {
    /// The options a scenario may set (`[protocol.options]`), with their defaults.
    pub struct RaftOptions {
        /// Lower bound of the randomized election timeout (§3.4).
        election_timeout_min: SimDuration = SimDuration::from_millis(150),
        /// Upper bound of the randomized election timeout (§3.4).
        election_timeout_max: SimDuration = SimDuration::from_millis(300),
        /// How often a leader sends AppendEntries to each follower when idle (§3.4).
        heartbeat_interval: SimDuration = SimDuration::from_millis(50),
        /// Run a pre-vote round before incrementing the term (§9.6).
        pre_vote: bool = false,
        /// Leaders step down without a majority's responses for an election timeout (§6.2);
        /// followers that hear from a leader ignore vote requests (§4.2.3).
        check_quorum: bool = false,
        /// Serve linearizable reads with ReadIndex (§6.4) instead of through the log.
        read_index: bool = false,
        /// Snapshot once this many applied entries follow the last snapshot (§5.1); 0 never
        /// snapshots.
        snapshot_threshold: u64 = 200,
        /// At most this many entries in one AppendEntries request.
        max_entries_per_append: u64 = 64,
        /// Group commit: sync log appends this long after the first unsynced one and
        /// acknowledge them only then (§10.2.1); 0 syncs at once.
        sync_delay: SimDuration = SimDuration::ZERO,
    }
}

impl RaftOptions {
    /// Check the combination of values; the message says what would be valid.
    pub fn validate(&self) -> Result<(), String> {
        check_election_timing(
            self.election_timeout_min,
            self.election_timeout_max,
            self.heartbeat_interval,
        )?;
        if self.max_entries_per_append == 0 {
            return Err("max_entries_per_append must be at least 1".into());
        }
        Ok(())
    }
}

/// Raft's configuration, shared by every node of a run: the options and the bug switches.
/// It reads as its options (`config.pre_vote`), which are declared only in
/// [`RaftOptions`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RaftConfig {
    pub options: RaftOptions,
    pub bugs: Bugs,
}

impl From<RaftOptions> for RaftConfig {
    fn from(options: RaftOptions) -> Self {
        RaftConfig { options, bugs: Bugs::default() }
    }
}

impl Deref for RaftConfig {
    type Target = RaftOptions;

    fn deref(&self) -> &RaftOptions {
        &self.options
    }
}

impl DerefMut for RaftConfig {
    fn deref_mut(&mut self) -> &mut RaftOptions {
        &mut self.options
    }
}

/// The lazy sync period the `reply_before_sync` bug uses when `sync_delay` is zero.
pub const LAZY_SYNC_DELAY: SimDuration = SimDuration::from_millis(20);

impl RaftConfig {
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
    use crate::raft::Raft;
    use sim_core::protocol::{BugSwitches, DeclaredOptions, OptionValue, OptionValues, Protocol};

    #[test]
    fn defaults_round_trip_through_options() {
        let config = Raft::configure_from::<&str>(&OptionValues::new(), &[]).unwrap();
        assert_eq!(config, RaftConfig::default());
        assert!(RaftOptions::default().validate().is_ok());
    }

    #[test]
    fn bad_values_and_names_are_explained() {
        let mut values = OptionValues::new();
        values.insert(
            "election_timeout_max".to_string(),
            OptionValue::Duration(SimDuration::from_millis(100)),
        );
        let err = Raft::configure_from::<&str>(&values, &[]).unwrap_err().to_string();
        assert!(err.contains("election_timeout_max"), "{err}");
        let err = Raft::configure_from(&OptionValues::new(), &["nope"]).unwrap_err().to_string();
        assert!(err.contains("stale_local_read"), "{err}");
        let config = Raft::configure_from(&OptionValues::new(), &["stale_local_read"]).unwrap();
        assert!(config.bugs.stale_local_read && config.bugs.any());
        assert_eq!(config.bugs.enabled(), ["stale_local_read"]);
        let mut values = OptionValues::new();
        values.insert("snapshot_threshold".into(), OptionValue::Int(-1));
        let err = RaftOptions::from_values(&values).unwrap_err().to_string();
        assert!(err.starts_with("option `snapshot_threshold`: -1 is out of range"), "{err}");
    }

    #[test]
    fn the_declarations_give_the_specs() {
        let names: Vec<&str> = RaftOptions::specs().iter().map(|s| s.name).collect();
        assert_eq!(
            names[..3],
            ["election_timeout_min", "election_timeout_max", "heartbeat_interval"]
        );
        assert_eq!(Bugs::specs().len(), 9);
        assert!(Bugs::specs().iter().all(|b| b.doc.ends_with('.')));
    }
}
