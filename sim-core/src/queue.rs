//! The event queue: a binary min-heap of small `(time, sequence, slot)` keys over a slab of
//! event payloads. Events at the same time run in the order they were scheduled, so the
//! order is total and never depends on a hash or an address. Slots are reused, so a run in
//! steady state allocates nothing per event.

use crate::time::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    time: u64,
    seq: u64,
    slot: u32,
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest (time, seq) on top.
        other.time.cmp(&self.time).then_with(|| other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Where an event sits in the total order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub time: SimTime,
    pub seq: u64,
}

#[derive(Debug)]
pub(crate) struct EventQueue<E> {
    heap: BinaryHeap<Key>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    next_seq: u64,
}

impl<E> EventQueue<E> {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(capacity),
            slab: Vec::with_capacity(capacity),
            free: Vec::with_capacity(capacity),
            next_seq: 0,
        }
    }

    pub(crate) fn push(&mut self, time: SimTime, event: E) {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slab[slot as usize] = Some(event);
                slot
            }
            None => {
                self.slab.push(Some(event));
                (self.slab.len() - 1) as u32
            }
        };
        self.heap.push(Key { time: time.0, seq: self.next_seq, slot });
        self.next_seq += 1;
    }

    pub(crate) fn pop(&mut self) -> Option<(Position, E)> {
        let key = self.heap.pop()?;
        let event = self.slab[key.slot as usize].take().expect("queued slot holds an event");
        self.free.push(key.slot);
        Some((Position { time: SimTime(key.time), seq: key.seq }, event))
    }

    pub(crate) fn peek(&self) -> Option<(Position, &E)> {
        let key = self.heap.peek()?;
        let event = self.slab[key.slot as usize].as_ref().expect("queued slot holds an event");
        Some((Position { time: SimTime(key.time), seq: key.seq }, event))
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_by_time_then_by_scheduling_order() {
        let mut q = EventQueue::with_capacity(4);
        q.push(SimTime(5), 'a');
        q.push(SimTime(3), 'b');
        q.push(SimTime(5), 'c');
        q.push(SimTime(3), 'd');
        let order: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
    }

    #[test]
    fn slots_are_reused() {
        let mut q = EventQueue::with_capacity(1);
        for i in 0..100 {
            q.push(SimTime(i), i);
            assert_eq!(q.pop().map(|(_, e)| e), Some(i));
        }
        assert_eq!(q.slab.len(), 1);
    }
}
