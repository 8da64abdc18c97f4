//! Gossip's checks and metrics, apart from the node they judge.
//!
//! - `integrity` (always, online): a node holds only rumours some client asked for.
//! - `epidemic` (a checker of the finished run, a liveness failure): every node live at
//!   the end holds every rumour a client saw acknowledged, and got it by
//!   `delivery_bound` after the later of the acknowledgement, the last heal
//!   (`run.heal_at`) and the node's last start. A deadline past the run's end is not
//!   judged. The node's receipt time is read on its own clock, so under clock faults the
//!   bound is off by the node's skew (the bundled gossip scenarios keep clocks perfect).
//! - Metrics, measured online in global time: for every rumour, the time from the first
//!   node holding it until 50, 90, 99 and 100% of the nodes live at the end held it
//!   (`spread_p50_us` ... `spread_p100_us`: the mean over the rumours that got that far;
//!   `spread_p100_max_us`: the slowest), and how many rumours reached every live node
//!   (`rumours_everywhere`) or not (`rumours_short`); `messages_per_node` (messages
//!   delivered over nodes) and `redundancy_pct` (rumour copies delivered to a node that
//!   already held them, per hundred first receipts). The counters `rumour_learned` and
//!   `rumour_redundant` count the same receipts as the nodes saw them.

use super::{Gossip, Msg, RumourId};
use sim_core::Position;
use sim_core::SimTime;
use sim_core::checker::{Checker, Finding, Finished};
use sim_core::engine::{EventView, Nodes, Observer, Violation};
use sim_core::history::{EventType, Recorded};
use sim_core::node::NodeId;
use sim_core::protocol::{Metrics, PropertySpec};
use sim_core::record::Verdict;
use std::collections::{BTreeMap, BTreeSet};

/// The invariants by name, and the cases a campaign should sometimes reach (counters and
/// metrics).
pub const PROPERTIES: &[PropertySpec] = &[
    PropertySpec::always("integrity", "A node holds only rumours some client asked for."),
    PropertySpec::sometimes("rumour_learned", "A node learned a rumour from a peer or client."),
    PropertySpec::sometimes("rumour_redundant", "A node was sent a rumour it already held."),
    PropertySpec::sometimes(
        "pull_round_lost",
        "A pull went unanswered for a round (lost, or its answer was) and was sent again.",
    ),
    PropertySpec::sometimes(
        "caught_up_by_pull",
        "A pull's answer brought rumours the node lacked.",
    ),
    PropertySpec::sometimes(
        "recovered_from_disk",
        "A restarted origin recovered the rumours it had acknowledged.",
    ),
    PropertySpec::sometimes("rumours_everywhere", "A rumour reached every node live at the end."),
];

/// How one rumour spread, in global time.
#[derive(Debug)]
struct Spreading {
    /// When the first node held it.
    born: SimTime,
    /// When each node holding it got it, since that node's last start (by node id;
    /// `None` if it does not hold it): eight bytes a node, for a million nodes too.
    received: Vec<Option<SimTime>>,
}

/// The online checker of `integrity`, and the recorder of how every rumour spread.
#[derive(Debug, Default)]
pub struct GossipObserver {
    asked: BTreeSet<RumourId>,
    /// Per node: how many of its learned rumours have been recorded, and whether it runs.
    recorded: Vec<usize>,
    up: Vec<bool>,
    rumours: BTreeMap<RumourId, Spreading>,
    delivered: u64,
    copies: u64,
    first_receipts: u64,
}

impl Observer<Gossip> for GossipObserver {
    fn on_event(&mut self, _position: Position, _index: u64, event: &EventView<'_, Gossip>) {
        match event {
            EventView::Request { request, .. } => {
                self.asked.insert(request.op.rumour);
            }
            EventView::Deliver { msg, .. } => {
                self.delivered += 1;
                self.copies += match msg {
                    Msg::Push { rumours }
                    | Msg::Pull { rumours, .. }
                    | Msg::PullReply { rumours, .. } => rumours.len() as u64,
                    Msg::Shuffle { .. } | Msg::ShuffleReply { .. } => 0,
                };
            }
            _ => {}
        }
    }

    fn after_node(
        &mut self,
        time: SimTime,
        node: NodeId,
        nodes: &Nodes<'_, Gossip>,
        _annotations: &[String],
    ) -> Result<(), Violation> {
        if self.up.len() < nodes.len() {
            self.up.resize(nodes.len(), false);
            self.recorded.resize(nodes.len(), 0);
        }
        let i = node.0 as usize;
        let Some(gossip) = nodes.get(node) else {
            // Crashed: what it held is gone.
            self.up[i] = false;
            self.recorded[i] = 0;
            for spreading in self.rumours.values_mut() {
                spreading.received[i] = None;
            }
            return Ok(());
        };
        self.up[i] = true;
        for &id in &gossip.learned()[self.recorded[i]..] {
            if !self.asked.contains(&id) {
                return Err(Violation {
                    invariant: "integrity".into(),
                    message: format!("{node} holds rumour {id}, which no client asked for"),
                    time,
                    node: Some(node),
                });
            }
            let n = nodes.len();
            let spreading = self
                .rumours
                .entry(id)
                .or_insert_with(|| Spreading { born: time, received: vec![None; n] });
            spreading.received[i] = Some(time);
            self.first_receipts += 1;
        }
        self.recorded[i] = gossip.learned().len();
        Ok(())
    }
}

