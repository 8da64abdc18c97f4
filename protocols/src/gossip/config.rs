//! Gossip's configuration: the options a scenario may set and the known-bug switches, each
//! declared once, checked into a [`GossipConfig`] every node reads.

use sim_core::SimDuration;
use sim_core::{declare_bugs, declare_options};

declare_bugs! {
    /// Known-bug switches: each a real mistake of epidemic implementations. All off by
    /// default; a test turns one on to prove that dsim's faults and checks find it.
    pub struct Bugs {
        /// A node waits for the answer to its last pull before it pulls again, and never
        /// gives up on it: once a pull or its answer is lost, the node stops pulling, and
        /// the rumours it missed never reach it.
        pull_never_retries,
    }
}

declare_options! {
    /// The options a scenario may set (`[protocol.options]`), with their defaults.
    pub struct GossipOptions {
        /// How rumours travel: "push" (rumour mongering), "pull" (anti-entropy: ask a
        /// peer for what it has) or "push_pull" (both in one exchange).
        mode: String = "push_pull".to_owned(),
        /// Peers a node pushes its hot rumours to each round (pull asks the first of them).
        fanout: u64 = 3,
        /// Time between a node's rounds.
        interval: SimDuration = SimDuration::from_millis(100),
        /// Rounds a node pushes a rumour for after learning it (Demers' blind counter);
        /// pull modes go on asking forever.
        rounds: u64 = 6,
        /// The epidemic checker's bound: every live node holds each acknowledged rumour
        /// this long after the later of its acknowledgement, the last heal and the node's
        /// start.
        delivery_bound: SimDuration = SimDuration::from_secs(2),
        /// Where a round's peers come from: "uniform" (drawn from the whole cluster, as
        /// if every node knew every other) or "cyclon" (from a partial view of
        /// `view_size` neighbours kept by Cyclon's shuffles: `protocols::peer_sampling`).
        peers: String = "uniform".to_owned(),
        /// With `peers = "cyclon"`: the neighbours each node keeps.
        view_size: u64 = 20,
        /// With `peers = "cyclon"`: the entries a shuffle exchanges (at most `view_size`).
        shuffle_length: u64 = 8,
        /// With `peers = "cyclon"`: time between a node's shuffles.
        shuffle_interval: SimDuration = SimDuration::from_millis(500),
    }
}

/// How rumours travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Rumour mongering: a node sends its hot rumours to `fanout` peers for `rounds`
    /// rounds. Fire and forget: a node down all that while never hears them.
    Push,
    /// Anti-entropy: each round a node sends one peer the ids it holds and gets back what
    /// it lacks.
    Pull,
    /// Both: the pull carries the puller's hot rumours, and the other peers get pushes.
    PushPull,
}

impl Mode {
    /// Every mode with its option value, in the order messages list them.
    pub const ALL: [(Mode, &'static str); 3] =
        [(Mode::Push, "push"), (Mode::Pull, "pull"), (Mode::PushPull, "push_pull")];

    /// Whether nodes push their hot rumours.
    pub fn pushes(self) -> bool {
        self != Mode::Pull
    }

    /// Whether nodes pull what they lack.
    pub fn pulls(self) -> bool {
        self != Mode::Push
    }
}

/// Where a round's peers come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Peers {
    /// Drawn uniformly from the whole cluster ([`sim_core::node::Context::random_peers`]).
    Uniform,
    /// Drawn from a Cyclon partial view of `view_size` neighbours, shuffling `length`
    /// entries every `interval`.
    Cyclon { view_size: usize, length: usize, interval: SimDuration },
}

/// Most neighbours a Cyclon view may keep: a partial view, not the membership.
pub const MAX_VIEW_SIZE: u64 = 1024;

/// Most peers a round may reach: beyond this a round is a broadcast, not gossip.
pub const MAX_FANOUT: u64 = 64;

/// The checked configuration every node of a run starts from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GossipConfig {
    pub mode: Mode,
    pub fanout: usize,
    pub interval: SimDuration,
    pub rounds: u64,
    pub delivery_bound: SimDuration,
    pub peers: Peers,
    pub bugs: Bugs,
}

