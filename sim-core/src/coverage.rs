//! What a run exercised beyond its record's counters: the kinds of message it sent, for
//! campaigns steered by coverage (`dsim fuzz --guided`). An observer, so it cannot change
//! the run: the same events, the same trace hash, watched or not.

use crate::engine::{Hop, Observer, SendFate};
use crate::node::Node;
use crate::time::SimTime;
use std::mem::Discriminant;

/// Counts the messages a run sends by kind: the variant of the protocol's message enum.
/// A kind is named once, from the `Debug` of its first message (`AppendEntries { .. }`
/// is `AppendEntries`); after that a send costs a comparison per kind seen.
pub struct MessageKinds<N: Node> {
    /// In order of first send (a run's own order, so deterministic).
    kinds: Vec<(Discriminant<N::Msg>, String, u64)>,
}

impl<N: Node> Default for MessageKinds<N> {
    fn default() -> Self {
        MessageKinds { kinds: Vec::new() }
    }
}

impl<N: Node> MessageKinds<N> {
    /// Every kind sent, by name, with how many were sent (a kind a wrapper enum nests,
    /// `Raft(AppendEntries { .. })`, goes by the wrapper's variant).
    pub fn counts(&self) -> Vec<(String, u64)> {
        let mut counts: Vec<(String, u64)> =
            self.kinds.iter().map(|(_, name, n)| (name.clone(), *n)).collect();
        counts.sort();
        counts
    }
}

/// The variant name that opens a message's `Debug`.
fn kind_name(debug: &str) -> String {
    let name: String =
        debug.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    if name.is_empty() { "message".to_owned() } else { name }
}

impl<N: Node> Observer<N> for MessageKinds<N> {
    fn on_send(&mut self, _time: SimTime, _hop: Hop, msg: &N::Msg, _fate: SendFate) {
        let kind = std::mem::discriminant(msg);
        match self.kinds.iter_mut().find(|(k, _, _)| *k == kind) {
            Some((_, _, n)) => *n += 1,
            None => self.kinds.push((kind, kind_name(&format!("{msg:?}")), 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_is_the_variant_that_opens_the_debug() {
        assert_eq!(kind_name("AppendEntries { term: 3, entries: [] }"), "AppendEntries");
        assert_eq!(kind_name("Raft(Vote { term: 1 })"), "Raft");
        assert_eq!(kind_name("Ping"), "Ping");
        assert_eq!(kind_name("(1, 2)"), "message");
    }
}
