//! Multi-Paxos's safety properties, checked online after every handler, start and crash,
//! from each node's state and the ghost record of what its last handler did. A value is
//! *chosen* in a slot when a phase-2 quorum accepted it with the same ballot ("Paxos Made
//! Simple", §2.2), at any time in the run: acceptances are never retracted. The quorum is
//! the one the nodes count (a bug switch that shrinks it shows up as two values chosen,
//! the damage it does, rather than as a miscount).
//!
//! - `one_value_per_slot`: at most one value is chosen per slot.
//! - `chosen_never_changes`: once a value is chosen in a slot with ballot `b`, every
//!   proposal accepted there with a ballot of at least `b` has that value (P2b: no later
//!   ballot can choose, or even propose, another one).
//! - `state_machine_safety`: no two replicas apply different commands at one slot, and
//!   every applied command is the value chosen there (a learner learns only chosen
//!   values, the third safety requirement of §2.1).
//! - `monotone_acceptor`: a node's promise and the ballot it accepted in each slot never
//!   go backwards, across restarts too (only the slots a snapshot covers may be dropped).
//!
//! Each check costs map lookups per acceptance or applied slot; a restart compares the
//! node's recovered slots with what it held.

use super::{Ballot, Paxos};
use sim_core::SimTime;
use sim_core::engine::{Nodes, Observer, Violation};
use sim_core::node::NodeId;
use sim_core::protocol::PropertySpec;
use std::collections::BTreeMap;

/// The invariants by name, and the cases a campaign should sometimes reach (counters).
pub const PROPERTIES: &[PropertySpec] = &[
    PropertySpec::always("one_value_per_slot", "At most one value is chosen in each slot."),
    PropertySpec::always(
        "chosen_never_changes",
        "Every proposal accepted in a slot at or above the ballot that chose a value has it.",
    ),
    PropertySpec::always(
        "state_machine_safety",
        "Replicas apply only the chosen command of each slot.",
    ),
    PropertySpec::always(
        "monotone_acceptor",
        "Promises and accepted ballots never go backwards on a node, across restarts.",
    ),
    PropertySpec::sometimes("leader_elected", "A proposer completed phase 1 and leads."),
    PropertySpec::sometimes("ballot_preempted", "A proposer's ballot was outranked by another."),
    PropertySpec::sometimes(
        "phase1_found_accepted",
        "A new leader re-proposed a value its phase 1 found accepted.",
    ),
    PropertySpec::sometimes("noop_filled", "A new leader filled an empty open slot with a no-op."),
    PropertySpec::sometimes("leader_stepped_down", "A leader stopped leading."),
    PropertySpec::sometimes(
        "leader_catch_up",
        "A new leader learned from phase 1 that others knew more slots chosen.",
    ),
    PropertySpec::sometimes("catch_up_served", "A lagging replica was sent chosen values."),
    PropertySpec::sometimes("snapshot_taken", "A node compacted its slots into a snapshot."),
    PropertySpec::sometimes("snapshot_installed", "A lagging replica was sent a snapshot."),
    PropertySpec::sometimes(
        "request_deduplicated",
        "A retried request was answered from its session, not applied again.",
    ),
    PropertySpec::sometimes("client_redirected", "A client was pointed at the leader."),
    PropertySpec::sometimes("recovered_from_disk", "A restarted node rebuilt its state from disk."),
    PropertySpec::sometimes("torn_tail_truncated", "Recovery cut a torn last record."),
    PropertySpec::sometimes(
        "corrupt_read_detected",
        "Recovery saw a corrupted read and read again.",
    ),
    PropertySpec::sometimes(
        "check_quorum_step_down",
        "A leader that heard from no phase-2 quorum stepped down (option check_quorum).",
    ),
];