impl GossipConfig {
    /// Check `options`; the message says what would be valid.
    pub fn new(options: &GossipOptions, bugs: Bugs) -> Result<Self, String> {
        let mode = Mode::ALL.iter().find(|(_, name)| *name == options.mode).map(|(m, _)| *m);
        let Some(mode) = mode else {
            let names: Vec<&str> = Mode::ALL.iter().map(|(_, name)| *name).collect();
            return Err(format!("mode is {:?}; valid: {}", options.mode, names.join(", ")));
        };
        let fanout = bounded("fanout", options.fanout, 1, MAX_FANOUT)?;
        positive("interval", options.interval, "100ms")?;
        if mode.pushes() && options.rounds == 0 {
            return Err("rounds is 0, so push would send nothing; valid: 1 or more".into());
        }
        if options.delivery_bound < options.interval {
            return Err(format!(
                "delivery_bound ({}) is below one round's interval ({}); give it at least that",
                options.delivery_bound, options.interval
            ));
        }
        let peers = match options.peers.as_str() {
            "uniform" => Peers::Uniform,
            "cyclon" => Peers::Cyclon {
                view_size: bounded("view_size", options.view_size, 1, MAX_VIEW_SIZE)?,
                length: bounded("shuffle_length", options.shuffle_length, 1, options.view_size)?,
                interval: positive("shuffle_interval", options.shuffle_interval, "500ms")?,
            },
            other => return Err(format!("peers is {other:?}; valid: uniform, cyclon")),
        };
        Ok(GossipConfig {
            mode,
            fanout,
            interval: options.interval,
            rounds: options.rounds,
            delivery_bound: options.delivery_bound,
            peers,
            bugs,
        })
    }
}

fn bounded(name: &str, value: u64, low: u64, high: u64) -> Result<usize, String> {
    if value < low || value > high {
        return Err(format!("{name} is {value}; valid: {low} to {high}"));
    }
    Ok(value as usize)
}

fn positive(name: &str, value: SimDuration, example: &str) -> Result<SimDuration, String> {
    if value == SimDuration::ZERO {
        return Err(format!("{name} must be positive, e.g. {example:?}"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(change: impl FnOnce(&mut GossipOptions)) -> String {
        let mut options = GossipOptions::default();
        change(&mut options);
        GossipConfig::new(&options, Bugs::default()).unwrap_err()
    }

    #[test]
    fn out_of_range_options_are_refused_saying_what_is_valid() {
        assert!(GossipConfig::new(&GossipOptions::default(), Bugs::default()).is_ok());
        assert_eq!(
            refused(|o| o.mode = "flood".into()),
            "mode is \"flood\"; valid: push, pull, push_pull"
        );
        assert_eq!(refused(|o| o.fanout = 0), "fanout is 0; valid: 1 to 64");
        assert_eq!(refused(|o| o.fanout = 65), "fanout is 65; valid: 1 to 64");
        assert!(refused(|o| o.interval = SimDuration::ZERO).starts_with("interval must be"));
        assert!(refused(|o| o.rounds = 0).starts_with("rounds is 0"));
        assert!(
            refused(|o| o.delivery_bound = SimDuration::from_millis(10))
                .starts_with("delivery_bound (10ms) is below")
        );
        let cyclon = |o: &mut GossipOptions| o.peers = "cyclon".into();
        assert_eq!(refused(|o| o.peers = "all".into()), "peers is \"all\"; valid: uniform, cyclon");
        assert_eq!(
            refused(|o| {
                cyclon(o);
                o.shuffle_length = 21;
            }),
            "shuffle_length is 21; valid: 1 to 20"
        );
        assert_eq!(
            refused(|o| {
                cyclon(o);
                o.view_size = 0;
            }),
            "view_size is 0; valid: 1 to 1024"
        );
        assert!(
            refused(|o| {
                cyclon(o);
                o.shuffle_interval = SimDuration::ZERO;
            })
            .starts_with("shuffle_interval must be positive")
        );
        // Pull never stops asking, so it needs no rounds.
        let pull = GossipOptions { mode: "pull".into(), rounds: 0, ..GossipOptions::default() };
        assert_eq!(GossipConfig::new(&pull, Bugs::default()).unwrap().mode, Mode::Pull);
    }
}
