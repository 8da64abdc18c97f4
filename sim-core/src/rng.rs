//! Seeded randomness. One root seed per run; every component draws from its own ChaCha
//! stream derived from that seed and a fixed component label, so adding draws in one
//! component never shifts the numbers another one sees.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// Which component a stream belongs to. The discriminant is part of the derivation and
/// must never change, or every pinned trace hash changes with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Network = 1,
    Node = 2,
    Client = 3,
    Faults = 4,
    Disk = 5,
    Swarm = 6,
    Workload = 7,
    Buggify = 8,
    /// Not a run's: the choices of a guided campaign (`dsim fuzz --guided`), derived from
    /// its campaign seed.
    Campaign = 9,
}

/// A deterministic random stream with the few draws the simulator needs.
#[derive(Clone, Debug)]
pub struct SimRng {
    inner: ChaCha8Rng,
}

impl SimRng {
    /// The stream of `component` number `index` (a node id, a client id, or 0) under `seed`.
    pub fn derive(seed: u64, component: Stream, index: u64) -> Self {
        let mut inner = ChaCha8Rng::seed_from_u64(seed);
        inner.set_stream(((component as u64) << 48) ^ index);
        SimRng { inner }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.inner.next_u64()
    }

    /// A uniform draw from `0..bound` (Lemire's multiply-shift; `bound` must be non-zero).
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "SimRng::below(0)");
        let mut product = u128::from(self.next_u64()) * u128::from(bound);
        if (product as u64) < bound {
            let threshold = bound.wrapping_neg() % bound;
            while (product as u64) < threshold {
                product = u128::from(self.next_u64()) * u128::from(bound);
            }
        }
        (product >> 64) as u64
    }

    /// A uniform draw from the inclusive range `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        assert!(low <= high, "SimRng::between({low}, {high})");
        if high - low == u64::MAX {
            return self.next_u64();
        }
        low + self.below(high - low + 1)
    }

    /// A uniform float in `[0, 1)` with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p` (no draw at all when `p` is 0, so disabled faults cost
    /// nothing and do not perturb the stream).
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (p >= 1.0 || self.unit() < p)
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// A stream derived on its first draw, so that a component which may never draw (a disk
/// with no fault probabilities) costs a few words instead of a ChaCha state. It draws
/// exactly what the stream derived at once would.
#[derive(Clone, Debug)]
pub enum LazyRng {
    Derived(Box<SimRng>),
    Pending { seed: u64, component: Stream, index: u64 },
}

impl LazyRng {
    /// The stream [`SimRng::derive`] would give, derived when first drawn from.
    pub fn new(seed: u64, component: Stream, index: u64) -> Self {
        LazyRng::Pending { seed, component, index }
    }

    pub fn get(&mut self) -> &mut SimRng {
        if let LazyRng::Pending { seed, component, index } = *self {
            *self = LazyRng::Derived(Box::new(SimRng::derive(seed, component, index)));
        }
        match self {
            LazyRng::Derived(rng) => rng,
            LazyRng::Pending { .. } => unreachable!("derived just above"),
        }
    }
}

impl From<SimRng> for LazyRng {
    fn from(rng: SimRng) -> Self {
        LazyRng::Derived(Box::new(rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_independent_and_reproducible() {
        let mut a = SimRng::derive(7, Stream::Node, 0);
        let mut b = SimRng::derive(7, Stream::Node, 1);
        let mut a2 = SimRng::derive(7, Stream::Node, 0);
        let xs: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        let xs2: Vec<u64> = (0..4).map(|_| a2.next_u64()).collect();
        assert_eq!(xs, xs2);
        assert_ne!(xs, ys);
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = SimRng::derive(1, Stream::Swarm, 0);
        for bound in [1, 2, 3, 7, 1000, u64::MAX] {
            for _ in 0..100 {
                assert!(rng.below(bound) < bound);
            }
        }
        assert_eq!(rng.between(5, 5), 5);
    }

    #[test]
    fn a_lazy_stream_draws_what_the_stream_does() {
        let mut lazy = LazyRng::new(3, Stream::Disk, 4);
        assert!(matches!(lazy, LazyRng::Pending { .. }));
        let mut now = SimRng::derive(3, Stream::Disk, 4);
        for _ in 0..3 {
            assert_eq!(lazy.get().next_u64(), now.next_u64());
        }
    }
}
