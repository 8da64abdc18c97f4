//! Node clocks. Each node reads its own clock: global time plus an offset, a linear drift
//! and any step jumps. Timers are set in the node's local time and fire when the node's
//! clock has advanced that much, so a fast clock fires its timers early in global time.
//! A timer is a monotonic interval, converted to global time with the drift in force when
//! it is set: a later jump or drift change moves `ctx.now()` but not timers already set
//! (as with CLOCK_MONOTONIC timers on a host whose wall clock is stepped). Arithmetic is integer (parts per billion), so clocks are bit-identical on every machine.

use crate::time::{SimDuration, SimTime};

const PPB_PER_PPM: i128 = 1_000;
const BILLION: i128 = 1_000_000_000;

/// Options for one node's clock. All zero means a perfect clock.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ClockOptions {
    /// Initial offset from global time, in nanoseconds (may be negative).
    pub offset_nanos: i64,
    /// Rate error in parts per million: +200 runs 200 µs fast per second.
    pub drift_ppm: f64,
}

/// The state of one node's clock.
#[derive(Clone, Debug)]
pub struct Clock {
    /// Local time at `anchor` global time.
    local_at_anchor: i128,
    anchor: SimTime,
    drift_ppb: i128,
}

impl Clock {
    pub fn new(options: ClockOptions) -> Self {
        Clock {
            local_at_anchor: i128::from(options.offset_nanos),
            anchor: SimTime::ZERO,
            drift_ppb: ppm_to_ppb(options.drift_ppm),
        }
    }

    /// The node's reading of the time at global time `now` (never below zero).
    pub fn local(&self, now: SimTime) -> SimTime {
        let elapsed = i128::from(now.0) - i128::from(self.anchor.0);
        let local = self.local_at_anchor + elapsed + elapsed * self.drift_ppb / BILLION;
        SimTime(local.clamp(0, i128::from(u64::MAX)) as u64)
    }

    /// The global delay after which `local_delay` has passed on this clock (rounded up, so
    /// a timer never fires before its local deadline).
    pub fn global_delay(&self, local_delay: SimDuration) -> SimDuration {
        let rate = BILLION + self.drift_ppb;
        let nanos = (i128::from(local_delay.0) * BILLION + rate - 1) / rate;
        SimDuration(nanos.clamp(0, i128::from(u64::MAX)) as u64)
    }

    /// Step the clock by `delta_nanos` at global time `now` (an NTP step, a VM migration).
    pub fn jump(&mut self, now: SimTime, delta_nanos: i64) {
        self.rebase(now);
        self.local_at_anchor += i128::from(delta_nanos);
    }

    /// Change the drift rate from global time `now` on.
    pub fn set_drift(&mut self, now: SimTime, drift_ppm: f64) {
        self.rebase(now);
        self.drift_ppb = ppm_to_ppb(drift_ppm);
    }

    fn rebase(&mut self, now: SimTime) {
        let elapsed = i128::from(now.0) - i128::from(self.anchor.0);
        self.local_at_anchor += elapsed + elapsed * self.drift_ppb / BILLION;
        self.anchor = now;
    }
}

fn ppm_to_ppb(ppm: f64) -> i128 {
    // Drift is bounded well inside ±50%: beyond that a clock is broken, not skewed.
    let ppm = ppm.clamp(-500_000.0, 500_000.0);
    (ppm * PPB_PER_PPM as f64).round() as i128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fast_clock_reaches_its_deadline_early_in_global_time() {
        let clock = Clock::new(ClockOptions { offset_nanos: 0, drift_ppm: 200.0 });
        let delay = clock.global_delay(SimDuration::from_secs(1));
        let expected = 1e9 / (1.0 + 200e-6);
        assert!((delay.0 as f64 - expected).abs() <= 1.0, "{delay:?} vs {expected}");
        assert!(clock.local(SimTime::ZERO + delay) >= SimTime(1_000_000_000));
    }

    #[test]
    fn offsets_and_jumps_shift_the_reading() {
        let mut clock = Clock::new(ClockOptions { offset_nanos: 500, drift_ppm: 0.0 });
        assert_eq!(clock.local(SimTime(1000)), SimTime(1500));
        clock.jump(SimTime(1000), -1200);
        assert_eq!(clock.local(SimTime(1000)), SimTime(300));
        assert_eq!(clock.local(SimTime(2000)), SimTime(1300));
        clock.set_drift(SimTime(2000), 1_000_000.0); // clamped to +50%
        assert_eq!(clock.local(SimTime(4000)), SimTime(1300 + 3000));
    }
}
