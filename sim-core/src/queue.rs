//! The event queue: a radix heap of small `(time, sequence, slot)` keys over a slab of
//! event payloads. Events at the same time run in the order they were scheduled, so the
//! order is total and never depends on a hash or an address. Slots are reused, so a run in
//! steady state allocates nothing per event.
//!
//! A radix heap (Ahuja, Mehlhorn, Orlin and Tarjan) works because simulated time never
//! goes back: every event is scheduled at or after the last one taken. Keys sit in
//! buckets by the highest bit in which their time differs from that last time; taking the
//! next event empties at most one bucket into lower ones. Each key moves a few times in
//! its life, in sequential sweeps, where a binary heap of a million events misses the
//! cache on each of its twenty levels.

use crate::time::SimTime;
use std::cell::Cell;
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    time: u64,
    seq: u64,
    slot: u32,
}

/// Where an event sits in the total order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub time: SimTime,
    pub seq: u64,
}

/// Bucket `b > 0` holds the keys whose time differs from `last` first at bit `b - 1`.
const BUCKETS: usize = 65;

#[derive(Debug)]
pub(crate) struct EventQueue<E> {
    /// The time of the last event taken: no key is earlier.
    last: u64,
    /// Keys at time `last`, in sequence order.
    now: VecDeque<Key>,
    /// `buckets[b]` for `b` in `1..BUCKETS`; `buckets[0]` is unused (see `now`).
    buckets: Vec<Vec<Key>>,
    /// The earliest key when `now` is empty, once `peek` has looked for it (forgotten
    /// at every pop).
    earliest: Cell<Option<Key>>,
    len: usize,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    next_seq: u64,
}

fn bucket(time: u64, last: u64) -> usize {
    (u64::BITS - (time ^ last).leading_zeros()) as usize
}

impl<E> EventQueue<E> {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        EventQueue {
            last: 0,
            now: VecDeque::with_capacity(capacity.min(1024)),
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            earliest: Cell::new(None),
            len: 0,
            slab: Vec::with_capacity(capacity),
            free: Vec::with_capacity(capacity),
            next_seq: 0,
        }
    }

    pub(crate) fn push(&mut self, time: SimTime, event: E) {
        assert!(time.0 >= self.last, "an event scheduled at {time}, before the last one run");
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
        let key = Key { time: time.0, seq: self.next_seq, slot };
        self.next_seq += 1;
        match bucket(key.time, self.last) {
            0 => self.now.push_back(key),
            b => self.buckets[b].push(key),
        }
        if let Some(earliest) = self.earliest.get()
            && key < earliest
        {
            self.earliest.set(Some(key));
        }
        self.len += 1;
    }

    pub(crate) fn pop(&mut self) -> Option<(Position, E)> {
        if self.now.is_empty() {
            self.sweep()?;
        }
        let key = self.now.pop_front().expect("a sweep fills `now`");
        self.earliest.set(None);
        self.len -= 1;
        let event = self.slab[key.slot as usize].take().expect("queued slot holds an event");
        self.free.push(key.slot);
        Some((Position { time: SimTime(key.time), seq: key.seq }, event))
    }

    /// Empty the first non-empty bucket into lower ones around its earliest time, which
    /// becomes `last`; its keys at that time go to `now`, in sequence order.
    fn sweep(&mut self) -> Option<()> {
        let b = (1..BUCKETS).find(|&b| !self.buckets[b].is_empty())?;
        // Every key of bucket `b` goes to a lower one; the bucket keeps its capacity.
        let mut keys = std::mem::take(&mut self.buckets[b]);
        self.last = keys.iter().map(|k| k.time).min().expect("a non-empty bucket");
        self.earliest.set(None);
        for key in keys.drain(..) {
            match bucket(key.time, self.last) {
                0 => self.now.push_back(key),
                lower => self.buckets[lower].push(key),
            }
        }
        self.buckets[b] = keys;
        self.now.make_contiguous().sort_unstable_by_key(|k| k.seq);
        Some(())
    }

    /// The key of the next event: the head of `now`, or the earliest of the first
    /// non-empty bucket (found once, then kept until the queue changes).
    fn next_key(&self) -> Option<Key> {
        if let Some(&key) = self.now.front() {
            return Some(key);
        }
        if let Some(key) = self.earliest.get() {
            return Some(key);
        }
        let b = (1..BUCKETS).find(|&b| !self.buckets[b].is_empty())?;
        let key = *self.buckets[b].iter().min().expect("a non-empty bucket");
        self.earliest.set(Some(key));
        Some(key)
    }

    pub(crate) fn peek(&self) -> Option<(Position, &E)> {
        let key = self.next_key()?;
        let event = self.slab[key.slot as usize].as_ref().expect("queued slot holds an event");
        Some((Position { time: SimTime(key.time), seq: key.seq }, event))
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    #[test]
    #[should_panic(expected = "before the last one run")]
    fn time_never_goes_back() {
        let mut q = EventQueue::with_capacity(1);
        q.push(SimTime(5), ());
        q.pop();
        q.push(SimTime(4), ());
    }

    proptest! {
        /// Against a sorted list: every pop and every peek gives the earliest (time,
        /// sequence), whatever the interleaving of pushes (never before the last pop),
        /// peeks and pops.
        #[test]
        fn the_order_is_time_then_scheduling_order(
            steps in prop::collection::vec((0u8..3, 0u64..1 << 40, 0u32..8), 1..400),
        ) {
            let mut q = EventQueue::with_capacity(0);
            let mut model: Vec<(u64, u64)> = Vec::new();
            let (mut last, mut seq) = (0u64, 0u64);
            for (action, offset, spread) in steps {
                match action {
                    0 => {
                        // Near the last time or far after it, with ties.
                        let time = last + (offset >> (spread * 5));
                        q.push(SimTime(time), seq);
                        model.push((time, seq));
                        seq += 1;
                    }
                    1 => {
                        model.sort_unstable();
                        let expected = model.first().copied();
                        let got = q.peek().map(|(p, &e)| (p.time.0, e));
                        prop_assert_eq!(got, expected);
                    }
                    _ => {
                        model.sort_unstable();
                        let expected = (!model.is_empty()).then(|| model.remove(0));
                        let got = q.pop().map(|(p, e)| (p.time.0, e));
                        prop_assert_eq!(got, expected);
                        if let Some((time, _)) = got {
                            last = time;
                        }
                    }
                }
                prop_assert_eq!(q.len(), model.len());
            }
        }
    }
}
