//! A partial view of the membership: peer sampling after Voulgaris, Gavidia and van Steen,
//! "CYCLON: Inexpensive Membership Management for Unstructured P2P Overlays" (Journal of
//! Network and Systems Management, 2005), so that no node needs to know every other one.
//!
//! Each node keeps at most `capacity` neighbours, each with an age. Every shuffle it runs
//! the paper's enhanced shuffling (§3.2):
//!
//! 1. it ages every neighbour by one;
//! 2. it picks the oldest neighbour Q and `length - 1` other neighbours at random;
//! 3. it drops Q from its view and sends Q the others and itself at age 0;
//! 4. Q answers with up to `length` of its own neighbours at random, and keeps what it was
//!    sent;
//! 5. each side keeps what it was sent, except itself and neighbours it already has,
//!    filling empty slots first and then the slots of the entries it sent.
//!
//! A dead neighbour is the oldest sooner or later, is shuffled with, never answers, and is
//! gone: the view heals without a failure detector. The in-degrees stay close to the
//! capacity, and the views form a graph that stays connected and close to a random one,
//! which is what an epidemic needs from its peers.
//!
//! The view is volatile. A node's first view, and its view after a restart, are
//! `capacity` peers drawn uniformly from the cluster: the stand-in for joining through a
//! contact and random walks, which would give a view from the same distribution.

use sim_core::node::NodeId;
use sim_core::rng::SimRng;

/// A neighbour and how many shuffles ago its entry was made by the neighbour itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    pub peer: NodeId,
    pub age: u32,
}

/// A shuffle this node started and is waiting to hear back from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pending {
    seq: u64,
    /// The neighbours it sent (itself left out): their slots take the answer's entries.
    sent: Vec<NodeId>,
}

/// One node's partial view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cyclon {
    me: NodeId,
    capacity: usize,
    length: usize,
    view: Vec<Entry>,
    seq: u64,
    pending: Option<Pending>,
}

/// What a shuffle sends: to whom, its number, and the entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shuffle {
    pub to: NodeId,
    pub seq: u64,
    pub entries: Vec<Entry>,
}

impl Cyclon {
    /// A view of at most `capacity` neighbours exchanging `length` entries a shuffle
    /// (`1 <= length <= capacity`), filled with `initial` (this node and repeats left out).
    pub fn new(me: NodeId, capacity: usize, length: usize, initial: Vec<NodeId>) -> Self {
        assert!(1 <= length && length <= capacity, "shuffle length {length} of {capacity}");
        let mut cyclon = Cyclon { me, capacity, length, view: Vec::new(), seq: 0, pending: None };
        for peer in initial {
            if cyclon.view.len() < capacity && peer != me && !cyclon.holds(peer) {
                cyclon.view.push(Entry { peer, age: 0 });
            }
        }
        cyclon
    }

    /// The neighbours, in slot order.
    pub fn view(&self) -> &[Entry] {
        &self.view
    }

    /// Whether the last shuffle is still waiting for its answer.
    pub fn awaiting(&self) -> bool {
        self.pending.is_some()
    }

    fn holds(&self, peer: NodeId) -> bool {
        self.view.iter().any(|e| e.peer == peer)
    }

    /// Up to `k` distinct neighbours, uniformly among ordered choices.
    pub fn sample(&self, rng: &mut SimRng, k: usize) -> Vec<NodeId> {
        self.random_entries(rng, k).into_iter().map(|e| e.peer).collect()
    }

    /// Start a shuffle (steps 1-3): `None` if the view is empty. A shuffle still waiting
    /// for its answer is given up: its answer, if it comes, only fills empty slots.
    pub fn start_shuffle(&mut self, rng: &mut SimRng) -> Option<Shuffle> {
        for entry in &mut self.view {
            entry.age = entry.age.saturating_add(1);
        }
        // The oldest, the first in slot order among equals.
        let oldest = (0..self.view.len()).max_by_key(|&i| (self.view[i].age, usize::MAX - i))?;
        let target = self.view.remove(oldest).peer;
        let others = self.random_entries(rng, self.length - 1);
        self.seq += 1;
        self.pending =
            Some(Pending { seq: self.seq, sent: others.iter().map(|e| e.peer).collect() });
        let mut entries = vec![Entry { peer: self.me, age: 0 }];
        entries.extend(others);
        Some(Shuffle { to: target, seq: self.seq, entries })
    }

    /// Q's side (step 4): answer a shuffle from `from` with up to `length` neighbours, then
    /// keep what it sent in their place.
    pub fn answer(&mut self, rng: &mut SimRng, entries: &[Entry]) -> Vec<Entry> {
        let answer = self.random_entries(rng, self.length);
        let sent: Vec<NodeId> = answer.iter().map(|e| e.peer).collect();
        self.merge(entries, &sent);
        answer
    }

    /// The answer to shuffle `seq` came back (step 5). Whether it was the one awaited.
    pub fn answered(&mut self, seq: u64, entries: &[Entry]) -> bool {
        let awaited = self.pending.as_ref().is_some_and(|p| p.seq == seq);
        let sent = if awaited { self.pending.take().map(|p| p.sent) } else { None };
        self.merge(entries, sent.as_deref().unwrap_or(&[]));
        awaited
    }

    /// Up to `k` of the view's entries, drawn uniformly, in draw order.
    fn random_entries(&self, rng: &mut SimRng, k: usize) -> Vec<Entry> {
        let mut slots: Vec<usize> = (0..self.view.len()).collect();
        let k = k.min(slots.len());
        for i in 0..k {
            let j = i + rng.below((slots.len() - i) as u64) as usize;
            slots.swap(i, j);
        }
        slots[..k].iter().map(|&i| self.view[i]).collect()
    }

