//! Atomicity, checked online: no transaction is committed on one node (the coordinator's
//! decision, or a participant's logged outcome) and aborted on another.

use super::{TwoPhaseCommit, TxnId};
use sim_core::SimTime;
use sim_core::engine::{Nodes, Observer, Violation};
use sim_core::node::NodeId;
use std::collections::BTreeMap;

/// The atomicity invariant: every outcome any node reaches, compared with the first one
/// reached for the same transaction anywhere.
#[derive(Debug, Default)]
pub struct Atomicity {
    /// Per transaction: the first outcome seen, and where.
    first: BTreeMap<TxnId, (bool, NodeId)>,
    /// Per node, how many of its outcomes have been compared (reset when it crashes: a
    /// restart rebuilds them from its log, and they are compared again).
    checked: Vec<usize>,
}

fn name(commit: bool) -> &'static str {
    if commit { "committed" } else { "aborted" }
}

impl Observer<TwoPhaseCommit> for Atomicity {
    fn after_node(
        &mut self,
        time: SimTime,
        node: NodeId,
        nodes: &Nodes<'_, TwoPhaseCommit>,
        _annotations: &[String],
    ) -> Result<(), Violation> {
        if self.checked.len() < nodes.len() {
            self.checked.resize(nodes.len(), 0);
        }
        let Some(state) = nodes.get(node) else {
            self.checked[node.0 as usize] = 0;
            return Ok(());
        };
        let outcomes = state.outcomes();
        let from = self.checked[node.0 as usize].min(outcomes.len());
        for &(txn, commit) in &outcomes[from..] {
            let &mut (first, at) = self.first.entry(txn).or_insert((commit, node));
            if first != commit {
                return Err(Violation {
                    invariant: "atomicity".into(),
                    message: format!(
                        "{txn} is {} on {node} but {} on {at}",
                        name(commit),
                        name(first)
                    ),
                    time,
                    node: Some(node),
                });
            }
        }
        self.checked[node.0 as usize] = outcomes.len();
        Ok(())
    }
}