type Finding = Result<(), (&'static str, String)>;

/// The online checker of Multi-Paxos's invariants; one per run.
#[derive(Debug, Default)]
pub struct PaxosInvariants {
    /// `(slot, ballot, digest)` → the acceptors that accepted it.
    votes: BTreeMap<(u64, Ballot, u64), Vec<NodeId>>,
    /// Slot → the lowest ballot a value was chosen with, and the value's digest.
    chosen: BTreeMap<u64, (Ballot, u64)>,
    /// Slot → the digest of the command the first replica applied there.
    applied: BTreeMap<u64, u64>,
    /// Per node, across crashes: its last promise and its accepted ballot per slot.
    promised: Vec<Ballot>,
    accepted: Vec<BTreeMap<u64, Ballot>>,
    phase2_quorum: usize,
}

impl PaxosInvariants {
    /// How many slots have a chosen value.
    pub fn chosen_slots(&self) -> usize {
        self.chosen.len()
    }

    fn check(&mut self, node: NodeId, paxos: &Paxos) -> Finding {
        let n = node.0 as usize;
        let ghost = paxos.ghost();
        if ghost.started {
            self.check_recovered(node, paxos)?;
        }
        if paxos.promised() < self.promised[n] {
            return Err((
                "monotone_acceptor",
                format!(
                    "{node}'s promise went back from {} to {}{}",
                    self.promised[n],
                    paxos.promised(),
                    if ghost.started { " across a restart" } else { "" }
                ),
            ));
        }
        self.promised[n] = paxos.promised();
        for a in &ghost.accepted {
            if let Some(&before) = self.accepted[n].get(&a.slot)
                && a.ballot < before
            {
                return Err((
                    "monotone_acceptor",
                    format!(
                        "{node} accepted ballot {} in slot {} after accepting {before} there",
                        a.ballot, a.slot
                    ),
                ));
            }
            self.accepted[n].insert(a.slot, a.ballot);
            if let Some(&(b, digest)) = self.chosen.get(&a.slot)
                && a.ballot >= b
                && a.digest != digest
            {
                return Err((
                    "chosen_never_changes",
                    format!(
                        "{node} accepted another value in slot {} with ballot {} after a value \
                         was chosen there with ballot {b}",
                        a.slot, a.ballot
                    ),
                ));
            }
            let voters = self.votes.entry((a.slot, a.ballot, a.digest)).or_default();
            if !voters.contains(&node) {
                voters.push(node);
                if voters.len() >= self.phase2_quorum {
                    self.on_chosen(a.slot, a.ballot, a.digest)?;
                }
            }
        }
        for &(slot, digest) in &ghost.applied {
            match self.chosen.get(&slot) {
                None => {
                    return Err((
                        "state_machine_safety",
                        format!(
                            "{node} applied a command in slot {slot} that no phase-2 quorum \
                             accepted"
                        ),
                    ));
                }
                Some(&(b, chosen)) if chosen != digest => {
                    return Err((
                        "state_machine_safety",
                        format!(
                            "{node} applied a command in slot {slot} other than the value \
                             chosen there with ballot {b}"
                        ),
                    ));
                }
                Some(_) => {}
            }
            match self.applied.get(&slot) {
                Some(&first) if first != digest => {
                    return Err((
                        "state_machine_safety",
                        format!(
                            "{node} applied a command in slot {slot}, but another replica \
                             applied a different one there"
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    self.applied.insert(slot, digest);
                }
            }
        }
        Ok(())
    }

    /// `digest` reached a phase-2 quorum in `slot` with `ballot`.
    fn on_chosen(&mut self, slot: u64, ballot: Ballot, digest: u64) -> Finding {
        match self.chosen.get(&slot).copied() {
            Some((b, other)) if other != digest => Err((
                "one_value_per_slot",
                format!(
                    "two values are chosen in slot {slot}: one with ballot {b}, another with \
                     ballot {ballot}"
                ),
            )),
            Some((b, _)) if b <= ballot => Ok(()),
            _ => {
                self.chosen.insert(slot, (ballot, digest));
                // P2b: whatever was accepted here in a higher ballot must be this value.
                let later = self
                    .votes
                    .range((slot, ballot, 0)..(slot + 1, Ballot::ZERO, 0))
                    .find(|((_, b, d), _)| *b >= ballot && *d != digest);
                if let Some(((_, b, _), voters)) = later {
                    return Err((
                        "chosen_never_changes",
                        format!(
                            "a value is chosen in slot {slot} with ballot {ballot}, but {} \
                             accepted another one there with the higher ballot {b}",
                            voters[0]
                        ),
                    ));
                }
                Ok(())
            }
        }
    }

    /// After a restart, the node holds at least the promise and the accepted ballots it
    /// held before, in every slot after its snapshot.
    fn check_recovered(&mut self, node: NodeId, paxos: &Paxos) -> Finding {
        let n = node.0 as usize;
        let base = paxos.base();
        let kept = self.accepted[n].split_off(&(base + 1));
        self.accepted[n] = kept;
        for (&slot, &before) in &self.accepted[n] {
            let now = paxos.slots().get(&slot).and_then(|s| s.accepted.as_ref()).map(|(b, _)| *b);
            if now.is_none_or(|b| b < before) {
                let now = now.map_or("nothing".to_string(), |b| format!("ballot {b}"));
                return Err((
                    "monotone_acceptor",
                    format!(
                        "{node} accepted ballot {before} in slot {slot} before a restart, and \
                         holds {now} there after it"
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Observer<Paxos> for PaxosInvariants {
    fn after_node(
        &mut self,
        time: SimTime,
        node: NodeId,
        nodes: &Nodes<'_, Paxos>,
        _annotations: &[String],
    ) -> Result<(), Violation> {
        if self.promised.len() < nodes.len() {
            self.promised.resize(nodes.len(), Ballot::ZERO);
            self.accepted.resize(nodes.len(), BTreeMap::new());
        }
        let Some(paxos) = nodes.get(node) else {
            return Ok(()); // crashed: what it accepted stays accepted
        };
        if self.phase2_quorum == 0 {
            self.phase2_quorum = paxos.quorums().phase2;
        }
        self.check(node, paxos).map_err(|(invariant, message)| Violation {
            invariant: invariant.to_string(),
            message,
            time,
            node: Some(node),
        })
    }
}
