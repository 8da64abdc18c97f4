//! SWIM's configuration: the options a scenario may set and the known-bug switches, each
//! declared once, and the bounds its checks derive from them for a cluster of `n`.

use sim_core::SimDuration;
use sim_core::{declare_bugs, declare_options};

declare_bugs! {
    /// Known-bug switches: each a real mistake of membership implementations. All off by
    /// default; a test turns one on to prove that dsim's faults and checks find it.
    pub struct Bugs {
        /// No suspicion (the basic SWIM of the paper's section 3): a member that misses
        /// one probe, direct and indirect, is declared dead at once, so a lost packet
        /// kills a live member.
        no_suspicion,
        /// A suspected member refutes with the incarnation it was suspected at instead of
        /// a higher one; `Suspect` outranks `Alive` at equal incarnations, so the
        /// refutation is ignored and the live member is declared dead.
        stale_refutation,
        /// The incarnation number is not kept on disk: a restarted member starts again at
        /// 0, below what the others know of it, and its announcements are ignored.
        forget_incarnation,
    }
}

declare_options! {
    /// The options a scenario may set (`[protocol.options]`), with their defaults.
    pub struct SwimOptions {
        /// Time between a member's probes (SWIM's protocol period T').
        protocol_period: SimDuration = SimDuration::from_millis(200),
        /// How long a direct ping waits for its ack before ping-req asks others.
        ping_timeout: SimDuration = SimDuration::from_millis(40),
        /// Members asked to ping the target when the direct ping got no ack (SWIM's k).
        indirect_probes: u64 = 3,
        /// A suspicion expires after suspicion_mult * log10(n) protocol periods (at
        /// least one), as in memberlist.
        suspicion_mult: u64 = 4,
        /// Each update is piggybacked retransmit_mult * log10(n) times by every member
        /// that learns it.
        retransmit_mult: u64 = 4,
        /// Most updates piggybacked on one message.
        max_piggyback: u64 = 10,
        /// Every this many periods a member exchanges its whole membership with a random
        /// member (push-pull anti-entropy). 0 never does.
        sync_every: u64 = 10,
        /// Every this many periods a member also pings one member it holds dead, which
        /// learns it was declared dead and refutes: how partitions and false positives
        /// heal. 0 never does.
        dead_probe_every: u64 = 5,
        /// Lifeguard's dynamic suspicion: a suspicion starts at suspicion_max_mult times
        /// the timeout above and shrinks as independent members confirm it.
        lifeguard_suspicion: bool = false,
        /// With lifeguard_suspicion: the longest suspicion, in multiples of the shortest.
        suspicion_max_mult: u64 = 6,
        /// With lifeguard_suspicion: confirmations that bring a suspicion down to the
        /// shortest timeout (Lifeguard's K).
        suspicion_confirmations: u64 = 3,
        /// Lifeguard's local health multiplier: a member that misses acks or is suspected
        /// itself stretches its period and timeouts, up to max_health times.
        lifeguard_health: bool = false,
        /// With lifeguard_health: the largest multiplier.
        max_health: u64 = 8,
    }
}

/// Probe periods allowed for some member to probe a crashed one for the first time. Each
/// of the n - 1 live members probes it once in n periods (a random round-robin), so no
/// probe in 20 periods has probability about e^-20.
pub const FIRST_PROBE_PERIODS: u64 = 20;

/// Members asked to answer a restarted member with the whole membership.
pub const SYNC_PEERS: usize = 2;

/// The checked configuration every member of a run starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwimConfig {
    pub base_period: SimDuration,
    pub ping_timeout: SimDuration,
    pub indirect_probes: usize,
    pub suspicion_mult: u64,
    pub retransmit_mult: u64,
    pub max_piggyback: usize,
    pub dead_probe_every: u64,
    pub sync_every: u64,
    /// The longest suspicion in multiples of the shortest (1 without Lifeguard's).
    pub suspicion_max_mult: u64,
    pub suspicion_confirmations: u64,
    /// The largest local health multiplier (0 without Lifeguard's).
    pub max_health: u64,
    pub bugs: Bugs,
}

impl SwimConfig {
    /// Check `options`; the message says what would be valid.
    pub fn new(o: &SwimOptions, bugs: Bugs) -> Result<Self, String> {
        if o.protocol_period < SimDuration::from_millis(1) {
            return Err("protocol_period must be at least 1ms".into());
        }
        if o.ping_timeout == SimDuration::ZERO || o.ping_timeout.0 * 2 > o.protocol_period.0 {
            return Err(format!(
                "ping_timeout ({}) must be positive and at most half the protocol_period ({}), \
                 leaving time for the indirect probes",
                o.ping_timeout, o.protocol_period
            ));
        }
        let ranges: [(&str, u64, u64, u64); 6] = [
            ("indirect_probes", o.indirect_probes, 0, 16),
            ("suspicion_mult", o.suspicion_mult, 1, 100),
            ("retransmit_mult", o.retransmit_mult, 1, 100),
            ("max_piggyback", o.max_piggyback, 1, 64),
            ("suspicion_max_mult", o.suspicion_max_mult, 1, 100),
            ("max_health", o.max_health, 1, 100),
        ];
        for (name, value, low, high) in ranges {
            if !(low..=high).contains(&value) {
                return Err(format!("{name} is {value}; valid: {low} to {high}"));
            }
        }
        if o.suspicion_confirmations == 0 {
            return Err("suspicion_confirmations is 0; valid: 1 or more".into());
        }
        Ok(SwimConfig {
            base_period: o.protocol_period,
            ping_timeout: o.ping_timeout,
            indirect_probes: o.indirect_probes as usize,
            suspicion_mult: o.suspicion_mult,
            retransmit_mult: o.retransmit_mult,
            max_piggyback: o.max_piggyback as usize,
            dead_probe_every: o.dead_probe_every,
            sync_every: o.sync_every,
            suspicion_max_mult: if o.lifeguard_suspicion { o.suspicion_max_mult } else { 1 },
            suspicion_confirmations: o.suspicion_confirmations,
            max_health: if o.lifeguard_health { o.max_health } else { 0 },
            bugs,
        })
    }

