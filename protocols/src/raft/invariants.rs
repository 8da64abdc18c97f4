//! Raft's safety properties (Figure 3.2), checked online after every handler, start and
//! crash, from each node's state and the ghost record of what its last handler did:
//!
//! - `election_safety`: at most one leader per term, over the whole run (a leader that
//!   crashed still counts).
//! - `log_matching`: two logs with an entry of the same index and term agree on every
//!   entry up to it. Checked incrementally: the first time an `(index, term)` entry is
//!   written anywhere, its command digest and the term of its predecessor are recorded;
//!   every later copy must agree. By induction down the log, agreeing on the predecessor's
//!   term at each step is agreeing on the whole prefix.
//! - `leader_completeness`: a new leader's log holds every entry committed in an earlier
//!   term, and an entry committed in a term is already in the log of any leader of a later
//!   one. An entry counts as committed in the term of the node that applied it first
//!   (always its leader: followers learn commitment from one).
//! - `state_machine_safety`: no two nodes apply different commands at one index, and a
//!   snapshot's last entry is the committed one.
//! - `monotone_commit`: a running node's commit index never decreases, and it never
//!   applies past it. A restart starts again from the snapshot point; what the node then
//!   applies is checked by `state_machine_safety`.
//!
//! Each check costs a map lookup per entry written or applied; only leader completeness
//! walks a log, once per election, from the leader's log base.

use super::{Raft, Role};
use sim_core::SimTime;
use sim_core::engine::{Nodes, Observer, Violation};
use sim_core::node::NodeId;
use sim_core::protocol::PropertySpec;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry as MapEntry;

/// Raft's named properties: the five it always keeps (checked here), and the cases a
/// campaign should sometimes reach (counted by the node as they happen).
pub const PROPERTIES: &[PropertySpec] = &[
    PropertySpec::always("election_safety", "At most one leader per term."),
    PropertySpec::always("log_matching", "Logs that share an entry agree up to it."),
    PropertySpec::always(
        "leader_completeness",
        "A leader holds every entry committed before its term.",
    ),
    PropertySpec::always(
        "state_machine_safety",
        "No two nodes apply different commands at one index.",
    ),
    PropertySpec::always("monotone_commit", "A running node's commit index never decreases."),
    PropertySpec::sometimes(
        "leader_stepped_down",
        "A leader learned of a higher term and stepped down.",
    ),
    PropertySpec::sometimes(
        "conflict_truncated",
        "A follower cut a conflicting suffix of its log.",
    ),
    PropertySpec::sometimes(
        "request_deduplicated",
        "A retried request was answered from its session, not applied again.",
    ),
    PropertySpec::sometimes("client_redirected", "A client was pointed at the leader."),
    PropertySpec::sometimes("snapshot_taken", "A node compacted its log into a snapshot."),
    PropertySpec::sometimes(
        "snapshot_installed",
        "A lagging follower was sent the leader's snapshot.",
    ),
    PropertySpec::sometimes("recovered_from_disk", "A restarted node rebuilt its state from disk."),
    PropertySpec::sometimes("torn_tail_truncated", "Recovery cut a torn last record."),
    PropertySpec::sometimes(
        "corrupt_read_detected",
        "Recovery saw a corrupted read and read again.",
    ),
    PropertySpec::sometimes("pre_vote_started", "A node ran a PreVote round (option pre_vote)."),
    PropertySpec::sometimes(
        "check_quorum_step_down",
        "A leader that heard from no majority stepped down (option check_quorum).",
    ),
    PropertySpec::sometimes(
        "read_index_served",
        "A read was served through ReadIndex (option read_index).",
    ),
];

/// An entry known to be committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Committed {
    term: u64,
    digest: u64,
    /// The term of the node that applied it first.
    commit_term: u64,
}

/// The online checker of Raft's invariants; one per run.
#[derive(Debug, Default)]
pub struct RaftInvariants {
    /// The leader of each term.
    leaders: BTreeMap<u64, NodeId>,
    /// `(term, index)` → (command digest, predecessor's term), for every entry written.
    written: BTreeMap<(u64, u64), (u64, u64)>,
    /// The committed log, by index (slot 0 unused).
    committed: Vec<Option<Committed>>,
    /// Per node: the commit index it had after its last handler (`None` while down).
    commit_seen: Vec<Option<u64>>,
}

impl RaftInvariants {
    /// How many terms had a leader.
    pub fn terms_with_leader(&self) -> usize {
        self.leaders.len()
    }

    /// The highest index known committed.
    pub fn committed_index(&self) -> u64 {
        self.committed.len().saturating_sub(1) as u64
    }

    fn committed(&self, index: u64) -> Option<Committed> {
        self.committed.get(index as usize).copied().flatten()
    }