    /// Keep `received` but this node and neighbours already held, in empty slots first,
    /// then in the slots of `sent` (in order), dropping what finds no slot.
    fn merge(&mut self, received: &[Entry], sent: &[NodeId]) {
        let mut replaceable = sent.iter();
        for &entry in received {
            if entry.peer == self.me || self.holds(entry.peer) {
                continue;
            }
            if self.view.len() < self.capacity {
                self.view.push(entry);
                continue;
            }
            let slot = replaceable.find_map(|p| self.view.iter().position(|e| e.peer == *p));
            match slot {
                Some(i) => self.view[i] = entry,
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::rng::Stream;

    fn ids(ids: &[u32]) -> Vec<NodeId> {
        ids.iter().map(|&i| NodeId(i)).collect()
    }

    fn peers(c: &Cyclon) -> Vec<u32> {
        c.view().iter().map(|e| e.peer.0).collect()
    }

    #[test]
    fn the_first_view_leaves_out_itself_and_repeats_and_stops_at_capacity() {
        let c = Cyclon::new(NodeId(1), 3, 2, ids(&[1, 2, 2, 3, 4, 5]));
        assert_eq!(peers(&c), [2, 3, 4]);
    }

    #[test]
    fn a_shuffle_goes_to_the_oldest_and_swaps_the_sent_slots_for_the_answer() {
        let mut rng = SimRng::derive(1, Stream::Node, 0);
        let mut p = Cyclon::new(NodeId(0), 4, 3, ids(&[1, 2, 3, 4]));
        p.view[2].age = 5; // node 3 is the oldest
        let shuffle = p.start_shuffle(&mut rng).unwrap();
        assert_eq!(shuffle.to, NodeId(3));
        assert_eq!(shuffle.entries[0], Entry { peer: NodeId(0), age: 0 });
        assert_eq!(shuffle.entries.len(), 3);
        assert!(!p.holds(NodeId(3)), "the target leaves the view");
        let sent: Vec<NodeId> = shuffle.entries[1..].iter().map(|e| e.peer).collect();
        assert!(sent.iter().all(|&s| p.holds(s)), "the others are kept until the answer");

        let mut q = Cyclon::new(NodeId(3), 4, 3, ids(&[5, 6, 7, 0]));
        let answer = q.answer(&mut rng, &shuffle.entries);
        assert_eq!(answer.len(), 3);
        assert!(q.view().len() <= 4);
        assert!(!q.holds(NodeId(3)));
        // Q already held node 0, so it kept one entry of it.
        assert_eq!(q.view().iter().filter(|e| e.peer == NodeId(0)).count(), 1);

        assert!(p.answered(shuffle.seq, &answer));
        assert!(p.view().len() <= 4);
        assert!(!p.holds(NodeId(0)), "never itself");
        let mut unique = peers(&p);
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), p.view().len(), "no neighbour twice: {:?}", peers(&p));
        // An answer to a shuffle given up only fills empty slots.
        assert!(!p.answered(shuffle.seq, &[Entry { peer: NodeId(9), age: 0 }]));
    }

    #[test]
    fn an_unanswered_shuffle_removes_the_dead_neighbour() {
        let mut rng = SimRng::derive(2, Stream::Node, 0);
        let mut p = Cyclon::new(NodeId(0), 3, 2, ids(&[1, 2, 3]));
        let mut shuffled = Vec::new();
        for _ in 0..3 {
            shuffled.push(p.start_shuffle(&mut rng).unwrap().to.0);
        }
        shuffled.sort();
        assert_eq!(shuffled, [1, 2, 3], "each neighbour in turn, as it grows oldest");
        assert!(p.awaiting());
        assert!(p.view().is_empty());
        assert_eq!(p.start_shuffle(&mut rng), None);
    }

    /// Many nodes shuffling in random order, every answer delivered: the views stay full,
    /// in-degrees stay near the capacity, and the overlay stays connected.
    #[test]
    fn views_stay_full_balanced_and_connected() {
        let (n, capacity) = (200u32, 8);
        let mut rng = SimRng::derive(3, Stream::Node, 0);
        // A ring to start from: the worst case for randomness.
        let mut nodes: Vec<Cyclon> = (0..n)
            .map(|i| Cyclon::new(NodeId(i), capacity, 4, ids(&[(i + 1) % n, (i + 2) % n])))
            .collect();
        for _ in 0..60 {
            for i in 0..n as usize {
                let Some(shuffle) = nodes[i].start_shuffle(&mut rng) else { continue };
                let to = shuffle.to.0 as usize;
                let answer = nodes[to].answer(&mut rng, &shuffle.entries);
                nodes[i].answered(shuffle.seq, &answer);
            }
        }
        let mut indegree = vec![0usize; n as usize];
        for node in &nodes {
            assert!(node.view().len() >= capacity - 1, "a view of {}", node.view().len());
            for entry in node.view() {
                indegree[entry.peer.0 as usize] += 1;
            }
        }
        assert!(indegree.iter().all(|&d| d >= 2 && d <= 3 * capacity), "{indegree:?}");
        let mut reached = vec![false; n as usize];
        let mut stack = vec![0usize];
        while let Some(i) = stack.pop() {
            if !std::mem::replace(&mut reached[i], true) {
                stack.extend(nodes[i].view().iter().map(|e| e.peer.0 as usize));
            }
        }
        assert!(reached.iter().all(|&r| r), "connected");
    }
}
