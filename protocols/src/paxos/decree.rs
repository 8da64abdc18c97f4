//! Single-decree Paxos ("Paxos Made Simple", §2), the building block of every slot.
//!
//! An acceptor keeps the highest ballot it promised and the proposal (ballot, value) it
//! accepted last. It promises a ballot at least as high as its promise (phase 1b) and
//! accepts a proposal whose ballot is at least its promise (phase 2b); a proposer that
//! gathered promises from a phase-1 quorum must propose the value of the highest-ballot
//! proposal any of them accepted, or any value if none did (phase 2a, P2c). Multi-Paxos
//! runs one decree per log slot and shares one promise across all slots from the
//! prepare's slot on, so these rules are written over a promise and an accepted proposal
//! held anywhere.

use super::Ballot;

/// Phase 1b: promise `ballot` if it is at least the promise held (an equal ballot is the
/// same proposer asking again). On refusal, the promise that outranks it.
pub fn promise(promised: &mut Ballot, ballot: Ballot) -> Result<(), Ballot> {
    if ballot < *promised {
        return Err(*promised);
    }
    *promised = ballot;
    Ok(())
}

/// Phase 2b: accept `value` in `ballot` unless a higher ballot was promised. Accepting a
/// ballot promises it too. On refusal, the promise that outranks it.
pub fn accept<V>(
    promised: &mut Ballot,
    accepted: &mut Option<(Ballot, V)>,
    ballot: Ballot,
    value: V,
) -> Result<(), Ballot> {
    if ballot < *promised {
        return Err(*promised);
    }
    *promised = ballot;
    *accepted = Some((ballot, value));
    Ok(())
}

/// Phase 2a (P2c): of the proposals a phase-1 quorum reported, the value of the one with
/// the highest ballot; `None` if they accepted nothing, and the proposer is free.
pub fn value_to_propose<'a, V>(reports: impl IntoIterator<Item = (Ballot, &'a V)>) -> Option<&'a V>
where
    V: 'a,
{
    reports.into_iter().max_by_key(|&(ballot, _)| ballot).map(|(_, value)| value)
}

/// One acceptor of a single decree: the state [`promise`] and [`accept`] act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acceptor<V> {
    pub promised: Ballot,
    pub accepted: Option<(Ballot, V)>,
}

impl<V: Clone> Acceptor<V> {
    pub fn new() -> Self {
        Acceptor { promised: Ballot::ZERO, accepted: None }
    }

    /// Phase 1b: the promise and what was accepted, or the promise that outranks `ballot`.
    pub fn on_prepare(&mut self, ballot: Ballot) -> Result<Option<(Ballot, V)>, Ballot> {
        promise(&mut self.promised, ballot)?;
        Ok(self.accepted.clone())
    }

    /// Phase 2b.
    pub fn on_accept(&mut self, ballot: Ballot, value: V) -> Result<(), Ballot> {
        accept(&mut self.promised, &mut self.accepted, ballot, value)
    }
}

impl<V: Clone> Default for Acceptor<V> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::node::NodeId;
    use sim_core::rng::{SimRng, Stream};
    use std::collections::BTreeMap;

    fn ballot(round: u64, node: u32) -> Ballot {
        Ballot { round, node: NodeId(node) }
    }

    #[test]
    fn promises_and_accepts_respect_the_highest_promise() {
        let mut a = Acceptor::new();
        assert_eq!(a.on_prepare(ballot(1, 0)), Ok(None));
        assert_eq!(a.on_accept(ballot(1, 0), "x"), Ok(()));
        assert_eq!(a.on_prepare(ballot(2, 1)), Ok(Some((ballot(1, 0), "x"))));
        assert_eq!(a.on_accept(ballot(1, 0), "y"), Err(ballot(2, 1)));
        assert_eq!(a.on_prepare(ballot(1, 2)), Err(ballot(2, 1)));
        assert_eq!(a.on_prepare(ballot(2, 1)), Ok(Some((ballot(1, 0), "x"))), "asked again");
        assert_eq!(a.on_accept(ballot(3, 0), "z"), Ok(()), "accepting promises");
        assert_eq!(a.promised, ballot(3, 0));
        let reports = [(ballot(1, 0), &"x"), (ballot(3, 0), &"z"), (ballot(2, 4), &"w")];
        assert_eq!(value_to_propose(reports), Some(&"z"));
        assert_eq!(value_to_propose::<&str>([]), None);
    }

    /// Three proposers race over five acceptors with every message delivered in a random
    /// order, lost or duplicated; whatever happens, at most one value is ever chosen.
    #[test]
    fn racing_proposers_choose_one_value() {
        #[derive(Clone, Debug)]
        enum M {
            Prepare { to: usize, b: Ballot },
            Promise { from: usize, b: Ballot, accepted: Option<(Ballot, u32)> },
            Accept { to: usize, b: Ballot, v: u32 },
            Accepted { from: usize, b: Ballot, v: u32 },
        }
        const ACCEPTORS: usize = 5;
        const QUORUM: usize = 3;
        for seed in 0..300 {
            let mut rng = SimRng::derive(seed, Stream::Node, 0);
            let mut acceptors: Vec<Acceptor<u32>> = vec![Acceptor::new(); ACCEPTORS];
            let mut promises: BTreeMap<Ballot, BTreeMap<usize, Option<(Ballot, u32)>>> =
                BTreeMap::new();
            let mut votes: BTreeMap<(Ballot, u32), Vec<usize>> = BTreeMap::new();
            let mut chosen: Option<u32> = None;
            let mut net: Vec<M> = Vec::new();
            let mut round = 0;
            for _ in 0..400 {
                if net.is_empty() || rng.chance(0.05) {
                    round += 1;
                    let b = ballot(round, rng.below(3) as u32);
                    net.extend((0..ACCEPTORS).map(|to| M::Prepare { to, b }));
                }
                let m = net.swap_remove(rng.below(net.len() as u64) as usize);
                if rng.chance(0.1) {
                    continue; // lost
                }
                if rng.chance(0.1) {
                    net.push(m.clone()); // duplicated
                }
                match m {
                    M::Prepare { to, b } => {
                        if let Ok(accepted) = acceptors[to].on_prepare(b) {
                            net.push(M::Promise { from: to, b, accepted });
                        }
                    }
                    M::Promise { from, b, accepted } => {
                        let got = promises.entry(b).or_default();
                        if got.insert(from, accepted).is_none() && got.len() == QUORUM {
                            let reports = got.values().flatten().map(|(b, v)| (*b, v));
                            let v = value_to_propose(reports).copied().unwrap_or(b.node.0 + 100);
                            net.extend((0..ACCEPTORS).map(|to| M::Accept { to, b, v }));
                        }
                    }
                    M::Accept { to, b, v } => {
                        if acceptors[to].on_accept(b, v).is_ok() {
                            net.push(M::Accepted { from: to, b, v });
                        }
                    }
                    M::Accepted { from, b, v } => {
                        let voters = votes.entry((b, v)).or_default();
                        if !voters.contains(&from) {
                            voters.push(from);
                        }
                        if voters.len() >= QUORUM {
                            assert!(chosen.is_none_or(|c| c == v), "seed {seed}: two values");
                            chosen = Some(v);
                        }
                    }
                }
            }
        }
    }
}