/// The coverage fractions the metrics report, with their names.
const COVERAGE: [(f64, &str); 4] = [
    (0.5, "spread_p50_us"),
    (0.9, "spread_p90_us"),
    (0.99, "spread_p99_us"),
    (1.0, "spread_p100_us"),
];

impl GossipObserver {
    /// The spread metrics of the run that ended at `_end` (see the module docs).
    pub fn metrics(&self, _end: SimTime) -> Metrics {
        let live: Vec<NodeId> =
            (0..self.up.len() as u32).map(NodeId).filter(|n| self.up[n.0 as usize]).collect();
        let mut sums = [(0u64, 0u64); COVERAGE.len()];
        let (mut everywhere, mut short, mut slowest) = (0, 0, 0);
        for spreading in self.rumours.values() {
            let mut times: Vec<u64> = live
                .iter()
                .filter_map(|n| spreading.received[n.0 as usize])
                .map(|t| t.saturating_since(spreading.born).as_nanos() / 1000)
                .collect();
            times.sort_unstable();
            for (sum, &(fraction, _)) in sums.iter_mut().zip(&COVERAGE) {
                let needed = (fraction * live.len() as f64).ceil() as usize;
                if let Some(&t) = times.get(needed.max(1) - 1) {
                    *sum = (sum.0 + t, sum.1 + 1);
                }
            }
            if !live.is_empty() && times.len() == live.len() {
                everywhere += 1;
                slowest = slowest.max(times[times.len() - 1]);
            } else {
                short += 1;
            }
        }
        let mut metrics: Metrics = COVERAGE
            .iter()
            .zip(sums)
            .map(|(&(_, name), (sum, count))| (name, sum.checked_div(count).unwrap_or(0)))
            .collect();
        metrics.push(("spread_p100_max_us", slowest));
        metrics.push(("rumours_everywhere", everywhere));
        metrics.push(("rumours_short", short));
        let nodes = self.up.len().max(1) as u64;
        metrics.push(("messages_per_node", self.delivered / nodes));
        let redundant = self.copies.saturating_sub(self.first_receipts);
        metrics.push((
            "redundancy_pct",
            (100 * redundant).checked_div(self.first_receipts).unwrap_or(0),
        ));
        metrics
    }
}

/// The checker `epidemic` (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct Epidemic;

impl Checker<Gossip> for Epidemic {
    fn name(&self) -> &'static str {
        "epidemic"
    }

    fn severity(&self) -> Verdict {
        Verdict::Liveness
    }

    fn check(&self, run: &Finished<'_, Gossip>) -> Finding {
        let Some(history) = run.history else { return Finding::Pass };
        let mut acknowledged: BTreeMap<RumourId, SimTime> = BTreeMap::new();
        for event in history.events.iter().filter(|e| e.kind() == EventType::Ok) {
            acknowledged.entry(event.rumour).or_insert(event.time);
        }
        let Some(bound) = run.nodes.iter().find_map(|(_, n)| n).map(|n| n.config().delivery_bound)
        else {
            return Finding::Pass;
        };
        for (&id, &acked) in &acknowledged {
            let mut lacking: Vec<(NodeId, SimTime)> = Vec::new();
            let mut judged = 0;
            for (node, gossip) in run.nodes.iter() {
                let Some(gossip) = gossip else { continue };
                let deadline = acked.max(run.heal_at).max(gossip.started_at()) + bound;
                if deadline > run.end {
                    continue;
                }
                judged += 1;
                match gossip.held().get(&id) {
                    Some(held) if held.received_at <= deadline => {}
                    _ => lacking.push((node, deadline)),
                }
            }
            if let Some(&(node, deadline)) = lacking.first() {
                let how = match run.nodes.get(node).and_then(|g| g.held().get(&id)) {
                    Some(held) => format!("got it only at {}", held.received_at),
                    None => "never got it".to_owned(),
                };
                return Finding::fail(format!(
                    "rumour {id}, acknowledged at {acked}, was due at {node} by {deadline} \
                     (delivery_bound {bound} after the later of the acknowledgement, the heal at \
                     {} and the node's start), but {node} {how}; {} of {judged} live nodes judged \
                     lacked it in time",
                    run.heal_at,
                    lacking.len()
                ));
            }
        }
        Finding::Pass
    }
}
