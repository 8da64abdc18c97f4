//! The quorum store's invariant, checked online: `versions_monotone`. A replica keeps the
//! newest version of each key and syncs it before acknowledging, so the version it holds
//! of a key never goes back, even across a crash and restart (durability of what it
//! acknowledged).

use super::{Quorum, Version};
use sim_core::SimTime;
use sim_core::engine::{Nodes, Observer, Violation};
use sim_core::node::NodeId;
use std::collections::BTreeMap;

/// Remembers the newest version each node has held of each key.
#[derive(Debug, Default)]
pub struct QuorumInvariants {
    seen: BTreeMap<(NodeId, u64), Version>,
}

impl Observer<Quorum> for QuorumInvariants {
    fn after_node(
        &mut self,
        time: SimTime,
        node: NodeId,
        nodes: &Nodes<'_, Quorum>,
        _annotations: &[String],
    ) -> Result<(), Violation> {
        let Some(state) = nodes.get(node) else { return Ok(()) };
        for (&key, &(version, _)) in state.store().registers() {
            let seen = self.seen.entry((node, key)).or_default();
            if version < *seen {
                return Err(Violation {
                    invariant: "versions_monotone".into(),
                    message: format!(
                        "{node} holds key {key} at {version:?}, older than the {seen:?} it held before"
                    ),
                    time,
                    node: Some(node),
                });
            }
            *seen = version;
        }
        Ok(())
    }
}