    fn check(
        &mut self,
        node: NodeId,
        raft: &Raft,
        nodes: &Nodes<'_, Raft>,
    ) -> Result<(), (&'static str, String)> {
        let ghost = raft.ghost();
        let term = raft.term();
        if raft.role() == Role::Leader {
            match self.leaders.entry(term) {
                MapEntry::Vacant(slot) => {
                    slot.insert(node);
                }
                MapEntry::Occupied(slot) if *slot.get() != node => {
                    let other = *slot.get();
                    return Err((
                        "election_safety",
                        format!("{other} and {node} were both elected leader of term {term}"),
                    ));
                }
                MapEntry::Occupied(_) => {}
            }
        }
        for e in &ghost.written {
            match self.written.entry((e.term, e.index)) {
                MapEntry::Vacant(slot) => {
                    slot.insert((e.digest, e.prev_term));
                }
                MapEntry::Occupied(slot) => {
                    let (digest, prev_term) = *slot.get();
                    if digest != e.digest {
                        return Err((
                            "log_matching",
                            format!(
                                "{node} holds an entry at index {} of term {} with a different \
                                 command than the one first written there",
                                e.index, e.term
                            ),
                        ));
                    }
                    if prev_term != e.prev_term {
                        return Err((
                            "log_matching",
                            format!(
                                "{node}'s entry at index {} of term {} follows an entry of term \
                                 {}, but elsewhere it follows term {prev_term}",
                                e.index, e.term, e.prev_term
                            ),
                        ));
                    }
                }
            }
        }
        if let Some((index, snapshot_term)) = ghost.snapshot
            && let Some(c) = self.committed(index)
            && c.term != snapshot_term
        {
            return Err((
                "state_machine_safety",
                format!(
                    "{node}'s snapshot ends at index {index} with term {snapshot_term}, but the \
                     committed entry there has term {}",
                    c.term
                ),
            ));
        }
        for e in &ghost.applied {
            let slot = e.index as usize;
            if self.committed.len() <= slot {
                self.committed.resize(slot + 1, None);
            }
            match self.committed[slot] {
                None => {
                    let committed = Committed { term: e.term, digest: e.digest, commit_term: term };
                    self.committed[slot] = Some(committed);
                    check_newer_leaders(e.index, committed, nodes)?;
                }
                Some(c) if c.term != e.term || c.digest != e.digest => {
                    return Err((
                        "state_machine_safety",
                        format!(
                            "{node} applied an entry of term {} at index {}, but another node \
                             applied a different one (term {}) there",
                            e.term, e.index, c.term
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        if ghost.became_leader {
            self.check_leader_completeness(node, raft)?;
        }
        self.check_commit(node, raft)
    }

    fn check_leader_completeness(
        &self,
        node: NodeId,
        raft: &Raft,
    ) -> Result<(), (&'static str, String)> {
        let term = raft.term();
        let log = raft.log();
        let base = log.base_index();
        if let Some(c) = self.committed(base)
            && base > 0
            && c.term != log.base_term()
        {
            return Err((
                "leader_completeness",
                format!(
                    "{node}, leader of term {term}, has a log based at {base} with term {}, but \
                     the committed entry there has term {}",
                    log.base_term(),
                    c.term
                ),
            ));
        }
        for index in base + 1..self.committed.len() as u64 {
            let Some(c) = self.committed(index) else { continue };
            if c.commit_term >= term {
                continue;
            }
            let holds =
                log.entry(index).is_some_and(|e| e.term == c.term && e.digest() == c.digest);
            if !holds {
                let found =
                    log.term_at(index).map_or("nothing".to_string(), |t| format!("term {t}"));
                return Err((
                    "leader_completeness",
                    format!(
                        "{node}, leader of term {term}, lacks the entry at index {index} (term {}) \
                         committed in term {}; its log has {found} there",
                        c.term, c.commit_term
                    ),
                ));
            }
        }
        Ok(())
    }

    fn check_commit(&mut self, node: NodeId, raft: &Raft) -> Result<(), (&'static str, String)> {
        let slot = node.0 as usize;
        let commit = raft.commit_index();
        let previous = self.commit_seen[slot];
        self.commit_seen[slot] = Some(commit);
        if let Some(previous) = previous
            && !raft.ghost().started
            && commit < previous
        {
            return Err((
                "monotone_commit",
                format!("{node}'s commit index went back from {previous} to {commit}"),
            ));
        }
        if raft.last_applied() > commit {
            return Err((
                "monotone_commit",
                format!(
                    "{node} applied up to {} past its commit index {commit}",
                    raft.last_applied()
                ),
            ));
        }
        Ok(())
    }
}

/// An entry committed in some term must already be in the log of every leader of a later
/// term: such a leader was elected by a majority, one of which stored the entry before it
/// voted (it could not store it afterwards, being in the later term).
fn check_newer_leaders(
    index: u64,
    committed: Committed,
    nodes: &Nodes<'_, Raft>,
) -> Result<(), (&'static str, String)> {
    for (id, raft) in nodes.iter() {
        let Some(raft) = raft.filter(|r| r.is_leader() && r.term() > committed.commit_term) else {
            continue;
        };
        let log = raft.log();
        let holds = if index <= log.base_index() {
            true // compacted: committed entries only, checked when they were written
        } else {
            log.entry(index)
                .is_some_and(|e| e.term == committed.term && e.digest() == committed.digest)
        };
        if !holds {
            return Err((
                "leader_completeness",
                format!(
                    "{id}, leader of term {}, lacks the entry at index {index} (term {}) just \
                     committed in term {}",
                    raft.term(),
                    committed.term,
                    committed.commit_term
                ),
            ));
        }
    }
    Ok(())
}

impl Observer<Raft> for RaftInvariants {
    fn after_node(
        &mut self,
        time: SimTime,
        node: NodeId,
        nodes: &Nodes<'_, Raft>,
        _annotations: &[String],
    ) -> Result<(), Violation> {
        if self.commit_seen.len() < nodes.len() {
            self.commit_seen.resize(nodes.len(), None);
        }
        let Some(raft) = nodes.get(node) else {
            self.commit_seen[node.0 as usize] = None; // crashed: volatile state is gone
            return Ok(());
        };
        self.check(node, raft, nodes).map_err(|(invariant, message)| Violation {
            invariant: invariant.to_string(),
            message,
            time,
            node: Some(node),
        })
    }
}
