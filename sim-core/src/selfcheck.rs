//! The determinism self-check: run the same configuration twice, in lockstep, and compare
//! the digest of every event before it runs. The first pair that differs is the first
//! divergent event, and both sides are described, so the cause is one look away.

use crate::engine::{Observer, RunLimits, Simulation};
use crate::node::Node;
use crate::time::SimTime;
use std::fmt;

/// The first event at which two runs of the same configuration differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// How many events both runs had executed identically before it.
    pub index: u64,
    pub time: SimTime,
    /// The event on each side (`None`: that run had no event left).
    pub first: Option<String>,
    pub second: Option<String>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |s: &Option<String>| s.clone().unwrap_or_else(|| "(no event)".to_owned());
        write!(
            f,
            "runs diverge at event #{} (time {}):\n  first run:  {}\n  second run: {}",
            self.index,
            self.time,
            side(&self.first),
            side(&self.second)
        )
    }
}

/// The outcome of a self-check that found no divergence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Agreement {
    pub events: u64,
    pub trace_hash: u64,
}

/// Run `first` and `second` (built from the same configuration) side by side within
/// `limits`, comparing every event.
pub fn lockstep<N: Node, A: Observer<N>, B: Observer<N>>(
    first: &mut Simulation<N, A>,
    second: &mut Simulation<N, B>,
    limits: RunLimits,
) -> Result<Agreement, Divergence> {
    let mut index = 0;
    loop {
        let next = |position: Option<(crate::Position, u64)>| {
            position.filter(|(p, _)| p.time <= limits.until && index < limits.max_events)
        };
        let (a, b) = (next(first.peek_digest()), next(second.peek_digest()));
        match (a, b) {
            (None, None) => {
                assert_eq!(first.trace_hash(), second.trace_hash(), "digests agreed, hashes not");
                return Ok(Agreement { events: index, trace_hash: first.trace_hash() });
            }
            (Some((pa, da)), Some((pb, db))) if pa.time == pb.time && da == db => {
                first.step();
                second.step();
                index += 1;
            }
            _ => {
                let time = a.or(b).map(|(p, _)| p.time).unwrap_or(first.now());
                return Err(Divergence {
                    index,
                    time,
                    first: a.and(first.describe_next()),
                    second: b.and(second.describe_next()),
                });
            }
        }
    }
}
