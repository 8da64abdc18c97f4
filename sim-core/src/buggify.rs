//! Buggify points, after FoundationDB's `BUGGIFY` macro: places in protocol code where,
//! under simulation only, the protocol does something legal but rare (skips a
//! heartbeat, sends one entry where it could send many), so that the windows where bugs
//! hide open far more often than message delays and crashes alone would open them.
//!
//! A protocol asks `ctx.buggify("raft_skip_heartbeat")` and acts on the answer. Off
//! (`protocol.buggify = false`, the default), every point answers false and draws
//! nothing, so a run is the same event for event as one without points. On, each point is
//! *activated* for the whole run with probability [`ACTIVATED`] the first time it is
//! asked, and an activated point *fires* with probability [`FIRES`] each time it is asked,
//! as FoundationDB's simulator does: a seed buggifies a few points hard rather than every
//! point a little. The draws come from the run's own buggify stream, in the order the
//! points are asked, so they are deterministic. Each firing is counted under the point's
//! name (a counter of the run: a "sometimes" signal that the point bit).

use crate::rng::{SimRng, Stream};
use std::collections::BTreeMap;

/// The chance that a point is activated for a run, decided the first time it is asked.
pub const ACTIVATED: f64 = 0.25;
/// The chance that an activated point fires each time it is asked.
pub const FIRES: f64 = 0.25;

/// A run's buggify points: off, or the stream and each point's activation.
#[derive(Debug)]
pub struct Buggify {
    on: Option<(SimRng, BTreeMap<&'static str, bool>)>,
}

impl Buggify {
    /// Every point answers false.
    pub fn off() -> Self {
        Buggify { on: None }
    }

    /// Points activated and fired from `seed`'s buggify stream.
    pub fn on(seed: u64) -> Self {
        Buggify { on: Some((SimRng::derive(seed, Stream::Buggify, 0), BTreeMap::new())) }
    }

    /// Whether point `name` fires now.
    pub fn fires(&mut self, name: &'static str) -> bool {
        let Some((rng, activated)) = &mut self.on else { return false };
        let active = *activated.entry(name).or_insert_with(|| rng.chance(ACTIVATED));
        active && rng.chance(FIRES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_never_fires_and_on_fires_some_points_often_and_the_rest_never() {
        let mut off = Buggify::off();
        assert!((0..1000).all(|_| !off.fires("a")));
        let names = ["p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "pa", "pb"];
        let fired = |seed: u64| {
            let mut on = Buggify::on(seed);
            (0..4000).fold(vec![0u32; names.len()], |mut fired, i| {
                fired[i % names.len()] += u32::from(on.fires(names[i % names.len()]));
                fired
            })
        };
        let counts = fired(7);
        assert_eq!(counts, fired(7), "the same seed, the same firings");
        let active = counts.iter().filter(|&&c| c > 0).count();
        assert!((1..names.len()).contains(&active), "{counts:?}");
        // An activated point, asked 333 times, fires about a quarter of them.
        assert!(counts.iter().all(|&c| c == 0 || (50..120).contains(&c)), "{counts:?}");
    }
}
