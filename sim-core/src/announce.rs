//! Protocol events a node announces (`ctx.announce(ProtocolEvent::Synced)`), and the
//! nemesis that crashes a node at them (`nemesis.crash_on`): random crashes land at random
//! times, mostly where nothing is at stake; these land in the windows where durability
//! bugs live, between a write and its sync, between a vote and its reply, in the middle
//! of a snapshot install.
//!
//! An announcement costs one bit test when no fault listens to its event. When one does,
//! the node is crashed with `crash_on_probability`, drawn from the run's own crash-on
//! stream (a sub-stream of the fault stream, never drawn from otherwise, so a run without
//! `crash_on` is the same event for event), and restarted `restart_after` later like any
//! nemesis crash, within `max_down` and before the nemesis stops.
//!
//! Where the crash lands ([`CrashPoint`]):
//! - [`CrashPoint::Event`], at the announcement itself. The disk stops there: writes and
//!   syncs the handler makes after it are ignored, and what was unsynced is lost (or torn)
//!   as in any crash. Every effect of the handler is lost, also those queued before the
//!   announcement, since the engine sends a handler's messages and replies only when it
//!   returns: so a crash on `appended` lands between a write and its sync, and one on
//!   `voted` (announced once the vote is durable) between the vote and its reply.
//! - [`CrashPoint::HandlerEnd`], once the handler that announced has returned and its
//!   messages and replies have left, with the disk as it left it: between an
//!   acknowledgement and a sync deferred past it.

use crate::rng::SimRng;

/// A protocol moment a node announces through its context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolEvent {
    /// The node has just become leader (of a term, a ballot, a view).
    BecameLeader,
    /// The node granted a vote (or a promise), and it is durable.
    Voted,
    /// The node wrote records to its disk that are not synced yet.
    Appended,
    /// A sync of the node's disk has just completed.
    Synced,
    /// The node is installing a snapshot: written, not all of it durable yet.
    InstallingSnapshot,
    /// A two-phase-commit participant's yes vote is durable, not yet sent.
    Prepared,
}

impl ProtocolEvent {
    /// Every event, in declaration order.
    pub const ALL: [ProtocolEvent; 6] = [
        ProtocolEvent::BecameLeader,
        ProtocolEvent::Voted,
        ProtocolEvent::Appended,
        ProtocolEvent::Synced,
        ProtocolEvent::InstallingSnapshot,
        ProtocolEvent::Prepared,
    ];

    /// The name a scenario gives it in `nemesis.crash_on`.
    pub fn name(self) -> &'static str {
        match self {
            ProtocolEvent::BecameLeader => "became_leader",
            ProtocolEvent::Voted => "voted",
            ProtocolEvent::Appended => "appended",
            ProtocolEvent::Synced => "synced",
            ProtocolEvent::InstallingSnapshot => "installing_snapshot",
            ProtocolEvent::Prepared => "prepared",
        }
    }

    /// The event called `name`, or why there is none (with the closest name).
    pub fn named(name: &str) -> Result<ProtocolEvent, String> {
        crate::names::lookup("protocol event", name, &Self::ALL, |e| e.name()).copied()
    }

    /// The names of every event, in declaration order.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|e| e.name()).collect()
    }

    fn bit(self) -> u32 {
        1 << self as u32
    }

    /// The counter a crash on this event bumps: `crash_on_synced`, ... (a "sometimes"
    /// property may name it).
    pub fn counter(self) -> &'static str {
        match self {
            ProtocolEvent::BecameLeader => "crash_on_became_leader",
            ProtocolEvent::Voted => "crash_on_voted",
            ProtocolEvent::Appended => "crash_on_appended",
            ProtocolEvent::Synced => "crash_on_synced",
            ProtocolEvent::InstallingSnapshot => "crash_on_installing_snapshot",
            ProtocolEvent::Prepared => "crash_on_prepared",
        }
    }
}

/// Where a crash on an event lands: see the module docs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CrashPoint {
    /// At the announcement: the disk stops there and the handler's effects are lost.
    #[default]
    Event,
    /// After the handler that announced, once its effects have left.
    HandlerEnd,
}

impl CrashPoint {
    pub const ALL: [CrashPoint; 2] = [CrashPoint::Event, CrashPoint::HandlerEnd];

    pub fn name(self) -> &'static str {
        match self {
            CrashPoint::Event => "event",
            CrashPoint::HandlerEnd => "handler_end",
        }
    }

    /// The point called `name`, or why there is none.
    pub fn named(name: &str) -> Result<CrashPoint, String> {
        crate::names::lookup("crash point", name, &Self::ALL, |p| p.name()).copied()
    }
}

/// The nemesis's crashes on protocol events; off (no event) by default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CrashOn {
    /// The events that may crash the node announcing them.
    pub events: Vec<ProtocolEvent>,
    /// The chance that an announcement of one of them crashes the node.
    pub probability: f64,
    pub point: CrashPoint,
}

impl CrashOn {
    /// The events listened to, as a mask of [`ProtocolEvent`] bits: 0 when nothing can
    /// crash (no event or a zero probability).
    pub(crate) fn mask(&self) -> u32 {
        if self.probability <= 0.0 {
            return 0;
        }
        self.events.iter().fold(0, |mask, e| mask | e.bit())
    }
}

/// What a handler's context needs to decide a crash on an event: the listened events,
/// the stream to draw from, and whether one more node may go down.
pub(crate) struct Trigger<'a> {
    pub(crate) mask: u32,
    pub(crate) probability: f64,
    pub(crate) point: CrashPoint,
    pub(crate) rng: &'a mut SimRng,
    /// Whether another node may be crashed now (`max_down`), asked only on a hit.
    pub(crate) room: &'a dyn Fn() -> bool,
    /// The event that crashed the node, once one has.
    pub(crate) fired: &'a mut Option<ProtocolEvent>,
}

impl Trigger<'_> {
    /// Whether announcing `event` crashes the node now; at most once per handler.
    pub(crate) fn hit(&mut self, event: ProtocolEvent) -> bool {
        if self.mask & event.bit() == 0 || self.fired.is_some() {
            return false;
        }
        if !self.rng.chance(self.probability) || !(self.room)() {
            return false;
        }
        *self.fired = Some(event);
        true
    }

    /// The same trigger for an embedded protocol's context.
    pub(crate) fn reborrow(&mut self) -> Trigger<'_> {
        Trigger {
            mask: self.mask,
            probability: self.probability,
            point: self.point,
            rng: &mut *self.rng,
            room: self.room,
            fired: &mut *self.fired,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_found_by_name_and_have_distinct_bits() {
        for event in ProtocolEvent::ALL {
            assert_eq!(ProtocolEvent::named(event.name()), Ok(event));
            assert_eq!(event.counter(), format!("crash_on_{}", event.name()));
        }
        let mask =
            CrashOn { events: ProtocolEvent::ALL.to_vec(), probability: 1.0, ..Default::default() }
                .mask();
        assert_eq!(mask.count_ones(), 6);
        let err = ProtocolEvent::named("sync").unwrap_err();
        assert!(err.contains("did you mean `synced`?"), "{err}");
        assert_eq!(CrashPoint::named("handler_end"), Ok(CrashPoint::HandlerEnd));
    }

    #[test]
    fn a_zero_probability_listens_to_nothing() {
        let off =
            CrashOn { events: vec![ProtocolEvent::Synced], probability: 0.0, ..Default::default() };
        assert_eq!(off.mask(), 0);
    }
}
