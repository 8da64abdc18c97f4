//! The scenario schema: what each section and key means, read from a located tree into a
//! validated [`Scenario`]. The keys each table may hold are declared in [`crate::keys`],
//! with their types, ranges, defaults and doc lines.

use crate::catalogue::{Catalogue, ProtocolEntry, WorkloadEntry};
use crate::combinations::{self, Refusal};
use crate::keys::{self, FAULT_ACTIONS, MAX_NODES, keys_in};
use crate::phases::{Base, Phase, read_phases};
use crate::reader::{Knob, Reader, join};
use crate::tree::{Item, Loc, Table, Val};
use sim_core::SimDuration;
use sim_core::announce::{CrashPoint, ProtocolEvent};
use sim_core::check::ModelKind;
use sim_core::faults::Partition;
use sim_core::names;
use sim_core::node::NodeId;
use sim_core::protocol::{ConfigError, OptionValue};

/// The models `checks.linearizability` may name; `None` checks nothing.
const MODELS: [Option<ModelKind>; 4] =
    [None, Some(ModelKind::Register), Some(ModelKind::CasRegister), Some(ModelKind::KeyValue)];

fn model_name(model: &Option<ModelKind>) -> &'static str {
    model.map_or("none", ModelKind::name)
}

/// A latency distribution whose parameters may be swarm knobs (durations in ns).
#[derive(Clone, Debug, PartialEq)]
pub enum LatencySpec {
    Constant(Knob<i64>),
    Uniform { min: Knob<i64>, max: Knob<i64> },
    Normal { mean: Knob<i64>, stddev: Knob<i64>, min: Knob<i64> },
    LogNormal { median: Knob<i64>, sigma: Knob<f64> },
    Pareto { scale: Knob<i64>, shape: Knob<f64>, max: Knob<i64> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct LinkSpec {
    pub latency: LatencySpec,
    pub loss: Knob<f64>,
    pub duplicate: Knob<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LinkOverride {
    pub from: NodeId,
    pub to: NodeId,
    pub both_ways: bool,
    pub link: LinkSpec,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClockSpec {
    /// Drawn independently for each node.
    pub drift_ppm: Knob<f64>,
    pub offset: Knob<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NemesisSpec {
    pub crash_rate: Knob<f64>,
    pub restart_after: (SimDuration, SimDuration),
    pub pause_rate: Knob<f64>,
    pub pause_duration: (SimDuration, SimDuration),
    pub partition_rate: Knob<f64>,
    pub partition_kinds: Vec<Partition>,
    pub partition_duration: (SimDuration, SimDuration),
    pub clock_jump_rate: Knob<f64>,
    pub clock_jump_max: Knob<i64>,
    pub max_down: Option<Knob<i64>>,
    pub isolate_new_leader: Knob<f64>,
    pub isolate_new_leader_after: (SimDuration, SimDuration),
    pub crash_on: Vec<ProtocolEvent>,
    pub crash_on_probability: Knob<f64>,
    pub crash_on_point: Knob<String>,
}

/// A scheduled fault, before node choices that depend on nothing random.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledFault {
    pub at: SimDuration,
    pub action: sim_core::faults::FaultAction,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadSpec {
    pub clients: Knob<i64>,
    pub think_time: LatencySpec,
    pub timeout: Knob<i64>,
    pub retry_after: Knob<i64>,
    pub latency: LatencySpec,
    pub ops: Option<u64>,
    /// The workload's own options given, in declaration order.
    pub options: ProtocolOptions,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChecksSpec {
    /// The model linearizability is checked against; `None` (written "none") checks nothing.
    pub linearizability: Option<ModelKind>,
    pub invariants: bool,
    /// Every live replica holds the same state at the end.
    pub convergence: bool,
    pub liveness_bound: Option<SimDuration>,
    pub budget: u64,
    /// The workload's own checkers the scenario turns off (`[checks] name = false`).
    pub disabled: Vec<String>,
    /// The scenario's configuration does not promise its checks (`expect = "violation"`):
    /// a campaign passes only if some seed violates safety.
    pub expect_violation: bool,
}

impl ChecksSpec {
    /// The linearizability checker's model; `None` when linearizability is not checked.
    pub fn model(&self) -> Option<ModelKind> {
        self.linearizability
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RunSpec {
    pub duration: SimDuration,
    pub heal_at: SimDuration,
    pub max_events: u64,
    /// Events that may be pending at once: a bound on a run's memory.
    pub max_pending_events: u64,
    pub seeds: (u64, u64),
}

/// A validated scenario. Knobs are drawn per seed by [`crate::plan`].
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub protocol: String,
    pub options: ProtocolOptions,
    pub bugs: Vec<String>,
    /// Whether the protocol's buggify points may fire ([`sim_core::buggify`]).
    pub buggify: bool,
    /// The cluster's size, a swarm knob.
    pub nodes: Knob<i64>,
    pub regions: Option<Vec<u32>>,
    pub network: LinkSpec,
    pub wan: Option<LinkSpec>,
    pub links: Vec<LinkOverride>,
    pub clocks: ClockSpec,
    pub clock_overrides: Vec<(NodeId, ClockSpec)>,
    pub torn_write_probability: Knob<f64>,
    pub corrupt_read_probability: Knob<f64>,
    pub nemesis: NemesisSpec,
    pub faults: Vec<ScheduledFault>,
    pub workload: Option<WorkloadSpec>,
    pub checks: ChecksSpec,
    /// The run's phases in order; empty for a run of one phase (the top-level sections).
    pub phases: Vec<Phase>,
    /// With phases, `duration` and `heal_at` are theirs ([`crate::phases`]).
    pub run: RunSpec,
}

/// Refuse a cluster whose engine state alone would not fit in `available` bytes (what
/// this machine has, where the system says), naming both figures.
fn check_fits_in_memory(
    r: &mut Reader<'_>,
    loc: &Loc,
    nodes: u32,
    entry: &ProtocolEntry,
    available: Option<u64>,
) {
    let needed = u64::from(nodes).saturating_mul(entry.bytes_per_node);
    if let Some(available) = available
        && needed > available
    {
        r.problem(
            loc,
            "cluster.nodes",
            format!(
                "{nodes} nodes of {} need at least {} ({} bytes per node before what the protocol keeps), more than the {} this machine has available",
                entry.name,
                gibibytes(needed),
                entry.bytes_per_node,
                gibibytes(available)
            ),
        );
    }
}

fn gibibytes(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// The memory this machine has available, in bytes: Linux's `MemAvailable`, or `None`
/// where the system does not say.
fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Protocol options given in a scenario, by name.
pub type ProtocolOptions = Vec<(String, Knob<OptionValue>)>;

/// Read and validate a merged tree. `default_name` is used when `scenario.name` is absent.
pub fn read_scenario(
    r: &mut Reader<'_>,
    root: &Table,
    root_loc: &Loc,
    default_name: &str,
    catalogue: &Catalogue,
) -> Option<Scenario> {
    r.only_keys(root, "", &keys_in(""));
    let section =
        |r: &mut Reader<'_>, key: &str| r.table(root, "", key).cloned().unwrap_or_default();

    let meta = section(r, "scenario");
    r.only_keys(&meta, "scenario", &keys_in("scenario"));
    let name = r.string(&meta, "scenario", "name").unwrap_or_else(|| default_name.to_owned());
    let description = r.string(&meta, "scenario", "description").unwrap_or_default();
    for (key, text) in [("name", &name), ("description", &description)] {
        if let (Some(c), Some(entry)) = (text.chars().find(|c| c.is_control()), meta.get(key)) {
            r.problem(
                &entry.item.loc,
                &format!("scenario.{key}"),
                format!("holds the control character U+{:04X}; it is printed in terminals and reports, so write printable text", c as u32),
            );
        }
    }

    let cluster = section(r, "cluster");
    r.only_keys(&cluster, "cluster", &keys_in("cluster"));
    let drawn_nodes = match cluster.get("nodes") {
        Some(_) => r.int_knob(&cluster, "cluster", "nodes", 1, MAX_NODES),
        None => {
            let loc = root.get("cluster").map_or(root_loc, |e| &e.key_loc).clone();
            r.problem(&loc, "cluster.nodes", "missing: how many nodes the cluster has (at least 1), e.g. `[cluster]\\nnodes = 5`");
            None
        }
    };
    // Node ids elsewhere must exist at every size drawn; bounds on counts of nodes hold
    // at the largest.
    let bounds = drawn_nodes.as_ref().map(size_bounds);
    let (nodes, most_nodes) = (bounds.map(|b| b.0), bounds.map(|b| b.1));
    let node_bound = nodes.unwrap_or(MAX_NODES as u32);
    let regions = read_regions(r, &cluster, drawn_nodes.as_ref());

    let (protocol, options, bugs, buggify) =
        read_protocol(r, root, root_loc, drawn_nodes.as_ref(), catalogue);
    if let (Some(n), Some(entry), Some(given)) =
        (most_nodes, protocol.as_deref().and_then(|p| catalogue.get(p)), cluster.get("nodes"))
    {
        check_fits_in_memory(r, &given.item.loc, n, entry, available_memory());
    }

    let network_table = section(r, "network");
    r.only_keys(&network_table, "network", &keys_in("network"));
    let network = read_link(r, &network_table, "network");
    let wan = r.table(&network_table, "network", "wan").map(|t| {
        r.only_keys(t, "network.wan", &keys_in("network.wan"));
        read_link(r, t, "network.wan")
    });
    if let (Some(entry), None) = (network_table.get("wan"), &regions) {
        r.problem(
            &entry.key_loc,
            "network.wan",
            "[network.wan] applies between regions, but `cluster.regions` is not set",
        );
    }
    let mut links = Vec::new();
    for (t, _) in r.tables(&network_table, "network", "links") {
        r.only_keys(t, "network.links", &keys_in("network.links"));
        let from = node_id(r, t, "network.links", "from", node_bound, true);
        let to = node_id(r, t, "network.links", "to", node_bound, true);
        let both_ways = r.bool(t, "network.links", "both_ways").unwrap_or(false);
        let link = read_link(r, t, "network.links");
        if let (Some(from), Some(to)) = (from, to) {
            links.push(LinkOverride { from, to, both_ways, link });
        }
    }

    let clocks_table = section(r, "clocks");
    r.only_keys(&clocks_table, "clocks", &keys_in("clocks"));
    let clocks = read_clock(r, &clocks_table, "clocks");
    let mut clock_overrides = Vec::new();
    for (t, _) in r.tables(&clocks_table, "clocks", "node") {
        r.only_keys(t, "clocks.node", &keys_in("clocks.node"));
        let node = node_id(r, t, "clocks.node", "node", node_bound, true);
        let spec = read_clock(r, t, "clocks.node");
        if let Some(node) = node {
            clock_overrides.push((node, spec));
        }
    }

    let disk = section(r, "disk");
    r.only_keys(&disk, "disk", &keys_in("disk"));
    let torn_write_probability =
        r.probability_knob(&disk, "disk", "torn_write_probability").unwrap_or(Knob::Fixed(0.0));
    let corrupt_read_probability =
        r.probability_knob(&disk, "disk", "corrupt_read_probability").unwrap_or(Knob::Fixed(0.0));

    let nemesis_table = section(r, "nemesis");
    let nemesis = read_nemesis(r, &nemesis_table, most_nodes);
    let run_table = section(r, "run");
    let mut run = read_run(r, &run_table);
    let entry = protocol.as_deref().and_then(|name| catalogue.get(name));
    let workload_entry = entry.map(|e| &e.workload);
    let workload_table = r.table(root, "", "workload");
    let workload = match workload_table {
        Some(t) => {
            let loc = &root.get("workload").expect("the table is there").key_loc;
            Some(read_workload(r, t, loc, workload_entry))
        }
        // No `[workload]` is an empty one, for a workload that takes its defaults (one
        // that serves no requests refuses them): never a run without clients by omission.
        None => workload_entry
            .filter(|w| (w.configure)(&Default::default()).is_ok())
            .map(|w| read_workload(r, &Table::default(), root_loc, Some(w))),
    };
    let base = Base {
        nemesis_table: &nemesis_table,
        nemesis: &nemesis,
        workload: workload_table.zip(workload.as_ref()),
        workload_entry,
        nodes: most_nodes,
        node_bound,
    };
    let phases = read_phases(r, root, &base, &run_table, run.as_mut());
    let end = run.as_ref().map(|run| (run.duration, "the run"));
    let faults = read_faults(r, root, node_bound, end);
    let timeout_loc = workload_table.and_then(|t| t.get("timeout")).map(|e| &e.item.loc);
    let checks_table = section(r, "checks");
    let checks = read_checks(
        r,
        &checks_table,
        workload.as_ref().map(|w| (w, timeout_loc)),
        workload_entry,
        run.as_ref(),
        root.get("checks").map_or(root_loc, |e| &e.key_loc),
    );

    Some(Scenario {
        name,
        description,
        protocol: protocol?,
        options,
        bugs,
        buggify,
        nodes: drawn_nodes?,
        regions,
        network,
        wan,
        links,
        clocks,
        clock_overrides,
        torn_write_probability,
        corrupt_read_probability,
        nemesis,
        faults,
        workload,
        checks,
        phases,
        run: run?,
    })
}

/// The fewest and the most nodes `nodes` draws.
fn size_bounds(nodes: &Knob<i64>) -> (u32, u32) {
    let (fewest, most) = knob_bounds(nodes).unwrap_or((1, 1));
    (fewest as u32, most as u32)
}

impl Scenario {
    /// The most nodes a seed of this scenario runs.
    pub fn most_nodes(&self) -> u32 {
        size_bounds(&self.nodes).1
    }
}

fn read_regions(
    r: &mut Reader<'_>,
    cluster: &Table,
    nodes: Option<&Knob<i64>>,
) -> Option<Vec<u32>> {
    let entry = cluster.get("regions")?;
    let nodes = match nodes {
        Some(Knob::Fixed(n)) => Some(*n as u32),
        Some(_) => {
            r.problem(
                &entry.item.loc,
                "cluster.regions",
                "gives one region per node, so it needs a fixed `cluster.nodes`, not a swarm draw",
            );
            return None;
        }
        None => None,
    };
    let Val::Array(items) = &entry.item.val else {
        r.problem(
            &entry.item.loc,
            "cluster.regions",
            format!(
                "expected an array with one region number per node, found {}",
                entry.item.val.type_name()
            ),
        );
        return None;
    };
    let regions: Option<Vec<u32>> =
        items.iter().map(|i| r.int_item(i, "cluster.regions", 0, 255).map(|n| n as u32)).collect();
    if let (Some(regions), Some(n)) = (&regions, nodes)
        && regions.len() != n as usize
    {
        r.problem(
            &entry.item.loc,
            "cluster.regions",
            format!("has {} entries; expected one per node ({n})", regions.len()),
        );
        return None;
    }
    regions
}

fn read_protocol(
    r: &mut Reader<'_>,
    root: &Table,
    root_loc: &Loc,
    nodes: Option<&Knob<i64>>,
    catalogue: &Catalogue,
) -> (Option<String>, ProtocolOptions, Vec<String>, bool) {
    let Some(table) = r.table(root, "", "protocol") else {
        if root.get("protocol").is_none() {
            r.problem(root_loc, "protocol.name", format!("missing [protocol] section; expected `[protocol]\\nname = ...` with one of: {}", catalogue.names().join(", ")));
        }
        return (None, Vec::new(), Vec::new(), false);
    };
    let protocol_loc = root.get("protocol").map_or(root_loc, |e| &e.key_loc);
    r.only_keys(table, "protocol", &keys_in("protocol"));
    let buggify = r.bool(table, "protocol", "buggify").unwrap_or(false);
    let entry = match table.get("name") {
        Some(e) => {
            r.named_item(&e.item, "protocol.name", "protocol", catalogue.entries(), |p| p.name)
        }
        None => {
            r.problem(
                protocol_loc,
                "protocol.name",
                format!("missing; expected one of: {}", catalogue.names().join(", ")),
            );
            None
        }
    };
    let Some(entry) = entry else {
        return (None, Vec::new(), Vec::new(), buggify);
    };
    let problems_before = r.problems.len();
    let bugs = read_bugs(r, table, entry);
    let options_table = r.table(table, "protocol", "options");
    let options = options_table.map(|t| read_options(r, t, entry)).unwrap_or_default();
    // Only values that each read well are worth combining.
    let enabled = bugs_of(&bugs);
    // The cluster size is part of the combination (quorum sizes must fit it).
    if r.problems.len() == problems_before
        && let Some(nodes) = nodes
        && let Some(refusal) =
            combinations::first_refusal_of_sizes(&options, nodes, |values, nodes| {
                (entry.configure)(values, &enabled, nodes)
            })
    {
        let fallback = match table.get("options") {
            Some(e) => (&e.key_loc, "protocol.options".to_owned()),
            None => (protocol_loc, "protocol".to_owned()),
        };
        let (loc, key) = refusal_site(&refusal, options_table, "protocol.options", &bugs, fallback);
        r.problem(loc, &key, refusal.describe(entry.name));
    }
    (Some(entry.name.to_owned()), options, bugs_of(&bugs), buggify)
}

/// `[protocol.options]`, each of a declared option and of its type, in declaration order.
fn read_options(r: &mut Reader<'_>, opts: &Table, entry: &ProtocolEntry) -> ProtocolOptions {
    for (name, e) in &opts.entries {
        if let Err(message) = entry.option(name) {
            r.problem(&e.key_loc, &join("protocol.options", name), message);
        }
    }
    let mut options = Vec::new();
    for spec in &entry.options {
        if let Some(knob) = read_option(r, opts, "protocol.options", spec) {
            options.push((spec.name.to_owned(), knob));
        }
    }
    options
}

/// The bug switches turned on in `[protocol]`, with where each is named.
fn read_bugs<'t>(
    r: &mut Reader<'_>,
    table: &'t Table,
    entry: &ProtocolEntry,
) -> Vec<(String, &'t Loc)> {
    let mut bugs = Vec::new();
    let Some(e) = table.get("bugs") else { return bugs };
    let Val::Array(items) = &e.item.val else {
        r.problem(
            &e.item.loc,
            "protocol.bugs",
            format!("expected an array of bug switch names, found {}", e.item.val.type_name()),
        );
        return bugs;
    };
    for item in items {
        if let Some(bug) =
            r.named_item(item, "protocol.bugs", "bug switch", &entry.bugs, |b| b.name)
        {
            bugs.push((bug.name.to_owned(), &item.loc));
        }
    }
    bugs
}

fn bugs_of(bugs: &[(String, &Loc)]) -> Vec<String> {
    bugs.iter().map(|(name, _)| name.clone()).collect()
}

/// Where to report a refused combination: at the option (in `options`, at `path`) whose
/// value is bad, or else at the option or bug switch the refusal names first, or else at
/// `fallback`.
fn refusal_site<'t>(
    refusal: &Refusal,
    options: Option<&'t Table>,
    path: &str,
    bugs: &[(String, &'t Loc)],
    fallback: (&'t Loc, String),
) -> (&'t Loc, String) {
    let option_site = |name: &str| {
        let entry = options?.get(name)?;
        Some((&entry.item.loc, join(path, name)))
    };
    if let ConfigError::BadValue { option, .. } = &refusal.error
        && let Some(site) = option_site(option)
    {
        return site;
    }
    let message = refusal.error.to_string();
    let given = options.into_iter().flat_map(|t| t.entries.keys());
    let named = given
        .filter_map(|name| Some((first_mention(&message, name)?, option_site(name)?)))
        .chain(bugs.iter().filter_map(|(name, loc)| {
            Some((first_mention(&message, name)?, (*loc, "protocol.bugs".to_owned())))
        }))
        .min_by_key(|(at, _)| *at);
    named.map_or(fallback, |(_, site)| site)
}

/// Where `name` first appears in `text` as a whole word (not inside a longer name).
fn first_mention(text: &str, name: &str) -> Option<usize> {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).map(|(at, _)| at).find(|&at| {
        !text[..at].chars().next_back().is_some_and(word)
            && !text[at + name.len()..].chars().next().is_some_and(word)
    })
}

/// The knob of option `spec` in `opts` (at `path`), if given, of the option's type.
fn read_option(
    r: &mut Reader<'_>,
    opts: &Table,
    path: &str,
    spec: &sim_core::protocol::OptionSpec,
) -> Option<Knob<OptionValue>> {
    opts.get(spec.name)?;
    match &spec.default {
        OptionValue::Bool(_) => {
            r.knob(opts, path, spec.name, false, &mut |r, item, k| match item.val {
                Val::Bool(b) => Some(OptionValue::Bool(b)),
                ref other => {
                    r.problem(
                        &item.loc,
                        k,
                        format!("expected true or false, found {}", other.type_name()),
                    );
                    None
                }
            })
        }
        OptionValue::Int(_) => r
            .int_knob(opts, path, spec.name, i64::MIN, i64::MAX)
            .map(|k| k.map(|&n| OptionValue::Int(n))),
        OptionValue::Float(_) => r
            .float_knob(opts, path, spec.name, f64::MIN, f64::MAX)
            .map(|k| k.map(|&x| OptionValue::Float(x))),
        OptionValue::Duration(_) => r
            .duration_knob(opts, path, spec.name, false)
            .map(|k| k.map(|&n| OptionValue::Duration(SimDuration(n as u64)))),
        OptionValue::Str(_) => r.knob(opts, path, spec.name, false, &mut |r, item, k| match &item
            .val
        {
            Val::Str(s) => Some(OptionValue::Str(s.clone())),
            other => {
                r.problem(&item.loc, k, format!("expected a string, found {}", other.type_name()));
                None
            }
        }),
    }
}

fn node_id(
    r: &mut Reader<'_>,
    t: &Table,
    path: &str,
    key: &str,
    nodes: u32,
    required: bool,
) -> Option<NodeId> {
    match t.get(key) {
        Some(e) => node_item(r, &e.item, &join(path, key), nodes),
        None => {
            if required {
                let loc = t.entries.values().next().map(|e| e.key_loc.clone());
                if let Some(loc) = loc {
                    r.problem(
                        &loc,
                        &join(path, key),
                        format!("missing `{key}`: a node id from 0 to {}", nodes.saturating_sub(1)),
                    );
                }
            }
            None
        }
    }
}

fn node_item(r: &mut Reader<'_>, item: &Item, key: &str, nodes: u32) -> Option<NodeId> {
    match item.val {
        Val::Int(n) if n >= 0 && n < i64::from(nodes) => Some(NodeId(n as u32)),
        Val::Int(n) => {
            r.problem(
                &item.loc,
                key,
                format!(
                    "node {n} is not in the cluster; expected a node id from 0 to {}",
                    nodes.saturating_sub(1)
                ),
            );
            None
        }
        ref other => {
            r.problem(
                &item.loc,
                key,
                format!(
                    "expected a node id (an integer from 0 to {}), found {}",
                    nodes.saturating_sub(1),
                    other.type_name()
                ),
            );
            None
        }
    }
}

fn node_list(r: &mut Reader<'_>, item: &Item, key: &str, nodes: u32) -> Option<Vec<NodeId>> {
    let Val::Array(items) = &item.val else {
        r.problem(
            &item.loc,
            key,
            format!("expected an array of node ids, found {}", item.val.type_name()),
        );
        return None;
    };
    items.iter().map(|i| node_item(r, i, key, nodes)).collect()
}

/// `latency = "2ms"` (constant) or a table `{ dist = "uniform", min = "1ms", max = "5ms" }`.
pub(crate) fn read_latency(
    r: &mut Reader<'_>,
    t: &Table,
    path: &str,
    key: &str,
    default_ms: i64,
) -> LatencySpec {
    let full = join(path, key);
    let Some(entry) = t.get(key) else {
        return LatencySpec::Constant(Knob::Fixed(default_ms * 1_000_000));
    };
    let Val::Table(spec) = &entry.item.val else {
        return LatencySpec::Constant(
            r.duration_knob(t, path, key, false).unwrap_or(Knob::Fixed(0)),
        );
    };
    let dist = match spec.get("dist") {
        Some(e) => r.name_item(
            &e.item,
            &join(&full, "dist"),
            "latency distribution",
            &keys::latency_names(),
        ),
        None => {
            r.problem(
                &entry.item.loc,
                &full,
                format!(
                    "a latency table needs `dist`, one of: {}",
                    keys::latency_names().join(", ")
                ),
            );
            None
        }
    };
    let zero = Knob::Fixed(0);
    let dur = |r: &mut Reader<'_>, k: &str, required: bool| -> Knob<i64> {
        if required && spec.get(k).is_none() {
            r.problem(
                &entry.item.loc,
                &full,
                format!("this latency distribution needs `{k}` (a duration such as \"5ms\")"),
            );
        }
        r.duration_knob(spec, &full, k, false).unwrap_or(Knob::Fixed(0))
    };
    match dist.as_deref() {
        Some("constant") => {
            r.only_keys(spec, &full, &keys::latency_fields("constant"));
            LatencySpec::Constant(dur(r, "value", true))
        }
        Some("uniform") => {
            r.only_keys(spec, &full, &keys::latency_fields("uniform"));
            LatencySpec::Uniform { min: dur(r, "min", true), max: dur(r, "max", true) }
        }
        Some("normal") => {
            r.only_keys(spec, &full, &keys::latency_fields("normal"));
            LatencySpec::Normal {
                mean: dur(r, "mean", true),
                stddev: dur(r, "stddev", true),
                min: dur(r, "min", false),
            }
        }
        Some("lognormal") => {
            r.only_keys(spec, &full, &keys::latency_fields("lognormal"));
            let median = dur(r, "median", true);
            let sigma = r.float_knob(spec, &full, "sigma", 0.0, 10.0).unwrap_or(Knob::Fixed(0.5));
            LatencySpec::LogNormal { median, sigma }
        }
        Some("pareto") => {
            r.only_keys(spec, &full, &keys::latency_fields("pareto"));
            let scale = dur(r, "scale", true);
            let shape = r.float_knob(spec, &full, "shape", 0.01, 100.0).unwrap_or(Knob::Fixed(2.0));
            let max = if spec.get("max").is_some() {
                dur(r, "max", false)
            } else {
                Knob::Fixed(10_000_000_000)
            };
            LatencySpec::Pareto { scale, shape, max }
        }
        _ => LatencySpec::Constant(zero),
    }
}

fn read_link(r: &mut Reader<'_>, t: &Table, path: &str) -> LinkSpec {
    LinkSpec {
        latency: read_latency(r, t, path, "latency", 1),
        loss: r.probability_knob(t, path, "loss").unwrap_or(Knob::Fixed(0.0)),
        duplicate: r.probability_knob(t, path, "duplicate").unwrap_or(Knob::Fixed(0.0)),
    }
}

fn read_clock(r: &mut Reader<'_>, t: &Table, path: &str) -> ClockSpec {
    ClockSpec {
        drift_ppm: r
            .float_knob(t, path, "drift_ppm", -100_000.0, 100_000.0)
            .unwrap_or(Knob::Fixed(0.0)),
        offset: r.duration_knob(t, path, "offset", true).unwrap_or(Knob::Fixed(0)),
    }
}

fn duration_pair(
    r: &mut Reader<'_>,
    t: &Table,
    path: &str,
    key: &str,
    default: (u64, u64),
) -> (SimDuration, SimDuration) {
    let ms = |x: u64| SimDuration::from_millis(x);
    match r.duration_knob(t, path, key, false) {
        Some(Knob::Fixed(n)) => (SimDuration(n as u64), SimDuration(n as u64)),
        Some(Knob::Range(a, b)) => (SimDuration(a as u64), SimDuration(b as u64)),
        Some(Knob::OneOf(_)) => {
            let loc = t.get(key).map(|e| e.item.loc.clone()).expect("present");
            r.problem(
                &loc,
                &join(path, key),
                "expected a duration or a range [\"min\", \"max\"] (each fault draws from it)",
            );
            (ms(default.0), ms(default.1))
        }
        None => (ms(default.0), ms(default.1)),
    }
}

pub(crate) fn read_nemesis(r: &mut Reader<'_>, t: &Table, nodes: Option<u32>) -> NemesisSpec {
    let p = "nemesis";
    r.only_keys(t, p, &keys_in(p));
    let rate = |r: &mut Reader<'_>, k: &str| {
        r.float_knob(t, p, k, 0.0, 1000.0).unwrap_or(Knob::Fixed(0.0))
    };
    let partition_kinds =
        named_list(r, t, "nemesis.partition_kinds", "partition kind", &Partition::DRAWABLE, |k| {
            k.name()
        })
        .unwrap_or_else(|| sim_core::faults::NemesisOptions::default().partition_kinds);
    let crash_on =
        named_list(r, t, "nemesis.crash_on", "protocol event", &ProtocolEvent::ALL, |e| e.name())
            .unwrap_or_default();
    let points = keys::Names::CrashPoints.fixed().unwrap_or_default();
    let crash_on_point = r
        .name_knob(t, p, "crash_on_point", "crash point", &points)
        .unwrap_or_else(|| Knob::Fixed(CrashPoint::default().name().to_owned()));
    let max_nodes = i64::from(nodes.unwrap_or(MAX_NODES as u32));
    NemesisSpec {
        crash_rate: rate(r, "crash_rate"),
        restart_after: duration_pair(r, t, p, "restart_after", (100, 1000)),
        pause_rate: rate(r, "pause_rate"),
        pause_duration: duration_pair(r, t, p, "pause_duration", (100, 1000)),
        partition_rate: rate(r, "partition_rate"),
        partition_kinds,
        partition_duration: duration_pair(r, t, p, "partition_duration", (200, 2000)),
        clock_jump_rate: rate(r, "clock_jump_rate"),
        clock_jump_max: r
            .duration_knob(t, p, "clock_jump_max", false)
            .unwrap_or(Knob::Fixed(500_000_000)),
        max_down: r.int_knob(t, p, "max_down", 0, max_nodes),
        isolate_new_leader: r
            .probability_knob(t, p, "isolate_new_leader")
            .unwrap_or(Knob::Fixed(0.0)),
        isolate_new_leader_after: duration_pair(r, t, p, "isolate_new_leader_after", (0, 30)),
        crash_on,
        crash_on_probability: r
            .probability_knob(t, p, "crash_on_probability")
            .unwrap_or(Knob::Fixed(0.05)),
        crash_on_point,
    }
}

/// The items of an array of names at `key` (`nemesis.partition_kinds`), each one of
/// `items` by `name_of`; `None` when the key is absent (a problem when it is no array).
fn named_list<T: Clone>(
    r: &mut Reader<'_>,
    t: &Table,
    key: &str,
    what: &str,
    items: &[T],
    name_of: impl Fn(&T) -> &str + Copy,
) -> Option<Vec<T>> {
    let field = key.rsplit('.').next().expect("a key has a last part");
    match t.get(field).map(|e| &e.item) {
        Some(Item { val: Val::Array(array), .. }) => Some(
            array
                .iter()
                .filter_map(|item| r.named_item(item, key, what, items, name_of).cloned())
                .collect(),
        ),
        Some(item) => {
            let valid: Vec<&str> = items.iter().map(name_of).collect();
            let message = format!(
                "expected an array of {what}s ({}), found {}",
                valid.join(", "),
                item.val.type_name()
            );
            r.problem(&item.loc, key, message);
            None
        }
        None => None,
    }
}

fn read_run(r: &mut Reader<'_>, t: &Table) -> Option<RunSpec> {
    let p = "run";
    r.only_keys(t, p, &keys_in(p));
    let duration = r.duration(t, p, "duration").unwrap_or(SimDuration::from_secs(10));
    if duration == SimDuration::ZERO {
        r.problem(
            &t.get("duration").expect("given").item.loc,
            "run.duration",
            "must be longer than zero",
        );
        return None;
    }
    let heal_at = r.duration(t, p, "heal_at").unwrap_or(SimDuration(duration.0 / 10 * 7));
    if heal_at > duration {
        let loc = t.get("heal_at").expect("given when past the end").item.loc.clone();
        r.problem(&loc, "run.heal_at", format!("{heal_at} is after the end of the run ({duration}); the liveness phase starts at heal_at"));
    }
    let max_events = r.int(t, p, "max_events", 1, i64::MAX).unwrap_or(100_000_000) as u64;
    let max_pending_events =
        r.int(t, p, "max_pending_events", 1, i64::MAX).unwrap_or(1_000_000) as u64;
    let seeds = match t.get("seeds") {
        Some(e) => match &e.item.val {
            Val::Str(s) => match parse_seed_range(s) {
                Some(range) => range,
                None => {
                    r.problem(&e.item.loc, "run.seeds", format!("{} is not a seed range; expected \"A..B\" (B excluded), e.g. \"0..100\"", crate::reader::quoted(s)));
                    (0, 100)
                }
            },
            other => {
                r.problem(
                    &e.item.loc,
                    "run.seeds",
                    format!("expected a seed range string \"A..B\", found {}", other.type_name()),
                );
                (0, 100)
            }
        },
        None => (0, 100),
    };
    Some(RunSpec { duration, heal_at, max_events, max_pending_events, seeds })
}

/// "A..B" with A < B (B excluded).
pub fn parse_seed_range(text: &str) -> Option<(u64, u64)> {
    let (a, b) = text.split_once("..")?;
    let (a, b) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    (a < b).then_some((a, b))
}

/// The `[[faults]]` of `root` (the top level, or a phase), each before `end`: the end of
/// the run or of the phase, with what it is the end of.
pub(crate) fn read_faults(
    r: &mut Reader<'_>,
    root: &Table,
    nodes: u32,
    end: Option<(SimDuration, &str)>,
) -> Vec<ScheduledFault> {
    use sim_core::faults::FaultAction as A;
    let p = "faults";
    let mut out = Vec::new();
    for (t, loc) in r.tables(root, "", p) {
        r.only_keys(t, p, &keys_in(p));
        let at = match t.get("at") {
            Some(_) => r.duration(t, p, "at"),
            None => {
                r.problem(loc, "faults.at", "missing: when the fault happens, e.g. at = \"2s\"");
                None
            }
        };
        if let (Some(at), Some((end, of))) = (at, end)
            && at >= end
        {
            let during = of.trim_start_matches("the ");
            r.problem(&t.get("at").expect("read").item.loc, "faults.at", format!("{at} is not before the end of {of} ({end}); a fault must happen during the {during}"));
        }
        let action = match t.get("action") {
            Some(e) => r
                .named_item(&e.item, "faults.action", "fault action", FAULT_ACTIONS, |a| a.name)
                .map(|a| a.name),
            None => {
                r.problem(
                    loc,
                    "faults.action",
                    format!(
                        "missing: one of {}",
                        keys::Names::FaultActions.fixed().unwrap_or_default().join(", ")
                    ),
                );
                None
            }
        };
        let needs_node = |r: &mut Reader<'_>| node_id(r, t, p, "node", nodes, true);
        let opt_node = |r: &mut Reader<'_>| {
            t.get("node").and_then(|e| node_item(r, &e.item, "faults.node", nodes))
        };
        let action = match action {
            Some("crash") => needs_node(r).map(A::Crash),
            Some("restart") => needs_node(r).map(A::Restart),
            Some("pause") => {
                let node = needs_node(r);
                let duration = r.duration(t, p, "duration");
                if duration.is_none() && t.get("duration").is_none() {
                    r.problem(
                        loc,
                        "faults.duration",
                        "a pause needs `duration`, e.g. duration = \"500ms\"",
                    );
                }
                node.zip(duration).map(|(node, duration)| A::Pause { node, duration })
            }
            Some("partition") => read_partition(r, t, loc, nodes).map(A::Partition),
            Some("heal") => Some(A::Heal),
            Some("heal-all") => Some(A::HealAll),
            Some(kind @ ("hold" | "release")) => {
                let from = t.get("from").and_then(|e| node_item(r, &e.item, "faults.from", nodes));
                let to = t.get("to").and_then(|e| node_item(r, &e.item, "faults.to", nodes));
                if t.get("from").is_none() || t.get("to").is_none() {
                    r.problem(
                        loc,
                        "faults.from",
                        format!("{kind} needs `from` and `to` node ids (the link from -> to)"),
                    );
                }
                from.zip(to).map(|(from, to)| {
                    if kind == "hold" { A::Hold { from, to } } else { A::Release { from, to } }
                })
            }
            Some("clock-jump") => {
                let node = needs_node(r);
                let delta = match t.get("delta") {
                    Some(e) => r.duration_item(&e.item, "faults.delta", true),
                    None => {
                        r.problem(
                            loc,
                            "faults.delta",
                            "a clock jump needs `delta`, e.g. delta = \"-2s\"",
                        );
                        None
                    }
                };
                node.zip(delta).map(|(node, delta_nanos)| A::ClockJump { node, delta_nanos })
            }
            Some("clock-drift") => {
                let node = needs_node(r);
                let ppm = match t.get("drift_ppm") {
                    Some(e) => r.float_item(&e.item, "faults.drift_ppm", -100_000.0, 100_000.0),
                    None => {
                        r.problem(
                            loc,
                            "faults.drift_ppm",
                            "a clock drift needs `drift_ppm`, e.g. drift_ppm = 200",
                        );
                        None
                    }
                };
                node.zip(ppm).map(|(node, ppm)| A::clock_drift(node, ppm))
            }
            Some("disk") => {
                let node = needs_node(r);
                let prob = |r: &mut Reader<'_>, k: &str| {
                    t.get(k)
                        .and_then(|e| r.float_item(&e.item, &join(p, k), 0.0, 1.0))
                        .unwrap_or(0.0)
                };
                let options = sim_core::disk::DiskOptions {
                    torn_write_probability: prob(r, "torn_write_probability"),
                    corrupt_read_probability: prob(r, "corrupt_read_probability"),
                };
                node.map(|node| A::disk_faults(node, options))
            }
            _ => {
                let _ = opt_node(r);
                None
            }
        };
        if let (Some(at), Some(action)) = (at, action) {
            out.push(ScheduledFault { at, action });
        }
    }
    out
}

/// `faults.groups`: an array of arrays of node ids.
fn node_groups(r: &mut Reader<'_>, item: &Item, nodes: u32) -> Option<Vec<Vec<NodeId>>> {
    let Val::Array(items) = &item.val else {
        r.problem(
            &item.loc,
            "faults.groups",
            "expected an array of arrays of node ids, e.g. [[0, 1], [2, 3, 4]]",
        );
        return None;
    };
    items.iter().map(|i| node_list(r, i, "faults.groups", nodes)).collect()
}

fn read_partition(r: &mut Reader<'_>, t: &Table, loc: &Loc, nodes: u32) -> Option<Partition> {
    let kinds = &Partition::SCHEDULABLE;
    let kind = match t.get("kind") {
        Some(e) => r.named_item(&e.item, "faults.kind", "partition kind", kinds, |k| k.name())?,
        None => {
            let names: Vec<&str> = kinds.iter().map(Partition::name).collect();
            r.problem(
                loc,
                "faults.kind",
                format!("a partition needs `kind`, one of: {}", names.join(", ")),
            );
            return None;
        }
    };
    let node = t.get("node").and_then(|e| node_item(r, &e.item, "faults.node", nodes));
    match kind {
        Partition::Isolate(_) => Some(Partition::Isolate(node)),
        Partition::MuteOne(_) => Some(Partition::MuteOne(node)),
        // The sides of a bridge and the order of a ring are random unless given.
        Partition::Bridge(_) => match t.get("groups") {
            None => Some(Partition::Bridge(None)),
            Some(e) => match node_groups(r, &e.item, nodes)?.as_slice() {
                [a, b] => Some(Partition::Bridge(Some((a.clone(), b.clone())))),
                _ => {
                    r.problem(&e.item.loc, "faults.groups", "a bridge's groups are its two sides, e.g. groups = [[0, 1], [3, 4]] (the nodes in neither are the bridge)");
                    None
                }
            },
        },
        Partition::Ring(_) => match t.get("order") {
            None => Some(Partition::Ring(None)),
            Some(e) => node_list(r, &e.item, "faults.order", nodes)
                .map(|order| Partition::Ring(Some(order))),
        },
        Partition::Groups(_) => {
            let Some(e) = t.get("groups") else {
                r.problem(
                    loc,
                    "faults.groups",
                    "a groups partition needs `groups`, e.g. groups = [[0, 1], [2, 3, 4]]",
                );
                return None;
            };
            node_groups(r, &e.item, nodes).map(Partition::Groups)
        }
        Partition::OneWay { .. } => {
            let from = t.get("from").and_then(|e| node_list(r, &e.item, "faults.from", nodes));
            let to = t.get("to").and_then(|e| node_list(r, &e.item, "faults.to", nodes));
            if t.get("from").is_none() || t.get("to").is_none() {
                r.problem(
                    loc,
                    "faults.from",
                    "a one-way partition needs `from` and `to` arrays of node ids",
                );
            }
            from.zip(to).map(|(from, to)| Partition::OneWay { from, to })
        }
        other => Some(other.clone()),
    }
}

pub(crate) fn read_workload(
    r: &mut Reader<'_>,
    t: &Table,
    table_loc: &Loc,
    entry: Option<&WorkloadEntry>,
) -> WorkloadSpec {
    let p = "workload";
    if let Some(entry) = entry {
        let valid: Vec<&str> =
            keys_in(p).into_iter().chain(entry.options.iter().map(|o| o.name)).collect();
        for (name, e) in &t.entries {
            if !valid.contains(&name.as_str()) {
                let message = names::unknown(&format!("{} workload key", entry.name), name, &valid);
                r.problem(&e.key_loc, &join(p, name), message);
            }
        }
    }
    // A zero timeout or retry interval cannot work: the client would re-send (or give
    // up) at the instant it invoked, forever.
    let dur = |r: &mut Reader<'_>, k: &str, default_ms: i64| {
        r.knob(t, p, k, true, &mut |r, item, key| {
            let nanos = r.duration_item(item, key, false)?;
            if nanos == 0 {
                r.problem(&item.loc, key, "must be positive, e.g. \"200ms\"");
                return None;
            }
            Some(nanos)
        })
        .unwrap_or(Knob::Fixed(default_ms * 1_000_000))
    };
    let problems_before = r.problems.len();
    let options: ProtocolOptions = entry
        .map(|entry| {
            entry
                .options
                .iter()
                .filter_map(|spec| Some((spec.name.to_owned(), read_option(r, t, p, spec)?)))
                .collect()
        })
        .unwrap_or_default();
    // Only values that each read well are worth combining.
    if let Some(entry) = entry
        && r.problems.len() == problems_before
        && let Some(refusal) = combinations::first_refusal(&options, entry.configure)
    {
        let (loc, key) = refusal_site(&refusal, Some(t), p, &[], (table_loc, p.to_owned()));
        r.problem(loc, &key, refusal.describe(&format!("the {} workload", entry.name)));
    }
    WorkloadSpec {
        clients: r.int_knob(t, p, "clients", 1, 10_000).unwrap_or(Knob::Fixed(3)),
        think_time: match t.get("think_time") {
            Some(_) => read_latency(r, t, p, "think_time", 0),
            None => {
                LatencySpec::Uniform { min: Knob::Fixed(1_000_000), max: Knob::Fixed(10_000_000) }
            }
        },
        timeout: dur(r, "timeout", 1000),
        retry_after: dur(r, "retry_after", 200),
        latency: read_latency(r, t, p, "latency", 1),
        ops: r.int(t, p, "ops", 1, i64::MAX).map(|n| n as u64),
        options,
    }
}

/// Whether the workload option `name`, as the scenario gives it, may draw above zero.
fn may_be_positive(w: &WorkloadSpec, name: &str) -> bool {
    let positive = |v: &OptionValue| matches!(v, OptionValue::Int(n) if *n > 0);
    w.options.iter().any(|(n, knob)| {
        n == name
            && match knob {
                Knob::Fixed(v) => positive(v),
                Knob::Range(_, high) => positive(high),
                Knob::OneOf(xs) => xs.iter().any(positive),
            }
    })
}

/// The shortest timeout a seed of `w` can draw.
pub(crate) fn shortest_timeout(w: &WorkloadSpec) -> SimDuration {
    SimDuration(knob_bounds(&w.timeout).map_or(0, |(shortest, _)| shortest).max(0) as u64)
}

/// The smallest and the largest value a knob can draw (`None` for an empty choice).
fn knob_bounds(k: &Knob<i64>) -> Option<(i64, i64)> {
    match k {
        Knob::Fixed(n) => Some((*n, *n)),
        Knob::Range(a, b) => Some((*a.min(b), *a.max(b))),
        Knob::OneOf(xs) => Some((*xs.iter().min()?, *xs.iter().max()?)),
    }
}

/// `checks.expect`: "pass" (the default) or "violation".
fn expect_violation(r: &mut Reader<'_>, t: &Table) -> bool {
    let found = r.string(t, "checks", "expect");
    match found.as_deref() {
        None | Some("pass") => false,
        Some("violation") => true,
        Some(other) => {
            let loc = &t.get("expect").expect("read").item.loc;
            r.problem(
                loc,
                "checks.expect",
                format!(
                    "{} is not an expectation; expected \"pass\" or \"violation\"",
                    crate::reader::quoted(other)
                ),
            );
            false
        }
    }
}

/// `workload` comes with where its timeout was set, if it was.
fn read_checks(
    r: &mut Reader<'_>,
    t: &Table,
    workload: Option<(&WorkloadSpec, Option<&Loc>)>,
    entry: Option<&WorkloadEntry>,
    run: Option<&RunSpec>,
    loc: &Loc,
) -> ChecksSpec {
    let (workload, timeout_loc) = match workload {
        Some((w, at)) => (Some(w), at),
        None => (None, None),
    };
    let p = "checks";
    let own: Vec<&str> =
        entry.map(|e| e.checkers.iter().map(|(name, _)| *name).collect()).unwrap_or_default();
    let mut keys = keys_in(p);
    keys.extend(&own);
    r.only_keys(t, p, &keys);
    let has_models = entry.is_some_and(|e| e.has_models);
    let appends = workload.is_some_and(|w| has_models && may_be_positive(w, "append"));
    let cas = workload.is_some_and(|w| has_models && may_be_positive(w, "cas"));
    let default_model = match workload {
        Some(_) if !has_models => None,
        None => None,
        Some(_) if appends => Some(ModelKind::KeyValue),
        Some(_) => Some(ModelKind::CasRegister),
    };
    let model = match t.get("linearizability") {
        Some(e) => r
            .named_item(&e.item, "checks.linearizability", "model", &MODELS, |m| model_name(m))
            .copied()
            .unwrap_or(default_model),
        None => default_model,
    };
    if let Some(e) = t.get("linearizability") {
        let bad = match model {
            None => None,
            _ if workload.is_none() => {
                Some("there is no [workload], so there is no history to check".to_owned())
            }
            _ if !has_models => entry.map(|e| {
                format!("the {} workload has no model to check linearizability against; set linearizability = \"none\"", e.name)
            }),
            Some(ModelKind::KeyValue) if cas => Some(
                "the kv model has no cas; use cas-register, or drop cas from the op mix".to_owned(),
            ),
            Some(ModelKind::Register) if cas => {
                Some("the register model has no cas; use cas-register".to_owned())
            }
            Some(ModelKind::Register | ModelKind::CasRegister) if appends => {
                Some("register models have no append; use kv".to_owned())
            }
            _ => None,
        };
        if let Some(why) = bad {
            r.problem(&e.item.loc, "checks.linearizability", why);
        }
    } else if appends && cas {
        r.problem(loc, "checks.linearizability", "the op mix has both cas and append, which no model checks together; set linearizability = \"none\" or drop one");
    }
    let disabled = own
        .iter()
        .filter(|name| r.bool(t, p, name) == Some(false))
        .map(|n| (*n).to_owned())
        .collect();
    // A client gives up on an operation at its timeout and records it as info, which the
    // liveness check must count as a failure: it cannot tell whether the operation would
    // have completed within the bound. So the bound may not exceed the shortest timeout a
    // seed can draw, or the check would silently demand the timeout instead; by default
    // it is that timeout.
    let shortest_timeout = workload.map(shortest_timeout);
    let liveness_bound = match t.get("liveness_bound") {
        Some(e) if e.item.val == Val::Str("none".into()) => None,
        Some(e) => {
            let bound = r.duration(t, p, "liveness_bound");
            if let (Some(bound), Some(timeout)) = (bound, shortest_timeout)
                && bound > timeout
            {
                let set_at = match timeout_loc {
                    Some(at) => {
                        let (line, column) = r.sources.line_col(at.file, at.span.start);
                        let file = r.sources.path(at.file).display();
                        format!(" (set at {file}:{line}:{column})")
                    }
                    None => " (the default)".to_owned(),
                };
                r.problem(
                    &e.item.loc,
                    "checks.liveness_bound",
                    format!(
                        "{bound} is longer than the shortest workload.timeout, {timeout}{set_at}: \
                         clients give up on an operation at its timeout, and the liveness check \
                         counts that as a failure, so it would really demand {timeout}; set \
                         liveness_bound to at most {timeout}, or workload.timeout to at least \
                         {bound}"
                    ),
                );
            }
            bound
        }
        None => shortest_timeout,
    };
    // Clients stop invoking `liveness_bound` before the end, but never before the heal:
    // with a bound as long as the time after the heal, no operation is invoked after it,
    // and the check would pass with nothing to check.
    if let (Some(bound), Some(run)) = (liveness_bound, run)
        && bound.0 >= run.duration.0.saturating_sub(run.heal_at.0)
        && run.heal_at < run.duration
    {
        let (at, key) = match t.get("liveness_bound") {
            Some(e) => (&e.item.loc, "checks.liveness_bound"),
            None => (timeout_loc.unwrap_or(loc), "checks.liveness_bound"),
        };
        r.problem(
            at,
            key,
            format!(
                "a liveness bound of {bound} leaves nothing to check: the run has only {} \
                 after the heal at {}, and clients stop invoking {bound} before the end; \
                 make run.duration longer than heal_at + {bound}, or set liveness_bound = \
                 \"none\"",
                SimDuration(run.duration.0.saturating_sub(run.heal_at.0)),
                run.heal_at
            ),
        );
    }
    ChecksSpec {
        linearizability: model,
        invariants: r.bool(t, p, "invariants").unwrap_or(true),
        convergence: r.bool(t, p, "convergence").unwrap_or(false),
        liveness_bound,
        budget: r.int(t, p, "budget", 1, i64::MAX).unwrap_or(50_000_000) as u64,
        disabled,
        expect_violation: expect_violation(r, t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_mentioned_only_as_a_whole_word() {
        let text = "election_timeout_max (100ms) must be at least election_timeout_min (200ms)";
        assert_eq!(first_mention(text, "election_timeout_max"), Some(0));
        assert_eq!(first_mention(text, "election_timeout_min"), Some(46));
        assert_eq!(first_mention(text, "timeout_min"), None);
        assert_eq!(first_mention("batch_size and batch", "batch"), Some(15));
        assert_eq!(first_mention("", "batch"), None);
    }
}