    /// ceil(log10(n)), at least 1: the scale of every bound below.
    pub fn log_scale(n: usize) -> u64 {
        let mut scale = 0;
        let mut reach = 1usize;
        while reach < n {
            reach = reach.saturating_mul(10);
            scale += 1;
        }
        scale.max(1)
    }

    /// `d` times `k`.
    fn times(d: SimDuration, k: u64) -> SimDuration {
        SimDuration(d.0.saturating_mul(k))
    }

    /// The protocol period stretched by a local health multiplier.
    pub fn period(&self, health: u64) -> SimDuration {
        Self::times(self.base_period, 1 + health)
    }

    /// The ping timeout stretched by a local health multiplier.
    pub fn ping_timeout(&self, health: u64) -> SimDuration {
        Self::times(self.ping_timeout, 1 + health)
    }

    /// The period the bounds below count in: a healthy member's. A member whose local
    /// health stretched its own period probes less, but the news it needs reaches it from
    /// the healthy ones, which do the probing and the spreading.
    fn bound_period(&self) -> SimDuration {
        self.period(0)
    }

    /// How many times each member piggybacks an update.
    pub fn retransmit_limit(&self, n: usize) -> u64 {
        self.retransmit_mult * Self::log_scale(n)
    }

    /// The shortest suspicion timeout.
    pub fn suspicion_min(&self, n: usize) -> SimDuration {
        Self::times(self.base_period, self.suspicion_mult * Self::log_scale(n))
    }

    /// The longest suspicion timeout (the shortest without Lifeguard's).
    pub fn suspicion_max(&self, n: usize) -> SimDuration {
        Self::times(self.suspicion_min(n), self.suspicion_max_mult)
    }

    /// The timeout of a suspicion that `confirmations` other members confirmed: from the
    /// longest down to the shortest at `suspicion_confirmations`, linearly (Lifeguard's
    /// decay is logarithmic; linear keeps it in integers).
    pub fn suspicion_timeout(&self, n: usize, confirmations: u64) -> SimDuration {
        let (min, max) = (self.suspicion_min(n).0, self.suspicion_max(n).0);
        let k = self.suspicion_confirmations;
        let c = confirmations.min(k);
        SimDuration(max - (max - min) / k * c)
    }

    /// Dissemination: periods for an update to reach every member by piggybacking (each
    /// member sends it `retransmit_limit` times), doubled for the round trip of a
    /// refutation.
    fn dissemination(&self, n: usize) -> SimDuration {
        Self::times(self.bound_period(), 2 * self.retransmit_limit(n))
    }

    /// Completeness's bound: a crashed member is held dead by every member that stayed up
    /// and connected, this long after the later of the crash and the last heal. Some
    /// member probes it within [`FIRST_PROBE_PERIODS`], its suspicion expires, and the
    /// news spreads.
    pub fn detection_bound(&self, n: usize) -> SimDuration {
        Self::times(self.bound_period(), FIRST_PROBE_PERIODS)
            + self.suspicion_max(n)
            + self.dissemination(n)
    }

    /// Convergence after the heal: this long after it, no live member is held dead by a
    /// live member (a refutation or a restart's announcement spreads, or a dead probe
    /// finds it).
    pub fn settle_bound(&self, n: usize) -> SimDuration {
        self.suspicion_max(n)
            + self.dissemination(n)
            + Self::times(self.bound_period(), 4 * self.dead_probe_every.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(change: impl FnOnce(&mut SwimOptions)) -> String {
        let mut options = SwimOptions::default();
        change(&mut options);
        SwimConfig::new(&options, Bugs::default()).unwrap_err()
    }

    #[test]
    fn out_of_range_options_are_refused_saying_what_is_valid() {
        assert!(SwimConfig::new(&SwimOptions::default(), Bugs::default()).is_ok());
        assert!(
            refused(|o| o.ping_timeout = SimDuration::from_millis(150))
                .contains("at most half the protocol_period (200ms)")
        );
        assert_eq!(refused(|o| o.max_piggyback = 0), "max_piggyback is 0; valid: 1 to 64");
        assert_eq!(refused(|o| o.indirect_probes = 17), "indirect_probes is 17; valid: 0 to 16");
        assert!(refused(|o| o.protocol_period = SimDuration::ZERO).contains("at least 1ms"));
    }

    #[test]
    fn bounds_scale_with_log10_of_the_cluster() {
        assert_eq!([1, 2, 10, 11, 1000, 1001].map(SwimConfig::log_scale), [1, 1, 1, 2, 3, 4]);
        let config = SwimConfig::new(&SwimOptions::default(), Bugs::default()).unwrap();
        assert_eq!(config.suspicion_min(1000), SimDuration::from_millis(2400));
        assert_eq!(config.suspicion_max(1000), config.suspicion_min(1000));
        assert_eq!(config.retransmit_limit(1000), 12);
        let lifeguard = SwimOptions { lifeguard_suspicion: true, ..SwimOptions::default() };
        let config = SwimConfig::new(&lifeguard, Bugs::default()).unwrap();
        assert_eq!(config.suspicion_timeout(1000, 0), SimDuration::from_millis(14_400));
        assert_eq!(config.suspicion_timeout(1000, 3), SimDuration::from_millis(2400));
        assert_eq!(config.suspicion_timeout(1000, 9), SimDuration::from_millis(2400));
    }
}
