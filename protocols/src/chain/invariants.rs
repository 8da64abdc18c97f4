//! The chain's invariant, checked online: updates flow down the chain in order, so along
//! the chain of one epoch no replica holds an update its predecessor lacks (the paper's
//! "update propagation invariant", §3: `Hist_j` is a prefix of `Hist_i` for `i` before
//! `j`), here compared by the sequence number of the last update applied.

use super::Chain;
use sim_core::SimTime;
use sim_core::engine::{Nodes, Observer, Violation};
use sim_core::node::NodeId;

/// Checks `chain_order` after every handler of a node, along that node's view.
#[derive(Debug, Default)]
pub struct ChainInvariants;

impl Observer<Chain> for ChainInvariants {
    fn after_node(
        &mut self,
        time: SimTime,
        node: NodeId,
        nodes: &Nodes<'_, Chain>,
        _annotations: &[String],
    ) -> Result<(), Violation> {
        let Some(state) = nodes.get(node) else { return Ok(()) };
        let view = state.view();
        // Replicas that act on this same epoch and hold a valid state.
        let member =
            |n: NodeId| nodes.get(n).filter(|r| r.is_synced() && r.view().epoch == view.epoch);
        for pair in view.members.windows(2) {
            let (Some(before), Some(after)) = (member(pair[0]), member(pair[1])) else {
                continue;
            };
            if after.applied() > before.applied() {
                return Err(Violation {
                    invariant: "chain_order".into(),
                    message: format!(
                        "in epoch {}, {} holds updates up to {} but its predecessor {} only up to {}",
                        view.epoch,
                        pair[1],
                        after.applied(),
                        pair[0],
                        before.applied()
                    ),
                    time,
                    node: Some(node),
                });
            }
        }
        Ok(())
    }
}
